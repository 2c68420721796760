//! Error codes: one enum, stable strings, used by every part of the system.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! error_codes {
    ($($(#[doc = $doc:literal])* $variant:ident => $code:literal,)+) => {
        /// A stable, machine-readable reason. The string form never changes
        /// once released; clients and tests match on it.
        ///
        /// A code this build does not know (from a newer server) reads as
        /// [`ErrorCode::Unknown`] instead of failing the whole message.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $($(#[doc = $doc])* #[serde(rename = $code)] $variant,)+
        }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)+];

            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code,)+ }
            }

            pub fn parse(code: &str) -> Option<Self> {
                match code { $($code => Some(ErrorCode::$variant),)+ _ => None }
            }
        }

        impl<'de> Deserialize<'de> for ErrorCode {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let code = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
                Ok(ErrorCode::parse(&code).unwrap_or(ErrorCode::Unknown))
            }
        }
    };
}

error_codes! {
    /// The document hash from the browser differs from the stored one.
    HashMismatch => "HASH_MISMATCH",
    /// The summary hash from a channel differs from the stored one.
    SummaryMismatch => "SUMMARY_MISMATCH",
    /// The SAD is malformed, has a bad signature or a claim that does not match.
    SadInvalid => "SAD_INVALID",
    /// The SAD (or its counter) was used before.
    SadReplayed => "SAD_REPLAYED",
    /// The SAD names another request or another challenge.
    SadWrongRequest => "SAD_WRONG_REQUEST",
    /// The challenge of the request (or the SAD) has expired.
    ChallengeExpired => "CHALLENGE_EXPIRED",
    DeviceUnknown => "DEVICE_UNKNOWN",
    DeviceRevoked => "DEVICE_REVOKED",
    /// The person rejected the request on the device.
    DeviceRejected => "DEVICE_REJECTED",
    /// The request is already signed, refused, expired or being signed.
    RequestNotPending => "REQUEST_NOT_PENDING",
    RequestNotFound => "REQUEST_NOT_FOUND",
    /// The document cannot be shown faithfully (bidi override, invisible or
    /// control characters, not NFC, not UTF-8).
    UnsafeDocument => "UNSAFE_DOCUMENT",
    /// The document is well-formed text but not a valid document of its kind.
    DocumentInvalid => "DOCUMENT_INVALID",
    UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
    TotpInvalid => "TOTP_INVALID",
    TotpReplayed => "TOTP_REPLAYED",
    RateLimited => "RATE_LIMITED",
    /// The person answered "not me"; signing is locked until a fresh web log-in.
    AccountLockedNotMe => "ACCOUNT_LOCKED_NOT_ME",
    Unauthenticated => "UNAUTHENTICATED",
    /// Unknown user or wrong password (deliberately indistinguishable).
    LoginFailed => "LOGIN_FAILED",
    CsrfInvalid => "CSRF_INVALID",
    PairingCodeInvalid => "PAIRING_CODE_INVALID",
    /// The account has no active device, and the first one needs the
    /// activation code the operator delivered out of band.
    ActivationRequired => "ACTIVATION_REQUIRED",
    /// The activation code is wrong, used, expired, or was guessed at too often.
    ActivationCodeInvalid => "ACTIVATION_CODE_INVALID",
    /// The device is paired but waits for one of the account's devices to approve it.
    PairingPending => "PAIRING_PENDING",
    /// The answer to a pairing request is malformed, forged, or for another pairing.
    PairingAnswerInvalid => "PAIRING_ANSWER_INVALID",
    /// A per-account cap (devices, open pairing codes) is reached.
    LimitReached => "LIMIT_REACHED",
    /// A relying party's name is, or looks like (same UTS #39 skeleton), the
    /// name of an existing one.
    RpNameConfusable => "RP_NAME_CONFUSABLE",
    /// A change of the user's devices needs a fresh password and authenticator
    /// code (step-up), not just a session.
    StepUpRequired => "STEP_UP_REQUIRED",
    /// Malformed JSON, unknown fields, missing fields.
    BadRequest => "BAD_REQUEST",
    PayloadTooLarge => "PAYLOAD_TOO_LARGE",
    UnsupportedContentType => "UNSUPPORTED_CONTENT_TYPE",
    NotFound => "NOT_FOUND",
    /// A signature was being made when the server stopped; the request is closed.
    SigningInterrupted => "SIGNING_INTERRUPTED",
    /// The relying party withdrew the request before it was signed.
    RequestCancelled => "REQUEST_CANCELLED",
    /// A relying-party API key that is unknown or malformed.
    ApiKeyInvalid => "API_KEY_INVALID",
    /// The relying party may not ask for this kind of document.
    MediaTypeNotAllowed => "MEDIA_TYPE_NOT_ALLOWED",
    /// An Idempotency-Key used before with a different request body.
    IdempotencyKeyReused => "IDEMPOTENCY_KEY_REUSED",
    /// The signer named by a relying party has no account here.
    UserUnknown => "USER_UNKNOWN",
    /// The operator's bootstrap token is missing or wrong.
    AdminTokenInvalid => "ADMIN_TOKEN_INVALID",
    /// No credential of that id that this caller may use (CSC API).
    CredentialUnknown => "CREDENTIAL_UNKNOWN",
    /// A hash the person did not confirm on both channels for this CSC SAD,
    /// or one signed with it already.
    HashNotAuthorized => "HASH_NOT_AUTHORIZED",
    /// A CSC SAD that is unknown, used up, or not this caller's or this
    /// credential's.
    CscSadInvalid => "CSC_SAD_INVALID",
    /// A CSC SAD whose lifetime is over.
    CscSadExpired => "CSC_SAD_EXPIRED",
    /// An OAuth client id that is unknown, a client secret that is wrong, or
    /// a redirect URI the client did not register (CSC `oauth2/…`).
    OAuthClientInvalid => "OAUTH_CLIENT_INVALID",
    /// An authorization code that is unknown, used, expired, for another
    /// client or redirect URI, or sent with the wrong PKCE verifier.
    OAuthGrantInvalid => "OAUTH_GRANT_INVALID",
    /// A grant type other than `authorization_code`.
    OAuthGrantTypeUnsupported => "OAUTH_GRANT_TYPE_UNSUPPORTED",
    /// A scope other than `service` or `credential`.
    OAuthScopeInvalid => "OAUTH_SCOPE_INVALID",
    /// A CSC access token whose lifetime is over.
    CscTokenExpired => "CSC_TOKEN_EXPIRED",
    /// The timestamp a signature needs could not be had from the
    /// time-stamping authority; with the operator's policy `required`,
    /// nothing was released.
    TimestampUnavailable => "TIMESTAMP_UNAVAILABLE",
    /// The signing certificate was revoked by the operator: nothing is
    /// signed with it again.
    CredentialRevoked => "CREDENTIAL_REVOKED",
    /// The signing certificate is suspended (certificateHold) until the
    /// operator resumes it.
    CredentialSuspended => "CREDENTIAL_SUSPENDED",
    /// The signing certificate has expired (or is not valid yet).
    CredentialExpired => "CREDENTIAL_EXPIRED",
    InternalError => "INTERNAL_ERROR",
    /// A code from a newer version that this one does not know.
    Unknown => "UNKNOWN",
}

