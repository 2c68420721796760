//! A person's signing certificate through its life: revoked for good,
//! suspended (certificateHold), resumed, and renewed. Each change is one conditional
//! UPDATE in the register that also ends the person's open requests, so a
//! request confirmed on both channels before the change signs nothing after
//! it; the SAM checks the register's standing again before every signature.

use crate::clock::Clock;
use crate::entropy::{Entropy, random_bytes};
use crate::error::{Error, Result};
use crate::hsm::Hsm;
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
        CredentialAction::Renew => {
            return Err(Error::Internal("renewal issues a certificate: call credentials::renew".into()));
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

/// Renewal: the key policy is to re-certify the same HSM key, so the
/// credential id, the CSC clients and the person's devices stay as they
/// are. Only a valid certificate is renewed (a revoked key needs a new
/// credential; a suspended one is resumed first). The old certificate stays
/// valid until it expires, so nothing signed with it changes.
pub async fn renew(
    store: &Store,
    hsm: &std::sync::Arc<Hsm>,
    clock: &dyn Clock,
    entropy: &dyn Entropy,
    username: &str,
) -> Result<CredentialState> {
    let user = store
        .user_by_username(username)
        .await?
        .ok_or_else(|| Error::refused(ErrorCode::UserUnknown, format!("no user {username:?}")))?;
    let now = clock.now_ms();
    let current = crate::pki::current_certificate(store, &user).await?;
    if let crate::pki::standing::Standing::Revoked { .. } | crate::pki::standing::Standing::Suspended { .. } =
        current.standing(now)
    {
        return Err(Error::refused(
            ErrorCode::BadRequest,
            format!("the certificate is {}: it cannot be renewed", current.status),
        ));
    }
    let serial = random_bytes::<16>(entropy)?;
    let distribution = crate::pki::Distribution::recorded(store).await?;
    let (keys, name, credential) = (hsm.clone(), user.username.clone(), user.credential_id.clone());
    let der = tokio::task::spawn_blocking(move || -> Result<Vec<u8>> {
        let point = keys.user_public_key(&credential)?;
        crate::pki::issue_user_certificate(&keys, &name, &point, now, serial, distribution.as_ref())
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))??;
    let row = crate::pki::certificate_row(&der, Some(&user.id), Some(&user.credential_id), now)?;
    if !store.renew_certificate(&user.id, &user.certificate, &row).await? {
        return Err(Error::refused(ErrorCode::BadRequest, "the certificate was renewed meanwhile"));
    }
    let serial = hex(&row.serial);
    store
        .audit(&AuditEvent {
            at: now,
            event: "credential_renewed",
            user_id: Some(&user.id),
            detail: Some(&serial),
            ..Default::default()
        })
        .await?;
    tracing::info!(user = %user.id, %serial, "signing certificate renewed");
    Ok(CredentialState {
        username: user.username,
        credential_id: user.credential_id,
        serial,
        status: row.status,
        revoked_at: None,
        requests_ended: 0,
    })
}
