//! The store against both real databases: migrations, audit triggers, and
//! the conditional updates the SAM relies on.

use super::*;
use sqlx::Connection;

async fn sqlite_store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    (Store::open(None, dir.path()).await.unwrap(), dir)
}

/// A fresh PostgreSQL database; PostgreSQL must be running (never skipped).
/// Returns the store and a statement that drops the database again.
async fn postgres_store() -> (Store, String, String) {
    sqlx::any::install_default_drivers();
    let admin = std::env::var("WYSIWYS_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut conn = sqlx::AnyConnection::connect(&admin).await.expect("PostgreSQL is required for the store tests");
    let name = format!(
        "wysiwys_store_{}",
        crate::entropy::random_id(&crate::entropy::OsEntropy).unwrap().to_lowercase().replace('-', "_")
    );
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\""))).execute(&mut conn).await.unwrap();
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    let store = Store::open(Some(&format!("{base}/{name}")), std::path::Path::new(".")).await.unwrap();
    (store, admin.clone(), format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
}

fn user() -> UserRow {
    UserRow {
        id: "u1".into(),
        username: "ann".into(),
        password_hash: "x".into(),
        totp_secret: vec![1],
        totp_last_step: -1,
        failed_logins: 0,
        locked_until: 0,
        signing_locked_at: None,
        credential_id: "c1".into(),
        certificate: vec![2],
        created_at: 1,
        totp_enabled_at: Some(1),
        external_id: None,
    }
}

fn request(id: &str) -> RequestRow {
    RequestRow::from(NewRequest {
        id: id.into(),
        user_id: "u1".into(),
        credential_id: "c1".into(),
        requester: "test".into(),
        media_type: "text/plain".into(),
        title: "t".into(),
        document: b"doc".to_vec(),
        doc_hash: vec![3; 32],
        summary_json: "{}".into(),
        summary_hash: vec![4; 32],
        challenge: vec![5; 32],
        created_at: 10,
        expires_at: 1_000,
        rp_id: None,
        rp_reference: None,
    })
}

fn sad<'a>(request_id: &'a str, replay_key: &'a [u8], counter: i64) -> AdmittedSadRow<'a> {
    AdmittedSadRow { request_id, device_id: "d1", token: "token", token_sha256: &[6; 32], replay_key, counter, now: 20 }
}

