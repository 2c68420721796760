//! The OCSP responder (RFC 6960): requests parsed, answers built and signed
//! by the CA key itself (the CA is its own responder, so no delegated
//! certificate is needed and the answer chains to the trust root alone).
//!
//! Pure apart from the signature: the caller looks the serials up.

use crate::der_writer::{
    algorithm, bit_string, enumerated, explicit, generalized_time, implicit_constructed, implicit_primitive,
    octet_string, oid, seq, tlv,
};
use crate::error::{Error, Result};
use crate::signed_data::{OID_ECDSA_WITH_SHA256, ecdsa_signature_der, parse_certificate};
use der::asn1::{Any, Int, OctetString};
use der::{Decode, Encode, Sequence};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use spki::AlgorithmIdentifierOwned;
use x509_cert::ext::Extensions;

const OID_SHA1: &str = "1.3.14.3.2.26";
const OID_SHA256: &str = "2.16.840.1.101.3.4.2.1";
const OID_OCSP_BASIC: &str = "1.3.6.1.5.5.7.48.1.1";
const OID_OCSP_NONCE: &str = "1.3.6.1.5.5.7.48.1.2";
/// More certificates per request than any validator asks about at once.
pub const MAX_CERTIFICATES_PER_REQUEST: usize = 16;
/// How long a "good" answer may be cached by a validator.
const NEXT_UPDATE_MS: i64 = 24 * 3600 * 1000;

#[derive(Sequence)]
struct CertIdDer {
    hash_algorithm: AlgorithmIdentifierOwned,
    issuer_name_hash: OctetString,
    issuer_key_hash: OctetString,
    serial_number: Int,
}

#[derive(Sequence)]
struct RequestDer {
    req_cert: CertIdDer,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    single_request_extensions: Option<Extensions>,
}

#[derive(Sequence)]
struct TbsRequestDer {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", default = "Default::default")]
    version: u8,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    requestor_name: Option<Any>,
    request_list: Vec<RequestDer>,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
    request_extensions: Option<Extensions>,
}

#[derive(Sequence)]
struct OcspRequestDer {
    tbs_request: TbsRequestDer,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    optional_signature: Option<Any>,
}

/// `OCSPResponseStatus` values other than successful.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    MalformedRequest = 1,
    InternalError = 2,
    TryLater = 3,
}

/// One certificate asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// The CertID as it came, echoed in the answer.
    cert_id: Vec<u8>,
    /// The serial's INTEGER content bytes, as in the certificate.
    pub serial: Vec<u8>,
    /// Whether the CertID names our CA (by name and key hash).
    pub ours: bool,
}

/// A parsed request: its questions and its nonce extension (echoed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Questions {
    pub questions: Vec<Question>,
    nonce: Option<Vec<u8>>,
}

/// What the store says about a serial.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertStatus {
    Good,
    /// `reason` is the CRLReason code (6 is certificateHold, a suspension).
    Revoked {
        at_ms: i64,
        reason: Option<u8>,
    },
    Unknown,
}

/// The CA's facts a CertID is matched against.
#[derive(Debug, Clone)]
pub struct Issuer {
    name_der: Vec<u8>,
    key: Vec<u8>,
    certificate: Vec<u8>,
}

impl Issuer {
    pub fn from_certificate(ca_der: &[u8]) -> Result<Issuer> {
        let cert = parse_certificate(ca_der)?;
        let tbs = cert.tbs_certificate();
        let name_der = tbs.subject().to_der().map_err(|e| Error::Internal(format!("CA name: {e}")))?;
        let key = tbs.subject_public_key_info().subject_public_key.raw_bytes().to_vec();
        Ok(Issuer { name_der, key, certificate: ca_der.to_vec() })
    }

    fn hashes(&self, algorithm: &str) -> Option<(Vec<u8>, Vec<u8>)> {
        match algorithm {
            OID_SHA1 => Some((Sha1::digest(&self.name_der).to_vec(), Sha1::digest(&self.key).to_vec())),
            OID_SHA256 => Some((Sha256::digest(&self.name_der).to_vec(), Sha256::digest(&self.key).to_vec())),
            _ => None,
        }
    }
}

