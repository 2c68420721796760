//! RFC 3161: the built-in authority as OpenSSL's client sees it, CAdES-B-T
//! signatures whose tokens `openssl ts -verify` accepts, an external
//! authority (another server process), and the operator's policy when the
//! authority is down.

use crate::fixture::{Fixture, LETTER, openssl_verify};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::process::Command;
use wysiwys_proto::ErrorCode;
use wysiwys_proto::api::RequestState;
use wysiwys_proto::signature_level::SignatureLevel;
use wysiwys_tests::{Db, TestServer};

const TSA_POLICY: &str = "1.3.6.1.4.1.32473.1397600879.2";

fn openssl(args: &[&str], dir: &Path) -> Result<String, String> {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("run openssl");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if out.status.success() { Ok(text) } else { Err(text) }
}

async fn pem(server: &TestServer, path: &str) -> String {
    let response = reqwest::get(format!("{}{path}", server.origin)).await.expect("get");
    assert_eq!(response.status(), 200, "{path}");
    response.text().await.expect("text")
}

async fn post_query(server: &TestServer, content_type: &str, body: Vec<u8>) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/api/pki/tsa", server.origin))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("query")
}

/// `openssl ts -verify` of a CAdES-B-T signature's token against the
/// SHA-256 of its signature value, trusting only `ca_pem`.
fn verify_signature_timestamp(dir: &Path, p7s: &[u8], ca_pem: &str, tsa_pem: &str) -> Result<String, String> {
    let (token, signature_value) = wysiwys_tests::signature::signature_timestamp(p7s)?;
    std::fs::write(dir.join("token.der"), token).unwrap();
    std::fs::write(dir.join("ts-ca.pem"), ca_pem).unwrap();
    std::fs::write(dir.join("tsa.pem"), tsa_pem).unwrap();
    let digest = hex(&Sha256::digest(&signature_value));
    openssl(
        &[
            "ts",
            "-verify",
            "-token_in",
            "-in",
            "token.der",
            "-digest",
            &digest,
            "-CAfile",
            "ts-ca.pem",
            "-untrusted",
            "tsa.pem",
        ],
        dir,
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn the_built_in_authority_answers_openssl_and_names_what_it_refuses() {
    let server = TestServer::start(Db::Sqlite).await;
    let dir = server.dir.path();
    std::fs::write(dir.join("ca.pem"), pem(&server, "/api/pki/ca.pem").await).unwrap();
    let tsa_pem = pem(&server, "/api/pki/tsa.pem").await;
    std::fs::write(dir.join("tsa.pem"), &tsa_pem).unwrap();
    let certificate = openssl(&["x509", "-in", "tsa.pem", "-noout", "-text"], dir).unwrap();
    assert!(certificate.contains("X509v3 Extended Key Usage: critical"), "{certificate}");
    assert!(certificate.contains("Time Stamping"), "{certificate}");
    assert!(openssl(&["verify", "-CAfile", "ca.pem", "tsa.pem"], dir).is_ok(), "the CA issued the TSA certificate");

    std::fs::write(dir.join("data.txt"), "a contract worth a timestamp\n").unwrap();
    openssl(&["ts", "-query", "-data", "data.txt", "-sha256", "-cert", "-out", "query.tsq"], dir).unwrap();
    let before = server.metric("wysiwys_hsm_signatures_total{key=\"tsa\"}").await;
    let reply = post_query(&server, "application/timestamp-query", std::fs::read(dir.join("query.tsq")).unwrap()).await;
    assert_eq!(reply.status(), 200);
    assert_eq!(reply.headers()["content-type"], "application/timestamp-reply");
    std::fs::write(dir.join("reply.tsr"), reply.bytes().await.unwrap()).unwrap();
    assert_eq!(server.metric("wysiwys_hsm_signatures_total{key=\"tsa\"}").await, before + 1);

    let verified = openssl(
        &["ts", "-verify", "-in", "reply.tsr", "-queryfile", "query.tsq", "-CAfile", "ca.pem", "-untrusted", "tsa.pem"],
        dir,
    )
    .expect("openssl verifies the reply against the query");
    assert!(verified.contains("Verification: OK"), "{verified}");
    let text = openssl(&["ts", "-reply", "-in", "reply.tsr", "-text"], dir).unwrap();
    for expected in ["Status: Granted", &format!("Policy OID: {TSA_POLICY}"), "Accuracy: 0x01 seconds", "Nonce: 0x"] {
        assert!(text.contains(expected), "{expected} missing:\n{text}");
    }
    // genTime in whole seconds (OpenSSL prints fractions after a dot).
    let stamped = text.lines().find(|l| l.starts_with("Time stamp: ")).expect("a time");
    assert!(stamped.ends_with(" GMT") && !stamped.contains('.'), "{stamped}");
    // The same token does not vouch for other data.
    std::fs::write(dir.join("other.txt"), "a different contract\n").unwrap();
    assert!(
        openssl(
            &["ts", "-verify", "-in", "reply.tsr", "-data", "other.txt", "-CAfile", "ca.pem", "-untrusted", "tsa.pem"],
            dir
        )
        .is_err()
    );

    // Garbage gets a reply the client can read, with the RFC's failure bit.
    let garbage = post_query(&server, "application/timestamp-query", b"not a query".to_vec()).await;
    assert_eq!(garbage.status(), 200);
    std::fs::write(dir.join("garbage.tsr"), garbage.bytes().await.unwrap()).unwrap();
    let text = openssl(&["ts", "-reply", "-in", "garbage.tsr", "-text"], dir).unwrap();
    assert!(text.contains("Status: Rejected") && text.contains("the data submitted has the wrong format"), "{text}");
    openssl(&["ts", "-query", "-data", "data.txt", "-sha1", "-out", "sha1.tsq"], dir).unwrap();
    let sha1 = post_query(&server, "application/timestamp-query", std::fs::read(dir.join("sha1.tsq")).unwrap()).await;
    std::fs::write(dir.join("sha1.tsr"), sha1.bytes().await.unwrap()).unwrap();
    let text = openssl(&["ts", "-reply", "-in", "sha1.tsr", "-text"], dir).unwrap();
    assert!(text.contains("Status: Rejected") && text.contains("unrecognized or unsupported algorithm"), "{text}");
    assert_eq!(server.metric("wysiwys_hsm_signatures_total{key=\"tsa\"}").await, before + 1, "refusals sign nothing");

    let wrong_type = post_query(&server, "application/json", b"{}".to_vec()).await;
    assert_eq!(wrong_type.status(), 415);
    let too_large = post_query(&server, "application/timestamp-query", vec![0x30; 5000]).await;
    assert_eq!(too_large.status(), 413);
}

#[tokio::test]
async fn a_letter_is_signed_at_b_t_and_its_timestamp_verifies_on_postgres() {
    let f = Fixture::new(Db::Postgres).await;
    let (id, confirmed) = f.approve_and_confirm_letter().await;
    let signed = confirmed.expect("signed");
    assert_eq!(signed.state, RequestState::Signed);
    assert_eq!(signed.signature_level, Some(SignatureLevel::BaselineT));
    let p7s = f.browser.signature(&id).await.unwrap();
    let ca = f.server.get_ca_pem().await;
    openssl_verify(f.server.dir.path(), &ca, LETTER.as_bytes(), &p7s)
        .expect("openssl cms -verify -cades still accepts");
    let tsa = pem(&f.server, "/api/pki/tsa.pem").await;
    let verified = verify_signature_timestamp(f.server.dir.path(), &p7s, &ca, &tsa).expect("the token verifies");
    assert!(verified.contains("Verification: OK"), "{verified}");
    // The token covers this signature's value and no other.
    let (_, value) = wysiwys_tests::signature::signature_timestamp(&p7s).unwrap();
    let mut other = p7s.clone();
    let at = other.windows(value.len()).position(|w| w == value).unwrap();
    other[at + value.len() - 1] ^= 1;
    assert!(verify_signature_timestamp(f.server.dir.path(), &other, &ca, &tsa).is_err());
}

#[tokio::test]
async fn an_external_authority_stamps_when_configured() {
    let authority = TestServer::start(Db::Sqlite).await;
    let url = format!("{}/api/pki/tsa", authority.origin);
    let f = Fixture::with_args(Db::Sqlite, &["--tsa-url", &url]).await;
    let own_before = f.server.metric("wysiwys_hsm_signatures_total{key=\"tsa\"}").await;
    let theirs_before = authority.metric("wysiwys_hsm_signatures_total{key=\"tsa\"}").await;
    let (id, confirmed) = f.approve_and_confirm_letter().await;
    assert_eq!(confirmed.expect("signed").signature_level, Some(SignatureLevel::BaselineT));
    assert_eq!(authority.metric("wysiwys_hsm_signatures_total{key=\"tsa\"}").await, theirs_before + 1);
    assert_eq!(f.server.metric("wysiwys_hsm_signatures_total{key=\"tsa\"}").await, own_before);
    let p7s = f.browser.signature(&id).await.unwrap();
    // The token is the other authority's: it verifies under its CA only.
    let (their_ca, their_tsa) = (authority.get_ca_pem().await, pem(&authority, "/api/pki/tsa.pem").await);
    let verified = verify_signature_timestamp(f.server.dir.path(), &p7s, &their_ca, &their_tsa).expect("verifies");
    assert!(verified.contains("Verification: OK"), "{verified}");
    let (our_ca, our_tsa) = (f.server.get_ca_pem().await, pem(&f.server, "/api/pki/tsa.pem").await);
    assert!(verify_signature_timestamp(f.server.dir.path(), &p7s, &our_ca, &our_tsa).is_err());
}

/// A loopback port nobody listens on.
fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}/tsa")
}

