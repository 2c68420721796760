//! One test per refusal branch of the SAM, and the shape of a permit.

use super::*;
use crate::store::{CertificateRow, DeviceRow, NewRequest, RequestRow, UserRow};
use p256::ecdsa::SigningKey;
use sha2::{Digest, Sha256};
use wysiwys_proto::sad::SadClaims;

const NOW: i64 = 1_800_000_000_000;
const ORIGIN: &str = "https://sign.example";

struct World {
    req: RequestRow,
    user: UserRow,
    device: DeviceRow,
    key: SigningKey,
    cert: Vec<u8>,
}

/// A software key standing in for the HSM, to make a certificate.
struct SoftKey(SigningKey, Vec<u8>);

impl rcgen::PublicKeyData for SoftKey {
    fn der_bytes(&self) -> &[u8] {
        &self.1
    }
    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}

impl rcgen::SigningKey for SoftKey {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        let sig: p256::ecdsa::Signature = p256::ecdsa::signature::Signer::sign(&self.0, msg);
        Ok(sig.to_der().as_bytes().to_vec())
    }
}

fn certificate() -> Vec<u8> {
    let key = SigningKey::from_slice(&[3u8; 32]).unwrap();
    let point = key.verifying_key().to_sec1_point(false).as_bytes().to_vec();
    let mut params = rcgen::CertificateParams::default();
    params.key_identifier_method = rcgen::KeyIdMethod::PreSpecified(vec![1; 20]);
    params.serial_number = Some(rcgen::SerialNumber::from_slice(&[0x42]));
    params.self_signed(&SoftKey(key, point)).unwrap().der().to_vec()
}

fn world() -> World {
    let key = SigningKey::from_slice(&[9u8; 32]).unwrap();
    let document = b"Dear citizen,\nplease sign.\n";
    let summary = wysiwys_proto::summary::render("text/plain", document).unwrap();
    let user = UserRow {
        id: "user-1".into(),
        username: "ann".into(),
        password_hash: String::new(),
        totp_secret: vec![],
        totp_last_step: 0,
        failed_logins: 0,
        locked_until: 0,
        signing_locked_at: None,
        credential_id: "cred-1".into(),
        certificate: vec![],
        created_at: 0,
        totp_enabled_at: Some(0),
        external_id: None,
    };
    let device = DeviceRow {
        id: "dev-1".into(),
        user_id: "user-1".into(),
        name: "Laptop".into(),
        public_jwk: serde_json::to_string(&Jwk::from_verifying_key(key.verifying_key())).unwrap(),
        created_at: 0,
        last_seen_at: None,
        revoked_at: None,
        last_ctr: 4,
        approved_at: Some(0),
        enrolment: r#"{"kind":"activation_code","code_issued_at":0}"#.into(),
        pairing_challenge: None,
        pairing_expires_at: None,
        pairing_address: None,
    };
    let req = RequestRow::from(NewRequest {
        id: "req-1".into(),
        user_id: "user-1".into(),
        credential_id: "cred-1".into(),
        requester: "test".into(),
        media_type: "text/plain".into(),
        title: summary.title.clone(),
        document: document.to_vec(),
        doc_hash: Sha256::digest(document).to_vec(),
        summary_json: String::from_utf8(summary.canonical_bytes()).unwrap(),
        summary_hash: summary.hash().to_vec(),
        challenge: vec![7u8; 32],
        created_at: NOW - 10_000,
        expires_at: NOW + 300_000,
        rp_id: None,
        rp_reference: None,
    });
    let cert = certificate();
    let user = UserRow { certificate: cert.clone(), ..user };
    World { req, user, device, key, cert }
}

fn ctx(now_ms: i64) -> Context<'static> {
    Context { cms_extra_bytes: 1200, ..Context::new(ORIGIN, now_ms) }
}

impl World {
    /// The register's row of the user's certificate, valid.
    fn signer(&self) -> CertificateRow {
        crate::pki::certificate_row(&self.cert, Some(&self.user.id), Some(&self.user.credential_id), 0).unwrap()
    }

