//! The monitoring Components as checked in: the PrometheusRule passes `promtool check rules`
//! and the unit tests of `xtask/test_data/monitoring/alerts.test.yml` (every alert fires where
//! it should and nowhere else), the rule and the dashboard name only metrics and labels
//! policy-server and kube-state-metrics export, the dashboard is valid JSON for Grafana's
//! sidecar, every alert has its runbook section, and both Components render with an overlay.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use super::super::tests::render;
use super::*;
use crate::workspace;

/// Every metric the rule and the dashboard may query, as Prometheus stores them:
/// - policy-server (kubewarden/kubewarden-controller, crates/policy-server/src/metrics/
///   policy_evaluations_total.rs and policy_evaluations_latency.rs: a counter
///   `kubewarden_policy_evaluations_total` and a histogram
///   `kubewarden_policy_evaluation_latency_milliseconds`, meter `kubewarden`, sent over OTLP to
///   the OpenTelemetry collector, whose Prometheus exporter writes the histogram as `_bucket`,
///   `_sum` and `_count`);
/// - kube-state-metrics (docs/metrics/workload/deployment-metrics.md).
const EXPORTED_METRICS: [&str; 6] = [
    "kubewarden_policy_evaluations_total",
    "kubewarden_policy_evaluation_latency_milliseconds_bucket",
    "kubewarden_policy_evaluation_latency_milliseconds_sum",
    "kubewarden_policy_evaluation_latency_milliseconds_count",
    "kube_deployment_spec_replicas",
    "kube_deployment_status_replicas_available",
];

/// Every label the rule and the dashboard may name:
/// - policy-server (crates/policy-server/src/metrics.rs: `PolicyEvaluation` has `policy_name`,
///   `policy_mode`, `resource_kind`, `resource_namespace` (absent for cluster-scoped objects),
///   `resource_request_operation`, `accepted`, `mutated`, `request_origin` (validate, audit)
///   and `error_code` (when the answer has a status code); `RawPolicyEvaluation` a subset;
///   `PolicyInitializationError` `policy_name` and `initialization_error`; recorded in
///   crates/policy-server/src/api/service.rs), and `le`, the histogram's bucket bound;
/// - kube-state-metrics' Deployment metrics: `namespace`, `deployment`.
const EXPORTED_LABELS: [&str; 13] = [
    "policy_name",
    "policy_mode",
    "resource_kind",
    "resource_namespace",
    "resource_request_operation",
    "accepted",
    "mutated",
    "request_origin",
    "error_code",
    "initialization_error",
    "le",
    "namespace",
    "deployment",
];

/// The promtool unit tests of the rule.
const ALERT_TESTS: &str = "xtask/test_data/monitoring/alerts.test.yml";

fn read(path: &str) -> String {
    std::fs::read_to_string(workspace::root().join(path))
        .unwrap_or_else(|error| panic!("{path}: {error}"))
}

/// The one object of a checked-in file of the Components.
fn object(dir: &str, file: &str) -> Value {
    let objects = documents(&read(&format!("{dir}/{file}"))).unwrap();
    assert_eq!(objects.len(), 1, "{dir}/{file}");
    objects.into_iter().next().unwrap()
}

fn rule_spec() -> Value {
    let rule = object(MONITORING_DIR, RULE_FILE);
    assert_eq!(rule["kind"], "PrometheusRule");
    rule["spec"].clone()
}

