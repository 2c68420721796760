//! `wysiwys-confirm`: the confirmation device as a command-line program.

use anyhow::{Context, Result, anyhow};
use clap::{Parser, Subcommand};
use secrecy::SecretString;
use std::path::PathBuf;
use std::time::Duration;
use wysiwys_confirm::channel::{ChannelError, Connection, Push};
use wysiwys_confirm::store::{Account, Home};
use wysiwys_proto::api::AckOutcome;
use wysiwys_proto::pairing::PairingUri;
use wysiwys_proto::sad::Decision;

#[derive(Parser, Debug)]
#[command(
    name = "wysiwys-confirm",
    version,
    about = "Confirm signatures on a second device: pair once, then approve or reject what the server asks you to sign."
)]
struct Cli {
    /// Where accounts and the encrypted device key live.
    #[arg(long, global = true)]
    home: Option<PathBuf>,
    /// File holding the passphrase that protects the device key
    /// (or set WYSIWYS_CONFIRM_PASSPHRASE).
    #[arg(long, global = true)]
    passphrase_file: Option<PathBuf>,
    /// Print one JSON object per event instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Pair this device with your account, using the URI shown on the web page.
    Pair {
        /// The `wysiwys-pair:?…` URI from the devices page.
        uri: String,
        /// A name you will recognise this device by.
        #[arg(long, default_value = "wysiwys-confirm")]
        name: String,
    },
    /// Wait for the next sign request and approve it.
    Approve(Answer),
    /// Wait for the next sign request and reject it.
    Reject(Answer),
    /// Wait for the next sign request and answer "this was not me" (locks signing).
    NotMe(Answer),
    /// List the accounts this device is paired with.
    Accounts,
}

#[derive(clap::Args, Debug)]
struct Answer {
    /// Answer one request, then exit (required for now: the interactive app comes later).
    #[arg(long, required = true)]
    once: bool,
    /// Give up after this many seconds without a request.
    #[arg(long, default_value_t = 120)]
    timeout: u64,
    /// Which paired device to use when there are several.
    #[arg(long)]
    device: Option<String>,
}

/// Exit codes scripts can rely on.
mod exit {
    pub const REFUSED: u8 = 3;
    pub const FORGED_PUSH: u8 = 4;
    pub const TIMEOUT: u8 = 5;
}

fn passphrase(cli: &Cli) -> Result<SecretString> {
    if let Some(path) = &cli.passphrase_file {
        let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
        return Ok(SecretString::from(text.lines().next().unwrap_or_default().to_owned()));
    }
    std::env::var("WYSIWYS_CONFIRM_PASSPHRASE")
        .map(SecretString::from)
        .map_err(|_| anyhow!("give the key passphrase with --passphrase-file or WYSIWYS_CONFIRM_PASSPHRASE"))
}

struct Output {
    json: bool,
}

