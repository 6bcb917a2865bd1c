//! A lean, typed model of the pod fields the policies read.
//!
//! It deserializes straight from the admitted object, ignores fields it does not model (they stay
//! untouched in the raw object, which is what mutations edit), and fails on fields of the wrong
//! type, so a malformed object is an error instead of a silent accept.

use std::collections::BTreeMap;

use serde::de::{IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::nullable::nullable;

/// Labels and annotations of an object or of a pod template.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ObjectMeta {
    pub name: Option<String>,
    pub namespace: Option<String>,
    #[serde(deserialize_with = "nullable")]
    pub labels: BTreeMap<String, String>,
    #[serde(deserialize_with = "nullable")]
    pub annotations: BTreeMap<String, String>,
}

/// The pod spec fields used by the policies.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PodSpec {
    #[serde(deserialize_with = "nullable")]
    pub containers: Vec<Container>,
    #[serde(deserialize_with = "nullable")]
    pub init_containers: Vec<Container>,
    #[serde(deserialize_with = "nullable")]
    pub ephemeral_containers: Vec<Container>,
    #[serde(deserialize_with = "nullable")]
    pub volumes: Vec<Volume>,
    pub security_context: Option<PodSecurityContext>,
    pub host_network: Option<bool>,
    #[serde(rename = "hostPID")]
    pub host_pid: Option<bool>,
    #[serde(rename = "hostIPC")]
    pub host_ipc: Option<bool>,
    pub host_users: Option<bool>,
    pub os: Option<PodOs>,
    pub runtime_class_name: Option<String>,
    pub scheduler_name: Option<String>,
    /// The node the pod is bound to without any scheduler (the kubelet never reads
    /// `schedulerName` then); `""` is unset, as in Kubernetes: see [`PodSpec::bound_node`].
    pub node_name: Option<String>,
    #[serde(deserialize_with = "nullable")]
    pub node_selector: BTreeMap<String, String>,
    pub affinity: Option<Affinity>,
    #[serde(deserialize_with = "nullable")]
    pub tolerations: Vec<Toleration>,
}

