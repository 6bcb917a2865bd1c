//! What an attacker's review found the deploy check let through, one change to the fixture
//! rendering at a time: RBAC for someone other than the PolicyServer's ServiceAccount, or more
//! than its policies read; selectors sparing more than the system namespaces, or letting a
//! workload's author choose; a rollout's mode or failurePolicy off; the policy server in a
//! tenant namespace; a looser verification config.

use serde_json::json;

use super::*;

const ROLE: &str = "ClusterRole pci-policies-context-reader";
const SYSTEM_POLICY: &str = "ClusterAdmissionPolicy pci-pod-security-system";
const CONFIG_MAP: &str = "ConfigMap kubewarden/pci-policies-verification";
/// Why a binding may bind nobody but the PolicyServer's ServiceAccount.
const ONLY_THE_ACCOUNT: &str = "a binding of the bundle binds only ServiceAccount kubewarden/pci-policies-policy-server of PolicyServer pci-policies, once";

/// The fixture rendering with the objects of `yaml` added.
fn rendering_with(yaml: &str) -> Vec<Object> {
    let mut objects = rendering();
    objects.extend(read_objects(yaml).expect("the added objects"));
    objects
}

/// `value` appended to the list at `pointer` of the object labelled `label`.
fn push(objects: &mut [Object], label: &str, pointer: &str, value: Value) {
    object(objects, label)
        .pointer_mut(pointer)
        .and_then(Value::as_array_mut)
        .unwrap_or_else(|| panic!("{label}: no list at {pointer}"))
        .push(value);
}

#[test]
fn a_binding_of_a_group_or_a_user_or_to_cluster_admin_is_named() {
    let objects = rendering_with(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: pci-policies-escalate}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\nsubjects:\n- {apiGroup: rbac.authorization.k8s.io, kind: Group, name: 'system:authenticated'}\n",
    );
    assert_eq!(
        found(&objects),
        [
            "ClusterRoleBinding pci-policies-escalate: roleRef.name: names ClusterRole cluster-admin, which is not in the bundle: a binding of the bundle grants only the bundle's roles, which grant only what its policies read".to_owned(),
            format!("ClusterRoleBinding pci-policies-escalate: subjects[0]: binds Group system:authenticated: {ONLY_THE_ACCOUNT}"),
        ]
    );

    let mut objects = rendering();
    push(
        &mut objects,
        BINDING,
        "/subjects",
        json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "mallory"}),
    );
    assert_eq!(
        found(&objects),
        [format!(
            "{BINDING}: subjects[1]: binds User mallory: {ONLY_THE_ACCOUNT}"
        )]
    );
}

#[test]
fn a_service_account_beside_the_policy_servers_is_named() {
    let helper =
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: helper, namespace: kubewarden}\n";
    let beside = "ServiceAccount kubewarden/helper: a ServiceAccount the PolicyServer does not run as: the bundle has only the one PolicyServer pci-policies runs as, kubewarden/pci-policies-policy-server";
    assert_eq!(found(&rendering_with(helper)), [beside]);

    let objects = rendering_with(&format!(
        "{helper}---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {{name: helper}}\nroleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: pci-policies-context-reader}}\nsubjects:\n- {{kind: ServiceAccount, name: helper, namespace: kubewarden}}\n"
    ));
    assert_eq!(
        found(&objects),
        [
            format!(
                "ClusterRoleBinding helper: subjects[0]: binds ServiceAccount kubewarden/helper: {ONLY_THE_ACCOUNT}"
            ),
            beside.to_owned(),
        ]
    );
}

#[test]
fn an_aggregating_aggregated_or_unbound_cluster_role_is_named() {
    let mut objects = rendering();
    change(
        &mut objects,
        ROLE,
        "/aggregationRule",
        Some(
            json!({"clusterRoleSelectors": [{"matchLabels": {"example.com/aggregate-to-policy-server": "true"}}]}),
        ),
    );
    assert_eq!(
        found(&objects),
        [format!(
            "{ROLE}: aggregationRule: the controller would replace the rules with those of every ClusterRole the selectors match: the PolicyServer would be granted whatever they grant"
        )]
    );

    let mut objects = rendering();
    change(
        &mut objects,
        ROLE,
        "/metadata/labels",
        Some(json!({"rbac.authorization.k8s.io/aggregate-to-view": "true"})),
    );
    assert_eq!(
        found(&objects),
        [format!(
            "{ROLE}: metadata.labels[rbac.authorization.k8s.io/aggregate-to-view]: adds this role's rules to the aggregated `view` role and so to everyone bound to it: the bundle grants only its PolicyServer"
        )]
    );

    let objects = rendering_with(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: pci-policies-extra}\nrules:\n- {apiGroups: [''], resources: [secrets], verbs: [get]}\n",
    );
    assert_eq!(
        found(&objects),
        [
            "ClusterRole pci-policies-extra: rules[0]: grants secrets of the API group \"\", which no policy of the bundle reads"
        ]
    );
}

