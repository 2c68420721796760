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

impl Error {
    pub fn refused(code: ErrorCode, detail: impl Into<String>) -> Self {
        Error::Refused { code, detail: detail.into() }
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
            _ => "internal error; see the server log".to_owned(),
        }
    }
}

impl From<wysiwys_proto::summary::RenderError> for Error {
    fn from(e: wysiwys_proto::summary::RenderError) -> Self {
        Error::refused(e.code, e.detail)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
