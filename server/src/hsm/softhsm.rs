//! SoftHSM2 set-up inside the data directory, so that nothing outside it is
//! touched: our own `softhsm2.conf`, our own token directory, our own PINs.

use secrecy::SecretString;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `softhsm2.conf` and the token directory if missing; returns the
/// path that `SOFTHSM2_CONF` must point to before the module is loaded.
pub fn prepare(data_dir: &Path) -> std::io::Result<PathBuf> {
    let data_dir = std::path::absolute(data_dir)?;
    let token_dir = data_dir.join("softhsm-tokens");
    std::fs::create_dir_all(&token_dir)?;
    restrict(&token_dir, 0o700)?;
    let conf = data_dir.join("softhsm2.conf");
    if !conf.exists() {
        let text = format!(
            "# Written by wysiwys-server; SoftHSM2 reads it through SOFTHSM2_CONF.\n\
             directories.tokendir = {}\n\
             objectstore.backend = file\n\
             log.level = ERROR\n\
             slots.removable = false\n",
            token_dir.display()
        );
        std::fs::write(&conf, text)?;
    }
    Ok(conf)
}

/// Reads a PIN from a file, or makes a random one there (mode 0600) when
/// `create` is set. Used for the demo token; production passes PINs in.
pub fn pin_file(path: &Path, create: bool) -> std::io::Result<Option<SecretString>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(SecretString::from(text.lines().next().unwrap_or_default().to_owned()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
            let mut raw = [0u8; 18];
            getrandom::fill(&mut raw).map_err(|e| std::io::Error::other(e.to_string()))?;
            let pin = wysiwys_proto::b64::encode(raw);
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(path)?;
            file.write_all(pin.as_bytes())?;
            file.write_all(b"\n")?;
            Ok(Some(SecretString::from(pin)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

fn restrict(path: &Path, mode: u32) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    }
    let _ = (path, mode);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn conf_points_into_the_data_dir_and_pins_persist() {
        let dir = tempfile::tempdir().unwrap();
        let conf = prepare(dir.path()).unwrap();
        let text = std::fs::read_to_string(&conf).unwrap();
        assert!(text.contains(&format!("directories.tokendir = {}", dir.path().join("softhsm-tokens").display())));
        let pin_path = dir.path().join("user.pin");
        assert!(pin_file(&pin_path, false).unwrap().is_none());
        let first = pin_file(&pin_path, true).unwrap().unwrap();
        let again = pin_file(&pin_path, true).unwrap().unwrap();
        assert_eq!(first.expose_secret(), again.expose_secret());
        assert_eq!(first.expose_secret().len(), 24);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&pin_path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
