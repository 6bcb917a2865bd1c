//! `components/monitoring` and `components/service-monitor`: what an operator watches the bundle
//! with. The first is a PrometheusRule (`rules`) and a Grafana dashboard (`dashboard`), the
//! second a ServiceMonitor for the PolicyServer's `metrics` port; two Components, so a cluster
//! whose Prometheus finds the policy server another way takes the first alone.
//!
//! Generated, because every query names what the bundle deploys: the PolicyServer of
//! `deploy/bundle.yml` (its Deployment `policy-server-<name>`, its Service's label, the
//! namespace) and the policy ids of the base and of the system namespaces' component, which
//! policy-server's metrics carry as `policy_name` (`clusterwide-<name>` for a
//! ClusterAdmissionPolicy, `clusterwide-group-<name>` for a group, `<group id>/<member>` for a
//! member), each with the time policy-server lets it run. The metric and label names are
//! policy-server's and kube-state-metrics' (the tests hold the list, with its sources).

mod dashboard;
mod rules;

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use serde_json::{Value, json};

use super::base::BaseFile;
use super::bundle::BundleSource;
use super::policy_server::POD_LABEL;
use crate::generate::GeneratedFile;
use crate::generate::manifests;

/// The folder of the rules and dashboard Component.
pub const MONITORING_DIR: &str = "deploy/components/monitoring";
/// The folder of the ServiceMonitor Component.
pub const SERVICE_MONITOR_DIR: &str = "deploy/components/service-monitor";
/// The PrometheusRule's file in [`MONITORING_DIR`].
pub const RULE_FILE: &str = "prometheus-rule.yaml";
/// The dashboard ConfigMap's file in [`MONITORING_DIR`].
pub const DASHBOARD_FILE: &str = "grafana-dashboard.yaml";
/// The ServiceMonitor's file in [`SERVICE_MONITOR_DIR`].
pub const SERVICE_MONITOR_FILE: &str = "service-monitor.yaml";
/// The key of the dashboard ConfigMap holding the dashboard's JSON.
pub const DASHBOARD_KEY: &str = "pci-policies.json";
/// Where each alert's `runbook_url` points: a heading of this page per alert.
pub const RUNBOOK: &str =
    "https://github.com/pci-policies/pci-policies/blob/main/docs/operations.md";
/// The seconds policy-server lets a policy without `timeoutEvalSeconds` run: its
/// `--policy-timeout` (`KUBEWARDEN_POLICY_TIMEOUT`) default, which the bundle's PolicyServer
/// does not change.
pub const DEFAULT_EVALUATION_SECONDS: u64 = 2;

/// One deployed policy or group as policy-server's metrics name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Watched {
    /// Its `policy_name`: the policy id.
    pub id: String,
    /// A group: its members' ids are `<id>/<member>`.
    pub group: bool,
    /// The seconds policy-server lets one evaluation run: its `timeoutEvalSeconds` (or
    /// [`DEFAULT_EVALUATION_SECONDS`]); a group's members run one after another, so theirs
    /// added up.
    pub deadline_seconds: u64,
}

/// Everything the monitoring queries name.
#[derive(Debug)]
pub struct Target {
    /// Where the PolicyServer's Deployment and Service run, and the Components' objects go.
    pub namespace: String,
    /// The PolicyServer's name.
    pub policy_server: String,
    /// Every policy and group, sorted by id.
    pub policies: Vec<Watched>,
}

impl Target {
    /// What `bundle` deploys: the policies and groups among `documents` (the base's and the
    /// system namespaces' component's objects).
    pub fn of(bundle: &BundleSource, documents: &[Value]) -> Result<Self> {
        let mut policies = Vec::new();
        for object in documents {
            if let Some(watched) = watched(object)? {
                policies.push(watched);
            }
        }
        if policies.is_empty() {
            bail!("the bundle deploys no policy to monitor");
        }
        policies.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(Self {
            namespace: bundle.kubewarden_namespace.clone(),
            policy_server: bundle.policy_server.name.clone(),
            policies,
        })
    }

    /// The PolicyServer's Deployment (and Service), as the controller names it.
    pub fn deployment(&self) -> String {
        format!("policy-server-{}", self.policy_server)
    }

    /// The regular expression matching every policy's `policy_name` (group members included).
    pub fn policy_regex(&self) -> String {
        regex(self.policies.iter())
    }