    fn claims(&self) -> SadClaims {
        let sum: [u8; 32] = self.req.summary_hash.clone().try_into().unwrap();
        let chal: [u8; 32] = self.req.challenge.clone().try_into().unwrap();
        SadClaims {
            iss: "dev-1".into(),
            sub: "user-1".into(),
            aud: ORIGIN.into(),
            req: "req-1".into(),
            cred: "cred-1".into(),
            doc: b64::encode(&self.req.doc_hash),
            sum: b64::encode(sum),
            rv: RENDER_VERSION.into(),
            chal: b64::encode(chal),
            vc: vc::verification_code("req-1", &sum, &chal),
            dec: Decision::Approve,
            iat: NOW / 1000,
            exp: self.req.expires_at / 1000,
            ctr: 5,
        }
    }

    fn token(&self, claims: &SadClaims) -> String {
        sad::build(&self.key, claims).unwrap()
    }

    fn admission(&self, claims: &SadClaims) -> Result<Admission, Refusal> {
        admit_sad(&self.req, &self.user, &self.device, &self.token(claims), ctx(NOW))
    }

    /// A new answer, as the store would then record it.
    fn admit(&self, claims: &SadClaims) -> Result<AdmittedSad, Refusal> {
        self.admission(claims).map(|admission| match admission {
            Admission::Fresh(admitted) => admitted,
            other => panic!("expected a fresh answer, got {other:?}"),
        })
    }

    fn web(&self) -> WebConfirmation {
        WebConfirmation { doc_hash: b64::encode(&self.req.doc_hash), summary_hash: b64::encode(&self.req.summary_hash) }
    }

    /// Both channels recorded, as the store leaves them before `authorize`.
    fn confirmed(mut self, claims: &SadClaims) -> (World, AdmittedSad) {
        let admitted = self.admit(claims).unwrap();
        self.req.web_confirmed_at = Some(NOW - 2_000);
        self.req.device_confirmed_at = Some(NOW - 1_000);
        self.req.device_id = Some("dev-1".into());
        self.req.sad = Some(self.token(claims));
        self.req.sad_sha256 = Some(admitted.token_sha256.to_vec());
        (self, admitted)
    }

    fn authorize(&self, evidence: SadEvidence<'_>, now_ms: i64) -> Result<Authorization, Refusal> {
        authorize(&self.req, &[], &self.user, &self.device, evidence, &self.signer(), ctx(now_ms))
    }
}

fn code<T: std::fmt::Debug>(r: Result<T, Refusal>) -> ErrorCode {
    r.unwrap_err().code
}

// ---- web channel ---------------------------------------------------------

#[test]
fn web_confirmation_that_matches_is_accepted() {
    let w = world();
    assert!(check_web(&w.req, &w.user, "user-1", &w.web(), NOW).is_ok());
}

#[test]
fn web_refusals() {
    let w = world();
    assert_eq!(code(check_web(&w.req, &w.user, "user-2", &w.web(), NOW)), ErrorCode::RequestNotFound);
    assert_eq!(code(check_web(&w.req, &w.user, "user-1", &w.web(), w.req.expires_at)), ErrorCode::ChallengeExpired);

    let mut bad = w.web();
    bad.doc_hash = b64::encode([0u8; 32]);
    assert_eq!(code(check_web(&w.req, &w.user, "user-1", &bad, NOW)), ErrorCode::HashMismatch);
    bad.doc_hash = "not base64!".into();
    assert_eq!(code(check_web(&w.req, &w.user, "user-1", &bad, NOW)), ErrorCode::HashMismatch);
    let mut bad = w.web();
    bad.summary_hash = b64::encode([0u8; 32]);
    assert_eq!(code(check_web(&w.req, &w.user, "user-1", &bad, NOW)), ErrorCode::SummaryMismatch);
    bad.summary_hash = b64::encode(&w.req.doc_hash);
    assert_eq!(code(check_web(&w.req, &w.user, "user-1", &bad, NOW)), ErrorCode::SummaryMismatch);

    for (state, signature) in [("signed", None), ("failed", None), ("signing", None), ("pending", Some(vec![1u8]))] {
        let mut w = world();
        w.req.state = state.into();
        w.req.signature = signature;
        assert_eq!(code(check_web(&w.req, &w.user, "user-1", &w.web(), NOW)), ErrorCode::RequestNotPending, "{state}");
    }
    let mut w = world();
    w.req.web_confirmed_at = Some(NOW - 1);
    assert_eq!(code(check_web(&w.req, &w.user, "user-1", &w.web(), NOW)), ErrorCode::RequestNotPending);
    let mut w = world();
    w.user.signing_locked_at = Some(NOW - 1);
    assert_eq!(code(check_web(&w.req, &w.user, "user-1", &w.web(), NOW)), ErrorCode::AccountLockedNotMe);
}

