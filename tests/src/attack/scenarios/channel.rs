//! Attacks between the channels: a device that approves something else,
//! pushes forged on their way to the device, a replayed device log-in, and
//! a device that reconnects without end.

use super::{Shown, edit_payload, refusal};
use crate::attack::Lab;
use crate::attack::lab::{LETTER, SOCKETS_PER_DEVICE, api, rand_bytes};
use crate::attack::{Observation, Played};
use crate::device::replay_authentication;
use p256::ecdsa::SigningKey;
use wysiwys_confirm::channel::{Push, check_push};
use wysiwys_proto::api::RequestState;
use wysiwys_proto::challenge::CHALLENGE_TYP;
use wysiwys_proto::sad::{self, Decision};
use wysiwys_proto::{b64, jws};

pub fn channels_disagree(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let mut s = Shown::new(lab, true).await?;
        let mut claims = s.push.sad_claims(Decision::Approve, 1_000_000, crate::system_now_s());
        claims.sum = b64::encode(wysiwys_proto::jcs::sha256(b"{\"title\":\"Pay 9,999 EUR to the attacker\"}"));
        let approval = sad::build(&s.device.key, &claims).expect("SAD");
        let answer = s.answer(&approval).await;
        let mut o = Observation::new(refusal(&answer));
        o.signature_produced = s.signed().await?;
        Ok(o)
    })
}

fn forged_code(push: &Push) -> Option<wysiwys_proto::ErrorCode> {
    match push {
        Push::Forged { code, .. } => Some(*code),
        Push::Genuine(_) | Push::Pairing(_) => None,
    }
}

pub fn forged_push(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let v = lab.victim().await?;
        let mut device = v.device.connect().await?;
        let r = v.user.letter(LETTER).await?;
        let genuine = device.next_push_token().await;
        // What the device app does with every push: `check_push`.
        let mut o = Observation::new(None);
        o.require("the genuine push is shown", matches!(check_push(&v.device.account, &genuine), Push::Genuine(_)));
        let altered = edit_payload(&genuine, |claims| claims["summary"]["title"] = "Parking permit: refused".into());
        o.observed = forged_code(&check_push(&v.device.account, &altered));
        // The attacker's own server key, in the name of the real server.
        let attacker_key = SigningKey::from_bytes(&rand_bytes::<32>().into()).expect("key");
        let mut claims: serde_json::Value =
            serde_json::from_slice(&b64::decode(genuine.split('.').nth(1).unwrap_or_default()).unwrap_or_default())?;
        claims["summary"]["title"] = "Parking permit: refused".into();
        let kid = jws::parse(&genuine, CHALLENGE_TYP, usize::MAX).map(|p| p.header.kid).unwrap_or_default();
        let impostor = jws::sign(&attacker_key, CHALLENGE_TYP, &kid, &claims).expect("JWS");
        o.require(
            "a push signed with another key is refused",
            forged_code(&check_push(&v.device.account, &impostor)).is_some(),
        );
        let view = v.user.browser.request(&r.id).await.map_err(api)?;
        o.require("nothing was answered", view.state == RequestState::Pending && view.device_confirmed_at.is_none());
        o.signature_produced = v.user.signed(&r.id).await?;
        Ok(o)
    })
}

pub fn device_auth_replay(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let v = lab.victim().await?;
        let r = v.user.letter(LETTER).await?;
        let recorded = v.device.connect().await?.auth_message;
        let replayed = replay_authentication(&lab.origin, &recorded, lab.tls()).await;
        let o = Observation {
            observed: replayed.err().map(|e| e.error),
            signature_produced: v.user.signed(&r.id).await?,
            problems: Vec::new(),
        };
        Ok(o)
    })
}

/// Times the device reconnects in the loop; each would cost an HSM
/// signature if pushes were signed per connection.
const RECONNECTS: usize = 12;

pub fn reconnect_loop(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let v = lab.victim().await?;
        let r = v.user.letter(LETTER).await?;
        let mut pushes = std::collections::BTreeSet::new();
        for _ in 0..RECONNECTS {
            let mut device = v.device.connect().await?;
            pushes.extend(device.pushed_on_connect().await);
            device.close().await;
        }
        // Then it keeps every socket open, asking for one more each time.
        let mut held = Vec::new();
        let mut refused = None;
        while refused.is_none() && held.len() <= 16 * SOCKETS_PER_DEVICE {
            match v.device.open(v.device.key.clone()).await {
                Ok(socket) => held.push(socket),
                Err(e) => refused = Some(e.error),
            }
        }
        let mut o = Observation::new(refused);
        // ECDSA in the HSM signs with a fresh nonce: equal bytes mean signed once.
        o.require(
            &format!("{RECONNECTS} reconnects were sent {} differently signed pushes, not one", pushes.len()),
            pushes.len() == 1,
        );
        o.require(
            &format!("the device held {} sockets at once, more than {SOCKETS_PER_DEVICE}", held.len()),
            held.len() <= SOCKETS_PER_DEVICE,
        );
        o.signature_produced = v.user.signed(&r.id).await?;
        Ok(o)
    })
}
