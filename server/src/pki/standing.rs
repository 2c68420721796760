//! Whether a certificate may be used to sign now: the decision the SAM
//! asks for before a user key signs, made on the register's typed status.

use crate::store::CertificateRow;
use wysiwys_proto::ErrorCode;

/// CRLReason certificateHold: a suspension, the one reason that can be undone.
pub const REASON_CERTIFICATE_HOLD: i64 = 6;

/// A certificate's standing at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Valid,
    Revoked { at_ms: i64, reason: Option<i64> },
    Suspended { at_ms: i64 },
    Expired,
    NotYetValid,
}

impl CertificateRow {
    pub fn standing(&self, now_ms: i64) -> Standing {
        let at_ms = self.revoked_at.unwrap_or(self.created_at);
        match self.status.as_str() {
            "valid" if now_ms >= self.not_after => Standing::Expired,
            "valid" if now_ms < self.not_before => Standing::NotYetValid,
            "valid" => Standing::Valid,
            "suspended" => Standing::Suspended { at_ms },
            // Anything else is treated as revoked: fail closed.
            _ => Standing::Revoked { at_ms, reason: self.reason },
        }
    }
}

impl Standing {
    /// Why nothing may be signed with it, or `None` when it may.
    pub fn refusal(self) -> Option<(ErrorCode, &'static str)> {
        match self {
            Standing::Valid => None,
            Standing::Revoked { .. } => Some((ErrorCode::CredentialRevoked, "the signing certificate is revoked")),
            Standing::Suspended { .. } => {
                Some((ErrorCode::CredentialSuspended, "the signing certificate is suspended"))
            }
            Standing::Expired | Standing::NotYetValid => {
                Some((ErrorCode::CredentialExpired, "the signing certificate is not within its validity period"))
            }
        }
    }

    /// The CSC `cert/status` word.
    pub fn csc_status(self) -> &'static str {
        match self {
            Standing::Valid => "valid",
            Standing::Revoked { .. } => "revoked",
            Standing::Suspended { .. } => "suspended",
            Standing::Expired | Standing::NotYetValid => "expired",
        }
    }
}
