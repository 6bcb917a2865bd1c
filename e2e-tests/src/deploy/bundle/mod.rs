//! What a rendering of the bundle must hold beyond valid objects: system namespaces spared,
//! exactly, by selectors a workload's author cannot steer; the mode and failurePolicy of its
//! rollout; one PolicyServer that every policy names (with replicas, a disruption budget and
//! the repository's verification config), running in a spared namespace; RBAC for the
//! context-aware policies bound to its ServiceAccount and to nobody else; modules pinned under
//! one registry prefix; and every namespaced object in a stated namespace (never the one
//! kubectl's context happens to choose).

pub mod account;
pub mod modules;
pub mod namespaces;
pub mod policies;
pub mod policy_server;
mod rbac;
mod resources;
pub mod rollout;
pub mod selectors;
pub mod values;
mod verification;

use pci_shared::path::FieldPath;

use crate::deploy::core_kinds::core_kind;
use crate::deploy::crds::{CrdCatalog, Lookup};
use crate::deploy::findings::Finding;
use crate::deploy::metadata::Scope;
use crate::deploy::object::Object;

pub use modules::ModuleFacts;
pub use rollout::Rollout;
pub use values::BundleValues;

/// What a rendering is compared with: `deploy/bundle.yml`, the policies' metadata and the
/// repository's verification config.
#[derive(Clone, Debug)]
pub struct Expectations {
    pub values: BundleValues,
    pub modules: ModuleFacts,
    /// The text of `verification-config.yml`, which the bundle's ConfigMap carries verbatim.
    pub verification_config: String,
}

/// What a rendering's place (its folder under deploy/, or manifests/) says it deploys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stated {
    /// Its rollout; none for a Component, which follows the overlay that adds it.
    pub rollout: Option<Rollout>,
    /// An organisation's overlay (`deploy/examples/`): its system policy may narrow
    /// deploy/bundle.yml's system namespaces. Every other rendering spares exactly those.
    pub organisation: bool,
}

impl Stated {
    /// A rendering generated from deploy/bundle.yml, of `rollout`.
    pub fn generated(rollout: Option<Rollout>) -> Self {
        Self {
            rollout,
            organisation: false,
        }
    }
}

/// Everything `objects` (one rendering, or one manifest file) get wrong as a bundle, deploying
/// what `stated` says.
pub fn bundle_findings(
    objects: &[Object],
    expected: &Expectations,
    stated: Stated,
    crds: &[CrdCatalog],
) -> Vec<Finding> {
    let values = values_of_rendering(objects, &expected.values, stated.organisation);
    let mut findings = namespace_stated(objects, crds);
    findings.extend(namespaces::system_namespace_findings(
        objects,
        &values.system_namespaces,
        &expected.values.system_namespaces,
    ));
    findings.extend(namespaces::kubewarden_namespace_findings(objects, &values));
    findings.extend(rollout::rollout_findings(
        objects,
        stated.rollout,
        &values.system_policy_failure_policy,
    ));
    findings.extend(policy_server::policy_server_findings(
        objects,
        &values,
        &expected.verification_config,
    ));
    findings.extend(rbac::rbac_findings(objects, &values));
    findings.extend(modules::module_findings(objects, &expected.modules));
    findings
}

/// `values` as one rendering deploys them. An overlay may move the policy server's objects to
/// another Kubewarden namespace (Rancher's `cattle-kubewarden-system`): then that namespace,
/// the one of the ServiceAccount the PolicyServer names, is where its PodDisruptionBudget, its
/// verification ConfigMap and its RBAC subject must be. An organisation's overlay may narrow
/// the system namespaces: then they are the ones its system policy judges.
fn values_of_rendering(
    objects: &[Object],
    values: &BundleValues,
    organisation: bool,
) -> BundleValues {
    let kubewarden_namespace = account::policy_server_account(objects)
        .and_then(Object::namespace)
        .unwrap_or(&values.kubewarden_namespace)
        .to_owned();
    BundleValues {
        kubewarden_namespace,
        system_namespaces: if organisation {
            namespaces::system_namespaces_of(objects, &values.system_namespaces)
        } else {
            values.system_namespaces.clone()
        },
        ..values.clone()
    }
}

/// Namespaced objects that do not say their namespace: `kubectl apply` would put them in the
/// namespace of the user's context.
fn namespace_stated(objects: &[Object], crds: &[CrdCatalog]) -> Vec<Finding> {
    objects
        .iter()
        .filter(|object| {
            object.namespace().is_none() && scope_of(object, crds) == Some(Scope::Namespaced)
        })
        .map(|object| {
            Finding::new(
                object.label(),
                FieldPath::parse_static("metadata.namespace"),
                "unset: kubectl would create it in whatever namespace the user's context names",
            )
        })
        .collect()
}

/// The scope of a known kind.
pub fn scope_of(object: &Object, crds: &[CrdCatalog]) -> Option<Scope> {
    if let Some(core) = core_kind(object.api_version(), object.kind()) {
        return Some(core.scope);
    }
    crds.iter().find_map(
        |catalog| match catalog.lookup(object.api_version(), object.kind()) {
            Lookup::Served(crd, _) => Some(crd.scope),
            _ => None,
        },
    )
}
