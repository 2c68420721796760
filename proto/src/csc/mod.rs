//! The Cloud Signature Consortium API (`/csc/v1/`, `/csc/v2/`): the wire
//! types any CSC client speaks. Member names are the spec's, so they are
//! camelCase or upper case as the spec writes them.
//!
//! Request bodies are shared by both versions: every member is optional
//! here (the server says which are missing in the spec's own words), and v2
//! members accept their v1 names too, because pyHanko's `CSCSigner` sends
//! `hash` and `hashAlgo` to either version. Responses differ where the
//! versions differ (`info`, `credentials/info`), in `v1` and `v2`.

pub mod oauth;
pub mod v1;
pub mod v2;

use serde::{Deserialize, Serialize};

/// ecdsa-with-SHA256, the one signature algorithm of a wysiwys credential.
pub const OID_ECDSA_WITH_SHA256: &str = "1.2.840.10045.4.3.2";
/// id-sha256.
pub const OID_SHA256: &str = "2.16.840.1.101.3.4.2.1";
/// prime256v1 / secp256r1.
pub const OID_P256: &str = "1.2.840.10045.3.1.7";
/// Prefix of every CSC SAD; the rest is 32 random bytes, base64url.
pub const SAD_PREFIX: &str = "wysiwys_sad_";

/// Every CSC error: the spec's `error` and `error_description`, and our
/// stable code beside them for clients that want more than the spec says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CscErrorBody {
    pub error: String,
    pub error_description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wysiwys_error: Option<crate::ErrorCode>,
}

/// `credentials/list`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ListRequest {
    /// The signer: a username or an external id. Required with a relying
    /// party's service token.
    #[serde(default, rename = "userID")]
    pub user_id: Option<String>,
    #[serde(default, rename = "maxResults")]
    pub max_results: Option<u32>,
    #[serde(default, rename = "pageToken")]
    pub page_token: Option<String>,
    /// v2: also return each credential's `credentials/info`.
    #[serde(default, rename = "credentialInfo")]
    pub credential_info: Option<bool>,
    #[serde(default)]
    pub certificates: Option<Certificates>,
    #[serde(default, rename = "certInfo")]
    pub cert_info: Option<bool>,
    #[serde(default, rename = "authInfo")]
    pub auth_info: Option<bool>,
    #[serde(default, rename = "onlyValid")]
    pub only_valid: Option<bool>,
    #[serde(default)]
    pub lang: Option<String>,
    #[serde(default, rename = "clientData")]
    pub client_data: Option<String>,
}

/// Which certificates `credentials/info` returns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Certificates {
    None,
    #[default]
    Single,
    Chain,
}

/// `credentials/info`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InfoRequest {
    #[serde(default, rename = "credentialID")]
    pub credential_id: Option<String>,
    #[serde(default)]
    pub certificates: Option<Certificates>,
    #[serde(default, rename = "certInfo")]
    pub cert_info: Option<bool>,
    #[serde(default, rename = "authInfo")]
    pub auth_info: Option<bool>,
    #[serde(default)]
    pub lang: Option<String>,
    #[serde(default, rename = "clientData")]
    pub client_data: Option<String>,
}

/// The key of a credential, as both versions describe it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyInfo {
    /// `enabled` or `disabled`.
    pub status: String,
    pub algo: Vec<String>,
    pub len: u32,
    pub curve: String,
}

/// The certificate of a credential, as both versions describe it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CertInfo {
    /// `valid`, `expired`, `revoked` or `suspended`.
    pub status: String,
    /// Standard base64 DER, end entity first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificates: Option<Vec<String>>,
    #[serde(default, rename = "issuerDN", skip_serializing_if = "Option::is_none")]
    pub issuer_dn: Option<String>,
    #[serde(default, rename = "serialNumber", skip_serializing_if = "Option::is_none")]
    pub serial_number: Option<String>,
    #[serde(default, rename = "subjectDN", skip_serializing_if = "Option::is_none")]
    pub subject_dn: Option<String>,
    #[serde(default, rename = "validFrom", skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<String>,
    #[serde(default, rename = "validTo", skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<String>,
}

