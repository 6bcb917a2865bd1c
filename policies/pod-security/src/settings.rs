//! Settings of the pod-security policy (camelCase; unknown keys are rejected): plain data. Their
//! consistency is checked in [`crate::settings_check`]; what they mean to each check is in the
//! checks.

use pci_shared::exception::Exception;
use serde::Deserialize;

use crate::level::{Level, Version};
use crate::psp::id_ranges::IdStrategy;
use crate::psp::settings::{CsiDriver, FlexVolumeDriver, RuntimeClassStrategy, SeLinuxStrategy};

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
    /// Replaces the level's list of capabilities containers may add (`*`: any).
    pub allowed_capabilities: Option<Vec<String>>,
    /// Capabilities every container must drop (`ALL` in `drop` covers them).
    pub required_drop_capabilities: Vec<String>,
    /// Host port ranges containers may use (PodSecurityPolicy's `hostPorts`).
    #[serde(alias = "hostPorts")]
    pub allowed_host_ports: Vec<PortRange>,

    // The rest of PodSecurityPolicySpec (policy/v1beta1), named as it names them: each narrows
    // the level, or allows beyond it with a warning on every request that uses it (`psp/`).
    /// `true` allows privileged containers beyond the level.
    pub privileged: Option<bool>,
    /// `true` allows `hostNetwork` beyond the level.
    pub host_network: Option<bool>,
    /// `true` allows `hostIPC` beyond the level.
    #[serde(rename = "hostIPC")]
    pub host_ipc: Option<bool>,
    /// `true` allows `hostPID` beyond the level.
    #[serde(rename = "hostPID")]
    pub host_pid: Option<bool>,
    /// The user id rule.
    pub run_as_user: Option<IdStrategy>,
    /// The primary group id rule.
    pub run_as_group: Option<IdStrategy>,
    /// The supplemental groups rule.
    pub supplemental_groups: Option<IdStrategy>,
    /// The fsGroup rule.
    pub fs_group: Option<IdStrategy>,
    /// Every container's root filesystem must be read-only.
    pub read_only_root_filesystem: bool,
    /// Sysctls (patterns) allowed beyond the level's safe set.
    pub allowed_unsafe_sysctls: Vec<String>,
    /// Sysctls (patterns) no pod may set, safe or not.
    pub forbidden_sysctls: Vec<String>,
    /// The volume types pods may use (`*`: any).
    pub volumes: Option<Vec<String>>,
    /// The flexVolume drivers pods may use (empty: any).
    pub allowed_flex_volumes: Vec<FlexVolumeDriver>,
    /// The inline CSI drivers pods may use (empty: any).
    #[serde(rename = "allowedCSIDrivers")]
    pub allowed_csi_drivers: Vec<CsiDriver>,
    /// The procMount types containers may use (`Default`, `Unmasked`).
    pub allowed_proc_mount_types: Option<Vec<String>>,
    /// The SELinux rule.
    pub se_linux: Option<SeLinuxStrategy>,
    /// Seccomp profiles pods and containers may run with.
    pub allowed_seccomp_profiles: Option<Vec<String>>,
    /// AppArmor profiles containers may run with.
    pub allowed_app_armor_profiles: Option<Vec<String>>,
    /// `false` requires `allowPrivilegeEscalation: false`; `true` allows escalation beyond the level.
    pub allow_privilege_escalation: Option<bool>,
    /// The PodSecurityPolicy default for an unset `allowPrivilegeEscalation` (`mutate.podSecurityPolicyDefaults`).
    pub default_allow_privilege_escalation: Option<bool>,
    /// Capabilities added by default (`mutate.podSecurityPolicyDefaults`); containers may add them.
    pub default_add_capabilities: Vec<String>,
    /// The runtime classes pods may name.
    pub runtime_class: Option<RuntimeClassStrategy>,

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
    /// When true, every mount of a matching volume must be read-only (default false, as in
    /// PodSecurityPolicy).
    #[serde(default)]
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
    /// Apply the defaults a PodSecurityPolicy applied: `MustRunAs` ids, `seLinux` options,
    /// `defaultAddCapabilities`, `requiredDropCapabilities`, `defaultAllowPrivilegeEscalation`,
    /// `readOnlyRootFilesystem`, the default runtime class.
    pub pod_security_policy_defaults: bool,
}

