//! One cluster's export (`--cluster NAME=DIR`): the files `kubectl get … -o yaml` wrote into
//! DIR, sorted by kind into what the pack judges: policies with their `.status`, PolicyServers
//! and their Deployments, the audit scanner's CronJob, the webhook configurations, and the
//! audit reports.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use super::policies::{KINDS, files_in};

/// What one cluster's export holds.
#[derive(Debug, Default)]
pub struct ClusterExport {
    /// Policies and policy groups, with the file each came from.
    pub policies: Vec<(String, Value)>,
    pub policy_servers: Vec<Value>,
    pub deployments: Vec<Value>,
    /// CronJobs (of Kubewarden's namespace, as the export commands write them): the audit
    /// scanner's, whose status only the CronJob controller writes.
    pub cron_jobs: Vec<Value>,
    /// True when CronJobs were listed (read from the API), so none means none.
    pub cron_jobs_listed: bool,
    /// Kubewarden's namespace in this cluster (where its Deployments and the audit
    /// scanner's CronJob are).
    pub kubewarden_namespace: String,
    /// Validating and mutating webhook configurations.
    pub webhooks: Vec<Value>,
    /// Report objects (OpenReports or PolicyReports), and the files that held them.
    pub reports: Vec<Value>,
    pub report_files: Vec<String>,
    /// Kinds read and not used, with their count (listed in the pack).
    pub unused: BTreeMap<String, usize>,
}

/// Parses `NAME=DIR`.
pub fn parse_cluster_arg(text: &str) -> Result<(String, PathBuf), String> {
    let (name, dir) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?}: give NAME=DIR, e.g. prod=exports/prod"))?;
    let name = parse_cluster_name(name)?;
    if dir.is_empty() {
        return Err(format!("{text:?}: the export folder is empty"));
    }
    Ok((name, PathBuf::from(dir)))
}

/// A namespace's name (an RFC 1123 label: it goes into the API's paths).
pub fn parse_namespace(name: &str) -> Result<String, String> {
    let valid = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if !valid {
        return Err(format!(
            "{name:?}: a namespace is 1-63 lowercase letters, digits or '-', starting and ending with a letter or digit"
        ));
    }
    Ok(name.to_owned())
}

/// A cluster's name: 1-63 letters, digits, '-', '_' or '.' (it prefixes the pack's ids).
pub fn parse_cluster_name(name: &str) -> Result<String, String> {
    let valid = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
    if !valid {
        return Err(format!(
            "{name:?}: a cluster name is 1-63 letters, digits, '-', '_' or '.'"
        ));
    }
    Ok(name.to_owned())
}

impl ClusterExport {
    /// Reads every `.yaml`, `.yml` and `.json` file of `dir` (not its subfolders).
    pub fn read(name: &str, dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            bail!("--cluster {name}={}: no such folder", dir.display());
        }
        let mut export = ClusterExport::default();
        for file in files_in(dir)? {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let label = file.display().to_string();
            let documents = pci_policies::manifests::yaml::documents(&label, &text)
                .map_err(anyhow::Error::msg)?;
            for (line, document) in documents {
                for item in list_items(document) {
                    export
                        .add(&label, item)
                        .map_err(|problem| anyhow::anyhow!("{label}:{line}: {problem}"))?;
                }
            }
        }
        export.require_policies(&format!("--cluster {name}={}", dir.display()))?;
        Ok(export)
    }

    /// An export without a policy is an error: nothing to judge (`source` says whose).
    pub fn require_policies(&self, source: &str) -> Result<()> {
        if self.policies.is_empty() {
            bail!(
                "{source}: no policy in the export (kubectl get clusteradmissionpolicies,admissionpolicies,clusteradmissionpolicygroups,admissionpolicygroups -A -o yaml)"
            );
        }
        Ok(())
    }

    /// The namespace of the services Kubewarden's webhook configurations call, if they all
    /// call one: where policy-server, and so Kubewarden, runs. Webhook configurations are
    /// cluster-scoped, written by the controller (not by a tenant, who may write Deployments
    /// and CronJobs in a namespace of their own).
    pub fn webhook_service_namespace(&self) -> Option<String> {
        let mut namespaces = self
            .webhooks
            .iter()
            .filter(|configuration| {
                let metadata = &configuration["metadata"];
                metadata["labels"]["app.kubernetes.io/part-of"] == "kubewarden"
                    || metadata["name"].as_str().is_some_and(|name| {
                        name.starts_with("clusterwide-") || name.starts_with("namespaced-")
                    })
            })
            .flat_map(|configuration| configuration["webhooks"].as_array().into_iter().flatten())
            .filter_map(|webhook| webhook["clientConfig"]["service"]["namespace"].as_str());
        let first = namespaces.next()?;
        namespaces.all(|n| n == first).then(|| first.to_owned())
    }

    /// Sorts one object by kind; an object without a kind cannot be read (kubectl writes
    /// one on every object it exports).
    pub fn add(&mut self, file: &str, item: Value) -> Result<(), String> {
        let Some(kind) = item["kind"].as_str().map(str::to_owned) else {
            return Err("an object without a kind: not what kubectl get -o yaml writes".into());
        };
        match kind.as_str() {
            k if KINDS.contains(&k) => self.policies.push((file.to_owned(), item)),
            "PolicyServer" => self.policy_servers.push(item),
            "Deployment" => self.deployments.push(item),
            "CronJob" => self.cron_jobs.push(item),
            "ValidatingWebhookConfiguration" | "MutatingWebhookConfiguration" => {
                self.webhooks.push(item)
            }
            "Report" | "ClusterReport" | "PolicyReport" | "ClusterPolicyReport" => {
                if !self.report_files.iter().any(|f| f == file) {
                    self.report_files.push(file.to_owned());
                }
                self.reports.push(item)
            }
            _ => *self.unused.entry(kind).or_default() += 1,
        }
        Ok(())
    }
}

/// The items of a `kubectl get -o yaml` List, or the document itself.
pub fn list_items(document: Value) -> Vec<Value> {
    let is_list = document["kind"]
        .as_str()
        .is_some_and(|kind| kind.ends_with("List"));
    match document {
        Value::Object(mut map) if is_list => match map.remove("items") {
            Some(Value::Array(items)) => items.into_iter().filter(|i| !i.is_null()).collect(),
            _ => Vec::new(),
        },
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cluster_argument_is_a_name_and_a_folder() {
        assert_eq!(
            parse_cluster_arg("prod=exports/prod"),
            Ok(("prod".to_owned(), PathBuf::from("exports/prod")))
        );
        for wrong in ["prod", "=dir", "prod=", "a b=dir", "p/q=dir"] {
            assert!(parse_cluster_arg(wrong).is_err(), "{wrong}");
        }
    }

    #[test]
    fn lists_are_flattened_and_kinds_sorted() {
        let mut export = ClusterExport::default();
        let list = serde_json::json!({"kind": "List", "items": [
            {"kind": "ClusterAdmissionPolicy", "metadata": {"name": "p"}},
            {"kind": "ValidatingWebhookConfiguration", "metadata": {"name": "w"}},
            {"kind": "ConfigMap", "metadata": {"name": "c"}},
            null
        ]});
        for item in list_items(list) {
            export.add("f.yaml", item).expect("has a kind");
        }
        assert!(
            export
                .add("f.yaml", serde_json::json!({"metadata": {}}))
                .is_err()
        );
        assert_eq!(export.policies.len(), 1);
        assert_eq!(export.webhooks.len(), 1);
        assert_eq!(export.unused.get("ConfigMap"), Some(&1));
    }
}
