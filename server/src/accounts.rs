//! Accounts: argon2id passwords, single-use TOTP, sessions, the "not me" lock.

use crate::app::App;
use crate::clock::Clock;
use crate::entropy::{Entropy, random_bytes, random_id};
use crate::error::{Error, Result};
use crate::hsm::Hsm;
use crate::store::{AuditEvent, SessionRow, Store, UserRow};
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use secrecy::{ExposeSecret, SecretString};
use std::net::IpAddr;
use std::sync::Arc;
use totp_rs::{Algorithm, Totp};
use wysiwys_proto::api::{LoginRequest, LoginResponse};
use wysiwys_proto::{ErrorCode, b64};

pub const TOTP_ISSUER: &str = "wysiwys";
/// Failed passwords or codes before the account is locked for a while.
pub const MAX_LOGIN_FAILURES: i64 = 5;
pub const LOGIN_LOCK_MS: i64 = 15 * 60 * 1000;
const MAX_PASSWORD_BYTES: usize = 1024;

/// Whether a new account's TOTP works at once (an administrator handed the
/// secret over) or only after the person entered one valid code (sign-up).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotpEnrolment {
    Active,
    AwaitingFirstCode,
}

/// How long the steps of logging in may take.
pub const PENDING_LOGIN_MS: i64 = 5 * 60 * 1000;

/// What an administrator sees once when creating an account.
#[derive(Debug)]
pub struct CreatedAccount {
    pub user_id: String,
    pub username: String,
    pub password: SecretString,
    pub otpauth_uri: SecretString,
    pub totp_secret_base32: SecretString,
    /// For accounts an operator made: the first device's activation code.
    pub activation: Option<crate::enrolment::activation::IssuedActivation>,
}

fn totp_for(secret: &[u8], username: &str) -> Result<Totp> {
    totp_rs::Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(secret.to_vec())
        .with_issuer(Some(TOTP_ISSUER))
        .with_account_name(username)
        .build()
        .map_err(|e| Error::Internal(format!("TOTP: {e}")))
}

pub fn validate_username(username: &str) -> Result<()> {
    let ok = (3..=64).contains(&username.len())
        && username.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::refused(
            ErrorCode::BadRequest,
            "a username is 3 to 64 characters: lower-case letters, digits, '.', '_' or '-'",
        ))
    }
}

fn hash_password(password: &SecretString, salt: &[u8; 16]) -> Result<String> {
    argon2::Argon2::default()
        .hash_password_with_salt(password.expose_secret().as_bytes(), salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(format!("argon2: {e}")))
}

fn password_matches(password: &str, stored_hash: &str) -> bool {
    PasswordVerifier::<str>::verify_password(&argon2::Argon2::default(), password.as_bytes(), stored_hash).is_ok()
}

/// Who a new account is for.
#[derive(Debug)]
pub struct NewAccount<'a> {
    pub username: &'a str,
    /// Generated when absent.
    pub password: Option<SecretString>,
    pub enrolment: TotpEnrolment,
    /// The number relying parties know this person by, if any.
    pub external_id: Option<&'a str>,
    /// Relying parties (ids) that may use this person's credential through
    /// the CSC API.
    pub relying_parties: &'a [String],
}

