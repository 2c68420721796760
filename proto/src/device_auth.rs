//! Proofs the device makes with its key outside of a SAD: possession of the
//! key when pairing, and authentication when it opens its socket.

use crate::jws::{self, Jwk, JwsError};
use p256::ecdsa::{SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

pub const PAIRING_TYP: &str = "wysiwys-pair+jwt";
pub const DEVICE_AUTH_TYP: &str = "wysiwys-device-auth+jwt";
pub const MAX_PROOF_LEN: usize = 4096;

/// Sent once, when pairing: "I hold the private half of `jwk`, and I was
/// given `code` by the person logged in at `aud`".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairingClaims {
    pub aud: String,
    pub code: String,
    pub jwk: Jwk,
    /// A name the person recognises, e.g. "Laptop".
    pub name: String,
    pub iat: i64,
    /// The activation code the operator delivered out of band (letter, bank
    /// app), typed into this device; needed for an account's first device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activation: Option<String>,
}

/// Answer to the server's nonce on every socket connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceAuthClaims {
    /// Device id.
    pub iss: String,
    /// Server origin.
    pub aud: String,
    /// The server's nonce for this connection (base64url, 32 bytes).
    pub nonce: String,
    pub iat: i64,
}

pub fn pairing_proof(key: &SigningKey, claims: &PairingClaims) -> Result<String, JwsError> {
    jws::sign(key, PAIRING_TYP, &claims.jwk.thumbprint(), claims)
}

/// Verifies a pairing proof against the key it carries. The caller still
/// checks `aud`, `code` and the time.
pub fn verify_pairing_proof(token: &str) -> Result<(PairingClaims, VerifyingKey), JwsError> {
    let parsed = jws::parse(token, PAIRING_TYP, MAX_PROOF_LEN)?;
    let claimed: PairingClaims = parsed.claims_unchecked()?;
    let key = claimed.jwk.to_verifying_key()?;
    if parsed.header.kid != claimed.jwk.thumbprint() {
        return Err(JwsError::Malformed("kid is not the thumbprint of jwk"));
    }
    let verified = parsed.verify::<PairingClaims>(&key)?;
    Ok((verified.claims, key))
}

pub fn device_auth(key: &SigningKey, claims: &DeviceAuthClaims) -> Result<String, JwsError> {
    jws::sign(key, DEVICE_AUTH_TYP, &claims.iss, claims)
}

/// The device id a connection claims, before its key is looked up.
pub fn peek_device(token: &str) -> Result<String, JwsError> {
    Ok(jws::parse(token, DEVICE_AUTH_TYP, MAX_PROOF_LEN)?.header.kid)
}

pub fn verify_device_auth(token: &str, key: &VerifyingKey) -> Result<DeviceAuthClaims, JwsError> {
    let verified = jws::parse(token, DEVICE_AUTH_TYP, MAX_PROOF_LEN)?.verify::<DeviceAuthClaims>(key)?;
    if verified.header.kid != verified.claims.iss {
        return Err(JwsError::Malformed("kid differs from iss"));
    }
    Ok(verified.claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairing_proof_binds_the_key() {
        let key = SigningKey::from_slice(&[3u8; 32]).unwrap();
        let claims = PairingClaims {
            aud: "http://127.0.0.1:8080".into(),
            code: "ABCD-EFGH".into(),
            jwk: Jwk::from_verifying_key(key.verifying_key()),
            name: "Laptop".into(),
            iat: 5,
            activation: None,
        };
        let token = pairing_proof(&key, &claims).unwrap();
        let (back, vk) = verify_pairing_proof(&token).unwrap();
        assert_eq!(back, claims);
        assert_eq!(&vk, key.verifying_key());

        // Someone else's public key in the claims, signed with our key: refused.
        let other = SigningKey::from_slice(&[4u8; 32]).unwrap();
        let stolen = PairingClaims { jwk: Jwk::from_verifying_key(other.verifying_key()), ..claims };
        let token = pairing_proof(&key, &stolen).unwrap();
        assert_eq!(verify_pairing_proof(&token).unwrap_err(), JwsError::BadSignature);
    }

    #[test]
    fn device_auth_round_trip() {
        let key = SigningKey::from_slice(&[3u8; 32]).unwrap();
        let claims = DeviceAuthClaims { iss: "dev".into(), aud: "o".into(), nonce: "n".into(), iat: 1 };
        let token = device_auth(&key, &claims).unwrap();
        assert_eq!(peek_device(&token).unwrap(), "dev");
        assert_eq!(verify_device_auth(&token, key.verifying_key()).unwrap(), claims);
        let other = SigningKey::from_slice(&[4u8; 32]).unwrap();
        assert_eq!(verify_device_auth(&token, other.verifying_key()).unwrap_err(), JwsError::BadSignature);
    }
}
