//! Batches: one confirmation on both channels for up to 100 documents.
//!
//! The batch itself is a document (`application/vnd.wysiwys.batch+json`): a
//! manifest with a title and, per document, its title, media type, size and
//! hash, and the RFC 6962 Merkle root of the document hashes. Both channels
//! show the titles and the root and confirm the manifest; each document is
//! then signed on its own, its evidence carrying the root and its inclusion
//! path (see `merkle`).

use crate::summary::{MAX_TITLE_CHARS, RenderError, SummaryLine, check_field};
use crate::{b64, jcs, merkle};
use serde::{Deserialize, Serialize};

pub const MEDIA_TYPE_BATCH: &str = "application/vnd.wysiwys.batch+json";
pub const BATCH_VERSION: &str = "batch/1";
pub const MAX_BATCH_DOCUMENTS: usize = 100;
const MAX_MANIFEST_BYTES: usize = 64 * 1024;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchManifest {
    pub v: String,
    pub title: String,
    pub documents: Vec<BatchEntry>,
    /// base64url RFC 6962 Merkle root over the documents' SHA-256, in order.
    pub merkle_root: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchEntry {
    pub title: String,
    pub media_type: String,
    pub size: u64,
    /// base64url SHA-256 of the document.
    pub sha256: String,
}

fn check_title(name: &str, title: &str) -> Result<(), RenderError> {
    check_field(name, title)?;
    if title.trim().is_empty() || title.chars().count() > MAX_TITLE_CHARS {
        return Err(RenderError::invalid(format!("{name} must be 1 to {MAX_TITLE_CHARS} characters")));
    }
    Ok(())
}

impl BatchManifest {
    /// A manifest for documents whose titles were rendered and checked.
    pub fn new(title: &str, documents: Vec<BatchEntry>) -> Result<BatchManifest, RenderError> {
        let mut manifest = BatchManifest {
            v: BATCH_VERSION.to_owned(),
            title: title.to_owned(),
            documents,
            merkle_root: String::new(),
        };
        manifest.merkle_root = b64::encode(manifest.computed_root()?);
        manifest.check()?;
        Ok(manifest)
    }

    /// The documents' hashes in order, as the Merkle tree's leaves.
    pub fn document_hashes(&self) -> Result<Vec<merkle::Hash>, RenderError> {
        self.documents
            .iter()
            .map(|d| {
                b64::decode_array::<32>(&d.sha256).ok_or_else(|| RenderError::invalid("a document hash is malformed"))
            })
            .collect()
    }

    fn computed_root(&self) -> Result<merkle::Hash, RenderError> {
        merkle::root(&self.document_hashes()?).ok_or_else(|| RenderError::invalid("a batch needs a document"))
    }

    fn check(&self) -> Result<(), RenderError> {
        if self.v != BATCH_VERSION {
            return Err(RenderError::invalid(format!("unknown batch version {:?}", self.v)));
        }
        if !(1..=MAX_BATCH_DOCUMENTS).contains(&self.documents.len()) {
            return Err(RenderError::invalid(format!("a batch has 1 to {MAX_BATCH_DOCUMENTS} documents")));
        }
        check_title("batch title", &self.title)?;
        for entry in &self.documents {
            check_title("document title", &entry.title)?;
            check_field("media type", &entry.media_type)?;
        }
        if b64::encode(self.computed_root()?) != self.merkle_root {
            return Err(RenderError::invalid("the Merkle root does not match the documents"));
        }
        Ok(())
    }

    /// The exact bytes both channels confirm: RFC 8785.
    pub fn canonical_bytes(&self) -> Result<Vec<u8>, RenderError> {
        jcs::to_vec(self).map_err(|e| RenderError::invalid(format!("manifest: {e}")))
    }
}

/// The summary lines of a batch: every title, numbered, then the root.
pub(crate) fn render(document: &[u8]) -> Result<(String, Vec<SummaryLine>), RenderError> {
    if document.len() > MAX_MANIFEST_BYTES {
        return Err(RenderError::invalid(format!("batch manifest is larger than {MAX_MANIFEST_BYTES} bytes")));
    }
    let manifest: BatchManifest =
        serde_json::from_slice(document).map_err(|e| RenderError::invalid(format!("batch manifest: {e}")))?;
    manifest.check()?;
    let mut lines: Vec<SummaryLine> = manifest
        .documents
        .iter()
        .enumerate()
        .map(|(i, d)| SummaryLine { label: format!("{}", i + 1), value: d.title.clone() })
        .collect();
    lines.push(SummaryLine { label: "Merkle root".to_owned(), value: manifest.merkle_root.clone() });
    Ok((format!("{} ({} documents)", manifest.title, manifest.documents.len()), lines))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    fn entry(title: &str, content: &[u8]) -> BatchEntry {
        BatchEntry {
            title: title.into(),
            media_type: "text/plain".into(),
            size: content.len() as u64,
            sha256: b64::encode(jcs::sha256(content)),
        }
    }

    #[test]
    fn renders_titles_and_root_and_refuses_a_wrong_root() {
        let manifest = BatchManifest::new("Salary payments", vec![entry("One", b"1"), entry("Two", b"2")]).unwrap();
        let (title, lines) = render(&manifest.canonical_bytes().unwrap()).unwrap();
        assert_eq!(title, "Salary payments (2 documents)");
        assert_eq!((lines[1].label.as_str(), lines[1].value.as_str()), ("2", "Two"));
        assert_eq!(lines[2].value, manifest.merkle_root);
        let mut forged = manifest.clone();
        forged.documents[1].title = "Three".into();
        forged.documents[1].sha256 = entry("Three", b"3").sha256;
        assert_eq!(render(&forged.canonical_bytes().unwrap()).unwrap_err().code, ErrorCode::DocumentInvalid);
        let mut hidden = manifest;
        hidden.documents[0].title = "On\u{200b}e".into();
        assert_eq!(render(&hidden.canonical_bytes().unwrap()).unwrap_err().code, ErrorCode::UnsafeDocument);
    }

    #[test]
    fn at_most_a_hundred_documents() {
        let many: Vec<BatchEntry> = (0..=MAX_BATCH_DOCUMENTS).map(|i| entry("x", &i.to_be_bytes())).collect();
        assert!(BatchManifest::new("Too many", many).is_err());
        assert!(BatchManifest::new("None", Vec::new()).is_err());
    }
}
