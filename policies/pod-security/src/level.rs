//! Pod Security Standards levels and the Kubernetes versions a check set follows.

use std::fmt;

/// A Pod Security Standards level.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Baseline,
    #[default]
    Restricted,
}

impl TryFrom<String> for Level {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        match value.as_str() {
            "baseline" => Ok(Self::Baseline),
            "restricted" => Ok(Self::Restricted),
            _ => Err(format!(
                "\"{value}\" is not a level; expected baseline or restricted"
            )),
        }
    }
}

pci_shared::validated_string!(Level);

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Baseline => "baseline",
            Level::Restricted => "restricted",
        })
    }
}

/// A Kubernetes minor version (`v1.N`) whose Pod Security Standards the policy applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    minor: u16,
}

impl Version {
    /// The newest Kubernetes version whose standards this policy knows.
    pub const LATEST: Version = Version::v1(37);

    /// `v1.<minor>`.
    pub const fn v1(minor: u16) -> Self {
        Self { minor }
    }

    /// Parses `latest` or `v1.0` … `v1.37`.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text == "latest" {
            return Ok(Self::LATEST);
        }
        let minor = text
            .strip_prefix("v1.")
            .filter(|m| !m.is_empty() && m.len() <= 3 && m.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|m| m.parse::<u16>().ok())
            .ok_or_else(|| {
                format!(
                    "version \"{text}\" is not \"latest\" or a Kubernetes version v1.0 … {}",
                    Self::LATEST
                )
            })?;
        let version = Self::v1(minor);
        if version > Self::LATEST {
            return Err(format!(
                "version \"{text}\" is newer than the newest standards this policy knows ({}); use \"latest\" or {}",
                Self::LATEST,
                Self::LATEST
            ));
        }
        Ok(version)
    }
}

impl Default for Version {
    fn default() -> Self {
        Self::LATEST
    }
}

impl TryFrom<String> for Version {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        Self::parse(&text)
    }
}

pci_shared::validated_string!(Version);

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v1.{}", self.minor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_supported_version() {
        assert_eq!(Version::parse("latest"), Ok(Version::v1(37)));
        assert_eq!(Version::parse("v1.0"), Ok(Version::v1(0)));
        assert_eq!(Version::parse("v1.25"), Ok(Version::v1(25)));
        assert!(Version::parse("v1.9") < Version::parse("v1.10"));
    }

    #[test]
    fn rejects_unknown_versions_precisely() {
        assert!(Version::parse("v1.38").unwrap_err().contains("newer than"));
        for text in ["1.25", "v2.0", "v1.", "v1.x", "v1.-1", "", "LATEST"] {
            assert!(Version::parse(text).is_err(), "{text}");
        }
    }
}