fn rules() -> Vec<Value> {
    let spec = rule_spec();
    spec["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|group| group["rules"].as_array().unwrap().clone())
        .collect()
}

fn dashboard_json() -> Value {
    let config_map = object(MONITORING_DIR, DASHBOARD_FILE);
    assert_eq!(config_map["kind"], "ConfigMap");
    assert_eq!(config_map["metadata"]["labels"]["grafana_dashboard"], "1");
    let text = config_map["data"][DASHBOARD_KEY].as_str().unwrap();
    serde_json::from_str(text).unwrap_or_else(|error| panic!("the dashboard's JSON: {error}"))
}

/// A fresh folder for one test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pci-xtask-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `promtool args…`, its output printed; fails naming `make setup` when promtool is missing.
fn promtool(args: &[&Path]) -> Output {
    let output = Command::new("promtool").args(args).output().unwrap_or_else(|error| {
        panic!(
            "promtool is needed to check deploy/components/monitoring ({error}): run `make setup` (it installs Debian's prometheus package, which provides promtool)"
        )
    });
    println!(
        "promtool {}:\n{}{}",
        args.iter()
            .map(|a| a.display().to_string())
            .collect::<Vec<_>>()
            .join(" "),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn write_yaml(path: &Path, value: &Value) {
    std::fs::write(path, yaml_serde::to_string(value).unwrap()).unwrap();
}

#[test]
fn the_rule_passes_promtool_check_rules() {
    let dir = scratch("promtool-check");
    let rules = dir.join("rules.yml");
    write_yaml(&rules, &rule_spec());
    let output = promtool(&[Path::new("check"), Path::new("rules"), &rules]);
    assert!(output.status.success(), "promtool check rules failed");
    let _ = std::fs::remove_dir_all(dir);
}

/// The rule's unit tests, on the rule without its annotations (their words are not under
/// test; `promtool check rules` checks their templates).
#[test]
fn every_alert_fires_where_it_should_and_nowhere_else() {
    let dir = scratch("promtool-test");
    let mut spec = rule_spec();
    for group in spec["groups"].as_array_mut().unwrap() {
        for rule in group["rules"].as_array_mut().unwrap() {
            rule.as_object_mut().unwrap().remove("annotations");
        }
    }
    write_yaml(&dir.join("rules.yml"), &spec);
    let tests = dir.join("alerts.test.yml");
    std::fs::write(&tests, read(ALERT_TESTS)).unwrap();
    let output = promtool(&[Path::new("test"), Path::new("rules"), &tests]);
    assert!(output.status.success(), "promtool test rules failed");
    let _ = std::fs::remove_dir_all(dir);
}

/// The `### <alert>` headings of docs/operations.md (GitHub's anchor: the name in lower case).
fn runbook_sections() -> BTreeSet<String> {
    read("docs/operations.md")
        .lines()
        .filter_map(|line| line.strip_prefix("### "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_alert_says_what_to_do_links_its_runbook_and_is_unit_tested() {
    let tests: Value = yaml_serde::from_str(&read(ALERT_TESTS)).unwrap();
    let tested: BTreeSet<&str> = tests["tests"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|test| test["alert_rule_test"].as_array().unwrap())
        .filter(|case| !case["exp_alerts"].as_array().unwrap().is_empty())
        .filter_map(|case| case["alertname"].as_str())
        .collect();
    let sections = runbook_sections();
    let rules = rules();
    assert!(rules.len() >= 6, "{rules:?}");
    for rule in &rules {
        let name = rule["alert"].as_str().unwrap();
        assert!(name.starts_with("PciPolicies"), "{name}");
        assert!(
            rule["for"].as_str().is_some_and(|f| !f.is_empty()),
            "{name}"
        );
        let severity = rule["labels"]["severity"].as_str().unwrap_or_default();
        assert!(["critical", "warning"].contains(&severity), "{name}");
        for annotation in ["summary", "description"] {
            assert!(
                rule["annotations"][annotation]
                    .as_str()
                    .is_some_and(|t| t.len() > 20),
                "{name}: {annotation}"
            );
        }
        assert_eq!(
            rule["annotations"]["runbook_url"],
            format!("{RUNBOOK}#{}", name.to_lowercase()),
            "{name}"
        );
        assert!(
            sections.contains(name),
            "docs/operations.md has no section `### {name}`"
        );
        assert!(
            tested.contains(name),
            "{ALERT_TESTS} never expects {name} to fire"
        );
    }
}

/// Only the admission requests' verdicts count as rejections, and the PolicyServer is named as
/// the controller names it.
#[test]
fn the_alerts_select_what_they_say() {
    let rules = rules();
    let expr = |name: &str| {
        rules
            .iter()
            .find(|r| r["alert"] == name)
            .and_then(|r| r["expr"].as_str())
            .unwrap_or_else(|| panic!("no alert {name}"))
            .to_owned()
    };
    assert!(expr("PciPoliciesRejectionJump").contains("request_origin=\"validate\""));
    assert!(expr("PciPoliciesEvaluationErrors").contains("error_code=\"500\""));
    assert!(expr("PciPoliciesEvaluationSlow").contains(EXPORTED_METRICS[1]));
    let bundle = BundleSource::load(&workspace::root()).unwrap();
    let deployment = format!("deployment=\"policy-server-{}\"", bundle.policy_server.name);
    for name in [
        "PciPoliciesPolicyServerDown",
        "PciPoliciesPolicyServerDegraded",
    ] {
        assert!(expr(name).contains(&deployment), "{name}");
        assert!(
            expr(name).contains("kube_deployment_spec_replicas"),
            "{name}"
        );
    }
}

/// PromQL's words that are not metric names: aggregations, operators, modifiers.
const KEYWORDS: [&str; 22] = [
    "sum",
    "min",
    "max",
    "avg",
    "count",
    "stddev",
    "stdvar",
    "topk",
    "bottomk",
    "quantile",
    "count_values",
    "group",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "and",
    "or",
    "unless",
    "offset",
];

/// The words that take a list of label names in parentheses.
const LABEL_LISTS: [&str; 6] = [
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

/// `expr` without comments, string literals (left empty) and `[…]` ranges.
fn stripped(expr: &str) -> String {
    let mut out = String::new();
    let mut chars = expr.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '#' => {
                for skipped in chars.by_ref() {
                    if skipped == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '"' => {
                out.push_str("\"\"");
                while let Some(inner) = chars.next() {
                    match inner {
                        '\\' => {
                            chars.next();
                        }
                        '"' => break,
                        _ => {}
                    }
                }
            }
            '[' => {
                for skipped in chars.by_ref() {
                    if skipped == ']' {
                        break;
                    }
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// The metric names and the label names a PromQL expression uses.
fn names_in(expr: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let text = stripped(expr);
    let bytes = text.as_bytes();
    let (mut metrics, mut labels) = (BTreeSet::new(), BTreeSet::new());
    let (mut braces, mut label_list, mut list_pending) = (0, false, false);
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i] as char;
        if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || b"_:".contains(&bytes[i]))
            {
                i += 1;
            }
            let word = &text[start..i];
            let next = text[i..].trim_start();
            if braces > 0 || label_list {
                labels.insert(word.to_owned());
            } else if LABEL_LISTS.contains(&word) {
                list_pending = true;
            } else if !KEYWORDS.contains(&word) && !next.starts_with('(') {
                metrics.insert(word.to_owned());
            }
            continue;
        }
        if c.is_ascii_digit() {
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'.') {
                i += 1;
            }
            continue;
        }
        match c {
            '{' => braces += 1,
            '}' => braces -= 1,
            '(' if list_pending => (label_list, list_pending) = (true, false),
            ')' if label_list => label_list = false,
            _ => {}
        }
        i += 1;
    }
    (metrics, labels)
}

/// The label names of Go and Grafana templates: `{{ $labels.name }}`, `{{name}}`.
fn template_labels(text: &str) -> BTreeSet<String> {
    text.split("{{")
        .skip(1)
        .filter_map(|rest| rest.split_once("}}"))
        .filter_map(|(inside, _)| {
            let inside = inside.trim();
            let name = inside.strip_prefix("$labels.").unwrap_or(inside);
            let name = name.split_whitespace().next()?;
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
                .then(|| name.to_owned())
        })
        .collect()
}

/// Every string under `value` at a key among `keys`.
fn strings_at<'a>(value: &'a Value, keys: &[&str], found: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                match child.as_str() {
                    Some(text) if keys.contains(&key.as_str()) => found.push(text),
                    _ => strings_at(child, keys, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| strings_at(item, keys, found)),
        _ => {}
    }
}

#[test]
fn promql_names_are_read_as_promql_reads_them() {
    let (metrics, labels) = names_in(
        "# a comment names_nothing\nsum by (a, b) (rate(m_total{c=\"x{y}\", d!~\"z\"}[5m] offset 1h))\n- on (e) group_left (f) histogram_quantile(0.99, n_bucket) > 1e3 and absent(o)",
    );
    assert_eq!(
        metrics,
        BTreeSet::from(["m_total", "n_bucket", "o"].map(String::from))
    );
    assert_eq!(
        labels,
        BTreeSet::from(["a", "b", "c", "d", "e", "f"].map(String::from))
    );
    assert_eq!(
        template_labels("{{ $labels.policy_name }} at {{ $value | humanize }}, {{le}}"),
        BTreeSet::from(["policy_name", "le"].map(String::from))
    );
}

#[test]
fn the_rule_and_the_dashboard_name_only_exported_metrics_and_labels() {
    let mut exprs: Vec<String> = rules()
        .iter()
        .map(|rule| rule["expr"].as_str().unwrap().to_owned())
        .collect();
    let mut templates: Vec<String> = Vec::new();
    for rule in rules() {
        let mut found = Vec::new();
        strings_at(
            &rule["annotations"],
            &["summary", "description"],
            &mut found,
        );
        templates.extend(found.into_iter().map(str::to_owned));
    }
    let dashboard = dashboard_json();
    let mut found = Vec::new();
    strings_at(&dashboard["panels"], &["expr"], &mut found);
    exprs.extend(found.into_iter().map(str::to_owned));
    for variable in dashboard["templating"]["list"].as_array().unwrap() {
        if variable["type"] == "query" {
            // Grafana's `label_values(selector, label)`: the selector, and the label.
            let query = variable["query"]["query"].as_str().unwrap();
            let (selector, label) = query
                .strip_prefix("label_values(")
                .and_then(|q| q.strip_suffix(')'))
                .and_then(|q| q.rsplit_once(','))
                .unwrap_or_else(|| panic!("{query}"));
            exprs.push(format!("{selector} + on ({label})"));
        }
    }
    let mut legends = Vec::new();
    strings_at(&dashboard, &["legendFormat"], &mut legends);
    templates.extend(legends.into_iter().map(str::to_owned));
    let (mut metrics, mut labels) = (BTreeSet::new(), BTreeSet::new());
    for expr in &exprs {
        let (m, l) = names_in(expr);
        metrics.extend(m);
        labels.extend(l);
    }
    for template in &templates {
        labels.extend(template_labels(template));
    }
    let exported_metrics: BTreeSet<String> = EXPORTED_METRICS.map(String::from).into();
    let exported_labels: BTreeSet<String> = EXPORTED_LABELS.map(String::from).into();
    assert!(
        metrics.len() >= 4 && labels.len() >= 8,
        "{metrics:?} {labels:?}"
    );
    assert!(
        metrics.is_subset(&exported_metrics),
        "not exported: {:?}",
        metrics.difference(&exported_metrics).collect::<Vec<_>>()
    );
    assert!(
        labels.is_subset(&exported_labels),
        "not exported: {:?}",
        labels.difference(&exported_labels).collect::<Vec<_>>()
    );
}

#[test]
fn the_dashboard_is_grafana_json_with_every_panel_the_operator_needs() {
    let dashboard = dashboard_json();
    assert_eq!(dashboard["uid"], "pci-policies");
    let panels = dashboard["panels"].as_array().unwrap();
    let ids: BTreeSet<u64> = panels.iter().map(|p| p["id"].as_u64().unwrap()).collect();
    assert_eq!(ids.len(), panels.len(), "panel ids are unique");
    let exprs = |title: &str| -> Vec<String> {
        let panel = panels
            .iter()
            .find(|p| p["title"] == title)
            .unwrap_or_else(|| panic!("no panel {title:?}"));
        assert!(
            panel["description"].as_str().is_some_and(|d| !d.is_empty()),
            "{title}"
        );
        panel["targets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["expr"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(
        exprs("Evaluations per second")[0].contains("rate(kubewarden_policy_evaluations_total")
    );
    assert!(exprs("Rejections by policy")[0].contains("accepted=\"false\""));
    let latency = exprs("Evaluation latency (admission)");
    for quantile in ["0.5", "0.95", "0.99"] {
        assert!(
            latency
                .iter()
                .any(|e| e.starts_with(&format!("histogram_quantile({quantile},"))),
            "p{quantile}"
        );
    }
    assert!(exprs("Mutations by policy")[0].contains("mutated=\"true\""));
    assert!(exprs("Errors by policy")[0].contains("error_code=\"500\""));
    let monitor = &exprs("Monitor mode: would-be rejections by policy")[0];
    assert!(monitor.contains("policy_mode=\"monitor\"") && monitor.contains("accepted=\"false\""));
    // Control is no label of policy-server's: the panel says so and where to look instead.
    let rejections = panels
        .iter()
        .find(|p| p["title"] == "Rejections by policy")
        .unwrap();
    let description = rejections["description"].as_str().unwrap();
    assert!(description.contains("no control label") && description.contains("Policy Reporter"));
    // Every query uses the data source variable and the policy variable.
    let mut found = Vec::new();
    strings_at(&dashboard["panels"], &["expr"], &mut found);
    for expr in found {
        assert!(expr.contains("policy_name=~\"$policy\""), "{expr}");
    }
}

/// The relative path from the folder `from` to `to` (both absolute): kustomize refuses absolute
/// paths in `resources` and `components`.
fn relative(from: &Path, to: &Path) -> PathBuf {
    let from = from.canonicalize().unwrap();
    let to = to.canonicalize().unwrap();
    let common = from
        .components()
        .zip(to.components())
        .take_while(|(a, b)| a == b)
        .count();
    let mut path = PathBuf::new();
    for _ in common..from.components().count() {
        path.push("..");
    }
    to.components().skip(common).for_each(|c| path.push(c));
    path
}

#[test]
fn both_components_render_with_an_overlay_that_includes_them() {
    let dir = scratch("monitoring-overlay");
    let deploy = workspace::root().join("deploy");
    let path = |folder: &str| relative(&dir, &deploy.join(folder)).display().to_string();
    std::fs::write(
        dir.join("kustomization.yaml"),
        format!(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [{}]\ncomponents: [{}, {}]\n",
            path("overlays/monitor"),
            path("components/monitoring"),
            path("components/service-monitor"),
        ),
    )
    .unwrap();
    let rendered = render(&dir);
    let overlay = render(&deploy.join("overlays/monitor"));
    assert_eq!(rendered.len(), overlay.len() + 3);
    let bundle = BundleSource::load(&workspace::root()).unwrap();
    for (kind, name) in [
        ("PrometheusRule", "pci-policies".to_owned()),
        ("ConfigMap", "pci-policies-grafana-dashboard".to_owned()),
        (
            "ServiceMonitor",
            format!("policy-server-{}", bundle.policy_server.name),
        ),
    ] {
        let object = rendered
            .iter()
            .find(|o| o["kind"] == kind && o["metadata"]["name"] == name.as_str())
            .unwrap_or_else(|| panic!("no {kind} {name}"));
        assert_eq!(
            object["metadata"]["namespace"],
            bundle.kubewarden_namespace.as_str()
        );
    }
    // The overlay's objects are unchanged by the Components.
    for object in &overlay {
        assert!(rendered.contains(object), "{}", object["metadata"]["name"]);
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// The ServiceMonitor selects the Service the controller makes for the bundle's PolicyServer
/// (label `kubewarden/policy-server: <name>`), on its port `metrics`.
#[test]
fn the_service_monitor_scrapes_the_policy_servers_metrics_port() {
    let monitor = object(SERVICE_MONITOR_DIR, SERVICE_MONITOR_FILE);
    let bundle = BundleSource::load(&workspace::root()).unwrap();
    assert_eq!(monitor["kind"], "ServiceMonitor");
    assert_eq!(
        monitor["spec"]["selector"]["matchLabels"][POD_LABEL],
        bundle.policy_server.name.as_str()
    );
    assert_eq!(monitor["spec"]["endpoints"][0]["port"], "metrics");
    assert_eq!(
        monitor["metadata"]["namespace"],
        bundle.kubewarden_namespace.as_str()
    );
}

/// The policy ids of the monitor overlay's policies and groups (and of each group's members).
fn deployed_ids() -> Vec<String> {
    let mut ids = Vec::new();
    for object in render(&workspace::root().join("deploy/overlays/monitor")) {
        match object["kind"].as_str().unwrap_or_default() {
            "ClusterAdmissionPolicy" => {
                ids.push(format!(
                    "clusterwide-{}",
                    object["metadata"]["name"].as_str().unwrap()
                ));
            }
            "ClusterAdmissionPolicyGroup" => {
                let group = format!(
                    "clusterwide-group-{}",
                    object["metadata"]["name"].as_str().unwrap()
                );
                for member in object["spec"]["policies"].as_object().unwrap().keys() {
                    ids.push(format!("{group}/{member}"));
                }
                ids.push(group);
            }
            _ => {}
        }
    }
    ids
}

/// The rule's regular expression matches every deployed policy, group and member id and nothing
/// else, as Prometheus matches it (a promtool unit test written here, on the rule as checked in).
#[test]
fn the_policy_expression_matches_every_deployed_policy_and_nothing_else() {
    let ids = deployed_ids();
    assert!(ids.len() >= 11, "{ids:?}");
    let absent = rules()
        .into_iter()
        .find(|r| r["alert"] == "PciPoliciesMetricsAbsent")
        .unwrap();
    let selector = absent["expr"].as_str().unwrap().trim();
    let selector = selector
        .strip_prefix("absent(")
        .and_then(|s| s.strip_suffix(')'))
        .unwrap();
    // Every id with one more letter (a member's id: any member of the group is the group's).
    let mut others: Vec<String> = ids
        .iter()
        .filter(|id| !id.contains('/'))
        .map(|id| format!("{id}x"))
        .collect();
    others.extend(["clusterwide-other", "namespaced-shop-pci-pod-security"].map(String::from));
    others.extend(
        ids.iter()
            .filter(|id| id.contains('.'))
            .map(|id| id.replace('.', "x")),
    );
    let series = |id: &String| {
        serde_json::json!({
            "series": format!("kubewarden_policy_evaluations_total{{policy_name=\"{id}\"}}"),
            "values": "1x5",
        })
    };
    let expected: Vec<Value> = ids
        .iter()
        .map(|id| {
            serde_json::json!({
                "labels": format!("kubewarden_policy_evaluations_total{{policy_name=\"{id}\"}}"),
                "value": 1,
            })
        })
        .collect();
    let test = serde_json::json!({
        "tests": [{
            "interval": "1m",
            "input_series": ids.iter().chain(&others).map(series).collect::<Vec<_>>(),
            "promql_expr_test": [{"expr": selector, "eval_time": "2m", "exp_samples": expected}],
        }],
    });
    let dir = scratch("promtool-regex");
    let file = dir.join("regex.test.yml");
    write_yaml(&file, &test);
    let output = promtool(&[Path::new("test"), Path::new("rules"), &file]);
    assert!(
        output.status.success(),
        "the policy expression does not match exactly {ids:?}"
    );
    let _ = std::fs::remove_dir_all(dir);
}
