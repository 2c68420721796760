//! Storage through sqlx: SQLite in the data directory by default (WAL), or
//! PostgreSQL for many nodes. One set of queries serves both through the Any
//! driver: `$N` placeholders, BIGINT milliseconds, BLOB/BYTEA bytes, and
//! nullable timestamps instead of booleans.
//!
//! Architecture invariant: every state change of a sign request is a
//! conditional UPDATE on its current state, so two racing callers cannot
//! both move it; the loser sees `false` and reports REQUEST_NOT_PENDING.

mod certificates;
mod csc;
mod csc_oauth;
mod devices;
mod pushes;
mod relying_parties;
mod rows;
mod writer;

pub use devices::{PairOutcome, PairingDecision, PairingPlan};
pub use pushes::{PushFor, PushKind};

pub use relying_parties::Idempotency;
pub use rows::*;
pub(crate) use writer::WriteTx;
use writer::{OneConnection, Writer};

use crate::error::{Error, Result};
use sqlx::any::{AnyPoolOptions, AnyQueryResult};
use sqlx::{AnyConnection, AnyPool, Connection, Executor};
use std::path::Path;
use std::time::Duration;
use wysiwys_proto::ErrorCode;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone)]
pub struct Store {
    /// Reads. On SQLite these connections are read-only.
    pool: AnyPool,
    /// Writes and write transactions (`writer.rs`): on SQLite its one
    /// writing connection, on PostgreSQL the same pool as reads.
    writer: Writer,
    backend: Backend,
}

/// The state a request is failed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailFrom {
    Pending,
    Signing,
}

/// What a request holds besides its document: a batch's documents, or
/// the hashes of a hash-only (CSC) request.
#[derive(Debug, Clone, Copy)]
pub enum Members<'a> {
    None,
    Batch(&'a [BatchDocumentRow]),
    Hashes(&'a [[u8; 32]]),
}

/// Why a SAD could not be recorded against its request.
#[derive(Debug, PartialEq, Eq)]
pub enum AdmitOutcome {
    /// Recorded; the request as it is now (the web side may have confirmed meanwhile).
    Admitted(Box<RequestRow>),
    Replayed,
    CounterNotIncreasing,
    /// Still pending, but another device answer was attached first.
    AnsweredAlready,
    RequestNotPending,
}

/// Connections that read SQLite beside its one writer. Each keeps its own
/// page cache, which every commit of the writer invalidates: more readers
/// than cores re-read the same pages for nothing.
const SQLITE_READERS: u32 = 4;

/// What a SQLite connection of ours is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SqliteRole {
    /// The one connection that writes (SQLite has one writer at a time).
    Writer,
    /// Read-only connections: a write that strays onto one fails loudly.
    Reader,
}

/// What every SQLite connection of ours sets first.
async fn sqlite_pragmas(conn: &mut AnyConnection, role: SqliteRole) -> std::result::Result<(), sqlx::Error> {
    // WAL lets readers run beside the writer; the busy timeout covers
    // writers in other processes (the admin command).
    conn.execute("PRAGMA journal_mode = WAL").await?;
    conn.execute("PRAGMA synchronous = NORMAL").await?;
    conn.execute("PRAGMA busy_timeout = 10000").await?;
    conn.execute("PRAGMA foreign_keys = ON").await?;
    if role == SqliteRole::Reader {
        conn.execute("PRAGMA query_only = ON").await?;
    }
    Ok(())
}

fn sqlite_readers() -> AnyPoolOptions {
    AnyPoolOptions::new()
        .acquire_timeout(Duration::from_secs(10))
        .max_connections(SQLITE_READERS)
        // The connection is a thread of this process: a ping before each
        // statement would double the hand-offs to it for nothing.
        .test_before_acquire(false)
        .after_connect(|conn, _| Box::pin(sqlite_pragmas(conn, SqliteRole::Reader)))
}

