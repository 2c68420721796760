//! The built-in time-stamping authority (RFC 3161, RFC 5816): its key is in
//! the HSM, its certificate comes from our CA with the critical
//! timeStamping extended key usage, and each token is a SignedData over a
//! TSTInfo with an ESS signing-certificate-v2 attribute.

use super::request::{Rejection, TimestampRequest};
use crate::der_writer::{bit_string, generalized_time, integer, octet_string, oid, seq, unsigned_integer, utf8_string};
use crate::error::{Error, Result};
use crate::hsm::Hsm;
use crate::signed_data::{
    OID_CONTENT_TYPE, OID_MESSAGE_DIGEST, SignedAttributes, SignedDataParts, attribute, ecdsa_signature_der,
    signing_certificate_v2,
};
use sha2::{Digest, Sha256};

/// The authority's policy: genTime from the server clock in whole seconds,
/// accurate to one second. Under the arc of the evidence OID
/// (docs/PROTOCOL.md).
pub const TSA_POLICY_OID: &str = "1.3.6.1.4.1.32473.1397600879.2";
/// id-ct-TSTInfo.
pub const OID_TST_INFO: &str = "1.2.840.113549.1.9.16.1.4";

/// The facts a token states that are not in its request.
#[derive(Debug, Clone, Copy)]
pub struct Stamp {
    pub serial: [u8; 16],
    pub gen_time_ms: i64,
}

/// The authority's key and certificates.
#[derive(Debug, Clone, Copy)]
pub struct Authority<'a> {
    pub hsm: &'a Hsm,
    pub certificate: &'a [u8],
    pub ca_certificate: &'a [u8],
}

impl Authority<'_> {
    /// A complete token (ContentInfo) for the request.
    pub fn token(&self, request: &TimestampRequest, stamp: Stamp) -> Result<Vec<u8>> {
        let tst_info = tst_info(request, stamp)?;
        let attributes = SignedAttributes::from_attributes(vec![
            attribute(OID_CONTENT_TYPE, &oid(OID_TST_INFO)),
            attribute(OID_MESSAGE_DIGEST, &octet_string(&Sha256::digest(&tst_info))),
            signing_certificate_v2(self.certificate)?,
        ]);
        let raw = self.hsm.sign_as_tsa(attributes.der())?;
        // RFC 3161 2.4.1: the certificates only when asked for.
        let certificates: &[&[u8]] = if request.cert_req { &[self.certificate, self.ca_certificate] } else { &[] };
        SignedDataParts {
            content_type: OID_TST_INFO,
            content: Some(&tst_info),
            attributes: &attributes,
            signature_der: &ecdsa_signature_der(&raw)?,
            signer_cert: self.certificate,
            certificates,
            unsigned: Vec::new(),
        }
        .encode()
    }

    /// The whole `TimeStampResp` for a request as it came over HTTP: a
    /// granted token, or a rejection with the RFC's failure bit. Never an
    /// error: a client always gets a reply it can read.
    pub fn respond(&self, request_der: &[u8], stamp: Stamp) -> Vec<u8> {
        let request = match TimestampRequest::parse(request_der, TSA_POLICY_OID) {
            Ok(request) => request,
            Err(rejection) => {
                tracing::info!(?rejection, "time-stamp request refused");
                return rejected(rejection);
            }
        };
        match self.token(&request, stamp) {
            Ok(token) => granted(&token),
            Err(e) => {
                tracing::error!(error = %e, "time-stamp token could not be made");
                rejected(Rejection::SystemFailure)
            }
        }
    }
}

fn tst_info(request: &TimestampRequest, stamp: Stamp) -> Result<Vec<u8>> {
    // Accuracy ::= SEQUENCE { seconds INTEGER OPTIONAL, … }
    let accuracy = seq(&[&integer(1)]);
    let mut fields = vec![
        integer(1),
        oid(TSA_POLICY_OID),
        request.message_imprint(),
        unsigned_integer(&stamp.serial),
        generalized_time(stamp.gen_time_ms)?,
        accuracy,
    ];
    if let Some(nonce) = &request.nonce {
        fields.push(nonce.clone());
    }
    if stamp.gen_time_ms < 0 {
        return Err(Error::Internal("the clock is before 1970".into()));
    }
    Ok(crate::der_writer::tlv(0x30, &fields.concat()))
}

/// `PKIStatusInfo` granted (0) and the token.
fn granted(token: &[u8]) -> Vec<u8> {
    seq(&[&seq(&[&integer(0)]), token])
}

/// `PKIStatusInfo` rejection (2) with its text and failure bit.
pub fn rejected(rejection: Rejection) -> Vec<u8> {
    let bit = rejection as usize;
    let mut bits = vec![0u8; bit / 8 + 1];
    bits[bit / 8] = 0x80 >> (bit % 8);
    // DER names the unused bits of the last byte; strip the one byte of
    // the plain bit string and write the count.
    let mut failure = bit_string(&bits);
    failure[2] = (7 - bit % 8) as u8;
    let status = seq(&[&integer(2), &seq(&[&utf8_string(rejection.text().as_bytes())]), &failure]);
    seq(&[&status])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rejection_names_its_failure_bit_in_der() {
        // badDataFormat is bit 5: one byte 0x04 with two unused bits.
        let der = rejected(Rejection::BadDataFormat);
        assert!(der.windows(4).any(|w| w == [0x03, 0x02, 0x02, 0x04]), "{der:02x?}");
        // systemFailure is bit 25: four bytes, the last 0x40 with six unused.
        let der = rejected(Rejection::SystemFailure);
        assert!(der.windows(7).any(|w| w == [0x03, 0x05, 0x06, 0x00, 0x00, 0x00, 0x40]), "{der:02x?}");
    }

    #[test]
    fn the_tst_info_echoes_imprint_and_nonce() {
        let request =
            TimestampRequest::parse(&super::super::request::encode_request(&[9; 32], &[5; 8]), TSA_POLICY_OID).unwrap();
        let der = tst_info(&request, Stamp { serial: [0x81; 16], gen_time_ms: 1_795_000_000_999 }).unwrap();
        assert!(der.windows(34).any(|w| w[..2] == [0x04, 0x20] && w[2..] == [9; 32]));
        assert!(der.windows(10).any(|w| w == [0x02, 0x08, 5, 5, 5, 5, 5, 5, 5, 5]));
        assert!(der.windows(17).any(|w| w == *b"\x18\x0f20261118110640Z"));
        // The serial's top bit is set: a zero byte keeps it positive.
        assert!(der.windows(4).any(|w| w == [0x02, 0x11, 0x00, 0x81]));
    }
}
