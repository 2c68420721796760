//! The CSC API with real clients: pyHanko's `CSCSigner` signs PDFs through
//! `/csc/v1/` while the person confirms the hashes on both channels, and a
//! v2 client walks `authorize` → 202 → `authorizeCheck` → `signHash` and
//! meets every refusal the spec names, with nothing signed by any of them.

use crate::fixture::{Fixture, decision_pdf};
use crate::pdf::{pdfsig, pyhanko};
use base64::Engine;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;
use wysiwys_proto::api::RequestState;
use wysiwys_proto::csc::{OID_ECDSA_WITH_SHA256, OID_SHA256};
use wysiwys_proto::hashes::{MEDIA_TYPE_HASHES, ONLY_HASHES_NOTICE};
use wysiwys_tests::csc::{CscAnswer, CscClient, pyhanko_sign};
use wysiwys_tests::server::RpCredentials;
use wysiwys_tests::{Db, TestServer};

const PLATFORM: &str = "Contract Platform";

fn b64(bytes: impl AsRef<[u8]>) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn digest(content: &str) -> String {
    b64(wysiwys_proto::jcs::sha256(content.as_bytes()))
}

/// A signing platform allowed hash-only requests, serving ann.
fn platform(server: &TestServer) -> RpCredentials {
    let rp = server.create_rp(PLATFORM, MEDIA_TYPE_HASHES, None);
    server.link_user("ann", &rp.rp_id);
    rp
}

/// What a channel shows, as `label: value` lines.
fn shown_text(lines: &Value) -> String {
    lines.as_array().expect("lines").iter().map(|l| format!("{}: {}\n", l["label"], l["value"])).collect()
}

async fn pyhanko_signs_through_v1(db: Db, batch: usize) {
    let f = Fixture::new(db).await;
    let rp = platform(&f.server);
    let before = f.server.hsm_user_signatures().await;
    let mut device = f.device.answer("approve");
    device.wait_for("connected").await;

    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("contract.pdf");
    let unsigned = decision_pdf();
    std::fs::write(&source, &unsigned).unwrap();
    let outputs: Vec<_> = (0..batch).map(|i| dir.path().join(format!("signed-{i}.pdf"))).collect();
    let output_refs: Vec<&Path> = outputs.iter().map(|p| p.as_path()).collect();
    let mut client = pyhanko_sign(&f.server.origin, &rp.api_key, "ann", batch, &source, &output_refs);
    let authorizing = client.wait_for("authorizing").await;
    let hashes: Vec<&str> = authorizing["hashes"].as_array().unwrap().iter().map(|h| h.as_str().unwrap()).collect();
    assert_eq!(hashes.len(), batch, "one authorization for the whole batch: {authorizing}");

    // The device names the platform and shows every hash and what they are.
    let pushed = device.wait_for("request").await;
    assert_eq!(pushed["requester"], PLATFORM);
    let on_device = shown_text(&pushed["lines"]);
    assert!(on_device.contains(ONLY_HASHES_NOTICE), "{on_device}");
    assert!(on_device.contains(OID_SHA256) || on_device.contains("SHA-256"), "{on_device}");
    for hash in &hashes {
        assert!(on_device.contains(hash), "{hash} not shown on the device:\n{on_device}");
    }
    let (code, events) = device.finish().await;
    assert_eq!(code, 0, "{events:?}");
    assert_eq!(f.server.hsm_user_signatures().await, before, "the device's answer alone signs nothing");

    // The Sign page shows the same, and the person confirms there.
    let id = pushed["request_id"].as_str().unwrap();
    let page = f.browser.request(id).await.unwrap();
    assert_eq!(page.requester, PLATFORM);
    assert_eq!(page.summary_hash, pushed["summary_sha256"].as_str().unwrap(), "both channels have one summary");
    let summary = f.browser.bytes(&format!("/api/requests/{id}/summary")).await.unwrap();
    let on_page: Value = serde_json::from_slice(&summary).unwrap();
    assert_eq!(shown_text(&on_page["lines"]), on_device, "both channels show the same lines");
    let confirmed = f.browser.confirm_as_displayed(id).await.unwrap();
    assert_eq!(confirmed.state, RequestState::Authorized, "{confirmed:?}");

    let (code, events) = client.finish().await;
    assert_eq!(code, 0, "pyHanko failed: {events:?}");
    assert_eq!(f.server.hsm_user_signatures().await, before + batch as u64);
    assert_eq!(f.browser.request(id).await.unwrap().state, RequestState::Signed, "every hash is used");

    let ca = f.server.get_ca_pem().await;
    for output in &outputs {
        let signed = std::fs::read(output).unwrap();
        assert!(signed.starts_with(&unsigned), "pyHanko appends an incremental update");
        let verdict = pdfsig(dir.path(), &ca, &signed);
        for expected in ["Signature is Valid.", "Certificate is Trusted.", "Total document signed"] {
            assert!(verdict.contains(expected), "pdfsig: {expected:?} missing:\n{verdict}");
        }
        let report = pyhanko_client_signed(dir.path(), &ca, &signed).unwrap_or_else(|e| panic!("pyHanko: {e}"));
        assert!(report.contains("Common Name: ann"), "{report}");
    }
}

