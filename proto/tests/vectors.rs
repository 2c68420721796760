//! Checks the published test vectors in `proto/testdata/`.
//!
//! Run with `WYSIWYS_WRITE_VECTORS=1` to regenerate the files after a
//! deliberate format change; the diff then shows exactly what changed.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use p256::ecdsa::SigningKey;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::PathBuf;
use wysiwys_proto::pairing_approval::{
    Expectation, PAIRING_ANSWER_TYP, PAIRING_REQUEST_TYP, PairingAnswerClaims, PairingRequestClaims, PairingTokenError,
    sign_answer, verify_answer, verify_request,
};
use wysiwys_proto::sad::{self, Decision, SadClaims};
use wysiwys_proto::summary::{self, MEDIA_TYPE_PAYMENT, MEDIA_TYPE_TEXT};
use wysiwys_proto::{Jwk, RENDER_VERSION, b64, jws, vc};

fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata").join(name)
}

fn regenerate() -> bool {
    std::env::var_os("WYSIWYS_WRITE_VECTORS").is_some()
}

fn load_or_write<T: Serialize + for<'de> Deserialize<'de>>(name: &str, generate: impl FnOnce() -> T) -> T {
    if regenerate() {
        let value = generate();
        let text = serde_json::to_string_pretty(&value).unwrap() + "\n";
        std::fs::write(path(name), text).unwrap();
    }
    let text = std::fs::read_to_string(path(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SummaryVector {
    description: String,
    media_type: String,
    document_b64: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    summary: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    summary_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

const LETTER: &str = "Municipality of Lund — Building permit\n\nDear Ms Åsa Öberg,\n\nyour application 2026-1142 for a garden shed at Storgatan 12 is approved.\nSign this letter to accept the conditions in section 3.\n";
const PAYMENT: &str = r#"{"payee":"ACME Försäkring AB","iban":"SE4550000000058398257466","amount":"1250.00","currency":"SEK","reference":"Invoice 2026-42"}"#;

fn summary_cases() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    vec![
        ("e-government letter", MEDIA_TYPE_TEXT, LETTER.as_bytes().to_vec()),
        ("payment order", MEDIA_TYPE_PAYMENT, PAYMENT.as_bytes().to_vec()),
        (
            "letter with a right-to-left override",
            MEDIA_TYPE_TEXT,
            "Pay to account\n\u{202E}0001 ,5 EUR\n".as_bytes().to_vec(),
        ),
        ("letter with a zero-width space", MEDIA_TYPE_TEXT, "Amount: 1\u{200B}00 EUR\n".as_bytes().to_vec()),
        ("letter not in NFC", MEDIA_TYPE_TEXT, "Cafe\u{301}\n".as_bytes().to_vec()),
        ("payment with a bad IBAN checksum", MEDIA_TYPE_PAYMENT, PAYMENT.replace("4550", "4551").into_bytes()),
    ]
}

#[test]
fn summary_vectors() {
    let vectors: Vec<SummaryVector> = load_or_write("summary-vectors.json", || {
        summary_cases()
            .into_iter()
            .map(|(description, media_type, doc)| {
                let rendered = summary::render(media_type, &doc);
                SummaryVector {
                    description: description.into(),
                    media_type: media_type.into(),
                    document_b64: b64::encode(&doc),
                    summary: rendered.as_ref().ok().map(|s| serde_json::to_value(s).unwrap()),
                    summary_hash: rendered.as_ref().ok().map(|s| b64::encode(s.hash())),
                    error: rendered.err().map(|e| e.code.as_str().to_owned()),
                }
            })
            .collect()
    });
    assert!(vectors.len() >= 3);
    let mut seen_ok = 0;
    let mut seen_unsafe = 0;
    for v in &vectors {
        let doc = b64::decode(&v.document_b64).unwrap();
        match (summary::render(&v.media_type, &doc), &v.error) {
            (Ok(s), None) => {
                seen_ok += 1;
                let expected: summary::Summary = serde_json::from_value(v.summary.clone().unwrap()).unwrap();
                assert_eq!(s, expected, "{}", v.description);
                let hash = v.summary_hash.as_deref().unwrap();
                assert_eq!(b64::encode(s.hash()), hash, "{}", v.description);
                // The hash is over RFC 8785 bytes, whatever order the file uses.
                let jcs = serde_json_canonicalizer::to_vec(v.summary.as_ref().unwrap()).unwrap();
                assert_eq!(b64::encode(wysiwys_proto::jcs::sha256(&jcs)), hash);
            }
            (Err(e), Some(code)) => {
                if code == "UNSAFE_DOCUMENT" {
                    seen_unsafe += 1;
                }
                assert_eq!(e.code.as_str(), code, "{}", v.description);
            }
            (got, want) => panic!("{}: got {got:?}, vector says {want:?}", v.description),
        }
    }
    assert!(seen_ok >= 2 && seen_unsafe >= 1);
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct VcVector {
    request_id: String,
    summary_hash: String,
    challenge: String,
    code: String,
}

#[test]
fn verification_code_vectors() {
    let vectors: Vec<VcVector> = load_or_write("verification-code-vectors.json", || {
        (0u8..6)
            .map(|i| {
                let request_id = format!("0199a3c0-5d1e-7f00-8000-00000000000{i}");
                let sum = wysiwys_proto::jcs::sha256(&[i]);
                let chal = wysiwys_proto::jcs::sha256(&[i, i]);
                VcVector {
                    code: vc::verification_code(&request_id, &sum, &chal),
                    request_id,
                    summary_hash: b64::encode(sum),
                    challenge: b64::encode(chal),
                }
            })
            .collect()
    });
    assert!(vectors.len() >= 4);
    for v in &vectors {
        let sum = b64::decode_array::<32>(&v.summary_hash).unwrap();
        let chal = b64::decode_array::<32>(&v.challenge).unwrap();
        assert_eq!(vc::verification_code(&v.request_id, &sum, &chal), v.code);
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SadVector {
    description: String,
    token: String,
    device_public_jwk: Jwk,
    claims: SadClaims,
    /// Seconds since the epoch at which the token is checked.
    now: i64,
    valid: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

fn device_key() -> SigningKey {
    SigningKey::from_slice(&wysiwys_proto::jcs::sha256(b"wysiwys test vector device key")).unwrap()
}

fn base_claims() -> SadClaims {
    let summary = summary::render(MEDIA_TYPE_TEXT, LETTER.as_bytes()).unwrap();
    let request_id = "0199a3c0-5d1e-7f00-8000-000000000001";
    let chal = wysiwys_proto::jcs::sha256(b"challenge");
    SadClaims {
        iss: "0199a3c0-0000-7000-8000-00000000d001".into(),
        sub: "0199a3c0-0000-7000-8000-00000000a001".into(),
        aud: "https://sign.example".into(),
        req: request_id.into(),
        cred: "0199a3c0-0000-7000-8000-00000000c001".into(),
        doc: summary.doc.sha256.clone(),
        sum: b64::encode(summary.hash()),
        rv: RENDER_VERSION.into(),
        chal: b64::encode(chal),
        vc: vc::verification_code(request_id, &summary.hash(), &chal),
        dec: Decision::Approve,
        iat: 1_795_000_000,
        exp: 1_795_000_300,
        ctr: 17,
    }
}

fn sad_cases() -> Vec<SadVector> {
    let key = device_key();
    let jwk = Jwk::from_verifying_key(key.verifying_key());
    let claims = base_claims();
    let good = sad::build(&key, &claims).unwrap();
    let now = claims.iat + 10;
    let vector = |description: &str, token: String, now: i64, error: Option<&str>| SadVector {
        description: description.into(),
        token,
        device_public_jwk: jwk.clone(),
        claims: claims.clone(),
        now,
        valid: error.is_none(),
        error: error.map(str::to_owned),
    };
    let (header, rest) = good.split_once('.').unwrap();
    let (_, signature) = rest.split_once('.').unwrap();
    let tampered_payload = {
        let mut c = claims.clone();
        c.doc = b64::encode([0u8; 32]);
        b64::encode(serde_json_canonicalizer::to_vec(&c).unwrap())
    };
    let other_key = SigningKey::from_slice(&wysiwys_proto::jcs::sha256(b"another device")).unwrap();
    let none_header =
        b64::encode(br#"{"alg":"none","kid":"0199a3c0-0000-7000-8000-00000000d001","typ":"wysiwys-sad+jwt"}"#);
    let reject = SadClaims { dec: Decision::Reject, ctr: 18, ..claims.clone() };
    let mut out = vec![
        vector("valid approval", good.clone(), now, None),
        vector("valid until one second before exp", good.clone(), claims.exp - 1, None),
        vector(
            "tampered payload (document hash changed)",
            format!("{header}.{tampered_payload}.{signature}"),
            now,
            Some("SAD_INVALID"),
        ),
        vector("signed by another key", sad::build(&other_key, &claims).unwrap(), now, Some("SAD_INVALID")),
        vector(
            "alg none, no signature",
            format!("{none_header}.{}.", rest.split_once('.').unwrap().0),
            now,
            Some("SAD_INVALID"),
        ),
        vector("expired", good.clone(), claims.exp, Some("CHALLENGE_EXPIRED")),
        vector("wrong typ", jws::sign(&key, "JWT", &claims.iss, &claims).unwrap(), now, Some("SAD_INVALID")),
        vector(
            "malformed: two parts",
            format!("{header}.{}", rest.split_once('.').unwrap().0),
            now,
            Some("SAD_INVALID"),
        ),
    ];
    let mut rejected = vector("valid rejection", sad::build(&key, &reject).unwrap(), now, None);
    rejected.claims = reject;
    out.push(rejected);
    for (description, ctr, error) in [
        ("largest counter, 2^53 - 1", sad::MAX_COUNTER, None),
        ("counter 2^53, beyond exact JSON integers", sad::MAX_COUNTER + 1, Some("SAD_INVALID")),
    ] {
        let counted = SadClaims { ctr, ..claims.clone() };
        let mut v = vector(description, jws::sign(&key, sad::SAD_TYP, &claims.iss, &counted).unwrap(), now, error);
        v.claims = counted;
        out.push(v);
    }
    out
}

#[test]
fn sad_vectors() {
    let vectors: Vec<SadVector> = load_or_write("sad-vectors.json", sad_cases);
    assert!(vectors.iter().filter(|v| v.valid).count() >= 2);
    for required in ["SAD_INVALID", "CHALLENGE_EXPIRED"] {
        assert!(vectors.iter().any(|v| v.error.as_deref() == Some(required)));
    }
    for v in &vectors {
        let key = v.device_public_jwk.to_verifying_key().unwrap();
        match (sad::verify(&v.token, &key, v.now), v.valid) {
            (Ok(got), true) => assert_eq!(got.claims, v.claims, "{}", v.description),
            (Err(e), false) => assert_eq!(Some(e.code().as_str()), v.error.as_deref(), "{}: {e}", v.description),
            (got, _) => panic!("{}: got {got:?}, vector says valid={}", v.description, v.valid),
        }
    }
}

/// One token of the pairing approval (§5.2): a request the server's channel
/// key signed for an existing device, or that device's answer.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PairingVector {
    description: String,
    /// `request` (checked by the approving device) or `answer` (by the server).
    kind: String,
    token: String,
    /// The key the token must verify under: the channel key for a request,
    /// the approving device's key for an answer.
    public_jwk: Jwk,
    /// For a request: the server origin and device id the device expects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expected_iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expected_aud: Option<String>,
    claims: Value,
    now: i64,
    /// Whether the signature verifies under `public_jwk` (for independent
    /// JOSE libraries, which check no claims of ours).
    signature_valid: bool,
    valid: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

const ORIGIN: &str = "https://sign.example";
const APPROVER: &str = "0199a3c0-0000-7000-8000-00000000d001";

fn channel_key() -> SigningKey {
    SigningKey::from_slice(&wysiwys_proto::jcs::sha256(b"wysiwys test vector channel key")).unwrap()
}

fn pairing_request_claims() -> PairingRequestClaims {
    PairingRequestClaims {
        iss: ORIGIN.into(),
        aud: APPROVER.into(),
        sub: "0199a3c0-0000-7000-8000-00000000a001".into(),
        pairing: "0199a3c0-0000-7000-8000-00000000d002".into(),
        name: "Åsa's new phone".into(),
        jkt: Jwk::from_verifying_key(SigningKey::from_slice(&[7u8; 32]).unwrap().verifying_key()).thumbprint(),
        addr: "2001:db8:7:1::/64".into(),
        chal: b64::encode(wysiwys_proto::jcs::sha256(b"pairing challenge")),
        iat: 1_795_000_000,
        exp: 1_795_000_600,
    }
}

fn pairing_cases() -> Vec<PairingVector> {
    let (channel, device) = (channel_key(), device_key());
    let other = SigningKey::from_slice(&wysiwys_proto::jcs::sha256(b"another device")).unwrap();
    let request = pairing_request_claims();
    let now = request.iat + 10;
    let sign_request = |key: &SigningKey, typ: &str, claims: &PairingRequestClaims| {
        let kid = Jwk::from_verifying_key(channel.verifying_key()).thumbprint();
        jws::sign(key, typ, &kid, claims).unwrap()
    };
    let request_vector = |description: &str, token: String, claims: &PairingRequestClaims, now: i64| PairingVector {
        description: description.into(),
        kind: "request".into(),
        token,
        public_jwk: Jwk::from_verifying_key(channel.verifying_key()),
        expected_iss: Some(ORIGIN.into()),
        expected_aud: Some(APPROVER.into()),
        claims: serde_json::to_value(claims).unwrap(),
        now,
        signature_valid: true,
        valid: true,
        error: None,
    };
    let good_request = sign_request(&channel, PAIRING_REQUEST_TYP, &request);
    let look_alike = PairingRequestClaims { name: "P\u{0430}ypal phone".into(), ..request.clone() };
    let for_other = PairingRequestClaims { aud: "0199a3c0-0000-7000-8000-00000000d009".into(), ..request.clone() };

    let shown = verify_request(
        &good_request,
        Expectation { server_origin: ORIGIN, device_id: APPROVER, channel_key: channel.verifying_key(), now },
    )
    .unwrap();
    let approve = shown.answer_claims(Decision::Approve, now);
    let not_me = shown.answer_claims(Decision::NotMe, now);
    let answer_vector = |description: &str, token: String, claims: &PairingAnswerClaims, now: i64| PairingVector {
        description: description.into(),
        kind: "answer".into(),
        token,
        public_jwk: Jwk::from_verifying_key(device.verifying_key()),
        expected_iss: None,
        expected_aud: None,
        claims: serde_json::to_value(claims).unwrap(),
        now,
        signature_valid: true,
        valid: true,
        error: None,
    };
    let good_answer = sign_answer(&device, &approve).unwrap();
    let tampered = {
        let (header, rest) = good_answer.split_once('.').unwrap();
        let signature = rest.rsplit_once('.').unwrap().1;
        let claims = PairingAnswerClaims { jkt: b64::encode([0u8; 32]), ..approve.clone() };
        format!("{header}.{}.{signature}", b64::encode(serde_json_canonicalizer::to_vec(&claims).unwrap()))
    };
    let refused = |mut v: PairingVector, error: &str, signature_valid: bool| {
        v.valid = false;
        v.error = Some(error.into());
        v.signature_valid = signature_valid;
        v
    };
    let future = PairingAnswerClaims { iat: now + 600, exp: now + 1200, ..approve.clone() };
    vec![
        request_vector("valid pairing request", good_request.clone(), &request, now),
        refused(
            request_vector(
                "request signed by another key",
                sign_request(&other, PAIRING_REQUEST_TYP, &request),
                &request,
                now,
            ),
            "PAIRING_ANSWER_INVALID",
            false,
        ),
        refused(
            request_vector(
                "request for another device",
                sign_request(&channel, PAIRING_REQUEST_TYP, &for_other),
                &for_other,
                now,
            ),
            "PAIRING_ANSWER_INVALID",
            true,
        ),
        refused(
            request_vector("expired request", good_request.clone(), &request, request.exp),
            "CHALLENGE_EXPIRED",
            true,
        ),
        refused(
            request_vector(
                "request naming a mixed-script device",
                sign_request(&channel, PAIRING_REQUEST_TYP, &look_alike),
                &look_alike,
                now,
            ),
            "UNSAFE_DOCUMENT",
            true,
        ),
        refused(
            request_vector(
                "answer typ under the channel key",
                sign_request(&channel, PAIRING_ANSWER_TYP, &request),
                &request,
                now,
            ),
            "PAIRING_ANSWER_INVALID",
            true,
        ),
        answer_vector("valid approval", good_answer.clone(), &approve, now),
        answer_vector("valid not me", sign_answer(&device, &not_me).unwrap(), &not_me, now),
        refused(answer_vector("answer with its jkt changed", tampered, &approve, now), "PAIRING_ANSWER_INVALID", false),
        refused(
            answer_vector("answer signed by another device", sign_answer(&other, &approve).unwrap(), &approve, now),
            "PAIRING_ANSWER_INVALID",
            false,
        ),
        refused(
            answer_vector(
                "answer whose kid is not its iss",
                jws::sign(&device, PAIRING_ANSWER_TYP, "0199a3c0-0000-7000-8000-00000000d009", &approve).unwrap(),
                &approve,
                now,
            ),
            "PAIRING_ANSWER_INVALID",
            true,
        ),
        refused(
            answer_vector("answer issued ten minutes ahead", sign_answer(&device, &future).unwrap(), &future, now),
            "PAIRING_ANSWER_INVALID",
            true,
        ),
        refused(answer_vector("expired answer", good_answer.clone(), &approve, approve.exp), "CHALLENGE_EXPIRED", true),
        refused(
            answer_vector(
                "a SAD typ is not an answer",
                jws::sign(&device, sad::SAD_TYP, APPROVER, &approve).unwrap(),
                &approve,
                now,
            ),
            "PAIRING_ANSWER_INVALID",
            true,
        ),
    ]
}

#[test]
fn pairing_vectors() {
    let vectors: Vec<PairingVector> = load_or_write("pairing-vectors.json", pairing_cases);
    for kind in ["request", "answer"] {
        assert!(vectors.iter().any(|v| v.kind == kind && v.valid), "a valid {kind}");
        assert!(vectors.iter().filter(|v| v.kind == kind && !v.valid).count() >= 4, "refused {kind}s");
    }
    for v in &vectors {
        let key = v.public_jwk.to_verifying_key().unwrap();
        let got: Result<Value, PairingTokenError> = match v.kind.as_str() {
            "request" => {
                let expect = Expectation {
                    server_origin: v.expected_iss.as_deref().unwrap(),
                    device_id: v.expected_aud.as_deref().unwrap(),
                    channel_key: &key,
                    now: v.now,
                };
                verify_request(&v.token, expect).map(|r| serde_json::to_value(r.claims).unwrap())
            }
            "answer" => verify_answer(&v.token, &key, v.now).map(|a| serde_json::to_value(a.claims).unwrap()),
            other => panic!("{}: kind {other}", v.description),
        };
        match (got, v.valid) {
            (Ok(claims), true) => assert_eq!(claims, v.claims, "{}", v.description),
            (Err(e), false) => assert_eq!(Some(e.code().as_str()), v.error.as_deref(), "{}: {e}", v.description),
            (got, _) => panic!("{}: got {got:?}, vector says valid={}", v.description, v.valid),
        }
    }
}
