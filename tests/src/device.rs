//! The device channel: the real `wysiwys-confirm` process, and a scripted
//! device speaking the socket protocol directly (for attacks and replays).

use crate::events::EventProcess;
use crate::workspace_bin;
use futures_util::{SinkExt, StreamExt};
use p256::ecdsa::SigningKey;
use secrecy::SecretString;
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use wysiwys_confirm::store::{Account, Home};
use wysiwys_proto::api::{AckOutcome, DeviceMessage, NoticeKind, PairingOutcome, ServerMessage};
use wysiwys_proto::challenge::{self, Expectation, VerifiedChallenge};
use wysiwys_proto::device_auth::{DeviceAuthClaims, device_auth};
use wysiwys_proto::pairing_approval::{self, VerifiedPairingRequest};
use wysiwys_proto::sad::{self, Decision};
use wysiwys_proto::{ErrorBody, ErrorCode};

pub const PASSPHRASE: &str = "device passphrase for tests";

/// A `wysiwys-confirm` installation in a temp home.
#[derive(Debug)]
pub struct ConfirmApp {
    pub home: tempfile::TempDir,
    passphrase_file: PathBuf,
}

/// A running `approve|reject|not-me --once`.
pub type RunningAnswer = EventProcess;

impl ConfirmApp {
    pub fn new() -> ConfirmApp {
        let home = tempfile::Builder::new().prefix("wysiwys-device-").tempdir().expect("temp home");
        let passphrase_file = home.path().join("passphrase");
        std::fs::write(&passphrase_file, PASSPHRASE).expect("passphrase file");
        ConfirmApp { home, passphrase_file }
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(workspace_bin("wysiwys-confirm"));
        cmd.arg("--home").arg(self.home.path()).arg("--passphrase-file").arg(&self.passphrase_file).arg("--json");
        cmd
    }

    /// Runs `pair <uri>`, with the account's activation code for a first
    /// device; returns the device id (active, or awaiting approval).
    pub fn pair(&self, uri: &str, activation_code: Option<&str>) -> Result<String, String> {
        self.pair_event(uri, activation_code).map(|e| e["device_id"].as_str().unwrap_or_default().to_owned())
    }

    /// Runs `pair <uri>`; returns its `paired` event (with `status`).
    pub fn pair_event(&self, uri: &str, activation_code: Option<&str>) -> Result<Value, String> {
        let mut args = vec!["pair", uri, "--name", "test device"];
        if let Some(code) = activation_code {
            args.extend(["--activation-code", code]);
        }
        let out = self.command().args(&args).output().expect("run pair");
        let events = parse_events(&out.stdout);
        match events.iter().find(|e| e["event"] == "paired") {
            Some(e) if out.status.success() => Ok(e.clone()),
            _ => Err(format!("{events:?} {}", String::from_utf8_lossy(&out.stderr))),
        }
    }

    /// Starts answering the next request with `decision` (approve, reject, not-me).
    pub fn answer(&self, decision: &str) -> RunningAnswer {
        self.spawn(&[decision, "--once", "--timeout", "60"])
    }

    /// Runs a command to its end; returns the exit code and the JSON events.
    pub fn run(&self, args: &[&str]) -> (i32, Vec<Value>) {
        let out = self.command().args(args).output().expect("run wysiwys-confirm");
        (out.status.code().unwrap_or(-1), parse_events(&out.stdout))
    }

    /// The command line of this installation, for running it elsewhere (tmux).
    pub fn command_line(&self, args: &[&str]) -> Vec<String> {
        let mut line = vec![
            workspace_bin("wysiwys-confirm").display().to_string(),
            "--home".into(),
            self.home.path().display().to_string(),
            "--passphrase-file".into(),
            self.passphrase_file.display().to_string(),
        ];
        line.extend(args.iter().map(|a| a.to_string()));
        line
    }

    /// Starts any long-running command (`auto`, `approve --once`…) with JSON events.
    pub fn spawn(&self, args: &[&str]) -> RunningAnswer {
        let mut command = self.command();
        command.args(args);
        EventProcess::spawn(command, "wysiwys-confirm")
    }

    pub fn account(&self) -> Account {
        Home::locate(Some(self.home.path().to_owned())).expect("home").select(None).expect("paired account")
    }

    pub fn key(&self) -> SigningKey {
        let home = Home::locate(Some(self.home.path().to_owned())).expect("home");
        home.load_key(&self.account(), &SecretString::from(PASSPHRASE.to_owned())).expect("device key")
    }
}

impl Default for ConfirmApp {
    fn default() -> Self {
        Self::new()
    }
}

