//! The public time-stamping authority as a way in: anyone may ask it for a
//! token, so it must sign only TSTInfo structures with its own
//! timeStamping key (never anything a user key or the CA would vouch for),
//! and a flood must hit the per-address limit before it exhausts the HSM.

use crate::attack::lab::rand_bytes;
use crate::attack::{Lab, Observation, Played};
use wysiwys_proto::ErrorCode;

/// A well-formed TimeStampReq (RFC 3161) for a SHA-256 imprint, with a
/// positive 64-bit nonce, asking for the authority's certificate.
fn query(imprint: &[u8; 32]) -> Vec<u8> {
    const SHA256: [u8; 11] = [0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
    let mut der = vec![0x30, 65, 0x02, 0x01, 0x01, 0x30, 47, 0x30, 11];
    der.extend_from_slice(&SHA256);
    der.extend_from_slice(&[0x04, 32]);
    der.extend_from_slice(imprint);
    der.extend_from_slice(&[0x02, 8]);
    der.extend_from_slice(&rand_bytes::<8>().map(|b| b & 0x7f));
    der.extend_from_slice(&[0x01, 0x01, 0xff]);
    der
}

/// Posts up to 200 bodies as fast as it can: the answers, and the
/// refusal that stopped the flood (a 429), if any did.
async fn flood(
    client: &reqwest::Client,
    url: &str,
    content_type: &str,
    body: impl Fn() -> Vec<u8>,
) -> anyhow::Result<(Vec<Vec<u8>>, Option<ErrorCode>)> {
    let mut answers = Vec::new();
    for _ in 0..200 {
        let answer = client.post(url).header("content-type", content_type).body(body()).send().await?;
        if answer.status() == 429 {
            return Ok((answers, Some(answer.json::<wysiwys_proto::ErrorBody>().await?.error)));
        }
        anyhow::ensure!(answer.status() == 200, "{url} answered {}", answer.status());
        answers.push(answer.bytes().await?.to_vec());
    }
    Ok((answers, None))
}

pub fn tsa_flood(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let client = lab.client();
        let url = format!("{}/api/pki/tsa", lab.origin);
        let tsa_pem = client.get(format!("{}/api/pki/tsa.pem", lab.origin)).send().await?.text().await?;
        let letter_hash = wysiwys_proto::jcs::sha256(b"I owe the bearer 10 000 EUR.");
        let (granted, refused) = flood(&client, &url, "application/timestamp-query", || query(&letter_hash)).await?;
        let mut o = Observation::new(refused);
        o.require("the flood was cut off within 200 queries", refused == Some(ErrorCode::RateLimited));
        let first = granted.first().ok_or_else(|| anyhow::anyhow!("no token at all"))?;
        // What the oracle gives is a timestamp token by the TSA's own key:
        // its certificate is in the reply, and no user's or the CA's name
        // is its signer.
        let tsa_der = pem_body(&tsa_pem)?;
        o.require("the token is signed by the TSA's certificate", find(first, &tsa_der[..64]));
        o.require(
            "the token is a TSTInfo (id-ct-TSTInfo)",
            find(first, &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x01, 0x04]),
        );
        o.require("the imprint is only echoed, never signed as a document", find(first, &letter_hash));
        Ok(o)
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn pem_body(pem: &str) -> anyhow::Result<Vec<u8>> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    Ok(base64::Engine::decode(&base64::engine::general_purpose::STANDARD, body)?)
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    match content.len() {
        n if n < 0x80 => out.push(n as u8),
        n if n < 0x100 => out.extend_from_slice(&[0x81, n as u8]),
        n => out.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]),
    }
    out.extend_from_slice(content);
    out
}

/// Where the content of the TLV at `at` begins.
fn content_start(der: &[u8], at: usize) -> Option<usize> {
    let first = *der.get(at + 1)?;
    Some(if first < 0x80 { at + 2 } else { at + 2 + usize::from(first & 0x7f) })
}

/// An OCSPRequest for a made-up certificate whose nonce extension carries
/// `nonce`, bytes of the attacker's choosing.
fn ocsp_request(nonce: &[u8]) -> Vec<u8> {
    let sha1 = tlv(0x30, &[&[0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a][..], &[0x05, 0x00]].concat());
    let cert_id = tlv(
        0x30,
        &[sha1, tlv(0x04, &rand_bytes::<20>()), tlv(0x04, &rand_bytes::<20>()), tlv(0x02, &[0x01, 0x02])].concat(),
    );
    let request_list = tlv(0x30, &tlv(0x30, &cert_id));
    let nonce_oid = [0x06, 0x09, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x02];
    let extension = tlv(0x30, &[&nonce_oid[..], &tlv(0x04, &tlv(0x04, nonce))].concat());
    let extensions = tlv(0xa2, &tlv(0x30, &extension));
    tlv(0x30, &tlv(0x30, &[request_list, extensions].concat()))
}

pub fn ocsp_oracle_flood(lab: &Lab) -> Played<'_> {
    Box::pin(async move {
        let client = lab.client();
        let url = format!("{}/api/pki/ocsp", lab.origin);
        // A nonce that is itself the start of a TBSCertificate: version [0] 2, a serial.
        let mut chosen = vec![0x30, 0x7e, 0xa0, 0x03, 0x02, 0x01, 0x02, 0x02, 0x10];
        chosen.extend_from_slice(&[0x42; 16]);
        chosen.resize(120, 0x41);
        let basic_oid = [0x06, 0x09, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x01];
        let (answers, refused) = flood(&client, &url, "application/ocsp-request", || ocsp_request(&chosen)).await?;
        let mut o = Observation::new(refused);
        o.require("the flood was cut off within 200 requests", refused == Some(ErrorCode::RateLimited));
        let first = answers.first().ok_or_else(|| anyhow::anyhow!("no OCSP answer at all"))?;
        // What the CA key signed is a ResponseData: it opens with the
        // responder's id ([2] byKey), never with bytes the nonce chose.
        let at = first.windows(basic_oid.len()).position(|w| w == basic_oid).map(|i| i + basic_oid.len());
        let tbs_first = at
            .and_then(|octets| content_start(first, octets))
            .and_then(|basic| content_start(first, basic))
            .and_then(|tbs| content_start(first, tbs))
            .and_then(|field| first.get(field).copied());
        o.require("the signed ResponseData opens with the responder's id", tbs_first == Some(0xa2));
        o.require("the answer says the made-up certificate is unknown", first.windows(2).any(|w| w == [0x82, 0x00]));
        Ok(o)
    })
}
