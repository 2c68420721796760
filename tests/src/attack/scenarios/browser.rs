//! The man in the browser: script in the victim's logged-in page changes
//! what is shown, hashed or sent after the page received the document.

use super::{Shown, push_for, refusal};
use crate::attack::Lab;
use crate::attack::lab::{LETTER, api, code_of};
use crate::attack::{Observation, Played};
use crate::sha256_b64;
use wysiwys_proto::sad::Decision;

pub fn document_swap(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let mut s = Shown::new(lab, false).await?;
        let sad = s.sad(Decision::Approve);
        let approval = s.answer(&sad).await;
        let browser = &s.victim.user.browser;
        let summary = browser.bytes(&format!("/api/requests/{}/summary", s.request.id)).await.map_err(api)?;
        let swapped = LETTER.replace("approved", "refused");
        let answer = browser.confirm(&s.request.id, &sha256_b64(swapped.as_bytes()), &sha256_b64(&summary)).await;
        let mut o = Observation::new(code_of(&answer));
        o.require("the device's genuine approval was accepted", refusal(&approval).is_none());
        o.signature_produced = s.signed().await?;
        Ok(o)
    })
}

pub fn summary_swap(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let mut s = Shown::new(lab, false).await?;
        let browser = &s.victim.user.browser;
        let summary = browser.bytes(&format!("/api/requests/{}/summary", s.request.id)).await.map_err(api)?;
        let altered = String::from_utf8_lossy(&summary).replace("approved", "refused");
        let answer = browser.confirm(&s.request.id, &s.request.doc_hash, &sha256_b64(altered.as_bytes())).await;
        let mut o = Observation::new(code_of(&answer));
        // The device's approval arriving afterwards cannot revive the request.
        let sad = s.sad(Decision::Approve);
        o.require("a late device approval is refused", refusal(&s.answer(&sad).await).is_some());
        o.signature_produced = s.signed().await?;
        Ok(o)
    })
}

pub fn hash_of_other_request(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let v = lab.victim().await?;
        let a = v.user.letter(LETTER).await?;
        let b = v.user.letter("Municipal Office of Example Town\n\nYour dog licence fee is 40 EUR.\n").await?;
        let mut device = v.device.connect().await?;
        let shown = push_for(&mut device, &b.id).await;
        let sad = device.sad(&shown, Decision::Approve);
        device.submit(&b.id, &sad).await;
        let answer = v.user.browser.confirm(&b.id, &a.doc_hash, &a.summary_hash).await;
        let mut o = Observation::new(code_of(&answer));
        o.signature_produced = v.user.signed(&b.id).await? || v.user.signed(&a.id).await?;
        Ok(o)
    })
}
