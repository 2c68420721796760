//! Compact JWS with ES256 only (RFC 7515, RFC 7518 §3.4), and P-256 JWKs.
//!
//! Small on purpose: one algorithm, one key type, a closed header. Anything
//! else — `alg: none`, HMAC, extra header parameters, JSON serialisation — is
//! refused before a signature is looked at.

use crate::{b64, jcs};
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub const ALG: &str = "ES256";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwsError {
    #[error("token is not a compact JWS: {0}")]
    Malformed(&'static str),
    #[error("token is longer than {0} bytes")]
    TooLong(usize),
    #[error("algorithm {0:?} is not allowed; only ES256")]
    AlgorithmNotAllowed(String),
    #[error("token type is {found:?}, expected {expected:?}")]
    WrongType { found: String, expected: &'static str },
    #[error("signature does not verify")]
    BadSignature,
    #[error("claims are malformed: {0}")]
    Claims(String),
    #[error("key is not a valid P-256 public key")]
    BadKey,
}

/// The only header we produce or accept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub alg: String,
    pub typ: String,
    pub kid: String,
}

/// A P-256 public key as a JWK (RFC 7517/7518). Private parts are never on
/// the wire, so the type has no `d`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Jwk {
    pub kty: String,
    pub crv: String,
    pub x: String,
    pub y: String,
}

impl Jwk {
    pub fn from_verifying_key(key: &VerifyingKey) -> Jwk {
        let point = key.to_sec1_point(false);
        // Uncompressed SEC1: 0x04 ‖ x (32 bytes) ‖ y (32 bytes).
        let bytes = point.as_bytes();
        let (x, y) = bytes.get(1..).unwrap_or_default().split_at(32.min(bytes.len().saturating_sub(1)));
        Jwk { kty: "EC".into(), crv: "P-256".into(), x: b64::encode(x), y: b64::encode(y) }
    }

    /// From an uncompressed SEC1 point (65 bytes), as an HSM returns it.
    pub fn from_sec1(bytes: &[u8]) -> Result<Jwk, JwsError> {
        let key = VerifyingKey::from_sec1_bytes(bytes).map_err(|_| JwsError::BadKey)?;
        Ok(Self::from_verifying_key(&key))
    }

    pub fn to_verifying_key(&self) -> Result<VerifyingKey, JwsError> {
        if self.kty != "EC" || self.crv != "P-256" {
            return Err(JwsError::BadKey);
        }
        let x = b64::decode_array::<32>(&self.x).ok_or(JwsError::BadKey)?;
        let y = b64::decode_array::<32>(&self.y).ok_or(JwsError::BadKey)?;
        let mut sec1 = Vec::with_capacity(65);
        sec1.push(0x04);
        sec1.extend_from_slice(&x);
        sec1.extend_from_slice(&y);
        VerifyingKey::from_sec1_bytes(&sec1).map_err(|_| JwsError::BadKey)
    }

    /// RFC 7638 thumbprint: base64url SHA-256 of the required members in
    /// lexicographic order, which is exactly their JCS form.
    pub fn thumbprint(&self) -> String {
        b64::encode(jcs::sha256(&self.canonical_bytes()))
    }

    fn canonical_bytes(&self) -> Vec<u8> {
        // Four string members: canonicalisation cannot fail.
        jcs::to_vec(self).unwrap_or_default()
    }
}

/// `BASE64URL(header) . BASE64URL(JCS(claims))`, the bytes that get signed.
pub fn signing_input<T: Serialize>(typ: &str, kid: &str, claims: &T) -> Result<String, JwsError> {
    let header = Header { alg: ALG.into(), typ: typ.into(), kid: kid.into() };
    let header = jcs::to_vec(&header).map_err(|e| JwsError::Claims(e.to_string()))?;
    let payload = jcs::to_vec(claims).map_err(|e| JwsError::Claims(e.to_string()))?;
    Ok(format!("{}.{}", b64::encode(header), b64::encode(payload)))
}

