//! The certificate lifecycle as every verifier sees it: OCSP (`openssl
//! ocsp`) and the CRL (`openssl crl`) say revoked or on hold, the SAM signs
//! nothing with such a credential, open requests end, and a signature made
//! before the revocation keeps a timestamp from before it.

use crate::fixture::{Fixture, LETTER};
use std::path::Path;
use std::process::Command;
use wysiwys_proto::ErrorCode;
use wysiwys_proto::api::RequestState;
use wysiwys_tests::Db;

fn openssl(args: &[&str], dir: &Path) -> Result<String, String> {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("run openssl");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if out.status.success() { Ok(text) } else { Err(text) }
}

fn pem(der: &[u8]) -> String {
    wysiwys_server::pki::to_pem("CERTIFICATE", der)
}

/// Writes ca.pem and ann.pem (the user's certificate, from a signature).
async fn write_certificates(f: &Fixture, p7s: &[u8]) {
    let dir = f.server.dir.path();
    std::fs::write(dir.join("ca.pem"), f.server.get_ca_pem().await).unwrap();
    for der in wysiwys_tests::signature::certificates(p7s).unwrap() {
        std::fs::write(dir.join("cert.pem"), pem(&der)).unwrap();
        let text = openssl(&["x509", "-in", "cert.pem", "-noout", "-subject"], dir).unwrap();
        if text.contains("CN = ann") {
            std::fs::write(dir.join("ann.pem"), pem(&der)).unwrap();
            return;
        }
    }
    panic!("no certificate of ann in the signature");
}

fn ocsp(f: &Fixture) -> String {
    let url = format!("{}/api/pki/ocsp", f.server.origin);
    openssl(
        &["ocsp", "-issuer", "ca.pem", "-cert", "ann.pem", "-url", &url, "-CAfile", "ca.pem", "-resp_text"],
        f.server.dir.path(),
    )
    .expect("openssl ocsp")
}

async fn crl_text(f: &Fixture) -> String {
    let der = reqwest::get(format!("{}/api/pki/crl", f.server.origin)).await.unwrap().bytes().await.unwrap();
    std::fs::write(f.server.dir.path().join("crl.der"), &der).unwrap();
    openssl(&["crl", "-inform", "DER", "-in", "crl.der", "-CAfile", "ca.pem", "-text", "-noout"], f.server.dir.path())
        .expect("openssl crl verifies the CRL")
}

/// "Dec  7 10:40:12 2026 GMT" (OpenSSL's way) as seconds since the epoch.
fn openssl_time(text: &str) -> i64 {
    let parts: Vec<&str> = text.split_whitespace().collect();
    let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        .iter()
        .position(|m| *m == parts[0])
        .expect("month") as u8
        + 1;
    let hms: Vec<u8> = parts[2].split(['.', ':']).take(3).map(|n| n.parse().unwrap()).collect();
    let date =
        time::Date::from_calendar_date(parts[3].parse().unwrap(), month.try_into().unwrap(), parts[1].parse().unwrap())
            .unwrap();
    time::PrimitiveDateTime::new(date, time::Time::from_hms(hms[0], hms[1], hms[2]).unwrap())
        .assume_utc()
        .unix_timestamp()
}

fn line_value<'a>(text: &'a str, label: &str) -> &'a str {
    text.lines().find_map(|l| l.trim().strip_prefix(label)).unwrap_or_else(|| panic!("no {label} in\n{text}")).trim()
}

