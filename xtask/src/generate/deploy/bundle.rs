//! `deploy/bundle.yml`, the hand-written deployment values of the bundle: Kubewarden's
//! namespace and minimum version, the PolicyServer, the system namespaces every policy spares
//! (each with why) and the settings of the system namespaces' own baseline policy. Read with
//! unknown keys refused, and checked as a whole: every problem is named with its field.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::fields;
use crate::generate::placement::Placement;

/// The file, relative to the repository root.
pub const PATH: &str = "deploy/bundle.yml";

/// Namespaces no version of the list may drop: the control plane's add-ons run in the first,
/// and policy-server itself in Kubewarden's (`kubewardenNamespace`, checked apart).
const ALWAYS_SPARED: [&str; 1] = ["kube-system"];

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BundleSource {
    pub kubewarden_namespace: String,
    /// `major.minor.patch`: the oldest Kubewarden the bundle is written for.
    pub minimum_kubewarden_version: String,
    pub policy_server: PolicyServerSource,
    pub system_namespaces: Vec<SystemNamespace>,
    pub system_policy: SystemPolicySource,
}

/// The bundle's own PolicyServer.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyServerSource {
    pub name: String,
    pub image: String,
    pub replicas: i32,
    /// For the PodDisruptionBudget (never the PolicyServer's own `minAvailable`).
    pub min_available: i32,
    pub requests: BTreeMap<String, String>,
    pub limits: BTreeMap<String, String>,
    pub service_account_name: String,
}

/// A namespace every policy spares, and why.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SystemNamespace {
    pub name: String,
    pub why: String,
}

/// The system namespaces' own pod-security policy.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SystemPolicySource {
    /// `Fail` or `Ignore`.
    pub failure_policy: String,
    /// pod-security settings, checked by the policy's own settings code when generated.
    pub settings: Map<String, Value>,
}

impl BundleSource {
    /// Reads and checks `deploy/bundle.yml` under `root`.
    pub fn load(root: &Path) -> Result<Self> {
        let path = root.join(PATH);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        Self::parse(&text)
    }

    /// Reads and checks the text of a bundle file.
    pub fn parse(text: &str) -> Result<Self> {
        let source: Self = yaml_serde::from_str(text).context(PATH)?;
        let problems = source.problems();
        if !problems.is_empty() {
            bail!("{PATH}:\n  {}", problems.join("\n  "));
        }
        Ok(source)
    }

    /// Where the generated policies run and what they spare.
    pub fn placement(&self) -> Placement {
        Placement {
            policy_server: self.policy_server.name.clone(),
            system_namespaces: self
                .system_namespaces
                .iter()
                .map(|n| n.name.clone())
                .collect(),
        }
    }

