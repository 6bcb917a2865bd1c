//! Settings of the trusted-registries policy (camelCase; unknown keys are rejected).

use pci_shared::exception::Exception;
use pci_shared::image_pattern::{ImagePattern, RegistryPattern};
use pci_shared::policy::PolicySettings;
use serde::Deserialize;

/// The policy settings.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Settings {
    /// Registry entries (`host[:port][/path prefix]`).
    pub registries: Filter<RegistryEntry>,
    /// Image globs on normalised references.
    pub images: Filter<ImageEntry>,
    /// Denied tags.
    pub tags: TagFilter,
    /// Narrow, justified, expiring waivers.
    pub exceptions: Vec<Exception>,
}

/// An allow list and a deny list.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Filter<T> {
    pub allow: Vec<T>,
    pub deny: Vec<T>,
}

impl<T> Default for Filter<T> {
    fn default() -> Self {
        Self {
            allow: Vec::new(),
            deny: Vec::new(),
        }
    }
}

/// `tags: {deny: [...]}`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TagFilter {
    pub deny: Vec<TagEntry>,
}

/// A registry entry, validated while the settings are read.
#[derive(Clone, Debug)]
pub struct RegistryEntry(pub RegistryPattern);

impl TryFrom<String> for RegistryEntry {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        RegistryPattern::parse(&value).map(Self)
    }
}

pci_shared::validated_string!(RegistryEntry);

/// An image glob, validated while the settings are read.
#[derive(Clone, Debug)]
pub struct ImageEntry(pub ImagePattern);

impl TryFrom<String> for ImageEntry {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        ImagePattern::parse(&value).map(Self)
    }
}

pci_shared::validated_string!(ImageEntry);

/// A tag glob (`latest`, `*-rc*`), validated while the settings are read.
#[derive(Clone, Debug)]
pub struct TagEntry(pub String);

impl TryFrom<String> for TagEntry {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        let valid = !value.is_empty()
            && value.len() <= 128
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-*".contains(&b));
        if valid {
            Ok(Self(value))
        } else {
            Err(format!(
                "\"{value}\" is not a tag or tag glob ([A-Za-z0-9_.-] and '*', at most 128 characters)"
            ))
        }
    }
}

pci_shared::validated_string!(TagEntry);

impl Settings {
    /// True when some list is configured.
    fn has_rules(&self) -> bool {
        !(self.registries.allow.is_empty()
            && self.registries.deny.is_empty()
            && self.images.allow.is_empty()
            && self.images.deny.is_empty()
            && self.tags.deny.is_empty())
    }
}

impl PolicySettings for Settings {
    fn validate(&self) -> Result<(), String> {
        if !self.has_rules() {
            return Err(
                "configure at least one of registries.allow, registries.deny, images.allow, images.deny, tags.deny: \
                 a trusted-registries policy without rules would trust every registry"
                    .into(),
            );
        }
        for (allow_index, allow) in self.registries.allow.iter().enumerate() {
            if let Some((deny_index, deny)) = self
                .registries
                .deny
                .iter()
                .enumerate()
                .find(|(_, d)| d.0.covers(&allow.0))
            {
                return Err(format!(
                    "registries.allow[{allow_index}] \"{}\" can never apply: registries.deny[{deny_index}] \"{}\" denies everything it allows",
                    allow.0, deny.0
                ));
            }
        }
        for (allow_index, allow) in self.images.allow.iter().enumerate() {
            if let Some(deny_index) = self.images.deny.iter().position(|d| d.0 == allow.0) {
                return Err(format!(
                    "images.allow[{allow_index}] \"{}\" is also images.deny[{deny_index}]: an image cannot be both allowed and denied",
                    allow.0
                ));
            }
        }
        Ok(())
    }

    fn exceptions(&self) -> &[Exception] {
        &self.exceptions
    }

    /// trusted-registries only validates.
    fn can_patch(&self) -> bool {
        false
    }

    fn turn_off_patching(_settings: &mut serde_json::Map<String, serde_json::Value>) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Exported;
    use pci_shared::policy::read_settings;
    use rstest::rstest;

    #[test]
    fn reads_every_setting() {
        let settings: Settings = read_settings::<Exported>(
            r#"{"registries":{"allow":["registry.corp.com","registry.corp.com:5000/payments"],"deny":["registry.corp.com/legacy"]},
                "images":{"allow":["docker.io/library/busybox@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],"deny":["*.corp.com/**:debug"]},
                "tags":{"deny":["latest","*-rc*"]},
                "exceptions":[{"controls":["registries"],"images":["quay.io/prometheus/node-exporter:*"],"namespaces":["monitoring"],"reason":"vendored exporter, reviewed","expires":"2027-01-31"}]}"#,
        )
        .expect("valid");
        assert_eq!(settings.registries.allow.len(), 2);
        assert_eq!(settings.tags.deny.len(), 2);
    }

    #[rstest]
    #[case::nothing_configured("{}", "configure at least one")]
    #[case::empty_entry(
        r#"{"registries":{"allow":[""]}}"#,
        "registries.allow[0]: the entry is empty"
    )]
    #[case::not_a_host(r#"{"registries":{"allow":["corp"]}}"#, "is not a registry host")]
    #[case::bad_image(r#"{"images":{"deny":["Registry.corp.com/App"]}}"#, "images.deny[0]")]
    #[case::bad_tag(r#"{"tags":{"deny":["lat est"]}}"#, "tags.deny[0]")]
    #[case::unknown_key(
        r#"{"registries":{"allowed":["registry.corp.com"]}}"#,
        "unknown field `allowed`"
    )]
    #[case::snake_case(
        r#"{"tags":{"deny":["latest"]},"exceptions":[],"registry":{}}"#,
        "unknown field `registry`"
    )]
    #[case::denied_allow(
        r#"{"registries":{"allow":["registry.corp.com/payments"],"deny":["registry.corp.com"]}}"#,
        "can never apply"
    )]
    #[case::same_image(
        r#"{"images":{"allow":["nginx:1.25"],"deny":["docker.io/library/nginx:1.25"]}}"#,
        "both allowed and denied"
    )]
    #[case::exception_control(r#"{"tags":{"deny":["latest"]},"exceptions":[{"controls":["registry"],"containers":["a"],"namespaces":["ns"],"reason":"r"}]}"#, "unknown control \"registry\"")]
    fn rejects_inconsistent_settings_precisely(#[case] json: &str, #[case] expected: &str) {
        let error = read_settings::<Exported>(json).expect_err("invalid settings");
        assert!(error.contains(expected), "{json}: {error}");
    }
}
