//! CSC OAuth 2.0 in a real headless Chromium: a signing application sends
//! the person to `oauth2/authorize`, they log in with password and code on
//! our pages, consent, confirm the hashes on the Sign page while the real
//! `wysiwys-confirm` approves, and the application redeems the code with
//! its PKCE verifier. The credential-scope token is the SAD: it signs
//! exactly the confirmed hashes, once. A wrong verifier, a replayed code,
//! an unregistered redirect URI and a missing PKCE challenge get nothing.

use crate::web::{attacker_site, ready};
use base64::Engine;
use serde_json::{Value, json};
use wysiwys_proto::csc::oauth::DETAILS_TYPE_CREDENTIAL;
use wysiwys_proto::csc::{OID_ECDSA_WITH_SHA256, OID_SHA256};
use wysiwys_proto::hashes::MEDIA_TYPE_HASHES;
use wysiwys_tests::chrome::Chrome;
use wysiwys_tests::csc::CscClient;
use wysiwys_tests::server::RpCredentials;
use wysiwys_tests::{Db, TestServer};

const APP: &str = "Sign Anywhere";
/// A well-formed verifier that is not the client's.
const WRONG_VERIFIER: &str = "not-the-verifier-of-this-code-but-long-enough-0123456789";

fn b64url(bytes: impl AsRef<[u8]>) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A fresh PKCE verifier and its S256 challenge.
fn pkce(seed: &str) -> (String, String) {
    let verifier = b64url(wysiwys_proto::jcs::sha256(format!("verifier {seed}").as_bytes()));
    let challenge = b64url(wysiwys_proto::jcs::sha256(verifier.as_bytes()));
    (verifier, challenge)
}

/// The signing application: a page of its own on another port, and a
/// relying party whose one redirect URI is that page.
async fn signing_app(server: &TestServer) -> (RpCredentials, String) {
    let port = attacker_site("<!doctype html><title>Sign Anywhere</title><p id=app>back at the app</p>".into()).await;
    let callback = format!("http://127.0.0.1:{port}/callback");
    let rp = server.create_rp_with(APP, MEDIA_TYPE_HASHES, &["--redirect-uri", &callback]);
    (rp, callback)
}

fn authorize_url(server: &TestServer, rp: &RpCredentials, callback: &str, extra: &[(&str, &str)]) -> String {
    let mut url = reqwest::Url::parse(&format!("{}/csc/v2/oauth2/authorize", server.origin)).unwrap();
    url.query_pairs_mut().append_pair("response_type", "code").append_pair("client_id", &rp.rp_id);
    url.query_pairs_mut().append_pair("redirect_uri", callback);
    for (name, value) in extra {
        url.query_pairs_mut().append_pair(name, value);
    }
    url.into()
}

/// Waits for the browser to be back at the application; its query.
async fn back_at_app(chrome: &Chrome) -> std::collections::HashMap<String, String> {
    chrome.wait_for_path("/callback").await;
    let url = chrome.client.current_url().await.unwrap();
    url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

async fn redeem(csc: &CscClient, rp: &RpCredentials, code: &str, verifier: &str, callback: &str) -> (u16, Value) {
    let answer = csc
        .form(
            "oauth2/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("client_id", &rp.rp_id),
                ("redirect_uri", callback),
                ("code_verifier", verifier),
            ],
            None,
        )
        .await;
    (answer.status, answer.body)
}

