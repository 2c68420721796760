//! A PDF signature's visible stamp: where the relying party wants it; the
//! text in it is the server's (who signed, when, which request), never the
//! requester's. Both channels show that a stamp will be added and where,
//! as one summary line, so the person confirms the page it changes.

use crate::summary::{RenderError, SummaryLine};
use serde::{Deserialize, Serialize};

/// Smallest stamp, in PDF points: room for its lines in a legible size.
pub const MIN_WIDTH: u32 = 120;
pub const MIN_HEIGHT: u32 = 36;
/// Largest stamp: a stamp is not a page.
pub const MAX_WIDTH: u32 = 600;
pub const MAX_HEIGHT: u32 = 300;

/// The summary line's label; its value names the page and the rectangle.
pub const STAMP_LABEL: &str = "Visible signature";

/// Page (from 1) and rectangle `[x1, y1, x2, y2]` in PDF points from the
/// page's lower left corner.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VisibleSignature {
    pub page: u32,
    pub rect: [u32; 4],
}

impl VisibleSignature {
    pub fn width(&self) -> u32 {
        self.rect[2].saturating_sub(self.rect[0])
    }

    pub fn height(&self) -> u32 {
        self.rect[3].saturating_sub(self.rect[1])
    }

    /// The checks that need no PDF: a page of the document, a rectangle
    /// the right way round and of a sensible size. Whether it lies on the
    /// page is the PDF reader's to say.
    pub fn check(&self, pages: usize) -> Result<(), RenderError> {
        if self.page == 0 || usize::try_from(self.page).map_or(true, |page| page > pages) {
            return Err(RenderError::bad_request(format!("visible_signature.page is 1 to {pages}")));
        }
        let [x1, y1, x2, y2] = self.rect;
        if x2 <= x1 || y2 <= y1 {
            return Err(RenderError::bad_request(
                "visible_signature.rect is [x1, y1, x2, y2] with x1 < x2 and y1 < y2",
            ));
        }
        if !(MIN_WIDTH..=MAX_WIDTH).contains(&self.width()) || !(MIN_HEIGHT..=MAX_HEIGHT).contains(&self.height()) {
            return Err(RenderError::bad_request(format!(
                "visible_signature is {MIN_WIDTH} to {MAX_WIDTH} points wide and {MIN_HEIGHT} to {MAX_HEIGHT} high"
            )));
        }
        Ok(())
    }

    /// What both channels show about the stamp.
    pub fn summary_line(&self) -> SummaryLine {
        let [x1, y1, x2, y2] = self.rect;
        SummaryLine {
            label: STAMP_LABEL.to_owned(),
            value: format!("page {}, at {x1} {y1} {x2} {y2} pt: signer, time and request", self.page),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_is_on_a_page_of_the_document_and_of_a_sensible_size() {
        let stamp = VisibleSignature { page: 2, rect: [50, 50, 350, 130] };
        assert!(stamp.check(2).is_ok());
        assert_eq!(stamp.summary_line().value, "page 2, at 50 50 350 130 pt: signer, time and request");
        for (bad, pages) in [
            (VisibleSignature { page: 3, ..stamp }, 2),
            (VisibleSignature { page: 0, ..stamp }, 2),
            (VisibleSignature { rect: [350, 50, 50, 130], ..stamp }, 2),
            (VisibleSignature { rect: [50, 50, 100, 130], ..stamp }, 2),
            (VisibleSignature { rect: [0, 0, 700, 130], ..stamp }, 2),
            (VisibleSignature { rect: [50, 50, 350, 60], ..stamp }, 2),
        ] {
            assert!(bad.check(pages).is_err(), "{bad:?}");
        }
    }
}
