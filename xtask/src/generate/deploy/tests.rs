//! `deploy/` rendered by the real `kubectl kustomize` (as users, Argo CD and Flux render it):
//! every kustomization renders, the overlays render exactly the flat manifests, and the example
//! organisation overlay carries every organisation value to every field that takes it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;
use serde_json::Value;

use super::bundle::BundleSource;
use super::evidence_schedule;
use super::system;
use crate::generate::policy::{self, PolicySources};
use crate::generate::webhook::Switch;
use crate::generate::{group, manifests};
use crate::workspace;

/// The objects `kubectl kustomize dir` renders.
pub(super) fn render(dir: &Path) -> Vec<Value> {
    let output = Command::new("kubectl")
        .arg("kustomize")
        .arg(dir)
        .output()
        .unwrap_or_else(|error| {
            panic!(
                "kubectl with Kustomize is needed to render deploy/ ({error}): install kubectl, https://kubernetes.io/docs/tasks/tools/"
            )
        });
    assert!(
        output.status.success(),
        "kubectl kustomize {}: {}",
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    documents(&String::from_utf8_lossy(&output.stdout))
}

fn documents(text: &str) -> Vec<Value> {
    yaml_serde::Deserializer::from_str(text)
        .map(|document| Value::deserialize(document).unwrap())
        .filter(|document| !document.is_null())
        .collect()
}

/// `(kind, name)` of an object.
fn id(object: &Value) -> (String, String) {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    (text(&object["kind"]), text(&object["metadata"]["name"]))
}

fn deploy() -> PathBuf {
    workspace::root().join("deploy")
}

/// Every folder under deploy/ holding a kustomization.
fn kustomizations(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            kustomizations(&path, found);
        } else if path.file_name().is_some_and(|n| n == "kustomization.yaml") {
            found.push(dir.to_path_buf());
        }
    }
}

#[test]
fn every_kustomization_under_deploy_renders() {
    let mut dirs = Vec::new();
    kustomizations(&deploy(), &mut dirs);
    dirs.sort();
    let rendered: Vec<(String, usize)> = dirs
        .iter()
        .map(|dir| {
            let name = dir.strip_prefix(deploy()).unwrap().display().to_string();
            (name, render(dir).len())
        })
        .collect();
    assert_eq!(
        rendered,
        [
            ("base".to_owned(), 14),
            // ServiceAccount, ClusterRole and binding, Role and binding, ConfigMap, CronJob.
            ("components/evidence-schedule".to_owned(), 7),
            ("components/monitoring".to_owned(), 2),
            ("components/service-monitor".to_owned(), 1),
            ("components/system-namespaces".to_owned(), 1),
            // The monitor overlay and the evidence schedule.
            ("examples/organisation".to_owned(), 15 + 7),
            ("overlays/monitor".to_owned(), 15),
            ("overlays/protect".to_owned(), 15),
        ]
    );
}

/// `manifests/pci-policies.yaml` (and its monitor twin) is the render of the overlay: the same
/// objects, field for field.
#[test]
fn the_overlays_render_the_flat_manifests() {
    let root = workspace::root();
    for (overlay, flat) in [
        ("overlays/protect", "manifests/pci-policies.yaml"),
        ("overlays/monitor", "manifests/monitor/pci-policies.yaml"),
    ] {
        let mut rendered = render(&deploy().join(overlay));
        let mut written = documents(&std::fs::read_to_string(root.join(flat)).unwrap());
        rendered.sort_by_key(id);
        written.sort_by_key(id);
        assert_eq!(rendered.len(), written.len(), "{overlay}");
        for (rendered, written) in rendered.iter().zip(&written) {
            assert_eq!(
                rendered,
                written,
                "{overlay} and {flat}: {:?}",
                id(rendered)
            );
        }
    }
}

