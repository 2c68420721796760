//! `GET /readyz`: whether this node can serve a signature now, each part
//! named, so that a load balancer takes it out and an operator sees why.

use serde::{Deserialize, Serialize};

/// The answer of `/readyz` (HTTP 200 when `ready`, 503 otherwise).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Readiness {
    pub ready: bool,
    pub database: Check,
    pub migrations: Check,
    pub hsm: Check,
}

/// One part's state. Details stay in the server's log: the endpoint is
/// unauthenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Check {
    Ok,
    /// The part did not answer, or answered with an error.
    Failed,
    /// It did not answer in time.
    TimedOut,
    /// The database lacks a migration this server needs.
    Behind,
    /// Not checked because a part it depends on failed.
    NotChecked,
    /// A state a newer server reports.
    #[serde(other)]
    Unknown,
}

impl Readiness {
    pub fn of(database: Check, migrations: Check, hsm: Check) -> Readiness {
        let ready = [database, migrations, hsm].iter().all(|c| *c == Check::Ok);
        Readiness { ready, database, migrations, hsm }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_only_when_every_part_is_ok_and_unknown_states_parse() {
        assert!(Readiness::of(Check::Ok, Check::Ok, Check::Ok).ready);
        assert!(!Readiness::of(Check::Ok, Check::Behind, Check::Ok).ready);
        assert!(!Readiness::of(Check::Failed, Check::NotChecked, Check::Ok).ready);
        let newer: Check = serde_json::from_str("\"degraded\"").unwrap();
        assert_eq!(newer, Check::Unknown);
        assert_eq!(serde_json::to_string(&Check::TimedOut).unwrap(), "\"timed_out\"");
    }
}
