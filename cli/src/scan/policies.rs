//! The policies a scan evaluates, read from `ClusterAdmissionPolicy`, `AdmissionPolicy` and
//! policy-group manifests (by default the bundle's recommended deployment, embedded): module,
//! settings, mode, webhook type, rules and the PCI annotations, with each module compiled once.
//! The PolicyServer and the other objects a bundle deploys beside its policies are passed over.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use pci_host::group::Expression;
use pci_host::host::Policy;
use pci_host::metadata::Rule;
use serde_json::Value;

use super::cluster::Cluster;
use super::match_conditions::{MatchConditions, Matched};
use super::modules::Modules;
use super::selector::{Decision, Selector, labels_of};
use crate::deployment_objects::{self, is_deployment_object};

/// The recommended deployment of this bundle (`manifests/pci-policies.yaml`).
pub const RECOMMENDED: &str = include_str!("../../../manifests/pci-policies.yaml");

/// What a deployed policy runs: one module, or a group of them under an expression.
pub enum Evaluator {
    Single {
        policy: Arc<Policy>,
        settings: Value,
    },
    Group {
        expression: Expression,
        message: String,
        /// Members by name (the expression's function names), in name order.
        members: Vec<Member>,
    },
}

/// A member of a policy group.
pub struct Member {
    pub name: String,
    pub policy: Arc<Policy>,
    pub settings: Value,
}

/// A deployed policy or policy group.
pub struct Deployed {
    /// `metadata.name`.
    pub name: String,
    /// The name policy-server and the audit scanner know it by.
    pub unique_name: String,
    /// The namespace of an `AdmissionPolicy` (it sees only that namespace).
    pub namespace: Option<String>,
    /// `spec.namespaceSelector`.
    pub namespace_selector: Selector,
    /// `spec.objectSelector`.
    pub object_selector: Selector,
    /// `spec.matchConditions`.
    pub match_conditions: MatchConditions,
    pub evaluator: Evaluator,
    /// The bundle policy its module is (`pod-security`), or the group's name.
    pub module: String,
    pub mutating: bool,
    pub monitor: bool,
    pub rules: Vec<Rule>,
    /// `io.pci-policies.controls`, split.
    pub controls: Vec<String>,
    /// `io.kubewarden.policy.severity` (`medium` when absent).
    pub severity: String,
    /// `io.kubewarden.policy.category` (`PCI DSS` when absent).
    pub category: String,
}

/// Whether the API server calls a policy for a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Applies {
    No,
    /// Called; what the scan could not decide and took as met, one line each.
    Yes(Vec<String>),
}

impl Deployed {
    /// Whether the API server calls the policy for `request`, in this order: its rules, its
    /// namespace (an AdmissionPolicy) or namespace selector (with the labels `cluster` knows),
    /// its object selector (the object's labels, or the old object's on UPDATE), its match
    /// conditions.
    pub fn applies_to(&self, request: &Value, cluster: &Cluster) -> Applies {
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        let resource = &request["resource"];
        let operation = text(&request["operation"]);
        let ruled = self.rules.iter().any(|rule| {
            rule.matches(
                &text(&resource["group"]),
                &text(&resource["version"]),
                &text(&resource["resource"]),
                &operation,
            )
        });
        if !ruled {
            return Applies::No;
        }
        let namespace = request["namespace"].as_str().unwrap_or_default();
        if self
            .namespace
            .as_deref()
            .is_some_and(|own| own != namespace)
        {
            return Applies::No;
        }
        let mut assumed = Vec::new();
        if self.namespace.is_none() {
            let labels = cluster.namespace_labels(namespace);
            match self.namespace_selector.decide_namespace(namespace, labels.as_ref()) {
                Decision::NotSelected => return Applies::No,
                Decision::Selected => {}
                Decision::Assumed(requirements) => assumed.push(format!(
                    "namespaceSelector taken as met: the labels of namespace {namespace} are unknown ({}); give its Namespace in the input, --context or --namespace-labels",
                    requirements.join(", ")
                )),
            }
        }
        let selected = ["object", "oldObject"]
            .iter()
            .filter_map(|key| request.get(*key).filter(|o| o.is_object()))
            .map(labels_of)
            .any(|labels| self.object_selector.matches(&labels));
        if !selected {
            return Applies::No;
        }
        match self.match_conditions.evaluate(request) {
            Matched::No(_) => Applies::No,
            Matched::Yes => Applies::Yes(assumed),
            Matched::Assumed(notes) => {
                assumed.extend(notes);
                Applies::Yes(assumed)
            }
        }
    }
}

