//! The deploy check on small fixtures (`e2e-tests/test_data/deploy/`): a valid rendering, then
//! one thing wrong at a time, each named with its object and exact path; and fixture
//! kustomizations rendered through the real `kubectl kustomize`. `strict`: what an attacker's
//! review found the check let through.

mod strict;

use std::path::PathBuf;
use std::sync::OnceLock;

use serde_json::{Value, json};

use super::*;

fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("test_data/deploy")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn crds() -> &'static [CrdCatalog] {
    static CRDS: OnceLock<Vec<CrdCatalog>> = OnceLock::new();
    CRDS.get_or_init(|| CrdCatalog::vendored().expect("the vendored CRDs"))
}

fn expected() -> Expectations {
    let mut modules = ModuleFacts::default();
    for policy in [
        "image-digest",
        "image-signatures",
        "pod-security",
        "runtime-isolation",
    ] {
        modules.insert(
            policy,
            &format!("ghcr.io/acme/pci-policies/{policy}"),
            "0.1.0",
        );
    }
    Expectations {
        values: BundleValues::from_yaml(&fixture("bundle.yml")).expect("bundle.yml"),
        modules,
        verification_config: fixture("verification-config.yml"),
    }
}

fn rendering() -> Vec<Object> {
    read_objects(&fixture("rendering.yaml")).expect("the fixture rendering")
}

/// The object of `objects` labelled `label`.
fn object<'a>(objects: &'a mut [Object], label: &str) -> &'a mut Value {
    &mut objects
        .iter_mut()
        .find(|object| object.label() == label)
        .unwrap_or_else(|| panic!("no {label} in the fixture"))
        .value
}

/// `pointer` (a JSON pointer) set to `value` in the object labelled `label`, or removed when
/// `value` is `None`.
fn change(objects: &mut [Object], label: &str, pointer: &str, value: Option<Value>) {
    let (parent, field) = pointer.rsplit_once('/').expect("a pointer");
    let parent = object(objects, label)
        .pointer_mut(parent)
        .and_then(Value::as_object_mut)
        .unwrap_or_else(|| panic!("{label}: no {parent}"));
    match value {
        Some(value) => {
            parent.insert(field.to_owned(), value);
        }
        None => {
            parent
                .remove(field)
                .unwrap_or_else(|| panic!("{label}: no {pointer}"));
        }
    }
}

/// What the check finds in `objects` as a generated rendering of the protect rollout (the
/// fixture's).
fn found(objects: &[Object]) -> Vec<String> {
    found_as(objects, Stated::generated(Some(Rollout::Protect)))
}

/// What the check finds in `objects` as a rendering of the place that states `stated`.
fn found_as(objects: &[Object], stated: Stated) -> Vec<String> {
    let mut found: Vec<String> = rendering_findings(objects, Some((&expected(), stated)), crds())
        .iter()
        .map(ToString::to_string)
        .collect();
    found.sort();
    found.dedup();
    found
}

const RUNTIME_ISOLATION: &str = "ClusterAdmissionPolicy pci-runtime-isolation";
const GROUP: &str = "ClusterAdmissionPolicyGroup pci-3.2-image-integrity";
const POLICY_SERVER: &str = "PolicyServer pci-policies";
const BUDGET: &str = "PodDisruptionBudget kubewarden/pci-policies";
const BINDING: &str = "ClusterRoleBinding pci-policies-context-reader";

#[test]
fn the_fixture_rendering_is_valid_at_both_kubewarden_versions() {
    assert_eq!(found(&rendering()), Vec::<String>::new());
}

#[test]
fn an_unknown_field_is_named_by_its_path() {
    let mut objects = rendering();
    change(
        &mut objects,
        RUNTIME_ISOLATION,
        "/spec/failurePolicyy",
        Some(json!("Fail")),
    );
    change(
        &mut objects,
        GROUP,
        "/spec/policies/pinned_by_digest/timeout",
        Some(json!(8)),
    );
    assert_eq!(
        found(&objects),
        [
            format!(
                "{RUNTIME_ISOLATION}: spec.failurePolicyy: not declared by the schema: the API server would prune it silently"
            ),
            format!(
                "{GROUP}: spec.policies.pinned_by_digest.timeout: not declared by the schema: the API server would prune it silently"
            ),
        ]
    );
}

