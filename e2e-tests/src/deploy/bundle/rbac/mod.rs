//! RBAC for context-aware policies, and nothing more: the ServiceAccount the PolicyServer names
//! is the bundle's only one (in the Kubewarden namespace); every binding of the bundle binds
//! exactly it to a ClusterRole of the bundle; ClusterRoles neither aggregate nor are
//! aggregated; and the roles bound to the account grant `get`, `list` and `watch` on every
//! `contextAwareResources` entry of every policy and group member, and nothing more.
//!
//! - `needs`: what the policies read; `accounts`: the ServiceAccounts; `bindings`: subjects and
//!   role references; `roles`: what the ClusterRoles grant; `schedule`: the evidence
//!   schedule's read-only account, checked apart from the PolicyServer's.

mod accounts;
mod bindings;
mod needs;
mod roles;
mod schedule;

use std::collections::BTreeSet;

use crate::deploy::bundle::account::{AccountRef, account_name, policy_server};
use crate::deploy::bundle::resources::ApiResource;
use crate::deploy::bundle::values::BundleValues;
use crate::deploy::findings::Finding;
use crate::deploy::object::Object;

use bindings::{Grantee, binds, bound_role, is_cluster_role_binding};
use needs::Need;
use roles::{READ, grants};

/// What `objects` get wrong about the RBAC of their context-aware policies.
pub fn rbac_findings(objects: &[Object], values: &BundleValues) -> Vec<Finding> {
    let accounts = schedule::schedule_accounts(objects);
    let (scheduled, rest): (Vec<&Object>, Vec<&Object>) = objects
        .iter()
        .partition(|object| schedule::is_schedule_object(object, objects, &accounts));
    let mut findings =
        schedule::schedule_findings(&scheduled, &accounts, &values.kubewarden_namespace);
    let rest: Vec<Object> = rest.into_iter().cloned().collect();
    findings.extend(policy_server_rbac(&rest, values));
    findings
}

/// The PolicyServer's RBAC in `objects` (the evidence schedule's set apart).
fn policy_server_rbac(objects: &[Object], values: &BundleValues) -> Vec<Finding> {
    let mut findings = Vec::new();
    let needs = needs::needs(objects, &mut findings);
    let server = policy_server(objects);
    let grantee = server.and_then(|server| {
        account_name(server).map(|name| Grantee {
            server: server.name(),
            account: AccountRef {
                namespace: values.kubewarden_namespace.clone(),
                name: name.to_owned(),
            },
        })
    });
    let account = grantee.as_ref().map(|grantee| &grantee.account);
    findings.extend(accounts::account_findings(objects, server, account, &needs));
    findings.extend(bindings::binding_findings(objects, grantee.as_ref()));
    let needed: BTreeSet<&ApiResource> = needs.iter().map(|need| &need.resource).collect();
    findings.extend(roles::role_findings(objects, &needed));
    if let Some(grantee) = &grantee {
        findings.extend(coverage_findings(objects, grantee, &needs));
    }
    findings
}

/// Every need some verb of which no ClusterRole bound to the grantee (cluster-wide: a
/// RoleBinding grants in one namespace only) grants.
fn coverage_findings(objects: &[Object], grantee: &Grantee, needs: &[Need]) -> Vec<Finding> {
    let roles: Vec<&Object> = objects
        .iter()
        .filter(|object| is_cluster_role_binding(object) && binds(object, &grantee.account))
        .filter_map(|binding| bound_role(binding, objects).ok())
        .collect();
    let mut findings = Vec::new();
    for need in needs {
        let missing: Vec<&str> = READ
            .into_iter()
            .filter(|verb| !roles.iter().any(|role| grants(role, &need.resource, verb)))
            .collect();
        if !missing.is_empty() {
            findings.push(Finding::new(
                &need.policy,
                need.path.clone(),
                format!(
                    "ServiceAccount {} of PolicyServer {} may not {} {}: no ClusterRole bound to it in the bundle grants it",
                    grantee.account,
                    grantee.server,
                    missing.join(", "),
                    need.resource
                ),
            ));
        }
    }
    findings
}
