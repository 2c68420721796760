use super::*;
use p256::ecdsa::SigningKey;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use wysiwys_proto::challenge::{CHALLENGE_TYP, ChallengeClaims, Expectation, verify};
use wysiwys_proto::{RENDER_VERSION, b64, jws};

fn request(lines: usize) -> Box<VerifiedChallenge> {
    let key = SigningKey::from_slice(&[5u8; 32]).unwrap();
    let mut letter = String::from("Building permit 2026-1142\n");
    for i in 1..lines {
        letter.push_str(&format!("Condition {i}: the shed stays below 15 m²\n"));
    }
    let summary = wysiwys_proto::summary::render("text/plain", letter.as_bytes()).unwrap();
    let claims = ChallengeClaims {
        iss: "https://sign.example".into(),
        aud: "dev".into(),
        sub: "u".into(),
        req: format!("req-{lines}"),
        cred: "c".into(),
        rp: "Municipality of Lund".into(),
        doc: summary.doc.sha256.clone(),
        sum: b64::encode(summary.hash()),
        summary,
        rv: RENDER_VERSION.into(),
        chal: b64::encode([1u8; 32]),
        iat: 1_000,
        exp: 1_300,
    };
    let token = jws::sign(&key, CHALLENGE_TYP, "k", &claims).unwrap();
    let expect = Expectation {
        server_origin: "https://sign.example",
        device_id: "dev",
        channel_key: key.verifying_key(),
        now: 1_001,
    };
    Box::new(verify(&token, expect).unwrap())
}

fn decision_of(answer: &Answer) -> Decision {
    match answer {
        Answer::Sign { decision, .. } | Answer::Pairing { decision, .. } => *decision,
    }
}

fn app_with(request: Box<VerifiedChallenge>) -> App {
    let mut app = App::new("ann at https://sign.example".into(), 1_010);
    app.on_event(Event::Connected);
    app.on_event(Event::Push(Push::Genuine(request)));
    app
}

