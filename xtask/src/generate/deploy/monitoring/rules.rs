//! The alerts of `components/monitoring`'s PrometheusRule. Each has a `for`, a `severity`
//! label, a summary and a description saying what to do, and a `runbook_url` to its section of
//! docs/operations.md (the heading is the alert's name).
//!
//! What policy-server counts (`kubewarden_policy_evaluations_total`, one series per label set):
//! an admission or audit evaluation with its verdict (`accepted`: the policy's own, in monitor
//! mode too), `mutated`, and `error_code` when the answer has a status code (ours: 403 for a
//! violation, 400 for input it cannot read; policy-server's own 500 for a panic or an
//! evaluation interrupted at its deadline); a policy that could not be initialised,
//! with `initialization_error`. A counter appears with its first increment, so an alert on
//! something new adds the series that did not exist 10 minutes before to `increase()`, which
//! cannot see a series' first value.

use serde_json::{Value, json};

use super::{RUNBOOK, Target};

/// The evaluations counter.
const EVALUATIONS: &str = "kubewarden_policy_evaluations_total";
/// The evaluation latency histogram's buckets (milliseconds).
const LATENCY_BUCKETS: &str = "kubewarden_policy_evaluation_latency_milliseconds_bucket";
/// Rise of the rejected share of a policy's admission requests, against the day before, that
/// [`rejection_jump`] reports (0.2: 20 points, e.g. from 5 % to 25 %).
const REJECTION_JUMP: f64 = 0.2;
/// Admission requests a policy must have judged in the last 15 minutes for a jump to count.
const REJECTION_JUMP_VOLUME: u32 = 20;

/// An alerting rule.
fn alert(name: &str, expr: &str, wait: &str, severity: &str, summary: &str, text: &str) -> Value {
    json!({
        "alert": name,
        "expr": expr,
        "for": wait,
        "labels": {"severity": severity},
        "annotations": {
            "summary": summary,
            "description": text,
            "runbook_url": format!("{RUNBOOK}#{}", name.to_lowercase()),
        },
    })
}

/// `metric{matchers}` for the bundle's policies.
fn ours(target: &Target, metric: &str, matchers: &str) -> String {
    let policies = format!("policy_name=~\"{}\"", target.policy_regex());
    if matchers.is_empty() {
        format!("{metric}{{{policies}}}")
    } else {
        format!("{metric}{{{policies},{matchers}}}")
    }
}

/// Per `by` labels, how many evaluations matched `matchers` in the last 10 minutes, for those
/// where any did (a series created in that time counted with its whole value).
fn new_in_10m(target: &Target, matchers: &str, by: &str) -> String {
    let series = ours(target, EVALUATIONS, matchers);
    format!(
        "(sum by ({by}) (increase({series}[10m])) > 0)\nor\nsum by ({by}) (\n  {series}\n  unless\n  {series} offset 10m\n)\n"
    )
}

/// Every alert of the rule.
pub fn alerts(target: &Target) -> Vec<Value> {
    vec![
        evaluation_errors(target),
        initialization_errors(target),
        evaluation_slow(target),
        rejection_jump(target),
        policy_server_down(target),
        policy_server_degraded(target),
        metrics_absent(target),
    ]
}

/// Policy-server answered an evaluation with its own error (500).
fn evaluation_errors(target: &Target) -> Value {
    alert(
        "PciPoliciesEvaluationErrors",
        &new_in_10m(target, "error_code=\"500\"", "policy_name"),
        "1m",
        "warning",
        "{{ $labels.policy_name }} could not judge {{ $value | humanize }} request(s) in 10 minutes",
        "policy-server answered evaluations of {{ $labels.policy_name }} with an error (code 500): the policy panicked, or its evaluation ran past its deadline (\"Policy execution interrupted because it exceeded the allowed execution time\"). In protect mode the request was rejected, in monitor mode admitted without a verdict. Read the policy-server logs for the message; for a timeout, check the evaluation latency and what the policy waits for (registries, Sigstore, the API server).",
    )
}

/// A policy could not be initialised (counted when policy-server runs with
/// `KUBEWARDEN_CONTINUE_ON_ERRORS`; without it, policy-server does not start at all).
fn initialization_errors(target: &Target) -> Value {
    alert(
        "PciPoliciesInitializationErrors",
        &new_in_10m(
            target,
            "initialization_error!=\"\"",
            "policy_name, initialization_error",
        ),
        "1m",
        "critical",
        "{{ $labels.policy_name }} is not initialised: every request it judges gets an error",
        "policy-server could not initialise {{ $labels.policy_name }} (its settings, or its module), and answers each request the policy judges with the error: {{ $labels.initialization_error }}. Fix the settings or the module reference (kubectl get clusteradmissionpolicies shows its status), then check the policy is active.",
    )
}

