//! The Signature Activation Module: the one place that decides whether a
//! user's key may sign, and the only caller of the HSM's user-key signature.
//!
//! Key K of user U signs for request R only if all hold:
//! - R is pending, unexpired, and has never been signed;
//! - a web confirmation from U's session carries R's document and summary hashes;
//! - a SAD verifies under an active device of U, every claim equals R's
//!   stored values and outstanding challenge, its decision is approve, its
//!   counter was above the device's last one and it was never used before
//!   (both checked when the SAD was admitted, atomically with recording it);
//! - the digest given to the HSM is that of the CMS signed attributes, whose
//!   message-digest is R's document hash.
//!
//! Architecture invariant: [`SignPermit`] has private fields and no
//! constructor outside this module, and [`crate::hsm::Hsm::sign_with_user_key`]
//! requires one. Every function here is pure apart from [`sign`].

use crate::cades::{self, BatchEvidence, Evidence};
use crate::error::Error;
use crate::hsm::Hsm;
use crate::pdf::pades;
use crate::pdf::stamp::Stamp;
use crate::signed_data::SignedAttributes;
use crate::store::{BatchDocumentRow, CertificateRow, DeviceRow, RequestRow, UserRow};
use std::sync::Arc;
use subtle::ConstantTimeEq;
use wysiwys_proto::api::WebConfirmation;
use wysiwys_proto::batch::{BatchManifest, MEDIA_TYPE_BATCH};
use wysiwys_proto::hashes::MEDIA_TYPE_HASHES;
use wysiwys_proto::merkle;
use wysiwys_proto::payment::Payment;
use wysiwys_proto::sad::{self, Decision, SadClaims, VerifiedSad};
use wysiwys_proto::stamp::VisibleSignature;
use wysiwys_proto::summary::{MEDIA_TYPE_PAYMENT, MEDIA_TYPE_PDF, Summary};
use wysiwys_proto::{ErrorCode, Jwk, RENDER_VERSION, b64, vc};

/// Why the SAM said no, and whether the no ends the request. A refusal
/// before any answer is recorded ends it (fail closed: whoever sent a
/// forged hash or SAD may try again otherwise). Once a request has its
/// answer, nothing another party sends may undo it, so later refusals
/// leave it as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: ErrorCode,
    pub detail: String,
    pub ends_request: bool,
}

impl Refusal {
    fn ending(code: ErrorCode, detail: impl Into<String>) -> Refusal {
        Refusal { code, detail: detail.into(), ends_request: true }
    }

    fn keeping(code: ErrorCode, detail: impl Into<String>) -> Refusal {
        Refusal { code, detail: detail.into(), ends_request: false }
    }

    /// The same refusal, leaving the request as it is.
    fn kept(self) -> Refusal {
        Refusal { ends_request: false, ..self }
    }

    /// Stored state the SAM cannot trust: the request cannot succeed, so
    /// it ends (fail closed).
    fn internal(detail: impl Into<String>) -> Refusal {
        Refusal::ending(ErrorCode::InternalError, detail)
    }
}

impl From<Refusal> for Error {
    fn from(r: Refusal) -> Self {
        Error::refused(r.code, r.detail)
    }
}

fn refuse<T>(code: ErrorCode, detail: impl Into<String>) -> Result<T, Refusal> {
    Err(Refusal::ending(code, detail))
}

fn refuse_keeping<T>(code: ErrorCode, detail: impl Into<String>) -> Result<T, Refusal> {
    Err(Refusal::keeping(code, detail))
}

/// Permission for exactly one HSM signature, over exactly one digest.
/// Not `Clone`: using it is consuming the decision.
#[derive(Debug)]
pub struct SignPermit {
    credential_id: String,
    digest: [u8; 32],
}

impl SignPermit {
    pub(crate) fn credential_id(&self) -> &str {
        &self.credential_id
    }

    pub(crate) fn digest(&self) -> &[u8; 32] {
        &self.digest
    }
}