    /// The policies grouped by the seconds policy-server lets them run, shortest first.
    pub fn by_deadline(&self) -> Vec<(u64, Vec<&Watched>)> {
        let mut deadlines: Vec<u64> = self.policies.iter().map(|p| p.deadline_seconds).collect();
        deadlines.sort_unstable();
        deadlines.dedup();
        deadlines
            .into_iter()
            .map(|seconds| {
                let policies = self
                    .policies
                    .iter()
                    .filter(|p| p.deadline_seconds == seconds)
                    .collect();
                (seconds, policies)
            })
            .collect()
    }
}

/// A PromQL regular expression (fully anchored by Prometheus) matching the ids of `policies`,
/// and the ids of a group's members. Names are DNS labels and subdomains: `.` is the one
/// character to escape, written `[.]` (a backslash would need escaping again in PromQL).
pub fn regex<'a>(policies: impl Iterator<Item = &'a Watched>) -> String {
    let alternatives: Vec<String> = policies
        .map(|p| {
            let id = p.id.replace('.', "[.]");
            if p.group { format!("{id}(/.+)?") } else { id }
        })
        .collect();
    let prefix = common_prefix(&alternatives);
    if alternatives.len() < 2 || prefix.is_empty() {
        return alternatives.join("|");
    }
    let rest: Vec<&str> = alternatives.iter().map(|a| &a[prefix.len()..]).collect();
    format!("{prefix}({})", rest.join("|"))
}

/// The longest prefix of every one of `texts` ending with `-`.
fn common_prefix(texts: &[String]) -> &str {
    let Some(first) = texts.first() else {
        return "";
    };
    let mut length = first.len();
    for text in texts {
        length = first
            .bytes()
            .zip(text.bytes())
            .take(length)
            .take_while(|(a, b)| a == b)
            .count();
    }
    first[..length].rfind('-').map_or("", |end| &first[..=end])
}

/// `object` as policy-server's metrics name it, if it is a policy or a group.
fn watched(object: &Value) -> Result<Option<Watched>> {
    let kind = object["kind"].as_str().unwrap_or_default();
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    let namespace = object["metadata"]["namespace"].as_str().unwrap_or_default();
    let seconds = |spec: &Value| {
        spec["timeoutEvalSeconds"]
            .as_u64()
            .unwrap_or(DEFAULT_EVALUATION_SECONDS)
    };
    let (id, group) = match kind {
        "ClusterAdmissionPolicy" => (format!("clusterwide-{name}"), false),
        "ClusterAdmissionPolicyGroup" => (format!("clusterwide-group-{name}"), true),
        "AdmissionPolicy" => (format!("namespaced-{namespace}-{name}"), false),
        "AdmissionPolicyGroup" => (format!("namespaced-group-{namespace}-{name}"), true),
        _ => return Ok(None),
    };
    if name.is_empty() {
        bail!("a {kind} without a name");
    }
    let deadline_seconds = if group {
        let members = object["spec"]["policies"]
            .as_object()
            .with_context(|| format!("{kind} {name}: no spec.policies"))?;
        members.values().map(seconds).sum()
    } else {
        seconds(&object["spec"])
    };
    Ok(Some(Watched {
        id,
        group,
        deadline_seconds,
    }))
}

/// The objects of a generated file's YAML documents.
fn documents(text: &str) -> Result<Vec<Value>> {
    let mut objects = Vec::new();
    for document in yaml_serde::Deserializer::from_str(text) {
        let value = Value::deserialize(document)?;
        if !value.is_null() {
            objects.push(value);
        }
    }
    Ok(objects)
}

/// A generated file's warning, then what the file is.
fn header(what: &str) -> String {
    format!(
        "# Generated by `make generate` (xtask/src/generate/deploy/monitoring.rs) from deploy/bundle.yml\n# and the bundle's policies: edit those, never this file. docs/operations.md explains it.\n{what}"
    )
}

