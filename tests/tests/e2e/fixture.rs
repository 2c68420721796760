//! A logged-in user with one paired device, on a fresh server.

use std::path::Path;
use std::process::Command;
use wysiwys_proto::api::SignRequestView;
use wysiwys_tests::server::Credentials;
use wysiwys_tests::{Browser, ConfirmApp, Db, TestServer};

pub const LETTER: &str = "Municipality of Lund — Building permit\n\nDear Ms Åsa Öberg,\n\nyour application 2026-1142 for a garden shed at Storgatan 12 is approved.\n";

pub struct Fixture {
    pub server: TestServer,
    pub creds: Credentials,
    pub browser: Browser,
    pub device: ConfirmApp,
    pub device_id: String,
    /// The server time (s) whose authenticator code the log-in used.
    pub logged_in_at_s: i64,
}

impl Fixture {
    pub async fn new(db: Db) -> Fixture {
        Fixture::with_args(db, &[]).await
    }

    /// The same, with these flags for `wysiwys-server serve`.
    pub async fn with_args(db: Db, server_args: &[&str]) -> Fixture {
        let server = TestServer::start_with(db, server_args).await;
        let creds = server.create_user("ann");
        let mut browser = Browser::new(&server);
        let logged_in_at_s = server.now_s();
        let code = wysiwys_tests::browser::totp_code(&creds.totp_secret, logged_in_at_s);
        browser.login_with(&creds.username, &creds.password, &code).await.expect("log in");
        let pairing = browser.pairing_code().await.expect("pairing code");
        let device = ConfirmApp::new();
        let device_id = device.pair(&pairing.uri, creds.activation_code.as_deref()).expect("pair");
        Fixture { server, creds, browser, device, device_id, logged_in_at_s }
    }
}

impl Fixture {
    /// The device approves the letter, then the browser confirms it: the
    /// request's id and the confirmation's answer (signed, or why not).
    pub async fn approve_and_confirm_letter(&self) -> (String, wysiwys_tests::browser::ApiResult<SignRequestView>) {
        let mut answer = self.device.answer("approve");
        answer.wait_for("connected").await;
        let created = self.browser.upload_letter(LETTER).await.expect("upload");
        answer.wait_for("request").await;
        let (code, events) = answer.finish().await;
        assert_eq!(code, 0, "{events:?}");
        let confirmed = self.browser.confirm_as_displayed(&created.id).await;
        (created.id, confirmed)
    }
}

/// `openssl cms -verify -cades` against our CA, over the exact document.
pub fn openssl_verify(dir: &Path, ca_pem: &str, document: &[u8], p7s: &[u8]) -> Result<(), String> {
    let (ca, doc, sig) = (dir.join("ca.pem"), dir.join("document"), dir.join("signature.p7s"));
    std::fs::write(&ca, ca_pem).unwrap();
    std::fs::write(&doc, document).unwrap();
    std::fs::write(&sig, p7s).unwrap();
    let out = Command::new("openssl")
        .args(["cms", "-verify", "-binary", "-inform", "DER", "-cades", "-CAfile"])
        .arg(&ca)
        .arg("-content")
        .arg(&doc)
        .arg("-in")
        .arg(&sig)
        .args(["-out", "/dev/null"])
        .output()
        .expect("run openssl");
    if out.status.success() { Ok(()) } else { Err(String::from_utf8_lossy(&out.stderr).into_owned()) }
}

/// The structure as openssl prints it, for checking attributes.
pub fn openssl_print(dir: &Path, p7s: &[u8]) -> String {
    let sig = dir.join("print.p7s");
    std::fs::write(&sig, p7s).unwrap();
    let out = Command::new("openssl")
        .args(["cms", "-cmsout", "-print", "-inform", "DER", "-in"])
        .arg(&sig)
        .output()
        .expect("run openssl");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A two-page decision letter as an office suite would export it.
pub fn decision_pdf() -> Vec<u8> {
    wysiwys_tests::pdf::bytes(&mut wysiwys_tests::pdf::text_pages(&[
        "Tax decision 2025 for Ann",
        "Amount due: 0.00 SEK",
    ]))
}
