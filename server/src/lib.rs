//! wysiwys server: a two-channel What-You-See-Is-What-You-Sign service.
//!
//! See `docs/ARCHITECTURE.md` for the codemap. In one sentence: `http` parses,
//! `requests`/`accounts`/`devices` run the flows, `sam` decides, `hsm` signs,
//! `store` remembers, `cades` writes the signature.

#![forbid(unsafe_code)]

pub mod accounts;
pub mod admin;
pub mod app;
pub mod cades;
pub mod channel_token;
pub mod client_address;
pub mod clock;
pub mod config;
pub mod connection_caps;
pub mod credentials;
pub mod csc;
pub mod der_writer;
pub mod devices;
pub mod enrolment;
pub mod entropy;
pub mod error;
pub mod hsm;
pub mod http;
pub mod hub;
pub mod levels;
pub mod password_hashing;
pub mod pdf;
pub mod pki;
pub mod ratelimit;
pub mod readiness;
pub mod relying_parties;
pub mod requests;
pub mod sam;
pub mod signed_data;
pub mod step_up;
pub mod store;
pub mod timestamping;
pub mod webhooks;

pub use error::{Error, Result};

use config::{CommonConfig, ServeConfig};
use hsm::{Hsm, Pins};
use std::sync::Arc;

/// Resolves the HSM PINs. With SoftHSM2 and no PIN given, PINs are made
/// once and kept in the data directory (mode 0600); any other module must
/// be given its PIN.
pub fn resolve_pins(common: &CommonConfig) -> Result<Pins> {
    let hsm = &common.hsm;
    let from = |pin: &Option<config::Pin>,
                file: &Option<std::path::PathBuf>,
                default: &str|
     -> Result<Option<secrecy::SecretString>> {
        if let Some(p) = pin {
            return Ok(Some(p.0.clone()));
        }
        if let Some(path) = file {
            return hsm::softhsm::pin_file(path, false)
                .map_err(|e| Error::Internal(format!("PIN file {}: {e}", path.display())))?
                .ok_or_else(|| Error::Internal(format!("PIN file {} does not exist", path.display())))
                .map(Some);
        }
        if hsm.is_softhsm() {
            let path = common.data_dir.join(default);
            return hsm::softhsm::pin_file(&path, true)
                .map_err(|e| Error::Internal(format!("PIN file {}: {e}", path.display())));
        }
        Ok(None)
    };
    let user = from(&hsm.pin, &hsm.pin_file, "hsm-user.pin")?
        .ok_or_else(|| Error::Internal("no HSM PIN: give --hsm-pin-file or WYSIWYS_HSM_PIN".into()))?;
    let so = from(&hsm.so_pin, &hsm.so_pin_file, "hsm-so.pin")?;
    Ok(Pins { user, so })
}

/// Opens the database and the HSM described by the configuration, and makes
/// the service keys and the CA certificate on first start.
pub async fn open_backends(common: &CommonConfig) -> Result<(store::Store, Arc<Hsm>)> {
    std::fs::create_dir_all(&common.data_dir)
        .map_err(|e| Error::Internal(format!("data dir {}: {e}", common.data_dir.display())))?;
    let pins = resolve_pins(common)?;
    let module = common.hsm.module.clone();
    let label = common.hsm.token_label.clone();
    let threads = common.hsm.signing_threads;
    let hsm = tokio::task::spawn_blocking(move || {
        Hsm::open(&module, &label, &pins).and_then(|h| h.with_signing_threads(threads))
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))??;
    let hsm = Arc::new(hsm);
    let keys = hsm.clone();
    tokio::task::spawn_blocking(move || keys.ensure_service_keys().and_then(|()| keys.check_service_keys()))
        .await
        .map_err(|e| Error::Internal(e.to_string()))??;
    let store = store::Store::open(common.database_url.as_deref(), &common.data_dir).await?;
    pki::ensure_ca(&store, &hsm, &clock::SystemClock, &entropy::OsEntropy).await?;
    Ok((store, hsm))
}

/// Binds, prints the address, and serves until stopped.
pub async fn serve(
    config: &ServeConfig,
    store: store::Store,
    hsm: Arc<Hsm>,
    metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
) -> Result<()> {
    let listener = std::net::TcpListener::bind(&config.listen)
        .map_err(|e| Error::Internal(format!("cannot listen on {}: {e}", config.listen)))?;
    let address = listener.local_addr().map_err(|e| Error::Internal(e.to_string()))?;
    if config.test_clock && !address.ip().is_loopback() {
        return Err(Error::Internal("--test-clock is only allowed on a loopback address".into()));
    }
    let origin = config.public_origin.clone().unwrap_or_else(|| format!("http://{address}"));
    let app = Arc::new(app::App::start(config, store, hsm, origin.clone()).await?);
    hsm::register_metrics();
    actix_web::rt::spawn(webhooks::run(app.clone()));
    let routes = http::configure(app, metrics);
    let server = actix_web::HttpServer::new(move || {
        actix_web::App::new()
            .wrap(http::security_headers())
            .wrap(actix_web::middleware::Logger::new("%a \"%r\" %s %b %Dms"))
            .configure(routes.clone())
    })
    // Pushes and acks are small frames; Nagle plus delayed ACKs would add
    // 40 ms to every round trip of the device channel.
    .tcp_nodelay(true)
    .listen(listener)
    .map_err(|e| Error::Internal(e.to_string()))?
    .run();
    // Tests and scripts read this line to find the port.
    println!("wysiwys-server listening on {origin} (bound to {address})");
    tracing::info!(%origin, %address, "listening");
    server.await.map_err(|e| Error::Internal(e.to_string()))
}
