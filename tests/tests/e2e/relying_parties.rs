//! Relying parties over `/api/v1/rp/`: a bank's payment confirmed on both
//! channels, idempotent creates, webhooks that survive a receiver outage and
//! a server restart, and the API's refusals.

use crate::fixture::{Fixture, openssl_print, openssl_verify};
use base64::Engine;
use std::time::Duration;
use wysiwys_proto::ErrorCode;
use wysiwys_proto::api::RequestState;
use wysiwys_proto::rp::{WebhookEvent, verify_webhook_signature};
use wysiwys_proto::summary::MEDIA_TYPE_PAYMENT;
use wysiwys_tests::relying_party::Delivery;
use wysiwys_tests::{Bank, Db, WebhookReceiver, sha256_b64};

const PAYMENT: &str = r#"{"payee":"ACME GmbH","iban":"DE89370400440532013000","amount":"1250.00","currency":"EUR","reference":"Invoice 42"}"#;

fn payment_request(signer: serde_json::Value, document: &str, reference: &str) -> serde_json::Value {
    serde_json::json!({
        "signer": signer,
        "media_type": MEDIA_TYPE_PAYMENT,
        "document_b64": base64::engine::general_purpose::STANDARD.encode(document),
        "reference": reference,
    })
}

/// Checks the HMAC as a bank's receiver would, and reads the event.
fn verified_event(delivery: &Delivery, secret: &str, server_now_s: i64) -> WebhookEvent {
    assert!(
        verify_webhook_signature(secret.as_bytes(), &delivery.signature_header, &delivery.body, server_now_s, 300),
        "webhook HMAC does not verify: {}",
        delivery.signature_header
    );
    assert!(!verify_webhook_signature(
        b"another secret",
        &delivery.signature_header,
        &delivery.body,
        server_now_s,
        300
    ));
    serde_json::from_slice(&delivery.body).expect("webhook JSON")
}

async fn a_bank_payment(db: Db) {
    let f = Fixture::new(db).await;
    let mut receiver = WebhookReceiver::start().await;
    let rp = f.server.create_rp("Bank of Lund", MEDIA_TYPE_PAYMENT, Some(&receiver.url()));
    let secret = rp.webhook_secret.clone().expect("a webhook secret is made");
    let bank = Bank::new(&f.server, rp);
    let before = f.server.hsm_user_signatures().await;

    let mut answer = f.device.answer("approve");
    answer.wait_for("connected").await;
    let created =
        bank.create(&payment_request(serde_json::json!({"username": "ann"}), PAYMENT, "INV-42"), None).await.unwrap();
    assert_eq!(created.state, RequestState::Pending);
    assert_eq!(created.reference.as_deref(), Some("INV-42"));
    assert_eq!(created.title, "Payment of 1250.00 EUR to ACME GmbH");
    let line = |label: &str| created.summary_lines.iter().find(|l| l.label == label).map(|l| l.value.clone());
    assert_eq!(line("Amount").as_deref(), Some("1250.00 EUR"));
    assert_eq!(line("Payee").as_deref(), Some("ACME GmbH"));
    assert_eq!(line("IBAN").as_deref(), Some("DE89 3704 0044 0532 0130 00"));

    // The device names the bank and shows amount and payee.
    let shown = answer.wait_for("request").await;
    assert_eq!(shown["requester"], "Bank of Lund");
    assert_eq!(shown["summary_sha256"], created.summary_hash.as_str());
    assert!(shown["lines"].to_string().contains("1250.00 EUR") && shown["lines"].to_string().contains("ACME GmbH"));
    let (code, events) = answer.finish().await;
    assert_eq!(code, 0, "{events:?}");

    // The customer's browser shows the same payment and confirms it.
    let in_browser = f.browser.request(&created.id).await.unwrap();
    assert_eq!(in_browser.requester, "Bank of Lund");
    let signed = f.browser.confirm_as_displayed(&created.id).await.unwrap();
    assert_eq!(signed.state, RequestState::Signed, "{signed:?}");
    assert_eq!(f.server.hsm_user_signatures().await, before + 1);

    let delivery = receiver.next(Duration::from_secs(20)).await.expect("the webhook arrives");
    let event = verified_event(&delivery, &secret, f.server.now_s());
    assert_eq!(event.kind, "sign_request.signed");
    assert_eq!(event.request.id, created.id);
    assert_eq!(event.request.state, RequestState::Signed);
    assert_eq!(event.request.reference.as_deref(), Some("INV-42"));

    let status = bank.get(&created.id).await.unwrap();
    assert_eq!(status.state, RequestState::Signed);
    let p7s = bank.signature(&created.id).await.unwrap();
    let ca = f.server.get_ca_pem().await;
    openssl_verify(f.server.dir.path(), &ca, PAYMENT.as_bytes(), &p7s).expect("openssl accepts the signature");
    let changed_amount = PAYMENT.replace("1250.00", "9250.00");
    assert!(openssl_verify(f.server.dir.path(), &ca, changed_amount.as_bytes(), &p7s).is_err());
    // The evidence binds amount, payee and IBAN (dynamic linking) and the bank.
    let printed = openssl_print(f.server.dir.path(), &p7s).replace(['\n', ' '], "");
    for fact in ["\"amount\":\"1250.00\"", "\"payee\":\"ACMEGmbH\"", "DE89370400440532013000", "BankofLund"] {
        assert!(printed.contains(fact), "{fact} missing from the evidence:\n{printed}");
    }

    // A man in the browser who changes the amount or the payee is refused.
    let second =
        bank.create(&payment_request(serde_json::json!({"username": "ann"}), PAYMENT, "INV-43"), None).await.unwrap();
    let summary = f.browser.bytes(&format!("/api/requests/{}/summary", second.id)).await.unwrap();
    let err = f.browser.confirm(&second.id, &sha256_b64(changed_amount.as_bytes()), &sha256_b64(&summary)).await;
    assert_eq!(err.unwrap_err().code(), ErrorCode::HashMismatch);
    let failed = bank.get(&second.id).await.unwrap();
    assert_eq!(failed.error.map(|e| e.error), Some(ErrorCode::HashMismatch));
    let refused = receiver.next(Duration::from_secs(20)).await.expect("the refusal is reported");
    let event = verified_event(&refused, &secret, f.server.now_s());
    assert_eq!((event.kind.as_str(), event.request.id.as_str()), ("sign_request.failed", second.id.as_str()));
    assert!(bank.signature(&second.id).await.is_err());
    assert_eq!(f.server.hsm_user_signatures().await, before + 1, "nothing else was signed");
}

