//! Pairing: make a key on this device, prove the pairing code and the key
//! to the server, and pin the server's channel key.

use crate::store::{Account, Home};
use anyhow::{Result, anyhow, bail};
use p256::ecdsa::SigningKey;
use p256::elliptic_curve::Generate;
use secrecy::{ExposeSecret, SecretString};
use wysiwys_proto::api::{PairDeviceRequest, PairDeviceResponse, PairingStatus};
use wysiwys_proto::device_auth::{PairingClaims, pairing_proof};
use wysiwys_proto::pairing::PairingUri;
use wysiwys_proto::{ErrorBody, Jwk};

/// Where to pair and what to expect. `channel_key_thumbprint` comes from the
/// pairing URI; a code typed by hand has none, and then the person compares
/// the printed fingerprint with the one on the web page.
#[derive(Debug, Clone)]
pub struct PairingTarget {
    pub server: String,
    pub code: String,
    pub channel_key_thumbprint: Option<String>,
}

impl From<PairingUri> for PairingTarget {
    fn from(uri: PairingUri) -> Self {
        PairingTarget { server: uri.server, code: uri.code, channel_key_thumbprint: Some(uri.channel_key_thumbprint) }
    }
}

/// A pairing the server accepted: usable now, or once another device approved it.
#[derive(Debug, Clone)]
pub struct Paired {
    pub account: Account,
    pub status: PairingStatus,
    /// Unix ms, while awaiting approval.
    pub approval_expires_at: Option<i64>,
}

/// Pairs this device. `activation` is the operator's activation code, needed
/// for an account's first device (typed in here, never into the browser).
pub async fn pair(
    home: &Home,
    uri: &PairingTarget,
    name: &str,
    passphrase: &SecretString,
    activation: Option<&SecretString>,
    ca_pem: Option<&[u8]>,
) -> Result<Paired> {
    crate::check_origin_transport(&uri.server)?;
    if passphrase.expose_secret().len() < 8 {
        bail!("the passphrase must be at least 8 characters");
    }
    let key = SigningKey::try_generate().map_err(|e| anyhow!("no randomness for the device key: {e}"))?;
    let claims = PairingClaims {
        aud: uri.server.clone(),
        code: uri.code.clone(),
        jwk: Jwk::from_verifying_key(key.verifying_key()),
        name: name.to_owned(),
        iat: crate::now_s(),
        activation: activation.map(|a| a.expose_secret().to_owned()),
    };
    let proof = pairing_proof(&key, &claims)?;
    let mut client = reqwest::Client::builder();
    if let Some(pem) = ca_pem {
        // The same trust as the device socket: reqwest's platform verifier
        // refuses a private CA given as an extra root (UnknownCA).
        client = client.use_preconfigured_tls(crate::channel::tls_config(Some(pem))?.as_ref().clone());
    }
    let response = client
        .build()?
        .post(format!("{}/api/devices/pair", uri.server))
        .json(&PairDeviceRequest { proof })
        .send()
        .await?;
    if !response.status().is_success() {
        let status = response.status();
        let body: Option<ErrorBody> = response.json().await.ok();
        return Err(match body {
            Some(e) => anyhow!("pairing refused: {} ({})", e.error, e.error_description),
            None => anyhow!("pairing refused with HTTP {status}"),
        });
    }
    let paired: PairDeviceResponse = response.json().await?;
    // The thumbprint came from the person's logged-in page; the key from the
    // network. They must agree, or someone is in between.
    if uri.channel_key_thumbprint.as_ref().is_some_and(|ck| *ck != paired.channel_key.thumbprint()) {
        bail!("the server's channel key does not match the pairing code's; not pairing");
    }
    if paired.server_origin != uri.server {
        bail!("the server calls itself {} but the pairing code is for {}", paired.server_origin, uri.server);
    }
    let account = Account {
        server_origin: paired.server_origin.clone(),
        device_id: paired.device_id.clone(),
        device_name: name.to_owned(),
        user_id: paired.user_id.clone(),
        username: paired.username.clone(),
        channel_key: paired.channel_key.clone(),
        counter: 0,
    };
    home.save_new(&account, &key, passphrase)?;
    Ok(Paired { account, status: paired.status, approval_expires_at: paired.approval_expires_at })
}
