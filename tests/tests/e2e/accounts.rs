//! Log-in, TOTP, sessions, CSRF and pairing codes.

use crate::fixture::{Fixture, LETTER};
use wysiwys_proto::ErrorCode;
use wysiwys_tests::browser::{hidden_field, session_cookie, totp_code};
use wysiwys_tests::{Browser, ConfirmApp, Db, TestServer};

#[tokio::test]
async fn password_and_totp_failures() {
    let server = TestServer::start(Db::Sqlite).await;
    let creds = server.create_user("bob");
    let mut browser = Browser::new(&server);
    let code = totp_code(&creds.totp_secret, server.now_s());

    let unknown = browser.login_with("nobody", &creds.password, &code).await.unwrap_err();
    let wrong = browser.login_with("bob", "wrong password", &code).await.unwrap_err();
    assert_eq!((unknown.status, unknown.code()), (401, ErrorCode::LoginFailed));
    assert_eq!(unknown.body.error_description, wrong.body.error_description, "unknown users look like wrong passwords");
    let bad_code = if code == "000000" { "111111" } else { "000000" };
    let err = browser.login_with("bob", &creds.password, bad_code).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::TotpInvalid);

    browser.login_with("bob", &creds.password, &code).await.expect("right password and code");
    let mut other = Browser::new(&server);
    let replay = other.login_with("bob", &creds.password, &code).await.unwrap_err();
    assert_eq!((replay.status, replay.code()), (401, ErrorCode::TotpReplayed));
}

#[tokio::test]
async fn repeated_failures_lock_the_account() {
    let server = TestServer::start(Db::Sqlite).await;
    let creds = server.create_user("carl");
    let mut browser = Browser::new(&server);
    for _ in 0..5 {
        let err = browser.login_with("carl", "guess", "123456").await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::LoginFailed);
    }
    let locked = browser.login(&server, &creds).await.unwrap_err();
    assert_eq!((locked.status, locked.code()), (429, ErrorCode::RateLimited));
    server.advance_clock(16 * 60).await;
    browser.login(&server, &creds).await.expect("the lock expires");
}

#[tokio::test]
async fn sessions_cookies_and_csrf() {
    let server = TestServer::start(Db::Sqlite).await;
    let creds = server.create_user("dora");
    let anonymous = Browser::new(&server);
    let err = anonymous.upload_letter(LETTER).await.unwrap_err();
    assert_eq!((err.status, err.code()), (401, ErrorCode::Unauthenticated));

    let body = serde_json::json!({
        "username": "dora", "password": creds.password, "totp": totp_code(&creds.totp_secret, server.now_s()),
    });
    let response =
        reqwest::Client::new().post(format!("{}/api/session", server.origin)).json(&body).send().await.unwrap();
    let cookie = response.headers().get("set-cookie").unwrap().to_str().unwrap().to_owned();
    assert!(cookie.starts_with("wysiwys_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/"), "{cookie}");
    let csp = response.headers().get("content-security-policy").unwrap().to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline") && csp.contains("frame-ancestors 'none'")
    );

    let mut browser = Browser::new(&server);
    server.advance_clock(30).await;
    browser.login(&server, &creds).await.unwrap();
    let real_token = browser.csrf.take();
    let err = browser.upload_letter(LETTER).await.unwrap_err();
    assert_eq!((err.status, err.code()), (403, ErrorCode::CsrfInvalid));
    browser.csrf = Some("forged".into());
    assert_eq!(browser.upload_letter(LETTER).await.unwrap_err().code(), ErrorCode::CsrfInvalid);
    browser.csrf = real_token;
    browser.upload_letter(LETTER).await.expect("with the token");
}

#[tokio::test]
async fn pairing_codes_are_single_use_and_expire() {
    let f = Fixture::new(Db::Sqlite).await;
    f.browser.step_up(&f.server, &f.creds).await.expect("step-up for the first code");
    let used = f.browser.pairing_code().await.unwrap();
    let first = ConfirmApp::new();
    first.pair(&used.uri, None).expect("first use (it then awaits approval)");
    let err = ConfirmApp::new().pair(&used.uri, None).unwrap_err();
    assert!(err.contains("PAIRING_CODE_INVALID"), "{err}");

    f.server.advance_clock(30).await; // the next authenticator code
    f.browser.step_up(&f.server, &f.creds).await.expect("step-up for the second code");
    let late = f.browser.pairing_code().await.unwrap();
    f.server.advance_clock(10 * 60 + 1).await;
    let err = ConfirmApp::new().pair(&late.uri, None).unwrap_err();
    assert!(err.contains("PAIRING_CODE_INVALID"), "{err}");
    let devices = f.browser.devices().await.unwrap();
    assert_eq!(devices.len(), 2, "the fixture's device and the first use");
}

