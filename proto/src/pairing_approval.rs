//! A new device joins an account that has devices already: the server asks
//! them (a request signed by its channel key, so the device knows what it
//! shows comes from its server) and one answers with its device key.
//!
//! The answer is checked like a SAD: bound to one pairing, its challenge and
//! the new device's key thumbprint, single use, expiring.

use crate::jws::{self, JwsError};
use crate::sad::Decision;
use crate::{ErrorCode, b64};
use p256::ecdsa::{SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

pub const PAIRING_REQUEST_TYP: &str = "wysiwys-pairing-request+jwt";
pub const PAIRING_ANSWER_TYP: &str = "wysiwys-pairing-answer+jwt";
/// Both tokens carry ids, a name and hashes; anything longer is not ours.
pub const MAX_PAIRING_TOKEN_LEN: usize = 4096;
/// Tolerated clock difference between device and server for `iat`.
pub const MAX_CLOCK_SKEW_SECS: i64 = 120;

/// Server → existing device: "this device wants to join your account".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairingRequestClaims {
    /// Server origin.
    pub iss: String,
    /// The device asked to approve.
    pub aud: String,
    /// User id.
    pub sub: String,
    /// Id of the device that asks to join.
    pub pairing: String,
    /// Its name, as it chose it (display-safe).
    pub name: String,
    /// RFC 7638 thumbprint of its public key.
    pub jkt: String,
    /// The client address its pairing came from.
    pub addr: String,
    /// base64url of 32 random bytes, fresh per pairing.
    pub chal: String,
    pub iat: i64,
    pub exp: i64,
}

/// Existing device → server: the person's decision on one pairing request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairingAnswerClaims {
    /// The answering device's id.
    pub iss: String,
    /// Server origin.
    pub aud: String,
    /// User id.
    pub sub: String,
    pub pairing: String,
    pub jkt: String,
    pub chal: String,
    /// `approve`, `reject`, or `not_me` (locks pairing and signing).
    pub dec: Decision,
    pub iat: i64,
    /// The request's `exp`.
    pub exp: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PairingTokenError {
    #[error(transparent)]
    Jws(#[from] JwsError),
    #[error("pairing request is for {found:?}, not for {expected:?}")]
    WrongAudience { found: String, expected: String },
    #[error("pairing request comes from {found:?}, paired with {expected:?}")]
    WrongIssuer { found: String, expected: String },
    #[error("kid {kid:?} differs from iss {iss:?}")]
    KidMismatch { kid: String, iss: String },
    #[error("expired at {exp}, now is {now}")]
    Expired { exp: i64, now: i64 },
    #[error("issued in the future (iat {iat}, now {now})")]
    IssuedInFuture { iat: i64, now: i64 },
    #[error("the new device's name is unsafe to display: {0}")]
    UnsafeName(String),
    #[error("claim {0} is malformed")]
    BadClaim(&'static str),
}

impl PairingTokenError {
    pub fn code(&self) -> ErrorCode {
        match self {
            PairingTokenError::Expired { .. } => ErrorCode::ChallengeExpired,
            PairingTokenError::UnsafeName(_) => ErrorCode::UnsafeDocument,
            _ => ErrorCode::PairingAnswerInvalid,
        }
    }
}

/// What the approving device expects of a request.
#[derive(Debug, Clone, Copy)]
pub struct Expectation<'a> {
    pub server_origin: &'a str,
    pub device_id: &'a str,
    pub channel_key: &'a VerifyingKey,
    pub now: i64,
}

/// A pairing request the device may show. Constructed only by [`verify_request`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedPairingRequest {
    pub claims: PairingRequestClaims,
}

