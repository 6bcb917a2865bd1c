//! `deploy/bundle.yml`, the hand-written source of the bundle's deployment values: what the
//! checks need of it (the Kubewarden namespace, the minimum Kubewarden version, the
//! PolicyServer's name, the system namespaces every policy spares, the failurePolicy of the
//! system namespaces' policy). Other keys are the generator's and are not read here.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Deserialize;

/// The values the checks compare a rendering with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BundleValues {
    /// Where Kubewarden's controller runs, and so the PolicyServer's pods, its service account,
    /// verification ConfigMap and disruption budget.
    pub kubewarden_namespace: String,
    /// `1.31.0`: the oldest vendored CRDs must be this version's.
    pub minimum_kubewarden_version: String,
    /// The bundle's PolicyServer, which every policy names.
    pub policy_server_name: String,
    /// The namespaces every policy and group spares.
    pub system_namespaces: BTreeSet<String>,
    /// `systemPolicy.failurePolicy`: what `pci-pod-security-system` keeps in every rollout.
    pub system_policy_failure_policy: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct File {
    kubewarden_namespace: String,
    minimum_kubewarden_version: String,
    policy_server: PolicyServer,
    system_namespaces: Vec<SystemNamespace>,
    system_policy: SystemPolicy,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SystemPolicy {
    failure_policy: String,
}

#[derive(Deserialize)]
struct PolicyServer {
    name: String,
}

#[derive(Deserialize)]
struct SystemNamespace {
    name: String,
}

impl BundleValues {
    /// Reads `path` (`deploy/bundle.yml`).
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        Self::from_yaml(&text).with_context(|| path.display().to_string())
    }

    /// Reads the text of `bundle.yml`; a missing or wrongly typed key is named.
    pub fn from_yaml(text: &str) -> Result<Self> {
        // yaml_serde names the path of a missing or wrongly typed key, and its line.
        let file: File = yaml_serde::from_str(text)?;
        Ok(Self {
            kubewarden_namespace: file.kubewarden_namespace,
            minimum_kubewarden_version: file.minimum_kubewarden_version,
            policy_server_name: file.policy_server.name,
            system_namespaces: file
                .system_namespaces
                .into_iter()
                .map(|namespace| namespace.name)
                .collect(),
            system_policy_failure_policy: file.system_policy.failure_policy,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_keys_of_the_design() {
        let values = BundleValues::from_yaml(
            "kubewardenNamespace: kubewarden\nminimumKubewardenVersion: 1.31.0\npolicyServer:\n  name: pci-policies\n  replicas: 2\nsystemNamespaces:\n  - {name: kube-system, why: the control plane}\n  - {name: kubewarden, why: Kubewarden}\nsystemPolicy:\n  failurePolicy: Ignore\n  settings: {level: baseline}\n",
        )
        .unwrap();
        assert_eq!(values.kubewarden_namespace, "kubewarden");
        assert_eq!(values.minimum_kubewarden_version, "1.31.0");
        assert_eq!(values.policy_server_name, "pci-policies");
        assert_eq!(
            values.system_namespaces,
            BTreeSet::from(["kube-system".to_owned(), "kubewarden".to_owned()])
        );
        assert_eq!(values.system_policy_failure_policy, "Ignore");
    }

    #[test]
    fn a_missing_key_is_named_with_its_path() {
        let error = BundleValues::from_yaml(
            "kubewardenNamespace: kubewarden\nminimumKubewardenVersion: 1.31.0\npolicyServer: {name: p}\nsystemNamespaces: [{why: x}]\n",
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "systemNamespaces[0]: missing field `name` at line 4 column 20"
        );
    }
}
