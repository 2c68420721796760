//! The relying-party API (`/api/v1/rp/`): how a bank or an agency creates
//! sign requests for its customers and learns how they ended.

use crate::summary::{DisplayFields, SummaryLine};
use crate::{ErrorBody, api::RequestState};
use serde::{Deserialize, Serialize};

/// Prefix of every relying-party API key; the rest is 32 random bytes, base64url.
pub const API_KEY_PREFIX: &str = "wysiwys_rp_";
/// Header a relying party sets so that a retried create makes no second request.
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 128;
pub const MAX_REFERENCE_CHARS: usize = 128;
pub const MAX_EXTERNAL_ID_CHARS: usize = 128;
/// Header carrying `t=<unix seconds>,v1=<hex HMAC-SHA256>` on every webhook.
pub const WEBHOOK_SIGNATURE_HEADER: &str = "wysiwys-signature";

/// Who is asked to sign: exactly one of the two.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Signer {
    Username(String),
    ExternalId(String),
}

/// `POST /api/v1/rp/requests` with a JSON body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateRpRequest {
    pub signer: Signer,
    pub media_type: String,
    /// The document, standard base64 (padding optional).
    pub document_b64: String,
    /// The caller's own reference, returned in every view and webhook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Required for PDFs, refused for other kinds (their summary comes from
    /// the document itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<DisplayFields>,
    /// Seconds the person has to confirm on both channels, from
    /// `MIN_EXPIRES_IN_S` up to the server's own limit (also the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_s: Option<u32>,
    /// The AdES level to reach: `B-B`, `B-T`, and for PDFs `B-LT` or
    /// `B-LTA` (CAdES stops at B-T). The server's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature_level: Option<crate::signature_level::SignatureLevel>,
}

/// Shortest time a relying party may give the person to confirm.
pub const MIN_EXPIRES_IN_S: u32 = 10;

/// One document of `POST /api/v1/rp/batches`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BatchDocumentInput {
    pub media_type: String,
    pub document_b64: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<DisplayFields>,
}

/// `POST /api/v1/rp/batches`: up to 100 documents, one confirmation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateRpBatch {
    pub signer: Signer,
    /// Shown on both channels above the list of titles.
    pub title: String,
    pub documents: Vec<BatchDocumentInput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The AdES level to reach: `B-B`, `B-T`, and for PDFs `B-LT` or
    /// `B-LTA` (CAdES stops at B-T). The server's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature_level: Option<crate::signature_level::SignatureLevel>,
}

/// One document of a batch, as its relying party sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BatchDocumentView {
    /// Position in the batch, from 0; the leaf index in the Merkle tree.
    pub index: u32,
    pub title: String,
    pub media_type: String,
    pub doc_hash: String,
    pub reference: Option<String>,
    pub signed: bool,
}

/// A sign request as its relying party sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RpRequestView {
    pub id: String,
    pub state: RequestState,
    pub media_type: String,
    pub title: String,
    pub reference: Option<String>,
    /// base64url SHA-256 of the document and of its `summary/1`.
    pub doc_hash: String,
    pub summary_hash: String,
    /// What both channels show, line by line (amount, payee, ... for payments).
    pub summary_lines: Vec<SummaryLine>,
    pub created_at: i64,
    pub expires_at: i64,
    pub web_confirmed_at: Option<i64>,
    pub device_confirmed_at: Option<i64>,
    pub signed_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub error: Option<ErrorBody>,
    /// Batches only: each document, signed on its own once the batch is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documents: Option<Vec<BatchDocumentView>>,
}

/// The body of every webhook: one final state of one request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookEvent {
    /// Unique per event; a receiver that sees it twice ignores the second.
    pub event_id: String,
    /// `sign_request.signed` or `sign_request.failed`.
    #[serde(rename = "type")]
    pub kind: String,
    pub created_at: i64,
    pub request: RpRequestView,
}

/// The bytes a webhook's HMAC covers: `<t>.<body>`, as Stripe and others do,
/// so a captured body cannot be replayed with a fresh time.
pub fn webhook_signed_payload(timestamp_s: i64, body: &[u8]) -> Vec<u8> {
    let mut out = format!("{timestamp_s}.").into_bytes();
    out.extend_from_slice(body);
    out
}

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

fn webhook_mac(secret: &[u8], timestamp_s: i64, body: &[u8]) -> HmacSha256 {
    use hmac::{KeyInit, Mac};
    // HMAC takes keys of any length; this cannot fail.
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(secret).unwrap_or_else(|_| unreachable!());
    mac.update(&webhook_signed_payload(timestamp_s, body));
    mac
}

/// The value of the signature header: `t=<unix seconds>,v1=<hex HMAC>`.
pub fn webhook_signature_header(secret: &[u8], timestamp_s: i64, body: &[u8]) -> String {
    use hmac::Mac;
    let tag = webhook_mac(secret, timestamp_s, body).finalize().into_bytes();
    let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={timestamp_s},v1={hex}")
}

/// What a receiver checks: the tag (in constant time) and that the event
/// was signed within `tolerance_s` of its own clock.
pub fn verify_webhook_signature(secret: &[u8], header: &str, body: &[u8], now_s: i64, tolerance_s: i64) -> bool {
    use hmac::Mac;
    let mut timestamp = None;
    let mut tag = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", hex)) => tag = decode_hex(hex),
            _ => {}
        }
    }
    let (Some(timestamp), Some(tag)) = (timestamp, tag) else { return false };
    if (now_s - timestamp).abs() > tolerance_s {
        return false;
    }
    webhook_mac(secret, timestamp, body).verify_slice(&tag).is_ok()
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_signatures_verify_and_bind_time_and_body() {
        let header = webhook_signature_header(b"secret", 1_700_000_000, b"{\"a\":1}");
        assert!(header.starts_with("t=1700000000,v1="), "{header}");
        assert!(verify_webhook_signature(b"secret", &header, b"{\"a\":1}", 1_700_000_010, 300));
        assert!(!verify_webhook_signature(b"other", &header, b"{\"a\":1}", 1_700_000_010, 300));
        assert!(!verify_webhook_signature(b"secret", &header, b"{\"a\":2}", 1_700_000_010, 300));
        assert!(!verify_webhook_signature(b"secret", &header, b"{\"a\":1}", 1_700_001_000, 300));
        let moved = header.replace("t=1700000000", "t=1700000900");
        assert!(!verify_webhook_signature(b"secret", &moved, b"{\"a\":1}", 1_700_000_900, 300));
        assert!(!verify_webhook_signature(b"secret", "t=1,v1=zz", b"", 1, 300));
    }

    /// RFC 4231 test case 2, through the same MAC the header uses.
    #[test]
    fn hmac_matches_rfc_4231() {
        use hmac::{KeyInit, Mac};
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }
}
