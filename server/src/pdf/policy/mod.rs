//! What a PDF may contain before we show it to both channels and sign it,
//! by the published attack classes: universal signature forgery,
//! incremental saving and signature wrapping (Mladenov et al., CCS 2019),
//! shadow hide / replace / hide-and-replace (Mainka et al., NDSS 2021),
//! active content, encryption, and certification our signature would break.
//!
//! Each refusal names its rule; PROTOCOL.md §9 gives the reason for each,
//! and a test here fails when the two lists disagree.

mod active_content;
mod cms_digest;
mod objects;
mod shadow;
mod signatures;

use crate::error::Error;
use lopdf::Document;
use wysiwys_proto::ErrorCode;

/// A rule of the PDF policy. A PDF is checked against all of them, in the
/// order of `ALL`, and refused under the first it breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PdfRule {
    /// An /Encrypt dictionary or a /Crypt filter: the bytes the hash covers
    /// are not the text anyone reads.
    Encrypted,
    /// A certification that allows no change: our signature would break it.
    CertifiedNoChanges,
    /// A signature that is not what it claims: no or a malformed
    /// /ByteRange or /Contents, a range that does not start at the file's
    /// start or end at a revision's end, a digest that does not match.
    SignatureForgery,
    /// A signature's unsigned gap holds more than its own /Contents.
    SignatureWrapping,
    /// A revision after a signature changes more than a later signature or
    /// validation data (DSS) needs.
    IncrementalUpdate,
    /// An object the document does not use: a later update can make it
    /// visible (shadow hide, hide-and-replace).
    UnusedObject,
    /// JavaScript anywhere.
    JavaScript,
    /// An action other than going to a page or opening a link, or an
    /// additional-actions (/AA) trigger.
    Action,
    /// Embedded files, file attachments and multimedia the channels do not show.
    EmbeddedFile,
    /// An XFA form, drawn from XML rather than from the page description.
    Xfa,
    /// Optional content: what is drawn depends on the viewer's state.
    OptionalContent,
    /// A form field that can still be filled in: after our signature, a
    /// viewer accepts a new value as an allowed change (shadow replace).
    FormField,
}

impl PdfRule {
    pub const ALL: [PdfRule; 12] = [
        Self::Encrypted,
        Self::CertifiedNoChanges,
        Self::SignatureForgery,
        Self::SignatureWrapping,
        Self::IncrementalUpdate,
        Self::UnusedObject,
        Self::JavaScript,
        Self::Action,
        Self::EmbeddedFile,
        Self::Xfa,
        Self::OptionalContent,
        Self::FormField,
    ];

    /// The rule's stable name, in refusals and in PROTOCOL.md §9.
    pub fn name(self) -> &'static str {
        match self {
            Self::Encrypted => "encrypted",
            Self::UnusedObject => "unused-object",
            Self::JavaScript => "javascript",
            Self::Action => "action",
            Self::EmbeddedFile => "embedded-file",
            Self::Xfa => "xfa",
            Self::OptionalContent => "optional-content",
            Self::FormField => "form-field",
            Self::CertifiedNoChanges => "certified-no-changes",
            Self::SignatureForgery => "signature-forgery",
            Self::SignatureWrapping => "signature-wrapping",
            Self::IncrementalUpdate => "incremental-update",
        }
    }

    /// What could be shown differently from what is signed is
    /// `UNSAFE_DOCUMENT`; what we cannot sign as it is, `DOCUMENT_INVALID`.
    pub fn code(self) -> ErrorCode {
        match self {
            Self::Encrypted | Self::CertifiedNoChanges | Self::SignatureForgery | Self::SignatureWrapping => {
                ErrorCode::DocumentInvalid
            }
            Self::UnusedObject
            | Self::JavaScript
            | Self::Action
            | Self::EmbeddedFile
            | Self::Xfa
            | Self::OptionalContent
            | Self::FormField
            | Self::IncrementalUpdate => ErrorCode::UnsafeDocument,
        }
    }
}

/// A broken rule and where: the refusal a relying party reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub rule: PdfRule,
    pub detail: String,
}

impl Violation {
    pub fn new(rule: PdfRule, detail: impl Into<String>) -> Violation {
        Violation { rule, detail: detail.into() }
    }

    pub fn encrypted() -> Violation {
        Violation::new(PdfRule::Encrypted, "the file is encrypted; send it unencrypted")
    }
}

impl From<objects::TooManyFields> for Violation {
    fn from(_: objects::TooManyFields) -> Violation {
        Violation::new(PdfRule::FormField, format!("the form has more than {} fields", objects::MAX_FIELDS))
    }
}

impl From<Violation> for Error {
    fn from(v: Violation) -> Error {
        Error::refused(v.rule.code(), format!("PDF refused by rule `{}`: {}", v.rule.name(), v.detail))
    }
}

/// Applies every rule to `document`, loaded from `bytes`.
pub fn check(bytes: &[u8], document: &Document) -> Result<(), Violation> {
    if document.trailer.get(b"Encrypt").is_ok() {
        return Err(Violation::encrypted());
    }
    // Signatures first: an update after a signature leaves the objects it
    // replaced unused, and the refusal should name the update.
    signatures::check(bytes, document)?;
    let reachable = objects::reachable(document);
    shadow::unused_objects(document, &reachable)?;
    active_content::check(document, &reachable)?;
    shadow::form_fields(document)
}

#[cfg(test)]
mod tests;
