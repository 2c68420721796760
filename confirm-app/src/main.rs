//! `wysiwys-confirm`: the confirmation device, as a terminal app.

use anyhow::{Context, Result, anyhow, bail};
use clap::{Parser, Subcommand};
use crossterm::event::{Event as TermEvent, EventStream, KeyCode, KeyEventKind};
use futures_util::StreamExt;
use secrecy::{ExposeSecret, SecretString};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::mpsc;
use wysiwys_confirm::channel::{self, Answer, Event, Push, Setup};
use wysiwys_confirm::pairing::PairingTarget;
use wysiwys_confirm::policy::Policy;
use wysiwys_confirm::receipts::ReceiptLog;
use wysiwys_confirm::store::Home;
use wysiwys_confirm::tui;
use wysiwys_proto::api::{AckOutcome, PairingOutcome, PairingStatus};
use wysiwys_proto::pairing::PairingUri;
use wysiwys_proto::sad::Decision;

#[derive(Parser, Debug)]
#[command(
    name = "wysiwys-confirm",
    version,
    about = "Your second device for wysiwys signatures.",
    long_about = "Your second device for wysiwys signatures.\n\n\
        Pair it once with your account (the web page's Devices tab shows the command), then run \
        `wysiwys-confirm listen`: every sign request shows up here with its summary and a \
        verification code. Approve only when the code matches your browser and the summary is what \
        you meant to sign. The device key is kept encrypted under a passphrase."
)]
struct Cli {
    /// Where accounts, receipts and the encrypted device keys live
    /// [default: $WYSIWYS_CONFIRM_HOME or ~/.config/wysiwys-confirm].
    #[arg(long, global = true)]
    home: Option<PathBuf>,
    /// File whose first line is the key passphrase (or set WYSIWYS_CONFIRM_PASSPHRASE;
    /// on a terminal you are asked).
    #[arg(long, global = true)]
    passphrase_file: Option<PathBuf>,
    /// Print one JSON object per event instead of text (for scripts).
    #[arg(long, global = true)]
    json: bool,
    /// A PEM file with the CA of a server that uses a private certificate authority.
    #[arg(long, global = true)]
    ca_file: Option<PathBuf>,
    /// Connect to this address instead of the paired server (a proxy). The
    /// pinned server key still decides what is trusted.
    #[arg(long, global = true, hide = true)]
    connect: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Pair this device with your account.
    ///
    /// Give the `wysiwys-pair:` address from the web page, or, typed by hand,
    /// --server and --code (then compare the printed fingerprint with the page).
    Pair {
        /// The `wysiwys-pair:?…` address shown on the Devices page.
        uri: Option<String>,
        /// Server address, when typing the code by hand (e.g. https://sign.example).
        #[arg(long, requires = "code", conflicts_with = "uri")]
        server: Option<String>,
        /// Pairing code, when typing it by hand (e.g. ABCDE-FGHJK).
        #[arg(long, requires = "server")]
        code: Option<String>,
        /// A name you will recognise this device by on the web page.
        #[arg(long, default_value = "wysiwys-confirm")]
        name: String,
        /// The activation code from your letter (or your bank's app), for your
        /// first device. Never type it into the browser.
        #[arg(long)]
        activation_code: Option<String>,
    },
    /// Wait for sign requests and decide on each, full screen (a, r, n, q).
    Listen(Which),
    /// Wait for the next sign request and approve it (for scripts).
    Approve(Once),
    /// Wait for the next sign request and reject it (for scripts).
    Reject(Once),
    /// Wait for the next sign request and answer "not me" (locks signing).
    NotMe(Once),
    /// Answer requests by the rules of a policy file, without a person (for tests and kiosks).
    Auto {
        /// JSON: {"rules": [{"requester"?, "title_contains"?, "media_type"?, "action"}], "otherwise": action};
        /// actions: approve, reject, not_me, ignore.
        #[arg(long)]
        policy: PathBuf,
        /// Stop after this many answers.
        #[arg(long)]
        count: Option<usize>,
        #[command(flatten)]
        which: Which,
    },
    /// The servers and users this device is paired with.
    #[command(alias = "devices")]
    Accounts,
    /// Every decision this device made, from the hash-chained receipt file.
    Receipts {
        /// Check that no receipt was changed, removed or reordered.
        #[arg(long)]
        verify: bool,
    },
    /// Forget a pairing on this device (revoke it on the web page too).
    Unpair(Which),
}

#[derive(clap::Args, Debug)]
struct Which {
    /// Which paired device to use when there are several (see `accounts`).
    /// Device ids are base64url and may begin with `-`.
    #[arg(long, allow_hyphen_values = true)]
    device: Option<String>,
}

