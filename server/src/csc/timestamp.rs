//! `signatures/timestamp`: an RFC 3161 token over a hash the client sends,
//! from the same authority that stamps our own signatures. It signs no
//! document and needs no SAD: a timestamp says when a hash existed, not
//! who agreed to it.

use super::authorization::decode_hash;
use super::{invalid, missing};
use crate::app::App;
use crate::error::Result;
use crate::timestamping::unavailable;
use wysiwys_proto::csc::OID_SHA256;

/// Largest nonce accepted, in bytes (RFC 3161 asks for 64 bits or more).
const MAX_NONCE_BYTES: usize = 32;

fn decode_nonce(hex: &str) -> Option<Vec<u8>> {
    if hex.is_empty() || !hex.len().is_multiple_of(2) || hex.len() > 2 * MAX_NONCE_BYTES {
        return None;
    }
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect()
}

/// The token (DER ContentInfo) for `hash`.
pub async fn timestamp(app: &App, hash: Option<&str>, hash_algo: Option<&str>, nonce: Option<&str>) -> Result<Vec<u8>> {
    let hash = hash.ok_or_else(|| missing("string", "hash"))?;
    match hash_algo {
        Some(OID_SHA256) => {}
        Some(_) => return Err(invalid("hashAlgo")),
        None => return Err(missing("string", "hashAlgo")),
    }
    let digest = decode_hash(hash)?;
    let nonce = nonce.map(|n| decode_nonce(n).ok_or_else(|| invalid("nonce"))).transpose()?;
    let fetched = app
        .timestamping
        .fetch_token(&app.hsm, &app.ca_certificate, app.entropy.as_ref(), app.clock.now_ms(), &digest, nonce.as_deref())
        .await?;
    let facts = fetched.map_err(|detail| unavailable(&detail))?;
    tracing::info!("CSC timestamp issued");
    Ok(facts.token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_are_hex_and_bounded() {
        assert_eq!(decode_nonce("00ff10"), Some(vec![0, 255, 16]));
        assert_eq!(decode_nonce("0g"), None);
        assert_eq!(decode_nonce("abc"), None);
        assert_eq!(decode_nonce(""), None);
        assert_eq!(decode_nonce(&"ab".repeat(33)), None);
    }
}
