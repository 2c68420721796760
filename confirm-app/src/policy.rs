//! `auto --policy <file>`: answers requests without a person, by rules.
//! For scripts and tests; a person should use `listen`.

use serde::Deserialize;
use wysiwys_proto::challenge::VerifiedChallenge;
use wysiwys_proto::sad::Decision;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Approve,
    Reject,
    NotMe,
    /// Leave the request unanswered.
    Ignore,
}

impl Action {
    pub fn decision(self) -> Option<Decision> {
        match self {
            Action::Approve => Some(Decision::Approve),
            Action::Reject => Some(Decision::Reject),
            Action::NotMe => Some(Decision::NotMe),
            Action::Ignore => None,
        }
    }
}

/// The first rule whose conditions all hold decides; otherwise `otherwise`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    #[serde(default)]
    pub rules: Vec<Rule>,
    pub otherwise: Action,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// The requester must be exactly this.
    pub requester: Option<String>,
    /// The title must contain this.
    pub title_contains: Option<String>,
    /// The media type of the document must be exactly this.
    pub media_type: Option<String>,
    pub action: Action,
}

impl Policy {
    pub fn parse(text: &str) -> Result<Policy, serde_json::Error> {
        serde_json::from_str(text)
    }

    pub fn decide(&self, shown: &VerifiedChallenge) -> Action {
        let c = &shown.claims;
        self.rules
            .iter()
            .find(|r| {
                r.requester.as_ref().is_none_or(|want| *want == c.rp)
                    && r.title_contains.as_ref().is_none_or(|part| c.summary.title.contains(part.as_str()))
                    && r.media_type.as_ref().is_none_or(|t| *t == c.summary.doc.media_type)
            })
            .map_or(self.otherwise, |r| r.action)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::SigningKey;
    use wysiwys_proto::challenge::{CHALLENGE_TYP, ChallengeClaims, Expectation, verify};
    use wysiwys_proto::{RENDER_VERSION, b64, jws};

    fn shown(title: &str, rp: &str) -> VerifiedChallenge {
        let key = SigningKey::from_slice(&[5u8; 32]).unwrap();
        let summary = wysiwys_proto::summary::render("text/plain", title.as_bytes()).unwrap();
        let claims = ChallengeClaims {
            iss: "o".into(),
            aud: "d".into(),
            sub: "u".into(),
            req: "r".into(),
            cred: "c".into(),
            rp: rp.into(),
            doc: summary.doc.sha256.clone(),
            sum: b64::encode(summary.hash()),
            summary,
            rv: RENDER_VERSION.into(),
            chal: b64::encode([1u8; 32]),
            iat: 1,
            exp: i64::MAX / 2,
        };
        let token = jws::sign(&key, CHALLENGE_TYP, "k", &claims).unwrap();
        verify(&token, Expectation { server_origin: "o", device_id: "d", channel_key: key.verifying_key(), now: 2 })
            .unwrap()
    }

    #[test]
    fn first_matching_rule_wins() {
        let policy = Policy::parse(
            r#"{"rules":[{"title_contains":"Invoice","requester":"bank","action":"approve"},
                         {"title_contains":"Invoice","action":"not_me"}],
                "otherwise":"reject"}"#,
        )
        .unwrap();
        assert_eq!(policy.decide(&shown("Invoice 42", "bank")), Action::Approve);
        assert_eq!(policy.decide(&shown("Invoice 42", "shop")), Action::NotMe);
        assert_eq!(policy.decide(&shown("Letter", "bank")), Action::Reject);
        assert!(Policy::parse(r#"{"otherwise":"approve","extra":1}"#).is_err());
        assert_eq!(Action::Ignore.decision(), None);
    }
}
