//! The service endpoints anyone may call: `/readyz` asks the database and
//! the HSM on every probe, so a flood must hit the per-address limit, and
//! no answer may tell a stranger more than which part is down.

use crate::attack::{Lab, Observation, Played};
use wysiwys_proto::ErrorCode;

pub fn readiness_flood(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let client = lab.client();
        let url = format!("{}/readyz", lab.origin);
        let mut answers = Vec::new();
        let mut refused = None;
        for _ in 0..300 {
            let answer = client.get(&url).send().await?;
            if answer.status() == 429 {
                refused = Some(answer.json::<wysiwys_proto::ErrorBody>().await?.error);
                break;
            }
            anyhow::ensure!(matches!(answer.status().as_u16(), 200 | 503), "{url} answered {}", answer.status());
            answers.push(answer.json::<serde_json::Value>().await?);
        }
        let mut o = Observation::new(refused);
        o.require("the flood was cut off within 300 probes", refused == Some(ErrorCode::RateLimited));
        o.require("probes were answered before the limit", !answers.is_empty());
        // Exactly the four members, each part a bare state: no error text,
        // no paths, no versions.
        let states = ["ok", "failed", "timed_out", "behind", "not_checked"];
        let bare = answers.iter().all(|a| {
            a.as_object().is_some_and(|members| {
                members.len() == 4
                    && members.get("ready").is_some_and(serde_json::Value::is_boolean)
                    && ["database", "migrations", "hsm"]
                        .iter()
                        .all(|part| members.get(*part).and_then(|v| v.as_str()).is_some_and(|s| states.contains(&s)))
            })
        });
        o.require("each answer names the parts' states and nothing else", bare);
        Ok(o)
    })
}
