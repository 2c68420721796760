//! Attacks on the Signature Activation Data: replayed, altered, forged,
//! late, racing, or from a device that may not answer.

use super::{Shown, edit_payload, push_for, refusal};
use crate::attack::Lab;
use crate::attack::lab::{LETTER, api, code_of, rp_letter};
use crate::attack::{Observation, Played};
use std::time::Duration;
use wysiwys_proto::api::{AckOutcome, RequestState};
use wysiwys_proto::sad::{self, Decision, SAD_TYP};
use wysiwys_proto::{ErrorCode, b64};

pub fn replay_same_request(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let mut s = Shown::new(lab, false).await?;
        let sad = s.sad(Decision::Approve);
        let first = s.answer(&sad).await;
        // The same claims under the other valid ECDSA signature (s -> n - s):
        // other bytes, so not a resend; the same signed claims, so a replay.
        let replayed = s.answer(&malleated(&sad)?).await;
        let mut o = Observation::new(refusal(&replayed));
        o.require("the first, genuine SAD was accepted", refusal(&first).is_none());
        // The device's own resend after a lost ack: the same answer again.
        let resent = s.answer(&sad).await;
        o.require("the identical resend is answered as the first", resent == first);
        s.victim.user.browser.confirm_as_displayed(&s.request.id).await.map_err(api)?;
        o.require("the replay left the request to its genuine answer", s.signed().await?);
        o.signature_produced = s.victim.user.signatures_made(&s.request.id).await? != 1;
        Ok(o)
    })
}

/// `token` with its ECDSA signature (r, s) turned into (r, n - s), which
/// verifies over the same signing input.
fn malleated(token: &str) -> anyhow::Result<String> {
    let (signed, signature) = token.rsplit_once('.').ok_or_else(|| anyhow::anyhow!("not a JWS"))?;
    let raw = b64::decode(signature).ok_or_else(|| anyhow::anyhow!("signature is not base64url"))?;
    let (r, s) = p256::ecdsa::Signature::from_slice(&raw)?.split_scalars();
    let flipped = p256::ecdsa::Signature::from_scalars(r.to_bytes(), (-s).to_bytes())?;
    Ok(format!("{signed}.{}", b64::encode(flipped.to_bytes())))
}

pub fn replay_other_request(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let (mut s, recorded) = Shown::sign(lab).await?;
        let user = &s.victim.user;
        let target = user.letter(LETTER).await?;
        user.browser.confirm_as_displayed(&target.id).await.map_err(api)?;
        let answer = s.device.submit(&target.id, &recorded).await;
        let mut o = Observation::new(refusal(&answer));
        o.require("the recorded request was signed once", user.signatures_made(&s.request.id).await? == 1);
        o.signature_produced = user.signed(&target.id).await?;
        Ok(o)
    })
}

/// Web-confirmed, shown on the device; `forge` turns the genuine approval
/// (or its claims) into the attacker's answer.
async fn answer_with(lab: &Lab, forge: impl FnOnce(&mut Shown) -> String) -> anyhow::Result<Observation> {
    let mut s = Shown::new(lab, true).await?;
    let token = forge(&mut s);
    let answer = s.answer(&token).await;
    let mut o = Observation::new(refusal(&answer));
    o.signature_produced = s.signed().await?;
    Ok(o)
}

pub fn modified_claim(lab: &Lab) -> Played<'_> {
    Box::pin(answer_with(lab, |s| {
        let genuine = s.sad(Decision::Approve);
        let other = b64::encode(wysiwys_proto::jcs::sha256(b"another document"));
        edit_payload(&genuine, |claims| claims["doc"] = other.into())
    }))
}

pub fn alg_none(lab: &Lab) -> Played<'_> {
    Box::pin(answer_with(lab, |s| {
        let claims = s.push.sad_claims(Decision::Approve, 1_000_000, crate::system_now_s());
        let header = serde_json::json!({ "alg": "none", "typ": SAD_TYP, "kid": claims.iss });
        format!(
            "{}.{}.",
            b64::encode(serde_json::to_vec(&header).expect("JSON")),
            b64::encode(serde_json::to_vec(&claims).expect("JSON"))
        )
    }))
}

pub fn malformed(lab: &Lab) -> Played<'_> {
    Box::pin(answer_with(lab, |s| {
        let genuine = s.sad(Decision::Approve);
        genuine[..genuine.len() - 12].to_owned()
    }))
}