fn check_ids(pairs: [(&'static str, &str); 4]) -> Result<(), PairingTokenError> {
    for (name, value) in pairs {
        if value.is_empty() || value.len() > 256 {
            return Err(PairingTokenError::BadClaim(name));
        }
    }
    Ok(())
}

fn check_chal(chal: &str) -> Result<(), PairingTokenError> {
    b64::decode_array::<32>(chal).map(|_| ()).ok_or(PairingTokenError::BadClaim("chal"))
}

pub fn verify_request(token: &str, expect: Expectation<'_>) -> Result<VerifiedPairingRequest, PairingTokenError> {
    let claims = jws::parse(token, PAIRING_REQUEST_TYP, MAX_PAIRING_TOKEN_LEN)?
        .verify::<PairingRequestClaims>(expect.channel_key)?
        .claims;
    if claims.iss != expect.server_origin {
        return Err(PairingTokenError::WrongIssuer { found: claims.iss, expected: expect.server_origin.into() });
    }
    if claims.aud != expect.device_id {
        return Err(PairingTokenError::WrongAudience { found: claims.aud, expected: expect.device_id.into() });
    }
    if expect.now >= claims.exp {
        return Err(PairingTokenError::Expired { exp: claims.exp, now: expect.now });
    }
    check_ids([("sub", &claims.sub), ("pairing", &claims.pairing), ("jkt", &claims.jkt), ("addr", &claims.addr)])?;
    check_chal(&claims.chal)?;
    crate::summary::check_name("name", &claims.name).map_err(|e| PairingTokenError::UnsafeName(e.detail))?;
    Ok(VerifiedPairingRequest { claims })
}

impl VerifiedPairingRequest {
    /// The answer, built only from what was verified and shown.
    pub fn answer_claims(&self, decision: Decision, now: i64) -> PairingAnswerClaims {
        let c = &self.claims;
        PairingAnswerClaims {
            iss: c.aud.clone(),
            aud: c.iss.clone(),
            sub: c.sub.clone(),
            pairing: c.pairing.clone(),
            jkt: c.jkt.clone(),
            chal: c.chal.clone(),
            dec: decision,
            iat: now,
            exp: c.exp,
        }
    }
}

pub fn sign_answer(key: &SigningKey, claims: &PairingAnswerClaims) -> Result<String, JwsError> {
    jws::sign(key, PAIRING_ANSWER_TYP, &claims.iss, claims)
}

/// An answer whose signature, form and time were checked. Whether it
/// matches a pending pairing is the server's decision.
#[derive(Debug, Clone)]
pub struct VerifiedPairingAnswer {
    pub claims: PairingAnswerClaims,
    /// SHA-256 of the signing input: the same answer sent twice has the same key.
    pub replay_key: [u8; 32],
}

/// `now` is in seconds since the epoch.
pub fn verify_answer(
    token: &str,
    device_key: &VerifyingKey,
    now: i64,
) -> Result<VerifiedPairingAnswer, PairingTokenError> {
    let verified =
        jws::parse(token, PAIRING_ANSWER_TYP, MAX_PAIRING_TOKEN_LEN)?.verify::<PairingAnswerClaims>(device_key)?;
    let claims = verified.claims;
    if verified.header.kid != claims.iss {
        return Err(PairingTokenError::KidMismatch { kid: verified.header.kid, iss: claims.iss });
    }
    check_ids([("iss", &claims.iss), ("aud", &claims.aud), ("sub", &claims.sub), ("pairing", &claims.pairing)])?;
    check_chal(&claims.chal)?;
    if claims.exp <= claims.iat {
        return Err(PairingTokenError::BadClaim("exp"));
    }
    if claims.iat > now.saturating_add(MAX_CLOCK_SKEW_SECS) {
        return Err(PairingTokenError::IssuedInFuture { iat: claims.iat, now });
    }
    if now >= claims.exp {
        return Err(PairingTokenError::Expired { exp: claims.exp, now });
    }
    Ok(VerifiedPairingAnswer { claims, replay_key: verified.signing_input_sha256 })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(channel: &SigningKey) -> String {
        let claims = PairingRequestClaims {
            iss: "https://sign.example".into(),
            aud: "dev-1".into(),
            sub: "user-1".into(),
            pairing: "dev-2".into(),
            name: "New phone".into(),
            jkt: "abc".into(),
            addr: "192.0.2.7".into(),
            chal: b64::encode([7u8; 32]),
            iat: 100,
            exp: 700,
        };
        jws::sign(channel, PAIRING_REQUEST_TYP, "ck", &claims).unwrap()
    }

    #[test]
    fn a_verified_request_yields_an_answer_the_server_accepts() {
        let channel = SigningKey::from_slice(&[5u8; 32]).unwrap();
        let device = SigningKey::from_slice(&[6u8; 32]).unwrap();
        let expect = Expectation {
            server_origin: "https://sign.example",
            device_id: "dev-1",
            channel_key: channel.verifying_key(),
            now: 200,
        };
        let shown = verify_request(&request(&channel), expect).unwrap();
        let answer = sign_answer(&device, &shown.answer_claims(Decision::Approve, 200)).unwrap();
        let checked = verify_answer(&answer, device.verifying_key(), 201).unwrap();
        assert_eq!(checked.claims.pairing, "dev-2");
        assert_eq!(checked.claims.jkt, "abc");
        assert_eq!(
            verify_answer(&answer, device.verifying_key(), 700).unwrap_err().code(),
            ErrorCode::ChallengeExpired
        );
        assert_eq!(
            verify_answer(&answer, channel.verifying_key(), 201).unwrap_err().code(),
            ErrorCode::PairingAnswerInvalid
        );
    }

    #[test]
    fn requests_for_others_or_from_others_are_refused() {
        let channel = SigningKey::from_slice(&[5u8; 32]).unwrap();
        let token = request(&channel);
        let key = channel.verifying_key();
        let base =
            Expectation { server_origin: "https://sign.example", device_id: "dev-1", channel_key: key, now: 200 };
        let other_device = Expectation { device_id: "dev-9", ..base };
        assert!(matches!(verify_request(&token, other_device), Err(PairingTokenError::WrongAudience { .. })));
        let other_server = Expectation { server_origin: "https://evil.example", ..base };
        assert!(matches!(verify_request(&token, other_server), Err(PairingTokenError::WrongIssuer { .. })));
        let forger = SigningKey::from_slice(&[9u8; 32]).unwrap();
        assert!(verify_request(&request(&forger), base).is_err());
        // An answer typ is not a request, even under the right key.
        let answer = jws::sign(&channel, PAIRING_ANSWER_TYP, "ck", &serde_json::json!({})).unwrap();
        assert!(verify_request(&answer, base).is_err());
    }
}
