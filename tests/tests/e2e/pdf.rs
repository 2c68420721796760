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
use wysiwys_tests::attack::pdfs::code_of_rule;
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

/// A pyHanko script of `tests/interop/` run on `pdf` with our CA (and `extra`).
pub fn pyhanko_script(script: &str, dir: &Path, ca_pem: &str, pdf: &[u8], extra: &[&str]) -> Result<String, String> {
    let (file, ca) = (dir.join("pyhanko.pdf"), dir.join("pyhanko-ca.pem"));
    std::fs::write(&file, pdf).unwrap();
    std::fs::write(&ca, ca_pem).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("interop").join(script);
    let out = Command::new("python3").arg(script).arg(&file).arg(&ca).args(extra).output().expect("python3");
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    if out.status.success() { Ok(text) } else { Err(text) }
}

/// pyHanko's verdict (`tests/interop/verify_pades.py`, with its `extra` flags).
pub fn pyhanko(dir: &Path, ca_pem: &str, pdf: &[u8], extra: &[&str]) -> Result<String, String> {
    pyhanko_script("verify_pades.py", dir, ca_pem, pdf, extra)
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
    let report = pyhanko(dir, &ca, &signed, &[]).unwrap_or_else(|e| panic!("pyHanko refused the signature:\n{e}"));
    assert!(report.contains(&created.doc_hash), "the evidence names the confirmed PDF:\n{report}");

    // One changed byte in the confirmed part breaks the signature.
    let mut tampered = signed.clone();
    let at = signed.windows(6).position(|w| w == b"0.00 S").unwrap();
    tampered[at] = b'9';
    assert!(pdfsig(dir, &ca, &tampered).contains("Digest Mismatch"));
    assert!(pyhanko(dir, &ca, &tampered, &[]).is_err());
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

/// Signs `pdf` for ann through both channels; returns the signed file.
pub async fn sign_through_both_channels(f: &Fixture, agency: &Bank, pdf: &[u8]) -> Vec<u8> {
    sign_request_through_both_channels(f, agency, &pdf_request(pdf)).await
}

/// The same for any relying-party request body.
pub async fn sign_request_through_both_channels(f: &Fixture, agency: &Bank, body: &serde_json::Value) -> Vec<u8> {
    let mut answer = f.device.answer("approve");
    answer.wait_for("connected").await;
    let created = agency.create(body, None).await.unwrap();
    answer.wait_for("request").await;
    let (code, events) = answer.finish().await;
    assert_eq!(code, 0, "{events:?}");
    let view = f.browser.confirm_as_displayed(&created.id).await.unwrap();
    assert_eq!(view.state, RequestState::Signed, "{view:?}");
    agency.signature(&created.id).await.unwrap()
}

pub fn pdf_request(pdf: &[u8]) -> serde_json::Value {
    serde_json::json!({
        "signer": {"username": "ann"},
        "media_type": MEDIA_TYPE_PDF,
        "document_b64": base64::engine::general_purpose::STANDARD.encode(pdf),
        "display": {"title": "Decision 2026-88", "lines": [{"label": "Case", "value": "2026-88"}]},
    })
}

fn interop(script_args: &[&std::ffi::OsStr]) -> Result<String, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("interop/pdf_attacks.py");
    let out = Command::new("python3").arg(script).args(script_args).output().expect("python3");
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    if out.status.success() { Ok(text) } else { Err(text) }
}

