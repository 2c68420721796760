//! Sign requests from creation to signature: the flows that connect the two
//! channels to the SAM. Handlers call exactly one function of this module.

use crate::app::App;
use crate::channel_token::Earlier;
use crate::entropy::{random_bytes, random_id};
use crate::error::{Error, Result};
use crate::pdf;
use crate::sam::{self, Admission, Context, SadEvidence};
use crate::store::{
    AdmitOutcome, AdmittedSadRow, AuditEvent, BatchDocumentRow, DeviceRow, FailFrom, Idempotency, Members, NewRequest,
    PushFor, PushKind, RequestRow, UserRow,
};
use wysiwys_proto::api::{AckOutcome, AuditEntry, RequestState, ServerMessage, SignRequestView, WebConfirmation};
use wysiwys_proto::challenge::{CHALLENGE_TYP, ChallengeClaims};
use wysiwys_proto::hashes::MEDIA_TYPE_HASHES;
use wysiwys_proto::sad::Decision;
use wysiwys_proto::signature_level::SignatureLevel;
use wysiwys_proto::summary::{self, DisplayFields, MEDIA_TYPE_PDF, Summary};
use wysiwys_proto::{ErrorBody, ErrorCode, RENDER_VERSION, b64, vc};

/// Shown as the requester of documents uploaded through our own web page.
pub const WEB_REQUESTER: &str = "wysiwys web upload";
const HISTORY_LIMIT: i64 = 200;

fn state_of(row: &RequestRow) -> RequestState {
    match row.state.as_str() {
        "pending" => RequestState::Pending,
        "signing" => RequestState::Signing,
        "authorized" => RequestState::Authorized,
        "signed" => RequestState::Signed,
        _ => RequestState::Failed,
    }
}

pub fn view(row: &RequestRow) -> SignRequestView {
    let code = match (<[u8; 32]>::try_from(row.summary_hash.as_slice()), <[u8; 32]>::try_from(row.challenge.as_slice()))
    {
        (Ok(sum), Ok(chal)) => vc::verification_code(&row.id, &sum, &chal),
        _ => String::new(),
    };
    SignRequestView {
        id: row.id.clone(),
        state: state_of(row),
        media_type: row.media_type.clone(),
        title: row.title.clone(),
        requester: row.requester.clone(),
        doc_hash: b64::encode(&row.doc_hash),
        summary_hash: b64::encode(&row.summary_hash),
        verification_code: code,
        created_at: row.created_at,
        expires_at: row.expires_at,
        web_confirmed_at: row.web_confirmed_at,
        device_confirmed_at: row.device_confirmed_at,
        signed_at: row.signed_at,
        device_id: row.device_id.clone(),
        sad_sha256: row.sad_sha256.as_ref().map(b64::encode),
        signature_level: row.signature_level.as_deref().map(|l| l.parse().unwrap_or(SignatureLevel::Unknown)),
        error: row.error_code.as_deref().map(|code| {
            let code = ErrorCode::parse(code).unwrap_or(ErrorCode::InternalError);
            ErrorBody::new(code, crate::error::public_detail(code, row.error_detail.as_deref().unwrap_or_default()))
        }),
    }
}

async fn audit(
    app: &App,
    event: &str,
    row: &RequestRow,
    device_id: Option<&str>,
    code: Option<ErrorCode>,
    detail: Option<&str>,
) -> Result<()> {
    app.store
        .audit(&AuditEvent {
            at: app.clock.now_ms(),
            event,
            user_id: Some(&row.user_id),
            request_id: Some(&row.id),
            device_id,
            code,
            detail,
        })
        .await
}

/// Ends a pending request with a reason. The database audits the change;
/// an attempt on a request that had already ended is audited here.
async fn fail(app: &App, row: &RequestRow, device_id: Option<&str>, code: ErrorCode, detail: &str) -> Result<()> {
    if app.store.fail_request(&row.id, FailFrom::Pending, code, detail, app.clock.now_ms()).await? {
        metrics::counter!("wysiwys_requests_finished_total", "outcome" => code.as_str()).increment(1);
        tracing::info!(request = %row.id, %code, detail, "request refused");
        Ok(())
    } else {
        audit(app, "attempt_refused", row, device_id, Some(code), Some(detail)).await
    }
}

