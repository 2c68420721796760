//! CMS SignedData (RFC 5652) as both our signatures and our timestamp
//! tokens use it: one signer identified by issuer and serial, SHA-256,
//! ECDSA P-256, signed attributes always present.

use crate::der_writer::{algorithm, explicit, implicit_constructed, integer, octet_string, oid, seq, set_of, tlv};
use crate::error::{Error, Result};
use der::{Decode, Encode};
use sha2::{Digest, Sha256};
use x509_cert::Certificate;

pub const OID_SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
pub const OID_DATA: &str = "1.2.840.113549.1.7.1";
pub const OID_CONTENT_TYPE: &str = "1.2.840.113549.1.9.3";
pub const OID_MESSAGE_DIGEST: &str = "1.2.840.113549.1.9.4";
pub const OID_SIGNING_TIME: &str = "1.2.840.113549.1.9.5";
pub const OID_SIGNING_CERTIFICATE_V2: &str = "1.2.840.113549.1.9.16.2.47";
/// id-aa-signatureTimeStampToken (RFC 3161 appendix A), CAdES-B-T.
pub const OID_SIGNATURE_TIME_STAMP: &str = "1.2.840.113549.1.9.16.2.14";
pub const OID_SHA256: &str = "2.16.840.1.101.3.4.2.1";
pub const OID_ECDSA_WITH_SHA256: &str = "1.2.840.10045.4.3.2";

/// `Attribute ::= SEQUENCE { attrType, attrValues SET OF }` with one value.
pub fn attribute(oid_text: &str, value: &[u8]) -> Vec<u8> {
    seq(&[&oid(oid_text), &tlv(0x31, value)])
}

pub fn parse_certificate(der: &[u8]) -> Result<Certificate> {
    Certificate::from_der(der).map_err(|e| Error::Internal(format!("certificate: {e}")))
}

fn der_of(value: &impl Encode) -> Result<Vec<u8>> {
    value.to_der().map_err(|e| Error::Internal(format!("DER encoding: {e}")))
}

/// ESS signing-certificate-v2 (RFC 5035) naming `cert_der` by its SHA-256
/// (the default hash, so no AlgorithmIdentifier) and its issuer and serial.
pub fn signing_certificate_v2(cert_der: &[u8]) -> Result<Vec<u8>> {
    let tbs = parse_certificate(cert_der)?;
    let tbs = tbs.tbs_certificate();
    // GeneralNames with one directoryName; [4] is explicit because Name is a CHOICE.
    let general_names = seq(&[&explicit(4, &der_of(tbs.issuer())?)]);
    let issuer_serial = seq(&[&general_names, &der_of(tbs.serial_number())?]);
    let ess_cert_id = seq(&[&octet_string(&Sha256::digest(cert_der)), &issuer_serial]);
    Ok(attribute(OID_SIGNING_CERTIFICATE_V2, &seq(&[&seq(&[&ess_cert_id])])))
}

/// The SignedAttributes SET, sorted as DER wants it: `der` is exactly what
/// the key signs; `content` goes under `[0] IMPLICIT` in the SignerInfo.
#[derive(Debug, Clone)]
pub struct SignedAttributes {
    der: Vec<u8>,
    content_len: usize,
}

impl SignedAttributes {
    pub fn from_attributes(attributes: Vec<Vec<u8>>) -> SignedAttributes {
        let der = set_of(attributes);
        let content_len = der.len() - header_len(&der);
        SignedAttributes { der, content_len }
    }

    pub fn der(&self) -> &[u8] {
        &self.der
    }

    fn content(&self) -> &[u8] {
        &self.der[self.der.len() - self.content_len..]
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

fn header_len(tlv: &[u8]) -> usize {
    match tlv.get(1) {
        Some(len) if len & 0x80 != 0 => 2 + usize::from(len & 0x7f),
        _ => 2,
    }
}

/// The DER `ECDSA-Sig-Value` of the HSM's raw `r ‖ s`: what goes into the
/// SignerInfo, and what a signature timestamp covers.
pub fn ecdsa_signature_der(raw: &[u8; 64]) -> Result<Vec<u8>> {
    let signature = p256::ecdsa::Signature::from_slice(raw)
        .map_err(|_| Error::Internal("HSM returned an invalid ECDSA signature".into()))?;
    Ok(signature.to_der().as_bytes().to_vec())
}

/// One signer's whole SignedData in its ContentInfo. `content` is the
/// encapsulated content (`None`: detached); `unsigned` are complete
/// Attribute TLVs (a signature timestamp).
#[derive(Debug)]
pub struct SignedDataParts<'a> {
    pub content_type: &'a str,
    pub content: Option<&'a [u8]>,
    pub attributes: &'a SignedAttributes,
    pub signature_der: &'a [u8],
    pub signer_cert: &'a [u8],
    pub certificates: &'a [&'a [u8]],
    pub unsigned: Vec<Vec<u8>>,
}

impl SignedDataParts<'_> {
    pub fn encode(&self) -> Result<Vec<u8>> {
        let cert = parse_certificate(self.signer_cert)?;
        let tbs = cert.tbs_certificate();
        let issuer_and_serial = seq(&[&der_of(tbs.issuer())?, &der_of(tbs.serial_number())?]);
        let mut signer_info = vec![
            integer(1),
            issuer_and_serial,
            algorithm(OID_SHA256),
            implicit_constructed(0, self.attributes.content()),
            algorithm(OID_ECDSA_WITH_SHA256),
            octet_string(self.signature_der),
        ];
        if !self.unsigned.is_empty() {
            let unsigned = set_of(self.unsigned.clone());
            signer_info.push(implicit_constructed(1, &unsigned[header_len(&unsigned)..]));
        }
        let signer_info = tlv(0x30, &signer_info.concat());
        let mut certificates: Vec<&[u8]> = self.certificates.to_vec();
        certificates.sort();
        certificates.dedup();
        let encapsulated = match self.content {
            Some(content) => seq(&[&oid(self.content_type), &explicit(0, &octet_string(content))]),
            None => seq(&[&oid(self.content_type)]),
        };
        // RFC 5652 5.1: version 3 when the content is not id-data.
        let version = if self.content_type == OID_DATA { 1 } else { 3 };
        let mut signed_data = vec![integer(version), tlv(0x31, &algorithm(OID_SHA256)), encapsulated];
        if !certificates.is_empty() {
            signed_data.push(implicit_constructed(0, &certificates.concat()));
        }
        signed_data.push(tlv(0x31, &signer_info));
        let signed_data = tlv(0x30, &signed_data.concat());
        Ok(seq(&[&oid(OID_SIGNED_DATA), &explicit(0, &signed_data)]))
    }
}