/// pyHanko's PDFs, one per attack class, are refused under that class's
/// rule before anything is stored; one already signed by an agency is
/// signed again, and pyHanko finds both signatures valid afterwards. Our
/// own signed output can be countersigned the same way.
#[tokio::test]
async fn pdfs_of_another_producer_are_refused_by_attack_class_and_signed_ones_are_countersigned() {
    let corpus = tempfile::tempdir().unwrap();
    interop(&["make".as_ref(), corpus.path().as_os_str()]).unwrap_or_else(|e| panic!("pdf_attacks.py make:\n{e}"));
    let cases: std::collections::BTreeMap<String, Option<String>> =
        serde_json::from_slice(&std::fs::read(corpus.path().join("cases.json")).unwrap()).unwrap();
    assert!(cases.len() >= 16, "{cases:?}");
    let read = |case: &str| std::fs::read(corpus.path().join(format!("{case}.pdf"))).unwrap();

    let f = Fixture::new(Db::Sqlite).await;
    let agency = Bank::new(&f.server, f.server.create_rp("Tax Agency", MEDIA_TYPE_PDF, None));
    let mut refused_rules = std::collections::BTreeSet::new();
    for (case, rule) in cases.iter().filter_map(|(case, rule)| Some((case, rule.as_deref()?))) {
        let refusal = agency.create(&pdf_request(&read(case)), None).await.expect_err(case);
        assert_eq!(refusal.code(), code_of_rule(rule), "{case}: {refusal:?}");
        assert!(refusal.body.error_description.contains(&format!("rule `{rule}`")), "{case}: {refusal:?}");
        refused_rules.insert(rule.to_owned());
    }
    assert_eq!(refused_rules.len(), 12, "every rule of §9 is tried: {refused_rules:?}");
    assert!(f.browser.history().await.unwrap().is_empty(), "nothing refused was stored");

    let ca = f.server.get_ca_pem().await;
    let ca_file = corpus.path().join("wysiwys-ca.pem");
    std::fs::write(&ca_file, &ca).unwrap();
    let third_party = corpus.path().join("third-party-ca.pem");
    let countersigned = sign_through_both_channels(&f, &agency, &read("signed-by-a-third-party")).await;
    let file = corpus.path().join("countersigned.pdf");
    std::fs::write(&file, &countersigned).unwrap();
    let report = interop(&["validate".as_ref(), file.as_os_str(), third_party.as_os_str(), ca_file.as_os_str()])
        .unwrap_or_else(|e| panic!("pyHanko does not accept both signatures:\n{e}"));
    assert!(report.contains("OK"), "{report}");

    // Our own output is a signed PDF like any other.
    let ours = sign_through_both_channels(&f, &agency, &read("plain")).await;
    let twice = sign_through_both_channels(&f, &agency, &ours).await;
    std::fs::write(&file, &twice).unwrap();
    interop(&["validate".as_ref(), file.as_os_str(), ca_file.as_os_str(), ca_file.as_os_str()])
        .unwrap_or_else(|e| panic!("pyHanko does not accept our countersignature of our own signature:\n{e}"));
}

/// A rendered page, grey, one byte per pixel (`pdftoppm -gray` at 72 dpi,
/// so a pixel is a PDF point).
struct Page {
    width: usize,
    height: usize,
    pixels: Vec<u8>,
}

impl Page {
    fn render(dir: &Path, pdf: &[u8], name: &str) -> Page {
        let file = dir.join(format!("{name}.pdf"));
        std::fs::write(&file, pdf).unwrap();
        let out = Command::new("pdftoppm")
            .args(["-gray", "-r", "72", "-f", "1", "-l", "1", "-singlefile"])
            .arg(&file)
            .arg(dir.join(name))
            .output()
            .expect("pdftoppm");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let pgm = std::fs::read(dir.join(format!("{name}.pgm"))).unwrap();
        // P5 <width> <height> <max>\n<pixels>
        let mut fields = Vec::new();
        let mut at = 0;
        while fields.len() < 4 {
            let start = at;
            while !pgm[at].is_ascii_whitespace() {
                at += 1;
            }
            fields.push(String::from_utf8_lossy(&pgm[start..at]).into_owned());
            at += 1;
        }
        assert_eq!(fields[0], "P5");
        let (width, height) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
        Page { width, height, pixels: pgm[at..].to_vec() }
    }

    /// Pixels that differ from `other`'s inside and outside the PDF
    /// rectangle `[x1, y1, x2, y2]` (points from the lower left).
    fn differences(&self, other: &Page, rect: [usize; 4]) -> (usize, usize) {
        assert_eq!((self.width, self.height), (other.width, other.height));
        let (mut inside, mut outside) = (0, 0);
        for (i, (a, b)) in self.pixels.iter().zip(&other.pixels).enumerate() {
            if a.abs_diff(*b) < 32 {
                continue;
            }
            let (x, y_from_top) = (i % self.width, i / self.width);
            let y = self.height - y_from_top;
            if (rect[0]..=rect[2]).contains(&x) && (rect[1]..=rect[3]).contains(&y) {
                inside += 1;
            } else {
                outside += 1;
            }
        }
        (inside, outside)
    }
}