    /// Every problem of the file, each naming its field, in file order.
    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut check = |field: &str, result: Result<(), String>| {
            if let Err(reason) = result {
                problems.push(format!("{field}: {reason}"));
            }
        };
        check(
            "kubewardenNamespace",
            fields::dns_label(&self.kubewarden_namespace),
        );
        check(
            "minimumKubewardenVersion",
            fields::release_version(&self.minimum_kubewarden_version),
        );
        let server = &self.policy_server;
        check("policyServer.name", fields::dns_label(&server.name));
        check("policyServer.image", fields::pinned_image(&server.image));
        check(
            "policyServer.serviceAccountName",
            fields::dns_label(&server.service_account_name),
        );
        check("policyServer.replicas", availability(server));
        for (field, resources) in [("requests", &server.requests), ("limits", &server.limits)] {
            for (name, quantity) in resources {
                check(
                    &format!("policyServer.{field}.{name}"),
                    fields::resource(name, quantity),
                );
            }
        }
        problems.extend(self.namespace_problems());
        if !["Fail", "Ignore"].contains(&self.system_policy.failure_policy.as_str()) {
            problems.push(format!(
                "systemPolicy.failurePolicy: {:?} is neither Fail nor Ignore",
                self.system_policy.failure_policy
            ));
        }
        problems.extend(self.exception_review_problems());
        problems
    }

    /// What the bundle asks of every system exception beyond what pod-security accepts: an
    /// `expires` date, so it is reviewed, and image patterns without a tag or digest, which
    /// match every tag and digest of the repository (`:*` misses an image pinned by digest
    /// alone). The shape of each exception is pod-security's to check.
    fn exception_review_problems(&self) -> Vec<String> {
        let Some(exceptions) = self
            .system_policy
            .settings
            .get("exceptions")
            .and_then(Value::as_array)
        else {
            return Vec::new();
        };
        let mut problems = Vec::new();
        for (index, exception) in exceptions.iter().enumerate() {
            let at = format!("systemPolicy.settings.exceptions[{index}]");
            if exception.get("expires").is_none() {
                problems.push(format!(
                    "{at}: no expires; give every system exception a last day (about a year ahead) so it is reviewed"
                ));
            }
            let images = exception.get("images").and_then(Value::as_array);
            for (image, pattern) in images.into_iter().flatten().enumerate() {
                if let Some(Err(reason)) = pattern.as_str().map(fields::repository_pattern) {
                    problems.push(format!("{at}.images[{image}]: {reason}"));
                }
            }
        }
        problems
    }

    /// The system namespaces: DNS labels with a reason, sorted, unique, and covering the
    /// namespaces nothing may judge with the bundle's policies.
    fn namespace_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut seen = BTreeSet::new();
        for (index, namespace) in self.system_namespaces.iter().enumerate() {
            let at = format!("systemNamespaces[{index}]");
            if let Err(reason) = fields::dns_label(&namespace.name) {
                problems.push(format!("{at}.name: {reason}"));
            }
            if namespace.why.trim().is_empty() {
                problems.push(format!("{at}.why: say why {} is spared", namespace.name));
            }
            if !seen.insert(namespace.name.as_str()) {
                problems.push(format!("{at}.name: {} is listed twice", namespace.name));
            }
            if let Some(previous) = index
                .checked_sub(1)
                .and_then(|i| self.system_namespaces.get(i))
                .filter(|previous| previous.name > namespace.name)
            {
                problems.push(format!(
                    "{at}.name: {} is listed after {}; keep the list sorted",
                    namespace.name, previous.name
                ));
            }
        }
        let kubewarden = self.kubewarden_namespace.as_str();
        for required in ALWAYS_SPARED.iter().copied().chain([kubewarden]) {
            if !seen.contains(required) {
                problems.push(format!(
                    "systemNamespaces: {required} is missing; the bundle's policies must never judge it{}",
                    if required == kubewarden {
                        " (kubewardenNamespace: the policy server's own pods run there)"
                    } else {
                        ""
                    }
                ));
            }
        }
        problems
    }
}