/// A policy's p99 latency is over half the time policy-server lets it run, per deadline.
fn evaluation_slow(target: &Target) -> Value {
    let terms: Vec<String> = target
        .by_deadline()
        .into_iter()
        .map(|(seconds, policies)| {
            let matchers = format!(
                "policy_name=~\"{}\",request_origin=\"validate\"",
                super::regex(policies.into_iter())
            );
            format!(
                "# within {seconds} s\nhistogram_quantile(0.99, sum by (policy_name, le) (rate({LATENCY_BUCKETS}{{{matchers}}}[10m])))\n  > {}\n",
                seconds * 500
            )
        })
        .collect();
    alert(
        "PciPoliciesEvaluationSlow",
        &terms.join("or\n"),
        "15m",
        "warning",
        "{{ $labels.policy_name }} takes {{ $value | humanize }} ms at p99, over half its deadline",
        "The slowest 1 % of admission evaluations of {{ $labels.policy_name }} take {{ $value | humanize }} ms, more than half the time policy-server lets it run (its timeoutEvalSeconds, or policy-server's 2 s default): past it, the evaluation is interrupted and answered with an error. Look at what the policy waits for (registry and Sigstore lookups, the API server), the policy-server pods' CPU, and requests with very large objects.",
    )
}

/// The rejected share of a policy's admission requests rose sharply against the day before.
fn rejection_jump(target: &Target) -> Value {
    let all = ours(target, EVALUATIONS, "request_origin=\"validate\"");
    let rejected = ours(
        target,
        EVALUATIONS,
        "request_origin=\"validate\",accepted=\"false\",error_code!=\"500\"",
    );
    let expr = format!(
        "(\n  sum by (policy_name) (rate({rejected}[15m]))\n  /\n  sum by (policy_name) (rate({all}[15m]))\n)\n- on (policy_name)\n(\n  (\n    sum by (policy_name) (rate({rejected}[1d] offset 1h))\n    or\n    0 * sum by (policy_name) (rate({all}[1d] offset 1h))\n  )\n  /\n  sum by (policy_name) (rate({all}[1d] offset 1h))\n)\n> {REJECTION_JUMP}\nand on (policy_name)\nsum by (policy_name) (increase({all}[15m])) >= {REJECTION_JUMP_VOLUME}\n"
    );
    alert(
        "PciPoliciesRejectionJump",
        &expr,
        "10m",
        "warning",
        "{{ $labels.policy_name }} rejects a far larger share of requests than the day before",
        "The share of admission requests {{ $labels.policy_name }} rejects (or would reject, in monitor mode) over the last 15 minutes is higher by {{ $value | humanizePercentage }} of its requests than over the day before the last hour. A change of settings, exceptions or policy version, or a new workload, is failing it: read the rejection messages (kubectl events, Policy Reporter) and fix the workload, the settings or the exception.",
    )
}

/// The PolicyServer's Deployment, as kube-state-metrics names it. PolicyServer is
/// cluster-scoped, so its Deployment's name is found in whichever namespace Kubewarden runs.
fn deployment_selector(target: &Target) -> String {
    format!("deployment=\"{}\"", target.deployment())
}

/// No pod of the PolicyServer is available.
fn policy_server_down(target: &Target) -> Value {
    let deployment = deployment_selector(target);
    alert(
        "PciPoliciesPolicyServerDown",
        &format!(
            "max by (namespace, deployment) (kube_deployment_status_replicas_available{{{deployment}}}) == 0\nand\nmax by (namespace, deployment) (kube_deployment_spec_replicas{{{deployment}}}) > 0\n"
        ),
        "2m",
        "critical",
        "No pod of {{ $labels.namespace }}/{{ $labels.deployment }} is available",
        "The policy server of the pci-policies bundle answers nothing: every request a policy with failurePolicy Fail judges is rejected, and those of the monitor rollout (failurePolicy Ignore) are admitted unjudged. kubectl -n {{ $labels.namespace }} describe deployment {{ $labels.deployment }}, then its pods' events and logs (a module it cannot pull or verify, settings it refuses, resources).",
    )
}

/// Fewer pods of the PolicyServer available than it asks for.
fn policy_server_degraded(target: &Target) -> Value {
    let deployment = deployment_selector(target);
    alert(
        "PciPoliciesPolicyServerDegraded",
        &format!(
            "max by (namespace, deployment) (kube_deployment_status_replicas_available{{{deployment}}})\n<\nmax by (namespace, deployment) (kube_deployment_spec_replicas{{{deployment}}})\n"
        ),
        "15m",
        "warning",
        "{{ $labels.namespace }}/{{ $labels.deployment }} has {{ $value }} available pod(s), fewer than it asks for",
        "Some replicas of the pci-policies policy server have not been ready for 15 minutes: one more failing node or drain leaves admission without it. kubectl -n {{ $labels.namespace }} get pods -l kubewarden/policy-server, then the events and logs of the pods that are not ready (scheduling, image pull, module verification).",
    )
}

/// No evaluation of the bundle's policies is in Prometheus at all.
fn metrics_absent(target: &Target) -> Value {
    alert(
        "PciPoliciesMetricsAbsent",
        &format!("absent({})\n", ours(target, EVALUATIONS, "")),
        "1h",
        "warning",
        "Prometheus has no evaluation of the pci-policies policies",
        "No series of kubewarden_policy_evaluations_total for the bundle's policies, for an hour: the other alerts cannot fire. Either Kubewarden's telemetry is off (Helm value telemetry.metrics), the policy server is not scraped (components/service-monitor, or your own scrape of its metrics port), or no request has reached these policies since the policy server started.",
    )
}
