//! Time-stamping (RFC 3161): the built-in authority, the client of an
//! external one, and the operator's policy when no token can be had.
//!
//! A signature is stamped after the HSM signed and before anything is
//! stored: the token covers the signature value (CAdES / PAdES B-T). With
//! [`TimestampPolicy::Required`] a missing token ends the request and
//! nothing is released; with [`TimestampPolicy::BestEffort`] the signature
//! goes out at B-B and the request says so.

pub mod authority;
pub mod request;
pub mod token;

use crate::entropy::{Entropy, random_bytes};
use crate::error::{Error, Result};
use crate::hsm::Hsm;
use authority::{Authority, Stamp};
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use std::time::Duration;
use token::TokenFacts;
use wysiwys_proto::ErrorCode;

/// What happens to a signature whose timestamp cannot be had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TimestampPolicy {
    /// Not released: the request ends with `TIMESTAMP_UNAVAILABLE`.
    Required,
    /// Released without a timestamp (B-B); the request shows the level reached.
    BestEffort,
}

/// Largest reply accepted from an external authority.
const MAX_REPLY_BYTES: usize = 64 * 1024;
const TIMEOUT: Duration = Duration::from_secs(10);

/// An external RFC 3161 authority over HTTP(S), `application/timestamp-query`.
#[derive(Debug)]
pub struct ExternalTsa {
    pub url: url::Url,
    /// HTTP Basic credentials, when the authority wants them.
    pub basic_auth: Option<(String, SecretString)>,
    client: reqwest::Client,
}

impl ExternalTsa {
    pub fn new(url: url::Url, basic_auth: Option<(String, SecretString)>) -> Result<ExternalTsa> {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Internal(format!("TSA client: {e}")))?;
        Ok(ExternalTsa { url, basic_auth, client })
    }

    async fn stamp(&self, digest: &[u8; 32], nonce: &[u8]) -> std::result::Result<TokenFacts, String> {
        let mut call = self
            .client
            .post(self.url.clone())
            .header("content-type", "application/timestamp-query")
            .body(request::encode_request(digest, nonce));
        if let Some((user, password)) = &self.basic_auth {
            call = call.basic_auth(user, Some(password.expose_secret()));
        }
        let mut reply = call.send().await.map_err(|e| format!("no answer: {e}"))?;
        if !reply.status().is_success() {
            return Err(format!("HTTP {}", reply.status()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = reply.chunk().await.map_err(|e| format!("reading the reply: {e}"))? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_REPLY_BYTES {
                return Err("the reply is too large".into());
            }
        }
        token::check_reply(&body, digest, Some(&crate::der_writer::unsigned_integer(nonce))).map_err(|e| e.to_string())
    }
}

/// Where timestamps come from.
#[derive(Debug)]
pub enum Source {
    BuiltIn,
    External(ExternalTsa),
}

/// The service's time-stamping: source, policy, and the built-in
/// authority's certificate (served even when an external TSA stamps).
#[derive(Debug)]
pub struct Timestamping {
    pub source: Source,
    pub policy: TimestampPolicy,
    pub tsa_certificate: Vec<u8>,
    /// How large this source's tokens are, measured once on a dummy.
    pub token_size: std::sync::OnceLock<usize>,
}

/// What a token may grow by beyond the measured one: serials, nonces and
/// times of other lengths, and the attribute that carries it.
const TOKEN_MARGIN_BYTES: usize = 256;
/// The room kept when no token could be measured (the authority is down:
/// best effort then signs without one anyway).
const UNMEASURED_TOKEN_BYTES: usize = 8192;

/// What stamping a signature gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stamped {
    Token(TokenFacts),
    /// Best effort and the authority failed: why, for the request's trail.
    Unavailable(String),
}

pub fn unavailable(detail: &str) -> Error {
    Error::refused(ErrorCode::TimestampUnavailable, format!("no timestamp could be had: {detail}"))
}