#[tokio::test]
async fn a_revoked_credential_signs_nothing_and_ocsp_and_the_crl_say_so() {
    let f = Fixture::new(Db::Sqlite).await;
    let (before_id, signed) = f.approve_and_confirm_letter().await;
    assert_eq!(signed.expect("signed before the revocation").state, RequestState::Signed);
    let p7s = f.browser.signature(&before_id).await.unwrap();
    write_certificates(&f, &p7s).await;
    let dir = f.server.dir.path();
    let certificate = openssl(&["x509", "-in", "ann.pem", "-noout", "-text"], dir).unwrap();
    assert!(certificate.contains(&format!("URI:{}/api/pki/crl", f.server.origin)), "{certificate}");
    assert!(certificate.contains(&format!("OCSP - URI:{}/api/pki/ocsp", f.server.origin)), "{certificate}");
    let answer = ocsp(&f);
    assert!(answer.contains("Response verify OK") && answer.contains("ann.pem: good"), "{answer}");
    assert!(!crl_text(&f).await.contains("Serial Number:"), "nothing is revoked yet");

    // A request waiting on both channels when the operator revokes, and
    // one a relying party made, whose webhook must say how it ended.
    let waiting = f.browser.upload_letter(LETTER).await.unwrap();
    let mut receiver = wysiwys_tests::relying_party::WebhookReceiver::start().await;
    let party =
        wysiwys_tests::Bank::new(&f.server, f.server.create_rp("Tax Agency", "text/plain", Some(&receiver.url())));
    let letter = serde_json::json!({"signer": {"username": "ann"}, "media_type": "text/plain",
        "document_b64": wysiwys_proto::b64::encode_standard(LETTER.as_bytes())});
    let of_the_party = party.create(&letter, None).await.unwrap();
    let revoked: serde_json::Value =
        serde_json::from_slice(&f.server.admin(&["revoke-credential", "ann", "--reason", "keyCompromise", "--json"]))
            .unwrap();
    assert_eq!(revoked["status"], "revoked");
    assert_eq!(revoked["requests_ended"], 2);
    let delivery = receiver.next(std::time::Duration::from_secs(20)).await.expect("the party hears of it");
    let event: wysiwys_proto::rp::WebhookEvent = serde_json::from_slice(&delivery.body).unwrap();
    assert_eq!((event.kind.as_str(), event.request.id.as_str()), ("sign_request.failed", of_the_party.id.as_str()));
    assert_eq!(event.request.error.map(|e| e.error), Some(ErrorCode::CredentialRevoked));
    let ended = f.browser.request(&waiting.id).await.unwrap();
    assert_eq!(ended.state, RequestState::Failed);
    assert_eq!(ended.error.map(|e| e.error), Some(ErrorCode::CredentialRevoked));

    // Nothing new reaches the person, and the ended request cannot be confirmed.
    let hsm_before = f.server.hsm_user_signatures().await;
    let refused = f.browser.upload_letter(LETTER).await.expect_err("a revoked credential gets no request");
    assert_eq!((refused.status, refused.code()), (403, ErrorCode::CredentialRevoked));
    let late = f.browser.confirm_as_displayed(&waiting.id).await.expect_err("ended");
    assert_eq!(late.code(), ErrorCode::RequestNotPending);
    assert_eq!(f.server.hsm_user_signatures().await, hsm_before, "the HSM was not asked");

    let answer = ocsp(&f);
    assert!(answer.contains("Response verify OK") && answer.contains("ann.pem: revoked"), "{answer}");
    assert!(answer.contains("Reason: keyCompromise"), "{answer}");
    let serial =
        line_value(&openssl(&["x509", "-in", "ann.pem", "-noout", "-serial"], dir).unwrap(), "serial=").to_owned();
    let crl = crl_text(&f).await;
    assert!(crl.contains(&format!("Serial Number: {serial}")) && crl.contains("Key Compromise"), "{serial}\n{crl}");

    // The signature made before keeps a trusted time from before the revocation.
    let (token, _) = wysiwys_tests::signature::signature_timestamp(&p7s).unwrap();
    std::fs::write(dir.join("token.der"), token).unwrap();
    let token_text = openssl(&["ts", "-reply", "-token_in", "-in", "token.der", "-text"], dir).unwrap();
    let stamped = openssl_time(line_value(&token_text, "Time stamp:"));
    let revoked_at = openssl_time(line_value(&answer, "Revocation Time:"));
    assert!(stamped <= revoked_at, "stamped {stamped}, revoked {revoked_at}");
    // Revoking twice is refused; nothing changes.
    let again = Command::new(wysiwys_tests::workspace_bin("wysiwys-server"))
        .args(["revoke-credential", "--data-dir"])
        .arg(dir)
        .arg("ann")
        .env_remove("SOFTHSM2_CONF")
        .output()
        .unwrap();
    assert!(!again.status.success());
}

