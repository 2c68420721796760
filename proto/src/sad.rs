//! Signature Activation Data: the device's signed answer to one challenge.

use crate::jws::{self, JwsError};
use crate::{ErrorCode, RENDER_VERSION, b64};
use p256::ecdsa::{SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

pub const SAD_TYP: &str = "wysiwys-sad+jwt";
/// A SAD carries hashes and ids only; anything longer is not one of ours.
pub const MAX_SAD_LEN: usize = 4096;
/// Tolerated clock difference between device and server for `iat`.
pub const MAX_CLOCK_SKEW_SECS: i64 = 120;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approve,
    Reject,
    NotMe,
}

/// The claims of a SAD. Every field is checked by the SAM against the
/// stored request; unknown fields make the token invalid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SadClaims {
    /// Device id.
    pub iss: String,
    /// User id.
    pub sub: String,
    /// Server origin, e.g. `https://sign.example`.
    pub aud: String,
    /// Request id.
    pub req: String,
    /// Signing credential id.
    pub cred: String,
    /// base64url SHA-256 of the document.
    pub doc: String,
    /// base64url SHA-256 of JCS(summary).
    pub sum: String,
    /// Render version, `summary/1`.
    pub rv: String,
    /// base64url challenge (32 bytes).
    pub chal: String,
    /// Verification code shown to the person.
    pub vc: String,
    pub dec: Decision,
    pub iat: i64,
    /// Not after the challenge expiry.
    pub exp: i64,
    /// Device counter, strictly increasing per device, at most [`MAX_COUNTER`].
    pub ctr: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SadError {
    #[error(transparent)]
    Jws(#[from] JwsError),
    #[error("kid {kid:?} differs from iss {iss:?}")]
    KidMismatch { kid: String, iss: String },
    #[error("SAD expired at {exp}, now is {now}")]
    Expired { exp: i64, now: i64 },
    #[error("SAD is issued in the future (iat {iat}, now {now})")]
    IssuedInFuture { iat: i64, now: i64 },
    #[error("claim {0} is malformed")]
    BadClaim(&'static str),
}

impl SadError {
    pub fn code(&self) -> ErrorCode {
        match self {
            SadError::Expired { .. } => ErrorCode::ChallengeExpired,
            _ => ErrorCode::SadInvalid,
        }
    }
}

/// A SAD whose signature and form have been checked. Whether its claims
/// match a request is the SAM's decision, not this module's.
#[derive(Debug, Clone)]
pub struct VerifiedSad {
    pub claims: SadClaims,
    /// Replay key: SHA-256 of the signed bytes (robust to ECDSA malleability).
    pub replay_key: [u8; 32],
}

/// 2^53 − 1: the largest integer every JSON implementation (and JCS, which
/// writes numbers as IEEE 754 doubles) carries exactly. A larger `ctr` would
/// mean different numbers to different verifiers.
pub const MAX_COUNTER: u64 = (1 << 53) - 1;

pub fn build(key: &SigningKey, claims: &SadClaims) -> Result<String, SadError> {
    Ok(jws::sign(key, SAD_TYP, &claims.iss, claims)?)
}

/// The device id a token claims to come from, read before the key is known.
pub fn peek_kid(token: &str) -> Result<String, SadError> {
    Ok(jws::parse(token, SAD_TYP, MAX_SAD_LEN)?.header.kid)
}

/// Checks signature, header, form and time. `now` is in seconds since the epoch.
pub fn verify(token: &str, device_key: &VerifyingKey, now: i64) -> Result<VerifiedSad, SadError> {
    let verified = jws::parse(token, SAD_TYP, MAX_SAD_LEN)?.verify::<SadClaims>(device_key)?;
    let claims = verified.claims;
    if verified.header.kid != claims.iss {
        return Err(SadError::KidMismatch { kid: verified.header.kid, iss: claims.iss });
    }
    check_form(&claims)?;
    if claims.iat > now + MAX_CLOCK_SKEW_SECS {
        return Err(SadError::IssuedInFuture { iat: claims.iat, now });
    }
    if now >= claims.exp {
        return Err(SadError::Expired { exp: claims.exp, now });
    }
    Ok(VerifiedSad { claims, replay_key: verified.signing_input_sha256 })
}

fn check_form(c: &SadClaims) -> Result<(), SadError> {
    let hash_ok = |v: &str| b64::decode_array::<32>(v).is_some();
    if !hash_ok(&c.doc) {
        return Err(SadError::BadClaim("doc"));
    }
    if !hash_ok(&c.sum) {
        return Err(SadError::BadClaim("sum"));
    }
    if !hash_ok(&c.chal) {
        return Err(SadError::BadClaim("chal"));
    }
    if c.rv != RENDER_VERSION {
        return Err(SadError::BadClaim("rv"));
    }
    if !(c.vc.len() == 4 && c.vc.bytes().all(|b| b.is_ascii_digit())) {
        return Err(SadError::BadClaim("vc"));
    }
    if c.exp <= c.iat {
        return Err(SadError::BadClaim("exp"));
    }
    if c.ctr > MAX_COUNTER {
        return Err(SadError::BadClaim("ctr"));
    }
    for (name, value) in [("iss", &c.iss), ("sub", &c.sub), ("aud", &c.aud), ("req", &c.req), ("cred", &c.cred)] {
        if value.is_empty() || value.len() > 256 {
            return Err(SadError::BadClaim(name));
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample_claims() -> SadClaims {
        SadClaims {
            iss: "dev-1".into(),
            sub: "user-1".into(),
            aud: "https://sign.example".into(),
            req: "req-1".into(),
            cred: "cred-1".into(),
            doc: b64::encode([1u8; 32]),
            sum: b64::encode([2u8; 32]),
            rv: RENDER_VERSION.into(),
            chal: b64::encode([3u8; 32]),
            vc: "0042".into(),
            dec: Decision::Approve,
            iat: 1_000,
            exp: 1_300,
            ctr: 1,
        }
    }

    fn key() -> SigningKey {
        SigningKey::from_slice(&[9u8; 32]).unwrap()
    }

    #[test]
    fn valid_sad_verifies_until_exp() {
        let token = build(&key(), &sample_claims()).unwrap();
        assert_eq!(peek_kid(&token).unwrap(), "dev-1");
        let v = verify(&token, key().verifying_key(), 1_100).unwrap();
        assert_eq!(v.claims, sample_claims());
        let err = verify(&token, key().verifying_key(), 1_300).unwrap_err();
        assert_eq!(err.code(), ErrorCode::ChallengeExpired);
    }

    #[test]
    fn form_errors() {
        type Mutation = fn(&mut SadClaims);
        let cases: Vec<(Mutation, &str)> = vec![
            (|c| c.doc = "short".into(), "doc"),
            (|c| c.sum = b64::encode([0u8; 31]), "sum"),
            (|c| c.chal = "!".into(), "chal"),
            (|c| c.rv = "summary/0".into(), "rv"),
            (|c| c.vc = "12a4".into(), "vc"),
            (|c| c.exp = c.iat, "exp"),
            (|c| c.cred = String::new(), "cred"),
        ];
        for (mutate, claim) in cases {
            let mut c = sample_claims();
            mutate(&mut c);
            let token = build(&key(), &c).unwrap();
            let err = verify(&token, key().verifying_key(), 1_100).unwrap_err();
            assert_eq!(err, SadError::BadClaim(claim));
            assert_eq!(err.code(), ErrorCode::SadInvalid);
        }
    }

    #[test]
    fn identifiers_are_one_to_256_bytes() {
        let mut c = sample_claims();
        c.req = "r".repeat(256);
        let token = build(&key(), &c).unwrap();
        assert!(verify(&token, key().verifying_key(), 1_100).is_ok());
        c.req.push('r');
        let token = build(&key(), &c).unwrap();
        assert_eq!(verify(&token, key().verifying_key(), 1_100).unwrap_err(), SadError::BadClaim("req"));
    }

    #[test]
    fn iat_in_the_future_is_refused() {
        let token = build(&key(), &sample_claims()).unwrap();
        let err = verify(&token, key().verifying_key(), 1_000 - MAX_CLOCK_SKEW_SECS - 1).unwrap_err();
        assert!(matches!(err, SadError::IssuedInFuture { .. }));
        assert!(verify(&token, key().verifying_key(), 1_000 - MAX_CLOCK_SKEW_SECS).is_ok());
    }

    #[test]
    fn kid_must_name_the_issuer() {
        let c = sample_claims();
        let token = jws::sign(&key(), SAD_TYP, "dev-2", &c).unwrap();
        let err = verify(&token, key().verifying_key(), 1_100).unwrap_err();
        assert!(matches!(err, SadError::KidMismatch { .. }));
    }
}
