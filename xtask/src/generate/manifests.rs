//! The `ClusterAdmissionPolicy`s of one policy with the PCI-recommended settings, on the bundle's
//! PolicyServer and sparing the system namespaces, built with the Kubewarden SDK's CRD types:
//! `manifests/<policy>.yaml` and `deploy/base/policies/<policy>.yaml`.

use anyhow::{Context, Result, bail};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kubewarden_policy_sdk::crd::policies::ClusterAdmissionPolicy;
use kubewarden_policy_sdk::crd::policies::cluster_admission_policy::ClusterAdmissionPolicySpec;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::placement::Placement;
use super::policy::{CONTROLS_ANNOTATION, PolicySources};
use super::webhook::Switch;

/// The file that deploys the whole bundle, in the protect rollout.
pub const BUNDLE: &str = "manifests/pci-policies.yaml";

/// Spec fields that come from metadata.yml, the settings, `timeouts` or the bundle's placement
/// (deploy/bundle.yml), never from pci.yml's `deployment`.
const NOT_FROM_DEPLOYMENT: [&str; 9] = [
    "module",
    "rules",
    "mutating",
    "settings",
    "contextAwareResources",
    "timeoutSeconds",
    "timeoutEvalSeconds",
    "policyServer",
    "namespaceSelector",
];

/// The suffix of the mutating instance's name; the validating policy keeps `pci-<name>`, so
/// the audit evidence is filed under the same name whatever the settings.
pub const MUTATING_SUFFIX: &str = "-mutate";

/// How the generated manifests deploy the bundle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rollout {
    /// The PCI deployment: `mode` and `failurePolicy` as pci.yml says (protect, Fail).
    Protect,
    /// The first step of a rollout: `mode: monitor` and `failurePolicy: Ignore`; every verdict
    /// is logged and reported, no request is rejected.
    Monitor,
}

impl Rollout {
    /// `protect` or `monitor` (the Makefile's `MODE`).
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "protect" => Ok(Self::Protect),
            "monitor" => Ok(Self::Monitor),
            other => bail!("MODE {other:?} is not a rollout mode; expected protect or monitor"),
        }
    }

    /// Where its manifests are written.
    pub fn dir(self) -> &'static str {
        match self {
            Self::Protect => "manifests",
            Self::Monitor => "manifests/monitor",
        }
    }

    /// Sets the spec fields this rollout decides (on a spec set up for protect).
    pub fn apply(self, spec: &mut Map<String, Value>) {
        if self == Self::Monitor {
            spec.insert("mode".into(), Value::String("monitor".into()));
            spec.insert("failurePolicy".into(), Value::String("Ignore".into()));
        }
    }
}

/// `registry://<ociUrl>:v<version>`, the module a manifest names before a release pins it.
pub fn default_module(policy: &PolicySources) -> Result<String> {
    Ok(format!("registry://{}", policy.image()?))
}

/// The `ClusterAdmissionPolicy`s deploying `policy` with `module`: a validating policy
/// `pci-<name>`, preceded by a mutating instance `pci-<name>-mutate` when the recommended
/// settings can patch. The validating one runs after every mutating webhook (service-mesh
/// sidecars included) and carries the background audit; the mutating one does not, because
/// the audit scanner counts a patch as a pass.
pub fn cluster_admission_policies(
    policy: &PolicySources,
    rollout: Rollout,
    module: &str,
    placement: &Placement,
) -> Result<Vec<ClusterAdmissionPolicy>> {
    let switch = Switch::for_policy(&policy.name)?;
    let settings = &policy.pci.settings;
    let mut policies = Vec::new();
    let patches = switch.can_patch(settings)?;
    if patches {
        policies.push(instance(
            policy,
            Instance {
                name: format!("pci-{}{MUTATING_SUFFIX}", policy.name),
                settings: settings.clone(),
                mutating: true,
            },
            rollout,
            module,
            placement,
        )?);
    }
    policies.push(instance(
        policy,
        Instance {
            name: format!("pci-{}", policy.name),
            // Settings that cannot patch are deployed as recommended, every key written, so
            // the evidence pack compares each with its recommendation.
            settings: if patches {
                switch.validating_twin(settings)?
            } else {
                settings.clone()
            },
            mutating: false,
        },
        rollout,
        module,
        placement,
    )?);
    Ok(policies)
}

