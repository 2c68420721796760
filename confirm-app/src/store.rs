//! Paired accounts on the device: one JSON file per account and the device
//! key as encrypted PKCS#8 (PBES2 with scrypt), both mode 0600.

use anyhow::{Context, Result, anyhow, bail};
use p256::ecdsa::SigningKey;
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use wysiwys_proto::Jwk;

/// What the device remembers about one pairing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    pub server_origin: String,
    pub device_id: String,
    pub device_name: String,
    pub user_id: String,
    pub username: String,
    /// The server's channel key, pinned at pairing.
    pub channel_key: Jwk,
    /// Last counter used in a SAD; the next SAD uses a larger one.
    pub counter: u64,
}

#[derive(Debug, Clone)]
pub struct Home {
    root: PathBuf,
}

impl Home {
    /// `--home`, else `$WYSIWYS_CONFIRM_HOME`, else `$XDG_CONFIG_HOME/wysiwys-confirm`,
    /// else `~/.config/wysiwys-confirm`.
    pub fn locate(explicit: Option<PathBuf>) -> Result<Home> {
        let root = explicit
            .or_else(|| std::env::var_os("WYSIWYS_CONFIRM_HOME").map(PathBuf::from))
            .or_else(|| std::env::var_os("XDG_CONFIG_HOME").map(|d| PathBuf::from(d).join("wysiwys-confirm")))
            .or_else(|| std::env::var_os("HOME").map(|d| PathBuf::from(d).join(".config/wysiwys-confirm")))
            .ok_or_else(|| anyhow!("no home directory; pass --home"))?;
        Ok(Home { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Forgets an account on this device: its file and its key.
    pub fn remove(&self, device_id: &str) -> Result<()> {
        std::fs::remove_file(self.key_path(device_id)?)?;
        std::fs::remove_file(self.account_path(device_id)?)?;
        Ok(())
    }

    fn accounts_dir(&self) -> PathBuf {
        self.root.join("accounts")
    }

    fn account_path(&self, device_id: &str) -> Result<PathBuf> {
        if device_id.is_empty() || !device_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            bail!("malformed device id {device_id:?}");
        }
        Ok(self.accounts_dir().join(format!("{device_id}.json")))
    }

    fn key_path(&self, device_id: &str) -> Result<PathBuf> {
        Ok(self.account_path(device_id)?.with_extension("key.pem"))
    }

    pub fn save_new(&self, account: &Account, key: &SigningKey, passphrase: &SecretString) -> Result<()> {
        if passphrase.expose_secret().len() < 8 {
            bail!("the passphrase must be at least 8 characters");
        }
        std::fs::create_dir_all(self.accounts_dir())?;
        restrict_dir(&self.root)?;
        restrict_dir(&self.accounts_dir())?;
        let pem = key
            .to_pkcs8_encrypted_pem(passphrase.expose_secret().as_bytes(), LineEnding::LF)
            .map_err(|e| anyhow!("encrypting the device key: {e}"))?;
        write_private(&self.key_path(&account.device_id)?, pem.as_bytes())?;
        self.save(account)
    }

    /// Writes atomically (temp file + rename), so a crash never leaves a
    /// half-written account or a counter that goes backwards.
    pub fn save(&self, account: &Account) -> Result<()> {
        let path = self.account_path(&account.device_id)?;
        let tmp = path.with_extension("json.tmp");
        write_private(&tmp, &serde_json::to_vec_pretty(account)?)?;
        std::fs::rename(&tmp, &path)?;
        Ok(())
    }

    pub fn accounts(&self) -> Result<Vec<Account>> {
        let mut out = Vec::new();
        let dir = match std::fs::read_dir(self.accounts_dir()) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e.into()),
        };
        for entry in dir {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "json") {
                let text = std::fs::read(&path).with_context(|| path.display().to_string())?;
                out.push(serde_json::from_slice(&text).with_context(|| path.display().to_string())?);
            }
        }
        out.sort_by(|a: &Account, b| a.device_id.cmp(&b.device_id));
        Ok(out)
    }

    /// The account to use: the one named, or the only one there is.
    pub fn select(&self, device_id: Option<&str>) -> Result<Account> {
        let accounts = self.accounts()?;
        match device_id {
            Some(id) => {
                accounts.into_iter().find(|a| a.device_id == id).ok_or_else(|| anyhow!("no account for device {id}"))
            }
            None => match accounts.len() {
                0 => bail!("this device is not paired yet; run `wysiwys-confirm pair <uri>`"),
                1 => accounts.into_iter().next().ok_or_else(|| anyhow!("no account")),
                _ => bail!("several accounts are paired; choose one with --device"),
            },
        }
    }

    pub fn load_key(&self, account: &Account, passphrase: &SecretString) -> Result<SigningKey> {
        let path = self.key_path(&account.device_id)?;
        let pem = std::fs::read_to_string(&path).with_context(|| path.display().to_string())?;
        SigningKey::from_pkcs8_encrypted_pem(&pem, passphrase.expose_secret().as_bytes())
            .map_err(|_| anyhow!("wrong passphrase, or the key file {} is damaged", path.display()))
    }

    /// Reserves the next counter value and persists it before it is used.
    pub fn next_counter(&self, account: &mut Account) -> Result<u64> {
        account.counter = account
            .counter
            .checked_add(1)
            .filter(|&c| c <= wysiwys_proto::sad::MAX_COUNTER)
            .ok_or_else(|| anyhow!("this device's SAD counter is used up: pair it again"))?;
        self.save(account)?;
        Ok(account.counter)
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).with_context(|| path.display().to_string())?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

