//! `signatures/signHash`: each hash the person confirmed, signed once with
//! the SAD of its authorization.

use super::authorization::decode_hash;
use super::{Caller, credential_owner, invalid, missing, own_hash_request};
use crate::app::App;
use crate::error::{Error, Result};
use crate::sam::{self, Context};
use std::collections::{HashMap, HashSet};
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
    let user = credential_owner(app, caller, credential_id).await?;
    if !sad.starts_with(SAD_PREFIX) || sad.len() > 128 {
        return Err(sad_invalid());
    }
    let issued = app.store.csc_sad(&jcs::sha256(sad.as_bytes())).await?.ok_or_else(sad_invalid)?;
    let row = own_hash_request(app, caller, &issued.request_id).await?.ok_or_else(sad_invalid)?;
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
    // The confirmed hashes are no secret (the client sent them), so a map
    // finds each one; a batch of 100 was 10 000 comparisons before.
    let confirmed: HashMap<Vec<u8>, i64> =
        app.store.csc_hashes(&row.id).await?.into_iter().map(|h| (h.digest, h.position)).collect();
    let mut positions = Vec::with_capacity(digests.len());
    let mut seen = HashSet::with_capacity(digests.len());
    for digest in &digests {
        let position = *confirmed.get(digest.as_slice()).ok_or_else(not_authorized)?;
        if !seen.insert(position) {
            return Err(not_authorized());
        }
        positions.push(position);
    }
    // Before the hashes are used up; the SAM decides again below.
    let signer = crate::pki::current_certificate(&app.store, &user).await?;
    if let Some((code, detail)) = signer.standing(now).refusal() {
        return Err(Error::refused(code, detail));
    }
    let Some(claimed) = app.store.claim_hashes(&row.id, &positions, now).await? else {
        // Signed before (a replay), or the authorization ended meanwhile.
        tracing::info!(request = %row.id, "CSC: a hash was signed with this SAD already");
        return Err(not_authorized());
    };
    let device_id = row.device_id.as_deref().ok_or_else(|| Error::Internal("authorized without device".into()))?;
    let device = app.store.device(device_id).await?.ok_or_else(|| Error::Internal("device vanished".into()))?;
    let ctx = Context::new(&app.settings.origin, now);
    let permits = sam::permit_hashes(&row, &user, &device, &claimed, &signer, ctx).map_err(Error::from)?;
    let raw = sam::sign_all(&app.hsm, permits).inspect_err(|e| {
        tracing::error!(request = %row.id, error = ?e, "CSC: signing failed after the SAM agreed; the hashes stay used");
    })?;
    let mut signatures = Vec::with_capacity(raw.len());
    for (raw, hash) in raw.iter().zip(&claimed) {
        let der = p256::ecdsa::Signature::from_slice(raw)
            .map_err(|e| Error::Internal(format!("HSM signature: {e}")))?
            .to_der()
            .as_bytes()
            .to_vec();
        signatures.push((hash.position, der));
    }
    app.store.finish_hashes(&row.id, &signatures, app.clock.now_ms()).await?;
    metrics::counter!("wysiwys_csc_signatures_total").increment(signatures.len() as u64);
    tracing::info!(request = %row.id, signatures = signatures.len(), "CSC hashes signed");
    Ok(signatures.into_iter().map(|(_, der)| der).collect())
}
