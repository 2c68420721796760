//! Content that runs, opens, or depends on the viewer: neither channel can
//! show what it will do, so a PDF that has any is not signed.

use super::objects::name;
use super::{PdfRule, Violation};
use lopdf::{Dictionary, Document, Object, ObjectId};
use std::collections::BTreeSet;

/// Actions that only move within the document or open a link the person
/// sees and must click; every other action type is refused.
const HARMLESS_ACTIONS: &[&[u8]] = &[b"GoTo", b"URI"];

/// Every action type of PDF 32000-1 Table 198 and PDF 2.0.
const ACTIONS: &[&[u8]] = &[
    b"GoTo",
    b"GoToR",
    b"GoToE",
    b"GoToDp",
    b"Launch",
    b"Thread",
    b"URI",
    b"Sound",
    b"Movie",
    b"Hide",
    b"Named",
    b"SubmitForm",
    b"ResetForm",
    b"ImportData",
    b"JavaScript",
    b"ECMAScript",
    b"SetOCGState",
    b"Rendition",
    b"Trans",
    b"GoTo3DView",
    b"RichMediaExecute",
];

/// Annotations that carry a file or media rather than a drawing.
const EMBEDDING_ANNOTATIONS: &[&[u8]] = &[b"FileAttachment", b"RichMedia", b"3D", b"Movie", b"Sound", b"Screen"];

pub fn check(document: &Document, reachable: &BTreeSet<ObjectId>) -> Result<(), Violation> {
    for id in reachable {
        if let Ok(object) = document.get_object(*id) {
            check_object(object, *id, 0)?;
        }
    }
    Ok(())
}

/// Direct objects nest; this bound keeps a hostile nesting from exhausting the stack.
const MAX_DEPTH: usize = 64;

fn check_object(object: &Object, id: ObjectId, depth: usize) -> Result<(), Violation> {
    let at = |what: &str| format!("{what} (object {} {})", id.0, id.1);
    if depth > MAX_DEPTH {
        return Err(Violation::new(PdfRule::Action, at("objects nested too deep to check")));
    }
    match object {
        Object::Array(items) => items.iter().try_for_each(|item| check_object(item, id, depth + 1)),
        Object::Dictionary(dict) => check_dictionary(dict, &at, depth, id),
        Object::Stream(stream) => {
            if filters(&stream.dict).any(|f| f == b"Crypt") {
                return Err(Violation::new(PdfRule::Encrypted, at("a stream is encrypted with a /Crypt filter")));
            }
            check_dictionary(&stream.dict, &at, depth, id)
        }
        _ => Ok(()),
    }
}

fn filters(dict: &Dictionary) -> impl Iterator<Item = &[u8]> {
    let list: Vec<&[u8]> = match dict.get(b"Filter") {
        Ok(Object::Name(single)) => vec![single.as_slice()],
        Ok(Object::Array(items)) => items.iter().filter_map(|i| i.as_name().ok()).collect(),
        _ => Vec::new(),
    };
    list.into_iter()
}

fn check_dictionary(
    dict: &Dictionary,
    at: &dyn Fn(&str) -> String,
    depth: usize,
    id: ObjectId,
) -> Result<(), Violation> {
    let refuse = |rule: PdfRule, what: &str| Err(Violation::new(rule, at(what)));
    if dict.has(b"JS") || dict.has(b"JavaScript") {
        return refuse(PdfRule::JavaScript, "JavaScript");
    }
    if let Some(action) = name(dict, b"S").filter(|s| ACTIONS.contains(s)) {
        if matches!(action, b"JavaScript" | b"ECMAScript") {
            return refuse(PdfRule::JavaScript, "a JavaScript action");
        }
        if !HARMLESS_ACTIONS.contains(&action) {
            return refuse(PdfRule::Action, &format!("a /{} action", String::from_utf8_lossy(action)));
        }
    }
    if dict.has(b"AA") {
        return refuse(PdfRule::Action, "additional actions (/AA), run when the viewer opens, closes or prints");
    }
    if dict.has(b"EmbeddedFiles") || dict.has(b"EF") || name(dict, b"Type") == Some(b"EmbeddedFile") {
        return refuse(PdfRule::EmbeddedFile, "an embedded file");
    }
    if name(dict, b"Subtype").is_some_and(|s| EMBEDDING_ANNOTATIONS.contains(&s)) {
        return refuse(PdfRule::EmbeddedFile, "an annotation that carries a file or media");
    }
    if dict.has(b"XFA") || dict.has(b"NeedsRendering") {
        return refuse(PdfRule::Xfa, "an XFA form");
    }
    if dict.has(b"OCProperties") {
        return refuse(PdfRule::OptionalContent, "optional content (layers)");
    }
    dict.iter().try_for_each(|(_, value)| check_object(value, id, depth + 1))
}
