//! The bindings of the bundle: every ClusterRoleBinding and RoleBinding binds exactly one
//! subject, the ServiceAccount the PolicyServer runs as, to a ClusterRole of the bundle. A
//! Group, a User, another ServiceAccount or a role from outside the bundle (`cluster-admin`)
//! would grant more than the policies read, or to someone else.

use serde_json::Value;

use pci_shared::path::FieldPath;

use crate::deploy::bundle::account::AccountRef;
use crate::deploy::bundle::rbac::roles::{RBAC_API_VERSION, RBAC_GROUP, is_cluster_role};
use crate::deploy::findings::Finding;
use crate::deploy::object::Object;

/// The kinds that bind a role to subjects.
const BINDING_KINDS: [&str; 2] = ["ClusterRoleBinding", "RoleBinding"];

/// Whom the bundle's bindings bind: the ServiceAccount of its PolicyServer.
pub struct Grantee<'a> {
    /// The PolicyServer's name, for messages.
    pub server: &'a str,
    pub account: AccountRef,
}

/// True for a ClusterRoleBinding or a RoleBinding.
pub fn is_binding(object: &Object) -> bool {
    object.api_version() == RBAC_API_VERSION && BINDING_KINDS.contains(&object.kind())
}

/// True for a ClusterRoleBinding: the only binding that grants cluster-wide reads.
pub fn is_cluster_role_binding(object: &Object) -> bool {
    object.is(RBAC_API_VERSION, "ClusterRoleBinding")
}

/// What every binding of `objects` gets wrong; `grantee` is none when the rendering has no
/// PolicyServer, or it names no ServiceAccount.
pub fn binding_findings(objects: &[Object], grantee: Option<&Grantee>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for binding in objects.iter().filter(|object| is_binding(object)) {
        findings.extend(subject_findings(binding, grantee));
        findings.extend(bound_role(binding, objects).err());
    }
    findings
}

/// The subjects of a binding.
fn subjects(binding: &Object) -> &[Value] {
    binding
        .value
        .get("subjects")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// True when `subject` is `account`.
fn is_account(subject: &Value, account: &AccountRef) -> bool {
    let text = |field: &str| subject.get(field).and_then(Value::as_str);
    text("kind") == Some("ServiceAccount")
        && text("apiGroup").unwrap_or("").is_empty()
        && text("name") == Some(account.name.as_str())
        && text("namespace") == Some(account.namespace.as_str())
}

/// True when `binding` binds `account` (among whatever else it binds).
pub fn binds(binding: &Object, account: &AccountRef) -> bool {
    subjects(binding)
        .iter()
        .any(|subject| is_account(subject, account))
}

/// Every subject but one, the grantee's: each a finding.
fn subject_findings(binding: &Object, grantee: Option<&Grantee>) -> Vec<Finding> {
    let only = match grantee {
        Some(grantee) => format!(
            "a binding of the bundle binds only ServiceAccount {} of PolicyServer {}, once",
            grantee.account, grantee.server
        ),
        None => "a binding of the bundle binds only the ServiceAccount of its PolicyServer, and this rendering has none (spec.serviceAccountName)".to_owned(),
    };
    let subjects = subjects(binding);
    if subjects.is_empty() {
        return vec![Finding::new(
            binding.label(),
            FieldPath::parse_static("subjects"),
            format!("binds nobody: {only}"),
        )];
    }
    let mut findings = Vec::new();
    let mut bound = false;
    for (index, subject) in subjects.iter().enumerate() {
        let at = FieldPath::parse_static("subjects").index(index);
        let text = |field: &str| subject.get(field).and_then(Value::as_str).unwrap_or("");
        if text("kind") == "ServiceAccount" && subject.get("namespace").is_none() {
            findings.push(Finding::new(
                binding.label(),
                at.field("namespace"),
                "required for a ServiceAccount subject",
            ));
        } else if !bound && grantee.is_some_and(|grantee| is_account(subject, &grantee.account)) {
            bound = true;
        } else {
            let whom = match subject.get("namespace").and_then(Value::as_str) {
                Some(namespace) => format!("{} {namespace}/{}", text("kind"), text("name")),
                None => format!("{} {}", text("kind"), text("name")),
            };
            findings.push(Finding::new(
                binding.label(),
                at,
                format!("binds {whom}: {only}"),
            ));
        }
    }
    findings
}

/// The ClusterRole of the bundle a binding refers to.
pub fn bound_role<'a>(binding: &Object, objects: &'a [Object]) -> Result<&'a Object, Finding> {
    let reference = binding.value.get("roleRef").unwrap_or(&Value::Null);
    let text = |field: &str| reference.get(field).and_then(Value::as_str).unwrap_or("");
    if text("kind") != "ClusterRole" || text("apiGroup") != RBAC_GROUP {
        return Err(Finding::new(
            binding.label(),
            FieldPath::parse_static("roleRef"),
            format!(
                "a binding of the bundle refers to a ClusterRole of {RBAC_GROUP}, one of the bundle's"
            ),
        ));
    }
    objects
        .iter()
        .find(|object| is_cluster_role(object) && object.name() == text("name"))
        .ok_or_else(|| {
            Finding::new(
                binding.label(),
                FieldPath::parse_static("roleRef.name"),
                format!(
                    "names ClusterRole {}, which is not in the bundle: a binding of the bundle grants only the bundle's roles, which grant only what its policies read",
                    text("name")
                ),
            )
        })
}
