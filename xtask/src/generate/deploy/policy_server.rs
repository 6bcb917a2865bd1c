//! The bundle's own PolicyServer, the PodDisruptionBudget that keeps one of its pods answering
//! through node drains, and the ConfigMap holding the verification config of our modules.
//!
//! The Kubewarden SDK has no PolicyServer type, so it is written here, with only the fields the
//! bundle sets, named as the PolicyServer CRD names them (`policies.kubewarden.io/v1`).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, ConfigMap, PodAffinityTerm, PodAntiAffinity, WeightedPodAffinityTerm,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Serialize;

use super::bundle::BundleSource;
use super::rbac::named;

/// The ConfigMap holding the verification config; its key is the one policy-server reads.
pub const VERIFICATION_CONFIG_MAP: &str = "pci-policies-verification";
pub const VERIFICATION_CONFIG_KEY: &str = "verification-config";

/// The label the Kubewarden controller puts on a PolicyServer's pods
/// (`kubectl logs -n kubewarden -l kubewarden/policy-server=default`).
pub const POD_LABEL: &str = "kubewarden/policy-server";

/// `policies.kubewarden.io/v1` PolicyServer.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyServer {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: ObjectMeta,
    pub spec: PolicyServerSpec,
}

/// The fields of `spec` the bundle sets. No `minAvailable` or `maxUnavailable`: the
/// controller would then make a PodDisruptionBudget of its own over the same pods as
/// [`pod_disruption_budget`], and two budgets over one pod make every eviction fail.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyServerSpec {
    pub image: String,
    pub replicas: i32,
    pub service_account_name: String,
    pub verification_config: String,
    pub requests: BTreeMap<String, Quantity>,
    pub limits: BTreeMap<String, Quantity>,
    pub affinity: Affinity,
}

/// The node label whose values tell nodes apart: replicas spread over it.
const SPREAD_TOPOLOGY: &str = "kubernetes.io/hostname";

/// The policy server's pods prefer nodes that run none of them yet, so one node going down
/// (or being drained) leaves a replica answering. Preferred, not required: a one-node cluster
/// still runs every replica.
fn spread_over_nodes(server: &str) -> Affinity {
    Affinity {
        pod_anti_affinity: Some(PodAntiAffinity {
            preferred_during_scheduling_ignored_during_execution: Some(vec![
                WeightedPodAffinityTerm {
                    weight: 100,
                    pod_affinity_term: PodAffinityTerm {
                        label_selector: Some(pods_of(server)),
                        topology_key: SPREAD_TOPOLOGY.to_owned(),
                        ..PodAffinityTerm::default()
                    },
                },
            ]),
            ..PodAntiAffinity::default()
        }),
        ..Affinity::default()
    }
}

/// The pods of the PolicyServer `server`, by the controller's label.
fn pods_of(server: &str) -> LabelSelector {
    LabelSelector {
        match_labels: Some(BTreeMap::from([(POD_LABEL.to_owned(), server.to_owned())])),
        match_expressions: None,
    }
}

/// The PolicyServer of `bundle` (cluster-scoped).
pub fn policy_server(bundle: &BundleSource) -> PolicyServer {
    let source = &bundle.policy_server;
    let quantities = |map: &BTreeMap<String, String>| {
        map.iter()
            .map(|(name, value)| (name.clone(), Quantity(value.clone())))
            .collect()
    };
    PolicyServer {
        api_version: "policies.kubewarden.io/v1",
        kind: "PolicyServer",
        metadata: named(&source.name, None),
        spec: PolicyServerSpec {
            image: source.image.clone(),
            replicas: source.replicas,
            service_account_name: source.service_account_name.clone(),
            verification_config: VERIFICATION_CONFIG_MAP.to_owned(),
            requests: quantities(&source.requests),
            limits: quantities(&source.limits),
            affinity: spread_over_nodes(&source.name),
        },
    }
}

/// Keeps `minAvailable` policy-server pods through voluntary evictions (node drains,
/// upgrades), selecting them by the controller's label.
pub fn pod_disruption_budget(bundle: &BundleSource) -> PodDisruptionBudget {
    let source = &bundle.policy_server;
    PodDisruptionBudget {
        metadata: named(
            &format!("{}-policy-server", source.name),
            Some(&bundle.kubewarden_namespace),
        ),
        spec: Some(PodDisruptionBudgetSpec {
            min_available: Some(IntOrString::Int(source.min_available)),
            selector: Some(pods_of(&source.name)),
            ..PodDisruptionBudgetSpec::default()
        }),
        status: None,
    }
}

/// The ConfigMap the PolicyServer's `verificationConfig` names, holding the text of
/// `verification-config.yml` (our release signatures) in the key policy-server reads.
pub fn verification_config(bundle: &BundleSource, text: &str) -> ConfigMap {
    ConfigMap {
        metadata: named(VERIFICATION_CONFIG_MAP, Some(&bundle.kubewarden_namespace)),
        data: Some(BTreeMap::from([(
            VERIFICATION_CONFIG_KEY.to_owned(),
            text.to_owned(),
        )])),
        ..ConfigMap::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_selects_the_servers_pods_the_server_sets_no_budget_of_its_own_and_spreads_its_replicas()
     {
        let bundle = BundleSource::load(&crate::workspace::root()).unwrap();
        let server = serde_json::to_value(policy_server(&bundle)).unwrap();
        assert_eq!(server["kind"], "PolicyServer");
        assert_eq!(
            server["metadata"],
            serde_json::json!({"name": "pci-policies"})
        );
        assert_eq!(server["spec"]["replicas"], 2);
        assert_eq!(
            server["spec"]["serviceAccountName"],
            "pci-policies-policy-server"
        );
        assert_eq!(
            server["spec"]["verificationConfig"],
            VERIFICATION_CONFIG_MAP
        );
        assert_eq!(
            server["spec"]["requests"],
            serde_json::json!({"cpu": "250m", "memory": "256Mi"})
        );
        for field in ["minAvailable", "maxUnavailable"] {
            assert!(server["spec"].get(field).is_none(), "{field}");
        }
        // The replicas prefer different nodes, selected as the budget selects them.
        assert_eq!(
            server["spec"]["affinity"],
            serde_json::json!({"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{
                "weight": 100,
                "podAffinityTerm": {
                    "labelSelector": {"matchLabels": {"kubewarden/policy-server": "pci-policies"}},
                    "topologyKey": "kubernetes.io/hostname"
                }
            }]}})
        );
        let budget = serde_json::to_value(pod_disruption_budget(&bundle)).unwrap();
        assert_eq!(budget["apiVersion"], "policy/v1");
        assert_eq!(budget["metadata"]["namespace"], "kubewarden");
        assert_eq!(budget["spec"]["minAvailable"], 1);
        assert_eq!(
            budget["spec"]["selector"],
            serde_json::json!({"matchLabels": {"kubewarden/policy-server": "pci-policies"}})
        );
    }
}