#[derive(clap::Args, Debug)]
struct Once {
    /// Answer one request, then exit.
    #[arg(long, required = true)]
    once: bool,
    /// Answer the next pairing request (a new device asking to join) instead
    /// of a sign request.
    #[arg(long)]
    pairing: bool,
    /// Give up after this many seconds without a request.
    #[arg(long, default_value_t = 120)]
    timeout: u64,
    #[command(flatten)]
    which: Which,
}

/// Exit codes scripts can rely on.
mod exit {
    pub const REFUSED: u8 = 3;
    pub const FORGED_PUSH: u8 = 4;
    pub const TIMEOUT: u8 = 5;
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

fn passphrase(cli: &Cli, confirm: bool) -> Result<SecretString> {
    if let Some(path) = &cli.passphrase_file {
        let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
        return Ok(SecretString::from(text.lines().next().unwrap_or_default().to_owned()));
    }
    if let Ok(p) = std::env::var("WYSIWYS_CONFIRM_PASSPHRASE") {
        return Ok(SecretString::from(p));
    }
    if !std::io::stdin().is_terminal() {
        bail!("give the key passphrase with --passphrase-file or WYSIWYS_CONFIRM_PASSPHRASE");
    }
    let first = SecretString::from(rpassword::prompt_password("Device key passphrase: ")?);
    if confirm {
        let again = rpassword::prompt_password("Once more: ")?;
        if again != first.expose_secret() {
            bail!("the passphrases differ");
        }
    }
    Ok(first)
}

fn ca_pem(cli: &Cli) -> Result<Option<Vec<u8>>> {
    cli.ca_file.as_ref().map(|p| std::fs::read(p).with_context(|| p.display().to_string())).transpose()
}

fn setup(cli: &Cli, home: &Home, which: &Which) -> Result<Setup> {
    let account = home.select(which.device.as_deref())?;
    let key = home.load_key(&account, &passphrase(cli, false)?)?;
    let tls = Some(channel::tls_config(ca_pem(cli)?.as_deref())?);
    Ok(Setup { home: home.clone(), account, key, connect_to: cli.connect.clone(), tls })
}

async fn run(cli: &Cli, out: &Output) -> Result<u8> {
    let home = Home::locate(cli.home.clone())?;
    match &cli.command {
        Command::Pair { uri, server, code, name, activation_code } => {
            let target: PairingTarget = match (uri, server, code) {
                (Some(uri), _, _) => uri.parse::<PairingUri>()?.into(),
                (None, Some(server), Some(code)) => PairingTarget {
                    server: server.trim_end_matches('/').to_owned(),
                    code: code.clone(),
                    channel_key_thumbprint: None,
                },
                _ => bail!("give the pairing address, or --server and --code"),
            };
            let by_hand = target.channel_key_thumbprint.is_none();
            let pass = passphrase(cli, true)?;
            let activation = activation_code.clone().map(SecretString::from);
            let paired = wysiwys_confirm::pairing::pair(
                &home,
                &target,
                name,
                &pass,
                activation.as_ref(),
                ca_pem(cli)?.as_deref(),
            )
            .await?;
            let account = &paired.account;
            let fingerprint = account.channel_key.thumbprint();
            let awaiting = paired.status == PairingStatus::AwaitingApproval;
            out.event(
                serde_json::json!({"event": "paired", "device_id": account.device_id, "username": account.username,
                                   "server": account.server_origin, "server_key": fingerprint,
                                   "status": paired.status, "approval_expires_at": paired.approval_expires_at}),
                || {
                    let mut text = format!(
                        "Paired as {} with {} (device id {}).",
                        account.username, account.server_origin, account.device_id
                    );
                    if awaiting {
                        text.push_str(
                            "\nApprove it on one of your other devices (wysiwys-confirm listen) within 10 minutes; \
                             until then it cannot be used.",
                        );
                    }
                    if by_hand {
                        text.push_str(&format!(
                            "\nServer key fingerprint: {fingerprint}\nCompare it with the fingerprint on the pairing page; if they differ, unpair."
                        ));
                    }
                    text
                },
            );
            Ok(0)
        }
        Command::Accounts => {
            for a in home.accounts()? {
                out.event(
                    serde_json::json!({"event": "account", "device_id": a.device_id, "device_name": a.device_name,
                                       "username": a.username, "server": a.server_origin}),
                    || format!("{}  {}  {} at {}", a.device_id, a.device_name, a.username, a.server_origin),
                );
            }
            Ok(0)
        }
        Command::Receipts { verify } => {
            let log = ReceiptLog::at(home.root());
            if *verify {
                let n = log.verify()?;
                out.event(serde_json::json!({"event": "receipts_verified", "count": n}), || {
                    format!("{n} receipts; the chain is intact.")
                });
                return Ok(0);
            }
            for r in log.read()? {
                let value = serde_json::to_value(&r)?;
                out.event(value, || {
                    format!(
                        "#{} {} {} “{}” from {} — {}",
                        r.seq,
                        wysiwys_proto::time::format_utc(r.at),
                        r.decision,
                        r.summary.title,
                        r.requester,
                        r.ack.as_ref().map_or("no answer".to_owned(), |a| a.to_string())
                    )
                });
            }
            Ok(0)
        }
        Command::Unpair(which) => {
            let account = home.select(which.device.as_deref())?;
            home.remove(&account.device_id)?;
            out.event(serde_json::json!({"event": "unpaired", "device_id": account.device_id}), || {
                format!(
                    "Forgot device {} for {}. Revoke it on the web page as well.",
                    account.device_id, account.server_origin
                )
            });
            Ok(0)
        }
        Command::Approve(o) => answer_once(cli, out, &home, o, Decision::Approve).await,
        Command::Reject(o) => answer_once(cli, out, &home, o, Decision::Reject).await,
        Command::NotMe(o) => answer_once(cli, out, &home, o, Decision::NotMe).await,
        Command::Auto { policy, count, which } => {
            let text = std::fs::read_to_string(policy).with_context(|| policy.display().to_string())?;
            let policy = Policy::parse(&text).context("policy file")?;
            auto(out, setup(cli, &home, which)?, &policy, *count).await
        }
        Command::Listen(which) => listen(setup(cli, &home, which)?).await,
    }
}

fn report(out: &Output, event: &Event) {
    match event {
        Event::Connecting => {}
        Event::Connected => out.event(serde_json::json!({"event": "connected"}), || "connected".into()),
        Event::Disconnected { reason, retry_in } => out.event(
            serde_json::json!({"event": "disconnected", "reason": reason, "retry_ms": retry_in.as_millis() as u64}),
            || format!("connection lost ({reason}); reconnecting in {} ms", retry_in.as_millis()),
        ),
        Event::Refused { code, description } => out
            .event(serde_json::json!({"event": "refused", "error": code, "error_description": description}), || {
                format!("server refused this device: {code} ({description})")
            }),
        Event::Failed { reason } => {
            out.event(serde_json::json!({"event": "error", "message": reason}), || format!("error: {reason}"))
        }
        Event::Push(Push::Forged { code, reason }) => out
            .event(serde_json::json!({"event": "attack_warning", "error": code, "reason": reason}), || {
                format!("WARNING: a sign request failed verification and was NOT answered: {reason}")
            }),
        Event::Push(Push::Genuine(shown)) => {
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
            )
        }
        Event::Push(Push::Pairing(shown)) => {
            let c = &shown.claims;
            out.event(
                serde_json::json!({
                    "event": "pairing_request", "pairing_id": c.pairing, "name": c.name, "key_thumbprint": c.jkt,
                    "address": c.addr, "asked_at": c.iat, "expires_at": c.exp,
                }),
                || format!("\n{}\n", wysiwys_confirm::tui::pairing_lines(shown, wysiwys_confirm::now_s()).join("\n  ")),
            )
        }
        Event::PairingAnswered { pairing_id, decision, outcome } => out.event(
            serde_json::json!({"event": "pairing_ack", "pairing_id": pairing_id, "decision": decision, "outcome": outcome}),
            || format!("pairing answered {decision:?}: {outcome:?}"),
        ),
        Event::Notice { kind, device_id, device_name, at } => out.event(
            serde_json::json!({"event": "notice", "kind": kind, "device_id": device_id, "device_name": device_name, "at": at}),
            || format!("notice: {}", wysiwys_confirm::tui::notice_words(*kind, device_name)),
        ),
        Event::Answered { request_id, decision, outcome, receipt_seq } => out.event(
            serde_json::json!({"event": "ack", "request_id": request_id, "decision": decision, "outcome": outcome,
                               "receipt": receipt_seq}),
            || format!("answered {decision:?}: {outcome:?} (receipt #{receipt_seq})"),
        ),
    }
}