/// Both overlays bring the system namespaces' policy: their mode reaches it, their failurePolicy
/// does not (it keeps bundle.yml's Ignore), while every other policy and group takes both.
#[test]
fn the_overlays_judge_the_system_namespaces_in_their_mode_never_failing_closed() {
    let bundle = BundleSource::load(&workspace::root()).unwrap();
    for (overlay, mode, failure_policy) in [
        ("overlays/monitor", "monitor", "Ignore"),
        ("overlays/protect", "protect", "Fail"),
    ] {
        let rendered = render(&deploy().join(overlay));
        let system = find(&rendered, "ClusterAdmissionPolicy", system::NAME);
        assert_eq!(system["spec"]["mode"], mode, "{overlay}");
        assert_eq!(
            system["spec"]["failurePolicy"], bundle.system_policy.failure_policy,
            "{overlay}"
        );
        assert_eq!(
            system["metadata"]["labels"][system::SCOPE_LABEL.0],
            system::SCOPE_LABEL.1
        );
        let others: Vec<&Value> = rendered
            .iter()
            .filter(|o| {
                o["apiVersion"] == "policies.kubewarden.io/v1"
                    && o["kind"] != "PolicyServer"
                    && id(o).1 != system::NAME
            })
            .collect();
        assert_eq!(others.len(), 8, "{overlay}: seven policies and the group");
        for object in others {
            assert_eq!(object["spec"]["mode"], mode, "{overlay} {:?}", id(object));
            assert_eq!(
                object["spec"]["failurePolicy"],
                failure_policy,
                "{overlay} {:?}",
                id(object)
            );
        }
    }
}

/// Where each value of `examples/organisation/values.yaml` must land: `(kind, name, pointer)`.
fn targets(key: &str) -> Vec<(&'static str, &'static str, &'static str)> {
    const CAP: &str = "ClusterAdmissionPolicy";
    const GROUP: &str = "ClusterAdmissionPolicyGroup";
    const GROUP_NAME: &str = "pci-3.2-image-integrity";
    // Both instances of a policy whose settings patch: the mutating one and its twin.
    let both = |policy: &'static str, mutating: &'static str, pointer: &'static str| {
        vec![(CAP, policy, pointer), (CAP, mutating, pointer)]
    };
    match key {
        "trustedRegistries" => vec![(
            CAP,
            "pci-trusted-registries",
            "/spec/settings/registries/allow",
        )],
        "imageSigner" => {
            let mut targets = both(
                "pci-image-signatures",
                "pci-image-signatures-mutate",
                "/spec/settings/rules",
            );
            targets.push((
                GROUP,
                GROUP_NAME,
                "/spec/policies/signature_verified/settings/rules",
            ));
            targets
        }
        "immutableTagRegistries" => vec![(
            GROUP,
            GROUP_NAME,
            "/spec/policies/immutable_tags_registry/settings/registries/allow",
        )],
        "highRisk" => both(
            "pci-runtime-isolation",
            "pci-runtime-isolation-mutate",
            "/spec/settings/highRisk",
        ),
        "sandboxRuntimeClasses" => both(
            "pci-runtime-isolation",
            "pci-runtime-isolation-mutate",
            "/spec/settings/allowedRuntimeClasses",
        ),
        "defaultSandboxRuntimeClass" => vec![(
            CAP,
            "pci-runtime-isolation-mutate",
            "/spec/settings/defaultRuntimeClass",
        )],
        "windows" => both(
            "pci-runtime-isolation",
            "pci-runtime-isolation-mutate",
            "/spec/settings/windows",
        ),
        "isolatedPlacements" => both(
            "pci-runtime-isolation",
            "pci-runtime-isolation-mutate",
            "/spec/settings/isolatedPlacements",
        ),
        "policyServerImage" => vec![("PolicyServer", "pci-policies", "/spec/image")],
        "evidenceCluster" => vec![("ConfigMap", evidence_schedule::NAME, "/data/cluster")],
        "evidenceRepository" => vec![("ConfigMap", evidence_schedule::NAME, "/data/repository")],
        "evidenceImage" => vec![(
            "CronJob",
            evidence_schedule::NAME,
            "/spec/jobTemplate/spec/template/spec/containers/0/image",
        )],
        "kubewardenNamespace" => vec![
            (
                "ServiceAccount",
                "pci-policies-policy-server",
                "/metadata/namespace",
            ),
            (
                "ConfigMap",
                "pci-policies-verification",
                "/metadata/namespace",
            ),
            (
                "PodDisruptionBudget",
                "pci-policies-policy-server",
                "/metadata/namespace",
            ),
            (
                "ClusterRoleBinding",
                "pci-policies-context-reader",
                "/subjects/0/namespace",
            ),
            (
                "ServiceAccount",
                evidence_schedule::NAME,
                "/metadata/namespace",
            ),
            ("ConfigMap", evidence_schedule::NAME, "/metadata/namespace"),
            ("Role", evidence_schedule::NAME, "/metadata/namespace"),
            (
                "RoleBinding",
                evidence_schedule::NAME,
                "/metadata/namespace",
            ),
            (
                "RoleBinding",
                evidence_schedule::NAME,
                "/subjects/0/namespace",
            ),
            (
                "ClusterRoleBinding",
                evidence_schedule::NAME,
                "/subjects/0/namespace",
            ),
            ("CronJob", evidence_schedule::NAME, "/metadata/namespace"),
        ],
        // Every policy and group: checked apart.
        "systemNamespaces" => Vec::new(),
        other => panic!("values.yaml spec.{other}: no target is known; add it to this test"),
    }
}