async fn exercise(store: Store) {
    store.insert_user(&user()).await.unwrap();
    store.insert_pairing_code(&[9; 32], "u1", 1, 100).await.unwrap();
    let device = DeviceRow {
        id: "d1".into(),
        user_id: String::new(),
        name: "Laptop".into(),
        public_jwk: "{}".into(),
        created_at: 2,
        last_seen_at: None,
        revoked_at: None,
        last_ctr: 0,
    };
    assert_eq!(store.pair_device(&[9; 32], &device, 3).await.unwrap().as_deref(), Some("u1"));
    assert_eq!(store.pair_device(&[9; 32], &DeviceRow { id: "d2".into(), ..device.clone() }, 4).await.unwrap(), None);

    // Three failures lock until 100 + 50; after the lock, one failure is one, not a new lock.
    for now in [100, 101, 102] {
        store.record_login_failure("u1", now, 3, 50).await.unwrap();
    }
    let locked = store.user_by_id("u1").await.unwrap().unwrap();
    assert_eq!((locked.failed_logins, locked.locked_until), (3, 152));
    store.record_login_failure("u1", 200, 3, 50).await.unwrap();
    let after = store.user_by_id("u1").await.unwrap().unwrap();
    assert_eq!((after.failed_logins, after.locked_until), (1, 0), "an expired lock starts a new count");
    store.record_login_failure("u1", 201, 3, 50).await.unwrap();
    store.record_login_failure("u1", 202, 3, 50).await.unwrap();
    assert_eq!(store.user_by_id("u1").await.unwrap().unwrap().locked_until, 252, "the third of the new series locks");
    store.record_login_success("u1").await.unwrap();

    // A full signing: both channels, one claim, one signature.
    assert!(store.insert_request(&request("r1"), None, &[]).await.unwrap());
    let after_web = store.record_web_confirmation("r1", 15).await.unwrap().unwrap();
    assert_eq!(after_web.web_confirmed_at, Some(15));
    assert!(store.record_web_confirmation("r1", 16).await.unwrap().is_none(), "only once");
    let AdmitOutcome::Admitted(row) = store.admit_sad(&sad("r1", &[7; 32], 1)).await.unwrap() else {
        panic!("admitted");
    };
    assert_eq!((row.web_confirmed_at, row.sad.as_deref()), (Some(15), Some("token")));
    assert!(store.claim_for_signing("r1", 30).await.unwrap());
    assert!(!store.claim_for_signing("r1", 31).await.unwrap(), "a second claim loses");
    assert!(
        !store.fail_request("r1", FailFrom::Pending, ErrorCode::HashMismatch, "late", 32).await.unwrap(),
        "signing is not pending"
    );
    let signed = store.finish_signing("r1", b"p7s", &[], 33).await.unwrap().unwrap();
    assert_eq!((signed.state.as_str(), signed.signature.as_deref()), ("signed", Some(&b"p7s"[..])));
    assert!(store.finish_signing("r1", b"again", &[], 34).await.unwrap().is_none());
    let trail = store.audit_trail("r1").await.unwrap();
    let events: Vec<&str> = trail.iter().map(|(_, e, _, _)| e.as_str()).collect();
    assert_eq!(events, ["created", "web_confirmed", "device_answered", "signing", "signed"]);

    // Replays and stale counters are refused and leave no trace on the request.
    assert!(store.insert_request(&request("r2"), None, &[]).await.unwrap());
    assert_eq!(store.admit_sad(&sad("r2", &[7; 32], 2)).await.unwrap(), AdmitOutcome::Replayed);
    assert_eq!(store.admit_sad(&sad("r2", &[8; 32], 1)).await.unwrap(), AdmitOutcome::CounterNotIncreasing);
    assert!(store.request("r2").await.unwrap().unwrap().sad.is_none());
    assert_eq!(store.device("d1").await.unwrap().unwrap().last_ctr, 1);
    assert!(store.fail_request("r2", FailFrom::Pending, ErrorCode::SadReplayed, "replayed", 40).await.unwrap());
    let failed = store.request("r2").await.unwrap().unwrap();
    assert_eq!((failed.state.as_str(), failed.finished_at), ("failed", Some(40)));
    let last = store.audit_trail("r2").await.unwrap().pop().unwrap();
    assert_eq!((last.0, last.1.as_str(), last.3.as_deref()), (40, "refused", Some("SAD_REPLAYED")));

    // A crash while signing: the next start closes the request for good.
    assert!(store.insert_request(&request("r3"), None, &[]).await.unwrap());
    store.record_web_confirmation("r3", 50).await.unwrap();
    assert!(matches!(store.admit_sad(&sad("r3", &[10; 32], 3)).await.unwrap(), AdmitOutcome::Admitted(_)));
    assert!(store.claim_for_signing("r3", 60).await.unwrap());
    assert_eq!(store.close_interrupted_signing(61, 70).await.unwrap(), 1);
    let closed = store.request("r3").await.unwrap().unwrap();
    assert_eq!((closed.state.as_str(), closed.error_code.as_deref()), ("failed", Some("SIGNING_INTERRUPTED")));
    assert!(store.finish_signing("r3", b"late", &[], 71).await.unwrap().is_none());

    // A second answer for a request that has one: still pending, answered already;
    // once it is being signed, no longer pending. Neither leaves a trace.
    assert!(store.insert_request(&request("r4"), None, &[]).await.unwrap());
    store.record_web_confirmation("r4", 44).await.unwrap();
    assert!(matches!(store.admit_sad(&sad("r4", &[11; 32], 4)).await.unwrap(), AdmitOutcome::Admitted(_)));
    assert_eq!(store.admit_sad(&sad("r4", &[12; 32], 5)).await.unwrap(), AdmitOutcome::AnsweredAlready);
    assert!(store.claim_for_signing("r4", 45).await.unwrap());
    assert_eq!(store.admit_sad(&sad("r4", &[13; 32], 6)).await.unwrap(), AdmitOutcome::RequestNotPending);
    assert_eq!(store.device("d1").await.unwrap().unwrap().last_ctr, 4, "refused answers leave the counter");

    // TOTP steps are used once, in order.
    assert!(store.consume_totp_step("u1", 5).await.unwrap());
    assert!(!store.consume_totp_step("u1", 5).await.unwrap());
    assert!(!store.consume_totp_step("u1", 4).await.unwrap());
}

#[tokio::test]
async fn sqlite() {
    let (store, _dir) = sqlite_store().await;
    assert_eq!(store.backend(), Backend::Sqlite);
    exercise(store).await;
}

#[tokio::test]
async fn postgres() {
    let (store, admin, drop_statement) = postgres_store().await;
    assert_eq!(store.backend(), Backend::Postgres);
    exercise(store).await;
    let mut conn = sqlx::AnyConnection::connect(&admin).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(drop_statement)).execute(&mut conn).await.unwrap();
}
