//! A CSC API client as a signing platform runs one: raw JSON over
//! `/csc/v1/` or `/csc/v2/` (so tests see the spec's statuses and error
//! bodies as they are), and pyHanko's `CSCSigner` as a child process.

use crate::events::EventProcess;
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use wysiwys_proto::ErrorCode;

#[derive(Debug, Clone)]
pub struct CscClient {
    client: reqwest::Client,
    base: String,
    token: Option<String>,
}

/// An answer: the HTTP status and the JSON body.
#[derive(Debug, Clone)]
pub struct CscAnswer {
    pub status: u16,
    pub body: Value,
}

impl CscAnswer {
    /// The spec's `error` member of a refusal.
    pub fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or_else(|| panic!("not a CSC error: {} {}", self.status, self.body))
    }

    /// Our stable code beside the spec's.
    pub fn wysiwys_error(&self) -> &str {
        self.body["wysiwys_error"].as_str().unwrap_or_default()
    }

    /// The refusal, as our stable code; None for a 2xx answer.
    pub fn code(&self) -> Option<ErrorCode> {
        if (200..300).contains(&self.status) {
            None
        } else {
            Some(ErrorCode::parse(self.wysiwys_error()).unwrap_or(ErrorCode::Unknown))
        }
    }

    pub fn ok(self) -> Value {
        assert_eq!(self.status, 200, "{}", self.body);
        self.body
    }
}

/// Sends a CSC call; its status and JSON body.
async fn answer(method: &str, request: reqwest::RequestBuilder) -> CscAnswer {
    let response = request.send().await.expect("CSC call");
    let status = response.status().as_u16();
    let bytes = response.bytes().await.expect("CSC body");
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| panic!("{method}: {status} without JSON: {}", String::from_utf8_lossy(&bytes)));
    CscAnswer { status, body }
}

impl CscClient {
    /// `version` is `v1` or `v2`; `token` the relying party's API key.
    pub fn new(origin: &str, version: &str, token: Option<&str>) -> CscClient {
        CscClient::with_client(origin, version, token, reqwest::Client::new())
    }

    /// With a client of the caller's (one that trusts a private CA, say).
    pub fn with_client(origin: &str, version: &str, token: Option<&str>, client: reqwest::Client) -> CscClient {
        CscClient { client, base: format!("{origin}/csc/{version}"), token: token.map(str::to_owned) }
    }

    pub async fn post(&self, method: &str, body: &Value) -> CscAnswer {
        let mut request = self.client.post(format!("{}/{method}", self.base)).json(body);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        answer(method, request).await
    }

    /// A form POST (`oauth2/token`), with HTTP Basic client credentials if given.
    pub async fn form(&self, method: &str, pairs: &[(&str, &str)], basic: Option<(&str, &str)>) -> CscAnswer {
        let mut request = self.client.post(format!("{}/{method}", self.base)).form(pairs);
        if let Some((id, secret)) = basic {
            request = request.basic_auth(id, Some(secret));
        }
        answer(method, request).await
    }

    /// The same client with another bearer token.
    pub fn with_token(&self, token: &str) -> CscClient {
        CscClient { client: self.client.clone(), base: self.base.clone(), token: Some(token.to_owned()) }
    }

    /// The one credential of a signer, by username or external id.
    pub async fn credential_of(&self, user_id: &str) -> String {
        let listed = self.post("credentials/list", &serde_json::json!({"userID": user_id})).await.ok();
        listed["credentialIDs"][0].as_str().expect("a credential").to_owned()
    }
}

/// pyHanko's `CSCSigner` signing `source` into each of `outputs` under one
/// authorization of `batch_size` hashes (`tests/interop/csc_sign.py`).
pub fn pyhanko_sign(
    origin: &str,
    token: &str,
    user_id: &str,
    batch_size: usize,
    source: &Path,
    outputs: &[&Path],
) -> EventProcess {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("interop/csc_sign.py");
    let mut command = Command::new("python3");
    command.arg(script).args([origin, token, user_id, &batch_size.to_string()]).arg(source).args(outputs);
    EventProcess::spawn(command, "pyHanko CSCSigner")
}