/// A visible signature: the relying party places it, both channels say so
/// (page and rectangle), and the server writes who, when and which
/// request into it. Rendered by poppler, the page changes inside the
/// rectangle only, and OCR reads the stamp's text back. A stamp off its
/// page, one with text of the party's own, and one in a batch are refused
/// before anything reaches the person.
#[tokio::test]
async fn a_visible_signature_shows_signer_time_and_request_where_both_channels_said() {
    let f = Fixture::new(Db::Sqlite).await;
    let agency = Bank::new(&f.server, f.server.create_rp("Tax Agency", MEDIA_TYPE_PDF, None));
    let pdf = decision_pdf();
    let rect = [60, 60, 420, 150];
    let with_stamp = |stamp: serde_json::Value| {
        let mut body = pdf_request(&pdf);
        body["display"]["visible_signature"] = stamp;
        body
    };
    for (stamp, said) in [
        (serde_json::json!({"page": 1, "rect": [300, 60, 660, 150]}), "not inside page 1"),
        (serde_json::json!({"page": 9, "rect": rect}), "page is 1 to"),
        (serde_json::json!({"page": 1, "rect": [60, 60, 100, 80]}), "points wide"),
        (serde_json::json!({"page": 1, "rect": rect, "text": "Approved by the director"}), "unknown field"),
    ] {
        let refused = agency.create(&with_stamp(stamp), None).await.expect_err(said);
        assert_eq!(refused.status, 400, "{refused:?}");
        assert!(refused.body.error_description.contains(said), "{said:?}: {refused:?}");
    }
    let member = serde_json::json!({"media_type": MEDIA_TYPE_PDF, "document_b64": base64::engine::general_purpose::STANDARD.encode(&pdf),
        "display": {"title": "Decision", "lines": [], "visible_signature": {"page": 1, "rect": rect}}});
    let batch =
        serde_json::json!({"signer": {"username": "ann"}, "title": "Two", "documents": [member.clone(), member]});
    let refused = agency.create_batch(&batch, None).await.expect_err("no stamps in a batch");
    assert!(refused.body.error_description.contains("not a batch"), "{refused:?}");
    assert!(f.browser.history().await.unwrap().is_empty(), "nothing refused reached the person");

    let mut answer = f.device.answer("approve");
    answer.wait_for("connected").await;
    let created = agency.create(&with_stamp(serde_json::json!({"page": 1, "rect": rect})), None).await.unwrap();
    let expected = "page 1, at 60 60 420 150 pt: signer, time and request";
    let line = created.summary_lines.iter().find(|l| l.label == "Visible signature").expect("the stamp line");
    assert_eq!(line.value, expected);
    let shown = answer.wait_for("request").await;
    let on_device = shown["lines"].as_array().unwrap().iter().any(|l| l["value"] == expected);
    assert!(on_device, "the device shows the stamp line: {shown}");
    let (code, events) = answer.finish().await;
    assert_eq!(code, 0, "{events:?}");
    let web = f.browser.confirm_as_displayed(&created.id).await.unwrap();
    assert_eq!(web.state, RequestState::Signed, "{web:?}");
    let signed = agency.signature(&created.id).await.unwrap();
    assert!(signed.starts_with(&pdf));

    let (dir, ca) = (f.server.dir.path(), f.server.get_ca_pem().await);
    let verdict = pdfsig(dir, &ca, &signed);
    assert!(verdict.contains("Signature is Valid.") && verdict.contains("Total document signed"), "{verdict}");
    pyhanko(dir, &ca, &signed, &[]).unwrap_or_else(|e| panic!("pyHanko refused the stamped signature:\n{e}"));
    let (before, after) = (Page::render(dir, &pdf, "before"), Page::render(dir, &signed, "after"));
    let (inside, outside) = after.differences(&before, rect);
    assert_eq!(outside, 0, "the page changed outside the stamp");
    assert!(inside > 500, "the stamp is drawn: {inside} pixels changed");

    // Read back at 300 dpi: the server's lines, not the party's.
    let file = dir.join("after.pdf");
    let image = dir.join("ocr");
    let rendered = Command::new("pdftoppm")
        .args(["-gray", "-r", "300", "-f", "1", "-l", "1", "-singlefile", "-png"])
        .arg(&file)
        .arg(&image)
        .output()
        .expect("pdftoppm");
    assert!(rendered.status.success());
    let ocr = Command::new("tesseract").arg(dir.join("ocr.png")).arg("stdout").output().expect("tesseract");
    let text = String::from_utf8_lossy(&ocr.stdout).into_owned();
    let today = wysiwys_proto::time::format_utc(f.server.now_s())[..10].to_owned();
    for wanted in ["Signed by ann", &today, "Request", "Confirmed in the browser and on a device"] {
        assert!(text.contains(wanted), "{wanted:?} not read from the stamp:\n{text}");
    }
    // OCR mixes up c and C, l and I, in a random identifier: that line is
    // read from the appearance stream itself.
    let update = String::from_utf8_lossy(&signed[pdf.len()..]).into_owned();
    assert!(update.contains(&format!("(Request {}) Tj", created.id)), "the stamp names the request");
}
