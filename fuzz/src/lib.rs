//! What every policy fuzz target checks: the `validate` entry point on arbitrary bytes and on
//! structurally valid but hostile admission requests, and settings validation. No panic, no
//! accept of a payload that is not an admission request, the same answer twice. And the
//! security oracle's properties (`pci_testkit::oracle`, the same generator and properties
//! `make test` runs on fixed cases): a workload hostile to the policy is never admitted without
//! an exception covering it in its namespace, and the rejection names control, path and
//! container. Host calls fail natively (fail closed), except in the oracle's cases, which its
//! world answers.

use arbitrary::{Arbitrary, Unstructured};
use pci_shared::policy::{Policy, evaluate, read_settings};
use pci_shared::time::{Now, Timestamp};
use serde_json::{Map, Value, json};

/// A fixed evaluation time, so answers can be compared.
const NOW: Now = Now::At(Timestamp(1_795_305_600));

/// Checks one input against policy `P`; the first byte chooses how the rest is read.
pub fn fuzz_policy<P: Policy>(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 4 {
        0 => raw_payload::<P>(rest),
        1 => {
            if let Ok(text) = std::str::from_utf8(rest) {
                let _ = read_settings::<P>(text);
            }
        }
        2 => {
            if let Ok(hostile) = Hostile::arbitrary(&mut Unstructured::new(rest)) {
                let payload = hostile.payload().to_string();
                let first = answer::<P>(payload.as_bytes());
                assert_eq!(
                    first,
                    answer::<P>(payload.as_bytes()),
                    "the same request, another answer"
                );
            }
        }
        _ => pci_testkit::oracle::check_bytes::<P>(rest),
    }
}

fn answer<P: Policy>(payload: &[u8]) -> String {
    serde_json::to_string(&evaluate::<P>(payload, NOW)).expect("a response serialises")
}

/// Arbitrary bytes as the whole `validate` payload: an accept needs an admission request.
fn raw_payload<P: Policy>(payload: &[u8]) {
    let response = evaluate::<P>(payload, NOW);
    if response.accepted {
        let parsed: Value =
            serde_json::from_slice(payload).expect("accepted a payload that is not JSON");
        let request = &parsed["request"];
        assert!(
            request["kind"]["kind"].is_string() && request["operation"].is_string(),
            "accepted a payload without an admission request: {parsed}"
        );
    } else {
        assert!(
            response.message.as_deref().is_some_and(|m| !m.is_empty()),
            "a rejection without a message"
        );
    }
}

/// A syntactically valid admission request with hostile contents.
#[derive(Debug, Arbitrary)]
struct Hostile {
    kind: u8,
    operation: u8,
    containers: Vec<HostileContainer>,
    init_containers: Vec<HostileContainer>,
    pod_fields: Vec<(Key, Scalar)>,
    settings: Vec<(Key, Scalar)>,
}

#[derive(Debug, Arbitrary)]
struct HostileContainer {
    name: Option<String>,
    image: Scalar,
    security_context: Vec<(Key, Scalar)>,
    ports: Vec<Scalar>,
}

/// Field names the policies read, and some they do not.
#[derive(Debug, Arbitrary)]
enum Key {
    Privileged,
    RunAsNonRoot,
    RunAsUser,
    AllowPrivilegeEscalation,
    Capabilities,
    SeccompProfile,
    HostNetwork,
    HostPid,
    Volumes,
    RuntimeClassName,
    NodeSelector,
    Os,
    Other(String),
}

impl Key {
    fn name(&self) -> String {
        match self {
            Self::Privileged => "privileged",
            Self::RunAsNonRoot => "runAsNonRoot",
            Self::RunAsUser => "runAsUser",
            Self::AllowPrivilegeEscalation => "allowPrivilegeEscalation",
            Self::Capabilities => "capabilities",
            Self::SeccompProfile => "seccompProfile",
            Self::HostNetwork => "hostNetwork",
            Self::HostPid => "hostPID",
            Self::Volumes => "volumes",
            Self::RuntimeClassName => "runtimeClassName",
            Self::NodeSelector => "nodeSelector",
            Self::Os => "os",
            Self::Other(name) => return name.clone(),
        }
        .to_owned()
    }
}

