//! Input no honest client sends: text that displays differently from what
//! is signed, bodies beyond the limits, malformed messages.

use super::push_for;
use crate::attack::Lab;
use crate::attack::lab::{LETTER, api, code_of, rp_document, rp_letter};
use crate::attack::{Observation, Played};
use wysiwys_proto::ErrorCode;
use wysiwys_proto::api::ServerMessage;
use wysiwys_proto::payment::PAYEE_SCRIPT_LABEL;
use wysiwys_proto::summary::MEDIA_TYPE_PAYMENT;

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

/// A payment to "Pаypal Europe" with a Cyrillic "а": both channels would
/// show the Latin name the victim trusts.
pub fn mixed_script_payee(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let v = lab.victim().await?;
        let payment = |payee: &str| {
            serde_json::json!({
                "payee": payee, "iban": "DE89370400440532013000", "amount": "950.00",
                "currency": "EUR", "reference": "Invoice 7",
            })
            .to_string()
        };
        let look_alike = payment("P\u{0430}ypal Europe");
        let answer = v.user.browser.upload(MEDIA_TYPE_PAYMENT, look_alike.as_bytes()).await;
        let mut o = Observation::new(code_of(&answer));
        o.require("nothing was stored", v.user.browser.history().await.map_err(api)?.is_empty());
        let bank = lab.relying_party().await?;
        let body = rp_document(&v.user.credentials.username, MEDIA_TYPE_PAYMENT, look_alike.as_bytes());
        o.expect("the same from a relying party", code_of(&bank.create(&body, None).await), ErrorCode::UnsafeDocument);
        // A payee written wholly in another script is a real firm; the device
        // is told its script, on the summary both channels hash.
        let foreign = v.user.browser.upload(MEDIA_TYPE_PAYMENT, payment("ПриватБанк").as_bytes()).await.map_err(api)?;
        let mut device = v.device.connect().await?;
        let shown = push_for(&mut device, &foreign.id).await;
        let script =
            shown.claims.summary.lines.iter().find(|l| l.label == PAYEE_SCRIPT_LABEL).map(|l| l.value.as_str());
        o.require("the device is told the payee is written in Cyrillic", script == Some("Cyrillic"));
        Ok(o)
    })
}

/// Letters whose text holds characters that draw as nothing (or as whatever
/// one screen's font says): each class Unicode's tables name.
pub fn invisible_characters(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let user = lab.user().await?;
        let letter = |inserted: &str| format!("Transfer\nAmount: 1{inserted}00 EUR\n");
        let mut o = Observation::new(code_of(&user.browser.upload_letter(&letter("\u{3164}")).await));
        for (inserted, rule) in [
            ("\u{3164}", "default-ignorable"),  // HANGUL FILLER: a "letter" that draws as nothing
            ("\u{FE0F}", "default-ignorable"),  // variation selector
            ("\u{E0031}", "default-ignorable"), // tag digit one
            ("\u{2800}", "blank"),              // BRAILLE PATTERN BLANK
            ("\u{0378}", "unassigned"),
            ("\u{F8FF}", "private-use"),
            ("\u{0600}", "format"),
            ("\u{0301}\u{0301}\u{0301}\u{0301}\u{0301}", "combining-run"),
        ] {
            let answer = user.browser.upload_letter(&letter(inserted)).await;
            let described = answer.as_ref().err().map(|e| e.body.error_description.clone()).unwrap_or_default();
            let first = inserted.chars().last().map(|c| format!("U+{:04X}", c as u32)).unwrap_or_default();
            o.expect(&format!("{first} ({rule})"), code_of(&answer), ErrorCode::UnsafeDocument);
            o.require(
                &format!("the refusal names {first} and `{rule}`: {described:?}"),
                described.contains(&first) && described.contains(&format!("({rule})")),
            );
        }
        o.require("nothing was stored", user.browser.history().await.map_err(api)?.is_empty());
        Ok(o)
    })
}