/// Records a refusal of the SAM as it says: ending the request, or only in
/// the audit trail (as `event`); returns it as the caller's error.
async fn refused(
    app: &App,
    row: &RequestRow,
    device_id: Option<&str>,
    event: &str,
    refusal: sam::Refusal,
) -> Result<Error> {
    if refusal.ends_request {
        fail(app, row, device_id, refusal.code, &refusal.detail).await?;
    } else {
        audit(app, event, row, device_id, Some(refusal.code), Some(&refusal.detail)).await?;
    }
    Ok(refusal.into())
}

/// A user's own request; anyone else's looks exactly like a missing one.
async fn own_request(app: &App, user: &UserRow, id: &str) -> Result<RequestRow> {
    match app.store.request(id).await? {
        Some(row) if row.user_id == user.id => Ok(row),
        _ => Err(Error::refused(ErrorCode::RequestNotFound, "no such request")),
    }
}

/// Closes a request whose challenge ran out while nobody was looking.
pub(crate) async fn expire_if_due(app: &App, row: RequestRow) -> Result<RequestRow> {
    if row.state == "pending" && app.clock.now_ms() >= row.expires_at {
        fail(app, &row, None, ErrorCode::ChallengeExpired, "the challenge expired before both channels confirmed")
            .await?;
        return app.store.request(&row.id).await?.ok_or_else(|| Error::Internal("request vanished".into()));
    }
    Ok(row)
}

/// Who asks for a signature: the user's own upload, or a relying party.
#[derive(Debug, Clone, Copy)]
pub struct Requester<'a> {
    /// Shown on both channels as the one who asks.
    pub name: &'a str,
    pub rp_id: Option<&'a str>,
    pub reference: Option<&'a str>,
    /// A relying party's Idempotency-Key and the fingerprint of its body.
    pub idempotency: Option<(&'a str, &'a [u8])>,
    /// What the requester says a PDF is (PDFs only).
    pub display: Option<&'a DisplayFields>,
    /// A shorter time to confirm than the server's default (relying parties).
    pub ttl_ms: Option<i64>,
    /// The AdES level asked for; the server's default when `None`.
    pub signature_level: Option<SignatureLevel>,
}

impl Requester<'static> {
    /// A document uploaded through our own page.
    pub const WEB_UPLOAD: Requester<'static> = Requester {
        name: WEB_REQUESTER,
        rp_id: None,
        reference: None,
        idempotency: None,
        display: None,
        ttl_ms: None,
        signature_level: None,
    };
}

/// The browser uploads a document for its own user.
pub async fn upload(app: &App, user: &UserRow, media_type: &str, document: &[u8]) -> Result<SignRequestView> {
    Ok(view(&create(app, user, &Requester::WEB_UPLOAD, media_type, document, Members::None).await?))
}

