//! Signatures already in the PDF (an agency signed before the citizen).
//! Mladenov et al. (CCS 2019) showed viewers accepting signatures that
//! sign nothing (universal signature forgery), that leave room in the
//! unsigned gap for other content (signature wrapping), or after which an
//! update changed the document (incremental saving). Our signature must
//! not be added to such a file: a reader would take both as standing for
//! what is shown. We also refuse a certification that forbids any change,
//! which our signature would break.

use super::objects::{self, dictionary, integer, name};
use super::{PdfRule, Violation, cms_digest};
use lopdf::{Dictionary, Document, Object, ObjectId};
use std::collections::BTreeSet;

pub fn check(bytes: &[u8], document: &Document) -> Result<(), Violation> {
    certification(document)?;
    let fields = objects::fields(document)?;
    let mut revisions = Vec::new();
    for field in fields.iter().filter(|f| f.field_type == Some(b"Sig")) {
        if let Ok(value) = field.dict.get(b"V") {
            revisions.push((signed_revision(bytes, document, &field.title(), value)?, field.title()));
        }
    }
    revisions.sort();
    for (end, title) in revisions {
        if bytes[end..].iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let signed = Document::load_mem(&bytes[..end]).map_err(|e| {
            Violation::new(
                PdfRule::SignatureForgery,
                format!("the revision signature {title:?} signed is unreadable: {e}"),
            )
        })?;
        changes_after_signature(&signed, document).map_err(|what| {
            Violation::new(
                PdfRule::IncrementalUpdate,
                format!("after signature {title:?}, a later revision {what}: the signed document is not what is shown"),
            )
        })?;
    }
    Ok(())
}

/// DocMDP (the document's certification) or a field lock with `/P 1`.
fn certification(document: &Document) -> Result<(), Violation> {
    let no_changes = |dict: &Dictionary| integer(document, dict, b"P") == Some(1);
    let refuse = |what: &str| {
        Err(Violation::new(
            PdfRule::CertifiedNoChanges,
            format!("{what} allows no change, and adding our signature is one"),
        ))
    };
    let certification = objects::catalog(document)
        .and_then(|c| dictionary(document, c.get(b"Perms").ok()?))
        .and_then(|perms| dictionary(document, perms.get(b"DocMDP").ok()?));
    if let Some(signature) = certification {
        let references = signature.get(b"Reference").ok().and_then(|r| document.dereference(r).ok()?.1.as_array().ok());
        for reference in references.into_iter().flatten() {
            let Some(reference) = dictionary(document, reference) else { continue };
            if name(reference, b"TransformMethod") == Some(b"DocMDP") {
                let params = reference.get(b"TransformParams").ok().and_then(|p| dictionary(document, p));
                // P defaults to 2 (form filling and signing allowed).
                if params.is_some_and(no_changes) {
                    return refuse("the certification (DocMDP P=1)");
                }
            }
        }
    }
    for field in objects::fields(document)? {
        let lock = field.dict.get(b"Lock").ok().and_then(|l| dictionary(document, l));
        if lock.is_some_and(no_changes) {
            return refuse(&format!("the lock of signature field {:?} (P=1)", field.title()));
        }
    }
    Ok(())
}

fn forgery(title: &str, what: &str) -> Violation {
    Violation::new(PdfRule::SignatureForgery, format!("signature {title:?} {what}"))
}

fn wrapping(title: &str, what: &str) -> Violation {
    Violation::new(PdfRule::SignatureWrapping, format!("signature {title:?}: {what}"))
}

