//! Reading a timestamp token back: what an external authority answered
//! must be a granted token over our imprint with our nonce before it goes
//! into a signature.

use cms::content_info::ContentInfo;
use cms::signed_data::SignedData;
use der::asn1::{Any, BitString, Int, ObjectIdentifier, OctetString};
use der::{Decode, Encode, Sequence, Tagged};
use spki::AlgorithmIdentifierOwned;

#[derive(Sequence)]
struct PkiStatusInfoDer {
    status: u8,
    #[asn1(optional = "true")]
    status_string: Option<Vec<String>>,
    #[asn1(optional = "true")]
    fail_info: Option<BitString>,
}

#[derive(Sequence)]
struct TimeStampRespDer {
    status: PkiStatusInfoDer,
    #[asn1(optional = "true")]
    token: Option<Any>,
}

#[derive(Sequence)]
struct MessageImprintDer {
    hash_algorithm: AlgorithmIdentifierOwned,
    hashed_message: OctetString,
}

#[derive(Sequence)]
struct AccuracyDer {
    #[asn1(optional = "true")]
    seconds: Option<Int>,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    millis: Option<Int>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    micros: Option<Int>,
}

#[derive(Sequence)]
struct TstInfoDer {
    version: u8,
    policy: ObjectIdentifier,
    message_imprint: MessageImprintDer,
    serial_number: Int,
    /// Read as text: authorities may write fractions of a second, which
    /// the `der` crate's GeneralizedTime refuses.
    gen_time: Any,
    #[asn1(optional = "true")]
    accuracy: Option<AccuracyDer>,
    #[asn1(default = "Default::default")]
    ordering: bool,
    #[asn1(optional = "true")]
    nonce: Option<Int>,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    tsa: Option<Any>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", constructed = "true", optional = "true")]
    extensions: Option<x509_cert::ext::Extensions>,
}

/// Why an answer is no usable token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the reply is not a DER TimeStampResp: {0}")]
    Malformed(String),
    #[error("the authority refused (status {status}): {text}")]
    Refused { status: u8, text: String },
    #[error("the token is for another imprint")]
    WrongImprint,
    #[error("the token does not carry our nonce")]
    WrongNonce,
}

/// What a verified token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenFacts {
    /// The ContentInfo, ready for a signature-time-stamp attribute.
    pub token: Vec<u8>,
    pub gen_time_ms: i64,
    pub policy: String,
}

fn malformed(e: impl std::fmt::Display) -> TokenError {
    TokenError::Malformed(e.to_string())
}

/// Checks a `TimeStampResp` against the SHA-256 imprint and nonce we sent.
pub fn check_reply(reply: &[u8], digest: &[u8; 32], nonce: Option<&[u8]>) -> Result<TokenFacts, TokenError> {
    let reply = TimeStampRespDer::from_der(reply).map_err(malformed)?;
    // 0 granted, 1 granted with modifications.
    if reply.status.status > 1 {
        let text = reply.status.status_string.unwrap_or_default().join("; ");
        return Err(TokenError::Refused { status: reply.status.status, text });
    }
    let token = reply.token.ok_or_else(|| malformed("granted without a token"))?.to_der().map_err(malformed)?;
    check_token(&token, digest, nonce)
}

/// Checks a token (ContentInfo) against the SHA-256 imprint (and nonce).
pub fn check_token(token: &[u8], digest: &[u8; 32], nonce: Option<&[u8]>) -> Result<TokenFacts, TokenError> {
    let info = ContentInfo::from_der(token).map_err(malformed)?;
    let signed: SignedData = info.content.decode_as().map_err(malformed)?;
    let content = signed.encap_content_info.econtent.ok_or_else(|| malformed("no TSTInfo"))?;
    let content: OctetString = content.decode_as().map_err(malformed)?;
    let tst = TstInfoDer::from_der(content.as_bytes()).map_err(malformed)?;
    if tst.message_imprint.hash_algorithm.oid.to_string() != super::request::OID_SHA256
        || tst.message_imprint.hashed_message.as_bytes() != digest
    {
        return Err(TokenError::WrongImprint);
    }
    if let Some(ours) = nonce {
        let theirs = tst.nonce.ok_or(TokenError::WrongNonce)?.to_der().map_err(malformed)?;
        if theirs != ours {
            return Err(TokenError::WrongNonce);
        }
    }
    let gen_time_ms = generalized_time_ms(&tst.gen_time)?;
    Ok(TokenFacts { token: token.to_vec(), gen_time_ms, policy: tst.policy.to_string() })
}

/// `YYYYMMDDHHMMSS[.f+]Z` to milliseconds since the epoch.
fn generalized_time_ms(value: &Any) -> Result<i64, TokenError> {
    if value.tag() != der::Tag::GeneralizedTime {
        return Err(malformed("genTime is not a GeneralizedTime"));
    }
    let text = std::str::from_utf8(value.value()).map_err(malformed)?;
    let body = text.strip_suffix('Z').ok_or_else(|| malformed("genTime is not in UTC"))?;
    let (whole, fraction) = body.split_once('.').unwrap_or((body, ""));
    if whole.len() != 14 || !whole.bytes().all(|b| b.is_ascii_digit()) || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(malformed("genTime is not YYYYMMDDHHMMSS"));
    }
    let number = |range: std::ops::Range<usize>| whole[range].parse::<u16>().map_err(malformed);
    let month = time::Month::try_from(u8::try_from(number(4..6)?).map_err(malformed)?).map_err(malformed)?;
    let date =
        time::Date::from_calendar_date(i32::from(number(0..4)?), month, number(6..8)? as u8).map_err(malformed)?;
    let clock =
        time::Time::from_hms(number(8..10)? as u8, number(10..12)? as u8, number(12..14)? as u8).map_err(malformed)?;
    let millis: i64 = format!("{fraction:0<3}")[..3].parse().map_err(malformed)?;
    let seconds = time::PrimitiveDateTime::new(date, clock).assume_utc().unix_timestamp();
    seconds.checked_mul(1000).and_then(|ms| ms.checked_add(millis)).ok_or_else(|| malformed("genTime out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gen_time_with_and_without_fractions() {
        let time = |text: &str| generalized_time_ms(&Any::new(der::Tag::GeneralizedTime, text.as_bytes()).unwrap());
        assert_eq!(time("20261118110640Z"), Ok(1_795_000_000_000));
        assert_eq!(time("20261118110640.5Z"), Ok(1_795_000_000_500));
        assert_eq!(time("20261118110640.123456Z"), Ok(1_795_000_000_123));
        assert!(time("20261118110640+0100").is_err());
        assert!(time("2026111811064Z").is_err());
        assert!(time("20261318110640Z").is_err());
    }
}
