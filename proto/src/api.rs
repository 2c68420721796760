//! Request and response bodies of the HTTP API and the device socket.
//! `docs/PROTOCOL.md` describes each endpoint that uses them.

use crate::Jwk;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Header carrying the CSRF token on every state-changing browser call.
pub const CSRF_HEADER: &str = "x-csrf-token";
pub const SESSION_COOKIE: &str = "wysiwys_session";

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    pub totp: String,
}

impl fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginRequest")
            .field("username", &self.username)
            .field("password", &"***")
            .field("totp", &"***")
            .finish()
    }
}

/// Re-entry of password and authenticator code by a logged-in user: it
/// allows one change of the user's devices in the next few minutes.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StepUpRequest {
    pub password: String,
    pub totp: String,
}

impl fmt::Debug for StepUpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StepUpRequest").field("password", &"***").field("totp", &"***").finish()
    }
}

/// What a step-up (or a log-in) granted: one device change until `until`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StepUpResponse {
    /// Unix milliseconds.
    pub elevated_until: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginResponse {
    pub user_id: String,
    pub username: String,
    /// Send back in the `X-CSRF-Token` header on every POST.
    pub csrf_token: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PairingCodeResponse {
    pub code: String,
    /// `wysiwys-pair:` URI for `wysiwys-confirm pair`; also shown as a QR code.
    pub uri: String,
    pub expires_at: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PairDeviceRequest {
    /// A `wysiwys-pair+jwt` proof (see `device_auth`).
    pub proof: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PairDeviceResponse {
    pub device_id: String,
    pub user_id: String,
    pub username: String,
    pub server_origin: String,
    /// The key that signs every push; the device pins it.
    pub channel_key: Jwk,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeviceView {
    pub device_id: String,
    pub name: String,
    pub created_at: i64,
    pub last_seen_at: Option<i64>,
    pub revoked: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum RequestState {
    /// Waiting for one or both channels.
    Pending,
    /// Both channels agreed; the HSM is signing.
    Signing,
    Signed,
    /// Refused, expired or interrupted; `error` says why.
    Failed,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignRequestView {
    pub id: String,
    pub state: RequestState,
    pub media_type: String,
    pub title: String,
    pub requester: String,
    pub doc_hash: String,
    pub summary_hash: String,
    pub verification_code: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub web_confirmed_at: Option<i64>,
    pub device_confirmed_at: Option<i64>,
    pub signed_at: Option<i64>,
    pub device_id: Option<String>,
    pub sad_sha256: Option<String>,
    pub error: Option<crate::ErrorBody>,
}

/// One Server-Sent Event of `GET /api/requests/{id}/stream`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusEvent {
    pub request: SignRequestView,
    /// The state in plain words, for the page to show as it is.
    pub message: String,
    /// The server's clock (ms), so the page can count down the time left.
    pub server_time: i64,
}

/// One entry of a request's audit trail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub at: i64,
    /// created, web_confirmed, device_answered, signing, signed, refused,
    /// attempt_refused, web_refused.
    pub event: String,
    pub device_id: Option<String>,
    pub code: Option<crate::ErrorCode>,
}

/// The browser's confirmation: the hashes of the bytes it received and showed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebConfirmation {
    pub doc_hash: String,
    pub summary_hash: String,
}

/// Messages from the server to the device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ServerMessage {
    /// First message on a new connection.
    Hello {
        nonce: String,
        server_time: i64,
    },
    Authenticated {
        device_id: String,
    },
    /// A `wysiwys-challenge+jwt` for the device to show.
    SignRequest {
        token: String,
    },
    /// The server's answer to a SAD.
    Ack {
        request_id: String,
        outcome: AckOutcome,
    },
    Error {
        error: crate::ErrorCode,
        error_description: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case", deny_unknown_fields)]
pub enum AckOutcome {
    /// The SAD was accepted; the request is now in `state`.
    Accepted {
        state: RequestState,
    },
    Refused {
        error: crate::ErrorCode,
        error_description: String,
    },
}

/// Messages from the device to the server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum DeviceMessage {
    /// A `wysiwys-device-auth+jwt` answering the hello nonce.
    Auth { token: String },
    /// A `wysiwys-sad+jwt` answering the push for `request_id`.
    Sad { request_id: String, token: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_request_debug_hides_secrets() {
        let r = LoginRequest { username: "ann".into(), password: "hunter2".into(), totp: "123456".into() };
        let shown = format!("{r:?}");
        assert!(!shown.contains("hunter2") && !shown.contains("123456"), "{shown}");
        let r = StepUpRequest { password: "hunter2".into(), totp: "123456".into() };
        let shown = format!("{r:?}");
        assert!(!shown.contains("hunter2") && !shown.contains("123456"), "{shown}");
    }

    #[test]
    fn socket_messages_are_tagged_and_closed() {
        let m = DeviceMessage::Sad { request_id: "r".into(), token: "t".into() };
        assert_eq!(serde_json::to_string(&m).unwrap(), r#"{"type":"sad","request_id":"r","token":"t"}"#);
        let extra = r#"{"type":"sad","request_id":"r","token":"t","x":1}"#;
        assert!(serde_json::from_str::<DeviceMessage>(extra).is_err());
        assert!(serde_json::from_str::<DeviceMessage>(r#"{"type":"other"}"#).is_err());
    }
}