fn restrict_dir(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account() -> Account {
        let key = SigningKey::from_slice(&[1u8; 32]).unwrap();
        Account {
            server_origin: "http://127.0.0.1:1".into(),
            device_id: "dev_1".into(),
            device_name: "Laptop".into(),
            user_id: "u".into(),
            username: "ann".into(),
            channel_key: Jwk::from_verifying_key(key.verifying_key()),
            counter: 0,
        }
    }

    #[test]
    fn key_is_encrypted_at_rest_and_needs_the_passphrase() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::locate(Some(dir.path().to_owned())).unwrap();
        let key = SigningKey::from_slice(&[2u8; 32]).unwrap();
        let pass = SecretString::from("correct horse".to_owned());
        home.save_new(&account(), &key, &pass).unwrap();
        let pem = std::fs::read_to_string(dir.path().join("accounts/dev_1.key.pem")).unwrap();
        assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
        let loaded = home.load_key(&account(), &pass).unwrap();
        assert_eq!(loaded.to_bytes(), key.to_bytes());
        let wrong = home.load_key(&account(), &SecretString::from("wrong horse".to_owned())).unwrap_err();
        assert!(wrong.to_string().contains("wrong passphrase"), "{wrong}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for f in ["accounts/dev_1.key.pem", "accounts/dev_1.json"] {
                let mode = std::fs::metadata(dir.path().join(f)).unwrap().permissions().mode();
                assert_eq!(mode & 0o777, 0o600, "{f}");
            }
        }
    }

    #[test]
    fn counter_is_persisted_before_use() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::locate(Some(dir.path().to_owned())).unwrap();
        let key = SigningKey::from_slice(&[2u8; 32]).unwrap();
        home.save_new(&account(), &key, &SecretString::from("passphrase".to_owned())).unwrap();
        let mut a = home.select(None).unwrap();
        assert_eq!(home.next_counter(&mut a).unwrap(), 1);
        assert_eq!(home.next_counter(&mut a).unwrap(), 2);
        assert_eq!(home.select(Some("dev_1")).unwrap().counter, 2);
        assert!(home.select(Some("../etc")).is_err());
    }
}
