//! PDFs a relying party sends: checked against the published PDF signature
//! attacks before anything is stored or shown (`policy`), then signed as
//! PAdES (`pades`), and made long-term verifiable (`ltv`).

pub mod ltv;
pub mod pades;
mod policy;
pub mod stamp;

pub use policy::PdfRule;

use crate::error::Result;

/// The number of pages of a PDF we may sign. A PDF that breaks a rule of
/// the policy is refused with the rule's code; one we could not prepare
/// for signing is `DOCUMENT_INVALID` now, not after both channels confirmed.
/// With a `stamp` placement, also that it lies on its page.
pub fn inspect(pdf: &[u8], stamp: Option<&wysiwys_proto::stamp::VisibleSignature>) -> Result<usize> {
    let document = pades::load(pdf)?;
    let previous = document.get_prev_documents();
    policy::check(pdf, previous)?;
    let pages = previous.get_pages().len();
    if pages == 0 {
        return Err(pades::invalid("no pages"));
    }
    if let Some(placement) = stamp {
        placement.check(pages)?;
    }
    let stamp = stamp.map(|placement| stamp::Stamp::for_signature(*placement, "check", 0, "check"));
    pades::prepare(pdf, "wysiwys-check", 0, pades::DRY_RUN_CONTENTS_BYTES, stamp.as_ref())?;
    Ok(pages)
}
