//! The HSM, through PKCS#11 (SoftHSM2 by default, any module by path).
//!
//! Four kinds of keys live here and nowhere else: the CA key that issues
//! certificates, CRLs and OCSP answers, the time-stamping authority's key,
//! the channel key that signs pushes to devices, and one signing key per
//! user. All are generated inside the token, sensitive and
//! non-extractable.
//!
//! Architecture invariant: a user key signs only through
//! [`Hsm::sign_with_user_key`], which takes a [`crate::sam::SignPermit`]; only
//! the SAM can make one.

mod faults;
pub mod softhsm;
mod workers;

use faults::Fault;

pub use workers::Job;
use workers::SigningWorkers;

use aws_lc_rs::digest::{Digest as Prehash, SHA256 as PREHASH_SHA256};
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, ParsedPublicKey, UnparsedPublicKey};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

/// DER of the prime256v1 OID, the CKA_EC_PARAMS of every key we make.
const P256_PARAMS: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const CA_KEY_ID: &[u8] = b"wysiwys-ca";
const CHANNEL_KEY_ID: &[u8] = b"wysiwys-channel";
const TSA_KEY_ID: &[u8] = b"wysiwys-tsa";

#[derive(Debug, thiserror::Error)]
pub enum HsmError {
    #[error("PKCS#11: {0}")]
    Pkcs11(#[from] CkError),
    #[error("no key with id {0:?} in the token")]
    KeyNotFound(String),
    #[error("HSM set-up: {0}")]
    Setup(String),
    #[error("the token returned a malformed {0}")]
    Malformed(&'static str),
    /// Verify after sign caught it: the signature is withheld.
    #[error("the token returned a signature that does not verify under key {0:?}")]
    BadSignature(String),
    /// The token holds more than one key, or a key pair that does not match, under one id.
    #[error("key {0:?} in the token: {1}")]
    KeyIntegrity(String, &'static str),
}

/// Puts every role's signature counter on /metrics at zero, so that a
/// reader tells "no signature yet" from "no such metric".
pub fn register_metrics() {
    for role in Role::ALL {
        metrics::counter!("wysiwys_hsm_signatures_total", "key" => role.label()).increment(0);
    }
}

/// Which role a key has; each role is one label in the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    User,
    Ca,
    Channel,
    Tsa,
}

impl Role {
    const ALL: [Role; 4] = [Role::User, Role::Ca, Role::Channel, Role::Tsa];

    fn label(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Ca => "ca",
            Role::Channel => "channel",
            Role::Tsa => "tsa",
        }
    }
}

pub struct Hsm {
    ctx: Pkcs11,
    slot: Slot,
    /// Idle sessions. Opening a session per operation is too slow, so they
    /// are pooled; PKCS#11 login state is per application, not per session.
    idle: Mutex<Vec<Session>>,
    /// CKA_ID → private key handle; handles of token objects stay valid for
    /// the life of the module.
    handles: Mutex<HashMap<Vec<u8>, ObjectHandle>>,
    /// CKA_ID → the public key every signature of that key is checked
    /// against before it leaves this module.
    public_keys: Mutex<HashMap<Vec<u8>, ParsedPublicKey>>,
    /// The threads a batch of signatures is spread over, one session each.
    workers: SigningWorkers,
    /// Kept for logging in again after a token reset; never leaves this module.
    user_pin: SecretString,
}

impl std::fmt::Debug for Hsm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hsm").field("slot", &self.slot.id()).finish_non_exhaustive()
    }
}

/// PINs, resolved and wrapped before the token is touched.
#[derive(Debug)]
pub struct Pins {
    pub user: SecretString,
    /// Present only when the token may be created.
    pub so: Option<SecretString>,
}

