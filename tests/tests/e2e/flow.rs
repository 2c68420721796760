//! One real signature end to end, on SQLite and on PostgreSQL.

use crate::fixture::{Fixture, LETTER, openssl_print, openssl_verify};
use wysiwys_proto::api::RequestState;
use wysiwys_tests::{Db, sha256_b64};

async fn sign_a_letter(db: Db) {
    let f = Fixture::new(db).await;
    let before = f.server.hsm_user_signatures().await;

    let mut answer = f.device.answer("approve");
    answer.wait_for("connected").await;
    let created = f.browser.upload_letter(LETTER).await.expect("upload");
    assert_eq!(created.state, RequestState::Pending);
    assert_eq!(created.title, "Municipality of Lund — Building permit");

    // The device shows the same summary and verification code as the browser.
    let shown = answer.wait_for("request").await;
    assert_eq!(shown["request_id"], created.id.as_str());
    assert_eq!(shown["verification_code"], created.verification_code.as_str());
    assert_eq!(shown["summary_sha256"], created.summary_hash.as_str());
    assert_eq!(shown["lines"][2]["value"], "Dear Ms Åsa Öberg,");
    let (code, events) = answer.finish().await;
    assert_eq!(code, 0, "{events:?}");

    let confirmed = f.browser.confirm_as_displayed(&created.id).await.expect("web confirmation");
    assert_eq!(confirmed.state, RequestState::Signed, "{confirmed:?}");
    assert!(confirmed.web_confirmed_at.is_some() && confirmed.device_confirmed_at.is_some());
    assert_eq!(confirmed.device_id.as_deref(), Some(f.device_id.as_str()));
    assert_eq!(f.server.hsm_user_signatures().await, before + 1);

    let p7s = f.browser.signature(&created.id).await.expect("signature");
    let ca = f.server.get_ca_pem().await;
    openssl_verify(f.server.dir.path(), &ca, LETTER.as_bytes(), &p7s).expect("openssl accepts the signature");
    let tampered = LETTER.replace("approved", "rejected");
    assert!(
        openssl_verify(f.server.dir.path(), &ca, tampered.as_bytes(), &p7s).is_err(),
        "a changed letter must not verify"
    );

    // The evidence attribute carries both channels' facts.
    let printed = openssl_print(f.server.dir.path(), &p7s);
    if let Ok(dump) = std::env::var("WYSIWYS_DUMP_SIGNATURE") {
        std::fs::write(&dump, &p7s).unwrap();
    }
    for attribute in ["contentType", "signingTime", "messageDigest", "id-smime-aa-signingCertificateV2"] {
        assert!(printed.contains(attribute), "{attribute} missing:\n{printed}");
    }
    assert!(printed.contains(wysiwys_tests::signature::EVIDENCE_OID), "{printed}");
    // RustCrypto's `cms` (32-bit OID arcs) parses it and reads the evidence.
    let evidence = wysiwys_tests::signature::evidence(&p7s).expect("the cms crate reads the evidence");
    assert_eq!(evidence["v"], "evidence/1");
    assert_eq!(evidence["request_id"], created.id.as_str());
    assert_eq!(evidence["doc_sha256"], created.doc_hash.as_str());
    assert_eq!(evidence["summary_sha256"], created.summary_hash.as_str());
    assert_eq!(evidence["device_id"], f.device_id.as_str());
    assert_eq!(evidence["sad_sha256"], confirmed.sad_sha256.as_deref().unwrap());
    assert_eq!(sha256_b64(LETTER.as_bytes()), created.doc_hash);
    let events: Vec<String> = f.browser.events(&created.id).await.unwrap().into_iter().map(|e| e.event).collect();
    assert_eq!(events, ["created", "device_answered", "web_confirmed", "signing", "signed"]);
}

#[tokio::test]
async fn a_letter_is_signed_on_sqlite() {
    sign_a_letter(Db::Sqlite).await;
}

#[tokio::test]
async fn a_letter_is_signed_on_postgres() {
    sign_a_letter(Db::Postgres).await;
}