fn pyhanko_client_signed(dir: &Path, ca: &str, pdf: &[u8]) -> Result<String, String> {
    pyhanko(dir, ca, pdf, &["--client-signed"])
}

#[tokio::test]
async fn pyhanko_signs_a_pdf_through_csc_v1_after_both_channels_confirmed_on_sqlite() {
    pyhanko_signs_through_v1(Db::Sqlite, 1).await;
}

#[tokio::test]
async fn pyhanko_signs_a_batch_of_three_with_one_authorization_on_postgres() {
    pyhanko_signs_through_v1(Db::Postgres, 3).await;
}

/// `credentials/authorize` (v2): 202 and a handle, at once.
async fn start_authorization(csc: &CscClient, credential: &str, hashes: &[String]) -> String {
    let answer = csc
        .post(
            "credentials/authorize",
            &json!({"credentialID": credential, "numSignatures": hashes.len(), "hashes": hashes,
                    "hashAlgorithmOID": OID_SHA256, "description": "Loan agreement 2026-118"}),
        )
        .await;
    assert_eq!(answer.status, 202, "{}", answer.body);
    answer.body["handle"].as_str().expect("a handle").to_owned()
}

/// Starts an authorization, has the person confirm it on both channels and
/// collects the SAD with `authorizeCheck`.
async fn authorized(f: &Fixture, csc: &CscClient, credential: &str, hashes: &[String]) -> (String, String) {
    let mut device = f.device.answer("approve");
    device.wait_for("connected").await;
    let handle = start_authorization(csc, credential, hashes).await;
    let waiting = csc.post("credentials/authorizeCheck", &json!({"handle": handle})).await;
    assert_eq!((waiting.status, &waiting.body["handle"]), (202, &json!(handle)), "not confirmed yet");
    let (code, events) = device.finish().await;
    assert_eq!(code, 0, "{events:?}");
    assert_eq!(f.browser.confirm_as_displayed(&handle).await.unwrap().state, RequestState::Authorized);
    let sad = csc.post("credentials/authorizeCheck", &json!({"handle": handle})).await.ok();
    assert!(sad["expiresIn"].as_u64().is_some_and(|s| s > 0), "{sad}");
    (handle, sad["SAD"].as_str().unwrap().to_owned())
}

fn sign_body(credential: &str, sad: &str, hashes: &[&str]) -> Value {
    json!({"credentialID": credential, "SAD": sad, "hashes": hashes, "hashAlgorithmOID": OID_SHA256,
           "signAlgo": OID_ECDSA_WITH_SHA256})
}

fn assert_refused(answer: &CscAnswer, status: u16, error: &str, description: &str) {
    assert_eq!(answer.status, status, "{}", answer.body);
    assert_eq!(answer.error(), error, "{}", answer.body);
    let said = answer.body["error_description"].as_str().unwrap_or_default();
    assert!(said.contains(description), "{description:?} not in {}", answer.body);
}

