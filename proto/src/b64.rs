//! base64url without padding, the only binary-to-text encoding of our own
//! wire formats. Standard base64 appears only where another standard
//! prescribes it (the CSC API: hashes, signatures, certificates).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub fn encode(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Strict decoding: padding, non-alphabet characters and non-canonical
/// trailing bits are all refused, so one value has exactly one encoding.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

/// Standard base64 (RFC 4648 section 4, padding optional), for documents
/// that other systems send us; everything we write is base64url.
pub fn decode_standard(text: &str) -> Option<Vec<u8>> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const STANDARD_ANY_PADDING: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    STANDARD_ANY_PADDING.decode(text).ok()
}

/// Standard base64 with padding, for the CSC API (its hashes, signatures
/// and certificates are RFC 4648 section 4).
pub fn encode_standard(bytes: impl AsRef<[u8]>) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Decodes a value that must be exactly `N` bytes long (hashes, challenges).
pub fn decode_array<const N: usize>(text: &str) -> Option<[u8; N]> {
    decode(text)?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_strictness() {
        assert_eq!(encode(b"\xfb\xff"), "-_8");
        assert_eq!(decode("-_8").as_deref(), Some(&b"\xfb\xff"[..]));
        assert_eq!(decode("-_8="), None, "padding is refused");
        assert_eq!(decode("+/8"), None, "standard alphabet is refused");
        assert_eq!(decode("-_9"), None, "non-canonical trailing bits are refused");
        assert_eq!(decode_array::<2>("-_8"), Some([0xfb, 0xff]));
        assert_eq!(decode_array::<3>("-_8"), None);
    }
}