#[tokio::test]
async fn with_the_authority_down_required_releases_nothing_and_best_effort_releases_b_b() {
    let url = closed_port_url();
    let f = Fixture::with_args(Db::Sqlite, &["--tsa-url", &url]).await;
    let (id, confirmed) = f.approve_and_confirm_letter().await;
    let refused = confirmed.expect_err("no timestamp, no signature");
    assert_eq!((refused.status, refused.code()), (503, ErrorCode::TimestampUnavailable));
    let view = f.browser.request(&id).await.unwrap();
    assert_eq!(view.state, RequestState::Failed);
    assert_eq!(view.error.map(|e| e.error), Some(ErrorCode::TimestampUnavailable));
    assert_eq!(view.signature_level, None);
    assert!(f.browser.signature(&id).await.is_err(), "nothing is released");
    assert!(f.server.log().contains("TIMESTAMP_UNAVAILABLE") || f.server.log().contains("no timestamp"));

    let f = Fixture::with_args(Db::Sqlite, &["--tsa-url", &url, "--timestamp-policy", "best-effort"]).await;
    let (id, confirmed) = f.approve_and_confirm_letter().await;
    let signed = confirmed.expect("best effort signs");
    assert_eq!(signed.state, RequestState::Signed);
    assert_eq!(signed.signature_level, Some(SignatureLevel::BaselineB));
    let p7s = f.browser.signature(&id).await.unwrap();
    openssl_verify(f.server.dir.path(), &f.server.get_ca_pem().await, LETTER.as_bytes(), &p7s)
        .expect("a B-B signature");
    assert!(wysiwys_tests::signature::signature_timestamp(&p7s).is_err(), "no token in it");
    let events = f.browser.events(&id).await.unwrap();
    let missing = events.iter().find(|e| e.event == "timestamp_unavailable").expect("the trail says so");
    assert_eq!(missing.code, Some(ErrorCode::TimestampUnavailable));
}