#[tokio::test]
async fn a_signer_authorizes_a_signing_app_through_our_pages_and_its_token_signs_only_what_both_channels_showed() {
    let server = TestServer::start(Db::Sqlite).await;
    let chrome = Chrome::start().await;
    let (creds, device, _) = ready(&server, &chrome, "olga").await;
    let (rp, callback) = signing_app(&server).await;
    let csc = CscClient::new(&server.origin, "v2", None);

    // An unregistered redirect URI is shown to the person, never followed.
    chrome
        .goto(&authorize_url(&server, &rp, "http://127.0.0.1:9/elsewhere", &[("code_challenge", &pkce("x").1)]))
        .await;
    let page = chrome.client.source().await.unwrap();
    assert!(page.contains("OAUTH_CLIENT_INVALID"), "{page}");
    assert_eq!(chrome.path().await, "/csc/v2/oauth2/authorize");
    // Without PKCE the application hears invalid_request and gets no code.
    chrome.goto(&authorize_url(&server, &rp, &callback, &[("state", "s0")])).await;
    let refused = back_at_app(&chrome).await;
    assert_eq!(refused.get("error").map(String::as_str), Some("invalid_request"), "{refused:?}");
    assert_eq!(refused.get("state").map(String::as_str), Some("s0"));
    assert!(!refused.contains_key("code"));

    // Scope service, logged out: the authorization page is our log-in.
    chrome.goto(&format!("{}/sign", server.origin)).await;
    chrome.click("header form button").await;
    chrome.wait_for_path("/login").await;
    let (verifier, challenge) = pkce("service");
    let service =
        [("scope", "service"), ("state", "s1"), ("code_challenge", &challenge), ("code_challenge_method", "S256")];
    chrome.goto(&authorize_url(&server, &rp, &callback, &service)).await;
    chrome.wait_for_path("/login").await;
    log_in_to(&chrome, &server, &creds, "/csc/oauth2/grants/").await;
    assert!(chrome.text("#consent h1").await.contains(APP));
    chrome.click("#allow").await;
    let back = back_at_app(&chrome).await;
    assert_eq!(back.get("state").map(String::as_str), Some("s1"));
    let code = back.get("code").expect("a code").clone();
    // A wrong verifier gets nothing and uses the code up.
    let (status, body) = redeem(&csc, &rp, &code, WRONG_VERIFIER, &callback).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    let (status, body) = redeem(&csc, &rp, &code, &verifier, &callback).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");

    // Again (still logged in: straight to the consent page); now the right verifier.
    let (verifier, challenge) = pkce("service 2");
    let service = [("scope", "service"), ("code_challenge", &challenge), ("code_challenge_method", "S256")];
    chrome.goto(&authorize_url(&server, &rp, &callback, &service)).await;
    chrome.wait_for_path("/csc/oauth2/grants/").await;
    chrome.click("#allow").await;
    let code = back_at_app(&chrome).await.get("code").expect("a code").clone();
    let (status, token) = redeem(&csc, &rp, &code, &verifier, &callback).await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(token["token_type"], "Bearer");
    let (status, body) = redeem(&csc, &rp, &code, &verifier, &callback).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "a code is used once: {body}");
    let service_csc = csc.with_token(token["access_token"].as_str().unwrap());
    let listed = service_csc.post("credentials/list", &json!({})).await.ok();
    let credential = listed["credentialIDs"][0].as_str().expect("her own credential").to_owned();
    let info = service_csc.post("credentials/info", &json!({"credentialID": credential})).await.ok();
    let certificate = info["cert"]["certificates"][0].as_str().unwrap().to_owned();
    let other = server.create_user("someone-else");
    let foreign = service_csc.post("credentials/list", &json!({"userID": other.username})).await;
    assert_eq!(foreign.status, 400, "her token lists nobody else's credential: {}", foreign.body);

    // Scope credential with RFC 9396 details: two labelled hashes.
    let contract = b64(wysiwys_proto::jcs::sha256(b"lease contract"));
    let annex = b64(wysiwys_proto::jcs::sha256(b"annex A"));
    let details = json!([{"type": DETAILS_TYPE_CREDENTIAL, "credentialID": credential, "hashAlgorithmOID": OID_SHA256,
        "documentDigests": [{"hash": contract, "label": "Lease contract"}, {"hash": annex, "label": "Annex A"}]}]);
    let (verifier, challenge) = pkce("credential");
    let before = server.hsm_user_signatures().await;
    let asked = [
        ("scope", "credential"),
        ("state", "s3"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("authorization_details", &details.to_string()),
    ];
    chrome.goto(&authorize_url(&server, &rp, &callback, &asked)).await;
    chrome.wait_for_path("/csc/oauth2/grants/").await;
    let consent = chrome.text("#consent-hashes").await;
    for shown in ["Lease contract", "Annex A", contract.as_str(), annex.as_str()] {
        assert!(consent.contains(shown), "{shown} not on the consent page:\n{consent}");
    }
    let mut answer = device.answer("approve");
    chrome.click("#allow").await;
    let request = chrome.wait_for_path("/requests/").await;
    let pushed = answer.wait_for("request").await;
    assert_eq!(pushed["requester"], APP);
    let on_device = pushed["lines"].to_string();
    for shown in ["Lease contract", "Annex A", contract.as_str(), annex.as_str()] {
        assert!(on_device.contains(shown), "{shown} not on the device:\n{on_device}");
    }
    let (status, _) = answer.finish().await;
    assert_eq!(status, 0);
    assert_eq!(server.hsm_user_signatures().await, before, "nothing is signed before the code is redeemed");
    crate::web::loaded(&chrome).await;
    assert_eq!(pushed["request_id"].as_str(), request.strip_prefix("/requests/"));
    chrome.click("#sign-button").await;
    let back = back_at_app(&chrome).await;
    assert_eq!(back.get("state").map(String::as_str), Some("s3"));
    let code = back.get("code").expect("a code once both channels confirmed").clone();
    let (status, token) = redeem(&csc, &rp, &code, &verifier, &callback).await;
    assert_eq!(status, 200, "{token}");
    assert_eq!(token["credentialID"].as_str(), Some(credential.as_str()));
    assert_eq!(server.hsm_user_signatures().await, before);

    // The credential token is the SAD: it signs the two hashes, once.
    let sad_csc = csc.with_token(token["access_token"].as_str().unwrap());
    let sign = |hashes: Vec<&str>| json!({"credentialID": credential, "hashes": hashes, "hashAlgorithmOID": OID_SHA256, "signAlgo": OID_ECDSA_WITH_SHA256});
    let unconfirmed = b64(wysiwys_proto::jcs::sha256(b"something else"));
    let refused = sad_csc.post("signatures/signHash", &sign(vec![&unconfirmed])).await;
    assert_eq!((refused.status, refused.error()), (400, "invalid_request"), "{}", refused.body);
    assert_eq!(refused.wysiwys_error(), "HASH_NOT_AUTHORIZED");
    let signed = sad_csc.post("signatures/signHash", &sign(vec![&contract, &annex])).await.ok();
    let signatures = signed["signatures"].as_array().unwrap();
    assert_eq!(signatures.len(), 2);
    let dir = tempfile::tempdir().unwrap();
    for (hash, signature) in [&contract, &annex].iter().zip(signatures) {
        let der = base64::engine::general_purpose::STANDARD.decode(signature.as_str().unwrap()).unwrap();
        assert!(crate::csc::openssl_verifies(dir.path(), &certificate, hash, &der), "openssl verifies {hash}");
    }
    assert_eq!(server.hsm_user_signatures().await, before + 2);
    let replayed = sad_csc.post("signatures/signHash", &sign(vec![&contract])).await;
    assert_eq!(
        replayed.wysiwys_error(),
        "CSC_SAD_INVALID",
        "every hash is used: the SAD is used up: {}",
        replayed.body
    );
    assert_eq!(server.hsm_user_signatures().await, before + 2);
    chrome.goto(&format!("{}{request}", server.origin)).await;
    let trail = String::from_utf8(chrome.fetch_bytes(&format!("/api{request}/events")).await).unwrap();
    assert!(trail.contains("csc_oauth_consented"), "the consent is in the request's audit trail: {trail}");
}

