use serde_json::json;

use super::*;

fn get(api_version: &str, kind: &str, name: &str, namespace: Option<&str>) -> CallbackRequest {
    CallbackRequest::KubernetesGetResource {
        api_version: api_version.into(),
        kind: kind.into(),
        name: name.into(),
        namespace: namespace.map(str::to_owned),
        disable_cache: false,
        field_masks: None,
    }
}

fn answer(cluster: &Cluster, request: &CallbackRequest) -> Result<Value, String> {
    cluster
        .answer(request)
        .map(|bytes| serde_json::from_slice(&bytes).expect("JSON"))
}

fn namespace(name: &str, labels: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}})
}

#[test]
fn the_input_wins_over_the_context_and_a_namespace_has_its_name_label() {
    let mut cluster = Cluster::default();
    cluster.add(
        Layer::Context,
        namespace("shop", json!({"zone": "public", "pci-dss/scope": "cde"})),
    );
    cluster.add(Layer::Input, namespace("shop", json!({"zone": "cde"})));
    cluster.add(Layer::Context, namespace("shop", json!({"zone": "other"})));
    let labels = cluster.namespace_labels("shop").expect("known");
    assert_eq!(labels.get("zone").map(String::as_str), Some("cde"));
    // Applying the chart's Namespace keeps the labels the cluster's has and it does not name.
    assert_eq!(labels.get("pci-dss/scope").map(String::as_str), Some("cde"));
    // A chart's Namespace without labels, or in a version no cluster serves, removes none.
    cluster.add(
        Layer::Input,
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}),
    );
    cluster.add(Layer::Input, json!({"apiVersion": "v9", "kind": "Namespace", "metadata": {"name": "shop", "labels": {}}}));
    let labels = cluster.namespace_labels("shop").expect("known");
    assert_eq!(labels.get("pci-dss/scope").map(String::as_str), Some("cde"));
    assert_eq!(labels.get("zone").map(String::as_str), Some("cde"));
    // A RuntimeClass's handler is immutable: the cluster's stays.
    cluster.add(Layer::Context, json!({"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "metadata": {"name": "gvisor"}, "handler": "runsc"}));
    cluster.add(Layer::Input, json!({"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "metadata": {"name": "gvisor"}, "handler": "runc"}));
    let class = answer(
        &cluster,
        &get("node.k8s.io/v1", "RuntimeClass", "gvisor", None),
    )
    .unwrap();
    assert_eq!(class["handler"], "runsc");
    assert_eq!(
        labels.get(NAMESPACE_NAME_LABEL).map(String::as_str),
        Some("shop")
    );
    let found = answer(&cluster, &get("v1", "Namespace", "shop", None)).expect("found");
    assert_eq!(found["metadata"]["labels"]["zone"], "cde");
}

#[test]
fn a_kind_the_context_lists_is_complete_and_any_other_unknown_is_not_answered() {
    let mut cluster = Cluster::default();
    cluster.add(
        Layer::Context,
        json!({"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "metadata": {"name": "gvisor"}, "handler": "runsc"}),
    );
    cluster.add(Layer::Input, namespace("shop", json!({})));
    // Another version of the same group and kind is the same object.
    let gvisor = get("node.k8s.io/v1beta1", "RuntimeClass", "gvisor", None);
    assert!(cluster.serves(&gvisor));
    assert_eq!(
        answer(&cluster, &gvisor).expect("found")["handler"],
        "runsc"
    );
    let kata = get("node.k8s.io/v1", "RuntimeClass", "kata", None);
    assert!(cluster.serves(&kata), "the export lists every RuntimeClass");
    assert!(answer(&cluster, &kata).unwrap_err().contains("not found"));
    // Namespaces came from the input only: one it lacks may exist in the cluster.
    let other = get("v1", "Namespace", "payments", None);
    assert!(!cluster.serves(&other));
    assert!(cluster.answer(&other).is_err());
    assert_eq!(cluster.namespace_labels("payments"), None);
}

#[test]
fn namespace_label_flags_add_to_what_is_known_or_make_it_known() {
    let mut cluster = Cluster::default();
    cluster.add(Layer::Input, namespace("shop", json!({"team": "web"})));
    cluster.add_namespace_label("shop=zone=cde").unwrap();
    cluster.add_namespace_label("payments=zone=cde=x").unwrap();
    let shop = cluster.namespace_labels("shop").unwrap();
    assert_eq!(shop.get("team").map(String::as_str), Some("web"));
    assert_eq!(shop.get("zone").map(String::as_str), Some("cde"));
    let payments = cluster.namespace_labels("payments").unwrap();
    assert_eq!(payments.get("zone").map(String::as_str), Some("cde=x"));
    let found = answer(&cluster, &get("v1", "Namespace", "payments", None)).unwrap();
    assert_eq!(
        found["metadata"]["labels"][NAMESPACE_NAME_LABEL],
        "payments"
    );
    for bad in ["shop", "shop=zone", "=zone=cde", "shop==cde"] {
        let error = cluster.add_namespace_label(bad).unwrap_err().to_string();
        assert!(error.contains("--namespace-labels"), "{bad}: {error}");
    }
}

#[test]
fn lists_of_a_complete_kind_are_filtered_by_label_and_field_selectors() {
    let mut cluster = Cluster::default();
    for (name, zone) in [("a", "cde"), ("b", "public"), ("c", "cde")] {
        cluster.add(Layer::Context, namespace(name, json!({"zone": zone})));
    }
    let list =
        |labels: Option<&str>, fields: Option<&str>| CallbackRequest::KubernetesListResourceAll {
            api_version: "v1".into(),
            kind: "Namespace".into(),
            label_selector: labels.map(str::to_owned),
            field_selector: fields.map(str::to_owned),
            field_masks: None,
        };
    let names = |request: &CallbackRequest| -> Vec<String> {
        answer(&cluster, request).expect("listed")["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item["metadata"]["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(&list(None, None)), ["a", "b", "c"]);
    assert_eq!(names(&list(Some("zone=cde"), None)), ["a", "c"]);
    assert_eq!(
        names(&list(Some("zone=cde"), Some("metadata.name!=a"))),
        ["c"]
    );
    // A field the files cannot decide is not answered.
    assert!(!cluster.serves(&list(None, Some("status.phase=Active"))));
    // A kind only the input holds is not listed: the cluster may hold more.
    let mut partial = Cluster::default();
    partial.add(Layer::Input, namespace("a", json!({})));
    assert!(!partial.serves(&list(None, None)));
}

#[test]
fn a_context_file_is_read_with_its_lists_and_a_broken_one_is_an_error() {
    let dir = std::env::temp_dir().join(format!("cluster-context-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.yaml");
    std::fs::write(
        &good,
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Namespace\n  metadata: {name: shop, labels: {zone: cde}}\n",
    )
    .unwrap();
    let mut cluster = Cluster::default();
    cluster.read_context(&good).unwrap();
    assert!(cluster.namespace_labels("shop").is_some());
    let broken = dir.join("broken.yaml");
    std::fs::write(
        &broken,
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: [x\n",
    )
    .unwrap();
    let error = cluster.read_context(&broken).unwrap_err().to_string();
    assert!(
        error.starts_with(&format!("--context {}:", broken.display())),
        "{error}"
    );
    let missing = cluster.read_context(&dir.join("missing.yaml")).unwrap_err();
    assert!(missing.to_string().contains("cannot read"), "{missing}");
    std::fs::remove_dir_all(&dir).unwrap();
}
