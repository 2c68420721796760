//! The CSC API's error answers: `{"error", "error_description"}` with the
//! spec's codes and statuses, plus our stable code in `wysiwys_error`.

use crate::error::Error;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use wysiwys_proto::ErrorCode;
use wysiwys_proto::csc::CscErrorBody;

#[derive(Debug)]
pub enum CscError {
    Failed(Error),
    NotImplemented(String),
}

impl CscError {
    pub fn not_implemented(path: &str) -> CscError {
        CscError::NotImplemented(path.to_owned())
    }
}

impl From<Error> for CscError {
    fn from(e: Error) -> Self {
        CscError::Failed(e)
    }
}

impl std::fmt::Display for CscError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CscError::Failed(e) => e.fmt(f),
            CscError::NotImplemented(path) => write!(f, "not implemented: {path}"),
        }
    }
}

/// The spec's status and `error` for one of our codes. The person's
/// answers and the channels' refusals are all "the user or the service
/// denied the request".
fn spec_error(code: ErrorCode) -> (StatusCode, &'static str) {
    use ErrorCode::*;
    match code {
        ApiKeyInvalid | Unauthenticated => (StatusCode::UNAUTHORIZED, "invalid_token"),
        CscTokenExpired => (StatusCode::UNAUTHORIZED, "expired_token"),
        OAuthClientInvalid => (StatusCode::UNAUTHORIZED, "invalid_client"),
        OAuthGrantInvalid => (StatusCode::BAD_REQUEST, "invalid_grant"),
        OAuthGrantTypeUnsupported => (StatusCode::BAD_REQUEST, "unsupported_grant_type"),
        OAuthScopeInvalid => (StatusCode::BAD_REQUEST, "invalid_scope"),
        DeviceRejected | AccountLockedNotMe | ChallengeExpired | RequestCancelled | HashMismatch | SummaryMismatch
        | SadInvalid | SadReplayed | SadWrongRequest | DeviceRevoked | DeviceUnknown | PairingPending
        | SigningInterrupted => (StatusCode::BAD_REQUEST, "access_denied"),
        RateLimited => (StatusCode::TOO_MANY_REQUESTS, "temporarily_unavailable"),
        TimestampUnavailable => (StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable"),
        InternalError | Unknown => (StatusCode::INTERNAL_SERVER_ERROR, "server_error"),
        _ => (StatusCode::BAD_REQUEST, "invalid_request"),
    }
}

impl ResponseError for CscError {
    fn status_code(&self) -> StatusCode {
        match self {
            CscError::Failed(e) => spec_error(e.code()).0,
            CscError::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let body = match self {
            CscError::Failed(e) => {
                match e {
                    Error::Refused { code, detail } => tracing::info!(%code, detail, "CSC call refused"),
                    other => tracing::error!(error = ?other, "CSC call failed"),
                }
                CscErrorBody {
                    error: spec_error(e.code()).1.to_owned(),
                    error_description: e.public_description(),
                    wysiwys_error: Some(e.code()),
                }
            }
            CscError::NotImplemented(path) => {
                tracing::info!(path, "CSC method not implemented");
                CscErrorBody {
                    error: "invalid_request".to_owned(),
                    error_description: format!("{path} is not implemented; see info.methods"),
                    wysiwys_error: Some(ErrorCode::NotFound),
                }
            }
        };
        HttpResponse::build(self.status_code()).insert_header(("cache-control", "no-store")).json(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_the_specs_form() {
        for code in ErrorCode::ALL {
            let (status, error) = spec_error(*code);
            assert!(
                [
                    "invalid_request",
                    "invalid_token",
                    "expired_token",
                    "access_denied",
                    "temporarily_unavailable",
                    "server_error",
                    "invalid_client",
                    "invalid_grant",
                    "unsupported_grant_type",
                    "invalid_scope",
                ]
                .contains(&error),
                "{code}"
            );
            let unauthorized = ["invalid_token", "expired_token", "invalid_client"].contains(&error);
            assert_eq!(status == StatusCode::UNAUTHORIZED, unauthorized, "{code}");
        }
        assert_eq!(spec_error(ErrorCode::HashNotAuthorized), (StatusCode::BAD_REQUEST, "invalid_request"));
        assert_eq!(spec_error(ErrorCode::DeviceRejected), (StatusCode::BAD_REQUEST, "access_denied"));
        assert_eq!(spec_error(ErrorCode::OAuthGrantInvalid), (StatusCode::BAD_REQUEST, "invalid_grant"));
        assert_eq!(spec_error(ErrorCode::OAuthClientInvalid), (StatusCode::UNAUTHORIZED, "invalid_client"));
    }
}
