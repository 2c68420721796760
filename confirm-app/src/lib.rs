//! The confirmation app: the device side of the second channel.
//!
//! `store` keeps paired accounts and the encrypted device key, `pairing`
//! registers a new device, `channel` speaks the device socket protocol.

#![forbid(unsafe_code)]

pub mod channel;
pub mod pairing;
pub mod policy;
pub mod receipts;
pub mod store;
pub mod tui;

/// Seconds since the Unix epoch. The device has no other clock.
#[allow(clippy::disallowed_methods)]
pub fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Plain http:// and ws:// are allowed only to this machine; anything that
/// crosses a network must be TLS.
pub fn check_origin_transport(origin: &str) -> anyhow::Result<()> {
    if origin.starts_with("https://") {
        return Ok(());
    }
    let rest = origin.strip_prefix("http://").ok_or_else(|| anyhow::anyhow!("origin must be http(s): {origin}"))?;
    let host = rest.split('/').next().unwrap_or_default();
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    if matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
        Ok(())
    } else {
        anyhow::bail!("refusing plain http to {host}: only loopback may skip TLS")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_loopback() {
        assert!(check_origin_transport("https://sign.example").is_ok());
        assert!(check_origin_transport("http://127.0.0.1:8080").is_ok());
        assert!(check_origin_transport("http://localhost").is_ok());
        assert!(check_origin_transport("http://[::1]:9").is_ok());
        assert!(check_origin_transport("http://sign.example").is_err());
        assert!(check_origin_transport("http://127.0.0.1.evil.example").is_err());
        assert!(check_origin_transport("ftp://x").is_err());
    }
}
