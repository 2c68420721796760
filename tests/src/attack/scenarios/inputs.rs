//! Input no honest client sends: text that displays differently from what
//! is signed, bodies beyond the limits, malformed messages.

use crate::attack::Lab;
use crate::attack::lab::{LETTER, api, code_of, rp_letter};
use crate::attack::{Observation, Played};
use wysiwys_proto::ErrorCode;
use wysiwys_proto::api::ServerMessage;

pub fn bidi_override(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let user = lab.user().await?;
        // Shows as "Pay 5,1000 EUR" reversed: what is seen is not what is signed.
        let answer = user.browser.upload_letter("Payment order\nPay to Example Ltd\n\u{202E}0001 ,5 EUR\n").await;
        let mut o = Observation::new(code_of(&answer));
        o.require("nothing was stored", user.browser.history().await.map_err(api)?.is_empty());
        Ok(o)
    })
}

pub fn zero_width(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let user = lab.user().await?;
        let answer = user.browser.upload_letter("Invoice\nAmount: 1\u{200B}00 EUR\n").await;
        let mut o = Observation::new(code_of(&answer));
        let bank = lab.relying_party().await?;
        let body = rp_letter(&user.credentials.username, "Amount: 1\u{2060}00 EUR\n");
        o.expect("the same from a relying party", code_of(&bank.create(&body, None).await), ErrorCode::UnsafeDocument);
        o.require("nothing was stored", user.browser.history().await.map_err(api)?.is_empty());
        Ok(o)
    })
}

pub fn oversized_document(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let user = lab.user().await?;
        let huge = "a".repeat(1024 * 1024);
        let answer = user.browser.upload_letter(&huge).await;
        let mut o = Observation::new(code_of(&answer));
        o.require("nothing was stored", user.browser.history().await.map_err(api)?.is_empty());
        Ok(o)
    })
}

pub fn oversized_json(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let user = lab.user().await?;
        let r = user.letter(LETTER).await?;
        let body = format!(r#"{{"doc_hash":"{}","summary_hash":"{}"}}"#, r.doc_hash, "A".repeat(256 * 1024));
        let mut o = Observation::new(code_of(&user.confirm_raw(&r.id, body).await?));
        o.require("the request is untouched", user.untouched(&r.id).await?);
        Ok(o)
    })
}

pub fn malformed_input(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let v = lab.victim().await?;
        let r = v.user.letter(LETTER).await?;
        let broken = v.user.confirm_raw(&r.id, "{\"doc_hash\": ".into()).await?;
        let mut o = Observation::new(code_of(&broken));
        let extra = serde_json::json!({ "doc_hash": r.doc_hash, "summary_hash": r.summary_hash, "force": true });
        let answer = v.user.confirm_raw(&r.id, extra.to_string()).await?;
        o.expect("a confirmation with an unknown field", code_of(&answer), ErrorCode::BadRequest);
        let mut device = v.device.connect().await?;
        device.send_raw("this is not json").await;
        let garbage = loop {
            match device.receive().await {
                Ok(ServerMessage::SignRequest { .. }) => continue,
                other => break other,
            }
        };
        o.expect("garbage on the device socket", garbage.err().map(|e| e.error), ErrorCode::BadRequest);
        o.require("the request is untouched", v.user.untouched(&r.id).await?);
        o.signature_produced = v.user.signed(&r.id).await?;
        Ok(o)
    })
}