/// Answers the first genuine request, then exits with a code scripts can test.
async fn answer_once(cli: &Cli, out: &Output, home: &Home, args: &Once, decision: Decision) -> Result<u8> {
    let setup = setup(cli, home, &args.which)?;
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let (answers, answers_rx) = mpsc::unbounded_channel();
    tokio::spawn(channel::run(setup, events_tx, answers_rx));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(args.timeout);
    loop {
        let Ok(Some(event)) = tokio::time::timeout_at(deadline, events.recv()).await else {
            out.event(serde_json::json!({"event": "timeout"}), || "no sign request arrived in time".into());
            return Ok(exit::TIMEOUT);
        };
        report(out, &event);
        match event {
            Event::Push(Push::Genuine(shown)) if !args.pairing => {
                answers.send(Answer::Sign { shown, decision }).map_err(|_| anyhow!("session ended"))?
            }
            Event::Push(Push::Pairing(shown)) if args.pairing => {
                answers.send(Answer::Pairing { shown, decision }).map_err(|_| anyhow!("session ended"))?
            }
            Event::Push(Push::Forged { .. }) => return Ok(exit::FORGED_PUSH),
            Event::Answered { outcome: Some(AckOutcome::Accepted { .. }), .. } => return Ok(0),
            Event::PairingAnswered {
                outcome: Some(PairingOutcome::Approved | PairingOutcome::Rejected | PairingOutcome::Locked),
                ..
            } => return Ok(0),
            Event::Answered { .. } | Event::PairingAnswered { .. } | Event::Refused { .. } => return Ok(exit::REFUSED),
            Event::Failed { reason } => bail!(reason),
            _ => {}
        }
    }
}

