//! The cluster as a scan knows it: the objects of the input that are not workloads (a chart's
//! Namespace, a RuntimeClass), the objects of `--context` files (a `kubectl get
//! ns,runtimeclasses -o yaml` export of the target cluster) and `--namespace-labels`. It gives a
//! workload's namespace its labels (for `namespaceSelector`) and answers the policies'
//! `kubernetes/get_resource` and list lookups offline, as the cluster would.
//!
//! A kind a `--context` export holds is taken as listed in full: a name it lacks answers "not
//! found", as the API server would. Any other lookup of an object the scan was not given gets
//! no answer, so the check that asked is an error, never a pass.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context as _, Result, bail};
use pci_host::capabilities::LiveAnswers;
use pci_host::replay::CallbackRequest;
use serde_json::{Value, json};

use super::selector::{Labels, NAMESPACE_NAME_LABEL, Selector, labels_of};
use pci_policies::manifests::{Document, read_text};

/// Where an object was read, which decides which copy wins: what the input applies replaces
/// what the cluster has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Layer {
    Context,
    Input,
}

/// An object's identity: API group (not version: the API server converts), kind, namespace
/// (`None` when its manifest names none) and name.
type Key = (String, String, Option<String>, String);

/// The objects a scan knows of the cluster it stands for.
#[derive(Debug, Default)]
pub struct Cluster {
    objects: BTreeMap<Key, (Layer, Value)>,
    /// `(group, kind)` a `--context` export lists in full.
    complete: BTreeSet<(String, String)>,
    /// `--namespace-labels`, by namespace: over its Namespace object's labels, whichever file
    /// that came from.
    namespace_labels: BTreeMap<String, Labels>,
}

impl Cluster {
    /// Adds an object: a later one of the same origin replaces it; one from the input replaces
    /// the context's but keeps the labels and annotations it does not name, as applying it would.
    /// A Namespace gets the name label the API server sets.
    pub fn add(&mut self, from: Layer, mut object: Value) {
        let (Some(kind), Some(name)) = (
            object["kind"].as_str().map(str::to_owned),
            object["metadata"]["name"].as_str().map(str::to_owned),
        ) else {
            return;
        };
        let api_version = object["apiVersion"].as_str().unwrap_or_default();
        if !is_served(api_version, &kind) {
            // No cluster would take it (`apiVersion: v9` Namespace): it changes nothing there.
            return;
        }
        let group = group_of(api_version).to_owned();
        if (group.as_str(), kind.as_str()) == ("", "Namespace") {
            set_label(&mut object, NAMESPACE_NAME_LABEL, &name);
        }
        if from == Layer::Context {
            self.complete.insert((group.clone(), kind.clone()));
        }
        let namespace = object["metadata"]["namespace"].as_str().map(str::to_owned);
        let key = (group.clone(), kind.clone(), namespace, name.clone());
        let merged = match self.objects.get(&key) {
            Some((had, _)) if *had > from => return,
            None => object,
            // Applying a manifest over an existing object can change its labels and annotations
            // but removes none it does not name (kubectl's three-way merge, server-side apply,
            // Helm), and cannot change immutable fields (a RuntimeClass's handler): the
            // cluster's object, with the manifest's labels and annotations over its own.
            Some((had, existing)) => {
                let mut merged = if *had == Layer::Context && from == Layer::Input {
                    existing.clone()
                } else {
                    object.clone()
                };
                for field in ["labels", "annotations"] {
                    let mut fields = existing["metadata"][field]
                        .as_object()
                        .cloned()
                        .unwrap_or_default();
                    if let Some(applied) = object["metadata"][field].as_object() {
                        fields.extend(applied.clone());
                    }
                    merged["metadata"][field] = Value::Object(fields);
                }
                merged
            }
        };
        self.objects.insert(key, (from, merged));
    }