fn example() -> (Value, Vec<Value>, String) {
    let dir = deploy().join("examples/organisation");
    let values: Value =
        yaml_serde::from_str(&std::fs::read_to_string(dir.join("values.yaml")).unwrap()).unwrap();
    let rendered = render(&dir);
    let text = rendered
        .iter()
        .map(|object| serde_json::to_string(object).unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    (values["spec"].clone(), rendered, text)
}

fn find<'a>(rendered: &'a [Value], kind: &str, name: &str) -> &'a Value {
    rendered
        .iter()
        .find(|o| id(o) == (kind.to_owned(), name.to_owned()))
        .unwrap_or_else(|| panic!("the example renders no {kind} {name}"))
}

#[test]
fn the_example_organisation_carries_every_value_where_it_belongs() {
    let (values, rendered, text) = example();
    for placeholder in ["example.com", "example-org"] {
        assert!(
            !text.contains(placeholder),
            "a placeholder of the base survives the example: {placeholder}"
        );
    }
    assert!(
        !rendered.iter().any(|o| o["kind"] == "OrganisationValues"),
        "values.yaml is local configuration, never applied"
    );
    for (key, value) in values.as_object().unwrap() {
        for (kind, name, pointer) in targets(key) {
            assert_eq!(
                find(&rendered, kind, name).pointer(pointer),
                Some(value),
                "values.yaml spec.{key} in {kind} {name} at {pointer}"
            );
        }
    }
    // The system namespaces: every policy and group spares them, the system policy selects them.
    let namespaces = &values["systemNamespaces"];
    let listed: Vec<&str> = namespaces
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    let bundle = BundleSource::load(&workspace::root()).unwrap();
    let offered = bundle.placement().system_namespaces;
    assert!(
        listed.iter().all(|name| offered.iter().any(|o| o == name)),
        "values.yaml lists only deploy/bundle.yml's system namespaces, less those the organisation does not run: {listed:?}"
    );
    let kubewarden = values["kubewardenNamespace"].as_str().unwrap();
    for required in ["kube-system", kubewarden] {
        assert!(listed.contains(&required), "values.yaml spares {required}");
    }
    // A Kubewarden namespace the organisation does not use is a name a tenant could create.
    if kubewarden != bundle.kubewarden_namespace {
        assert!(
            !listed.contains(&bundle.kubewarden_namespace.as_str()),
            "values.yaml spares {}, which this organisation does not run (its Kubewarden is in {kubewarden})",
            bundle.kubewarden_namespace
        );
    }
    let mut policies = 0;
    for object in rendered
        .iter()
        .filter(|o| o["apiVersion"] == "policies.kubewarden.io/v1" && o["kind"] != "PolicyServer")
    {
        let expression = &object["spec"]["namespaceSelector"]["matchExpressions"][0];
        let operator = if id(object).1 == system::NAME {
            "In"
        } else {
            "NotIn"
        };
        assert_eq!(expression["operator"], operator, "{:?}", id(object));
        assert_eq!(&expression["values"], namespaces, "{:?}", id(object));
        policies += 1;
    }
    assert_eq!(
        policies, 9,
        "seven policies, the group and the system policy"
    );
    // The system policy comes with the overlay, in its rollout.
    let system = find(&rendered, "ClusterAdmissionPolicy", system::NAME);
    assert_eq!(system["spec"]["mode"], "monitor");
    assert_eq!(system["spec"]["failurePolicy"], "Ignore");
}

