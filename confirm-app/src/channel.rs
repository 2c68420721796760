//! The device socket: authenticate, receive pushes (each checked against
//! the pinned channel key), answer with SADs, keep receipts, and reconnect
//! with back-off when the connection drops.

use crate::receipts::{NewReceipt, ReceiptLog};
use crate::store::{Account, Home};
use futures_util::{SinkExt, StreamExt};
use p256::ecdsa::SigningKey;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_tungstenite::Connector;
use tokio_tungstenite::tungstenite::Message;
use wysiwys_proto::api::{AckOutcome, DeviceMessage, NoticeKind, PairingOutcome, ServerMessage};
use wysiwys_proto::challenge::{self, Expectation, VerifiedChallenge};
use wysiwys_proto::device_auth::{DeviceAuthClaims, device_auth};
use wysiwys_proto::pairing_approval::{self, VerifiedPairingRequest};
use wysiwys_proto::sad::{self, Decision};
use wysiwys_proto::{ErrorCode, b64};

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const PING_EVERY: Duration = Duration::from_secs(15);
const SILENCE_LIMIT: Duration = Duration::from_secs(45);
const FIRST_RETRY: Duration = Duration::from_millis(250);
const LAST_RETRY: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    /// The server said no; reconnecting will not change its mind.
    #[error("server refused: {code} ({description})")]
    Refused { code: ErrorCode, description: String },
    /// The network or the server went away; worth reconnecting.
    #[error("connection lost: {0}")]
    Lost(String),
    /// Something local (key, files) is wrong.
    #[error("{0}")]
    Local(String),
}

fn lost(e: impl std::fmt::Display) -> ChannelError {
    ChannelError::Lost(e.to_string())
}

/// A push as received: either safe to show, or an attack to warn about.
#[derive(Debug, Clone)]
pub enum Push {
    Genuine(Box<VerifiedChallenge>),
    /// A new device asks to join the account; only a person answers it.
    Pairing(Box<VerifiedPairingRequest>),
    /// Failed verification: shown as a warning, never answerable.
    Forged {
        code: ErrorCode,
        reason: String,
    },
}

/// What the session reports to the screen (or the script).
#[derive(Debug, Clone)]
pub enum Event {
    Connecting,
    Connected,
    Disconnected {
        reason: String,
        retry_in: Duration,
    },
    Push(Push),
    /// A decision was sent; `outcome` is None if the connection ended first.
    Answered {
        request_id: String,
        decision: Decision,
        outcome: Option<AckOutcome>,
        receipt_seq: u64,
    },
    /// A pairing answer was sent; `outcome` is None if the connection ended first.
    PairingAnswered {
        pairing_id: String,
        decision: Decision,
        outcome: Option<PairingOutcome>,
    },
    /// Something changed on the account's devices (shown, then receipted).
    Notice {
        kind: NoticeKind,
        device_id: String,
        device_name: String,
        at: i64,
    },
    /// The server refused this device for good (unknown, revoked...).
    Refused {
        code: ErrorCode,
        description: String,
    },
    /// A local failure (files, key): the session stops.
    Failed {
        reason: String,
    },
}

/// The person's decision on something that was shown.
#[derive(Debug)]
pub enum Answer {
    Sign { shown: Box<VerifiedChallenge>, decision: Decision },
    Pairing { shown: Box<VerifiedPairingRequest>, decision: Decision },
}