/// `openssl pkeyutl -verify` of a DER ECDSA signature over a SHA-256 digest
/// with the public key of the certificate (standard base64 DER).
pub(crate) fn openssl_verifies(dir: &Path, certificate_b64: &str, digest_b64: &str, signature: &[u8]) -> bool {
    let engine = base64::engine::general_purpose::STANDARD;
    let (cert, key, hash, sig) = (dir.join("cert.der"), dir.join("key.pem"), dir.join("hash.bin"), dir.join("sig.der"));
    std::fs::write(&cert, engine.decode(certificate_b64).unwrap()).unwrap();
    std::fs::write(&hash, engine.decode(digest_b64).unwrap()).unwrap();
    std::fs::write(&sig, signature).unwrap();
    let exported = Command::new("openssl")
        .args(["x509", "-inform", "DER", "-pubkey", "-noout", "-in"])
        .arg(&cert)
        .output()
        .expect("openssl x509");
    assert!(exported.status.success());
    std::fs::write(&key, exported.stdout).unwrap();
    Command::new("openssl")
        .args(["pkeyutl", "-verify", "-pubin", "-inkey"])
        .arg(&key)
        .arg("-in")
        .arg(&hash)
        .arg("-sigfile")
        .arg(&sig)
        .output()
        .expect("openssl pkeyutl")
        .status
        .success()
}

