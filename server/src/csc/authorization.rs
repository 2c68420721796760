//! `credentials/authorize` and `authorizeCheck`: a hash-only sign request
//! that the person confirms on both channels, and the SAD issued once they
//! did.

use super::{Caller, credential_owner, invalid, missing, own_hash_request};
use crate::app::App;
use crate::entropy::random_bytes;
use crate::error::{Error, Result};
use crate::requests::{self, Requester};
use crate::store::{FailFrom, Members, RequestRow};
use std::time::Duration;
use wysiwys_proto::csc::{OID_SHA256, SAD_PREFIX, SadResponse};
use wysiwys_proto::hashes::{HashEntry, HashManifest, MAX_HASHES, MEDIA_TYPE_HASHES};
use wysiwys_proto::{ErrorCode, b64, jcs};

/// What a client asks to have authorized, in either version's names.
#[derive(Debug, Clone, Copy, Default)]
pub struct AuthorizeInput<'a> {
    pub credential_id: Option<&'a str>,
    pub num_signatures: Option<u64>,
    pub hashes: Option<&'a [String]>,
    /// A label per hash (v2 `documentDigests`), in the order of `hashes`.
    pub labels: Option<&'a [Option<String>]>,
    pub hash_algorithm_oid: Option<&'a str>,
    pub description: Option<&'a str>,
    /// Something typed into the client (a PIN, an OTP, an `authData`
    /// value): this credential takes none, and says so.
    pub typed_secret: bool,
}

/// Decodes one CSC hash: standard base64 of a SHA-256 digest.
pub(crate) fn decode_hash(hash: &str) -> Result<[u8; 32]> {
    let bytes = b64::decode_standard(hash)
        .ok_or_else(|| Error::refused(ErrorCode::BadRequest, "Invalid Base64 hash string parameter"))?;
    <[u8; 32]>::try_from(bytes).map_err(|_| Error::refused(ErrorCode::BadRequest, "Invalid digest value length"))
}

/// Makes the request both channels will confirm, and pushes it to the
/// person's devices. Returns it for the caller to wait on or hand out.
pub async fn start(app: &App, caller: &Caller, input: AuthorizeInput<'_>) -> Result<RequestRow> {
    let credential_id = input.credential_id.ok_or_else(|| missing("string", "credentialID"))?;
    let user = credential_owner(app, caller, credential_id).await?;
    let num_signatures = input.num_signatures.ok_or_else(|| missing("integer", "numSignatures"))?;
    if num_signatures < 1 {
        return Err(Error::refused(ErrorCode::BadRequest, "Invalid value for parameter numSignatures"));
    }
    if num_signatures > MAX_HASHES as u64 {
        return Err(Error::refused(ErrorCode::BadRequest, "Numbers of signatures is too high"));
    }
    if input.typed_secret {
        return Err(Error::refused(
            ErrorCode::BadRequest,
            "this credential takes no PIN, OTP or other typed secret: the person confirms in the web and on the device",
        ));
    }
    // SCAL 2: the SAD is bound to the hashes, so they come now.
    let hashes = input.hashes.ok_or_else(|| missing("array", "hash"))?;
    if hashes.is_empty() {
        return Err(Error::refused(ErrorCode::BadRequest, "Empty hash array"));
    }
    if hashes.len() as u64 != num_signatures {
        return Err(Error::refused(ErrorCode::BadRequest, "SCAL 2: numSignatures must equal the number of hashes"));
    }
    if input.hash_algorithm_oid.is_some_and(|oid| oid != OID_SHA256) {
        return Err(invalid("hashAlgorithmOID"));
    }
    let digests = hashes.iter().map(|h| decode_hash(h)).collect::<Result<Vec<_>>>()?;
    let rp = caller.rp();
    let entries = digests
        .iter()
        .enumerate()
        .map(|(i, digest)| HashEntry {
            hash: b64::encode_standard(digest),
            label: input.labels.and_then(|labels| labels.get(i).cloned().flatten()),
        })
        .collect();
    let count = digests.len();
    let default_description =
        format!("{count} signature{} requested by {}", if count == 1 { "" } else { "s" }, rp.name);
    let manifest = HashManifest::new(input.description.unwrap_or(&default_description), entries)?;
    crate::relying_parties::check_allowed(rp, MEDIA_TYPE_HASHES)?;
    let requester = Requester { rp_id: Some(&rp.id), name: &rp.name, ..Requester::WEB_UPLOAD };
    let row = requests::create(
        app,
        &user,
        &requester,
        MEDIA_TYPE_HASHES,
        &manifest.canonical_bytes()?,
        Members::Hashes(&digests),
    )
    .await?;
    tracing::info!(request = %row.id, rp = %rp.id, hashes = count, "CSC authorization started");
    Ok(row)
}

