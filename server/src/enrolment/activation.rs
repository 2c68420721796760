//! Activation codes: what the first device of an account needs besides the
//! browser's pairing code. The operator delivers it out of band (a letter,
//! the bank's app), so a man in the browser never sees it.
//!
//! Issuing one is also recovery: every device of the account is revoked in
//! the same transaction, so a lost phone cannot keep signing.

use super::codes::{new_code, normalise};
use crate::app::App;
use crate::clock::Clock;
use crate::entropy::{Entropy, random_bytes};
use crate::error::{Error, Result};
use crate::store::{Store, UserRow};
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use secrecy::{ExposeSecret, SecretString};
use wysiwys_proto::ErrorCode;

/// A letter takes days; the code stays valid for a month.
pub const ACTIVATION_TTL_MS: i64 = 30 * 24 * 3600 * 1000;
/// Wrong codes before the activation code is used up (the operator issues a new one).
pub const MAX_ACTIVATION_FAILURES: i64 = 5;
/// Three groups of five symbols: about 73 bits, hashed with argon2id.
const ACTIVATION_GROUPS: usize = 3;

#[derive(Debug)]
pub struct IssuedActivation {
    pub code: SecretString,
    pub expires_at: i64,
    /// Devices the issue revoked (recovery); empty for a new account.
    pub revoked_devices: Vec<String>,
}

fn hash(code: &str, salt: &[u8; 16]) -> Result<String> {
    argon2::Argon2::default()
        .hash_password_with_salt(normalise(code).as_bytes(), salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(format!("argon2: {e}")))
}

/// A new activation code for the user; revokes every device it had.
pub async fn issue(store: &Store, clock: &dyn Clock, entropy: &dyn Entropy, user_id: &str) -> Result<IssuedActivation> {
    let code = new_code(entropy, ACTIVATION_GROUPS)?;
    let salt = random_bytes::<16>(entropy)?;
    let for_hash = code.clone();
    let code_hash = crate::password_hashing::run(move || hash(&for_hash, &salt)).await??;
    let now = clock.now_ms();
    let expires_at = now.saturating_add(ACTIVATION_TTL_MS);
    let revoked_devices = store.issue_activation_code(user_id, &code_hash, now, expires_at).await?;
    Ok(IssuedActivation { code: SecretString::from(code), expires_at, revoked_devices })
}

/// Whether `typed` is the user's open activation code. A wrong code counts
/// towards [`MAX_ACTIVATION_FAILURES`]. The code is used up only when the
/// device is inserted (`Store::pair_device`), in the same transaction.
pub async fn verify(app: &App, user: &UserRow, typed: &SecretString) -> Result<i64> {
    let now = app.clock.now_ms();
    let Some(row) = app.store.open_activation_code(&user.id, now).await? else {
        return Err(Error::refused(ErrorCode::ActivationCodeInvalid, "the account has no open activation code"));
    };
    let typed = normalise(typed.expose_secret());
    if typed.len() > 64 {
        return Err(Error::refused(ErrorCode::ActivationCodeInvalid, "an activation code is 15 symbols"));
    }
    let stored = row.code_hash.clone();
    let matches = crate::password_hashing::run(move || {
        PasswordVerifier::<str>::verify_password(&argon2::Argon2::default(), typed.as_bytes(), &stored).is_ok()
    })
    .await?;
    if !matches {
        app.store.activation_code_failed(&user.id, MAX_ACTIVATION_FAILURES, now).await?;
        return Err(Error::refused(ErrorCode::ActivationCodeInvalid, "wrong activation code"));
    }
    Ok(row.created_at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_forgives_how_the_code_was_typed() {
        let salt = [1u8; 16];
        let stored = hash("ABCDE-FGHJK-MNPQR", &salt).unwrap();
        let ok = |typed: &str| {
            PasswordVerifier::<str>::verify_password(&argon2::Argon2::default(), normalise(typed).as_bytes(), &stored)
                .is_ok()
        };
        assert!(ok("abcde fghjk mnpqr"));
        assert!(!ok("ABCDE-FGHJK-MNPQS"));
        assert!(stored.starts_with("$argon2id$"));
    }
}