/// Creates a user with a signing key in the HSM and a certificate from our
/// CA. A password is generated when none is given.
pub async fn create_user(
    store: &Store,
    hsm: Arc<Hsm>,
    clock: &dyn Clock,
    entropy: &dyn Entropy,
    new: NewAccount<'_>,
) -> Result<CreatedAccount> {
    let NewAccount { username, password, enrolment, external_id, relying_parties } = new;
    validate_username(username)?;
    for rp in relying_parties {
        if !store.relying_party_exists(rp).await? {
            return Err(Error::refused(ErrorCode::BadRequest, format!("no relying party {rp:?}")));
        }
    }
    if let Some(id) = external_id {
        crate::relying_parties::check_external_id(id)?;
        if store.user_by_external_id(id).await?.is_some() {
            return Err(Error::refused(ErrorCode::BadRequest, format!("external id {id:?} is taken")));
        }
    }
    if store.user_by_username(username).await?.is_some() {
        return Err(Error::refused(ErrorCode::BadRequest, format!("user {username:?} exists already")));
    }
    let password = match password {
        Some(p) => p,
        None => SecretString::from(b64::encode(random_bytes::<15>(entropy)?)),
    };
    if password.expose_secret().len() < 8 || password.expose_secret().len() > MAX_PASSWORD_BYTES {
        return Err(Error::refused(ErrorCode::BadRequest, "a password is 8 to 1024 bytes"));
    }
    let salt = random_bytes::<16>(entropy)?;
    let totp_secret = random_bytes::<20>(entropy)?.to_vec();
    let user_id = random_id(entropy)?;
    let credential_id = random_id(entropy)?;
    let now = clock.now_ms();

    let pw = password.clone();
    let password_hash = crate::password_hashing::run(move || hash_password(&pw, &salt)).await??;
    let (cred, name) = (credential_id.clone(), username.to_owned());
    let serial = random_bytes::<16>(entropy)?;
    let distribution = crate::pki::Distribution::recorded(store).await?;
    let certificate = tokio::task::spawn_blocking(move || -> Result<Vec<u8>> {
        let point = hsm.generate_user_key(&cred)?;
        crate::pki::issue_user_certificate(&hsm, &name, &point, now, serial, distribution.as_ref())
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))??;

    let (certificate_der, credential_id_kept) = (certificate, credential_id);
    let totp = totp_for(&totp_secret, username)?;
    let otpauth_uri = totp.to_url().map_err(|e| Error::Internal(format!("otpauth URI: {e}")))?;
    let secret_b32 = base32_encode(&totp_secret);
    store
        .insert_user(&UserRow {
            id: user_id.clone(),
            username: username.to_owned(),
            password_hash,
            totp_secret,
            totp_last_step: -1,
            failed_logins: 0,
            locked_until: 0,
            signing_locked_at: None,
            credential_id: credential_id_kept.clone(),
            certificate: certificate_der.clone(),
            created_at: now,
            totp_enabled_at: match enrolment {
                TotpEnrolment::Active => Some(now),
                TotpEnrolment::AwaitingFirstCode => None,
            },
            external_id: external_id.map(str::to_owned),
        })
        .await?;
    let registered = crate::pki::certificate_row(&certificate_der, Some(&user_id), Some(&credential_id_kept), now)?;
    store.register_certificate(&registered).await?;
    store.audit(&AuditEvent { at: now, event: "user_created", user_id: Some(&user_id), ..Default::default() }).await?;
    for rp in relying_parties {
        store.link_rp_user(rp, &user_id, now).await?;
    }
    // An operator's account gets an activation code to deliver out of band;
    // a self-service one relies on the enrolment window, if the deployment allows it.
    let activation = match enrolment {
        TotpEnrolment::Active => Some(crate::enrolment::activation::issue(store, clock, entropy, &user_id).await?),
        TotpEnrolment::AwaitingFirstCode => None,
    };
    Ok(CreatedAccount {
        activation,
        user_id,
        username: username.to_owned(),
        password,
        otpauth_uri: SecretString::from(otpauth_uri),
        totp_secret_base32: SecretString::from(secret_b32),
    })
}

/// RFC 4648 base32 without padding, as authenticator apps expect.
pub fn base32_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    for chunk in bytes.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let bits = u64::from_be_bytes([0, 0, 0, buf[0], buf[1], buf[2], buf[3], buf[4]]);
        let chars = (chunk.len() * 8).div_ceil(5);
        for i in 0..chars {
            out.push(ALPHABET[((bits >> (35 - i * 5)) & 31) as usize] as char);
        }
    }
    out
}

/// A new session: the cookie value (shown once) and the stored row.
#[derive(Debug)]
pub struct NewSession {
    pub cookie_value: SecretString,
    pub response: LoginResponse,
    pub stage: String,
}

