//! `wysiwys-confirm` as a person and an attacker meet it: the full-screen
//! app in a real terminal (tmux), tampered pushes, receipts, several
//! accounts, pairing by hand.

use crate::fixture::{Fixture, LETTER};
use futures_util::{SinkExt, StreamExt};
use p256::ecdsa::SigningKey;
use secrecy::SecretString;
use std::process::Command;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use wysiwys_confirm::store::{Account, Home};
use wysiwys_proto::api::{DeviceMessage, RequestState, ServerMessage};
use wysiwys_proto::challenge::{CHALLENGE_TYP, ChallengeClaims};
use wysiwys_proto::{Jwk, RENDER_VERSION, b64, jws};
use wysiwys_tests::device::PASSPHRASE;
use wysiwys_tests::{ConfirmApp, Db};

/// A program in a tmux session of its own, read and typed at like a person would.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(command: &[String], width: u16, height: u16) -> Tmux {
        let socket = format!(
            "wysiwys-{}-{}",
            std::process::id(),
            command.len() as u64 + u64::from(width) * 1000 + rand_suffix()
        );
        let line = command.iter().map(|a| format!("'{a}'")).collect::<Vec<_>>().join(" ");
        let status = Command::new("tmux")
            .args([
                "-L",
                &socket,
                "new-session",
                "-d",
                "-s",
                "app",
                "-x",
                &width.to_string(),
                "-y",
                &height.to_string(),
            ])
            .arg(line)
            .status()
            .expect("tmux (Debian package tmux) is needed for the terminal tests");
        assert!(status.success());
        Tmux { socket }
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p", "-t", "app"])
            .output()
            .expect("capture");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let status =
            Command::new("tmux").args(["-L", &self.socket, "send-keys", "-t", "app"]).args(keys).status().unwrap();
        assert!(status.success());
    }

    /// The screen once it shows `text` and has stopped changing: a frame
    /// larger than the terminal's write buffer reaches tmux in pieces, and a
    /// capture between two pieces shows half a frame.
    async fn wait_for(&self, text: &str) -> String {
        let mut previous = String::new();
        for _ in 0..200 {
            let screen = self.screen();
            if screen.contains(text) && screen == previous {
                return screen;
            }
            previous = screen;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{text:?} never appeared on a settled screen; the screen:\n{}", self.screen());
    }
}

fn rand_suffix() -> u64 {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ =
            Command::new("tmux").args(["-L", &self.socket, "kill-server"]).stderr(std::process::Stdio::null()).status();
    }
}

fn long_letter() -> String {
    let mut letter = String::from("Tax Agency — Income tax return 2025\n\n");
    for i in 1..=40 {
        letter.push_str(&format!("Item {i:02}: deduction for work travel, {i}0 km\n"));
    }
    letter.push_str("I confirm that this return is complete and correct.\n");
    letter
}

