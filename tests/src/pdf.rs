//! PDFs the tests send, made with lopdf the way a plain office export
//! looks: pages of text, nothing interactive. Attacks start from these.

use lopdf::{Dictionary, Document, Object, ObjectId, dictionary};

/// One page per entry of `pages`, each with its text in Helvetica.
pub fn text_pages(pages: &[&str]) -> Document {
    let mut doc = Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let font = doc.add_object(dictionary! {"Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica"});
    let kids: Vec<Object> = pages
        .iter()
        .map(|text| {
            let content = doc.add_object(lopdf::Stream::new(Dictionary::new(), page_content(text)));
            doc.add_object(dictionary! {
                "Type" => "Page", "Parent" => pages_id, "Contents" => content,
                "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
                "Resources" => dictionary! {"Font" => dictionary! {"F1" => font}},
            })
            .into()
        })
        .collect();
    let count = i64::try_from(kids.len()).expect("a few pages");
    doc.objects.insert(pages_id, Object::Dictionary(dictionary! {"Type" => "Pages", "Kids" => kids, "Count" => count}));
    let catalog = doc.add_object(dictionary! {"Type" => "Catalog", "Pages" => pages_id});
    doc.trailer.set("Root", catalog);
    doc
}

/// A page's content stream drawing `text` (no parentheses or backslashes in it).
pub fn page_content(text: &str) -> Vec<u8> {
    format!("BT /F1 18 Tf 72 760 Td ({text}) Tj ET").into_bytes()
}

/// The file, as lopdf writes it.
pub fn bytes(doc: &mut Document) -> Vec<u8> {
    let mut out = Vec::new();
    doc.save_to(&mut out).expect("lopdf writes to memory");
    out
}

/// The catalog's object id.
pub fn catalog_id(doc: &Document) -> ObjectId {
    doc.trailer.get(b"Root").and_then(Object::as_reference).expect("a catalog")
}

/// The first page's object id.
pub fn first_page_id(doc: &Document) -> ObjectId {
    *doc.get_pages().get(&1).expect("a first page")
}