/// What every check needs to know about the world.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub origin: &'a str,
    pub now_ms: i64,
    /// Bytes of a PDF signature's CMS beyond its signed attributes, the
    /// signer's certificate and the signature value: the CA's certificate
    /// and, at B-T and above, room for the signature timestamp. The
    /// `/Contents` hole is sized from it.
    pub cms_extra_bytes: usize,
}

impl<'a> Context<'a> {
    pub fn new(origin: &'a str, now_ms: i64) -> Context<'a> {
        Context { origin, now_ms, cms_extra_bytes: 0 }
    }
}

/// The longest DER `ECDSA-Sig-Value` of P-256 (two 33-byte INTEGERs).
const MAX_ECDSA_DER_BYTES: usize = 72;
/// What SignedData adds around its parts: versions, algorithm
/// identifiers, the issuer and serial, tags and lengths; measured at
/// under 300 bytes for our names, with room to spare.
const CMS_STRUCTURE_BYTES: usize = 512;

fn hash32(bytes: &[u8], what: &str) -> Result<[u8; 32], Refusal> {
    bytes.try_into().map_err(|_| Refusal::internal(format!("stored {what} is not 32 bytes")))
}

fn ct_equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

fn check_request_open(req: &RequestRow, user: &UserRow, now_ms: i64) -> Result<(), Refusal> {
    if req.state != "pending" || req.signature.is_some() {
        let reason = req.error_code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default();
        return refuse_keeping(ErrorCode::RequestNotPending, format!("request is {}{reason}", req.state));
    }
    if now_ms >= req.expires_at {
        return refuse(ErrorCode::ChallengeExpired, "the challenge of this request has expired");
    }
    if req.user_id != user.id {
        return Err(Refusal::internal("request and user rows do not belong together"));
    }
    if user.signing_locked_at.is_some() {
        return refuse(ErrorCode::AccountLockedNotMe, "signing is locked after a \"not me\" answer; log in again");
    }
    Ok(())
}

/// The signer's certificate must be the user's current one, and neither
/// revoked, suspended nor expired at this moment (the register's typed
/// standing decides). A refusal ends the request.
fn check_signer(signer: &CertificateRow, user: &UserRow, now_ms: i64) -> Result<(), Refusal> {
    if signer.credential_id.as_deref() != Some(user.credential_id.as_str()) || !ct_equal(&signer.der, &user.certificate)
    {
        return Err(Refusal::internal("the registered certificate is not the user's current one"));
    }
    match signer.standing(now_ms).refusal() {
        Some((code, detail)) => refuse(code, detail),
        None => Ok(()),
    }
}

/// The browser channel: hashes of the exact bytes the page received.
pub fn check_web(
    req: &RequestRow,
    user: &UserRow,
    session_user_id: &str,
    web: &WebConfirmation,
    now_ms: i64,
) -> Result<(), Refusal> {
    if session_user_id != req.user_id {
        // Someone else's request looks exactly like a missing one.
        return refuse_keeping(ErrorCode::RequestNotFound, "no such request");
    }
    check_request_open(req, user, now_ms)?;
    if req.web_confirmed_at.is_some() {
        return refuse_keeping(ErrorCode::RequestNotPending, "the web channel has confirmed already");
    }
    let doc = b64::decode_array::<32>(&web.doc_hash);
    let sum = b64::decode_array::<32>(&web.summary_hash);
    if !doc.is_some_and(|d| ct_equal(&d, &req.doc_hash)) {
        return refuse(ErrorCode::HashMismatch, "the document the browser hashed is not the document of this request");
    }
    if !sum.is_some_and(|s| ct_equal(&s, &req.summary_hash)) {
        return refuse(ErrorCode::SummaryMismatch, "the summary the browser hashed is not the summary of this request");
    }
    Ok(())
}

/// A SAD whose signature and claims were checked against its request and device.
#[derive(Debug, Clone)]
pub struct AdmittedSad {
    pub claims: SadClaims,
    pub replay_key: [u8; 32],
    pub token_sha256: [u8; 32],
}

impl AdmittedSad {
    pub fn decision(&self) -> Decision {
        self.claims.dec
    }
}

fn check_device(req: &RequestRow, device: &DeviceRow) -> Result<(), Refusal> {
    if device.user_id != req.user_id {
        return refuse(ErrorCode::DeviceUnknown, "the device is not paired with the user of this request");
    }
    if device.revoked_at.is_some() {
        return refuse(ErrorCode::DeviceRevoked, "the device has been revoked");
    }
    if device.approved_at.is_none() {
        return refuse(ErrorCode::PairingPending, "the device awaits approval by another device of the account");
    }
    Ok(())
}

/// Signature, time and every claim against the stored request.
fn verify_sad_for(req: &RequestRow, device: &DeviceRow, token: &str, ctx: Context<'_>) -> Result<VerifiedSad, Refusal> {
    check_device(req, device)?;
    let key = serde_json::from_str::<Jwk>(&device.public_jwk)
        .ok()
        .and_then(|jwk| jwk.to_verifying_key().ok())
        .ok_or_else(|| Refusal::internal("stored device key is unusable"))?;
    let verified = sad::verify(token, &key, ctx.now_ms.div_euclid(1000))
        .map_err(|e| Refusal::ending(e.code(), format!("SAD: {e}")))?;
    let c = &verified.claims;
    if c.iss != device.id {
        return refuse(ErrorCode::SadInvalid, "SAD issuer is not the device that sent it");
    }
    if c.req != req.id {
        return refuse(ErrorCode::SadWrongRequest, "SAD is for another request");
    }
    let challenge = hash32(&req.challenge, "challenge")?;
    if c.chal != b64::encode(challenge) {
        return refuse(ErrorCode::SadWrongRequest, "SAD answers another challenge");
    }
    if c.sub != req.user_id {
        return refuse(ErrorCode::SadInvalid, "SAD names another user");
    }
    if c.aud != ctx.origin {
        return refuse(ErrorCode::SadInvalid, "SAD is for another server");
    }
    if c.cred != req.credential_id {
        return refuse(ErrorCode::SadInvalid, "SAD names another signing credential");
    }
    if !b64::decode_array::<32>(&c.doc).is_some_and(|d| ct_equal(&d, &req.doc_hash)) {
        return refuse(ErrorCode::HashMismatch, "the device confirmed another document");
    }
    let summary_hash = hash32(&req.summary_hash, "summary hash")?;
    if !b64::decode_array::<32>(&c.sum).is_some_and(|s| ct_equal(&s, &summary_hash)) {
        return refuse(ErrorCode::SummaryMismatch, "the device confirmed another summary");
    }
    if c.rv != RENDER_VERSION {
        return refuse(ErrorCode::SadInvalid, "SAD uses another render version");
    }
    if c.vc != vc::verification_code(&req.id, &summary_hash, &challenge) {
        return refuse(ErrorCode::SadInvalid, "SAD carries a wrong verification code");
    }
    // `exp` is the device's number: an overflow is a bad claim, not a panic.
    if c.exp.checked_mul(1000).is_none_or(|exp_ms| exp_ms > req.expires_at) {
        return refuse(ErrorCode::SadInvalid, "SAD outlives the challenge");
    }
    Ok(verified)
}

/// What a device's answer is to the SAM, before the store records it.
#[derive(Debug, Clone)]
pub enum Admission {
    /// A new answer: the store records it, if no other answer got in first.
    Fresh(AdmittedSad),
    /// Byte for byte the answer this device gave before, sent again
    /// because its ack was lost: it is answered as before and changes nothing.
    Resent,
    /// A valid "not me" for a request that has another answer: it is not
    /// this request's answer, but the person is heard (§7: signing locks,
    /// every pending request of the account is closed).
    LateNotMe(AdmittedSad),
}

/// Whether `token` is exactly the answer on record for `req`, from `device`.
pub fn is_recorded_answer(req: &RequestRow, device: &DeviceRow, token: &str) -> bool {
    req.device_id.as_deref() == Some(device.id.as_str())
        && req
            .sad_sha256
            .as_deref()
            .is_some_and(|recorded| ct_equal(&wysiwys_proto::jcs::sha256(token.as_bytes()), recorded))
}

/// Checks a SAD arriving for a request before it is recorded. The store
/// then records it atomically with the replay guard and the counter.
pub fn admit_sad(
    req: &RequestRow,
    user: &UserRow,
    device: &DeviceRow,
    token: &str,
    ctx: Context<'_>,
) -> Result<Admission, Refusal> {
    if is_recorded_answer(req, device, token) {
        check_device(req, device)?;
        return Ok(Admission::Resent);
    }
    if req.state != "pending" || req.signature.is_some() {
        return refuse_keeping(ErrorCode::RequestNotPending, format!("request is {}", req.state));
    }
    if req.sad.is_some() {
        // The request's answer stands: nothing sent after it may undo it.
        let late = verify_sad_for(req, device, token, ctx).map_err(Refusal::kept)?;
        if late.claims.dec == Decision::NotMe {
            return Ok(Admission::LateNotMe(admitted(late, token)));
        }
        return refuse_keeping(ErrorCode::SadReplayed, "this request has a device answer already");
    }
    let verified = verify_sad_for(req, device, token, ctx)?;
    // Expiry and the lock matter for approvals only: a late "reject" or a
    // "not me" from a locked account must still be heard.
    if verified.claims.dec == Decision::Approve {
        check_request_open(req, user, ctx.now_ms)?;
    }
    if i64::try_from(verified.claims.ctr).map_or(true, |ctr| ctr <= device.last_ctr) {
        return refuse(ErrorCode::SadReplayed, "SAD counter is not above the device's last one");
    }
    Ok(Admission::Fresh(admitted(verified, token)))
}

fn admitted(verified: VerifiedSad, token: &str) -> AdmittedSad {
    AdmittedSad {
        token_sha256: wysiwys_proto::jcs::sha256(token.as_bytes()),
        replay_key: verified.replay_key,
        claims: verified.claims,
    }
}

/// How the SAD reaches the final check: just admitted in this call (its
/// signature was verified a moment ago), or read back from the store.
#[derive(Debug, Clone, Copy)]
pub enum SadEvidence<'a> {
    JustAdmitted(&'a AdmittedSad),
    Stored,
}

/// One signature the SAM allows: the permit, the attributes it covers, and
/// for a PDF the file the CMS goes into.
#[derive(Debug)]
pub struct Signing {
    pub permit: SignPermit,
    pub attributes: SignedAttributes,
    pub pdf: Option<pades::Prepared>,
}

/// Everything the SAM allows for a request: its own signature and, for a
/// batch, one per document.
#[derive(Debug)]
pub struct Authorization {
    pub document: Signing,
    pub members: Vec<Signing>,
}

/// What both channels said, checked: R is open, the web confirmed R's
/// hashes, and R's device answer is an approval that verifies.
struct Confirmed<'r> {
    web_confirmed_at: i64,
    device_confirmed_at: i64,
    sad_sha256: &'r [u8],
}