/// Makes a request for `user`, stores it, and pushes it to the user's
/// connected devices. With an idempotency key that another create took
/// meanwhile, nothing is stored and the error is `IdempotencyKeyReused`
/// for the caller to resolve.
pub async fn create(
    app: &App,
    user: &UserRow,
    requester: &Requester<'_>,
    media_type: &str,
    document: &[u8],
    members: Members<'_>,
) -> Result<RequestRow> {
    let now = app.clock.now_ms();
    if user.signing_locked_at.is_some() {
        return Err(Error::refused(
            ErrorCode::AccountLockedNotMe,
            "signing is locked after a \"not me\" answer; log in again",
        ));
    }
    // Nothing reaches the person's devices for a credential that cannot
    // sign; the SAM checks again before the HSM signs.
    if let Some((code, detail)) = crate::pki::current_certificate(&app.store, user).await?.standing(now).refusal() {
        return Err(Error::refused(code, detail));
    }
    let summary = render(app, media_type, document, requester.display)?;
    // Counted once the document is known to be showable: the limit is on
    // prompts reaching the person's devices, and a refused one is none.
    if !app.request_limiter.allow(user.id.clone(), now) {
        return Err(Error::refused(ErrorCode::RateLimited, "too many sign requests; wait a minute"));
    }
    let challenge = random_bytes::<32>(app.entropy.as_ref())?;
    // Whole seconds: the SAD's `exp` is a NumericDate and must not exceed this.
    let ttl_ms = requester.ttl_ms.unwrap_or(app.settings.challenge_ttl_ms);
    let expires_at = (now + ttl_ms).div_euclid(1000) * 1000;
    let row = RequestRow::from(NewRequest {
        id: random_id(app.entropy.as_ref())?,
        user_id: user.id.clone(),
        credential_id: user.credential_id.clone(),
        requester: requester.name.to_owned(),
        media_type: media_type.to_owned(),
        title: summary.title.clone(),
        document: document.to_vec(),
        doc_hash: wysiwys_proto::jcs::sha256(document).to_vec(),
        summary_json: String::from_utf8(summary.canonical_bytes()).map_err(|e| Error::Internal(e.to_string()))?,
        summary_hash: summary.hash().to_vec(),
        challenge: challenge.to_vec(),
        created_at: now,
        expires_at,
        rp_id: requester.rp_id.map(str::to_owned),
        rp_reference: requester.reference.map(str::to_owned),
    });
    let visible_signature = match requester.display.and_then(|d| d.visible_signature) {
        Some(_) if !matches!(members, Members::None) => {
            return Err(Error::refused(ErrorCode::BadRequest, "visible_signature is for a single PDF, not a batch"));
        }
        Some(stamp) => Some(serde_json::to_string(&stamp).map_err(|e| Error::Internal(e.to_string()))?),
        None => None,
    };
    let row = RequestRow {
        level_requested: requester.signature_level.map(|l| l.as_str().to_owned()),
        visible_signature,
        ..row
    };
    let idempotency = match (requester.rp_id, requester.idempotency) {
        (Some(rp_id), Some((key, fingerprint))) => Some(Idempotency { rp_id, key, fingerprint }),
        _ => None,
    };
    let batch: Vec<BatchDocumentRow>;
    let members = match members {
        Members::Batch(documents) => {
            batch = documents.iter().map(|d| BatchDocumentRow { request_id: row.id.clone(), ..d.clone() }).collect();
            Members::Batch(&batch)
        }
        other => other,
    };
    if !app.store.insert_request(&row, idempotency, members).await? {
        return Err(Error::refused(ErrorCode::IdempotencyKeyReused, "another create took this Idempotency-Key"));
    }
    metrics::counter!("wysiwys_requests_created_total").increment(1);
    for device_id in app.hub.connected_devices(&user.id) {
        push(app, &row, &device_id, Earlier::Impossible).await?;
    }
    Ok(row)
}

/// The one summary both channels will show.
pub(crate) fn render(app: &App, media_type: &str, document: &[u8], display: Option<&DisplayFields>) -> Result<Summary> {
    let limit = if media_type == MEDIA_TYPE_PDF { app.settings.max_pdf_bytes } else { app.settings.max_document_bytes };
    if document.len() > limit {
        return Err(Error::refused(ErrorCode::PayloadTooLarge, format!("document larger than {limit} bytes")));
    }
    match (media_type, display) {
        (MEDIA_TYPE_PDF, Some(display)) => {
            let pages = pdf::inspect(document, display.visible_signature.as_ref())?;
            Ok(summary::render_pdf(document, pages, display)?)
        }
        (MEDIA_TYPE_PDF, None) => {
            Err(Error::refused(ErrorCode::DocumentInvalid, "a PDF needs display fields (title and lines)"))
        }
        (_, Some(_)) => Err(Error::refused(
            ErrorCode::BadRequest,
            "display fields are for PDFs only; other documents are shown as they are",
        )),
        (_, None) => Ok(summary::render(media_type, document)?),
    }
}

/// The signature as a file: a `.p7s` beside the document, or the signed PDF.
#[derive(Debug)]
pub struct SignatureFile {
    pub content_type: &'static str,
    pub file_name: String,
    pub bytes: Vec<u8>,
}

pub(crate) fn signature_file(row: RequestRow) -> Result<SignatureFile> {
    signed_file(&row.id, &row.media_type, &row.state, row.signature)
}

/// The file a signature is delivered as: the signed PDF, or a detached `.p7s`.
fn signed_file(name: &str, media_type: &str, state: &str, signature: Option<Vec<u8>>) -> Result<SignatureFile> {
    let Some(bytes) = signature else {
        return Err(Error::refused(ErrorCode::RequestNotPending, format!("request is {state}, not signed")));
    };
    Ok(if media_type == MEDIA_TYPE_PDF {
        SignatureFile { content_type: "application/pdf", file_name: format!("{name}-signed.pdf"), bytes }
    } else {
        SignatureFile { content_type: "application/pkcs7-signature", file_name: format!("{name}.p7s"), bytes }
    })
}