impl MutateSettings {
    /// True when any default is enabled.
    pub fn any(&self) -> bool {
        self.drop_all_capabilities
            || self.disallow_privilege_escalation
            || self.seccomp_runtime_default
            || self.run_as_non_root
            || self.pod_security_policy_defaults
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
                "exceptions":[{"controls":["privileged"],"images":["registry.k8s.io/kube-proxy:*"],"namespaces":["kube-system"],"reason":"iptables","expires":"2027-06-30"}],
                "mutate":{"dropAllCapabilities":true,"disallowPrivilegeEscalation":true,"seccompRuntimeDefault":true,"runAsNonRoot":true}}"#,
        )
        .expect("valid");
        assert_eq!(settings.level, Level::Baseline);
        assert_eq!(settings.version, Version::v1(30));
        assert!(settings.mutate.any());
    }

    #[test]
    fn a_pod_security_policy_spec_pastes_in() {
        let settings: Settings = read_settings::<Exported>(
            r#"{"privileged":false,"allowPrivilegeEscalation":false,"defaultAllowPrivilegeEscalation":false,
                "requiredDropCapabilities":["ALL"],"allowedCapabilities":["*"],"defaultAddCapabilities":[],
                "volumes":["configMap","emptyDir","projected","secret","downwardAPI","persistentVolumeClaim","flexVolume","csi"],
                "hostNetwork":false,"hostIPC":false,"hostPID":false,"hostPorts":[{"min":8000,"max":8080}],
                "runAsUser":{"rule":"MustRunAsNonRoot"},"runAsGroup":{"rule":"MayRunAs","ranges":[{"min":1,"max":65535}]},
                "seLinux":{"rule":"RunAsAny"},"supplementalGroups":{"rule":"MustRunAs","ranges":[{"min":1,"max":65535}]},
                "fsGroup":{"rule":"MustRunAs","ranges":[{"min":1,"max":65535}]},"readOnlyRootFilesystem":true,
                "allowedHostPaths":[{"pathPrefix":"/var/log"}],"allowedFlexVolumes":[{"driver":"example/lvm"}],
                "allowedCSIDrivers":[{"name":"secrets-store.csi.k8s.io"}],"allowedUnsafeSysctls":["kernel.msg*"],
                "forbiddenSysctls":["kernel.shm_rmid_forced"],"allowedProcMountTypes":["Default"],
                "runtimeClass":{"allowedRuntimeClassNames":["gvisor"],"defaultRuntimeClassName":"gvisor"}}"#,
        )
        .expect("a restricted PodSecurityPolicy spec is valid settings");
        assert_eq!(settings.allowed_host_ports.len(), 1);
        assert!(!settings.allowed_host_paths[0].read_only);
        assert!(settings.read_only_root_filesystem);
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
    #[case::unknown_capability(
        r#"{"allowedCapabilities":["NET_ADMINN"]}"#,
        "allowedCapabilities[0]: \"NET_ADMINN\" is not a Linux capability"
    )]
    #[case::allow_all(r#"{"allowedCapabilities":["all"]}"#, "ALL cannot be allowed")]
    #[case::both_port_names(
        r#"{"allowedHostPorts":[],"hostPorts":[]}"#,
        "duplicate field `allowedHostPorts`"
    )]
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
        r#"{"exceptions":[{"controls":["privileged_typo"],"containers":["a"],"namespaces":["ns"],"reason":"r"}]}"#,
        "unknown control"
    )]
    #[case::exception_reason(
        r#"{"exceptions":[{"controls":["privileged"],"containers":["a"],"namespaces":["ns"],"reason":""}]}"#,
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