#[tokio::test]
async fn the_full_screen_app_under_a_real_terminal() {
    let mut f = Fixture::new(Db::Sqlite).await;
    let tmux = Tmux::start(&f.device.command_line(&["listen"]), 100, 40);
    tmux.wait_for("Waiting for sign requests").await;
    tmux.wait_for("connected").await;

    let r = f.browser.upload_letter(&long_letter()).await.unwrap();
    let screen = tmux.wait_for("Tax Agency — Income tax return 2025").await;
    assert!(screen.contains(&format!("Verification code {}", r.verification_code)), "{screen}");
    assert!(screen.contains("From wysiwys web upload at http://127.0.0.1:"), "{screen}");
    assert!(screen.contains("(Approve: scroll to the end of the summary first)"), "{screen}");
    // Keys are handled in order: once the screen has scrolled for "End",
    // the "a" before it has been handled, and must not have approved.
    tmux.keys(&["a"]);
    tmux.keys(&["End"]);
    let screen = tmux.wait_for("a Approve").await;
    assert!(screen.contains("I confirm that this return is complete and correct."), "{screen}");
    assert!(!screen.contains("Last: approve"), "approve was taken before scrolling:\n{screen}");
    assert_eq!(f.browser.request(&r.id).await.unwrap().device_confirmed_at, None, "no SAD before scrolling");
    std::fs::write(wysiwys_tests::screenshot_path("tui.txt"), &screen).unwrap();
    tmux.keys(&["a"]);
    tmux.wait_for("Last: approve: accepted").await;
    assert_eq!(f.browser.confirm_as_displayed(&r.id).await.unwrap().state, RequestState::Signed);
    assert_eq!(f.server.hsm_user_signatures().await, 1);

    // The server goes away and comes back; the app reconnects by itself.
    f.server.crash();
    tmux.wait_for("disconnected").await;
    f.server.restart();
    f.browser.reconnect();
    let second = f.browser.upload_letter(LETTER).await.unwrap();
    tmux.wait_for("Municipality of Lund").await;
    tmux.wait_for("a Approve").await;
    tmux.keys(&["r"]);
    tmux.wait_for("Last: reject: accepted").await;
    let view = f.browser.request(&second.id).await.unwrap();
    assert_eq!(view.error.map(|e| e.error), Some(wysiwys_proto::ErrorCode::DeviceRejected));

    // Resized small, then back: no crash, the app still answers keys.
    Command::new("tmux")
        .args(["-L", &tmux.socket, "resize-window", "-t", "app", "-x", "20", "-y", "5"])
        .status()
        .unwrap();
    tmux.wait_for("Terminal too").await;
    Command::new("tmux")
        .args(["-L", &tmux.socket, "resize-window", "-t", "app", "-x", "100", "-y", "40"])
        .status()
        .unwrap();
    tmux.wait_for("Waiting for sign requests").await;
    tmux.keys(&["q"]);
    assert_eq!(f.server.hsm_user_signatures().await, 0, "the restarted server signed nothing");
}

/// Forwards the device socket, rewriting each push on its way to the app.
async fn tampering_proxy(server_origin: String) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let upstream_url = wysiwys_confirm::channel::socket_url(&server_origin).unwrap();
            tokio::spawn(async move {
                let mut app = tokio_tungstenite::accept_async(tcp).await.unwrap();
                let (mut server, _) = tokio_tungstenite::connect_async(upstream_url).await.unwrap();
                loop {
                    tokio::select! {
                        m = app.next() => match m { Some(Ok(m)) => { let _ = server.send(m).await; } _ => break },
                        m = server.next() => match m {
                            Some(Ok(Message::Text(text))) => {
                                let forwarded = match serde_json::from_str::<ServerMessage>(&text) {
                                    Ok(ServerMessage::SignRequest { token }) => {
                                        // Swap the title inside the signed payload.
                                        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
                                        let payload = String::from_utf8(b64::decode(&parts[1]).unwrap()).unwrap();
                                        parts[1] = b64::encode(payload.replace("Municipality of Lund", "Municipality of Malmo"));
                                        serde_json::to_string(&ServerMessage::SignRequest { token: parts.join(".") }).unwrap()
                                    }
                                    _ => text.to_string(),
                                };
                                let _ = app.send(Message::text(forwarded)).await;
                            }
                            Some(Ok(m)) => { let _ = app.send(m).await; }
                            _ => break,
                        },
                    }
                }
            });
        }
    });
    port
}

#[tokio::test]
async fn a_push_changed_on_the_way_is_an_attack_warning_and_nothing_is_signed() {
    let f = Fixture::new(Db::Sqlite).await;
    let proxy = tampering_proxy(f.server.origin.clone()).await;
    let connect = format!("http://127.0.0.1:{proxy}");
    let mut app = f.device.spawn(&["--connect", &connect, "approve", "--once", "--timeout", "30"]);
    app.wait_for("connected").await;
    let r = f.browser.upload_letter(LETTER).await.unwrap();
    let (code, events) = app.finish().await;
    assert_eq!(code, 4, "{events:?}");
    let warning = events.iter().find(|e| e["event"] == "attack_warning").expect("a warning");
    assert!(warning["reason"].as_str().unwrap().contains("signature does not verify"), "{warning}");
    assert!(!events.iter().any(|e| e["event"] == "ack"), "nothing was answered: {events:?}");
    f.browser.confirm_as_displayed(&r.id).await.unwrap();
    let view = f.browser.request(&r.id).await.unwrap();
    assert_eq!((view.state, view.device_confirmed_at), (RequestState::Pending, None));
    assert_eq!(f.server.hsm_user_signatures().await, 0);
}

