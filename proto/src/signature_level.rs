//! The AdES baseline levels (ETSI EN 319 122-1 / 319 142-1) a signature
//! reaches: B-B proves who signed what; B-T adds a trusted time; B-LT the
//! certificates and revocation data to validate it offline; B-LTA a
//! document timestamp that keeps all of it verifiable after the
//! certificates expired.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[non_exhaustive]
pub enum SignatureLevel {
    #[serde(rename = "B-B")]
    BaselineB,
    #[serde(rename = "B-T")]
    BaselineT,
    #[serde(rename = "B-LT")]
    BaselineLt,
    #[serde(rename = "B-LTA")]
    BaselineLta,
    /// A level from a newer version that this one does not know.
    #[serde(other)]
    Unknown,
}

impl SignatureLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureLevel::BaselineB => "B-B",
            SignatureLevel::BaselineT => "B-T",
            SignatureLevel::BaselineLt => "B-LT",
            SignatureLevel::BaselineLta => "B-LTA",
            SignatureLevel::Unknown => "UNKNOWN",
        }
    }

    /// Whether a signature at this level carries a signature timestamp.
    pub fn has_timestamp(self) -> bool {
        matches!(self, SignatureLevel::BaselineT | SignatureLevel::BaselineLt | SignatureLevel::BaselineLta)
    }
}

impl fmt::Display for SignatureLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SignatureLevel {
    type Err = String;

    /// `B-T`, also in lower case (a command-line flag).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "B-B" => Ok(SignatureLevel::BaselineB),
            "B-T" => Ok(SignatureLevel::BaselineT),
            "B-LT" => Ok(SignatureLevel::BaselineLt),
            "B-LTA" => Ok(SignatureLevel::BaselineLta),
            _ => Err(format!("{s:?} is not one of B-B, B-T, B-LT, B-LTA")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_a_newer_level_is_unknown() {
        for level in [
            SignatureLevel::BaselineB,
            SignatureLevel::BaselineT,
            SignatureLevel::BaselineLt,
            SignatureLevel::BaselineLta,
        ] {
            let json = serde_json::to_string(&level).unwrap();
            assert_eq!(json, format!("\"{level}\""));
            assert_eq!(serde_json::from_str::<SignatureLevel>(&json).unwrap(), level);
            assert_eq!(level.as_str().to_lowercase().parse::<SignatureLevel>(), Ok(level));
        }
        assert_eq!(serde_json::from_str::<SignatureLevel>("\"B-XL\"").unwrap(), SignatureLevel::Unknown);
        assert!("B-Q".parse::<SignatureLevel>().is_err());
        assert!(SignatureLevel::BaselineT.has_timestamp() && !SignatureLevel::BaselineB.has_timestamp());
    }
}
