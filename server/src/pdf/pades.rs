//! PAdES-B-B (ETSI EN 319 142-1): a CAdES detached signature inside the PDF.
//!
//! The signature is added as an incremental update: the bytes both channels
//! confirmed stay, unchanged, the first bytes of the signed file, followed by
//! a signature dictionary (`/SubFilter /ETSI.CAdES.detached`), a signature
//! field (invisible on the first page, or a visible stamp: `stamp`) and the
//! updated catalog. The CMS goes
//! into a `/Contents` hole reserved for it; `/ByteRange` names everything else,
//! and the CMS message-digest is the SHA-256 of exactly those bytes.
//!
//! Preparation is deterministic in (document, field name, time), so the SAM
//! can build the file itself and check what it is about to sign.

use super::stamp::Stamp;
use crate::error::{Error, Result};
use lopdf::{Dictionary, IncrementalDocument, Object, ObjectId, StringFormat, Writer, dictionary};
use sha2::{Digest, Sha256};
use std::ops::Range;
use wysiwys_proto::ErrorCode;

/// The hole of a dry run (`pdf::inspect`), which only checks that the PDF
/// can be prepared; a real signature's hole is sized from its own CMS.
pub const DRY_RUN_CONTENTS_BYTES: usize = 8192;
/// Ten digits: wide enough for any offset lopdf can write (u32).
const BYTE_RANGE_PLACEHOLDER: i64 = 9_999_999_999;
pub const MEDIA_TYPE_PDF: &str = wysiwys_proto::summary::MEDIA_TYPE_PDF;

pub(super) fn invalid(detail: impl std::fmt::Display) -> Error {
    Error::refused(ErrorCode::DocumentInvalid, format!("PDF: {detail}"))
}

/// A PDF with its signature hole, ready for the CMS.
#[derive(Debug, Clone)]
pub struct Prepared {
    bytes: Vec<u8>,
    /// The `<…>` of `/Contents`, brackets included.
    hole: Range<usize>,
}

impl Prepared {
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// SHA-256 over both byte ranges: the CMS message-digest.
    pub fn byte_range_digest(&self) -> [u8; 32] {
        let mut hash = Sha256::new();
        hash.update(&self.bytes[..self.hole.start]);
        hash.update(&self.bytes[self.hole.end..]);
        hash.finalize().into()
    }

    /// Writes the CMS into the hole; the unused rest stays `0` (DER padding).
    pub fn finish(mut self, cms_der: &[u8]) -> Result<Vec<u8>> {
        let hex: String = cms_der.iter().map(|b| format!("{b:02X}")).collect();
        let room = self.hole.len() - 2;
        if hex.len() > room {
            return Err(Error::Internal(format!("CMS of {} bytes does not fit the {room}-digit hole", cms_der.len())));
        }
        let start = self.hole.start + 1;
        self.bytes[start..start + hex.len()].copy_from_slice(hex.as_bytes());
        Ok(self.bytes)
    }
}

fn serialized(object: &Object) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    Writer::write_object(&mut out, object).map_err(|e| Error::Internal(format!("PDF writer: {e}")))?;
    Ok(out)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

pub(super) fn load(pdf: &[u8]) -> Result<IncrementalDocument> {
    if !pdf.starts_with(b"%PDF-") {
        return Err(invalid("does not start with %PDF-"));
    }
    let document: IncrementalDocument = pdf.try_into().map_err(invalid)?;
    let previous = document.get_prev_documents();
    if previous.is_encrypted() || previous.was_encrypted() {
        return Err(super::policy::Violation::encrypted().into());
    }
    // lopdf rebuilds a broken cross-reference table and then has no
    // startxref to chain the update to: such a file is refused, not repaired.
    if previous.xref_start == 0 {
        return Err(invalid("damaged cross-reference table"));
    }
    Ok(document)
}

/// `D:YYYYMMDDHHmmSSZ`, the PDF date of the signature dictionary's `/M`.
fn pdf_date(ms: i64) -> Result<String> {
    Ok(format!("D:{}Z", crate::der_writer::utc_digits(ms)?))
}

/// What goes into a signature field's value besides the hole.
enum FieldKind {
    /// A CAdES signature made at this time (`/M`).
    Signature { signing_time_ms: i64 },
    /// A document timestamp (PAdES B-LTA, ETSI EN 319 142-1 5.4): the
    /// RFC 3161 token itself is the `/Contents`.
    DocTimeStamp,
}

/// Appends an incremental update with an empty signature to `original`.
/// `contents_bytes` is the room for the DER of the CMS (twice as many hex
/// digits in the file).
/// With a `stamp` the signature is visible there; without, it is an
/// invisible field on the first page.
pub fn prepare(
    original: &[u8],
    field_name: &str,
    signing_time_ms: i64,
    contents_bytes: usize,
    stamp: Option<&Stamp>,
) -> Result<Prepared> {
    prepare_field(original, field_name, FieldKind::Signature { signing_time_ms }, contents_bytes, stamp)
}