/// Written by hand: the derive would list the Rust names, not the codes.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for ErrorCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(ErrorCode::ALL.iter().map(|c| c.as_str())))
            .description(Some("A stable, machine-readable reason; docs/PROTOCOL.md lists what each means."))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for ErrorCode {}

impl ErrorCode {
    /// What the code means for the person in front of the screen.
    pub fn plain_words(self) -> &'static str {
        use ErrorCode::*;
        match self {
            HashMismatch => "The letter your browser showed is not the letter of this request. Nothing was signed.",
            SummaryMismatch => {
                "The summary your browser showed is not the summary of this request. Nothing was signed."
            }
            SadInvalid => "The answer from your device could not be verified. Nothing was signed.",
            SadReplayed => "An old answer from a device was sent again. Nothing was signed.",
            SadWrongRequest => "Your device answered a different request. Nothing was signed.",
            ChallengeExpired => "Time ran out before both your browser and your device confirmed. Nothing was signed.",
            DeviceUnknown => "The device is not paired with your account.",
            DeviceRevoked => "The device was revoked.",
            DeviceRejected => "You rejected this request on your device. Nothing was signed.",
            RequestNotPending => "This request is already finished.",
            RequestNotFound => "There is no such request.",
            UnsafeDocument => "The document contains characters that could be shown differently from what is signed.",
            DocumentInvalid => "The document is not valid.",
            UnsupportedMediaType => "This kind of document cannot be signed here.",
            TotpInvalid => "The code from your authenticator app is wrong or has expired.",
            TotpReplayed => "This code was used already. Wait for the next code of your authenticator app.",
            RateLimited => "Too many attempts. Wait a little and try again.",
            AccountLockedNotMe => {
                "Signing is locked because your device answered \"not me\". Log in again to unlock it."
            }
            Unauthenticated => "Please log in.",
            LoginFailed => "Unknown user name or wrong password.",
            CsrfInvalid => "The form has expired. Reload the page and try again.",
            PairingCodeInvalid => "The pairing code is unknown, used or expired.",
            ActivationRequired => {
                "Your first device needs the activation code you received by letter or in your bank's app."
            }
            ActivationCodeInvalid => "The activation code is wrong, used or expired. Ask for a new one.",
            PairingPending => "Approve this device on one of your other devices first.",
            PairingAnswerInvalid => "The answer to the pairing request could not be verified. Nothing changed.",
            LimitReached => "You have reached the limit for devices or pairing codes. Remove one first.",
            RpNameConfusable => "That name is, or looks like, the name of another relying party.",
            StepUpRequired => "Enter your password and a new authenticator code again to change your devices.",
            BadRequest => "The request was not understood.",
            PayloadTooLarge => "The document is too large.",
            UnsupportedContentType => "Upload a plain-text letter (.txt, UTF-8).",
            NotFound => "There is no such page.",
            SigningInterrupted => "The server stopped while signing. Nothing was released; please start again.",
            RequestCancelled => "The sender withdrew this request. Nothing was signed.",
            ApiKeyInvalid => "The API key is unknown.",
            AdminTokenInvalid => "The operator token is wrong.",
            MediaTypeNotAllowed => "This sender may not ask for this kind of document.",
            IdempotencyKeyReused => "This Idempotency-Key belongs to a different request.",
            UserUnknown => "There is no such user.",
            CredentialUnknown => "There is no such signing credential.",
            HashNotAuthorized => "This hash was not confirmed on both channels, or it was signed already.",
            CscSadInvalid => "The signing authorization is unknown or used up.",
            CscSadExpired => "The signing authorization has expired. Nothing more can be signed with it.",
            OAuthClientInvalid => {
                "The signing application is unknown here, or sent you to an address it did not register."
            }
            OAuthGrantInvalid => "The authorization code is unknown, used up or expired.",
            OAuthGrantTypeUnsupported => "Only the authorization code grant is offered.",
            OAuthScopeInvalid => "The signing application asked for a kind of access that does not exist.",
            CscTokenExpired => "The access token has expired; log in again.",
            TimestampUnavailable => "The time-stamping service did not answer, so nothing was signed. Try again later.",
            CredentialRevoked => "This signing certificate has been revoked. Nothing can be signed with it.",
            CredentialSuspended => "This signing certificate is suspended. Ask the service to resume it.",
            CredentialExpired => "This signing certificate has expired. Ask the service to renew it.",
            InternalError => "Something went wrong on our side. Nothing was signed.",
            Unknown => "Something went wrong. Nothing was signed.",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The body of every error answer, over HTTP and over the device socket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: ErrorCode,
    pub error_description: String,
}

impl ErrorBody {
    pub fn new(error: ErrorCode, description: impl Into<String>) -> Self {
        ErrorBody { error, error_description: description.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_through_their_strings() {
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(code.as_str()), Some(*code));
            let json = serde_json::to_string(code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            let s = code.as_str();
            assert!(s.chars().all(|c| c.is_ascii_uppercase() || c == '_'), "{s}");
        }
        assert_eq!(ErrorCode::parse("hash_mismatch"), None);
        let newer: ErrorCode = serde_json::from_str(r#""SOME_FUTURE_CODE""#).unwrap();
        assert_eq!(newer, ErrorCode::Unknown, "an older device survives a newer server");
        for code in ErrorCode::ALL {
            assert!(code.plain_words().ends_with('.'), "{code}");
        }
    }

    #[test]
    fn error_body_has_the_documented_shape() {
        let body = ErrorBody::new(ErrorCode::HashMismatch, "differs");
        assert_eq!(serde_json::to_string(&body).unwrap(), r#"{"error":"HASH_MISMATCH","error_description":"differs"}"#);
    }
}
