//! CAdES-B-B and B-T detached signatures (CMS SignedData, RFC 5652 /
//! ETSI EN 319 122-1): the signed attributes, the evidence of both
//! channels, and the signature-time-stamp.
//!
//! Everything written here is checked by `openssl cms -verify -cades`
//! and, parsed back, by the RustCrypto `cms` crate in the end-to-end tests.

use crate::der_writer::{octet_string, oid, utc_time, utf8_string};
use crate::error::{Error, Result};
use crate::signed_data::{
    OID_CONTENT_TYPE, OID_DATA, OID_MESSAGE_DIGEST, OID_SIGNATURE_TIME_STAMP, OID_SIGNING_TIME, SignedAttributes,
    SignedDataParts, attribute, signing_certificate_v2,
};
use serde::Serialize;

/// OID of the wysiwys evidence attribute. Every arc fits in 31 bits so that
/// verifiers with 32-bit (RustCrypto `const-oid`) or signed 32-bit (Go)
/// arcs parse the signature; the 1397600879 arc is the first 31 bits of the
/// UUID of [`LEGACY_EVIDENCE_OID`]. See docs/DECISIONS.md for the arc.
pub const EVIDENCE_OID: &str = "1.3.6.1.4.1.32473.1397600879.1";
/// The evidence OID of signatures made before December 2026: 2.25 and the
/// UUID a69b64df-4fcf-4110-8b0e-6dbf0740ef81 as an integer. Never written
/// again; verifiers keep reading it.
pub const LEGACY_EVIDENCE_OID: &str = "2.25.221458699246909409711979724285883248513";

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

/// The CAdES signed attributes of one signature.
///
/// `signing_time_ms` is `None` for PAdES, where EN 319 142-1 forbids the
/// attribute and the time is the signature dictionary's `/M`.
pub fn signed_attributes(
    message_digest: &[u8; 32],
    signing_time_ms: Option<i64>,
    signer_cert: &[u8],
    evidence: &Evidence,
) -> Result<SignedAttributes> {
    let evidence_json = wysiwys_proto::jcs::to_vec(evidence).map_err(|e| Error::Internal(e.to_string()))?;
    let mut attributes = vec![
        attribute(OID_CONTENT_TYPE, &oid(OID_DATA)),
        attribute(OID_MESSAGE_DIGEST, &octet_string(message_digest)),
        signing_certificate_v2(signer_cert)?,
        attribute(EVIDENCE_OID, &utf8_string(&evidence_json)),
    ];
    if let Some(ms) = signing_time_ms {
        attributes.push(attribute(OID_SIGNING_TIME, &utc_time(ms)?));
    }
    Ok(SignedAttributes::from_attributes(attributes))
}

/// Wraps the signed attributes and the signature value into a detached
/// SignedData with the signer's and the CA's certificates; with a
/// timestamp token over the signature value, CAdES-B-T.
pub fn assemble(
    attributes: &SignedAttributes,
    signature_der: &[u8],
    signer_cert: &[u8],
    ca_cert: &[u8],
    signature_timestamp: Option<&[u8]>,
) -> Result<Vec<u8>> {
    SignedDataParts {
        content_type: OID_DATA,
        content: None,
        attributes,
        signature_der,
        signer_cert,
        certificates: &[signer_cert, ca_cert],
        unsigned: signature_timestamp.map(|token| attribute(OID_SIGNATURE_TIME_STAMP, token)).into_iter().collect(),
    }
    .encode()
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::Encode;

    #[test]
    fn the_evidence_oid_has_only_31_bit_arcs() {
        for arc in EVIDENCE_OID.split('.') {
            assert!(arc.parse::<u32>().is_ok_and(|a| a < 1 << 31), "{arc}");
        }
        assert!(LEGACY_EVIDENCE_OID.split('.').any(|arc| arc.parse::<u32>().is_err()));
        let parsed: der::asn1::ObjectIdentifier = EVIDENCE_OID.parse().unwrap();
        assert_eq!(parsed.to_der().unwrap(), oid(EVIDENCE_OID));
    }
}
