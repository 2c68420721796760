//! The attack lab against real servers: every scenario of the catalogue in a
//! test of its own (a fresh server each), and the `wysiwys-attack` binary
//! against a freshly started demo server on PostgreSQL, as a tester runs it.

use secrecy::SecretString;
use std::process::Command;
use wysiwys_tests::attack::{self, Lab, Verdict};
use wysiwys_tests::{Db, TestServer, workspace_bin};

/// A server with the operator API enabled, and the token file for it.
async fn server_for_the_lab(db: Db, command: &'static str) -> (TestServer, tempfile::TempDir, String) {
    server_for_the_lab_with(db, command, &[]).await
}

async fn server_for_the_lab_with(
    db: Db,
    command: &'static str,
    extra: &[&str],
) -> (TestServer, tempfile::TempDir, String) {
    let secrets = tempfile::tempdir().unwrap();
    let token = wysiwys_proto::b64::encode(wysiwys_tests::attack::lab::rand_bytes::<32>());
    let token_file = secrets.path().join("admin-token");
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    let mut args = vec!["--admin-token-file", token_file.to_str().unwrap()];
    args.extend_from_slice(extra);
    let server = TestServer::start_command(db, command, &args).await;
    (server, secrets, token)
}

async fn play(name: &str) {
    let scenario = attack::find(name).unwrap_or_else(|| panic!("no scenario {name}"));
    let (server, _secrets, token) = server_for_the_lab(Db::Sqlite, "serve").await;
    let lab = Lab::new(&server.origin, SecretString::from(token));
    let report = attack::run(&lab, scenario).await;
    assert_eq!(report.verdict, Verdict::Pass, "{report:#?}\nserver log:\n{}", server.log());
    assert!(!report.signature_produced);
    let made = server.hsm_user_signatures().await;
    assert!(legitimate_signatures(name).contains(&made), "{name}: {made} HSM signatures");
    if let Some(most) = channel_signatures_at_most(name) {
        let pushes = server.hsm_channel_signatures().await;
        assert!(pushes <= most, "{name}: {pushes} channel-key signatures, at most {most} expected");
    }
}

/// Scenarios whose attack would cost channel-key signatures (pushes) if
/// the server signed them per connection: one request, one device, one push.
fn channel_signatures_at_most(name: &str) -> Option<u64> {
    match name {
        "device-reconnect-loop" => Some(1),
        _ => None,
    }
}

/// Scenarios that first have a request signed legitimately, so that the
/// attack can try for a second signature, or whose attack must leave the
/// genuine answer to sign (a replay, the loser of a race).
fn legitimate_signatures(name: &str) -> std::ops::RangeInclusive<u64> {
    match name {
        "sad-replay-same-request"
        | "sad-replay-other-request"
        | "sad-race"
        | "double-signature"
        | "cross-user-signature"
        | "pdf-signature-attacks"
        | "csc-sad-replay" => 1..=1,
        _ => 0..=0,
    }
}

macro_rules! every_scenario {
    ($($test:ident => $name:literal,)+) => {
        $(#[tokio::test]
        async fn $test() {
            play($name).await;
        })+

        #[test]
        fn the_catalogue_has_a_test_for_each_scenario_and_nothing_else() {
            let tested: Vec<&str> = vec![$($name),+];
            let catalogue: Vec<&str> = attack::catalogue().iter().map(|s| s.name).collect();
            assert_eq!(tested, catalogue);
            assert!(catalogue.len() >= 25);
        }
    };
}

