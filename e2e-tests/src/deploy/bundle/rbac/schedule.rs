//! The evidence schedule's RBAC (`deploy/components/evidence-schedule`): the ServiceAccount a
//! CronJob of the bundle runs as lives in the Kubewarden namespace and may only read. Every
//! Role and ClusterRole bound to it grants `get` and `list` and nothing else, names its groups
//! and resources (no `*`), reads nothing of the core group (Secrets, ConfigMaps, Pods) and
//! aggregates nothing; its bindings bind it alone. Which lists
//! exactly is the command's to say: `cli/src/evidence/api.rs` compares them with this
//! component.

use serde_json::Value;

use pci_shared::path::FieldPath;

use crate::deploy::bundle::account::{AccountRef, is_service_account};
use crate::deploy::bundle::rbac::bindings::{binds, is_binding};
use crate::deploy::bundle::rbac::roles::{
    RBAC_API_VERSION, RBAC_GROUP, aggregation_findings, strings,
};
use crate::deploy::findings::Finding;
use crate::deploy::object::Object;

/// The verbs the schedule may use: it reads once per run.
const SCHEDULE_VERBS: [&str; 2] = ["get", "list"];

/// The accounts the CronJobs of `objects` run as (in their own namespace).
pub fn schedule_accounts(objects: &[Object]) -> Vec<AccountRef> {
    objects
        .iter()
        .filter(|object| object.is("batch/v1", "CronJob"))
        .filter_map(|job| {
            let name = job
                .value
                .pointer("/spec/jobTemplate/spec/template/spec/serviceAccountName")
                .and_then(Value::as_str)?;
            Some(AccountRef {
                namespace: job.namespace()?.to_owned(),
                name: name.to_owned(),
            })
        })
        .collect()
}

/// True for the schedule's own objects: its accounts, the bindings binding one of them, and
/// the roles those bindings name.
pub fn is_schedule_object(object: &Object, objects: &[Object], accounts: &[AccountRef]) -> bool {
    let binds_schedule =
        |binding: &Object| is_binding(binding) && accounts.iter().any(|a| binds(binding, a));
    if is_service_account(object) {
        return accounts.iter().any(|account| {
            object.name() == account.name && object.namespace() == Some(account.namespace.as_str())
        });
    }
    if is_binding(object) {
        return binds_schedule(object);
    }
    let is_role =
        object.api_version() == RBAC_API_VERSION && matches!(object.kind(), "Role" | "ClusterRole");
    is_role
        && objects
            .iter()
            .filter(|binding| binds_schedule(binding))
            .any(|binding| names_role(binding, object))
}

/// True when `binding`'s roleRef names `role` (a RoleBinding's Role in its own namespace).
fn names_role(binding: &Object, role: &Object) -> bool {
    let reference = binding.value.get("roleRef").unwrap_or(&Value::Null);
    let text = |field: &str| reference.get(field).and_then(Value::as_str).unwrap_or("");
    text("apiGroup") == RBAC_GROUP
        && text("kind") == role.kind()
        && text("name") == role.name()
        && (role.kind() == "ClusterRole" || role.namespace() == binding.namespace())
}

/// What the schedule's objects (`schedule`, among the rendering's `objects`) get wrong.
pub fn schedule_findings(
    schedule: &[&Object],
    accounts: &[AccountRef],
    kubewarden_namespace: &str,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for account in accounts {
        if account.namespace != kubewarden_namespace {
            findings.push(Finding::new(
                format!("ServiceAccount {account}"),
                FieldPath::root(),
                format!(
                    "the evidence schedule runs in the Kubewarden namespace, {kubewarden_namespace}"
                ),
            ));
        }
    }
    for object in schedule {
        if is_binding(object) {
            findings.extend(binding_findings(object, accounts));
            if !schedule.iter().any(|role| names_role(object, role)) {
                findings.push(Finding::new(
                    object.label(),
                    FieldPath::parse_static("roleRef"),
                    "names a role that is not the evidence schedule's own (cluster-admin, view, edit or any role from elsewhere would grant more than it reads)",
                ));
            }
        } else if !is_service_account(object) {
            findings.extend(role_findings(object));
        }
    }
    findings
}

