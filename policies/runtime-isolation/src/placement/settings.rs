//! A placement as the policy uses it (presets resolved), what it requires in words, and its
//! validation with messages naming the path.

use std::collections::BTreeMap;

use serde::Deserialize;

use pci_shared::glob::{SEGMENT, glob};

use super::fargate::FargateProfile;

/// An operating system a placement runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Os {
    Linux,
    Windows,
}

/// A taint of the placement's nodes, written as the toleration a pod needs to land there.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequiredToleration {
    pub key: String,
    /// `Exists` (any value) or `Equal` (the default).
    #[serde(default = "equal")]
    pub operator: String,
    pub value: Option<String>,
    /// The taint's effect; unset: the pod must tolerate every effect.
    pub effect: Option<String>,
}

fn equal() -> String {
    "Equal".into()
}

impl std::fmt::Display for RequiredToleration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.key)?;
        match (&*self.operator, &self.value) {
            ("Exists", _) => write!(f, " Exists")?,
            (_, Some(value)) => write!(f, "={value}")?,
            (_, None) => write!(f, "=")?,
        }
        if let Some(effect) = &self.effect {
            write!(f, ":{effect}")?;
        }
        Ok(())
    }
}

/// One accepted placement, presets resolved (read by [`super::form`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    /// How messages and evidence name it.
    pub name: String,
    /// What isolates a workload there, for the assessor.
    pub description: String,
    /// The scheduler that places pods there (EKS: `fargate-scheduler`).
    pub scheduler_name: Option<String>,
    /// Node labels a pod must require, by nodeSelector or required node affinity.
    pub node_selector: BTreeMap<String, String>,
    /// The taints of its nodes, as tolerations a pod must carry.
    pub tolerations: Vec<RequiredToleration>,
    /// EKS Fargate profiles: controllers whose pods they select are placed there too.
    pub fargate_profiles: Vec<FargateProfile>,
    /// Globs of the names of its nodes (EKS: `fargate-*`): a pod whose `nodeName` matches one
    /// is bound to the placement without any scheduler, and counts as placed there.
    pub node_names: Vec<String>,
    /// The operating systems it runs; Windows counts for 9.2.
    pub os: Vec<Os>,
    /// Whether DaemonSet pods can run there (serverless nodes run none).
    pub runs_daemon_sets: bool,
}

impl Placement {
    /// True when the placement runs workloads of `os`.
    pub fn runs(&self, os: Os) -> bool {
        self.os.contains(&os)
    }

    /// What pins a workload there, for messages: `schedulerName fargate-scheduler or Fargate
    /// profile cde, or nodeName fargate-*`, `required nodeSelector type=virtual-kubelet and
    /// toleration virtual-kubelet.io/provider Exists`.
    pub fn requirements(&self) -> String {
        let mut parts = Vec::new();
        if let Some(scheduler) = &self.scheduler_name {
            let mut part = format!("schedulerName {scheduler}");
            if !self.fargate_profiles.is_empty() {
                let names: Vec<&str> = self
                    .fargate_profiles
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect();
                part.push_str(&format!(" or Fargate profile {}", names.join(", ")));
            }
            parts.push(part);
        }
        if !self.node_selector.is_empty() {
            let labels: Vec<String> = self
                .node_selector
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            parts.push(format!("required nodeSelector {}", labels.join(", ")));
        }
        for toleration in &self.tolerations {
            parts.push(format!("toleration {toleration}"));
        }
        let pinned = parts.join(" and ");
        match (pinned.is_empty(), self.node_names.is_empty()) {
            (_, true) => pinned,
            (true, false) => format!("nodeName {}", self.node_names.join(", ")),
            (false, false) => format!("{pinned}, or nodeName {}", self.node_names.join(", ")),
        }
    }

    /// The first of its node name globs that `node` matches.
    pub fn names_node(&self, node: &str) -> Option<&str> {
        self.node_names
            .iter()
            .map(String::as_str)
            .find(|pattern| glob(pattern, node, SEGMENT))
    }