    /// Reads a `--context` file: every object in it (lists expanded); a document that cannot
    /// be read is an error naming its line.
    pub fn read_context(&mut self, path: &std::path::Path) -> Result<()> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("--context {}: cannot read", path.display()))?;
        for document in read_text(&path.display().to_string(), &text) {
            match document {
                Document::Invalid { origin, error } => {
                    bail!("--context {}:{}: {error}", path.display(), origin.line)
                }
                Document::Object { object, .. } => self.add(Layer::Context, object),
                Document::Workload { request, .. } => {
                    self.add(Layer::Context, request["object"].clone());
                }
                Document::Skipped { .. } => {}
            }
        }
        Ok(())
    }

    /// Adds `--namespace-labels NS=KEY=VALUE`: the label on namespace NS, which is known from
    /// then on (with its Namespace object's labels, if the scan has it).
    pub fn add_namespace_label(&mut self, flag: &str) -> Result<()> {
        let mut parts = flag.splitn(3, '=');
        let (Some(namespace), Some(key), Some(value)) = (parts.next(), parts.next(), parts.next())
        else {
            bail!("--namespace-labels {flag:?}: expected NAMESPACE=KEY=VALUE");
        };
        if namespace.is_empty() || key.is_empty() {
            bail!("--namespace-labels {flag:?}: the namespace and the key must not be empty");
        }
        self.namespace_labels
            .entry(namespace.to_owned())
            .or_default()
            .insert(key.to_owned(), value.to_owned());
        Ok(())
    }

    /// The labels of namespace `name`, when the scan knows it.
    pub fn namespace_labels(&self, name: &str) -> Option<Labels> {
        let object = self.get("", "Namespace", None, name)?;
        Some(labels_of(&object))
    }

    /// The object `kind` (of API `group`) named `name`, in `namespace` (`None`: cluster-scoped);
    /// a Namespace with the labels `--namespace-labels` gives it.
    fn get(&self, group: &str, kind: &str, namespace: Option<&str>, name: &str) -> Option<Value> {
        let found = self.stored(group, kind, namespace, name).cloned();
        if (group, kind) != ("", "Namespace") {
            return found;
        }
        let Some(extra) = self.namespace_labels.get(name) else {
            return found;
        };
        let mut object = found.unwrap_or_else(|| {
            let mut object =
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
            set_label(&mut object, NAMESPACE_NAME_LABEL, name);
            object
        });
        for (key, value) in extra {
            set_label(&mut object, key, value);
        }
        Some(object)
    }

    fn stored(
        &self,
        group: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<&Value> {
        let key = |ns: Option<&str>| {
            (
                group.to_owned(),
                kind.to_owned(),
                ns.map(str::to_owned),
                name.to_owned(),
            )
        };
        let found = self
            .objects
            .get(&key(namespace))
            .or_else(|| match namespace {
                // A manifest without a namespace is applied to `default`.
                Some("default") => self.objects.get(&key(None)),
                _ => None,
            });
        found.map(|(_, object)| object)
    }

    /// The objects of `kind` (in `namespace`, when given) that `labels` and `fields` select.
    fn list(
        &self,
        group: &str,
        kind: &str,
        namespace: Option<&str>,
        labels: &Selector,
        fields: &FieldSelector,
    ) -> Vec<Value> {
        self.objects
            .iter()
            .filter(|((g, k, ns, _), _)| {
                g == group
                    && k == kind
                    && namespace.is_none_or(|wanted| ns.as_deref().unwrap_or("default") == wanted)
            })
            .map(|(_, (_, object))| object)
            .filter(|object| labels.matches(&labels_of(object)) && fields.matches(object))
            .cloned()
            .collect()
    }

    fn is_complete(&self, group: &str, kind: &str) -> bool {
        self.complete.contains(&(group.to_owned(), kind.to_owned()))
    }

    /// What the cluster would answer a lookup: `None` when the scan cannot tell.
    fn lookup(&self, request: &CallbackRequest) -> Option<Result<Value, String>> {
        use CallbackRequest as C;
        match request {
            C::KubernetesGetResource {
                api_version,
                kind,
                name,
                namespace,
                ..
            } => {
                let group = group_of(api_version);
                match self.get(group, kind, namespace.as_deref(), name) {
                    Some(object) => Some(Ok(object)),
                    None if self.is_complete(group, kind) => Some(Err(format!(
                        "{kind} {:?} not found (the --context export lists every {kind}, and not this one)",
                        name
                    ))),
                    None => None,
                }
            }
            C::KubernetesListResourceAll {
                api_version,
                kind,
                label_selector,
                field_selector,
                ..
            } => self.answer_list(api_version, kind, None, label_selector, field_selector),
            C::KubernetesListResourceNamespace {
                api_version,
                kind,
                namespace,
                label_selector,
                field_selector,
                ..
            } => self.answer_list(
                api_version,
                kind,
                Some(namespace),
                label_selector,
                field_selector,
            ),
            _ => None,
        }
    }

    fn answer_list(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        labels: &Option<String>,
        fields: &Option<String>,
    ) -> Option<Result<Value, String>> {
        let group = group_of(api_version);
        // A partial view would list too few: only a complete export answers a list.
        if !self.is_complete(group, kind) {
            return None;
        }
        let labels = Selector::parse(labels.as_deref().unwrap_or_default()).ok()?;
        let fields = FieldSelector::parse(fields.as_deref().unwrap_or_default())?;
        let items = self.list(group, kind, namespace, &labels, &fields);
        Some(Ok(json!({
            "apiVersion": api_version,
            "kind": format!("{kind}List"),
            "metadata": {},
            "items": items,
        })))
    }
}

