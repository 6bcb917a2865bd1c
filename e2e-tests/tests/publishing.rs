//! Publishing: every policy pushed to a real registry (Debian's docker-registry on 127.0.0.1),
//! pulled back as policy-server pulls it, compared byte for byte and evaluated, its digest the
//! one computed without a registry; the release's deploy tree pins what was pushed; the
//! generated manifests carry settings each policy accepts.

use e2e::{engine, module_bytes, root};
use oci_client::manifest::{WASM_CONFIG_MEDIA_TYPE, WASM_LAYER_MEDIA_TYPE};
use pci_host::digest::sha256_digest;
use pci_host::local_registry::LocalRegistry;
use pci_host::metadata::Metadata;
use pci_host::module_lock::ModuleLock;
use pci_host::oci::{
    Credentials, OCI_SOURCE_ANNOTATION, Registry, Transport, manifest_annotations,
    policy_manifest_digest, policy_reference,
};
use pci_host::pinned_deploy::write_pinned_deploy;
use pci_host::publish::{plan_bundle, planned_lock, publish_bundle, published_lock};
use serde_json::Value;

#[test]
fn every_policy_round_trips_through_a_real_registry_and_still_evaluates() {
    let registry = LocalRegistry::start().expect("docker-registry (run `make setup`)");
    let client = Registry::new(Transport::Http, Credentials::Anonymous).expect("client");
    let prefix = format!("{}/pci-policies", registry.address());
    for name in e2e::policies() {
        let name = name.as_str();
        let module = module_bytes(name);
        let metadata = Metadata::from_module(&module).unwrap().unwrap();
        let reference = policy_reference(Some(&prefix), &metadata, None).unwrap();
        assert_eq!(reference, format!("{prefix}/{name}:v0.1.0"));
        let pushed = client.push_policy(&module, &reference).expect("push");
        assert_eq!(
            policy_manifest_digest(&module).expect("digest without a registry"),
            pushed.manifest_digest,
            "{name}: the digest computed without a registry is the one the push returned"
        );
        assert_eq!(
            pushed.immutable_ref,
            format!("{prefix}/{name}@{}", pushed.manifest_digest),
            "{name}"
        );
        assert_eq!(
            client.manifest_digest(&reference).expect("digest"),
            pushed.manifest_digest,
            "{name}: the tag points at the pushed manifest"
        );

        for pulled_from in [
            reference.clone(),
            format!("registry://{}", pushed.immutable_ref),
        ] {
            let pulled = client.pull_policy(&pulled_from).expect("pull");
            assert!(
                pulled.module == module,
                "{name}: pulled bytes differ from dist/{name}.wasm"
            );
            assert_eq!(pulled.layer_media_type, WASM_LAYER_MEDIA_TYPE);
            assert_eq!(pulled.config, b"{}");
            assert_eq!(pulled.config_media_type, WASM_CONFIG_MEDIA_TYPE);
            assert_eq!(pulled.manifest_digest, pushed.manifest_digest);
            assert_eq!(
                pulled.annotations,
                manifest_annotations(&metadata.annotations)
            );
            assert!(
                !pulled
                    .annotations
                    .contains_key("io.kubewarden.policy.usage")
            );
            assert_eq!(
                pulled.annotations[OCI_SOURCE_ANNOTATION],
                metadata.annotations["io.kubewarden.policy.source"]
            );

            // The pulled module is what policy-server would run: same verdicts on every example.
            let from_registry = engine().load(&pulled.module).expect("load pulled module");
            let from_dist = e2e::policy(name);
            let examples =
                pci_host::examples::load(&e2e::bundle().examples_dir(name)).expect("examples");
            assert!(!examples.is_empty());
            for example in examples {
                assert_eq!(
                    example.run(&from_registry).expect("run pulled"),
                    example.run(&from_dist).expect("run dist"),
                    "{name}/{}",
                    example.name
                );
            }
        }
        assert_eq!(
            pushed.manifest_digest,
            sha256_digest(&raw_manifest(registry.address(), name)),
            "{name}: the digest is the manifest's sha256"
        );
    }
}

/// The manifest bytes as the registry serves them, read over plain HTTP/1.0.
fn raw_manifest(address: &str, name: &str) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "GET /v2/pci-policies/{name}/manifests/v0.1.0 HTTP/1.0\r\nHost: {address}\r\nAccept: application/vnd.oci.image.manifest.v1+json\r\n\r\n"
    )
    .unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let split = answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&answer[..split]).to_lowercase();
    assert!(
        head.starts_with("http/1.0 200") || head.starts_with("http/1.1 200"),
        "{head}"
    );
    assert!(
        head.contains("content-type: application/vnd.oci.image.manifest.v1+json"),
        "{head}"
    );
    let body = answer[split + 4..].to_vec();
    let manifest: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(manifest["schemaVersion"], 2);
    assert!(
        manifest.get("mediaType").is_none(),
        "kwctl writes no mediaType"
    );
    assert_eq!(manifest["layers"].as_array().unwrap().len(), 1);
    body
}

