//! The browser channel as an HTTP client with a cookie jar, doing what the
//! page's script does: fetch the bytes, hash them, confirm.

use crate::server::{Credentials, TestServer};
use crate::sha256_b64;
use serde::de::DeserializeOwned;
use std::time::Duration;
use wysiwys_proto::api::{
    DeviceView, LoginRequest, LoginResponse, PairingCodeResponse, RequestState, SignRequestView, WebConfirmation,
};
use wysiwys_proto::api::{StepUpRequest, StepUpResponse};
use wysiwys_proto::{ErrorBody, ErrorCode};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub body: ErrorBody,
}

impl ApiError {
    pub fn code(&self) -> ErrorCode {
        self.body.error
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[derive(Debug)]
pub struct Browser {
    pub client: reqwest::Client,
    cookies: std::sync::Arc<reqwest::cookie::Jar>,
    tls: crate::device::Tls,
    pub origin: String,
    pub csrf: Option<String>,
}

/// A JSON answer, or the API's error body.
pub async fn decode<T: DeserializeOwned>(response: reqwest::Response) -> ApiResult<T> {
    let status = response.status().as_u16();
    let bytes = response.bytes().await.expect("body");
    if (200..300).contains(&status) {
        Ok(serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("bad JSON ({e}): {}", String::from_utf8_lossy(&bytes))))
    } else {
        let body = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!("HTTP {status} without an error body ({e}): {}", String::from_utf8_lossy(&bytes))
        });
        Err(ApiError { status, body })
    }
}

fn client(cookies: &std::sync::Arc<reqwest::cookie::Jar>, tls: &crate::device::Tls) -> reqwest::Client {
    trusting(reqwest::Client::builder(), tls).cookie_provider(cookies.clone()).build().expect("client")
}

/// A client builder with `tls` as its TLS configuration, when given.
pub fn trusting(builder: reqwest::ClientBuilder, tls: &crate::device::Tls) -> reqwest::ClientBuilder {
    match tls {
        Some(config) => builder.use_preconfigured_tls(config.as_ref().clone()),
        None => builder,
    }
}

impl Browser {
    pub fn new(server: &TestServer) -> Browser {
        Browser::at(&server.origin)
    }

    /// A browser for any server, by its origin.
    pub fn at(origin: &str) -> Browser {
        Browser::trusting(origin, None)
    }

    /// A browser with its own trust (a deployment behind a private CA).
    pub fn trusting(origin: &str, tls: crate::device::Tls) -> Browser {
        let cookies = std::sync::Arc::new(reqwest::cookie::Jar::default());
        let client = client(&cookies, &tls);
        Browser { client, cookies, tls, origin: origin.to_owned(), csrf: None }
    }

    /// After the server restarted: new connections, same cookies (a real
    /// browser notices the dropped keep-alive connection by itself).
    pub fn reconnect(&mut self) {
        self.client = client(&self.cookies, &self.tls);
    }

    /// The same browser (cookies, trust) showing each redirect instead of
    /// following it: an OAuth flow step by step.
    pub fn stepwise(&self) -> reqwest::Client {
        let builder = reqwest::Client::builder()
            .cookie_provider(self.cookies.clone())
            .redirect(reqwest::redirect::Policy::none());
        trusting(builder, &self.tls).build().expect("HTTP client")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }

    /// Password + the TOTP code for the server's current time step.
    pub async fn login(&mut self, server: &TestServer, creds: &Credentials) -> ApiResult<LoginResponse> {
        let code = totp_code(&creds.totp_secret, server.now_s());
        self.login_with(&creds.username, &creds.password, &code).await
    }

    pub async fn login_with(&mut self, username: &str, password: &str, totp: &str) -> ApiResult<LoginResponse> {
        self.log_in(self.client.post(self.url("/api/session")), username, password, totp).await
    }

    /// A log-in whose `X-Forwarded-For` and `Forwarded` claim it comes from
    /// `claimed`: anyone can write these headers; only a trusted proxy's count.
    pub async fn login_claiming(
        &mut self,
        claimed: std::net::IpAddr,
        username: &str,
        password: &str,
        totp: &str,
    ) -> ApiResult<LoginResponse> {
        let forwarded = match claimed {
            std::net::IpAddr::V4(ip) => format!("for={ip}"),
            std::net::IpAddr::V6(ip) => format!("for=\"[{ip}]\""),
        };
        let request = self
            .client
            .post(self.url("/api/session"))
            .header("x-forwarded-for", claimed.to_string())
            .header("forwarded", forwarded);
        self.log_in(request, username, password, totp).await
    }

    async fn log_in(
        &mut self,
        request: reqwest::RequestBuilder,
        username: &str,
        password: &str,
        totp: &str,
    ) -> ApiResult<LoginResponse> {
        let body = LoginRequest { username: username.into(), password: password.into(), totp: totp.into() };
        let response = request.json(&body).send().await.expect("login");
        let login: LoginResponse = decode(response).await?;
        self.csrf = Some(login.csrf_token.clone());
        Ok(login)
    }

