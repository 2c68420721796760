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

/// One document of `signatures/signDoc`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignDocDocument {
    /// Standard base64 of the document: a PDF (`P`) or a UTF-8 letter (`C`).
    #[serde(default)]
    pub document: Option<String>,
    /// `P` (PAdES) or `C` (CAdES, detached).
    #[serde(default)]
    pub signature_format: Option<String>,
    /// `Ades-B-B` (the default); higher levels once time-stamping exists.
    #[serde(default)]
    pub conformance_level: Option<String>,
    #[serde(default, rename = "signAlgo")]
    pub sign_algo: Option<String>,
    #[serde(default, rename = "signAlgoParams")]
    pub sign_algo_params: Option<String>,
    /// `Revision` (PAdES, an approval signature) or `Detached` (CAdES).
    #[serde(default)]
    pub signed_envelope_property: Option<String>,
    /// wysiwys: what both channels show for a PDF (its title and lines),
    /// as in the relying-party API; required for `P`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<crate::summary::DisplayFields>,
}

/// `signatures/signDoc`: the documents themselves, rendered and confirmed
/// on both channels during the call (no SAD: the person authorizes here).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignDocRequest {
    #[serde(default, rename = "credentialID")]
    pub credential_id: Option<String>,
    #[serde(default, rename = "signatureQualifier")]
    pub signature_qualifier: Option<String>,
    #[serde(default, rename = "SAD")]
    pub sad: Option<String>,
    #[serde(default)]
    pub documents: Option<Vec<SignDocDocument>>,
    /// Refused: digests are what `signHash` is for.
    #[serde(default, rename = "documentDigests")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub document_digests: Option<serde_json::Value>,
    #[serde(default, rename = "operationMode")]
    pub operation_mode: Option<String>,
    #[serde(default, rename = "returnValidationInfo")]
    pub return_validation_info: Option<bool>,
    #[serde(default, rename = "clientData")]
    pub client_data: Option<String>,
}

/// The answer of `signatures/signDoc`, in the order of the documents of
/// each kind.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignDocResponse {
    /// Standard base64 signed PDFs (`P`).
    #[serde(rename = "DocumentWithSignature", default, skip_serializing_if = "Vec::is_empty")]
    pub document_with_signature: Vec<String>,
    /// Standard base64 detached CMS signatures (`C`).
    #[serde(rename = "SignatureObject", default, skip_serializing_if = "Vec::is_empty")]
    pub signature_object: Vec<String>,
}