// ---- admitting a SAD -------------------------------------------------------

#[test]
fn a_matching_sad_is_admitted() {
    let w = world();
    let admitted = w.admit(&w.claims()).unwrap();
    assert_eq!(admitted.decision(), Decision::Approve);
    assert_eq!(admitted.token_sha256, wysiwys_proto::jcs::sha256(w.token(&w.claims()).as_bytes()));
    let largest = SadClaims { ctr: wysiwys_proto::sad::MAX_COUNTER, ..w.claims() };
    assert!(w.admit(&largest).is_ok(), "2^53 - 1 is a counter every JSON reader agrees on");
}

#[test]
fn every_claim_is_checked() {
    type Mutation = fn(&mut SadClaims);
    let cases: Vec<(&str, Mutation, ErrorCode)> = vec![
        ("req", |c| c.req = "req-2".into(), ErrorCode::SadWrongRequest),
        ("chal", |c| c.chal = b64::encode([8u8; 32]), ErrorCode::SadWrongRequest),
        ("iss", |c| c.iss = "dev-2".into(), ErrorCode::SadInvalid),
        ("sub", |c| c.sub = "user-2".into(), ErrorCode::SadInvalid),
        ("aud", |c| c.aud = "https://evil.example".into(), ErrorCode::SadInvalid),
        ("cred", |c| c.cred = "cred-2".into(), ErrorCode::SadInvalid),
        ("doc", |c| c.doc = b64::encode([0u8; 32]), ErrorCode::HashMismatch),
        ("sum", |c| c.sum = b64::encode([0u8; 32]), ErrorCode::SummaryMismatch),
        ("rv", |c| c.rv = "summary/2".into(), ErrorCode::SadInvalid),
        ("vc", |c| c.vc = if c.vc == "0000" { "0001".into() } else { "0000".into() }, ErrorCode::SadInvalid),
        ("exp beyond the challenge", |c| c.exp += 1, ErrorCode::SadInvalid),
        ("exp overflowing in milliseconds", |c| c.exp = i64::MAX, ErrorCode::SadInvalid),
        ("exp passed", |c| (c.iat, c.exp) = (NOW / 1000 - 100, NOW / 1000), ErrorCode::ChallengeExpired),
        ("ctr equal to the last", |c| c.ctr = 4, ErrorCode::SadReplayed),
        ("ctr below the last", |c| c.ctr = 1, ErrorCode::SadReplayed),
        // JSON numbers above 2^53 are not interoperable; JCS cannot carry them exactly.
        ("ctr beyond 2^53", |c| c.ctr = u64::MAX, ErrorCode::SadInvalid),
        ("ctr of 2^53, one above the largest exact JSON integer", |c| c.ctr = 1 << 53, ErrorCode::SadInvalid),
    ];
    for (name, mutate, expected) in cases {
        let w = world();
        let mut claims = w.claims();
        mutate(&mut claims);
        assert_eq!(code(w.admit(&claims)), expected, "{name}");
    }
}