#[tokio::test]
async fn another_users_request_does_not_exist_for_you() {
    let f = Fixture::new(Db::Sqlite).await;
    let mine = f.browser.upload_letter(LETTER).await.unwrap();
    let eve = f.server.create_user("eve");
    let mut other = Browser::new(&f.server);
    other.login(&f.server, &eve).await.unwrap();
    for path in ["", "/document", "/summary", "/signature"] {
        let err = other.bytes(&format!("/api/requests/{}{path}", mine.id)).await.unwrap_err();
        assert_eq!((err.status, err.code()), (404, ErrorCode::RequestNotFound), "{path}");
    }
    let err = other.confirm_as_displayed(&mine.id).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::RequestNotFound);
    assert_eq!(f.browser.request(&mine.id).await.unwrap().web_confirmed_at, None);
}

/// The demo command: first start creates `demo` and prints what a newcomer
/// needs; a second start does not create it again.
#[tokio::test]
async fn demo_prints_credentials_once() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let run = || {
        let mut child = std::process::Command::new(wysiwys_tests::workspace_bin("wysiwys-server"))
            .args(["demo", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .env_remove("SOFTHSM2_CONF")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = Vec::new();
        for line in BufReader::new(child.stdout.take().unwrap()).lines() {
            let line = line.unwrap();
            let done = line.starts_with("wysiwys-server listening on http://127.0.0.1:");
            lines.push(line);
            if done {
                break;
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        lines.join("\n")
    };
    let first = run();
    assert!(first.contains("Created user \"demo\""), "{first}");
    assert!(first.contains("otpauth://totp/wysiwys:demo?secret="), "{first}");
    assert!(first.contains("password:") && first.contains('▀'), "a QR code is drawn: {first}");
    let second = run();
    assert!(second.contains("exists already") && !second.contains("password:"), "{second}");
}

/// The web log-in: the session that exists after the password can do
/// nothing but take the code, and is replaced by a new one afterwards.
#[tokio::test]
async fn web_log_in_replaces_the_pending_session() {
    let server = TestServer::start(Db::Sqlite).await;
    let creds = server.create_user("fay");
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let client = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let url = |p: &str| format!("{}{p}", server.origin);
    let form_page = client.get(url("/login")).send().await.unwrap().text().await.unwrap();
    let token = hidden_field(&form_page, "form_token").unwrap();

    let step_one = client
        .post(url("/login"))
        .form(&[("form_token", token.as_str()), ("username", "fay"), ("password", creds.password.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(step_one.status(), 303);
    assert_eq!(step_one.headers().get("location").unwrap(), "/login/code");
    let pending = session_cookie(&step_one).expect("a pending session");
    assert_eq!(client.get(url("/api/me")).send().await.unwrap().status(), 401, "the pending session is not a log-in");

    let code_page = client.get(url("/login/code")).send().await.unwrap().text().await.unwrap();
    let csrf = hidden_field(&code_page, "csrf").unwrap();
    let code = totp_code(&creds.totp_secret, server.now_s());
    let step_two =
        client.post(url("/login/code")).form(&[("csrf", csrf.as_str()), ("code", code.as_str())]).send().await.unwrap();
    assert_eq!(step_two.headers().get("location").unwrap(), "/sign");
    let full = session_cookie(&step_two).expect("a new session");
    assert_ne!(pending, full, "a new session id after log-in");
    assert_eq!(client.get(url("/api/me")).send().await.unwrap().status(), 200);

    // The pending session id is gone: replaying it gets nowhere.
    let replay = reqwest::Client::new().get(url("/api/me")).header("cookie", &pending).send().await.unwrap();
    assert_eq!(replay.status(), 401);

    // A login form posted without this browser's form token is refused.
    let forged = reqwest::Client::new()
        .post(url("/login"))
        .form(&[("form_token", token.as_str()), ("username", "fay"), ("password", creds.password.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);

    // Wrong passwords, then the lock, each said on the page.
    let attempt = |password: &'static str| {
        client
            .post(url("/login"))
            .form(&[("form_token", token.as_str()), ("username", "fay"), ("password", password)])
            .send()
    };
    for _ in 0..5 {
        let page = attempt("wrong").await.unwrap();
        assert_eq!(page.status(), 401);
        assert!(page.text().await.unwrap().contains(ErrorCode::LoginFailed.plain_words()));
    }
    let locked = attempt("still wrong").await.unwrap();
    assert_eq!(locked.status(), 429);
    assert!(locked.text().await.unwrap().contains("Locked for now: too many failed attempts; the account is locked"));
}
