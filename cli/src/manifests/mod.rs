//! Kubernetes manifests read as `pci-policies scan` reads them: YAML streams (JSON is YAML)
//! parsed by a YAML parser into documents with their lines ([`yaml`]), scalars as kubectl reads
//! them ([`scalar`]), lists (any document with `items`) and AdmissionReviews opened, and each workload turned into the
//! CREATE request the API server would send. Every document the parser counts is judged,
//! skipped or unreadable: [`Origin::document`] numbers them, and none is dropped.
//!
//! A library (with the command) so the fuzz targets and property tests reach the reader.

pub mod accounting;
pub mod lines;
pub mod scalar;
pub mod yaml;

use std::sync::Arc;

use pci_shared::api_versions;
use pci_shared::request::GroupVersionKind;
use pci_shared::workload::WorkloadKind;
use serde_json::{Value, json};

use yaml::Restart;

/// Where a document came from: the file (`-` for standard input), its line, and which YAML
/// document of the file it is (from 0; the items of a `List` share their document's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub file: String,
    pub line: usize,
    pub document: usize,
}

/// The text of the file an object was read from, where its document can be parsed again,
/// and the object's path within the document (`items[2]` for an item of a `List`).
#[derive(Clone, Debug)]
pub struct Source {
    pub text: Arc<str>,
    pub restart: Restart,
    pub prefix: String,
}

impl Source {
    /// The line of the object's field `path`, else `line` (see [`lines::line_of`]).
    pub fn line_of(&self, line: usize, path: &str) -> usize {
        lines::line_of(&self.text, self.restart, line, &self.prefix, path)
    }

    fn within(&self, step: &str) -> Self {
        let prefix = if self.prefix.is_empty() || step.starts_with('[') {
            format!("{}{step}", self.prefix)
        } else {
            format!("{}.{step}", self.prefix)
        };
        Self {
            text: Arc::clone(&self.text),
            restart: self.restart,
            prefix,
        }
    }
}

/// One object of the input.
#[derive(Clone, Debug)]
pub enum Document {
    /// A workload the policies serve, with its CREATE request.
    Workload {
        origin: Origin,
        kind: WorkloadKind,
        name: String,
        namespace: String,
        /// False when the manifest names no namespace (`namespace` is then `default`, where
        /// `kubectl apply` without `-n` puts it).
        namespace_written: bool,
        request: Value,
        /// Where its fields are written: to place findings on their lines.
        source: Source,
    },
    /// Another Kubernetes object (a Namespace, a RuntimeClass, a Service): not evaluated, but
    /// part of the cluster the workloads are judged in.
    Object {
        origin: Origin,
        kind: String,
        object: Value,
    },
    /// A document that is no named Kubernetes object (a settings file, an empty list): counted,
    /// not evaluated.
    Skipped { origin: Origin, kind: String },
    /// A document that cannot be read.
    Invalid { origin: Origin, error: String },
}

impl Document {
    /// A workload that names no namespace is put in `namespace` (`helm install -n`, `kubectl
    /// apply -n`), in its request and object.
    pub fn in_namespace(&mut self, target: &str) {
        let Self::Workload {
            namespace,
            namespace_written: false,
            request,
            ..
        } = self
        else {
            return;
        };
        *namespace = target.to_owned();
        request["namespace"] = Value::String(target.to_owned());
        request["object"]["metadata"]["namespace"] = Value::String(target.to_owned());
        if let Some(uid) = request["uid"].as_str() {
            let uid = uid.replacen("-default-", &format!("-{target}-"), 1);
            request["uid"] = Value::String(uid);
        }
    }

    /// Where it came from.
    pub fn origin(&self) -> &Origin {
        match self {
            Self::Workload { origin, .. }
            | Self::Object { origin, .. }
            | Self::Skipped { origin, .. }
            | Self::Invalid { origin, .. } => origin,
        }
    }
}

/// The namespace a namespaced object without one gets (`kubectl apply` without `-n`).
pub const DEFAULT_NAMESPACE: &str = "default";

/// The documents of one file's text, in order: each YAML document's object (or a `List`'s
/// items, or an AdmissionReview's object), a skipped document, or an unreadable one; a syntax
/// error ends the file with one more unreadable document naming its line.
pub fn read_text(file: &str, text: &str) -> Vec<Document> {
    let stream = yaml::read(text);
    let shared: Arc<str> = Arc::from(text);
    let mut documents = Vec::new();
    let count = stream.documents.len();
    for (index, document) in stream.documents.into_iter().enumerate() {
        let origin = Origin {
            file: file.to_owned(),
            line: document.line,
            document: index,
        };
        match document.content {
            Ok(value) => {
                let source = Source {
                    text: Arc::clone(&shared),
                    restart: document.restart,
                    prefix: String::new(),
                };
                expand(origin, value, &source, &mut documents);
            }
            Err(unreadable) => documents.push(Document::Invalid {
                origin: Origin {
                    line: unreadable.line,
                    ..origin
                },
                error: unreadable.message,
            }),
        }
    }
    if let Some(broken) = stream.broken {
        documents.push(Document::Invalid {
            origin: Origin {
                file: file.to_owned(),
                line: broken.line,
                document: count,
            },
            error: broken.message,
        });
    }
    documents
}