#[test]
fn a_field_only_the_newest_kubewarden_knows_names_the_version_refusing_it() {
    let mut objects = rendering();
    change(
        &mut objects,
        RUNTIME_ISOLATION,
        "/spec/allowInsideAdmissionControllerNamespace",
        Some(json!(false)),
    );
    assert_eq!(
        found(&objects),
        [format!(
            "{RUNTIME_ISOLATION}: spec.allowInsideAdmissionControllerNamespace: not declared by the schema: the API server would prune it silently (Kubewarden v1.31.0)"
        )]
    );
}

#[test]
fn a_wrong_type_is_named_by_its_path() {
    let mut objects = rendering();
    change(
        &mut objects,
        RUNTIME_ISOLATION,
        "/spec/mutating",
        Some(json!("false")),
    );
    assert_eq!(
        found(&objects),
        [format!(
            "{RUNTIME_ISOLATION}: spec.mutating: must be a boolean, not \"false\""
        )]
    );
}

#[test]
fn a_timeout_out_of_range_is_named() {
    let mut objects = rendering();
    change(
        &mut objects,
        RUNTIME_ISOLATION,
        "/spec/timeoutSeconds",
        Some(json!(31)),
    );
    change(
        &mut objects,
        GROUP,
        "/spec/policies/signature_verified/timeoutEvalSeconds",
        Some(json!(1)),
    );
    assert_eq!(
        found(&objects),
        [
            format!("{RUNTIME_ISOLATION}: spec.timeoutSeconds: 31 is above the maximum 30"),
            format!(
                "{GROUP}: spec.policies.signature_verified.timeoutEvalSeconds: 1 is below the minimum 2"
            ),
        ]
    );
    let mut objects = rendering();
    change(
        &mut objects,
        RUNTIME_ISOLATION,
        "/spec/timeoutEvalSeconds",
        Some(json!(12)),
    );
    assert_eq!(
        found(&objects),
        [format!(
            "{RUNTIME_ISOLATION}: spec.timeoutEvalSeconds: 12 is above timeoutSeconds (10): the webhook would give up before the evaluation"
        )]
    );
}

#[test]
fn a_missing_module_is_named() {
    let mut objects = rendering();
    change(&mut objects, RUNTIME_ISOLATION, "/spec/module", None);
    change(
        &mut objects,
        GROUP,
        "/spec/policies/signature_verified/module",
        None,
    );
    assert_eq!(
        found(&objects),
        [
            format!("{RUNTIME_ISOLATION}: spec.module: a policy needs a module, a string"),
            format!("{RUNTIME_ISOLATION}: spec.module: required, missing"),
            format!(
                "{GROUP}: spec.policies.signature_verified.module: a policy needs a module, a string"
            ),
            format!("{GROUP}: spec.policies.signature_verified.module: required, missing"),
        ]
    );
}

#[test]
fn a_policy_server_without_image_is_named() {
    let mut objects = rendering();
    change(&mut objects, POLICY_SERVER, "/spec/image", None);
    assert_eq!(
        found(&objects),
        [format!("{POLICY_SERVER}: spec.image: required, missing")]
    );
}

#[test]
fn min_available_is_an_int_or_string_and_belongs_to_the_bundles_budget() {
    let mut objects = rendering();
    change(
        &mut objects,
        BUDGET,
        "/spec/minAvailable",
        Some(json!("50%")),
    );
    assert_eq!(found(&objects), Vec::<String>::new());

    change(&mut objects, BUDGET, "/spec/minAvailable", Some(json!(2)));
    assert_eq!(
        found(&objects),
        [format!(
            "{BUDGET}: spec.minAvailable: 2 of 2 replicas: the budget must keep at least one pod and let at least one go (a node drain waits forever otherwise)"
        )]
    );

    let mut objects = rendering();
    change(
        &mut objects,
        POLICY_SERVER,
        "/spec/minAvailable",
        Some(json!("50%")),
    );
    let second_budget = format!(
        "{POLICY_SERVER}: spec.minAvailable: the controller would make a PodDisruptionBudget of its own over the pods the bundle's budget covers, and evictions would block: state it in the bundle's PodDisruptionBudget only"
    );
    assert_eq!(found(&objects), std::slice::from_ref(&second_budget));

    change(
        &mut objects,
        POLICY_SERVER,
        "/spec/minAvailable",
        Some(json!(1.5)),
    );
    assert_eq!(
        found(&objects),
        [
            format!(
                "{POLICY_SERVER}: spec.minAvailable: must be an integer or a string (x-kubernetes-int-or-string), not 1.5"
            ),
            second_budget,
        ]
    );
}

