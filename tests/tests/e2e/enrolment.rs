//! Enrolment through the real app and the real socket: the first device's
//! activation code, approvals on an existing device, notices, recovery, the
//! sign-up window and the caps.

use crate::fixture::Fixture;
use wysiwys_proto::ErrorCode;
use wysiwys_proto::admin::RecoveredUser;
use wysiwys_proto::api::{NoticeKind, PairingCodeResponse, PairingOutcome};
use wysiwys_proto::sad::Decision;
use wysiwys_tests::device::ScriptedDevice;
use wysiwys_tests::server::Credentials;
use wysiwys_tests::{Browser, ConfirmApp, Db, TestServer};

/// A step-up (with the code of a fresh time step) and a pairing code.
async fn fresh_code(server: &TestServer, browser: &Browser, creds: &Credentials) -> PairingCodeResponse {
    server.advance_clock(30).await;
    browser.step_up(server, creds).await.expect("step-up");
    browser.pairing_code().await.expect("pairing code")
}

async fn socket(app: &ConfirmApp) -> Result<ScriptedDevice, ErrorCode> {
    ScriptedDevice::connect(app.account(), app.key()).await.map_err(|e| e.error)
}

#[tokio::test]
async fn the_first_device_needs_the_activation_code_typed_into_it() {
    let server = TestServer::start(Db::Sqlite).await;
    let creds = server.create_user("ann");
    let activation = creds.activation_code.clone().expect("create-user prints an activation code");
    assert_eq!(activation.len(), 17, "{activation}");
    let mut browser = Browser::new(&server);
    browser.login(&server, &creds).await.unwrap();

    let code = browser.pairing_code().await.unwrap();
    let err = ConfirmApp::new().pair(&code.uri, None).unwrap_err();
    assert!(err.contains("ACTIVATION_REQUIRED"), "{err}");
    // Not a guess: the pairing code is still good. A wrong activation code is
    // a guess, and it costs the pairing code.
    let err = ConfirmApp::new().pair(&code.uri, Some("ABCDE-FGHJK-MNPQR")).unwrap_err();
    assert!(err.contains("ACTIVATION_CODE_INVALID"), "{err}");
    let err = ConfirmApp::new().pair(&code.uri, Some(&activation)).unwrap_err();
    assert!(err.contains("PAIRING_CODE_INVALID"), "{err}");
    assert!(browser.devices().await.unwrap().is_empty());

    let code = fresh_code(&server, &browser, &creds).await;
    let device = ConfirmApp::new();
    let paired = device.pair_event(&code.uri, Some(&activation.to_lowercase().replace('-', " "))).unwrap();
    assert_eq!(paired["status"], "active", "typed as it comes, case and spaces forgiven");
    let devices = browser.devices().await.unwrap();
    assert_eq!((devices.len(), devices[0].enrolment.as_str()), (1, "activation_code"));
    assert!(socket(&device).await.is_ok());

    // The code was used up: after the device is revoked, it pairs nothing.
    server.advance_clock(30).await;
    browser.step_up(&server, &creds).await.unwrap();
    browser.revoke(&devices[0].device_id).await.unwrap();
    let code = fresh_code(&server, &browser, &creds).await;
    let err = ConfirmApp::new().pair(&code.uri, Some(&activation)).unwrap_err();
    assert!(err.contains("ACTIVATION_CODE_INVALID"), "{err}");
}

