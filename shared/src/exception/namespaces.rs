//! The namespaces an exception applies in: the one part of its scope that RBAC guards.
//!
//! A pod's author writes its images, container names, labels and the rest; who may create a pod
//! in a namespace is what the cluster's RBAC decides. So every exception names its namespaces,
//! and images or containers only narrow it within them. `["*"]` (every namespace) stays
//! possible, but is said aloud wherever it waives something.

/// The one entry that means every namespace.
pub const EVERY_NAMESPACE: &str = "*";

/// The longest namespace name Kubernetes accepts (an RFC 1123 label).
const MAX_NAME_LENGTH: usize = 63;

/// Where an exception applies, as its `namespaces` setting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Namespaces {
    /// `["*"]`: every namespace, and requests that name none (cluster-scoped or hand-written):
    /// any namespace's author can claim the exception.
    Every,
    /// Only requests admitted in one of these namespaces.
    Only(Vec<String>),
}

impl Namespaces {
    /// True when a request admitted in `namespace` (`None`: the request names none) is inside.
    pub fn admit(&self, namespace: Option<&str>) -> bool {
        match self {
            Self::Every => true,
            Self::Only(names) => namespace.is_some_and(|ns| names.iter().any(|n| n == ns)),
        }
    }

    /// True for `["*"]`.
    pub fn is_cluster_wide(&self) -> bool {
        matches!(self, Self::Every)
    }
}

impl TryFrom<Vec<String>> for Namespaces {
    type Error = String;

    fn try_from(names: Vec<String>) -> Result<Self, String> {
        if names.is_empty() {
            return Err(format!(
                "namespaces is empty: name the namespaces the exception applies in, or [\"{EVERY_NAMESPACE}\"] for every namespace"
            ));
        }
        if names.iter().any(|n| n == EVERY_NAMESPACE) {
            let others: Vec<String> = names
                .iter()
                .filter(|n| *n != EVERY_NAMESPACE)
                .map(|n| format!("\"{}\"", n.escape_debug()))
                .collect();
            if others.is_empty() {
                return Ok(Self::Every);
            }
            return Err(format!(
                "\"{EVERY_NAMESPACE}\" means every namespace and cannot be listed with other namespaces ({}): keep only \"{EVERY_NAMESPACE}\", or only the namespaces",
                others.join(", ")
            ));
        }
        if let Some(name) = names.iter().find(|n| !is_namespace_name(n)) {
            return Err(format!(
                "\"{}\" is not a namespace name (lowercase letters, digits and '-', starting and ending with a letter or digit, at most {MAX_NAME_LENGTH} characters); \"{EVERY_NAMESPACE}\" alone means every namespace",
                name.escape_debug()
            ));
        }
        Ok(Self::Only(names))
    }
}

crate::validated_list!(Namespaces);

/// True when `name` can name a namespace (an RFC 1123 label, as Kubernetes requires).
fn is_namespace_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let alphanumeric = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    !bytes.is_empty()
        && bytes.len() <= MAX_NAME_LENGTH
        && bytes.first().is_some_and(alphanumeric)
        && bytes.last().is_some_and(alphanumeric)
        && bytes.iter().all(|b| alphanumeric(b) || *b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(names: &[&str]) -> Result<Namespaces, String> {
        Namespaces::try_from(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn named_namespaces_admit_only_themselves() {
        let only = read(&["kube-system", "monitoring"]).expect("valid");
        assert!(only.admit(Some("kube-system")));
        assert!(only.admit(Some("monitoring")));
        assert!(!only.admit(Some("default")));
        assert!(!only.admit(Some("kube-system-evil")));
        assert!(!only.admit(None), "a request without a namespace");
        assert!(!only.is_cluster_wide());
    }

    #[test]
    fn the_star_admits_every_namespace_and_none() {
        let every = read(&["*"]).expect("valid");
        assert_eq!(every, Namespaces::Every);
        assert!(every.admit(Some("default")));
        assert!(every.admit(None));
        assert!(every.is_cluster_wide());
    }

    #[test]
    fn refuses_what_cannot_name_a_namespace_with_the_reason() {
        let cases: [(&[&str], &str); 6] = [
            (&[], "namespaces is empty: name the namespaces"),
            (
                &["*", "kube-system"],
                "\"*\" means every namespace and cannot be listed with other namespaces (\"kube-system\")",
            ),
            (&["kube-system", ""], "\"\" is not a namespace name"),
            (&["kube-*"], "\"kube-*\" is not a namespace name"),
            (&["Kube-System"], "\"Kube-System\" is not a namespace name"),
            (&["-edge"], "\"-edge\" is not a namespace name"),
        ];
        for (names, expected) in cases {
            let error = read(names).expect_err(expected);
            assert!(error.starts_with(expected), "{names:?}: {error}");
        }
        assert!(read(&[&"a".repeat(64)]).is_err());
        assert!(read(&[&"a".repeat(63), "a-0"]).is_ok());
    }
}