/// At least two replicas, and a PodDisruptionBudget that lets one be evicted.
fn availability(server: &PolicyServerSource) -> Result<(), String> {
    if server.replicas < 2 {
        return Err(format!(
            "{} is fewer than 2: one pod evicted for a node drain would leave every admission request to failurePolicy",
            server.replicas
        ));
    }
    if !(1..server.replicas).contains(&server.min_available) {
        return Err(format!(
            "minAvailable {} must be at least 1 and below replicas {}, or no pod could ever be evicted",
            server.min_available, server.replicas
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked_in() -> String {
        std::fs::read_to_string(crate::workspace::root().join(PATH)).unwrap()
    }

    #[test]
    fn the_checked_in_bundle_reads_and_spares_the_kubewarden_defaults_list() {
        let source = BundleSource::parse(&checked_in()).unwrap();
        let placement = source.placement();
        assert_eq!(placement.policy_server, "pci-policies");
        // kubewarden-defaults' global.skipNamespaces (commit 148b1a90) and Kubewarden's own.
        for name in [
            "calico-system",
            "cattle-system",
            "cert-manager",
            "kube-node-lease",
            "kube-public",
            "kube-system",
            "kubewarden",
            "cattle-kubewarden-system",
            "tigera-operator",
        ] {
            assert!(
                placement.system_namespaces.iter().any(|n| n == name),
                "{name}"
            );
        }
        assert_eq!(placement.system_namespaces.len(), 43);
    }

    /// Each edit of the checked-in file, and the error naming its field.
    #[test]
    fn every_problem_is_named_with_its_field() {
        let text = checked_in();
        for (from, to, expected) in [
            (
                "replicas: 2",
                "replicas: 1",
                "policyServer.replicas: 1 is fewer than 2",
            ),
            (
                "minAvailable: 1",
                "minAvailable: 2",
                "minAvailable 2 must be at least 1 and below replicas 2",
            ),
            ("minAvailable: 1", "minAvailable: 0", "minAvailable 0"),
            (
                "name: pci-policies",
                "name: PCI",
                "policyServer.name: \"PCI\" is not a DNS label",
            ),
            (
                "policy-server:v1.31.0",
                "policy-server",
                "policyServer.image: \"ghcr.io/kubewarden/policy-server\" names no tag",
            ),
            (
                "memory: 256Mi",
                "memory: lots",
                "policyServer.requests.memory: \"lots\" is not a quantity",
            ),
            (
                "limits: {memory: 1Gi}",
                "limits: {gpu: 1}",
                "policyServer.limits.gpu: \"gpu\" is not a resource",
            ),
            (
                "minimumKubewardenVersion: 1.31.0",
                "minimumKubewardenVersion: v1.31",
                "minimumKubewardenVersion: \"v1.31\"",
            ),
            (
                "kubewardenNamespace: kubewarden",
                "kubewardenNamespace: kw_system",
                "kubewardenNamespace: \"kw_system\" is not a DNS label",
            ),
            (
                "{name: capi-system, why: Cluster API core controllers}",
                "{name: capi-system, why: \" \"}",
                "systemNamespaces[2].why: say why capi-system is spared",
            ),
            (
                "{name: capi-system,",
                "{name: calico-system,",
                "systemNamespaces[2].name: calico-system is listed twice",
            ),
            (
                "{name: capi-system,",
                "{name: zz-system,",
                "systemNamespaces[3].name: cattle-alerting is listed after zz-system",
            ),
            (
                "{name: kube-system,",
                "{name: kube-systen,",
                "systemNamespaces: kube-system is missing",
            ),
            (
                "{name: kubewarden,",
                "{name: kubewardem,",
                "systemNamespaces: kubewarden is missing; the bundle's policies must never judge it (kubewardenNamespace",
            ),
            (
                "failurePolicy: Ignore",
                "failurePolicy: ignore",
                "systemPolicy.failurePolicy: \"ignore\" is neither Fail nor Ignore",
            ),
            (
                "  replicas: 2\n",
                "  replicas: 2\n  maxUnavailable: 1\n",
                "unknown field `maxUnavailable`",
            ),
            (
                "        expires: \"2027-12-31\"\n",
                "",
                "systemPolicy.settings.exceptions[0]: no expires",
            ),
            (
                "images: [registry.k8s.io/kube-proxy]",
                "images: [\"registry.k8s.io/kube-proxy:*\"]",
                "systemPolicy.settings.exceptions[0].images[0]: \"registry.k8s.io/kube-proxy:*\" names a tag or digest",
            ),
        ] {
            assert!(text.contains(from), "{from}");
            let error = format!(
                "{:#}",
                BundleSource::parse(&text.replacen(from, to, 1)).unwrap_err()
            );
            assert!(error.contains(expected), "{to}: {error}");
        }
    }

    #[test]
    fn several_problems_are_named_at_once() {
        let text = checked_in()
            .replacen("replicas: 2", "replicas: 1", 1)
            .replacen("memory: 256Mi", "memory: lots", 1);
        let error = BundleSource::parse(&text).unwrap_err().to_string();
        assert!(
            error.contains("policyServer.replicas")
                && error.contains("policyServer.requests.memory"),
            "{error}"
        );
    }
}
