//! Field paths into a Kubernetes object, e.g. `spec.template.spec.containers[1].securityContext`.
//!
//! A [`FieldPath`] is structured (field names and array indices), so it sorts numerically
//! (`containers[2]` before `containers[10]`), renders the way `kubectl` users read paths, and
//! converts to a JSON pointer for patches.

use std::borrow::Cow;
use std::fmt;

/// One step of a [`FieldPath`].
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Segment {
    /// An object field (or a map key such as an annotation name).
    Field(Cow<'static, str>),
    /// An array index.
    Index(usize),
}

/// A path from the root of the admitted object to one of its fields.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FieldPath(Vec<Segment>);

impl FieldPath {
    /// The empty path: the object itself.
    pub fn root() -> Self {
        Self(Vec::new())
    }

    /// Parses a dotted path of static field names, such as `spec.template.spec`.
    pub fn parse_static(dotted: &'static str) -> Self {
        Self(
            dotted
                .split('.')
                .filter(|s| !s.is_empty())
                .map(|s| Segment::Field(Cow::Borrowed(s)))
                .collect(),
        )
    }

    /// This path extended by a field.
    pub fn field(&self, name: impl Into<Cow<'static, str>>) -> Self {
        let mut next = self.clone();
        next.0.push(Segment::Field(name.into()));
        next
    }

    /// This path extended by an array index.
    pub fn index(&self, index: usize) -> Self {
        let mut next = self.clone();
        next.0.push(Segment::Index(index));
        next
    }

    /// This path extended by every field of a dotted path, e.g. `securityContext.capabilities.add`.
    pub fn fields(&self, dotted: &'static str) -> Self {
        let mut next = self.clone();
        next.0.extend(
            dotted
                .split('.')
                .filter(|s| !s.is_empty())
                .map(|s| Segment::Field(Cow::Borrowed(s))),
        );
        next
    }

    /// The segments of this path, root first.
    pub fn segments(&self) -> &[Segment] {
        &self.0
    }

    /// The path as an RFC 6901 JSON pointer (`/spec/containers/0`).
    pub fn to_json_pointer(&self) -> String {
        let mut out = String::new();
        for segment in &self.0 {
            out.push('/');
            match segment {
                Segment::Field(name) => out.push_str(&name.replace('~', "~0").replace('/', "~1")),
                Segment::Index(i) => out.push_str(&i.to_string()),
            }
        }
        out
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Index(i) => write!(f, "[{i}]")?,
                // Map keys such as annotation names contain dots and slashes: bracket them.
                Segment::Field(name) if name.contains(['.', '/']) => write!(f, "[{name}]")?,
                Segment::Field(name) if position == 0 => f.write_str(name)?,
                Segment::Field(name) => write!(f, ".{name}")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_kubectl() {
        let path = FieldPath::parse_static("spec.template.spec")
            .field("containers")
            .index(1)
            .fields("securityContext.capabilities.add");
        assert_eq!(
            path.to_string(),
            "spec.template.spec.containers[1].securityContext.capabilities.add"
        );
    }

    #[test]
    fn brackets_map_keys_with_dots_and_slashes() {
        let path = FieldPath::parse_static("metadata.annotations")
            .field("container.apparmor.security.beta.kubernetes.io/app");
        assert_eq!(
            path.to_string(),
            "metadata.annotations[container.apparmor.security.beta.kubernetes.io/app]"
        );
        assert_eq!(
            path.to_json_pointer(),
            "/metadata/annotations/container.apparmor.security.beta.kubernetes.io~1app"
        );
    }

    #[test]
    fn sorts_indices_numerically() {
        let base = FieldPath::parse_static("spec.containers");
        assert!(base.index(2) < base.index(10));
    }
}