fn check_confirmed<'r>(
    req: &'r RequestRow,
    user: &UserRow,
    device: &DeviceRow,
    sad_evidence: SadEvidence<'_>,
    ctx: Context<'_>,
) -> Result<Confirmed<'r>, Refusal> {
    check_request_open(req, user, ctx.now_ms)?;
    let Some(web_confirmed_at) = req.web_confirmed_at else {
        return refuse_keeping(ErrorCode::RequestNotPending, "waiting for the web confirmation");
    };
    let (Some(token), Some(device_confirmed_at), Some(sad_sha256)) =
        (req.sad.as_deref(), req.device_confirmed_at, req.sad_sha256.as_deref())
    else {
        return refuse_keeping(ErrorCode::RequestNotPending, "waiting for the device confirmation");
    };
    if req.device_id.as_deref() != Some(device.id.as_str()) {
        return refuse(ErrorCode::SadInvalid, "the SAD on record came from another device");
    }
    let claims = match sad_evidence {
        SadEvidence::JustAdmitted(admitted) => {
            check_device(req, device)?;
            if !ct_equal(&admitted.token_sha256, sad_sha256) {
                return refuse(ErrorCode::SadInvalid, "the SAD on record is not the one just admitted");
            }
            if ctx.now_ms.div_euclid(1000) >= admitted.claims.exp {
                return refuse(ErrorCode::ChallengeExpired, "the SAD has expired");
            }
            admitted.claims.clone()
        }
        SadEvidence::Stored => {
            if !ct_equal(&wysiwys_proto::jcs::sha256(token.as_bytes()), sad_sha256) {
                return refuse(ErrorCode::SadInvalid, "the SAD on record was altered");
            }
            verify_sad_for(req, device, token, ctx)?.claims
        }
    };
    match claims.dec {
        Decision::Approve => {}
        Decision::Reject => return refuse(ErrorCode::DeviceRejected, "the person rejected the request on the device"),
        Decision::NotMe => return refuse(ErrorCode::AccountLockedNotMe, "the person answered \"not me\""),
    }
    Ok(Confirmed { web_confirmed_at, device_confirmed_at, sad_sha256 })
}