impl Hsm {
    /// Loads the module, finds the token by label (creating it when an SO
    /// PIN is given and the token does not exist yet) and logs in.
    pub fn open(module: &Path, token_label: &str, pins: &Pins) -> Result<Hsm, HsmError> {
        let ctx = Pkcs11::new(module).map_err(|e| HsmError::Setup(format!("cannot load {}: {e}", module.display())))?;
        match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
            Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
            Err(e) => return Err(e.into()),
        }
        let slot = match find_token(&ctx, token_label)? {
            Some(slot) => slot,
            None => {
                let so = pins.so.as_ref().ok_or_else(|| {
                    HsmError::Setup(format!("no token labelled {token_label:?} and no SO PIN to create one"))
                })?;
                create_token(&ctx, token_label, so, &pins.user)?;
                find_token(&ctx, token_label)?
                    .ok_or_else(|| HsmError::Setup("token vanished after initialisation".into()))?
            }
        };
        let session = ctx.open_rw_session(slot)?;
        match session.login(UserType::User, Some(&pins.user)) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(e) => return Err(HsmError::Setup(format!("log-in to token {token_label:?} failed: {e}"))),
        }
        Ok(Hsm {
            ctx,
            slot,
            idle: Mutex::new(vec![session]),
            handles: Mutex::new(HashMap::new()),
            public_keys: Mutex::new(HashMap::new()),
            workers: SigningWorkers::start(1)?,
            user_pin: SecretString::from(pins.user.expose_secret().to_owned()),
        })
    }

    /// Spreads batches of signatures over `threads` signing threads and
    /// sessions (at least one).
    pub fn with_signing_threads(mut self, threads: usize) -> Result<Hsm, HsmError> {
        self.workers = SigningWorkers::start(threads)?;
        Ok(self)
    }

    pub fn signing_threads(&self) -> usize {
        self.workers.threads()
    }

    /// Runs `job` on the next free signing thread.
    pub fn on_signing_thread(&self, job: Job) -> Result<(), HsmError> {
        self.workers.submit(job)
    }

    fn with_session<T>(&self, op: impl FnOnce(&Session) -> Result<T, HsmError>) -> Result<T, HsmError> {
        let pooled = self.idle.lock().map_err(|_| HsmError::Setup("session pool poisoned".into()))?.pop();
        let session = match pooled {
            Some(s) => s,
            None => self.ctx.open_rw_session(self.slot)?,
        };
        let result = op(&session);
        // A session the error says is broken is closed (dropped), never
        // handed out again.
        let keep = result.as_ref().err().is_none_or(|e| Fault::of(e).keeps_session());
        if keep && let Ok(mut idle) = self.idle.lock() {
            idle.push(session);
        }
        result
    }

    /// Does what `fault` asks before a second try.
    fn remedy(&self, fault: Fault) -> Result<(), HsmError> {
        match fault {
            Fault::StaleHandle => {
                if let Ok(mut handles) = self.handles.lock() {
                    handles.clear();
                }
                Ok(())
            }
            Fault::LogIn => {
                let session = self.ctx.open_rw_session(self.slot)?;
                match session.login(UserType::User, Some(&self.user_pin)) {
                    Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
                    Err(e) => return Err(e.into()),
                }
                if let Ok(mut idle) = self.idle.lock() {
                    idle.push(session);
                }
                Ok(())
            }
            // The broken session is already closed; the next call opens one.
            Fault::Session | Fault::BadSignature | Fault::Call | Fault::Module => Ok(()),
        }
    }

    /// Whether the token answers a session, logged in, that still finds
    /// the channel key (looked up afresh, not from the handle cache): what
    /// `/readyz` reports for the HSM.
    pub fn answers(&self) -> Result<(), HsmError> {
        self.with_session(|s| {
            let state = s.get_session_info()?.session_state();
            if state != cryptoki::session::SessionState::RwUser {
                return Err(HsmError::Setup(format!("session not logged in ({state:?})")));
            }
            if objects(s, ObjectClass::PRIVATE_KEY, CHANNEL_KEY_ID)?.is_empty() {
                return Err(HsmError::KeyNotFound(String::from_utf8_lossy(CHANNEL_KEY_ID).into_owned()));
            }
            Ok(())
        })
    }

    /// Makes the CA and channel keys on first start. Idempotent.
    pub fn ensure_service_keys(&self) -> Result<(), HsmError> {
        for id in [CA_KEY_ID, CHANNEL_KEY_ID, TSA_KEY_ID] {
            if self.find_private_key(id)?.is_none() {
                self.generate_key(id)?;
                tracing::info!(key = %String::from_utf8_lossy(id), "generated service key in the HSM");
            }
        }
        Ok(())
    }

    /// Generates a user's signing key; returns its public point (65 bytes).
    pub fn generate_user_key(&self, credential_id: &str) -> Result<Vec<u8>, HsmError> {
        self.generate_key(&user_key_id(credential_id))
    }

    pub fn user_public_key(&self, credential_id: &str) -> Result<Vec<u8>, HsmError> {
        self.public_point(&user_key_id(credential_id))
    }

    pub fn ca_public_key(&self) -> Result<Vec<u8>, HsmError> {
        self.public_point(CA_KEY_ID)
    }

    pub fn channel_public_key(&self) -> Result<Vec<u8>, HsmError> {
        self.public_point(CHANNEL_KEY_ID)
    }

    pub fn tsa_public_key(&self) -> Result<Vec<u8>, HsmError> {
        self.public_point(TSA_KEY_ID)
    }

    /// The SAM's signature: only reachable with a permit.
    pub fn sign_with_user_key(&self, permit: &crate::sam::SignPermit) -> Result<[u8; 64], HsmError> {
        self.sign_digest(Role::User, &user_key_id(permit.credential_id()), permit.digest())
    }

    /// Signs a to-be-signed certificate (rcgen hands us the whole TBS).
    pub fn sign_as_ca(&self, message: &[u8]) -> Result<[u8; 64], HsmError> {
        self.sign_digest(Role::Ca, CA_KEY_ID, &Sha256::digest(message).into())
    }

    /// Signs the signed attributes of a timestamp token.
    pub fn sign_as_tsa(&self, message: &[u8]) -> Result<[u8; 64], HsmError> {
        self.sign_digest(Role::Tsa, TSA_KEY_ID, &Sha256::digest(message).into())
    }

    /// Signs a push to a device (the JWS signing input).
    pub fn sign_as_channel(&self, message: &[u8]) -> Result<[u8; 64], HsmError> {
        self.sign_digest(Role::Channel, CHANNEL_KEY_ID, &Sha256::digest(message).into())
    }

    /// SoftHSM2 (and most tokens) implement only raw CKM_ECDSA for EC keys:
    /// the digest is computed here and the token returns raw r ‖ s.
    fn sign_digest(&self, role: Role, key_id: &[u8], digest: &[u8; 32]) -> Result<[u8; 64], HsmError> {
        let signature = self.sign_verified(key_id, digest)?;
        metrics::counter!("wysiwys_hsm_signatures_total", "key" => role.label()).increment(1);
        Ok(signature)
    }

    /// A signature checked before it is returned; not counted in the
    /// metrics, which count what was released.
    fn sign_verified(&self, key_id: &[u8], digest: &[u8; 32]) -> Result<[u8; 64], HsmError> {
        match self.sign_verified_once(key_id, digest) {
            Err(e) => {
                let fault = Fault::of(&e);
                if !fault.worth_retrying() {
                    return Err(e);
                }
                tracing::warn!(key = %String::from_utf8_lossy(key_id), ?fault, error = %e, "HSM signature failed; trying once more");
                self.remedy(fault)?;
                self.sign_verified_once(key_id, digest)
            }
            signed => signed,
        }
    }

    fn sign_verified_once(&self, key_id: &[u8], digest: &[u8; 32]) -> Result<[u8; 64], HsmError> {
        let key = self
            .find_private_key(key_id)?
            .ok_or_else(|| HsmError::KeyNotFound(String::from_utf8_lossy(key_id).into_owned()))?;
        let signature = self.with_session(|s| Ok(s.sign(&Mechanism::Ecdsa, key, digest)?))?;
        let signature: [u8; 64] = signature.try_into().map_err(|_| HsmError::Malformed("ECDSA signature"))?;
        self.verify_own(key_id, digest, &signature)?;
        Ok(signature)
    }

    /// Verify after sign: a token can return a wrong signature (SoftHSM2
    /// has had intermittently invalid ECDSA signatures; hardware has
    /// faults). One that does not verify under the key's public half never
    /// leaves this module; the caller sees an error, nothing is released.
    fn verify_own(&self, key_id: &[u8], digest: &[u8; 32], signature: &[u8; 64]) -> Result<(), HsmError> {
        let name = || String::from_utf8_lossy(key_id).into_owned();
        let cached = self.public_keys.lock().ok().and_then(|m| m.get(key_id).cloned());
        let public = match cached {
            Some(key) => key,
            None => {
                let point = self.public_point(key_id)?;
                let key = UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
                    .parse()
                    .map_err(|_| HsmError::Malformed("EC public key"))?;
                if let Ok(mut map) = self.public_keys.lock() {
                    map.insert(key_id.to_vec(), key.clone());
                }
                key
            }
        };
        let verified = Prehash::import_less_safe(digest, &PREHASH_SHA256)
            .is_ok_and(|prehash| public.verify_digest_sig(&prehash, signature).is_ok());
        if verified {
            return Ok(());
        }
        metrics::counter!("wysiwys_hsm_bad_signatures_total").increment(1);
        tracing::error!(key = %name(), "the HSM returned a signature that does not verify; withheld");
        Err(HsmError::BadSignature(name()))
    }

    /// At start, for each service key: exactly one private and one public
    /// object under its id (two nodes racing to create keys, or a careless
    /// import, would leave two), and the pair matches: a test signature
    /// verifies under the public key.
    pub fn check_service_keys(&self) -> Result<(), HsmError> {
        for id in [CA_KEY_ID, CHANNEL_KEY_ID, TSA_KEY_ID] {
            let name = || String::from_utf8_lossy(id).into_owned();
            for class in [ObjectClass::PRIVATE_KEY, ObjectClass::PUBLIC_KEY] {
                match self.with_session(|s| objects(s, class, id))?.len() {
                    1 => {}
                    0 => return Err(HsmError::KeyNotFound(name())),
                    _ => return Err(HsmError::KeyIntegrity(name(), "more than one object of a class under this id")),
                }
            }
            let probe: [u8; 32] = Sha256::digest(b"wysiwys key pair check").into();
            self.sign_verified(id, &probe).map_err(|e| match e {
                HsmError::BadSignature(_) => {
                    HsmError::KeyIntegrity(name(), "the private key does not match the public key")
                }
                other => other,
            })?;
        }
        Ok(())
    }

    fn find_private_key(&self, id: &[u8]) -> Result<Option<ObjectHandle>, HsmError> {
        if let Some(h) = self.handles.lock().ok().and_then(|m| m.get(id).copied()) {
            return Ok(Some(h));
        }
        let found = self.with_session(|s| objects(s, ObjectClass::PRIVATE_KEY, id))?;
        let handle = found.first().copied();
        if let (Some(h), Ok(mut map)) = (handle, self.handles.lock()) {
            map.insert(id.to_vec(), h);
        }
        Ok(handle)
    }

    fn generate_key(&self, id: &[u8]) -> Result<Vec<u8>, HsmError> {
        let label = Attribute::Label(id.to_vec());
        let public = [
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Verify(true),
            Attribute::Encrypt(false),
            Attribute::Wrap(false),
            Attribute::EcParams(P256_PARAMS.to_vec()),
            Attribute::Id(id.to_vec()),
            label.clone(),
        ];
        let private = [
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
            Attribute::Decrypt(false),
            Attribute::Unwrap(false),
            Attribute::Derive(false),
            Attribute::KeyType(KeyType::EC),
            Attribute::Id(id.to_vec()),
            label,
        ];
        let (public_handle, private_handle) =
            self.with_session(|s| Ok(s.generate_key_pair(&Mechanism::EccKeyPairGen, &public, &private)?))?;
        if let Ok(mut map) = self.handles.lock() {
            map.insert(id.to_vec(), private_handle);
        }
        self.with_session(|s| ec_point(s, public_handle))
    }

    fn public_point(&self, id: &[u8]) -> Result<Vec<u8>, HsmError> {
        self.with_session(|s| {
            let handle = objects(s, ObjectClass::PUBLIC_KEY, id)?
                .first()
                .copied()
                .ok_or_else(|| HsmError::KeyNotFound(String::from_utf8_lossy(id).into_owned()))?;
            ec_point(s, handle)
        })
    }
}