/// The files of both Components, monitoring the PolicyServer of `bundle`, the policies of
/// `base` and the system namespaces' policy (`system_manifest`).
pub fn files(
    bundle: &BundleSource,
    base: &[BaseFile],
    system_manifest: &str,
) -> Result<Vec<GeneratedFile>> {
    let mut objects = Vec::new();
    for file in base {
        objects.extend(documents(file.documents()).with_context(|| file.path.clone())?);
    }
    objects.extend(documents(system_manifest)?);
    let target = Target::of(bundle, &objects)?;
    let file = |dir: &str, name: &str, contents: String| GeneratedFile {
        path: format!("{dir}/{name}"),
        contents,
    };
    Ok(vec![
        file(MONITORING_DIR, RULE_FILE, rule_file(&target)?),
        file(MONITORING_DIR, DASHBOARD_FILE, dashboard_file(&target)?),
        file(
            MONITORING_DIR,
            "kustomization.yaml",
            component(
                "# Optional: alerts (a PrometheusRule, for the Prometheus Operator) and a Grafana dashboard (a\n# ConfigMap for Grafana's dashboard sidecar) on the policy server's metrics. Add it to your\n# overlay with `components: [../../components/monitoring]` (a path from your overlay); the\n# metrics need Kubewarden's telemetry (docs/operations.md).\n",
                &[RULE_FILE, DASHBOARD_FILE],
            )?,
        ),
        file(
            SERVICE_MONITOR_DIR,
            SERVICE_MONITOR_FILE,
            service_monitor_file(&target)?,
        ),
        file(
            SERVICE_MONITOR_DIR,
            "kustomization.yaml",
            component(
                "# Optional: a ServiceMonitor, so a Prometheus Operator scrapes the policy server's `metrics`\n# port. Leave it out when your Prometheus scrapes it another way.\n",
                &[SERVICE_MONITOR_FILE],
            )?,
        ),
    ])
}

/// A Component's `kustomization.yaml` listing `resources`.
fn component(what: &str, resources: &[&str]) -> Result<String> {
    Ok(format!(
        "{}{}",
        header(what),
        yaml_serde::to_string(&json!({
            "apiVersion": "kustomize.config.k8s.io/v1alpha1",
            "kind": "Component",
            "resources": resources,
        }))?
    ))
}

/// The labels of every object of both Components.
fn labels() -> Value {
    json!({"app.kubernetes.io/part-of": "pci-policies"})
}

/// `components/monitoring/prometheus-rule.yaml`.
fn rule_file(target: &Target) -> Result<String> {
    let rule = json!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": "pci-policies",
            "namespace": target.namespace,
            "labels": labels(),
        },
        "spec": {"groups": [{"name": "pci-policies", "rules": rules::alerts(target)}]},
    });
    Ok(format!(
        "{}{}",
        header(&format!(
            "# The alerts on the policies' evaluations (policy-server's metrics) and on the PolicyServer\n# {server}'s Deployment {deployment} (kube-state-metrics). Each alert's runbook_url is its section of\n# docs/operations.md. A Prometheus Operator loads it when its ruleSelector matches these labels\n# (kube-prometheus-stack: add `release: <its release>`, or set\n# prometheus.prometheusSpec.ruleSelectorNilUsesHelmValues=false).\n",
            server = target.policy_server,
            deployment = target.deployment()
        )),
        manifests::documents(&[rule])?
    ))
}

/// `components/monitoring/grafana-dashboard.yaml`.
fn dashboard_file(target: &Target) -> Result<String> {
    let dashboard = serde_json::to_string_pretty(&dashboard::dashboard(target))?;
    let config_map = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "pci-policies-grafana-dashboard",
            "namespace": target.namespace,
            "labels": {"grafana_dashboard": "1", "app.kubernetes.io/part-of": "pci-policies"},
        },
        "data": {DASHBOARD_KEY: format!("{dashboard}\n")},
    });
    Ok(format!(
        "{}{}",
        header(
            "# The Grafana dashboard \"pci-policies: admission\", for Grafana's dashboard sidecar (label\n# grafana_dashboard: \"1\"; kube-prometheus-stack's looks in every namespace), or import its JSON.\n"
        ),
        manifests::documents(&[config_map])?
    ))
}

/// `components/service-monitor/service-monitor.yaml`.
fn service_monitor_file(target: &Target) -> Result<String> {
    let monitor = json!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {
            "name": target.deployment(),
            "namespace": target.namespace,
            "labels": labels(),
        },
        "spec": {
            "selector": {"matchLabels": {POD_LABEL: target.policy_server}},
            "endpoints": [{"port": "metrics"}],
        },
    });
    Ok(format!(
        "{}{}",
        header(&format!(
            "# Scrapes the Service the Kubewarden controller makes for the PolicyServer {server}: {service},\n# labelled {POD_LABEL}: {server}, in its own namespace. Its port `metrics` (8080 unless\n# the controller is told otherwise) is there when Kubewarden's telemetry metrics are on: the\n# OpenTelemetry collector sidecar's Prometheus exporter. A Prometheus Operator loads this when its\n# serviceMonitorSelector matches these labels (kube-prometheus-stack: add `release: <its\n# release>`, or set prometheus.prometheusSpec.serviceMonitorSelectorNilUsesHelmValues=false).\n",
            server = target.policy_server,
            service = target.deployment()
        )),
        manifests::documents(&[monitor])?
    ))
}

#[cfg(test)]
mod tests;
