//! The one mapping from errors to HTTP answers.

use crate::error::Error;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use wysiwys_proto::{ErrorBody, ErrorCode};

pub fn status_for(code: ErrorCode) -> StatusCode {
    use ErrorCode::*;
    match code {
        BadRequest | DocumentInvalid => StatusCode::BAD_REQUEST,
        Unauthenticated | LoginFailed | TotpInvalid | TotpReplayed => StatusCode::UNAUTHORIZED,
        CsrfInvalid | AccountLockedNotMe | DeviceRevoked | DeviceUnknown => StatusCode::FORBIDDEN,
        NotFound | RequestNotFound => StatusCode::NOT_FOUND,
        RequestNotPending | SadReplayed | PairingCodeInvalid => StatusCode::CONFLICT,
        ChallengeExpired => StatusCode::GONE,
        PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        UnsupportedContentType | UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        HashMismatch | SummaryMismatch | SadInvalid | SadWrongRequest | UnsafeDocument | DeviceRejected => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        RateLimited => StatusCode::TOO_MANY_REQUESTS,
        SigningInterrupted | InternalError => StatusCode::INTERNAL_SERVER_ERROR,
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