#[tokio::test]
async fn a_v2_client_polls_authorize_check_and_every_misuse_of_the_sad_is_refused() {
    let f = Fixture::new(Db::Sqlite).await;
    let rp = platform(&f.server);
    let csc = CscClient::new(&f.server.origin, "v2", Some(&rp.api_key));
    // carl is served by the same platform; dora only by another one.
    f.server.create_user_with("carl", &["--relying-party", &rp.rp_id]);
    let other = f.server.create_rp("Other Platform", MEDIA_TYPE_HASHES, None);
    f.server.create_user_with("dora", &["--relying-party", &other.rp_id]);
    let other_csc = CscClient::new(&f.server.origin, "v2", Some(&other.api_key));

    let info = CscClient::new(&f.server.origin, "v2", None).post("info", &json!({})).await.ok();
    assert_eq!(info["specs"], "2.0.0.2");
    assert!(info["methods"].as_array().unwrap().contains(&json!("credentials/authorizeCheck")));
    assert_eq!(info["signAlgorithms"]["algos"], json!([OID_ECDSA_WITH_SHA256]));

    let ann = csc.credential_of("ann").await;
    let carl = csc.credential_of("carl").await;
    let dora = other_csc.credential_of("dora").await;
    let described = csc.post("credentials/info", &json!({"credentialID": ann, "certificates": "chain"})).await.ok();
    assert_eq!(described["key"]["algo"], json!([OID_ECDSA_WITH_SHA256]));
    assert_eq!(
        (described["key"]["status"].as_str(), described["cert"]["status"].as_str()),
        (Some("enabled"), Some("valid"))
    );
    assert_eq!((described["SCAL"].as_str(), described["auth"]["mode"].as_str()), (Some("2"), Some("explicit")));
    assert!(described["multisign"].as_u64().is_some_and(|n| n >= 2));
    let certificates = described["cert"]["certificates"].as_array().unwrap();
    assert_eq!(certificates.len(), 2, "end entity, then our CA");
    let ann_certificate = certificates[0].as_str().unwrap().to_owned();

    // A party sees only the signers it serves, and a bad token nothing.
    for refused in [
        csc.post("credentials/list", &json!({"userID": "dora"})).await,
        csc.post("credentials/info", &json!({"credentialID": dora})).await,
        csc.post("credentials/authorize", &json!({"credentialID": dora, "numSignatures": 1, "hashes": [digest("x")]}))
            .await,
    ] {
        assert_refused(&refused, 400, "invalid_request", "Invalid parameter");
    }
    let mut forged = rp.api_key.clone();
    forged.push('x');
    let stranger = CscClient::new(&f.server.origin, "v2", Some(&forged));
    assert_refused(&stranger.post("credentials/list", &json!({"userID": "ann"})).await, 401, "invalid_token", "");
    let anonymous = CscClient::new(&f.server.origin, "v2", None);
    assert_refused(&anonymous.post("credentials/list", &json!({"userID": "ann"})).await, 400, "invalid_request", "");

    // SCAL 2: the hashes come with the authorization, as many as numSignatures.
    let (h1, h2, h3) = (digest("first page"), digest("second page"), digest("never confirmed"));
    let too_many =
        csc.post("credentials/authorize", &json!({"credentialID": ann, "numSignatures": 1, "hashes": [h1, h2]})).await;
    assert_refused(&too_many, 400, "invalid_request", "numSignatures");
    let over_multisign = csc.post("credentials/authorize", &json!({"credentialID": ann, "numSignatures": 101})).await;
    assert_refused(&over_multisign, 400, "invalid_request", "too high");
    assert!(f.browser.history().await.unwrap().is_empty(), "a refused authorize leaves no request");

    let before = f.server.hsm_user_signatures().await;
    let (handle, sad) = authorized(&f, &csc, &ann, &[h1.clone(), h2.clone()]).await;
    let again = csc.post("credentials/authorizeCheck", &json!({"handle": handle})).await;
    assert_refused(&again, 400, "invalid_request", "");

    // Nothing the person did not confirm, and not through someone else.
    let unconfirmed = csc.post("signatures/signHash", &sign_body(&ann, &sad, &[&h3])).await;
    assert_refused(&unconfirmed, 400, "invalid_request", "Hash is not authorized by the SAD");
    let mixed = csc.post("signatures/signHash", &sign_body(&ann, &sad, &[&h1, &h3])).await;
    assert_refused(&mixed, 400, "invalid_request", "Hash is not authorized by the SAD");
    let twice_in_one = csc.post("signatures/signHash", &sign_body(&ann, &sad, &[&h1, &h1])).await;
    assert_refused(&twice_in_one, 400, "invalid_request", "Hash is not authorized by the SAD");
    let for_carl = csc.post("signatures/signHash", &sign_body(&carl, &sad, &[&h1])).await;
    assert_refused(&for_carl, 400, "invalid_request", "Invalid parameter SAD");
    let by_other_party = other_csc.post("signatures/signHash", &sign_body(&ann, &sad, &[&h1])).await;
    assert_refused(&by_other_party, 400, "invalid_request", "Invalid parameter credentialID");
    let guessed = csc.post("signatures/signHash", &sign_body(&ann, &format!("{sad}x"), &[&h1])).await;
    assert_refused(&guessed, 400, "invalid_request", "Invalid parameter SAD");
    assert_eq!(f.server.hsm_user_signatures().await, before, "no refusal reached the HSM");

    // Each confirmed hash once: signed, verified by openssl, then used up.
    let first = csc.post("signatures/signHash", &sign_body(&ann, &sad, &[&h1])).await.ok();
    let signature = base64::engine::general_purpose::STANDARD.decode(first["signatures"][0].as_str().unwrap()).unwrap();
    assert!(openssl_verifies(f.server.dir.path(), &ann_certificate, &h1, &signature), "not a DER ECDSA-Sig-Value");
    assert!(!openssl_verifies(f.server.dir.path(), &ann_certificate, &h2, &signature));
    let replayed = csc.post("signatures/signHash", &sign_body(&ann, &sad, &[&h1])).await;
    assert_refused(&replayed, 400, "invalid_request", "Hash is not authorized by the SAD");
    assert_eq!(f.browser.request(&handle).await.unwrap().state, RequestState::Authorized, "h2 is still open");
    csc.post("signatures/signHash", &sign_body(&ann, &sad, &[&h2])).await.ok();
    assert_eq!(f.browser.request(&handle).await.unwrap().state, RequestState::Signed);
    let used_up = csc.post("signatures/signHash", &sign_body(&ann, &sad, &[&h2])).await;
    assert_refused(&used_up, 400, "invalid_request", "Invalid parameter SAD");
    assert_eq!(f.server.hsm_user_signatures().await, before + 2);

    // A SAD outlives neither its lifetime nor its request.
    let h4 = digest("late page");
    let (late, late_sad) = authorized(&f, &csc, &ann, std::slice::from_ref(&h4)).await;
    f.server.advance_clock(301).await;
    let expired = csc.post("signatures/signHash", &sign_body(&ann, &late_sad, &[&h4])).await;
    assert_refused(&expired, 400, "invalid_request", "SAD expired");
    assert_eq!(f.server.hsm_user_signatures().await, before + 2, "nothing signed after the SAD expired");
    let ended = f.browser.wait_until_settled(&late).await;
    assert_eq!(ended.state, RequestState::Failed, "the sweeper ends an expired authorization: {ended:?}");

    // Methods this service does not offer say so.
    let missing = csc.post("credentials/sendOTP", &json!({"credentialID": ann})).await;
    assert_eq!(missing.status, 501, "{}", missing.body);
}