#[tokio::test]
async fn a_csc_client_gets_a_timestamp_token_over_its_hash_in_both_versions() {
    let server = TestServer::start(Db::Sqlite).await;
    let dir = server.dir.path();
    let rp = server.create_rp("Archive", "text/plain", None);
    std::fs::write(dir.join("ca.pem"), server.get_ca_pem().await).unwrap();
    std::fs::write(dir.join("tsa.pem"), pem(&server, "/api/pki/tsa.pem").await).unwrap();
    let digest = Sha256::digest(b"an archived contract");
    let hash = wysiwys_proto::b64::encode_standard(digest);
    for version in ["v1", "v2"] {
        let csc = wysiwys_tests::csc::CscClient::new(&server.origin, version, Some(&rp.api_key));
        let info = csc.post("info", &serde_json::json!({})).await.ok();
        assert!(info["methods"].to_string().contains("signatures/timestamp"), "{info}");
        let body = serde_json::json!({"hash": hash, "hashAlgo": "2.16.840.1.101.3.4.2.1", "nonce": "0badc0ffee112233"});
        let answer = csc.post("signatures/timestamp", &body).await.ok();
        let token = wysiwys_proto::b64::decode_standard(answer["timestamp"].as_str().unwrap()).unwrap();
        std::fs::write(dir.join("csc-token.der"), token).unwrap();
        let verified = openssl(
            &[
                "ts",
                "-verify",
                "-token_in",
                "-in",
                "csc-token.der",
                "-digest",
                &hex(&digest),
                "-CAfile",
                "ca.pem",
                "-untrusted",
                "tsa.pem",
            ],
            dir,
        )
        .expect("openssl verifies the CSC token");
        assert!(verified.contains("Verification: OK"), "{verified}");
        let text = openssl(&["ts", "-reply", "-token_in", "-in", "csc-token.der", "-text"], dir).unwrap();
        assert!(text.contains("Nonce: 0x0BADC0FFEE112233"), "{text}");

        let sha1 =
            csc.post("signatures/timestamp", &serde_json::json!({"hash": hash, "hashAlgo": "1.3.14.3.2.26"})).await;
        assert_eq!((sha1.status, sha1.error()), (400, "invalid_request"), "{}", sha1.body);
        let short = csc
            .post("signatures/timestamp", &serde_json::json!({"hash": "aGk=", "hashAlgo": "2.16.840.1.101.3.4.2.1"}))
            .await;
        assert_eq!(short.status, 400, "{}", short.body);
        let anonymous = wysiwys_tests::csc::CscClient::new(&server.origin, version, None);
        // As every other CSC method without a token (the spec's invalid_request).
        let refused = anonymous.post("signatures/timestamp", &body).await;
        assert_eq!((refused.status, refused.error()), (400, "invalid_request"), "{}", refused.body);
    }
}

