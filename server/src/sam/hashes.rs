//! Hash-only requests (the CSC API's `signHash`): both channels confirm a
//! manifest of hashes like any document; the SAM then lets each of exactly
//! those hashes be signed once, when the client sends it with its SAD.
//!
//! The SAD the client holds is only a handle on the authorization; what
//! the SAM trusts is the request: its confirmed manifest, its web
//! confirmation and its device answer, re-verified at every `signHash`.

use super::{
    Context, Refusal, SadEvidence, SignPermit, check_confirmed, check_device, ct_equal, refuse_keeping, verify_sad_for,
};
use crate::store::{CertificateRow, CscHashRow, DeviceRow, RequestRow, UserRow};
use std::collections::{HashMap, HashSet};
use wysiwys_proto::ErrorCode;
use wysiwys_proto::hashes::{HashManifest, MEDIA_TYPE_HASHES};
use wysiwys_proto::sad::Decision;

/// The digests of the stored manifest, which must be the confirmed document.
fn confirmed_digests(req: &RequestRow) -> Result<Vec<[u8; 32]>, Refusal> {
    if req.media_type != MEDIA_TYPE_HASHES {
        return Err(Refusal::internal("not a hash-only request"));
    }
    if !ct_equal(&wysiwys_proto::jcs::sha256(&req.document), &req.doc_hash) {
        return Err(Refusal::internal("the stored hash manifest is not the confirmed one"));
    }
    HashManifest::parse(&req.document)
        .and_then(|m| m.digests())
        .map_err(|e| Refusal::internal(format!("stored hash manifest: {e}")))
}

/// Both channels are in for a hash-only request: the same checks as
/// [`super::authorize`], and no permit: nothing is signed until the client
/// sends the hashes.
pub fn authorize_hashes(
    req: &RequestRow,
    user: &UserRow,
    device: &DeviceRow,
    sad_evidence: SadEvidence<'_>,
    ctx: Context<'_>,
) -> Result<(), Refusal> {
    check_confirmed(req, user, device, sad_evidence, ctx)?;
    confirmed_digests(req)?;
    Ok(())
}

/// Where each wanted hash stands in the request's manifest (which holds
/// each hash once); None if one is not in it or is wanted twice. This
/// only picks what the store claims: [`HashSigning::permits`] checks every
/// claimed hash against the confirmed manifest again.
pub fn positions_of(req: &RequestRow, wanted: &[[u8; 32]]) -> Result<Option<Vec<i64>>, Refusal> {
    // A map, not a scan: a batch of 100 would be 10 000 comparisons. The
    // hashes are no secret (the client sent them).
    let at: HashMap<[u8; 32], usize> = confirmed_digests(req)?.into_iter().enumerate().map(|(i, d)| (d, i)).collect();
    let mut seen = HashSet::with_capacity(wanted.len());
    let mut positions = Vec::with_capacity(wanted.len());
    for digest in wanted {
        let Some(&position) = at.get(digest) else { return Ok(None) };
        if !seen.insert(position) {
            return Ok(None);
        }
        positions.push(i64::try_from(position).map_err(|_| Refusal::internal("manifest position"))?);
    }
    Ok(Some(positions))
}

/// The SAM's leave to sign some of this request's confirmed hashes now:
/// every check on the request, the person, her certificate and the
/// device's SAD, made once per `signHash`. It names no hash yet; the
/// permits come from it together with the hashes the store claimed, so
/// the check can run while the store claims them.
#[derive(Debug)]
pub struct HashSigning {
    request_id: String,
    credential_id: String,
    digests: Vec<[u8; 32]>,
}

/// Every refusal here leaves the authorization as it is (a stranger's bad
/// call must not end it).
pub fn check_hash_signing(
    req: &RequestRow,
    user: &UserRow,
    device: &DeviceRow,
    signer: &CertificateRow,
    ctx: Context<'_>,
) -> Result<HashSigning, Refusal> {
    if req.state != "authorized" {
        return refuse_keeping(ErrorCode::RequestNotPending, format!("request is {}", req.state));
    }
    super::check_signer(signer, user, ctx.now_ms).map_err(Refusal::kept)?;
    if req.user_id != user.id || req.signature.is_some() {
        return Err(Refusal::internal("request and user rows do not belong together"));
    }
    if user.signing_locked_at.is_some() {
        return refuse_keeping(ErrorCode::AccountLockedNotMe, "signing is locked after a \"not me\" answer");
    }
    let (Some(_), Some(token), Some(sad_sha256), Some(device_confirmed_at)) =
        (req.web_confirmed_at, req.sad.as_deref(), req.sad_sha256.as_deref(), req.device_confirmed_at)
    else {
        return Err(Refusal::internal("an authorized request without both confirmations"));
    };
    if req.device_id.as_deref() != Some(device.id.as_str()) {
        return Err(Refusal::internal("the SAD on record came from another device"));
    }
    check_device(req, device).map_err(Refusal::kept)?;
    if !ct_equal(&wysiwys_proto::jcs::sha256(token.as_bytes()), sad_sha256) {
        return Err(Refusal::internal("the SAD on record was altered"));
    }
    // The device's SAD was valid when it was admitted; its lifetime is the
    // challenge's, not the authorization's, so it is checked as of then.
    let at_admission = Context { now_ms: device_confirmed_at, ..ctx };
    let claims = verify_sad_for(req, device, token, at_admission).map_err(Refusal::kept)?.claims;
    if claims.dec != Decision::Approve {
        return Err(Refusal::internal("an authorized request whose device answer is no approval"));
    }
    Ok(HashSigning {
        request_id: req.id.clone(),
        credential_id: req.credential_id.clone(),
        digests: confirmed_digests(req)?,
    })
}

impl HashSigning {
    /// One permit per hash the store has just claimed for this call, each
    /// only if it is the hash both channels confirmed at its place. The
    /// hashes claimed stay used whatever this answers.
    pub fn permits(&self, claimed: &[CscHashRow]) -> Result<Vec<SignPermit>, Refusal> {
        claimed
            .iter()
            .map(|row| {
                let confirmed = usize::try_from(row.position).ok().and_then(|i| self.digests.get(i));
                match confirmed {
                    Some(digest)
                        if row.request_id == self.request_id
                            && row.used_at.is_some()
                            && ct_equal(&row.digest, digest) =>
                    {
                        Ok(SignPermit { credential_id: self.credential_id.clone(), digest: *digest })
                    }
                    _ => Err(Refusal::internal("a claimed hash is not the one confirmed at its place")),
                }
            })
            .collect()
    }
}
