//! CAdES-B-B detached signatures (CMS SignedData, RFC 5652 / ETSI EN 319 122-1).
//!
//! The structure is written with a small DER writer instead of typed CMS
//! structs because the evidence attribute's OID lives under the 2.25 (UUID)
//! arc, whose 128-bit arc does not fit the 32-bit arcs of the `der` crate.
//! Certificates are parsed with `x509-cert`; everything written here is
//! checked by `openssl cms -verify -cades` in the end-to-end tests.

use crate::error::{Error, Result};
use der::{Decode, Encode};
use serde::Serialize;
use sha2::{Digest, Sha256};
use x509_cert::Certificate;

/// OID of the wysiwys evidence attribute: 2.25 and the UUID
/// a69b64df-4fcf-4110-8b0e-6dbf0740ef81 as an integer.
pub const EVIDENCE_OID: &str = "2.25.221458699246909409711979724285883248513";

const OID_SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
const OID_DATA: &str = "1.2.840.113549.1.7.1";
const OID_CONTENT_TYPE: &str = "1.2.840.113549.1.9.3";
const OID_MESSAGE_DIGEST: &str = "1.2.840.113549.1.9.4";
const OID_SIGNING_TIME: &str = "1.2.840.113549.1.9.5";
const OID_SIGNING_CERTIFICATE_V2: &str = "1.2.840.113549.1.9.16.2.47";
const OID_SHA256: &str = "2.16.840.1.101.3.4.2.1";
const OID_ECDSA_WITH_SHA256: &str = "1.2.840.10045.4.3.2";

/// What both channels confirmed, signed into the signature itself so that a
/// verifier can see it without asking us. JCS JSON in a UTF8String.
#[derive(Debug, Clone, Serialize)]
pub struct Evidence {
    /// Format version, `evidence/1`.
    pub v: &'static str,
    pub request_id: String,
    pub doc_sha256: String,
    pub summary_sha256: String,
    pub render_version: &'static str,
    pub sad_sha256: String,
    pub device_id: String,
    /// Milliseconds since the Unix epoch.
    pub web_confirmed_at: i64,
    pub device_confirmed_at: i64,
    /// Who asked for the signature, as both channels showed it.
    pub requester: String,
    /// Payments only (PSD2 dynamic linking): exactly the amount and payee
    /// both channels showed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment: Option<wysiwys_proto::payment::Payment>,
    /// A document of a batch: where it sits under the root both channels showed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch: Option<BatchEvidence>,
}

/// A batch document's place in the batch (RFC 6962 Merkle tree).
#[derive(Debug, Clone, Serialize)]
pub struct BatchEvidence {
    /// base64url SHA-256 of the manifest both channels confirmed.
    pub manifest_sha256: String,
    pub merkle_root: String,
    pub index: usize,
    pub size: usize,
    /// Sibling hashes from the leaf up, base64url.
    pub path: Vec<String>,
}

/// DER of the SignedAttributes SET, exactly the bytes whose SHA-256 the
/// signing key signs.
#[derive(Debug, Clone)]
pub struct SignedAttributes {
    /// `SET OF Attribute`, tag 0x31.
    der: Vec<u8>,
    /// The same attributes without the outer tag (for `[0] IMPLICIT`).
    content: Vec<u8>,
}

impl SignedAttributes {
    /// `signing_time_ms` is `None` for PAdES, where EN 319 142-1 forbids
    /// the attribute and the time is the signature dictionary's `/M`.
    pub fn new(
        message_digest: &[u8; 32],
        signing_time_ms: Option<i64>,
        signer_cert: &[u8],
        evidence: &Evidence,
    ) -> Result<Self> {
        let cert =
            Certificate::from_der(signer_cert).map_err(|e| Error::Internal(format!("signer certificate: {e}")))?;
        let evidence_json = wysiwys_proto::jcs::to_vec(evidence).map_err(|e| Error::Internal(e.to_string()))?;
        let ess_cert_id = seq(&[&octet_string(&Sha256::digest(signer_cert)), &issuer_serial(&cert)?]);
        let mut attributes = vec![
            attribute(OID_CONTENT_TYPE, &oid(OID_DATA)),
            attribute(OID_MESSAGE_DIGEST, &octet_string(message_digest)),
            attribute(OID_SIGNING_CERTIFICATE_V2, &seq(&[&seq(&[&ess_cert_id])])),
            attribute(EVIDENCE_OID, &tlv(0x0c, &evidence_json)),
        ];
        if let Some(ms) = signing_time_ms {
            attributes.push(attribute(OID_SIGNING_TIME, &utc_time(ms)?));
        }
        // DER: the elements of a SET OF are sorted by their encodings.
        attributes.sort();
        let content = attributes.concat();
        Ok(SignedAttributes { der: tlv(0x31, &content), content })
    }

    pub fn der(&self) -> &[u8] {
        &self.der
    }

    pub fn digest(&self) -> [u8; 32] {
        Sha256::digest(&self.der).into()
    }