/// One signed document of a signed batch.
pub(crate) async fn member_signature_file(app: &App, row: &RequestRow, index: u32) -> Result<SignatureFile> {
    let member = app
        .store
        .batch_documents(&row.id)
        .await?
        .into_iter()
        .find(|d| d.position == i64::from(index))
        .ok_or_else(|| Error::refused(ErrorCode::NotFound, "no such document in this request"))?;
    signed_file(&format!("{}-{index}", row.id), &member.media_type, &row.state, member.signature)
}

/// A batch document's signature, for the user who signed it.
pub async fn member_signature(app: &App, user: &UserRow, id: &str, index: u32) -> Result<SignatureFile> {
    member_signature_file(app, &own_request(app, user, id).await?, index).await
}

/// A relying party withdraws a pending request. False if it had moved on.
pub async fn cancel(app: &App, row: &RequestRow) -> Result<bool> {
    let cancelled = app
        .store
        .fail_request(
            &row.id,
            FailFrom::Pending,
            ErrorCode::RequestCancelled,
            "the requester withdrew the request",
            app.clock.now_ms(),
        )
        .await?;
    if cancelled {
        metrics::counter!("wysiwys_requests_finished_total", "outcome" => ErrorCode::RequestCancelled.as_str())
            .increment(1);
        tracing::info!(request = %row.id, "request cancelled by its requester");
    }
    Ok(cancelled)
}

/// How long an expired request stays open for a precise answer: a device
/// answer in this minute still gets CHALLENGE_EXPIRED, and a late "not me"
/// still locks signing. After it, `expire_due` closes the request.
const EXPIRY_GRACE_MS: i64 = 60_000;

/// Closes every request whose challenge ran out more than the grace ago.
pub async fn expire_due(app: &App) -> Result<u64> {
    let now = app.clock.now_ms();
    let closed = app.store.expire_due(now - EXPIRY_GRACE_MS, now).await?
        + app.store.expire_authorizations(now, now - app.settings.challenge_ttl_ms).await?;
    // Ended OAuth grants and tokens are kept a day (for an operator's
    // questions), then forgotten; the consent stays in the audit trail.
    app.store.purge_csc_oauth(now - 24 * 3600 * 1000).await?;
    app.store.purge_signed_pushes(now).await?;
    if closed > 0 {
        metrics::counter!("wysiwys_requests_finished_total", "outcome" => ErrorCode::ChallengeExpired.as_str())
            .increment(closed);
        tracing::info!(closed, "expired requests closed");
    }
    Ok(closed)
}

/// Signs the push for one device with the channel key and sends it.
pub async fn push(app: &App, row: &RequestRow, device_id: &str, earlier: Earlier) -> Result<()> {
    let summary: Summary =
        serde_json::from_str(&row.summary_json).map_err(|e| Error::Internal(format!("stored summary: {e}")))?;
    let claims = ChallengeClaims {
        iss: app.settings.origin.clone(),
        aud: device_id.to_owned(),
        sub: row.user_id.clone(),
        req: row.id.clone(),
        cred: row.credential_id.clone(),
        rp: row.requester.clone(),
        summary,
        doc: b64::encode(&row.doc_hash),
        sum: b64::encode(&row.summary_hash),
        rv: RENDER_VERSION.to_owned(),
        chal: b64::encode(&row.challenge),
        iat: app.clock.now_s(),
        exp: row.expires_at.div_euclid(1000),
    };
    let push = PushFor { kind: PushKind::SignRequest, subject_id: &row.id, device_id };
    let token = crate::channel_token::signed_once(app, push, earlier, CHALLENGE_TYP, &claims, row.expires_at).await?;
    app.hub.send(device_id, &ServerMessage::SignRequest { token });
    Ok(())
}

/// Everything waiting for this device, for a socket that just authenticated.
pub async fn push_pending(app: &App, device: &DeviceRow) -> Result<()> {
    for row in app.store.requests_awaiting_device(&device.user_id, app.clock.now_ms()).await? {
        push(app, &row, &device.id, Earlier::Possible).await?;
    }
    Ok(())
}

