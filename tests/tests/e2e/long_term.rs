//! PAdES B-LT and B-LTA: the signed PDF carries its validation data (DSS)
//! and a document timestamp; pdfsig accepts it, and pyHanko's AdES engine
//! validates it offline with only our CA as trust root, now and as of
//! years ahead, after the signer's certificate expired.

use crate::fixture::{Fixture, decision_pdf};
use crate::pdf::{pdf_request, pdfsig, pyhanko_script, sign_request_through_both_channels};
use std::path::Path;
use wysiwys_proto::summary::MEDIA_TYPE_PDF;
use wysiwys_tests::{Bank, Db};

fn verify_ltv(dir: &Path, ca_pem: &str, pdf: &[u8], args: &[&str]) -> Result<String, String> {
    pyhanko_script("verify_ltv.py", dir, ca_pem, pdf, args)
}

/// B-LT is the server's level; B-LTA is asked for by the relying party
/// of a server whose own level is the default B-T.
async fn signed_at(level: &str) -> (Fixture, Vec<u8>, Vec<u8>) {
    let server_args: &[&str] = if level == "B-LT" { &["--signature-level", "B-LT"] } else { &[] };
    let f = Fixture::with_args(Db::Sqlite, server_args).await;
    let agency = Bank::new(&f.server, f.server.create_rp("Tax Agency", MEDIA_TYPE_PDF, None));
    let pdf = decision_pdf();
    let mut body = pdf_request(&pdf);
    if level != "B-LT" {
        body["signature_level"] = serde_json::json!(level);
    }
    let signed = sign_request_through_both_channels(&f, &agency, &body).await;
    (f, pdf, signed)
}

#[tokio::test]
async fn a_b_lta_pdf_validates_offline_now_and_in_five_years() {
    let (f, original, signed) = signed_at("B-LTA").await;
    assert!(signed.starts_with(&original), "the confirmed bytes open the file");
    let text = String::from_utf8_lossy(&signed[original.len()..]).into_owned();
    for needed in ["/Type/DSS", "/OCSPs", "/CRLs", "/Type/DocTimeStamp", "/SubFilter/ETSI.RFC3161"] {
        assert!(text.contains(needed), "{needed} missing");
    }
    // The signature's hole is sized from its CMS, not a fixed guess: little
    // of it is left as zero padding.
    let range_at = original.len() + text.find("/ByteRange[0 ").expect("a byte range");
    let range: Vec<usize> = String::from_utf8_lossy(&signed[range_at + 11..range_at + 60])
        .split(|c: char| !c.is_ascii_digit())
        .filter(|n| !n.is_empty())
        .take(3)
        .map(|n| n.parse().unwrap())
        .collect();
    let hole = &signed[range[1] + 1..range[2] - 1];
    let unused = hole.iter().rev().take_while(|b| **b == b'0').count() / 2;
    assert!(hole.len() / 2 < 8192 && unused < 1536, "a {}-byte hole with {unused} bytes unused", hole.len() / 2);
    let ca = f.server.get_ca_pem().await;
    let checked =
        verify_ltv(f.server.dir.path(), &ca, &signed, &["B-LTA", "--years", "5"]).expect("pyHanko validates B-LTA");
    assert!(checked.contains("in 5 years: AdESPassed.OK"), "{checked}");
    let poppler = pdfsig(f.server.dir.path(), &ca, &signed);
    assert!(poppler.contains("Signature #1") && poppler.contains("Signature #2"), "{poppler}");
    assert!(!poppler.contains("Signature is Invalid") && poppler.contains("Signature is Valid."), "{poppler}");
    // One changed byte in the signed part breaks it.
    let mut broken = signed.clone();
    broken[original.len() / 2] ^= 1;
    assert!(verify_ltv(f.server.dir.path(), &ca, &broken, &["B-LTA"]).is_err());
}

#[tokio::test]
async fn a_b_lt_pdf_carries_its_validation_data_and_no_document_timestamp() {
    let (f, _, signed) = signed_at("B-LT").await;
    let ca = f.server.get_ca_pem().await;
    verify_ltv(f.server.dir.path(), &ca, &signed, &["B-LT"]).expect("pyHanko validates B-LT offline");
}