/// Answers by policy until `count` answers were given (or forever).
async fn auto(out: &Output, setup: Setup, policy: &Policy, count: Option<usize>) -> Result<u8> {
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let (answers, answers_rx) = mpsc::unbounded_channel();
    tokio::spawn(channel::run(setup, events_tx, answers_rx));
    let mut answered = 0;
    while let Some(event) = events.recv().await {
        report(out, &event);
        match event {
            // A pairing request is never answered by a policy: only a person
            // who is pairing a device right now can say it is theirs.
            Event::Push(Push::Genuine(shown)) => {
                if let Some(decision) = policy.decide(&shown).decision() {
                    answers.send(Answer::Sign { shown, decision }).map_err(|_| anyhow!("session ended"))?;
                }
            }
            Event::Answered { .. } => {
                answered += 1;
                if count.is_some_and(|c| answered >= c) {
                    return Ok(0);
                }
            }
            Event::Refused { .. } => return Ok(exit::REFUSED),
            Event::Failed { reason } => bail!(reason),
            _ => {}
        }
    }
    Ok(0)
}

fn key_of(code: KeyCode) -> Option<tui::Key> {
    Some(match code {
        KeyCode::Char(c) => tui::Key::Char(c.to_ascii_lowercase()),
        KeyCode::Up => tui::Key::Up,
        KeyCode::Down => tui::Key::Down,
        KeyCode::PageUp => tui::Key::PageUp,
        KeyCode::PageDown => tui::Key::PageDown,
        KeyCode::Home => tui::Key::Home,
        KeyCode::End => tui::Key::End,
        KeyCode::Enter => tui::Key::Enter,
        KeyCode::Esc => tui::Key::Esc,
        _ => return None,
    })
}

/// The full-screen app.
async fn listen(setup: Setup) -> Result<u8> {
    let who = format!("{} at {}", setup.account.username, setup.account.server_origin);
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let (answers, answers_rx) = mpsc::unbounded_channel();
    tokio::spawn(channel::run(setup, events_tx, answers_rx));
    let mut app = tui::App::new(who, wysiwys_confirm::now_s());
    let mut terminal = ratatui::init();
    let mut keys = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let result: Result<()> = async {
        while !app.quit {
            terminal.draw(|f| tui::draw(f, &mut app))?;
            tokio::select! {
                key = keys.next() => match key {
                    Some(Ok(TermEvent::Key(k))) if k.kind == KeyEventKind::Press => {
                        if let Some(answer) = key_of(k.code).and_then(|k| app.on_key(k)) {
                            answers.send(answer).map_err(|_| anyhow!("session ended"))?;
                        }
                    }
                    Some(Ok(_)) => {} // resize and the rest: redrawn at the top of the loop
                    Some(Err(e)) => return Err(e.into()),
                    None => return Ok(()),
                },
                event = events.recv() => match event {
                    Some(e) => app.on_event(e),
                    None => return Ok(()),
                },
                _ = tick.tick() => app.tick(wysiwys_confirm::now_s()),
            }
        }
        Ok(())
    }
    .await;
    ratatui::restore();
    result.map(|()| 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_id_that_begins_with_a_hyphen_is_a_value() {
        let cli = Cli::try_parse_from(["wysiwys-confirm", "approve", "--once", "--device", "-qXb3_9aZk1mN2pQ7rS8tUv"])
            .expect("parses");
        let Command::Approve(once) = cli.command else { panic!("approve") };
        assert_eq!(once.which.device.as_deref(), Some("-qXb3_9aZk1mN2pQ7rS8tUv"));
    }
}
