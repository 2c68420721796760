//! CSC OAuth 2.0 state: grants from `oauth2/authorize` to their code's one
//! redemption, and service-scope access tokens.
//!
//! A grant moves: made (no user) → consented (user bound, once) → for
//! scope `credential`, its hash-only request attached → code issued once →
//! code redeemed once. Every step is one conditional UPDATE, so two tabs,
//! two clicks or two token calls can never both win.

use super::{CscAccessTokenRow, OAuthGrantRow, RelyingPartyRow, Store};
use crate::error::Result;

impl Store {
    pub async fn relying_party(&self, id: &str) -> Result<Option<RelyingPartyRow>> {
        Ok(sqlx::query_as("SELECT * FROM relying_parties WHERE id = $1").bind(id).fetch_optional(&self.pool).await?)
    }

    pub async fn insert_oauth_grant(&self, grant: &OAuthGrantRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO csc_oauth_grants
                 (id, rp_id, scope, redirect_uri, client_state, code_challenge, details, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&grant.id)
        .bind(&grant.rp_id)
        .bind(&grant.scope)
        .bind(&grant.redirect_uri)
        .bind(&grant.client_state)
        .bind(&grant.code_challenge)
        .bind(&grant.details)
        .bind(grant.created_at)
        .bind(grant.expires_at)
        .execute(&mut *self.writer.conn().await?)
        .await?;
        Ok(())
    }

    pub async fn oauth_grant(&self, id: &str) -> Result<Option<OAuthGrantRow>> {
        Ok(sqlx::query_as("SELECT * FROM csc_oauth_grants WHERE id = $1").bind(id).fetch_optional(&self.pool).await?)
    }

    pub async fn oauth_grant_of_request(&self, request_id: &str) -> Result<Option<OAuthGrantRow>> {
        Ok(sqlx::query_as("SELECT * FROM csc_oauth_grants WHERE request_id = $1")
            .bind(request_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// The person consented: binds the grant to them, once and while unexpired.
    pub async fn consent_oauth_grant(&self, id: &str, user_id: &str, now: i64) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE csc_oauth_grants SET user_id = $2 WHERE id = $1 AND user_id IS NULL AND expires_at > $3",
        )
        .bind(id)
        .bind(user_id)
        .bind(now)
        .execute(&mut *self.writer.conn().await?)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// The hash-only request both channels will confirm for this grant.
    pub async fn attach_oauth_request(&self, id: &str, user_id: &str, request_id: &str) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE csc_oauth_grants SET request_id = $3 WHERE id = $1 AND user_id = $2 AND request_id IS NULL",
        )
        .bind(id)
        .bind(user_id)
        .bind(request_id)
        .execute(&mut *self.writer.conn().await?)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// The person declined: nothing more can come of the grant.
    pub async fn end_oauth_grant(&self, id: &str, now: i64) -> Result<()> {
        sqlx::query("UPDATE csc_oauth_grants SET expires_at = $2 WHERE id = $1 AND code_sha256 IS NULL")
            .bind(id)
            .bind(now)
            .execute(&mut *self.writer.conn().await?)
            .await?;
        Ok(())
    }

    /// Issues the grant's authorization code, once.
    pub async fn issue_oauth_code(
        &self,
        id: &str,
        user_id: &str,
        code_sha256: &[u8],
        expires_at: i64,
        now: i64,
    ) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE csc_oauth_grants SET code_sha256 = $3, code_expires_at = $4
             WHERE id = $1 AND user_id = $2 AND code_sha256 IS NULL AND expires_at > $5",
        )
        .bind(id)
        .bind(user_id)
        .bind(code_sha256)
        .bind(expires_at)
        .bind(now)
        .execute(&mut *self.writer.conn().await?)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Uses up a code, whatever the rest of the token call says (a wrong
    /// verifier ends the code too, so it cannot be guessed at). The grant
    /// if this call was the one that used it, while it was unexpired.
    pub async fn redeem_oauth_code(&self, code_sha256: &[u8], now: i64) -> Result<Option<OAuthGrantRow>> {
        Ok(sqlx::query_as(
            "UPDATE csc_oauth_grants SET code_used_at = $2
             WHERE code_sha256 = $1 AND code_used_at IS NULL AND code_expires_at > $2 RETURNING *",
        )
        .bind(code_sha256)
        .bind(now)
        .fetch_optional(&mut *self.writer.conn().await?)
        .await?)
    }

    pub async fn insert_csc_access_token(&self, token: &CscAccessTokenRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO csc_access_tokens (token_sha256, rp_id, user_id, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&token.token_sha256)
        .bind(&token.rp_id)
        .bind(&token.user_id)
        .bind(token.created_at)
        .bind(token.expires_at)
        .execute(&mut *self.writer.conn().await?)
        .await?;
        Ok(())
    }

    /// An access token, expired or not (the caller says which it is).
    pub async fn csc_access_token(&self, token_sha256: &[u8]) -> Result<Option<CscAccessTokenRow>> {
        Ok(sqlx::query_as("SELECT * FROM csc_access_tokens WHERE token_sha256 = $1")
            .bind(token_sha256)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Forgets grants and service tokens that ended before `before`.
    pub async fn purge_csc_oauth(&self, before: i64) -> Result<u64> {
        let grants = sqlx::query(
            "DELETE FROM csc_oauth_grants WHERE expires_at <= $1 AND (code_expires_at IS NULL OR code_expires_at <= $1)",
        )
        .bind(before)
        .execute(&mut *self.writer.conn().await?)
        .await?;
        let tokens = sqlx::query("DELETE FROM csc_access_tokens WHERE expires_at <= $1")
            .bind(before)
            .execute(&mut *self.writer.conn().await?)
            .await?;
        Ok(grants.rows_affected() + tokens.rows_affected())
    }

    /// `auth/revoke`: the token no longer works.
    pub async fn revoke_csc_access_token(&self, token_sha256: &[u8]) -> Result<bool> {
        let r = sqlx::query("DELETE FROM csc_access_tokens WHERE token_sha256 = $1")
            .bind(token_sha256)
            .execute(&mut *self.writer.conn().await?)
            .await?;
        Ok(r.rows_affected() == 1)
    }
}
