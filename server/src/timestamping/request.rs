//! RFC 3161 `TimeStampReq`: parsed for the built-in authority, written by
//! the client of an external one.

use crate::der_writer::{algorithm, boolean, integer, octet_string, seq, unsigned_integer};
use der::asn1::{Int, ObjectIdentifier, OctetString};
use der::{Decode, Encode, Sequence, Tagged};
use spki::AlgorithmIdentifierOwned;

/// The hash algorithms whose imprints we stamp, with their digest lengths.
const HASHES: [(&str, usize); 3] =
    [("2.16.840.1.101.3.4.2.1", 32), ("2.16.840.1.101.3.4.2.2", 48), ("2.16.840.1.101.3.4.2.3", 64)];
pub const OID_SHA256: &str = "2.16.840.1.101.3.4.2.1";

#[derive(Sequence)]
struct MessageImprintDer {
    hash_algorithm: AlgorithmIdentifierOwned,
    hashed_message: OctetString,
}

#[derive(Sequence)]
struct TimeStampReqDer {
    version: u8,
    message_imprint: MessageImprintDer,
    #[asn1(optional = "true")]
    req_policy: Option<ObjectIdentifier>,
    #[asn1(optional = "true")]
    nonce: Option<Int>,
    #[asn1(default = "Default::default")]
    cert_req: bool,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", constructed = "true", optional = "true")]
    extensions: Option<x509_cert::ext::Extensions>,
}

/// A request the built-in authority can answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampRequest {
    /// Dotted OID of the imprint's hash algorithm (one of [`HASHES`]).
    pub hash_algorithm: String,
    pub imprint: Vec<u8>,
    pub policy: Option<String>,
    /// The nonce's whole INTEGER TLV, echoed as it came.
    pub nonce: Option<Vec<u8>>,
    pub cert_req: bool,
}

/// Why a request is not stamped: the PKIFailureInfo bit RFC 3161 names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    BadAlg = 0,
    BadRequest = 2,
    BadDataFormat = 5,
    UnacceptedPolicy = 15,
    UnacceptedExtension = 16,
    SystemFailure = 25,
}

impl Rejection {
    pub fn text(self) -> &'static str {
        match self {
            Rejection::BadAlg => "unrecognized or unsupported hash algorithm",
            Rejection::BadRequest => "transaction not permitted or supported",
            Rejection::BadDataFormat => "the request is not a DER TimeStampReq",
            Rejection::UnacceptedPolicy => "the requested policy is not this authority's",
            Rejection::UnacceptedExtension => "request extensions are not supported",
            Rejection::SystemFailure => "the authority cannot answer now",
        }
    }
}

impl TimestampRequest {
    pub fn parse(der: &[u8], our_policy: &str) -> Result<TimestampRequest, Rejection> {
        let request = TimeStampReqDer::from_der(der).map_err(|_| Rejection::BadDataFormat)?;
        if request.version != 1 {
            return Err(Rejection::BadDataFormat);
        }
        if request.extensions.is_some() {
            return Err(Rejection::UnacceptedExtension);
        }
        let imprint = request.message_imprint;
        let hash_algorithm = imprint.hash_algorithm.oid.to_string();
        // Absent or NULL parameters only (RFC 5754 allows both).
        if imprint.hash_algorithm.parameters.as_ref().is_some_and(|p| p.tag() != der::Tag::Null) {
            return Err(Rejection::BadAlg);
        }
        let Some((_, length)) = HASHES.iter().find(|(oid, _)| *oid == hash_algorithm) else {
            return Err(Rejection::BadAlg);
        };
        if imprint.hashed_message.as_bytes().len() != *length {
            return Err(Rejection::BadDataFormat);
        }
        let policy = request.req_policy.map(|p| p.to_string());
        if policy.as_deref().is_some_and(|p| p != our_policy) {
            return Err(Rejection::UnacceptedPolicy);
        }
        let nonce = request.nonce.map(|n| n.to_der()).transpose().map_err(|_| Rejection::BadDataFormat)?;
        Ok(TimestampRequest {
            hash_algorithm,
            imprint: imprint.hashed_message.as_bytes().to_vec(),
            policy,
            nonce,
            cert_req: request.cert_req,
        })
    }

    /// The `MessageImprint` TLV, as the TSTInfo repeats it.
    pub fn message_imprint(&self) -> Vec<u8> {
        seq(&[&algorithm(&self.hash_algorithm), &octet_string(&self.imprint)])
    }
}

/// A request for an external authority: SHA-256 imprint, a 64-bit nonce,
/// and the TSA's certificate asked for (B-LT needs it).
pub fn encode_request(digest: &[u8; 32], nonce: &[u8]) -> Vec<u8> {
    seq(&[
        &integer(1),
        &seq(&[&algorithm(OID_SHA256), &octet_string(digest)]),
        &unsigned_integer(nonce),
        &boolean(true),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = "1.3.6.1.4.1.32473.1397600879.2";

    #[test]
    fn our_own_request_parses_with_its_nonce() {
        let der = encode_request(&[7; 32], &[0x80, 0, 0, 0, 0, 0, 0, 1]);
        let request = TimestampRequest::parse(&der, POLICY).unwrap();
        assert_eq!(request.hash_algorithm, OID_SHA256);
        assert_eq!(request.imprint, [7; 32]);
        assert!(request.cert_req);
        assert_eq!(request.nonce.unwrap(), unsigned_integer(&[0x80, 0, 0, 0, 0, 0, 0, 1]));
        assert_eq!(request.policy, None);
    }

    #[test]
    fn bad_requests_get_the_rfc_failure() {
        assert_eq!(TimestampRequest::parse(b"nonsense", POLICY), Err(Rejection::BadDataFormat));
        let short = seq(&[&integer(1), &seq(&[&algorithm(OID_SHA256), &octet_string(&[1; 20])])]);
        assert_eq!(TimestampRequest::parse(&short, POLICY), Err(Rejection::BadDataFormat));
        let sha1 = seq(&[&integer(1), &seq(&[&algorithm("1.3.14.3.2.26"), &octet_string(&[1; 20])])]);
        assert_eq!(TimestampRequest::parse(&sha1, POLICY), Err(Rejection::BadAlg));
        let v2 = seq(&[&integer(2), &seq(&[&algorithm(OID_SHA256), &octet_string(&[1; 32])])]);
        assert_eq!(TimestampRequest::parse(&v2, POLICY), Err(Rejection::BadDataFormat));
        let other_policy = seq(&[
            &integer(1),
            &seq(&[&algorithm(OID_SHA256), &octet_string(&[1; 32])]),
            &crate::der_writer::oid("1.2.3.4"),
        ]);
        assert_eq!(TimestampRequest::parse(&other_policy, POLICY), Err(Rejection::UnacceptedPolicy));
        let mut trailing = encode_request(&[7; 32], &[1; 8]);
        trailing.push(0);
        assert_eq!(TimestampRequest::parse(&trailing, POLICY), Err(Rejection::BadDataFormat));
    }
}
