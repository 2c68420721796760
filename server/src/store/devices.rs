//! Devices, pairing codes, activation codes and the notices devices receipt.
//!
//! Invariant: a device row exists only with a used pairing code, and it is
//! usable (`approved_at` set) only through one of the three ways in
//! [`PairingPlan`], each decided inside the transaction that inserts it.

use super::{ActivationCodeRow, AuditEvent, DeviceRow, NoticeRow, Store, WriteTx};
use crate::error::Result;

/// How a new device joins, decided before the transaction and re-checked in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairingPlan {
    /// Active at once: the account's activation code was verified; it is
    /// used up in the same transaction.
    ActivationCode,
    /// Active at once: open sign-up, first device, within the window after
    /// TOTP enrolment (checked in the transaction: still no device at all).
    EnrolmentWindow,
    /// Waits for one of the account's active devices (there must still be one).
    AwaitingApproval,
}

#[derive(Debug, PartialEq, Eq)]
pub enum PairOutcome {
    Paired,
    /// The code is unknown, used, expired, or belongs to someone else.
    CodeInvalid,
    /// The account has as many devices (active or awaiting approval) as allowed.
    TooManyDevices,
    /// The account changed between the decision and the transaction
    /// (a device appeared or went, the activation code was used).
    Changed,
}

/// The approving device's decision on a pairing that awaits approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairingDecision {
    Approve,
    Refuse,
}

