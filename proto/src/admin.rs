//! The operator's API (`/api/v1/admin/`): create users and relying parties
//! with a bootstrap token, for scripted set-ups such as the attack lab. The
//! `create-user --json` and `create-rp --json` commands print the same types.

use serde::{Deserialize, Serialize};

/// Shortest bootstrap token the server accepts (a random hex or base64 string).
pub const MIN_ADMIN_TOKEN_CHARS: usize = 32;

/// `POST /api/v1/admin/users`: a new account whose password is made at random.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewUser {
    pub username: String,
    /// The number relying parties know this person by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Relying parties (ids) that may use this person's credential through
    /// the CSC API.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub relying_parties: Vec<String>,
}

/// The credentials of a new account, shown once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedUser {
    pub user_id: String,
    pub username: String,
    pub password: String,
    pub otpauth_uri: String,
    /// The TOTP secret, base32.
    pub totp_secret: String,
    /// For the first device: deliver it out of band (letter, bank app), never
    /// through the browser the person logs in with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activation_code: Option<String>,
    /// Unix ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activation_expires_at: Option<i64>,
}

/// `POST /api/v1/admin/users/{username}/recovery`: every device of the
/// account is revoked and a new activation code issued.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RecoveredUser {
    pub user_id: String,
    pub username: String,
    pub devices_revoked: u64,
    pub activation_code: String,
    /// Unix ms.
    pub activation_expires_at: i64,
}

/// `POST /api/v1/admin/relying-parties`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewRelyingParty {
    /// Shown to the person on both channels as the one who asks.
    pub name: String,
    /// Media types it may send.
    pub media_types: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,
    /// Exact redirect URIs for CSC `oauth2/authorize` (https, or http to loopback).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redirect_uris: Vec<String>,
}

/// The credentials of a new relying party, shown once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedRelyingParty {
    pub rp_id: String,
    pub name: String,
    pub api_key: String,
    pub webhook_secret: Option<String>,
}