/// Checks one signature and returns the end of the revision it signs.
fn signed_revision(bytes: &[u8], document: &Document, title: &str, value: &Object) -> Result<usize, Violation> {
    let signature = dictionary(document, value).ok_or_else(|| forgery(title, "has no signature dictionary"))?;
    let detached = match name(signature, b"SubFilter") {
        Some(b"adbe.pkcs7.detached" | b"ETSI.CAdES.detached") => true,
        Some(b"ETSI.RFC3161") => false,
        other => {
            let found = other.map(String::from_utf8_lossy).unwrap_or_default();
            return Err(forgery(title, &format!("has /SubFilter {found:?}, which cannot be checked")));
        }
    };
    let range: Vec<usize> = signature
        .get(b"ByteRange")
        .ok()
        .and_then(|r| document.dereference(r).ok()?.1.as_array().ok())
        .map(|items| items.iter().filter_map(|i| usize::try_from(i.as_i64().ok()?).ok()).collect())
        .unwrap_or_default();
    let [0, gap_start, gap_end, tail] = range[..] else {
        return Err(forgery(title, "has no /ByteRange [0 a b c] of four non-negative integers"));
    };
    let end = gap_end.checked_add(tail).filter(|&end| end <= bytes.len());
    let Some(end) = end.filter(|_| 0 < gap_start && gap_start < gap_end) else {
        return Err(forgery(title, "has a /ByteRange that is not two ranges inside the file"));
    };
    if !bytes[..end].trim_ascii_end().ends_with(b"%%EOF") {
        return Err(forgery(title, "has a /ByteRange that does not end where a revision ends"));
    }
    let gap = &bytes[gap_start..gap_end];
    let hex = gap.strip_prefix(b"<").and_then(|g| g.strip_suffix(b">"));
    let Some(hex) = hex.filter(|h| h.len() % 2 == 0 && h.iter().all(u8::is_ascii_hexdigit)) else {
        return Err(wrapping(title, "the gap its /ByteRange leaves unsigned holds more than a hex string"));
    };
    let contents = match signature.get(b"Contents") {
        Ok(Object::String(contents, _)) => contents,
        _ => return Err(forgery(title, "has no /Contents string")),
    };
    if decode_hex(hex).as_deref() != Some(contents.as_slice()) {
        return Err(wrapping(title, "its /Contents is not the value in the unsigned gap"));
    }
    if contents.iter().all(|&b| b == 0) {
        return Err(forgery(title, "has empty /Contents"));
    }
    if detached {
        match cms_digest::digests(contents, &[&bytes[..gap_start], &bytes[gap_end..end]]) {
            None => return Err(forgery(title, "is not a CMS SignedData with a SHA-2 messageDigest")),
            Some((signed, computed)) if signed != computed => {
                return Err(forgery(title, "signs a digest that is not that of the bytes its /ByteRange names"));
            }
            Some(_) => {}
        }
    }
    Ok(end)
}

fn decode_hex(hex: &[u8]) -> Option<Vec<u8>> {
    hex.chunks(2).map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()).collect()
}

/// What a later revision may change: only what adding a signature or
/// validation data needs (the catalog's form and DSS, a page's annotation
/// list growing by signature widgets, the form's field list growing by
/// signature fields, an unsigned signature field being signed, metadata).
/// The error says what else it changed.
fn changes_after_signature(signed: &Document, now: &Document) -> Result<(), String> {
    let catalog = now.trailer.get(b"Root").and_then(Object::as_reference).ok();
    let info = now.trailer.get(b"Info").and_then(Object::as_reference).ok();
    let validation_data = dss_objects(now);
    for id in objects::reachable(signed) {
        let before = signed.get_object(id).map_err(|_| format!("loses object {} {}", id.0, id.1))?;
        let after = now.get_object(id).map_err(|_| format!("removes object {} {}", id.0, id.1))?;
        if before == after || Some(id) == info || validation_data.contains(&id) || is_metadata(after) {
            continue;
        }
        let changed = |what: &str| Err(format!("changes {what} (object {} {})", id.0, id.1));
        match (before, after) {
            (Object::Array(old), Object::Array(new)) => {
                if !grows_by_signatures(old, new, now) {
                    return changed("an array by more than added signatures");
                }
            }
            (Object::Dictionary(old), Object::Dictionary(new)) => {
                if Some(id) == catalog {
                    only_keys(old, new, &[b"AcroForm", b"DSS", b"Extensions", b"Version", b"Metadata"])
                        .or_else(|_| changed("the catalog"))?;
                    if let (Ok(Object::Dictionary(old)), Ok(Object::Dictionary(new))) =
                        (old.get(b"AcroForm"), new.get(b"AcroForm"))
                    {
                        form_changes(old, new, now).or_else(|_| changed("the form"))?;
                    }
                } else if name(new, b"Type") == Some(b"Page") {
                    only_keys(old, new, &[b"Annots"]).or_else(|_| changed("a page"))?;
                    list_grows(old, new, b"Annots", signed, now).or_else(|_| changed("a page's annotations"))?;
                } else if new.has(b"Fields") {
                    form_changes(old, new, now).or_else(|_| changed("the form"))?;
                } else if is_signature_field(signed, before) && !old.has(b"V") {
                    only_keys(old, new, &[b"V", b"AP", b"AS", b"F", b"Lock", b"SV"])
                        .or_else(|_| changed("a signature field"))?;
                } else {
                    return changed("an object");
                }
            }
            _ => return changed("an object"),
        }
    }
    Ok(())
}