#[test]
fn sad_signature_and_device_refusals() {
    let w = world();
    let other = SigningKey::from_slice(&[10u8; 32]).unwrap();
    let forged = sad::build(&other, &w.claims()).unwrap();
    assert_eq!(code(admit_sad(&w.req, &w.user, &w.device, &forged, ctx(NOW))), ErrorCode::SadInvalid);
    assert_eq!(code(admit_sad(&w.req, &w.user, &w.device, "a.b.c", ctx(NOW))), ErrorCode::SadInvalid);

    let mut w = world();
    w.device.revoked_at = Some(NOW - 1);
    assert_eq!(code(w.admit(&w.claims())), ErrorCode::DeviceRevoked);
    let mut w = world();
    w.device.user_id = "user-2".into();
    assert_eq!(code(w.admit(&w.claims())), ErrorCode::DeviceUnknown);
    // A pairing that no device approved yet is not a second channel.
    let mut w = world();
    w.device.approved_at = None;
    assert_eq!(code(w.admit(&w.claims())), ErrorCode::PairingPending);
    let mut w = world();
    w.device.public_jwk = "{}".into();
    assert_eq!(code(w.admit(&w.claims())), ErrorCode::InternalError);
}

#[test]
fn sad_request_state_refusals() {
    let mut w = world();
    w.req.state = "signed".into();
    assert_eq!(code(w.admit(&w.claims())), ErrorCode::RequestNotPending);
    let mut w = world();
    w.req.signature = Some(vec![1]);
    assert_eq!(code(w.admit(&w.claims())), ErrorCode::RequestNotPending);
    let mut w = world();
    w.req.sad = Some("earlier".into());
    let refusal = w.admit(&w.claims()).unwrap_err();
    assert_eq!(refusal.code, ErrorCode::SadReplayed);
    assert!(!refusal.ends_request, "a second answer must not undo the first");
    // A closed request hears no answer, not even a refusal (which needs no open request).
    let mut w = world();
    w.req.state = "failed".into();
    let reject = SadClaims { dec: Decision::Reject, ..w.claims() };
    assert_eq!(code(w.admit(&reject)), ErrorCode::RequestNotPending);
}

#[test]
fn approvals_need_an_open_request_but_refusals_are_always_heard() {
    let mut w = world();
    w.user.signing_locked_at = Some(NOW - 1);
    assert_eq!(code(w.admit(&w.claims())), ErrorCode::AccountLockedNotMe);
    let reject = SadClaims { dec: Decision::Reject, ..w.claims() };
    assert_eq!(w.admit(&reject).unwrap().decision(), Decision::Reject);
    let not_me = SadClaims { dec: Decision::NotMe, ..w.claims() };
    assert_eq!(w.admit(&not_me).unwrap().decision(), Decision::NotMe);
}

#[test]
fn the_recorded_answer_sent_again_is_answered_as_before() {
    let (mut w, _) = world().confirmed(&world().claims());
    let token = w.token(&w.claims());
    // Whatever became of the request since: the lost ack is answered again.
    for state in ["pending", "signing", "signed", "failed"] {
        w.req.state = state.into();
        let admission = admit_sad(&w.req, &w.user, &w.device, &token, ctx(NOW)).unwrap();
        assert!(matches!(admission, Admission::Resent), "{state}: {admission:?}");
        assert!(is_recorded_answer(&w.req, &w.device, &token));
    }
    // Another answer of the same device is not the recorded one.
    let other = w.token(&SadClaims { ctr: 6, ..w.claims() });
    assert!(!is_recorded_answer(&w.req, &w.device, &other));
    // The same bytes from another device of the user are not a resend.
    let mut stranger = w.device.clone();
    stranger.id = "dev-2".into();
    assert!(!is_recorded_answer(&w.req, &stranger, &token));
    // A device revoked since then is told so, not "accepted".
    w.device.revoked_at = Some(NOW - 1);
    assert_eq!(code(admit_sad(&w.req, &w.user, &w.device, &token, ctx(NOW))), ErrorCode::DeviceRevoked);
}

