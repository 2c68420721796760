//! The one thing we read out of someone else's CMS signature: the digest it
//! signed (the messageDigest attribute) and with which algorithm, so that
//! the bytes its /ByteRange names can be hashed and compared. A minimal DER
//! walk rather than a CMS parser: signatures carry attributes with OIDs
//! (the 2.25 UUID arc) that general parsers refuse, and nothing else of the
//! structure is needed.

use sha2::{Digest, Sha256, Sha384, Sha512};

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;
const OCTET_STRING: u8 = 0x04;
const EXPLICIT_0: u8 = 0xA0;
const IMPLICIT_0: u8 = 0xA0;
const IMPLICIT_1: u8 = 0xA1;

/// 1.2.840.113549.1.7.2 signedData.
const SIGNED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];
/// 1.2.840.113549.1.9.4 messageDigest.
const MESSAGE_DIGEST: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04];
const SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
const SHA384: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02];
const SHA512: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03];

/// One DER element: its tag, its contents, and what follows it.
fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (length, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let length = rest[..count].iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (length, &rest[count..])
    };
    (rest.len() >= length).then(|| (tag, &rest[..length], &rest[length..]))
}

/// The contents of the next element, which must have `tag`.
fn expect(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (found, contents, rest) = element(input)?;
    (found == tag).then_some((contents, rest))
}

/// The digest a CMS SignedData's first signer signed, and the same digest
/// computed over `signed` (the byte ranges): equal when the signature
/// covers these bytes. None when the structure is not a SignedData with a
/// messageDigest, or the digest algorithm is not SHA-2.
pub fn digests(cms: &[u8], signed: &[&[u8]]) -> Option<(Vec<u8>, Vec<u8>)> {
    let (content_info, padding) = expect(cms, SEQUENCE)?;
    // The /Contents hole is padded with zeros after the DER.
    if padding.iter().any(|&b| b != 0) {
        return None;
    }
    let (oid, rest) = expect(content_info, OID)?;
    if oid != SIGNED_DATA {
        return None;
    }
    let (explicit, _) = expect(rest, EXPLICIT_0)?;
    let (signed_data, _) = expect(explicit, SEQUENCE)?;
    let (_, _, rest) = element(signed_data)?; // version
    let (_, rest) = expect(rest, SET)?; // digestAlgorithms
    let (_, mut rest) = expect(rest, SEQUENCE)?; // encapContentInfo
    while let Some((tag, _, after)) = element(rest) {
        if tag != IMPLICIT_0 && tag != IMPLICIT_1 {
            break;
        }
        rest = after; // certificates, crls
    }
    let (signer_infos, _) = expect(rest, SET)?;
    let (signer_info, _) = expect(signer_infos, SEQUENCE)?;
    let (_, _, rest) = element(signer_info)?; // version
    let (_, _, rest) = element(rest)?; // sid
    let (algorithm, rest) = expect(rest, SEQUENCE)?;
    let (algorithm, _) = expect(algorithm, OID)?;
    let (mut attributes, _) = expect(rest, IMPLICIT_0)?;
    let signed_digest = loop {
        let (attribute, after) = expect(attributes, SEQUENCE)?;
        let (oid, values) = expect(attribute, OID)?;
        if oid == MESSAGE_DIGEST {
            let (values, _) = expect(values, SET)?;
            break expect(values, OCTET_STRING)?.0.to_vec();
        }
        attributes = after;
    };
    let computed = match algorithm {
        SHA256 => hash::<Sha256>(signed),
        SHA384 => hash::<Sha384>(signed),
        SHA512 => hash::<Sha512>(signed),
        _ => return None,
    };
    Some((signed_digest, computed))
}

fn hash<D: Digest>(parts: &[&[u8]]) -> Vec<u8> {
    let mut hasher = D::new();
    parts.iter().for_each(|part| hasher.update(part));
    hasher.finalize().to_vec()
}