/// Step one: the password. Every failure is counted; unknown users and
/// wrong passwords look the same.
pub async fn check_password(app: &App, username: &str, password: &str, client: IpAddr) -> Result<UserRow> {
    let now = app.clock.now_ms();
    if !app.login_limiter.allow(client, now) {
        return Err(Error::refused(
            ErrorCode::RateLimited,
            "too many log-in attempts from this address; wait a minute",
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES || username.len() > 64 {
        return Err(Error::refused(ErrorCode::BadRequest, "field too long"));
    }
    let user = app.store.user_by_username(username).await?;
    let password = password.to_owned();
    let stored_hash = user.as_ref().map(|u| u.password_hash.clone());
    let password_ok = crate::password_hashing::run(move || match stored_hash {
        Some(hash) => password_matches(&password, &hash),
        None => {
            // Same cost as a real check, so timing does not reveal usernames.
            password_matches(&password, DUMMY_HASH);
            false
        }
    })
    .await?;
    let Some(user) = user else {
        tracing::info!(username, "log-in for unknown user");
        return Err(Error::refused(ErrorCode::LoginFailed, "unknown user or wrong password"));
    };
    if user.locked_until > now {
        return Err(Error::refused(
            ErrorCode::RateLimited,
            "too many failed attempts; the account is locked for a while",
        ));
    }
    if !password_ok {
        refuse_login(app, &user, ErrorCode::LoginFailed).await?;
        return Err(Error::refused(ErrorCode::LoginFailed, "unknown user or wrong password"));
    }
    app.login_limiter.refund(&client);
    Ok(user)
}

async fn refuse_login(app: &App, user: &UserRow, code: ErrorCode) -> Result<()> {
    let now = app.clock.now_ms();
    app.store.record_login_failure(&user.id, now, MAX_LOGIN_FAILURES, LOGIN_LOCK_MS).await?;
    app.store
        .audit(&AuditEvent {
            at: now,
            event: "login_failed",
            user_id: Some(&user.id),
            code: Some(code),
            ..Default::default()
        })
        .await
}

/// Step two: the authenticator code, accepted once per time step.
pub async fn check_totp(app: &App, user: &UserRow, code: &str, client: IpAddr) -> Result<()> {
    let now = app.clock.now_ms();
    if !app.login_limiter.allow(client, now) {
        return Err(Error::refused(
            ErrorCode::RateLimited,
            "too many log-in attempts from this address; wait a minute",
        ));
    }
    if user.locked_until > now {
        return Err(Error::refused(
            ErrorCode::RateLimited,
            "too many failed attempts; the account is locked for a while",
        ));
    }
    let totp = totp_for(&user.totp_secret, &user.username)?;
    let now_s = u64::try_from(app.clock.now_s()).unwrap_or(0);
    let Some(step) = totp.check(code.trim(), now_s).filter(|_| code.len() <= 16) else {
        refuse_login(app, user, ErrorCode::TotpInvalid).await?;
        return Err(Error::refused(ErrorCode::TotpInvalid, "wrong or expired authenticator code"));
    };
    if !app.store.consume_totp_step(&user.id, i64::try_from(step).unwrap_or(i64::MAX)).await? {
        refuse_login(app, user, ErrorCode::TotpReplayed).await?;
        return Err(Error::refused(
            ErrorCode::TotpReplayed,
            "this authenticator code was used already; wait for the next one",
        ));
    }
    app.login_limiter.refund(&client);
    Ok(())
}

/// A new session with a new id. `full` sessions also lift a "not me" lock.
pub async fn open_session(app: &App, user: &UserRow, stage: &str) -> Result<NewSession> {
    let now = app.clock.now_ms();
    let ttl = if stage == STAGE_FULL { app.settings.session_ttl_ms } else { PENDING_LOGIN_MS };
    if stage == STAGE_FULL {
        app.store.record_login_success(&user.id).await?;
        app.store.audit(&AuditEvent { at: now, event: "login", user_id: Some(&user.id), ..Default::default() }).await?;
    }
    let token = random_bytes::<32>(app.entropy.as_ref())?;
    let csrf_token = b64::encode(random_bytes::<32>(app.entropy.as_ref())?);
    app.store
        .insert_session(&SessionRow {
            token_hash: wysiwys_proto::jcs::sha256(&token).to_vec(),
            user_id: user.id.clone(),
            csrf_token: csrf_token.clone(),
            created_at: now,
            expires_at: now + ttl,
            stage: stage.to_owned(),
            // Password and code were just entered: one device change is allowed.
            elevated_until: (stage == STAGE_FULL).then_some(now + crate::step_up::WINDOW_MS),
        })
        .await?;
    Ok(NewSession {
        cookie_value: SecretString::from(b64::encode(token)),
        response: LoginResponse { user_id: user.id.clone(), username: user.username.clone(), csrf_token },
        stage: stage.to_owned(),
    })
}

pub const STAGE_FULL: &str = "full";
pub const STAGE_TOTP: &str = "totp";
pub const STAGE_ENROL: &str = "enrol";

/// Password + TOTP in one call (the JSON API).
pub async fn login(app: &App, req: &LoginRequest, client: IpAddr) -> Result<NewSession> {
    let user = check_password(app, &req.username, &req.password, client).await?;
    if user.totp_enabled_at.is_none() {
        return Err(Error::refused(ErrorCode::TotpInvalid, "set up the authenticator first (log in on the web page)"));
    }
    check_totp(app, &user, &req.totp, client).await?;
    open_session(app, &user, STAGE_FULL).await
}

/// Web log-in, step one: a short session that can only take step two
/// (or, for a new account, confirm the authenticator).
pub async fn begin_login(app: &App, username: &str, password: &str, client: IpAddr) -> Result<NewSession> {
    let user = check_password(app, username, password, client).await?;
    let stage = if user.totp_enabled_at.is_some() { STAGE_TOTP } else { STAGE_ENROL };
    open_session(app, &user, stage).await
}

/// Web log-in, step two: the code. The pending session is replaced by a
/// new one, so the id that existed before log-in never becomes privileged.
pub async fn finish_login(
    app: &App,
    pending: &SessionRow,
    user: &UserRow,
    code: &str,
    client: IpAddr,
) -> Result<NewSession> {
    check_totp(app, user, code, client).await?;
    if pending.stage == STAGE_ENROL {
        app.store.enable_totp(&user.id, app.clock.now_ms()).await?;
    }
    app.store.delete_session(&pending.token_hash).await?;
    open_session(app, user, STAGE_FULL).await
}

/// Self-service sign-up: the account exists at once (with its HSM key and
/// certificate); its TOTP works after the first valid code.
pub async fn sign_up(
    app: &App,
    username: &str,
    password: SecretString,
    client: IpAddr,
) -> Result<(NewSession, CreatedAccount)> {
    if !app.login_limiter.allow(client, app.clock.now_ms()) {
        return Err(Error::refused(ErrorCode::RateLimited, "too many attempts from this address; wait a minute"));
    }
    if password.expose_secret().len() < 10 {
        return Err(Error::refused(ErrorCode::BadRequest, "choose a password of at least 10 characters"));
    }
    let created = create_user(
        &app.store,
        app.hsm.clone(),
        app.clock.as_ref(),
        app.entropy.as_ref(),
        NewAccount {
            username,
            password: Some(password),
            enrolment: TotpEnrolment::AwaitingFirstCode,
            external_id: None,
            relying_parties: &[],
        },
    )
    .await?;
    let user =
        app.store.user_by_id(&created.user_id).await?.ok_or_else(|| Error::Internal("new user vanished".into()))?;
    Ok((open_session(app, &user, STAGE_ENROL).await?, created))
}

/// The otpauth:// URI and base32 secret of an account still enrolling.
pub fn enrolment(user: &UserRow) -> Result<(SecretString, SecretString)> {
    let uri = totp_for(&user.totp_secret, &user.username)?
        .to_url()
        .map_err(|e| Error::Internal(format!("otpauth URI: {e}")))?;
    Ok((SecretString::from(uri), SecretString::from(base32_encode(&user.totp_secret))))
}

/// An argon2id hash of a random password, checked against when the user
/// does not exist.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$hlR1qYcZHv8xYvwKz0a7x9wKk4m1jE5rY5m2Jv2m8hY";

/// The session behind a cookie, if it is valid now.
pub async fn session(app: &App, cookie_value: &str) -> Result<Option<(SessionRow, UserRow)>> {
    let Some(token) = b64::decode_array::<32>(cookie_value) else {
        return Ok(None);
    };
    app.store.session(&wysiwys_proto::jcs::sha256(&token), app.clock.now_ms()).await
}

pub async fn logout(app: &App, cookie_value: &str) -> Result<()> {
    if let Some(token) = b64::decode_array::<32>(cookie_value) {
        app.store.delete_session(&wysiwys_proto::jcs::sha256(&token)).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_matches_rfc4648() {
        assert_eq!(base32_encode(b""), "");
        assert_eq!(base32_encode(b"f"), "MY");
        assert_eq!(base32_encode(b"fooba"), "MZXW6YTB");
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI");
    }

    #[test]
    fn usernames() {
        assert!(validate_username("ann.berg-2").is_ok());
        for bad in ["an", "Ann", "ann berg", "ann\u{202e}", &"a".repeat(65)] {
            assert_eq!(validate_username(bad).unwrap_err().code(), ErrorCode::BadRequest, "{bad}");
        }
    }

    #[test]
    fn argon2id_hashes_verify() {
        let hash = hash_password(&SecretString::from("correct horse".to_owned()), &[1u8; 16]).unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(password_matches("correct horse", &hash));
        assert!(!password_matches("wrong horse", &hash));
        // The dummy hash parses, so the unknown-user path costs the same.
        assert!(!password_matches("anything", DUMMY_HASH));
        assert!(argon2::password_hash::phc::PasswordHash::new(DUMMY_HASH).is_ok());
    }

    #[test]
    fn totp_accepts_neighbouring_steps_only() {
        let totp = totp_for(&[7u8; 20], "ann").unwrap();
        let code = totp.generate(1_000_000_020);
        let step = 1_000_000_020 / 30;
        assert_eq!(totp.check(&code.to_string(), 1_000_000_020), Some(step));
        assert_eq!(totp.check(&code.to_string(), 1_000_000_050), Some(step));
        assert_eq!(totp.check(&code.to_string(), 1_000_000_120), None);
        assert!(totp.to_url().unwrap().starts_with("otpauth://totp/wysiwys:ann?"));
    }
}
