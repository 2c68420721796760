//! The server's one error type. The HTTP mapping lives in `http::errors`.

use wysiwys_proto::ErrorCode;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A refusal with a stable code the client sees.
    #[error("{code}: {detail}")]
    Refused { code: ErrorCode, detail: String },
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("HSM: {0}")]
    Hsm(#[from] crate::hsm::HsmError),
    #[error("internal: {0}")]
    Internal(String),
}

/// All a client learns of an internal failure; the detail goes to the log.
pub const INTERNAL_DESCRIPTION: &str = "internal error; see the server log";

/// The description a client may read for a stored outcome: an internal
/// failure's detail names the server's inside (stored rows, keys), so it
/// stays in the database and the log.
pub fn public_detail(code: ErrorCode, detail: &str) -> &str {
    if code == ErrorCode::InternalError { INTERNAL_DESCRIPTION } else { detail }
}

impl Error {
    /// A refusal the client reads; with `INTERNAL_ERROR` it is an internal
    /// failure instead, whose detail the client never sees.
    pub fn refused(code: ErrorCode, detail: impl Into<String>) -> Self {
        match code {
            ErrorCode::InternalError => Error::Internal(detail.into()),
            code => Error::Refused { code, detail: detail.into() },
        }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Refused { code, .. } => *code,
            _ => ErrorCode::InternalError,
        }
    }

    /// What the client may read: the detail of a refusal, never the inside
    /// of an internal failure (that goes to the log only).
    pub fn public_description(&self) -> String {
        match self {
            Error::Refused { detail, .. } => detail.clone(),
            _ => INTERNAL_DESCRIPTION.to_owned(),
        }
    }
}

impl From<wysiwys_proto::summary::RenderError> for Error {
    fn from(e: wysiwys_proto::summary::RenderError) -> Self {
        Error::refused(e.code, e.detail)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_internal_failure_never_shows_its_detail() {
        let e = Error::refused(ErrorCode::InternalError, "stored device key of dev-1 is unusable");
        assert_eq!((e.code(), e.public_description()), (ErrorCode::InternalError, INTERNAL_DESCRIPTION.to_owned()));
        assert_eq!(public_detail(ErrorCode::InternalError, "stored manifest differs"), INTERNAL_DESCRIPTION);
        let refusal = Error::refused(ErrorCode::HashMismatch, "the web channel confirmed another document");
        assert_eq!(refusal.public_description(), "the web channel confirmed another document");
        assert_eq!(public_detail(ErrorCode::HashMismatch, "kept"), "kept");
    }
}