every_scenario! {
    mitb_document_swap => "mitb-document-swap",
    mitb_summary_swap => "mitb-summary-swap",
    mitb_hash_of_other_request => "mitb-hash-of-other-request",
    sad_replay_same_request => "sad-replay-same-request",
    sad_replay_other_request => "sad-replay-other-request",
    sad_modified_claim => "sad-modified-claim",
    sad_other_device => "sad-other-device",
    sad_revoked_device => "sad-revoked-device",
    sad_alg_none => "sad-alg-none",
    sad_malformed => "sad-malformed",
    sad_after_expiry => "sad-after-expiry",
    sad_race => "sad-race",
    double_signature => "double-signature",
    channels_disagree => "channels-disagree",
    device_reconnect_loop => "device-reconnect-loop",
    forged_push => "forged-push",
    device_auth_replay => "device-auth-replay",
    push_bombing_rate_limit => "push-bombing-rate-limit",
    push_bombing_not_me => "push-bombing-not-me",
    totp_replay => "totp-replay",
    totp_brute_force => "totp-brute-force",
    session_fixation => "session-fixation",
    session_replay_after_logout => "session-replay-after-logout",
    csrf_web_confirmation => "csrf-web-confirmation",
    pairing_code_reuse => "pairing-code-reuse",
    pairing_without_step_up => "pairing-without-step-up",
    mitb_pairs_first_device => "mitb-pairs-first-device",
    mitb_pairs_beside_real_device => "mitb-pairs-beside-real-device",
    forged_pairing_approval => "forged-pairing-approval",
    replayed_pairing_approval => "replayed-pairing-approval",
    stolen_session_revokes_device => "stolen-session-revokes-device",
    step_up_recorded_code => "step-up-recorded-code",
    cross_user_request => "cross-user-request",
    cross_user_signature => "cross-user-signature",
    rp_foreign_request => "rp-foreign-request",
    rp_forged_api_key => "rp-forged-api-key",
    rp_media_type_not_allowed => "rp-media-type-not-allowed",
    rp_look_alike_name => "rp-look-alike-name",
    csc_hash_not_confirmed => "csc-hash-not-confirmed",
    csc_sad_replay => "csc-sad-replay",
    csc_sad_other_credential => "csc-sad-other-credential",
    csc_foreign_credential => "csc-foreign-credential",
    csc_web_confirmation_alone => "csc-web-confirmation-alone",
    pdf_stamp_abuse => "pdf-stamp-abuse",
    csc_signdoc_unsafe_pdf => "csc-signdoc-unsafe-pdf",
    csc_oauth_stolen_code => "csc-oauth-stolen-code",
    csc_oauth_page_alone => "csc-oauth-page-alone",
    csc_oauth_redirect_hijack => "csc-oauth-redirect-hijack",
    tsa_oracle_flood => "tsa-oracle-flood",
    ocsp_oracle_flood => "ocsp-oracle-flood",
    readiness_probe_flood => "readiness-probe-flood",
    unsafe_document_bidi => "unsafe-document-bidi",
    unsafe_document_zero_width => "unsafe-document-zero-width",
    invisible_characters => "invisible-characters",
    mixed_script_payee => "mixed-script-payee",
    pdf_active_content => "pdf-active-content",
    pdf_signature_attacks => "pdf-signature-attacks",
    pdf_shadow => "pdf-shadow",
    oversized_document => "oversized-document",
    oversized_json => "oversized-json",
    malformed_input => "malformed-input",
    pairing_code_brute_force => "pairing-code-brute-force",
    spoofed_forwarded_address => "spoofed-forwarded-address",
    password_spraying => "password-spraying",
}

#[tokio::test]
async fn after_a_guessing_scenario_emptied_the_address_limit_the_others_still_judge_what_they_test() {
    // One log-in token a second, so the wait is short.
    let (server, _secrets, token) =
        server_for_the_lab_with(Db::Sqlite, "serve", &["--login-rate-per-minute", "60"]).await;
    let lab = Lab::new(&server.origin, SecretString::from(token));
    let after_spraying =
        ["totp-brute-force", "totp-replay", "session-fixation", "session-replay-after-logout", "password-spraying"];
    for name in std::iter::once("password-spraying").chain(after_spraying) {
        let report = attack::run(&lab, attack::find(name).unwrap()).await;
        assert_eq!(report.verdict, Verdict::Pass, "{report:#?}");
    }
}

fn attack_command(args: &[&str]) -> std::process::Output {
    Command::new(workspace_bin("wysiwys-attack")).args(args).output().expect("run wysiwys-attack")
}

#[tokio::test]
async fn the_binary_plays_the_whole_catalogue_against_a_fresh_demo_server() {
    let (server, secrets, _) = server_for_the_lab(Db::Postgres, "demo").await;
    let token_file = secrets.path().join("admin-token");
    let out = tokio::task::spawn_blocking(move || {
        attack_command(&[
            "run",
            "--server",
            &server.origin,
            "--admin-token-file",
            token_file.to_str().unwrap(),
            "--json",
        ])
    })
    .await
    .unwrap();
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    let scenarios = report["scenarios"].as_array().unwrap();
    assert_eq!(scenarios.len(), attack::catalogue().len());
    let failed: Vec<_> = scenarios.iter().filter(|s| s["verdict"] != "PASS").collect();
    assert!(failed.is_empty(), "{failed:#?}");
    for s in scenarios {
        assert_eq!(s["signature_produced"], false, "{s}");
        assert!(s["expected"].as_array().unwrap().contains(&s["observed"]), "{s}");
    }
    assert_eq!((report["passed"].as_u64(), report["failed"].as_u64()), (Some(scenarios.len() as u64), Some(0)));
    assert_eq!(out.status.code(), Some(0));
}

