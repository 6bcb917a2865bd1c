//! Settings of the image-digest policy (camelCase; unknown keys are rejected).

use pci_shared::exception::Exception;
use pci_shared::image_reference::DigestAlgorithm;
use pci_shared::policy::PolicySettings;
use serde::Deserialize;

/// What to do with an image that has no digest.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// Reject it.
    #[default]
    Require,
    /// Ask the host for the digest its tag points to and pin it (`repository:tag@digest`).
    Resolve,
}

/// What to do when an image's tag no longer points to its digest.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TagCheck {
    /// Do not ask the host.
    #[default]
    Off,
    /// Accept with a warning.
    Warn,
    /// Reject.
    Reject,
}

impl TryFrom<String> for Mode {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        match value.as_str() {
            "require" => Ok(Self::Require),
            "resolve" => Ok(Self::Resolve),
            _ => Err(format!(
                "\"{value}\" is not a mode; expected require or resolve"
            )),
        }
    }
}

pci_shared::validated_string!(Mode);

impl TryFrom<String> for TagCheck {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        match value.as_str() {
            "off" => Ok(Self::Off),
            "warn" => Ok(Self::Warn),
            "reject" => Ok(Self::Reject),
            _ => Err(format!(
                "\"{value}\" is not a tag check; expected off, warn or reject"
            )),
        }
    }
}

pci_shared::validated_string!(TagCheck);

/// The policy settings.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Settings {
    pub mode: Mode,
    pub check_tag_matches_digest: TagCheck,
    pub allowed_algorithms: Vec<AlgorithmSetting>,
    pub exceptions: Vec<Exception>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            mode: Mode::default(),
            check_tag_matches_digest: TagCheck::default(),
            allowed_algorithms: vec![AlgorithmSetting(DigestAlgorithm::Sha256)],
            exceptions: Vec::new(),
        }
    }
}

/// A digest algorithm name, validated while the settings are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AlgorithmSetting(pub DigestAlgorithm);

impl TryFrom<String> for AlgorithmSetting {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        DigestAlgorithm::parse(&value).map(Self).ok_or_else(|| {
            format!("\"{value}\" is not a supported digest algorithm (sha256, sha384, sha512)")
        })
    }
}

pci_shared::validated_string!(AlgorithmSetting);

impl Settings {
    /// True when images pinned with `algorithm` are accepted.
    pub fn allows(&self, algorithm: DigestAlgorithm) -> bool {
        self.allowed_algorithms.iter().any(|a| a.0 == algorithm)
    }

    /// The first allowed algorithm's name, for messages.
    pub fn preferred_algorithm(&self) -> &'static str {
        self.allowed_algorithms
            .first()
            .map_or("sha256", |a| a.0.name())
    }

    /// The allowed algorithms, for messages.
    pub fn allowed_list(&self) -> String {
        self.allowed_algorithms
            .iter()
            .map(|a| a.0.name())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl PolicySettings for Settings {
    fn validate(&self) -> Result<(), String> {
        if self.allowed_algorithms.is_empty() {
            return Err(
                "allowedAlgorithms must name at least one algorithm (sha256, sha384, sha512)"
                    .into(),
            );
        }
        Ok(())
    }

    fn exceptions(&self) -> &[Exception] {
        &self.exceptions
    }

    /// Only `resolve` pins (patches) images.
    fn can_patch(&self) -> bool {
        self.mode == Mode::Resolve
    }

    /// `require`: after a resolving instance pinned every image, the twin finds them pinned.
    fn turn_off_patching(settings: &mut serde_json::Map<String, serde_json::Value>) {
        settings.insert("mode".into(), "require".into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Exported;
    use pci_shared::policy::read_settings;
    use rstest::rstest;

    #[test]
    fn defaults_require_sha256_digests() {
        let settings: Settings = read_settings::<Exported>("{}").expect("valid");
        assert_eq!(settings.mode, Mode::Require);
        assert_eq!(settings.check_tag_matches_digest, TagCheck::Off);
        assert!(
            settings.allows(DigestAlgorithm::Sha256) && !settings.allows(DigestAlgorithm::Sha512)
        );
        let all: Settings = read_settings::<Exported>(
            r#"{"mode":"resolve","checkTagMatchesDigest":"warn","allowedAlgorithms":["sha256","sha512"]}"#,
        )
        .expect("valid");
        assert!(all.allows(DigestAlgorithm::Sha512));
    }

    #[rstest]
    #[case::mode(
        r#"{"mode":"pin"}"#,
        "mode: \"pin\" is not a mode; expected require or resolve"
    )]
    #[case::tag_check(
        r#"{"checkTagMatchesDigest":true}"#,
        "checkTagMatchesDigest: invalid type: boolean `true`, expected a string"
    )]
    #[case::tag_check_value(r#"{"checkTagMatchesDigest":"fail"}"#, "expected off, warn or reject")]
    #[case::algorithm(
        r#"{"allowedAlgorithms":["md5"]}"#,
        "allowedAlgorithms[0]: \"md5\" is not a supported digest algorithm"
    )]
    #[case::no_algorithm(
        r#"{"allowedAlgorithms":[]}"#,
        "allowedAlgorithms must name at least one"
    )]
    #[case::unknown_key(
        r#"{"allowedAlgorithm":["sha256"]}"#,
        "unknown field `allowedAlgorithm`"
    )]
    #[case::exception(
        r#"{"exceptions":[{"controls":["digests"],"containers":["a"],"namespaces":["ns"],"reason":"r"}]}"#,
        "unknown control \"digests\""
    )]
    fn rejects_invalid_settings_precisely(#[case] json: &str, #[case] expected: &str) {
        let error = read_settings::<Exported>(json).expect_err("invalid settings");
        assert!(error.contains(expected), "{json}: {error}");
    }
}
