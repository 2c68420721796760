//! CSC API v1.0.4.0 responses (`/csc/v1/`) that differ from v2.

use super::{CertInfo, KeyInfo};
use serde::{Deserialize, Serialize};

/// The specification version `info` reports.
pub const SPECS: &str = "1.0.4.0";

/// `info`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = CscV1InfoResponse))]
pub struct InfoResponse {
    pub specs: String,
    pub name: String,
    pub logo: String,
    pub region: String,
    pub lang: String,
    pub description: String,
    #[serde(rename = "authType")]
    pub auth_type: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth2: Option<String>,
    pub methods: Vec<String>,
}

/// `credentials/info`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = CscV1CredentialInfo))]
pub struct CredentialInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub key: KeyInfo,
    pub cert: CertInfo,
    /// `implicit`: the service itself asks the person (on both channels);
    /// the client collects no PIN or OTP.
    #[serde(rename = "authMode")]
    pub auth_mode: String,
    #[serde(rename = "SCAL")]
    pub scal: String,
    pub multisign: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
}

/// `credentials/list`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = CscV1ListResponse))]
pub struct ListResponse {
    #[serde(rename = "credentialIDs")]
    pub credential_ids: Vec<String>,
}