#[test]
fn answers_after_the_first_leave_the_request_as_it_is() {
    let (w, _) = world().confirmed(&world().claims());
    let later = SadClaims { ctr: 6, ..w.claims() };
    let refusal = w.admission(&later).unwrap_err();
    assert_eq!((refusal.code, refusal.ends_request), (ErrorCode::SadReplayed, false));
    // Forged or malformed: refused, and still the first answer stands.
    let other = SigningKey::from_slice(&[10u8; 32]).unwrap();
    let forged = sad::build(&other, &later).unwrap();
    let refusal = admit_sad(&w.req, &w.user, &w.device, &forged, ctx(NOW)).unwrap_err();
    assert_eq!((refusal.code, refusal.ends_request), (ErrorCode::SadInvalid, false));
    // A "not me" is heard all the same: the person says someone else asked.
    let not_me = SadClaims { dec: Decision::NotMe, ..later };
    match w.admission(&not_me).unwrap() {
        Admission::LateNotMe(admitted) => assert_eq!(admitted.decision(), Decision::NotMe),
        other => panic!("expected a late \"not me\", got {other:?}"),
    }
}

#[test]
fn refusals_before_an_answer_end_the_request_and_bookkeeping_ones_do_not() {
    let w = world();
    let mut bad = w.web();
    bad.doc_hash = b64::encode([0u8; 32]);
    assert!(check_web(&w.req, &w.user, "user-1", &bad, NOW).unwrap_err().ends_request);
    assert!(!check_web(&w.req, &w.user, "user-2", &w.web(), NOW).unwrap_err().ends_request);
    let sum = SadClaims { sum: b64::encode([0u8; 32]), ..w.claims() };
    assert!(w.admit(&sum).unwrap_err().ends_request);
    let mut w = world();
    w.req.state = "signed".into();
    assert!(!w.admit(&w.claims()).unwrap_err().ends_request);
    let mut w = world();
    w.req.web_confirmed_at = Some(NOW - 1);
    assert!(!check_web(&w.req, &w.user, "user-1", &w.web(), NOW).unwrap_err().ends_request);
}

// ---- the final decision ----------------------------------------------------

#[test]
fn authorize_yields_a_permit_over_attributes_that_carry_the_document_hash() {
    let (mut w, admitted) = world().confirmed(&world().claims());
    w.user.certificate = w.cert.clone();
    for evidence in [SadEvidence::JustAdmitted(&admitted), SadEvidence::Stored] {
        let auth = w.authorize(evidence, NOW).unwrap();
        assert_eq!(auth.document.permit.credential_id(), "cred-1");
        assert_eq!(auth.document.permit.digest(), &<[u8; 32]>::from(Sha256::digest(auth.document.attributes.der())));
        assert_eq!(auth.document.attributes.message_digest().map(|d| d.to_vec()), Some(w.req.doc_hash.clone()));
        let der = auth.document.attributes.der();
        let evidence_json = String::from_utf8_lossy(der);
        assert!(evidence_json.contains(&b64::encode(&w.req.summary_hash)));
        assert!(evidence_json.contains("\"device_id\":\"dev-1\""));
    }
}