fn parse_events(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout).lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Trust for a device socket over TLS: a private CA's, or (None) the web PKI.
pub type Tls = Option<std::sync::Arc<rustls::ClientConfig>>;

async fn open_socket(server_origin: &str, tls: Tls) -> Socket {
    let url = wysiwys_confirm::channel::socket_url(server_origin).expect("url");
    let connector = tls.map(tokio_tungstenite::Connector::Rustls);
    let (socket, _) =
        tokio_tungstenite::connect_async_tls_with_config(url, None, true, connector).await.expect("connect");
    socket
}

/// A device driven by the test: it can send any SAD, including replayed,
/// foreign or forged ones.
#[derive(Debug)]
pub struct ScriptedDevice {
    socket: Socket,
    pub account: Account,
    pub key: SigningKey,
    /// The authentication message this connection sent, as a network
    /// attacker would have recorded it.
    pub auth_message: String,
}

impl ScriptedDevice {
    /// Authenticates as `account` with `key` (which may not be the paired one).
    pub async fn connect(account: Account, key: SigningKey) -> Result<ScriptedDevice, ErrorBody> {
        Self::connect_with(account, key, None).await
    }

    /// The same over TLS with `tls` (a private CA); None trusts the web PKI.
    pub async fn connect_with(account: Account, key: SigningKey, tls: Tls) -> Result<ScriptedDevice, ErrorBody> {
        let socket = open_socket(&account.server_origin, tls).await;
        let mut device = ScriptedDevice { socket, account, key, auth_message: String::new() };
        let nonce = match device.receive().await? {
            ServerMessage::Hello { nonce, .. } => nonce,
            other => panic!("expected hello, got {other:?}"),
        };
        let claims = DeviceAuthClaims {
            iss: device.account.device_id.clone(),
            aud: device.account.server_origin.clone(),
            nonce,
            iat: crate::system_now_s(),
        };
        let token = device_auth(&device.key, &claims).expect("auth token");
        device.auth_message = serde_json::to_string(&DeviceMessage::Auth { token }).expect("json");
        let recorded = device.auth_message.clone();
        device.send_raw(&recorded).await;
        match device.receive().await? {
            ServerMessage::Authenticated { .. } => Ok(device),
            other => panic!("expected authenticated, got {other:?}"),
        }
    }

    pub async fn send(&mut self, message: &DeviceMessage) {
        self.socket.send(Message::text(serde_json::to_string(message).expect("json"))).await.expect("send");
    }

    pub async fn send_raw(&mut self, text: &str) {
        self.socket.send(Message::text(text.to_owned())).await.expect("send");
    }

    /// The next message; a server `Error` message comes back as `Err`.
    pub async fn receive(&mut self) -> Result<ServerMessage, ErrorBody> {
        receive_on(&mut self.socket).await
    }

    /// The sign requests pushed when this socket authenticated, as they
    /// arrived. The server pushes everything pending before it reads the
    /// first message, so the refusal of a probe sent now comes after the
    /// last of them.
    pub async fn pushed_on_connect(&mut self) -> Vec<String> {
        self.send(&DeviceMessage::NoticeReceipt { notice_id: "probe: no such notice".into() }).await;
        let mut tokens = Vec::new();
        loop {
            match self.receive().await {
                Ok(ServerMessage::SignRequest { token }) => tokens.push(token),
                Ok(_) => continue,
                Err(e) if e.error == ErrorCode::NotFound => return tokens,
                Err(e) => panic!("expected the probe's refusal, got {e:?}"),
            }
        }
    }

    /// Closes the socket and waits for the server's close: by then the
    /// server has let go of the connection (its place under the caps too).
    pub async fn close(mut self) {
        let _ = self.socket.send(Message::Close(None)).await;
        while let Some(Ok(message)) = self.socket.next().await {
            if message.is_close() {
                return;
            }
        }
    }

    /// The next push as it arrived, unverified.
    pub async fn next_push_token(&mut self) -> String {
        loop {
            if let Ok(ServerMessage::SignRequest { token }) = self.receive().await {
                return token;
            }
        }
    }

    /// Waits for the next push and verifies it as the real app would.
    pub async fn next_push(&mut self) -> VerifiedChallenge {
        loop {
            if let Ok(ServerMessage::SignRequest { token }) = self.receive().await {
                let key = self.account.channel_key.to_verifying_key().expect("channel key");
                let expect = Expectation {
                    server_origin: &self.account.server_origin,
                    device_id: &self.account.device_id,
                    channel_key: &key,
                    now: crate::system_now_s(),
                };
                return challenge::verify(&token, expect).expect("genuine push");
            }
        }
    }