pub async fn get(app: &App, user: &UserRow, id: &str) -> Result<SignRequestView> {
    let row = own_request(app, user, id).await?;
    Ok(view(&expire_if_due(app, row).await?))
}

/// The audit trail of the user's own request.
pub async fn events(app: &App, user: &UserRow, id: &str) -> Result<Vec<AuditEntry>> {
    let row = own_request(app, user, id).await?;
    Ok(app
        .store
        .audit_trail(&row.id)
        .await?
        .into_iter()
        .map(|(at, event, device_id, code)| AuditEntry {
            at,
            event,
            device_id,
            code: code.as_deref().map(|c| ErrorCode::parse(c).unwrap_or(ErrorCode::InternalError)),
        })
        .collect())
}

pub async fn history(app: &App, user: &UserRow) -> Result<Vec<SignRequestView>> {
    Ok(app.store.requests_of_user(&user.id, HISTORY_LIMIT).await?.iter().map(view).collect())
}

/// The exact document bytes, for the browser to show and hash.
pub async fn document(app: &App, user: &UserRow, id: &str) -> Result<(String, Vec<u8>)> {
    let row = own_request(app, user, id).await?;
    Ok((row.media_type, row.document))
}

/// The exact summary bytes (RFC 8785) whose SHA-256 is the summary hash.
pub async fn summary_bytes(app: &App, user: &UserRow, id: &str) -> Result<Vec<u8>> {
    Ok(own_request(app, user, id).await?.summary_json.into_bytes())
}

pub async fn signature(app: &App, user: &UserRow, id: &str) -> Result<SignatureFile> {
    signature_file(own_request(app, user, id).await?)
}

/// The web channel confirms: hashes of the bytes the browser received.
pub async fn confirm_web(app: &App, user: &UserRow, id: &str, web: &WebConfirmation) -> Result<SignRequestView> {
    let row = own_request(app, user, id).await?;
    if let Err(refusal) = sam::check_web(&row, user, &user.id, web, app.clock.now_ms()) {
        return Err(refused(app, &row, None, "web_refused", refusal).await?);
    }
    let Some(row) = app.store.record_web_confirmation(&row.id, app.clock.now_ms()).await? else {
        return Err(Error::refused(ErrorCode::RequestNotPending, "the request moved on meanwhile"));
    };
    let Some(device_id) = row.device_id.clone().filter(|_| row.sad.is_some()) else {
        return Ok(view(&row));
    };
    let device = app
        .store
        .device(&device_id)
        .await?
        .ok_or_else(|| Error::refused(ErrorCode::DeviceUnknown, "device vanished"))?;
    Ok(view(&complete(app, row, user, &device, SadEvidence::Stored).await?))
}

async fn reload(app: &App, id: &str) -> Result<RequestRow> {
    app.store.request(id).await?.ok_or_else(|| Error::Internal(format!("request {id} vanished")))
}

/// A SAD from an authenticated device socket.
pub async fn submit_sad(app: &App, device: &DeviceRow, request_id: &str, token: &str) -> AckOutcome {
    match submit_sad_inner(app, device, request_id, token).await {
        Ok(state) => AckOutcome::Accepted { state },
        Err(e) => {
            if matches!(e, Error::Refused { .. }) {
                tracing::info!(device = %device.id, request = %request_id, error = %e, "SAD refused");
            } else {
                tracing::error!(device = %device.id, request = %request_id, error = ?e, "SAD handling failed");
            }
            AckOutcome::Refused { error: e.code(), error_description: e.public_description() }
        }
    }
}

