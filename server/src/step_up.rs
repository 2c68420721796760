//! Step-up: changing the devices of an account (a pairing code, a
//! revocation) needs a fresh password and authenticator code, not just a
//! session. A log-in is such an entry, and so is `POST /api/session/step-up`;
//! either allows *one* device change within [`WINDOW_MS`].
//!
//! Why one change and not a window of minutes (as kanidm's privileged
//! session): a stolen session cookie, or a page script that rides along
//! after the person's own change, gets nothing from a step-up it did not
//! make itself. The second defence against a man in the browser who waits
//! for the step-up is that a new device needs an existing device's approval.

use crate::accounts;
use crate::app::App;
use crate::error::{Error, Result};
use crate::store::{AuditEvent, SessionRow, UserRow};
use std::net::IpAddr;
use wysiwys_proto::ErrorCode;
use wysiwys_proto::api::{StepUpRequest, StepUpResponse};

/// How long a fresh entry of password and code stays usable.
pub const WINDOW_MS: i64 = 5 * 60 * 1000;

/// Proof that this request used up a session's step-up. Only
/// [`use_elevation`] makes one, so a device change that takes it as an
/// argument cannot forget the check.
#[derive(Debug)]
pub struct Elevated(());

/// Re-entry of password and code for a logged-in session. Failures count
/// towards the account lock and the address limit exactly like a log-in's.
pub async fn step_up(
    app: &App,
    session: &SessionRow,
    user: &UserRow,
    request: &StepUpRequest,
    client: IpAddr,
) -> Result<StepUpResponse> {
    let checked = accounts::check_password(app, &user.username, &request.password, client).await?;
    if checked.id != user.id {
        return Err(Error::Internal("the session's user changed during step-up".into()));
    }
    accounts::check_totp(app, &checked, &request.totp, client).await?;
    let now = app.clock.now_ms();
    let elevated_until = now.checked_add(WINDOW_MS).ok_or_else(|| Error::Internal("clock overflow".into()))?;
    app.store.elevate_session(&session.token_hash, elevated_until).await?;
    app.store.audit(&AuditEvent { at: now, event: "step_up", user_id: Some(&user.id), ..Default::default() }).await?;
    Ok(StepUpResponse { elevated_until })
}

/// Takes the session's one device change, or refuses with
/// `STEP_UP_REQUIRED` (the request ends; the person re-enters and retries).
pub async fn use_elevation(app: &App, session: &SessionRow) -> Result<Elevated> {
    let now = app.clock.now_ms();
    if app.store.consume_elevation(&session.token_hash, now).await? {
        return Ok(Elevated(()));
    }
    app.store
        .audit(&AuditEvent {
            at: now,
            event: "step_up_required",
            user_id: Some(&session.user_id),
            code: Some(ErrorCode::StepUpRequired),
            ..Default::default()
        })
        .await?;
    Err(Error::refused(
        ErrorCode::StepUpRequired,
        "enter your password and a new authenticator code again before changing your devices",
    ))
}

/// Whether the page should offer the change directly or ask for a step-up.
pub fn is_elevated(session: &SessionRow, now: i64) -> bool {
    session.elevated_until.is_some_and(|until| until > now)
}