    /// Checks the placement at `at` (`isolatedPlacements[0]`).
    pub fn validate(&self, at: &str) -> Result<(), String> {
        if self.name.is_empty() {
            return Err(format!(
                "{at}.name is required (or a preset: eksFargate, aksVirtualNodes)"
            ));
        }
        if !is_dns_label(&self.name) {
            return Err(format!(
                "{at}.name \"{}\" must be a lowercase DNS label (a-z, 0-9, -)",
                self.name
            ));
        }
        if self.scheduler_name.is_none()
            && self.node_selector.is_empty()
            && self.node_names.is_empty()
        {
            return Err(format!(
                "{at} pins nothing: set schedulerName, nodeSelector or nodeNames (or a preset), so only workloads guaranteed to land there count"
            ));
        }
        if let Some(scheduler) = &self.scheduler_name
            && !is_dns_subdomain(scheduler)
        {
            return Err(format!(
                "{at}.schedulerName \"{scheduler}\" is not a valid scheduler name"
            ));
        }
        for (key, value) in &self.node_selector {
            if key.is_empty() || value.is_empty() {
                return Err(format!(
                    "{at}.nodeSelector: \"{key}\": \"{value}\" needs a key and a value"
                ));
            }
        }
        for (index, pattern) in self.node_names.iter().enumerate() {
            check_node_name(pattern)
                .map_err(|reason| format!("{at}.nodeNames[{index}]: {reason}"))?;
        }
        for (index, toleration) in self.tolerations.iter().enumerate() {
            check_toleration(toleration)
                .map_err(|reason| format!("{at}.tolerations[{index}]: {reason}"))?;
        }
        if !self.fargate_profiles.is_empty() && self.scheduler_name.is_none() {
            return Err(format!(
                "{at}.fargateProfiles need the schedulerName EKS sets on the pods they select (fargate-scheduler)"
            ));
        }
        for (index, profile) in self.fargate_profiles.iter().enumerate() {
            profile
                .validate()
                .map_err(|reason| format!("{at}.fargateProfiles[{index}]{reason}"))?;
        }
        Ok(())
    }
}

/// A node name glob: a node name (a lowercase DNS subdomain) in which `*` matches any run of
/// characters. A pod's author picks `nodeName`, so the glob must start with the nodes' own
/// name prefix (`fargate-*`): `*`, `*.*` or `*.internal` would match ordinary nodes too.
fn check_node_name(pattern: &str) -> Result<(), String> {
    if pattern.is_empty() {
        return Err("must not be empty".into());
    }
    if pattern.starts_with('*') {
        return Err(format!(
            "\"{pattern}\" must start with the name prefix of the placement's nodes (e.g. fargate-*), not *: a pod's author picks nodeName, and a leading * matches ordinary nodes too"
        ));
    }
    let literal = pattern.replace('*', "a");
    if pattern.len() > 253 || !is_dns_subdomain(&literal) {
        return Err(format!(
            "\"{pattern}\" is not a node name glob (a lowercase DNS subdomain: a-z, 0-9, - and ., where * matches any run of characters)"
        ));
    }
    Ok(())
}

fn check_toleration(toleration: &RequiredToleration) -> Result<(), String> {
    if toleration.key.is_empty() {
        return Err("key must not be empty".into());
    }
    match (&*toleration.operator, &toleration.value) {
        ("Exists", Some(_)) => return Err("operator Exists takes no value".into()),
        ("Equal", None) => return Err("operator Equal needs a value".into()),
        ("Exists" | "Equal", _) => {}
        (other, _) => return Err(format!("operator \"{other}\" is not Exists or Equal")),
    }
    match toleration.effect.as_deref() {
        None | Some("NoSchedule" | "PreferNoSchedule" | "NoExecute") => Ok(()),
        Some(other) => Err(format!(
            "effect \"{other}\" is not NoSchedule, PreferNoSchedule or NoExecute"
        )),
    }
}

fn is_dns_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

fn is_dns_subdomain(name: &str) -> bool {
    name.len() <= 253 && name.split('.').all(is_dns_label)
}