fn form_changes(old: &Dictionary, new: &Dictionary, now: &Document) -> Result<(), ()> {
    only_keys(old, new, &[b"Fields", b"SigFlags", b"DR", b"DA"])?;
    match (old.get(b"Fields"), new.get(b"Fields")) {
        (Ok(Object::Array(old)), Ok(Object::Array(new))) if !grows_by_signatures(old, new, now) => Err(()),
        _ => Ok(()),
    }
}

/// `key` of a dictionary, an array direct or behind a reference, may only grow by signatures.
fn list_grows(old: &Dictionary, new: &Dictionary, key: &[u8], signed: &Document, now: &Document) -> Result<(), ()> {
    let array = |document: &Document, dict: &Dictionary| -> Option<Vec<Object>> {
        match dict.get(key).ok() {
            None => Some(Vec::new()),
            Some(value) => document.dereference(value).ok()?.1.as_array().ok().cloned(),
        }
    };
    let (Some(old), Some(new)) = (array(signed, old), array(now, new)) else { return Err(()) };
    if grows_by_signatures(&old, &new, now) { Ok(()) } else { Err(()) }
}

fn grows_by_signatures(old: &[Object], new: &[Object], now: &Document) -> bool {
    new.len() >= old.len()
        && new[..old.len()] == *old
        && new[old.len()..].iter().all(|added| now.dereference(added).is_ok_and(|(_, o)| is_signature_field(now, o)))
}

/// Only `allowed` keys differ between the two dictionaries.
fn only_keys(old: &Dictionary, new: &Dictionary, allowed: &[&[u8]]) -> Result<(), ()> {
    let keys: BTreeSet<&Vec<u8>> = old.iter().chain(new.iter()).map(|(k, _)| k).collect();
    let differs = keys.into_iter().any(|k| !allowed.contains(&k.as_slice()) && old.get(k).ok() != new.get(k).ok());
    if differs { Err(()) } else { Ok(()) }
}

fn is_signature_field(document: &Document, object: &Object) -> bool {
    let Some(dict) = dictionary(document, object) else { return false };
    name(dict, b"FT") == Some(b"Sig")
        || (name(dict, b"Subtype") == Some(b"Widget")
            && dict
                .get(b"Parent")
                .ok()
                .and_then(|p| dictionary(document, p))
                .is_some_and(|p| name(p, b"FT") == Some(b"Sig")))
}

fn is_metadata(object: &Object) -> bool {
    matches!(object, Object::Stream(s) if name(&s.dict, b"Type") == Some(b"Metadata"))
}

/// Everything reachable from the catalog's /DSS: validation data (PAdES B-LT).
fn dss_objects(document: &Document) -> BTreeSet<ObjectId> {
    let mut pending = Vec::new();
    if let Some(dss) = objects::catalog(document).and_then(|c| c.get(b"DSS").ok()) {
        objects::references(dss, &mut pending);
    }
    let mut seen = BTreeSet::new();
    while let Some(id) = pending.pop() {
        if seen.insert(id)
            && let Ok(object) = document.get_object(id)
        {
            objects::references(object, &mut pending);
        }
    }
    seen
}
