//! Every way of breaking the agreement between the channels is refused with
//! its code, ends the request, and never reaches the HSM; once a request
//! has its device answer, later answers leave it as it is.

use crate::fixture::{Fixture, LETTER};
use p256::ecdsa::SigningKey;
use p256::elliptic_curve::Generate;
use wysiwys_proto::ErrorCode;
use wysiwys_proto::api::{AckOutcome, RequestState};
use wysiwys_proto::sad::Decision;
use wysiwys_tests::device::refused_code;
use wysiwys_tests::{Db, ScriptedDevice, sha256_b64};

/// The request ended with `code`, has no signature, and the HSM never signed.
async fn assert_refused_unsigned(f: &Fixture, id: &str, code: ErrorCode, hsm_before: u64) {
    let view = f.browser.request(id).await.expect("status");
    assert_eq!(view.state, RequestState::Failed, "{view:?}");
    assert_eq!(view.error.as_ref().map(|e| e.error), Some(code), "{view:?}");
    assert!(view.signed_at.is_none());
    let signature = f.browser.signature(id).await.expect_err("no signature may exist");
    assert_eq!(signature.code(), ErrorCode::RequestNotPending);
    assert_eq!(f.server.hsm_user_signatures().await, hsm_before, "the HSM must not have signed");
    let events = f.browser.events(id).await.expect("audit trail");
    let refused = events.iter().find(|e| e.event == "refused").unwrap_or_else(|| panic!("no audit entry: {events:?}"));
    assert_eq!(refused.code, Some(code));
    assert!(!events.iter().any(|e| e.event == "signing" || e.event == "signed"), "{events:?}");
}

/// Lets the real app approve the next request, and waits until it has.
async fn device_approves(f: &Fixture, id: &str) {
    let mut answer = f.device.answer("approve");
    let shown = answer.wait_for("request").await;
    assert_eq!(shown["request_id"], id);
    let (code, events) = answer.finish().await;
    assert_eq!(code, 0, "{events:?}");
}

async fn scripted(f: &Fixture) -> ScriptedDevice {
    ScriptedDevice::connect(f.device.account(), f.device.key()).await.expect("device authenticates")
}

async fn web_document_hash_differs(db: Db) {
    let f = Fixture::new(db).await;
    let before = f.server.hsm_user_signatures().await;
    let r = f.browser.upload_letter(LETTER).await.unwrap();
    device_approves(&f, &r.id).await;
    // Man in the browser: the page hashes a letter other than the one stored.
    let swapped = LETTER.replace("approved", "refused");
    let summary = f.browser.bytes(&format!("/api/requests/{}/summary", r.id)).await.unwrap();
    let err = f.browser.confirm(&r.id, &sha256_b64(swapped.as_bytes()), &sha256_b64(&summary)).await.unwrap_err();
    assert_eq!((err.status, err.code()), (422, ErrorCode::HashMismatch));
    assert_refused_unsigned(&f, &r.id, ErrorCode::HashMismatch, before).await;
}

async fn web_summary_hash_differs(db: Db) {
    let f = Fixture::new(db).await;
    let before = f.server.hsm_user_signatures().await;
    let r = f.browser.upload_letter(LETTER).await.unwrap();
    let mut device = scripted(&f).await;
    let shown = device.next_push().await;
    let err = f.browser.confirm(&r.id, &r.doc_hash, &sha256_b64(b"{\"v\":\"summary/1\"}")).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::SummaryMismatch);
    // The device's approval arriving afterwards cannot revive the request.
    let sad = device.sad(&shown, Decision::Approve);
    assert_eq!(refused_code(&device.submit(&r.id, &sad).await), Some(ErrorCode::RequestNotPending));
    assert_refused_unsigned(&f, &r.id, ErrorCode::SummaryMismatch, before).await;
}

async fn sad_for_another_request(db: Db) {
    let f = Fixture::new(db).await;
    let before = f.server.hsm_user_signatures().await;
    let first = f.browser.upload_letter(LETTER).await.unwrap();
    let second = f.browser.upload_letter("A second letter\n").await.unwrap();
    f.browser.confirm_as_displayed(&second.id).await.unwrap();
    let mut device = scripted(&f).await;
    let push = device.next_push().await;
    assert_eq!(push.claims.req, first.id);
    let sad_for_first = device.sad(&push, Decision::Approve);
    let outcome = device.submit(&second.id, &sad_for_first).await;
    assert_eq!(refused_code(&outcome), Some(ErrorCode::SadWrongRequest));
    assert_refused_unsigned(&f, &second.id, ErrorCode::SadWrongRequest, before).await;
}