#[test]
fn a_selector_sparing_a_tenant_namespace_or_choosable_by_labels_is_named() {
    let mut objects = rendering();
    change(
        &mut objects,
        RUNTIME_ISOLATION,
        "/spec/namespaceSelector/matchExpressions/0/values",
        Some(json!([
            "kube-node-lease",
            "kube-public",
            "kube-system",
            "kubewarden",
            "shop"
        ])),
    );
    assert_eq!(
        found(&objects),
        [format!(
            "{RUNTIME_ISOLATION}: spec.namespaceSelector.matchExpressions[0].values: lists shop, which this rendering does not list as system namespaces: every policy must spare the same namespaces, and only those"
        )]
    );

    let mut objects = rendering();
    change(
        &mut objects,
        GROUP,
        "/spec/namespaceSelector/matchLabels",
        Some(json!({"pci-policies.io/in-scope": "true"})),
    );
    assert_eq!(
        found(&objects),
        [format!(
            "{GROUP}: spec.namespaceSelector.matchLabels: whoever may label a namespace would choose whether it is judged: select by kubernetes.io/metadata.name only"
        )]
    );

    let mut objects = rendering();
    push(
        &mut objects,
        GROUP,
        "/spec/namespaceSelector/matchExpressions",
        json!({"key": "pci-policies.io/exempt", "operator": "DoesNotExist"}),
    );
    assert_eq!(
        found(&objects),
        [format!(
            "{GROUP}: spec.namespaceSelector.matchExpressions[1]: an expression beyond the one on kubernetes.io/metadata.name: a namespace's labels would decide whether it is judged"
        )]
    );
}

#[test]
fn an_object_selector_or_match_conditions_are_named() {
    let mut objects = rendering();
    change(
        &mut objects,
        RUNTIME_ISOLATION,
        "/spec/objectSelector",
        Some(
            json!({"matchExpressions": [{"key": "pci-policies.io/skip", "operator": "DoesNotExist"}]}),
        ),
    );
    change(
        &mut objects,
        GROUP,
        "/spec/matchConditions",
        Some(json!([{"name": "not-skipped", "expression": "!has(object.metadata.labels.skip)"}])),
    );
    assert_eq!(
        found(&objects),
        [
            format!(
                "{RUNTIME_ISOLATION}: spec.objectSelector: a workload's author writes its labels: an object selector would let them choose not to be judged"
            ),
            format!(
                "{GROUP}: spec.matchConditions: a request's author writes what these conditions read: they would let it step around the policy"
            ),
        ]
    );
}

/// `namespaces` as the system namespaces of the system policy (`In`) and every other policy
/// and group (`NotIn`) of `objects`.
fn spare(objects: &mut [Object], namespaces: &[&str]) {
    for label in [SYSTEM_POLICY, RUNTIME_ISOLATION, GROUP] {
        change(
            objects,
            label,
            "/spec/namespaceSelector/matchExpressions/0/values",
            Some(json!(namespaces)),
        );
    }
}

/// What the check finds in `objects` as an organisation's overlay of the protect rollout.
fn found_in_organisation(objects: &[Object]) -> Vec<String> {
    found_as(
        objects,
        Stated {
            rollout: Some(Rollout::Protect),
            organisation: true,
        },
    )
}

