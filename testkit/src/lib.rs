//! Test support for every test of the bundle (a dev-dependency, never in a policy's wasm): build
//! admission requests for any workload kind from a pod spec, and read table-driven cases shared
//! by the native unit tests and the end-to-end tests through the compiled policies.

pub mod oracle;

use serde::Deserialize;
use serde_json::{Value, json};

use pci_shared::workload::WorkloadKind;

/// RFC 7386 JSON merge patch: objects merge, `null` deletes, anything else replaces.
pub fn merge(target: &mut Value, patch: &Value) {
    let Value::Object(patch_map) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    if let Value::Object(target_map) = target {
        for (key, value) in patch_map {
            if value.is_null() {
                target_map.remove(key);
            } else {
                merge(target_map.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

/// The object of `kind` carrying `pod_metadata` and `pod_spec` where that kind keeps them.
pub fn workload_object(
    kind: WorkloadKind,
    name: &str,
    pod_metadata: Value,
    pod_spec: Value,
) -> Value {
    let template = json!({"metadata": pod_metadata, "spec": pod_spec});
    let api_version = match kind.group() {
        "" => "v1".to_owned(),
        group => format!("{group}/v1"),
    };
    let mut object = json!({
        "apiVersion": api_version,
        "kind": kind.name(),
        "metadata": {"name": name, "namespace": "default"},
    });
    match kind {
        WorkloadKind::Pod => {
            merge(
                &mut object,
                &json!({"metadata": template["metadata"].clone()}),
            );
            object["spec"] = template["spec"].clone();
        }
        WorkloadKind::CronJob => {
            object["spec"] =
                json!({"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": template}}});
        }
        WorkloadKind::PodTemplate => object["template"] = template,
        _ => {
            object["spec"] =
                json!({"selector": {"matchLabels": {"app": name}}, "template": template})
        }
    }
    object
}

/// An `AdmissionRequest` for `object` (camelCase, as the host sends it).
pub fn admission_request(kind: WorkloadKind, operation: &str, object: Value) -> Value {
    let version = "v1";
    let name = object["metadata"]["name"].clone();
    json!({
        "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
        "kind": {"group": kind.group(), "version": version, "kind": kind.name()},
        "resource": {"group": kind.group(), "version": version, "resource": kind.resource()},
        "requestKind": {"group": kind.group(), "version": version, "kind": kind.name()},
        "requestResource": {"group": kind.group(), "version": version, "resource": kind.resource()},
        "name": name,
        "namespace": "default",
        "operation": operation,
        "userInfo": {"username": "alice", "groups": ["system:authenticated"]},
        "object": object,
        "oldObject": if operation == "UPDATE" { object.clone() } else { Value::Null },
        "dryRun": false,
    })
}

/// A CREATE of Deployment `web` whose containers `c0`, `c1`… run `images`: what the image
/// policies are tested on.
pub fn deployment_with_images(images: &[&str]) -> Value {
    let containers: Vec<Value> = images
        .iter()
        .enumerate()
        .map(|(i, image)| json!({"name": format!("c{i}"), "image": image}))
        .collect();
    admission_request(
        WorkloadKind::Deployment,
        "CREATE",
        workload_object(
            WorkloadKind::Deployment,
            "web",
            json!({}),
            json!({"containers": containers}),
        ),
    )
}

/// The `pods/ephemeralcontainers` UPDATE that `kubectl debug` sends to add `debugger` to the Pod
/// of the CREATE `request` (which becomes its `oldObject`); `None` when `request` is not a Pod's.
pub fn kubectl_debug(request: &Value, debugger: Value) -> Option<Value> {
    if request["kind"]["kind"] != WorkloadKind::Pod.name() {
        return None;
    }
    let old = request["object"].clone();
    let mut debugged = request.clone();
    let spec = debugged["object"]["spec"].as_object_mut()?;
    match spec
        .get_mut("ephemeralContainers")
        .and_then(Value::as_array_mut)
    {
        Some(containers) => containers.push(debugger),
        None => {
            spec.insert("ephemeralContainers".into(), json!([debugger]));
        }
    }
    debugged["operation"] = json!("UPDATE");
    debugged["subResource"] = json!("ephemeralcontainers");
    debugged["requestSubResource"] = json!("ephemeralcontainers");
    debugged["oldObject"] = old;
    Some(debugged)
}

/// The `validate` payload for a request and settings.
pub fn validation_payload(request: &Value, settings: &Value) -> Vec<u8> {
    json!({"request": request, "settings": settings})
        .to_string()
        .into_bytes()
}

/// One row of a table of workload cases (`test_data/*.yaml`).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkloadCase {
    /// What the case shows.
    pub name: String,
    /// Policy settings.
    #[serde(default = "empty_object")]
    pub settings: Value,
    /// Merged into the table's base pod spec.
    #[serde(default)]
    pub pod: Value,
    /// Merged into the base pod spec's first container.
    #[serde(default)]
    pub container: Value,
    /// Merged into the pod metadata.
    #[serde(default)]
    pub metadata: Value,
    /// The kind carrying the pod (default Pod).
    #[serde(default)]
    pub kind: Option<String>,
    /// The namespace the request is admitted in (default `default`).
    #[serde(default)]
    pub namespace: Option<String>,
    /// An ephemeral container `kubectl debug` adds: the request is then the
    /// `pods/ephemeralcontainers` UPDATE of the case's Pod (its `oldObject`) adding this container
    /// to `ephemeralContainers`.
    #[serde(default)]
    pub debugger: Option<Value>,
    /// `control path` of every expected violation, in the policy's stable order.
    #[serde(default)]
    pub violations: Vec<String>,
    /// Controls this case shows passing: it sets the fields they read to allowed values.
    #[serde(default)]
    pub passes: Vec<String>,
    /// When given, the response's warnings: one per entry, each containing its entry, in order.
    #[serde(default)]
    pub warnings: Option<Vec<String>>,
    /// When given, the request is not evaluated but refused as unreadable (settings the policy
    /// refuses, say): a 400 rejection whose message contains this text.
    #[serde(default)]
    pub refused: Option<String>,
}

fn empty_object() -> Value {
    json!({})
}

impl WorkloadCase {
    /// The verdict the case expects when it is evaluated: accepted when it lists no violation.
    pub fn expects_acceptance(&self) -> bool {
        self.violations.is_empty()
    }

    /// For a case that expects a refusal (`refused`), checks that the response is that refusal
    /// and returns true; returns false for a case that expects an evaluation.
    pub fn check_refusal(&self, accepted: bool, code: Option<u64>, message: Option<&str>) -> bool {
        let Some(expected) = &self.refused else {
            return false;
        };
        assert!(
            !accepted
                && code == Some(400)
                && message.is_some_and(|m| m.contains(expected.as_str())),
            "case {:?}: expected a refusal containing {expected:?}, got accepted {accepted}, code {code:?}: {message:?}",
            self.name
        );
        assert!(
            self.violations.is_empty() && self.warnings.is_none(),
            "case {:?}: a refused request has no violations or warnings to expect",
            self.name
        );
        true
    }

    /// Checks the response's `warnings` against the expected ones, if the case lists them.
    pub fn check_warnings(&self, warnings: Option<&[String]>) {
        let Some(expected) = &self.warnings else {
            return;
        };
        let got = warnings.unwrap_or_default();
        assert_eq!(
            got.len(),
            expected.len(),
            "case {:?}: warnings {got:?}, expected {expected:?}",
            self.name
        );
        for (warning, wanted) in got.iter().zip(expected) {
            assert!(
                warning.contains(wanted.as_str()),
                "case {:?}: warning {warning:?} lacks {wanted:?}",
                self.name
            );
        }
    }
}

/// A table: a base pod spec and its cases.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseTable {
    pub base: Value,
    pub cases: Vec<WorkloadCase>,
}

impl CaseTable {
    /// Reads a table from YAML text.
    pub fn from_yaml(text: &str) -> Result<Self, String> {
        yaml_serde::from_str(text).map_err(|error| error.to_string())
    }
}

impl WorkloadCase {
    /// The workload kind of the case.
    pub fn workload_kind(&self) -> WorkloadKind {
        let name = self.kind.as_deref().unwrap_or("Pod");
        WorkloadKind::ALL
            .into_iter()
            .find(|kind| kind.name() == name)
            .unwrap_or_else(|| panic!("case {:?}: unknown kind {name}", self.name))
    }

    /// The admission request of the case, built on the table's base pod spec.
    pub fn request(&self, base: &Value) -> Value {
        let mut spec = base.clone();
        if !self.container.is_null() {
            merge(&mut spec["containers"][0], &self.container);
        }
        if !self.pod.is_null() {
            merge(&mut spec, &self.pod);
        }
        let mut metadata = json!({"labels": {"app": "case"}});
        if !self.metadata.is_null() {
            merge(&mut metadata, &self.metadata);
        }
        let kind = self.workload_kind();
        let mut request = admission_request(
            kind,
            "CREATE",
            workload_object(kind, "case", metadata, spec),
        );
        if let Some(namespace) = &self.namespace {
            request["namespace"] = json!(namespace);
            request["object"]["metadata"]["namespace"] = json!(namespace);
        }
        match &self.debugger {
            Some(debugger) => kubectl_debug(&request, debugger.clone())
                .unwrap_or_else(|| panic!("case {:?}: only a Pod is debugged", self.name)),
            None => request,
        }
    }
}

impl CaseTable {
    /// Runs every case through `evaluate` (a policy's `validate` entry point, natively): the
    /// reported violations, the verdict and the listed warnings must be the expected ones.
    pub fn check(&self, evaluate: impl Fn(&[u8]) -> pci_shared::response::ValidationResponse) {
        for case in &self.cases {
            let payload = validation_payload(&case.request(&self.base), &case.settings);
            let response = evaluate(&payload);
            if case.check_refusal(
                response.accepted,
                response.code.map(u64::from),
                response.message.as_deref(),
            ) {
                continue;
            }
            let audit = serde_json::to_value(&response.audit_annotations).expect("json");
            assert_eq!(
                reported_violations(&audit),
                case.violations,
                "case {:?}: {:?}",
                case.name,
                response.message
            );
            assert_eq!(
                response.accepted,
                case.expects_acceptance(),
                "case {:?}: {:?}",
                case.name,
                response.message
            );
            case.check_warnings(response.warnings.as_deref());
        }
    }
}

/// Checks that a policy documents exactly its control ids: `pci.yml` lists them under
/// `controls` (each with its PCI reference and what it checks), and the README names each one
/// in backticks. `policy_dir` is the policy's folder (`env!("CARGO_MANIFEST_DIR")`).
pub fn assert_controls_documented(policy_dir: &str, controls: &[&str]) {
    let dir = std::path::Path::new(policy_dir);
    let read = |file: &str| {
        std::fs::read_to_string(dir.join(file))
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.join(file).display()))
    };
    let pci: Value = yaml_serde::from_str(&read("pci.yml")).expect("pci.yml is YAML");
    let listed: Vec<&str> = pci["controls"]
        .as_array()
        .unwrap_or_else(|| panic!("{}: pci.yml has no `controls` list", dir.display()))
        .iter()
        .map(|entry| {
            for key in ["id", "pci", "what"] {
                assert!(
                    entry[key].as_str().is_some_and(|v| !v.trim().is_empty()),
                    "pci.yml control {entry}: `{key}` is missing"
                );
            }
            entry["id"].as_str().unwrap_or_default()
        })
        .collect();
    let mut expected = controls.to_vec();
    expected.sort_unstable();
    let mut sorted = listed.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted, expected,
        "pci.yml `controls` vs the policy's control ids"
    );
    let readme = read("README.md");
    for control in controls {
        assert!(
            readme.contains(&format!("`{control}`")),
            "README.md does not document control `{control}`"
        );
    }
}