impl Questions {
    pub fn parse(der: &[u8], issuer: &Issuer) -> std::result::Result<Questions, Failure> {
        let request = OcspRequestDer::from_der(der).map_err(|_| Failure::MalformedRequest)?;
        let list = request.tbs_request.request_list;
        if list.is_empty() || list.len() > MAX_CERTIFICATES_PER_REQUEST || request.tbs_request.version != 0 {
            return Err(Failure::MalformedRequest);
        }
        let mut questions = Vec::with_capacity(list.len());
        for item in list {
            let id = item.req_cert;
            let ours = issuer.hashes(&id.hash_algorithm.oid.to_string()).is_some_and(|(name, key)| {
                name == id.issuer_name_hash.as_bytes() && key == id.issuer_key_hash.as_bytes()
            });
            let serial = id.serial_number.as_bytes().to_vec();
            let cert_id = id.to_der().map_err(|_| Failure::MalformedRequest)?;
            questions.push(Question { cert_id, serial, ours });
        }
        let nonce = request
            .tbs_request
            .request_extensions
            .unwrap_or_default()
            .into_iter()
            .find(|e| e.extn_id.to_string() == OID_OCSP_NONCE)
            .map(|e| e.extn_value.as_bytes().to_vec());
        if nonce.as_ref().is_some_and(|n| n.len() > 128) {
            return Err(Failure::MalformedRequest);
        }
        Ok(Questions { questions, nonce })
    }
}

impl Questions {
    /// The question a validator would ask about our own certificate, for
    /// answers embedded in a PDF's DSS (B-LT): a SHA-1 CertID, no nonce.
    pub fn about(certificate_der: &[u8], issuer: &Issuer) -> Result<Questions> {
        let serial = crate::pki::serial_of(certificate_der)?;
        let (name, key) = issuer.hashes(OID_SHA1).ok_or_else(|| Error::Internal("SHA-1 CertID".into()))?;
        let cert_id = seq(&[
            &seq(&[&oid(OID_SHA1), &crate::der_writer::null()]),
            &octet_string(&name),
            &octet_string(&key),
            &tlv(0x02, &serial),
        ]);
        Ok(Questions { questions: vec![Question { cert_id, serial, ours: true }], nonce: None })
    }
}

/// `OCSPResponse` with only a status (no responseBytes).
pub fn failed(failure: Failure) -> Vec<u8> {
    seq(&[&enumerated(failure as u8)])
}

fn single_response(question: &Question, status: CertStatus, now_ms: i64) -> Result<Vec<u8>> {
    let status = match status {
        CertStatus::Good => implicit_primitive(0, &[]),
        CertStatus::Unknown => implicit_primitive(2, &[]),
        CertStatus::Revoked { at_ms, reason } => {
            let mut info = generalized_time(at_ms)?;
            if let Some(reason) = reason {
                info.extend(explicit(0, &enumerated(reason)));
            }
            implicit_constructed(1, &info)
        }
    };
    let next_update = explicit(0, &generalized_time(now_ms + NEXT_UPDATE_MS)?);
    Ok(seq(&[&question.cert_id, &status, &generalized_time(now_ms)?, &next_update]))
}

/// The signed `BasicOCSPResponse`, in its `OCSPResponse`. `answers` are
/// in the order of the questions.
pub fn respond(
    questions: &Questions,
    answers: &[CertStatus],
    issuer: &Issuer,
    now_ms: i64,
    sign_as_ca: impl FnOnce(&[u8]) -> Result<[u8; 64]>,
) -> Result<Vec<u8>> {
    if answers.len() != questions.questions.len() {
        return Err(Error::Internal("an OCSP answer per question".into()));
    }
    let responses = questions
        .questions
        .iter()
        .zip(answers)
        .map(|(q, a)| single_response(q, if q.ours { *a } else { CertStatus::Unknown }, now_ms))
        .collect::<Result<Vec<_>>>()?;
    // ResponderID byKey [2]: SHA-1 of the responder's public key.
    let responder = explicit(2, &octet_string(&Sha1::digest(&issuer.key)));
    let mut data = vec![responder, generalized_time(now_ms)?, tlv(0x30, &responses.concat())];
    if let Some(nonce) = &questions.nonce {
        let extension = seq(&[&oid(OID_OCSP_NONCE), &octet_string(nonce)]);
        data.push(explicit(1, &seq(&[&extension])));
    }
    let tbs = tlv(0x30, &data.concat());
    let signature = ecdsa_signature_der(&sign_as_ca(&tbs)?)?;
    let certs = explicit(0, &seq(&[&issuer.certificate]));
    let basic = seq(&[&tbs, &algorithm(OID_ECDSA_WITH_SHA256), &bit_string(&signature), &certs]);
    let bytes = seq(&[&oid(OID_OCSP_BASIC), &octet_string(&basic)]);
    Ok(seq(&[&enumerated(0), &explicit(0, &bytes)]))
}