async fn submit_sad_inner(app: &App, device: &DeviceRow, request_id: &str, token: &str) -> Result<RequestState> {
    let now = app.clock.now_ms();
    // Re-read: the device may have been revoked since its socket opened.
    let device = app
        .store
        .device(&device.id)
        .await?
        .ok_or_else(|| Error::refused(ErrorCode::DeviceUnknown, "device vanished"))?;
    let Some(row) = app.store.request(request_id).await? else {
        return Err(Error::refused(ErrorCode::RequestNotFound, "no such request"));
    };
    if row.user_id != device.user_id {
        // A stranger's device cannot end someone else's request.
        audit(app, "sad_from_foreign_device", &row, Some(&device.id), Some(ErrorCode::DeviceUnknown), None).await?;
        return Err(Error::refused(ErrorCode::RequestNotFound, "no such request"));
    }
    let user =
        app.store.user_by_id(&row.user_id).await?.ok_or_else(|| Error::Internal("request without user".into()))?;
    let ctx = Context::new(&app.settings.origin, now);
    let admitted = match sam::admit_sad(&row, &user, &device, token, ctx) {
        Ok(Admission::Fresh(admitted)) => admitted,
        Ok(Admission::Resent) => return Ok(answered_before(&row, &device)),
        Ok(Admission::LateNotMe(_)) => {
            audit(app, "late_not_me", &row, Some(&device.id), Some(ErrorCode::AccountLockedNotMe), None).await?;
            lock_after_not_me(app, &user, &device, now).await?;
            return Ok(RequestState::Failed);
        }
        Err(refusal) => return Err(refused(app, &row, Some(&device.id), "attempt_refused", refusal).await?),
    };
    let outcome = app
        .store
        .admit_sad(&AdmittedSadRow {
            request_id: &row.id,
            device_id: &device.id,
            token,
            token_sha256: &admitted.token_sha256,
            replay_key: &admitted.replay_key,
            counter: i64::try_from(admitted.claims.ctr).unwrap_or(i64::MAX),
            now,
        })
        .await?;
    let row = match outcome {
        AdmitOutcome::Admitted(fresh) => *fresh,
        AdmitOutcome::CounterNotIncreasing => {
            let detail = "SAD counter is not above the device's last one";
            fail(app, &row, Some(&device.id), ErrorCode::SadReplayed, detail).await?;
            return Err(Error::refused(ErrorCode::SadReplayed, detail));
        }
        // Another answer got in between our read and our write: it stands.
        // This one lost the race and is refused without touching the
        // request, so the winner's "accepted" stays true; unless it is the
        // very same token (sent twice at once), which gets the same answer.
        AdmitOutcome::AnsweredAlready | AdmitOutcome::Replayed | AdmitOutcome::RequestNotPending => {
            let now_row = reload(app, &row.id).await?;
            if sam::is_recorded_answer(&now_row, &device, token) {
                return Ok(answered_before(&now_row, &device));
            }
            if admitted.decision() == Decision::NotMe {
                audit(app, "late_not_me", &now_row, Some(&device.id), Some(ErrorCode::AccountLockedNotMe), None)
                    .await?;
                lock_after_not_me(app, &user, &device, now).await?;
                return Ok(RequestState::Failed);
            }
            let (code, detail) = match outcome {
                AdmitOutcome::RequestNotPending => (ErrorCode::RequestNotPending, "the request moved on meanwhile"),
                _ => (ErrorCode::SadReplayed, "another answer to this request arrived first"),
            };
            audit(app, "attempt_refused", &now_row, Some(&device.id), Some(code), Some(detail)).await?;
            return Err(Error::refused(code, detail));
        }
    };
    match admitted.decision() {
        Decision::Approve => {}
        Decision::Reject => {
            fail(
                app,
                &row,
                Some(&device.id),
                ErrorCode::DeviceRejected,
                "the person rejected the request on the device",
            )
            .await?;
            return Ok(RequestState::Failed);
        }
        Decision::NotMe => {
            fail(
                app,
                &row,
                Some(&device.id),
                ErrorCode::AccountLockedNotMe,
                "the person answered \"not me\"; signing is locked",
            )
            .await?;
            lock_after_not_me(app, &user, &device, now).await?;
            return Ok(RequestState::Failed);
        }
    }
    if row.web_confirmed_at.is_none() {
        return Ok(RequestState::Pending);
    }
    Ok(state_of(&complete(app, row, &user, &device, SadEvidence::JustAdmitted(&admitted)).await?))
}

/// The same token again: the answer it got the first time, from the
/// request as it is now (still waiting for the browser, signed, or ended).
fn answered_before(row: &RequestRow, device: &DeviceRow) -> RequestState {
    let state = state_of(row);
    tracing::info!(request = %row.id, device = %device.id, ?state, "the recorded SAD sent again: answered as before");
    state
}

