//! The web channel in a real headless Chromium (chromedriver), with the
//! real `wysiwys-confirm` as the device. Saves a screenshot of each main
//! page (to docs/screenshots/ with `WYSIWYS_UPDATE_SCREENSHOTS=1`).

use crate::fixture::{decision_pdf, openssl_verify};
use crate::pdf::pdfsig;
use base64::Engine;
use std::path::PathBuf;
use wysiwys_proto::ErrorCode;
use wysiwys_proto::summary::MEDIA_TYPE_PDF;
use wysiwys_tests::Bank;
use wysiwys_tests::browser::totp_code;
use wysiwys_tests::chrome::Chrome;
use wysiwys_tests::server::Credentials;
use wysiwys_tests::{ConfirmApp, Db, TestServer};

const LETTER: &str = "Municipality of Lund — Building permit 2026-1142\n\nDear Ms Åsa Öberg,\n\nyour garden shed at Storgatan 12 is approved.\nSign this letter to accept the conditions.\n";

fn screenshot_path(name: &str) -> PathBuf {
    wysiwys_tests::screenshot_path(&format!("{name}.png"))
}

/// Password page, then code page, in the browser. Returns the code used.
async fn log_in(chrome: &Chrome, server: &TestServer, creds: &Credentials, shots: bool) -> String {
    chrome.goto(&format!("{}/login", server.origin)).await;
    chrome.fill("#username", &creds.username).await;
    chrome.fill("#password", &creds.password).await;
    if shots {
        chrome.screenshot(&screenshot_path("login")).await;
    }
    chrome.click("form button[type=submit]").await;
    chrome.wait_for_path("/login/code").await;
    let code = totp_code(&creds.totp_secret, server.now_s());
    chrome.fill("#code", &code).await;
    chrome.click("form.card button[type=submit]").await;
    chrome.wait_for_path("/sign").await;
    code
}

/// Devices page → pairing page → the real app pairs → the page notices.
async fn pair_device(chrome: &Chrome, server: &TestServer, activation: Option<&str>, shots: bool) -> ConfirmApp {
    chrome.goto(&format!("{}/devices", server.origin)).await;
    chrome.click("main form button[type=submit]").await;
    let command = chrome.text("#pair-command").await;
    let uri = command.trim_start_matches("wysiwys-confirm pair '").trim_end_matches('\'');
    if shots {
        chrome.screenshot(&screenshot_path("pairing")).await;
    }
    let device = ConfirmApp::new();
    device.pair(uri, activation).expect("the app pairs with the URI shown on the page");
    chrome.wait_for_attr("#pairing", "data-paired", &["true"]).await;
    assert!(chrome.text("#pairing-status").await.starts_with("Paired: test device"));
    device
}

/// An account made by the administrator, logged in, with a paired device.
/// Returns the credentials, the device and the TOTP code used to log in.
pub(crate) async fn ready(server: &TestServer, chrome: &Chrome, name: &str) -> (Credentials, ConfirmApp, String) {
    let creds = server.create_user(name);
    let code = log_in(chrome, server, &creds, false).await;
    let device = pair_device(chrome, server, creds.activation_code.as_deref(), false).await;
    (creds, device, code)
}

/// Opens the first demo letter and waits until the page shows it.
async fn open_demo_letter(chrome: &Chrome, server: &TestServer) -> String {
    chrome.goto(&format!("{}/sign", server.origin)).await;
    chrome.click(".demos button").await;
    let path = chrome.wait_for_path("/requests/").await;
    loaded(chrome).await;
    path.trim_start_matches("/requests/").to_owned()
}

