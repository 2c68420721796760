//! The CSC API's state: which relying party serves which signer, the hashes
//! of hash-only requests, and their SADs.
//!
//! A hash-only request moves `pending → authorized` once both channels
//! confirmed and the SAM agreed (one conditional update), then each hash is
//! claimed once (`used_at`) before the HSM signs it; when every hash is
//! used the request is `signed`.

use super::{CscHashRow, CscSadRow, Store, UserRow, WriteTx, placeholders};
use crate::error::Result;
use sqlx::any::AnyQueryResult;

impl Store {
    /// Lets a relying party use this user's credential through the CSC API.
    pub async fn link_rp_user(&self, rp_id: &str, user_id: &str, now: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO relying_party_users (rp_id, user_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(rp_id)
        .bind(user_id)
        .bind(now)
        .execute(&mut *self.writer.conn().await?)
        .await?;
        Ok(())
    }

    pub async fn relying_party_exists(&self, rp_id: &str) -> Result<bool> {
        let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM relying_parties WHERE id = $1")
            .bind(rp_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(found.is_some())
    }

    pub async fn rp_serves_user(&self, rp_id: &str, user_id: &str) -> Result<bool> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM relying_party_users WHERE rp_id = $1 AND user_id = $2")
                .bind(rp_id)
                .bind(user_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(found.is_some())
    }

    pub async fn user_by_credential(&self, credential_id: &str) -> Result<Option<UserRow>> {
        Ok(sqlx::query_as("SELECT * FROM users WHERE credential_id = $1")
            .bind(credential_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Both channels confirmed a hash-only request and the SAM agreed:
    /// pending → authorized, once.
    pub async fn authorize_hashes(&self, id: &str, now: i64) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE sign_requests SET state = 'authorized', signing_started_at = $2
             WHERE id = $1 AND state = 'pending' AND signature IS NULL AND sad IS NOT NULL
               AND web_confirmed_at IS NOT NULL",
        )
        .bind(id)
        .bind(now)
        .execute(&mut *self.writer.conn().await?)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Issues the SAD of an authorized request, once: false if it was
    /// issued before or the request is no longer authorized.
    pub async fn issue_csc_sad(&self, request_id: &str, sad_sha256: &[u8], now: i64, expires_at: i64) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        if !lock_authorized(&mut tx, request_id).await? {
            return Ok(false);
        }
        let issued = sqlx::query(
            "INSERT INTO csc_sads (request_id, sad_sha256, issued_at, expires_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT DO NOTHING",
        )
        .bind(request_id)
        .bind(sad_sha256)
        .bind(now)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        if issued.rows_affected() != 1 {
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }

    pub async fn csc_sad(&self, sad_sha256: &[u8]) -> Result<Option<CscSadRow>> {
        Ok(sqlx::query_as("SELECT * FROM csc_sads WHERE sad_sha256 = $1")
            .bind(sad_sha256)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Claims the hashes at `positions` for signing, all or none: only
    /// while the request is authorized and its SAD unexpired, and only
    /// hashes never claimed before. None if any of that fails.
    pub async fn claim_hashes(&self, request_id: &str, positions: &[i64], now: i64) -> Result<Option<Vec<CscHashRow>>> {
        let mut tx = self.begin_write().await?;
        if !lock_authorized(&mut tx, request_id).await? {
            return Ok(None);
        }
        // One statement for all of them, the SAD's lifetime checked in it
        // (only numbered placeholders are formatted in, so it is safe): a
        // batch of 100 costs one round trip, not 100 (wysiwys-bench --csc).
        let sql = format!(
            "UPDATE csc_hashes SET used_at = $2
             WHERE request_id = $1 AND used_at IS NULL AND position IN ({})
               AND EXISTS (SELECT 1 FROM csc_sads WHERE request_id = $1 AND expires_at > $2)
             RETURNING *",
            placeholders(3, positions.len())
        );
        let mut query = sqlx::query_as::<_, CscHashRow>(sqlx::AssertSqlSafe(sql)).bind(request_id).bind(now);
        for position in positions {
            query = query.bind(position);
        }
        let rows = query.fetch_all(&mut *tx).await?;
        if rows.len() != positions.len() {
            // One was claimed before (or listed twice), or the SAD expired:
            // none is claimed.
            return Ok(None);
        }
        let mut by_position: std::collections::HashMap<i64, CscHashRow> =
            rows.into_iter().map(|row| (row.position, row)).collect();
        let mut claimed = Vec::with_capacity(positions.len());
        for position in positions {
            let Some(row) = by_position.remove(position) else { return Ok(None) };
            claimed.push(row);
        }
        tx.commit().await?;
        Ok(Some(claimed))
    }

    /// Stores the signatures of claimed hashes while the HSM still signs
    /// the others of the same call.
    pub async fn record_hash_signatures(&self, request_id: &str, signatures: &[(i64, Vec<u8>)]) -> Result<()> {
        // One statement is atomic on its own: no transaction around it.
        let mut conn = self.writer.conn().await?;
        record_signatures(&mut conn, request_id, signatures).await
    }

    /// Stores the last signatures of a call; the request is signed once
    /// every hash is used.
    pub async fn finish_hashes(&self, request_id: &str, signatures: &[(i64, Vec<u8>)], now: i64) -> Result<()> {
        let mut tx = self.begin_write().await?;
        record_signatures(&mut tx, request_id, signatures).await?;
        sqlx::query(
            "UPDATE sign_requests SET state = 'signed', signed_at = $2
             WHERE id = $1 AND state = 'authorized'
               AND NOT EXISTS (SELECT 1 FROM csc_hashes WHERE request_id = $1 AND used_at IS NULL)",
        )
        .bind(request_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ends authorizations nobody can use any more: a SAD that expired
    /// (signed if some hashes were signed with it, failed if none), or a
    /// SAD never collected by `unclaimed_before`.
    pub async fn expire_authorizations(&self, now: i64, unclaimed_before: i64) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        let partly: AnyQueryResult = sqlx::query(
            "UPDATE sign_requests SET state = 'signed', signed_at = $1
             WHERE state = 'authorized'
               AND id IN (SELECT request_id FROM csc_sads WHERE expires_at <= $1)
               AND EXISTS (SELECT 1 FROM csc_hashes h WHERE h.request_id = sign_requests.id AND h.used_at IS NOT NULL)",
        )
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let unused: AnyQueryResult = sqlx::query(
            "UPDATE sign_requests SET state = 'failed', error_code = 'CSC_SAD_EXPIRED', finished_at = $1,
                error_detail = 'the signing authorization expired before any hash was signed'
             WHERE state = 'authorized' AND id IN (SELECT request_id FROM csc_sads WHERE expires_at <= $1)",
        )
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let uncollected: AnyQueryResult = sqlx::query(
            "UPDATE sign_requests SET state = 'failed', error_code = 'CSC_SAD_EXPIRED', finished_at = $1,
                error_detail = 'the signing application never collected the authorization'
             WHERE state = 'authorized' AND signing_started_at <= $2
               AND id NOT IN (SELECT request_id FROM csc_sads)",
        )
        .bind(now)
        .bind(unclaimed_before)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(partly.rows_affected() + unused.rows_affected() + uncollected.rows_affected())
    }
}

/// Holds the request's row for the transaction (a no-op update: PostgreSQL
/// locks the row, SQLite's IMMEDIATE transaction holds the database) if it
/// is still authorized, so the sweeper cannot end it halfway.
/// One statement: `CASE position WHEN … THEN …` picks each signature.
async fn record_signatures(
    conn: &mut sqlx::AnyConnection,
    request_id: &str,
    signatures: &[(i64, Vec<u8>)],
) -> Result<()> {
    if signatures.is_empty() {
        return Ok(());
    }
    let cases: String = (0..signatures.len()).map(|i| format!(" WHEN ${} THEN ${}", 2 + 2 * i, 3 + 2 * i)).collect();
    let sql = format!(
        "UPDATE csc_hashes SET signature = CASE position{cases} END
         WHERE request_id = $1 AND used_at IS NOT NULL AND signature IS NULL AND position IN ({})",
        placeholders(2 + 2 * signatures.len(), signatures.len())
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(request_id);
    for (position, signature) in signatures {
        query = query.bind(position).bind(signature);
    }
    for (position, _) in signatures {
        query = query.bind(position);
    }
    query.execute(conn).await?;
    Ok(())
}

async fn lock_authorized(tx: &mut WriteTx, request_id: &str) -> Result<bool> {
    let r = sqlx::query("UPDATE sign_requests SET state = 'authorized' WHERE id = $1 AND state = 'authorized'")
        .bind(request_id)
        .execute(&mut **tx)
        .await?;
    Ok(r.rows_affected() == 1)
}
