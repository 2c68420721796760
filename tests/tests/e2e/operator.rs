//! The operator API: only with a token file, only with its token; what it
//! creates works like what the admin commands create. And the per-address
//! log-in limit, which counts guesses, not people logging in.

use secrecy::SecretString;
use wysiwys_proto::ErrorCode;
use wysiwys_proto::admin::{CreatedRelyingParty, CreatedUser};
use wysiwys_tests::attack::Lab;
use wysiwys_tests::{Browser, Db, TestServer};

const TOKEN: &str = "an operator token of more than thirty-two characters";

async fn post(server: &TestServer, path: &str, token: Option<&str>, body: serde_json::Value) -> reqwest::Response {
    let mut request = reqwest::Client::new().post(format!("{}/api/v1/admin{path}", server.origin)).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

async fn code(response: reqwest::Response) -> (u16, ErrorCode) {
    let status = response.status().as_u16();
    let body: wysiwys_proto::ErrorBody = response.json().await.unwrap();
    (status, body.error)
}

#[tokio::test]
async fn the_operator_api_needs_its_token_and_creates_working_accounts() {
    let secrets = tempfile::tempdir().unwrap();
    let token_file = secrets.path().join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let server = TestServer::start_with(Db::Sqlite, &["--admin-token-file", token_file.to_str().unwrap()]).await;
    let user = serde_json::json!({ "username": "olga" });

    let missing = post(&server, "/users", None, user.clone()).await;
    assert_eq!(code(missing).await, (401, ErrorCode::AdminTokenInvalid));
    let wrong =
        post(&server, "/users", Some("an operator token of more than thirty-two characterz"), user.clone()).await;
    assert_eq!(code(wrong).await, (401, ErrorCode::AdminTokenInvalid));
    let unknown_field =
        post(&server, "/users", Some(TOKEN), serde_json::json!({ "username": "x1", "admin": true })).await;
    assert_eq!(code(unknown_field).await, (400, ErrorCode::BadRequest));

    let created = post(&server, "/users", Some(TOKEN), user.clone()).await;
    assert_eq!(created.status(), 201);
    let created: CreatedUser = created.json().await.unwrap();
    assert_eq!(created.username, "olga");
    let mut browser = Browser::new(&server);
    browser.login(&server, &created).await.expect("the new account logs in");
    let again = post(&server, "/users", Some(TOKEN), user).await;
    assert_eq!(code(again).await, (400, ErrorCode::BadRequest));

    let party = serde_json::json!({ "name": "Example Bank", "media_types": ["text/plain"] });
    let party: CreatedRelyingParty = post(&server, "/relying-parties", Some(TOKEN), party).await.json().await.unwrap();
    let bank = wysiwys_tests::Bank::new(&server, party);
    let letter = serde_json::json!({
        "signer": { "username": "olga" }, "media_type": "text/plain", "document_b64": "SGVsbG8K",
    });
    let r = bank.create(&letter, None).await.expect("the new party's key works");
    assert_eq!(browser.request(&r.id).await.unwrap().requester, "Example Bank");
    assert!(!server.log().contains(TOKEN), "the token is never logged");
}

#[tokio::test]
async fn without_a_token_file_there_is_no_operator_api_and_a_short_token_is_refused() {
    let server = TestServer::start(Db::Sqlite).await;
    let answer = post(&server, "/users", Some(TOKEN), serde_json::json!({ "username": "olga" })).await;
    assert_eq!(code(answer).await, (404, ErrorCode::NotFound));

    let secrets = tempfile::tempdir().unwrap();
    let short = secrets.path().join("short");
    std::fs::write(&short, "too-short\n").unwrap();
    let out = std::process::Command::new(wysiwys_tests::workspace_bin("wysiwys-server"))
        .args(["serve", "--listen", "127.0.0.1:0", "--admin-token-file", short.to_str().unwrap(), "--data-dir"])
        .arg(secrets.path().join("data"))
        .env_remove("SOFTHSM2_CONF")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("shorter than 32"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn the_per_address_log_in_limit_counts_failures_not_people() {
    let secrets = tempfile::tempdir().unwrap();
    let token_file = secrets.path().join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    // Five log-ins a minute from one address, and no retry in this test.
    let server = TestServer::start_with(
        Db::Sqlite,
        &["--admin-token-file", token_file.to_str().unwrap(), "--login-rate-per-minute", "5"],
    )
    .await;
    let lab = Lab::new(&server.origin, SecretString::from(TOKEN.to_owned()));
    for _ in 0..8 {
        let account = lab.account().await.unwrap();
        let mut browser = Browser::new(&server);
        browser.login(&server, &account).await.expect("people who know their password are not limited");
    }
    let mut guesser = Browser::new(&server);
    let mut answers = Vec::new();
    for attempt in 0..6 {
        answers.push(guesser.login_with(&format!("nobody{attempt}"), "guess", "000000").await.unwrap_err().code());
    }
    assert_eq!(answers[..5], [ErrorCode::LoginFailed; 5]);
    assert_eq!(answers[5], ErrorCode::RateLimited);
    let account = lab.account().await.unwrap();
    let blocked = Browser::new(&server).login(&server, &account).await.unwrap_err();
    assert_eq!(blocked.code(), ErrorCode::RateLimited, "the address is limited for everyone until it refills");
}
