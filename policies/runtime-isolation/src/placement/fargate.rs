//! EKS Fargate profiles: EKS places a pod on Fargate when its namespace and labels match one
//! selector of a profile (namespace and label values may use `*` and `?`), and sets its
//! `schedulerName` then. Only the Pod gets that name, so a Deployment is judged by its profile.

use std::collections::BTreeMap;

use pci_shared::glob::{EKS, glob};
use serde::Deserialize;

/// A Fargate profile, as `aws eks describe-fargate-profile` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FargateProfile {
    pub name: String,
    pub selectors: Vec<FargateSelector>,
}

/// One selector of a profile: a namespace and labels the pod must all carry.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FargateSelector {
    pub namespace: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

impl FargateProfile {
    /// Checks the profile; the error starts with the field (`.selectors: …`).
    pub fn validate(&self) -> Result<(), String> {
        if self.name.is_empty() {
            return Err(".name must not be empty".into());
        }
        if self.selectors.is_empty() {
            return Err(".selectors must list at least one namespace".into());
        }
        for (index, selector) in self.selectors.iter().enumerate() {
            if selector.namespace.is_empty() {
                return Err(format!(".selectors[{index}].namespace must not be empty"));
            }
        }
        Ok(())
    }

    /// The first selector matching a pod in `namespace` with `labels`.
    pub fn selects(
        &self,
        namespace: &str,
        labels: &BTreeMap<String, String>,
    ) -> Option<&FargateSelector> {
        self.selectors
            .iter()
            .find(|s| s.matches_namespace(namespace) && s.matches_labels(labels))
    }
}

impl FargateSelector {
    /// True when the namespace matches (wildcards allowed).
    pub fn matches_namespace(&self, namespace: &str) -> bool {
        glob(&self.namespace, namespace, EKS)
    }

    /// True when every selector label is on the pod, its value matching (wildcards allowed).
    pub fn matches_labels(&self, labels: &BTreeMap<String, String>) -> bool {
        self.labels.iter().all(|(key, pattern)| {
            labels
                .get(key)
                .is_some_and(|value| glob(pattern, value, EKS))
        })
    }

    /// The selector's labels as `k=v, …`, for messages.
    pub fn describe_labels(&self) -> String {
        let labels: Vec<String> = self
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        labels.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_selector_needs_the_namespace_and_every_label() {
        let profile = FargateProfile {
            name: "cde".into(),
            selectors: vec![FargateSelector {
                namespace: "payments".into(),
                labels: BTreeMap::from([("pci".into(), "cde".into())]),
            }],
        };
        let labels = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert!(
            profile
                .selects("payments", &labels(&[("pci", "cde"), ("app", "api")]))
                .is_some()
        );
        assert!(
            profile
                .selects("payments", &labels(&[("app", "api")]))
                .is_none()
        );
        assert!(
            profile
                .selects("shop", &labels(&[("pci", "cde")]))
                .is_none()
        );
    }
}
