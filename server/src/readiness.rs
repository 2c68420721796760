//! `/readyz`: whether this node can sign now. `/healthz` only says the
//! process serves HTTP (liveness: restart it if not); readiness asks the
//! parts a signature needs, each with a time limit, so that a load balancer
//! stops sending people to a node whose database or HSM is gone.

use crate::app::App;
use crate::error::{Error, Result};
use std::future::Future;
use std::net::IpAddr;
use std::time::Duration;
use wysiwys_proto::ErrorCode;
use wysiwys_proto::readiness::{Check, Readiness};

/// How long each part may take to answer.
const PART_TIMEOUT: Duration = Duration::from_secs(2);

/// Probes per client address and minute (a burst of as many). A load
/// balancer probes every few seconds; a flood of probes from one address
/// would otherwise cost a database round trip and an HSM call each.
pub const PROBES_PER_MINUTE: u32 = 120;

/// The state of each part, for a probe from `client`.
pub async fn check(app: &App, client: IpAddr) -> Result<Readiness> {
    if !app.readiness_limiter.allow(client, app.clock.now_ms()) {
        tracing::info!(%client, "readiness probes over the per-address limit");
        return Err(Error::refused(ErrorCode::RateLimited, "too many readiness probes from this address"));
    }
    Ok(parts(app).await)
}

async fn parts(app: &App) -> Readiness {
    let database = within("database", async { app.store.answers().await.map(|()| Check::Ok) }).await;
    let migrations = if database == Check::Ok {
        within("migrations", async {
            let current = app.store.migrations_current().await?;
            if !current {
                tracing::warn!("not ready: the database lacks a migration of this build");
            }
            Ok(if current { Check::Ok } else { Check::Behind })
        })
        .await
    } else {
        Check::NotChecked
    };
    let hsm = app.hsm.clone();
    let hsm = within("hsm", async move {
        tokio::task::spawn_blocking(move || hsm.answers())
            .await
            .map_err(|e| Error::Internal(format!("HSM check: {e}")))??;
        Ok(Check::Ok)
    })
    .await;
    Readiness::of(database, migrations, hsm)
}

/// What `answer` says of its part, or `Failed` / `TimedOut`.
async fn within(part: &str, answer: impl Future<Output = Result<Check>>) -> Check {
    match tokio::time::timeout(PART_TIMEOUT, answer).await {
        Ok(Ok(check)) => check,
        Ok(Err(e)) => {
            tracing::warn!(part, error = ?e, "not ready");
            Check::Failed
        }
        Err(_) => {
            tracing::warn!(part, timeout_ms = PART_TIMEOUT.as_millis() as u64, "not ready: no answer in time");
            Check::TimedOut
        }
    }
}