#[test]
fn authorize_refusals() {
    let base = world();
    let claims = base.claims();

    let (mut w, admitted) = world().confirmed(&claims);
    w.req.web_confirmed_at = None;
    assert_eq!(code(w.authorize(SadEvidence::JustAdmitted(&admitted), NOW)), ErrorCode::RequestNotPending);

    let (mut w, admitted) = world().confirmed(&claims);
    w.req.sad = None;
    assert_eq!(code(w.authorize(SadEvidence::JustAdmitted(&admitted), NOW)), ErrorCode::RequestNotPending);

    let (w, admitted) = world().confirmed(&claims);
    assert_eq!(code(w.authorize(SadEvidence::JustAdmitted(&admitted), w.req.expires_at)), ErrorCode::ChallengeExpired);

    let (mut w, admitted) = world().confirmed(&claims);
    w.req.state = "signing".into();
    assert_eq!(code(w.authorize(SadEvidence::JustAdmitted(&admitted), NOW)), ErrorCode::RequestNotPending);

    let (mut w, admitted) = world().confirmed(&claims);
    w.user.signing_locked_at = Some(NOW);
    assert_eq!(code(w.authorize(SadEvidence::JustAdmitted(&admitted), NOW)), ErrorCode::AccountLockedNotMe);

    let (mut w, admitted) = world().confirmed(&claims);
    w.req.device_id = Some("dev-2".into());
    assert_eq!(code(w.authorize(SadEvidence::JustAdmitted(&admitted), NOW)), ErrorCode::SadInvalid);

    let (mut w, admitted) = world().confirmed(&claims);
    w.device.revoked_at = Some(NOW - 1);
    assert_eq!(code(w.authorize(SadEvidence::JustAdmitted(&admitted), NOW)), ErrorCode::DeviceRevoked);
    assert_eq!(code(w.authorize(SadEvidence::Stored, NOW)), ErrorCode::DeviceRevoked);

    // The SAD on record is not the one that was admitted.
    let (mut w, admitted) = world().confirmed(&claims);
    w.req.sad_sha256 = Some(vec![0u8; 32]);
    assert_eq!(code(w.authorize(SadEvidence::JustAdmitted(&admitted), NOW)), ErrorCode::SadInvalid);
    assert_eq!(code(w.authorize(SadEvidence::Stored, NOW)), ErrorCode::SadInvalid);

    // A stored SAD altered behind our back fails its re-verification.
    let (mut w, _) = world().confirmed(&claims);
    let forged = sad::build(&SigningKey::from_slice(&[10u8; 32]).unwrap(), &claims).unwrap();
    w.req.sad_sha256 = Some(wysiwys_proto::jcs::sha256(forged.as_bytes()).to_vec());
    w.req.sad = Some(forged);
    assert_eq!(code(w.authorize(SadEvidence::Stored, NOW)), ErrorCode::SadInvalid);

    // The SAD's own expiry is checked too, not only the request's.
    let (mut w, admitted) = world().confirmed(&claims);
    w.req.expires_at += 60_000;
    assert_eq!(code(w.authorize(SadEvidence::JustAdmitted(&admitted), NOW + 300_000)), ErrorCode::ChallengeExpired);

    for (decision, expected) in
        [(Decision::Reject, ErrorCode::DeviceRejected), (Decision::NotMe, ErrorCode::AccountLockedNotMe)]
    {
        let answer = SadClaims { dec: decision, ..claims.clone() };
        let (mut w, admitted) = world().confirmed(&answer);
        w.user.certificate = w.cert.clone();
        assert_eq!(code(w.authorize(SadEvidence::JustAdmitted(&admitted), NOW)), expected);
        assert_eq!(code(w.authorize(SadEvidence::Stored, NOW)), expected);
    }
}

// ---- PDFs and batches ------------------------------------------------------

/// The world with another confirmed document in place of the letter.
fn world_with(media_type: &str, document: Vec<u8>) -> World {
    let mut w = world();
    w.req.media_type = media_type.into();
    w.req.doc_hash = Sha256::digest(&document).to_vec();
    w.req.document = document;
    w.user.certificate = w.cert.clone();
    w
}

fn confirmed(w: World) -> (World, AdmittedSad) {
    let claims = w.claims();
    w.confirmed(&claims)
}

#[test]
fn a_pdf_permit_covers_the_byte_ranges_of_a_file_that_opens_with_the_confirmed_pdf() {
    let pdf = crate::pdf::pades::tests::sample_pdf(2);
    let (w, _) = confirmed(world_with(MEDIA_TYPE_PDF, pdf.clone()));
    let auth = w.authorize(SadEvidence::Stored, NOW).unwrap();
    let prepared = auth.document.pdf.as_ref().expect("a PDF to put the CMS into");
    assert!(prepared.bytes().starts_with(&pdf));
    assert_eq!(auth.document.attributes.message_digest(), Some(prepared.byte_range_digest()));
    // A UTCTime (tag 0x17, 13 bytes) is the signingTime: CAdES has it, PAdES must not.
    let has_signing_time = |a: &Authorization| a.document.attributes.der().windows(2).any(|w| w == [0x17, 0x0d]);
    assert!(!has_signing_time(&auth), "no signingTime in PAdES");
    let (letter, _) = confirmed(world_with("text/plain", b"A letter\n".to_vec()));
    assert!(has_signing_time(&letter.authorize(SadEvidence::Stored, NOW).unwrap()));

    // A stored PDF that is not the one both channels confirmed.
    let field = b"wysiwys-req-1";
    assert!(
        prepared.bytes().windows(field.len()).any(|w| w == field),
        "the signature field is named after the request"
    );

    let (mut w, _) = confirmed(world_with(MEDIA_TYPE_PDF, pdf));
    w.req.document.extend_from_slice(b"% appended\n");
    assert_eq!(code(w.authorize(SadEvidence::Stored, NOW)), ErrorCode::InternalError);
}

