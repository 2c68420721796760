//! The Cloud Signature Consortium API's domain: one implementation behind
//! the two wire mappings of `http::csc` (v1 and v2).
//!
//! A CSC client never bypasses the two channels. `credentials/authorize`
//! makes a hash-only sign request (`wysiwys_proto::hashes`) that the person
//! confirms on the Sign page and on the device like any other; only then
//! is a SAD issued, bound to exactly the confirmed hashes, each signable
//! once (`signing`), until it expires.

pub mod authorization;
pub mod credentials;
pub mod documents;
pub mod oauth;
pub mod signing;
pub mod timestamp;

use crate::app::App;
use crate::error::{Error, Result};
use crate::store::{RelyingPartyRow, RequestRow, UserRow};
use wysiwys_proto::ErrorCode;
use wysiwys_proto::hashes::MEDIA_TYPE_HASHES;

/// Who calls the CSC API. Every kind acts for one relying party (the
/// OAuth client is a relying party too); a signer's own tokens reach only
/// that signer's credential.
#[derive(Debug, Clone)]
pub enum Caller {
    /// The party's API key, or the token its `auth/login` returned: the
    /// credentials of the signers the operator linked to it.
    RelyingParty(RelyingPartyRow),
    /// A service-scope OAuth token the signer consented to.
    Signer { rp: RelyingPartyRow, user_id: String },
    /// A credential-scope OAuth token: it is the SAD of the hashes both
    /// channels confirmed, for that signer's credential.
    Credential { rp: RelyingPartyRow, user_id: String, sad: String },
}

impl Caller {
    pub(crate) fn rp(&self) -> &RelyingPartyRow {
        match self {
            Caller::RelyingParty(rp) | Caller::Signer { rp, .. } | Caller::Credential { rp, .. } => rp,
        }
    }

    /// The one signer a token of a signer's own is limited to.
    pub(crate) fn signer(&self) -> Option<&str> {
        match self {
            Caller::RelyingParty(_) => None,
            Caller::Signer { user_id, .. } | Caller::Credential { user_id, .. } => Some(user_id),
        }
    }

    /// The SAD a credential token carries in itself.
    pub(crate) fn bearer_sad(&self) -> Option<&str> {
        match self {
            Caller::Credential { sad, .. } => Some(sad),
            _ => None,
        }
    }

    /// Whether this caller may use the credential of `user_id`.
    pub(crate) async fn may_use(&self, app: &App, user_id: &str) -> Result<bool> {
        match self.signer() {
            Some(own) => Ok(own == user_id),
            None => app.store.rp_serves_user(&self.rp().id, user_id).await,
        }
    }
}

/// A required member the client left out, in the spec's words.
pub(crate) fn missing(kind: &str, name: &str) -> Error {
    Error::refused(ErrorCode::BadRequest, format!("Missing (or invalid type) {kind} parameter {name}"))
}

pub(crate) fn invalid(name: &str) -> Error {
    Error::refused(ErrorCode::BadRequest, format!("Invalid parameter {name}"))
}

/// The owner of a credential this caller may use; any other credential
/// looks exactly like a missing one.
pub(crate) async fn credential_owner(app: &App, caller: &Caller, credential_id: &str) -> Result<UserRow> {
    let unknown = || Error::refused(ErrorCode::CredentialUnknown, "Invalid parameter credentialID");
    if credential_id.len() > 128 {
        return Err(unknown());
    }
    let user = app.store.user_by_credential(credential_id).await?.ok_or_else(unknown)?;
    if !caller.may_use(app, &user.id).await? {
        tracing::info!(rp = %caller.rp().id, credential = credential_id, "CSC: credential of a signer this party does not serve");
        return Err(unknown());
    }
    Ok(user)
}

/// A hash-only request this caller made.
pub(crate) async fn own_hash_request(app: &App, caller: &Caller, id: &str) -> Result<Option<RequestRow>> {
    Ok(app.store.request(id).await?.filter(|row| {
        row.media_type == MEDIA_TYPE_HASHES
            && row.rp_id.as_deref() == Some(caller.rp().id.as_str())
            && caller.signer().is_none_or(|own| own == row.user_id)
    }))
}
