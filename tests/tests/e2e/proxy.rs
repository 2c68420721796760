//! Behind a real nginx: the per-address limits see the real clients, and a
//! forwarding header from anyone but the trusted proxy changes nothing.

use std::net::IpAddr;
use wysiwys_proto::ErrorCode;
use wysiwys_proto::api::LoginRequest;
use wysiwys_tests::browser::decode;
use wysiwys_tests::nginx::Nginx;
use wysiwys_tests::{Db, TestServer};

/// A client whose connections come from `source` (an address of 127/8).
fn client_from(source: &str) -> reqwest::Client {
    reqwest::Client::builder().local_address(source.parse::<IpAddr>().unwrap()).build().unwrap()
}

/// One failed log-in (an unknown user: no account lock), optionally with a
/// forged `X-Forwarded-For`; the error code it got.
async fn failed_log_in(client: &reqwest::Client, origin: &str, forged: Option<&str>) -> ErrorCode {
    let body = LoginRequest { username: "nobody".into(), password: "wrong password".into(), totp: "000000".into() };
    let mut call = client.post(format!("{origin}/api/session")).json(&body);
    if let Some(forged) = forged {
        call = call.header("x-forwarded-for", forged);
    }
    decode::<serde_json::Value>(call.send().await.unwrap()).await.unwrap_err().code()
}

#[tokio::test]
async fn behind_nginx_each_client_has_its_own_limit_and_forged_headers_change_nothing() {
    let server =
        TestServer::start_with(Db::Sqlite, &["--trusted-proxy", "127.0.0.1", "--login-rate-per-minute", "3"]).await;
    let nginx = Nginx::start(&server.address).await;
    let (a, b, direct) = (client_from("127.0.0.2"), client_from("127.0.0.3"), client_from("127.0.0.4"));

    // Client A through the proxy uses up its three failures.
    for _ in 0..3 {
        assert_eq!(failed_log_in(&a, &nginx.origin, None).await, ErrorCode::LoginFailed);
    }
    assert_eq!(failed_log_in(&a, &nginx.origin, None).await, ErrorCode::RateLimited);
    // A header it writes itself does not give it a new bucket: nginx appends what it saw.
    assert_eq!(failed_log_in(&a, &nginx.origin, Some("198.51.100.9")).await, ErrorCode::RateLimited);
    // Client B behind the same proxy is someone else.
    assert_eq!(failed_log_in(&b, &nginx.origin, None).await, ErrorCode::LoginFailed);

    // Straight to the server, a peer that is not a trusted proxy is itself,
    // whatever it claims: neither A's emptied bucket nor a fresh one per try.
    assert_eq!(failed_log_in(&direct, &server.origin, Some("127.0.0.2")).await, ErrorCode::LoginFailed);
    for n in 0..2 {
        assert_eq!(
            failed_log_in(&direct, &server.origin, Some(&format!("198.51.100.{n}"))).await,
            ErrorCode::LoginFailed
        );
    }
    assert_eq!(failed_log_in(&direct, &server.origin, Some("198.51.100.77")).await, ErrorCode::RateLimited);
}
