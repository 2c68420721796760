//! Randomness, passed in like time so tests can pin it.

pub trait Entropy: Send + Sync + std::fmt::Debug + 'static {
    fn fill(&self, buf: &mut [u8]) -> Result<(), crate::Error>;
}

/// The operating system's CSPRNG.
#[derive(Debug, Default)]
pub struct OsEntropy;

impl Entropy for OsEntropy {
    fn fill(&self, buf: &mut [u8]) -> Result<(), crate::Error> {
        getrandom::fill(buf).map_err(|e| crate::Error::Internal(format!("OS random source failed: {e}")))
    }
}

pub fn random_bytes<const N: usize>(entropy: &dyn Entropy) -> Result<[u8; N], crate::Error> {
    let mut out = [0u8; N];
    entropy.fill(&mut out)?;
    Ok(out)
}

/// A random id: 128 bits, base64url (22 characters). Unguessable, so ids can
/// double as capabilities where that is convenient, but they never are alone.
pub fn random_id(entropy: &dyn Entropy) -> Result<String, crate::Error> {
    Ok(wysiwys_proto::b64::encode(random_bytes::<16>(entropy)?))
}