#[test]
fn a_namespace_selector_missing_a_system_namespace_is_named() {
    let mut objects = rendering();
    change(
        &mut objects,
        RUNTIME_ISOLATION,
        "/spec/namespaceSelector/matchExpressions/0/values",
        Some(json!(["kube-node-lease", "kube-system", "kubewarden"])),
    );
    change(&mut objects, GROUP, "/spec/namespaceSelector", None);
    change(
        &mut objects,
        "ClusterAdmissionPolicy pci-pod-security-system",
        "/spec/namespaceSelector/matchExpressions/0/operator",
        Some(json!("NotIn")),
    );
    assert_eq!(
        found(&objects),
        [
            "ClusterAdmissionPolicy pci-pod-security-system: spec.namespaceSelector.matchExpressions[0].operator: \"NotIn\": must be In: the system namespaces' policy judges exactly them".to_owned(),
            format!("{RUNTIME_ISOLATION}: spec.namespaceSelector.matchExpressions[0].values: does not spare the system namespaces kube-public"),
            format!("{GROUP}: spec.namespaceSelector: selects no namespace by kubernetes.io/metadata.name: must be exactly {{matchExpressions: [{{key: kubernetes.io/metadata.name, operator: NotIn, values: [kube-node-lease, kube-public, kube-system, kubewarden]}}]}}"),
        ]
    );
}

#[test]
fn a_binding_to_the_wrong_service_account_is_named() {
    let mut objects = rendering();
    change(
        &mut objects,
        BINDING,
        "/subjects/0/name",
        Some(json!("default")),
    );
    assert_eq!(
        found(&objects),
        [
            format!(
                "{RUNTIME_ISOLATION}: spec.contextAwareResources[0]: ServiceAccount kubewarden/pci-policies-policy-server of PolicyServer pci-policies may not get, list, watch namespaces (core group): no ClusterRole bound to it in the bundle grants it"
            ),
            format!(
                "{RUNTIME_ISOLATION}: spec.contextAwareResources[1]: ServiceAccount kubewarden/pci-policies-policy-server of PolicyServer pci-policies may not get, list, watch runtimeclasses.node.k8s.io: no ClusterRole bound to it in the bundle grants it"
            ),
            format!(
                "{BINDING}: subjects[0]: binds ServiceAccount kubewarden/default: a binding of the bundle binds only ServiceAccount kubewarden/pci-policies-policy-server of PolicyServer pci-policies, once"
            ),
        ]
    );
}

#[test]
fn a_role_granting_less_or_more_than_the_policies_read_is_named() {
    let mut objects = rendering();
    let role = "ClusterRole pci-policies-context-reader";
    change(
        &mut objects,
        role,
        "/rules/0/verbs",
        Some(json!(["get", "list", "watch", "delete"])),
    );
    change(
        &mut objects,
        role,
        "/rules/1/resources",
        Some(json!(["runtimeclasses", "csidrivers"])),
    );
    change(
        &mut objects,
        role,
        "/rules/1/verbs",
        Some(json!(["get", "list"])),
    );
    assert_eq!(
        found(&objects),
        [
            format!(
                "{RUNTIME_ISOLATION}: spec.contextAwareResources[1]: ServiceAccount kubewarden/pci-policies-policy-server of PolicyServer pci-policies may not watch runtimeclasses.node.k8s.io: no ClusterRole bound to it in the bundle grants it"
            ),
            format!(
                "{role}: rules[0].verbs: grants delete to the PolicyServer: its policies only read (get, list, watch)"
            ),
            format!(
                "{role}: rules[1]: grants csidrivers of the API group \"node.k8s.io\", which no policy of the bundle reads"
            ),
        ]
    );
}

#[test]
fn policies_on_another_policy_server_and_unpinned_modules_are_named() {
    let mut objects = rendering();
    change(&mut objects, RUNTIME_ISOLATION, "/spec/policyServer", None);
    change(
        &mut objects,
        GROUP,
        "/spec/policyServer",
        Some(json!("default")),
    );
    change(
        &mut objects,
        "ClusterAdmissionPolicy pci-pod-security-system",
        "/spec/module",
        Some(json!("registry://ghcr.io/pci-policies/pod-security:v0.1.0")),
    );
    assert_eq!(
        found(&objects),
        [
            "ClusterAdmissionPolicy pci-pod-security-system: spec.module: \"registry://ghcr.io/pci-policies/pod-security:v0.1.0\" is not pinned by digest (…@sha256:<64 hex>): a tag can be pushed over".to_owned(),
            format!("{RUNTIME_ISOLATION}: spec.policyServer: unset: the controller puts the policy on the shared `default` PolicyServer; name pci-policies"),
            format!("{GROUP}: spec.policyServer: names default; the bundle's PolicyServer is pci-policies"),
        ]
    );
}