#[test]
fn an_organisations_overlay_narrows_the_system_namespaces_within_bundle_yml() {
    // An organisation that does not run kube-public narrows the list everywhere: valid.
    let mut objects = rendering();
    spare(
        &mut objects,
        &["kube-node-lease", "kube-system", "kubewarden"],
    );
    assert_eq!(found_in_organisation(&objects), Vec::<String>::new());

    // The system policy alone narrowed: the others spare a namespace it does not judge.
    let mut objects = rendering();
    change(
        &mut objects,
        SYSTEM_POLICY,
        "/spec/namespaceSelector/matchExpressions/0/values",
        Some(json!(["kube-node-lease", "kube-system", "kubewarden"])),
    );
    let lists_kube_public = "lists kube-public, which this rendering does not list as system namespaces: every policy must spare the same namespaces, and only those";
    assert_eq!(
        found_in_organisation(&objects),
        [
            format!(
                "{RUNTIME_ISOLATION}: spec.namespaceSelector.matchExpressions[0].values: {lists_kube_public}"
            ),
            format!(
                "{GROUP}: spec.namespaceSelector.matchExpressions[0].values: {lists_kube_public}"
            ),
        ]
    );

    // A tenant namespace listed everywhere is still not a system namespace of bundle.yml.
    let mut objects = rendering();
    spare(
        &mut objects,
        &[
            "kube-node-lease",
            "kube-public",
            "kube-system",
            "kubewarden",
            "shop",
        ],
    );
    assert_eq!(
        found_in_organisation(&objects),
        [format!(
            "{SYSTEM_POLICY}: spec.namespaceSelector.matchExpressions[0].values: lists shop, which deploy/bundle.yml does not list as system namespaces: every policy would spare them"
        )]
    );
}

#[test]
fn a_generated_rendering_spares_exactly_the_system_namespaces_of_bundle_yml() {
    let mut objects = rendering();
    spare(
        &mut objects,
        &["kube-node-lease", "kube-system", "kubewarden"],
    );
    let values = "spec.namespaceSelector.matchExpressions[0].values";
    assert_eq!(
        found(&objects),
        [
            format!("{SYSTEM_POLICY}: {values}: does not judge the system namespaces kube-public"),
            format!(
                "{RUNTIME_ISOLATION}: {values}: does not spare the system namespaces kube-public"
            ),
            format!("{GROUP}: {values}: does not spare the system namespaces kube-public"),
        ]
    );
}

#[test]
fn the_policy_server_in_a_tenant_namespace_is_named() {
    let mut objects = rendering();
    for label in [
        "ServiceAccount kubewarden/pci-policies-policy-server",
        CONFIG_MAP,
        BUDGET,
    ] {
        change(
            &mut objects,
            label,
            "/metadata/namespace",
            Some(json!("shop")),
        );
    }
    change(
        &mut objects,
        BINDING,
        "/subjects/0/namespace",
        Some(json!("shop")),
    );
    assert_eq!(
        found(&objects),
        [
            "ServiceAccount shop/pci-policies-policy-server: metadata.namespace: shop is not a system namespace of this rendering: the PolicyServer's pods run in the Kubewarden controller's namespace, which every policy spares (in another namespace its ServiceAccount is out of their reach, and the namespace would be judged by the policies it serves)"
        ]
    );
}

#[test]
fn a_verification_config_looser_than_the_repositorys_is_named() {
    let mut objects = rendering();
    change(
        &mut objects,
        CONFIG_MAP,
        "/data/verification-config",
        Some(json!(
            "apiVersion: v1\nallOf:\n  - kind: genericIssuer\n    issuer: https://token.actions.githubusercontent.com\n    subject:\n      urlPrefix: https://github.com/\n"
        )),
    );
    assert_eq!(
        found(&objects),
        [format!(
            "{CONFIG_MAP}: data.verification-config: is not the repository's verification-config.yml (line 3 is \"  - kind: genericIssuer\", not \"  - kind: githubAction\"): the PolicyServer must require exactly the signatures the release makes"
        )]
    );
}

