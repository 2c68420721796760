//! Reaching for what belongs to someone else: another user's requests and
//! signatures, another relying party's requests, made-up API keys.

use super::{Shown, push_for, refusal};
use crate::attack::Lab;
use crate::attack::lab::{LETTER, api, code_of, rand_bytes, rp_letter};
use crate::attack::{Observation, Played};
use crate::relying_party::Bank;
use wysiwys_proto::ErrorCode;
use wysiwys_proto::api::RequestState;
use wysiwys_proto::rp::API_KEY_PREFIX;
use wysiwys_proto::sad::{self, Decision};

pub fn cross_user_request(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let v = lab.victim().await?;
        let r = v.user.letter(LETTER).await?;
        let eve = lab.victim().await?;
        let mut o = Observation::new(code_of(&eve.user.browser.request(&r.id).await));
        for path in ["/document", "/summary", "/events"] {
            let read = eve.user.browser.bytes(&format!("/api/requests/{}{path}", r.id)).await;
            o.expect(&format!("reading {path}"), code_of(&read), ErrorCode::RequestNotFound);
        }
        let confirm = eve.user.browser.confirm(&r.id, &r.doc_hash, &r.summary_hash).await;
        o.expect("confirming it", code_of(&confirm), ErrorCode::RequestNotFound);
        // Eve's own device answers: claims of her own push, pointed at the victim's request.
        let own = eve.user.letter(LETTER).await?;
        let mut device = eve.device.connect().await?;
        let shown = push_for(&mut device, &own.id).await;
        let mut claims = shown.sad_claims(Decision::Approve, 1_000_000, crate::system_now_s());
        claims.req = r.id.clone();
        let answer = device.submit(&r.id, &sad::build(&device.key, &claims).expect("SAD")).await;
        o.expect("her device's answer", refusal(&answer), ErrorCode::RequestNotFound);
        o.require("the victim's request is untouched", v.user.untouched(&r.id).await?);
        o.signature_produced = v.user.signed(&r.id).await?;
        Ok(o)
    })
}

pub fn cross_user_signature(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let (s, _) = Shown::sign(lab).await?;
        let eve = lab.user().await?;
        let mut o = Observation::new(code_of(&eve.browser.signature(&s.request.id).await));
        o.signature_produced = s.victim.user.signatures_made(&s.request.id).await? != 1;
        Ok(o)
    })
}

pub fn rp_foreign_request(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let v = lab.user().await?;
        let owner = lab.relying_party().await?;
        let other = lab.relying_party().await?;
        let r = owner.create(&rp_letter(&v.credentials.username, LETTER), None).await.map_err(api)?;
        let mut o = Observation::new(code_of(&other.get(&r.id).await));
        o.expect("cancelling it", code_of(&other.cancel(&r.id).await), ErrorCode::RequestNotFound);
        o.expect("fetching its signature", code_of(&other.signature(&r.id).await), ErrorCode::RequestNotFound);
        let view = owner.get(&r.id).await.map_err(api)?;
        o.require("the owner's request is still pending", view.state == RequestState::Pending);
        o.signature_produced = v.signed(&r.id).await?;
        Ok(o)
    })
}

pub fn rp_forged_api_key(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let v = lab.user().await?;
        let genuine = lab.relying_party().await?;
        let body = rp_letter(&v.credentials.username, LETTER);
        let made_up = format!("{API_KEY_PREFIX}{}", wysiwys_proto::b64::encode(rand_bytes::<32>()));
        let mut forged = genuine.credentials.clone();
        forged.api_key = made_up;
        let mut o = Observation::new(code_of(
            &Bank::with_client(&lab.origin, forged.clone(), lab.client()).create(&body, None).await,
        ));
        let mut altered = genuine.credentials.clone();
        let last = if altered.api_key.ends_with('A') { 'B' } else { 'A' };
        altered.api_key.pop();
        altered.api_key.push(last);
        let answer = Bank::with_client(&lab.origin, altered, lab.client()).create(&body, None).await;
        o.expect("an altered key", code_of(&answer), ErrorCode::ApiKeyInvalid);
        let anonymous = lab.client().post(format!("{}/api/v1/rp/requests", lab.origin)).json(&body).send().await?;
        let answer = crate::browser::decode::<serde_json::Value>(anonymous).await;
        o.expect("no key at all", code_of(&answer), ErrorCode::ApiKeyInvalid);
        o.require("nothing was created", v.browser.history().await.map_err(api)?.is_empty());
        Ok(o)
    })
}

pub fn rp_media_type_not_allowed(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let v = lab.user().await?;
        // The lab's relying party may ask for letters and payments, not for contracts as PDFs.
        let bank = lab.relying_party().await?;
        let mut body = rp_letter(&v.credentials.username, "%PDF-1.7 a contract");
        body["media_type"] = "application/pdf".into();
        body["display"] = serde_json::json!({ "title": "Loan contract", "lines": [] });
        let mut o = Observation::new(code_of(&bank.create(&body, None).await));
        o.require("nothing was created", v.browser.history().await.map_err(api)?.is_empty());
        Ok(o)
    })
}

/// A rogue party asks the operator for a name its victims' customers will
/// read as a genuine party's: a digit or a capital I for an l, the name
/// capitalised, a Cyrillic letter among Latin ones.
pub fn rp_look_alike_name(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let genuine = lab.name("bank");
        lab.register_relying_party(&genuine).await.map_err(api)?;
        let one_for_l = genuine.replacen('l', "1", 1);
        let mut o = Observation::new(code_of(&lab.register_relying_party(&one_for_l).await));
        let capital_i_for_l = genuine.replacen('l', "I", 1);
        o.expect(
            "a capital I for the l",
            code_of(&lab.register_relying_party(&capital_i_for_l).await),
            ErrorCode::RpNameConfusable,
        );
        let capitalised = genuine.replacen('l', "L", 1);
        o.expect(
            "the name capitalised",
            code_of(&lab.register_relying_party(&capitalised).await),
            ErrorCode::RpNameConfusable,
        );
        o.expect(
            "the name itself again",
            code_of(&lab.register_relying_party(&genuine).await),
            ErrorCode::RpNameConfusable,
        );
        let cyrillic_a = genuine.replacen('a', "\u{0430}", 1);
        o.expect(
            "a Cyrillic а among Latin letters",
            code_of(&lab.register_relying_party(&cyrillic_a).await),
            ErrorCode::UnsafeDocument,
        );
        // The check must not refuse everything: a name that only shares
        // letters with the genuine one is fine.
        let unrelated = lab.name("insurer");
        o.require("an unrelated name is still registered", lab.register_relying_party(&unrelated).await.is_ok());
        Ok(o)
    })
}