pub fn other_device(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let mut s = Shown::new(lab, true).await?;
        let second = lab.pair_approved(&s.victim.user, &s.victim.device).await?;
        // Claims of the first device's push, signed with the second device's key.
        let claims = s.push.sad_claims(Decision::Approve, 1_000_000, crate::system_now_s());
        let forged = sad::build(&second.key, &claims).expect("SAD");
        let mut attacker = second.connect().await?;
        let answer = attacker.submit(&s.request.id, &forged).await;
        let mut o = Observation::new(refusal(&answer));
        let genuine = s.sad(Decision::Approve);
        o.require("the first device can no longer answer either", refusal(&s.answer(&genuine).await).is_some());
        o.signature_produced = s.signed().await?;
        Ok(o)
    })
}

pub fn revoked_device(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let mut s = Shown::new(lab, true).await?;
        let device = &s.victim.device;
        lab.step_up(&s.victim.user).await?;
        s.victim.user.browser.revoke(&device.account.device_id).await.map_err(api)?;
        let dropped = s.device.receive().await;
        let clone = device.open(device.key.clone()).await;
        let mut o = Observation::new(clone.as_ref().err().map(|e| e.error));
        o.expect("the open socket of the revoked device", dropped.err().map(|e| e.error), ErrorCode::DeviceRevoked);
        if let Ok(mut clone) = clone {
            let sad = clone.sad(&s.push, Decision::Approve);
            clone.submit(&s.request.id, &sad).await;
        }
        o.signature_produced = s.signed().await?;
        Ok(o)
    })
}

/// The shortest time to confirm a relying party may ask for.
const SHORT_EXPIRY_S: u32 = wysiwys_proto::rp::MIN_EXPIRES_IN_S;

pub fn after_expiry(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let v = lab.victim().await?;
        let bank = lab.relying_party().await?;
        let mut body = rp_letter(&v.user.credentials.username, LETTER);
        body["expires_in_s"] = SHORT_EXPIRY_S.into();
        let r = bank.create(&body, None).await.map_err(api)?;
        v.user.browser.confirm_as_displayed(&r.id).await.map_err(api)?;
        let mut device = v.device.connect().await?;
        let shown = push_for(&mut device, &r.id).await;
        let held = device.sad(&shown, Decision::Approve);
        // Delivered once the challenge (and the SAD's own `exp`) has passed.
        let wait_s = (shown.claims.exp - crate::system_now_s()).max(0) + 2;
        tokio::time::sleep(Duration::from_secs(u64::try_from(wait_s).unwrap_or(0))).await;
        let answer = device.submit(&r.id, &held).await;
        let mut o = Observation::new(refusal(&answer));
        o.signature_produced = v.user.signed(&r.id).await?;
        Ok(o)
    })
}

pub fn race(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let v = lab.victim().await?;
        let second = lab.pair_approved(&v.user, &v.device).await?;
        let r = v.user.letter(LETTER).await?;
        v.user.browser.confirm_as_displayed(&r.id).await.map_err(api)?;
        let mut one = v.device.connect().await?;
        let mut two = second.connect().await?;
        let shown_one = push_for(&mut one, &r.id).await;
        let shown_two = push_for(&mut two, &r.id).await;
        let (sad_one, sad_two) = (one.sad(&shown_one, Decision::Approve), two.sad(&shown_two, Decision::Approve));
        let (a, b) = tokio::join!(one.submit(&r.id, &sad_one), two.submit(&r.id, &sad_two));
        let accepted = [&a, &b].iter().filter(|o| matches!(o, AckOutcome::Accepted { .. })).count();
        let loser = [&a, &b].into_iter().find_map(refusal);
        let mut o = Observation::new(loser);
        o.require("exactly one of the two approvals was accepted", accepted == 1);
        // The loser finds the winner's answer recorded (SAD_REPLAYED) or the
        // request moved on (REQUEST_NOT_PENDING); either way the winner's
        // "accepted" holds: the request is signed with its answer, once.
        let view = v.user.browser.wait_until_settled(&r.id).await;
        o.require("the request is signed with the accepted answer", view.state == RequestState::Signed);
        o.signature_produced = v.user.signatures_made(&r.id).await? != 1;
        Ok(o)
    })
}

pub fn double_signature(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let (mut s, _) = Shown::sign(lab).await?;
        let browser = &s.victim.user.browser;
        let signature = browser.signature(&s.request.id).await.map_err(api)?;
        let again = browser.confirm_as_displayed(&s.request.id).await;
        let mut o = Observation::new(code_of(&again));
        let fresh = s.sad(Decision::Approve);
        o.expect("a fresh SAD for the signed request", refusal(&s.answer(&fresh).await), ErrorCode::RequestNotPending);
        let after = s.victim.user.browser.signature(&s.request.id).await.map_err(api)?;
        o.signature_produced = after != signature || s.victim.user.signatures_made(&s.request.id).await? != 1;
        Ok(o)
    })
}