async fn a_second_answer_leaves_the_first_standing(db: Db) {
    let f = Fixture::new(db).await;
    let before = f.server.hsm_user_signatures().await;
    let r = f.browser.upload_letter(LETTER).await.unwrap();
    let mut device = scripted(&f).await;
    let push = device.next_push().await;
    let sad = device.sad(&push, Decision::Approve);
    let first = device.submit(&r.id, &sad).await;
    assert!(matches!(first, AckOutcome::Accepted { state: RequestState::Pending }), "{first:?}");
    // The ack was lost and the device sends the same bytes again.
    assert_eq!(device.submit(&r.id, &sad).await, first);
    // Another answer (here a change of mind) does not undo the recorded one.
    let reject = device.sad(&push, Decision::Reject);
    assert_eq!(refused_code(&device.submit(&r.id, &reject).await), Some(ErrorCode::SadReplayed));
    let events = f.browser.events(&r.id).await.unwrap();
    assert!(
        events.iter().any(|e| e.event == "attempt_refused" && e.code == Some(ErrorCode::SadReplayed)),
        "{events:?}"
    );
    assert_eq!(f.browser.request(&r.id).await.unwrap().state, RequestState::Pending);
    assert_eq!(f.browser.confirm_as_displayed(&r.id).await.unwrap().state, RequestState::Signed);
    assert_eq!(f.server.hsm_user_signatures().await, before + 1, "signed once, with the first answer");
}

async fn a_late_not_me_is_heard(db: Db) {
    let f = Fixture::new(db).await;
    let before = f.server.hsm_user_signatures().await;
    let r = f.browser.upload_letter(LETTER).await.unwrap();
    let other = f.browser.upload_letter(LETTER).await.unwrap();
    let mut device = scripted(&f).await;
    let push = device.next_push().await;
    assert_eq!(push.claims.req, r.id);
    let sad = device.sad(&push, Decision::Approve);
    device.submit(&r.id, &sad).await;
    // The person sees a second prompt and realises someone else is at work.
    let not_me = device.sad(&push, Decision::NotMe);
    let outcome = device.submit(&r.id, &not_me).await;
    assert!(matches!(outcome, AckOutcome::Accepted { state: RequestState::Failed }), "{outcome:?}");
    for id in [&r.id, &other.id] {
        let view = f.browser.request(id).await.unwrap();
        assert_eq!(view.error.map(|e| e.error), Some(ErrorCode::AccountLockedNotMe), "{id}");
    }
    let events = f.browser.events(&r.id).await.unwrap();
    assert!(events.iter().any(|e| e.event == "late_not_me"), "{events:?}");
    let err = f.browser.upload_letter(LETTER).await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::AccountLockedNotMe);
    assert_eq!(f.server.hsm_user_signatures().await, before);
}

async fn challenge_expired_before_the_web_confirmed(db: Db) {
    let f = Fixture::new(db).await;
    let before = f.server.hsm_user_signatures().await;
    let r = f.browser.upload_letter(LETTER).await.unwrap();
    device_approves(&f, &r.id).await;
    f.server.advance_clock(301).await;
    let err = f.browser.confirm_as_displayed(&r.id).await.unwrap_err();
    assert_eq!((err.status, err.code()), (410, ErrorCode::ChallengeExpired));
    assert_refused_unsigned(&f, &r.id, ErrorCode::ChallengeExpired, before).await;
}

async fn challenge_expired_before_the_device_answered(db: Db) {
    let f = Fixture::new(db).await;
    let before = f.server.hsm_user_signatures().await;
    let r = f.browser.upload_letter(LETTER).await.unwrap();
    f.browser.confirm_as_displayed(&r.id).await.unwrap();
    let mut device = scripted(&f).await;
    let push = device.next_push().await;
    let sad = device.sad(&push, Decision::Approve);
    f.server.advance_clock(301).await;
    assert_eq!(refused_code(&device.submit(&r.id, &sad).await), Some(ErrorCode::ChallengeExpired));
    assert_refused_unsigned(&f, &r.id, ErrorCode::ChallengeExpired, before).await;
}

async fn device_rejects(db: Db) {
    let f = Fixture::new(db).await;
    let before = f.server.hsm_user_signatures().await;
    let r = f.browser.upload_letter(LETTER).await.unwrap();
    f.browser.confirm_as_displayed(&r.id).await.unwrap();
    let mut answer = f.device.answer("reject");
    answer.wait_for("request").await;
    let (code, events) = answer.finish().await;
    assert_eq!(code, 0, "{events:?}");
    let ack = events.iter().find(|e| e["event"] == "ack").expect("ack");
    assert_eq!(ack["outcome"]["state"], "failed");
    assert_refused_unsigned(&f, &r.id, ErrorCode::DeviceRejected, before).await;
}

async fn device_says_not_me_and_signing_stays_locked_until_the_next_log_in(db: Db) {
    let mut f = Fixture::new(db).await;
    let before = f.server.hsm_user_signatures().await;
    // Two requests wait; the person answers "not me" to the first only.
    let waiting = f.browser.upload_letter("A second letter nobody asked for\n").await.unwrap();
    let r = f.browser.upload_letter(LETTER).await.unwrap();
    let mut answer = f.device.answer("not-me");
    answer.wait_for("request").await;
    let (code, _) = answer.finish().await;
    assert_eq!(code, 0);
    // The app answered one of the two; "not me" ends both, not just that one.
    for id in [&r.id, &waiting.id] {
        assert_refused_unsigned(&f, id, ErrorCode::AccountLockedNotMe, before).await;
        assert_eq!(f.browser.confirm_as_displayed(id).await.unwrap_err().code(), ErrorCode::RequestNotPending);
    }

    // The old session cannot start another signature.
    let err = f.browser.upload_letter(LETTER).await.unwrap_err();
    assert_eq!((err.status, err.code()), (403, ErrorCode::AccountLockedNotMe));
    // A fresh log-in (password + a new TOTP step) lifts the lock.
    f.server.advance_clock(30).await;
    let creds = f.creds.clone();
    f.browser.login(&f.server, &creds).await.expect("log in again");
    f.browser.upload_letter(LETTER).await.expect("signing is possible again");
}