/// `control path` of every violation in a response's `violations` audit annotation (none when
/// the annotation is absent). A malformed annotation fails the test instead of reading as
/// "no violations".
pub fn reported_violations(audit_annotations: &Value) -> Vec<String> {
    let Some(annotation) = audit_annotations.get("violations") else {
        return Vec::new();
    };
    let text = annotation
        .as_str()
        .unwrap_or_else(|| panic!("the violations audit annotation is not a string: {annotation}"));
    let entries: Vec<Value> = serde_json::from_str(text).unwrap_or_else(|e| {
        panic!("the violations audit annotation is not a JSON array ({e}): {text}")
    });
    entries
        .iter()
        .map(|v| match (v["control"].as_str(), v["path"].as_str()) {
            (Some(control), Some(path)) => format!("{control} {path}"),
            _ => panic!("a violation lacks its control or path: {v}"),
        })
        .collect()
}

/// The `detail` of every violation in a response's `violations` audit annotation (the host's
/// answers a message leaves out), in order; none when the annotation is absent.
pub fn violation_details(audit_annotations: &Value) -> Vec<String> {
    let Some(text) = audit_annotations.get("violations").and_then(Value::as_str) else {
        return Vec::new();
    };
    let entries: Vec<Value> = serde_json::from_str(text).unwrap_or_else(|e| {
        panic!("the violations audit annotation is not a JSON array ({e}): {text}")
    });
    entries
        .iter()
        .filter_map(|entry| entry["detail"].as_str().map(str::to_owned))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pci_shared::workload::Workload;

    #[test]
    fn reported_violations_refuse_a_malformed_annotation() {
        let good = json!({"violations": r#"[{"control":"privileged","path":"spec.x"}]"#});
        assert_eq!(reported_violations(&good), vec!["privileged spec.x"]);
        assert!(reported_violations(&json!({})).is_empty());
        assert!(
            std::panic::catch_unwind(|| reported_violations(&json!({"violations": "not json"})))
                .is_err()
        );
        assert!(
            std::panic::catch_unwind(|| reported_violations(&json!({"violations": "[{}]"})))
                .is_err()
        );
    }

    #[test]
    fn merge_follows_rfc_7386() {
        let mut target = json!({"a": {"b": 1, "c": 2}, "d": [1]});
        merge(&mut target, &json!({"a": {"b": null, "e": 3}, "d": [2]}));
        assert_eq!(target, json!({"a": {"c": 2, "e": 3}, "d": [2]}));
    }

    #[test]
    fn every_kind_puts_the_pod_where_the_workload_model_reads_it() {
        for kind in WorkloadKind::ALL {
            let object = workload_object(
                kind,
                "w",
                json!({"labels": {"x": "y"}}),
                json!({"containers": [{"name": "c"}]}),
            );
            let workload = Workload::from_json(kind, &object.to_string()).expect("readable");
            assert_eq!(workload.spec.containers[0].name, "c", "{kind:?}");
            assert_eq!(workload.pod_metadata.labels["x"], "y", "{kind:?}");
        }
    }
}