#[tokio::test]
async fn a_bank_payment_is_confirmed_on_both_channels_on_sqlite() {
    a_bank_payment(Db::Sqlite).await;
}

#[tokio::test]
async fn a_bank_payment_is_confirmed_on_both_channels_on_postgres() {
    a_bank_payment(Db::Postgres).await;
}

#[tokio::test]
async fn a_retried_create_with_the_same_idempotency_key_makes_one_request() {
    let f = Fixture::new(Db::Sqlite).await;
    let bank = Bank::new(&f.server, f.server.create_rp("Bank of Lund", MEDIA_TYPE_PAYMENT, None));
    let body = payment_request(serde_json::json!({"username": "ann"}), PAYMENT, "INV-7");
    let first = bank.create(&body, Some("order-7")).await.unwrap();
    let again = bank.create(&body, Some("order-7")).await.unwrap();
    assert_eq!(first.id, again.id);
    // Retries that race each other still make one request.
    let (a, b) = tokio::join!(bank.create(&body, Some("order-8")), bank.create(&body, Some("order-8")));
    assert_eq!(a.unwrap().id, b.unwrap().id);
    // The same key with another body is a mistake, not a retry.
    let other = payment_request(serde_json::json!({"username": "ann"}), &PAYMENT.replace("1250.00", "1.00"), "INV-7");
    let err = bank.create(&other, Some("order-7")).await.unwrap_err();
    assert_eq!((err.status, err.code()), (422, ErrorCode::IdempotencyKeyReused));
    let history = f.browser.history().await.unwrap();
    assert_eq!(history.len(), 2, "two keys, two requests: {history:?}");
    assert!(history.iter().all(|r| r.requester == "Bank of Lund"));
}

