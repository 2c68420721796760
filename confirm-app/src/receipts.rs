//! Receipts: every decision the device made, in an append-only file where
//! each entry carries the hash of the one before (a hash chain), so that a
//! removed or altered entry is detected by `receipts --verify`.

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use wysiwys_proto::summary::Summary;
use wysiwys_proto::{b64, jcs};

/// Hash of "no previous entry".
const GENESIS: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    pub seq: u64,
    /// Seconds since the epoch, by the device's clock.
    pub at: i64,
    pub server: String,
    pub device_id: String,
    pub request_id: String,
    pub requester: String,
    pub summary: Summary,
    pub doc_sha256: String,
    pub summary_sha256: String,
    pub verification_code: String,
    /// approve, reject, not_me.
    pub decision: String,
    pub sad_sha256: String,
    /// The server's answer, or null when the connection ended before it.
    pub ack: Option<serde_json::Value>,
    /// `hash` of the previous receipt.
    pub prev: String,
    /// base64url SHA-256 of the JCS form of this receipt without `hash`.
    #[serde(default)]
    pub hash: String,
}

/// The fields a new receipt is made of; numbering and chaining are added here.
#[derive(Debug, Clone)]
pub struct NewReceipt {
    pub at: i64,
    pub server: String,
    pub device_id: String,
    pub request_id: String,
    pub requester: String,
    pub summary: Summary,
    pub doc_sha256: String,
    pub summary_sha256: String,
    pub verification_code: String,
    pub decision: String,
    pub sad_sha256: String,
    pub ack: Option<serde_json::Value>,
}

fn hash_of(r: &Receipt) -> Result<String> {
    let mut unsigned = serde_json::to_value(r)?;
    if let Some(map) = unsigned.as_object_mut() {
        map.remove("hash");
    }
    Ok(b64::encode(jcs::hash(&unsigned)?))
}

#[derive(Debug, Clone)]
pub struct ReceiptLog {
    path: PathBuf,
}

impl ReceiptLog {
    pub fn at(home_root: &Path) -> ReceiptLog {
        ReceiptLog { path: home_root.join("receipts.jsonl") }
    }

    pub fn read(&self) -> Result<Vec<Receipt>> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        text.lines()
            .enumerate()
            .map(|(i, line)| serde_json::from_str(line).with_context(|| format!("receipt line {}", i + 1)))
            .collect()
    }

    /// Appends one receipt, chained to the last one, and syncs it to disk.
    pub fn append(&self, new: NewReceipt) -> Result<Receipt> {
        let existing = self.read()?;
        let (seq, prev) = existing.last().map_or((1, GENESIS.to_owned()), |last| (last.seq + 1, last.hash.clone()));
        let mut receipt = Receipt {
            seq,
            at: new.at,
            server: new.server,
            device_id: new.device_id,
            request_id: new.request_id,
            requester: new.requester,
            summary: new.summary,
            doc_sha256: new.doc_sha256,
            summary_sha256: new.summary_sha256,
            verification_code: new.verification_code,
            decision: new.decision,
            sad_sha256: new.sad_sha256,
            ack: new.ack,
            prev,
            hash: String::new(),
        };
        receipt.hash = hash_of(&receipt)?;
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&self.path)?;
        let mut line = serde_json::to_vec(&receipt)?;
        line.push(b'\n');
        file.write_all(&line)?;
        file.sync_all()?;
        Ok(receipt)
    }

    /// Checks numbering, every hash and every link; returns how many receipts.
    pub fn verify(&self) -> Result<usize> {
        let receipts = self.read()?;
        let mut prev = GENESIS.to_owned();
        for (i, r) in receipts.iter().enumerate() {
            if r.seq != i as u64 + 1 {
                bail!("receipt {} is numbered {}: one is missing or out of order", i + 1, r.seq);
            }
            if r.prev != prev {
                bail!("receipt {} does not follow receipt {}: the chain is broken", r.seq, r.seq - 1);
            }
            if hash_of(r)? != r.hash {
                bail!("receipt {} was altered: its hash does not match", r.seq);
            }
            prev = r.hash.clone();
        }
        Ok(receipts.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(request: &str) -> NewReceipt {
        NewReceipt {
            at: 1,
            server: "http://127.0.0.1:1".into(),
            device_id: "d".into(),
            request_id: request.into(),
            requester: "web".into(),
            summary: wysiwys_proto::summary::render("text/plain", b"Hello").unwrap(),
            doc_sha256: "doc".into(),
            summary_sha256: "sum".into(),
            verification_code: "0042".into(),
            decision: "approve".into(),
            sad_sha256: "sad".into(),
            ack: Some(serde_json::json!({"status": "accepted", "state": "signed"})),
        }
    }

    #[test]
    fn a_chain_verifies_and_any_change_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let log = ReceiptLog::at(dir.path());
        assert_eq!(log.verify().unwrap(), 0);
        for r in ["r1", "r2", "r3"] {
            log.append(new(r)).unwrap();
        }
        assert_eq!(log.verify().unwrap(), 3);
        let original = std::fs::read_to_string(dir.path().join("receipts.jsonl")).unwrap();
        let lines: Vec<&str> = original.lines().collect();

        let altered = original.replacen("\"decision\":\"approve\"", "\"decision\":\"reject\"", 1);
        std::fs::write(dir.path().join("receipts.jsonl"), altered).unwrap();
        assert!(log.verify().unwrap_err().to_string().contains("altered"));

        let dropped = format!("{}\n{}\n", lines[0], lines[2]);
        std::fs::write(dir.path().join("receipts.jsonl"), dropped).unwrap();
        assert!(log.verify().unwrap_err().to_string().contains("missing"));

        let reordered = format!("{}\n{}\n{}\n", lines[1], lines[0], lines[2]);
        std::fs::write(dir.path().join("receipts.jsonl"), reordered).unwrap();
        assert!(log.verify().is_err());
    }
}