/// Where an authorization stands for the client.
#[derive(Debug)]
pub enum Progress {
    /// The person has not confirmed on both channels yet.
    Waiting,
    Authorized(SadResponse),
}

/// The state of an authorization the caller started; once both channels
/// confirmed, its SAD, issued exactly once. An ended request is its reason.
pub async fn check(app: &App, caller: &Caller, handle: &str) -> Result<Progress> {
    let row = own_hash_request(app, caller, handle)
        .await?
        .ok_or_else(|| Error::refused(ErrorCode::RequestNotFound, "Invalid parameter handle"))?;
    let row = requests::expire_if_due(app, row).await?;
    match row.state.as_str() {
        "pending" | "signing" => Ok(Progress::Waiting),
        "authorized" => issue(app, &row).await.map(Progress::Authorized),
        "failed" => {
            let code = row.error_code.as_deref().and_then(ErrorCode::parse).unwrap_or(ErrorCode::InternalError);
            let detail = row.error_detail.unwrap_or_default();
            Err(Error::refused(code, crate::error::public_detail(code, &detail).to_owned()))
        }
        _ => Err(Error::refused(ErrorCode::CscSadInvalid, "the SAD of this authorization was used up")),
    }
}

pub(crate) async fn issue(app: &App, row: &RequestRow) -> Result<SadResponse> {
    let sad = format!("{SAD_PREFIX}{}", b64::encode(random_bytes::<32>(app.entropy.as_ref())?));
    let now = app.clock.now_ms();
    let ttl_ms = app.settings.csc_sad_ttl_ms;
    let expires_at = now.checked_add(ttl_ms).ok_or_else(|| Error::Internal("SAD lifetime overflows".into()))?;
    if !app.store.issue_csc_sad(&row.id, &jcs::sha256(sad.as_bytes()), now, expires_at).await? {
        return Err(Error::refused(ErrorCode::CscSadInvalid, "the SAD of this authorization was collected already"));
    }
    tracing::info!(request = %row.id, "CSC SAD issued");
    Ok(SadResponse { sad, expires_in: u64::try_from(ttl_ms / 1000).unwrap_or(0) })
}

/// How often a waiting call looks at the request (as the live status does).
const POLL: Duration = Duration::from_millis(250);

/// For clients that cannot poll (v1): waits until both channels confirmed
/// or the request ended, at most the configured time. A request still
/// open then is withdrawn: nobody is left to collect its SAD.
pub async fn wait(app: &App, caller: &Caller, row: &RequestRow) -> Result<SadResponse> {
    let deadline = tokio::time::Instant::now() + app.settings.csc_wait;
    loop {
        if let Progress::Authorized(sad) = check(app, caller, &row.id).await? {
            return Ok(sad);
        }
        if tokio::time::Instant::now() >= deadline {
            let detail = "the signing application stopped waiting for the person";
            app.store
                .fail_request(&row.id, FailFrom::Pending, ErrorCode::RequestCancelled, detail, app.clock.now_ms())
                .await?;
            // It may have been confirmed in the very last moment.
            if let Progress::Authorized(sad) = check(app, caller, &row.id).await? {
                return Ok(sad);
            }
            return Err(Error::refused(
                ErrorCode::ChallengeExpired,
                "the person did not confirm on both channels in time",
            ));
        }
        tokio::time::sleep(POLL).await;
    }
}
