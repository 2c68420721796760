//! The pairing URI the web page shows as text and as a QR code:
//! `wysiwys-pair:?server=<origin>&code=<code>&ck=<channel key thumbprint>`.
//!
//! The thumbprint lets the device pin the server's channel key from a source
//! the person trusts (their logged-in page), not from the network alone.

use std::fmt;

pub const SCHEME: &str = "wysiwys-pair:";

#[derive(Clone, PartialEq, Eq)]
pub struct PairingUri {
    pub server: String,
    pub code: String,
    /// RFC 7638 thumbprint of the channel key JWK.
    pub channel_key_thumbprint: String,
}

impl fmt::Debug for PairingUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PairingUri")
            .field("server", &self.server)
            .field("code", &"***")
            .field("channel_key_thumbprint", &self.channel_key_thumbprint)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a wysiwys pairing URI: {0}")]
pub struct PairingUriError(&'static str);

impl fmt::Display for PairingUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{SCHEME}?server={}&code={}&ck={}",
            encode(&self.server),
            encode(&self.code),
            encode(&self.channel_key_thumbprint)
        )
    }
}

impl std::str::FromStr for PairingUri {
    type Err = PairingUriError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let query = text
            .trim()
            .strip_prefix(SCHEME)
            .and_then(|rest| rest.strip_prefix('?'))
            .ok_or(PairingUriError("expected wysiwys-pair:?…"))?;
        let (mut server, mut code, mut ck) = (None, None, None);
        for pair in query.split('&') {
            let (key, value) = pair.split_once('=').ok_or(PairingUriError("parameter without '='"))?;
            let value = decode(value).ok_or(PairingUriError("bad percent-encoding"))?;
            let slot = match key {
                "server" => &mut server,
                "code" => &mut code,
                "ck" => &mut ck,
                _ => return Err(PairingUriError("unknown parameter")),
            };
            if slot.replace(value).is_some() {
                return Err(PairingUriError("repeated parameter"));
            }
        }
        let server = server.ok_or(PairingUriError("missing server"))?;
        if !(server.starts_with("https://") || server.starts_with("http://")) {
            return Err(PairingUriError("server must be an http(s) origin"));
        }
        Ok(PairingUri {
            server,
            code: code.ok_or(PairingUriError("missing code"))?,
            channel_key_thumbprint: ck.ok_or(PairingUriError("missing ck"))?,
        })
    }
}

fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let uri = PairingUri {
            server: "http://127.0.0.1:8080".into(),
            code: "ABCDE-FGHJK".into(),
            channel_key_thumbprint: "abc_-".into(),
        };
        let text = uri.to_string();
        assert_eq!(text, "wysiwys-pair:?server=http%3A%2F%2F127.0.0.1%3A8080&code=ABCDE-FGHJK&ck=abc_-");
        assert_eq!(text.parse::<PairingUri>().unwrap(), uri);
        assert!(!format!("{uri:?}").contains("FGHJK"));
    }

    #[test]
    fn refusals() {
        for bad in [
            "http://x",
            "wysiwys-pair:?server=ftp%3A%2F%2Fx&code=a&ck=b",
            "wysiwys-pair:?server=http%3A%2F%2Fx&code=a",
            "wysiwys-pair:?server=http%3A%2F%2Fx&code=a&code=b&ck=c",
            "wysiwys-pair:?server=http%3A%2F%2Fx&code=%G1&ck=c",
            "wysiwys-pair:?server=http%3A%2F%2Fx&code=a&ck=c&evil=1",
        ] {
            assert!(bad.parse::<PairingUri>().is_err(), "{bad}");
        }
    }
}
