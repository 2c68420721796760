//! Enrolment: how a device becomes the second channel of an account.
//!
//! A browser session alone must never be enough, because a man in the
//! browser has exactly that. So a pairing code (made after a step-up) is
//! only the first half; the second is one of:
//!
//! - an account with an active device: that device approves the new one
//!   ([`approval`]), showing its name, key thumbprint, time and address;
//! - the first device: the activation code the operator delivered out of
//!   band ([`activation`]), or, where the operator allows open sign-up, the
//!   short window right after TOTP enrolment ([`FirstDevice::EnrolmentWindow`]).
//!
//! Every change is audited and told to the account's other devices ([`notices`]).

pub mod activation;
pub mod approval;
pub mod codes;
pub mod evidence;
pub mod notices;

use crate::app::App;
use crate::entropy::{random_bytes, random_id};
use crate::error::{Error, Result};
use crate::step_up::{self, Elevated};
use crate::store::{AuditEvent, DeviceRow, PairOutcome, PairingPlan, SessionRow, UserRow};
use codes::{new_code, pairing_code_hash};
use evidence::Evidence;
use secrecy::SecretString;
use std::net::IpAddr;
use wysiwys_proto::api::{NoticeKind, PairDeviceRequest, PairDeviceResponse, PairingCodeResponse, PairingStatus};
use wysiwys_proto::device_auth::{self, PairingClaims};
use wysiwys_proto::pairing::PairingUri;
use wysiwys_proto::{ErrorCode, Jwk};

pub const PAIRING_TTL_MS: i64 = 10 * 60 * 1000;
/// Active devices plus pairings awaiting approval, per account.
pub const MAX_DEVICES_PER_USER: i64 = 5;
/// Unused, unexpired pairing codes per account.
pub const MAX_OPEN_PAIRING_CODES: i64 = 3;
/// Pairing codes an account may make per day.
pub const MAX_PAIRING_CODES_PER_DAY: i64 = 10;
const DAY_MS: i64 = 24 * 3600 * 1000;
/// Open sign-up: the first device may pair this long after TOTP enrolment.
pub const ENROLMENT_WINDOW_MS: i64 = 10 * 60 * 1000;
const MAX_DEVICE_NAME_CHARS: usize = 64;
/// Pairing proofs tolerate badly set phone clocks: the single-use,
/// ten-minute code is what prevents their replay.
const PAIRING_PROOF_MAX_SKEW_MS: i64 = 15 * 60 * 1000;

/// What the first device of an account needs besides the pairing code;
/// chosen by the operator per deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FirstDevice {
    /// The activation code printed by `create-user` / the operator API and
    /// delivered out of band (a letter, the bank's app). The default.
    ActivationCode,
    /// Open sign-up: also within 10 minutes of TOTP enrolment, for an account
    /// that never had a device. An activation code works as well.
    EnrolmentWindow,
}

/// Whether a device's `iat` (Unix seconds, any number it likes) lies within
/// `max_skew_ms` of `now_ms`; an `iat` that overflows in milliseconds does not.
pub(crate) fn within(iat_s: i64, now_ms: i64, max_skew_ms: i64) -> bool {
    iat_s.checked_mul(1000).and_then(|iat_ms| iat_ms.checked_sub(now_ms)).is_some_and(|d| d.abs() <= max_skew_ms)
}

