//! Reading a PDF's object graph the way the rules need it: what the
//! document uses, and dictionaries behind references.

use lopdf::{Dictionary, Document, Object, ObjectId};
use std::collections::BTreeSet;

/// Every object the document uses: reachable from the trailer's /Root and
/// /Info through references, however deep.
pub fn reachable(document: &Document) -> BTreeSet<ObjectId> {
    let mut seen = BTreeSet::new();
    let mut pending: Vec<ObjectId> = [b"Root".as_slice(), b"Info"]
        .iter()
        .filter_map(|key| document.trailer.get(key).ok()?.as_reference().ok())
        .collect();
    while let Some(id) = pending.pop() {
        if !seen.insert(id) {
            continue;
        }
        if let Ok(object) = document.get_object(id) {
            references(object, &mut pending);
        }
    }
    seen
}

/// The references directly inside `object` (not behind other references).
pub fn references(object: &Object, out: &mut Vec<ObjectId>) {
    match object {
        Object::Reference(id) => out.push(*id),
        Object::Array(items) => items.iter().for_each(|item| references(item, out)),
        Object::Dictionary(dict) => dict.iter().for_each(|(_, value)| references(value, out)),
        Object::Stream(stream) => stream.dict.iter().for_each(|(_, value)| references(value, out)),
        _ => {}
    }
}

/// The dictionary `object` is or refers to (a stream's dictionary too).
pub fn dictionary<'a>(document: &'a Document, object: &'a Object) -> Option<&'a Dictionary> {
    match document.dereference(object).ok()?.1 {
        Object::Dictionary(dict) => Some(dict),
        Object::Stream(stream) => Some(&stream.dict),
        _ => None,
    }
}

/// The name under `key`, e.g. `/Type`.
pub fn name<'a>(dict: &'a Dictionary, key: &[u8]) -> Option<&'a [u8]> {
    dict.get(key).ok()?.as_name().ok()
}

/// The integer under `key`, behind a reference if need be.
pub fn integer(document: &Document, dict: &Dictionary, key: &[u8]) -> Option<i64> {
    document.dereference(dict.get(key).ok()?).ok()?.1.as_i64().ok()
}

/// The catalog (`/Root`).
pub fn catalog(document: &Document) -> Option<&Dictionary> {
    dictionary(document, document.trailer.get(b"Root").ok()?)
}

/// Every terminal field of the interactive form, with its inherited field
/// type and flags (PDF 32000-1 §12.7.3.1).
pub struct Field<'a> {
    pub dict: &'a Dictionary,
    pub field_type: Option<&'a [u8]>,
    pub flags: i64,
}

impl Field<'_> {
    pub fn title(&self) -> String {
        self.dict
            .get(b"T")
            .ok()
            .and_then(|t| t.as_str().ok())
            .map(|t| String::from_utf8_lossy(t).into_owned())
            .unwrap_or_else(|| "(unnamed)".to_owned())
    }
}

/// At most this many fields are walked: a form deeper or larger is refused
/// by the caller rather than walked for ever.
pub const MAX_FIELDS: usize = 10_000;

/// The form has more fields than `MAX_FIELDS`.
#[derive(Debug)]
pub struct TooManyFields;

pub fn fields(document: &Document) -> Result<Vec<Field<'_>>, TooManyFields> {
    let mut out = Vec::new();
    let form = catalog(document).and_then(|c| dictionary(document, c.get(b"AcroForm").ok()?));
    let roots = form.and_then(|f| document.dereference(f.get(b"Fields").ok()?).ok()?.1.as_array().ok());
    let Some(roots) = roots else { return Ok(out) };
    let mut pending: Vec<(&Object, Option<&[u8]>, i64)> = roots.iter().map(|item| (item, None, 0)).collect();
    let mut visited = BTreeSet::new();
    while let Some((object, inherited_type, inherited_flags)) = pending.pop() {
        if out.len() + pending.len() > MAX_FIELDS {
            return Err(TooManyFields);
        }
        if let Ok(id) = object.as_reference()
            && !visited.insert(id)
        {
            continue;
        }
        let Some(dict) = dictionary(document, object) else { continue };
        let field_type = name(dict, b"FT").or(inherited_type);
        let flags = integer(document, dict, b"Ff").unwrap_or(inherited_flags);
        let kids: Vec<&Object> = dict
            .get(b"Kids")
            .ok()
            .and_then(|k| document.dereference(k).ok()?.1.as_array().ok())
            .map(|items| items.iter().collect())
            .unwrap_or_default();
        // Kids that are only widgets (no /T) belong to this field.
        let field_kids: Vec<&Object> =
            kids.into_iter().filter(|k| dictionary(document, k).is_some_and(|d| d.has(b"T"))).collect();
        if field_kids.is_empty() {
            out.push(Field { dict, field_type, flags });
        } else {
            pending.extend(field_kids.into_iter().map(|k| (k, field_type, flags)));
        }
    }
    Ok(out)
}