/// Everything a session needs.
#[derive(Debug, Clone)]
pub struct Setup {
    pub home: Home,
    pub account: Account,
    pub key: SigningKey,
    /// Connect here instead of the paired origin (a proxy, a test). What is
    /// trusted does not change: the pinned key and the origin in the SAD.
    pub connect_to: Option<String>,
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

pub fn socket_url(origin: &str) -> Result<String, ChannelError> {
    let rest = if let Some(r) = origin.strip_prefix("https://") {
        format!("wss://{r}")
    } else if let Some(r) = origin.strip_prefix("http://") {
        format!("ws://{r}")
    } else {
        return Err(ChannelError::Local(format!("not an http(s) origin: {origin}")));
    };
    Ok(format!("{}/api/device/ws", rest.trim_end_matches('/')))
}

/// TLS trust: the public web roots, plus a private CA when given.
pub fn tls_config(ca_pem: Option<&[u8]>) -> anyhow::Result<Arc<rustls::ClientConfig>> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    if let Some(pem) = ca_pem {
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            roots.add(cert?)?;
            added += 1;
        }
        anyhow::ensure!(added > 0, "the CA file holds no certificate");
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

async fn open(setup: &Setup) -> Result<Socket, ChannelError> {
    let origin = setup.connect_to.as_deref().unwrap_or(&setup.account.server_origin);
    crate::check_origin_transport(origin).map_err(|e| ChannelError::Local(e.to_string()))?;
    let connector = setup.tls.clone().map(Connector::Rustls);
    let (socket, _) = tokio_tungstenite::connect_async_tls_with_config(socket_url(origin)?, None, true, connector)
        .await
        .map_err(lost)?;
    let mut socket = socket;
    let nonce = match receive(&mut socket).await? {
        ServerMessage::Hello { nonce, .. } => nonce,
        other => return Err(lost(format!("expected hello, got {other:?}"))),
    };
    let claims = DeviceAuthClaims {
        iss: setup.account.device_id.clone(),
        aud: setup.account.server_origin.clone(),
        nonce,
        iat: crate::now_s(),
    };
    let token = device_auth(&setup.key, &claims).map_err(|e| ChannelError::Local(e.to_string()))?;
    send(&mut socket, &DeviceMessage::Auth { token }).await?;
    match receive(&mut socket).await? {
        ServerMessage::Authenticated { device_id } if device_id == setup.account.device_id => Ok(socket),
        other => Err(lost(format!("expected authenticated, got {other:?}"))),
    }
}

async fn send(socket: &mut Socket, message: &DeviceMessage) -> Result<(), ChannelError> {
    let text = serde_json::to_string(message).map_err(|e| ChannelError::Local(e.to_string()))?;
    socket.send(Message::text(text)).await.map_err(lost)
}

fn parse(text: &str) -> Result<ServerMessage, ChannelError> {
    match serde_json::from_str::<ServerMessage>(text) {
        Ok(ServerMessage::Error { error, error_description }) => {
            Err(ChannelError::Refused { code: error, description: error_description })
        }
        Ok(message) => Ok(message),
        Err(e) => Err(lost(format!("unreadable server message: {e}"))),
    }
}

async fn receive(socket: &mut Socket) -> Result<ServerMessage, ChannelError> {
    loop {
        let frame = socket.next().await.ok_or_else(|| lost("server closed the socket"))?.map_err(lost)?;
        match frame {
            Message::Text(text) => return parse(&text),
            Message::Close(_) => return Err(lost("server closed the socket")),
            // Pings are answered by tungstenite itself.
            _ => continue,
        }
    }
}

/// The channel key pinned at pairing; a push cannot be trusted without it.
fn pinned_channel_key(account: &Account) -> Result<p256::ecdsa::VerifyingKey, Push> {
    account
        .channel_key
        .to_verifying_key()
        .map_err(|e| Push::Forged { code: ErrorCode::SadInvalid, reason: format!("pinned key unusable: {e}") })
}

/// Checks a push against what the device pinned at pairing.
pub fn check_push(account: &Account, token: &str) -> Push {
    let key = match pinned_channel_key(account) {
        Ok(k) => k,
        Err(forged) => return forged,
    };
    let expect = Expectation {
        server_origin: &account.server_origin,
        device_id: &account.device_id,
        channel_key: &key,
        now: crate::now_s(),
    };
    match challenge::verify(token, expect) {
        Ok(verified) => Push::Genuine(Box::new(verified)),
        Err(e) => Push::Forged { code: e.code(), reason: e.to_string() },
    }
}

/// Checks a pairing request against the pinned channel key.
pub fn check_pairing_push(account: &Account, token: &str) -> Push {
    let key = match pinned_channel_key(account) {
        Ok(k) => k,
        Err(forged) => return forged,
    };
    let expect = pairing_approval::Expectation {
        server_origin: &account.server_origin,
        device_id: &account.device_id,
        channel_key: &key,
        now: crate::now_s(),
    };
    match pairing_approval::verify_request(token, expect) {
        Ok(verified) => Push::Pairing(Box::new(verified)),
        Err(e) => Push::Forged { code: e.code(), reason: e.to_string() },
    }
}

/// A decision on its way: what the receipt will say once the server answers.
#[derive(Debug)]
struct Pending {
    shown: Box<VerifiedChallenge>,
    decision: Decision,
    sad_sha256: String,
}

fn decision_name(d: Decision) -> &'static str {
    match d {
        Decision::Approve => "approve",
        Decision::Reject => "reject",
        Decision::NotMe => "not_me",
    }
}