/// A server that holds the pinned key but pushes a summary that is not
/// the one its hash names: the app must still refuse.
#[tokio::test]
async fn a_summary_that_does_not_match_its_hash_is_an_attack_warning() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let channel = SigningKey::from_slice(&[42u8; 32]).unwrap();
    let device = ConfirmApp::new();
    let home = Home::locate(Some(device.home.path().to_owned())).unwrap();
    let account = Account {
        server_origin: origin.clone(),
        device_id: "dev-fake".into(),
        device_name: "test".into(),
        user_id: "u".into(),
        username: "ann".into(),
        channel_key: Jwk::from_verifying_key(channel.verifying_key()),
        counter: 0,
    };
    home.save_new(&account, &SigningKey::from_slice(&[7u8; 32]).unwrap(), &SecretString::from(PASSPHRASE.to_owned()))
        .unwrap();

    let shown = wysiwys_proto::summary::render("text/plain", b"Pay 10 EUR to Alice").unwrap();
    let mut swapped = shown.clone();
    swapped.lines[0].value = "Pay 10000 EUR to Mallory".into();
    let claims = ChallengeClaims {
        iss: origin.clone(),
        aud: "dev-fake".into(),
        sub: "u".into(),
        req: "r1".into(),
        cred: "c".into(),
        rp: "bank".into(),
        doc: shown.doc.sha256.clone(),
        sum: b64::encode(shown.hash()),
        summary: swapped,
        rv: RENDER_VERSION.into(),
        chal: b64::encode([1u8; 32]),
        iat: wysiwys_tests::system_now_s(),
        exp: wysiwys_tests::system_now_s() + 300,
    };
    let token = jws::sign(&channel, CHALLENGE_TYP, "k", &claims).unwrap();
    let (sads_tx, mut sads) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
        let say = |m: ServerMessage| Message::text(serde_json::to_string(&m).unwrap());
        ws.send(say(ServerMessage::Hello { nonce: b64::encode([0u8; 32]), server_time: 0 })).await.unwrap();
        ws.next().await;
        ws.send(say(ServerMessage::Authenticated { device_id: "dev-fake".into() })).await.unwrap();
        ws.send(say(ServerMessage::SignRequest { token })).await.unwrap();
        while let Some(Ok(Message::Text(text))) = ws.next().await {
            if let Ok(DeviceMessage::Sad { .. }) = serde_json::from_str(&text) {
                let _ = sads_tx.send(());
            }
        }
    });
    // Run without blocking this runtime: the fake server lives on it.
    let (code, events) = device.spawn(&["approve", "--once", "--timeout", "20"]).finish().await;
    assert_eq!(code, 4, "{events:?}");
    let warning = events.iter().find(|e| e["event"] == "attack_warning").expect("a warning");
    assert_eq!(warning["error"], "SUMMARY_MISMATCH");
    assert!(sads.try_recv().is_err(), "no SAD was sent");
}

