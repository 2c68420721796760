//! PAdES B-LT and B-LTA (ETSI EN 319 142-1 5.4): after the signature, an
//! incremental update with the Document Security Store (the certificates,
//! OCSP answers and CRLs a validator needs, offline), then, for B-LTA, a
//! document timestamp over the whole file. Neither touches the signed
//! bytes: the signature's byte range stays what both channels confirmed
//! and the SAM checked.

use super::pades::{invalid, load};
use crate::error::{Error, Result};
use lopdf::{Object, ObjectId, Stream, dictionary};

/// What a validator needs besides the signature itself.
#[derive(Debug, Clone, Default)]
pub struct ValidationData {
    pub certificates: Vec<Vec<u8>>,
    pub ocsp_responses: Vec<Vec<u8>>,
    pub crls: Vec<Vec<u8>>,
}

/// Appends the DSS to a signed PDF.
pub fn add_dss(signed: &[u8], data: &ValidationData) -> Result<Vec<u8>> {
    let mut document = load(signed)?;
    let previous = document.get_prev_documents();
    let root_id: ObjectId = previous.trailer.get(b"Root").and_then(Object::as_reference).map_err(invalid)?;
    document.opt_clone_object_to_new_document(root_id).map_err(invalid)?;
    let new = &mut document.new_document;
    let mut streams = |items: &[Vec<u8>]| -> Vec<Object> {
        items.iter().map(|der| new.add_object(Stream::new(lopdf::Dictionary::new(), der.clone())).into()).collect()
    };
    let certs = streams(&data.certificates);
    let ocsps = streams(&data.ocsp_responses);
    let crls = streams(&data.crls);
    let dss = new.add_object(dictionary! {
        "Type" => "DSS",
        "Certs" => certs,
        "OCSPs" => ocsps,
        "CRLs" => crls,
    });
    new.get_dictionary_mut(root_id).map_err(invalid)?.set("DSS", dss);
    let mut bytes = Vec::with_capacity(signed.len() + 16 * 1024);
    document.save_to(&mut bytes).map_err(|e| Error::Internal(format!("PDF update: {e}")))?;
    if !bytes.starts_with(signed) {
        return Err(Error::Internal("the DSS update changed the signed bytes".into()));
    }
    Ok(bytes)
}
