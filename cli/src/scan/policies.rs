//! The policies a scan evaluates, read from `ClusterAdmissionPolicy` / `AdmissionPolicy`
//! manifests (by default the bundle's recommended deployment, embedded): module, settings,
//! mode, webhook type and rules, with each module compiled once.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use pci_host::bundle::policy_of_module;
use pci_host::host::{Engine, Policy};
use pci_host::metadata::Rule;
use serde::Deserialize;
use serde_json::Value;

/// The recommended deployment of this bundle (`manifests/pci-policies.yaml`).
pub const RECOMMENDED: &str = include_str!("../../../manifests/pci-policies.yaml");

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
        let file = format!(
            "{}.wasm",
            policy_of_module(module)
                .with_context(|| format!("{name}: no policy name in {module}"))?
        );
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
