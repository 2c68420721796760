//! The running service: everything a request handler may use, built once.

use crate::clock::{Clock, ShiftedClock};
use crate::config::ServeConfig;
use crate::connection_caps::{self, ConnectionCap};
use crate::entropy::{Entropy, OsEntropy};
use crate::error::{Error, Result};
use crate::hsm::Hsm;
use crate::hub::DeviceHub;
use crate::ratelimit::RateLimiter;
use crate::store::Store;
use std::net::IpAddr;
use std::sync::Arc;
use wysiwys_proto::Jwk;

#[derive(Debug, Clone)]
pub struct Settings {
    /// Origin users and devices reach us at; the `aud` of every SAD.
    pub origin: String,
    pub challenge_ttl_ms: i64,
    pub session_ttl_ms: i64,
    pub max_json_bytes: usize,
    pub max_document_bytes: usize,
    pub max_pdf_bytes: usize,
    /// Cookies get `Secure` when the origin is https.
    pub secure_cookies: bool,
    /// Whose `X-Forwarded-For` / `Forwarded` headers name the real client.
    pub trusted_proxies: crate::client_address::TrustedProxies,
    /// What an account's first device needs besides the pairing code.
    pub first_device: crate::enrolment::FirstDevice,
    /// How long a blocking CSC authorize waits for both channels.
    pub csc_wait: std::time::Duration,
    pub csc_sad_ttl_ms: i64,
    /// Where the service is established (CSC `info.region`).
    pub service_region: String,
    /// The AdES level of new signatures.
    pub signature_level: wysiwys_proto::signature_level::SignatureLevel,
}

#[derive(Debug)]
pub struct App {
    pub store: Store,
    pub hsm: Arc<Hsm>,
    pub clock: Arc<dyn Clock>,
    pub entropy: Arc<dyn Entropy>,
    pub settings: Settings,
    pub ca_certificate: Vec<u8>,
    pub timestamping: crate::timestamping::Timestamping,
    /// The CA's last CRL on this node.
    pub crl_cache: crate::pki::crl::CrlCache,
    /// The CA as OCSP requests name it.
    pub ocsp_issuer: crate::pki::ocsp::Issuer,
    pub channel_key: Jwk,
    pub hub: DeviceHub,
    /// Authenticated sockets per device id.
    pub device_sockets: ConnectionCap<String>,
    /// Sockets not yet authenticated, per client address (rate-limit key).
    pub unauthenticated_sockets: ConnectionCap<IpAddr>,
    /// Live-status streams per session (its token hash).
    pub status_streams: ConnectionCap<Vec<u8>>,
    pub login_limiter: RateLimiter<IpAddr>,
    pub pairing_limiter: RateLimiter<IpAddr>,
    pub request_limiter: RateLimiter<String>,
    /// Queries to the public TSA, per client address.
    pub tsa_limiter: RateLimiter<IpAddr>,
    /// Requests to the OCSP responder, per client address.
    pub ocsp_limiter: RateLimiter<IpAddr>,
    /// `/readyz` probes per client address (each asks the database and the HSM).
    pub readiness_limiter: RateLimiter<IpAddr>,
    /// SHA-256 of the operator's bootstrap token; the admin API exists only with it.
    pub admin_token_sha256: Option<[u8; 32]>,
    /// Present only with `--test-clock`.
    pub test_clock: Option<Arc<ShiftedClock>>,
}

/// How long a `signing` state may last before start-up treats it as a crash.
const INTERRUPTED_AFTER_MS: i64 = 60_000;

