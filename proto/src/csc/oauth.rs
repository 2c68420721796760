//! CSC OAuth 2.0: `oauth2/authorize` (a browser redirect), `oauth2/token`,
//! v1 `auth/login` and `auth/revoke`.
//!
//! `oauth2/authorize` takes query parameters (RFC 6749 §4.1.1, RFC 7636,
//! and CSC's `credentialID`, `numSignatures`, `hash`/`hashes`,
//! `authorization_details` of RFC 9396); the authorization request is
//! read from the query, so its type is here too.

use serde::{Deserialize, Serialize};

/// `scope=service`: list credentials and ask for authorizations.
pub const SCOPE_SERVICE: &str = "service";
/// `scope=credential`: the access token is the SAD for the hashes both
/// channels confirmed.
pub const SCOPE_CREDENTIAL: &str = "credential";
/// The RFC 9396 `type` of a credential authorization.
pub const DETAILS_TYPE_CREDENTIAL: &str = "credential";
/// Prefix of every service access token; the rest is 32 random bytes.
pub const ACCESS_TOKEN_PREFIX: &str = "wysiwys_at_";

/// The query of `oauth2/authorize`, v1 and v2 names.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizeQuery {
    #[serde(default)]
    pub response_type: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub redirect_uri: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub code_challenge: Option<String>,
    #[serde(default)]
    pub code_challenge_method: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub lang: Option<String>,
    #[serde(default, rename = "credentialID")]
    pub credential_id: Option<String>,
    #[serde(default, rename = "numSignatures")]
    pub num_signatures: Option<String>,
    /// Comma-separated base64url digests (v1 `hash`, v2 `hashes`).
    #[serde(default, alias = "hash")]
    pub hashes: Option<String>,
    #[serde(default, rename = "hashAlgorithmOID")]
    pub hash_algorithm_oid: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub account_token: Option<String>,
    #[serde(default, rename = "clientData")]
    pub client_data: Option<String>,
    /// RFC 9396 JSON: a list of [`AuthorizationDetail`].
    #[serde(default)]
    pub authorization_details: Option<String>,
}

/// One RFC 9396 authorization detail of type `credential`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationDetail {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, rename = "credentialID", skip_serializing_if = "Option::is_none")]
    pub credential_id: Option<String>,
    #[serde(default, rename = "documentDigests")]
    pub document_digests: Vec<DocumentDigest>,
    #[serde(default, rename = "hashAlgorithmOID", skip_serializing_if = "Option::is_none")]
    pub hash_algorithm_oid: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub locations: Vec<String>,
}

/// A digest of the document the person is to sign, with its label.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentDigest {
    /// Standard base64 (or base64url) digest.
    pub hash: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// `oauth2/token`, as a form or as JSON.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenRequest {
    #[serde(default)]
    pub grant_type: Option<String>,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub redirect_uri: Option<String>,
    #[serde(default)]
    pub code_verifier: Option<String>,
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub authorization_details: Option<String>,
    #[serde(default, rename = "clientData")]
    pub client_data: Option<String>,
}

/// The answer of `oauth2/token` and v1 `auth/login`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    pub expires_in: u64,
    /// `credential` tokens: the credential the SAD is for.
    #[serde(default, rename = "credentialID", skip_serializing_if = "Option::is_none")]
    pub credential_id: Option<String>,
}

/// v1 `auth/login`: nothing is remembered (no refresh tokens).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginRequest {
    #[serde(default, rename = "rememberMe")]
    pub remember_me: Option<bool>,
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(default, rename = "clientData")]
    pub client_data: Option<String>,
}

/// `auth/revoke` and `oauth2/revoke`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevokeRequest {
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub token_type_hint: Option<String>,
    #[serde(default, rename = "clientData")]
    pub client_data: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_and_v2_hash_names_read_alike() {
        let v1: AuthorizeQuery = serde_json::from_str(r#"{"hash":"a,b","numSignatures":"2"}"#).unwrap();
        let v2: AuthorizeQuery = serde_json::from_str(r#"{"hashes":"a,b","numSignatures":"2"}"#).unwrap();
        assert_eq!(v1, v2);
        let details: Vec<AuthorizationDetail> = serde_json::from_str(
            r#"[{"type":"credential","credentialID":"c","documentDigests":[{"hash":"aGk=","label":"Contract"}],
                "hashAlgorithmOID":"2.16.840.1.101.3.4.2.1"}]"#,
        )
        .unwrap();
        assert_eq!(details[0].document_digests[0].label.as_deref(), Some("Contract"));
    }
}