#[tokio::test]
async fn receipts_accounts_pairing_by_hand_and_unpairing() {
    let f = Fixture::new(Db::Sqlite).await;
    // A second pairing of the same installation, the code typed by hand.
    f.browser.step_up(&f.server, &f.creds).await.expect("step-up");
    let code = f.browser.pairing_code().await.unwrap();
    let (exit, events) =
        f.device.run(&["pair", "--server", &f.server.origin, "--code", &code.code.to_lowercase(), "--name", "typed"]);
    assert_eq!(exit, 0, "{events:?}");
    let typed = events[0]["device_id"].as_str().unwrap().to_owned();
    let uri: wysiwys_proto::pairing::PairingUri = code.uri.parse().unwrap();
    assert_eq!(
        events[0]["server_key"],
        uri.channel_key_thumbprint.as_str(),
        "the fingerprint to compare with the page"
    );
    let (_, accounts) = f.device.run(&["accounts"]);
    assert_eq!(accounts.len(), 2, "{accounts:?}");
    let (exit, _) = f.device.run(&["approve", "--once", "--timeout", "1"]);
    assert_eq!(exit, 1, "with two accounts the app asks which one");

    // The second device waits until the first approves it, as a person does
    // with `approve --pairing` (or in `listen`).
    assert_eq!(events[0]["status"], "awaiting_approval", "{events:?}");
    let mut approval = f.device.spawn(&["approve", "--pairing", "--once", "--device", &f.device_id]);
    let shown = approval.wait_for("pairing_request").await;
    assert_eq!((shown["pairing_id"].as_str(), shown["name"].as_str()), (Some(typed.as_str()), Some("typed")));
    assert_eq!(shown["address"], "127.0.0.1", "where the pairing came from");
    let (exit, events) = approval.finish().await;
    assert_eq!(exit, 0, "{events:?}");
    let ack = events.iter().find(|e| e["event"] == "pairing_ack").expect("a pairing ack");
    assert_eq!(ack["outcome"]["status"], "approved");

    for device in [&f.device_id, &typed] {
        let r = f.browser.upload_letter(LETTER).await.unwrap();
        let mut answer = f.device.spawn(&["approve", "--once", "--device", device]);
        answer.wait_for("request").await;
        let (exit, events) = answer.finish().await;
        assert_eq!(exit, 0, "{events:?}");
        assert_eq!(f.browser.confirm_as_displayed(&r.id).await.unwrap().state, RequestState::Signed);
    }
    let (exit, events) = f.device.run(&["receipts", "--verify"]);
    assert_eq!((exit, events[0]["count"].as_u64()), (0, Some(2)), "{events:?}");
    let (_, receipts) = f.device.run(&["receipts"]);
    assert_eq!(receipts[1]["prev"], receipts[0]["hash"]);
    assert_eq!(receipts[0]["ack"]["status"], "accepted");

    let file = f.device.home.path().join("receipts.jsonl");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replacen("\"approve\"", "\"reject\"", 1)).unwrap();
    let (exit, events) = f.device.run(&["receipts", "--verify"]);
    assert_eq!(exit, 1);
    assert!(events[0]["message"].as_str().unwrap().contains("altered"), "{events:?}");

    let (exit, _) = f.device.run(&["unpair", "--device", &typed]);
    assert_eq!(exit, 0);
    let (_, accounts) = f.device.run(&["accounts"]);
    assert_eq!(accounts.len(), 1);
}

#[tokio::test]
async fn over_tls_the_app_trusts_a_private_ca_only_when_told() {
    let f = Fixture::new(Db::Sqlite).await;
    let tls = wysiwys_tests::tls::TlsFront::bind().await;
    let front = tls.origin.clone();
    let ca_file = f.server.dir.path().join("private-ca.pem");
    std::fs::write(&ca_file, &tls.ca_pem).unwrap();
    tls.forward_to(&f.server.origin);

    // Without the CA the certificate is not trusted: the app never connects.
    let (code, events) = f.device.spawn(&["--connect", &front, "approve", "--once", "--timeout", "3"]).finish().await;
    assert_eq!(code, 5, "{events:?}");
    assert!(events.iter().any(|e| e["event"] == "disconnected"), "{events:?}");
    assert!(!events.iter().any(|e| e["event"] == "connected"), "{events:?}");

    let ca = ca_file.display().to_string();
    let policy = f.server.dir.path().join("policy.json");
    std::fs::write(&policy, r#"{"rules":[{"title_contains":"Lund","action":"approve"}],"otherwise":"reject"}"#)
        .unwrap();
    let mut app = f.device.spawn(&[
        "--connect",
        &front,
        "--ca-file",
        &ca,
        "auto",
        "--policy",
        &policy.display().to_string(),
        "--count",
        "1",
    ]);
    app.wait_for("connected").await;
    let r = f.browser.upload_letter(LETTER).await.unwrap();
    let (code, events) = app.finish().await;
    assert_eq!(code, 0, "{events:?}");
    let ack = events.iter().find(|e| e["event"] == "ack").expect("an answer");
    assert_eq!(ack["decision"], "approve");
    assert_eq!(f.browser.confirm_as_displayed(&r.id).await.unwrap().state, RequestState::Signed);
}