/// Reads the policies of manifest texts (`(name, text)`: a file, standard input, the
/// recommended deployment), finding each module through `modules`; errors name the source and
/// the document.
pub fn read(sources: &[(String, String)], modules: &mut Modules) -> Result<Vec<Deployed>> {
    let mut deployed = Vec::new();
    for (source, text) in sources {
        let before = deployed.len();
        read_text(source, text, modules, &mut deployed)?;
        // An empty render (a failed `kubectl kustomize` piped in) would pass every workload.
        if deployed.len() == before && sources.len() == 1 {
            bail!(
                "{source}: no ClusterAdmissionPolicy, AdmissionPolicy or policy group in it: nothing to scan with (a failed render piped in? use `set -o pipefail`)"
            );
        }
    }
    if deployed.is_empty() {
        bail!(
            "--policies: no ClusterAdmissionPolicy, AdmissionPolicy or policy group in them: nothing to scan with"
        );
    }
    // Mutating webhooks run first, in name order, as the API server orders them.
    deployed.sort_by(|a, b| (!a.mutating, &a.name).cmp(&(!b.mutating, &b.name)));
    if let Some(twice) = deployed.windows(2).find(|pair| {
        pair[0].unique_name == pair[1].unique_name && pair[0].mutating == pair[1].mutating
    }) {
        bail!("policies: {} is deployed twice", twice[0].unique_name);
    }
    Ok(deployed)
}

fn read_text(
    source: &str,
    text: &str,
    modules: &mut Modules,
    deployed: &mut Vec<Deployed>,
) -> Result<()> {
    let documents =
        pci_policies::manifests::yaml::documents(source, text).map_err(anyhow::Error::msg)?;
    for (index, (_, document)) in documents.into_iter().enumerate() {
        if document.is_null() {
            continue;
        }
        // `kubectl get clusteradmissionpolicies -o yaml` prints a List.
        let items = match document["items"].as_array() {
            Some(items)
                if document["kind"]
                    .as_str()
                    .is_some_and(|k| k.ends_with("List")) =>
            {
                items.clone()
            }
            _ => vec![document],
        };
        for item in items.iter().filter(|item| !is_deployment_object(item)) {
            let at = format!("{source}: document {}", index + 1);
            deployed.push(read_one(item, modules).with_context(|| at)?);
        }
    }
    Ok(())
}

/// One policy or policy group of a manifest, its modules loaded through `modules`.
fn read_one(document: &Value, modules: &mut Modules) -> Result<Deployed> {
    let kind = document["kind"].as_str().unwrap_or_default();
    if kind == "Kustomization" {
        bail!(
            "a Kustomization: render it first, `kubectl kustomize DIR | pci-policies scan --policies - …`"
        );
    }
    let name = document["metadata"]["name"]
        .as_str()
        .context("metadata.name is required")?
        .to_owned();
    let (namespace, group) = placement(document, kind, &name)?;
    let unique_name = match (&namespace, group) {
        (None, false) => format!("clusterwide-{name}"),
        (None, true) => format!("clusterwide-group-{name}"),
        (Some(ns), false) => format!("namespaced-{ns}-{name}"),
        (Some(ns), true) => format!("namespaced-group-{ns}-{name}"),
    };
    let spec = &document["spec"];
    let (evaluator, module, metadata) = if group {
        read_group(&name, spec, modules)?
    } else {
        read_single(&name, spec, modules)?
    };
    let rules: Vec<Rule> = serde_json::from_value(spec["rules"].clone())
        .with_context(|| format!("{name}: spec.rules"))?;
    let selector = |field: &str| {
        Selector::read(spec.get(field), &format!("spec.{field}"))
            .map_err(|error| anyhow::anyhow!("{name}: {error}"))
    };
    let namespace_selector = selector("namespaceSelector")?;
    let object_selector = selector("objectSelector")?;
    let match_conditions =
        MatchConditions::read(spec.get("matchConditions")).with_context(|| name.clone())?;
    // The manifest's annotations win over the module's, as the audit scanner reads them.
    let annotation = |key: &str| {
        document["metadata"]["annotations"][key]
            .as_str()
            .map(str::to_owned)
            .or_else(|| metadata.get(key).cloned())
    };
    let controls = annotation("io.pci-policies.controls")
        .map(|c| c.split(',').map(|s| s.trim().to_owned()).collect())
        .unwrap_or_default();
    Ok(Deployed {
        unique_name,
        namespace,
        namespace_selector,
        object_selector,
        match_conditions,
        evaluator,
        module,
        mutating: spec["mutating"].as_bool().unwrap_or(false),
        monitor: spec["mode"].as_str() == Some("monitor"),
        rules,
        controls,
        severity: annotation("io.kubewarden.policy.severity").unwrap_or_else(|| "medium".into()),
        category: annotation("io.kubewarden.policy.category").unwrap_or_else(|| "PCI DSS".into()),
        name,
    })
}

