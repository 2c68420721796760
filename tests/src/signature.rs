//! Reads our CMS signatures with the RustCrypto `cms` crate, an independent
//! parser whose OIDs hold only 32-bit arcs: if it parses a signature, so do
//! verifiers built on it (and on Go's `encoding/asn1`).

use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerInfo};
use der::{Decode, Encode};

pub const EVIDENCE_OID: &str = "1.3.6.1.4.1.32473.1397600879.1";
pub const SIGNATURE_TIME_STAMP_OID: &str = "1.2.840.113549.1.9.16.2.14";

fn signer_info(cms_der: &[u8]) -> Result<SignerInfo, String> {
    let info = ContentInfo::from_der(cms_der).map_err(|e| format!("ContentInfo: {e}"))?;
    let signed: SignedData = info.content.decode_as().map_err(|e| format!("SignedData: {e}"))?;
    let mut signers = signed.signer_infos.0.into_vec();
    if signers.len() != 1 {
        return Err(format!("{} signers", signers.len()));
    }
    Ok(signers.remove(0))
}

/// The evidence attribute's JSON of a CMS signature (CAdES, or the
/// `/Contents` of a PAdES signature).
pub fn evidence(cms_der: &[u8]) -> Result<serde_json::Value, String> {
    let signer = signer_info(cms_der)?;
    let attributes = signer.signed_attrs.ok_or("no signed attributes")?;
    let attribute = attributes
        .iter()
        .find(|a| a.oid.to_string() == EVIDENCE_OID)
        .ok_or_else(|| format!("no attribute {EVIDENCE_OID}"))?;
    let value = attribute.values.iter().next().ok_or("empty evidence attribute")?;
    let text: der::asn1::Utf8StringRef<'_> = value.decode_as().map_err(|e| format!("evidence value: {e}"))?;
    serde_json::from_str(text.as_str()).map_err(|e| format!("evidence JSON: {e}"))
}

/// The signature-time-stamp token (a DER ContentInfo) of a CAdES-B-T
/// signature, with the DER ECDSA signature value it must cover.
pub fn signature_timestamp(cms_der: &[u8]) -> Result<(Vec<u8>, Vec<u8>), String> {
    let signer = signer_info(cms_der)?;
    let attributes = signer.unsigned_attrs.ok_or("no unsigned attributes")?;
    let attribute = attributes
        .iter()
        .find(|a| a.oid.to_string() == SIGNATURE_TIME_STAMP_OID)
        .ok_or("no signature-time-stamp attribute")?;
    let token = attribute.values.iter().next().ok_or("empty timestamp attribute")?;
    let token = token.to_der().map_err(|e| e.to_string())?;
    Ok((token, signer.signature.as_bytes().to_vec()))
}

/// The certificates a CMS signature carries (DER), in its order.
pub fn certificates(cms_der: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let info = ContentInfo::from_der(cms_der).map_err(|e| format!("ContentInfo: {e}"))?;
    let signed: SignedData = info.content.decode_as().map_err(|e| format!("SignedData: {e}"))?;
    let set = signed.certificates.ok_or("no certificates")?;
    set.0.iter().map(|c| c.to_der().map_err(|e| e.to_string())).collect()
}
