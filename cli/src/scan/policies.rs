//! The policies a scan evaluates, read from `ClusterAdmissionPolicy` / `AdmissionPolicy`
//! manifests (by default the bundle's recommended deployment, embedded): module, settings,
//! mode, webhook type and rules, with each module compiled once.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use pci_host::host::{Engine, Policy};
use serde::Deserialize;
use serde_json::Value;

/// The recommended deployment of this bundle (`manifests/pci-policies.yaml`).
pub const RECOMMENDED: &str = include_str!("../../../manifests/pci-policies.yaml");

/// One rule of a policy (`spec.rules[]`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    #[serde(default)]
    pub api_groups: Vec<String>,
    #[serde(default)]
    pub api_versions: Vec<String>,
    #[serde(default)]
    pub resources: Vec<String>,
    #[serde(default)]
    pub operations: Vec<String>,
}

impl Rule {
    fn matches(&self, group: &str, version: &str, resource: &str, operation: &str) -> bool {
        let any = |list: &[String], value: &str| list.iter().any(|v| v == "*" || v == value);
        any(&self.api_groups, group)
            && any(&self.api_versions, version)
            && any(&self.resources, resource)
            && any(&self.operations, operation)
    }
}

/// A deployed policy.
pub struct Deployed {
    /// `metadata.name`.
    pub name: String,
    /// The namespace of an `AdmissionPolicy` (it sees only that namespace).
    pub namespace: Option<String>,
    pub policy: std::sync::Arc<Policy>,
    pub settings: Value,
    pub mutating: bool,
    pub monitor: bool,
    pub rules: Vec<Rule>,
}

impl Deployed {
    /// True when the policy is called for `request` (its rules and, for an AdmissionPolicy,
    /// its namespace).
    pub fn applies_to(&self, request: &Value) -> bool {
        if let Some(namespace) = &self.namespace
            && request["namespace"].as_str() != Some(namespace)
        {
            return false;
        }
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        let resource = &request["resource"];
        let operation = text(&request["operation"]);
        self.rules.iter().any(|rule| {
            rule.matches(
                &text(&resource["group"]),
                &text(&resource["version"]),
                &text(&resource["resource"]),
                &operation,
            )
        })
    }
}

/// Reads the policies of a manifest text; modules come from `modules_dir` (`<policy>.wasm`,
/// the last path segment of the module reference without its tag).
pub fn read(text: &str, engine: &Engine, modules_dir: &Path) -> Result<Vec<Deployed>> {
    let mut compiled: BTreeMap<String, std::sync::Arc<Policy>> = BTreeMap::new();
    let mut deployed = Vec::new();
    for (index, document) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let document = Value::deserialize(document)
            .with_context(|| format!("policies: document {} is not YAML", index + 1))?;
        if document.is_null() {
            continue;
        }
        let kind = document["kind"].as_str().unwrap_or_default();
        let namespace = match kind {
            "ClusterAdmissionPolicy" => None,
            "AdmissionPolicy" => Some(
                document["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or("default")
                    .to_owned(),
            ),
            other => bail!(
                "policies: document {} is a {other:?}; a scan reads ClusterAdmissionPolicy and AdmissionPolicy",
                index + 1
            ),
        };
        let name = document["metadata"]["name"]
            .as_str()
            .with_context(|| format!("policies: document {} has no name", index + 1))?
            .to_owned();
        let spec = &document["spec"];
        let module = spec["module"]
            .as_str()
            .with_context(|| format!("{name}: spec.module is required"))?;
        let file = module_file(module, modules_dir)?;
        let policy = match compiled.get(&file) {
            Some(policy) => policy.clone(),
            None => {
                let bytes = std::fs::read(modules_dir.join(&file)).with_context(|| {
                    format!(
                        "{name}: cannot read {} for {module} (run `make build`, or give --modules)",
                        modules_dir.join(&file).display()
                    )
                })?;
                let policy = std::sync::Arc::new(engine.load(&bytes)?);
                compiled.insert(file, policy.clone());
                policy
            }
        };
        let rules: Vec<Rule> = serde_json::from_value(spec["rules"].clone())
            .with_context(|| format!("{name}: spec.rules"))?;
        deployed.push(Deployed {
            name,
            namespace,
            policy,
            settings: spec.get("settings").cloned().unwrap_or(Value::Null),
            mutating: spec["mutating"].as_bool().unwrap_or(false),
            monitor: spec["mode"].as_str() == Some("monitor"),
            rules,
        });
    }
    // Mutating webhooks run first, in name order, as the API server orders them.
    deployed.sort_by(|a, b| (!a.mutating, &a.name).cmp(&(!b.mutating, &b.name)));
    Ok(deployed)
}

/// `registry://host/path/<policy>:v1@sha256:…` → `<policy>.wasm`.
fn module_file(module: &str, modules_dir: &Path) -> Result<String> {
    let last = module.rsplit('/').next().unwrap_or(module);
    let name = last.split([':', '@']).next().unwrap_or(last);
    if name.is_empty() {
        bail!("{module}: no policy name in the module reference");
    }
    let file = if name.ends_with(".wasm") {
        name.to_owned()
    } else {
        format!("{name}.wasm")
    };
    let _ = modules_dir;
    Ok(file)
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
    }

    #[test]
    fn module_references_name_their_file() {
        let dir = Path::new("dist");
        for (module, file) in [
            (
                "registry://ghcr.io/pci-policies/pod-security:v0.1.0",
                "pod-security.wasm",
            ),
            (
                "registry://r/x/image-digest:v1@sha256:00",
                "image-digest.wasm",
            ),
            (
                "file:///tmp/trusted-registries.wasm",
                "trusted-registries.wasm",
            ),
        ] {
            assert_eq!(module_file(module, dir).unwrap(), file);
        }
    }
}
