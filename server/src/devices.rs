//! The device channel's set-up: pairing codes, pairing, revocation, and
//! authentication of a device's socket.

use crate::app::App;
use crate::entropy::{random_bytes, random_id};
use crate::error::{Error, Result};
use crate::step_up::{self, Elevated};
use crate::store::{AuditEvent, DeviceRow, SessionRow, UserRow};
use std::net::IpAddr;
use subtle::ConstantTimeEq;
use wysiwys_proto::api::{DeviceView, PairDeviceRequest, PairDeviceResponse, PairingCodeResponse, ServerMessage};
use wysiwys_proto::device_auth::{self, DeviceAuthClaims};
use wysiwys_proto::pairing::PairingUri;
use wysiwys_proto::{ErrorCode, Jwk, b64};

pub const PAIRING_TTL_MS: i64 = 10 * 60 * 1000;
/// Crockford-style alphabet without 0/O, 1/I/L and U: easy to type by hand.
const CODE_ALPHABET: &[u8; 30] = b"ABCDEFGHJKMNPQRSTVWXYZ23456789";
const MAX_DEVICE_NAME_CHARS: usize = 64;
/// Allowed difference between the device's clock and ours for `iat` of the
/// socket authentication (the nonce is what prevents replay).
const PROOF_MAX_AGE_MS: i64 = 5 * 60 * 1000;
/// Pairing proofs tolerate badly set phone clocks more: the single-use,
/// ten-minute code is what prevents their replay.
const PAIRING_PROOF_MAX_SKEW_MS: i64 = 15 * 60 * 1000;

/// Whether a device's `iat` (Unix seconds, any number it likes) lies within
/// `max_skew_ms` of `now_ms`; an `iat` that overflows in milliseconds does not.
fn within(iat_s: i64, now_ms: i64, max_skew_ms: i64) -> bool {
    iat_s.checked_mul(1000).and_then(|iat_ms| iat_ms.checked_sub(now_ms)).is_some_and(|d| d.abs() <= max_skew_ms)
}

/// Ten characters from 30 symbols (about 49 bits), shown as XXXXX-XXXXX.
fn new_code(app: &App) -> Result<String> {
    let mut symbols = String::with_capacity(10);
    while symbols.len() < 10 {
        for b in random_bytes::<16>(app.entropy.as_ref())? {
            // Rejection sampling: 240 is the largest multiple of 30 below 256.
            if b < 240 && symbols.len() < 10 {
                symbols.push(CODE_ALPHABET[usize::from(b % 30)] as char);
            }
        }
    }
    Ok(format!("{}-{}", &symbols[..5], &symbols[5..]))
}

/// Codes are compared as typed, forgiving case and the separator.
fn code_hash(code: &str) -> [u8; 32] {
    let normalised: String =
        code.chars().filter(|c| *c != '-' && !c.is_whitespace()).collect::<String>().to_uppercase();
    wysiwys_proto::jcs::sha256(format!("wysiwys-pairing-code/1:{normalised}").as_bytes())
}

/// A new pairing code; it uses up the session's step-up.
pub async fn create_pairing_code(app: &App, session: &SessionRow, user: &UserRow) -> Result<PairingCodeResponse> {
    let _elevated: Elevated = step_up::use_elevation(app, session).await?;
    let now = app.clock.now_ms();
    let code = new_code(app)?;
    let expires_at = now + PAIRING_TTL_MS;
    app.store.insert_pairing_code(&code_hash(&code), &user.id, now, expires_at).await?;
    app.store
        .audit(&AuditEvent { at: now, event: "pairing_code_created", user_id: Some(&user.id), ..Default::default() })
        .await?;
    let uri = PairingUri {
        server: app.settings.origin.clone(),
        code: code.clone(),
        channel_key_thumbprint: app.channel_key.thumbprint(),
    };
    Ok(PairingCodeResponse { code, uri: uri.to_string(), expires_at })
}

pub async fn pair(app: &App, request: &PairDeviceRequest, client: IpAddr) -> Result<PairDeviceResponse> {
    let now = app.clock.now_ms();
    if !app.pairing_limiter.allow(client, now) {
        return Err(Error::refused(ErrorCode::RateLimited, "too many pairing attempts from this address"));
    }
    let (claims, _key) = device_auth::verify_pairing_proof(&request.proof)
        .map_err(|e| Error::refused(ErrorCode::BadRequest, format!("pairing proof: {e}")))?;
    if claims.aud != app.settings.origin {
        return Err(Error::refused(ErrorCode::BadRequest, "pairing proof is for another server"));
    }
    if !within(claims.iat, now, PAIRING_PROOF_MAX_SKEW_MS) {
        return Err(Error::refused(
            ErrorCode::BadRequest,
            "pairing proof is too old or from the future; check the device clock",
        ));
    }
    let name = claims.name.trim();
    wysiwys_proto::summary::check_field("name", name)?;
    if name.is_empty() || name.chars().count() > MAX_DEVICE_NAME_CHARS {
        return Err(Error::refused(ErrorCode::BadRequest, "a device name is 1 to 64 characters"));
    }
    let device = DeviceRow {
        id: random_id(app.entropy.as_ref())?,
        user_id: String::new(),
        name: name.to_owned(),
        public_jwk: serde_json::to_string(&claims.jwk).map_err(|e| Error::Internal(e.to_string()))?,
        created_at: now,
        last_seen_at: None,
        revoked_at: None,
        last_ctr: 0,
    };
    let Some(user_id) = app.store.pair_device(&code_hash(&claims.code), &device, now).await? else {
        app.store
            .audit(&AuditEvent {
                at: now,
                event: "pairing_refused",
                code: Some(ErrorCode::PairingCodeInvalid),
                ..Default::default()
            })
            .await?;
        return Err(Error::refused(ErrorCode::PairingCodeInvalid, "unknown, used or expired pairing code"));
    };
    app.pairing_limiter.refund(&client);
    let user = app.store.user_by_id(&user_id).await?.ok_or_else(|| Error::Internal("paired user vanished".into()))?;
    app.store
        .audit(&AuditEvent {
            at: now,
            event: "device_paired",
            user_id: Some(&user_id),
            device_id: Some(&device.id),
            ..Default::default()
        })
        .await?;
    Ok(PairDeviceResponse {
        device_id: device.id,
        user_id,
        username: user.username,
        server_origin: app.settings.origin.clone(),
        channel_key: app.channel_key.clone(),
    })
}