pub(crate) async fn loaded(chrome: &Chrome) {
    for _ in 0..100 {
        if chrome.attr("#sign-button", "disabled").await.is_none() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the sign page never became ready");
}

#[tokio::test]
async fn a_citizen_signs_up_pairs_and_signs_a_letter_in_the_browser() {
    let server = TestServer::start_with(Db::Sqlite, &["--first-device", "enrolment-window"]).await;
    let chrome = Chrome::start().await;
    let origin = server.origin.clone();

    // Sign up, and enrol the authenticator with the secret shown on the page.
    chrome.goto(&format!("{origin}/signup")).await;
    chrome.fill("#username", "asa.oberg").await;
    chrome.fill("#password", "correct horse battery").await;
    chrome.fill("#password2", "correct horse battery").await;
    chrome.screenshot(&screenshot_path("signup")).await;
    chrome.click("form button[type=submit]").await;
    chrome.wait_for_path("/enrol").await;
    let secret = chrome.text("#totp-secret").await;
    assert!(chrome.client.source().await.unwrap().contains("<svg"), "a QR code is on the page");
    chrome.screenshot(&screenshot_path("enrol")).await;
    chrome.fill("#code", &totp_code(&secret, server.now_s())).await;
    chrome.click("form.card button[type=submit]").await;
    chrome.wait_for_path("/sign").await;

    // Log out and in again: password, then a code of the next time step.
    chrome.click("header form button").await;
    chrome.wait_for_path("/login").await;
    server.advance_clock(30).await;
    let creds = Credentials {
        user_id: String::new(),
        username: "asa.oberg".into(),
        password: "correct horse battery".into(),
        otpauth_uri: String::new(),
        totp_secret: secret,
        activation_code: None,
        activation_expires_at: None,
    };
    log_in(&chrome, &server, &creds, true).await;

    // Open sign-up: the first device pairs in the window after TOTP enrolment.
    let device = pair_device(&chrome, &server, None, true).await;
    chrome.goto(&format!("{origin}/devices")).await;
    assert!(chrome.text("#devices").await.contains("test device"));
    chrome.screenshot(&screenshot_path("devices")).await;

    // Upload a letter from disk.
    let file = server.dir.path().join("permit.txt");
    std::fs::write(&file, LETTER).unwrap();
    chrome.goto(&format!("{origin}/sign")).await;
    chrome.screenshot(&screenshot_path("sign")).await;
    let input = chrome.client.find(fantoccini::Locator::Css("#letter")).await.unwrap();
    input.send_keys(&file.display().to_string()).await.unwrap();
    chrome.click("#upload-button").await;
    chrome.wait_for_path("/requests/").await;
    loaded(&chrome).await;
    assert_eq!(chrome.text("#document").await.replace("\r\n", "\n"), LETTER.trim_end());
    let code_on_page = chrome.text("#verification-code").await;
    chrome.screenshot(&screenshot_path("request")).await;

    // The device shows the same code and approves; the page turns "signed" by itself.
    let mut answer = device.answer("approve");
    let shown = answer.wait_for("request").await;
    assert_eq!(shown["verification_code"], code_on_page.as_str());
    chrome.click("#sign-button").await;
    let (code, events) = answer.finish().await;
    assert_eq!(code, 0, "{events:?}");
    chrome.wait_for_attr("#request", "data-state", &["signed"]).await;
    assert!(chrome.text("#status").await.starts_with("Signed."));
    chrome.run("document.getElementById('verification-code').scrollIntoView()").await;
    chrome.screenshot(&screenshot_path("signed")).await;

    let href = chrome.attr("#download", "href").await.expect("download link");
    let p7s = chrome.fetch_bytes(&href).await;
    let ca = server.get_ca_pem().await;
    openssl_verify(server.dir.path(), &ca, LETTER.as_bytes(), &p7s).expect("the downloaded .p7s verifies");

    chrome.goto(&format!("{origin}/history")).await;
    let history = chrome.text("#history").await;
    assert!(history.contains("signed") && history.contains(&shown["doc_sha256"].as_str().unwrap()[..20]), "{history}");
    chrome.screenshot(&screenshot_path("history")).await;
}

#[tokio::test]
async fn man_in_the_browser_changes_are_refused() {
    let server = TestServer::start(Db::Sqlite).await;
    let chrome = Chrome::start().await;
    ready(&server, &chrome, "mitb").await;

    // The letter is changed in the page after it arrived.
    open_demo_letter(&chrome, &server).await;
    chrome.run("const d = document.getElementById('document'); d.textContent = d.textContent.replace('approved', 'refused');").await;
    chrome.click("#sign-button").await;
    chrome.wait_for_attr("#request", "data-state", &["failed"]).await;
    assert_eq!(chrome.attr("#request", "data-error").await.as_deref(), Some("HASH_MISMATCH"));
    assert_eq!(chrome.text("#status").await, ErrorCode::HashMismatch.plain_words());
    chrome.run("document.getElementById('verification-code').scrollIntoView()").await;
    chrome.screenshot(&screenshot_path("refused")).await;

    // The summary is changed in the page.
    open_demo_letter(&chrome, &server).await;
    chrome.run("document.querySelector('.summary-lines .value').textContent = 'Municipality of Malmö';").await;
    chrome.click("#sign-button").await;
    chrome.wait_for_attr("#request", "data-state", &["failed"]).await;
    assert_eq!(chrome.attr("#request", "data-error").await.as_deref(), Some("SUMMARY_MISMATCH"));

    // The bytes the page hashes are swapped underneath it.
    open_demo_letter(&chrome, &server).await;
    chrome
        .run("const real = TextEncoder.prototype.encode; TextEncoder.prototype.encode = function (s) { return real.call(this, s + ' '); };")
        .await;
    chrome.click("#sign-button").await;
    chrome.wait_for_attr("#request", "data-state", &["failed"]).await;
    assert_eq!(chrome.attr("#request", "data-error").await.as_deref(), Some("HASH_MISMATCH"));
    assert_eq!(server.hsm_user_signatures().await, 0, "nothing was signed");
}

#[tokio::test]
async fn the_page_shows_that_the_device_rejected() {
    let server = TestServer::start(Db::Sqlite).await;
    let chrome = Chrome::start().await;
    let (creds, device, _) = ready(&server, &chrome, "rejecter").await;
    open_demo_letter(&chrome, &server).await;
    let mut answer = device.answer("reject");
    answer.wait_for("request").await;
    chrome.click("#sign-button").await;
    let (code, _) = answer.finish().await;
    assert_eq!(code, 0);
    chrome.wait_for_attr("#request", "data-state", &["failed"]).await;
    assert_eq!(chrome.attr("#request", "data-error").await.as_deref(), Some("DEVICE_REJECTED"));
    assert_eq!(chrome.text("#status").await, ErrorCode::DeviceRejected.plain_words());
    assert_eq!(server.hsm_user_signatures().await, 0);

    // The person no longer trusts the device and revokes it. Pairing used
    // the log-in's step-up: the page asks for password and a new code first.
    chrome.goto(&format!("{}/devices", server.origin)).await;
    assert_eq!(chrome.run("return document.querySelectorAll('#devices button.danger').length").await, 0);
    chrome.fill("#step-up #password", &creds.password).await;
    chrome.fill("#step-up #code", &totp_code(&creds.totp_secret, server.now_s() + 30)).await;
    chrome.click("#step-up button[type=submit]").await;
    chrome.wait_for_text("#step-up-done", "one device").await;
    chrome.click("#devices button.danger").await;
    // The form posts and the same page comes back: wait for the new one.
    chrome.wait_for_text("#devices", "revoked").await;
    let (code, events) = device.answer("approve").finish().await;
    assert_eq!(code, 3, "a revoked device is refused: {events:?}");
}

/// Serves one HTML page on another origin: the attacker's site.
pub(crate) async fn attacker_site(html: String) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = socket.read(&mut buf).await;
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{html}",
                html.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
        }
    });
    port
}

