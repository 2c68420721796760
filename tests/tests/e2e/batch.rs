//! Batches: ten documents, one confirmation on each channel, ten signatures,
//! each carrying the Merkle root both channels showed and its own path.

use crate::fixture::{Fixture, openssl_print, openssl_verify};
use base64::Engine;
use wysiwys_proto::api::RequestState;
use wysiwys_proto::batch::MEDIA_TYPE_BATCH;
use wysiwys_proto::summary::{MEDIA_TYPE_PAYMENT, MEDIA_TYPE_TEXT};
use wysiwys_proto::{ErrorCode, b64, jcs, merkle};
use wysiwys_tests::{Bank, Db};

fn documents() -> Vec<(String, Vec<u8>)> {
    (1..=10)
        .map(|i| {
            if i % 2 == 0 {
                let payment = format!(
                    r#"{{"payee":"Employee {i}","iban":"DE89370400440532013000","amount":"{i}00.00","currency":"EUR","reference":"Salary {i}"}}"#
                );
                (MEDIA_TYPE_PAYMENT.to_owned(), payment.into_bytes())
            } else {
                (MEDIA_TYPE_TEXT.to_owned(), format!("Contract {i}\n\nTerms of contract number {i}.\n").into_bytes())
            }
        })
        .collect()
}

fn batch_body(docs: &[(String, Vec<u8>)]) -> serde_json::Value {
    let encoded: Vec<serde_json::Value> = docs
        .iter()
        .enumerate()
        .map(|(i, (media_type, bytes))| {
            serde_json::json!({
                "media_type": media_type,
                "document_b64": base64::engine::general_purpose::STANDARD.encode(bytes),
                "reference": format!("doc-{i}"),
            })
        })
        .collect();
    serde_json::json!({"signer": {"username": "ann"}, "title": "Payroll and contracts", "documents": encoded})
}

#[tokio::test]
async fn a_batch_of_ten_is_signed_with_one_confirmation() {
    let f = Fixture::new(Db::Sqlite).await;
    let bank = Bank::new(
        &f.server,
        f.server.create_rp("Bank of Lund", "text/plain,application/vnd.wysiwys.payment+json", None),
    );
    let docs = documents();
    let before = f.server.hsm_user_signatures().await;

    let mut answer = f.device.answer("approve");
    answer.wait_for("connected").await;
    let batch = bank.create_batch(&batch_body(&docs), Some("payroll-11")).await.unwrap();
    assert_eq!(batch.media_type, MEDIA_TYPE_BATCH);
    assert_eq!(batch.title, "Payroll and contracts (10 documents)");
    let listed = batch.documents.clone().unwrap();
    assert_eq!(listed.len(), 10);
    assert_eq!(listed[1].title, "Payment of 200.00 EUR to Employee 2");
    assert_eq!(listed[2].title, "Contract 3");
    assert_eq!(
        bank.create_batch(&batch_body(&docs), Some("payroll-11")).await.unwrap().id,
        batch.id,
        "a retry is the same batch"
    );

    // The device shows every title and the root, and is asked once.
    let hashes: Vec<merkle::Hash> = docs.iter().map(|(_, d)| jcs::sha256(d)).collect();
    let root = b64::encode(merkle::root(&hashes).unwrap());
    let shown = answer.wait_for("request").await;
    let lines = shown["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 11);
    assert_eq!(lines[9]["value"], "Payment of 1000.00 EUR to Employee 10");
    assert_eq!((lines[10]["label"].as_str(), lines[10]["value"].as_str()), (Some("Merkle root"), Some(root.as_str())));
    let (code, events) = answer.finish().await;
    assert_eq!(code, 0, "{events:?}");
    let signed = f.browser.confirm_as_displayed(&batch.id).await.unwrap();
    assert_eq!(signed.state, RequestState::Signed, "{signed:?}");
    assert_eq!(f.server.hsm_user_signatures().await, before + 11, "the manifest and each document");

    let view = bank.get(&batch.id).await.unwrap();
    assert!(view.documents.unwrap().iter().all(|d| d.signed));
    let ca = f.server.get_ca_pem().await;
    let dir = f.server.dir.path();
    let manifest = f.browser.bytes(&format!("/api/requests/{}/document", batch.id)).await.unwrap();
    openssl_verify(dir, &ca, &manifest, &bank.signature(&batch.id).await.unwrap())
        .expect("the batch signature covers the manifest");
    for (index, (_, document)) in docs.iter().enumerate() {
        let p7s = bank.document_signature(&batch.id, index as u32).await.unwrap();
        openssl_verify(dir, &ca, document, &p7s).unwrap_or_else(|e| panic!("document {index}: {e}"));
        assert!(
            openssl_verify(dir, &ca, &docs[(index + 1) % 10].1, &p7s).is_err(),
            "a signature is for its own document only"
        );
        // The evidence: the root both channels showed, and this document's path to it.
        let printed = openssl_print(dir, &p7s).replace(['\n', ' '], "");
        let start = printed.find("{\"batch\":").or_else(|| printed.find("\"batch\":{")).expect("batch evidence");
        assert!(printed[start..].contains(&root), "document {index}: the root is in the evidence");
        let path: Vec<merkle::Hash> = merkle::inclusion_path(&hashes, index).unwrap();
        for sibling in &path {
            assert!(printed.contains(&b64::encode(sibling)), "document {index}: path element missing");
        }
        assert_eq!(merkle::root_from_path(&hashes[index], index, 10, &path).map(b64::encode), Some(root.clone()));
    }
    assert_eq!(
        f.browser.bytes(&format!("/api/requests/{}/documents/3/signature", batch.id)).await.unwrap(),
        bank.document_signature(&batch.id, 3).await.unwrap()
    );
    assert_eq!(bank.document_signature(&batch.id, 10).await.unwrap_err().code(), ErrorCode::NotFound);
}

#[tokio::test]
async fn batches_are_checked_like_single_documents() {
    let f = Fixture::new(Db::Sqlite).await;
    let bank = Bank::new(&f.server, f.server.create_rp("Bank of Lund", "text/plain", None));
    let mut docs = documents();
    let err = bank.create_batch(&batch_body(&docs), None).await.unwrap_err();
    assert_eq!(
        (err.status, err.code()),
        (403, ErrorCode::MediaTypeNotAllowed),
        "payments are not allowed to this party"
    );
    docs.retain(|(m, _)| m == MEDIA_TYPE_TEXT);
    docs[2].1 = "Contract\u{202e}\n".as_bytes().to_vec();
    assert_eq!(bank.create_batch(&batch_body(&docs), None).await.unwrap_err().code(), ErrorCode::UnsafeDocument);
    let too_many: Vec<(String, Vec<u8>)> =
        (0..101).map(|i| (MEDIA_TYPE_TEXT.to_owned(), format!("Letter {i}\n").into_bytes())).collect();
    assert_eq!(bank.create_batch(&batch_body(&too_many), None).await.unwrap_err().code(), ErrorCode::BadRequest);
    assert!(f.browser.history().await.unwrap().is_empty());
    // A pending batch has no signatures yet.
    docs.truncate(2);
    docs[1].1 = b"Contract 3\n".to_vec();
    let pending = bank.create_batch(&batch_body(&docs), None).await.unwrap();
    assert_eq!(bank.document_signature(&pending.id, 0).await.unwrap_err().code(), ErrorCode::RequestNotPending);
}