/// One deployed instance of a policy.
pub struct Instance {
    pub name: String,
    pub settings: Map<String, Value>,
    pub mutating: bool,
}

/// The `ClusterAdmissionPolicy` deploying one instance of `policy`: module, rules, settings and
/// timeouts from its sources, pci.yml's `deployment`, the rollout's mode, and the bundle's
/// PolicyServer with a namespace selector sparing the system namespaces.
pub fn instance(
    policy: &PolicySources,
    instance: Instance,
    rollout: Rollout,
    module: &str,
    placement: &Placement,
) -> Result<ClusterAdmissionPolicy> {
    let mut spec = Map::new();
    spec.insert("module".into(), Value::String(module.to_owned()));
    spec.insert(
        "policyServer".into(),
        Value::String(placement.policy_server.clone()),
    );
    spec.insert(
        "namespaceSelector".into(),
        serde_json::to_value(placement.sparing_system_namespaces())?,
    );
    spec.insert(
        "rules".into(),
        serde_json::to_value(&policy.metadata.rules)?,
    );
    spec.insert("mutating".into(), Value::Bool(instance.mutating));
    spec.insert("settings".into(), Value::Object(instance.settings));
    if !policy.metadata.context_aware_resources.is_empty() {
        spec.insert(
            "contextAwareResources".into(),
            serde_json::to_value(&policy.metadata.context_aware_resources)?,
        );
    }
    let timeouts = &policy.pci.timeouts;
    spec.insert("timeoutSeconds".into(), timeouts.webhook_seconds.into());
    if let Some(eval) = timeouts.evaluation_seconds {
        spec.insert("timeoutEvalSeconds".into(), eval.into());
    }
    for (key, value) in &policy.pci.deployment {
        if NOT_FROM_DEPLOYMENT.contains(&key.as_str()) {
            bail!(
                "pci.yml deployment must not set {key}: it comes from metadata.yml, the settings or timeouts"
            );
        }
        spec.insert(key.clone(), value.clone());
    }
    if instance.mutating {
        spec.insert("backgroundAudit".into(), Value::Bool(false));
    }
    rollout.apply(&mut spec);
    let spec: ClusterAdmissionPolicySpec = serde_json::from_value(Value::Object(spec))
        .context("pci.yml deployment is not a valid ClusterAdmissionPolicy spec")?;
    let mut annotations = std::collections::BTreeMap::new();
    for key in [
        "io.kubewarden.policy.severity",
        "io.kubewarden.policy.category",
        CONTROLS_ANNOTATION,
    ] {
        if let Some(value) = policy.optional_annotation(key) {
            annotations.insert(key.to_owned(), value.to_owned());
        }
    }
    Ok(ClusterAdmissionPolicy {
        metadata: ObjectMeta {
            name: Some(instance.name),
            annotations: Some(annotations),
            ..ObjectMeta::default()
        },
        spec: Some(spec),
        ..Default::default()
    })
}