/// One parsed document: an AdmissionReview's object, a list's items each (an empty list is
/// skipped), else the object.
fn expand(origin: Origin, mut value: Value, source: &Source, documents: &mut Vec<Document>) {
    match admission_object(&mut value) {
        Some(Ok((object, step))) => {
            expand(origin, object, &source.within(step), documents);
            return;
        }
        Some(Err(error)) => {
            documents.push(Document::Invalid { origin, error });
            return;
        }
        None => {}
    }
    if value.get("items").is_some() {
        expand_list(origin, value, source, documents);
        return;
    }
    let kind = match value.get("kind") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(kind)) => kind.clone(),
        Some(other) => {
            documents.push(Document::Invalid {
                origin,
                error: format!("kind {other} is not a string"),
            });
            return;
        }
    };
    if kind.is_empty() {
        // Read, but not a Kubernetes object (a settings file, a session, an empty document):
        // nothing to judge.
        documents.push(Document::Skipped { origin, kind });
        return;
    }
    read_object(origin, value, kind, source, documents);
}

/// The object of an AdmissionReview (`kind: AdmissionReview`) or of an AdmissionRequest as
/// `kwctl run` takes it (`operation`, and `kind` as an object or absent), with its path. A
/// document that states any other kind is that object, whatever fields it adds: a Pod with a
/// `request` or `operation` field is a Pod (the API server drops or refuses unknown fields),
/// never a wrapper hiding it.
fn admission_object(value: &mut Value) -> Option<Result<(Value, &'static str), String>> {
    let (pointer, step) = match value.get("kind") {
        Some(Value::String(kind)) if kind == "AdmissionReview" => {
            ("/request/object", "request.object")
        }
        // A kind of its own: the object itself.
        Some(Value::String(_)) => return None,
        // No kind, or an AdmissionRequest's (group, version and kind as an object).
        _ if value.get("operation").is_some() => ("/object", "object"),
        _ if value.get("request").is_some() => ("/request/object", "request.object"),
        _ => return None,
    };
    let kind_pointer = if step == "object" {
        "/kind"
    } else {
        "/request/kind"
    };
    let stated = value.pointer(kind_pointer).cloned();
    // No object (a DELETE's review): nothing to judge. An object that is not one: unreadable.
    let object = value.pointer_mut(pointer).filter(|o| !o.is_null())?;
    if !object.is_object() {
        return Some(Err(format!("{step} is not an object")));
    }
    let mut object = object.take();
    if let Some(stated) = stated {
        inherit_request_kind(&mut object, &stated);
    }
    Some(Ok((object, step)))
}

/// Gives an AdmissionRequest's object that states neither `kind` nor `apiVersion` the ones
/// `request.kind` names, as the policies read it (they judge what `request.kind` says).
fn inherit_request_kind(object: &mut Value, stated: &Value) {
    let text = |key: &str| stated.get(key).and_then(Value::as_str).unwrap_or_default();
    let (group, version, kind) = (text("group"), text("version"), text("kind"));
    if kind.is_empty() {
        return;
    }
    let api_version = api_versions::api_version(group, version);
    inherit_type(object, kind, Some(&Value::String(api_version)));
}

/// A list as Kubernetes' decoder (and so `kubectl apply`) reads one: any document with `items`,
/// whatever its kind. An item that states neither `kind` nor `apiVersion` takes the list's kind
/// without its `List` suffix and the list's `apiVersion` (a `PodList`'s items are Pods).
fn expand_list(origin: Origin, mut value: Value, source: &Source, documents: &mut Vec<Document>) {
    let kind = value
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let api_version = value.get("apiVersion").filter(|v| !v.is_null()).cloned();
    match value.get_mut("items").map(Value::take) {
        Some(Value::Array(items)) if !items.is_empty() => {
            let item_kind = kind.strip_suffix("List").unwrap_or(&kind);
            for (index, mut item) in items.into_iter().enumerate() {
                if !item.is_object() {
                    // kubectl refuses the whole list; the item is at least unreadable.
                    documents.push(Document::Invalid {
                        origin: origin.clone(),
                        error: format!("{kind}: items[{index}] is not an object"),
                    });
                    continue;
                }
                inherit_type(&mut item, item_kind, api_version.as_ref());
                let within = source.within(&format!("items[{index}]"));
                expand(origin.clone(), item, &within, documents);
            }
        }
        None | Some(Value::Null | Value::Array(_)) => {
            documents.push(Document::Skipped { origin, kind });
        }
        Some(_) => documents.push(Document::Invalid {
            origin,
            error: format!("{kind}: items is not a list"),
        }),
    }
}