async fn audit_in(tx: &mut WriteTx, e: &AuditEvent<'_>) -> Result<()> {
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
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A count of the user's devices; `now` is bound only for queries that use it.
async fn count(tx: &mut WriteTx, sql: &'static str, user_id: &str, now: Option<i64>) -> Result<i64> {
    let mut query = sqlx::query_as(sql).bind(user_id);
    if let Some(now) = now {
        query = query.bind(now);
    }
    let (n,): (i64,) = query.fetch_one(&mut **tx).await?;
    Ok(n)
}

/// Active devices, and devices whose pairing may still be approved.
const COUNT_ENROLLED: &str = "SELECT COUNT(*) FROM devices WHERE user_id = $1 AND revoked_at IS NULL
     AND (approved_at IS NOT NULL OR pairing_expires_at > $2)";
const COUNT_ACTIVE: &str =
    "SELECT COUNT(*) FROM devices WHERE user_id = $1 AND revoked_at IS NULL AND approved_at IS NOT NULL";
const COUNT_EVER: &str = "SELECT COUNT(*) FROM devices WHERE user_id = $1";

/// Still awaiting approval, and the approver still an active device of the same user.
macro_rules! decide_pairing_where {
    () => {
        " WHERE id = $1 AND user_id = $2 AND approved_at IS NULL AND revoked_at IS NULL AND pairing_expires_at > $4
            AND EXISTS (SELECT 1 FROM devices a WHERE a.id = $3 AND a.user_id = $2
                        AND a.approved_at IS NOT NULL AND a.revoked_at IS NULL)"
    };
}

impl Store {
    pub async fn insert_pairing_code(&self, code_hash: &[u8], user_id: &str, now: i64, expires_at: i64) -> Result<()> {
        sqlx::query("INSERT INTO pairing_codes (code_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(code_hash)
            .bind(user_id)
            .bind(now)
            .bind(expires_at)
            .execute(&mut *self.writer.conn().await?)
            .await?;
        Ok(())
    }

    /// Open (unused, unexpired) pairing codes of the user, and how many were
    /// made since `since`.
    pub async fn pairing_code_counts(&self, user_id: &str, now: i64, since: i64) -> Result<(i64, i64)> {
        let (open, recent): (i64, i64) = sqlx::query_as(
            "SELECT COALESCE(SUM(CASE WHEN used_at IS NULL AND expires_at > $2 THEN 1 ELSE 0 END), 0),
                    COALESCE(SUM(CASE WHEN created_at >= $3 THEN 1 ELSE 0 END), 0)
             FROM pairing_codes WHERE user_id = $1",
        )
        .bind(user_id)
        .bind(now)
        .bind(since)
        .fetch_one(&self.pool)
        .await?;
        Ok((open, recent))
    }

    /// The user an open pairing code belongs to (the code stays open).
    pub async fn pairing_code_user(&self, code_hash: &[u8], now: i64) -> Result<Option<String>> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT user_id FROM pairing_codes WHERE code_hash = $1 AND used_at IS NULL AND expires_at > $2",
        )
        .bind(code_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|(u,)| u))
    }

    /// Uses up a pairing code without a device (a wrong activation code):
    /// every guess costs the attacker a fresh, stepped-up, capped code.
    pub async fn burn_pairing_code(&self, code_hash: &[u8], now: i64) -> Result<()> {
        sqlx::query("UPDATE pairing_codes SET used_at = $2 WHERE code_hash = $1 AND used_at IS NULL")
            .bind(code_hash)
            .bind(now)
            .execute(&mut *self.writer.conn().await?)
            .await?;
        Ok(())
    }

    /// Uses the code and registers the device in one transaction, after
    /// re-checking what `plan` was decided on. `device.user_id` is the user
    /// the code must belong to.
    pub async fn pair_device(
        &self,
        code_hash: &[u8],
        device: &DeviceRow,
        plan: PairingPlan,
        max_devices: i64,
        now: i64,
    ) -> Result<PairOutcome> {
        let mut tx = self.begin_write().await?;
        let used = sqlx::query(
            "UPDATE pairing_codes SET used_at = $2
             WHERE code_hash = $1 AND user_id = $3 AND used_at IS NULL AND expires_at > $2",
        )
        .bind(code_hash)
        .bind(now)
        .bind(&device.user_id)
        .execute(&mut *tx)
        .await?;
        if used.rows_affected() != 1 {
            return Ok(PairOutcome::CodeInvalid);
        }
        if count(&mut tx, COUNT_ENROLLED, &device.user_id, Some(now)).await? >= max_devices {
            // The code stays used: the attempt is over either way.
            tx.commit().await?;
            return Ok(PairOutcome::TooManyDevices);
        }
        let still_holds = match plan {
            PairingPlan::ActivationCode => {
                sqlx::query(
                    "UPDATE activation_codes SET used_at = $2
                     WHERE user_id = $1 AND used_at IS NULL AND expires_at > $2",
                )
                .bind(&device.user_id)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1
                    && count(&mut tx, COUNT_ACTIVE, &device.user_id, None).await? == 0
            }
            PairingPlan::EnrolmentWindow => count(&mut tx, COUNT_EVER, &device.user_id, None).await? == 0,
            PairingPlan::AwaitingApproval => count(&mut tx, COUNT_ACTIVE, &device.user_id, None).await? > 0,
        };
        if !still_holds {
            // Only the code is used up (an activation code it named stays open).
            tx.rollback().await?;
            self.burn_pairing_code(code_hash, now).await?;
            return Ok(PairOutcome::Changed);
        }
        sqlx::query(
            "INSERT INTO devices (id, user_id, name, public_jwk, created_at, last_ctr, approved_at, enrolment,
                pairing_challenge, pairing_expires_at, pairing_address)
             VALUES ($1, $2, $3, $4, $5, 0, $6, $7, $8, $9, $10)",
        )
        .bind(&device.id)
        .bind(&device.user_id)
        .bind(&device.name)
        .bind(&device.public_jwk)
        .bind(device.created_at)
        .bind(device.approved_at)
        .bind(&device.enrolment)
        .bind(&device.pairing_challenge)
        .bind(device.pairing_expires_at)
        .bind(&device.pairing_address)
        .execute(&mut *tx)
        .await?;
        let event = if plan == PairingPlan::AwaitingApproval { "pairing_awaiting_approval" } else { "device_paired" };
        let e = AuditEvent {
            at: now,
            event,
            user_id: Some(&device.user_id),
            device_id: Some(&device.id),
            detail: device.pairing_address.as_deref(),
            ..Default::default()
        };
        audit_in(&mut tx, &e).await?;
        tx.commit().await?;
        Ok(PairOutcome::Paired)
    }

    /// Settles a pairing that awaits approval, if it still does and the
    /// approver is still an active device of the same user. `evidence` is
    /// stored with an approved device. False if nothing changed.
    pub async fn decide_pairing(
        &self,
        pairing_id: &str,
        approver: &DeviceRow,
        decision: PairingDecision,
        evidence: &str,
        now: i64,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let sql = match decision {
            PairingDecision::Approve => concat!(
                "UPDATE devices SET approved_at = $4, enrolment = $5, pairing_challenge = NULL",
                decide_pairing_where!()
            ),
            PairingDecision::Refuse => concat!(
                "UPDATE devices SET revoked_at = $4, enrolment = $5, pairing_challenge = NULL",
                decide_pairing_where!()
            ),
        };
        let changed = sqlx::query(sql)
            .bind(pairing_id)
            .bind(&approver.user_id)
            .bind(&approver.id)
            .bind(now)
            .bind(evidence)
            .execute(&mut *tx)
            .await?;
        if changed.rows_affected() != 1 {
            return Ok(false);
        }
        let event = match decision {
            PairingDecision::Approve => "device_approved",
            PairingDecision::Refuse => "pairing_refused_on_device",
        };
        let e = AuditEvent {
            at: now,
            event,
            user_id: Some(&approver.user_id),
            device_id: Some(pairing_id),
            detail: Some(&approver.id),
            ..Default::default()
        };
        audit_in(&mut tx, &e).await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn device(&self, id: &str) -> Result<Option<DeviceRow>> {
        Ok(sqlx::query_as("SELECT * FROM devices WHERE id = $1").bind(id).fetch_optional(&self.pool).await?)
    }

    /// The device whose SAD a request holds, read together with nothing
    /// else so it can go out alongside the request itself.
    pub async fn device_of_request(&self, request_id: &str) -> Result<Option<DeviceRow>> {
        Ok(sqlx::query_as("SELECT d.* FROM devices d JOIN sign_requests r ON r.device_id = d.id WHERE r.id = $1")
            .bind(request_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn devices_of_user(&self, user_id: &str) -> Result<Vec<DeviceRow>> {
        Ok(sqlx::query_as("SELECT * FROM devices WHERE user_id = $1 ORDER BY created_at")
            .bind(user_id)
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn touch_device(&self, id: &str, now: i64) -> Result<()> {
        sqlx::query("UPDATE devices SET last_seen_at = $2 WHERE id = $1")
            .bind(id)
            .bind(now)
            .execute(&mut *self.writer.conn().await?)
            .await?;
        Ok(())
    }

    /// Revokes an active device or a pairing still awaiting approval.
    pub async fn revoke_device(&self, user_id: &str, device_id: &str, now: i64) -> Result<bool> {
        let r = sqlx::query("UPDATE devices SET revoked_at = $3 WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL")
            .bind(device_id)
            .bind(user_id)
            .bind(now)
            .execute(&mut *self.writer.conn().await?)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    // ---- activation codes ------------------------------------------------------

    /// Recovery and first issue: every device of the user is revoked, open
    /// pairing codes are used up, and `code_hash` becomes the one activation
    /// code, in one transaction. Returns the ids of the revoked devices.
    pub async fn issue_activation_code(
        &self,
        user_id: &str,
        code_hash: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<Vec<String>> {
        let mut tx = self.begin_write().await?;
        let revoked: Vec<(String,)> =
            sqlx::query_as("UPDATE devices SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL RETURNING id")
                .bind(user_id)
                .bind(now)
                .fetch_all(&mut *tx)
                .await?;
        sqlx::query("UPDATE pairing_codes SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL")
            .bind(user_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO activation_codes (user_id, code_hash, created_at, expires_at, used_at, failures)
             VALUES ($1, $2, $3, $4, NULL, 0)
             ON CONFLICT (user_id) DO UPDATE SET code_hash = $2, created_at = $3, expires_at = $4, used_at = NULL,
                failures = 0",
        )
        .bind(user_id)
        .bind(code_hash)
        .bind(now)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        let e = AuditEvent {
            at: now,
            event: "activation_code_issued",
            user_id: Some(user_id),
            detail: Some(&format!("{} devices revoked", revoked.len())),
            ..Default::default()
        };
        audit_in(&mut tx, &e).await?;
        tx.commit().await?;
        Ok(revoked.into_iter().map(|(id,)| id).collect())
    }

    /// The user's activation code if it can still be used.
    pub async fn open_activation_code(&self, user_id: &str, now: i64) -> Result<Option<ActivationCodeRow>> {
        Ok(sqlx::query_as("SELECT * FROM activation_codes WHERE user_id = $1 AND used_at IS NULL AND expires_at > $2")
            .bind(user_id)
            .bind(now)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Counts a wrong activation code; at `max_failures` the code is used up.
    pub async fn activation_code_failed(&self, user_id: &str, max_failures: i64, now: i64) -> Result<()> {
        sqlx::query(
            "UPDATE activation_codes SET failures = failures + 1,
                used_at = CASE WHEN failures + 1 >= $2 THEN $3 ELSE used_at END
             WHERE user_id = $1 AND used_at IS NULL",
        )
        .bind(user_id)
        .bind(max_failures)
        .bind(now)
        .execute(&mut *self.writer.conn().await?)
        .await?;
        Ok(())
    }

    // ---- notices ---------------------------------------------------------------

    pub async fn insert_notices(&self, notices: &[NoticeRow]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        for n in notices {
            sqlx::query(
                "INSERT INTO device_notices (id, user_id, device_id, kind, subject_device_id, subject_name, at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&n.id)
            .bind(&n.user_id)
            .bind(&n.device_id)
            .bind(&n.kind)
            .bind(&n.subject_device_id)
            .bind(&n.subject_name)
            .bind(n.at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn open_notices(&self, device_id: &str) -> Result<Vec<NoticeRow>> {
        Ok(sqlx::query_as("SELECT * FROM device_notices WHERE device_id = $1 AND receipted_at IS NULL ORDER BY at")
            .bind(device_id)
            .fetch_all(&self.pool)
            .await?)
    }

    /// False if the notice is not this device's or was receipted before.
    pub async fn receipt_notice(&self, device_id: &str, notice_id: &str, now: i64) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE device_notices SET receipted_at = $3 WHERE id = $1 AND device_id = $2 AND receipted_at IS NULL",
        )
        .bind(notice_id)
        .bind(device_id)
        .bind(now)
        .execute(&mut *self.writer.conn().await?)
        .await?;
        Ok(r.rows_affected() == 1)
    }
}