/// A large authorization signed in one call on two HSM threads: the first
/// signatures are stored while the HSM signs the last ones. Every
/// signature the client gets verifies over its own hash, in the order
/// sent, and every one is in the database before the answer; the request
/// is signed once the last hash is.
#[tokio::test]
async fn forty_hashes_in_one_sign_hash_on_two_hsm_threads_are_each_signed_once_and_all_recorded() {
    use sqlx::Connection;
    let f = Fixture::with_args(Db::Sqlite, &["--hsm-signing-threads", "2"]).await;
    let rp = platform(&f.server);
    let csc = CscClient::new(&f.server.origin, "v2", Some(&rp.api_key));
    let ann = csc.credential_of("ann").await;
    let described = csc.post("credentials/info", &json!({"credentialID": ann, "certificates": "single"})).await.ok();
    let certificate = described["cert"]["certificates"][0].as_str().unwrap().to_owned();
    let hashes: Vec<String> = (0..40).map(|i| digest(&format!("page {i}"))).collect();
    let (handle, sad) = authorized(&f, &csc, &ann, &hashes).await;
    let before = f.server.hsm_user_signatures().await;
    // Sent in another order than authorized: each answer is for the hash at its place.
    let mut order: Vec<&str> = hashes.iter().map(String::as_str).collect();
    order.reverse();
    let signed = csc.post("signatures/signHash", &sign_body(&ann, &sad, &order)).await.ok();
    let signatures: Vec<Vec<u8>> = signed["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| base64::engine::general_purpose::STANDARD.decode(s.as_str().unwrap()).unwrap())
        .collect();
    assert_eq!(signatures.len(), 40);
    for (hash, signature) in order.iter().zip(&signatures) {
        assert!(openssl_verifies(f.server.dir.path(), &certificate, hash, signature), "{hash} not signed at its place");
    }
    assert_eq!(f.server.hsm_user_signatures().await, before + 40, "each hash signed once");
    assert_eq!(f.browser.request(&handle).await.unwrap().state, RequestState::Signed);

    let db = f.server.data_dir().join("wysiwys.sqlite3");
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display())).await.unwrap();
    type HashRow = (i64, Vec<u8>, Option<i64>, Option<Vec<u8>>);
    let rows: Vec<HashRow> = sqlx::query_as(
        "SELECT position, digest, used_at, signature FROM csc_hashes WHERE request_id = ? ORDER BY position",
    )
    .bind(&handle)
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert_eq!(rows.len(), 40);
    for (position, digest_bytes, used_at, stored) in rows {
        assert!(used_at.is_some(), "hash {position} not marked used");
        let sent_at = order.iter().position(|h| *h == b64(&digest_bytes)).unwrap();
        assert_eq!(stored.as_deref(), Some(signatures[sent_at].as_slice()), "hash {position}: stored ≠ returned");
    }
    let again = csc.post("signatures/signHash", &sign_body(&ann, &sad, &order[..1])).await;
    assert_refused(&again, 400, "invalid_request", "Invalid parameter SAD");
}