pub fn view(d: &DeviceRow) -> DeviceView {
    DeviceView {
        device_id: d.id.clone(),
        name: d.name.clone(),
        created_at: d.created_at,
        last_seen_at: d.last_seen_at,
        revoked: d.revoked_at.is_some(),
    }
}

pub async fn list(app: &App, user: &UserRow) -> Result<Vec<DeviceView>> {
    Ok(app.store.devices_of_user(&user.id).await?.iter().map(view).collect())
}

/// Revokes one of the user's devices; it uses up the session's step-up, so a
/// stolen session cannot cut the person off from their own device.
pub async fn revoke(app: &App, session: &SessionRow, user: &UserRow, device_id: &str) -> Result<()> {
    let _elevated: Elevated = step_up::use_elevation(app, session).await?;
    let now = app.clock.now_ms();
    if !app.store.revoke_device(&user.id, device_id, now).await? {
        return Err(Error::refused(ErrorCode::DeviceUnknown, "no such active device"));
    }
    app.hub.send(
        device_id,
        &ServerMessage::Error { error: ErrorCode::DeviceRevoked, error_description: "this device was revoked".into() },
    );
    app.hub.disconnect(device_id);
    app.store
        .audit(&AuditEvent {
            at: now,
            event: "device_revoked",
            user_id: Some(&user.id),
            device_id: Some(device_id),
            ..Default::default()
        })
        .await?;
    Ok(())
}

pub fn device_key(device: &DeviceRow) -> Result<p256::ecdsa::VerifyingKey> {
    serde_json::from_str::<Jwk>(&device.public_jwk)
        .ok()
        .and_then(|jwk| jwk.to_verifying_key().ok())
        .ok_or_else(|| Error::Internal(format!("stored key of device {} is unusable", device.id)))
}

/// Checks a socket's answer to our nonce; returns the device it proves.
pub async fn authenticate_socket(app: &App, nonce: &[u8; 32], token: &str) -> Result<DeviceRow> {
    let now = app.clock.now_ms();
    let device_id = device_auth::peek_device(token)
        .map_err(|e| Error::refused(ErrorCode::Unauthenticated, format!("device authentication: {e}")))?;
    let device = app
        .store
        .device(&device_id)
        .await?
        .ok_or_else(|| Error::refused(ErrorCode::DeviceUnknown, "no device with this id is paired"))?;
    if device.revoked_at.is_some() {
        return Err(Error::refused(ErrorCode::DeviceRevoked, "this device was revoked"));
    }
    let claims: DeviceAuthClaims = device_auth::verify_device_auth(token, &device_key(&device)?)
        .map_err(|e| Error::refused(ErrorCode::Unauthenticated, format!("device authentication: {e}")))?;
    let nonce_ok = b64::decode_array::<32>(&claims.nonce).is_some_and(|n| bool::from(n.ct_eq(nonce)));
    if !nonce_ok || claims.aud != app.settings.origin || claims.iss != device.id {
        return Err(Error::refused(ErrorCode::Unauthenticated, "device authentication is for another connection"));
    }
    if !within(claims.iat, now, PROOF_MAX_AGE_MS) {
        return Err(Error::refused(ErrorCode::Unauthenticated, "device clock is too far off"));
    }
    app.store.touch_device(&device.id, now).await?;
    Ok(device)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_clock_far_off_or_overflowing_is_not_within_the_skew() {
        let now = 1_800_000_000_000;
        assert!(within(1_800_000_000, now, 1000));
        assert!(within(1_800_000_001, now, 1000));
        assert!(!within(1_800_000_002, now, 1000));
        assert!(!within(i64::MAX, now, i64::MAX));
        assert!(!within(i64::MIN, now, i64::MAX));
        // i64::MIN / 1000 fits in milliseconds, but its distance to now does not.
        assert!(!within(i64::MIN / 1000, now, i64::MAX));
    }

    #[test]
    fn codes_forgive_case_and_separators_only() {
        assert_eq!(code_hash("ABCDE-FGHJK"), code_hash("abcde fghjk"));
        assert_eq!(code_hash("ABCDE-FGHJK"), code_hash("ABCDEFGHJK"));
        assert_ne!(code_hash("ABCDE-FGHJK"), code_hash("ABCDE-FGHJM"));
    }
}