const PAYMENT: &str = r#"{"payee":"ACME GmbH","iban":"DE89370400440532013000","amount":"1250.00","currency":"EUR","reference":"Invoice 42"}"#;

fn batch(titles: &[&str]) -> (Vec<u8>, Vec<BatchDocumentRow>) {
    let documents: Vec<(&str, &str, Vec<u8>)> = titles
        .iter()
        .enumerate()
        .map(|(i, t)| (*t, "text/plain", format!("{t}\n\nText {i}.\n").into_bytes()))
        .collect();
    batch_of(&documents)
}

/// A manifest and its stored rows for (title, media type, document) triples.
fn batch_of(documents: &[(&str, &str, Vec<u8>)]) -> (Vec<u8>, Vec<BatchDocumentRow>) {
    let rows: Vec<BatchDocumentRow> = documents
        .iter()
        .enumerate()
        .map(|(i, (t, media_type, document))| {
            let document = document.clone();
            BatchDocumentRow {
                request_id: "req-1".into(),
                position: i as i64,
                title: (*t).into(),
                media_type: (*media_type).into(),
                doc_hash: Sha256::digest(&document).to_vec(),
                document,
                rp_reference: None,
                signature: None,
            }
        })
        .collect();
    let entries = rows
        .iter()
        .map(|r| wysiwys_proto::batch::BatchEntry {
            title: r.title.clone(),
            media_type: r.media_type.clone(),
            size: r.document.len() as u64,
            sha256: b64::encode(&r.doc_hash),
        })
        .collect();
    let manifest = BatchManifest::new("Contracts", entries).unwrap().canonical_bytes().unwrap();
    (manifest, rows)
}

#[test]
fn a_batch_yields_one_permit_per_document_each_with_its_path_to_the_root() {
    let (manifest, rows) = batch(&["One", "Two", "Three"]);
    let (w, _) = confirmed(world_with(MEDIA_TYPE_BATCH, manifest));
    let auth = authorize(&w.req, &rows, &w.user, &w.device, SadEvidence::Stored, &w.signer(), ctx(NOW)).unwrap();
    assert_eq!(auth.document.attributes.message_digest().map(|d| d.to_vec()), Some(w.req.doc_hash.clone()));
    assert_eq!(auth.members.len(), 3);
    let leaves: Vec<[u8; 32]> = rows.iter().map(|r| r.doc_hash.clone().try_into().unwrap()).collect();
    let root = b64::encode(merkle::root(&leaves).unwrap());
    for (i, member) in auth.members.iter().enumerate() {
        assert_eq!(member.attributes.message_digest(), Some(leaves[i]));
        let text = String::from_utf8_lossy(member.attributes.der()).into_owned();
        assert!(text.contains(&root) && text.contains(&format!("\"index\":{i}")), "{text}");
        assert!(text.contains(&format!("\"doc_sha256\":\"{}\"", b64::encode(leaves[i]))), "{text}");
        for sibling in merkle::inclusion_path(&leaves, i).unwrap() {
            assert!(text.contains(&b64::encode(sibling)));
        }
    }
}

