//! RFC 8785 canonical JSON and the hashes built on it.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// The canonical bytes of a value. Serialising our own wire types cannot
/// fail (no maps with non-string keys, no non-finite floats), but the error is
/// still returned rather than hidden.
pub fn to_vec<T: Serialize>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    serde_json_canonicalizer::to_vec(value)
}

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// SHA-256 of the canonical form of `value`.
pub fn hash<T: Serialize>(value: &T) -> Result<[u8; 32], serde_json::Error> {
    Ok(sha256(&to_vec(value)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_sorted_and_whitespace_removed() {
        let value: serde_json::Value = serde_json::from_str(r#"{ "b": 1, "a": "é", "c": [1.0, 2] }"#).unwrap();
        assert_eq!(to_vec(&value).unwrap(), r#"{"a":"é","b":1,"c":[1,2]}"#.as_bytes());
    }
}
