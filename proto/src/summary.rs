//! `summary/1`: the one rendering of a document that both channels show.
//!
//! The summary is computed from the document bytes alone, so the server, the
//! browser and the device can each recompute it and compare hashes.

use crate::display::first_unsafe;
pub use crate::display::{check_field, check_name};
use crate::{ErrorCode, RENDER_VERSION, b64, jcs, payment};
use serde::{Deserialize, Serialize};
use unicode_normalization::is_nfc;

pub const MEDIA_TYPE_TEXT: &str = "text/plain";
pub const MEDIA_TYPE_PAYMENT: &str = "application/vnd.wysiwys.payment+json";
pub const MEDIA_TYPE_PDF: &str = "application/pdf";

/// Limits on what a requester may say about a PDF.
pub const MAX_DISPLAY_LINES: usize = 50;
pub const MAX_DISPLAY_VALUE_CHARS: usize = 500;
pub const MAX_LABEL_CHARS: usize = 60;
pub const MAX_PDF_BYTES: usize = 16 * 1024 * 1024;

/// Upper bounds that keep a summary readable on a phone-sized screen.
pub const MAX_LETTER_BYTES: usize = 256 * 1024;
pub const MAX_LINES: usize = 5_000;
pub const MAX_LINE_CHARS: usize = 2_000;
pub const MAX_TITLE_CHARS: usize = 120;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    pub v: String,
    pub title: String,
    pub lines: Vec<SummaryLine>,
    pub doc: DocRef,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SummaryLine {
    pub label: String,
    pub value: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocRef {
    pub media_type: String,
    pub size: u64,
    /// base64url SHA-256 of the document bytes.
    pub sha256: String,
}

/// What a requester says a PDF is, for both channels to show beside the
/// PDF's page count and hash: the device cannot show a PDF, so these lines
/// are all it shows, and the requester answers for them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DisplayFields {
    pub title: String,
    #[serde(default)]
    pub lines: Vec<SummaryLine>,
    /// A visible stamp on a page; the signature is invisible without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visible_signature: Option<crate::stamp::VisibleSignature>,
}

/// Why a document has no summary.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {detail}")]
pub struct RenderError {
    pub code: ErrorCode,
    pub detail: String,
}

impl RenderError {
    pub(crate) fn unsafe_text(detail: impl Into<String>) -> Self {
        RenderError { code: ErrorCode::UnsafeDocument, detail: detail.into() }
    }

    pub fn invalid(detail: impl Into<String>) -> Self {
        RenderError { code: ErrorCode::DocumentInvalid, detail: detail.into() }
    }

    /// Something the requester asked for besides the document is wrong.
    pub(crate) fn bad_request(detail: impl Into<String>) -> Self {
        RenderError { code: ErrorCode::BadRequest, detail: detail.into() }
    }
}

impl Summary {
    /// The exact bytes both channels hash: RFC 8785 canonical JSON.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        // Summary holds only strings, a u64 and arrays: canonicalisation
        // cannot fail, and an empty output would be caught by every hash check.
        jcs::to_vec(self).unwrap_or_default()
    }

    pub fn hash(&self) -> [u8; 32] {
        jcs::sha256(&self.canonical_bytes())
    }

    /// Re-checks a summary received from elsewhere (the device does this on
    /// every push): every string must be safe to display.
    pub fn check_display_safety(&self) -> Result<(), RenderError> {
        if self.v != RENDER_VERSION {
            return Err(RenderError::invalid(format!("unknown render version {:?}", self.v)));
        }
        check_field("title", &self.title)?;
        for line in &self.lines {
            check_field("label", &line.label)?;
            check_field("value", &line.value)?;
        }
        check_field("media_type", &self.doc.media_type)
    }
}

/// Renders the summary of a document, refusing anything that could be shown
/// differently from what is signed.
pub fn render(media_type: &str, document: &[u8]) -> Result<Summary, RenderError> {
    let (title, lines) = match media_type {
        MEDIA_TYPE_TEXT => render_letter(document)?,
        MEDIA_TYPE_PAYMENT => payment::render(document)?,
        crate::batch::MEDIA_TYPE_BATCH => crate::batch::render(document)?,
        crate::hashes::MEDIA_TYPE_HASHES => crate::hashes::render(document)?,
        MEDIA_TYPE_PDF => return Err(RenderError::invalid("a PDF needs display fields from its requester")),
        other => {
            return Err(RenderError {
                code: ErrorCode::UnsupportedMediaType,
                detail: format!("no summary/1 rendering for {other:?}"),
            });
        }
    };
    Ok(summary_of(media_type, document, title, lines))
}

