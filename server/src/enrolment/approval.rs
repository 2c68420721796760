//! A pairing that waits for one of the account's active devices: the
//! signed request pushed to them, and the check of their signed answer.
//!
//! The answer is checked like a SAD: signature under the answering device's
//! key, every claim against the stored pairing (its id, the new key's
//! thumbprint, the challenge), before expiry, and it settles the pairing at
//! most once: a conditional UPDATE in `Store::decide_pairing`.

use super::evidence::Evidence;
use super::key_thumbprint;
use super::notices;
use crate::app::App;
use crate::channel_token::Earlier;
use crate::error::{Error, Result};
use crate::store::{DeviceRow, PairingDecision, PushFor, PushKind};
use subtle::ConstantTimeEq;
use wysiwys_proto::api::{NoticeKind, PairingOutcome, ServerMessage};
use wysiwys_proto::pairing_approval::{self, PAIRING_REQUEST_TYP, PairingRequestClaims};
use wysiwys_proto::sad::Decision;
use wysiwys_proto::{ErrorCode, b64};

fn request_claims(app: &App, pending: &DeviceRow, approver_id: &str) -> Result<Option<PairingRequestClaims>> {
    let (Some(chal), Some(expires_at)) = (&pending.pairing_challenge, pending.pairing_expires_at) else {
        return Ok(None);
    };
    Ok(Some(PairingRequestClaims {
        iss: app.settings.origin.clone(),
        aud: approver_id.to_owned(),
        sub: pending.user_id.clone(),
        pairing: pending.id.clone(),
        name: pending.name.clone(),
        jkt: key_thumbprint(pending)?,
        addr: pending.pairing_address.clone().unwrap_or_else(|| "unknown".into()),
        chal: b64::encode(chal),
        iat: pending.created_at.div_euclid(1000),
        exp: expires_at.div_euclid(1000),
    }))
}

/// Signs the request for one approving device and sends it, if connected here.
async fn push(app: &App, pending: &DeviceRow, approver_id: &str) -> Result<()> {
    if let Some(claims) = request_claims(app, pending, approver_id)? {
        let push = PushFor { kind: PushKind::PairingRequest, subject_id: &pending.id, device_id: approver_id };
        let expires_at = claims.exp.saturating_mul(1000);
        let token =
            crate::channel_token::signed_once(app, push, Earlier::Possible, PAIRING_REQUEST_TYP, &claims, expires_at)
                .await?;
        app.hub.send(approver_id, &ServerMessage::PairingRequest { token });
    }
    Ok(())
}

/// Right after a pairing that awaits approval: to every connected active
/// device of the account. Devices connected elsewhere get it on connecting.
pub async fn request_from_devices(app: &App, pending: &DeviceRow) -> Result<()> {
    for device_id in app.hub.connected_devices(&pending.user_id) {
        push(app, pending, &device_id).await?;
    }
    Ok(())
}

/// For a socket that just authenticated: every pairing of its account that
/// still awaits approval.
pub async fn push_open(app: &App, device: &DeviceRow) -> Result<()> {
    let now = app.clock.now_ms();
    for pending in app.store.devices_of_user(&device.user_id).await? {
        if pending.is_awaiting_approval(now) {
            push(app, &pending, &device.id).await?;
        }
    }
    Ok(())
}

fn refused(code: ErrorCode, description: impl Into<String>) -> PairingOutcome {
    PairingOutcome::Refused { error: code, error_description: description.into() }
}

fn outcome_of(decision: Decision) -> PairingOutcome {
    match decision {
        Decision::Approve => PairingOutcome::Approved,
        Decision::Reject => PairingOutcome::Rejected,
        Decision::NotMe => PairingOutcome::Locked,
    }
}

/// The answer of `approver` (an authenticated, active device) for `pairing_id`.
pub async fn answer(app: &App, approver: &DeviceRow, pairing_id: &str, token: &str) -> PairingOutcome {
    match settle(app, approver, pairing_id, token).await {
        Ok(outcome) => outcome,
        Err(Error::Refused { code, detail }) => {
            tracing::info!(device = %approver.id, pairing = pairing_id, %code, detail, "pairing answer refused");
            refused(code, detail)
        }
        Err(e) => {
            tracing::error!(device = %approver.id, pairing = pairing_id, error = ?e, "pairing answer failed");
            refused(ErrorCode::InternalError, crate::error::INTERNAL_DESCRIPTION)
        }
    }
}

