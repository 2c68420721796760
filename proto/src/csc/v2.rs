//! CSC API v2.0.0.2 responses (`/csc/v2/`) that differ from v1.

use super::{CertInfo, KeyInfo};
use serde::{Deserialize, Serialize};

/// The specification version `info` reports.
pub const SPECS: &str = "2.0.0.2";

/// `info`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = CscV2InfoResponse))]
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
    #[serde(rename = "asynchronousOperationMode")]
    pub asynchronous_operation_mode: bool,
    pub methods: Vec<String>,
    #[serde(rename = "validationInfo")]
    pub validation_info: bool,
    #[serde(rename = "signAlgorithms")]
    pub sign_algorithms: SignAlgorithms,
    pub signature_formats: SignatureFormats,
    pub conformance_levels: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = CscV2SignAlgorithms))]
pub struct SignAlgorithms {
    pub algos: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = CscV2SignatureFormats))]
pub struct SignatureFormats {
    /// `C` (CAdES), `P` (PAdES), …
    pub formats: Vec<String>,
    /// Per format, in the same order.
    pub envelope_properties: Vec<Vec<String>>,
}

/// How a credential is authorized.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = CscV2Auth))]
pub struct Auth {
    /// `explicit`: `credentials/authorize`, answered out of band.
    pub mode: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<AuthObject>,
}

/// One authentication object: here, the two channels, both out of band.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = CscV2AuthObject))]
pub struct AuthObject {
    /// `ChallengeResponseOOB` (the device) or `PasswordOOB` (the web log-in).
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator: Option<String>,
    pub label: String,
    pub description: String,
}

/// `credentials/info`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = CscV2CredentialInfo))]
pub struct CredentialInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub key: KeyInfo,
    pub cert: CertInfo,
    pub auth: Auth,
    #[serde(rename = "SCAL")]
    pub scal: String,
    pub multisign: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
}

/// `credentials/list`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = CscV2ListResponse))]
pub struct ListResponse {
    #[serde(rename = "credentialIDs")]
    pub credential_ids: Vec<String>,
    /// With `credentialInfo: true`: each credential's `credentials/info`.
    #[serde(default, rename = "credentialInfos", skip_serializing_if = "Option::is_none")]
    pub credential_infos: Option<Vec<ListedCredential>>,
    /// Echoed when `onlyValid` was asked for.
    #[serde(default, rename = "onlyValid", skip_serializing_if = "Option::is_none")]
    pub only_valid: Option<bool>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = CscV2ListedCredential))]
pub struct ListedCredential {
    #[serde(rename = "credentialID")]
    pub credential_id: String,
    #[serde(flatten)]
    pub info: CredentialInfo,
}

/// `credentials/authorizeCheck`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = CscV2AuthorizeCheckRequest))]
pub struct AuthorizeCheckRequest {
    #[serde(default)]
    pub handle: Option<String>,
    #[serde(default, rename = "clientData")]
    pub client_data: Option<String>,
}
