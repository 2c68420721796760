//! Pushes signed with the channel key, kept per subject and device until
//! they expire, so that re-sending one costs a read and not a signature.

use super::Store;
use crate::error::Result;

/// What a kept push is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushKind {
    SignRequest,
    PairingRequest,
}

impl PushKind {
    fn as_str(self) -> &'static str {
        match self {
            PushKind::SignRequest => "sign_request",
            PushKind::PairingRequest => "pairing_request",
        }
    }
}

/// One push: what it is for, and the device it is addressed to.
#[derive(Debug, Clone, Copy)]
pub struct PushFor<'a> {
    pub kind: PushKind,
    pub subject_id: &'a str,
    pub device_id: &'a str,
}

impl Store {
    /// The token kept for this push, unless it has expired.
    pub async fn signed_push(&self, push: PushFor<'_>, now: i64) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT token FROM signed_pushes
             WHERE kind = $1 AND subject_id = $2 AND device_id = $3 AND expires_at > $4",
        )
        .bind(push.kind.as_str())
        .bind(push.subject_id)
        .bind(push.device_id)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Keeps `token` for this push and returns the token kept: another node
    /// may have signed the same push a moment earlier, and then every node
    /// sends that one. A kept push that has expired is replaced. One
    /// statement unless another token is kept (then one read more).
    pub async fn keep_signed_push(&self, push: PushFor<'_>, token: &str, expires_at: i64, now: i64) -> Result<String> {
        let kept: Option<String> = sqlx::query_scalar(
            "INSERT INTO signed_pushes (kind, subject_id, device_id, token, expires_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (kind, subject_id, device_id)
             DO UPDATE SET token = excluded.token, expires_at = excluded.expires_at
             WHERE signed_pushes.expires_at <= $6
             RETURNING token",
        )
        .bind(push.kind.as_str())
        .bind(push.subject_id)
        .bind(push.device_id)
        .bind(token)
        .bind(expires_at)
        .bind(now)
        .fetch_optional(&mut *self.writer.conn().await?)
        .await?;
        match kept {
            Some(kept) => Ok(kept),
            None => Ok(self.signed_push(push, now).await?.unwrap_or_else(|| token.to_owned())),
        }
    }

    /// Forgets pushes that expired (the periodic sweep).
    pub async fn purge_signed_pushes(&self, now: i64) -> Result<u64> {
        let purged = sqlx::query("DELETE FROM signed_pushes WHERE expires_at <= $1")
            .bind(now)
            .execute(&mut *self.writer.conn().await?)
            .await?;
        Ok(purged.rows_affected())
    }
}
