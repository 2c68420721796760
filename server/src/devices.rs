//! Paired devices: the list, revocation, and authentication of a device's
//! socket. How a device gets here is `enrolment`.

use crate::app::App;
use crate::enrolment::evidence::Evidence;
use crate::enrolment::{notices, within};
use crate::error::{Error, Result};
use crate::step_up::{self, Elevated};
use crate::store::{AuditEvent, DeviceRow, SessionRow, UserRow};
use subtle::ConstantTimeEq;
use wysiwys_proto::api::{DeviceView, NoticeKind, ServerMessage};
use wysiwys_proto::device_auth::{self, DeviceAuthClaims};
use wysiwys_proto::{ErrorCode, Jwk, b64};

/// Allowed difference between the device's clock and ours for `iat` of the
/// socket authentication (the nonce is what prevents replay).
const PROOF_MAX_AGE_MS: i64 = 5 * 60 * 1000;

pub fn view(d: &DeviceRow) -> DeviceView {
    DeviceView {
        device_id: d.id.clone(),
        name: d.name.clone(),
        created_at: d.created_at,
        last_seen_at: d.last_seen_at,
        revoked: d.revoked_at.is_some(),
        awaiting_approval: d.approved_at.is_none() && d.revoked_at.is_none(),
        enrolment: Evidence::parse(&d.enrolment).map(|e| e.kind()).unwrap_or("unreadable").to_owned(),
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
    if let Some(revoked) = app.store.device(device_id).await? {
        notices::notify(app, &revoked, NoticeKind::DeviceRevoked, None).await?;
    }
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
        return Err(Error::refused(ErrorCode::DeviceRevoked, "this device was revoked or its pairing refused"));
    }
    if device.approved_at.is_none() {
        if !device.is_awaiting_approval(now) {
            return Err(Error::refused(ErrorCode::DeviceRevoked, "the pairing was not approved in time"));
        }
        return Err(Error::refused(ErrorCode::PairingPending, "approve this device on one of your other devices"));
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
