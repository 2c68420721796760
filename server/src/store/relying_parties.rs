//! Relying parties, their idempotency keys and the webhook outbox.

use super::{RelyingPartyRow, Store, WebhookRow};
use crate::error::Result;

/// A relying party's Idempotency-Key and the fingerprint of the body it came with.
#[derive(Debug, Clone, Copy)]
pub struct Idempotency<'a> {
    pub rp_id: &'a str,
    pub key: &'a str,
    pub fingerprint: &'a [u8],
}

impl Store {
    /// False if the name, or its skeleton, is taken.
    pub async fn insert_relying_party(&self, rp: &RelyingPartyRow) -> Result<bool> {
        let r = sqlx::query(
            "INSERT INTO relying_parties
                 (id, name, name_skeleton, api_key_hash, media_types, webhook_url, webhook_secret, created_at,
                  oauth_redirect_uris, signature_level)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING",
        )
        .bind(&rp.id)
        .bind(&rp.name)
        .bind(&rp.name_skeleton)
        .bind(&rp.api_key_hash)
        .bind(&rp.media_types)
        .bind(&rp.webhook_url)
        .bind(&rp.webhook_secret)
        .bind(rp.created_at)
        .bind(&rp.oauth_redirect_uris)
        .bind(&rp.signature_level)
        .execute(&mut *self.writer.conn().await?)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Gives every relying party made before skeletons were kept its
    /// skeleton. Two old names that look alike cannot both have one: the
    /// older keeps it, the newer is reported, and new look-alikes of either
    /// are still refused because the older's skeleton is the same.
    pub async fn fill_name_skeletons(&self, skeleton: impl Fn(&str) -> String) -> Result<()> {
        let unfilled: Vec<(String, String)> =
            sqlx::query_as("SELECT id, name FROM relying_parties WHERE name_skeleton IS NULL ORDER BY created_at, id")
                .fetch_all(&self.pool)
                .await?;
        for (id, name) in unfilled {
            let filled = sqlx::query(
                "UPDATE relying_parties SET name_skeleton = $1 WHERE id = $2
                 AND NOT EXISTS (SELECT 1 FROM relying_parties WHERE name_skeleton = $1)",
            )
            .bind(skeleton(&name))
            .bind(&id)
            .execute(&mut *self.writer.conn().await?)
            .await?;
            if filled.rows_affected() == 0 {
                tracing::warn!(rp = %id, name, "relying party's name looks like an older one's; rename or remove it");
            }
        }
        Ok(())
    }

    pub async fn relying_party_by_key_hash(&self, hash: &[u8]) -> Result<Option<RelyingPartyRow>> {
        Ok(sqlx::query_as("SELECT * FROM relying_parties WHERE api_key_hash = $1")
            .bind(hash)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn user_by_external_id(&self, external_id: &str) -> Result<Option<super::UserRow>> {
        Ok(sqlx::query_as("SELECT * FROM users WHERE external_id = $1")
            .bind(external_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// The body fingerprint and request of an earlier create with this key.
    pub async fn idempotent_create(&self, rp_id: &str, key: &str) -> Result<Option<(Vec<u8>, String)>> {
        Ok(sqlx::query_as("SELECT body_hash, request_id FROM rp_idempotency WHERE rp_id = $1 AND idempotency_key = $2")
            .bind(rp_id)
            .bind(key)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Undelivered events whose time has come, oldest first.
    pub async fn due_webhooks(&self, now: i64, limit: i64) -> Result<Vec<WebhookRow>> {
        Ok(sqlx::query_as(
            "SELECT o.id, o.rp_id, o.request_id, o.kind, o.created_at, o.attempts, o.next_attempt_at,
                    p.webhook_url, p.webhook_secret
             FROM webhook_outbox o JOIN relying_parties p ON p.id = o.rp_id
             WHERE o.delivered_at IS NULL AND o.next_attempt_at <= $1
             ORDER BY o.next_attempt_at, o.id LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Takes an event for one send: moves its next attempt past the lease,
    /// if nobody else took it since it was read.
    pub async fn lease_webhook(&self, id: i64, seen_next_attempt_at: i64, lease_until: i64) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE webhook_outbox SET next_attempt_at = $3
             WHERE id = $1 AND next_attempt_at = $2 AND delivered_at IS NULL",
        )
        .bind(id)
        .bind(seen_next_attempt_at)
        .bind(lease_until)
        .execute(&mut *self.writer.conn().await?)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    pub async fn webhook_delivered(&self, id: i64, now: i64) -> Result<()> {
        sqlx::query(
            "UPDATE webhook_outbox SET delivered_at = $2, attempts = attempts + 1, last_error = NULL WHERE id = $1",
        )
        .bind(id)
        .bind(now)
        .execute(&mut *self.writer.conn().await?)
        .await?;
        Ok(())
    }

    pub async fn webhook_failed(&self, id: i64, next_attempt_at: i64, error: &str) -> Result<()> {
        sqlx::query(
            "UPDATE webhook_outbox SET attempts = attempts + 1, next_attempt_at = $2, last_error = $3 WHERE id = $1",
        )
        .bind(id)
        .bind(next_attempt_at)
        .bind(error)
        .execute(&mut *self.writer.conn().await?)
        .await?;
        Ok(())
    }
}
