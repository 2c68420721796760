//! Bad input gets a clear error with its code, nothing is written, and the
//! server keeps serving.

use crate::fixture::{Fixture, LETTER};
use wysiwys_proto::api::{AckOutcome, RequestState};
use wysiwys_proto::sad::{Decision, SAD_TYP};
use wysiwys_proto::{ErrorBody, ErrorCode, jws};
use wysiwys_tests::device::refused_code;
use wysiwys_tests::{Db, ScriptedDevice};

async fn error_of(response: reqwest::Response) -> (u16, ErrorCode) {
    let status = response.status().as_u16();
    let body: ErrorBody = response.json().await.expect("error body");
    (status, body.error)
}

async fn nothing_stored(f: &Fixture) {
    let list: Vec<serde_json::Value> =
        f.browser.client.get(f.browser.url("/api/requests")).send().await.unwrap().json().await.unwrap();
    assert!(list.is_empty(), "nothing may be stored: {list:?}");
    let health = f.browser.client.get(f.browser.url("/healthz")).send().await.unwrap();
    assert!(health.status().is_success(), "the server keeps serving");
    assert_eq!(health.headers().get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));
}

#[tokio::test]
async fn bad_uploads_are_refused_and_nothing_is_stored() {
    let f = Fixture::new(Db::Sqlite).await;
    let huge = "a".repeat(300 * 1024);
    let err = f.browser.upload_letter(&huge).await.unwrap_err();
    assert_eq!((err.status, err.code()), (413, ErrorCode::PayloadTooLarge));

    let bidi = "Pay to\n\u{202E}0001 ,5 EUR\n";
    let err = f.browser.upload_letter(bidi).await.unwrap_err();
    assert_eq!((err.status, err.code()), (422, ErrorCode::UnsafeDocument));
    assert!(err.body.error_description.contains("U+202E"), "{err:?}");
    let err = f.browser.upload_letter("Amount: 1\u{200B}00 EUR").await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::UnsafeDocument);
    let err = f.browser.upload("text/plain", b"caf\xe9").await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::UnsafeDocument);

    for media_type in ["text/html", "application/pdf", "text/plain; charset=latin1", ""] {
        let err = f.browser.upload(media_type, b"hello").await.unwrap_err();
        assert_eq!((err.status, err.code()), (415, ErrorCode::UnsupportedContentType), "{media_type}");
    }
    let err = f.browser.upload("application/vnd.wysiwys.payment+json", br#"{"payee":"A"}"#).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::DocumentInvalid);
    nothing_stored(&f).await;
}

#[tokio::test]
async fn malformed_json_wrong_types_unknown_fields_and_oversized_bodies() {
    let f = Fixture::new(Db::Sqlite).await;
    let post = |path: &str| f.browser.client.post(f.browser.url(path));

    let r = post("/api/session").header("content-type", "application/json").body("{not json").send().await.unwrap();
    assert_eq!(error_of(r).await, (400, ErrorCode::BadRequest));
    let r = post("/api/session").header("content-type", "text/plain").body("{}").send().await.unwrap();
    assert_eq!(error_of(r).await, (415, ErrorCode::UnsupportedContentType));
    let big = format!(r#"{{"username":"{}","password":"x","totp":"1"}}"#, "a".repeat(20_000));
    let r = post("/api/session").header("content-type", "application/json").body(big).send().await.unwrap();
    assert_eq!(error_of(r).await, (413, ErrorCode::PayloadTooLarge));

    // Unknown fields in a security-relevant message: refused, request untouched.
    let created = f.browser.upload_letter(LETTER).await.unwrap();
    let body = serde_json::json!({"doc_hash": created.doc_hash, "summary_hash": created.summary_hash, "force": true});
    let r = post(&format!("/api/requests/{}/confirm", created.id))
        .header(wysiwys_proto::api::CSRF_HEADER, f.browser.csrf.clone().unwrap())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(r).await, (400, ErrorCode::BadRequest));
    let view = f.browser.request(&created.id).await.unwrap();
    assert_eq!((view.state, view.web_confirmed_at), (RequestState::Pending, None));

    let r = f.browser.client.get(f.browser.url("/api/nothing-here")).send().await.unwrap();
    assert_eq!(error_of(r).await, (404, ErrorCode::NotFound));
    let r = f.browser.client.get(f.browser.url("/api/requests/not-a-request")).send().await.unwrap();
    assert_eq!(error_of(r).await, (404, ErrorCode::RequestNotFound));
}