/// The example adds only the organisation's values to the overlay and the evidence schedule:
/// no other component (the overlay brings the system namespaces' one), every replacement
/// taken from values.yaml, none copying one generated field into another.
#[test]
fn the_example_organisation_adds_nothing_but_its_values() {
    let text =
        std::fs::read_to_string(deploy().join("examples/organisation/kustomization.yaml")).unwrap();
    let kustomization: Value = yaml_serde::from_str(&text).unwrap();
    assert_eq!(
        kustomization["components"],
        serde_json::json!(["../../components/evidence-schedule"]),
        "the overlay includes components/system-namespaces already"
    );
    let replacements = kustomization["replacements"].as_array().unwrap();
    assert!(!replacements.is_empty());
    for replacement in replacements {
        assert_eq!(
            replacement["source"]["kind"], "OrganisationValues",
            "{replacement}"
        );
    }
}

/// Every value of the example is settings the policies accept, and no validating instance or
/// group member patches.
#[test]
fn the_example_organisation_deploys_settings_the_policies_accept() {
    let (_, rendered, _) = example();
    for object in rendered
        .iter()
        .filter(|o| o["kind"] == "ClusterAdmissionPolicy")
    {
        let module = object["spec"]["module"].as_str().unwrap();
        let name = pci_host::bundle::policy_of_module(module).unwrap();
        let settings = object["spec"]["settings"].as_object().unwrap();
        let patches = Switch::for_policy(name)
            .unwrap()
            .can_patch(settings)
            .unwrap_or_else(|error| panic!("{:?}: {error:#}", id(object)));
        assert_eq!(object["spec"]["mutating"], patches, "{:?}", id(object));
    }
    let group = find(
        &rendered,
        "ClusterAdmissionPolicyGroup",
        "pci-3.2-image-integrity",
    );
    for (member, spec) in group["spec"]["policies"].as_object().unwrap() {
        let name = pci_host::bundle::policy_of_module(spec["module"].as_str().unwrap()).unwrap();
        let patches = Switch::for_policy(name)
            .unwrap()
            .can_patch(spec["settings"].as_object().unwrap())
            .unwrap_or_else(|error| panic!("{member}: {error:#}"));
        assert!(!patches, "{member}");
    }
}

/// Every organisation-specific recommendation of every pci.yml, and every organisation-specific
/// group member, has a value in values.yaml that lands on every instance deploying it: a new
/// one fails here until the example states it.
#[test]
fn every_organisation_specific_value_is_reached_by_the_example() {
    let (values, rendered, _) = example();
    let reached: BTreeSet<(String, String)> = values
        .as_object()
        .unwrap()
        .keys()
        .flat_map(|key| targets(key))
        .map(|(_, name, pointer)| (name.to_owned(), pointer.to_owned()))
        .collect();
    let policies: Vec<PolicySources> = policy::all().unwrap();
    for policy in &policies {
        for recommendation in policy
            .pci
            .recommendations
            .iter()
            .filter(|r| r.organisation_specific)
        {
            let pointer = format!("/spec/settings/{}", recommendation.setting);
            let instances: Vec<String> = rendered
                .iter()
                .filter(|o| {
                    o["kind"] == "ClusterAdmissionPolicy"
                        && o.pointer(&pointer).is_some()
                        && o["spec"]["module"]
                            .as_str()
                            .and_then(pci_host::bundle::policy_of_module)
                            == Some(policy.name.as_str())
                        && id(o).1 != system::NAME
                })
                .map(|o| id(o).1)
                .collect();
            assert!(!instances.is_empty(), "{}: {pointer}", policy.name);
            for instance in instances {
                // The setting itself, or the part of it that is the organisation's
                // (`registries.allow`).
                let reaches = |(name, at): &(String, String)| {
                    name == &instance && (at == &pointer || at.starts_with(&format!("{pointer}/")))
                };
                assert!(
                    reached.iter().any(reaches),
                    "policies/{}/pci.yml: {} is organisation-specific, and no value of examples/organisation/values.yaml reaches {instance}",
                    policy.name,
                    recommendation.setting
                );
            }
        }
    }
    for source in group::all().unwrap() {
        for (member, _) in source
            .members
            .iter()
            .filter(|(_, m)| m.organisation_specific)
        {
            let prefix = format!("/spec/policies/{member}/settings/");
            assert!(
                reached
                    .iter()
                    .any(|(name, pointer)| name == &source.name && pointer.starts_with(&prefix)),
                "groups/{}.yml: member {member} is organisation-specific, and no value of values.yaml reaches it",
                source.name
            );
        }
    }
    // The base still carries the placeholders the example replaces.
    let base = std::fs::read_to_string(workspace::root().join(manifests::BUNDLE)).unwrap();
    assert!(base.contains("registry.example.com") && base.contains("example-org"));
}
