//! Webhooks: every final state of a relying party's request reaches the
//! party as a signed JSON event, at least once.
//!
//! The database writes the event into `webhook_outbox` in the same statement
//! that ends the request (a trigger), so no restart can lose one. This loop
//! delivers what is due, signs each body with HMAC-SHA256 under the party's
//! secret, and retries failures with exponential back-off. A row is leased
//! before it is sent, so two nodes do not send the same event at once.

use crate::app::App;
use crate::error::{Error, Result};
use crate::store::WebhookRow;
use std::sync::Arc;
use std::time::Duration;
use wysiwys_proto::rp::{WEBHOOK_SIGNATURE_HEADER, WebhookEvent, webhook_signature_header};

const POLL: Duration = Duration::from_millis(250);
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Longer than any send: a node that died mid-send leaves the row to another.
const LEASE_MS: i64 = 30_000;
const FIRST_RETRY_MS: i64 = 1_000;
const LAST_RETRY_MS: i64 = 15 * 60_000;
const BATCH: i64 = 16;

/// The delay before attempt `attempts + 1`: 1 s, 2 s, 4 s, ... up to 15 minutes.
pub fn backoff_ms(attempts: i64) -> i64 {
    let doubled = FIRST_RETRY_MS.saturating_mul(1_i64 << attempts.clamp(0, 20));
    doubled.min(LAST_RETRY_MS)
}

pub fn client() -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(SEND_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| Error::Internal(format!("webhook client: {e}")))
}

/// Runs until the process ends: expires what ran out, delivers what is due.
pub async fn run(app: Arc<App>) {
    let client = match client() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "webhooks disabled");
            return;
        }
    };
    loop {
        if let Err(e) = crate::requests::expire_due(&app).await {
            tracing::error!(error = ?e, "expiring requests failed");
        }
        if let Err(e) = deliver_due(&app, &client).await {
            tracing::error!(error = ?e, "webhook delivery round failed");
        }
        tokio::time::sleep(POLL).await;
    }
}

/// One round: every due event, each leased, sent and recorded.
pub async fn deliver_due(app: &App, client: &reqwest::Client) -> Result<usize> {
    let now = app.clock.now_ms();
    let mut delivered = 0;
    for row in app.store.due_webhooks(now, BATCH).await? {
        if !app.store.lease_webhook(row.id, row.next_attempt_at, now + LEASE_MS).await? {
            continue;
        }
        match send(app, client, &row).await {
            Ok(()) => {
                app.store.webhook_delivered(row.id, app.clock.now_ms()).await?;
                metrics::counter!("wysiwys_webhooks_total", "outcome" => "delivered").increment(1);
                tracing::info!(event = row.id, request = %row.request_id, kind = %row.kind, "webhook delivered");
                delivered += 1;
            }
            Err(reason) => {
                let next = app.clock.now_ms() + backoff_ms(row.attempts);
                app.store.webhook_failed(row.id, next, &reason).await?;
                metrics::counter!("wysiwys_webhooks_total", "outcome" => "retry").increment(1);
                tracing::warn!(event = row.id, request = %row.request_id, attempts = row.attempts + 1, %reason,
                    "webhook not delivered; will retry");
            }
        }
    }
    Ok(delivered)
}

/// Sends one event; any answer but 2xx is a failure to retry.
async fn send(app: &App, client: &reqwest::Client, row: &WebhookRow) -> Result<(), String> {
    let (Some(url), Some(secret)) = (&row.webhook_url, &row.webhook_secret) else {
        // No webhook configured: nothing to deliver, and nothing to retry.
        return Ok(());
    };
    let request = app
        .store
        .request(&row.request_id)
        .await
        .map_err(|e| format!("reading the request: {e}"))?
        .ok_or("the request vanished")?;
    let event = WebhookEvent {
        event_id: format!("evt_{}", row.id),
        kind: row.kind.clone(),
        created_at: row.created_at,
        request: crate::relying_parties::full_view(app, request).await.map_err(|e| format!("the view: {e}"))?,
    };
    let body = serde_json::to_vec(&event).map_err(|e| e.to_string())?;
    let header = webhook_signature_header(secret.as_bytes(), app.clock.now_s(), &body);
    let answer = client
        .post(url)
        .header("content-type", "application/json")
        .header(WEBHOOK_SIGNATURE_HEADER, header)
        .body(body)
        .send()
        .await
        .map_err(|e| format!("sending: {e}"))?;
    if answer.status().is_success() { Ok(()) } else { Err(format!("the receiver answered {}", answer.status())) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff_ms(0), 1_000);
        assert_eq!(backoff_ms(1), 2_000);
        assert_eq!(backoff_ms(5), 32_000);
        assert_eq!(backoff_ms(10), LAST_RETRY_MS);
        assert_eq!(backoff_ms(1_000), LAST_RETRY_MS);
    }
}