#[test]
fn a_policy_server_without_verification_replicas_or_budget_is_named() {
    let mut objects = rendering();
    change(
        &mut objects,
        POLICY_SERVER,
        "/spec/replicas",
        Some(json!(1)),
    );
    change(
        &mut objects,
        POLICY_SERVER,
        "/spec/verificationConfig",
        Some(json!("elsewhere")),
    );
    change(
        &mut objects,
        BUDGET,
        "/spec/selector/matchLabels",
        Some(json!({"app": "policy-server"})),
    );
    assert_eq!(
        found(&objects),
        [
            format!(
                "{POLICY_SERVER}: no PodDisruptionBudget selects its pods (kubewarden/policy-server: pci-policies)"
            ),
            format!(
                "{POLICY_SERVER}: spec.replicas: at least 2: with one, every eviction or rollout stops admission"
            ),
            format!(
                "{POLICY_SERVER}: spec.verificationConfig: names ConfigMap kubewarden/elsewhere, which is not in the bundle"
            ),
        ]
    );
    let mut objects = rendering();
    change(
        &mut objects,
        "ConfigMap kubewarden/pci-policies-verification",
        "/data/verification-config",
        Some(json!("apiVersion: v1\n")),
    );
    assert_eq!(
        found(&objects),
        [
            "ConfigMap kubewarden/pci-policies-verification: data.verification-config: not a Kubewarden verification config: give allOf or anyOf: a config without requirements verifies nothing"
        ]
    );
}

#[test]
fn namespaces_kinds_and_status_the_api_server_would_not_keep_are_named() {
    let mut objects = rendering();
    change(
        &mut objects,
        RUNTIME_ISOLATION,
        "/metadata/namespace",
        Some(json!("kubewarden")),
    );
    change(
        &mut objects,
        "ServiceAccount kubewarden/pci-policies-policy-server",
        "/metadata/namespace",
        None,
    );
    change(
        &mut objects,
        GROUP,
        "/status",
        Some(json!({"policyStatus": "active"})),
    );
    objects.extend(
        read_objects("apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: kubewarden}\n")
            .unwrap(),
    );
    let found = found(&objects);
    assert_eq!(
        found,
        [
            "ClusterAdmissionPolicy kubewarden/pci-runtime-isolation: metadata.namespace: a cluster-scoped object has no namespace: the API server drops it silently (kustomize's `namespace:` adds one to kinds it does not know; state the namespace on the namespaced objects instead)".to_owned(),
            format!("{GROUP}: status: the API server ignores status on create: a manifest does not state it"),
            format!("{POLICY_SERVER}: spec.serviceAccountName: names ServiceAccount kubewarden/pci-policies-policy-server, which is not in the bundle (the PolicyServer's pods run in kubewarden)"),
            "Secret kubewarden/s: v1 Secret is a kind this check does not know: the bundle ships Kubewarden kinds and v1 ServiceAccount, rbac.authorization.k8s.io/v1 ClusterRole, rbac.authorization.k8s.io/v1 ClusterRoleBinding, rbac.authorization.k8s.io/v1 Role, rbac.authorization.k8s.io/v1 RoleBinding, batch/v1 CronJob, policy/v1 PodDisruptionBudget, v1 ConfigMap, v1 Namespace".to_owned(),
            "ServiceAccount pci-policies-policy-server: metadata.namespace: unset: kubectl would create it in whatever namespace the user's context names".to_owned(),
        ]
    );
}