/// What `make publish` does: every policy of the bundle pushed, each immutable reference
/// pointing at the manifest the tag names and pulling back the same module.
#[test]
fn the_bundle_is_published_with_immutable_references() {
    let registry = LocalRegistry::start().expect("docker-registry (run `make setup`)");
    let prefix = format!("{}/team/pci", registry.address());
    let client = Registry::new(Transport::Http, Credentials::Anonymous).unwrap();
    let published = publish_bundle(&e2e::bundle(), &client, Some(&prefix), Some("v0.1.0-test"))
        .expect("publish");
    let names: Vec<&str> = published.iter().map(|p| p.policy.as_str()).collect();
    assert_eq!(names, e2e::policies());
    for entry in &published {
        let name = &entry.policy;
        assert_eq!(entry.reference, format!("{prefix}/{name}:v0.1.0-test"));
        let digest = client.manifest_digest(&entry.reference).unwrap();
        assert_eq!(
            entry.pushed.immutable_ref,
            format!("{prefix}/{name}@{digest}")
        );
        assert!(
            client
                .pull_policy(&entry.pushed.immutable_ref)
                .unwrap()
                .module
                == module_bytes(name)
        );
    }

    // Over HTTPS, which a plain-HTTP registry cannot answer, publishing fails and says so.
    let https = Registry::new(Transport::Https, Credentials::Anonymous).unwrap();
    let error = publish_bundle(&e2e::bundle(), &https, Some(&prefix), None).unwrap_err();
    assert!(format!("{error:#}").contains("push of"), "{error:#}");
}

#[test]
fn a_registry_that_is_down_gives_a_clear_error() {
    let mut registry = LocalRegistry::start().expect("docker-registry (run `make setup`)");
    let reference = format!("{}/pci-policies/pod-security:v0.1.0", registry.address());
    registry.stop();
    let client = Registry::new(Transport::Http, Credentials::Anonymous).unwrap();
    let error = client
        .push_policy(&module_bytes("pod-security"), &reference)
        .unwrap_err();
    assert!(
        format!("{error:#}").contains(&format!("push of {reference} failed")),
        "{error:#}"
    );
    let error = client.pull_policy(&reference).unwrap_err();
    assert!(format!("{error:#}").contains("pull of"), "{error:#}");
}

#[test]
fn an_unannotated_module_is_not_pushed() {
    let client = Registry::new(Transport::Http, Credentials::Anonymous).unwrap();
    let bare = pci_host::sections::remove_custom(
        &module_bytes("pod-security"),
        pci_host::metadata::SECTION,
    )
    .unwrap();
    let error = client
        .push_policy(&bare, "127.0.0.1:1/pci/pod-security:v0.1.0")
        .unwrap_err();
    assert!(error.to_string().contains("not annotated"), "{error}");
}

/// The settings of every generated manifest (both rollouts, every instance, every group member)
/// are accepted by the compiled policy, and only a module declared mutating is deployed so.
#[test]
fn the_recommended_manifests_carry_settings_each_policy_accepts() {
    let check = |name: &str, spec: &Value, at: &str| {
        let validation = e2e::instance(name)
            .validate_settings(&spec["settings"])
            .expect("validate_settings");
        assert!(validation.valid, "{at}: {:?}", validation.message);
    };
    let mut instances = 0;
    for dir in ["manifests", "manifests/monitor"] {
        for name in e2e::policies() {
            let name = name.as_str();
            let path = root().join(dir).join(format!("{name}.yaml"));
            let text = std::fs::read_to_string(&path).expect("run `make generate`");
            for document in text.split("\n---\n").skip(1) {
                let manifest: Value = yaml_serde::from_str(document).expect("yaml");
                assert_eq!(manifest["kind"], "ClusterAdmissionPolicy");
                let mode = if dir == "manifests" {
                    "protect"
                } else {
                    "monitor"
                };
                assert_eq!(manifest["spec"]["mode"], mode, "{}", path.display());
                if manifest["spec"]["mutating"] == true {
                    assert!(e2e::checked_metadata(name).mutating, "{name}");
                }
                check(name, &manifest["spec"], &path.display().to_string());
                instances += 1;
            }
        }
        let path = root().join(dir).join("pci-3.2-image-integrity.yaml");
        let text = std::fs::read_to_string(&path).expect("run `make generate`");
        let group: Value = yaml_serde::from_str(text.split_once("---\n").unwrap().1).unwrap();
        assert_eq!(group["kind"], "ClusterAdmissionPolicyGroup");
        for (member, spec) in group["spec"]["policies"].as_object().unwrap() {
            let module = spec["module"].as_str().unwrap();
            let name = pci_host::bundle::policy_of_module(module).unwrap();
            check(name, spec, &format!("{}: {member}", path.display()));
        }
    }
    assert!(instances >= 2 * e2e::policies().len());
}

