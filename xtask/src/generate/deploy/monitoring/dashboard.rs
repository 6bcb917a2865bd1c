//! The Grafana dashboard of `components/monitoring`: the bundle's policies as policy-server
//! counts them (evaluations, rejections, latency, mutations, errors, monitor mode's would-be
//! rejections). A variable chooses the policies, among the bundle's only.

use serde_json::{Value, json};

use super::{RUNBOOK, Target};

/// The evaluations counter, for the policies the `policy` variable chooses.
const EVALUATIONS: &str = "kubewarden_policy_evaluations_total{policy_name=~\"$policy\"";
/// The latency histogram's buckets, for the same policies.
const LATENCY: &str =
    "kubewarden_policy_evaluation_latency_milliseconds_bucket{policy_name=~\"$policy\"";
/// A rejection: the policy's verdict, not policy-server's error.
const REJECTED: &str = "accepted=\"false\",error_code!=\"500\"";
/// Admission requests (the audit scanner's are `audit`).
const ADMISSION: &str = "request_origin=\"validate\"";

/// The Prometheus data source every panel queries.
fn datasource() -> Value {
    json!({"type": "prometheus", "uid": "${datasource}"})
}

/// A query: `expr`, its legend.
fn query(ref_id: &str, expr: String, legend: &str) -> Value {
    json!({"refId": ref_id, "datasource": datasource(), "expr": expr, "legendFormat": legend})
}

/// `sum by (by) (rate(<evaluations, matchers>[$__rate_interval]))`.
fn rate_by(by: &str, matchers: &str) -> String {
    format!("sum by ({by}) (rate({EVALUATIONS},{matchers}}}[$__rate_interval]))")
}