#[tokio::test]
async fn cross_site_posts_and_replayed_codes_are_refused() {
    let server = TestServer::start(Db::Sqlite).await;
    let chrome = Chrome::start().await;
    let (creds, _device, used) = ready(&server, &chrome, "victim").await;
    let port: u16 = server.origin.rsplit(':').next().unwrap().parse().unwrap();
    let form = |target: &str| {
        format!(
            "<!doctype html><form id=f method=post action='{target}/sign/demo/0'><input name=csrf value=guess></form>\
             <script>document.getElementById('f').submit()</script>"
        )
    };

    // Another site (localhost is not 127.0.0.1): the SameSite=Strict cookie stays home.
    let evil = attacker_site(form(&format!("http://127.0.0.1:{port}"))).await;
    chrome.goto(&format!("http://localhost:{evil}/")).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(chrome.path().await, "/login", "without the cookie the post is not logged in");

    // Same site, other origin: the cookie goes along, but the CSRF token is missing.
    let sibling = attacker_site(form(&format!("http://127.0.0.1:{port}"))).await;
    chrome.goto(&format!("http://127.0.0.1:{sibling}/")).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let page = chrome.client.source().await.unwrap();
    assert!(page.contains("CSRF_INVALID"), "{page}");
    chrome.goto(&format!("{}/history", server.origin)).await;
    assert!(chrome.client.source().await.unwrap().contains("Nothing yet"), "no request was created");

    // A replayed authenticator code: log out and use the same code again.
    chrome.click("header form button").await;
    chrome.goto(&format!("{}/login", server.origin)).await;
    chrome.fill("#username", &creds.username).await;
    chrome.fill("#password", &creds.password).await;
    chrome.click("form button[type=submit]").await;
    chrome.wait_for_path("/login/code").await;
    chrome.fill("#code", &used).await;
    chrome.click("form.card button[type=submit]").await;
    chrome.wait_for_path("/login/code").await;
    assert_eq!(chrome.text(".error").await, ErrorCode::TotpReplayed.plain_words());
}