fn screen(app: &mut App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| draw(f, app)).unwrap();
    let buffer = terminal.backend().buffer().clone();
    (0..height)
        .map(|y| (0..width).map(|x| buffer[(x, y)].symbol().to_owned()).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_request_screen_shows_who_title_lines_and_the_big_code() {
    let mut app = app_with(request(3));
    let text = screen(&mut app, 80, 30);
    let code = match &app.screen {
        Screen::Request(s) => s.request.verification_code.clone(),
        other => panic!("{other:?}"),
    };
    assert!(text.contains("From Municipality of Lund at https://sign.example"), "{text}");
    assert!(text.contains("Building permit 2026-1142"));
    assert!(text.contains("Condition 2: the shed stays below 15 m²"));
    assert!(text.contains(&format!("Verification code {code}")));
    for row in big_digits(&code) {
        assert!(text.contains(&row), "big digit row {row:?} missing:\n{text}");
    }
    assert!(text.contains("Time left: 290 s"));
    assert!(text.contains("a Approve"), "a short summary is all shown, so Approve is on:\n{text}");
}

#[test]
fn approve_stays_off_until_the_end_of_the_summary_was_shown() {
    let mut app = app_with(request(60));
    let text = screen(&mut app, 80, 30);
    assert!(text.contains("(Approve: scroll to the end of the summary first)"), "{text}");
    assert!(app.on_key(Key::Char('a')).is_none(), "approve is refused");
    assert!(matches!(app.screen, Screen::Request(_)));
    app.on_key(Key::PageDown);
    screen(&mut app, 80, 30);
    assert!(app.on_key(Key::Char('a')).is_none(), "not at the end yet");
    app.on_key(Key::End);
    let text = screen(&mut app, 80, 30);
    assert!(text.contains("Condition 59"), "the last line is visible:\n{text}");
    assert!(text.contains("a Approve"));
    let Some(Answer::Sign { shown: sent, decision }) = app.on_key(Key::Char('a')) else { panic!("approve") };
    assert_eq!((sent.claims.req.as_str(), decision), ("req-60", Decision::Approve));
    assert!(matches!(app.screen, Screen::Sending { .. }));
}

#[test]
fn not_me_needs_a_confirmation_and_reject_does_not() {
    let mut app = app_with(request(3));
    screen(&mut app, 80, 30);
    assert!(app.on_key(Key::Char('n')).is_none());
    assert!(screen(&mut app, 80, 30).contains("Really \"not me\"?"));
    assert!(app.on_key(Key::Char('x')).is_none(), "any other key cancels");
    assert!(matches!(&app.screen, Screen::Request(s) if !s.confirming_not_me));
    app.on_key(Key::Char('n'));
    assert_eq!(app.on_key(Key::Char('y')).map(|a| decision_of(&a)), Some(Decision::NotMe));

    let mut app = app_with(request(3));
    assert_eq!(app.on_key(Key::Char('r')).map(|a| decision_of(&a)), Some(Decision::Reject));
}

#[test]
fn expired_or_disconnected_requests_cannot_be_approved() {
    let mut app = app_with(request(3));
    screen(&mut app, 80, 30);
    app.tick(1_300);
    assert_eq!(app.approve_blocked(), Some("the request has expired"));
    assert!(app.on_key(Key::Char('a')).is_none());
    app.on_key(Key::Char('d'));
    assert!(matches!(app.screen, Screen::Waiting));

    let mut app = app_with(request(3));
    screen(&mut app, 80, 30);
    app.on_event(Event::Disconnected { reason: "gone".into(), retry_in: std::time::Duration::from_secs(1) });
    assert!(app.on_key(Key::Char('a')).is_none());
    assert!(screen(&mut app, 80, 30).contains("disconnected: gone"));
}

#[test]
fn a_forged_push_is_a_warning_that_can_only_be_dismissed() {
    let mut app = App::new("ann".into(), 0);
    app.on_event(Event::Connected);
    app.on_event(Event::Push(Push::Forged { code: ErrorCode::SadInvalid, reason: "signature does not verify".into() }));
    app.on_event(Event::Push(Push::Genuine(request(3))));
    let text = screen(&mut app, 80, 24);
    assert!(text.contains("ATTACK WARNING") && text.contains("signature does not verify"), "{text}");
    for key in ['a', 'r', 'y'] {
        assert!(app.on_key(Key::Char(key)).is_none(), "{key} does nothing on a warning");
    }
    app.on_key(Key::Char('d'));
    assert!(matches!(app.screen, Screen::Request(_)), "the next request follows");
}

#[test]
fn repeated_pushes_after_a_reconnect_are_shown_once() {
    let mut app = app_with(request(3));
    app.on_event(Event::Push(Push::Genuine(request(3))));
    app.on_event(Event::Push(Push::Genuine(request(4))));
    app.on_event(Event::Push(Push::Genuine(request(4))));
    assert_eq!(app.queue.len(), 1);
}

#[test]
fn tiny_and_resized_terminals_do_not_panic() {
    let mut app = app_with(request(60));
    for (w, h) in [(1, 1), (10, 3), (39, 40), (200, 15), (40, 16), (200, 60)] {
        let text = screen(&mut app, w, h);
        if w < MIN_WIDTH || h < MIN_HEIGHT {
            assert!(text.contains("Terminal") || w < 12, "{w}x{h}:\n{text}");
        }
    }
}

fn pairing_request(now: i64) -> Box<VerifiedPairingRequest> {
    use wysiwys_proto::pairing_approval::{self, PAIRING_REQUEST_TYP, PairingRequestClaims};
    let key = SigningKey::from_slice(&[5u8; 32]).unwrap();
    let claims = PairingRequestClaims {
        iss: "https://sign.example".into(),
        aud: "dev".into(),
        sub: "u".into(),
        pairing: "dev-new".into(),
        name: "Tablet".into(),
        jkt: "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs".into(),
        addr: "203.0.113.9".into(),
        chal: b64::encode([2u8; 32]),
        iat: 1_000,
        exp: 1_600,
    };
    let token = jws::sign(&key, PAIRING_REQUEST_TYP, "k", &claims).unwrap();
    let expect = pairing_approval::Expectation {
        server_origin: "https://sign.example",
        device_id: "dev",
        channel_key: key.verifying_key(),
        now,
    };
    Box::new(pairing_approval::verify_request(&token, expect).unwrap())
}

#[test]
fn a_pairing_request_shows_name_key_time_and_address_and_asks_before_not_me() {
    let mut app = App::new("ann at https://sign.example".into(), 1_010);
    app.on_event(Event::Connected);
    app.on_event(Event::Push(Push::Pairing(pairing_request(1_010))));
    app.on_event(Event::Push(Push::Pairing(pairing_request(1_010))));
    assert!(app.queue.is_empty(), "a pairing pushed again after a reconnect is shown once");
    let text = screen(&mut app, 100, 30);
    for shown in [
        "A NEW DEVICE WANTS TO JOIN",
        "Tablet",
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
        "203.0.113.9",
        "Time left:  590 s",
        "a Approve new device",
    ] {
        assert!(text.contains(shown), "{shown:?} missing:\n{text}");
    }
    assert!(app.on_key(Key::Char('n')).is_none());
    assert!(screen(&mut app, 100, 30).contains("locks pairing and signing"));
    let Some(Answer::Pairing { shown, decision }) = app.on_key(Key::Char('y')) else { panic!("not me sent") };
    assert_eq!((shown.claims.pairing.as_str(), decision), ("dev-new", Decision::NotMe));
    app.on_event(Event::PairingAnswered {
        pairing_id: "dev-new".into(),
        decision: Decision::NotMe,
        outcome: Some(wysiwys_proto::api::PairingOutcome::Locked),
    });
    assert!(matches!(app.screen, Screen::Waiting));
    assert!(app.last_outcome.as_deref().is_some_and(|o| o.contains("locked")), "{:?}", app.last_outcome);

    // Expired: it can only be dismissed, never approved.
    app.on_event(Event::Push(Push::Pairing(pairing_request(1_010))));
    app.tick(1_600);
    assert!(app.on_key(Key::Char('a')).is_none());
    app.on_key(Key::Char('d'));
    assert!(matches!(app.screen, Screen::Waiting));
}

#[test]
fn notices_are_shown_on_the_waiting_screen() {
    let mut app = App::new("ann at https://sign.example".into(), 1_010);
    app.on_event(Event::Notice {
        kind: wysiwys_proto::api::NoticeKind::DeviceApproved,
        device_id: "d2".into(),
        device_name: "Tablet".into(),
        at: 1_000_000,
    });
    let text = screen(&mut app, 100, 20);
    assert!(text.contains("Device “Tablet” joined your account with an approval"), "{text}");
}
