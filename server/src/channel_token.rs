//! Tokens the server signs with its channel key (in the HSM) for a device:
//! sign requests and pairing requests. The device checks them against the
//! key it pinned at pairing.

use crate::app::App;
use crate::error::{Error, Result};
use serde::Serialize;
use wysiwys_proto::jws;

/// A compact JWS of `claims` under the channel key.
///
/// The HSM is called on this thread: a SoftHSM2 signature takes about
/// 0.1 ms, less than handing it to a blocking pool and back.
pub fn sign<T: Serialize>(app: &App, typ: &str, claims: &T) -> Result<String> {
    let input =
        jws::signing_input(typ, &app.channel_key.thumbprint(), claims).map_err(|e| Error::Internal(e.to_string()))?;
    let signature = app.hsm.sign_as_channel(input.as_bytes())?;
    Ok(jws::assemble(&input, &signature))
}