/// Every object of `class` under CKA_ID `id`, looked up in the token (not
/// in the handle cache).
fn objects(session: &Session, class: ObjectClass, id: &[u8]) -> Result<Vec<ObjectHandle>, HsmError> {
    Ok(session.find_objects(&[Attribute::Class(class), Attribute::Id(id.to_vec())])?)
}

fn user_key_id(credential_id: &str) -> Vec<u8> {
    format!("user:{credential_id}").into_bytes()
}

/// CKA_EC_POINT is a DER OCTET STRING around the uncompressed point in
/// PKCS#11 ≥ 2.20 (SoftHSM2 does this); some modules return the bare point.
fn ec_point(session: &Session, handle: ObjectHandle) -> Result<Vec<u8>, HsmError> {
    let attrs = session.get_attributes(handle, &[AttributeType::EcPoint])?;
    let raw = attrs
        .into_iter()
        .find_map(|a| match a {
            Attribute::EcPoint(p) => Some(p),
            _ => None,
        })
        .ok_or(HsmError::Malformed("CKA_EC_POINT"))?;
    unwrap_ec_point(&raw)
}

fn unwrap_ec_point(raw: &[u8]) -> Result<Vec<u8>, HsmError> {
    match raw {
        [0x04, 0x41, rest @ ..] if rest.len() == 65 && rest[0] == 0x04 => Ok(rest.to_vec()),
        [0x04, ..] if raw.len() == 65 => Ok(raw.to_vec()),
        _ => Err(HsmError::Malformed("CKA_EC_POINT")),
    }
}

