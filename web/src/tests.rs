use super::*;
use wysiwys_proto::{ErrorBody, ErrorCode};

fn view(state: RequestState) -> SignRequestView {
    SignRequestView {
        id: "r1".into(),
        state,
        media_type: "text/plain".into(),
        title: "Permit <b>".into(),
        requester: "web".into(),
        doc_hash: "d".into(),
        summary_hash: "s".into(),
        verification_code: "0042".into(),
        created_at: 0,
        expires_at: 300_000,
        web_confirmed_at: None,
        device_confirmed_at: None,
        signed_at: None,
        device_id: None,
        sad_sha256: None,
        signature_level: None,
        error: None,
    }
}

#[test]
fn dates() {
    assert_eq!(format_ms(0), "1970-01-01 00:00:00 UTC");
    assert_eq!(format_ms(1_795_000_000_999), "2026-11-18 11:06:40 UTC");
    assert_eq!(format_ms(951_782_400_000), "2000-02-29 00:00:00 UTC");
}

#[test]
fn status_words_follow_the_channels() {
    let mut v = view(RequestState::Pending);
    assert!(status_message(&v).starts_with("Check the letter"));
    v.web_confirmed_at = Some(1);
    assert!(status_message(&v).starts_with("Waiting for your device"));
    v.state = RequestState::Failed;
    v.error = Some(ErrorBody::new(ErrorCode::HashMismatch, "x"));
    assert_eq!(status_message(&v), ErrorCode::HashMismatch.plain_words());
}

#[test]
fn pages_escape_and_use_no_inline_script_or_style() {
    let v = view(RequestState::Pending);
    let nav = Some(Nav { username: "ann".into(), csrf: "tok\"en".into() });
    let pages = [
        IndexPage { nav: None, origin: "http://x<script>", version: "0.1" }.render().unwrap(),
        RequestPage { nav: nav.clone(), csrf: "tok\"en", request: &v, server_time: 5, continue_to: None }
            .render()
            .unwrap(),
        HistoryPage { nav: nav.clone(), requests: std::slice::from_ref(&v) }.render().unwrap(),
        SignPage { nav: nav.clone(), csrf: "c", demos: &DEMO_LETTERS, max_bytes: 10 }.render().unwrap(),
        LoginPage { nav: None, form_token: "f", username: "<u>", error: Some("Wrong <password>") }.render().unwrap(),
        ErrorPage { nav, status: 404, code: "NOT_FOUND", message: "no" }.render().unwrap(),
    ];
    for html in &pages {
        assert!(!html.contains("<script>") && !html.contains("style=") && !html.contains("onclick"), "{html}");
        assert!(!html.contains("<b>") && !html.contains("<u>") && !html.contains("<password>"), "{html}");
        assert!(html.contains("/static/style.css"));
    }
    assert!(pages[1].contains("src=\"/static/sign.js\""));
    assert!(pages[1].contains("0042"), "the verification code is on the page");
    assert!(!pages[1].contains("tok\"en"), "attribute values are escaped");
}

#[test]
fn static_files_are_listed_and_only_those() {
    for name in ["style.css", "common.js", "sign.js", "upload.js", "pairing.js"] {
        assert!(static_file(name).is_some(), "{name}");
    }
    assert!(static_file("../Cargo.toml").is_none());
}
