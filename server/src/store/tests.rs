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

fn device(id: &str, approved_at: Option<i64>) -> DeviceRow {
    DeviceRow {
        id: id.into(),
        user_id: "u1".into(),
        name: "Laptop".into(),
        public_jwk: "{}".into(),
        created_at: 2,
        last_seen_at: None,
        revoked_at: None,
        last_ctr: 0,
        approved_at,
        enrolment: "{}".into(),
        pairing_challenge: approved_at.is_none().then(|| vec![1; 32]),
        pairing_expires_at: approved_at.is_none().then_some(100),
        pairing_address: Some("192.0.2.1".into()),
    }
}

/// Each way in is re-checked inside the pairing's transaction.
async fn enrolment(store: &Store) {
    let code = |n: u8| [n; 32];
    store.insert_pairing_code(&code(1), "u1", 1, 100).await.unwrap();
    let first = device("d1", Some(3));
    // No activation code issued yet: the plan no longer holds.
    assert_eq!(
        store.pair_device(&code(1), &first, PairingPlan::ActivationCode, 5, 3).await.unwrap(),
        PairOutcome::Changed
    );
    store.insert_pairing_code(&code(9), "u1", 1, 100).await.unwrap();
    assert!(store.issue_activation_code("u1", "$argon2id$test", 3, 1_000).await.unwrap().is_empty());
    assert_eq!(store.pairing_code_user(&code(9), 3).await.unwrap(), None, "issuing uses up open pairing codes");
    for n in 2..=6 {
        store.insert_pairing_code(&code(n), "u1", 3, 100).await.unwrap();
    }
    assert_eq!(
        store.pair_device(&code(2), &first, PairingPlan::ActivationCode, 5, 4).await.unwrap(),
        PairOutcome::Paired
    );
    assert_eq!(
        store.pair_device(&code(2), &device("x", Some(5)), PairingPlan::ActivationCode, 5, 5).await.unwrap(),
        PairOutcome::CodeInvalid,
        "a code pairs once"
    );
    assert!(
        store.open_activation_code("u1", 5).await.unwrap().is_none(),
        "the activation code is used up with the pairing"
    );
    // An account that had a device is past the sign-up window.
    assert_eq!(
        store.pair_device(&code(3), &device("w", Some(5)), PairingPlan::EnrolmentWindow, 5, 5).await.unwrap(),
        PairOutcome::Changed
    );

    let second = device("d2", None);
    assert_eq!(
        store.pair_device(&code(4), &second, PairingPlan::AwaitingApproval, 5, 6).await.unwrap(),
        PairOutcome::Paired
    );
    assert!(store.device("d2").await.unwrap().unwrap().is_awaiting_approval(6));
    // A device cannot approve itself, nor can a pending one approve anything.
    assert!(!store.decide_pairing("d2", &second, PairingDecision::Approve, "{}", 7).await.unwrap());
    let d1 = store.device("d1").await.unwrap().unwrap();
    assert!(!store.decide_pairing("d2", &d1, PairingDecision::Approve, "{}", 100).await.unwrap(), "expired at 100");
    assert!(store.decide_pairing("d2", &d1, PairingDecision::Approve, r#"{"kind":"x"}"#, 7).await.unwrap());
    assert!(!store.decide_pairing("d2", &d1, PairingDecision::Refuse, "{}", 8).await.unwrap(), "settled once");
    let approved = store.device("d2").await.unwrap().unwrap();
    assert!(approved.is_active() && approved.enrolment == r#"{"kind":"x"}"#);

    // Two active devices and a cap of two: the third is refused, its code used.
    assert_eq!(
        store.pair_device(&code(5), &device("d3", None), PairingPlan::AwaitingApproval, 2, 9).await.unwrap(),
        PairOutcome::TooManyDevices
    );
    assert_eq!(store.pairing_code_counts("u1", 9, 0).await.unwrap(), (1, 7), "only code 6 is still open");
    // "Not me" refuses pairings that wait; recovery revokes every device.
    assert_eq!(
        store.pair_device(&code(6), &device("d4", None), PairingPlan::AwaitingApproval, 5, 10).await.unwrap(),
        PairOutcome::Paired
    );
    store.lock_signing("u1", ErrorCode::AccountLockedNotMe, "test", 11).await.unwrap();
    assert!(store.device("d4").await.unwrap().unwrap().revoked_at.is_some());
    store.record_login_success("u1").await.unwrap();
    let mut revoked = store.issue_activation_code("u1", "$argon2id$new", 12, 1_000).await.unwrap();
    revoked.sort();
    assert_eq!(revoked, ["d1", "d2"]);
    assert_eq!(
        store.open_activation_code("u1", 12).await.unwrap().map(|a| a.code_hash).as_deref(),
        Some("$argon2id$new")
    );
    store.activation_code_failed("u1", 2, 13).await.unwrap();
    assert!(store.open_activation_code("u1", 13).await.unwrap().is_some());
    store.activation_code_failed("u1", 2, 14).await.unwrap();
    assert!(store.open_activation_code("u1", 14).await.unwrap().is_none(), "the second failure uses it up");

    // Notices: receipted once, by their own device only.
    let notice = NoticeRow {
        id: "n1".into(),
        user_id: "u1".into(),
        device_id: "d1".into(),
        kind: "device_paired".into(),
        subject_device_id: "d2".into(),
        subject_name: "Laptop".into(),
        at: 15,
        receipted_at: None,
    };
    store.insert_notices(std::slice::from_ref(&notice)).await.unwrap();
    assert_eq!(store.open_notices("d1").await.unwrap().len(), 1);
    assert!(!store.receipt_notice("d2", "n1", 16).await.unwrap());
    assert!(store.receipt_notice("d1", "n1", 16).await.unwrap());
    assert!(!store.receipt_notice("d1", "n1", 17).await.unwrap());
    assert!(store.open_notices("d1").await.unwrap().is_empty());
}

/// Relying parties made before skeletons were kept get theirs when the
/// server starts; of two old look-alikes the older keeps it, and no new
/// look-alike of either is let in.
async fn relying_party_skeletons(store: &Store) {
    let party = |id: &str, name: &str, skeleton: Option<&str>, created_at: i64| RelyingPartyRow {
        id: id.into(),
        name: name.into(),
        name_skeleton: skeleton.map(str::to_owned),
        api_key_hash: id.as_bytes().to_vec(),
        media_types: "text/plain".into(),
        webhook_url: None,
        webhook_secret: None,
        created_at,
        oauth_redirect_uris: None,
        signature_level: None,
    };
    assert!(store.insert_relying_party(&party("p1", "Acme", None, 1)).await.unwrap());
    assert!(store.insert_relying_party(&party("p2", "ACME", None, 2)).await.unwrap());
    store.fill_name_skeletons(|name| name.to_lowercase()).await.unwrap();
    let skeletons: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT id, name_skeleton FROM relying_parties WHERE id IN ('p1', 'p2') ORDER BY id")
            .fetch_all(&store.pool)
            .await
            .unwrap();
    assert_eq!(skeletons, [("p1".into(), Some("acme".into())), ("p2".into(), None)]);
    assert!(!store.insert_relying_party(&party("p3", "AcMe", Some("acme"), 3)).await.unwrap());
    assert!(store.insert_relying_party(&party("p4", "Other", Some("other"), 4)).await.unwrap());
}

async fn signed_pushes(store: &Store) {
    let push = PushFor { kind: PushKind::SignRequest, subject_id: "r9", device_id: "d1" };
    assert_eq!(store.signed_push(push, 10).await.unwrap(), None);
    assert_eq!(store.keep_signed_push(push, "first", 100, 10).await.unwrap(), "first");
    // Another node signed the same push at the same time: everyone sends the first.
    assert_eq!(store.keep_signed_push(push, "second", 100, 11).await.unwrap(), "first");
    assert_eq!(store.signed_push(push, 99).await.unwrap().as_deref(), Some("first"));
    let pairing = PushFor { kind: PushKind::PairingRequest, ..push };
    let other_device = PushFor { device_id: "d2", ..push };
    assert_eq!(store.signed_push(pairing, 12).await.unwrap(), None, "kinds are kept apart");
    assert_eq!(store.signed_push(other_device, 12).await.unwrap(), None, "devices are kept apart");
    assert_eq!(store.signed_push(push, 100).await.unwrap(), None, "an expired push is signed afresh");
    assert_eq!(store.keep_signed_push(push, "renewed", 200, 100).await.unwrap(), "renewed", "and replaced");
    assert_eq!(store.keep_signed_push(other_device, "d2's", 300, 150).await.unwrap(), "d2's");
    // The sweep forgets what expired and nothing else.
    assert_eq!(store.purge_signed_pushes(200).await.unwrap(), 1);
    assert_eq!(store.signed_push(other_device, 200).await.unwrap().as_deref(), Some("d2's"));
    let kept: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM signed_pushes").fetch_one(&store.pool).await.unwrap();
    assert_eq!(kept, 1);
}

/// An OAuth grant is bound to one person once, its code issued once and
/// redeemed once while unexpired; ended grants and tokens are purged.
async fn oauth_grants(store: &Store) {
    let grant = |id: &str| OAuthGrantRow {
        id: id.into(),
        rp_id: "p1".into(),
        scope: "service".into(),
        redirect_uri: "https://app.example/cb".into(),
        client_state: None,
        code_challenge: "c".into(),
        details: None,
        user_id: None,
        request_id: None,
        code_sha256: None,
        code_expires_at: None,
        code_used_at: None,
        created_at: 10,
        expires_at: 100,
    };
    store.insert_oauth_grant(&grant("g1")).await.unwrap();
    store.insert_oauth_grant(&grant("g2")).await.unwrap();
    assert!(!store.consent_oauth_grant("g1", "u1", 100).await.unwrap(), "an expired grant takes no consent");
    assert!(store.consent_oauth_grant("g1", "u1", 50).await.unwrap());
    assert!(!store.consent_oauth_grant("g1", "u1", 51).await.unwrap(), "bound once");
    assert!(!store.issue_oauth_code("g1", "someone", b"code1", 70, 52).await.unwrap(), "only for its person");
    assert!(store.issue_oauth_code("g1", "u1", b"code1", 70, 52).await.unwrap());
    assert!(!store.issue_oauth_code("g1", "u1", b"code1b", 70, 53).await.unwrap(), "one code");
    assert!(store.redeem_oauth_code(b"code1", 70).await.unwrap().is_none(), "an expired code");
    assert!(store.consent_oauth_grant("g2", "u1", 50).await.unwrap());
    assert!(store.issue_oauth_code("g2", "u1", b"code2", 90, 52).await.unwrap());
    assert_eq!(store.redeem_oauth_code(b"code2", 60).await.unwrap().map(|g| g.id), Some("g2".into()));
    assert!(store.redeem_oauth_code(b"code2", 61).await.unwrap().is_none(), "redeemed once");
    let token = CscAccessTokenRow {
        token_sha256: vec![9; 32],
        rp_id: "p1".into(),
        user_id: Some("u1".into()),
        created_at: 10,
        expires_at: 200,
    };
    store.insert_csc_access_token(&token).await.unwrap();
    assert_eq!(store.purge_csc_oauth(150).await.unwrap(), 2, "both grants, not the live token");
    assert_eq!(store.purge_csc_oauth(200).await.unwrap(), 1);
    assert!(store.csc_access_token(&[9; 32]).await.unwrap().is_none());
}

async fn exercise(store: Store) {
    store.insert_user(&user()).await.unwrap();
    enrolment(&store).await;
    relying_party_skeletons(&store).await;
    oauth_grants(&store).await;
    signed_pushes(&store).await;

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
    assert!(store.insert_request(&request("r1"), None, super::Members::None).await.unwrap());
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
    let signed = store.finish_signing("r1", b"p7s", &[], "B-T", 33).await.unwrap().unwrap();
    assert_eq!((signed.state.as_str(), signed.signature.as_deref()), ("signed", Some(&b"p7s"[..])));
    assert_eq!(signed.signature_level.as_deref(), Some("B-T"));
    assert!(store.finish_signing("r1", b"again", &[], "B-T", 34).await.unwrap().is_none());
    let trail = store.audit_trail("r1").await.unwrap();
    let events: Vec<&str> = trail.iter().map(|(_, e, _, _)| e.as_str()).collect();
    assert_eq!(events, ["created", "web_confirmed", "device_answered", "signing", "signed"]);

    // Replays and stale counters are refused and leave no trace on the request.
    assert!(store.insert_request(&request("r2"), None, super::Members::None).await.unwrap());
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
    assert!(store.insert_request(&request("r3"), None, super::Members::None).await.unwrap());
    store.record_web_confirmation("r3", 50).await.unwrap();
    assert!(matches!(store.admit_sad(&sad("r3", &[10; 32], 3)).await.unwrap(), AdmitOutcome::Admitted(_)));
    assert!(store.claim_for_signing("r3", 60).await.unwrap());
    assert_eq!(store.close_interrupted_signing(61, 70).await.unwrap(), 1);
    let closed = store.request("r3").await.unwrap().unwrap();
    assert_eq!((closed.state.as_str(), closed.error_code.as_deref()), ("failed", Some("SIGNING_INTERRUPTED")));
    assert!(store.finish_signing("r3", b"late", &[], "B-T", 71).await.unwrap().is_none());

    // A second answer for a request that has one: still pending, answered already;
    // once it is being signed, no longer pending. Neither leaves a trace.
    assert!(store.insert_request(&request("r4"), None, super::Members::None).await.unwrap());
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

/// SQLite: this process writes through one connection, so a second writer
/// waits for the first in order instead of polling SQLite's lock, and the
/// reading connections cannot write at all (a write sent to one by mistake
/// fails here and in every end-to-end test, instead of meeting the lock).
#[tokio::test]
async fn sqlite_writes_go_through_one_connection_and_readers_cannot_write() {
    use futures_util::FutureExt;
    let (store, _dir) = sqlite_store().await;
    let stray = sqlx::query("INSERT INTO pki (name, der) VALUES ('x', X'00')").execute(&store.pool).await;
    assert!(stray.unwrap_err().to_string().contains("readonly"), "a reader refuses to write");

    assert!(matches!(store.writer, Writer::Sqlite(_)));
    let first = store.begin_write().await.unwrap();
    let mut second = Box::pin(store.begin_write());
    assert!((&mut second).now_or_never().is_none(), "a second writer waits for the first");
    let lone = Box::pin(store.set_pki_object("name", b"der"));
    assert!(lone.now_or_never().is_none(), "and so does a single statement");
    first.rollback().await.unwrap();
    let second = second.await.unwrap();
    second.commit().await.unwrap();
    store.set_pki_object("name", b"der").await.unwrap();
    assert!(store.pki_object("name").await.unwrap().is_some(), "the writer's write is read back by a reader");

    // A transaction dropped half-way (a cancelled request) is rolled back
    // before the next writer runs anything on the connection.
    let mut abandoned = store.begin_write().await.unwrap();
    sqlx::query("INSERT INTO pki (name, der) VALUES ('abandoned', X'00')").execute(&mut *abandoned).await.unwrap();
    drop(abandoned);
    store.set_pki_object("after", b"der").await.unwrap();
    assert!(store.pki_object("abandoned").await.unwrap().is_none(), "the dropped transaction's write is gone");
    assert!(store.pki_object("after").await.unwrap().is_some(), "and the next write is committed on its own");
}
