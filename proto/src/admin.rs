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
    /// The level of its requests that name none (`B-B` … `B-LTA`); the
    /// server's `--signature-level` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature_level: Option<crate::signature_level::SignatureLevel>,
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

/// What the operator does to a person's signing certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CredentialAction {
    /// For good: the certificate is listed on the CRL and OCSP says revoked.
    Revoke,
    /// certificateHold until resumed.
    Suspend,
    /// Ends a suspension.
    Resume,
    /// A new certificate for the same HSM key (same credential id), valid
    /// from now; the old one stays valid until it expires.
    Renew,
}

/// Why a certificate is revoked: the RFC 5280 CRLReason names an operator
/// may choose (certificateHold is `suspend`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum RevocationReason {
    Unspecified,
    KeyCompromise,
    AffiliationChanged,
    Superseded,
    CessationOfOperation,
    PrivilegeWithdrawn,
}

impl RevocationReason {
    /// The CRLReason code.
    pub fn code(self) -> u8 {
        match self {
            RevocationReason::Unspecified => 0,
            RevocationReason::KeyCompromise => 1,
            RevocationReason::AffiliationChanged => 3,
            RevocationReason::Superseded => 4,
            RevocationReason::CessationOfOperation => 5,
            RevocationReason::PrivilegeWithdrawn => 9,
        }
    }
}

impl std::str::FromStr for RevocationReason {
    type Err = String;

    /// The RFC's name (`keyCompromise`), for the command line.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).map_err(|_| {
            format!(
                "{s:?} is not one of unspecified, keyCompromise, affiliationChanged, superseded, cessationOfOperation, privilegeWithdrawn"
            )
        })
    }
}

/// `POST /api/v1/admin/users/{username}/credential`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CredentialChange {
    pub action: CredentialAction,
    /// Only with `revoke`; `unspecified` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<RevocationReason>,
}

/// A person's signing certificate after a change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CredentialState {
    pub username: String,
    pub credential_id: String,
    /// The certificate's serial, hex.
    pub serial: String,
    /// `valid`, `revoked` or `suspended`.
    pub status: String,
    /// Unix ms of the revocation or suspension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<i64>,
    /// Open sign requests and CSC authorizations the change ended.
    pub requests_ended: u64,
}
