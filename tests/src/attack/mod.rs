//! The attack lab: a catalogue of channel attacks that `wysiwys-attack`
//! plays against any wysiwys deployment, and that `cargo test` plays against
//! a real server. Each scenario sets up what it needs through the public
//! interfaces (see `lab`), attacks as the named attacker would, and reports
//! what the server (or the device) answered and whether anything was signed.

pub mod lab;
pub mod pdfs;
mod scenarios;

pub use lab::Lab;

use futures_util::FutureExt;
use serde::Serialize;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::time::{Duration, Instant};
use wysiwys_proto::ErrorCode;

/// Who plays the attack (the rows of docs/THREAT-MODEL.md "Attackers").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Attacker {
    /// Script in the victim's logged-in page.
    ManInTheBrowser,
    /// Records, replays and alters messages on the way.
    Network,
    /// A malicious, cloned or stolen confirmation device.
    Device,
    /// Someone with an account of their own.
    Stranger,
    /// Floods the victim with sign requests.
    PushBomber,
    /// Guesses passwords, codes and pairing codes.
    Guesser,
    /// A relying party reaching beyond what is its own.
    RelyingParty,
    /// Sends what no honest client would.
    BadInput,
}

impl Attacker {
    pub fn as_str(self) -> &'static str {
        match self {
            Attacker::ManInTheBrowser => "man-in-the-browser",
            Attacker::Network => "network",
            Attacker::Device => "device",
            Attacker::Stranger => "stranger",
            Attacker::PushBomber => "push-bomber",
            Attacker::Guesser => "guesser",
            Attacker::RelyingParty => "relying-party",
            Attacker::BadInput => "bad-input",
        }
    }
}

/// What a scenario saw. `observed` is the refusal that stopped the attack
/// (None: the attack was accepted). `signature_produced` is whether the
/// attack got a signature made: any signature of the attacked request, or,
/// where the request was legitimately signed once, a second one.
#[derive(Debug, Clone, Default)]
pub struct Observation {
    pub observed: Option<ErrorCode>,
    pub signature_produced: bool,
    /// Everything else the scenario checked and found wrong.
    pub problems: Vec<String>,
}

impl Observation {
    pub fn new(observed: Option<ErrorCode>) -> Observation {
        Observation { observed, ..Default::default() }
    }

    /// Records a secondary check: `got` must be the refusal `want`.
    pub fn expect(&mut self, what: &str, got: Option<ErrorCode>, want: ErrorCode) {
        if got != Some(want) {
            self.problems.push(format!("{what}: expected {want}, got {}", answer_name(got)));
        }
    }

    /// Records a secondary check that must hold.
    pub fn require(&mut self, what: &str, holds: bool) {
        if !holds {
            self.problems.push(what.to_owned());
        }
    }
}

/// A scenario's attack, boxed so the catalogue can hold them all.
pub type Played<'a> = Pin<Box<dyn Future<Output = anyhow::Result<Observation>> + 'a>>;
type Play = for<'a> fn(&'a Lab) -> Played<'a>;

/// One attack of the catalogue.
#[derive(Clone, Copy)]
pub struct Scenario {
    pub name: &'static str,
    pub attacker: Attacker,
    pub description: &'static str,
    /// The refusal the server (or the device) must answer; several where a
    /// race decides which of two equally safe refusals comes first.
    pub expected: &'static [ErrorCode],
    play: Play,
}

impl std::fmt::Debug for Scenario {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scenario").field("name", &self.name).field("expected", &self.expected).finish()
    }
}

impl Scenario {
    pub fn expected_names(&self) -> Vec<&'static str> {
        self.expected.iter().map(|c| c.as_str()).collect()
    }
}

/// Every scenario, in the order `run` plays them. Guessing scenarios that
/// empty a per-address limit come last, so set-up of the others is not slowed.
pub fn catalogue() -> &'static [Scenario] {
    scenarios::ALL
}

pub fn find(name: &str) -> Option<&'static Scenario> {
    catalogue().iter().find(|s| s.name == name)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Verdict {
    #[serde(rename = "PASS")]
    Pass,
    #[serde(rename = "FAIL")]
    Fail,
}

/// One line of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub scenario: &'static str,
    pub attacker: Attacker,
    pub expected: Vec<&'static str>,
    /// The refusal code seen, `ACCEPTED`, or `ERROR` when the attack could not be played.
    pub observed: String,
    pub signature_produced: bool,
    pub verdict: Verdict,
    /// Why a scenario failed; empty on PASS.
    pub detail: String,
    pub millis: u64,
}

pub fn answer_name(code: Option<ErrorCode>) -> &'static str {
    code.map_or("ACCEPTED", ErrorCode::as_str)
}

/// A scenario that has not finished in this time has failed.
const SCENARIO_TIME_LIMIT: Duration = Duration::from_secs(240);

/// Plays one scenario. Never panics: a set-up failure, a panic or a time-out
/// is a FAIL with its reason.
pub async fn run(lab: &Lab, scenario: &Scenario) -> Report {
    let started = Instant::now();
    let played = tokio::time::timeout(SCENARIO_TIME_LIMIT, AssertUnwindSafe((scenario.play)(lab)).catch_unwind()).await;
    let outcome = match played {
        Ok(Ok(Ok(observation))) => Ok(observation),
        Ok(Ok(Err(e))) => Err(format!("could not play the attack: {e:#}")),
        Ok(Err(panic)) => Err(format!(
            "could not play the attack: {}",
            panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("panic")
        )),
        Err(_) => Err(format!("no result within {} s", SCENARIO_TIME_LIMIT.as_secs())),
    };
    let millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let base = Report {
        scenario: scenario.name,
        attacker: scenario.attacker,
        expected: scenario.expected_names(),
        observed: String::new(),
        signature_produced: false,
        verdict: Verdict::Fail,
        detail: String::new(),
        millis,
    };
    match outcome {
        Err(detail) => Report { observed: "ERROR".into(), detail, ..base },
        Ok(o) => {
            let mut problems = o.problems;
            if !o.observed.is_some_and(|c| scenario.expected.contains(&c)) {
                problems.insert(
                    0,
                    format!("expected {}, got {}", scenario.expected_names().join(" or "), answer_name(o.observed)),
                );
            }
            if o.signature_produced {
                problems.insert(0, "a signature was produced".into());
            }
            let verdict = if problems.is_empty() { Verdict::Pass } else { Verdict::Fail };
            Report {
                observed: answer_name(o.observed).to_owned(),
                signature_produced: o.signature_produced,
                verdict,
                detail: problems.join("; "),
                ..base
            }
        }
    }
}