impl App {
    pub async fn start(config: &ServeConfig, store: Store, hsm: Arc<Hsm>, origin: String) -> Result<App> {
        let test_clock = config.test_clock.then(|| Arc::new(ShiftedClock::default()));
        let clock: Arc<dyn Clock> = match &test_clock {
            Some(c) => c.clone(),
            None => Arc::new(crate::clock::SystemClock),
        };
        let entropy: Arc<dyn Entropy> = Arc::new(OsEntropy);
        let admin_token_sha256 = config.admin_token_file.as_deref().map(crate::admin::load_token).transpose()?;
        let ca_certificate = crate::pki::ensure_ca(&store, &hsm, clock.as_ref(), entropy.as_ref()).await?;
        let ocsp_issuer = crate::pki::ocsp::Issuer::from_certificate(&ca_certificate)?;
        let distribution = crate::pki::Distribution::record(&store, &origin).await?;
        crate::pki::register_existing(&store, clock.now_ms()).await?;
        let timestamping = timestamping(config, &store, &hsm, clock.as_ref(), entropy.as_ref(), &distribution).await?;
        let channel_key =
            Jwk::from_sec1(&hsm.channel_public_key()?).map_err(|e| Error::Internal(format!("channel key: {e}")))?;
        let closed = store.close_interrupted_signing(clock.now_ms() - INTERRUPTED_AFTER_MS, clock.now_ms()).await?;
        if closed > 0 {
            tracing::warn!(closed, "closed requests interrupted while signing");
        }
        Ok(App {
            store,
            hsm,
            settings: Settings {
                secure_cookies: origin.starts_with("https://"),
                origin,
                challenge_ttl_ms: config.challenge_ttl_secs * 1000,
                session_ttl_ms: config.session_ttl_secs * 1000,
                max_json_bytes: config.max_json_bytes,
                max_document_bytes: config.max_document_bytes,
                max_pdf_bytes: config.max_pdf_bytes,
                trusted_proxies: crate::client_address::TrustedProxies::new(config.trusted_proxies.clone()),
                first_device: config.first_device,
                csc_wait: std::time::Duration::from_secs(config.csc_wait_secs),
                csc_sad_ttl_ms: config
                    .csc_sad_ttl_secs
                    .checked_mul(1000)
                    .filter(|ms| *ms > 0)
                    .ok_or_else(|| Error::Internal("--csc-sad-ttl-secs must be positive".into()))?,
                service_region: config.service_region.clone(),
                signature_level: config.signature_level,
            },
            clock,
            entropy,
            ca_certificate,
            timestamping,
            crl_cache: crate::pki::crl::CrlCache::default(),
            ocsp_issuer,
            channel_key,
            hub: DeviceHub::default(),
            device_sockets: ConnectionCap::new(connection_caps::SOCKETS_PER_DEVICE),
            unauthenticated_sockets: ConnectionCap::new(connection_caps::UNAUTHENTICATED_SOCKETS_PER_ADDRESS),
            status_streams: ConnectionCap::new(connection_caps::STATUS_STREAMS_PER_SESSION),
            login_limiter: RateLimiter::new(config.login_rate_per_minute),
            pairing_limiter: RateLimiter::new(config.login_rate_per_minute),
            request_limiter: RateLimiter::new(config.request_rate_per_minute),
            tsa_limiter: RateLimiter::new(config.pki_rate_per_minute),
            ocsp_limiter: RateLimiter::new(config.pki_rate_per_minute),
            readiness_limiter: RateLimiter::new(crate::readiness::PROBES_PER_MINUTE),
            admin_token_sha256,
            test_clock,
        })
    }
}

async fn timestamping(
    config: &ServeConfig,
    store: &Store,
    hsm: &Hsm,
    clock: &dyn Clock,
    entropy: &dyn Entropy,
    distribution: &crate::pki::Distribution,
) -> Result<crate::timestamping::Timestamping> {
    use crate::timestamping::{ExternalTsa, Source, Timestamping};
    let tsa_certificate = crate::pki::ensure_tsa(store, hsm, clock, entropy, distribution).await?;
    let source = match &config.tsa_url {
        None => Source::BuiltIn,
        Some(url) => {
            let basic_auth = config.tsa_basic_auth_file.as_deref().map(read_basic_auth).transpose()?;
            tracing::info!(%url, "timestamps come from an external authority");
            Source::External(ExternalTsa::new(url.clone(), basic_auth)?)
        }
    };
    Ok(Timestamping { source, policy: config.timestamp_policy, tsa_certificate, token_size: Default::default() })
}

/// `user:password` on the file's first line.
fn read_basic_auth(path: &std::path::Path) -> Result<(String, secrecy::SecretString)> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Internal(format!("cannot read the TSA credentials {}: {e}", path.display())))?;
    let line = text.lines().next().unwrap_or_default();
    let (user, password) = line
        .split_once(':')
        .ok_or_else(|| Error::Internal(format!("{} holds no user:password line", path.display())))?;
    Ok((user.to_owned(), secrecy::SecretString::from(password.to_owned())))
}
