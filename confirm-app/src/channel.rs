//! The device socket: authenticate, receive verified pushes, answer with SADs.

use crate::store::{Account, Home};
use futures_util::{SinkExt, StreamExt};
use p256::ecdsa::SigningKey;
use tokio_tungstenite::tungstenite::Message;
use wysiwys_proto::api::{AckOutcome, DeviceMessage, ServerMessage};
use wysiwys_proto::challenge::{self, Expectation, VerifiedChallenge};
use wysiwys_proto::device_auth::{DeviceAuthClaims, device_auth};
use wysiwys_proto::sad::{self, Decision};
use wysiwys_proto::{ErrorCode, b64};

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

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

impl ChannelError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, ChannelError::Lost(_))
    }
}

fn lost(e: impl std::fmt::Display) -> ChannelError {
    ChannelError::Lost(e.to_string())
}

/// A push as received: either safe to show, or an attack to warn about.
#[derive(Debug)]
pub enum Push {
    Genuine(Box<VerifiedChallenge>),
    /// Failed verification: shown as a warning, never answerable.
    Forged {
        code: ErrorCode,
        reason: String,
    },
}

#[derive(Debug)]
pub struct Connection {
    socket: Socket,
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

impl Connection {
    /// Connects and proves the device key on the server's fresh nonce.
    pub async fn open(account: &Account, key: &SigningKey) -> Result<Connection, ChannelError> {
        crate::check_origin_transport(&account.server_origin).map_err(|e| ChannelError::Local(e.to_string()))?;
        let (socket, _) = tokio_tungstenite::connect_async_with_config(socket_url(&account.server_origin)?, None, true)
            .await
            .map_err(lost)?;
        let mut conn = Connection { socket };
        let nonce = match conn.receive().await? {
            ServerMessage::Hello { nonce, .. } => nonce,
            other => return Err(lost(format!("expected hello, got {other:?}"))),
        };
        let claims = DeviceAuthClaims {
            iss: account.device_id.clone(),
            aud: account.server_origin.clone(),
            nonce,
            iat: crate::now_s(),
        };
        let token = device_auth(key, &claims).map_err(|e| ChannelError::Local(e.to_string()))?;
        conn.send(&DeviceMessage::Auth { token }).await?;
        match conn.receive().await? {
            ServerMessage::Authenticated { device_id } if device_id == account.device_id => Ok(conn),
            other => Err(lost(format!("expected authenticated, got {other:?}"))),
        }
    }

    async fn send(&mut self, message: &DeviceMessage) -> Result<(), ChannelError> {
        let text = serde_json::to_string(message).map_err(|e| ChannelError::Local(e.to_string()))?;
        self.socket.send(Message::text(text)).await.map_err(lost)
    }

    /// The next server message; an `Error` message becomes `Refused`.
    async fn receive(&mut self) -> Result<ServerMessage, ChannelError> {
        loop {
            let frame = self.socket.next().await.ok_or_else(|| lost("server closed the socket"))?.map_err(lost)?;
            let text = match frame {
                Message::Text(t) => t,
                Message::Close(_) => return Err(lost("server closed the socket")),
                // Pings are answered by tungstenite itself.
                _ => continue,
            };
            return match serde_json::from_str::<ServerMessage>(&text) {
                Ok(ServerMessage::Error { error, error_description }) => {
                    Err(ChannelError::Refused { code: error, description: error_description })
                }
                Ok(message) => Ok(message),
                Err(e) => Err(lost(format!("unreadable server message: {e}"))),
            };
        }
    }

    /// Waits for the next push and checks it against the pinned key.
    pub async fn next_push(&mut self, account: &Account) -> Result<Push, ChannelError> {
        loop {
            let token = match self.receive().await? {
                ServerMessage::SignRequest { token } => token,
                _ => continue,
            };
            let channel_key = account.channel_key.to_verifying_key().map_err(|e| ChannelError::Local(e.to_string()))?;
            let expect = Expectation {
                server_origin: &account.server_origin,
                device_id: &account.device_id,
                channel_key: &channel_key,
                now: crate::now_s(),
            };
            return Ok(match challenge::verify(&token, expect) {
                Ok(verified) => Push::Genuine(Box::new(verified)),
                Err(e) => Push::Forged { code: e.code(), reason: e.to_string() },
            });
        }
    }

    /// Signs the decision over exactly what was verified and shown, sends
    /// it, and waits for the server's acknowledgement.
    pub async fn answer(
        &mut self,
        home: &Home,
        account: &mut Account,
        key: &SigningKey,
        shown: &VerifiedChallenge,
        decision: Decision,
    ) -> Result<AckOutcome, ChannelError> {
        let counter = home.next_counter(account).map_err(|e| ChannelError::Local(e.to_string()))?;
        let claims = shown.sad_claims(decision, counter, crate::now_s());
        let token = sad::build(key, &claims).map_err(|e| ChannelError::Local(e.to_string()))?;
        let request_id = shown.claims.req.clone();
        self.send(&DeviceMessage::Sad { request_id: request_id.clone(), token }).await?;
        loop {
            if let ServerMessage::Ack { request_id: acked, outcome } = self.receive().await?
                && acked == request_id
            {
                return Ok(outcome);
            }
        }
    }
}

/// The digest of the SAD for receipts and logs: base64url SHA-256.
pub fn digest(token: &str) -> String {
    b64::encode(wysiwys_proto::jcs::sha256(token.as_bytes()))
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
}
