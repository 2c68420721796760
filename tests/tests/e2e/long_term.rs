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
    let checked = verify_ltv(f.server.dir.path(), &ca, &signed, &["B-LTA", "5"]).expect("pyHanko validates B-LTA");
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