/// Appends a raw `r ‖ s` signature (what an HSM's CKM_ECDSA returns).
pub fn assemble(signing_input: &str, raw_signature: &[u8; 64]) -> String {
    format!("{signing_input}.{}", b64::encode(raw_signature))
}

/// Signs with a software key (devices, tests). Deterministic (RFC 6979).
pub fn sign<T: Serialize>(key: &SigningKey, typ: &str, kid: &str, claims: &T) -> Result<String, JwsError> {
    let input = signing_input(typ, kid, claims)?;
    let signature: Signature = key.sign(input.as_bytes());
    Ok(assemble(&input, &signature.to_bytes().into()))
}

/// A parsed token whose signature has not been checked yet.
#[derive(Debug)]
pub struct Unverified<'a> {
    pub header: Header,
    signing_input: &'a str,
    payload: Vec<u8>,
    signature: Signature,
}

/// Splits and decodes a token and checks the header; no key needed yet, so
/// the caller can use `kid` to find one.
pub fn parse<'a>(token: &'a str, expected_typ: &'static str, max_len: usize) -> Result<Unverified<'a>, JwsError> {
    if token.len() > max_len {
        return Err(JwsError::TooLong(max_len));
    }
    let (signing_input, signature_b64) = token.rsplit_once('.').ok_or(JwsError::Malformed("expected three parts"))?;
    let (header_b64, payload_b64) = signing_input.split_once('.').ok_or(JwsError::Malformed("expected three parts"))?;
    if payload_b64.contains('.') {
        return Err(JwsError::Malformed("expected three parts"));
    }
    let header_bytes = b64::decode(header_b64).ok_or(JwsError::Malformed("header is not base64url"))?;
    let header: Header = serde_json::from_slice(&header_bytes).map_err(|_| {
        // Distinguish `alg: none` & co. for the log, without trusting the rest.
        match serde_json::from_slice::<serde_json::Value>(&header_bytes) {
            Ok(v) => match v.get("alg").and_then(|a| a.as_str()) {
                Some(alg) if alg != ALG => JwsError::AlgorithmNotAllowed(alg.to_owned()),
                _ => JwsError::Malformed("header has missing or extra members"),
            },
            Err(_) => JwsError::Malformed("header is not JSON"),
        }
    })?;
    if header.alg != ALG {
        return Err(JwsError::AlgorithmNotAllowed(header.alg));
    }
    if header.typ != expected_typ {
        return Err(JwsError::WrongType { found: header.typ, expected: expected_typ });
    }
    let payload = b64::decode(payload_b64).ok_or(JwsError::Malformed("payload is not base64url"))?;
    let signature = b64::decode_array::<64>(signature_b64)
        .and_then(|raw| Signature::from_slice(&raw).ok())
        .ok_or(JwsError::Malformed("signature is not 64 bytes r ‖ s"))?;
    Ok(Unverified { header, signing_input, payload, signature })
}

impl Unverified<'_> {
    /// Checks the signature, then (only then) parses the claims.
    ///
    /// AWS-LC verifies: a SAD is verified once or twice per flow, and
    /// RustCrypto's p256 took about 0.35 ms where AWS-LC takes 0.1 ms.
    /// The key was validated on the curve when it was made (`VerifyingKey`).
    pub fn verify<T: DeserializeOwned>(self, key: &VerifyingKey) -> Result<Verified<T>, JwsError> {
        let point = key.to_sec1_point(false);
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point.as_bytes())
            .verify(self.signing_input.as_bytes(), &self.signature.to_bytes())
            .map_err(|_| JwsError::BadSignature)?;
        let claims = serde_json::from_slice(&self.payload).map_err(|e| JwsError::Claims(e.to_string()))?;
        Ok(Verified { header: self.header, claims, signing_input_sha256: jcs::sha256(self.signing_input.as_bytes()) })
    }

    /// The claims without any signature check: only for a pairing proof,
    /// whose key is inside the claims and is checked right after.
    pub fn claims_unchecked<T: DeserializeOwned>(&self) -> Result<T, JwsError> {
        serde_json::from_slice(&self.payload).map_err(|e| JwsError::Claims(e.to_string()))
    }
}

