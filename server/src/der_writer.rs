//! A small DER writer for the structures the `der` crate's generation has
//! no types for (CMS signed attributes, TSTInfo, OCSP responses) and for
//! OIDs with arcs of any size (the legacy 2.25 evidence OID).
//!
//! Every function returns one complete TLV; composition is concatenation.
//! Everything written with it is checked by OpenSSL, pdfsig or pyHanko in
//! the end-to-end tests.

use crate::error::{Error, Result};

pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

pub fn seq(parts: &[&[u8]]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

/// `SET OF`: DER sorts the elements by their encodings.
pub fn set_of(mut parts: Vec<Vec<u8>>) -> Vec<u8> {
    parts.sort();
    tlv(0x31, &parts.concat())
}

pub fn octet_string(bytes: &[u8]) -> Vec<u8> {
    tlv(0x04, bytes)
}

pub fn null() -> Vec<u8> {
    vec![0x05, 0x00]
}

pub fn boolean(value: bool) -> Vec<u8> {
    vec![0x01, 0x01, if value { 0xff } else { 0x00 }]
}

/// An INTEGER from an unsigned value.
pub fn integer(value: u64) -> Vec<u8> {
    unsigned_integer(&value.to_be_bytes())
}

/// An INTEGER from unsigned big-endian bytes (a serial, a nonce): leading
/// zeros go, and a zero byte is put back when the top bit is set.
pub fn unsigned_integer(bytes: &[u8]) -> Vec<u8> {
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    let trimmed = &bytes[skip..];
    let mut content = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.first().is_none_or(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend_from_slice(trimmed);
    tlv(0x02, &content)
}

pub fn enumerated(value: u8) -> Vec<u8> {
    debug_assert!(value < 0x80);
    vec![0x0a, 0x01, value]
}

/// A BIT STRING with no unused bits (a signature).
pub fn bit_string(bytes: &[u8]) -> Vec<u8> {
    let mut content = Vec::with_capacity(bytes.len() + 1);
    content.push(0);
    content.extend_from_slice(bytes);
    tlv(0x03, &content)
}

/// `[n]` EXPLICIT: constructed context tag around a whole TLV.
pub fn explicit(n: u8, inner: &[u8]) -> Vec<u8> {
    debug_assert!(n < 31);
    tlv(0xa0 | n, inner)
}

/// `[n]` IMPLICIT on a constructed type: the content of `inner` under the new tag.
pub fn implicit_constructed(n: u8, content: &[u8]) -> Vec<u8> {
    debug_assert!(n < 31);
    tlv(0xa0 | n, content)
}

/// `[n]` IMPLICIT on a primitive type.
pub fn implicit_primitive(n: u8, content: &[u8]) -> Vec<u8> {
    debug_assert!(n < 31);
    tlv(0x80 | n, content)
}

pub fn utf8_string(text: &[u8]) -> Vec<u8> {
    tlv(0x0c, text)
}

pub fn ia5_string(text: &str) -> Vec<u8> {
    tlv(0x16, text.as_bytes())
}

/// `AlgorithmIdentifier` with absent parameters, as RFC 5754 and RFC 5758
/// ask for SHA-256 and ECDSA.
pub fn algorithm(oid_text: &str) -> Vec<u8> {
    seq(&[&oid(oid_text)])
}

/// Encodes a dotted OID with arcs of any size.
pub fn oid(text: &str) -> Vec<u8> {
    let arcs: Vec<u128> = text.split('.').map(|a| a.parse().unwrap_or(0)).collect();
    let mut body = Vec::new();
    let first = arcs.first().copied().unwrap_or(0) * 40 + arcs.get(1).copied().unwrap_or(0);
    for arc in std::iter::once(first).chain(arcs.iter().skip(2).copied()) {
        let mut groups = vec![(arc & 0x7f) as u8];
        let mut rest = arc >> 7;
        while rest > 0 {
            groups.push((rest & 0x7f) as u8 | 0x80);
            rest >>= 7;
        }
        body.extend(groups.iter().rev());
    }
    tlv(0x06, &body)
}

fn date_time(ms: i64) -> Result<time::OffsetDateTime> {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)).map_err(|e| Error::Internal(format!("time: {e}")))
}

/// `YYYYMMDDHHMMSS` in UTC, whole seconds: the digits every time format
/// here (UTCTime, GeneralizedTime, a PDF date) is made of.
pub fn utc_digits(ms: i64) -> Result<String> {
    let t = date_time(ms)?;
    Ok(format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    ))
}

/// UTCTime, whole seconds (CMS signing-time between 1950 and 2049).
pub fn utc_time(ms: i64) -> Result<Vec<u8>> {
    if !(1950..2050).contains(&date_time(ms)?.year()) {
        return Err(Error::Internal("time outside the UTCTime range".into()));
    }
    let digits = utc_digits(ms)?;
    Ok(tlv(0x17, format!("{}Z", &digits[2..]).as_bytes()))
}

/// GeneralizedTime in whole seconds: RFC 5280 forbids fractions in
/// certificates and CRLs, and pdfsig refuses OCSP times that carry them.
pub fn generalized_time(ms: i64) -> Result<Vec<u8>> {
    Ok(tlv(0x18, format!("{}Z", utc_digits(ms)?).as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primitives() {
        assert_eq!(oid("1.2.840.113549.1.7.2"), [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02]);
        assert_eq!(oid("2.25.1"), [0x06, 0x02, 0x69, 0x01]);
        // 2.25.<uuid>: a 128-bit arc in base 128 is 19 bytes.
        assert_eq!(oid("2.25.221458699246909409711979724285883248513").len(), 2 + 1 + 19);
        assert_eq!(tlv(0x04, &[0u8; 200])[..3], [0x04, 0x81, 200]);
        assert_eq!(tlv(0x04, &[0u8; 300])[..4], [0x04, 0x82, 0x01, 0x2c]);
        assert_eq!(utc_time(1_795_000_000_999).unwrap(), tlv(0x17, b"261118110640Z"));
        assert_eq!(generalized_time(1_795_000_000_999).unwrap(), tlv(0x18, b"20261118110640Z"));
        assert_eq!(integer(0), [0x02, 0x01, 0x00]);
        assert_eq!(integer(1), [0x02, 0x01, 0x01]);
        assert_eq!(integer(0x80), [0x02, 0x02, 0x00, 0x80]);
        assert_eq!(unsigned_integer(&[0, 0, 0x7f, 1]), [0x02, 0x02, 0x7f, 0x01]);
        assert_eq!(unsigned_integer(&[]), [0x02, 0x01, 0x00]);
        assert_eq!(set_of(vec![vec![0x02, 0x01, 0x05], vec![0x02, 0x01, 0x01]]), [0x31, 6, 2, 1, 1, 2, 1, 5]);
        assert_eq!(bit_string(&[0xab]), [0x03, 0x02, 0x00, 0xab]);
    }
}
