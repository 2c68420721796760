//! `credentials/list` and `credentials/info`: which credentials a caller
//! may use, and what they are (key, certificate chain, status).

use super::{Caller, credential_owner, invalid, missing};
use crate::app::App;
use crate::error::{Error, Result};
use der::{Decode, Encode};
use wysiwys_proto::csc::{CertInfo, Certificates, KeyInfo, OID_ECDSA_WITH_SHA256, OID_P256};
use wysiwys_proto::{ErrorCode, b64};
use x509_cert::Certificate;

/// The credentials of the signer `user_id` names (username or external
/// id): one per account. A signer this party does not serve is refused
/// exactly like an unknown one.
pub async fn list(app: &App, caller: &Caller, user_id: Option<&str>) -> Result<Vec<String>> {
    let user = match (caller.signer(), user_id) {
        // A signer's own token lists their own credential.
        (Some(own), None) => app.store.user_by_id(own).await?,
        (_, None) => return Err(missing("string", "userID")),
        (_, Some(named)) => match app.store.user_by_username(named).await? {
            Some(user) => Some(user),
            None => app.store.user_by_external_id(named).await?,
        },
    };
    match user {
        Some(user) if caller.may_use(app, &user.id).await? => Ok(vec![user.credential_id]),
        _ => Err(invalid("userID")),
    }
}

/// What both versions say about a credential; they differ only in how
/// its authorization is described.
#[derive(Debug, Clone)]
pub struct CredentialView {
    pub key: KeyInfo,
    pub cert: CertInfo,
    pub multisign: u32,
}

pub async fn info(
    app: &App,
    caller: &Caller,
    credential_id: Option<&str>,
    certificates: Certificates,
    cert_info: bool,
) -> Result<CredentialView> {
    let credential_id = credential_id.ok_or_else(|| missing("string", "credentialID"))?;
    let user = credential_owner(app, caller, credential_id).await?;
    let certificate = Certificate::from_der(&user.certificate)
        .map_err(|e| Error::Internal(format!("certificate of {credential_id}: {e}")))?;
    let validity = certificate.tbs_certificate().validity();
    // The register's standing: revoked, suspended and expired as the SAM sees them.
    let standing = crate::pki::current_certificate(&app.store, &user).await?.standing(app.clock.now_ms());
    let valid = standing == crate::pki::standing::Standing::Valid;
    let chain = match certificates {
        Certificates::None => None,
        Certificates::Single => Some(vec![b64::encode_standard(&user.certificate)]),
        Certificates::Chain => {
            Some(vec![b64::encode_standard(&user.certificate), b64::encode_standard(&app.ca_certificate)])
        }
    };
    let mut cert = CertInfo { status: standing.csc_status().to_owned(), certificates: chain, ..CertInfo::default() };
    if cert_info {
        let tbs = certificate.tbs_certificate();
        cert.issuer_dn = Some(tbs.issuer().to_string());
        cert.subject_dn = Some(tbs.subject().to_string());
        cert.serial_number = Some(hex(tbs.serial_number().as_bytes()));
        cert.valid_from = Some(generalized_time(&validity.not_before)?);
        cert.valid_to = Some(generalized_time(&validity.not_after)?);
    }
    // "disabled" while the person's "not me" has locked signing: nothing
    // could be signed with it until they log in again.
    let enabled = valid && user.signing_locked_at.is_none();
    Ok(CredentialView {
        key: KeyInfo {
            status: if enabled { "enabled" } else { "disabled" }.to_owned(),
            algo: vec![OID_ECDSA_WITH_SHA256.to_owned()],
            len: 256,
            curve: OID_P256.to_owned(),
        },
        cert,
        multisign: u32::try_from(wysiwys_proto::hashes::MAX_HASHES).unwrap_or(u32::MAX),
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// `YYYYMMDDHHMMSSZ`, as the spec asks, whichever way the certificate
/// encodes its time.
fn generalized_time(time: &x509_cert::time::Time) -> Result<String> {
    let generalized = der::asn1::GeneralizedTime::from_unix_duration(time.to_unix_duration())
        .map_err(|e| Error::Internal(format!("certificate time: {e}")))?;
    let encoded = generalized.to_der().map_err(|e| Error::Internal(format!("certificate time: {e}")))?;
    // Tag and length, then the ASCII digits and Z.
    String::from_utf8(encoded.get(2..).unwrap_or_default().to_vec())
        .map_err(|_| Error::refused(ErrorCode::InternalError, "certificate time is not ASCII"))
}