#[tokio::test]
async fn an_agency_pdf_is_shown_and_signed_in_the_browser() {
    let server = TestServer::start(Db::Sqlite).await;
    let chrome = Chrome::start().await;
    let (_, device, _) = ready(&server, &chrome, "ann").await;
    let agency = Bank::new(&server, server.create_rp("Tax Agency", MEDIA_TYPE_PDF, None));
    let pdf = decision_pdf();
    let create = || {
        serde_json::json!({
            "signer": {"username": "ann"},
            "media_type": MEDIA_TYPE_PDF,
            "document_b64": base64::engine::general_purpose::STANDARD.encode(&pdf),
            "display": {"title": "Tax decision 2025", "lines": [{"label": "Amount due", "value": "0.00 SEK"}]},
        })
    };

    // A script in the page points the viewer at another PDF: refused.
    let swapped = agency.create(&create(), None).await.unwrap();
    chrome.goto(&format!("{}/requests/{}", server.origin, swapped.id)).await;
    loaded(&chrome).await;
    chrome.run("document.getElementById('pdf-view').src = 'data:application/pdf;base64,JVBERi0xLjcK';").await;
    chrome.click("#sign-button").await;
    chrome.wait_for_attr("#request", "data-state", &["failed"]).await;
    assert_eq!(chrome.attr("#request", "data-error").await.as_deref(), Some("HASH_MISMATCH"));

    let request = agency.create(&create(), None).await.unwrap();
    chrome.goto(&format!("{}/requests/{}", server.origin, request.id)).await;
    loaded(&chrome).await;
    assert!(
        chrome.attr("#pdf-view", "src").await.unwrap_or_default().starts_with("blob:"),
        "the viewer shows the received bytes"
    );
    assert!(chrome.text("#summary").await.contains("Pages"));
    chrome.screenshot(&screenshot_path("pdf")).await;
    let mut answer = device.answer("approve");
    answer.wait_for("request").await;
    chrome.click("#sign-button").await;
    let (code, events) = answer.finish().await;
    assert_eq!(code, 0, "{events:?}");
    chrome.wait_for_attr("#request", "data-state", &["signed"]).await;
    let href = chrome.attr("#download", "href").await.expect("download link");
    let signed = chrome.fetch_bytes(&href).await;
    assert!(signed.starts_with(&pdf));
    let verdict = pdfsig(server.dir.path(), &server.get_ca_pem().await, &signed);
    assert!(verdict.contains("Signature is Valid.") && verdict.contains("Certificate is Trusted."), "{verdict}");
}

#[tokio::test]
async fn the_api_description_renders_in_the_swagger_ui() {
    let server = TestServer::start(Db::Sqlite).await;
    let chrome = Chrome::start().await;
    chrome.goto(&format!("{}/api/docs/", server.origin)).await;
    // Swagger UI renders the operations from /api/openapi.json by script,
    // under our CSP (no inline script): when they show, the page works.
    for _ in 0..100 {
        let shown = chrome.run("return document.querySelectorAll('.opblock-summary-path').length").await;
        if shown.as_u64().unwrap_or(0) >= 20 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let paths = chrome.text(".swagger-ui").await;
    assert!(paths.contains("/api/v1/rp/requests") && paths.contains("/api/v1/rp/batches"), "{paths}");
    assert!(chrome.text(".swagger-ui .info").await.contains("wysiwys"));
    chrome.screenshot(&screenshot_path("api-docs")).await;
}
