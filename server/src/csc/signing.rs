//! `signatures/signHash`: each hash the person confirmed, signed once with
//! the SAD of its authorization.

use super::authorization::decode_hash;
use super::{Caller, credential_owner, invalid, missing, own_hash_request};
use crate::app::App;
use crate::error::{Error, Result};
use crate::sam::{self, Context, SignPermit};
use crate::store::CscHashRow;
use wysiwys_proto::csc::{OID_ECDSA_WITH_SHA256, OID_SHA256, SAD_PREFIX};
use wysiwys_proto::hashes::MAX_HASHES;
use wysiwys_proto::{ErrorCode, jcs};

/// What a client sends to `signHash`, in either version's names.
#[derive(Debug, Clone, Copy, Default)]
pub struct SignHashInput<'a> {
    pub credential_id: Option<&'a str>,
    pub sad: Option<&'a str>,
    pub hashes: Option<&'a [String]>,
    pub hash_algorithm_oid: Option<&'a str>,
    pub sign_algo: Option<&'a str>,
    pub sign_algo_params: Option<&'a str>,
    pub operation_mode: Option<&'a str>,
}

fn sad_invalid() -> Error {
    Error::refused(ErrorCode::CscSadInvalid, "Invalid parameter SAD")
}

fn not_authorized() -> Error {
    Error::refused(ErrorCode::HashNotAuthorized, "Hash is not authorized by the SAD.")
}

/// Signs the hashes and returns DER `ECDSA-Sig-Value`s in their order.
/// Nothing is signed unless every hash is one the person confirmed for
/// this SAD and none was signed before; the hashes are used up before the
/// HSM is called, so a crash can never lead to a second signature.
pub async fn sign_hashes(app: &App, caller: &Caller, input: SignHashInput<'_>) -> Result<Vec<Vec<u8>>> {
    let credential_id = input.credential_id.ok_or_else(|| missing("string", "credentialID"))?;
    // v2: a credential token in the Authorization header is the SAD.
    let sad = input.sad.or(caller.bearer_sad()).ok_or_else(|| missing("string", "SAD"))?;
    let hashes = input.hashes.ok_or_else(|| missing("array", "hash"))?;
    if hashes.is_empty() {
        return Err(Error::refused(ErrorCode::BadRequest, "Empty hash array"));
    }
    if hashes.len() > MAX_HASHES {
        return Err(not_authorized());
    }
    let sign_algo = input.sign_algo.ok_or_else(|| missing("string", "signAlgo"))?;
    if sign_algo != OID_ECDSA_WITH_SHA256 {
        return Err(invalid("signAlgo"));
    }
    if input.sign_algo_params.is_some() {
        return Err(invalid("signAlgoParams"));
    }
    if input.hash_algorithm_oid.is_some_and(|oid| oid != OID_SHA256) {
        return Err(invalid("hashAlgo"));
    }
    if input.operation_mode.is_some_and(|mode| mode != "S") {
        return Err(invalid("operationMode"));
    }
    let digests = hashes.iter().map(|h| decode_hash(h)).collect::<Result<Vec<_>>>()?;
    // The reads that do not depend on each other go out together (on
    // SQLite each is a hop to its connection's thread, on PostgreSQL a
    // round trip); their answers are judged in a fixed order, so a call
    // wrong in two ways always hears the same error.
    let sad_sha256 = jcs::sha256(sad.as_bytes());
    let (user, issued) = tokio::join!(credential_owner(app, caller, credential_id), app.store.csc_sad(&sad_sha256));
    let user = user?;
    if !sad.starts_with(SAD_PREFIX) || sad.len() > 128 {
        return Err(sad_invalid());
    }
    let issued = issued?.ok_or_else(sad_invalid)?;
    let (row, signer, device) = tokio::join!(
        own_hash_request(app, caller, &issued.request_id),
        crate::pki::current_certificate(&app.store, &user),
        app.store.device_of_request(&issued.request_id)
    );
    let row = row?.ok_or_else(sad_invalid)?;
    if row.credential_id != credential_id || row.user_id != user.id {
        tracing::warn!(request = %row.id, credential = credential_id, "CSC SAD sent for another credential");
        return Err(sad_invalid());
    }
    let now = app.clock.now_ms();
    if now >= issued.expires_at {
        return Err(Error::refused(ErrorCode::CscSadExpired, "SAD expired"));
    }
    if row.state != "authorized" {
        return Err(sad_invalid());
    }
    let signer = signer?;
    let positions = sam::positions_of(&row, &digests).map_err(Error::from)?.ok_or_else(not_authorized)?;
    // Before the hashes are used up; the SAM decides again below.
    if let Some((code, detail)) = signer.standing(now).refusal() {
        return Err(Error::refused(code, detail));
    }
    let device = device?.ok_or_else(|| Error::Internal("authorized without device".into()))?;
    // The SAM checks the request (its SAD's signature among it) while the
    // store claims the hashes: `join!` polls the claim first, which hands
    // it to the database, then runs the check. Permits need both.
    let ctx = Context::new(&app.settings.origin, now);
    let (claimed, signing) = tokio::join!(app.store.claim_hashes(&row.id, &positions, now), async {
        sam::check_hash_signing(&row, &user, &device, &signer, ctx)
    });
    let Some(claimed) = claimed? else {
        // Signed before (a replay), or the authorization ended meanwhile.
        tracing::info!(request = %row.id, "CSC: a hash was signed with this SAD already");
        return Err(not_authorized());
    };
    let permits = signing.and_then(|signing| signing.permits(&claimed)).map_err(Error::from)?;
    let signatures = sign_and_record(app, &row.id, &claimed, permits).await.inspect_err(|e| {
        tracing::error!(request = %row.id, error = ?e, "CSC: signing failed after the SAM agreed; the hashes stay used");
    })?;
    metrics::counter!("wysiwys_csc_signatures_total").increment(signatures.len() as u64);
    tracing::info!(request = %row.id, signatures = signatures.len(), "CSC hashes signed");
    Ok(signatures)
}