#[tokio::test]
async fn a_new_device_waits_for_an_approval_and_the_other_devices_hear_of_it() {
    let f = Fixture::new(Db::Postgres).await;
    let mut first = socket(&f.device).await.unwrap();

    let tablet = ConfirmApp::new();
    let paired = tablet.pair_event(&fresh_code(&f.server, &f.browser, &f.creds).await.uri, None).unwrap();
    assert_eq!(paired["status"], "awaiting_approval");
    assert_eq!(socket(&tablet).await.err(), Some(ErrorCode::PairingPending), "not usable before the approval");
    let shown = first.next_pairing_request().await;
    assert_eq!(shown.claims.pairing, paired["device_id"].as_str().unwrap());
    assert_eq!(shown.claims.jkt, wysiwys_proto::Jwk::from_verifying_key(tablet.key().verifying_key()).thumbprint());
    let approval = first.pairing_answer(&shown, Decision::Approve);
    assert_eq!(first.submit_pairing(&shown.claims.pairing, &approval).await, PairingOutcome::Approved);
    assert_eq!(
        first.submit_pairing(&shown.claims.pairing, &approval).await,
        PairingOutcome::Approved,
        "a re-sent answer gets the same answer"
    );
    let mut second = socket(&tablet).await.expect("approved");
    let listed = f.browser.devices().await.unwrap();
    assert_eq!(listed[1].enrolment, "approved_by_device");

    // A third pairing is asked of both; the tablet refuses it, the first device hears.
    let stranger = ConfirmApp::new();
    stranger.pair(&fresh_code(&f.server, &f.browser, &f.creds).await.uri, None).unwrap();
    let shown = second.next_pairing_request().await;
    let shown_to_first = first.next_pairing_request().await;
    let refusal = second.pairing_answer(&shown, Decision::Reject);
    assert_eq!(second.submit_pairing(&shown.claims.pairing, &refusal).await, PairingOutcome::Rejected);
    let (notice, kind, about) = first.next_notice().await;
    assert_eq!((kind, about.as_str()), (NoticeKind::PairingRefused, shown.claims.pairing.as_str()));
    let approval = first.pairing_answer(&shown_to_first, Decision::Approve);
    let late = first.submit_pairing(&shown.claims.pairing, &approval).await;
    assert!(matches!(late, PairingOutcome::Refused { error: ErrorCode::PairingAnswerInvalid, .. }), "{late:?}");
    assert_eq!(socket(&stranger).await.err(), Some(ErrorCode::DeviceRevoked));

    // Until receipted, a notice comes again on every connection; then never.
    drop(first);
    let mut first = socket(&f.device).await.unwrap();
    let (again, _, _) = first.next_notice().await;
    assert_eq!(again, notice);
    first.send(&wysiwys_proto::api::DeviceMessage::NoticeReceipt { notice_id: notice }).await;
    // A socket's messages are handled in order: the answer to a malformed one
    // comes after the receipt was stored.
    first.send_raw("{}").await;
    assert_eq!(first.receive().await.err().map(|e| e.error), Some(ErrorCode::BadRequest));
    drop(first);
    let mut first = socket(&f.device).await.unwrap();
    f.server.advance_clock(30).await;
    f.browser.step_up(&f.server, &f.creds).await.unwrap();
    f.browser.revoke(listed[1].device_id.as_str()).await.unwrap();
    let (_, kind, about) = first.next_notice().await;
    assert_eq!(
        (kind, about.as_str()),
        (NoticeKind::DeviceRevoked, listed[1].device_id.as_str()),
        "the receipted notice is not sent again"
    );
}

#[tokio::test]
async fn recovery_revokes_every_device_and_issues_a_new_code() {
    let f = Fixture::new(Db::Sqlite).await;
    let recovered: RecoveredUser =
        serde_json::from_slice(&f.server.admin(&["recover-user", "ann", "--json"])).expect("recover-user JSON");
    assert_eq!(recovered.devices_revoked, 1);
    assert_eq!(socket(&f.device).await.err(), Some(ErrorCode::DeviceRevoked));
    let old = f.creds.activation_code.as_deref();
    let err = ConfirmApp::new().pair(&fresh_code(&f.server, &f.browser, &f.creds).await.uri, old).unwrap_err();
    assert!(err.contains("ACTIVATION_CODE_INVALID"), "the old code is gone: {err}");
    let new_phone = ConfirmApp::new();
    let code = fresh_code(&f.server, &f.browser, &f.creds).await;
    let paired = new_phone.pair_event(&code.uri, Some(&recovered.activation_code)).unwrap();
    assert_eq!(paired["status"], "active");
    assert!(socket(&new_phone).await.is_ok());
}

#[tokio::test]
async fn open_sign_up_pairs_the_first_device_only_inside_the_window() {
    let server = TestServer::start_with(Db::Sqlite, &["--first-device", "enrolment-window"]).await;
    let (early, late) = (server.create_user("early"), server.create_user("late"));
    let mut browser = Browser::new(&server);
    browser.login(&server, &early).await.unwrap();
    let code = browser.pairing_code().await.unwrap();
    let paired = ConfirmApp::new().pair_event(&code.uri, None).unwrap();
    assert_eq!(paired["status"], "active");
    assert_eq!(browser.devices().await.unwrap()[0].enrolment, "enrolment_window");

    server.advance_clock(11 * 60).await;
    let mut browser = Browser::new(&server);
    browser.login(&server, &late).await.unwrap();
    let code = browser.pairing_code().await.unwrap();
    let err = ConfirmApp::new().pair(&code.uri, None).unwrap_err();
    assert!(err.contains("ACTIVATION_REQUIRED"), "the window closed: {err}");
    let paired = ConfirmApp::new().pair_event(&code.uri, late.activation_code.as_deref()).unwrap();
    assert_eq!(paired["status"], "active", "the activation code still works");
}

#[tokio::test]
async fn open_pairing_codes_are_capped_without_using_the_step_up() {
    let f = Fixture::new(Db::Sqlite).await;
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(fresh_code(&f.server, &f.browser, &f.creds).await);
    }
    f.server.advance_clock(30).await;
    f.browser.step_up(&f.server, &f.creds).await.unwrap();
    let err = f.browser.pairing_code().await.unwrap_err();
    assert_eq!((err.status, err.code()), (409, ErrorCode::LimitReached));
    // One code used: the same step-up now makes a code; the refusal did not use it.
    ConfirmApp::new().pair(&open[0].uri, None).unwrap();
    f.browser.pairing_code().await.expect("a code with the step-up the refusal left");
}