/// A deploy tree as the generator writes it from `lock` (the design of issue 30, in small): a
/// base with one ClusterAdmissionPolicy per module and a group naming one, a protect overlay,
/// and the lock itself. Only for the test of the release's deploy tree, until deploy/ exists.
fn fixture_deploy(dir: &std::path::Path, lock: &ModuleLock) {
    let write = |path: &str, text: &str| {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    let mut resources = String::new();
    for (policy, module) in lock.modules() {
        write(
            &format!("base/policies/{policy}.yaml"),
            &format!(
                "apiVersion: policies.kubewarden.io/v1\nkind: ClusterAdmissionPolicy\nmetadata:\n  name: pci-{policy}\nspec:\n  policyServer: pci-policies\n  module: {module}\n  rules: []\n  mutating: false\n"
            ),
        );
        resources.push_str(&format!("  - policies/{policy}.yaml\n"));
    }
    let (first, module) = lock.modules().next().unwrap();
    write(
        "base/policies/group.yaml",
        &format!(
            "apiVersion: policies.kubewarden.io/v1\nkind: ClusterAdmissionPolicyGroup\nmetadata:\n  name: pci-group\nspec:\n  policyServer: pci-policies\n  expression: member()\n  message: m\n  rules: []\n  policies:\n    member:\n      module: \"{module}\"\n"
        ),
    );
    write(
        "base/kustomization.yaml",
        &format!(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n{resources}  - policies/group.yaml\n"
        ),
    );
    write(
        "overlays/protect/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../base\n",
    );
    write(
        "README.md",
        &format!("The bundle; {first} is deployed as {module}.\n"),
    );
    write("modules.yaml", &lock.render("the fixture's lock"));
}

/// Every module reference in `kubectl kustomize <dir>`: each policy's `spec.module` and each
/// group member's.
fn rendered_modules(dir: &std::path::Path) -> Vec<String> {
    let output = std::process::Command::new("kubectl")
        .arg("kustomize")
        .arg(dir)
        .output()
        .expect("kubectl (with Kustomize) is installed");
    assert!(
        output.status.success(),
        "kubectl kustomize {}: {}",
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let mut modules = Vec::new();
    let text = String::from_utf8(output.stdout).expect("UTF-8");
    for document in text.split("\n---\n") {
        let object: Value = yaml_serde::from_str(document).expect("YAML");
        if let Some(module) = object["spec"]["module"].as_str() {
            modules.push(module.to_owned());
        }
        if let Some(members) = object["spec"]["policies"].as_object() {
            for member in members.values() {
                modules.push(member["module"].as_str().expect("member module").to_owned());
            }
        }
    }
    modules
}

/// What `make publish` writes to dist/release/deploy/: the deploy tree with every module of
/// the lock replaced by the one pushed, which `kubectl kustomize …/overlays/protect` renders
/// with every module `<registry pushed to>/<policy>:<tag>@<pushed digest>`.
#[test]
fn the_release_deploy_tree_pins_every_module_to_what_was_pushed() {
    let registry = LocalRegistry::start().expect("docker-registry (run `make setup`)");
    let client = Registry::new(Transport::Http, Credentials::Anonymous).unwrap();
    let prefix = format!("{}/mirror/pci", registry.address());
    let bundle = e2e::bundle();
    let published = publish_bundle(&bundle, &client, Some(&prefix), None).expect("publish");
    let pushed = published_lock(&published).unwrap();
    let expected: Vec<String> = published
        .iter()
        .map(|p| {
            format!(
                "registry://{prefix}/{}:v0.1.0@{}",
                p.policy, p.pushed.manifest_digest
            )
        })
        .collect();

    let work = std::env::temp_dir().join(format!("pci-release-deploy-{}", std::process::id()));
    let mut trees = vec![("fixture", work.join("deploy"), {
        let lock = planned_lock(&plan_bundle(&bundle, None, None).unwrap()).unwrap();
        fixture_deploy(&work.join("deploy"), &lock);
        lock
    })];
    // Once the generated deploy/ is in the checkout, the real one too.
    if bundle.deploy_dir().join("overlays/protect").is_dir() {
        trees.push((
            "deploy/",
            bundle.deploy_dir(),
            ModuleLock::read(&bundle.module_lock()).unwrap(),
        ));
    }
    for (what, deploy, lock) in trees {
        let out = work.join(format!("release-{}", what.trim_end_matches('/')));
        let replaced = write_pinned_deploy(&deploy, &lock, &pushed, "pushed", &out).unwrap();
        assert!(
            replaced.values().all(|count| *count >= 1),
            "{what}: {replaced:?}"
        );
        let mut modules = rendered_modules(&out.join("overlays/protect"));
        assert!(modules.len() >= expected.len(), "{what}: {modules:?}");
        modules.sort();
        modules.dedup();
        assert_eq!(modules, expected, "{what}");
        assert_eq!(
            ModuleLock::read(&out.join("modules.yaml")).unwrap(),
            pushed,
            "{what}"
        );
        let original = rendered_modules(&deploy.join("overlays/protect"));
        assert!(
            original.iter().all(|module| !module.contains(&prefix)),
            "{what}: deploy/ itself is left as it was"
        );
    }
    std::fs::remove_dir_all(&work).unwrap();
}