/// A one-route HTTP front for an authority that wants HTTP Basic: it
/// answers 401 unless the request carries `user:password`, and forwards
/// the query otherwise. Returns its URL and the number of queries it let
/// through.
async fn basic_auth_front(
    target: String,
    credentials: &str,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use base64::Engine;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/tsa", listener.local_addr().unwrap());
    let expected = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(credentials));
    let passed = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = passed.clone();
    tokio::spawn(async move {
        let client = reqwest::Client::new();
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = Vec::new();
            let mut buffer = [0u8; 4096];
            let (head_end, length) = loop {
                let n = socket.read(&mut buffer).await.unwrap_or(0);
                if n == 0 {
                    break (None, 0);
                }
                request.extend_from_slice(&buffer[..n]);
                if let Some(at) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&request[..at]).to_lowercase();
                    let length = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0)))
                        .unwrap_or(0);
                    break (Some(at + 4), length);
                }
            };
            let Some(body_at) = head_end else { continue };
            while request.len() < body_at + length {
                let n = socket.read(&mut buffer).await.unwrap_or(0);
                if n == 0 {
                    break;
                }
                request.extend_from_slice(&buffer[..n]);
            }
            // Header names are case-insensitive, the credentials are not.
            let head = String::from_utf8_lossy(&request[..body_at]).into_owned();
            let authorized = head.lines().any(|l| {
                l.split_once(':')
                    .is_some_and(|(name, value)| name.eq_ignore_ascii_case("authorization") && value.trim() == expected)
            });
            let (status, body) = if authorized {
                counter.fetch_add(1, Ordering::SeqCst);
                let reply = client
                    .post(&target)
                    .header("content-type", "application/timestamp-query")
                    .body(request[body_at..].to_vec())
                    .send()
                    .await
                    .unwrap();
                ("200 OK", reply.bytes().await.unwrap().to_vec())
            } else {
                ("401 Unauthorized", Vec::new())
            };
            let head = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/timestamp-reply\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = socket.write_all(head.as_bytes()).await;
            let _ = socket.write_all(&body).await;
        }
    });
    (url, passed)
}

#[tokio::test]
async fn an_external_authority_behind_basic_auth_gets_the_configured_credentials() {
    let authority = TestServer::start(Db::Sqlite).await;
    let (url, passed) = basic_auth_front(format!("{}/api/pki/tsa", authority.origin), "archive:s3cret-pass").await;
    let secrets = tempfile::tempdir().unwrap();
    let (right, wrong) = (secrets.path().join("right"), secrets.path().join("wrong"));
    std::fs::write(&right, "archive:s3cret-pass\n").unwrap();
    std::fs::write(&wrong, "archive:guess\n").unwrap();

    let f =
        Fixture::with_args(Db::Sqlite, &["--tsa-url", &url, "--tsa-basic-auth-file", right.to_str().unwrap()]).await;
    let (_, signed) = f.approve_and_confirm_letter().await;
    assert_eq!(signed.expect("stamped through the front").signature_level, Some(SignatureLevel::BaselineT));
    assert_eq!(passed.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert!(!f.server.log().contains("s3cret-pass"), "the password is never logged");

    let f =
        Fixture::with_args(Db::Sqlite, &["--tsa-url", &url, "--tsa-basic-auth-file", wrong.to_str().unwrap()]).await;
    let (_, refused) = f.approve_and_confirm_letter().await;
    assert_eq!(refused.expect_err("the front refuses").code(), ErrorCode::TimestampUnavailable);
    assert_eq!(passed.load(std::sync::atomic::Ordering::SeqCst), 1, "nothing got through with the wrong password");
}