/// `signDoc`: the documents themselves, shown on both channels during the
/// call (one PDF and one letter: a batch), answered with PAdES and
/// detached CAdES that pdfsig and openssl accept. Every parameter it does
/// not offer is refused before anything reaches the person.
#[tokio::test]
async fn sign_doc_shows_the_documents_on_both_channels_and_returns_pades_and_cades() {
    let f = Fixture::new(Db::Sqlite).await;
    let rp = f.server.create_rp(PLATFORM, "application/pdf,text/plain", None);
    f.server.link_user("ann", &rp.rp_id);
    let csc = CscClient::new(&f.server.origin, "v2", Some(&rp.api_key));
    let credential = csc.credential_of("ann").await;
    let pdf = decision_pdf();
    let letter = crate::fixture::LETTER;
    let document = |content: &[u8], format: &str| {
        json!({"document": b64(content), "signature_format": format, "conformance_level": "Ades-B-T",
               "signAlgo": OID_ECDSA_WITH_SHA256})
    };
    let sign_doc = |documents: Vec<Value>, extra: Value| {
        let mut body = json!({"credentialID": credential, "documents": documents});
        for (k, v) in extra.as_object().cloned().unwrap_or_default() {
            body[k] = v;
        }
        body
    };
    let mut xades = document(letter.as_bytes(), "X");
    let mut unknown_level = document(&pdf, "P");
    unknown_level["conformance_level"] = json!("Ades-B-XL");
    let mut long_term_letter = document(letter.as_bytes(), "C");
    long_term_letter["conformance_level"] = json!("Ades-B-LTA");
    let mut long_term_pdf = document(&pdf, "P");
    long_term_pdf["conformance_level"] = json!("Ades-B-LTA");
    let refusals = [
        (sign_doc(vec![xades.take()], json!({})), "signature_format"),
        (sign_doc(vec![unknown_level], json!({})), "conformance_level: one of"),
        (sign_doc(vec![long_term_letter], json!({})), "CAdES (C) is offered at Ades-B-B and Ades-B-T"),
        (sign_doc(vec![long_term_pdf, document(letter.as_bytes(), "C")], json!({})), "one level for all"),
        (sign_doc(vec![document(letter.as_bytes(), "P")], json!({})), "needs a PDF"),
        (sign_doc(vec![document(&pdf, "P")], json!({"SAD": "wysiwys_sad_x"})), "takes no SAD"),
        (sign_doc(vec![], json!({})), "documents"),
    ];
    for (body, said) in refusals {
        let answer = csc.post("signatures/signDoc", &body).await;
        assert_eq!((answer.status, answer.error()), (400, "invalid_request"), "{}", answer.body);
        assert!(answer.body["error_description"].as_str().unwrap().contains(said), "{said}: {}", answer.body);
    }
    assert!(f.browser.history().await.unwrap().is_empty(), "nothing reached the person");

    let info = csc.post("info", &json!({})).await.ok();
    assert_eq!(info["signature_formats"]["formats"], json!(["C", "P"]));
    assert_eq!(info["conformance_levels"], json!(["Ades-B-B", "Ades-B-T", "Ades-B-LT", "Ades-B-LTA"]));
    assert!(info["methods"].to_string().contains("signatures/signDoc"));

    let mut device = f.device.answer("approve");
    device.wait_for("connected").await;
    let mut decision = document(&pdf, "P");
    decision["display"] = json!({"title": "Decision 2026-4411", "lines": [{"label": "Case", "value": "2026-4411"}]});
    let no_display = csc.post("signatures/signDoc", &sign_doc(vec![document(&pdf, "P")], json!({}))).await;
    assert_eq!(
        no_display.wysiwys_error(),
        "DOCUMENT_INVALID",
        "a PDF needs what both channels show: {}",
        no_display.body
    );
    let body = sign_doc(vec![decision, document(letter.as_bytes(), "C")], json!({}));
    let client = csc.clone();
    let call = tokio::spawn(async move { client.post("signatures/signDoc", &body).await });
    let pushed = device.wait_for("request").await;
    assert_eq!(pushed["requester"], PLATFORM);
    let (code, events) = device.finish().await;
    assert_eq!(code, 0, "{events:?}");
    let id = pushed["request_id"].as_str().unwrap();
    let documents = f.browser.request(id).await.unwrap();
    assert_eq!(documents.requester, PLATFORM);
    f.browser.confirm_as_displayed(id).await.unwrap();
    let answer = call.await.unwrap().ok();
    let dir = tempfile::tempdir().unwrap();
    let ca = f.server.get_ca_pem().await;
    let engine = base64::engine::general_purpose::STANDARD;
    let signed_pdf = engine.decode(answer["DocumentWithSignature"][0].as_str().unwrap()).unwrap();
    assert!(signed_pdf.starts_with(&pdf), "an incremental update of the PDF sent");
    let verdict = pdfsig(dir.path(), &ca, &signed_pdf);
    assert!(verdict.contains("Signature is Valid."), "{verdict}");
    let p7s = engine.decode(answer["SignatureObject"][0].as_str().unwrap()).unwrap();
    crate::fixture::openssl_verify(dir.path(), &ca, letter.as_bytes(), &p7s).expect("openssl verifies the CAdES");
    assert!(wysiwys_tests::signature::signature_timestamp(&p7s).is_ok(), "Ades-B-T: the CAdES carries a token");
    let signed = f.browser.request(id).await.unwrap();
    assert_eq!(signed.state, RequestState::Signed);
    assert_eq!(signed.signature_level, Some(wysiwys_proto::signature_level::SignatureLevel::BaselineT));
}