fn summary_of(media_type: &str, document: &[u8], title: String, lines: Vec<SummaryLine>) -> Summary {
    Summary {
        v: RENDER_VERSION.to_owned(),
        title,
        lines,
        doc: DocRef {
            media_type: media_type.to_owned(),
            size: document.len() as u64,
            sha256: b64::encode(jcs::sha256(document)),
        },
    }
}

/// The summary of a PDF: the requester's title and lines, then the page
/// count (which the caller read from the PDF itself). Every string passes
/// the same display-safety checks as a letter.
pub fn render_pdf(document: &[u8], pages: usize, display: &DisplayFields) -> Result<Summary, RenderError> {
    if document.len() > MAX_PDF_BYTES {
        return Err(RenderError::invalid(format!("PDF is larger than {MAX_PDF_BYTES} bytes")));
    }
    // The title and labels name what is signed, so they may not mix
    // scripts; a value is free text and only has to be display-safe.
    let bounded = |name: &str, value: &str, max: usize, required: bool| {
        if required {
            check_name(name, value)?
        } else {
            check_field(name, value)?
        }
        if value.chars().count() > max || (required && value.trim().is_empty()) {
            return Err(RenderError::invalid(format!("{name} must be 1 to {max} characters")));
        }
        Ok(())
    };
    bounded("title", &display.title, MAX_TITLE_CHARS, true)?;
    if display.lines.len() > MAX_DISPLAY_LINES {
        return Err(RenderError::invalid(format!("more than {MAX_DISPLAY_LINES} display lines")));
    }
    for line in &display.lines {
        bounded("label", &line.label, MAX_LABEL_CHARS, true)?;
        bounded("value", &line.value, MAX_DISPLAY_VALUE_CHARS, false)?;
    }
    let mut lines = display.lines.clone();
    lines.push(SummaryLine { label: "Pages".to_owned(), value: pages.to_string() });
    if let Some(stamp) = &display.visible_signature {
        stamp.check(pages)?;
        lines.push(stamp.summary_line());
    }
    Ok(summary_of(MEDIA_TYPE_PDF, document, display.title.clone(), lines))
}

/// A letter: the title is its first non-blank line; every line of the letter
/// follows, unlabelled, so the device shows the whole text.
fn render_letter(document: &[u8]) -> Result<(String, Vec<SummaryLine>), RenderError> {
    if document.len() > MAX_LETTER_BYTES {
        return Err(RenderError::invalid(format!("letter is larger than {MAX_LETTER_BYTES} bytes")));
    }
    let text = std::str::from_utf8(document)
        .map_err(|e| RenderError::unsafe_text(format!("not UTF-8 at byte {}", e.valid_up_to())))?;
    if !is_nfc(text) {
        return Err(RenderError::unsafe_text("text is not in Unicode normalization form C"));
    }
    let raw_lines: Vec<&str> = text.strip_suffix('\n').unwrap_or(text).split('\n').collect();
    if raw_lines.len() > MAX_LINES {
        return Err(RenderError::invalid(format!("letter has more than {MAX_LINES} lines")));
    }
    let mut lines = Vec::with_capacity(raw_lines.len());
    for (index, raw) in raw_lines.iter().enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some((column, c, rule)) = first_unsafe(line) {
            return Err(RenderError::unsafe_text(format!(
                "line {}, column {}: U+{:04X} is not allowed ({})",
                index + 1,
                column + 1,
                c as u32,
                rule.rule()
            )));
        }
        if line.chars().count() > MAX_LINE_CHARS {
            return Err(RenderError::invalid(format!("line {} is longer than {MAX_LINE_CHARS} characters", index + 1)));
        }
        lines.push(SummaryLine { label: String::new(), value: line.to_owned() });
    }
    let title = lines
        .iter()
        .map(|l| l.value.trim())
        .find(|v| !v.is_empty())
        .ok_or_else(|| RenderError::invalid("letter has no text"))?;
    Ok((truncate_title(title), lines))
}