/// A scratch folder holding `files` (path → text), removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str, files: &[(&str, String)]) -> Self {
        let root = std::env::temp_dir().join(format!("deploy-check-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for (path, text) in files {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().expect("a parent")).unwrap();
            std::fs::write(path, text).unwrap();
        }
        Self(root)
    }

    fn check(&self) -> Result<Summary> {
        check_deploy_dir(
            &self.0,
            &self.0.join("deploy"),
            &expected(),
            crds(),
            &Kustomize::kubectl(),
        )
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A monitor overlay patching `kinds` as deploy/overlays/monitor does: mode and failurePolicy.
fn monitor_overlay(kinds: &[&str]) -> String {
    let mut overlay = "resources: [../../base]\npatches:\n".to_owned();
    for kind in kinds {
        overlay.push_str(&format!(
            "- target: {{group: policies.kubewarden.io, kind: {kind}}}\n  patch: |-\n    - op: add\n      path: /spec/mode\n      value: monitor\n    - op: add\n      path: /spec/failurePolicy\n      value: Ignore\n"
        ));
    }
    overlay
}

/// The monitor overlay of the bundle: every policy and group.
fn monitor() -> String {
    monitor_overlay(&["ClusterAdmissionPolicy", "ClusterAdmissionPolicyGroup"])
}

#[test]
fn a_fixture_kustomization_renders_through_kubectl_and_validates() {
    let scratch = Scratch::new(
        "valid",
        &[
            (
                "deploy/base/kustomization.yaml",
                "resources: [rendering.yaml]\n".to_owned(),
            ),
            ("deploy/base/rendering.yaml", fixture("rendering.yaml")),
            ("deploy/overlays/monitor/kustomization.yaml", monitor()),
        ],
    );
    let summary = scratch.check().unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(
        summary.to_string(),
        "deploy/base: 9 objects (2 ClusterAdmissionPolicy, 1 ClusterAdmissionPolicyGroup, 1 ClusterRole, 1 ClusterRoleBinding, 1 ConfigMap, 1 PodDisruptionBudget, 1 PolicyServer, 1 ServiceAccount)\n\
         deploy/overlays/monitor: 9 objects (2 ClusterAdmissionPolicy, 1 ClusterAdmissionPolicyGroup, 1 ClusterRole, 1 ClusterRoleBinding, 1 ConfigMap, 1 PodDisruptionBudget, 1 PolicyServer, 1 ServiceAccount)\n"
    );
}

#[test]
fn kustomizes_namespace_on_kubewarden_kinds_and_a_broken_kustomization_are_named() {
    let scratch = Scratch::new(
        "namespaced",
        &[
            (
                "deploy/base/kustomization.yaml",
                "namespace: kubewarden\nresources: [rendering.yaml]\n".to_owned(),
            ),
            ("deploy/base/rendering.yaml", fixture("rendering.yaml")),
            (
                "deploy/broken/kustomization.yaml",
                "resources: [missing.yaml]\n".to_owned(),
            ),
        ],
    );
    let error = scratch.check().unwrap_err().to_string();
    let lines: Vec<&str> = error.lines().collect();
    assert_eq!(lines[0], "5 problem(s):", "{error}");
    for label in [
        "ClusterAdmissionPolicy kubewarden/pci-pod-security-system",
        "ClusterAdmissionPolicy kubewarden/pci-runtime-isolation",
        "ClusterAdmissionPolicyGroup kubewarden/pci-3.2-image-integrity",
        "PolicyServer kubewarden/pci-policies",
    ] {
        assert!(
            lines.contains(&format!("deploy/base: {label}: metadata.namespace: a cluster-scoped object has no namespace: the API server drops it silently (kustomize's `namespace:` adds one to kinds it does not know; state the namespace on the namespaced objects instead)").as_str()),
            "{label}: {error}"
        );
    }
    let broken = lines[5];
    assert!(
        broken.starts_with(&format!(
            "deploy/broken: kubectl kustomize: `kubectl kustomize {}` failed (exit status: 1): ",
            scratch.0.join("deploy/broken").display()
        )) && broken.contains("missing.yaml"),
        "{error}"
    );
}

#[test]
fn without_kubectl_the_check_says_what_is_needed() {
    let scratch = Scratch::new(
        "no-kubectl",
        &[("deploy/kustomization.yaml", "resources: []\n".to_owned())],
    );
    let error = check_deploy_dir(
        &scratch.0,
        &scratch.0.join("deploy"),
        &expected(),
        crds(),
        &Kustomize::with_program("kubectl-not-installed"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.starts_with("kubectl with Kustomize is needed: \"kubectl-not-installed\" is not on the PATH; install kubectl"),
        "{error}"
    );
}

#[test]
fn a_minimum_version_without_its_crds_is_named() {
    let mut expected = expected();
    expected.values.minimum_kubewarden_version = "1.30.0".into();
    assert_eq!(
        run_findings(&expected, crds()).lines(),
        [
            "deploy/bundle.yml: bundle values: minimumKubewardenVersion: v1.30.0 has no vendored CRDs as the oldest version checked (vendored: v1.31.0, v1.36.0): vendor them as e2e-tests/kubewarden-crds/PROVENANCE.md says"
        ]
    );
}