async fn unknown_device_is_refused(db: Db) {
    let f = Fixture::new(db).await;
    let before = f.server.hsm_user_signatures().await;
    let r = f.browser.upload_letter(LETTER).await.unwrap();
    let stranger = SigningKey::try_generate().unwrap();
    let mut fake = f.device.account();
    fake.device_id = "never-paired-device".into();
    let err = ScriptedDevice::connect(fake, stranger.clone()).await.unwrap_err();
    assert_eq!(err.error, ErrorCode::DeviceUnknown);
    // The paired device's id with another key: the key is what counts.
    let err = ScriptedDevice::connect(f.device.account(), stranger).await.unwrap_err();
    assert_eq!(err.error, ErrorCode::Unauthenticated);
    let view = f.browser.request(&r.id).await.unwrap();
    assert_eq!(view.state, RequestState::Pending);
    assert_eq!(f.server.hsm_user_signatures().await, before);
}

async fn revoked_device_is_refused(db: Db) {
    let f = Fixture::new(db).await;
    let before = f.server.hsm_user_signatures().await;
    let r = f.browser.upload_letter(LETTER).await.unwrap();
    f.browser.confirm_as_displayed(&r.id).await.unwrap();
    // Revoked while connected: the push it holds can no longer be answered.
    let mut device = scripted(&f).await;
    device.next_push().await;
    f.browser.step_up(&f.server, &f.creds).await.expect("step-up");
    f.browser.revoke(&f.device_id).await.expect("revoke");
    assert!(matches!(device.receive().await, Err(e) if e.error == ErrorCode::DeviceRevoked));
    let again = ScriptedDevice::connect(f.device.account(), f.device.key()).await;
    assert_eq!(again.map(|_| ()).unwrap_err().error, ErrorCode::DeviceRevoked);
    // And the real app is told so.
    let (code, events) = f.device.answer("approve").finish().await;
    assert_eq!(code, 3, "{events:?}");
    assert!(events.iter().any(|e| e["event"] == "refused" && e["error"] == "DEVICE_REVOKED"), "{events:?}");
    let view = f.browser.request(&r.id).await.unwrap();
    assert!(view.signed_at.is_none());
    assert_eq!(f.server.hsm_user_signatures().await, before);
}

async fn a_signed_request_is_never_signed_twice(db: Db) {
    let f = Fixture::new(db).await;
    let before = f.server.hsm_user_signatures().await;
    let r = f.browser.upload_letter(LETTER).await.unwrap();
    let mut device = scripted(&f).await;
    let push = device.next_push().await;
    let sad = device.sad(&push, Decision::Approve);
    device.submit(&r.id, &sad).await;
    assert_eq!(f.browser.confirm_as_displayed(&r.id).await.unwrap().state, RequestState::Signed);
    let signature = f.browser.signature(&r.id).await.unwrap();

    let again = f.browser.confirm_as_displayed(&r.id).await.unwrap_err();
    assert_eq!(again.code(), ErrorCode::RequestNotPending);
    // Its own answer again is answered as the request stands; another is refused.
    let resent = device.submit(&r.id, &sad).await;
    assert!(matches!(resent, AckOutcome::Accepted { state: RequestState::Signed }), "{resent:?}");
    let fresh = device.sad(&push, Decision::Approve);
    assert_eq!(refused_code(&device.submit(&r.id, &fresh).await), Some(ErrorCode::RequestNotPending));

    let view = f.browser.request(&r.id).await.unwrap();
    assert_eq!(view.state, RequestState::Signed);
    assert_eq!(f.browser.signature(&r.id).await.unwrap(), signature);
    assert_eq!(f.server.hsm_user_signatures().await, before + 1, "exactly one HSM signature");
}

/// Each refusal runs against both storage backends.
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $name() {
                super::$name(super::Db::Sqlite).await;
            })+
        }
        mod postgres {
            $(#[tokio::test]
            async fn $name() {
                super::$name(super::Db::Postgres).await;
            })+
        }
    };
}

on_both_backends!(
    web_document_hash_differs,
    web_summary_hash_differs,
    sad_for_another_request,
    a_second_answer_leaves_the_first_standing,
    a_late_not_me_is_heard,
    challenge_expired_before_the_web_confirmed,
    challenge_expired_before_the_device_answered,
    device_rejects,
    device_says_not_me_and_signing_stays_locked_until_the_next_log_in,
    unknown_device_is_refused,
    revoked_device_is_refused,
    a_signed_request_is_never_signed_twice,
);
