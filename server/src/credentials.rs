//! A person's signing certificate through its life: revoked for good,
//! suspended (certificateHold) and resumed. Each change is one conditional
//! UPDATE in the register that also ends the person's open requests, so a
//! request confirmed on both channels before the change signs nothing after
//! it; the SAM checks the register's standing again before every signature.

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::pki::standing::REASON_CERTIFICATE_HOLD;
use crate::store::{AuditEvent, Store};
use wysiwys_proto::ErrorCode;
use wysiwys_proto::admin::{CredentialAction, CredentialChange, CredentialState};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Applies `change` to the user's current certificate.
pub async fn change(
    store: &Store,
    clock: &dyn Clock,
    username: &str,
    change: &CredentialChange,
) -> Result<CredentialState> {
    let user = store
        .user_by_username(username)
        .await?
        .ok_or_else(|| Error::refused(ErrorCode::UserUnknown, format!("no user {username:?}")))?;
    let certificate = crate::pki::current_certificate(store, &user).await?;
    if change.reason.is_some() && change.action != CredentialAction::Revoke {
        return Err(Error::refused(ErrorCode::BadRequest, "a reason is given only with revoke"));
    }
    let (from, to, reason, code, event): (&[&str], _, _, _, _) = match change.action {
        CredentialAction::Revoke => (
            &["valid", "suspended"],
            "revoked",
            Some(i64::from(change.reason.map_or(0, |r| r.code()))),
            ErrorCode::CredentialRevoked,
            "credential_revoked",
        ),
        CredentialAction::Suspend => (
            &["valid"],
            "suspended",
            Some(REASON_CERTIFICATE_HOLD),
            ErrorCode::CredentialSuspended,
            "credential_suspended",
        ),
        CredentialAction::Resume => {
            (&["suspended"], "valid", None, ErrorCode::CredentialSuspended, "credential_resumed")
        }
    };
    let now = clock.now_ms();
    let Some((row, ended)) = store.change_certificate_status(&certificate.serial, from, to, reason, code, now).await?
    else {
        return Err(Error::refused(
            ErrorCode::BadRequest,
            format!("the certificate is {}: it cannot be {to}", certificate.status),
        ));
    };
    let serial = hex(&row.serial);
    store
        .audit(&AuditEvent { at: now, event, user_id: Some(&user.id), detail: Some(&serial), ..Default::default() })
        .await?;
    tracing::warn!(user = %user.id, %serial, status = to, requests_ended = ended, "signing certificate changed");
    Ok(CredentialState {
        username: user.username,
        credential_id: user.credential_id,
        serial,
        status: row.status,
        revoked_at: row.revoked_at,
        requests_ended: ended,
    })
}