/// From this many hashes on, the first ones are stored while the HSM still
/// signs the last quarter, so only that quarter's write follows the HSM.
const RECORD_EARLY_FROM: usize = 16;

/// Has the HSM sign the permits and stores every signature before any is
/// returned; the request is signed once its last hash is.
async fn sign_and_record(
    app: &App,
    request_id: &str,
    claimed: &[CscHashRow],
    permits: Vec<SignPermit>,
) -> Result<Vec<Vec<u8>>> {
    let total = permits.len();
    // Each signing thread hands back three quarters of its hashes, then
    // the rest; once three quarters of all are in they are stored.
    let share = if total >= RECORD_EARLY_FROM { (3, 4) } else { (1, 1) };
    let early = total * share.0 / share.1;
    let mut recorded_early = false;
    let mut made = sam::sign_each(&app.hsm, permits, share);
    let mut signatures: Vec<Option<Vec<u8>>> = vec![None; total];
    let mut unrecorded = Vec::with_capacity(total);
    let mut received = 0;
    while let Some(part) = made.recv().await {
        for (index, signed) in part {
            let der = p256::ecdsa::Signature::from_slice(&signed?)
                .map_err(|e| Error::Internal(format!("HSM signature: {e}")))?
                .to_der()
                .as_bytes()
                .to_vec();
            let (Some(slot), Some(hash)) = (signatures.get_mut(index), claimed.get(index)) else {
                return Err(Error::Internal("the HSM answered for a hash it was not given".into()));
            };
            unrecorded.push((hash.position, der.clone()));
            *slot = Some(der);
            received += 1;
        }
        if !recorded_early && received >= early && received < total {
            app.store.record_hash_signatures(request_id, &unrecorded).await?;
            unrecorded.clear();
            recorded_early = true;
        }
    }
    let signatures: Vec<Vec<u8>> = signatures.into_iter().flatten().collect();
    if signatures.len() != total {
        return Err(Error::Internal("an HSM signing thread ended early".into()));
    }
    app.store.finish_hashes(request_id, &unrecorded, app.clock.now_ms()).await?;
    Ok(signatures)
}
