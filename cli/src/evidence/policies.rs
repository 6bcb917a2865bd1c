//! What the deployed policy manifests say, per policy: module and digest, mode, failure
//! policy, webhook type, covered kinds and operations, namespace and object selectors, every
//! setting against the bundle's recommendation, and the exceptions.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use pci_host::bundle::policy_of_module;
use pci_shared::workload::WorkloadKind;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::deployment_objects::{self, is_deployment_object};
use crate::profile::Profile;

/// One deployed policy or policy group.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyEvidence {
    pub name: String,
    pub kind: String,
    pub namespace: Option<String>,
    /// The file the manifest was read from.
    pub file: String,
    /// The bundle policies its modules are (one, or a group's members').
    pub bundle_policies: Vec<String>,
    pub modules: Vec<ModuleEvidence>,
    /// Guidance sections (`io.pci-policies.controls`).
    pub sections: Vec<String>,
    pub mode: String,
    pub failure_policy: String,
    /// `validating` or `mutating`.
    pub webhook: String,
    pub background_audit: bool,
    pub kinds: Vec<String>,
    pub operations: Vec<String>,
    pub namespace_selector: String,
    pub object_selector: String,
    pub match_conditions: Vec<String>,
    pub timeout_seconds: Option<u64>,
    pub settings: Vec<SettingEvidence>,
    /// Only for a group: its expression.
    pub expression: Option<String>,
    /// Why the policy refuses its own settings, as far as the pack can tell (exceptions without
    /// valid namespaces): policy-server does not start such a policy, so it enforces nothing.
    #[serde(default)]
    pub refused_settings: Vec<String>,
    /// What a cluster's export shows of it at work (`--cluster`; none from manifests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<super::operation::Operation>,
}

/// A module reference, its digest when pinned, and what is known of its signature.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModuleEvidence {
    /// The group member name, empty for a single policy.
    pub member: String,
    pub reference: String,
    pub digest: Option<String>,
    pub signature: String,
}

/// One setting: deployed value, recommended value, and whether it deviates.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SettingEvidence {
    /// `<setting>`, or `<member>.<setting>` in a group.
    pub setting: String,
    pub value: Value,
    pub recommended: Option<Value>,
    /// `matches`, `deviation`, `organisation-specific`, `twin` (the validating twin's patch
    /// switch), `in the exceptions register`, `group member` or `not in the bundle's profile`.
    pub status: String,
    pub why: String,
}

impl SettingEvidence {
    pub fn is_deviation(&self) -> bool {
        self.status == "deviation"
    }
}

/// The policy kinds read.
pub(super) const KINDS: [&str; 4] = [
    "ClusterAdmissionPolicy",
    "AdmissionPolicy",
    "ClusterAdmissionPolicyGroup",
    "AdmissionPolicyGroup",
];

/// Every policy manifest of `paths`, with the file it came from. A folder is read as
/// `kubectl apply -f` reads it: its own `.yaml`, `.yml` and `.json` files, not its
/// subfolders (`manifests/monitor/` is another rollout of the same policies). The PolicyServer
/// and the other objects a bundle deploys beside its policies are passed over; any other kind
/// is an error, so nothing a reader meant as a policy is left out of the pack in silence.
pub fn read_manifests(paths: &[PathBuf]) -> Result<Vec<(String, Value)>> {
    let mut documents = Vec::new();
    for path in paths {
        if !path.exists() {
            bail!("--manifests {}: no such file or folder", path.display());
        }
        for file in files_in(path)? {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let read = pci_policies::manifests::yaml::documents(&file.display().to_string(), &text)
                .map_err(anyhow::Error::msg)?;
            for (index, (_, value)) in read.into_iter().enumerate() {
                // `kubectl get … -o yaml` wraps what it prints in a List.
                let items = match value["items"].as_array() {
                    Some(items) if value["kind"].as_str().is_some_and(|k| k.ends_with("List")) => {
                        items.clone()
                    }
                    _ => vec![value],
                };
                for item in items.into_iter().filter(|item| !item.is_null()) {
                    let kind = item["kind"].as_str().unwrap_or_default();
                    if KINDS.contains(&kind) {
                        documents.push((file.display().to_string(), item));
                    } else if !is_deployment_object(&item) {
                        bail!(
                            "{}: document {}: a {kind:?} is neither a policy ({}) nor an object a bundle deploys beside its policies ({})",
                            file.display(),
                            index + 1,
                            KINDS.join(", "),
                            deployment_objects::kinds()
                        );
                    }
                }
            }
        }
    }
    Ok(documents)
}