/// One of `spec.tolerations`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Toleration {
    pub key: Option<String>,
    /// `Exists` or `Equal` (the default when unset).
    pub operator: Option<String>,
    pub value: Option<String>,
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute`; unset tolerates every effect.
    pub effect: Option<String>,
}

/// `spec.affinity` (only the node affinity is modelled).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Affinity {
    pub node_affinity: Option<NodeAffinity>,
}

/// `spec.affinity.nodeAffinity`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NodeAffinity {
    pub required_during_scheduling_ignored_during_execution: Option<NodeSelector>,
    #[serde(deserialize_with = "nullable")]
    pub preferred_during_scheduling_ignored_during_execution: Vec<PreferredSchedulingTerm>,
}

/// A preferred node selector term: the scheduler favours it, never requires it.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PreferredSchedulingTerm {
    pub preference: NodeSelectorTerm,
}

/// A required node selector: terms are ORed.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NodeSelector {
    #[serde(deserialize_with = "nullable")]
    pub node_selector_terms: Vec<NodeSelectorTerm>,
}

/// One node selector term: its expressions are ANDed.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NodeSelectorTerm {
    #[serde(deserialize_with = "nullable")]
    pub match_expressions: Vec<crate::selector::Requirement>,
}

impl PodSpec {
    /// The node `spec.nodeName` binds the pod to, if any: no scheduler places such a pod, and
    /// the kubelet admits it after re-checking only its node selector, required node affinity
    /// and `NoExecute` taints. An empty name is unset, as the API server reads it.
    pub fn bound_node(&self) -> Option<&str> {
        self.node_name.as_deref().filter(|name| !name.is_empty())
    }

    /// True when the pod declares `spec.os.name: windows`.
    pub fn is_windows(&self) -> bool {
        self.os.as_ref().is_some_and(|os| os.name == "windows")
    }

    /// True when the pod targets Windows nodes: `spec.os.name: windows`, the
    /// `kubernetes.io/os: windows` node selector, or a required node affinity term that selects
    /// `kubernetes.io/os In [windows]`.
    pub fn targets_windows(&self) -> bool {
        const OS_LABEL: &str = "kubernetes.io/os";
        let affinity_terms = self.required_node_terms();
        self.is_windows()
            || self
                .node_selector
                .get(OS_LABEL)
                .is_some_and(|os| os == "windows")
            || affinity_terms.iter().any(|term| {
                term.match_expressions.iter().any(|e| {
                    e.key == OS_LABEL
                        && e.operator == "In"
                        && e.values.iter().any(|v| v == "windows")
                })
            })
    }

    /// The terms of the required node affinity (ORed); empty when there is none.
    pub fn required_node_terms(&self) -> &[NodeSelectorTerm] {
        self.node_affinity()
            .and_then(|n| {
                n.required_during_scheduling_ignored_during_execution
                    .as_ref()
            })
            .map(|s| s.node_selector_terms.as_slice())
            .unwrap_or_default()
    }

    /// The terms of the preferred node affinity.
    pub fn preferred_node_terms(&self) -> impl Iterator<Item = &NodeSelectorTerm> {
        self.node_affinity()
            .map(|n| {
                n.preferred_during_scheduling_ignored_during_execution
                    .as_slice()
            })
            .unwrap_or_default()
            .iter()
            .map(|p| &p.preference)
    }

    fn node_affinity(&self) -> Option<&NodeAffinity> {
        self.affinity
            .as_ref()
            .and_then(|a| a.node_affinity.as_ref())
    }

    /// True when the pod explicitly opts out of the host user namespace (`hostUsers: false`).
    pub fn uses_user_namespace(&self) -> bool {
        self.host_users == Some(false)
    }
}

/// `spec.os`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct PodOs {
    pub name: String,
}

/// `spec.securityContext`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PodSecurityContext {
    pub run_as_non_root: Option<bool>,
    pub run_as_user: Option<i64>,
    pub run_as_group: Option<i64>,
    pub fs_group: Option<i64>,
    #[serde(deserialize_with = "nullable")]
    pub supplemental_groups: Vec<i64>,
    pub seccomp_profile: Option<SeccompProfile>,
    pub se_linux_options: Option<SeLinuxOptions>,
    pub app_armor_profile: Option<AppArmorProfile>,
    pub windows_options: Option<WindowsOptions>,
    #[serde(deserialize_with = "nullable")]
    pub sysctls: Vec<Sysctl>,
}

/// One entry of `spec.securityContext.sysctls`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Sysctl {
    pub name: String,
}

/// A container, an init container or an ephemeral container.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Container {
    pub name: String,
    pub image: Option<String>,
    pub security_context: Option<SecurityContext>,
    #[serde(deserialize_with = "nullable")]
    pub ports: Vec<ContainerPort>,
    #[serde(deserialize_with = "nullable")]
    pub volume_mounts: Vec<VolumeMount>,
    pub liveness_probe: Option<Probe>,
    pub readiness_probe: Option<Probe>,
    pub startup_probe: Option<Probe>,
    pub lifecycle: Option<Lifecycle>,
}

/// A container's `securityContext`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SecurityContext {
    pub privileged: Option<bool>,
    pub allow_privilege_escalation: Option<bool>,
    pub capabilities: Option<Capabilities>,
    pub proc_mount: Option<String>,
    pub run_as_non_root: Option<bool>,
    pub run_as_user: Option<i64>,
    pub run_as_group: Option<i64>,
    pub read_only_root_filesystem: Option<bool>,
    pub seccomp_profile: Option<SeccompProfile>,
    pub se_linux_options: Option<SeLinuxOptions>,
    pub app_armor_profile: Option<AppArmorProfile>,
    pub windows_options: Option<WindowsOptions>,
}

/// `securityContext.capabilities`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct Capabilities {
    #[serde(deserialize_with = "nullable")]
    pub add: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    pub drop: Vec<String>,
}

/// `seccompProfile`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SeccompProfile {
    #[serde(rename = "type")]
    pub profile_type: String,
    pub localhost_profile: Option<String>,
}

/// `appArmorProfile`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AppArmorProfile {
    #[serde(rename = "type")]
    pub profile_type: String,
    pub localhost_profile: Option<String>,
}

/// `seLinuxOptions`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct SeLinuxOptions {
    #[serde(rename = "type")]
    pub selinux_type: Option<String>,
    pub user: Option<String>,
    pub role: Option<String>,
    pub level: Option<String>,
}

/// `windowsOptions`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct WindowsOptions {
    pub host_process: Option<bool>,
}

/// One entry of a container's `ports`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ContainerPort {
    pub host_port: Option<i32>,
    pub container_port: Option<i32>,
}

/// One entry of a container's `volumeMounts`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct VolumeMount {
    pub name: String,
    pub read_only: Option<bool>,
    pub mount_path: String,
}

/// A probe (liveness, readiness, startup).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Probe {
    pub http_get: Option<HostField>,
    pub tcp_socket: Option<HostField>,
}

/// `lifecycle`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Lifecycle {
    pub post_start: Option<Probe>,
    pub pre_stop: Option<Probe>,
}

/// The `host` field of an `httpGet` or `tcpSocket` handler.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct HostField {
    pub host: Option<String>,
}

/// A pod volume: its name, its `hostPath` source if any, and the name of every source it sets.
///
/// Volume sources are told apart by their key (`configMap`, `hostPath`, `nfs`, …). The source
/// keys are recorded as written, so a check can allow-list them without knowing every type.
#[derive(Clone, Debug, Default)]
pub struct Volume {
    pub name: String,
    pub host_path: Option<HostPathSource>,
    /// The `driver` of a `flexVolume` or inline `csi` source.
    pub driver: Option<String>,
    /// Keys of the volume other than `name`, in document order (normally exactly one).
    pub sources: Vec<String>,
}

/// A volume source named by its driver (`flexVolume`, `csi`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
struct DriverSource {
    driver: String,
}

/// `hostPath` volume source.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct HostPathSource {
    pub path: String,
}

impl<'de> Deserialize<'de> for Volume {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct VolumeVisitor;

        impl<'de> Visitor<'de> for VolumeVisitor {
            type Value = Volume;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a volume object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Volume, A::Error> {
                let mut volume = Volume::default();
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "name" => volume.name = map.next_value()?,
                        "hostPath" => {
                            let source: Option<HostPathSource> = map.next_value()?;
                            if let Some(source) = source {
                                volume.host_path = Some(source);
                                volume.sources.push(key);
                            }
                        }
                        "flexVolume" | "csi" => {
                            let source: Option<DriverSource> = map.next_value()?;
                            if let Some(source) = source {
                                volume.driver = Some(source.driver);
                                volume.sources.push(key);
                            }
                        }
                        _ => {
                            // A `null` source is not set (some clients serialise every field).
                            let value: Option<IgnoredAny> = map.next_value()?;
                            if value.is_some() {
                                volume.sources.push(key);
                            }
                        }
                    }
                }
                Ok(volume)
            }
        }

        deserializer.deserialize_map(VolumeVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_records_every_source_key() {
        let volume: Volume = serde_json::from_str(
            r#"{"name":"v","hostPath":{"path":"/etc"},"nfs":{"server":"x"},"secret":null}"#,
        )
        .expect("valid volume");
        assert_eq!(volume.name, "v");
        assert_eq!(volume.host_path.map(|h| h.path).as_deref(), Some("/etc"));
        assert_eq!(volume.sources, vec!["hostPath", "nfs"]);
        let flex: Volume =
            serde_json::from_str(r#"{"name":"f","flexVolume":{"driver":"acme/lvm","options":{}}}"#)
                .expect("valid volume");
        assert_eq!(flex.driver.as_deref(), Some("acme/lvm"));
        assert_eq!(flex.sources, vec!["flexVolume"]);
    }

    #[test]
    fn null_lists_are_empty_and_wrong_types_fail() {
        let spec: PodSpec =
            serde_json::from_str(r#"{"containers":null,"volumes":null}"#).expect("nulls are empty");
        assert!(spec.containers.is_empty() && spec.volumes.is_empty());
        assert!(serde_json::from_str::<PodSpec>(r#"{"hostNetwork":"yes"}"#).is_err());
    }

    #[test]
    fn node_name_binds_the_pod_unless_empty() {
        let bound: PodSpec =
            serde_json::from_str(r#"{"nodeName":"ip-10-0-1-17.ec2.internal"}"#).expect("valid");
        assert_eq!(bound.bound_node(), Some("ip-10-0-1-17.ec2.internal"));
        for unset in [r#"{"nodeName":""}"#, r#"{"nodeName":null}"#, "{}"] {
            let spec: PodSpec = serde_json::from_str(unset).expect("valid");
            assert_eq!(spec.bound_node(), None, "{unset}");
        }
        assert!(serde_json::from_str::<PodSpec>(r#"{"nodeName":5}"#).is_err());
    }
}