    fn post(&self, path: &str) -> reqwest::RequestBuilder {
        let builder = self.client.post(self.url(path));
        match &self.csrf {
            Some(token) => builder.header(wysiwys_proto::api::CSRF_HEADER, token),
            None => builder,
        }
    }

    /// Re-enters password and an authenticator code: one device change is
    /// allowed afterwards.
    pub async fn step_up_with(&self, password: &str, totp: &str) -> ApiResult<StepUpResponse> {
        let body = StepUpRequest { password: password.into(), totp: totp.into() };
        decode(self.post("/api/session/step-up").json(&body).send().await.expect("step-up")).await
    }

    /// Step-up with the code of the time step after the one log-in used (the
    /// server accepts a neighbouring step, and each step only once).
    pub async fn step_up(&self, server: &TestServer, creds: &Credentials) -> ApiResult<StepUpResponse> {
        let code = totp_code(&creds.totp_secret, server.now_s() + 30);
        self.step_up_with(&creds.password, &code).await
    }

    pub async fn pairing_code(&self) -> ApiResult<PairingCodeResponse> {
        decode(self.post("/api/devices/pairing-codes").send().await.expect("pairing code")).await
    }

    pub async fn devices(&self) -> ApiResult<Vec<DeviceView>> {
        decode(self.client.get(self.url("/api/devices")).send().await.expect("devices")).await
    }

    pub async fn revoke(&self, device_id: &str) -> ApiResult<()> {
        let response = self.post(&format!("/api/devices/{device_id}/revoke")).send().await.expect("revoke");
        if response.status().is_success() { Ok(()) } else { decode(response).await }
    }

    pub async fn upload(&self, media_type: &str, document: &[u8]) -> ApiResult<SignRequestView> {
        let response = self
            .post("/api/requests")
            .header("content-type", media_type)
            .body(document.to_vec())
            .send()
            .await
            .expect("upload");
        decode(response).await
    }

    pub async fn upload_letter(&self, text: &str) -> ApiResult<SignRequestView> {
        self.upload("text/plain; charset=utf-8", text.as_bytes()).await
    }

    pub async fn request(&self, id: &str) -> ApiResult<SignRequestView> {
        decode(self.client.get(self.url(&format!("/api/requests/{id}"))).send().await.expect("status")).await
    }

    /// The user's own requests, newest first.
    pub async fn history(&self) -> ApiResult<Vec<SignRequestView>> {
        decode(self.client.get(self.url("/api/requests")).send().await.expect("history")).await
    }

    pub async fn events(&self, id: &str) -> ApiResult<Vec<wysiwys_proto::api::AuditEntry>> {
        decode(self.client.get(self.url(&format!("/api/requests/{id}/events"))).send().await.expect("events")).await
    }

    pub async fn bytes(&self, path: &str) -> ApiResult<Vec<u8>> {
        let response = self.client.get(self.url(path)).send().await.expect("get");
        if response.status().is_success() {
            Ok(response.bytes().await.expect("body").to_vec())
        } else {
            decode(response).await
        }
    }

    pub async fn confirm(&self, id: &str, doc_hash: &str, summary_hash: &str) -> ApiResult<SignRequestView> {
        let body = WebConfirmation { doc_hash: doc_hash.into(), summary_hash: summary_hash.into() };
        decode(self.post(&format!("/api/requests/{id}/confirm")).json(&body).send().await.expect("confirm")).await
    }

    /// What the page does on "Sign": hash exactly the bytes it received.
    pub async fn confirm_as_displayed(&self, id: &str) -> ApiResult<SignRequestView> {
        let document = self.bytes(&format!("/api/requests/{id}/document")).await?;
        let summary = self.bytes(&format!("/api/requests/{id}/summary")).await?;
        self.confirm(id, &sha256_b64(&document), &sha256_b64(&summary)).await
    }

    pub async fn signature(&self, id: &str) -> ApiResult<Vec<u8>> {
        self.bytes(&format!("/api/requests/{id}/signature")).await
    }

    /// Polls until the request leaves `pending`/`signing` or the time is up.
    pub async fn wait_until_settled(&self, id: &str) -> SignRequestView {
        for _ in 0..200 {
            let view = self.request(id).await.expect("status");
            if matches!(view.state, RequestState::Signed | RequestState::Failed) {
                return view;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("request {id} did not settle");
    }
}

/// The `name=value` of the session cookie a response sets, if any.
pub fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("wysiwys_session="))
        .and_then(|c| c.split(';').next())
        .map(str::to_owned)
}

/// The value of a hidden form field (`form_token`, `csrf`) in a page.
pub fn hidden_field(page: &str, name: &str) -> Option<String> {
    page.split(&format!("name=\"{name}\" value=\"")).nth(1).and_then(|rest| rest.split('"').next()).map(str::to_owned)
}

/// RFC 6238 code for the step containing `unix_seconds`.
pub fn totp_code(secret_base32: &str, unix_seconds: i64) -> String {
    let secret = totp_rs::Secret::try_from_base32(secret_base32).expect("base32 secret");
    let totp = totp_rs::Builder::new()
        .with_secret(secret)
        .with_digits(6)
        .with_step_duration(30)
        .with_skew(1)
        .build()
        .expect("totp");
    totp.generate(unix_seconds as u64).to_string()
}