/// A binding of the schedule binds one of its accounts and nobody else.
fn binding_findings(binding: &Object, accounts: &[AccountRef]) -> Vec<Finding> {
    let subjects = binding
        .value
        .get("subjects")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let mut findings = Vec::new();
    for (index, subject) in subjects.iter().enumerate() {
        let text = |field: &str| subject.get(field).and_then(Value::as_str).unwrap_or("");
        let own = text("kind") == "ServiceAccount"
            && accounts
                .iter()
                .any(|a| a.name == text("name") && a.namespace == text("namespace"));
        if !own {
            findings.push(Finding::new(
                binding.label(),
                FieldPath::parse_static("subjects").index(index),
                format!(
                    "binds {} {}: a binding of the evidence schedule binds its own ServiceAccount only",
                    text("kind"),
                    text("name")
                ),
            ));
        }
    }
    findings
}

/// A role of the schedule reads, names what, and aggregates nothing.
fn role_findings(role: &Object) -> Vec<Finding> {
    let mut findings = aggregation_findings(role, "evidence schedule");
    let rules = role
        .value
        .get("rules")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    for (index, rule) in rules.iter().enumerate() {
        let at = FieldPath::parse_static("rules").index(index);
        let list = |field: &str| strings(rule, field);
        for verb in list("verbs") {
            if !SCHEDULE_VERBS.contains(&verb) {
                findings.push(Finding::new(
                    role.label(),
                    at.field("verbs"),
                    format!("grants {verb}: the evidence schedule only reads (get, list)"),
                ));
            }
        }
        for group in list("apiGroups") {
            if group.is_empty() || group == "*" {
                findings.push(Finding::new(
                    role.label(),
                    at.field("apiGroups"),
                    format!("grants the API group {group:?}: the evidence schedule reads no core resource (Secrets, ConfigMaps, Pods) and names its groups"),
                ));
            }
        }
        if list("resources").contains(&"*") || rule.get("nonResourceURLs").is_some() {
            findings.push(Finding::new(
                role.label(),
                at.field("resources"),
                "the evidence schedule names the resources it reads",
            ));
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::object::read_objects;

    const SCHEDULE: &str = "
apiVersion: batch/v1
kind: CronJob
metadata: {name: evidence, namespace: kubewarden}
spec:
  schedule: '1 2 * * *'
  jobTemplate: {spec: {template: {spec: {serviceAccountName: reader, containers: []}}}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: reader, namespace: kubewarden}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: reader}
rules:
- {apiGroups: [''], resources: [secrets], verbs: [get, list]}
- {apiGroups: [policies.kubewarden.io], resources: ['*'], verbs: [list, patch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: reader}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: reader}
subjects:
- {kind: ServiceAccount, name: reader, namespace: kubewarden}
- {kind: Group, name: 'system:authenticated'}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reader-admin, namespace: kubewarden}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects:
- {kind: ServiceAccount, name: reader, namespace: kubewarden}
";

    #[test]
    fn a_schedule_that_reads_secrets_writes_or_binds_others_is_refused() {
        let objects = read_objects(SCHEDULE).unwrap();
        let accounts = schedule_accounts(&objects);
        let scheduled: Vec<&Object> = objects
            .iter()
            .filter(|o| is_schedule_object(o, &objects, &accounts))
            .collect();
        assert_eq!(scheduled.len(), 4, "account, role and both bindings");
        let messages: Vec<String> = schedule_findings(&scheduled, &accounts, "kubewarden")
            .iter()
            .map(ToString::to_string)
            .collect();
        let all = messages.join("\n");
        for expected in [
            "reads no core resource",
            "grants patch: the evidence schedule only reads",
            "names the resources it reads",
            "binds Group system:authenticated",
            "RoleBinding kubewarden/reader-admin: roleRef: names a role that is not the evidence schedule's own",
        ] {
            assert!(all.contains(expected), "{expected}: {all}");
        }
        assert_eq!(messages.len(), 5, "{all}");
        assert_eq!(
            schedule_findings(&scheduled, &accounts, "cattle-kubewarden-system").len(),
            6,
            "and it runs in the Kubewarden namespace"
        );
    }
}
