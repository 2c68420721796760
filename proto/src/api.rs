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
    pub status: PairingStatus,
    /// Unix ms: when a pairing still awaiting approval lapses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_expires_at: Option<i64>,
}

/// Whether a new device may be used at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum PairingStatus {
    /// Enrolled by an activation code or the sign-up window: usable now.
    Active,
    /// One of the account's devices must approve it first.
    AwaitingApproval,
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
    /// Not yet approved by another device of the account (and not usable).
    pub awaiting_approval: bool,
    /// How it was enrolled: `activation_code`, `enrolment_window`,
    /// `approved_by_device`, `awaiting_approval`, `before_evidence`.
    pub enrolment: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum RequestState {
    /// Waiting for one or both channels.
    Pending,
    /// Both channels agreed; the HSM is signing.
    Signing,
    /// Hash-only (CSC) requests: both channels agreed, and the client may
    /// have each confirmed hash signed once with its SAD.
    Authorized,
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
    /// The AdES level the signature reached, once signed. Lower than the
    /// level asked for only under the operator's best-effort timestamp policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature_level: Option<crate::signature_level::SignatureLevel>,
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
    /// attempt_refused, web_refused, late_not_me (a "not me" after the
    /// request had its answer: heard, signing locked).
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
    /// A `wysiwys-pairing-request+jwt`: a new device asks to join the account.
    PairingRequest {
        token: String,
    },
    /// The server's answer to a pairing answer.
    PairingAck {
        pairing_id: String,
        outcome: PairingOutcome,
    },
    /// Something changed on the account's devices; the device shows it and
    /// sends a `notice_receipt`. Sent again on every connection until receipted.
    Notice {
        notice_id: String,
        kind: NoticeKind,
        /// The device the notice is about.
        device_id: String,
        device_name: String,
        /// Unix ms.
        at: i64,
    },
    /// A message of a newer server that this device does not know.
    #[serde(other)]
    Unknown,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum NoticeKind {
    /// A device joined by activation code or the sign-up window.
    DevicePaired,
    /// A device joined with the approval of one of the account's devices.
    DeviceApproved,
    /// A pairing was rejected or answered "not me" on one of the devices.
    PairingRefused,
    DeviceRevoked,
    #[serde(other)]
    Unknown,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case", deny_unknown_fields)]
pub enum PairingOutcome {
    /// The new device is active now.
    Approved,
    /// The new device is refused.
    Rejected,
    /// "Not me": the new device is refused and pairing and signing are locked.
    Locked,
    Refused {
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
    /// A `wysiwys-pairing-answer+jwt` answering the pairing request for `pairing_id`.
    PairingAnswer { pairing_id: String, token: String },
    /// The notice was shown.
    NoticeReceipt { notice_id: String },
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

    #[test]
    fn an_older_device_survives_a_newer_server() {
        let newer: ServerMessage = serde_json::from_str(r#"{"type":"firmware_update"}"#).unwrap();
        assert_eq!(newer, ServerMessage::Unknown);
        let notice =
            r#"{"type":"notice","notice_id":"n","kind":"device_teleported","device_id":"d","device_name":"x","at":1}"#;
        let ServerMessage::Notice { kind, .. } = serde_json::from_str(notice).unwrap() else { panic!("a notice") };
        assert_eq!(kind, NoticeKind::Unknown);
    }
}