#[tokio::test]
async fn a_webhook_receiver_that_was_down_gets_the_event_after_it_comes_back() {
    let mut f = Fixture::new(Db::Sqlite).await;
    let mut receiver = WebhookReceiver::start().await;
    let rp = f.server.create_rp("Agency", "text/plain", Some(&receiver.url()));
    let secret = rp.webhook_secret.clone().unwrap();
    let bank = Bank::new(&f.server, rp);
    receiver.stop();

    let created = bank
        .create_raw("username=ann&reference=case-9", "text/plain; charset=utf-8", b"Decision\n\nGranted.\n")
        .await
        .unwrap();
    let cancelled = bank.cancel(&created.id).await.unwrap();
    assert_eq!(cancelled.error.map(|e| e.error), Some(ErrorCode::RequestCancelled));
    assert_eq!(bank.cancel(&created.id).await.unwrap_err().code(), ErrorCode::RequestNotPending);
    // Wait until the server has tried and failed at least once.
    for _ in 0..200 {
        if f.server.metric_if_reported("wysiwys_webhooks_total{outcome=\"retry\"}").await.is_some_and(|n| n >= 1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(f.server.metric("wysiwys_webhooks_total{outcome=\"retry\"}").await >= 1, "no failed attempt");

    // The event is in the database, not in memory: a crash loses nothing.
    f.server.crash();
    f.server.restart();
    receiver.resume().await;
    // Past the back-off without sleeping through it.
    f.server.advance_clock(3600).await;
    let delivery = receiver.next(Duration::from_secs(20)).await.expect("delivered after the outage");
    let event = verified_event(&delivery, &secret, f.server.now_s());
    assert_eq!((event.kind.as_str(), event.request.id.as_str()), ("sign_request.failed", created.id.as_str()));
    assert_eq!(event.request.reference.as_deref(), Some("case-9"));
    assert!(receiver.next(Duration::from_millis(1500)).await.is_none(), "delivered once");
}

#[tokio::test]
async fn the_api_refuses_bad_keys_kinds_sizes_and_documents() {
    let f = Fixture::new(Db::Sqlite).await;
    let bank = Bank::new(&f.server, f.server.create_rp("Bank of Lund", MEDIA_TYPE_PAYMENT, None));
    let other = Bank::new(&f.server, f.server.create_rp("Other Bank", MEDIA_TYPE_PAYMENT, None));
    let ann = serde_json::json!({"username": "ann"});
    let ok = payment_request(ann.clone(), PAYMENT, "r");

    let mut forged = Bank::new(&f.server, bank.credentials.clone());
    forged.credentials.api_key.push('x');
    assert_eq!(forged.create(&ok, None).await.unwrap_err().status, 401);
    forged.credentials.api_key = "not-a-key".into();
    let err = forged.create(&ok, None).await.unwrap_err();
    assert_eq!((err.status, err.code()), (401, ErrorCode::ApiKeyInvalid));

    let letter = bank.create_raw("username=ann", "text/plain", b"A letter\n").await.unwrap_err();
    assert_eq!((letter.status, letter.code()), (403, ErrorCode::MediaTypeNotAllowed));
    let huge =
        format!(r#"{{"payee":"{}","iban":"x","amount":"1","currency":"EUR","reference":""}}"#, "A".repeat(300 * 1024));
    let err = bank.create(&payment_request(ann.clone(), &huge, "r"), None).await.unwrap_err();
    assert_eq!((err.status, err.code()), (413, ErrorCode::PayloadTooLarge));
    let bidi = PAYMENT.replace("ACME GmbH", "ACME\u{202e}HbmG");
    let err = bank.create(&payment_request(ann.clone(), &bidi, "r"), None).await.unwrap_err();
    assert_eq!((err.status, err.code()), (422, ErrorCode::UnsafeDocument));
    let bad_iban = PAYMENT.replace("DE89370400440532013000", "DE00370400440532013000");
    assert_eq!(
        bank.create(&payment_request(ann.clone(), &bad_iban, "r"), None).await.unwrap_err().code(),
        ErrorCode::DocumentInvalid
    );
    let nobody = bank.create(&payment_request(serde_json::json!({"username": "nobody"}), PAYMENT, "r"), None).await;
    assert_eq!(nobody.unwrap_err().code(), ErrorCode::UserUnknown);
    let mut unknown_field = ok.clone();
    unknown_field["amount_override"] = "1.00".into();
    assert_eq!(bank.create(&unknown_field, None).await.unwrap_err().code(), ErrorCode::BadRequest);
    for seconds in [0, 9, 301] {
        let mut timed = ok.clone();
        timed["expires_in_s"] = seconds.into();
        let err = bank.create(&timed, None).await.unwrap_err();
        assert_eq!((err.status, err.code()), (400, ErrorCode::BadRequest), "expires_in_s {seconds}");
    }
    assert!(f.browser.history().await.unwrap().is_empty(), "no refused create left a request");
    let mut short = ok.clone();
    short["expires_in_s"] = 10.into();
    let short = bank.create(&short, None).await.unwrap();
    assert!((9_000..=10_000).contains(&(short.expires_at - short.created_at)), "{short:?}");
    f.server.advance_clock(11).await;
    let late = f.browser.confirm_as_displayed(&short.id).await.unwrap_err();
    assert_eq!(late.code(), ErrorCode::ChallengeExpired);

    // Another party's request looks like a missing one.
    let mine = bank.create(&ok, None).await.unwrap();
    for err in [
        other.get(&mine.id).await.unwrap_err(),
        other.cancel(&mine.id).await.unwrap_err(),
        other.signature(&mine.id).await.unwrap_err(),
    ] {
        assert_eq!((err.status, err.code()), (404, ErrorCode::RequestNotFound));
    }
    assert_eq!(bank.get(&mine.id).await.unwrap().state, RequestState::Pending);
}

#[tokio::test]
async fn customers_are_found_by_their_external_id() {
    let f = Fixture::new(Db::Sqlite).await;
    f.server.create_user_with("bert", &["--external-id", "CUST-1001"]);
    let bank = Bank::new(&f.server, f.server.create_rp("Bank of Lund", MEDIA_TYPE_PAYMENT, None));
    let created = bank
        .create(&payment_request(serde_json::json!({"external_id": "CUST-1001"}), PAYMENT, "r"), None)
        .await
        .unwrap();
    assert!(f.browser.history().await.unwrap().is_empty(), "the request is bert's, not ann's");
    let raw = bank.create_raw("external_id=CUST-1001", MEDIA_TYPE_PAYMENT, PAYMENT.as_bytes()).await.unwrap();
    assert_ne!(raw.id, created.id);
    assert_eq!(raw.doc_hash, created.doc_hash);
}
