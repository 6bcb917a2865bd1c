//! The workload under construction: pod metadata, pod-level fields, volumes and the three
//! container lists, with one hostile container; and where each expected violation lies
//! ([`Spot`]), resolved into field paths once the lists are final ([`Draft::resolve`]).
//!
//! Field paths are written here from the Kubernetes API, not borrowed from the shared pod model,
//! so that a mistake there cannot hide in both.

use serde_json::{Map, Value, json};

use pci_shared::workload::WorkloadKind;

/// The container lists of a pod spec, in the order Pod Security Admission visits them.
pub const LISTS: [&str; 3] = ["initContainers", "containers", "ephemeralContainers"];

/// Where a pod spec sits in an object of `kind`.
pub fn spec_path(kind: WorkloadKind) -> &'static str {
    match kind {
        WorkloadKind::Pod => "spec",
        WorkloadKind::PodTemplate => "template.spec",
        WorkloadKind::CronJob => "spec.jobTemplate.spec.template.spec",
        _ => "spec.template.spec",
    }
}

/// A field an expected violation names, by what it belongs to (positions change while the
/// draft is built).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Spot {
    /// `suffix` of the named container (`securityContext.privileged`; empty: the container).
    Container { name: String, suffix: String },
    /// A pod-level field (`hostPID`, `runtimeClassName`).
    Pod(String),
    /// `suffix` of the named volume (`hostPath`).
    Volume { name: String, suffix: String },
}

/// A violation the policy must report, unless an exception covers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expected {
    pub control: &'static str,
    pub spot: Spot,
}

/// An expected violation with its field path and container (`None`: pod-level).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub control: &'static str,
    pub path: String,
    pub container: Option<String>,
}

/// A container of the draft: its name and image, for exception coverage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerFacts {
    pub name: String,
    pub image: Image,
}

/// An image as the generator wrote it: `name[:tag][@digest]`, with its parts, so an exception
/// can name it exactly or by its repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    pub name: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl Image {
    /// The `image` field.
    pub fn text(&self) -> String {
        let mut text = self.name.clone();
        if let Some(tag) = &self.tag {
            text = format!("{text}:{tag}");
        }
        if let Some(digest) = &self.digest {
            text = format!("{text}@{digest}");
        }
        text
    }
}

/// The workload being built.
#[derive(Clone, Debug)]
pub struct Draft {
    pub kind: WorkloadKind,
    /// The request's namespace (RBAC guards it; nothing else in the request is trusted).
    pub namespace: String,
    pub labels: Map<String, Value>,
    pub annotations: Map<String, Value>,
    /// Pod-level fields other than the container lists and volumes.
    pub spec: Map<String, Value>,
    pub volumes: Vec<Value>,
    /// Containers of each list of [`LISTS`], with their images.
    pub lists: [Vec<(Value, Image)>; 3],
    /// The hostile container's name.
    pub hostile: String,
}

impl Draft {
    /// The hostile container's JSON.
    pub fn hostile_mut(&mut self) -> &mut Value {
        let name = self.hostile.clone();
        self.lists
            .iter_mut()
            .flatten()
            .find(|(container, _)| container["name"] == name.as_str())
            .map(|(container, _)| container)
            .expect("the draft has its hostile container")
    }

    /// Sets the hostile container's image.
    pub fn set_hostile_image(&mut self, image: Image) {
        let name = self.hostile.clone();
        if let Some((container, current)) = self
            .lists
            .iter_mut()
            .flatten()
            .find(|(container, _)| container["name"] == name.as_str())
        {
            container["image"] = json!(image.text());
            *current = image;
        }
    }

    /// The list (index into [`LISTS`]) holding the hostile container.
    pub fn hostile_list(&self) -> usize {
        self.lists
            .iter()
            .position(|list| list.iter().any(|(c, _)| c["name"] == self.hostile.as_str()))
            .unwrap_or(1)
    }

    /// The draft without container `name` (an UPDATE's old object that did not have it).
    pub fn without(&self, name: &str) -> Self {
        let mut old = self.clone();
        for list in &mut old.lists {
            list.retain(|(container, _)| container["name"] != name);
        }
        old
    }

    /// Every container's name and image, in every list.
    pub fn containers(&self) -> Vec<ContainerFacts> {
        self.lists
            .iter()
            .flatten()
            .map(|(container, image)| ContainerFacts {
                name: container["name"].as_str().unwrap_or_default().to_owned(),
                image: image.clone(),
            })
            .collect()
    }

    /// The pod spec.
    pub fn pod_spec(&self) -> Value {
        let mut spec = self.spec.clone();
        if !self.volumes.is_empty() {
            spec.insert("volumes".into(), Value::Array(self.volumes.clone()));
        }
        for (field, list) in LISTS.iter().zip(&self.lists) {
            if !list.is_empty() || *field == "containers" {
                let containers = list.iter().map(|(c, _)| c.clone()).collect();
                spec.insert((*field).into(), Value::Array(containers));
            }
        }
        Value::Object(spec)
    }

    /// The pod metadata.
    pub fn pod_metadata(&self) -> Value {
        json!({"labels": self.labels, "annotations": self.annotations})
    }

    /// The path and container of an expected violation in the final draft.
    pub fn resolve(&self, expected: &Expected) -> Target {
        let spec = spec_path(self.kind);
        let with = |base: String, suffix: &str| {
            if suffix.is_empty() {
                base
            } else {
                format!("{base}.{suffix}")
            }
        };
        let (path, container) = match &expected.spot {
            Spot::Pod(field) => (format!("{spec}.{field}"), None),
            Spot::Volume { name, suffix } => {
                let index = self
                    .volumes
                    .iter()
                    .position(|v| v["name"] == name.as_str())
                    .expect("the expected volume is in the draft");
                (with(format!("{spec}.volumes[{index}]"), suffix), None)
            }
            Spot::Container { name, suffix } => {
                let (field, index) = LISTS
                    .iter()
                    .zip(&self.lists)
                    .find_map(|(field, list)| {
                        list.iter()
                            .position(|(c, _)| c["name"] == name.as_str())
                            .map(|index| (field, index))
                    })
                    .expect("the expected container is in the draft");
                (
                    with(format!("{spec}.{field}[{index}]"), suffix),
                    Some(name.clone()),
                )
            }
        };
        Target {
            control: expected.control,
            path,
            container,
        }
    }
}
