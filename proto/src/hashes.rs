//! Hash-only signing: the document both channels confirm when a client
//! (a CSC `credentials/authorize`) sends only the hashes it wants signed.
//!
//! The server never sees the documents behind the hashes, so it shows what
//! it does see and says so: the requester (on both channels, as for every
//! request), a description, the hash algorithm, every hash and the label
//! the client gave it, and a first line saying that only these hashes are
//! signed. The manifest (`application/vnd.wysiwys.hashes+json`, RFC 8785
//! bytes) is the request's document; its SHA-256 is what the channels
//! confirm, and each hash may then be signed once.

use crate::summary::{MAX_TITLE_CHARS, RenderError, SummaryLine, check_field};
use crate::{b64, jcs};
use serde::{Deserialize, Serialize};

pub const MEDIA_TYPE_HASHES: &str = "application/vnd.wysiwys.hashes+json";
pub const HASHES_VERSION: &str = "hashes/1";
/// The most hashes one authorization may cover (CSC `multisign`).
pub const MAX_HASHES: usize = 100;
/// SHA-256, the one hash algorithm a P-256 key signs here.
pub const HASH_ALGORITHM: &str = "SHA-256";
const MAX_LABEL_CHARS: usize = 120;
const MAX_MANIFEST_BYTES: usize = 64 * 1024;
/// The first line of every hash-only summary.
pub const ONLY_HASHES_NOTICE: &str = "only the hashes below; the documents they stand for are not shown here";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HashManifest {
    pub v: String,
    /// What the client says the signatures are for.
    pub description: String,
    pub hash_algorithm: String,
    pub hashes: Vec<HashEntry>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HashEntry {
    /// Standard base64 (with padding), as CSC clients send and show it.
    pub hash: String,
    /// The client's name for what this hash stands for, if it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

fn check_text(name: &str, value: &str, max: usize) -> Result<(), RenderError> {
    check_field(name, value)?;
    if value.trim().is_empty() || value.trim() != value || value.chars().count() > max {
        return Err(RenderError::invalid(format!("{name} must be 1 to {max} characters without outer spaces")));
    }
    Ok(())
}

impl HashManifest {
    /// A manifest for SHA-256 digests, checked as the channels will show it.
    pub fn new(description: &str, hashes: Vec<HashEntry>) -> Result<HashManifest, RenderError> {
        let manifest = HashManifest {
            v: HASHES_VERSION.to_owned(),
            description: description.to_owned(),
            hash_algorithm: HASH_ALGORITHM.to_owned(),
            hashes,
        };
        manifest.check()?;
        Ok(manifest)
    }

    /// The digests, in order.
    pub fn digests(&self) -> Result<Vec<[u8; 32]>, RenderError> {
        self.hashes
            .iter()
            .map(|h| {
                b64::decode_standard(&h.hash)
                    .filter(|bytes| b64::encode_standard(bytes) == h.hash)
                    .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
                    .ok_or_else(|| RenderError::invalid("a hash is not 32 bytes of padded standard base64"))
            })
            .collect()
    }

    fn check(&self) -> Result<(), RenderError> {
        if self.v != HASHES_VERSION {
            return Err(RenderError::invalid(format!("unknown hash manifest version {:?}", self.v)));
        }
        if self.hash_algorithm != HASH_ALGORITHM {
            return Err(RenderError::invalid(format!("the hash algorithm is {HASH_ALGORITHM}")));
        }
        if !(1..=MAX_HASHES).contains(&self.hashes.len()) {
            return Err(RenderError::invalid(format!("1 to {MAX_HASHES} hashes")));
        }
        check_text("description", &self.description, MAX_TITLE_CHARS)?;
        for entry in &self.hashes {
            if let Some(label) = &entry.label {
                check_text("hash label", label, MAX_LABEL_CHARS)?;
            }
        }
        let mut digests = self.digests()?;
        digests.sort_unstable();
        if digests.windows(2).any(|pair| pair[0] == pair[1]) {
            return Err(RenderError::invalid("a hash appears twice; each is signed once"));
        }
        Ok(())
    }

    /// The exact bytes both channels confirm: RFC 8785.
    pub fn canonical_bytes(&self) -> Result<Vec<u8>, RenderError> {
        jcs::to_vec(self).map_err(|e| RenderError::invalid(format!("hash manifest: {e}")))
    }

    /// Reads and checks stored manifest bytes.
    pub fn parse(document: &[u8]) -> Result<HashManifest, RenderError> {
        if document.len() > MAX_MANIFEST_BYTES {
            return Err(RenderError::invalid(format!("hash manifest is larger than {MAX_MANIFEST_BYTES} bytes")));
        }
        let manifest: HashManifest =
            serde_json::from_slice(document).map_err(|e| RenderError::invalid(format!("hash manifest: {e}")))?;
        manifest.check()?;
        Ok(manifest)
    }
}

/// The summary lines: what is signed, the algorithm, then every hash with
/// its label.
pub(crate) fn render(document: &[u8]) -> Result<(String, Vec<SummaryLine>), RenderError> {
    let manifest = HashManifest::parse(document)?;
    let line = |label: String, value: String| SummaryLine { label, value };
    let mut lines = vec![
        line("Signed".to_owned(), ONLY_HASHES_NOTICE.to_owned()),
        line("Hash algorithm".to_owned(), manifest.hash_algorithm.clone()),
    ];
    for (i, entry) in manifest.hashes.iter().enumerate() {
        let n = i + 1;
        if let Some(label) = &entry.label {
            lines.push(line(format!("Hash {n} is for"), label.clone()));
        }
        lines.push(line(format!("Hash {n}"), entry.hash.clone()));
    }
    Ok((manifest.description, lines))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    fn entry(content: &[u8], label: Option<&str>) -> HashEntry {
        HashEntry { hash: b64::encode_standard(jcs::sha256(content)), label: label.map(str::to_owned) }
    }

    #[test]
    fn renders_the_notice_the_algorithm_and_every_hash() {
        let manifest =
            HashManifest::new("Loan contract", vec![entry(b"a", Some("contract.pdf")), entry(b"b", None)]).unwrap();
        let (title, lines) = render(&manifest.canonical_bytes().unwrap()).unwrap();
        assert_eq!(title, "Loan contract");
        let shown: Vec<(&str, &str)> = lines.iter().map(|l| (l.label.as_str(), l.value.as_str())).collect();
        assert_eq!(shown[0], ("Signed", ONLY_HASHES_NOTICE));
        assert_eq!(shown[1], ("Hash algorithm", "SHA-256"));
        assert_eq!(shown[2], ("Hash 1 is for", "contract.pdf"));
        assert_eq!(shown[3], ("Hash 1", manifest.hashes[0].hash.as_str()));
        assert_eq!(shown[4], ("Hash 2", manifest.hashes[1].hash.as_str()));
        assert_eq!(shown.len(), 5);
    }

    #[test]
    fn refuses_what_could_be_shown_otherwise_or_signed_twice() {
        let twice = HashManifest::new("Twice", vec![entry(b"a", None), entry(b"a", None)]);
        assert_eq!(twice.unwrap_err().code, ErrorCode::DocumentInvalid);
        let hidden = HashManifest::new("Loan", vec![entry(b"a", Some("contract\u{202e}fdp.exe"))]);
        assert_eq!(hidden.unwrap_err().code, ErrorCode::UnsafeDocument);
        let short = HashManifest::new("Loan", vec![HashEntry { hash: b64::encode_standard([1u8; 20]), label: None }]);
        assert_eq!(short.unwrap_err().code, ErrorCode::DocumentInvalid);
        // base64url or unpadded: the same digest, shown differently; refused.
        let url = HashManifest::new("Loan", vec![HashEntry { hash: b64::encode([0xfbu8; 32]), label: None }]);
        assert!(url.is_err());
        assert!(HashManifest::new("None", Vec::new()).is_err());
        let many = (0..=MAX_HASHES).map(|i| entry(&i.to_be_bytes(), None)).collect();
        assert!(HashManifest::new("Too many", many).is_err());
        assert!(HashManifest::new(" padded", vec![entry(b"a", None)]).is_err());
    }
}