/// The manifest files of a path: itself, or a folder's own files in name order.
pub fn files_in(path: &std::path::Path) -> Result<Vec<PathBuf>> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .flatten()
        .map(|entry| entry.path())
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// The evidence of every policy, by section and name. A policy found in several files (the
/// bundle file and the per-policy file) is listed once; two different definitions of one
/// policy are an error, never a silent pick.
pub fn collect(documents: &[(String, Value)]) -> Result<Vec<PolicyEvidence>> {
    let mut seen: BTreeMap<(String, Option<String>, String), (&str, &Value)> = BTreeMap::new();
    let mut policies = Vec::new();
    for (file, document) in documents {
        let kind = document["kind"].as_str().unwrap_or_default().to_owned();
        let name = document["metadata"]["name"]
            .as_str()
            .with_context(|| format!("{file}: a {kind} without metadata.name"))?
            .to_owned();
        let namespace = document["metadata"]["namespace"]
            .as_str()
            .map(str::to_owned);
        let key = (kind.clone(), namespace.clone(), name.clone());
        if let Some((first, spec)) = seen.get(&key) {
            if *spec != &document["spec"] {
                bail!(
                    "{kind} {name} is defined twice with different specs, in {first} and {file}: give one rollout"
                );
            }
            continue;
        }
        seen.insert(key, (file, &document["spec"]));
        policies.push(evidence_of(
            file, &kind, &name, namespace, document, documents,
        ));
    }
    policies.sort_by(|a, b| (&a.sections, &a.name).cmp(&(&b.sections, &b.name)));
    Ok(policies)
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

/// What one policy or policy group's manifest says (`all`: every document read, where a
/// validating twin's mutating sibling is found).
fn evidence_of(
    file: &str,
    kind: &str,
    name: &str,
    namespace: Option<String>,
    document: &Value,
    all: &[(String, Value)],
) -> PolicyEvidence {
    let spec = &document["spec"];
    let group = kind.ends_with("Group");
    let Parts {
        modules,
        settings,
        bundle_policies,
    } = if group {
        group_parts(spec)
    } else {
        single_parts(spec, name, all)
    };
    let sections = sections_of(&document["metadata"]["annotations"], &bundle_policies);
    // A namespaced policy (AdmissionPolicy, AdmissionPolicyGroup) sees its own namespace only.
    let namespace_selector = match (&namespace, kind.starts_with("Cluster")) {
        (Some(own), false) => format!("only its own namespace, {own}"),
        _ => selector(&spec["namespaceSelector"], "every namespace"),
    };
    let (kinds, operations) = coverage(&spec["rules"]);
    PolicyEvidence {
        name: name.to_owned(),
        kind: kind.to_owned(),
        namespace,
        file: file.to_owned(),
        bundle_policies,
        modules,
        sections,
        mode: spec["mode"].as_str().unwrap_or("protect").to_owned(),
        failure_policy: spec["failurePolicy"].as_str().unwrap_or("Fail").to_owned(),
        webhook: if spec["mutating"].as_bool().unwrap_or(false) {
            "mutating"
        } else {
            "validating"
        }
        .to_owned(),
        background_audit: spec["backgroundAudit"].as_bool().unwrap_or(true),
        kinds,
        operations,
        // A namespaced policy (AdmissionPolicy, AdmissionPolicyGroup) sees its own namespace only.
        namespace_selector,
        object_selector: selector(&spec["objectSelector"], "every object"),
        match_conditions: match_conditions_of(&spec["matchConditions"]),
        timeout_seconds: spec["timeoutSeconds"].as_u64(),
        refused_settings: Vec::new(),
        operation: None,
        settings,
        expression: group.then(|| text(&spec["expression"])),
    }
}

/// A policy's modules, its settings against the bundle's, and the bundle policies its modules
/// are.
#[derive(Default)]
struct Parts {
    modules: Vec<ModuleEvidence>,
    settings: Vec<SettingEvidence>,
    bundle_policies: Vec<String>,
}

/// A group's parts: every member's module and settings (prefixed `<member>.`).
fn group_parts(spec: &Value) -> Parts {
    let mut parts = Parts::default();
    if let Some(members) = spec["policies"].as_object() {
        for (member, definition) in members {
            let reference = text(&definition["module"]);
            let bundle = policy_of_module(&reference).unwrap_or_default().to_owned();
            parts.settings.extend(settings_of(
                &format!("{member}."),
                &bundle,
                &definition["settings"],
                None,
            ));
            parts.modules.push(module_of(member, &reference));
            parts.bundle_policies.push(bundle);
        }
    }
    parts
}

/// A single policy's parts; its settings are judged with its mutating sibling's (in `all`).
fn single_parts(spec: &Value, name: &str, all: &[(String, Value)]) -> Parts {
    let reference = text(&spec["module"]);
    let bundle = policy_of_module(&reference).unwrap_or_default().to_owned();
    // A validating twin's sibling deploys the patching settings.
    let sibling = all.iter().find_map(|(_, other)| {
        (other["metadata"]["name"].as_str() == Some(&format!("{name}-mutate")))
            .then(|| &other["spec"]["settings"])
    });
    Parts {
        settings: settings_of("", &bundle, &spec["settings"], sibling),
        modules: vec![module_of("", &reference)],
        bundle_policies: vec![bundle],
    }
}

/// The guidance sections a policy covers: its `io.pci-policies.controls` annotation, else its
/// bundle policies' sections.
fn sections_of(annotations: &Value, bundle_policies: &[String]) -> Vec<String> {
    annotations["io.pci-policies.controls"]
        .as_str()
        .map(|c| c.split(',').map(|s| s.trim().to_owned()).collect())
        .unwrap_or_else(|| {
            let profile = Profile::get();
            let mut sections: Vec<String> = bundle_policies
                .iter()
                .filter_map(|b| profile.policy(b))
                .flat_map(|p| p.sections.clone())
                .collect();
            sections.sort();
            sections.dedup();
            sections
        })
}

/// Each match condition as `<name>: <expression>`.
fn match_conditions_of(conditions: &Value) -> Vec<String> {
    conditions
        .as_array()
        .map(|conditions| {
            conditions
                .iter()
                .map(|c| format!("{}: {}", text(&c["name"]), text(&c["expression"])))
                .collect()
        })
        .unwrap_or_default()
}

fn module_of(member: &str, reference: &str) -> ModuleEvidence {
    let digest = reference
        .split_once('@')
        .map(|(_, digest)| digest.to_owned());
    let signature = if digest.is_some() {
        "pinned by digest; signature not checked in this pack (see how to reproduce)"
    } else {
        "tag only: pin the module by digest to make the evidence exact"
    };
    ModuleEvidence {
        member: member.to_owned(),
        reference: reference.to_owned(),
        digest,
        signature: signature.to_owned(),
    }
}

/// The kinds and operations the rules cover (`pods/ephemeralcontainers` as written).
fn coverage(rules: &Value) -> (Vec<String>, Vec<String>) {
    let mut kinds = BTreeSet::new();
    let mut operations = BTreeSet::new();
    for rule in rules.as_array().into_iter().flatten() {
        let groups: Vec<String> = rule["apiGroups"]
            .as_array()
            .into_iter()
            .flatten()
            .map(text)
            .collect();
        for resource in rule["resources"].as_array().into_iter().flatten() {
            let resource = text(resource);
            let kind = groups
                .iter()
                .find_map(|group| {
                    WorkloadKind::ALL
                        .into_iter()
                        .find(|k| k.group() == group && k.resource() == resource)
                })
                .map_or(resource.clone(), |k| k.name().to_owned());
            kinds.insert(kind);
        }
        for operation in rule["operations"].as_array().into_iter().flatten() {
            operations.insert(text(operation));
        }
    }
    (
        kinds.into_iter().collect(),
        operations.into_iter().collect(),
    )
}

/// A label selector in words; what it excludes is spelled out.
fn selector(value: &Value, everything: &str) -> String {
    let Some(object) = value.as_object().filter(|o| !o.is_empty()) else {
        return everything.to_owned();
    };
    let mut parts = Vec::new();
    if let Some(labels) = object.get("matchLabels").and_then(Value::as_object) {
        for (key, value) in labels {
            parts.push(format!("only where {key}={}", text(value)));
        }
    }
    for expression in object
        .get("matchExpressions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let key = text(&expression["key"]);
        let values: Vec<String> = expression["values"]
            .as_array()
            .into_iter()
            .flatten()
            .map(text)
            .collect();
        let values = values.join(", ");
        parts.push(match text(&expression["operator"]).as_str() {
            "NotIn" => format!("EXCLUDES {key} in [{values}]"),
            "In" => format!("only where {key} in [{values}]"),
            "DoesNotExist" => format!("EXCLUDES objects labelled {key}"),
            "Exists" => format!("only objects labelled {key}"),
            other => format!("{key} {other} [{values}]"),
        });
    }
    parts.join("; ")
}

/// Every setting of `deployed` against the recommendation of `bundle` (keys of both, sorted).
fn settings_of(
    prefix: &str,
    bundle: &str,
    deployed: &Value,
    sibling: Option<&Value>,
) -> Vec<SettingEvidence> {
    let profile = Profile::get();
    let recommended = profile.policy(bundle);
    let empty = serde_json::Map::new();
    let deployed = deployed.as_object().unwrap_or(&empty);
    let mut keys: BTreeSet<&String> = deployed.keys().collect();
    if prefix.is_empty()
        && let Some(recommended) = recommended
    {
        keys.extend(recommended.settings.keys());
    }
    keys.into_iter()
        .map(|key| {
            let value = deployed.get(key).cloned().unwrap_or(Value::Null);
            let wanted = recommended.and_then(|r| r.settings.get(key)).cloned();
            let recommendation =
                recommended.and_then(|r| r.recommendations.iter().find(|rec| &rec.setting == key));
            let why = recommendation.map_or_else(String::new, |r| r.why.clone());
            let status = match (&wanted, recommendation) {
                _ if !prefix.is_empty() => "group member",
                // Exceptions are expected; each is judged in the register, not here.
                (Some(wanted), _) if key == "exceptions" && *wanted != value => {
                    "in the exceptions register"
                }
                (None, _) => "not in the bundle's profile",
                (Some(wanted), _) if *wanted == value => "matches",
                (_, Some(rec)) if rec.organisation_specific => "organisation-specific",
                (Some(wanted), _) if sibling.is_some_and(|s| s.get(key) == Some(wanted)) => "twin",
                _ => "deviation",
            };
            SettingEvidence {
                setting: format!("{prefix}{key}"),
                value,
                recommended: wanted,
                status: status.to_owned(),
                why,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_manifest_that_is_not_yaml_names_its_file_and_line() {
        let path =
            std::env::temp_dir().join(format!("manifest-broken-{}.yaml", std::process::id()));
        std::fs::write(
            &path,
            "kind: ClusterAdmissionPolicy\nspec:\n  module: \"unclosed\n",
        )
        .unwrap();
        let error = read_manifests(std::slice::from_ref(&path))
            .expect_err("not YAML")
            .to_string();
        std::fs::remove_file(&path).unwrap();
        assert!(
            error.starts_with(&format!("{}:", path.display())) && error.contains("not YAML"),
            "{error}"
        );
    }
}
