//! Settings of the pod-security policy (camelCase; unknown keys are rejected): plain data and
//! the checks of their own consistency. What they mean to each check is in the checks.

use pci_shared::exception::Exception;
use pci_shared::policy::PolicySettings;
use serde::Deserialize;

use crate::capabilities;
use crate::level::{Level, Version};

/// The policy settings.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Settings {
    /// `baseline` or `restricted` (default).
    pub level: Level,
    /// `latest` (default) or `v1.0` … `v1.37`.
    pub version: Version,
    /// Reviewed hostPath exceptions.
    pub allowed_host_paths: Vec<AllowedHostPath>,
    /// Replaces the level's list of capabilities containers may add.
    pub allowed_capabilities: Option<Vec<String>>,
    /// Capabilities every container must drop (`ALL` in `drop` covers them).
    pub required_drop_capabilities: Vec<String>,
    /// Host port ranges containers may use.
    pub allowed_host_ports: Vec<PortRange>,
    /// Narrow, justified, expiring waivers.
    pub exceptions: Vec<Exception>,
    /// Opt-in safe defaults for unset fields.
    pub mutate: MutateSettings,
}

/// One reviewed hostPath exception.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AllowedHostPath {
    /// An absolute path; it matches itself and what lies below it, at path-component boundaries.
    pub path_prefix: String,
    /// When true, every mount of a matching volume must be read-only.
    pub read_only: bool,
}

/// An inclusive range of host ports.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortRange {
    pub min: i64,
    pub max: i64,
}

/// Which safe defaults to apply to unset fields before validation.
#[derive(Clone, Copy, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct MutateSettings {
    /// Add `ALL` to every container's `capabilities.drop`.
    pub drop_all_capabilities: bool,
    /// Set `allowPrivilegeEscalation: false` where unset.
    pub disallow_privilege_escalation: bool,
    /// Set the pod's `seccompProfile` to `RuntimeDefault` where no profile is set.
    pub seccomp_runtime_default: bool,
    /// Set the pod's `runAsNonRoot: true` where a container leaves it unset.
    pub run_as_non_root: bool,
}

impl MutateSettings {
    /// True when any default is enabled.
    pub fn any(&self) -> bool {
        self.drop_all_capabilities
            || self.disallow_privilege_escalation
            || self.seccomp_runtime_default
            || self.run_as_non_root
    }
}

impl PolicySettings for Settings {
    fn validate(&self) -> Result<(), String> {
        for (index, entry) in self.allowed_host_paths.iter().enumerate() {
            crate::host_path::validate_prefix(&entry.path_prefix)
                .map_err(|reason| format!("allowedHostPaths[{index}].pathPrefix: {reason}"))?;
        }
        if let Some(allowed) = &self.allowed_capabilities {
            for (index, name) in allowed.iter().enumerate() {
                if capabilities::normalize(name) == capabilities::ALL {
                    return Err(format!(
                        "allowedCapabilities[{index}]: ALL cannot be allowed; list the capabilities containers may add"
                    ));
                }
                if !capabilities::is_known(name) {
                    return Err(format!(
                        "allowedCapabilities[{index}]: \"{name}\" is not a Linux capability"
                    ));
                }
            }
        }
        for (index, name) in self.required_drop_capabilities.iter().enumerate() {
            let normalized = capabilities::normalize(name);
            if normalized != capabilities::ALL && !capabilities::is_known(name) {
                return Err(format!(
                    "requiredDropCapabilities[{index}]: \"{name}\" is not a Linux capability or ALL"
                ));
            }
            if normalized == capabilities::ALL {
                // Drop everything, then add back what allowedCapabilities lists: exactly what
                // the restricted standard asks (drop ALL, add NET_BIND_SERVICE).
                continue;
            }
            let same = self
                .allowed_capabilities
                .iter()
                .flatten()
                .enumerate()
                .find(|(_, allowed)| capabilities::normalize(allowed) == normalized);
            if let Some((allowed_index, allowed)) = same {
                return Err(format!(
                    "requiredDropCapabilities[{index}] \"{name}\" and allowedCapabilities[{allowed_index}] \"{allowed}\" name the same capability: a container cannot be required to drop what it is allowed to add"
                ));
            }
        }
        for (index, range) in self.allowed_host_ports.iter().enumerate() {
            if !(1..=65535).contains(&range.min) || !(1..=65535).contains(&range.max) {
                return Err(format!(
                    "allowedHostPorts[{index}]: ports must be from 1 to 65535, got {}-{}",
                    range.min, range.max
                ));
            }
            if range.min > range.max {
                return Err(format!(
                    "allowedHostPorts[{index}]: min {} is greater than max {}",
                    range.min, range.max
                ));
            }
        }
        Ok(())
    }

    fn exceptions(&self) -> &[Exception] {
        &self.exceptions
    }

    /// Only the `mutate` defaults patch.
    fn can_patch(&self) -> bool {
        self.mutate.any()
    }