/// "Not me": whoever made this request may have made others, so every
/// pending request of the account ends and signing locks until a log-in.
async fn lock_after_not_me(app: &App, user: &UserRow, device: &DeviceRow, now: i64) -> Result<()> {
    let others = app
        .store
        .lock_signing(
            &user.id,
            ErrorCode::AccountLockedNotMe,
            "another request of this account was answered \"not me\"; signing is locked",
            now,
        )
        .await?;
    metrics::counter!("wysiwys_requests_finished_total", "outcome" => ErrorCode::AccountLockedNotMe.as_str())
        .increment(others);
    tracing::warn!(user = %user.id, device = %device.id, others, "\"not me\": signing locked until the next log-in, pending requests closed");
    Ok(())
}

/// Both channels are in: ask the SAM, then sign. Returns the request as
/// it ends up (signed, or as the racing call left it).
async fn complete(
    app: &App,
    row: RequestRow,
    user: &UserRow,
    device: &DeviceRow,
    evidence: SadEvidence<'_>,
) -> Result<RequestRow> {
    let now = app.clock.now_ms();
    let ctx = Context {
        cms_extra_bytes: crate::levels::cms_extra_bytes(app, &row).await,
        ..Context::new(&app.settings.origin, now)
    };
    // Read before the SAM: for a batch it checks every document against the
    // manifest the channels confirmed.
    if row.media_type == MEDIA_TYPE_HASHES {
        return authorize_hashes(app, row, user, device, evidence).await;
    }
    let batch = app.store.batch_documents(&row.id).await?;
    let signer = crate::pki::current_certificate(&app.store, user).await?;
    let authorization = match sam::authorize(&row, &batch, user, device, evidence, &signer, ctx) {
        Ok(a) => a,
        Err(refusal) => return Err(refused(app, &row, Some(&device.id), "attempt_refused", refusal).await?),
    };
    if !app.store.claim_for_signing(&row.id, now).await? {
        // The other channel's call got here first and is signing.
        return reload(app, &row.id).await;
    }
    let signed = async {
        let (main, mut level) = crate::levels::sign_document(app, &row, user, authorization.document).await?;
        let mut members = Vec::with_capacity(authorization.members.len());
        for member in authorization.members {
            let (signature, member_level) = crate::levels::sign_document(app, &row, user, member).await?;
            level = level.min(member_level);
            members.push(signature);
        }
        Ok::<_, Error>((main, members, level))
    }
    .await;
    let (signature, member_signatures, level) = match signed {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(request = %row.id, error = ?e, "signing failed after the SAM agreed");
            // A refusal (no timestamp under `required`) keeps its code.
            let (code, detail) = match &e {
                Error::Refused { code, detail } => (*code, detail.as_str()),
                _ => (ErrorCode::InternalError, "signing failed"),
            };
            app.store.fail_request(&row.id, FailFrom::Signing, code, detail, app.clock.now_ms()).await?;
            return Err(e);
        }
    };
    let finished =
        app.store.finish_signing(&row.id, &signature, &member_signatures, level.as_str(), app.clock.now_ms()).await?;
    let Some(signed_row) = finished else {
        return Err(Error::Internal(format!("request {} left the signing state while signing", row.id)));
    };
    metrics::counter!("wysiwys_requests_finished_total", "outcome" => "SIGNED").increment(1);
    tracing::info!(request = %row.id, "signed");
    Ok(signed_row)
}

/// Both channels confirmed a hash-only request: the SAM checks them as for
/// any request, and the request becomes authorized. The HSM signs nothing
/// yet; each hash is signed when the client sends it with the SAD
/// (`csc::signing`).
async fn authorize_hashes(
    app: &App,
    row: RequestRow,
    user: &UserRow,
    device: &DeviceRow,
    evidence: SadEvidence<'_>,
) -> Result<RequestRow> {
    let ctx = Context::new(&app.settings.origin, app.clock.now_ms());
    if let Err(refusal) = sam::authorize_hashes(&row, user, device, evidence, ctx) {
        return Err(refused(app, &row, Some(&device.id), "attempt_refused", refusal).await?);
    }
    if app.store.authorize_hashes(&row.id, ctx.now_ms).await? {
        tracing::info!(request = %row.id, "hashes authorized on both channels");
    }
    reload(app, &row.id).await
}