#[tokio::test]
async fn malformed_device_messages() {
    let f = Fixture::new(Db::Sqlite).await;
    let garbled = f.browser.upload_letter(LETTER).await.unwrap();
    let created = f.browser.upload_letter(LETTER).await.unwrap();
    let mut device = ScriptedDevice::connect(f.device.account(), f.device.key()).await.unwrap();
    device.next_push().await;
    let push = device.next_push().await;
    assert_eq!(push.claims.req, created.id);

    device.send_raw("this is not json").await;
    assert_eq!(device.receive().await.unwrap_err().error, ErrorCode::BadRequest);
    device.send_raw(r#"{"type":"sad","request_id":"x","token":"y","extra":1}"#).await;
    assert_eq!(device.receive().await.unwrap_err().error, ErrorCode::BadRequest);
    // Garbage from the user's own authenticated device ends that request.
    let garbage = device.submit(&garbled.id, "a.b.c").await;
    assert_eq!(refused_code(&garbage), Some(ErrorCode::SadInvalid));
    assert_eq!(f.browser.request(&garbled.id).await.unwrap().error.map(|e| e.error), Some(ErrorCode::SadInvalid));

    // A SAD correctly signed by the device but with an extra claim is invalid.
    let mut claims =
        serde_json::to_value(push.sad_claims(Decision::Approve, 1, wysiwys_tests::system_now_s())).unwrap();
    claims["note"] = "trust me".into();
    let extra = jws::sign(&device.key, SAD_TYP, &device.account.device_id, &claims).unwrap();
    assert_eq!(refused_code(&device.submit(&created.id, &extra).await), Some(ErrorCode::SadInvalid));
    let view = f.browser.request(&created.id).await.unwrap();
    assert_eq!(view.error.map(|e| e.error), Some(ErrorCode::SadInvalid));
    let genuine = device.sad(&push, Decision::Approve);
    let outcome = device.submit(&created.id, &genuine).await;
    assert!(matches!(outcome, AckOutcome::Refused { error: ErrorCode::RequestNotPending, .. }), "{outcome:?}");
}

/// Sockets that never authenticate, more than one address may hold: the
/// next is refused before the upgrade; a closed one frees its place.
#[tokio::test]
async fn sockets_waiting_to_authenticate_and_live_streams_are_capped() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::{Error as WsError, Message};
    let f = Fixture::new(Db::Sqlite).await;
    let url = wysiwys_confirm::channel::socket_url(&f.server.origin).unwrap();
    let mut waiting = Vec::new();
    for _ in 0..16 {
        let (mut socket, _) = tokio_tungstenite::connect_async(url.as_str()).await.expect("within the cap");
        let hello = socket.next().await.unwrap().unwrap();
        assert!(hello.is_text(), "{hello:?}");
        waiting.push(socket);
    }
    match tokio_tungstenite::connect_async(url.as_str()).await {
        Err(WsError::Http(response)) => assert_eq!(response.status().as_u16(), 429),
        other => panic!("the 17th waiting socket must be refused, got {other:?}"),
    }
    let mut closed = waiting.pop().unwrap();
    closed.send(Message::Close(None)).await.unwrap();
    while let Some(Ok(message)) = closed.next().await {
        if message.is_close() {
            break;
        }
    }
    let device = ScriptedDevice::connect(f.device.account(), f.device.key()).await;
    assert!(device.is_ok(), "a closed socket frees its place: {:?}", device.err());

    let r = f.browser.upload_letter(LETTER).await.unwrap();
    let stream_url = f.browser.url(&format!("/api/requests/{}/stream", r.id));
    let mut streams = Vec::new();
    for _ in 0..4 {
        let response = f.browser.client.get(&stream_url).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200);
        streams.push(response);
    }
    let refused = f.browser.client.get(&stream_url).send().await.unwrap();
    assert_eq!(error_of(refused).await, (429, ErrorCode::RateLimited));
}