fn find_token(ctx: &Pkcs11, label: &str) -> Result<Option<Slot>, HsmError> {
    for slot in ctx.get_slots_with_initialized_token()? {
        if ctx.get_token_info(slot)?.label() == label {
            return Ok(Some(slot));
        }
    }
    Ok(None)
}

fn create_token(ctx: &Pkcs11, label: &str, so_pin: &SecretString, user_pin: &SecretString) -> Result<(), HsmError> {
    let mut free = None;
    for slot in ctx.get_slots_with_token()? {
        if !ctx.get_token_info(slot)?.token_initialized() {
            free = Some(slot);
            break;
        }
    }
    let slot = free.ok_or_else(|| HsmError::Setup("no slot with an uninitialised token".into()))?;
    ctx.init_token(slot, so_pin, label)?;
    let session = ctx.open_rw_session(slot)?;
    session.login(UserType::So, Some(so_pin))?;
    session.init_pin(user_pin)?;
    session.logout()?;
    tracing::info!(token = label, "initialised a new HSM token");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ec_point_unwrapping() {
        let mut point = vec![0x04];
        point.extend_from_slice(&[7u8; 64]);
        let mut wrapped = vec![0x04, 0x41];
        wrapped.extend_from_slice(&point);
        assert_eq!(unwrap_ec_point(&wrapped).unwrap(), point);
        assert_eq!(unwrap_ec_point(&point).unwrap(), point);
        assert!(unwrap_ec_point(&point[..64]).is_err());
        assert!(unwrap_ec_point(&[0x04, 0x41, 0x02]).is_err());
    }
}