impl LiveAnswers for Cluster {
    fn answer(&self, request: &CallbackRequest) -> Result<Vec<u8>, String> {
        match self.lookup(request) {
            Some(Ok(object)) => serde_json::to_vec(&object).map_err(|e| e.to_string()),
            Some(Err(error)) => Err(error),
            None => Err(format!(
                "the scan does not know it ({})",
                request.kind_name()
            )),
        }
    }

    fn serves(&self, request: &CallbackRequest) -> bool {
        self.lookup(request).is_some()
    }
}

/// The context first, then `rest` (the registry, a replay session) for what it does not serve.
#[derive(Debug)]
pub struct ClusterFirst {
    pub cluster: std::sync::Arc<Cluster>,
    pub rest: Option<std::sync::Arc<dyn LiveAnswers>>,
}

impl LiveAnswers for ClusterFirst {
    fn answer(&self, request: &CallbackRequest) -> Result<Vec<u8>, String> {
        if self.cluster.serves(request) {
            return self.cluster.answer(request);
        }
        match &self.rest {
            Some(rest) => rest.answer(request),
            None => self.cluster.answer(request),
        }
    }

    fn serves(&self, request: &CallbackRequest) -> bool {
        self.cluster.serves(request) || self.rest.as_ref().is_some_and(|r| r.serves(request))
    }
}

/// A list's field selector, as far as objects read from files can decide it: `metadata.name`
/// and `metadata.namespace` with `=`, `==` or `!=`.
#[derive(Debug, Default)]
struct FieldSelector(Vec<(&'static str, bool, String)>);

impl FieldSelector {
    /// `None` when it uses a field the scan cannot decide.
    fn parse(text: &str) -> Option<Self> {
        let mut terms = Vec::new();
        for term in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let (field, equal, value) = if let Some((f, v)) = term.split_once("!=") {
                (f, false, v)
            } else if let Some((f, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
                (f, true, v)
            } else {
                return None;
            };
            let field = match field.trim() {
                "metadata.name" => "name",
                "metadata.namespace" => "namespace",
                _ => return None,
            };
            terms.push((field, equal, value.trim().to_owned()));
        }
        Some(Self(terms))
    }

    fn matches(&self, object: &Value) -> bool {
        self.0.iter().all(|(field, equal, value)| {
            let actual = object["metadata"][*field].as_str().unwrap_or_default();
            (actual == value) == *equal
        })
    }
}

/// False for the kinds the policies look up written in a version Kubernetes never served.
fn is_served(api_version: &str, kind: &str) -> bool {
    match kind {
        "Namespace" => api_version == "v1",
        "RuntimeClass" => matches!(
            api_version,
            "node.k8s.io/v1" | "node.k8s.io/v1beta1" | "node.k8s.io/v1alpha1"
        ),
        _ => true,
    }
}

/// The group of an `apiVersion` (`node.k8s.io/v1` → `node.k8s.io`, `v1` → ``).
fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(group, _)| group)
}

fn set_label(object: &mut Value, key: &str, value: &str) {
    if !object["metadata"]["labels"].is_object() {
        object["metadata"]["labels"] = json!({});
    }
    object["metadata"]["labels"][key] = Value::String(value.to_owned());
}

#[cfg(test)]
mod tests;