/// A time series panel, `index` in the two-column layout.
fn panel(index: u64, title: &str, description: &str, unit: &str, targets: Vec<Value>) -> Value {
    json!({
        "id": index + 1,
        "type": "timeseries",
        "title": title,
        "description": description,
        "datasource": datasource(),
        "gridPos": {"h": 8, "w": 12, "x": (index % 2) * 12, "y": (index / 2) * 8},
        "fieldConfig": {"defaults": {"unit": unit, "min": 0}, "overrides": []},
        "options": {
            "legend": {"displayMode": "table", "placement": "right", "calcs": ["mean", "max"]},
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
        "targets": targets,
    })
}

/// The panels, in reading order.
fn panels() -> Vec<Value> {
    let mut panels = traffic_panels();
    panels.extend(outcome_panels());
    panels
}

/// The first panels: how much, what is rejected, how fast.
fn traffic_panels() -> Vec<Value> {
    let quantile = |q: &str| {
        format!(
            "histogram_quantile({q}, sum by (le) (rate({LATENCY},{ADMISSION}}}[$__rate_interval])))"
        )
    };
    vec![
        panel(
            0,
            "Evaluations per second",
            "Every evaluation policy-server made of the chosen policies: admission requests (validate) and the audit scanner's (audit). Mutating instances and their validating twins are evaluated apart, each counted.",
            "reqps",
            vec![query(
                "A",
                rate_by("request_origin", "initialization_error=\"\""),
                "{{request_origin}}",
            )],
        ),
        panel(
            1,
            "Rejections by policy",
            "Admission requests rejected by a policy in protect mode (policy-server's own errors are in Errors). By policy only: the control a rejection names is in its message, not in policy-server's metrics, which carry no control label. For counts per control, read the audit reports in Policy Reporter (category \"PCI DSS\") or the evidence pack (pci-policies evidence); docs/operations.md says how.",
            "reqps",
            vec![query(
                "A",
                rate_by(
                    "policy_name",
                    &format!("{ADMISSION},policy_mode=\"protect\",{REJECTED}"),
                ),
                "{{policy_name}}",
            )],
        ),
        panel(
            2,
            "Evaluation latency (admission)",
            "p50, p95 and p99 of the time policy-server took to evaluate the chosen policies, in milliseconds, from its latency histogram (buckets up to 10 s). A policy is interrupted at its timeoutEvalSeconds (policy-server's 2 s without one).",
            "ms",
            vec![
                query("A", quantile("0.5"), "p50"),
                query("B", quantile("0.95"), "p95"),
                query("C", quantile("0.99"), "p99"),
            ],
        ),
        panel(
            3,
            "p99 latency by policy (admission)",
            "The slowest 1 % of each policy's admission evaluations, in milliseconds. Alert PciPoliciesEvaluationSlow fires at half the policy's deadline.",
            "ms",
            vec![query(
                "A",
                format!(
                    "histogram_quantile(0.99, sum by (policy_name, le) (rate({LATENCY},{ADMISSION}}}[$__rate_interval])))"
                ),
                "{{policy_name}}",
            )],
        ),
    ]
}

/// The last panels: what policies change, fail on, and would reject.
fn outcome_panels() -> Vec<Value> {
    vec![
        panel(
            4,
            "Mutations by policy",
            "Admission requests a policy patched (mutated=\"true\"): the -mutate instances pinning image digests and setting the default sandbox class. In monitor mode the patch is counted but not applied.",
            "reqps",
            vec![query(
                "A",
                rate_by("policy_name", &format!("{ADMISSION},mutated=\"true\"")),
                "{{policy_name}}",
            )],
        ),
        panel(
            5,
            "Errors by policy",
            "Evaluations policy-server answered with its own error (error_code 500: a panic, or an evaluation interrupted at its deadline), and requests to a policy it could not initialise. Our policies' own refusals are 403 (a violation) and 400 (input they cannot read) and are not errors.",
            "reqps",
            vec![
                query(
                    "A",
                    rate_by("policy_name, request_origin", "error_code=\"500\""),
                    "{{policy_name}} ({{request_origin}})",
                ),
                query(
                    "B",
                    rate_by("policy_name", "initialization_error!=\"\""),
                    "{{policy_name}} (not initialised)",
                ),
            ],
        ),
        panel(
            6,
            "Monitor mode: would-be rejections by policy",
            "Admission requests a policy in monitor mode would have rejected (its verdict accepted=\"false\"; the request was admitted). Near zero per policy before switching it to protect (docs/rollout.md).",
            "reqps",
            vec![query(
                "A",
                rate_by(
                    "policy_name",
                    &format!("{ADMISSION},policy_mode=\"monitor\",{REJECTED}"),
                ),
                "{{policy_name}}",
            )],
        ),
    ]
}

/// The dashboard's variables: the Prometheus data source, and the policies (the bundle's,
/// all by default).
fn variables(target: &Target) -> Value {
    let regex = target.policy_regex();
    json!([
        {
            "name": "datasource",
            "label": "Data source",
            "type": "datasource",
            "query": "prometheus",
        },
        {
            "name": "policy",
            "label": "Policy",
            "type": "query",
            "datasource": datasource(),
            "query": {
                "refId": "policies",
                "query": format!("label_values(kubewarden_policy_evaluations_total{{policy_name=~\"{regex}\"}}, policy_name)"),
            },
            "definition": format!("label_values(kubewarden_policy_evaluations_total{{policy_name=~\"{regex}\"}}, policy_name)"),
            "refresh": 2,
            "multi": true,
            "includeAll": true,
            "allValue": regex,
            "current": {"text": "All", "value": "$__all"},
            "sort": 1,
        },
    ])
}

/// The dashboard's JSON model.
pub fn dashboard(target: &Target) -> Value {
    json!({
        "uid": "pci-policies",
        "title": "pci-policies: admission",
        "description": format!(
            "The pci-policies bundle on PolicyServer {server}, from policy-server's metrics (Kubewarden telemetry). Alerts and what to do: docs/operations.md.",
            server = target.policy_server
        ),
        "tags": ["pci-policies", "kubewarden"],
        "editable": true,
        "schemaVersion": 39,
        "version": 1,
        "refresh": "1m",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": variables(target)},
        "links": [{"title": "Runbook", "type": "link", "url": RUNBOOK, "targetBlank": true}],
        "panels": panels(),
    })
}