impl Store {
    /// Connects (SQLite in `data_dir` unless a URL is given) and migrates.
    pub async fn open(database_url: Option<&str>, data_dir: &Path) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let (url, backend) = match database_url {
            Some(url) if url.starts_with("postgres:") || url.starts_with("postgresql:") => {
                (url.to_owned(), Backend::Postgres)
            }
            Some(url) if url.starts_with("sqlite:") => (url.to_owned(), Backend::Sqlite),
            Some(other) => {
                return Err(Error::Internal(format!(
                    "unsupported database URL scheme in {:?}",
                    other.split(':').next().unwrap_or_default()
                )));
            }
            None => {
                let path = std::path::absolute(data_dir.join("wysiwys.sqlite3"))
                    .map_err(|e| Error::Internal(format!("data dir: {e}")))?;
                (format!("sqlite://{}?mode=rwc", path.display()), Backend::Sqlite)
            }
        };
        let (pool, writer) = match backend {
            Backend::Sqlite => {
                let mut writer = AnyConnection::connect(&url).await?;
                sqlite_pragmas(&mut writer, SqliteRole::Writer).await?;
                SQLITE_MIGRATIONS.run(&mut writer).await?;
                (sqlite_readers().connect(&url).await?, Writer::Sqlite(OneConnection::new(writer)))
            }
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .acquire_timeout(Duration::from_secs(10))
                    .max_connections(16)
                    .connect(&url)
                    .await?;
                POSTGRES_MIGRATIONS.run(&pool).await?;
                (pool.clone(), Writer::Pool(pool))
            }
        };
        let store = Store { pool, writer, backend };
        store.fill_name_skeletons(wysiwys_proto::display::confusable_skeleton).await?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A round trip to the database.
    pub async fn answers(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Whether every migration this build knows is applied (another node
    /// may have applied newer ones; those do not make this one unready).
    pub async fn migrations_current(&self) -> Result<bool> {
        let applied: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success").fetch_all(&self.pool).await?;
        let known = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        Ok(known.iter().all(|m| applied.contains(&m.version)))
    }

    /// A write transaction (see `Writer::begin`).
    pub(crate) async fn begin_write(&self) -> Result<WriteTx> {
        self.writer.begin().await
    }

    // ---- users -------------------------------------------------------------

    pub async fn insert_user(&self, u: &UserRow) -> Result<()> {
        let result = sqlx::query(
            "INSERT INTO users (id, username, password_hash, totp_secret, credential_id, certificate, created_at,
                totp_enabled_at, external_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
        )
        .bind(&u.id)
        .bind(&u.username)
        .bind(&u.password_hash)
        .bind(&u.totp_secret)
        .bind(&u.credential_id)
        .bind(&u.certificate)
        .bind(u.created_at)
        .bind(u.totp_enabled_at)
        .bind(&u.external_id)
        .execute(&mut *self.writer.conn().await?)
        .await?;
        if result.rows_affected() == 0 {
            return Err(Error::refused(ErrorCode::BadRequest, format!("user {:?} exists already", u.username)));
        }
        Ok(())
    }

    pub async fn user_by_username(&self, username: &str) -> Result<Option<UserRow>> {
        Ok(sqlx::query_as("SELECT * FROM users WHERE username = $1").bind(username).fetch_optional(&self.pool).await?)
    }

    pub async fn user_by_id(&self, id: &str) -> Result<Option<UserRow>> {
        Ok(sqlx::query_as("SELECT * FROM users WHERE id = $1").bind(id).fetch_optional(&self.pool).await?)
    }

    /// Counts a failed password or TOTP; locks the account for `lock_ms`
    /// once `max_failures` is reached.
    /// One more failed password or code; the failure that reaches
    /// `max_failures` locks the account until `now + lock_ms`. A lock that has
    /// run out starts the count afresh: the next wrong password after it is
    /// the first of a new series, not the one that locks again.
    pub async fn record_login_failure(&self, user_id: &str, now: i64, max_failures: i64, lock_ms: i64) -> Result<()> {
        sqlx::query(
            "UPDATE users SET
                failed_logins = CASE WHEN locked_until <> 0 AND locked_until <= $4 THEN 1 ELSE failed_logins + 1 END,
                locked_until = CASE
                    WHEN (CASE WHEN locked_until <> 0 AND locked_until <= $4 THEN 1 ELSE failed_logins + 1 END) >= $2
                        THEN $3
                    WHEN locked_until <> 0 AND locked_until <= $4 THEN 0
                    ELSE locked_until END
             WHERE id = $1",
        )
        .bind(user_id)
        .bind(max_failures)
        .bind(now.saturating_add(lock_ms))
        .bind(now)
        .execute(&mut *self.writer.conn().await?)
        .await?;
        Ok(())
    }

    /// A successful log-in: failures are forgotten and a "not me" lock is lifted.
    pub async fn record_login_success(&self, user_id: &str) -> Result<()> {
        sqlx::query("UPDATE users SET failed_logins = 0, locked_until = 0, signing_locked_at = NULL WHERE id = $1")
            .bind(user_id)
            .execute(&mut *self.writer.conn().await?)
            .await?;
        Ok(())
    }

    /// Marks a TOTP time step as used; false if it (or a later one) was.
    pub async fn consume_totp_step(&self, user_id: &str, step: i64) -> Result<bool> {
        let r = sqlx::query("UPDATE users SET totp_last_step = $2 WHERE id = $1 AND totp_last_step < $2")
            .bind(user_id)
            .bind(step)
            .execute(&mut *self.writer.conn().await?)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    /// The first valid code of a new account turns its TOTP on.
    pub async fn enable_totp(&self, user_id: &str, now: i64) -> Result<()> {
        sqlx::query("UPDATE users SET totp_enabled_at = $2 WHERE id = $1 AND totp_enabled_at IS NULL")
            .bind(user_id)
            .bind(now)
            .execute(&mut *self.writer.conn().await?)
            .await?;
        Ok(())
    }

    /// "Not me": locks signing and closes every pending request and pairing
    /// of the user in one transaction, so no request survives the lock half-way. Returns
    /// how many requests it closed.
    pub async fn lock_signing(&self, user_id: &str, code: ErrorCode, detail: &str, now: i64) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE users SET signing_locked_at = $2 WHERE id = $1")
            .bind(user_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let closed = sqlx::query(
            "UPDATE sign_requests SET state = 'failed', error_code = $2, error_detail = $3, finished_at = $4
             WHERE user_id = $1 AND state = 'pending'",
        )
        .bind(user_id)
        .bind(code.as_str())
        .bind(detail)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        // No pairing may be approved into a locked account.
        sqlx::query(
            "UPDATE devices SET revoked_at = $2 WHERE user_id = $1 AND approved_at IS NULL AND revoked_at IS NULL",
        )
        .bind(user_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(closed.rows_affected())
    }

    // ---- sessions ------------------------------------------------------------

    pub async fn insert_session(&self, s: &SessionRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at, stage, elevated_until)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&s.token_hash)
        .bind(&s.user_id)
        .bind(&s.csrf_token)
        .bind(s.created_at)
        .bind(s.expires_at)
        .bind(&s.stage)
        .bind(s.elevated_until)
        .execute(&mut *self.writer.conn().await?)
        .await?;
        Ok(())
    }

    /// A valid session and its user, in one query (every browser call needs both).
    pub async fn session(&self, token_hash: &[u8], now: i64) -> Result<Option<(SessionRow, UserRow)>> {
        let row: Option<SessionUserRow> = sqlx::query_as(
            "SELECT u.*, s.token_hash, s.csrf_token, s.created_at AS session_created_at,
                    s.expires_at AS session_expires_at, s.stage, s.elevated_until
             FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = $1 AND s.expires_at > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| {
            let session = SessionRow {
                token_hash: r.token_hash,
                user_id: r.user.id.clone(),
                csrf_token: r.csrf_token,
                created_at: r.session_created_at,
                expires_at: r.session_expires_at,
                stage: r.stage,
                elevated_until: r.elevated_until,
            };
            (session, r.user)
        }))
    }

    /// Grants a session one device change until `until`.
    pub async fn elevate_session(&self, token_hash: &[u8], until: i64) -> Result<()> {
        sqlx::query("UPDATE sessions SET elevated_until = $2 WHERE token_hash = $1")
            .bind(token_hash)
            .bind(until)
            .execute(&mut *self.writer.conn().await?)
            .await?;
        Ok(())
    }

    /// Uses up a session's elevation in one statement, so two concurrent
    /// device changes cannot both ride on one step-up. False: none was left.
    pub async fn consume_elevation(&self, token_hash: &[u8], now: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE sessions SET elevated_until = NULL
             WHERE token_hash = $1 AND elevated_until > $2",
        )
        .bind(token_hash)
        .bind(now)
        .execute(&mut *self.writer.conn().await?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn delete_session(&self, token_hash: &[u8]) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&mut *self.writer.conn().await?)
            .await?;
        Ok(())
    }

    // ---- sign requests -------------------------------------------------------

    /// Inserts a new request. With an idempotency key, the key is recorded
    /// in the same transaction; false if that key was taken meanwhile (and
    /// then nothing was inserted).
    pub async fn insert_request(
        &self,
        r: &RequestRow,
        idempotency: Option<Idempotency<'_>>,
        members: Members<'_>,
    ) -> Result<bool> {
        // A lone request is one statement, atomic on its own.
        if idempotency.is_none() && matches!(members, Members::None) {
            insert_request_row(&mut *self.writer.conn().await?, r).await?;
            return Ok(true);
        }
        let mut tx = self.begin_write().await?;
        if let Some(key) = idempotency {
            let claimed = sqlx::query(
                "INSERT INTO rp_idempotency (rp_id, idempotency_key, body_hash, request_id, created_at)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            )
            .bind(key.rp_id)
            .bind(key.key)
            .bind(key.fingerprint)
            .bind(&r.id)
            .bind(r.created_at)
            .execute(&mut *tx)
            .await?;
            if claimed.rows_affected() == 0 {
                return Ok(false);
            }
        }
        insert_request_row(&mut tx, r).await?;
        let (batch, hashes) = match members {
            Members::None => (&[][..], &[][..]),
            Members::Batch(batch) => (batch, &[][..]),
            Members::Hashes(hashes) => (&[][..], hashes),
        };
        for (position, digest) in hashes.iter().enumerate() {
            sqlx::query("INSERT INTO csc_hashes (request_id, position, digest) VALUES ($1, $2, $3)")
                .bind(&r.id)
                .bind(i64::try_from(position).unwrap_or(i64::MAX))
                .bind(&digest[..])
                .execute(&mut *tx)
                .await?;
        }
        for d in batch {
            sqlx::query(
                "INSERT INTO batch_documents (request_id, position, title, media_type, document, doc_hash, rp_reference)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&r.id)
            .bind(d.position)
            .bind(&d.title)
            .bind(&d.media_type)
            .bind(&d.document)
            .bind(&d.doc_hash)
            .bind(&d.rp_reference)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// The documents of a batch request, in order (empty for other requests).
    pub async fn batch_documents(&self, request_id: &str) -> Result<Vec<BatchDocumentRow>> {
        Ok(sqlx::query_as("SELECT * FROM batch_documents WHERE request_id = $1 ORDER BY position")
            .bind(request_id)
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn request(&self, id: &str) -> Result<Option<RequestRow>> {
        Ok(sqlx::query_as("SELECT * FROM sign_requests WHERE id = $1").bind(id).fetch_optional(&self.pool).await?)
    }

    /// Pending, unexpired requests still waiting for a device answer.
    pub async fn requests_awaiting_device(&self, user_id: &str, now: i64) -> Result<Vec<RequestRow>> {
        Ok(sqlx::query_as(
            "SELECT * FROM sign_requests
             WHERE user_id = $1 AND state = 'pending' AND sad IS NULL AND expires_at > $2 ORDER BY created_at",
        )
        .bind(user_id)
        .bind(now)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn requests_of_user(&self, user_id: &str, limit: i64) -> Result<Vec<RequestRow>> {
        Ok(sqlx::query_as("SELECT * FROM sign_requests WHERE user_id = $1 ORDER BY created_at DESC LIMIT $2")
            .bind(user_id)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }

    /// Records the web confirmation; returns the request as it is now (so
    /// the caller sees a SAD that arrived meanwhile), or None if it moved on.
    pub async fn record_web_confirmation(&self, id: &str, now: i64) -> Result<Option<RequestRow>> {
        Ok(sqlx::query_as(
            "UPDATE sign_requests SET web_confirmed_at = $2
             WHERE id = $1 AND state = 'pending' AND web_confirmed_at IS NULL RETURNING *",
        )
        .bind(id)
        .bind(now)
        .fetch_optional(&mut *self.writer.conn().await?)
        .await?)
    }

    /// Records an admitted SAD: the replay guard, the device counter and the
    /// request, all or nothing.
    pub async fn admit_sad(&self, sad: &AdmittedSadRow<'_>) -> Result<AdmitOutcome> {
        let mut tx = self.begin_write().await?;
        let used = sqlx::query(
            "INSERT INTO sad_uses (replay_key, request_id, device_id, used_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT DO NOTHING",
        )
        .bind(sad.replay_key)
        .bind(sad.request_id)
        .bind(sad.device_id)
        .bind(sad.now)
        .execute(&mut *tx)
        .await?;
        if used.rows_affected() == 0 {
            return Ok(AdmitOutcome::Replayed);
        }
        let counter =
            sqlx::query("UPDATE devices SET last_ctr = $2, last_seen_at = $3 WHERE id = $1 AND last_ctr < $2")
                .bind(sad.device_id)
                .bind(sad.counter)
                .bind(sad.now)
                .execute(&mut *tx)
                .await?;
        if counter.rows_affected() == 0 {
            return Ok(AdmitOutcome::CounterNotIncreasing);
        }
        let attached: Option<RequestRow> = sqlx::query_as(
            "UPDATE sign_requests SET device_id = $2, sad = $3, sad_sha256 = $4, device_confirmed_at = $5
             WHERE id = $1 AND state = 'pending' AND sad IS NULL RETURNING *",
        )
        .bind(sad.request_id)
        .bind(sad.device_id)
        .bind(sad.token)
        .bind(sad.token_sha256)
        .bind(sad.now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = attached else {
            let state: Option<String> = sqlx::query_scalar("SELECT state FROM sign_requests WHERE id = $1")
                .bind(sad.request_id)
                .fetch_optional(&mut *tx)
                .await?;
            return Ok(if state.as_deref() == Some("pending") {
                AdmitOutcome::AnsweredAlready
            } else {
                AdmitOutcome::RequestNotPending
            });
        };
        tx.commit().await?;
        Ok(AdmitOutcome::Admitted(Box::new(row)))
    }

    /// Ends a request that is still in `from` with a reason. False if it
    /// had moved on. From `signing` (the HSM failed after the claim) the
    /// request is closed, never re-opened, so no second signature can follow.
    pub async fn fail_request(
        &self,
        id: &str,
        from: FailFrom,
        code: ErrorCode,
        detail: &str,
        now: i64,
    ) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE sign_requests SET state = 'failed', error_code = $2, error_detail = $3, finished_at = $4
             WHERE id = $1 AND state = $5",
        )
        .bind(id)
        .bind(code.as_str())
        .bind(detail)
        .bind(now)
        .bind(match from {
            FailFrom::Pending => "pending",
            FailFrom::Signing => "signing",
        })
        .execute(&mut *self.writer.conn().await?)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// The one step that lets a signature happen: pending → signing, once.
    pub async fn claim_for_signing(&self, id: &str, now: i64) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE sign_requests SET state = 'signing', signing_started_at = $2
             WHERE id = $1 AND state = 'pending' AND signature IS NULL AND sad IS NOT NULL
               AND web_confirmed_at IS NOT NULL",
        )
        .bind(id)
        .bind(now)
        .execute(&mut *self.writer.conn().await?)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Releases the signature, and a batch's per-document signatures, in one
    /// transaction: all of them or none.
    pub async fn finish_signing(
        &self,
        id: &str,
        signature: &[u8],
        batch_signatures: &[Vec<u8>],
        level: &str,
        now: i64,
    ) -> Result<Option<RequestRow>> {
        // A lone document is one statement, atomic on its own.
        if batch_signatures.is_empty() {
            return release_signature(&mut *self.writer.conn().await?, id, signature, level, now).await;
        }
        let mut tx = self.begin_write().await?;
        for (position, member) in batch_signatures.iter().enumerate() {
            sqlx::query("UPDATE batch_documents SET signature = $3 WHERE request_id = $1 AND position = $2")
                .bind(id)
                .bind(i64::try_from(position).unwrap_or(i64::MAX))
                .bind(member)
                .execute(&mut *tx)
                .await?;
        }
        let row = release_signature(&mut tx, id, signature, level, now).await?;
        if row.is_some() {
            tx.commit().await?;
        }
        Ok(row)
    }

    /// After a crash: requests stuck in `signing` for longer than any HSM
    /// call takes are closed as interrupted. Their SAD is already consumed.
    pub async fn close_interrupted_signing(&self, started_before: i64, now: i64) -> Result<u64> {
        let r: AnyQueryResult = sqlx::query(
            "UPDATE sign_requests SET state = 'failed', error_code = 'SIGNING_INTERRUPTED',
                error_detail = 'the server stopped while signing', finished_at = $2
             WHERE state = 'signing' AND signing_started_at < $1",
        )
        .bind(started_before)
        .bind(now)
        .execute(&mut *self.writer.conn().await?)
        .await?;
        Ok(r.rows_affected())
    }

    /// Ends every pending request whose challenge ran out before
    /// `expired_before`, so that nobody has to look at it first (relying
    /// parties wait for their webhook).
    pub async fn expire_due(&self, expired_before: i64, now: i64) -> Result<u64> {
        let r: AnyQueryResult = sqlx::query(
            "UPDATE sign_requests SET state = 'failed', error_code = 'CHALLENGE_EXPIRED',
                error_detail = 'the challenge expired before both channels confirmed', finished_at = $2
             WHERE state = 'pending' AND expires_at <= $1",
        )
        .bind(expired_before)
        .bind(now)
        .execute(&mut *self.writer.conn().await?)
        .await?;
        Ok(r.rows_affected())
    }

    // ---- PKI and audit -------------------------------------------------------

    /// The audit trail of a request, oldest first: (at, event, device, code).
    pub async fn audit_trail(&self, request_id: &str) -> Result<Vec<(i64, String, Option<String>, Option<String>)>> {
        Ok(sqlx::query_as("SELECT at, event, device_id, code FROM audit_events WHERE request_id = $1 ORDER BY id")
            .bind(request_id)
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn pki_object(&self, name: &str) -> Result<Option<Vec<u8>>> {
        let row: Option<(Vec<u8>,)> =
            sqlx::query_as("SELECT der FROM pki WHERE name = $1").bind(name).fetch_optional(&self.pool).await?;
        Ok(row.map(|(der,)| der))
    }

    /// Stores a PKI object unless another node stored one first; returns
    /// whichever is stored, so all nodes agree.
    pub async fn put_pki_object(&self, name: &str, der: &[u8]) -> Result<Vec<u8>> {
        sqlx::query("INSERT INTO pki (name, der) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(name)
            .bind(der)
            .execute(&mut *self.writer.conn().await?)
            .await?;
        self.pki_object(name).await?.ok_or_else(|| Error::Internal(format!("PKI object {name} missing after insert")))
    }

    /// Stores or replaces a PKI setting (not a certificate: those are
    /// written once, by [`Store::put_pki_object`]).
    pub async fn set_pki_object(&self, name: &str, der: &[u8]) -> Result<()> {
        sqlx::query("INSERT INTO pki (name, der) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET der = $2")
            .bind(name)
            .bind(der)
            .execute(&mut *self.writer.conn().await?)
            .await?;
        Ok(())
    }

    /// Events that change no request (log-ins, refused attempts). Changes
    /// of a request are audited by database triggers (migration 0002).
    pub async fn audit(&self, e: &AuditEvent<'_>) -> Result<()> {
        sqlx::query(
            "INSERT INTO audit_events (at, event, user_id, request_id, device_id, code, detail)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(e.at)
        .bind(e.event)
        .bind(e.user_id)
        .bind(e.request_id)
        .bind(e.device_id)
        .bind(e.code.map(|c| c.as_str()))
        .bind(e.detail)
        .execute(&mut *self.writer.conn().await?)
        .await?;
        Ok(())
    }
}

/// `$first, $first+1, …`: `count` numbered placeholders (only numbers are
/// formatted into SQL, so dynamic statements built with it are safe).
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ")
}

/// The INSERT of a new request (its audit entry is written by a trigger).
async fn insert_request_row(conn: &mut AnyConnection, r: &RequestRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO sign_requests (id, user_id, credential_id, requester, media_type, title, document, doc_hash,
                summary_json, summary_hash, challenge, created_at, expires_at, state, rp_id, rp_reference,
                level_requested, visible_signature)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'pending', $14, $15, $16, $17)",
    )
    .bind(&r.id)
    .bind(&r.user_id)
    .bind(&r.credential_id)
    .bind(&r.requester)
    .bind(&r.media_type)
    .bind(&r.title)
    .bind(&r.document)
    .bind(&r.doc_hash)
    .bind(&r.summary_json)
    .bind(&r.summary_hash)
    .bind(&r.challenge)
    .bind(r.created_at)
    .bind(r.expires_at)
    .bind(&r.rp_id)
    .bind(&r.rp_reference)
    .bind(&r.level_requested)
    .bind(&r.visible_signature)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// `signing` → `signed` with the signature, if the request is still signing.
async fn release_signature(
    conn: &mut AnyConnection,
    id: &str,
    signature: &[u8],
    level: &str,
    now: i64,
) -> Result<Option<RequestRow>> {
    Ok(sqlx::query_as(
        "UPDATE sign_requests SET state = 'signed', signature = $2, signed_at = $3, signature_level = $4
         WHERE id = $1 AND state = 'signing' AND signature IS NULL RETURNING *",
    )
    .bind(id)
    .bind(signature)
    .bind(now)
    .bind(level)
    .fetch_optional(&mut *conn)
    .await?)
}

#[cfg(test)]
mod tests;
