//! How a device came to be trusted, stored with it (`devices.enrolment`) so
//! that the chain from an account's first device to the one that signs can
//! be re-checked later: each approval token names, and is signed by, the
//! device before it.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use wysiwys_proto::sad::Decision;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Evidence {
    /// The operator's activation code (issued at `code_issued_at`) was typed into the device.
    ActivationCode { code_issued_at: i64 },
    /// Open sign-up: the first device, paired within the window after the
    /// account's TOTP was enrolled.
    EnrolmentWindow { totp_enabled_at: i64 },
    /// Waiting for one of the account's devices.
    AwaitingApproval,
    /// `token` is the `wysiwys-pairing-answer+jwt` of device `approver`.
    ApprovedByDevice { approver: String, token: String },
    /// Refused on device `approver` (reject or not me), with its signed answer.
    RefusedByDevice { approver: String, token: String, decision: Decision },
    /// Paired before evidence was kept (migration 0007).
    BeforeEvidence,
}

impl Evidence {
    pub fn kind(&self) -> &'static str {
        match self {
            Evidence::ActivationCode { .. } => "activation_code",
            Evidence::EnrolmentWindow { .. } => "enrolment_window",
            Evidence::AwaitingApproval => "awaiting_approval",
            Evidence::ApprovedByDevice { .. } => "approved_by_device",
            Evidence::RefusedByDevice { .. } => "refused_by_device",
            Evidence::BeforeEvidence => "before_evidence",
        }
    }

    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string(self).map_err(|e| Error::Internal(format!("enrolment evidence: {e}")))
    }

    pub fn parse(json: &str) -> Result<Evidence> {
        serde_json::from_str(json).map_err(|e| Error::Internal(format!("stored enrolment evidence: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_round_trips_and_the_migration_default_parses() {
        let approved = Evidence::ApprovedByDevice { approver: "d1".into(), token: "a.b.c".into() };
        assert_eq!(Evidence::parse(&approved.to_json().unwrap()).unwrap(), approved);
        assert_eq!(Evidence::parse(r#"{"kind":"before_evidence"}"#).unwrap(), Evidence::BeforeEvidence);
        assert!(Evidence::parse(r#"{"kind":"trust_me"}"#).is_err());
    }
}