async fn settle(app: &App, approver: &DeviceRow, pairing_id: &str, token: &str) -> Result<PairingOutcome> {
    let now = app.clock.now_ms();
    let invalid = |detail: &str| Error::refused(ErrorCode::PairingAnswerInvalid, detail.to_owned());
    let pending = app
        .store
        .device(pairing_id)
        .await?
        .filter(|p| p.user_id == approver.user_id && p.id != approver.id)
        .ok_or_else(|| invalid("no such pairing on this account"))?;
    let verified = pairing_approval::verify_answer(token, &crate::devices::device_key(approver)?, now.div_euclid(1000))
        .map_err(|e| Error::refused(e.code(), format!("pairing answer: {e}")))?;
    let c = &verified.claims;
    if let Some(earlier) = same_answer_as_before(&pending, approver, token)? {
        // The device re-sent what it sent before (its ack was lost): same answer.
        return Ok(earlier);
    }
    if c.iss != approver.id || c.aud != app.settings.origin || c.sub != approver.user_id || c.pairing != pending.id {
        return Err(invalid("the answer names another device, server, account or pairing"));
    }
    if c.jkt != key_thumbprint(&pending)? {
        return Err(invalid("the answer names another key than the one that asks to join"));
    }
    let chal_ok = match (&pending.pairing_challenge, b64::decode_array::<32>(&c.chal)) {
        (Some(stored), Some(sent)) => stored.len() == 32 && bool::from(sent.ct_eq(stored.as_slice())),
        _ => false,
    };
    if !pending.is_awaiting_approval(now) || !chal_ok {
        return Err(invalid("this pairing is settled or expired"));
    }
    let user = app.store.user_by_id(&approver.user_id).await?.ok_or_else(|| Error::Internal("user vanished".into()))?;
    if c.dec == Decision::Approve && user.signing_locked_at.is_some() {
        return Err(Error::refused(ErrorCode::AccountLockedNotMe, "pairing is locked after a \"not me\" answer"));
    }
    let (decision, evidence) = match c.dec {
        Decision::Approve => (
            PairingDecision::Approve,
            Evidence::ApprovedByDevice { approver: approver.id.clone(), token: token.into() },
        ),
        dec => (
            PairingDecision::Refuse,
            Evidence::RefusedByDevice { approver: approver.id.clone(), token: token.into(), decision: dec },
        ),
    };
    if !app.store.decide_pairing(&pending.id, approver, decision, &evidence.to_json()?, now).await? {
        // Another device answered first, or the pairing lapsed meanwhile.
        let now_stored = app.store.device(&pending.id).await?.ok_or_else(|| invalid("the pairing vanished"))?;
        return match same_answer_as_before(&now_stored, approver, token)? {
            Some(outcome) => Ok(outcome),
            None => Err(invalid("this pairing was settled by another answer")),
        };
    }
    if c.dec == Decision::NotMe {
        let closed = app
            .store
            .lock_signing(&approver.user_id, ErrorCode::AccountLockedNotMe, "\"not me\" to a pairing request", now)
            .await?;
        tracing::warn!(user = %approver.user_id, closed, "pairing answered \"not me\": pairing and signing locked");
    }
    let kind = if c.dec == Decision::Approve { NoticeKind::DeviceApproved } else { NoticeKind::PairingRefused };
    notices::notify(app, &pending, kind, Some(&approver.id)).await?;
    Ok(outcome_of(c.dec))
}

/// If the stored evidence is exactly this answer of this device, what it decided.
fn same_answer_as_before(pending: &DeviceRow, approver: &DeviceRow, token: &str) -> Result<Option<PairingOutcome>> {
    Ok(match Evidence::parse(&pending.enrolment)? {
        Evidence::ApprovedByDevice { approver: a, token: t } if a == approver.id && t == token => {
            Some(PairingOutcome::Approved)
        }
        Evidence::RefusedByDevice { approver: a, token: t, decision } if a == approver.id && t == token => {
            Some(outcome_of(decision))
        }
        _ => None,
    })
}
