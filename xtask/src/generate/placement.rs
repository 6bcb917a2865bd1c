//! Where every generated policy and group runs and which namespaces it judges: the bundle's own
//! PolicyServer, and a namespace selector that spares the system namespaces
//! (`deploy/bundle.yml`), or, for the system namespaces' own policy, selects exactly them.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};

/// The label the API server puts on every namespace, equal to its name (Kubernetes ≥ 1.22):
/// the only namespace label a pod's author cannot choose, since RBAC guards the namespace.
pub const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// The PolicyServer and the system namespaces every generated policy is placed with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Placement {
    /// `spec.policyServer` of every policy and group.
    pub policy_server: String,
    /// The system namespaces, sorted and unique.
    pub system_namespaces: Vec<String>,
}

impl Placement {
    /// `kubernetes.io/metadata.name NotIn [system namespaces]`: what the bundle's policies judge.
    pub fn sparing_system_namespaces(&self) -> LabelSelector {
        self.selector("NotIn")
    }

    /// `kubernetes.io/metadata.name In [system namespaces]`: what the system namespaces' own
    /// baseline policy judges.
    pub fn selecting_system_namespaces(&self) -> LabelSelector {
        self.selector("In")
    }

    fn selector(&self, operator: &str) -> LabelSelector {
        LabelSelector {
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: NAMESPACE_NAME_LABEL.to_owned(),
                operator: operator.to_owned(),
                values: Some(self.system_namespaces.clone()),
            }]),
            match_labels: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_two_selectors_differ_only_in_their_operator() {
        let placement = Placement {
            policy_server: "pci-policies".into(),
            system_namespaces: vec!["kube-system".into(), "kubewarden".into()],
        };
        let spare = serde_json::to_value(placement.sparing_system_namespaces()).unwrap();
        let select = serde_json::to_value(placement.selecting_system_namespaces()).unwrap();
        assert_eq!(
            spare,
            serde_json::json!({"matchExpressions": [{
                "key": "kubernetes.io/metadata.name",
                "operator": "NotIn",
                "values": ["kube-system", "kubewarden"]
            }]})
        );
        assert_eq!(select["matchExpressions"][0]["operator"], "In");
        assert_eq!(
            select["matchExpressions"][0]["values"],
            spare["matchExpressions"][0]["values"]
        );
    }
}