/// The final decision. On success the returned permit allows one signature
/// over signed attributes built here from R's own document hash.
pub fn authorize(
    req: &RequestRow,
    batch: &[BatchDocumentRow],
    user: &UserRow,
    device: &DeviceRow,
    sad_evidence: SadEvidence<'_>,
    signer: &CertificateRow,
    ctx: Context<'_>,
) -> Result<Authorization, Refusal> {
    if req.media_type == MEDIA_TYPE_HASHES {
        return Err(Refusal::internal("a hash-only request is authorized, not signed, on confirmation"));
    }
    let Confirmed { web_confirmed_at, device_confirmed_at, sad_sha256 } =
        check_confirmed(req, user, device, sad_evidence, ctx)?;
    check_signer(signer, user, ctx.now_ms)?;
    let signer_certificate = signer.der.as_slice();
    let doc_hash = hash32(&req.doc_hash, "document hash")?;
    let evidence = Evidence {
        v: "evidence/1",
        request_id: req.id.clone(),
        doc_sha256: b64::encode(doc_hash),
        summary_sha256: b64::encode(&req.summary_hash),
        render_version: RENDER_VERSION,
        sad_sha256: b64::encode(sad_sha256),
        device_id: device.id.clone(),
        web_confirmed_at,
        device_confirmed_at,
        requester: req.requester.clone(),
        payment: payment_of(&req.media_type, &req.document)?,
        batch: None,
    };
    let stamp = stamp_of(req, user, ctx)?;
    let document = signing(
        req,
        &req.media_type,
        &req.document,
        &doc_hash,
        PdfField { name: &pdf_field_name(&req.id), stamp: stamp.as_ref() },
        &evidence,
        signer_certificate,
        ctx,
    )?;
    let members = if req.media_type == MEDIA_TYPE_BATCH {
        authorize_members(req, batch, &doc_hash, &evidence, signer_certificate, ctx)?
    } else if batch.is_empty() {
        Vec::new()
    } else {
        return refuse(ErrorCode::InternalError, "documents of a batch stored for a request that is no batch");
    };
    Ok(Authorization { document, members })
}