/// A new pairing code; it uses up the session's step-up. Capped per account.
pub async fn create_pairing_code(app: &App, session: &SessionRow, user: &UserRow) -> Result<PairingCodeResponse> {
    let now = app.clock.now_ms();
    refuse_if_locked(user)?;
    let (open, today) = app.store.pairing_code_counts(&user.id, now, now - DAY_MS).await?;
    if open >= MAX_OPEN_PAIRING_CODES {
        return Err(Error::refused(
            ErrorCode::LimitReached,
            format!("at most {MAX_OPEN_PAIRING_CODES} pairing codes may be open at once; use or let one expire"),
        ));
    }
    if today >= MAX_PAIRING_CODES_PER_DAY {
        return Err(Error::refused(
            ErrorCode::RateLimited,
            format!("at most {MAX_PAIRING_CODES_PER_DAY} pairing codes a day"),
        ));
    }
    let enrolled = app.store.devices_of_user(&user.id).await?.iter().filter(|d| enrolled(d, now)).count();
    if i64::try_from(enrolled).unwrap_or(i64::MAX) >= MAX_DEVICES_PER_USER {
        return Err(too_many_devices());
    }
    let _elevated: Elevated = step_up::use_elevation(app, session).await?;
    let code = new_code(app.entropy.as_ref(), 2)?;
    let expires_at = now + PAIRING_TTL_MS;
    app.store.insert_pairing_code(&pairing_code_hash(&code), &user.id, now, expires_at).await?;
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

fn enrolled(d: &DeviceRow, now: i64) -> bool {
    d.is_active() || d.is_awaiting_approval(now)
}

fn too_many_devices() -> Error {
    Error::refused(
        ErrorCode::LimitReached,
        format!("an account has at most {MAX_DEVICES_PER_USER} devices; revoke one first"),
    )
}

fn refuse_if_locked(user: &UserRow) -> Result<()> {
    if user.signing_locked_at.is_some() {
        return Err(Error::refused(
            ErrorCode::AccountLockedNotMe,
            "pairing and signing are locked after a \"not me\" answer; log in again",
        ));
    }
    Ok(())
}

/// The checked pairing proof: who the new device says it is.
fn check_proof(app: &App, request: &PairDeviceRequest, now: i64) -> Result<(PairingClaims, String)> {
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
    let name = claims.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > MAX_DEVICE_NAME_CHARS {
        return Err(Error::refused(ErrorCode::BadRequest, "a device name is 1 to 64 characters"));
    }
    wysiwys_proto::summary::check_name("name", &name)?;
    Ok((claims, name))
}

/// How this device may join `user`'s account, before the transaction re-checks it.
async fn plan(app: &App, user: &UserRow, activation: Option<&str>, now: i64) -> Result<(PairingPlan, Evidence)> {
    let devices = app.store.devices_of_user(&user.id).await?;
    if devices.iter().any(DeviceRow::is_active) {
        return Ok((PairingPlan::AwaitingApproval, Evidence::AwaitingApproval));
    }
    if let Some(typed) = activation {
        let code_issued_at = activation::verify(app, user, &SecretString::from(typed.to_owned())).await?;
        return Ok((PairingPlan::ActivationCode, Evidence::ActivationCode { code_issued_at }));
    }
    let window = (app.settings.first_device == FirstDevice::EnrolmentWindow && devices.is_empty())
        .then_some(user.totp_enabled_at)
        .flatten()
        .filter(|enrolled| now.saturating_sub(*enrolled) <= ENROLMENT_WINDOW_MS);
    if let Some(totp_enabled_at) = window {
        return Ok((PairingPlan::EnrolmentWindow, Evidence::EnrolmentWindow { totp_enabled_at }));
    }
    Err(Error::refused(
        ErrorCode::ActivationRequired,
        "the first device of an account needs its activation code (wysiwys-confirm pair --activation-code)",
    ))
}

pub async fn pair(app: &App, request: &PairDeviceRequest, client: IpAddr) -> Result<PairDeviceResponse> {
    let now = app.clock.now_ms();
    if !app.pairing_limiter.allow(client, now) {
        return Err(Error::refused(ErrorCode::RateLimited, "too many pairing attempts from this address"));
    }
    let (claims, name) = check_proof(app, request, now)?;
    let code_hash = pairing_code_hash(&claims.code);
    let Some(user_id) = app.store.pairing_code_user(&code_hash, now).await? else {
        return Err(refuse_code(app, now).await?);
    };
    let user = app.store.user_by_id(&user_id).await?.ok_or_else(|| Error::Internal("code of no user".into()))?;
    refuse_if_locked(&user)?;
    let (plan, evidence) = match plan(app, &user, claims.activation.as_deref(), now).await {
        Ok(p) => p,
        Err(e) => {
            if e.code() == ErrorCode::ActivationCodeInvalid {
                // A guess at the activation code costs the whole pairing code.
                app.store.burn_pairing_code(&code_hash, now).await?;
            }
            app.store
                .audit(&AuditEvent {
                    at: now,
                    event: "pairing_refused",
                    user_id: Some(&user.id),
                    code: Some(e.code()),
                    ..Default::default()
                })
                .await?;
            return Err(e);
        }
    };
    let awaiting = plan == PairingPlan::AwaitingApproval;
    let approval_expires_at = awaiting.then_some(now + PAIRING_TTL_MS);
    let device = DeviceRow {
        id: random_id(app.entropy.as_ref())?,
        user_id: user.id.clone(),
        name,
        public_jwk: serde_json::to_string(&claims.jwk).map_err(|e| Error::Internal(e.to_string()))?,
        created_at: now,
        last_seen_at: None,
        revoked_at: None,
        last_ctr: 0,
        approved_at: (!awaiting).then_some(now),
        enrolment: evidence.to_json()?,
        pairing_challenge: if awaiting { Some(random_bytes::<32>(app.entropy.as_ref())?.to_vec()) } else { None },
        pairing_expires_at: approval_expires_at,
        pairing_address: Some(client.to_string()),
    };
    match app.store.pair_device(&code_hash, &device, plan, MAX_DEVICES_PER_USER, now).await? {
        PairOutcome::Paired => {}
        PairOutcome::CodeInvalid => return Err(refuse_code(app, now).await?),
        PairOutcome::TooManyDevices => return Err(too_many_devices()),
        PairOutcome::Changed => {
            return Err(Error::refused(
                ErrorCode::PairingCodeInvalid,
                "the account's devices changed while pairing; make a new pairing code",
            ));
        }
    }
    app.pairing_limiter.refund(&client);
    if awaiting {
        approval::request_from_devices(app, &device).await?;
    } else {
        notices::notify(app, &device, NoticeKind::DevicePaired, None).await?;
    }
    tracing::info!(device = %device.id, user = %user.id, enrolment = evidence.kind(), "device paired");
    Ok(PairDeviceResponse {
        device_id: device.id,
        user_id: user.id,
        username: user.username,
        server_origin: app.settings.origin.clone(),
        channel_key: app.channel_key.clone(),
        status: if awaiting { PairingStatus::AwaitingApproval } else { PairingStatus::Active },
        approval_expires_at,
    })
}

async fn refuse_code(app: &App, now: i64) -> Result<Error> {
    app.store
        .audit(&AuditEvent {
            at: now,
            event: "pairing_refused",
            code: Some(ErrorCode::PairingCodeInvalid),
            ..Default::default()
        })
        .await?;
    Ok(Error::refused(ErrorCode::PairingCodeInvalid, "unknown, used or expired pairing code"))
}

/// The RFC 7638 thumbprint of a stored device key.
pub fn key_thumbprint(device: &DeviceRow) -> Result<String> {
    serde_json::from_str::<Jwk>(&device.public_jwk)
        .map(|jwk| jwk.thumbprint())
        .map_err(|e| Error::Internal(format!("stored key of device {}: {e}", device.id)))
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
}