/// Writes the receipt of a decision and reports it.
fn settle(
    setup: &Setup,
    events: &mpsc::UnboundedSender<Event>,
    request_id: String,
    p: Pending,
    outcome: Option<AckOutcome>,
) -> bool {
    let c = &p.shown.claims;
    let receipt = ReceiptLog::at(setup.home.root()).append(NewReceipt {
        at: crate::now_s(),
        server: setup.account.server_origin.clone(),
        device_id: setup.account.device_id.clone(),
        request_id: request_id.clone(),
        requester: c.rp.clone(),
        summary: c.summary.clone(),
        doc_sha256: c.doc.clone(),
        summary_sha256: c.sum.clone(),
        verification_code: p.shown.verification_code.clone(),
        decision: decision_name(p.decision).to_owned(),
        sad_sha256: p.sad_sha256,
        ack: outcome.as_ref().and_then(|o| serde_json::to_value(o).ok()),
    });
    match receipt {
        Ok(r) => events.send(Event::Answered { request_id, decision: p.decision, outcome, receipt_seq: r.seq }).is_ok(),
        Err(e) => {
            let _ = events.send(Event::Failed { reason: format!("cannot write the receipt: {e:#}") });
            false
        }
    }
}

/// One connection, until it drops. Ok(false) means the caller has gone.
async fn connected(
    setup: &mut Setup,
    socket: &mut Socket,
    events: &mpsc::UnboundedSender<Event>,
    answers: &mut mpsc::UnboundedReceiver<Answer>,
    pending: &mut HashMap<String, Pending>,
    pairings: &mut HashMap<String, Decision>,
) -> Result<bool, ChannelError> {
    let mut ping = tokio::time::interval(PING_EVERY);
    let mut last_heard = tokio::time::Instant::now();
    loop {
        tokio::select! {
            frame = socket.next() => {
                let frame = frame.ok_or_else(|| lost("server closed the socket"))?.map_err(lost)?;
                last_heard = tokio::time::Instant::now();
                let text = match frame {
                    Message::Text(text) => text,
                    Message::Close(_) => return Err(lost("server closed the socket")),
                    _ => continue,
                };
                let still_listened_to = match parse(&text)? {
                    ServerMessage::SignRequest { token } => events.send(Event::Push(check_push(&setup.account, &token))).is_ok(),
                    ServerMessage::Ack { request_id, outcome } => match pending.remove(&request_id) {
                        Some(p) => settle(setup, events, request_id, p, Some(outcome)),
                        None => true,
                    },
                    ServerMessage::PairingRequest { token } => {
                        events.send(Event::Push(check_pairing_push(&setup.account, &token))).is_ok()
                    }
                    ServerMessage::PairingAck { pairing_id, outcome } => match pairings.remove(&pairing_id) {
                        Some(decision) => {
                            events.send(Event::PairingAnswered { pairing_id, decision, outcome: Some(outcome) }).is_ok()
                        }
                        None => true,
                    },
                    ServerMessage::Notice { notice_id, kind, device_id, device_name, at } => {
                        // Receipted once it reached the screen (or the script).
                        let shown = events.send(Event::Notice { kind, device_id, device_name, at }).is_ok();
                        if shown {
                            send(socket, &DeviceMessage::NoticeReceipt { notice_id }).await?;
                        }
                        shown
                    }
                    _ => true,
                };
                if !still_listened_to {
                    return Ok(false);
                }
            }
            answer = answers.recv() => {
                let Some(answer) = answer else { return Ok(false) };
                let (shown, decision) = match answer {
                    Answer::Sign { shown, decision } => (shown, decision),
                    Answer::Pairing { shown, decision } => {
                        let claims = shown.answer_claims(decision, crate::now_s());
                        let token = pairing_approval::sign_answer(&setup.key, &claims)
                            .map_err(|e| ChannelError::Local(e.to_string()))?;
                        pairings.insert(claims.pairing.clone(), decision);
                        send(socket, &DeviceMessage::PairingAnswer { pairing_id: claims.pairing, token }).await?;
                        continue;
                    }
                };
                let counter = setup.home.next_counter(&mut setup.account).map_err(|e| ChannelError::Local(format!("{e:#}")))?;
                let claims = shown.sad_claims(decision, counter, crate::now_s());
                let token = sad::build(&setup.key, &claims).map_err(|e| ChannelError::Local(e.to_string()))?;
                let request_id = shown.claims.req.clone();
                pending.insert(request_id.clone(), Pending {
                    shown,
                    decision,
                    sad_sha256: b64::encode(wysiwys_proto::jcs::sha256(token.as_bytes())),
                });
                send(socket, &DeviceMessage::Sad { request_id, token }).await?;
            }
            _ = ping.tick() => {
                if last_heard.elapsed() > SILENCE_LIMIT {
                    return Err(lost("the server is silent"));
                }
                socket.send(Message::Ping(Vec::new().into())).await.map_err(lost)?;
            }
        }
    }
}

