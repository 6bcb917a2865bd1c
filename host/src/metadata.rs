//! Kubewarden policy metadata (`metadata.yml`, and the `io.kubewarden.metadata` section).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::sections;

/// Name of the custom section that carries the metadata.
pub const SECTION: &str = "io.kubewarden.metadata";

/// The Kubewarden release whose kwctl and policy-server this host follows (the controller
/// repository's crates, kwctl 1.36): what a module's `minimumKubewardenVersion` is compared with.
pub const HOST_KUBEWARDEN_VERSION: semver::Version = semver::Version::new(1, 36, 0);

/// An admission rule (`rules[*]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    pub api_groups: Vec<String>,
    pub api_versions: Vec<String>,
    pub resources: Vec<String>,
    pub operations: Vec<String>,
}

impl Rule {
    /// True when the API server calls the webhook for this group, version, resource and
    /// operation (`*` matches anything).
    pub fn matches(&self, group: &str, version: &str, resource: &str, operation: &str) -> bool {
        let any = |list: &[String], value: &str| list.iter().any(|v| v == "*" || v == value);
        any(&self.api_groups, group)
            && any(&self.api_versions, version)
            && any(&self.resources, resource)
            && any(&self.operations, operation)
    }
}

/// A Kubernetes resource a context-aware policy reads.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContextAwareResource {
    pub api_version: String,
    pub kind: String,
}

/// The metadata, in the field order `kwctl annotate` writes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    #[serde(default)]
    pub protocol_version: Option<String>,
    pub rules: Vec<Rule>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    pub mutating: bool,
    #[serde(default = "default_true")]
    pub background_audit: bool,
    #[serde(default = "default_execution_mode")]
    pub execution_mode: String,
    #[serde(default = "default_policy_type")]
    pub policy_type: String,
    #[serde(default)]
    pub context_aware_resources: BTreeSet<ContextAwareResource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_capabilities: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_kubewarden_version: Option<String>,
}

fn default_true() -> bool {
    true
}
fn default_execution_mode() -> String {
    "kubewarden-wapc".into()
}
fn default_policy_type() -> String {
    "kubernetes".into()
}

const OPERATIONS: [&str; 5] = ["CREATE", "UPDATE", "DELETE", "CONNECT", "*"];

impl Metadata {
    /// Reads `metadata.yml`.
    pub fn from_yaml(text: &str) -> Result<Self> {
        yaml_serde::from_str(text).context("metadata.yml is not valid policy metadata")
    }

    /// The metadata embedded in a module, if it is annotated.
    pub fn from_module(module: &[u8]) -> Result<Option<Self>> {
        match sections::read_custom(module, SECTION)? {
            Some(payload) => Ok(Some(
                serde_json::from_slice(&payload)
                    .context("the io.kubewarden.metadata section is not valid JSON metadata")?,
            )),
            None => Ok(None),
        }
    }

    /// Checks the rules policy-server applies before serving a policy.
    pub fn validate(&self) -> Result<()> {
        if self.rules.is_empty() {
            bail!("metadata: rules must not be empty");
        }
        for (index, rule) in self.rules.iter().enumerate() {
            for (field, values) in [
                ("apiGroups", &rule.api_groups),
                ("apiVersions", &rule.api_versions),
                ("resources", &rule.resources),
                ("operations", &rule.operations),
            ] {
                if values.is_empty() {
                    bail!("metadata: rules[{index}].{field} must not be empty");
                }
                if values.len() > 1 && values.iter().any(|v| v == "*") {
                    bail!("metadata: rules[{index}].{field}: '*' must be the only value");
                }
            }
            if field_has_empty(&rule.api_versions) || field_has_empty(&rule.resources) {
                bail!("metadata: rules[{index}] has an empty apiVersion or resource");
            }
            if let Some(op) = rule
                .operations
                .iter()
                .find(|op| !OPERATIONS.contains(&op.as_str()))
            {
                bail!("metadata: rules[{index}].operations: unknown operation {op}");
            }
        }
        if self.execution_mode == "kubewarden-wapc"
            && self.protocol_version.as_deref() != Some("v1")
        {
            bail!("metadata: a kubewarden-wapc policy must have protocolVersion v1");
        }
        if let Some(bad) = self
            .context_aware_resources
            .iter()
            .find(|r| r.api_version.is_empty() || r.kind.is_empty())
        {
            bail!("metadata: contextAwareResources entry {bad:?} needs apiVersion and kind");
        }
        self.minimum_kubewarden_version()?;
        Ok(())
    }