/// Values of every JSON type, including ones of the wrong type for the field.
#[derive(Debug, Arbitrary)]
enum Scalar {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    Image(String, Option<String>, Option<String>),
    List(Vec<String>),
    Object(Vec<(String, bool)>),
}

impl Scalar {
    fn value(&self) -> Value {
        match self {
            Self::Null => Value::Null,
            Self::Bool(b) => json!(b),
            Self::Int(i) => json!(i),
            Self::Float(f) => json!(f),
            Self::Text(s) => json!(s),
            Self::Image(repo, tag, digest) => {
                let mut image = repo.clone();
                if let Some(tag) = tag {
                    image = format!("{image}:{tag}");
                }
                if let Some(digest) = digest {
                    image = format!("{image}@sha256:{digest}");
                }
                json!(image)
            }
            Self::List(items) => json!(items),
            Self::Object(entries) => {
                Value::Object(entries.iter().map(|(k, v)| (k.clone(), json!(v))).collect())
            }
        }
    }
}

const KINDS: [(&str, &str, &str, &str); 9] = [
    ("", "v1", "Pod", "pods"),
    ("apps", "v1", "Deployment", "deployments"),
    ("apps", "v1", "ReplicaSet", "replicasets"),
    ("apps", "v1", "StatefulSet", "statefulsets"),
    ("apps", "v1", "DaemonSet", "daemonsets"),
    ("", "v1", "ReplicationController", "replicationcontrollers"),
    ("batch", "v1", "Job", "jobs"),
    ("batch", "v1", "CronJob", "cronjobs"),
    ("", "v1", "PodTemplate", "podtemplates"),
];

fn fields(entries: &[(Key, Scalar)]) -> Map<String, Value> {
    entries.iter().map(|(k, v)| (k.name(), v.value())).collect()
}

impl HostileContainer {
    fn value(&self, index: usize) -> Value {
        let mut container = Map::new();
        container.insert(
            "name".into(),
            self.name
                .clone()
                .map_or_else(|| json!(format!("c{index}")), Value::String),
        );
        container.insert("image".into(), self.image.value());
        container.insert(
            "securityContext".into(),
            Value::Object(fields(&self.security_context)),
        );
        container.insert(
            "ports".into(),
            Value::Array(
                self.ports
                    .iter()
                    .map(|p| json!({"containerPort": p.value(), "hostPort": p.value()}))
                    .collect(),
            ),
        );
        Value::Object(container)
    }
}

impl Hostile {
    fn payload(&self) -> Value {
        let (group, version, kind, resource) = KINDS[usize::from(self.kind) % KINDS.len()];
        let operation = ["CREATE", "UPDATE", "DELETE", "CONNECT"][usize::from(self.operation) % 4];
        let mut spec = fields(&self.pod_fields);
        spec.insert(
            "containers".into(),
            Value::Array(
                self.containers
                    .iter()
                    .enumerate()
                    .map(|(i, c)| c.value(i))
                    .collect(),
            ),
        );
        spec.insert(
            "initContainers".into(),
            Value::Array(
                self.init_containers
                    .iter()
                    .enumerate()
                    .map(|(i, c)| c.value(i))
                    .collect(),
            ),
        );
        let template = json!({"metadata": {"labels": {"app": "x"}}, "spec": spec});
        let object = match kind {
            "Pod" => {
                json!({"apiVersion": "v1", "kind": kind, "metadata": {"name": "x"}, "spec": template["spec"]})
            }
            "PodTemplate" => {
                json!({"apiVersion": "v1", "kind": kind, "metadata": {"name": "x"}, "template": template})
            }
            "CronJob" => {
                json!({"apiVersion": "batch/v1", "kind": kind, "metadata": {"name": "x"}, "spec": {"jobTemplate": {"spec": {"template": template}}}})
            }
            _ => {
                json!({"apiVersion": if group.is_empty() { version.to_owned() } else { format!("{group}/{version}") }, "kind": kind, "metadata": {"name": "x"}, "spec": {"template": template}})
            }
        };
        json!({
            "request": {
                "uid": "fuzz",
                "kind": {"group": group, "version": version, "kind": kind},
                "resource": {"group": group, "version": version, "resource": resource},
                "operation": operation,
                "namespace": "default",
                "name": "x",
                "object": object
            },
            "settings": Value::Object(fields(&self.settings)),
        })
    }
}