#[test]
fn batch_refusals() {
    let (manifest, rows) = batch(&["One", "Two", "Three"]);
    let (w, _) = confirmed(world_with(MEDIA_TYPE_BATCH, manifest));
    let refused = |rows: &[BatchDocumentRow]| {
        code(authorize(&w.req, rows, &w.user, &w.device, SadEvidence::Stored, &w.signer(), ctx(NOW)))
    };
    let mut altered = rows.clone();
    altered[1].document = b"Two\n\nAnother text.\n".to_vec();
    assert_eq!(refused(&altered), ErrorCode::InternalError, "a document changed after the confirmation");
    let mut swapped = rows.clone();
    swapped.swap(0, 1);
    assert_eq!(refused(&swapped), ErrorCode::InternalError, "documents out of order");
    assert_eq!(refused(&rows[..2]), ErrorCode::InternalError, "a document missing");
    let mut relabelled = rows.clone();
    relabelled[2].doc_hash = rows[0].doc_hash.clone();
    relabelled[2].document = rows[0].document.clone();
    assert_eq!(refused(&relabelled), ErrorCode::InternalError, "another document in its place");
    let mut misplaced = rows.clone();
    misplaced[1].position = 7;
    assert_eq!(refused(&misplaced), ErrorCode::InternalError, "a document stored at another place");

    // Documents stored beside a request that is no batch.
    let (letter, _) = confirmed(world_with("text/plain", b"A letter\n".to_vec()));
    let r =
        authorize(&letter.req, &rows, &letter.user, &letter.device, SadEvidence::Stored, &letter.signer(), ctx(NOW));
    assert_eq!(code(r), ErrorCode::InternalError);
}

#[test]
fn payments_carry_the_payment_in_their_evidence_also_inside_a_batch() {
    let payee = "\"payee\":\"ACME GmbH\"";
    let (w, _) = confirmed(world_with(MEDIA_TYPE_PAYMENT, PAYMENT.as_bytes().to_vec()));
    let auth = w.authorize(SadEvidence::Stored, NOW).unwrap();
    let text = String::from_utf8_lossy(auth.document.attributes.der()).into_owned();
    assert!(text.contains(payee) && text.contains("\"amount\":\"1250.00\""), "{text}");

    let (manifest, rows) =
        batch_of(&[("Letter", "text/plain", b"A letter\n".to_vec()), ("Payment", MEDIA_TYPE_PAYMENT, PAYMENT.into())]);
    let (w, _) = confirmed(world_with(MEDIA_TYPE_BATCH, manifest));
    let auth = authorize(&w.req, &rows, &w.user, &w.device, SadEvidence::Stored, &w.signer(), ctx(NOW)).unwrap();
    let evidence = |i: usize| String::from_utf8_lossy(auth.members[i].attributes.der()).into_owned();
    assert!(!evidence(0).contains(payee), "{}", evidence(0));
    assert!(evidence(1).contains(payee), "{}", evidence(1));
}

#[test]
fn a_revoked_suspended_or_expired_certificate_signs_nothing_and_ends_the_request() {
    let (w, admitted) = world().confirmed(&world().claims());
    let good = w.signer();
    let cases = [
        (
            CertificateRow { status: "revoked".into(), revoked_at: Some(NOW - 5), reason: Some(1), ..good.clone() },
            ErrorCode::CredentialRevoked,
        ),
        (
            CertificateRow { status: "suspended".into(), revoked_at: Some(NOW - 5), ..good.clone() },
            ErrorCode::CredentialSuspended,
        ),
        (CertificateRow { not_after: NOW, ..good.clone() }, ErrorCode::CredentialExpired),
        (CertificateRow { not_before: NOW + 1, ..good.clone() }, ErrorCode::CredentialExpired),
        (CertificateRow { status: "something new".into(), ..good.clone() }, ErrorCode::CredentialRevoked),
    ];
    for (signer, want) in cases {
        let refusal =
            authorize(&w.req, &[], &w.user, &w.device, SadEvidence::JustAdmitted(&admitted), &signer, ctx(NOW))
                .expect_err("refused");
        assert_eq!((refusal.code, refusal.ends_request), (want, true), "{signer:?}");
    }
    // Another user's certificate is never the signer's.
    let foreign = CertificateRow { credential_id: Some("cred-2".into()), ..good.clone() };
    let refusal = authorize(&w.req, &[], &w.user, &w.device, SadEvidence::JustAdmitted(&admitted), &foreign, ctx(NOW))
        .expect_err("refused");
    assert_eq!(refusal.code, ErrorCode::InternalError);
    assert!(authorize(&w.req, &[], &w.user, &w.device, SadEvidence::JustAdmitted(&admitted), &good, ctx(NOW)).is_ok());
}
