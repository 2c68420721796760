//! The operator's API: a bootstrap token (from a file named at start-up)
//! lets scripts create users and relying parties over HTTP, exactly as the
//! `create-user` and `create-rp` commands do. Without the file the API does
//! not exist. The token is kept as its SHA-256 and compared in constant time.

use crate::accounts::{self, CreatedAccount, NewAccount, TotpEnrolment};
use crate::app::App;
use crate::error::{Error, Result};
use crate::relying_parties::{self, CreatedRelyingParty};
use secrecy::ExposeSecret;
use std::path::Path;
use subtle::ConstantTimeEq;
use wysiwys_proto::admin::{self, MIN_ADMIN_TOKEN_CHARS};
use wysiwys_proto::{ErrorCode, jcs};

/// The SHA-256 of the token in `path` (its first line).
pub fn load_token(path: &Path) -> Result<[u8; 32]> {
    let token = crate::hsm::softhsm::pin_file(path, false)
        .map_err(|e| Error::Internal(format!("admin token file {}: {e}", path.display())))?
        .ok_or_else(|| Error::Internal(format!("admin token file {} does not exist", path.display())))?;
    let token = token.expose_secret().trim();
    if token.chars().count() < MIN_ADMIN_TOKEN_CHARS {
        return Err(Error::Internal(format!(
            "the admin token in {} is shorter than {MIN_ADMIN_TOKEN_CHARS} characters",
            path.display()
        )));
    }
    Ok(jcs::sha256(token.as_bytes()))
}

/// Whether `presented` is the operator's token.
pub fn check_token(app: &App, presented: Option<&str>) -> Result<()> {
    let refused = || Error::refused(ErrorCode::AdminTokenInvalid, "send the operator token as Authorization: Bearer");
    let expected =
        app.admin_token_sha256.as_ref().ok_or_else(|| Error::refused(ErrorCode::NotFound, "no such page"))?;
    let presented = presented.filter(|t| t.len() <= 1024).ok_or_else(refused)?;
    if bool::from(jcs::sha256(presented.trim().as_bytes()).ct_eq(expected)) { Ok(()) } else { Err(refused()) }
}

/// What the operator is shown once: the same JSON over HTTP and on the terminal.
pub fn user_credentials(a: &CreatedAccount) -> admin::CreatedUser {
    admin::CreatedUser {
        user_id: a.user_id.clone(),
        username: a.username.clone(),
        password: a.password.expose_secret().to_owned(),
        otpauth_uri: a.otpauth_uri.expose_secret().to_owned(),
        totp_secret: a.totp_secret_base32.expose_secret().to_owned(),
        activation_code: a.activation.as_ref().map(|i| i.code.expose_secret().to_owned()),
        activation_expires_at: a.activation.as_ref().map(|i| i.expires_at),
    }
}

/// Recovery for a person who lost every device: all devices of the account
/// are revoked and a new activation code is issued, to be delivered out of
/// band like the first. The same for `recover-user` and the operator API.
pub async fn recover_user(
    store: &crate::store::Store,
    clock: &dyn crate::clock::Clock,
    entropy: &dyn crate::entropy::Entropy,
    username: &str,
) -> Result<admin::RecoveredUser> {
    let user = store
        .user_by_username(username)
        .await?
        .ok_or_else(|| Error::refused(ErrorCode::UserUnknown, format!("no user {username:?}")))?;
    let issued = crate::enrolment::activation::issue(store, clock, entropy, &user.id).await?;
    tracing::warn!(user = %user.id, revoked = issued.revoked_devices.len(), "account recovered by the operator");
    Ok(admin::RecoveredUser {
        user_id: user.id,
        username: user.username,
        devices_revoked: u64::try_from(issued.revoked_devices.len()).unwrap_or(u64::MAX),
        activation_code: issued.code.expose_secret().to_owned(),
        activation_expires_at: issued.expires_at,
    })
}

/// The operator API's recovery: also closes the revoked devices' sockets here.
pub async fn recover(app: &App, username: &str) -> Result<admin::RecoveredUser> {
    let before = app.store.user_by_username(username).await?;
    let recovered = recover_user(&app.store, app.clock.as_ref(), app.entropy.as_ref(), username).await?;
    if let Some(user) = before {
        for device in app.store.devices_of_user(&user.id).await? {
            app.hub.disconnect(&device.id);
        }
    }
    Ok(recovered)
}

pub fn relying_party_credentials(rp: &CreatedRelyingParty) -> admin::CreatedRelyingParty {
    admin::CreatedRelyingParty {
        rp_id: rp.id.clone(),
        name: rp.name.clone(),
        api_key: rp.api_key.expose_secret().to_owned(),
        webhook_secret: rp.webhook_secret.as_ref().map(|s| s.expose_secret().to_owned()),
    }
}

pub async fn create_user(app: &App, new: &admin::NewUser) -> Result<admin::CreatedUser> {
    let created = accounts::create_user(
        &app.store,
        app.hsm.clone(),
        app.clock.as_ref(),
        app.entropy.as_ref(),
        NewAccount {
            username: &new.username,
            password: None,
            enrolment: TotpEnrolment::Active,
            external_id: new.external_id.as_deref(),
            relying_parties: &new.relying_parties,
        },
    )
    .await?;
    tracing::info!(user = %created.user_id, "user created by the operator API");
    Ok(user_credentials(&created))
}

pub async fn create_relying_party(app: &App, new: &admin::NewRelyingParty) -> Result<admin::CreatedRelyingParty> {
    let created = relying_parties::create_relying_party(
        &app.store,
        app.clock.as_ref(),
        app.entropy.as_ref(),
        relying_parties::NewRelyingParty {
            name: &new.name,
            media_types: &new.media_types,
            webhook_url: new.webhook_url.as_deref(),
            webhook_secret: None,
            redirect_uris: &new.redirect_uris,
            signature_level: new.signature_level,
        },
    )
    .await?;
    Ok(relying_party_credentials(&created))
}