/// A PDF of another producer: qpdf rewrites ours with object streams and
/// a cross-reference stream. Signed at B-LTA, then signed again at B-LTA
/// (a second signer of the same file), then extended the way an archive
/// does it years later: pyHanko adds the newest timestamp's validation
/// data and a new document timestamp from our TSA. After each step every
/// signature validates offline, now and as of five years ahead.
#[tokio::test]
async fn a_qpdf_file_is_signed_at_b_lta_signed_again_and_extended_by_an_archive() {
    let f = Fixture::new(Db::Sqlite).await;
    let agency = Bank::new(&f.server, f.server.create_rp("Tax Agency", MEDIA_TYPE_PDF, None));
    let dir = f.server.dir.path();
    std::fs::write(dir.join("ours.pdf"), decision_pdf()).unwrap();
    let rewritten = std::process::Command::new("qpdf")
        .args(["--object-streams=generate", "ours.pdf", "qpdf.pdf"])
        .current_dir(dir)
        .output()
        .expect("qpdf (scripts/install-deps.sh installs it)");
    assert!(rewritten.status.success(), "{}", String::from_utf8_lossy(&rewritten.stderr));
    let produced = std::fs::read(dir.join("qpdf.pdf")).unwrap();
    let text = String::from_utf8_lossy(&produced);
    assert!(text.contains("/ObjStm") && text.contains("/XRef"), "qpdf wrote object and cross-reference streams");

    let at_b_lta = |pdf: &[u8]| {
        let mut body = pdf_request(pdf);
        body["signature_level"] = serde_json::json!("B-LTA");
        body
    };
    let ca = f.server.get_ca_pem().await;
    let once = sign_request_through_both_channels(&f, &agency, &at_b_lta(&produced)).await;
    assert!(once.starts_with(&produced), "qpdf's bytes open the signed file");
    verify_ltv(dir, &ca, &once, &["B-LTA", "--years", "5"]).expect("pyHanko validates the qpdf file at B-LTA");

    let twice = sign_request_through_both_channels(&f, &agency, &at_b_lta(&once)).await;
    assert!(twice.starts_with(&once), "the first signature's bytes are untouched");
    let both = ["B-LTA", "--signatures", "2", "--timestamps", "2", "--years", "5"];
    verify_ltv(dir, &ca, &twice, &both).expect("both signatures validate after the second");

    let extended_file = dir.join("extended.pdf");
    let tsa = format!("{}/api/pki/tsa", f.server.origin);
    let extended_path = extended_file.to_str().unwrap();
    pyhanko_script("verify_ltv.py", dir, &ca, &twice, &["extend", &tsa, extended_path])
        .unwrap_or_else(|e| panic!("pyHanko cannot extend the B-LTA file:\n{e}"));
    let extended = std::fs::read(&extended_file).unwrap();
    assert!(extended.starts_with(&twice) && extended.len() > twice.len(), "extended by an incremental update");
    let three = ["B-LTA", "--signatures", "2", "--timestamps", "3", "--years", "5"];
    let checked = verify_ltv(dir, &ca, &extended, &three).expect("both signatures validate after the extension");
    assert!(checked.contains("signature 2 in 5 years: AdESPassed.OK"), "{checked}");
    let poppler = pdfsig(dir, &ca, &extended);
    assert!(poppler.contains("Signature #5"), "two signatures and three document timestamps: {poppler}");
    assert!(!poppler.contains("Signature is Invalid"), "{poppler}");
}

