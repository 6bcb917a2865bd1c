//! The manifests a scan reads: files and folders (recursive), multi-document YAML and JSON,
//! `kind: List`, standard input. Each workload becomes the CREATE request the API server would
//! send; other objects are skipped; a document that does not parse is an error with its file
//! and line, and the scan goes on.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use pci_shared::workload::WorkloadKind;
use serde_json::{Value, json};

/// Where a document came from: the file (`-` for standard input) and its first line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub file: String,
    pub line: usize,
}

/// The text of the document an object was read from, and the object's path within it
/// (`items[2]` for an item of a `List`).
#[derive(Clone, Debug)]
pub struct Source {
    pub text: Arc<str>,
    pub prefix: String,
}

impl Source {
    /// The line of the object's field `path` (see [`super::lines::line_of`]).
    pub fn line_of(&self, first_line: usize, path: &str) -> usize {
        super::lines::line_of(&self.text, first_line, &self.prefix, path)
    }

    fn within(&self, step: &str) -> Self {
        let prefix = if self.prefix.is_empty() || step.starts_with('[') {
            format!("{}{step}", self.prefix)
        } else {
            format!("{}.{step}", self.prefix)
        };
        Self {
            text: Arc::clone(&self.text),
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
        request: Value,
        /// Where its fields are written: to place findings on their lines.
        source: Source,
    },
    /// Another kind of object: counted, not evaluated.
    Skipped { origin: Origin, kind: String },
    /// A document that cannot be read.
    Invalid { origin: Origin, error: String },
}

/// The namespace a namespaced object without one gets (`kubectl apply` without `-n`).
pub const DEFAULT_NAMESPACE: &str = "default";

/// One input of a scan: a manifest file, or standard input already read. Workers read and
/// parse units in parallel.
#[derive(Debug)]
pub enum Unit {
    File(PathBuf),
    Text { name: String, text: String },
    Unreadable { name: String, error: String },
}

impl Unit {
    /// The documents of this input, in order.
    pub fn documents(&self) -> Vec<Document> {
        match self {
            Self::Text { name, text } => read_text(name, text),
            Self::Unreadable { name, error } => vec![invalid(name, 1, error.clone())],
            Self::File(file) => {
                let name = file.display().to_string();
                match std::fs::read_to_string(file) {
                    Ok(text) => read_text(&name, &text),
                    Err(error) => vec![invalid(&name, 1, format!("cannot read: {error}"))],
                }
            }
        }
    }
}

/// The inputs of `paths` (`-` is standard input, read now), folders walked recursively for
/// `.yaml`, `.yml` and `.json`, in name order.
pub fn units(paths: &[PathBuf], stdin: &mut dyn std::io::Read) -> Vec<Unit> {
    let mut units = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            let mut text = String::new();
            let name = "-".to_owned();
            units.push(match stdin.read_to_string(&mut text) {
                Ok(_) => Unit::Text { name, text },
                Err(error) => Unit::Unreadable {
                    name,
                    error: format!("cannot read: {error}"),
                },
            });
            continue;
        }
        units.extend(files_under(path).into_iter().map(Unit::File));
    }
    units
}

fn invalid(file: &str, line: usize, error: String) -> Document {
    Document::Invalid {
        origin: Origin {
            file: file.to_owned(),
            line,
        },
        error,
    }
}