impl Output {
    fn event(&self, value: serde_json::Value, text: impl FnOnce() -> String) {
        if self.json {
            println!("{value}");
        } else {
            println!("{}", text());
        }
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let out = Output { json: cli.json };
    match run(&cli, &out).await {
        Ok(code) => std::process::ExitCode::from(code),
        Err(e) => {
            out.event(serde_json::json!({"event": "error", "message": format!("{e:#}")}), || format!("error: {e:#}"));
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: &Cli, out: &Output) -> Result<u8> {
    let home = Home::locate(cli.home.clone())?;
    match &cli.command {
        Command::Pair { uri, name } => {
            let uri: PairingUri = uri.parse()?;
            let account = wysiwys_confirm::pairing::pair(&home, &uri, name, &passphrase(cli)?).await?;
            out.event(
                serde_json::json!({"event": "paired", "device_id": account.device_id, "username": account.username, "server": account.server_origin}),
                || format!("Paired as {} with {} (device id {}).", account.username, account.server_origin, account.device_id),
            );
            Ok(0)
        }
        Command::Accounts => {
            for a in home.accounts()? {
                out.event(
                    serde_json::json!({"event": "account", "device_id": a.device_id, "username": a.username, "server": a.server_origin}),
                    || format!("{}  {}  {}", a.device_id, a.username, a.server_origin),
                );
            }
            Ok(0)
        }
        Command::Approve(a) => answer_once(cli, out, &home, a, Decision::Approve).await,
        Command::Reject(a) => answer_once(cli, out, &home, a, Decision::Reject).await,
        Command::NotMe(a) => answer_once(cli, out, &home, a, Decision::NotMe).await,
    }
}

/// Connects (and reconnects after a drop) until one request is answered or
/// the timeout passes.
async fn answer_once(cli: &Cli, out: &Output, home: &Home, args: &Answer, decision: Decision) -> Result<u8> {
    let mut account = home.select(args.device.as_deref())?;
    let key = home.load_key(&account, &passphrase(cli)?)?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(args.timeout);
    let mut backoff = Duration::from_millis(250);
    loop {
        let attempt = tokio::time::timeout_at(deadline, session(out, home, &mut account, &key, decision)).await;
        match attempt {
            Err(_) => {
                out.event(serde_json::json!({"event": "timeout"}), || "no sign request arrived in time".into());
                return Ok(exit::TIMEOUT);
            }
            Ok(Ok(code)) => return Ok(code),
            Ok(Err(ChannelError::Refused { code, description })) => {
                out.event(
                    serde_json::json!({"event": "refused", "error": code, "error_description": description}),
                    || format!("server refused this device: {code} ({description})"),
                );
                return Ok(exit::REFUSED);
            }
            Ok(Err(e)) if e.is_retryable() => {
                out.event(serde_json::json!({"event": "disconnected", "reason": e.to_string()}), || {
                    format!("connection lost ({e}); reconnecting in {} ms", backoff.as_millis())
                });
                tokio::time::sleep_until((tokio::time::Instant::now() + backoff).min(deadline)).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
            Ok(Err(e)) => return Err(e.into()),
        }
    }
}

async fn session(
    out: &Output,
    home: &Home,
    account: &mut Account,
    key: &p256::ecdsa::SigningKey,
    decision: Decision,
) -> Result<u8, ChannelError> {
    let mut conn = Connection::open(account, key).await?;
    out.event(serde_json::json!({"event": "connected", "device_id": account.device_id}), || {
        format!("connected to {} as {}", account.server_origin, account.username)
    });
    let shown = match conn.next_push(account).await? {
        Push::Genuine(shown) => shown,
        Push::Forged { code, reason } => {
            out.event(serde_json::json!({"event": "attack_warning", "error": code, "reason": reason}), || {
                format!("WARNING: a sign request failed verification and was NOT answered: {reason}")
            });
            return Ok(exit::FORGED_PUSH);
        }
    };
    let c = &shown.claims;
    out.event(
        serde_json::json!({
            "event": "request", "request_id": c.req, "requester": c.rp, "title": c.summary.title,
            "lines": c.summary.lines, "verification_code": shown.verification_code, "expires_at": c.exp,
            "doc_sha256": c.doc, "summary_sha256": c.sum,
        }),
        || {
            let mut text = format!("\nSign request from {}\n  {}\n", c.rp, c.summary.title);
            for line in &c.summary.lines {
                text.push_str(&format!("  {:>10}  {}\n", line.label, line.value));
            }
            text.push_str(&format!("  verification code: {}\n", shown.verification_code));
            text
        },
    );
    let outcome = conn.answer(home, account, key, &shown, decision).await?;
    let code = match &outcome {
        AckOutcome::Accepted { .. } => 0,
        AckOutcome::Refused { .. } => exit::REFUSED,
    };
    out.event(
        serde_json::json!({"event": "ack", "request_id": c.req, "decision": decision, "outcome": outcome}),
        || format!("answered {decision:?}: {outcome:?}"),
    );
    Ok(code)
}
