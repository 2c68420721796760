//! The one mapping from errors to HTTP answers.

use crate::error::Error;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use wysiwys_proto::{ErrorBody, ErrorCode};

pub fn status_for(code: ErrorCode) -> StatusCode {
    use ErrorCode::*;
    match code {
        BadRequest | DocumentInvalid | OAuthGrantInvalid | OAuthGrantTypeUnsupported | OAuthScopeInvalid => {
            StatusCode::BAD_REQUEST
        }
        Unauthenticated | LoginFailed | TotpInvalid | TotpReplayed | ApiKeyInvalid | AdminTokenInvalid => {
            StatusCode::UNAUTHORIZED
        }
        CsrfInvalid
        | StepUpRequired
        | AccountLockedNotMe
        | DeviceRevoked
        | DeviceUnknown
        | MediaTypeNotAllowed
        | ActivationRequired
        | ActivationCodeInvalid
        | PairingPending
        | CredentialRevoked
        | CredentialSuspended
        | CredentialExpired => StatusCode::FORBIDDEN,
        NotFound | RequestNotFound | UserUnknown | CredentialUnknown => StatusCode::NOT_FOUND,
        OAuthClientInvalid | CscTokenExpired => StatusCode::UNAUTHORIZED,
        RequestNotPending | SadReplayed | PairingCodeInvalid | RequestCancelled | LimitReached | RpNameConfusable => {
            StatusCode::CONFLICT
        }
        ChallengeExpired | CscSadExpired => StatusCode::GONE,
        PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        UnsupportedContentType | UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        HashMismatch | SummaryMismatch | SadInvalid | SadWrongRequest | UnsafeDocument | DeviceRejected
        | IdempotencyKeyReused | PairingAnswerInvalid | HashNotAuthorized | CscSadInvalid => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        RateLimited => StatusCode::TOO_MANY_REQUESTS,
        TimestampUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        // SIGNING_INTERRUPTED, INTERNAL_ERROR, and UNKNOWN (a client-side reading only).
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        status_for(self.code())
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Error::Refused { code, detail } => tracing::info!(%code, detail, "refused"),
            // Debug prints the whole chain; the client gets an opaque text.
            other => tracing::error!(error = ?other, "internal error"),
        }
        HttpResponse::build(self.status_code())
            .insert_header(("cache-control", "no-store"))
            .json(ErrorBody::new(self.code(), self.public_description()))
    }
}

/// An error on an HTML page: a redirect to the log-in page, or an error
/// page with the same status the API would answer and the code in plain words.
#[derive(Debug)]
pub enum PageError {
    LogInFirst,
    Failed(Error),
}

impl From<Error> for PageError {
    fn from(e: Error) -> Self {
        match e.code() {
            ErrorCode::Unauthenticated => PageError::LogInFirst,
            _ => PageError::Failed(e),
        }
    }
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PageError::LogInFirst => f.write_str("log in first"),
            PageError::Failed(e) => e.fmt(f),
        }
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            PageError::LogInFirst => StatusCode::SEE_OTHER,
            PageError::Failed(e) => e.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        let e = match self {
            PageError::LogInFirst => return HttpResponse::SeeOther().insert_header(("location", "/login")).finish(),
            PageError::Failed(e) => e,
        };
        match e {
            Error::Refused { code, detail } => tracing::info!(%code, detail, "page refused"),
            other => tracing::error!(error = ?other, "internal error on a page"),
        }
        let page = wysiwys_web::ErrorPage {
            nav: None,
            status: self.status_code().as_u16(),
            code: e.code().as_str(),
            message: e.code().plain_words(),
        };
        let body = wysiwys_web::Template::render(&page).unwrap_or_else(|_| e.code().plain_words().to_owned());
        HttpResponse::build(self.status_code())
            .insert_header(("cache-control", "no-store"))
            .content_type("text/html; charset=utf-8")
            .body(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;

    #[test]
    fn important_codes_have_their_status() {
        assert_eq!(status_for(ErrorCode::HashMismatch), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(status_for(ErrorCode::Unauthenticated), StatusCode::UNAUTHORIZED);
        assert_eq!(status_for(ErrorCode::CsrfInvalid), StatusCode::FORBIDDEN);
        assert_eq!(status_for(ErrorCode::RequestNotPending), StatusCode::CONFLICT);
        assert_eq!(status_for(ErrorCode::RateLimited), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(status_for(ErrorCode::PayloadTooLarge), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(status_for(ErrorCode::UnsafeDocument), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(status_for(ErrorCode::ApiKeyInvalid), StatusCode::UNAUTHORIZED);
        assert_eq!(status_for(ErrorCode::MediaTypeNotAllowed), StatusCode::FORBIDDEN);
        assert_eq!(status_for(ErrorCode::StepUpRequired), StatusCode::FORBIDDEN);
        assert_eq!(status_for(ErrorCode::IdempotencyKeyReused), StatusCode::UNPROCESSABLE_ENTITY);
    }

    #[test]
    fn pages_redirect_to_log_in_and_show_plain_words() {
        let login = PageError::from(Error::refused(ErrorCode::Unauthenticated, "x")).error_response();
        assert_eq!(login.status(), StatusCode::SEE_OTHER);
        assert_eq!(login.headers().get("location").unwrap(), "/login");
        let page = PageError::from(Error::refused(ErrorCode::CsrfInvalid, "x")).error_response();
        assert_eq!(page.status(), StatusCode::FORBIDDEN);
        let body = String::from_utf8(page.into_body().try_into_bytes().unwrap().to_vec()).unwrap();
        assert!(body.contains("CSRF_INVALID") && body.contains("Reload the page"), "{body}");
    }

    #[test]
    fn internal_errors_do_not_leak_their_cause() {
        let e = Error::Internal("secret path /var/lib/x".into());
        let body = e.error_response().into_body().try_into_bytes().unwrap();
        let parsed: ErrorBody = serde_json::from_slice(&body).unwrap();
        assert_eq!(parsed.error, ErrorCode::InternalError);
        assert!(!parsed.error_description.contains("secret"));
    }
}