    /// The next pairing request as it arrived, unverified.
    pub async fn next_pairing_token(&mut self) -> String {
        loop {
            if let Ok(ServerMessage::PairingRequest { token }) = self.receive().await {
                return token;
            }
        }
    }

    /// Waits for the next pairing request and verifies it as the real app would.
    pub async fn next_pairing_request(&mut self) -> VerifiedPairingRequest {
        let token = self.next_pairing_token().await;
        let key = self.account.channel_key.to_verifying_key().expect("channel key");
        let expect = pairing_approval::Expectation {
            server_origin: &self.account.server_origin,
            device_id: &self.account.device_id,
            channel_key: &key,
            now: crate::system_now_s(),
        };
        pairing_approval::verify_request(&token, expect).expect("genuine pairing request")
    }

    /// The signed answer to `shown`, as the app builds it.
    pub fn pairing_answer(&self, shown: &VerifiedPairingRequest, decision: Decision) -> String {
        pairing_approval::sign_answer(&self.key, &shown.answer_claims(decision, crate::system_now_s()))
            .expect("pairing answer")
    }

    /// Sends a pairing answer and returns the server's verdict.
    pub async fn submit_pairing(&mut self, pairing_id: &str, token: &str) -> PairingOutcome {
        self.send(&DeviceMessage::PairingAnswer { pairing_id: pairing_id.into(), token: token.into() }).await;
        loop {
            match self.receive().await {
                Ok(ServerMessage::PairingAck { pairing_id: p, outcome }) if p == pairing_id => return outcome,
                Ok(_) => continue,
                Err(e) => panic!("server error instead of a pairing ack: {e:?}"),
            }
        }
    }

    /// Waits for the next notice; returns its id, kind and subject device.
    pub async fn next_notice(&mut self) -> (String, NoticeKind, String) {
        loop {
            if let Ok(ServerMessage::Notice { notice_id, kind, device_id, .. }) = self.receive().await {
                return (notice_id, kind, device_id);
            }
        }
    }

    /// A SAD over `shown` with the next counter.
    pub fn sad(&mut self, shown: &VerifiedChallenge, decision: Decision) -> String {
        self.account.counter += 1;
        sad::build(&self.key, &shown.sad_claims(decision, self.account.counter, crate::system_now_s())).expect("sad")
    }

    /// Sends a SAD for `request_id` and returns the server's verdict.
    pub async fn submit(&mut self, request_id: &str, token: &str) -> AckOutcome {
        self.send(&DeviceMessage::Sad { request_id: request_id.into(), token: token.into() }).await;
        loop {
            match self.receive().await {
                Ok(ServerMessage::Ack { request_id: r, outcome }) if r == request_id => return outcome,
                Ok(_) => continue,
                Err(e) => panic!("server error instead of an ack: {e:?}"),
            }
        }
    }
}

/// The next message on a device socket; a server `Error` message comes back as `Err`.
async fn receive_on(socket: &mut Socket) -> Result<ServerMessage, ErrorBody> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let frame = tokio::time::timeout_at(deadline, socket.next())
            .await
            .expect("server message in time")
            .expect("socket open")
            .expect("frame");
        if let Message::Text(text) = frame {
            return match serde_json::from_str::<ServerMessage>(&text).expect("server message") {
                ServerMessage::Error { error, error_description } => Err(ErrorBody::new(error, error_description)),
                other => Ok(other),
            };
        }
    }
}

/// Opens a device socket and sends `auth_message` (recorded from another
/// connection) as the answer to this connection's fresh nonce.
pub async fn replay_authentication(server_origin: &str, auth_message: &str, tls: Tls) -> Result<(), ErrorBody> {
    let mut socket = open_socket(server_origin, tls).await;
    receive_on(&mut socket).await?;
    socket.send(Message::text(auth_message.to_owned())).await.expect("send");
    match receive_on(&mut socket).await? {
        ServerMessage::Authenticated { .. } => Ok(()),
        other => panic!("expected an answer to the authentication, got {other:?}"),
    }
}

pub fn pairing_refused_code(outcome: &PairingOutcome) -> Option<ErrorCode> {
    match outcome {
        PairingOutcome::Refused { error, .. } => Some(*error),
        _ => None,
    }
}

pub fn refused_code(outcome: &AckOutcome) -> Option<ErrorCode> {
    match outcome {
        AckOutcome::Refused { error, .. } => Some(*error),
        AckOutcome::Accepted { .. } => None,
    }
}