/// The revocation as pyHanko sees it, fetched from our OCSP responder: a
/// PDF signed at B-T before the credential was revoked still passes AdES
/// validation (its signature timestamp proves it existed before), while
/// pyHanko's plain validator, which takes no such proof into account, finds
/// the same signature's certificate revoked. The revocation is a minute
/// after the signature, the validation a minute after that (the server's
/// test clock runs ahead).
#[tokio::test]
async fn after_a_revocation_a_signature_timestamped_before_it_still_validates() {
    // Revoked through the operator API, so the revocation takes the
    // server's (test) clock, a minute ahead of the signature.
    const TOKEN: &str = "an operator token of more than thirty-two characters";
    let secrets = tempfile::tempdir().unwrap();
    let token_file = secrets.path().join("admin.token");
    std::fs::write(&token_file, TOKEN).unwrap();
    let f = Fixture::with_args(Db::Sqlite, &["--admin-token-file", token_file.to_str().unwrap()]).await;
    let agency = Bank::new(&f.server, f.server.create_rp("Tax Agency", MEDIA_TYPE_PDF, None));
    let mut body = pdf_request(&decision_pdf());
    body["signature_level"] = serde_json::json!("B-T");
    let stamped = sign_request_through_both_channels(&f, &agency, &body).await;
    let (dir, ca) = (f.server.dir.path(), f.server.get_ca_pem().await);
    let validated = |at_seconds: &str| {
        pyhanko_script("verify_ltv.py", dir, &ca, &stamped, &["fetching", "--at-seconds", at_seconds])
            .unwrap_or_else(|e| panic!("pyHanko validation did not run:\n{e}"))
    };
    let before = validated("0");
    assert!(
        before.contains("indication: AdESPassed.OK") && before.contains("plain: revoked=False valid=True"),
        "{before}"
    );

    f.server.advance_clock(60).await;
    let revoked: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/api/v1/admin/users/ann/credential", f.server.origin))
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({"action": "revoke", "reason": "keyCompromise"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(revoked["status"], "revoked", "{revoked}");
    let after = validated("120");
    assert!(after.contains("plain: revoked=True valid=False"), "pyHanko saw the revocation: {after}");
    assert!(after.contains("indication: AdESPassed.OK"), "the timestamp from before it still carries: {after}");
}

/// The level is chosen per relying party: one created with
/// `--signature-level B-LTA` gets B-LTA for PDFs that name no level, the
/// level a request names still wins, and a letter stops at B-T. Another
/// party of the same server gets the server's default, B-T.
#[tokio::test]
async fn a_relying_partys_default_level_applies_to_its_requests_that_name_none() {
    let f = Fixture::new(Db::Sqlite).await;
    let media = format!("{MEDIA_TYPE_PDF},text/plain");
    let archive =
        Bank::new(&f.server, f.server.create_rp_with("Land Registry", &media, &["--signature-level", "B-LTA"]));
    let other = Bank::new(&f.server, f.server.create_rp("Tax Agency", MEDIA_TYPE_PDF, None));
    let pdf = decision_pdf();
    let has_doc_timestamp =
        |signed: &[u8]| String::from_utf8_lossy(&signed[pdf.len()..]).contains("/Type/DocTimeStamp");

    let by_default = sign_request_through_both_channels(&f, &archive, &pdf_request(&pdf)).await;
    assert!(has_doc_timestamp(&by_default), "the party's default, B-LTA");
    let ca = f.server.get_ca_pem().await;
    verify_ltv(f.server.dir.path(), &ca, &by_default, &["B-LTA"]).expect("pyHanko validates it at B-LTA");
    let mut named = pdf_request(&pdf);
    named["signature_level"] = serde_json::json!("B-T");
    assert!(!has_doc_timestamp(&sign_request_through_both_channels(&f, &archive, &named).await), "B-T as named");
    let elsewhere = sign_request_through_both_channels(&f, &other, &pdf_request(&pdf)).await;
    assert!(!has_doc_timestamp(&elsewhere), "another party gets the server's B-T");

    let letter = serde_json::json!({"signer": {"username": "ann"}, "media_type": "text/plain",
        "document_b64": wysiwys_proto::b64::encode_standard(crate::fixture::LETTER.as_bytes())});
    let mut answer = f.device.answer("approve");
    answer.wait_for("connected").await;
    let created = archive.create(&letter, None).await.unwrap();
    answer.wait_for("request").await;
    assert_eq!(answer.finish().await.0, 0);
    let signed = f.browser.confirm_as_displayed(&created.id).await.unwrap();
    assert_eq!(
        signed.signature_level,
        Some(wysiwys_proto::signature_level::SignatureLevel::BaselineT),
        "CAdES stops at B-T"
    );
}
