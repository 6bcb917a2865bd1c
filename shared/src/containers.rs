//! A visitor over every container of a pod: init containers, containers and ephemeral containers.

use std::fmt;

use crate::path::FieldPath;
use crate::pod::{Container, PodSpec};

/// Which list of the pod spec a container belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ContainerKind {
    InitContainer,
    Container,
    EphemeralContainer,
}

impl ContainerKind {
    /// Every kind, in the order Pod Security Admission visits them.
    pub const ALL: [ContainerKind; 3] = [
        ContainerKind::InitContainer,
        ContainerKind::Container,
        ContainerKind::EphemeralContainer,
    ];

    /// The containers of this kind in `spec`.
    pub fn list_in(self, spec: &PodSpec) -> &[Container] {
        match self {
            ContainerKind::InitContainer => &spec.init_containers,
            ContainerKind::Container => &spec.containers,
            ContainerKind::EphemeralContainer => &spec.ephemeral_containers,
        }
    }

    /// The pod spec field holding this kind of container.
    pub fn field(self) -> &'static str {
        match self {
            ContainerKind::InitContainer => "initContainers",
            ContainerKind::Container => "containers",
            ContainerKind::EphemeralContainer => "ephemeralContainers",
        }
    }
}

impl fmt::Display for ContainerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ContainerKind::InitContainer => "init container",
            ContainerKind::Container => "container",
            ContainerKind::EphemeralContainer => "ephemeral container",
        })
    }
}

/// One container with its position in the pod spec.
#[derive(Clone, Copy, Debug)]
pub struct ContainerRef<'a> {
    pub kind: ContainerKind,
    pub index: usize,
    pub container: &'a Container,
    spec_path: &'a FieldPath,
}

impl<'a> ContainerRef<'a> {
    /// The container's name.
    pub fn name(&self) -> &'a str {
        &self.container.name
    }

    /// Path of the container in the object, e.g. `spec.template.spec.initContainers[0]`.
    pub fn path(&self) -> FieldPath {
        self.spec_path.field(self.kind.field()).index(self.index)
    }
}

/// Every container of `spec`, in the order Pod Security Admission visits them:
/// init containers, containers, then ephemeral containers.
pub fn all_containers<'a>(
    spec: &'a PodSpec,
    spec_path: &'a FieldPath,
) -> impl Iterator<Item = ContainerRef<'a>> + 'a {
    ContainerKind::ALL.into_iter().flat_map(move |kind| {
        kind.list_in(spec)
            .iter()
            .enumerate()
            .map(move |(index, container)| ContainerRef {
                kind,
                index,
                container,
                spec_path,
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visits_every_kind_with_its_path() {
        let spec: PodSpec = serde_json::from_str(
            r#"{"containers":[{"name":"app"},{"name":"side"}],"initContainers":[{"name":"init"}],
                "ephemeralContainers":[{"name":"debug"}]}"#,
        )
        .expect("valid spec");
        let prefix = FieldPath::parse_static("spec.template.spec");
        let visited: Vec<(String, String)> = all_containers(&spec, &prefix)
            .map(|c| (c.name().to_owned(), c.path().to_string()))
            .collect();
        assert_eq!(
            visited,
            vec![
                ("init".into(), "spec.template.spec.initContainers[0]".into()),
                ("app".into(), "spec.template.spec.containers[0]".into()),
                ("side".into(), "spec.template.spec.containers[1]".into()),
                (
                    "debug".into(),
                    "spec.template.spec.ephemeralContainers[0]".into()
                ),
            ]
        );
    }
}