pub(crate) fn truncate_title(title: &str) -> String {
    if title.chars().count() <= MAX_TITLE_CHARS {
        return title.to_owned();
    }
    let mut cut: String = title.chars().take(MAX_TITLE_CHARS - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(media_type: &str, doc: &[u8]) -> RenderError {
        render(media_type, doc).unwrap_err()
    }

    fn display(title: &str, lines: &[(&str, &str)]) -> DisplayFields {
        DisplayFields {
            title: title.into(),
            lines: lines.iter().map(|(l, v)| SummaryLine { label: (*l).into(), value: (*v).into() }).collect(),
            visible_signature: None,
        }
    }

    #[test]
    fn pdf_summaries_up_to_the_limits() {
        let fields = display("Decision", &[("Case", "2026-17")]);
        let s = render_pdf(&vec![0u8; MAX_PDF_BYTES], 3, &fields).expect("a PDF of the largest size");
        assert_eq!(s.title, "Decision");
        assert_eq!(s.lines.last().map(|l| (l.label.as_str(), l.value.as_str())), Some(("Pages", "3")));
        assert!(render_pdf(&vec![0u8; 2_000_000], 1, &fields).is_ok());
        let err = render_pdf(&vec![0u8; MAX_PDF_BYTES + 1], 1, &fields).unwrap_err();
        assert_eq!(err.code, ErrorCode::DocumentInvalid);

        let longest = "v".repeat(MAX_DISPLAY_VALUE_CHARS);
        assert!(render_pdf(b"%PDF", 1, &display("T", &[("Label", &longest)])).is_ok());
        let too_long = format!("{longest}v");
        assert!(render_pdf(b"%PDF", 1, &display("T", &[("Label", &too_long)])).is_err());
        assert!(render_pdf(b"%PDF", 1, &display("T", &[("Label", "")])).is_ok(), "a value may be empty");
        assert!(render_pdf(b"%PDF", 1, &display("T", &[("", "value")])).is_err(), "a label may not");
        assert!(render_pdf(b"%PDF", 1, &display(" ", &[])).is_err(), "nor the title");
        assert!(render_pdf(b"%PDF", 1, &display(&"t".repeat(MAX_TITLE_CHARS), &[])).is_ok());
        assert!(render_pdf(b"%PDF", 1, &display(&"t".repeat(MAX_TITLE_CHARS + 1), &[])).is_err());
        let many: Vec<(&str, &str)> = vec![("L", "v"); MAX_DISPLAY_LINES];
        assert!(render_pdf(b"%PDF", 1, &display("T", &many)).is_ok());
        let more: Vec<(&str, &str)> = vec![("L", "v"); MAX_DISPLAY_LINES + 1];
        assert!(render_pdf(b"%PDF", 1, &display("T", &more)).is_err());
    }

    #[test]
    fn letters_up_to_the_limits() {
        let mut largest = String::new();
        while largest.len() + 1_001 <= MAX_LETTER_BYTES {
            largest.push_str(&"a".repeat(1_000));
            largest.push('\n');
        }
        largest.push_str(&"b".repeat(MAX_LETTER_BYTES - largest.len()));
        assert_eq!(largest.len(), MAX_LETTER_BYTES);
        assert!(render(MEDIA_TYPE_TEXT, largest.as_bytes()).is_ok());
        largest.push('b');
        assert_eq!(refused(MEDIA_TYPE_TEXT, largest.as_bytes()).code, ErrorCode::DocumentInvalid);

        assert!(render(MEDIA_TYPE_TEXT, "a\n".repeat(MAX_LINES).as_bytes()).is_ok());
        assert_eq!(refused(MEDIA_TYPE_TEXT, "a\n".repeat(MAX_LINES + 1).as_bytes()).code, ErrorCode::DocumentInvalid);
        assert!(render(MEDIA_TYPE_TEXT, "c".repeat(MAX_LINE_CHARS).as_bytes()).is_ok());
        assert_eq!(
            refused(MEDIA_TYPE_TEXT, "c".repeat(MAX_LINE_CHARS + 1).as_bytes()).code,
            ErrorCode::DocumentInvalid
        );
    }

    #[test]
    fn letter_lines_and_title() {
        let s = render(MEDIA_TYPE_TEXT, "\nDear citizen,\r\nyour permit.\n".as_bytes()).unwrap();
        assert_eq!(s.title, "Dear citizen,");
        let values: Vec<_> = s.lines.iter().map(|l| l.value.as_str()).collect();
        assert_eq!(values, ["", "Dear citizen,", "your permit."]);
        assert_eq!(s.doc.size, 29);
        assert_eq!(s.v, "summary/1");
    }

    #[test]
    fn every_kind_of_invisible_character_is_refused() {
        for bad in [
            "\u{202E}",
            "\u{2066}",
            "\u{200B}",
            "\u{200D}",
            "\u{FEFF}",
            "\u{00AD}",
            "\t",
            "\u{7}",
            "\u{85}",
            "\u{2028}",
            "\u{E0041}",
            "a\rb",
        ] {
            let doc = format!("Title\nvalue {bad} here\n");
            let err = refused(MEDIA_TYPE_TEXT, doc.as_bytes());
            assert_eq!(err.code, ErrorCode::UnsafeDocument, "{bad:?}");
            assert!(err.detail.contains("line 2"), "{}", err.detail);
        }
        // The message names the character, so the sender can find it.
        let err = refused(MEDIA_TYPE_TEXT, "Pay\n5,1000\u{202E} EUR\n".as_bytes());
        assert!(err.detail.contains("column 7: U+202E is not allowed"), "{}", err.detail);
    }

    #[test]
    fn not_nfc_not_utf8_and_bom_are_refused() {
        assert_eq!(refused(MEDIA_TYPE_TEXT, "Cafe\u{301}".as_bytes()).code, ErrorCode::UnsafeDocument);
        assert_eq!(refused(MEDIA_TYPE_TEXT, b"abc\xff").code, ErrorCode::UnsafeDocument);
        assert_eq!(refused(MEDIA_TYPE_TEXT, "\u{feff}Hello".as_bytes()).code, ErrorCode::UnsafeDocument);
        assert!(render(MEDIA_TYPE_TEXT, "Café".as_bytes()).is_ok());
    }

    #[test]
    fn empty_oversized_and_unknown_kinds_are_refused() {
        assert_eq!(refused(MEDIA_TYPE_TEXT, b"\n  \n").code, ErrorCode::DocumentInvalid);
        assert_eq!(refused(MEDIA_TYPE_TEXT, &vec![b'a'; MAX_LETTER_BYTES + 1]).code, ErrorCode::DocumentInvalid);
        assert_eq!(refused("text/html", b"<p>hi</p>").code, ErrorCode::UnsupportedMediaType);
    }

    #[test]
    fn long_titles_are_truncated_but_the_line_is_kept_whole() {
        let line = "x".repeat(300);
        let s = render(MEDIA_TYPE_TEXT, line.as_bytes()).unwrap();
        assert_eq!(s.title.chars().count(), MAX_TITLE_CHARS);
        assert!(s.title.ends_with('…'));
        assert_eq!(s.lines[0].value, line);
    }

    #[test]
    fn the_hash_covers_every_field() {
        let s = render(MEDIA_TYPE_TEXT, b"Hello\nworld").unwrap();
        let mut t = s.clone();
        t.lines[1].value.push('!');
        assert_ne!(s.hash(), t.hash());
        let mut u = s.clone();
        u.doc.size += 1;
        assert_ne!(s.hash(), u.hash());
    }

    #[test]
    fn received_summaries_are_rechecked() {
        let mut s = render(MEDIA_TYPE_TEXT, b"Hello").unwrap();
        assert!(s.check_display_safety().is_ok());
        s.lines[0].value = "pay \u{202E}0001".into();
        assert_eq!(s.check_display_safety().unwrap_err().code, ErrorCode::UnsafeDocument);
        s.lines[0].value = "ok".into();
        s.v = "summary/2".into();
        assert_eq!(s.check_display_safety().unwrap_err().code, ErrorCode::DocumentInvalid);
    }
}