/// The namespace of a policy of `kind` (none: cluster-wide), and whether it is a group.
fn placement(document: &Value, kind: &str, name: &str) -> Result<(Option<String>, bool)> {
    let namespaced = || {
        Some(
            document["metadata"]["namespace"]
                .as_str()
                .unwrap_or("default")
                .to_owned(),
        )
    };
    Ok(match kind {
        "ClusterAdmissionPolicy" => (None, false),
        "AdmissionPolicy" => (namespaced(), false),
        "ClusterAdmissionPolicyGroup" => (None, true),
        "AdmissionPolicyGroup" => (namespaced(), true),
        other => bail!(
            "{name} is a {other:?}; a scan reads ClusterAdmissionPolicy, AdmissionPolicy and their groups, and passes over the objects a bundle deploys beside them ({})",
            deployment_objects::kinds()
        ),
    })
}

/// A single policy's evaluator: its module (loaded through `modules`) and settings (none: an
/// empty object), with the module's reference and annotations.
fn read_single(name: &str, spec: &Value, modules: &mut Modules) -> Result<Read> {
    let reference = spec["module"]
        .as_str()
        .with_context(|| format!("{name}: spec.module is required"))?;
    let (module, policy) = modules
        .load(reference)
        .with_context(|| format!("{name}: spec.module {reference}"))?;
    let metadata = policy
        .metadata()
        .map(|m| m.annotations.clone())
        .unwrap_or_default();
    let settings = spec.get("settings").cloned().unwrap_or(Value::Null);
    let settings = if settings.is_null() {
        Value::Object(serde_json::Map::new())
    } else {
        settings
    };
    Ok((Evaluator::Single { policy, settings }, module, metadata))
}

type Read = (Evaluator, String, BTreeMap<String, String>);

fn read_group(name: &str, spec: &Value, modules: &mut Modules) -> Result<Read> {
    let text = spec["expression"]
        .as_str()
        .with_context(|| format!("{name}: spec.expression is required"))?;
    let expression = Expression::parse(text)
        .map_err(|e| anyhow::anyhow!("{name}: spec.expression {text:?}: {e}"))?;
    let Some(members) = spec["policies"].as_object() else {
        bail!("{name}: spec.policies must map member names to policies");
    };
    let mut read = Vec::new();
    for (member, definition) in members {
        let reference = definition["module"]
            .as_str()
            .with_context(|| format!("{name}: spec.policies.{member}.module is required"))?;
        let (_, policy) = modules
            .load(reference)
            .with_context(|| format!("{name}: spec.policies.{member}.module {reference}"))?;
        let settings = match definition.get("settings") {
            Some(settings) if !settings.is_null() => settings.clone(),
            _ => Value::Object(serde_json::Map::new()),
        };
        read.push(Member {
            name: member.clone(),
            policy,
            settings,
        });
    }
    if let Some(unknown) = expression
        .members()
        .into_iter()
        .find(|m| !read.iter().any(|r| &r.name == m))
    {
        bail!("{name}: spec.expression calls {unknown}(), which is not in spec.policies");
    }
    let evaluator = Evaluator::Group {
        expression,
        message: spec["message"].as_str().unwrap_or_default().to_owned(),
        members: read,
    };
    Ok((evaluator, name.to_owned(), BTreeMap::new()))
}
