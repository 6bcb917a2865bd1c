//! The documented placements, by name: what EKS and AKS use to pin a pod to their serverless
//! nodes. Fields set beside a preset replace the preset's.

use std::collections::BTreeMap;

use super::settings::{Os, Placement, RequiredToleration};

/// A preset a placement may start from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Preset {
    /// Amazon EKS on AWS Fargate.
    EksFargate,
    /// AKS virtual nodes (virtual-kubelet on Azure Container Instances).
    AksVirtualNodes,
}

impl Preset {
    /// The placement the preset describes.
    pub fn placement(self) -> Placement {
        match self {
            Self::EksFargate => Placement {
                name: "eks-fargate".into(),
                description: "Amazon EKS on AWS Fargate: every pod runs in its own microVM, with no node a user can reach; EKS sets schedulerName fargate-scheduler on the pods a Fargate profile selects, and names each Fargate node fargate-<private DNS name>".into(),
                scheduler_name: Some("fargate-scheduler".into()),
                node_selector: BTreeMap::new(),
                tolerations: Vec::new(),
                fargate_profiles: Vec::new(),
                node_names: vec!["fargate-*".into()],
                os: vec![Os::Linux],
                runs_daemon_sets: false,
            },
            Self::AksVirtualNodes => Placement {
                name: "aks-virtual-nodes".into(),
                description: "AKS virtual nodes: pods run as Azure Container Instances container groups, hypervisor-isolated, Windows containers included; pinned by the node selector type: virtual-kubelet, their nodes tainted virtual-kubelet.io/provider=azure:NoSchedule".into(),
                scheduler_name: None,
                node_selector: BTreeMap::from([("type".into(), "virtual-kubelet".into())]),
                tolerations: vec![RequiredToleration {
                    key: "virtual-kubelet.io/provider".into(),
                    operator: "Equal".into(),
                    value: Some("azure".into()),
                    effect: Some("NoSchedule".into()),
                }],
                fargate_profiles: Vec::new(),
                node_names: Vec::new(),
                os: vec![Os::Linux, Os::Windows],
                runs_daemon_sets: false,
            },
        }
    }
}