/// One `authData` entry of a v2 `credentials/authorize`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthData {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// `credentials/authorize`, v1 and v2 names.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthorizeRequest {
    #[serde(default, rename = "credentialID")]
    pub credential_id: Option<String>,
    #[serde(default, rename = "numSignatures")]
    pub num_signatures: Option<u64>,
    /// Standard base64 digests, the ones both channels will show.
    #[serde(default, alias = "hash")]
    pub hashes: Option<Vec<String>>,
    #[serde(default, rename = "hashAlgorithmOID", alias = "hashAlgo")]
    pub hash_algorithm_oid: Option<String>,
    /// v2: the out-of-band objects of `credentials/info` (values are refused:
    /// nothing is typed into the client).
    #[serde(default, rename = "authData")]
    pub auth_data: Option<Vec<AuthData>>,
    /// v1: a PIN or OTP typed into the client; refused, as above.
    #[serde(default, rename = "PIN")]
    pub pin: Option<String>,
    #[serde(default, rename = "OTP")]
    pub otp: Option<String>,
    /// Shown on both channels as what the signatures are for.
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, rename = "clientData")]
    pub client_data: Option<String>,
}

/// The SAD, once both channels confirmed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SadResponse {
    #[serde(rename = "SAD")]
    pub sad: String,
    #[serde(rename = "expiresIn")]
    pub expires_in: u64,
}

/// v2's answer while the person has not confirmed on both channels yet
/// (202), for `credentials/authorizeCheck`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Handle {
    pub handle: String,
}

/// `signatures/signHash`, v1 and v2 names.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignHashRequest {
    #[serde(default, rename = "credentialID")]
    pub credential_id: Option<String>,
    #[serde(default, rename = "SAD")]
    pub sad: Option<String>,
    #[serde(default, alias = "hash")]
    pub hashes: Option<Vec<String>>,
    #[serde(default, rename = "hashAlgorithmOID", alias = "hashAlgo")]
    pub hash_algorithm_oid: Option<String>,
    #[serde(default, rename = "signAlgo")]
    pub sign_algo: Option<String>,
    #[serde(default, rename = "signAlgoParams")]
    pub sign_algo_params: Option<String>,
    /// v2: `S` (the default) only; asynchronous signing is not offered.
    #[serde(default, rename = "operationMode")]
    pub operation_mode: Option<String>,
    #[serde(default, rename = "clientData")]
    pub client_data: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignHashResponse {
    /// Standard base64 DER `ECDSA-Sig-Value`s, in the order of the hashes.
    pub signatures: Vec<String>,
}

/// `signatures/timestamp`: an RFC 3161 token over a hash.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TimestampRequest {
    /// Standard base64 of the hash to stamp.
    #[serde(default)]
    pub hash: Option<String>,
    /// The hash algorithm's OID (SHA-256 only).
    #[serde(default, rename = "hashAlgo", alias = "hashAlgorithmOID")]
    pub hash_algo: Option<String>,
    /// Hex; echoed in the token (at most 32 bytes).
    #[serde(default)]
    pub nonce: Option<String>,
    #[serde(default, rename = "clientData")]
    pub client_data: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TimestampResponse {
    /// Standard base64 DER TimeStampToken (a CMS ContentInfo).
    pub timestamp: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_requests_accept_the_v1_names_pyhanko_sends() {
        let v1: SignHashRequest = serde_json::from_str(
            r#"{"credentialID":"c","SAD":"s","hash":["aGk="],"hashAlgo":"2.16.840.1.101.3.4.2.1","signAlgo":"1.2.840.10045.4.3.2"}"#,
        )
        .unwrap();
        let v2: SignHashRequest = serde_json::from_str(
            r#"{"credentialID":"c","SAD":"s","hashes":["aGk="],"hashAlgorithmOID":"2.16.840.1.101.3.4.2.1","signAlgo":"1.2.840.10045.4.3.2"}"#,
        )
        .unwrap();
        assert_eq!(v1, v2);
        assert_eq!(v1.hashes.as_deref(), Some(&["aGk=".to_owned()][..]));
        let authorize: AuthorizeRequest =
            serde_json::from_str(r#"{"credentialID":"c","numSignatures":2,"hash":["a","b"],"clientData":"x"}"#)
                .unwrap();
        assert_eq!(authorize.num_signatures, Some(2));
        assert_eq!(authorize.hashes.map(|h| h.len()), Some(2));
    }
}
