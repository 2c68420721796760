//! The CA's CRL (RFC 5280 §5), signed by the CA key in the HSM: every
//! revoked certificate with its reason, and every suspended one as
//! certificateHold. Cached per node until the register changes.

use super::{ca_issuer, key_id};
use crate::error::{Error, Result};
use crate::hsm::Hsm;
use crate::store::CertificateRow;
use rcgen::{CertificateRevocationListParams, KeyIdMethod, RevocationReason, RevokedCertParams, SerialNumber};
use sha2::{Digest, Sha256};
use std::sync::Mutex;

/// A CRL says when the next one is due; validators may cache it until then.
const NEXT_UPDATE_MS: i64 = 24 * 3600 * 1000;
/// Reissued at least this often, so `nextUpdate` is never close.
const REISSUE_AFTER_MS: i64 = 6 * 3600 * 1000;

fn time_of(ms: i64) -> Result<time::OffsetDateTime> {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .map_err(|e| Error::Internal(format!("CRL time: {e}")))
}

fn reason_of(row: &CertificateRow) -> Option<RevocationReason> {
    use RevocationReason::*;
    if row.status == "suspended" {
        return Some(CertificateHold);
    }
    Some(match row.reason? {
        1 => KeyCompromise,
        2 => CaCompromise,
        3 => AffiliationChanged,
        4 => Superseded,
        5 => CessationOfOperation,
        9 => PrivilegeWithdrawn,
        _ => Unspecified,
    })
}

/// Signs a CRL listing `revoked`, numbered by the time it is made.
pub fn issue(hsm: &Hsm, revoked: &[CertificateRow], now_ms: i64) -> Result<Vec<u8>> {
    let ca_key_id = key_id(&hsm.ca_public_key()?);
    let issuer = ca_issuer(hsm)?;
    let revoked_certs = revoked
        .iter()
        .map(|row| {
            Ok(RevokedCertParams {
                serial_number: SerialNumber::from_slice(&row.serial),
                revocation_time: time_of(row.revoked_at.unwrap_or(now_ms))?,
                reason_code: reason_of(row),
                invalidity_date: None,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let number = u64::try_from(now_ms).map_err(|_| Error::Internal("the clock is before 1970".into()))?;
    let params = CertificateRevocationListParams {
        this_update: time_of(now_ms)?,
        next_update: time_of(now_ms + NEXT_UPDATE_MS)?,
        crl_number: SerialNumber::from_slice(&number.to_be_bytes()),
        issuing_distribution_point: None,
        revoked_certs,
        key_identifier_method: KeyIdMethod::PreSpecified(ca_key_id),
    };
    let crl = params.signed_by(&issuer).map_err(|e| Error::Internal(format!("CRL: {e}")))?;
    Ok(crl.der().to_vec())
}

/// A CRL as made: when, a fingerprint of what it lists, its DER.
#[derive(Debug)]
struct Issued {
    made_at: i64,
    listed: [u8; 32],
    der: Vec<u8>,
}

/// The last CRL this node made.
#[derive(Debug, Default)]
pub struct CrlCache {
    last: Mutex<Option<Issued>>,
}

impl CrlCache {
    /// The current CRL: the cached one while the register is unchanged and
    /// it is young, else a new one.
    pub fn current(&self, hsm: &Hsm, revoked: &[CertificateRow], now_ms: i64) -> Result<Vec<u8>> {
        let mut listed = Sha256::new();
        for row in revoked {
            listed.update(&row.serial);
            listed.update(row.status.as_bytes());
            listed.update(row.revoked_at.unwrap_or_default().to_be_bytes());
        }
        let listed: [u8; 32] = listed.finalize().into();
        let mut last = self.last.lock().map_err(|_| Error::Internal("CRL cache poisoned".into()))?;
        if let Some(issued) = last.as_ref()
            && issued.listed == listed
            && now_ms - issued.made_at < REISSUE_AFTER_MS
        {
            return Ok(issued.der.clone());
        }
        let der = issue(hsm, revoked, now_ms)?;
        *last = Some(Issued { made_at: now_ms, listed, der: der.clone() });
        Ok(der)
    }
}