/// Appends an incremental update with an empty document timestamp of
/// `contents_bytes` for the token.
pub fn prepare_doc_timestamp(signed: &[u8], field_name: &str, contents_bytes: usize) -> Result<Prepared> {
    prepare_field(signed, field_name, FieldKind::DocTimeStamp, contents_bytes, None)
}

fn prepare_field(
    original: &[u8],
    field_name: &str,
    kind: FieldKind,
    contents_bytes: usize,
    stamp: Option<&Stamp>,
) -> Result<Prepared> {
    let mut document = load(original)?;
    let previous = document.get_prev_documents();
    let root_id: ObjectId = previous.trailer.get(b"Root").and_then(Object::as_reference).map_err(invalid)?;
    let page_id = match stamp {
        Some(stamp) => super::stamp::page_for(previous, &stamp.placement)?,
        None => *previous.get_pages().get(&1).ok_or_else(|| invalid("no first page"))?,
    };
    let acro_form = previous.get_dictionary(root_id).map_err(invalid)?.get(b"AcroForm").ok().cloned();
    let annotations = previous.get_dictionary(page_id).map_err(invalid)?.get(b"Annots").ok().cloned();

    let byte_range_placeholder = Object::Array(vec![
        0.into(),
        BYTE_RANGE_PLACEHOLDER.into(),
        BYTE_RANGE_PLACEHOLDER.into(),
        BYTE_RANGE_PLACEHOLDER.into(),
    ]);
    let contents_placeholder = Object::String(vec![0u8; contents_bytes], StringFormat::Hexadecimal);
    let new = &mut document.new_document;
    let value = match kind {
        FieldKind::Signature { signing_time_ms } => dictionary! {
            "Type" => "Sig",
            "Filter" => "Adobe.PPKLite",
            "SubFilter" => "ETSI.CAdES.detached",
            "ByteRange" => byte_range_placeholder.clone(),
            "Contents" => contents_placeholder.clone(),
            "M" => Object::string_literal(pdf_date(signing_time_ms)?),
        },
        FieldKind::DocTimeStamp => dictionary! {
            "Type" => "DocTimeStamp",
            "Filter" => "Adobe.PPKLite",
            "SubFilter" => "ETSI.RFC3161",
            "ByteRange" => byte_range_placeholder.clone(),
            "Contents" => contents_placeholder.clone(),
        },
    };
    let signature_id = new.add_object(value);
    // Printable and locked; invisible (a zero rectangle) on the first page
    // unless stamped.
    let mut widget = dictionary! {
        "Type" => "Annot",
        "Subtype" => "Widget",
        "FT" => "Sig",
        "Rect" => vec![0.into(), 0.into(), 0.into(), 0.into()],
        "F" => 132,
        "P" => page_id,
        "T" => Object::string_literal(field_name),
        "V" => signature_id,
    };
    if let Some(stamp) = stamp {
        let appearance_id = new.add_object(stamp.appearance());
        widget.set("Rect", stamp.placement.rect.iter().map(|n| Object::Integer(i64::from(*n))).collect::<Vec<_>>());
        widget.set("AP", dictionary! { "N" => appearance_id });
    }
    let field_id = new.add_object(widget);

    document.opt_clone_object_to_new_document(page_id).map_err(invalid)?;
    append_to_array(&mut document, page_id, b"Annots", annotations, field_id)?;
    document.opt_clone_object_to_new_document(root_id).map_err(invalid)?;
    let acro_form_id = match acro_form {
        Some(Object::Reference(id)) => {
            document.opt_clone_object_to_new_document(id).map_err(invalid)?;
            id
        }
        other => {
            let form = other.map(|o| o.as_dict().cloned()).transpose().map_err(invalid)?.unwrap_or_default();
            let id = document.new_document.add_object(form);
            document.new_document.get_dictionary_mut(root_id).map_err(invalid)?.set("AcroForm", id);
            id
        }
    };
    let fields = document.new_document.get_dictionary(acro_form_id).map_err(invalid)?.get(b"Fields").ok().cloned();
    append_to_array(&mut document, acro_form_id, b"Fields", fields, field_id)?;
    // SignaturesExist | AppendOnly.
    document.new_document.get_dictionary_mut(acro_form_id).map_err(invalid)?.set("SigFlags", 3);

    let mut bytes = Vec::with_capacity(original.len() + 2 * contents_bytes + 4096);
    document.save_to(&mut bytes).map_err(|e| Error::Internal(format!("PDF update: {e}")))?;
    if !bytes.starts_with(original) {
        return Err(Error::Internal("the PDF update changed the original bytes".into()));
    }

    // The placeholders are searched for in the update only.
    let update = original.len();
    let contents = serialized(&contents_placeholder)?;
    let hole_start = update
        + find(&bytes[update..], &contents).ok_or_else(|| Error::Internal("signature hole not written".into()))?;
    let hole = hole_start..hole_start + contents.len();
    let placeholder = serialized(&byte_range_placeholder)?;
    let at =
        update + find(&bytes[update..], &placeholder).ok_or_else(|| Error::Internal("ByteRange not written".into()))?;
    let mut byte_range = format!("[0 {} {} {}]", hole.start, hole.end, bytes.len() - hole.end).into_bytes();
    if byte_range.len() > placeholder.len() {
        return Err(Error::Internal("ByteRange does not fit its placeholder".into()));
    }
    // Spaces after `]` are PDF whitespace: the length stays the same.
    byte_range.resize(placeholder.len(), b' ');
    bytes[at..at + placeholder.len()].copy_from_slice(&byte_range);
    Ok(Prepared { bytes, hole })
}