#[derive(Debug)]
pub struct Verified<T> {
    pub header: Header,
    pub claims: T,
    /// Identifies the signed content independently of ECDSA signature
    /// malleability (`s` and `n - s` both verify).
    pub signing_input_sha256: [u8; 32],
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        SigningKey::from_slice(&[7u8; 32]).unwrap()
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Claims {
        a: u32,
    }

    #[test]
    fn sign_parse_verify() {
        let token = sign(&key(), "t+jwt", "k1", &Claims { a: 1 }).unwrap();
        let parsed = parse(&token, "t+jwt", 1000).unwrap();
        assert_eq!(parsed.header.kid, "k1");
        let v: Verified<Claims> = parsed.verify(key().verifying_key()).unwrap();
        assert_eq!(v.claims, Claims { a: 1 });
    }

    #[test]
    fn refusals() {
        let token = sign(&key(), "t+jwt", "k1", &Claims { a: 1 }).unwrap();
        assert!(matches!(parse(&token, "other", 1000), Err(JwsError::WrongType { .. })));
        assert_eq!(parse(&token, "t+jwt", 10).unwrap_err(), JwsError::TooLong(10));
        assert!(parse(&token, "t+jwt", token.len()).is_ok(), "the limit is inclusive");
        assert_eq!(parse(&token, "t+jwt", token.len() - 1).unwrap_err(), JwsError::TooLong(token.len() - 1));
        assert!(matches!(parse(&format!("{token}.x"), "t+jwt", 1000), Err(JwsError::Malformed(_))));
        let other = SigningKey::from_slice(&[8u8; 32]).unwrap();
        let wrong_key = parse(&token, "t+jwt", 1000).unwrap().verify::<Claims>(other.verifying_key());
        assert_eq!(wrong_key.unwrap_err(), JwsError::BadSignature);

        let none_header = b64::encode(br#"{"alg":"none","typ":"t+jwt","kid":"k1"}"#);
        let (_, rest) = token.split_once('.').unwrap();
        let forged = format!("{none_header}.{rest}");
        assert_eq!(parse(&forged, "t+jwt", 1000).unwrap_err(), JwsError::AlgorithmNotAllowed("none".into()));
        // A header that is wrong in more than one way still names the algorithm.
        let hmac = b64::encode(br#"{"alg":"HS256","typ":"t+jwt"}"#);
        let forged = format!("{hmac}.{rest}");
        assert_eq!(parse(&forged, "t+jwt", 1000).unwrap_err(), JwsError::AlgorithmNotAllowed("HS256".into()));
        let extra = b64::encode(br#"{"alg":"ES256","typ":"t+jwt","kid":"k1","jku":"http://evil"}"#);
        assert!(matches!(parse(&format!("{extra}.{rest}"), "t+jwt", 1000), Err(JwsError::Malformed(_))));
    }

    #[test]
    fn jwk_round_trip_and_thumbprint() {
        let jwk = Jwk::from_verifying_key(key().verifying_key());
        assert_eq!(&jwk.to_verifying_key().unwrap(), key().verifying_key());
        assert_eq!(jwk.thumbprint().len(), 43);
        let mut bad = jwk.clone();
        bad.crv = "P-384".into();
        assert_eq!(bad.to_verifying_key().unwrap_err(), JwsError::BadKey);
    }

    #[test]
    fn rfc7638_thumbprint_example_shape() {
        // JCS of a JWK orders crv, kty, x, y: the RFC 7638 member order for EC keys.
        let jwk = Jwk { kty: "EC".into(), crv: "P-256".into(), x: "X".into(), y: "Y".into() };
        assert_eq!(jwk.canonical_bytes(), br#"{"crv":"P-256","kty":"EC","x":"X","y":"Y"}"#);
    }
}