#[tokio::test]
async fn a_suspension_holds_signing_until_it_is_resumed_and_a_renewal_signs_on_postgres() {
    let f = Fixture::new(Db::Postgres).await;
    let (id, signed) = f.approve_and_confirm_letter().await;
    signed.expect("signed");
    write_certificates(&f, &f.browser.signature(&id).await.unwrap()).await;

    let suspended: serde_json::Value =
        serde_json::from_slice(&f.server.admin(&["suspend-credential", "ann", "--json"])).unwrap();
    assert_eq!(suspended["status"], "suspended");
    let answer = ocsp(&f);
    assert!(answer.contains("ann.pem: revoked") && answer.contains("Reason: certificateHold"), "{answer}");
    assert!(crl_text(&f).await.contains("Certificate Hold"));
    let refused = f.browser.upload_letter(LETTER).await.expect_err("held");
    assert_eq!((refused.status, refused.code()), (403, ErrorCode::CredentialSuspended));

    let resumed: serde_json::Value =
        serde_json::from_slice(&f.server.admin(&["resume-credential", "ann", "--json"])).unwrap();
    assert_eq!(resumed["status"], "valid");
    assert!(ocsp(&f).contains("ann.pem: good"));
    assert!(!crl_text(&f).await.contains("Serial Number:"), "a resumed certificate leaves the CRL");
    let (_, signed) = f.approve_and_confirm_letter().await;
    assert_eq!(signed.expect("signs again").state, RequestState::Signed);

    // Renewal: a new certificate for the same key; the next signature carries it.
    let dir = f.server.dir.path();
    let old_serial =
        line_value(&openssl(&["x509", "-in", "ann.pem", "-noout", "-serial"], dir).unwrap(), "serial=").to_lowercase();
    let renewed: serde_json::Value =
        serde_json::from_slice(&f.server.admin(&["renew-credential", "ann", "--json"])).unwrap();
    assert_eq!(renewed["status"], "valid");
    let new_serial = renewed["serial"].as_str().unwrap().to_owned();
    assert_ne!(new_serial, old_serial);
    let (id, signed) = f.approve_and_confirm_letter().await;
    assert_eq!(signed.expect("signs with the renewed certificate").state, RequestState::Signed);
    write_certificates(&f, &f.browser.signature(&id).await.unwrap()).await;
    let serial =
        line_value(&openssl(&["x509", "-in", "ann.pem", "-noout", "-serial"], dir).unwrap(), "serial=").to_lowercase();
    assert_eq!(serial.trim_start_matches('0'), new_serial.trim_start_matches('0'));
    assert!(ocsp(&f).contains("ann.pem: good"));
}

/// An expired certificate signs nothing either: two years and a day on,
/// a relying party's request for the person is refused before it reaches
/// her (`CREDENTIAL_EXPIRED`), and OCSP still answers about the serial.
#[tokio::test]
async fn an_expired_certificate_signs_nothing() {
    let f = Fixture::new(Db::Sqlite).await;
    let (id, signed) = f.approve_and_confirm_letter().await;
    signed.expect("signed while valid");
    write_certificates(&f, &f.browser.signature(&id).await.unwrap()).await;
    let party = wysiwys_tests::Bank::new(&f.server, f.server.create_rp("Tax Agency", "text/plain", None));
    let letter = serde_json::json!({"signer": {"username": "ann"}, "media_type": "text/plain",
        "document_b64": wysiwys_proto::b64::encode_standard(LETTER.as_bytes())});
    let hsm_before = f.server.hsm_user_signatures().await;
    f.server.advance_clock((2 * 365 + 1) * 86_400).await;
    let refused = party.create(&letter, None).await.expect_err("expired");
    assert_eq!((refused.status, refused.code()), (403, ErrorCode::CredentialExpired), "{refused:?}");
    assert_eq!(f.server.hsm_user_signatures().await, hsm_before, "the HSM was not asked");
    assert!(ocsp(&f).contains("Response verify OK"), "OCSP still answers");
}
