//! Shadow attacks (Mainka et al., NDSS 2021) prepare a PDF before it is
//! signed so that a later, "allowed" update changes what it shows: objects
//! hidden in the file that an update only has to reference (hide,
//! hide-and-replace), and form fields whose value an update may change
//! (replace). We refuse to sign such a file; the signer is the one party
//! that can stop the attack before it exists.

use super::objects::{self, name};
use super::{PdfRule, Violation};
use lopdf::{Document, Object, ObjectId};
use std::collections::BTreeSet;

/// Objects that belong to the file's structure rather than to the document.
fn is_file_structure(object: &Object) -> bool {
    let dict = match object {
        Object::Stream(stream) => &stream.dict,
        Object::Dictionary(dict) => dict,
        _ => return false,
    };
    matches!(name(dict, b"Type"), Some(b"ObjStm" | b"XRef")) || dict.has(b"Linearized")
}

pub fn unused_objects(document: &Document, reachable: &BTreeSet<ObjectId>) -> Result<(), Violation> {
    let unused = document
        .objects
        .iter()
        .find(|(id, object)| !reachable.contains(id) && !is_file_structure(object) && !matches!(object, Object::Null));
    match unused {
        Some(((number, generation), _)) => Err(Violation::new(
            PdfRule::UnusedObject,
            format!(
                "object {number} {generation} is in the file but not in the document; a later update could show it \
                 (shadow attack). Save the PDF without unused objects"
            ),
        )),
        None => Ok(()),
    }
}

/// Field flag bit 1 (PDF 32000-1 Table 221).
const READ_ONLY: i64 = 1;

pub fn form_fields(document: &Document) -> Result<(), Violation> {
    let fields = objects::fields(document)?;
    match fields.iter().find(|f| f.field_type != Some(b"Sig") && f.flags & READ_ONLY == 0) {
        Some(field) => Err(Violation::new(
            PdfRule::FormField,
            format!(
                "form field {:?} can still be filled in, and a viewer would accept a new value after our signature \
                 (shadow replace); make it read-only or flatten the form",
                field.title()
            ),
        )),
        None => Ok(()),
    }
}