/// A batch: the channels confirmed the manifest (R's document). Each stored
/// document must hash to its manifest entry, in order; its signature's
/// evidence carries the Merkle root and its inclusion path.
fn authorize_members(
    req: &RequestRow,
    batch: &[BatchDocumentRow],
    manifest_hash: &[u8; 32],
    batch_evidence: &Evidence,
    signer_certificate: &[u8],
    ctx: Context<'_>,
) -> Result<Vec<Signing>, Refusal> {
    let bad = |detail: &str| Refusal::internal(detail);
    if !ct_equal(&wysiwys_proto::jcs::sha256(&req.document), manifest_hash) {
        return Err(bad("the stored manifest is not the confirmed one"));
    }
    let manifest: BatchManifest =
        serde_json::from_slice(&req.document).map_err(|_| bad("the stored manifest does not parse"))?;
    let leaves = manifest.document_hashes().map_err(|_| bad("the manifest has a malformed hash"))?;
    let root = merkle::root(&leaves).ok_or_else(|| bad("an empty batch"))?;
    if b64::encode(root) != manifest.merkle_root || leaves.len() != batch.len() {
        return Err(bad("the stored documents are not the documents of the manifest"));
    }
    let mut members = Vec::with_capacity(batch.len());
    for (index, (member, leaf)) in batch.iter().zip(&leaves).enumerate() {
        let stored = hash32(&member.doc_hash, "document hash")?;
        let actual = wysiwys_proto::jcs::sha256(&member.document);
        if usize::try_from(member.position).ok() != Some(index) || !ct_equal(&stored, leaf) || !ct_equal(&actual, leaf)
        {
            return Err(bad("a stored document is not the one the manifest names at its place"));
        }
        let path = merkle::inclusion_path(&leaves, index).ok_or_else(|| bad("no inclusion path"))?;
        let evidence = Evidence {
            doc_sha256: b64::encode(leaf),
            payment: payment_of(&member.media_type, &member.document)?,
            batch: Some(BatchEvidence {
                manifest_sha256: b64::encode(manifest_hash),
                merkle_root: manifest.merkle_root.clone(),
                index,
                size: leaves.len(),
                path: path.iter().map(b64::encode).collect(),
            }),
            ..batch_evidence.clone()
        };
        let field = pdf_field_name(&format!("{}-{index}", req.id));
        members.push(signing(
            req,
            &member.media_type,
            &member.document,
            leaf,
            PdfField { name: &field, stamp: None },
            &evidence,
            signer_certificate,
            ctx,
        )?);
    }
    Ok(members)
}