    /// `minimumKubewardenVersion` read as policy-server reads it: a semantic version
    /// (`1.29.0`; `1.29` or `v1.29.0` make the metadata unreadable there, so they are refused
    /// here), or none.
    pub fn minimum_kubewarden_version(&self) -> Result<Option<semver::Version>> {
        self.minimum_kubewarden_version
            .as_deref()
            .map(|text| {
                semver::Version::parse(text).with_context(|| {
                    format!(
                        "metadata: minimumKubewardenVersion {text:?} is not a semantic version (major.minor.patch, e.g. 1.29.0)"
                    )
                })
            })
            .transpose()
    }

    /// Refuses a policy that needs a newer Kubewarden than `running`, as policy-server and kwctl
    /// do: only major and minor count (the patch, pre-release and build of both versions are
    /// dropped, so a 1.29.0-rc1 runs a policy that asks for 1.29.3, and 1.28.9 refuses 1.29.0).
    pub fn check_kubewarden_version(&self, running: &semver::Version) -> Result<()> {
        let Some(minimum) = self.minimum_kubewarden_version()? else {
            return Ok(());
        };
        let release = |version: &semver::Version| (version.major, version.minor);
        if release(running) < release(&minimum) {
            bail!(
                "the policy requires Kubewarden {}.{} or newer (minimumKubewardenVersion {minimum}); this host runs as Kubewarden {running}",
                minimum.major,
                minimum.minor
            );
        }
        Ok(())
    }
}

fn field_has_empty(values: &[String]) -> bool {
    values.iter().any(String::is_empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn requiring(minimum: Option<&str>) -> Metadata {
        Metadata {
            protocol_version: Some("v1".into()),
            rules: vec![Rule {
                api_groups: vec!["".into()],
                api_versions: vec!["v1".into()],
                resources: vec!["pods".into()],
                operations: vec!["CREATE".into()],
            }],
            annotations: BTreeMap::new(),
            mutating: false,
            background_audit: true,
            execution_mode: default_execution_mode(),
            policy_type: default_policy_type(),
            context_aware_resources: BTreeSet::new(),
            host_capabilities: None,
            minimum_kubewarden_version: minimum.map(str::to_owned),
        }
    }

    /// kwctl's and policy-server's rule: major.minor of both, nothing else.
    #[test]
    fn a_policy_runs_on_its_minimum_kubewarden_release_and_later_ones_only() {
        let version = |text: &str| semver::Version::parse(text).unwrap();
        for (minimum, running, runs) in [
            ("1.29.0", "1.29.0", true),
            ("1.29.0", "1.36.2", true),
            ("1.29.0", "2.0.0", true),
            ("1.29.3", "1.29.0", true),
            ("1.29.0", "1.29.0-rc1", true),
            ("1.29.0-rc1", "1.29.0", true),
            ("1.29.0", "1.28.9", false),
            ("1.29.0", "0.99.0", false),
            ("2.0.0", "1.99.0", false),
        ] {
            let result = requiring(Some(minimum)).check_kubewarden_version(&version(running));
            assert_eq!(result.is_ok(), runs, "{minimum} on {running}: {result:?}");
            if let Err(error) = result {
                let message = error.to_string();
                assert!(
                    message.contains(&format!("minimumKubewardenVersion {minimum}"))
                        && message.contains(running),
                    "{message}"
                );
            }
        }
        assert!(
            requiring(None)
                .check_kubewarden_version(&version("0.1.0"))
                .is_ok()
        );
    }

    /// policy-server reads the field as a semantic version: anything else makes its metadata
    /// unreadable, so validation refuses it, naming the field.
    #[test]
    fn a_minimum_kubewarden_version_that_is_not_semver_is_refused() {
        assert!(requiring(Some("1.29.0")).validate().is_ok());
        for bad in ["1.29", "v1.29.0", "", "1.29.x", "latest"] {
            let error = requiring(Some(bad)).validate().unwrap_err();
            assert!(
                format!("{error:#}").contains("minimumKubewardenVersion"),
                "{bad}: {error:#}"
            );
        }
    }

    #[test]
    fn rules_match_group_version_resource_and_operation() {
        let rule = Rule {
            api_groups: vec!["apps".into()],
            api_versions: vec!["v1".into()],
            resources: vec!["deployments".into()],
            operations: vec!["CREATE".into(), "UPDATE".into()],
        };
        assert!(rule.matches("apps", "v1", "deployments", "CREATE"));
        assert!(!rule.matches("", "v1", "pods", "CREATE"));
        assert!(!rule.matches("apps", "v1", "deployments", "DELETE"));
        let any_group = Rule {
            api_groups: vec!["*".into()],
            ..rule.clone()
        };
        assert!(any_group.matches("batch", "v1", "deployments", "UPDATE"));
    }
}