/// `<dir>/<name>.yaml`: the policy's documents with a header saying what they are.
pub fn manifest(
    policy: &PolicySources,
    rollout: Rollout,
    module: &str,
    placement: &Placement,
) -> Result<String> {
    let placeholders: Vec<&str> = policy
        .pci
        .recommendations
        .iter()
        .filter(|r| r.organisation_specific)
        .map(|r| r.setting.as_str())
        .collect();
    let policies = cluster_admission_policies(policy, rollout, module, placement)?;
    let mut header = format!(
        "# PCI-recommended deployment of {name}, generated by `make generate` from\n# policies/{name}/metadata.yml and pci.yml; docs/pci-matrix.md says why each value.\n",
        name = policy.name
    );
    if rollout == Rollout::Monitor {
        header.push_str("# Monitor rollout (docs/rollout.md): nothing is rejected; read the reports, then deploy manifests/.\n");
    }
    if policies.len() > 1 {
        header.push_str(&format!(
            "# Its settings patch, so it is deployed twice: pci-{name}{MUTATING_SUFFIX} (mutating, no audit) applies\n# the fix, pci-{name} (validating, audited) checks the final object after every other webhook.\n",
            name = policy.name
        ));
    }
    if !placeholders.is_empty() {
        header.push_str(&format!(
            "# Organisation-specific examples, settings {}: state yours once in a copy of\n# deploy/examples/organisation/values.yaml (or replace them in this file before applying it).\n",
            placeholders.join(", ")
        ));
    }
    Ok(format!("{header}{}", documents(&policies)?))
}

/// Objects as YAML documents, each after `---`.
pub fn documents<T: serde::Serialize>(objects: &[T]) -> Result<String> {
    let mut text = String::new();
    for object in objects {
        text.push_str("---\n");
        text.push_str(&to_yaml(object)?);
    }
    Ok(text)
}

/// YAML without the `null`s of unset optional fields, read back by Kubernetes tools as written
/// ([`super::yaml`]).
pub fn to_yaml(policy: &impl serde::Serialize) -> Result<String> {
    let mut value = serde_json::to_value(policy)?;
    drop_nulls(&mut value);
    super::yaml::to_string(&value)
}

/// Removes the `null`s of unset optional fields, at any depth.
pub fn drop_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

/// Parses manifest text with the SDK's CRD types; a field the types do not know is an error at
/// any depth (the types themselves ignore unknown fields below `spec`): every field of the
/// document must come back when the typed value is written out again.
pub fn parse_strict(text: &str) -> Result<Vec<ClusterAdmissionPolicy>> {
    let mut policies = Vec::new();
    for (index, document) in yaml_serde::Deserializer::from_str(text).enumerate() {
        let document = Value::deserialize(document)
            .with_context(|| format!("document {} is not YAML", index + 1))?;
        let policy: ClusterAdmissionPolicy = serde_json::from_value(document.clone())
            .with_context(|| format!("document {} is not a ClusterAdmissionPolicy", index + 1))?;
        let unknown = unknown_fields(&document, &serde_json::to_value(&policy)?);
        if !unknown.is_empty() {
            bail!(
                "document {}: fields the ClusterAdmissionPolicy CRD does not know: {}",
                index + 1,
                unknown.join(", ")
            );
        }
        policies.push(policy);
    }
    Ok(policies)
}

/// The paths of `document` that do not come back, with the same value, in `written` (the
/// document read with the CRD types and written out again).
pub fn unknown_fields(document: &Value, written: &Value) -> Vec<String> {
    let mut unknown = Vec::new();
    fields_not_kept(document, written, String::new(), &mut unknown);
    unknown
}

/// The paths of `original` that `written` does not have with the same value.
fn fields_not_kept(original: &Value, written: &Value, path: String, lost: &mut Vec<String>) {
    match (original, written) {
        (Value::Object(original), Value::Object(written)) => {
            for (key, value) in original {
                let at = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match written.get(key) {
                    Some(kept) => fields_not_kept(value, kept, at, lost),
                    None if value.is_null() => {}
                    None => lost.push(at),
                }
            }
        }
        (Value::Array(original), Value::Array(written)) if original.len() == written.len() => {
            for (index, (value, kept)) in original.iter().zip(written).enumerate() {
                fields_not_kept(value, kept, format!("{path}[{index}]"), lost);
            }
        }
        (original, written) if original == written => {}
        _ => lost.push(path),
    }
}