#[test]
fn a_mode_or_failure_policy_off_the_rollout_is_named() {
    let mut objects = rendering();
    change(
        &mut objects,
        RUNTIME_ISOLATION,
        "/spec/mode",
        Some(json!("monitor")),
    );
    change(
        &mut objects,
        GROUP,
        "/spec/failurePolicy",
        Some(json!("Ignore")),
    );
    change(
        &mut objects,
        SYSTEM_POLICY,
        "/spec/failurePolicy",
        Some(json!("Fail")),
    );
    assert_eq!(
        found(&objects),
        [
            format!(
                "{SYSTEM_POLICY}: spec.failurePolicy: Fail, but deploy/bundle.yml systemPolicy.failurePolicy states Ignore"
            ),
            format!(
                "{RUNTIME_ISOLATION}: spec.mode: monitor, but the protect rollout states protect"
            ),
            format!("{GROUP}: spec.failurePolicy: Ignore, but the protect rollout states Fail"),
        ]
    );

    let mut objects = rendering();
    change(&mut objects, GROUP, "/spec/mode", None);
    assert_eq!(
        found(&objects),
        [format!(
            "{GROUP}: spec.mode: unset: the protect rollout states protect, written out"
        )]
    );

    // The protect fixture read as a monitor rendering: every mode, and every failurePolicy
    // but the system policy's.
    assert_eq!(
        found_as(&rendering(), Stated::generated(Some(Rollout::Monitor))),
        [
            format!("{SYSTEM_POLICY}: spec.mode: protect, but the monitor rollout states monitor"),
            format!(
                "{RUNTIME_ISOLATION}: spec.failurePolicy: Fail, but the monitor rollout states Ignore"
            ),
            format!(
                "{RUNTIME_ISOLATION}: spec.mode: protect, but the monitor rollout states monitor"
            ),
            format!("{GROUP}: spec.failurePolicy: Fail, but the monitor rollout states Ignore"),
            format!("{GROUP}: spec.mode: protect, but the monitor rollout states monitor"),
        ]
    );
}

#[test]
fn an_overlay_short_of_its_rollout_or_a_folder_without_one_is_named() {
    let scratch = Scratch::new(
        "half-monitor",
        &[
            (
                "deploy/base/kustomization.yaml",
                "resources: [rendering.yaml]\n".to_owned(),
            ),
            ("deploy/base/rendering.yaml", fixture("rendering.yaml")),
            (
                "deploy/overlays/monitor/kustomization.yaml",
                monitor_overlay(&["ClusterAdmissionPolicy"]),
            ),
        ],
    );
    let error = scratch.check().unwrap_err().to_string();
    let lines: Vec<&str> = error.lines().take(3).collect();
    assert_eq!(
        lines,
        [
            "2 problem(s):",
            "deploy/overlays/monitor: ClusterAdmissionPolicyGroup pci-3.2-image-integrity: spec.failurePolicy: Fail, but the monitor rollout states Ignore",
            "deploy/overlays/monitor: ClusterAdmissionPolicyGroup pci-3.2-image-integrity: spec.mode: protect, but the monitor rollout states monitor",
        ],
        "{error}"
    );

    let scratch = Scratch::new(
        "examples",
        &[
            (
                "deploy/base/kustomization.yaml",
                "resources: [rendering.yaml]\n".to_owned(),
            ),
            ("deploy/base/rendering.yaml", fixture("rendering.yaml")),
            ("deploy/overlays/monitor/kustomization.yaml", monitor()),
            (
                "deploy/examples/back-to-protect/kustomization.yaml",
                "resources: [../../overlays/monitor]\npatches:\n- target: {kind: ClusterAdmissionPolicy, name: pci-runtime-isolation}\n  patch: |-\n    - op: replace\n      path: /spec/mode\n      value: protect\n".to_owned(),
            ),
            (
                "deploy/examples/copied/kustomization.yaml",
                "resources: [rendering.yaml]\n".to_owned(),
            ),
            ("deploy/examples/copied/rendering.yaml", fixture("rendering.yaml")),
            (
                "deploy/extra/kustomization.yaml",
                "resources: [../base]\n".to_owned(),
            ),
        ],
    );
    let error = scratch.check().unwrap_err().to_string();
    let lines: Vec<&str> = error.lines().take(4).collect();
    assert_eq!(
        lines,
        [
            "3 problem(s):",
            "deploy/examples/back-to-protect: ClusterAdmissionPolicy pci-runtime-isolation: spec.mode: protect, but the monitor rollout states monitor",
            "deploy/examples/copied: the rollout: resources: names none of base, overlays/monitor, overlays/protect: the check cannot tell which rollout this example deploys",
            "deploy/extra: the rollout: the deploy check knows no rollout for the folder \"extra\": it checks base, overlays/monitor, overlays/protect, components/* and examples/* (whose kustomization names one of the overlays in resources)",
        ],
        "{error}"
    );
}
