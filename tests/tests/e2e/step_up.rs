//! Step-up: a session alone (what a stolen cookie or a script in the page
//! has) cannot change the user's devices; a fresh password and code allow
//! exactly one change within five minutes.

use crate::fixture::Fixture;
use wysiwys_proto::ErrorCode;
use wysiwys_tests::browser::totp_code;
use wysiwys_tests::{ConfirmApp, Db};

#[tokio::test]
async fn a_session_without_step_up_cannot_pair_or_revoke() {
    // The fixture's pairing used the log-in's one change.
    let f = Fixture::new(Db::Sqlite).await;
    let err = f.browser.pairing_code().await.unwrap_err();
    assert_eq!((err.status, err.code()), (403, ErrorCode::StepUpRequired));
    let err = f.browser.revoke(&f.device_id).await.unwrap_err();
    assert_eq!((err.status, err.code()), (403, ErrorCode::StepUpRequired));
    let devices = f.browser.devices().await.unwrap();
    assert_eq!(devices.len(), 1);
    assert!(!devices[0].revoked, "the refused revocation changed nothing");

    // One step-up, one change: the pairing code, then the revocation is refused again.
    f.browser.step_up(&f.server, &f.creds).await.expect("step-up");
    let code = f.browser.pairing_code().await.expect("a code after step-up");
    assert_eq!(f.browser.revoke(&f.device_id).await.unwrap_err().code(), ErrorCode::StepUpRequired);
    ConfirmApp::new().pair(&code.uri, None).expect("the code pairs (awaiting approval)");
    assert_eq!(f.browser.devices().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_step_up_expires_after_five_minutes() {
    let f = Fixture::new(Db::Sqlite).await;
    let before_ms = f.server.now_s() * 1000;
    let granted = f.browser.step_up(&f.server, &f.creds).await.expect("step-up");
    let after_ms = (f.server.now_s() + 1) * 1000;
    let window = 5 * 60 * 1000;
    assert!((before_ms + window..=after_ms + window).contains(&granted.elevated_until), "{granted:?}");
    f.server.advance_clock(5 * 60 + 1).await;
    assert_eq!(f.browser.revoke(&f.device_id).await.unwrap_err().code(), ErrorCode::StepUpRequired);
}

#[tokio::test]
async fn a_step_up_needs_the_password_a_fresh_code_and_the_csrf_token() {
    let mut f = Fixture::new(Db::Sqlite).await;
    // Codes by the log-in's time step, not the clock's: the step may have
    // turned since.
    let next_code = totp_code(&f.creds.totp_secret, f.logged_in_at_s + 30);
    let err = f.browser.step_up_with("not the password", &next_code).await.unwrap_err();
    assert_eq!((err.status, err.code()), (401, ErrorCode::LoginFailed));
    // The code of the log-in was used already.
    let login_code = totp_code(&f.creds.totp_secret, f.logged_in_at_s);
    let err = f.browser.step_up_with(&f.creds.password, &login_code).await.unwrap_err();
    assert_eq!((err.status, err.code()), (401, ErrorCode::TotpReplayed));
    let err = f.browser.step_up_with(&f.creds.password, "000000x").await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::TotpInvalid);
    // A forged form from another site has no CSRF token.
    let real = f.browser.csrf.take();
    let err = f.browser.step_up_with(&f.creds.password, &next_code).await.unwrap_err();
    assert_eq!((err.status, err.code()), (403, ErrorCode::CsrfInvalid));
    f.browser.csrf = real;
    assert_eq!(f.browser.pairing_code().await.unwrap_err().code(), ErrorCode::StepUpRequired, "no failure elevated");
    // Three failures so far; two more lock the account, as at log-in.
    for _ in 0..2 {
        let err = f.browser.step_up_with("still wrong", &next_code).await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::LoginFailed);
    }
    let err = f.browser.step_up_with(&f.creds.password, &next_code).await.unwrap_err();
    assert_eq!((err.status, err.code()), (429, ErrorCode::RateLimited), "the account is locked");
}

#[tokio::test]
async fn two_changes_racing_on_one_step_up_make_one_change() {
    let f = Fixture::new(Db::Postgres).await;
    f.browser.step_up(&f.server, &f.creds).await.expect("step-up");
    let (a, b, c) = tokio::join!(f.browser.pairing_code(), f.browser.pairing_code(), f.browser.revoke(&f.device_id));
    let outcomes = [a.map(|_| ()), b.map(|_| ()), c];
    let won = outcomes.iter().filter(|o| o.is_ok()).count();
    assert_eq!(won, 1, "{outcomes:?}");
    for lost in outcomes.iter().filter_map(|o| o.as_ref().err()) {
        assert_eq!(lost.code(), ErrorCode::StepUpRequired);
    }
}