/// The manifest files under `path` (itself when it is a file), sorted.
pub fn files_under(path: &Path) -> Vec<PathBuf> {
    if !path.is_dir() {
        return vec![path.to_path_buf()];
    }
    let mut files = Vec::new();
    let mut dirs = vec![path.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
            {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The documents of one file's text: YAML documents split on `---` lines (JSON is YAML).
pub fn read_text(file: &str, text: &str) -> Vec<Document> {
    let mut documents = Vec::new();
    for (line, chunk) in chunks(text) {
        if chunk.lines().all(|l| {
            let l = l.trim();
            l.is_empty() || l.starts_with('#')
        }) {
            continue;
        }
        match serde_yaml::from_str::<Value>(&chunk) {
            Ok(value) => {
                let source = Source {
                    text: Arc::from(chunk.as_str()),
                    prefix: String::new(),
                };
                expand(file, line, value, &source, &mut documents);
            }
            Err(error) => {
                // Where the parser noticed, within the document (at its end, not past it).
                let last = line + chunk.lines().count().saturating_sub(1);
                let at = error
                    .location()
                    .map_or(line, |l| (line + l.line().saturating_sub(1)).min(last));
                documents.push(invalid(file, at, format!("not YAML or JSON: {error}")));
            }
        }
    }
    documents
}

/// The YAML documents of `text` with the line each starts on.
fn chunks(text: &str) -> Vec<(usize, String)> {
    let mut chunks = Vec::new();
    let mut start = 1;
    let mut current = String::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim_end() == "---" || line.starts_with("--- ") {
            chunks.push((start, std::mem::take(&mut current)));
            start = index + 2;
            continue;
        }
        current.push_str(line);
        current.push('\n');
    }
    chunks.push((start, current));
    chunks
}

/// One parsed document: a `List`'s items each, else the object.
fn expand(file: &str, line: usize, value: Value, source: &Source, documents: &mut Vec<Document>) {
    let origin = Origin {
        file: file.to_owned(),
        line,
    };
    // An AdmissionReview or AdmissionRequest (as kwctl run takes): its object.
    let (object, step) = match value.get("request") {
        Some(request) => (request.get("object"), "request.object"),
        None => (value.get("operation").and(value.get("object")), "object"),
    };
    if let Some(object) = object.filter(|object| object.is_object()) {
        expand(file, line, object.clone(), &source.within(step), documents);
        return;
    }
    let Some(kind) = value.get("kind").and_then(Value::as_str) else {
        // Read, but not a Kubernetes object (a settings file, a session): nothing to judge.
        documents.push(Document::Skipped {
            origin,
            kind: String::new(),
        });
        return;
    };
    if kind == "List" || kind.ends_with("List") && value.get("items").is_some() {
        let items = value["items"].as_array().cloned().unwrap_or_default();
        for (index, item) in items.into_iter().enumerate() {
            expand(
                file,
                line,
                item,
                &source.within(&format!("items[{index}]")),
                documents,
            );
        }
        return;
    }
    let api_version = value
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let api_version = api_version.as_str();
    let (group, version) = match api_version.rsplit_once('/') {
        Some((group, version)) => (group.to_owned(), version.to_owned()),
        None => (String::new(), api_version.to_owned()),
    };
    let (group, version) = (group.as_str(), version.as_str());
    let kind = kind.to_owned();
    let Some(workload) = WorkloadKind::from_group_kind(group, &kind) else {
        documents.push(Document::Skipped { origin, kind });
        return;
    };
    let name = value["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if name.is_empty() {
        documents.push(Document::Invalid {
            origin,
            error: format!("{kind} without metadata.name"),
        });
        return;
    }
    let namespace = value["metadata"]["namespace"]
        .as_str()
        .unwrap_or(DEFAULT_NAMESPACE)
        .to_owned();
    let mut object = value;
    object["metadata"]["namespace"] = Value::String(namespace.clone());
    let request = create_request(workload, version, &name, &namespace, object);
    documents.push(Document::Workload {
        origin,
        kind: workload,
        name,
        namespace,
        request,
        source: source.clone(),
    });
}

/// The AdmissionRequest the API server sends for creating `object` (built field by field:
/// `json!` would copy the object through serialisation).
fn create_request(
    kind: WorkloadKind,
    version: &str,
    name: &str,
    namespace: &str,
    object: Value,
) -> Value {
    let gvk = json!({"group": kind.group(), "version": version, "kind": kind.name()});
    let gvr = json!({"group": kind.group(), "version": version, "resource": kind.resource()});
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
mod tests {
    use super::*;

    #[test]
    fn documents_lists_and_errors_keep_their_file_and_line() {
        let text = "\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec: {template: {spec: {containers: [{name: a, image: nginx}]}}}
---
# a comment only
---
apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Pod, metadata: {name: p, namespace: shop}, spec: {containers: []}}
- {apiVersion: v1, kind: Service, metadata: {name: s}}
---
apiVersion: v1
kind: Pod
metadata: {name: [broken
";
        let documents = read_text("app.yaml", text);
        assert_eq!(documents.len(), 4, "{documents:#?}");
        match &documents[0] {
            Document::Workload {
                origin,
                kind,
                namespace,
                request,
                ..
            } => {
                assert_eq!(origin.line, 1);
                assert_eq!(*kind, WorkloadKind::Deployment);
                assert_eq!(namespace, DEFAULT_NAMESPACE);
                assert_eq!(request["operation"], "CREATE");
                assert_eq!(request["resource"]["resource"], "deployments");
                assert_eq!(request["object"]["metadata"]["namespace"], "default");
            }
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(&documents[1], Document::Workload { namespace, origin, .. } if namespace == "shop" && origin.line == 8)
        );
        assert!(matches!(&documents[2], Document::Skipped { kind, .. } if kind == "Service"));
        match &documents[3] {
            Document::Invalid { origin, error } => {
                assert_eq!(origin.file, "app.yaml");
                assert!(origin.line >= 14, "{origin:?}");
                assert!(error.contains("not YAML"), "{error}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_custom_resource_named_like_a_workload_is_skipped() {
        let documents = read_text(
            "crd.yaml",
            "{\"apiVersion\": \"example.com/v1\", \"kind\": \"Deployment\", \"metadata\": {\"name\": \"x\"}}",
        );
        assert!(matches!(&documents[0], Document::Skipped { .. }));
    }
}