    /// Every `mutate` default off (the checks stay).
    fn turn_off_patching(settings: &mut serde_json::Map<String, serde_json::Value>) {
        settings.remove("mutate");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Exported;
    use pci_shared::policy::read_settings;
    use rstest::rstest;

    #[test]
    fn defaults_to_restricted_latest() {
        let settings: Settings = read_settings::<Exported>("{}").expect("valid");
        assert_eq!(settings.level, Level::Restricted);
        assert_eq!(settings.version, Version::LATEST);
        assert!(!settings.mutate.any());
    }

    #[test]
    fn reads_every_setting() {
        let settings: Settings = read_settings::<Exported>(
            r#"{"level":"baseline","version":"v1.30",
                "allowedHostPaths":[{"pathPrefix":"/var/log","readOnly":true}],
                "allowedCapabilities":["NET_BIND_SERVICE","cap_chown"],
                "requiredDropCapabilities":["NET_RAW"],
                "allowedHostPorts":[{"min":8000,"max":8080}],
                "exceptions":[{"controls":["privileged"],"images":["registry.k8s.io/kube-proxy:*"],"reason":"iptables","expires":"2027-06-30"}],
                "mutate":{"dropAllCapabilities":true,"disallowPrivilegeEscalation":true,"seccompRuntimeDefault":true,"runAsNonRoot":true}}"#,
        )
        .expect("valid");
        assert_eq!(settings.level, Level::Baseline);
        assert_eq!(settings.version, Version::v1(30));
        assert!(settings.mutate.any());
    }

    #[test]
    fn least_privilege_drop_all_and_add_back_is_accepted() {
        // What the restricted standard itself allows: drop ALL, add NET_BIND_SERVICE back.
        let settings = read_settings::<Exported>(
            r#"{"level":"restricted","allowedCapabilities":["NET_BIND_SERVICE"],"requiredDropCapabilities":["ALL"]}"#,
        )
        .expect("drop ALL and add back one capability is consistent");
        assert_eq!(settings.required_drop_capabilities, ["ALL"]);
    }

    #[rstest]
    #[case::unknown_key(r#"{"allowedHostPath":[]}"#, "unknown field `allowedHostPath`")]
    #[case::snake_case(
        r#"{"allowed_capabilities":[]}"#,
        "unknown field `allowed_capabilities`"
    )]
    #[case::level_type(
        r#"{"level":1}"#,
        "level: invalid type: integer `1`, expected a string"
    )]
    #[case::bad_level(
        r#"{"level":"privileged"}"#,
        "level: \"privileged\" is not a level; expected baseline or restricted"
    )]
    #[case::bad_version(r#"{"version":"v1.99"}"#, "newer than")]
    #[case::relative_path(
        r#"{"allowedHostPaths":[{"pathPrefix":"var/log","readOnly":true}]}"#,
        "allowedHostPaths[0].pathPrefix: must be an absolute path"
    )]
    #[case::dotdot_path(
        r#"{"allowedHostPaths":[{"pathPrefix":"/var/../etc","readOnly":true}]}"#,
        "'..'"
    )]
    #[case::missing_read_only(
        r#"{"allowedHostPaths":[{"pathPrefix":"/var/log"}]}"#,
        "missing field `readOnly`"
    )]
    #[case::unknown_capability(
        r#"{"allowedCapabilities":["NET_ADMINN"]}"#,
        "allowedCapabilities[0]: \"NET_ADMINN\" is not a Linux capability"
    )]
    #[case::allow_all(r#"{"allowedCapabilities":["all"]}"#, "ALL cannot be allowed")]
    #[case::contradiction(
        r#"{"allowedCapabilities":["CHOWN","NET_RAW"],"requiredDropCapabilities":["ALL","CAP_NET_RAW"]}"#,
        "requiredDropCapabilities[1] \"CAP_NET_RAW\" and allowedCapabilities[1] \"NET_RAW\" name the same capability"
    )]
    #[case::port_zero(r#"{"allowedHostPorts":[{"min":0,"max":10}]}"#, "from 1 to 65535")]
    #[case::port_order(
        r#"{"allowedHostPorts":[{"min":90,"max":80}]}"#,
        "min 90 is greater than max 80"
    )]
    #[case::exception_control(
        r#"{"exceptions":[{"controls":["privileged_typo"],"containers":["a"],"reason":"r"}]}"#,
        "unknown control"
    )]
    #[case::exception_reason(
        r#"{"exceptions":[{"controls":["privileged"],"containers":["a"],"reason":""}]}"#,
        "reason"
    )]
    #[case::mutate_typo(
        r#"{"mutate":{"dropAll":true}}"#,
        "mutate.dropAll: unknown field `dropAll`"
    )]
    fn rejects_inconsistent_settings_precisely(#[case] json: &str, #[case] expected: &str) {
        let error = read_settings::<Exported>(json).expect_err("invalid settings");
        assert!(error.contains(expected), "{json}: {error}");
    }
}
