//! Crashes and dropped connections: no usable SAD, no double signature, a
//! consistent database; the device reconnects by itself.

use crate::fixture::{Fixture, LETTER};
use wysiwys_proto::ErrorCode;
use wysiwys_proto::api::{AckOutcome, RequestState};
use wysiwys_proto::sad::Decision;
use wysiwys_tests::device::refused_code;
use wysiwys_tests::{Db, ScriptedDevice};

#[tokio::test]
async fn a_crash_between_the_channels_keeps_the_sad_consumed_and_signs_once() {
    let mut f = Fixture::new(Db::Sqlite).await;
    let r = f.browser.upload_letter(LETTER).await.unwrap();
    let mut device = ScriptedDevice::connect(f.device.account(), f.device.key()).await.unwrap();
    let push = device.next_push().await;
    let sad = device.sad(&push, Decision::Approve);
    assert!(matches!(device.submit(&r.id, &sad).await, AckOutcome::Accepted { state: RequestState::Pending }));

    f.server.restart();
    f.browser.reconnect();
    // The session survives (it is in the database); the SAD stays consumed:
    // sent again it gets its answer again, and no other answer gets in.
    let mut device = ScriptedDevice::connect(f.device.account(), f.device.key()).await.unwrap();
    assert!(matches!(device.submit(&r.id, &sad).await, AckOutcome::Accepted { state: RequestState::Pending }));
    let other = device.sad(&push, Decision::Reject);
    assert_eq!(refused_code(&device.submit(&r.id, &other).await), Some(ErrorCode::SadReplayed));
    assert_eq!(f.server.hsm_user_signatures().await, 0);
    assert_eq!(f.browser.confirm_as_displayed(&r.id).await.unwrap().state, RequestState::Signed);
    assert_eq!(f.server.hsm_user_signatures().await, 1);
}

#[tokio::test]
async fn a_crash_after_the_device_answered_lets_the_web_finish_exactly_once() {
    let mut f = Fixture::new(Db::Sqlite).await;
    let r = f.browser.upload_letter(LETTER).await.unwrap();
    let mut device = ScriptedDevice::connect(f.device.account(), f.device.key()).await.unwrap();
    let push = device.next_push().await;
    let sad = device.sad(&push, Decision::Approve);
    device.submit(&r.id, &sad).await;
    drop(device);

    f.server.restart();
    f.browser.reconnect();
    let view = f.browser.confirm_as_displayed(&r.id).await.unwrap();
    assert_eq!(view.state, RequestState::Signed);
    assert_eq!(f.server.hsm_user_signatures().await, 1);
    let again = f.browser.confirm_as_displayed(&r.id).await.unwrap_err();
    assert_eq!(again.code(), ErrorCode::RequestNotPending);
    assert_eq!(f.server.hsm_user_signatures().await, 1);
}

#[tokio::test]
async fn the_device_reconnects_after_the_server_comes_back() {
    let mut f = Fixture::new(Db::Sqlite).await;
    let mut answer = f.device.answer("approve");
    answer.wait_for("connected").await;
    f.server.crash();
    answer.wait_for("disconnected").await;
    f.server.restart();
    f.browser.reconnect();
    let r = f.browser.upload_letter(LETTER).await.unwrap();
    let shown = answer.wait_for("request").await;
    assert_eq!(shown["request_id"], r.id.as_str());
    let (code, events) = answer.finish().await;
    assert_eq!(code, 0, "{events:?}");
    assert!(events.iter().filter(|e| e["event"] == "connected").count() >= 2, "{events:?}");
    assert_eq!(f.browser.confirm_as_displayed(&r.id).await.unwrap().state, RequestState::Signed);
}

/// A request that ended in an internal failure says so, and no more: what
/// the server wrote down about its inside stays in the database and the log.
#[tokio::test]
async fn an_internal_failure_shows_no_detail_to_the_client() {
    use sqlx::Connection;
    let f = Fixture::new(Db::Sqlite).await;
    let r = f.browser.upload_letter(LETTER).await.unwrap();
    let db = f.server.data_dir().join("wysiwys.sqlite3");
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display())).await.unwrap();
    let secret = "stored device key of dev-1 is unusable";
    sqlx::query(
        "UPDATE sign_requests SET state = 'failed', error_code = 'INTERNAL_ERROR', error_detail = ?1 WHERE id = ?2",
    )
    .bind(secret)
    .bind(&r.id)
    .execute(&mut conn)
    .await
    .unwrap();
    let error = f.browser.request(&r.id).await.unwrap().error.expect("the failure");
    assert_eq!(error.error, ErrorCode::InternalError);
    assert!(!error.error_description.contains("dev-1"), "{error:?}");
    assert_eq!(error.error_description, "internal error; see the server log");
}
