//! Kubewarden policy metadata (`metadata.yml`, and the `io.kubewarden.metadata` section).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::sections;

/// Name of the custom section that carries the metadata.
pub const SECTION: &str = "io.kubewarden.metadata";

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
        serde_yaml::from_str(text).context("metadata.yml is not valid policy metadata")
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
        Ok(())
    }
}

fn field_has_empty(values: &[String]) -> bool {
    values.iter().any(String::is_empty)
}

#[cfg(test)]
mod tests {
    use super::*;

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
