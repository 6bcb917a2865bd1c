//! The module lock `deploy/modules.yaml` (written by `make pin`) against what `make build`
//! built: every module pinned to the digest `make publish` would push for dist/<policy>.wasm,
//! and one registry and version named alike by the lock, each policy's metadata and its Artifact
//! Hub package.

use e2e::{bundle, root};
use pci_host::metadata::Metadata;
use pci_host::module_lock::ModuleLock;
use pci_host::publish::{plan_bundle, planned_lock};
use serde_json::Value;

fn lock() -> ModuleLock {
    ModuleLock::read(&bundle().module_lock())
        .expect("deploy/modules.yaml: run `make pin` and commit")
}

#[test]
fn the_lock_pins_every_module_to_the_digest_of_dist() {
    let lock = lock();
    let built = planned_lock(&plan_bundle(&bundle(), None, None).expect("dist/: run `make build`"))
        .unwrap();
    let mut faults = Vec::new();
    for (policy, module) in lock.modules() {
        if module.digest.is_none() {
            faults.push(format!("{policy}: {module} carries no digest"));
        }
    }
    faults.extend(built.differences(&lock));
    assert!(
        faults.is_empty(),
        "deploy/modules.yaml does not pin what dist/ holds: run `make pin` and commit\n  {}",
        faults.join("\n  ")
    );
}

#[test]
fn the_lock_the_metadata_and_artifact_hub_name_one_registry_and_version() {
    let lock = lock();
    let prefix = lock.registry_prefix().unwrap();
    let policies = e2e::policies();
    assert_eq!(
        lock.modules().map(|(policy, _)| policy).collect::<Vec<_>>(),
        policies
    );
    for policy in &policies {
        let text =
            std::fs::read_to_string(bundle().policy_dir(policy).join("metadata.yml")).unwrap();
        let metadata = Metadata::from_yaml(&text).unwrap();
        let oci_url = &metadata.annotations["io.kubewarden.policy.ociUrl"];
        let version = &metadata.annotations["io.kubewarden.policy.version"];
        assert_eq!(oci_url, &format!("{prefix}/{policy}"), "{policy}");
        let module = lock.module(policy).unwrap();
        assert_eq!(
            module.by_tag(),
            format!("registry://{oci_url}:v{version}"),
            "{policy}: the lock and metadata.yml disagree: run `make pin` and commit"
        );
        let package = root().join(format!(
            "artifacthub/{policy}/{version}/artifacthub-pkg.yml"
        ));
        let package: Value =
            yaml_serde::from_str(&std::fs::read_to_string(&package).unwrap()).unwrap();
        assert_eq!(
            package["containersImages"][0]["image"],
            format!("{oci_url}:v{version}"),
            "{policy}: Artifact Hub names another module"
        );
    }
}