/// Gives a list's item that states neither `kind` nor `apiVersion` the ones its list implies.
fn inherit_type(item: &mut Value, kind: &str, api_version: Option<&Value>) {
    let Some(fields) = item.as_object_mut() else {
        return;
    };
    let unstated = |key: &str| match fields.get(key) {
        None | Some(Value::Null) => true,
        Some(Value::String(text)) => text.is_empty(),
        Some(_) => false,
    };
    if !(unstated("kind") && unstated("apiVersion")) {
        return;
    }
    if !kind.is_empty() {
        fields.insert("kind".to_owned(), Value::String(kind.to_owned()));
    }
    if let Some(api_version) = api_version {
        fields.insert("apiVersion".to_owned(), api_version.clone());
    }
}

/// An object that states its kind: a workload kind in any group and version Kubernetes served
/// it in becomes its CREATE request; a workload kind's name at a version that never served it
/// is unreadable; any other kind is skipped.
fn read_object(
    origin: Origin,
    mut value: Value,
    kind: String,
    source: &Source,
    documents: &mut Vec<Document>,
) {
    let api_version = value
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let type_meta = GroupVersionKind {
        group: group.to_owned(),
        version: version.to_owned(),
        kind,
    };
    let workload = match api_versions::workload_kind(&type_meta) {
        Ok(Some(workload)) => workload,
        Ok(None)
            if value["metadata"]["name"]
                .as_str()
                .is_some_and(|n| !n.is_empty()) =>
        {
            documents.push(Document::Object {
                origin,
                kind: type_meta.kind,
                object: value,
            });
            return;
        }
        Ok(None) => {
            documents.push(Document::Skipped {
                origin,
                kind: type_meta.kind,
            });
            return;
        }
        Err(error) => {
            documents.push(Document::Invalid {
                origin,
                error: format!("apiVersion: {}", error.message),
            });
            return;
        }
    };
    let name = value["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if name.is_empty() {
        documents.push(Document::Invalid {
            origin,
            error: format!("{} without metadata.name", type_meta.kind),
        });
        return;
    }
    let written = value["metadata"]["namespace"]
        .as_str()
        .filter(|namespace| !namespace.is_empty());
    let namespace_written = written.is_some();
    let namespace = written.unwrap_or(DEFAULT_NAMESPACE).to_owned();
    value["metadata"]["namespace"] = Value::String(namespace.clone());
    // The API server converts an older version to the one the webhook registered for
    // (`matchPolicy: Equivalent`, Kubewarden's default): the current form, pod template at the
    // same path.
    let current = workload.api_versions()[0];
    value["apiVersion"] = Value::String(current.to_owned());
    let request = create_request(workload, &name, &namespace, value);
    documents.push(Document::Workload {
        origin,
        kind: workload,
        name,
        namespace,
        namespace_written,
        request,
        source: source.clone(),
    });
}

/// The AdmissionRequest the API server sends for creating `object`, in the kind's current
/// group and version (built field by field: `json!` would copy the object through
/// serialisation).
fn create_request(kind: WorkloadKind, name: &str, namespace: &str, object: Value) -> Value {
    let current = kind.api_versions()[0];
    let version = current
        .rsplit_once('/')
        .map_or(current, |(_, version)| version);
    let group = kind.group();
    let gvk = json!({"group": group, "version": version, "kind": kind.name()});
    let gvr = json!({"group": group, "version": version, "resource": kind.resource()});
    let mut request = serde_json::Map::new();
    let mut put = |key: &str, value: Value| {
        request.insert(key.to_owned(), value);
    };
    put(
        "uid",
        Value::String(format!("pci-policies-scan-{namespace}-{name}")),
    );
    put("kind", gvk.clone());
    put("resource", gvr.clone());
    put("requestKind", gvk);
    put("requestResource", gvr);
    put("name", Value::String(name.to_owned()));
    put("namespace", Value::String(namespace.to_owned()));
    put("operation", Value::String("CREATE".to_owned()));
    put("userInfo", json!({"username": "pci-policies-scan"}));
    put("object", object);
    put("dryRun", Value::Bool(true));
    put(
        "options",
        json!({"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"}),
    );
    Value::Object(request)
}

#[cfg(test)]
mod tests;