/// Logs in on the pages the browser is on and waits to land on `next`.
async fn log_in_to(chrome: &Chrome, server: &TestServer, creds: &wysiwys_tests::server::Credentials, next: &str) {
    chrome.fill("#username", &creds.username).await;
    chrome.fill("#password", &creds.password).await;
    chrome.click("form button[type=submit]").await;
    chrome.wait_for_path("/login/code").await;
    let code = wysiwys_tests::browser::totp_code(&creds.totp_secret, server.now_s() + 30);
    chrome.fill("#code", &code).await;
    chrome.click("form.card button[type=submit]").await;
    chrome.wait_for_path(next).await;
}

#[tokio::test]
async fn token_and_login_refusals_name_the_spec_errors() {
    let server = TestServer::start(Db::Sqlite).await;
    let (rp, callback) = signing_app(&server).await;
    let v1 = CscClient::new(&server.origin, "v1", None);
    let v2 = CscClient::new(&server.origin, "v2", None);
    let pairs = |grant_type: &'static str, client_id: &str| {
        vec![
            ("grant_type", grant_type.to_owned()),
            ("client_id", client_id.to_owned()),
            ("code", "wysiwys_code_x".into()),
        ]
    };
    let call = |client: &CscClient, pairs: Vec<(&'static str, String)>| {
        let client = client.clone();
        async move {
            let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
            client.form("oauth2/token", &refs, None).await
        }
    };
    let answer = call(&v2, pairs("password", &rp.rp_id)).await;
    assert_eq!((answer.status, answer.error()), (400, "unsupported_grant_type"), "{}", answer.body);
    let answer = call(&v2, pairs("authorization_code", "nobody")).await;
    assert_eq!((answer.status, answer.error()), (401, "invalid_client"), "{}", answer.body);
    let answer = call(&v2, pairs("authorization_code", &rp.rp_id)).await;
    assert_eq!((answer.status, answer.error()), (400, "invalid_grant"), "{}", answer.body);
    assert!(answer.body["error_description"].as_str().unwrap().contains("invalid or expired"), "{}", answer.body);
    let answer = v2.form("oauth2/token", &[("grant_type", "authorization_code")], None).await;
    assert_eq!((answer.status, answer.error()), (400, "invalid_request"), "{}", answer.body);
    let _ = callback;

    // v1 auth/login: a relying party's id and API key, over HTTP Basic.
    let wrong = v1.form("auth/login", &[], Some((&rp.rp_id, "wysiwys_rp_wrong"))).await;
    assert_eq!((wrong.status, wrong.error()), (401, "invalid_client"), "{}", wrong.body);
    let login = reqwest::Client::new()
        .post(format!("{}/csc/v1/auth/login", server.origin))
        .basic_auth(&rp.rp_id, Some(&rp.api_key))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let token: Value = login.json().await.unwrap();
    let access = token["access_token"].as_str().unwrap().to_owned();
    let logged_in = v1.with_token(&access);
    let info = logged_in.post("credentials/list", &json!({"userID": "nobody"})).await;
    assert_eq!((info.status, info.error()), (400, "invalid_request"), "the token works: {}", info.body);
    let revoked = reqwest::Client::new()
        .post(format!("{}/csc/v1/auth/revoke", server.origin))
        .bearer_auth(&access)
        .json(&json!({"token": access}))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 204);
    let after = logged_in.post("credentials/list", &json!({"userID": "nobody"})).await;
    assert_eq!((after.status, after.error()), (401, "invalid_token"), "{}", after.body);

    // info tells the truth about OAuth.
    let info = v2.post("info", &json!({})).await.ok();
    assert_eq!(info["oauth2"].as_str(), Some(format!("{}/csc/v2/", server.origin).as_str()));
    let methods = info["methods"].to_string();
    for method in ["oauth2/authorize", "oauth2/token", "credentials/authorizeCheck"] {
        assert!(methods.contains(method), "{method} not in {methods}");
    }
    assert!(info["authType"].to_string().contains("oauth2code"));
    let v1_info = v1.post("info", &json!({})).await.ok();
    assert!(v1_info["methods"].to_string().contains("auth/login"));
}