    /// The message-digest attribute's value, read back from the encoding.
    pub fn message_digest(&self) -> Option<[u8; 32]> {
        let marker = attribute(OID_MESSAGE_DIGEST, &octet_string(&[0u8; 32]));
        let prefix = &marker[..marker.len() - 32];
        let at = self.der.windows(prefix.len()).position(|w| w == prefix)?;
        self.der.get(at + prefix.len()..at + prefix.len() + 32)?.try_into().ok()
    }
}

/// Wraps the signed attributes and the HSM's raw `r ‖ s` into a detached
/// SignedData with the signer's and the CA's certificates.
pub fn assemble(
    attrs: &SignedAttributes,
    raw_signature: &[u8; 64],
    signer_cert: &[u8],
    ca_cert: &[u8],
) -> Result<Vec<u8>> {
    let cert = Certificate::from_der(signer_cert).map_err(|e| Error::Internal(format!("signer certificate: {e}")))?;
    let signature = p256::ecdsa::Signature::from_slice(raw_signature)
        .map_err(|_| Error::Internal("HSM returned an invalid ECDSA signature".into()))?;
    let signature_der = signature.to_der();
    let tbs = cert.tbs_certificate();
    let issuer_and_serial = seq(&[&der_of(tbs.issuer())?, &der_of(tbs.serial_number())?]);
    let signer_info = seq(&[
        &integer_small(1),
        &issuer_and_serial,
        &algorithm(OID_SHA256),
        &tlv(0xa0, &attrs.content),
        &algorithm(OID_ECDSA_WITH_SHA256),
        &octet_string(signature_der.as_bytes()),
    ]);
    let mut certificates = [signer_cert.to_vec(), ca_cert.to_vec()];
    certificates.sort();
    let signed_data = seq(&[
        &integer_small(1),
        &tlv(0x31, &algorithm(OID_SHA256)),
        &seq(&[&oid(OID_DATA)]),
        &tlv(0xa0, &certificates.concat()),
        &tlv(0x31, &signer_info),
    ]);
    Ok(seq(&[&oid(OID_SIGNED_DATA), &tlv(0xa0, &signed_data)]))
}

fn der_of(value: &impl Encode) -> Result<Vec<u8>> {
    value.to_der().map_err(|e| Error::Internal(format!("DER encoding: {e}")))
}

fn issuer_serial(cert: &Certificate) -> Result<Vec<u8>> {
    let tbs = cert.tbs_certificate();
    // GeneralNames with one directoryName; [4] is explicit because Name is a CHOICE.
    let general_names = seq(&[&tlv(0xa4, &der_of(tbs.issuer())?)]);
    Ok(seq(&[&general_names, &der_of(tbs.serial_number())?]))
}

fn attribute(oid_text: &str, value: &[u8]) -> Vec<u8> {
    seq(&[&oid(oid_text), &tlv(0x31, value)])
}

fn algorithm(oid_text: &str) -> Vec<u8> {
    // RFC 5754 / RFC 5758: parameters absent for SHA-256 and ECDSA.
    seq(&[&oid(oid_text)])
}

fn utc_time(ms: i64) -> Result<Vec<u8>> {
    let t = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .map_err(|e| Error::Internal(format!("signing time: {e}")))?;
    if !(1950..2050).contains(&t.year()) {
        return Err(Error::Internal("signing time outside UTCTime range".into()));
    }
    let text = format!(
        "{:02}{:02}{:02}{:02}{:02}{:02}Z",
        t.year() % 100,
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    Ok(tlv(0x17, text.as_bytes()))
}

fn seq(parts: &[&[u8]]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

fn octet_string(bytes: &[u8]) -> Vec<u8> {
    tlv(0x04, bytes)
}

fn integer_small(value: u8) -> Vec<u8> {
    debug_assert!(value < 0x80);
    tlv(0x02, &[value])
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// Encodes a dotted OID with arcs of any size (the 2.25 arc is 128 bits).
fn oid(text: &str) -> Vec<u8> {
    let arcs: Vec<u128> = text.split('.').map(|a| a.parse().unwrap_or(0)).collect();
    let mut body = Vec::new();
    let first = arcs.first().copied().unwrap_or(0) * 40 + arcs.get(1).copied().unwrap_or(0);
    for arc in std::iter::once(first).chain(arcs.iter().skip(2).copied()) {
        let mut groups = vec![(arc & 0x7f) as u8];
        let mut rest = arc >> 7;
        while rest > 0 {
            groups.push((rest & 0x7f) as u8 | 0x80);
            rest >>= 7;
        }
        body.extend(groups.iter().rev());
    }
    tlv(0x06, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_primitives() {
        assert_eq!(oid("1.2.840.113549.1.7.2"), [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02]);
        assert_eq!(oid("2.25.1"), [0x06, 0x02, 0x69, 0x01]);
        // 2.25.<uuid>: 128-bit arc in base 128 is 19 bytes.
        assert_eq!(oid(EVIDENCE_OID).len(), 2 + 1 + 19);
        assert_eq!(tlv(0x04, &[0u8; 200])[..3], [0x04, 0x81, 200]);
        assert_eq!(tlv(0x04, &[0u8; 300])[..4], [0x04, 0x82, 0x01, 0x2c]);
        assert_eq!(utc_time(1_795_000_000_999).unwrap(), tlv(0x17, b"261118110640Z"));
    }
}
