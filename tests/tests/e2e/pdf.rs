//! PDFs from a relying party: both channels confirm, the result is a
//! PAdES-B-B signature inside the PDF that poppler's pdfsig and pyHanko
//! accept against our CA, and that breaks when a byte changes.

use crate::fixture::{Fixture, decision_pdf};
use base64::Engine;
use std::path::Path;
use std::process::Command;
use wysiwys_proto::ErrorCode;
use wysiwys_proto::api::RequestState;
use wysiwys_proto::summary::MEDIA_TYPE_PDF;
use wysiwys_tests::{Bank, Db};

/// poppler's verdict, with an NSS database that trusts only our CA.
pub fn pdfsig(dir: &Path, ca_pem: &str, pdf: &[u8]) -> String {
    let nss = dir.join("nssdb");
    if !nss.exists() {
        std::fs::create_dir_all(&nss).unwrap();
        std::fs::write(dir.join("ca.pem"), ca_pem).unwrap();
        let db = format!("sql:{}", nss.display());
        let made = Command::new("certutil").args(["-N", "-d", &db, "--empty-password"]).status().expect("certutil");
        assert!(made.success());
        let added = Command::new("certutil")
            .args(["-A", "-d", &db, "-n", "wysiwys test CA", "-t", "CT,C,C", "-a", "-i"])
            .arg(dir.join("ca.pem"))
            .status()
            .expect("certutil");
        assert!(added.success());
    }
    let file = dir.join("checked.pdf");
    std::fs::write(&file, pdf).unwrap();
    let out = Command::new("pdfsig").arg("-nssdir").arg(&nss).arg(&file).output().expect("pdfsig (poppler-utils)");
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

pub fn pyhanko(dir: &Path, ca_pem: &str, pdf: &[u8]) -> Result<String, String> {
    let (file, ca) = (dir.join("pyhanko.pdf"), dir.join("pyhanko-ca.pem"));
    std::fs::write(&file, pdf).unwrap();
    std::fs::write(&ca, ca_pem).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("interop/verify_pades.py");
    let out = Command::new("python3").arg(script).arg(&file).arg(&ca).output().expect("python3");
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    if out.status.success() { Ok(text) } else { Err(text) }
}

async fn a_pdf_is_signed(db: Db) {
    let f = Fixture::new(db).await;
    let agency = Bank::new(&f.server, f.server.create_rp("Tax Agency", MEDIA_TYPE_PDF, None));
    let pdf = decision_pdf();
    let body = serde_json::json!({
        "signer": {"username": "ann"},
        "media_type": MEDIA_TYPE_PDF,
        "document_b64": base64::engine::general_purpose::STANDARD.encode(&pdf),
        "reference": "case-2026-77",
        "display": {"title": "Tax decision 2025", "lines": [
            {"label": "Case", "value": "2026-77"},
            {"label": "Amount due", "value": "0.00 SEK"},
        ]},
    });
    let before = f.server.hsm_user_signatures().await;
    let mut answer = f.device.answer("approve");
    answer.wait_for("connected").await;
    let created = agency.create(&body, None).await.unwrap();
    assert_eq!(created.title, "Tax decision 2025");
    let pages = created.summary_lines.last().unwrap();
    assert_eq!((pages.label.as_str(), pages.value.as_str()), ("Pages", "2"));

    let shown = answer.wait_for("request").await;
    assert_eq!(shown["requester"], "Tax Agency");
    assert_eq!(shown["lines"][1]["value"], "0.00 SEK");
    let (code, events) = answer.finish().await;
    assert_eq!(code, 0, "{events:?}");
    // The browser received the PDF itself and confirms its exact bytes.
    assert_eq!(f.browser.bytes(&format!("/api/requests/{}/document", created.id)).await.unwrap(), pdf);
    let signed_view = f.browser.confirm_as_displayed(&created.id).await.unwrap();
    assert_eq!(signed_view.state, RequestState::Signed, "{signed_view:?}");
    assert_eq!(f.server.hsm_user_signatures().await, before + 1);

    let signed = agency.signature(&created.id).await.unwrap();
    assert!(signed.starts_with(&pdf), "the confirmed bytes open the signed file unchanged");
    assert_eq!(f.browser.signature(&created.id).await.unwrap(), signed);
    let ca = f.server.get_ca_pem().await;
    let dir = f.server.dir.path();
    let verdict = pdfsig(dir, &ca, &signed);
    for expected in [
        "Signature Type: ETSI.CAdES.detached",
        "Total document signed",
        "Signature is Valid.",
        "Certificate is Trusted.",
    ] {
        assert!(verdict.contains(expected), "pdfsig: {expected:?} missing:\n{verdict}");
    }
    let report = pyhanko(dir, &ca, &signed).unwrap_or_else(|e| panic!("pyHanko refused the signature:\n{e}"));
    assert!(report.contains(&created.doc_hash), "the evidence names the confirmed PDF:\n{report}");

    // One changed byte in the confirmed part breaks the signature.
    let mut tampered = signed.clone();
    let at = signed.windows(6).position(|w| w == b"0.00 S").unwrap();
    tampered[at] = b'9';
    assert!(pdfsig(dir, &ca, &tampered).contains("Digest Mismatch"));
    assert!(pyhanko(dir, &ca, &tampered).is_err());
}

#[tokio::test]
async fn a_pdf_is_signed_as_pades_on_sqlite() {
    a_pdf_is_signed(Db::Sqlite).await;
}

#[tokio::test]
async fn a_pdf_is_signed_as_pades_on_postgres() {
    a_pdf_is_signed(Db::Postgres).await;
}

#[tokio::test]
async fn pdfs_need_display_fields_and_must_be_pdfs() {
    let f = Fixture::new(Db::Sqlite).await;
    let agency = Bank::new(&f.server, f.server.create_rp("Tax Agency", MEDIA_TYPE_PDF, None));
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let request = |document: &[u8], display: serde_json::Value| serde_json::json!({"signer": {"username": "ann"}, "media_type": MEDIA_TYPE_PDF, "document_b64": b64(document), "display": display});
    let display = serde_json::json!({"title": "Decision", "lines": []});
    let no_fields = agency.create(&request(&decision_pdf(), serde_json::Value::Null), None).await.unwrap_err();
    assert_eq!(no_fields.code(), ErrorCode::DocumentInvalid);
    let not_a_pdf = agency.create(&request(b"%PDF-1.7 but not really", display.clone()), None).await.unwrap_err();
    assert_eq!((not_a_pdf.status, not_a_pdf.code()), (400, ErrorCode::DocumentInvalid));
    let hidden = serde_json::json!({"title": "Decision", "lines": [{"label": "Amount", "value": "10\u{200b}0 SEK"}]});
    let unsafe_fields = agency.create(&request(&decision_pdf(), hidden), None).await.unwrap_err();
    assert_eq!((unsafe_fields.status, unsafe_fields.code()), (422, ErrorCode::UnsafeDocument));
    assert!(f.browser.history().await.unwrap().is_empty());
}