/// A PDF signature's field: its name, and its stamp if it is visible.
struct PdfField<'a> {
    name: &'a str,
    stamp: Option<&'a Stamp>,
}

/// The visible stamp a request asked for, only if it is on the summary
/// both channels showed: a stamp nobody confirmed is never drawn.
fn stamp_of(req: &RequestRow, user: &UserRow, ctx: Context<'_>) -> Result<Option<Stamp>, Refusal> {
    let Some(stored) = req.visible_signature.as_deref() else { return Ok(None) };
    let placement: VisibleSignature =
        serde_json::from_str(stored).map_err(|e| Refusal::internal(format!("stored visible_signature: {e}")))?;
    let summary: Summary =
        serde_json::from_str(&req.summary_json).map_err(|e| Refusal::internal(format!("stored summary: {e}")))?;
    if req.media_type != MEDIA_TYPE_PDF || !summary.lines.contains(&placement.summary_line()) {
        return Err(Refusal::internal("a visible stamp that was not on the summary both channels showed"));
    }
    Ok(Some(Stamp::for_signature(placement, &user.username, ctx.now_ms, &req.id)))
}

/// The permit for one document: CAdES signs the confirmed document's hash
/// itself; PAdES signs the byte ranges of the file with its signature hole,
/// which must open with exactly the confirmed bytes.
#[allow(clippy::too_many_arguments)] // each is one fact the signature binds
fn signing(
    req: &RequestRow,
    media_type: &str,
    document: &[u8],
    doc_hash: &[u8; 32],
    pdf_field: PdfField<'_>,
    evidence: &Evidence,
    signer_certificate: &[u8],
    ctx: Context<'_>,
) -> Result<Signing, Refusal> {
    let internal = |e: Error| Refusal::internal(e.to_string());
    let (message_digest, signing_time, pdf) = if media_type == MEDIA_TYPE_PDF {
        if !ct_equal(&wysiwys_proto::jcs::sha256(document), doc_hash) {
            return refuse(ErrorCode::InternalError, "the stored PDF is not the confirmed document");
        }
        // The CMS's size does not depend on the digest it carries: the
        // hole is sized from these attributes built over a zero digest.
        let sized = cades::signed_attributes(&[0; 32], None, signer_certificate, evidence).map_err(internal)?;
        let contents_bytes = [sized.der().len(), signer_certificate.len(), MAX_ECDSA_DER_BYTES, CMS_STRUCTURE_BYTES]
            .iter()
            .try_fold(ctx.cms_extra_bytes, |sum, n| sum.checked_add(*n))
            .ok_or_else(|| Refusal::internal("the CMS size overflows"))?;
        let prepared =
            pades::prepare(document, pdf_field.name, ctx.now_ms, contents_bytes, pdf_field.stamp).map_err(internal)?;
        if !prepared.bytes().starts_with(document) {
            return refuse(ErrorCode::InternalError, "the prepared PDF does not begin with the confirmed document");
        }
        (prepared.byte_range_digest(), None, Some(prepared))
    } else {
        (*doc_hash, Some(ctx.now_ms), None)
    };
    let attributes =
        cades::signed_attributes(&message_digest, signing_time, signer_certificate, evidence).map_err(internal)?;
    if attributes.message_digest() != Some(message_digest) {
        return refuse(ErrorCode::InternalError, "signed attributes do not carry the digest of the confirmed document");
    }
    let permit = SignPermit { credential_id: req.credential_id.clone(), digest: attributes.digest() };
    Ok(Signing { permit, attributes, pdf })
}

