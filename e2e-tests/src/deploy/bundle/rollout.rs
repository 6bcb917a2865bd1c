//! The rollout a rendering states: in `monitor` every policy and group is `mode: monitor`,
//! `failurePolicy: Ignore`; in `protect`, `mode: protect`, `failurePolicy: Fail`. The system
//! namespaces' policy follows the rollout's mode but keeps the failurePolicy deploy/bundle.yml
//! states for it (`systemPolicy.failurePolicy`), in every rendering.

use std::fmt;

use serde_json::Value;

use pci_shared::path::FieldPath;

use crate::deploy::bundle::namespaces::is_system_policy;
use crate::deploy::bundle::policies::is_policy;
use crate::deploy::findings::Finding;
use crate::deploy::object::Object;

/// The two rollouts of the bundle (docs/rollout.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rollout {
    /// Every verdict logged and reported, nothing rejected, nothing blocked when the policy
    /// server cannot answer.
    Monitor,
    /// The PCI deployment: verdicts enforced, failing closed.
    Protect,
}

impl Rollout {
    /// The `spec.mode` of every policy and group.
    pub fn mode(self) -> &'static str {
        match self {
            Self::Monitor => "monitor",
            Self::Protect => "protect",
        }
    }

    /// The `spec.failurePolicy` of every policy and group but the system namespaces' policy.
    pub fn failure_policy(self) -> &'static str {
        match self {
            Self::Monitor => "Ignore",
            Self::Protect => "Fail",
        }
    }
}

impl fmt::Display for Rollout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.mode())
    }
}

/// What the policies and groups of `objects` get wrong about `rollout` (none: a Component,
/// which states no rollout of its own) and about `system_failure_policy`.
pub fn rollout_findings(
    objects: &[Object],
    rollout: Option<Rollout>,
    system_failure_policy: &str,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for policy in objects.iter().filter(|object| is_policy(object)) {
        if let Some(rollout) = rollout {
            findings.extend(field_finding(
                policy,
                "mode",
                rollout.mode(),
                &format!("the {rollout} rollout"),
            ));
        }
        if is_system_policy(policy) {
            findings.extend(field_finding(
                policy,
                "failurePolicy",
                system_failure_policy,
                "deploy/bundle.yml systemPolicy.failurePolicy",
            ));
        } else if let Some(rollout) = rollout {
            findings.extend(field_finding(
                policy,
                "failurePolicy",
                rollout.failure_policy(),
                &format!("the {rollout} rollout"),
            ));
        }
    }
    findings
}

/// A finding when `spec.<field>` of `policy` is not `expected`, which `source` states.
fn field_finding(policy: &Object, field: &str, expected: &str, source: &str) -> Option<Finding> {
    let stated = policy
        .value
        .get("spec")
        .and_then(|spec| spec.get(field))
        .and_then(Value::as_str);
    let problem = match stated {
        Some(stated) if stated == expected => return None,
        Some(stated) => format!("{stated}, but {source} states {expected}"),
        None => format!("unset: {source} states {expected}, written out"),
    };
    Some(Finding::new(
        policy.label(),
        FieldPath::parse_static("spec").field(field.to_owned()),
        problem,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::object::read_objects;

    fn policies() -> Vec<Object> {
        read_objects(
            "apiVersion: policies.kubewarden.io/v1\nkind: ClusterAdmissionPolicy\nmetadata: {name: pci-pod-security-system}\nspec: {mode: monitor, failurePolicy: Ignore}\n---\napiVersion: policies.kubewarden.io/v1\nkind: ClusterAdmissionPolicyGroup\nmetadata: {name: g}\nspec: {mode: monitor}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
        )
        .unwrap()
    }

    fn found(rollout: Option<Rollout>, system: &str) -> Vec<String> {
        rollout_findings(&policies(), rollout, system)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn every_policy_states_the_rollout_and_the_system_policy_its_failure_policy() {
        assert_eq!(
            found(Some(Rollout::Monitor), "Ignore"),
            [
                "ClusterAdmissionPolicyGroup g: spec.failurePolicy: unset: the monitor rollout states Ignore, written out"
            ]
        );
        assert_eq!(
            found(Some(Rollout::Protect), "Fail"),
            [
                "ClusterAdmissionPolicy pci-pod-security-system: spec.mode: monitor, but the protect rollout states protect",
                "ClusterAdmissionPolicy pci-pod-security-system: spec.failurePolicy: Ignore, but deploy/bundle.yml systemPolicy.failurePolicy states Fail",
                "ClusterAdmissionPolicyGroup g: spec.mode: monitor, but the protect rollout states protect",
                "ClusterAdmissionPolicyGroup g: spec.failurePolicy: unset: the protect rollout states Fail, written out",
            ]
        );
    }

    #[test]
    fn without_a_rollout_only_the_system_policy_is_held_to_its_failure_policy() {
        assert_eq!(found(None, "Ignore"), Vec::<String>::new());
        assert_eq!(
            found(None, "Fail"),
            [
                "ClusterAdmissionPolicy pci-pod-security-system: spec.failurePolicy: Ignore, but deploy/bundle.yml systemPolicy.failurePolicy states Fail"
            ]
        );
    }
}