impl Timestamping {
    pub fn built_in<'a>(&'a self, hsm: &'a Hsm, ca_certificate: &'a [u8]) -> Authority<'a> {
        Authority { hsm, certificate: &self.tsa_certificate, ca_certificate }
    }

    /// A token over the SHA-256 `digest` from the configured source, with
    /// the caller's `nonce` (a random one for an external authority when
    /// none is given); an `Err` says why there is none.
    pub async fn fetch_token(
        &self,
        hsm: &Arc<Hsm>,
        ca_certificate: &[u8],
        entropy: &dyn Entropy,
        now_ms: i64,
        digest: &[u8; 32],
        nonce: Option<&[u8]>,
    ) -> Result<std::result::Result<TokenFacts, String>> {
        let nonce_der = nonce.map(crate::der_writer::unsigned_integer);
        Ok(match &self.source {
            Source::BuiltIn => {
                let request = request::TimestampRequest {
                    hash_algorithm: request::OID_SHA256.to_owned(),
                    imprint: digest.to_vec(),
                    policy: None,
                    nonce: nonce_der.clone(),
                    cert_req: true,
                };
                let stamp = Stamp { serial: random_bytes::<16>(entropy)?, gen_time_ms: now_ms };
                self.built_in(hsm, ca_certificate).token(&request, stamp).map_err(|e| e.to_string()).and_then(|token| {
                    token::check_token(&token, digest, nonce_der.as_deref()).map_err(|e| e.to_string())
                })
            }
            Source::External(tsa) => match nonce {
                Some(nonce) => tsa.stamp(digest, nonce).await,
                None => tsa.stamp(digest, &random_bytes::<8>(entropy)?).await,
            },
        })
    }

    /// Room for a token and its unsigned attribute, as pyHanko sizes it: a
    /// dummy token is made once (one HSM signature, or one request to the
    /// external authority) and measured.
    pub async fn token_room(&self, hsm: &Arc<Hsm>, ca_certificate: &[u8], entropy: &dyn Entropy, now_ms: i64) -> usize {
        if let Some(size) = self.token_size.get() {
            return size + TOKEN_MARGIN_BYTES;
        }
        match self.fetch_token(hsm, ca_certificate, entropy, now_ms, &[0; 32], None).await {
            Ok(Ok(facts)) => *self.token_size.get_or_init(|| facts.token.len()) + TOKEN_MARGIN_BYTES,
            _ => UNMEASURED_TOKEN_BYTES,
        }
    }

    /// A token over `digest` (the SHA-256 of a signature value), or, when
    /// the policy allows, the reason there is none.
    pub async fn stamp(
        &self,
        hsm: &Arc<Hsm>,
        ca_certificate: &[u8],
        entropy: &dyn Entropy,
        now_ms: i64,
        digest: &[u8; 32],
    ) -> Result<Stamped> {
        let result = self.fetch_token(hsm, ca_certificate, entropy, now_ms, digest, None).await?;
        match (result, self.policy) {
            (Ok(facts), _) => Ok(Stamped::Token(facts)),
            (Err(detail), TimestampPolicy::Required) => {
                tracing::error!(%detail, "no timestamp: the signature is not released (timestamp policy required)");
                Err(unavailable(&detail))
            }
            (Err(detail), TimestampPolicy::BestEffort) => {
                tracing::warn!(%detail, "no timestamp: released at B-B (timestamp policy best-effort)");
                Ok(Stamped::Unavailable(detail))
            }
        }
    }
}

/// Largest `TimeStampReq` accepted over HTTP (ours is 60 bytes).
pub const MAX_QUERY_BYTES: usize = 4 * 1024;

/// The public authority at `POST /api/pki/tsa`: one HSM signature per
/// query, so the queries of each client address are rate limited.
pub fn serve_query(app: &crate::app::App, client: std::net::IpAddr, query: &[u8]) -> Result<Vec<u8>> {
    let now = app.clock.now_ms();
    if !app.tsa_limiter.allow(client, now) {
        return Err(Error::refused(ErrorCode::RateLimited, "too many time-stamp queries from this address"));
    }
    let serial = random_bytes::<16>(app.entropy.as_ref())?;
    Ok(app.timestamping.built_in(&app.hsm, &app.ca_certificate).respond(query, Stamp { serial, gen_time_ms: now }))
}
