//! Codes a person types: pairing codes (from the logged-in page) and
//! activation codes (delivered out of band).

use crate::entropy::{Entropy, random_bytes};
use crate::error::Result;

/// Crockford-style alphabet without 0/O, 1/I/L and U: easy to type by hand.
pub const CODE_ALPHABET: &[u8; 30] = b"ABCDEFGHJKMNPQRSTVWXYZ23456789";

/// `groups` groups of five symbols (about 24.5 bits each), joined by '-'.
pub fn new_code(entropy: &dyn Entropy, groups: usize) -> Result<String> {
    let wanted = groups * 5;
    let mut symbols = String::with_capacity(wanted);
    while symbols.len() < wanted {
        for b in random_bytes::<16>(entropy)? {
            // Rejection sampling: 240 is the largest multiple of 30 below 256.
            if b < 240 && symbols.len() < wanted {
                symbols.push(CODE_ALPHABET[usize::from(b % 30)] as char);
            }
        }
    }
    let chunks: Vec<&str> = (0..groups).map(|g| &symbols[g * 5..g * 5 + 5]).collect();
    Ok(chunks.join("-"))
}

/// A code as typed, forgiving case, separators and spaces.
pub fn normalise(code: &str) -> String {
    code.chars().filter(|c| *c != '-' && !c.is_whitespace()).collect::<String>().to_uppercase()
}

/// Pairing codes live ten minutes and are single use: SHA-256 is enough.
pub fn pairing_code_hash(code: &str) -> [u8; 32] {
    wysiwys_proto::jcs::sha256(format!("wysiwys-pairing-code/1:{}", normalise(code)).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entropy::OsEntropy;

    #[test]
    fn codes_forgive_case_and_separators_only() {
        assert_eq!(pairing_code_hash("ABCDE-FGHJK"), pairing_code_hash("abcde fghjk"));
        assert_eq!(pairing_code_hash("ABCDE-FGHJK"), pairing_code_hash("ABCDEFGHJK"));
        assert_ne!(pairing_code_hash("ABCDE-FGHJK"), pairing_code_hash("ABCDE-FGHJM"));
    }

    #[test]
    fn codes_have_the_asked_shape_and_alphabet() {
        let code = new_code(&OsEntropy, 3).unwrap();
        assert_eq!(code.len(), 17);
        assert_eq!(code.matches('-').count(), 2);
        assert!(normalise(&code).bytes().all(|b| CODE_ALPHABET.contains(&b)), "{code}");
    }
}
