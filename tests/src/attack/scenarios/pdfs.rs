//! A relying party (or whoever took over its key) sends PDFs built to be
//! shown other than they are signed, one per attack class of PROTOCOL.md
//! §9.1. Each must be refused under its rule before anything is stored.

use super::push_for;
use crate::attack::lab::{api, code_of, rp_pdf};
use crate::attack::pdfs::{self, AttackPdf};
use crate::attack::{Lab, Observation, Played};
use crate::relying_party::Bank;
use wysiwys_proto::sad::Decision;

/// Sends every PDF; the first one's answer is what the scenario observed,
/// each other must be refused with its own rule's code, and every refusal
/// must name its rule.
async fn send_each(agency: &Bank, username: &str, attacks: &[AttackPdf], o: &mut Option<Observation>) {
    for attack in attacks {
        let answer = agency.create(&rp_pdf(username, &attack.bytes), None).await;
        let observation = o.get_or_insert_with(|| Observation::new(code_of(&answer)));
        observation.expect(attack.what, code_of(&answer), attack.refused_with());
        let named = answer
            .as_ref()
            .err()
            .is_some_and(|e| e.body.error_description.contains(&format!("rule `{}`", attack.rule)));
        observation.require(&format!("{}: the refusal names rule `{}`", attack.what, attack.rule), named);
    }
}

async fn refuse_all(lab: &Lab, attacks: Vec<AttackPdf>) -> anyhow::Result<Observation> {
    let user = lab.user().await?;
    let agency = lab.pdf_agency().await?;
    let mut o = None;
    send_each(&agency, &user.credentials.username, &attacks, &mut o).await;
    let mut o = o.unwrap_or_default();
    o.require("nothing was stored", user.browser.history().await.map_err(api)?.is_empty());
    Ok(o)
}

pub fn active_content(lab: &Lab) -> Played<'_> {
    Box::pin(refuse_all(lab, pdfs::active_content()))
}

pub fn shadow(lab: &Lab) -> Played<'_> {
    Box::pin(refuse_all(lab, pdfs::shadows()))
}

/// Made-up signatures first; then the victim signs the plain letter
/// through both channels, and the agency sends that signed file back
/// altered three ways. Only the untouched file may be signed again.
pub fn signature_attacks(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let v = lab.victim().await?;
        let agency = lab.pdf_agency().await?;
        let username = v.user.credentials.username.clone();
        let mut o = None;
        send_each(&agency, &username, &pdfs::made_up_signatures(), &mut o).await;

        let genuine = agency.create(&rp_pdf(&username, &pdfs::plain_letter()), None).await.map_err(api)?;
        let mut device = v.device.connect().await?;
        let shown = push_for(&mut device, &genuine.id).await;
        let sad = device.sad(&shown, Decision::Approve);
        device.submit(&genuine.id, &sad).await;
        v.user.browser.confirm_as_displayed(&genuine.id).await.map_err(api)?;
        let signed = agency.signature(&genuine.id).await.map_err(api)?;

        send_each(&agency, &username, &pdfs::tampered(&signed), &mut o).await;
        let mut o = o.unwrap_or_default();
        let again = agency.create(&rp_pdf(&username, &signed), None).await;
        o.require("the untouched signed PDF is accepted to be signed again", again.is_ok());
        let history = v.user.browser.history().await.map_err(api)?;
        o.require("only the genuine and the untouched file were stored", history.len() == 2);
        o.signature_produced = v.user.signatures_made(&genuine.id).await? != 1
            || history.iter().filter(|r| r.state == wysiwys_proto::api::RequestState::Signed).count() != 1;
        Ok(o)
    })
}

/// The party tries to word a visible signature itself, to put one on a
/// page the file does not have or off its page, and to hide one in a
/// batch: each refused (`BAD_REQUEST`) with nothing stored. A stamp it may
/// place is named on the device before anyone confirms, so the person
/// knows the page will change.
pub fn stamp_abuse(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let v = lab.victim().await?;
        let agency = lab.pdf_agency().await?;
        let username = v.user.credentials.username.clone();
        let pdf = pdfs::plain_letter();
        let stamped = |stamp: serde_json::Value| {
            let mut body = rp_pdf(&username, &pdf);
            body["display"]["visible_signature"] = stamp;
            body
        };
        let rect = serde_json::json!([60, 60, 420, 150]);
        let worded =
            agency.create(&stamped(serde_json::json!({"page": 1, "rect": rect, "text": "Approved"})), None).await;
        let mut o = Observation::new(code_of(&worded));
        for (what, stamp) in [
            ("a page the file does not have", serde_json::json!({"page": 40, "rect": rect})),
            ("a rectangle off the page", serde_json::json!({"page": 1, "rect": [500, 60, 860, 150]})),
        ] {
            let answer = agency.create(&stamped(stamp), None).await;
            o.expect(what, code_of(&answer), wysiwys_proto::ErrorCode::BadRequest);
        }
        let member = serde_json::json!({"media_type": wysiwys_proto::summary::MEDIA_TYPE_PDF,
            "document_b64": wysiwys_proto::b64::encode_standard(&pdf),
            "display": {"title": "Decision", "lines": [], "visible_signature": {"page": 1, "rect": rect}}});
        let batch = serde_json::json!({"signer": {"username": username}, "title": "Two",
            "documents": [member.clone(), member]});
        let hidden = agency.create_batch(&batch, None).await;
        o.expect("a stamp in a batch", code_of(&hidden), wysiwys_proto::ErrorCode::BadRequest);
        o.require("nothing refused was stored", v.user.browser.history().await.map_err(api)?.is_empty());

        let placed = agency.create(&stamped(serde_json::json!({"page": 1, "rect": rect})), None).await.map_err(api)?;
        let mut device = v.device.connect().await?;
        let shown = push_for(&mut device, &placed.id).await;
        let named = shown.claims.summary.lines.iter().any(|l| l.label == wysiwys_proto::stamp::STAMP_LABEL);
        o.require("the device is told about the stamp before anyone confirms", named);
        Ok(o)
    })
}
