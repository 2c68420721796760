//! Tokens the server signs with its channel key (in the HSM) for a device:
//! sign requests and pairing requests. The device checks them against the
//! key it pinned at pairing.
//!
//! Each push is signed once per subject and device and kept until it
//! expires: a device that reconnects, in a loop if it likes, is sent the
//! kept token, so reconnecting costs a database read and never an HSM
//! signature (an HSM is slow and often licensed per signature).

use crate::app::App;
use crate::error::{Error, Result};
use crate::store::PushFor;
use serde::Serialize;
use wysiwys_proto::jws;

/// Whether a push may have been signed and kept before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Earlier {
    /// A reconnect, or a subject that existed before this call: look first.
    Possible,
    /// The subject was made by this call (a request just stored): nothing
    /// can be kept for it but what a racing reconnect keeps, which keeping
    /// returns in place of ours.
    Impossible,
}

/// The token for `push`: the one kept from an earlier send, or `claims`
/// signed now and kept until `expires_at` (ms).
pub async fn signed_once<T: Serialize>(
    app: &App,
    push: PushFor<'_>,
    earlier: Earlier,
    typ: &str,
    claims: &T,
    expires_at: i64,
) -> Result<String> {
    let now = app.clock.now_ms();
    if earlier == Earlier::Possible
        && let Some(token) = app.store.signed_push(push, now).await?
    {
        return Ok(token);
    }
    let token = sign(app, typ, claims)?;
    app.store.keep_signed_push(push, &token, expires_at, now).await
}

/// A compact JWS of `claims` under the channel key.
///
/// The HSM is called on this thread: a SoftHSM2 signature takes about
/// 0.1 ms, less than handing it to a blocking pool and back.
fn sign<T: Serialize>(app: &App, typ: &str, claims: &T) -> Result<String> {
    let input =
        jws::signing_input(typ, &app.channel_key.thumbprint(), claims).map_err(|e| Error::Internal(e.to_string()))?;
    let signature = app.hsm.sign_as_channel(input.as_bytes())?;
    Ok(jws::assemble(&input, &signature))
}
