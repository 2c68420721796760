//! The CA's register of issued certificates and their revocation status.
//! A status changes in one conditional UPDATE, together with the end of
//! the holder's open requests, so no signature can start from a request
//! made before the revocation.

use super::{CertificateRow, Store};
use crate::error::Result;
use wysiwys_proto::ErrorCode;

impl Store {
    /// Registers a certificate; a second registration of a serial is a no-op.
    pub async fn register_certificate(&self, c: &CertificateRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO certificates (serial, user_id, credential_id, der, not_before, not_after, status, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, 'valid', $7) ON CONFLICT DO NOTHING",
        )
        .bind(&c.serial)
        .bind(&c.user_id)
        .bind(&c.credential_id)
        .bind(&c.der)
        .bind(c.not_before)
        .bind(c.not_after)
        .bind(c.created_at)
        .execute(&mut *self.writer.conn().await?)
        .await?;
        Ok(())
    }

    pub async fn certificate(&self, serial: &[u8]) -> Result<Option<CertificateRow>> {
        Ok(sqlx::query_as("SELECT * FROM certificates WHERE serial = $1")
            .bind(serial)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Users whose current certificate is not registered yet (made before
    /// the register existed).
    pub async fn users_without_registered_certificate(&self) -> Result<Vec<(String, String, Vec<u8>)>> {
        Ok(sqlx::query_as(
            "SELECT u.id, u.credential_id, u.certificate FROM users u
             WHERE NOT EXISTS (SELECT 1 FROM certificates c WHERE c.credential_id = u.credential_id)",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Every certificate a CRL must list: revoked and suspended ones.
    pub async fn revoked_certificates(&self) -> Result<Vec<CertificateRow>> {
        Ok(sqlx::query_as("SELECT * FROM certificates WHERE status <> 'valid' ORDER BY serial")
            .fetch_all(&self.pool)
            .await?)
    }

    /// Moves the certificate `serial` from one of `from` to `to` (with the
    /// reason and time for revoked and suspended, cleared for valid) and
    /// ends its holder's open requests with `code`. Returns the row as it
    /// is now, or `None` if it was not in one of `from`.
    pub async fn change_certificate_status(
        &self,
        serial: &[u8],
        from: &[&str],
        to: &str,
        reason: Option<i64>,
        code: ErrorCode,
        now: i64,
    ) -> Result<Option<(CertificateRow, u64)>> {
        let mut tx = self.begin_write().await?;
        let revoked_at = (to != "valid").then_some(now);
        let sql = format!(
            "UPDATE certificates SET status = $2, revoked_at = $3, reason = $4
             WHERE serial = $1 AND status IN ({}) RETURNING *",
            super::placeholders(5, from.len())
        );
        let mut query = sqlx::query_as::<_, CertificateRow>(sqlx::AssertSqlSafe(sql))
            .bind(serial)
            .bind(to)
            .bind(revoked_at)
            .bind(reason);
        for state in from {
            query = query.bind(*state);
        }
        let Some(row) = query.fetch_optional(&mut *tx).await? else {
            return Ok(None);
        };
        let mut closed = 0;
        if let (Some(user_id), Some(_)) = (&row.user_id, revoked_at) {
            // Pending ones and CSC authorizations not yet used up alike.
            closed = sqlx::query(
                "UPDATE sign_requests SET state = 'failed', error_code = $2, error_detail = $3, finished_at = $4
                 WHERE user_id = $1 AND state IN ('pending', 'authorized')",
            )
            .bind(user_id)
            .bind(code.as_str())
            .bind("the signing certificate was revoked or suspended")
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
        Ok(Some((row, closed)))
    }

    /// Renewal: registers the new certificate and makes it the user's
    /// current one, unless another renewal replaced `old` first.
    pub async fn renew_certificate(&self, user_id: &str, old: &[u8], new: &CertificateRow) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let replaced = sqlx::query("UPDATE users SET certificate = $3 WHERE id = $1 AND certificate = $2")
            .bind(user_id)
            .bind(old)
            .bind(&new.der)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if replaced != 1 {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO certificates (serial, user_id, credential_id, der, not_before, not_after, status, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, 'valid', $7)",
        )
        .bind(&new.serial)
        .bind(&new.user_id)
        .bind(&new.credential_id)
        .bind(&new.der)
        .bind(new.not_before)
        .bind(new.not_after)
        .bind(new.created_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }
}
