//! The ServiceAccounts of the bundle: the one the PolicyServer names, in the namespace its pods
//! run in, and no other. The bundle runs nothing but its PolicyServer: another account would be
//! an identity for whoever may run pods there, and a subject to grant to.

use pci_shared::path::FieldPath;

use crate::deploy::bundle::account::{AccountRef, is_service_account};
use crate::deploy::bundle::rbac::needs::{Need, listed};
use crate::deploy::findings::Finding;
use crate::deploy::object::Object;

/// What `objects` get wrong about ServiceAccounts: `server` is the rendering's PolicyServer,
/// `account` the ServiceAccount it names (none when unset), `needs` what its policies read.
pub fn account_findings(
    objects: &[Object],
    server: Option<&Object>,
    account: Option<&AccountRef>,
    needs: &[Need],
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let is_account = |object: &Object| {
        account.is_some_and(|account| {
            object.name() == account.name && object.namespace() == Some(account.namespace.as_str())
        })
    };
    // The account without its namespace is named elsewhere (metadata.namespace unset).
    let is_unplaced_account = |object: &Object| {
        account.is_some_and(|account| object.name() == account.name && object.namespace().is_none())
    };
    if let Some(server) = server {
        let at = FieldPath::parse_static("spec.serviceAccountName");
        match account {
            None if !needs.is_empty() => findings.push(Finding::new(
                server.label(),
                at,
                format!("unset: the policies read {}; name the ServiceAccount the bundle grants that to", listed(needs)),
            )),
            Some(account) if !objects.iter().any(|o| is_service_account(o) && is_account(o)) => {
                findings.push(Finding::new(
                    server.label(),
                    at,
                    format!("names ServiceAccount {account}, which is not in the bundle (the PolicyServer's pods run in {})", account.namespace),
                ));
            }
            _ => {}
        }
    }
    let only = match (server, account) {
        (Some(server), Some(account)) => {
            format!("the one PolicyServer {} runs as, {account}", server.name())
        }
        _ => "the one its PolicyServer runs as, and this rendering names none".to_owned(),
    };
    for other in objects.iter().filter(|object| {
        is_service_account(object) && !is_account(object) && !is_unplaced_account(object)
    }) {
        findings.push(Finding::new(
            other.label(),
            FieldPath::root(),
            format!(
                "a ServiceAccount the PolicyServer does not run as: the bundle has only {only}"
            ),
        ));
    }
    findings
}