/// Unique per request (and document), so a PDF signed here twice has two
/// distinct fields.
fn pdf_field_name(id: &str) -> String {
    format!("wysiwys-{id}")
}

/// The payment a payment request is about, re-read from the stored
/// document (whose hash both channels confirmed), for the evidence.
fn payment_of(media_type: &str, document: &[u8]) -> Result<Option<Payment>, Refusal> {
    if media_type != MEDIA_TYPE_PAYMENT {
        return Ok(None);
    }
    serde_json::from_slice(document).map(Some).map_err(|e| Refusal::internal(format!("stored payment: {e}")))
}

/// The single call site of the user-key signature.
pub fn sign(hsm: &Hsm, permit: SignPermit) -> Result<[u8; 64], Error> {
    Ok(hsm.sign_with_user_key(&permit)?)
}

/// Below this many permits one signing thread signs them; above, the work
/// is spread over the HSM's signing threads, one session each.
const PARALLEL_FROM: usize = 16;

/// Signatures of [`sign_each`], a part at a time: each permit's place in
/// the call, and what the HSM answered.
pub type Signed = Vec<(usize, Result<[u8; 64], Error>)>;

/// Signs every permit on the HSM's signing threads, not on an async
/// worker, and hands the signatures back in two parts per signing thread,
/// the first `early_share` of its permits and then the rest: the caller
/// stores the first part while the HSM signs the rest (a CSC `signHash` of many
/// hashes). Parts, not single signatures: each one wakes the caller, and
/// on a busy machine a wake-up per signature costs more than it saves. A
/// batch uses as many HSM sessions in parallel as the operator set. A
/// signing thread stops at its first failure or once nobody listens; the
/// permits are used up either way.
pub fn sign_each(
    hsm: &Arc<Hsm>,
    permits: Vec<SignPermit>,
    early_share: (usize, usize),
) -> tokio::sync::mpsc::UnboundedReceiver<Signed> {
    let threads = if permits.len() < PARALLEL_FROM { 1 } else { hsm.signing_threads().clamp(1, 16) };
    let per_thread = permits.len().div_ceil(threads).max(1);
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    let mut rest = permits.into_iter().enumerate().peekable();
    while rest.peek().is_some() {
        let chunk: Vec<(usize, SignPermit)> = rest.by_ref().take(per_thread).collect();
        let first_part = (chunk.len() * early_share.0).div_ceil(early_share.1.max(1));
        let (signer, sender) = (Arc::clone(hsm), sender.clone());
        let queued = hsm.on_signing_thread(Box::new(move || {
            let mut part = Vec::with_capacity(chunk.len());
            let last = chunk.len();
            for (done, (index, permit)) in chunk.into_iter().enumerate() {
                let signed = sign(&signer, permit);
                let failed = signed.is_err();
                part.push((index, signed));
                let part_done = failed || done + 1 == first_part || done + 1 == last;
                if part_done && (sender.send(std::mem::take(&mut part)).is_err() || failed) {
                    break;
                }
            }
        }));
        // A job the HSM could not queue is dropped with its sender: the
        // caller hears of a signing thread that ended early.
        if let Err(e) = queued {
            tracing::error!(error = %e, "HSM signing job not queued");
        }
    }
    receiver
}

mod hashes;
pub use hashes::{HashSigning, authorize_hashes, check_hash_signing, positions_of};

#[cfg(test)]
mod tests;