/// Adds `item` to the array `key` of dictionary `owner` (in the update),
/// whether that array is direct, indirect or missing.
fn append_to_array(
    document: &mut IncrementalDocument,
    owner: ObjectId,
    key: &[u8],
    existing: Option<Object>,
    item: ObjectId,
) -> Result<()> {
    match existing {
        Some(Object::Reference(array_id)) => {
            document.opt_clone_object_to_new_document(array_id).map_err(invalid)?;
            let array = document.new_document.get_object_mut(array_id).and_then(Object::as_array_mut);
            array.map_err(invalid)?.push(item.into());
        }
        other => {
            let mut array = other.map(|o| o.as_array().cloned()).transpose().map_err(invalid)?.unwrap_or_default();
            array.push(item.into());
            let owner: &mut Dictionary = document.new_document.get_dictionary_mut(owner).map_err(invalid)?;
            owner.set(key, array);
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A small PDF with `pages` pages, as another program would write it.
    pub(crate) fn sample_pdf(pages: usize) -> Vec<u8> {
        let mut doc = lopdf::Document::with_version("1.7");
        let pages_id = doc.new_object_id();
        let font_id = doc.add_object(dictionary! {"Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica"});
        let kids: Vec<Object> = (0..pages)
            .map(|i| {
                let text = format!("BT /F1 24 Tf 72 720 Td (Page {}) Tj ET", i + 1);
                let content = doc.add_object(lopdf::Stream::new(Dictionary::new(), text.into_bytes()));
                doc.add_object(dictionary! {
                    "Type" => "Page", "Parent" => pages_id, "Contents" => content,
                    "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
                    "Resources" => dictionary! {"Font" => dictionary! {"F1" => font_id}},
                })
                .into()
            })
            .collect();
        doc.objects.insert(
            pages_id,
            Object::Dictionary(dictionary! {"Type" => "Pages", "Kids" => kids, "Count" => pages as i64}),
        );
        let catalog = doc.add_object(dictionary! {"Type" => "Catalog", "Pages" => pages_id});
        doc.trailer.set("Root", catalog);
        let mut out = Vec::new();
        doc.save_to(&mut out).unwrap();
        out
    }

    #[test]
    fn the_update_keeps_the_original_and_covers_everything_but_the_hole() {
        let original = sample_pdf(3);
        assert_eq!(crate::pdf::inspect(&original, None).unwrap(), 3);
        let prepared = prepare(&original, "Signature1", 1_767_225_600_000, 2000, None).unwrap();
        let bytes = prepared.bytes().to_vec();
        assert!(bytes.starts_with(&original));
        let text = String::from_utf8_lossy(&bytes[original.len()..]).into_owned();
        for needed in
            ["/SubFilter/ETSI.CAdES.detached", "/M(D:20260101000000Z)", "/SigFlags 3", "/FT/Sig", "/Annots[", "/Prev "]
        {
            assert!(text.contains(needed), "{needed} missing:\n{text}");
        }
        let range = format!("[0 {} {} {}]", prepared.hole.start, prepared.hole.end, bytes.len() - prepared.hole.end);
        assert!(text.contains(&range), "{range} not in {text}");
        assert_eq!(&bytes[prepared.hole.start..prepared.hole.start + 1], b"<");
        assert_eq!(&bytes[prepared.hole.end - 1..prepared.hole.end], b">");

        // Deterministic, and the digest covers the update outside the hole.
        let again = prepare(&original, "Signature1", 1_767_225_600_000, 2000, None).unwrap();
        assert_eq!(again.byte_range_digest(), prepared.byte_range_digest());
        let later = prepare(&original, "Signature1", 1_767_225_601_000, 2000, None).unwrap();
        assert_ne!(later.byte_range_digest(), prepared.byte_range_digest());

        let hole = prepared.hole.clone();
        let signed = prepared.finish(&[0xAB; 100]).unwrap();
        assert!(signed[hole.start + 1..].starts_with(&b"AB".repeat(100)));
        assert_eq!(signed.len(), bytes.len());
    }

    #[test]
    fn refuses_what_it_cannot_sign() {
        for bad in [&b"hello"[..], b"%PDF-1.7\nnot really", b""] {
            assert_eq!(crate::pdf::inspect(bad, None).unwrap_err().code(), ErrorCode::DocumentInvalid);
        }
        let prepared = prepare(&sample_pdf(1), "S", 0, 2000, None).unwrap();
        assert!(prepared.finish(&vec![1u8; 2001]).is_err());
    }
}
