//! The server-signed push to the device: summary, hashes, challenge, expiry.
//!
//! Signed by the server's channel key (in the HSM); the device checks it with
//! the key it pinned at pairing, so a network attacker cannot show the person
//! a document of its own choosing.

use crate::jws::{self, JwsError};
use crate::sad::{Decision, SadClaims};
use crate::summary::Summary;
use crate::{ErrorCode, RENDER_VERSION, b64, vc};
use p256::ecdsa::VerifyingKey;
use serde::{Deserialize, Serialize};

pub const CHALLENGE_TYP: &str = "wysiwys-challenge+jwt";
/// Generous enough for the largest letter summary (256 KiB of text, base64url).
pub const MAX_CHALLENGE_LEN: usize = 1024 * 1024;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChallengeClaims {
    /// Server origin.
    pub iss: String,
    /// Device id the push is for.
    pub aud: String,
    /// User id.
    pub sub: String,
    pub req: String,
    pub cred: String,
    /// Who asks for the signature (shown to the person).
    pub rp: String,
    pub summary: Summary,
    pub doc: String,
    pub sum: String,
    pub rv: String,
    pub chal: String,
    pub iat: i64,
    pub exp: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChallengeError {
    #[error(transparent)]
    Jws(#[from] JwsError),
    #[error("challenge is for {found:?}, not for {expected:?}")]
    WrongAudience { found: String, expected: String },
    #[error("challenge comes from {found:?}, paired with {expected:?}")]
    WrongIssuer { found: String, expected: String },
    #[error("challenge expired at {exp}, now is {now}")]
    Expired { exp: i64, now: i64 },
    #[error("summary does not match its hash")]
    SummaryHashMismatch,
    #[error("summary names another document hash")]
    DocumentHashMismatch,
    #[error("summary is unsafe to display: {0}")]
    UnsafeSummary(String),
    #[error("claim {0} is malformed")]
    BadClaim(&'static str),
}

impl ChallengeError {
    pub fn code(&self) -> ErrorCode {
        match self {
            ChallengeError::Expired { .. } => ErrorCode::ChallengeExpired,
            ChallengeError::SummaryHashMismatch => ErrorCode::SummaryMismatch,
            ChallengeError::DocumentHashMismatch => ErrorCode::HashMismatch,
            ChallengeError::UnsafeSummary(_) => ErrorCode::UnsafeDocument,
            _ => ErrorCode::SadInvalid,
        }
    }
}

/// What the device expects of every push: who it is and whom it trusts.
#[derive(Debug, Clone, Copy)]
pub struct Expectation<'a> {
    pub server_origin: &'a str,
    pub device_id: &'a str,
    pub channel_key: &'a VerifyingKey,
    pub now: i64,
}

/// A push the device may show. Constructed only by [`verify`].
#[derive(Debug, Clone)]
pub struct VerifiedChallenge {
    pub claims: ChallengeClaims,
    pub verification_code: String,
}

pub fn verify(token: &str, expect: Expectation<'_>) -> Result<VerifiedChallenge, ChallengeError> {
    let claims =
        jws::parse(token, CHALLENGE_TYP, MAX_CHALLENGE_LEN)?.verify::<ChallengeClaims>(expect.channel_key)?.claims;
    if claims.iss != expect.server_origin {
        return Err(ChallengeError::WrongIssuer { found: claims.iss, expected: expect.server_origin.into() });
    }
    if claims.aud != expect.device_id {
        return Err(ChallengeError::WrongAudience { found: claims.aud, expected: expect.device_id.into() });
    }
    if expect.now >= claims.exp {
        return Err(ChallengeError::Expired { exp: claims.exp, now: expect.now });
    }
    if claims.rv != RENDER_VERSION {
        return Err(ChallengeError::BadClaim("rv"));
    }
    claims.summary.check_display_safety().map_err(|e| ChallengeError::UnsafeSummary(e.detail))?;
    crate::summary::check_name("rp", &claims.rp).map_err(|e| ChallengeError::UnsafeSummary(e.detail))?;
    let sum = b64::decode_array::<32>(&claims.sum).ok_or(ChallengeError::BadClaim("sum"))?;
    if claims.summary.hash() != sum {
        return Err(ChallengeError::SummaryHashMismatch);
    }
    if claims.summary.doc.sha256 != claims.doc {
        return Err(ChallengeError::DocumentHashMismatch);
    }
    let chal = b64::decode_array::<32>(&claims.chal).ok_or(ChallengeError::BadClaim("chal"))?;
    let verification_code = vc::verification_code(&claims.req, &sum, &chal);
    Ok(VerifiedChallenge { claims, verification_code })
}

impl VerifiedChallenge {
    /// The SAD answering this challenge, built only from what was verified
    /// and shown: no field comes from anywhere else.
    pub fn sad_claims(&self, decision: Decision, counter: u64, now: i64) -> SadClaims {
        let c = &self.claims;
        SadClaims {
            iss: c.aud.clone(),
            sub: c.sub.clone(),
            aud: c.iss.clone(),
            req: c.req.clone(),
            cred: c.cred.clone(),
            doc: c.doc.clone(),
            sum: c.sum.clone(),
            rv: c.rv.clone(),
            chal: c.chal.clone(),
            vc: self.verification_code.clone(),
            dec: decision,
            iat: now,
            exp: c.exp,
            ctr: counter,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::{MEDIA_TYPE_TEXT, render};
    use p256::ecdsa::SigningKey;

    fn channel_key() -> SigningKey {
        SigningKey::from_slice(&[5u8; 32]).unwrap()
    }

    fn claims() -> ChallengeClaims {
        let summary = render(MEDIA_TYPE_TEXT, b"Dear citizen\nPlease sign.").unwrap();
        ChallengeClaims {
            iss: "https://sign.example".into(),
            aud: "dev-1".into(),
            sub: "user-1".into(),
            req: "req-1".into(),
            cred: "cred-1".into(),
            rp: "wysiwys".into(),
            doc: summary.doc.sha256.clone(),
            sum: b64::encode(summary.hash()),
            summary,
            rv: RENDER_VERSION.into(),
            chal: b64::encode([4u8; 32]),
            iat: 100,
            exp: 400,
        }
    }

    fn check(c: &ChallengeClaims, key: &SigningKey, now: i64) -> Result<VerifiedChallenge, ChallengeError> {
        let token = jws::sign(key, CHALLENGE_TYP, "channel", c).unwrap();
        let k = channel_key();
        verify(
            &token,
            Expectation {
                server_origin: "https://sign.example",
                device_id: "dev-1",
                channel_key: k.verifying_key(),
                now,
            },
        )
    }

    #[test]
    fn a_genuine_push_verifies_and_yields_matching_sad_claims() {
        let v = check(&claims(), &channel_key(), 200).unwrap();
        let sad = v.sad_claims(Decision::Approve, 7, 210);
        assert_eq!(sad.iss, "dev-1");
        assert_eq!(sad.aud, "https://sign.example");
        assert_eq!(sad.sum, claims().sum);
        assert_eq!(sad.exp, 400);
        assert_eq!(sad.vc, v.verification_code);
    }

    #[test]
    fn the_push_of_a_long_letter_verifies() {
        let letter = "A line of a long letter from the agency.\n".repeat(5_000);
        let summary = render(MEDIA_TYPE_TEXT, letter.as_bytes()).unwrap();
        let c =
            ChallengeClaims { doc: summary.doc.sha256.clone(), sum: b64::encode(summary.hash()), summary, ..claims() };
        let token = jws::sign(&channel_key(), CHALLENGE_TYP, "channel", &c).unwrap();
        assert!(token.len() > 200_000 && token.len() < MAX_CHALLENGE_LEN);
        check(&c, &channel_key(), 200).expect("a 200 KB letter is one push");
    }

    #[test]
    fn tampered_pushes_are_refused() {
        let forger = SigningKey::from_slice(&[6u8; 32]).unwrap();
        assert!(matches!(check(&claims(), &forger, 200), Err(ChallengeError::Jws(JwsError::BadSignature))));

        let mut c = claims();
        c.summary.lines[1].value = "Please sign twice.".into();
        let err = check(&c, &channel_key(), 200).unwrap_err();
        assert_eq!((err.code(), err), (ErrorCode::SummaryMismatch, ChallengeError::SummaryHashMismatch));

        let mut c = claims();
        c.doc = b64::encode([0u8; 32]);
        let err = check(&c, &channel_key(), 200).unwrap_err();
        assert_eq!((err.code(), err), (ErrorCode::HashMismatch, ChallengeError::DocumentHashMismatch));

        let mut c = claims();
        c.aud = "dev-2".into();
        assert!(matches!(check(&c, &channel_key(), 200), Err(ChallengeError::WrongAudience { .. })));

        let mut c = claims();
        c.iss = "https://evil.example".into();
        assert!(matches!(check(&c, &channel_key(), 200), Err(ChallengeError::WrongIssuer { .. })));

        assert_eq!(check(&claims(), &channel_key(), 400).unwrap_err().code(), ErrorCode::ChallengeExpired);

        assert_eq!(check(&claims(), &forger, 200).unwrap_err().code(), ErrorCode::SadInvalid);

        let mut c = claims();
        c.rp = "Bank\u{202E}".into();
        assert_eq!(check(&c, &channel_key(), 200).unwrap_err().code(), ErrorCode::UnsafeDocument);
    }
}