/// Runs until the receiver of `events` or the sender of `answers` goes
/// away, or the server refuses the device for good. Reconnects with
/// back-off; the server pushes what is still pending on every connection.
pub async fn run(mut setup: Setup, events: mpsc::UnboundedSender<Event>, mut answers: mpsc::UnboundedReceiver<Answer>) {
    let mut retry = FIRST_RETRY;
    let mut pending: HashMap<String, Pending> = HashMap::new();
    let mut pairings: HashMap<String, Decision> = HashMap::new();
    loop {
        if events.send(Event::Connecting).is_err() {
            return;
        }
        let outcome = match open(&setup).await {
            Ok(mut socket) => {
                retry = FIRST_RETRY;
                if events.send(Event::Connected).is_err() {
                    return;
                }
                connected(&mut setup, &mut socket, &events, &mut answers, &mut pending, &mut pairings).await
            }
            Err(e) => Err(e),
        };
        // Decisions the server never acknowledged are still receipted.
        for (request_id, p) in pending.drain() {
            settle(&setup, &events, request_id, p, None);
        }
        for (pairing_id, decision) in pairings.drain() {
            let _ = events.send(Event::PairingAnswered { pairing_id, decision, outcome: None });
        }
        let outcome = match outcome {
            // Not approved yet: keep trying, as after a lost connection.
            Err(ChannelError::Refused { code: ErrorCode::PairingPending, description }) => {
                Err(ChannelError::Lost(format!("waiting for approval: {description}")))
            }
            other => other,
        };
        match outcome {
            Ok(_) => return,
            Err(ChannelError::Refused { code, description }) => {
                let _ = events.send(Event::Refused { code, description });
                return;
            }
            Err(ChannelError::Local(reason)) => {
                let _ = events.send(Event::Failed { reason });
                return;
            }
            Err(ChannelError::Lost(reason)) => {
                if events.send(Event::Disconnected { reason, retry_in: retry }).is_err() {
                    return;
                }
                tokio::time::sleep(retry).await;
                retry = (retry * 2).min(LAST_RETRY);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_urls() {
        assert_eq!(socket_url("http://127.0.0.1:8080").unwrap(), "ws://127.0.0.1:8080/api/device/ws");
        assert_eq!(socket_url("https://sign.example/").unwrap(), "wss://sign.example/api/device/ws");
        assert!(socket_url("ftp://x").is_err());
    }

    #[test]
    fn tls_trust_takes_a_private_ca() {
        assert!(tls_config(None).is_ok());
        assert!(tls_config(Some(b"not a certificate")).is_err());
    }
}
