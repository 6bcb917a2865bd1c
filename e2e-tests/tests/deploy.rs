//! The Kustomize bundle under `deploy/`, rendered with the real `kubectl kustomize`, and the
//! flat manifests under `manifests/`: every object valid against the Kubewarden CRDs of the
//! oldest and the newest version we support (vendored in `kubewarden-crds/`) and the core
//! kinds' Kubernetes types, and every rendering a bundle that spares the system namespaces and
//! runs on its own PolicyServer with its RBAC, budget and verification config
//! (`e2e::deploy`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use e2e::deploy::{check_deploy, check_manifests, checkout_expectations, crds::vendored_dir};
use sha1::{Digest, Sha1};

#[test]
fn the_deploy_bundle_renders_and_validates() {
    match check_deploy(&e2e::root()) {
        Ok(summary) => println!("{summary}"),
        Err(error) => panic!("{error:#}"),
    }
}

#[test]
fn every_manifest_is_valid_against_the_kubewarden_crds_and_core_schemas() {
    match check_manifests(&e2e::root(), None) {
        Ok(summary) => println!("{summary}"),
        Err(error) => panic!("{error:#}"),
    }
}

#[test]
fn every_manifest_file_deploys_as_the_bundle_does() {
    let root = e2e::root();
    let expected = checkout_expectations(&root).unwrap_or_else(|error| panic!("{error:#}"));
    match check_manifests(&root, Some(&expected)) {
        Ok(summary) => println!("{summary}"),
        Err(error) => panic!("{error:#}"),
    }
}

/// Every vendored CRD is listed in PROVENANCE.md with the git blob id it has upstream, and
/// still has it: the files are verbatim, and a refresh updates the record.
#[test]
fn the_vendored_crds_are_the_upstream_files_their_provenance_names() {
    let dir = vendored_dir();
    let provenance = std::fs::read_to_string(dir.join("PROVENANCE.md")).expect("PROVENANCE.md");
    let listed: BTreeMap<PathBuf, String> = provenance
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line
                .split('|')
                .map(|cell| cell.trim().trim_matches('`'))
                .collect();
            match cells.as_slice() {
                ["", file, blob, ""] if file.ends_with(".yaml") => {
                    Some((PathBuf::from(file), (*blob).to_owned()))
                }
                _ => None,
            }
        })
        .collect();
    let mut found = BTreeMap::new();
    for version in std::fs::read_dir(&dir).expect("the CRD folder") {
        let version = version.expect("an entry").path();
        if !version.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&version).expect("a version folder") {
            let file = file.expect("an entry").path();
            let bytes = std::fs::read(&file).expect("a CRD file");
            let mut hasher = Sha1::new();
            hasher.update(format!("blob {}\0", bytes.len()).as_bytes());
            hasher.update(&bytes);
            let blob: String = hasher
                .finalize()
                .iter()
                .map(|byte| format!("{byte:02x}"))
                .collect();
            let relative = file
                .strip_prefix(&dir)
                .expect("under the CRD folder")
                .to_path_buf();
            found.insert(relative, blob);
        }
    }
    assert_eq!(found.len(), 10, "{found:?}");
    assert_eq!(found, listed);
}

/// The evidence schedule's CronJob (deploy/components/evidence-schedule) is a pod the bundle
/// ships: the compiled pod-security policy, with the settings the bundle deploys (restricted),
/// admits it as it is and refuses it once its container may escalate.
#[test]
fn the_evidence_schedules_pod_passes_the_bundles_own_pod_security() {
    use pci_shared::workload::WorkloadKind;
    use serde_json::Value;
    let read = |path: &str| -> Vec<Value> {
        let text = std::fs::read_to_string(e2e::root().join(path)).expect(path);
        yaml_serde::Deserializer::from_str(&text)
            .map(|document| serde::Deserialize::deserialize(document).expect("YAML"))
            .filter(|value: &Value| !value.is_null())
            .collect()
    };
    let job = read("deploy/components/evidence-schedule/evidence-schedule.yaml")
        .into_iter()
        .find(|object| object["kind"] == "CronJob")
        .expect("the component has a CronJob");
    let policy = read("deploy/base/policies/pod-security.yaml")
        .into_iter()
        .find(|object| object["kind"] == "ClusterAdmissionPolicy")
        .expect("the base's pod-security policy");
    let settings = policy["spec"]["settings"].clone();
    assert_eq!(settings["level"], "restricted");
    let request = pci_testkit::admission_request(WorkloadKind::CronJob, "CREATE", job.clone());
    let response = e2e::kwctl_run("pod-security", &request, settings.clone());
    assert!(response.allowed, "{}", e2e::message_and_details(&response));

    let mut escalating = job;
    escalating["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["securityContext"]
        ["allowPrivilegeEscalation"] = Value::Bool(true);
    let request = pci_testkit::admission_request(WorkloadKind::CronJob, "CREATE", escalating);
    let response = e2e::kwctl_run("pod-security", &request, settings);
    assert!(!response.allowed, "the check is real");
}