#[tokio::test]
async fn the_binary_attacks_a_deployment_behind_tls_with_a_private_ca() {
    let front = wysiwys_tests::tls::TlsFront::bind().await;
    let (server, secrets, _) = server_for_the_lab_with(Db::Sqlite, "serve", &["--public-origin", &front.origin]).await;
    let ca_file = secrets.path().join("private-ca.pem");
    std::fs::write(&ca_file, &front.ca_pem).unwrap();
    let origin = front.origin.clone();
    front.forward_to(&format!("http://{}", server.address));
    let token_file = secrets.path().join("admin-token").to_str().unwrap().to_owned();
    let ca_file = ca_file.to_str().unwrap().to_owned();
    // Every kind of connection: browser API and forms, relying party, pairing, device socket.
    let scenarios = ["sad-replay-same-request", "device-auth-replay", "session-fixation", "rp-forged-api-key"];
    let (trusting, untrusting) = tokio::task::spawn_blocking(move || {
        let mut args = vec!["run", "--server", &origin, "--admin-token-file", &token_file, "--ca-file", &ca_file];
        for s in &scenarios {
            args.extend(["--scenario", s]);
        }
        let trusting = attack_command(&args);
        let untrusting = attack_command(&[
            "run",
            "--server",
            &origin,
            "--admin-token-file",
            &token_file,
            "--scenario",
            "sad-replay-same-request",
        ]);
        (trusting, untrusting)
    })
    .await
    .unwrap();
    let text = String::from_utf8(trusting.stdout).unwrap();
    assert_eq!(trusting.status.code(), Some(0), "{text}");
    assert!(text.contains("4 passed, 0 failed"), "{text}");
    // Without the CA the lab cannot even reach the server: a failure, never a pass.
    let text = String::from_utf8(untrusting.stdout).unwrap();
    assert_eq!(untrusting.status.code(), Some(1), "{text}");
    assert!(text.lines().any(|l| l.starts_with("FAIL") && l.contains("ERROR")), "{text}");
}

#[tokio::test]
async fn the_binary_lists_reports_a_table_and_fails_when_a_scenario_fails() {
    let listed = attack_command(&["list", "--json"]);
    assert!(listed.status.success());
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(rows.len(), attack::catalogue().len());
    for row in &rows {
        assert!(row["description"].as_str().is_some_and(|d| !d.is_empty()), "{row}");
        assert!(!row["expected"].as_array().unwrap().is_empty(), "{row}");
    }
    let table = String::from_utf8(attack_command(&["list"]).stdout).unwrap();
    assert!(table.lines().any(|l| l.starts_with("sad-replay-same-request") && l.contains("SAD_REPLAYED")), "{table}");

    let (server, secrets, _) = server_for_the_lab(Db::Sqlite, "serve").await;
    let token_file = secrets.path().join("admin-token");
    let good = token_file.to_str().unwrap().to_owned();
    let wrong = secrets.path().join("wrong-token");
    std::fs::write(&wrong, "not the operator token, but long enough to look like one\n").unwrap();
    let wrong = wrong.to_str().unwrap().to_owned();
    let origin = server.origin.clone();
    let (passing, failing, unknown) = tokio::task::spawn_blocking(move || {
        let run = |token: &str, scenario: &str| {
            attack_command(&["run", "--server", &origin, "--admin-token-file", token, "--scenario", scenario])
        };
        (run(&good, "sad-alg-none"), run(&wrong, "sad-alg-none"), run(&good, "no-such-attack"))
    })
    .await
    .unwrap();
    let text = String::from_utf8(passing.stdout).unwrap();
    assert_eq!(passing.status.code(), Some(0), "{text}");
    assert!(
        text.lines().any(|l| l.starts_with("PASS") && l.contains("sad-alg-none") && l.contains("SAD_INVALID")),
        "{text}"
    );
    assert!(text.contains("1 passed, 0 failed"), "{text}");

    // Without the right operator token nothing can be set up: every scenario fails, loudly.
    let text = String::from_utf8(failing.stdout).unwrap();
    assert_eq!(failing.status.code(), Some(1), "{text}");
    assert!(text.lines().any(|l| l.starts_with("FAIL") && l.contains("ERROR")), "{text}");
    assert!(text.contains("ADMIN_TOKEN_INVALID"), "{text}");
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no scenario"));
}
