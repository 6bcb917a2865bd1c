//! `evidence --in-cluster NAME`: a cluster's export read from its Kubernetes API rather than
//! from files. In a pod (the CronJob of `deploy/components/evidence-schedule`) the client is the
//! pod's service account; elsewhere it is the kubeconfig's current context (`KUBECONFIG` or
//! `~/.kube/config`). It lists exactly [`RESOURCES`], what that component's RBAC grants and
//! what the export commands write. A report kind the API does not serve (its CRD is not
//! installed) is noted; any other failure (forbidden, unreachable, unreadable) is an error.

use anyhow::{Context, Result, anyhow};
use kube::api::{Api, ApiResource, DynamicObject, ListParams};
use kube::core::GroupVersionKind;
use serde_json::Value;

use super::cluster::ClusterExport;

/// Where a kind is listed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// A cluster-scoped kind.
    Cluster,
    /// A namespaced kind, in every namespace.
    AllNamespaces,
    /// A namespaced kind, in Kubewarden's namespace only (`--kubewarden-namespace`).
    KubewardenNamespace,
}

/// A kind the pack reads from the API.
#[derive(Clone, Copy, Debug)]
pub struct Resource {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
    pub scope: Scope,
    /// A report kind: a cluster may serve one report API and not the other.
    pub optional: bool,
}

const fn resource(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    scope: Scope,
    optional: bool,
) -> Resource {
    Resource {
        group,
        version,
        kind,
        plural,
        scope,
        optional,
    }
}

/// Every kind `--in-cluster` lists: the deployed policies and groups with their status, the
/// PolicyServers and their Deployments, the webhook configurations, and the audit reports
/// (OpenReports, and the PolicyReports of older Kubewarden releases).
pub const RESOURCES: [Resource; 13] = [
    resource(
        "policies.kubewarden.io",
        "v1",
        "ClusterAdmissionPolicy",
        "clusteradmissionpolicies",
        Scope::Cluster,
        false,
    ),
    resource(
        "policies.kubewarden.io",
        "v1",
        "AdmissionPolicy",
        "admissionpolicies",
        Scope::AllNamespaces,
        false,
    ),
    resource(
        "policies.kubewarden.io",
        "v1",
        "ClusterAdmissionPolicyGroup",
        "clusteradmissionpolicygroups",
        Scope::Cluster,
        false,
    ),
    resource(
        "policies.kubewarden.io",
        "v1",
        "AdmissionPolicyGroup",
        "admissionpolicygroups",
        Scope::AllNamespaces,
        false,
    ),
    resource(
        "policies.kubewarden.io",
        "v1",
        "PolicyServer",
        "policyservers",
        Scope::Cluster,
        false,
    ),
    resource(
        "apps",
        "v1",
        "Deployment",
        "deployments",
        Scope::KubewardenNamespace,
        false,
    ),
    resource(
        "batch",
        "v1",
        "CronJob",
        "cronjobs",
        Scope::KubewardenNamespace,
        false,
    ),
    resource(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingWebhookConfiguration",
        "validatingwebhookconfigurations",
        Scope::Cluster,
        false,
    ),
    resource(
        "admissionregistration.k8s.io",
        "v1",
        "MutatingWebhookConfiguration",
        "mutatingwebhookconfigurations",
        Scope::Cluster,
        false,
    ),
    resource(
        "openreports.io",
        "v1alpha1",
        "Report",
        "reports",
        Scope::AllNamespaces,
        true,
    ),
    resource(
        "openreports.io",
        "v1alpha1",
        "ClusterReport",
        "clusterreports",
        Scope::Cluster,
        true,
    ),
    resource(
        "wgpolicyk8s.io",
        "v1alpha2",
        "PolicyReport",
        "policyreports",
        Scope::AllNamespaces,
        true,
    ),
    resource(
        "wgpolicyk8s.io",
        "v1alpha2",
        "ClusterPolicyReport",
        "clusterpolicyreports",
        Scope::Cluster,
        true,
    ),
];

/// Objects asked per page: the API server answers a list in pages of at most this many.
const PAGE: u32 = 250;

/// What was read, and from where.
pub struct ApiExport {
    pub export: ClusterExport,
    /// The API server's URL.
    pub server: String,
    /// Report kinds the API does not serve.
    pub not_served: Vec<String>,
}

impl Resource {
    /// The path the API serves the kind's list at, in `namespace` for a namespaced list.
    pub fn path(&self, namespace: Option<&str>) -> String {
        let prefix = if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        };
        match namespace {
            Some(namespace) => format!("{prefix}/namespaces/{namespace}/{}", self.plural),
            None => format!("{prefix}/{}", self.plural),
        }
    }

    fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_owned()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

/// Reads cluster `name` through its API, Kubewarden's Deployments in `kubewarden_namespace`.
pub fn read(name: &str, kubewarden_namespace: &str) -> Result<ApiExport> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime for the Kubernetes API")?;
    runtime.block_on(read_all(name, kubewarden_namespace))
}

async fn read_all(name: &str, kubewarden_namespace: &str) -> Result<ApiExport> {
    let config = kube::Config::infer().await.map_err(|error| {
        anyhow!(
            "--in-cluster {name}: no Kubernetes API to read ({error}): run it in a pod with its service account, or with a kubeconfig (KUBECONFIG or ~/.kube/config)"
        )
    })?;
    let mut config = config;
    // A hung API server ends the run with an error, not at the job's deadline.
    config.connect_timeout = Some(std::time::Duration::from_secs(30));
    config.read_timeout = Some(std::time::Duration::from_secs(120));
    let server = config
        .cluster_url
        .to_string()
        .trim_end_matches('/')
        .to_owned();
    let client = kube::Client::try_from(config)
        .with_context(|| format!("--in-cluster {name}: cannot connect to {server}"))?;
    let mut export = ClusterExport {
        cron_jobs_listed: true,
        ..ClusterExport::default()
    };
    let mut not_served = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for resource in &RESOURCES {
        let namespace =
            (resource.scope == Scope::KubewardenNamespace).then_some(kubewarden_namespace);
        let label = format!("{server} {}", resource.path(namespace));
        match list(&client, resource, namespace).await {
            Ok(items) => {
                for item in items {
                    let id = format!(
                        "{} {}/{}",
                        resource.kind,
                        item["metadata"]["namespace"].as_str().unwrap_or_default(),
                        item["metadata"]["name"].as_str().unwrap_or_default()
                    );
                    if !seen.insert(id.clone()) {
                        anyhow::bail!(
                            "--in-cluster {name}: the API listed {id} twice ({label}): a list that repeats an object cannot be judged"
                        );
                    }
                    export
                        .add(&label, item)
                        .map_err(|problem| anyhow!("{label}: {problem}"))?;
                }
            }
            // A 404: the CRD, or this version of it, is not installed.
            Err(Listing::Api(kube::Error::Api(status)))
                if status.code == 404 && resource.optional =>
            {
                not_served.push(format!("{} ({})", resource.kind, resource.api_version()));
            }
            Err(Listing::Loop(token)) => {
                anyhow::bail!(
                    "--in-cluster {name}: the API answered {label} with the continue token {token:?} twice: the list never ends"
                );
            }
            Err(Listing::Api(error)) => {
                let answer = match error {
                    kube::Error::Api(status) => format!(
                        "the API answered {} {}: {}",
                        status.code, status.reason, status.message
                    ),
                    other => format!("{:#}", anyhow!(other)),
                };
                return Err(anyhow!(
                    "--in-cluster {name}: cannot list {} ({label}): {answer}",
                    resource.plural
                ));
            }
        }
    }
    export.require_policies(&format!("--in-cluster {name} ({server})"))?;
    Ok(ApiExport {
        export,
        server,
        not_served,
    })
}

/// Why a list could not be read.
enum Listing {
    /// The API's answer (an error status, or no answer).
    Api(kube::Error),
    /// A continue token given twice: the pages would never end.
    Loop(String),
}

/// Every object of one kind, page by page, each with the `kind` and `apiVersion` a list's
/// items may leave out.
async fn list(
    client: &kube::Client,
    resource: &Resource,
    namespace: Option<&str>,
) -> Result<Vec<Value>, Listing> {
    let gvk = GroupVersionKind::gvk(resource.group, resource.version, resource.kind);
    let api_resource = ApiResource::from_gvk_with_plural(&gvk, resource.plural);
    let api: Api<DynamicObject> = match namespace {
        Some(namespace) => Api::namespaced_with(client.clone(), namespace, &api_resource),
        None => Api::all_with(client.clone(), &api_resource),
    };
    let mut items = Vec::new();
    let mut tokens = std::collections::BTreeSet::new();
    let mut params = ListParams::default().limit(PAGE);
    loop {
        let page = api.list(&params).await.map_err(Listing::Api)?;
        for object in page.items {
            let mut value = serde_json::to_value(object)
                .map_err(|error| Listing::Api(kube::Error::SerdeError(error)))?;
            value["kind"] = Value::from(resource.kind);
            value["apiVersion"] = Value::from(resource.api_version());
            items.push(value);
        }
        match page.metadata.continue_.filter(|token| !token.is_empty()) {
            Some(token) if !tokens.insert(token.clone()) => return Err(Listing::Loop(token)),
            Some(token) => params = params.continue_token(&token),
            None => return Ok(items),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_the_apis_list_paths() {
        assert_eq!(
            RESOURCES[0].path(None),
            "/apis/policies.kubewarden.io/v1/clusteradmissionpolicies"
        );
        assert_eq!(
            RESOURCES[5].path(Some("kubewarden")),
            "/apis/apps/v1/namespaces/kubewarden/deployments"
        );
    }

    /// The evidence-schedule component's ClusterRole and Role grant exactly what is listed
    /// here: read-only, nothing more, nothing missing.
    #[test]
    fn the_schedules_rbac_grants_exactly_these_lists() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../deploy/components/evidence-schedule/evidence-schedule.yaml");
        let text = std::fs::read_to_string(&path).expect("the component is generated");
        let mut granted = Vec::new();
        for document in yaml_serde::Deserializer::from_str(&text) {
            let object: Value = serde::Deserialize::deserialize(document).expect("YAML");
            let kind = object["kind"].as_str().unwrap_or_default();
            if kind != "ClusterRole" && kind != "Role" {
                continue;
            }
            for rule in object["rules"].as_array().expect("rules") {
                let verbs: Vec<&str> = rule["verbs"]
                    .as_array()
                    .expect("verbs")
                    .iter()
                    .filter_map(Value::as_str)
                    .collect();
                assert_eq!(verbs, ["get", "list"], "{kind}: read-only");
                for group in rule["apiGroups"].as_array().expect("apiGroups") {
                    for plural in rule["resources"].as_array().expect("resources") {
                        granted.push(format!(
                            "{kind} {}/{}",
                            group.as_str().unwrap_or_default(),
                            plural.as_str().unwrap_or_default()
                        ));
                    }
                }
            }
        }
        granted.sort();
        let mut wanted: Vec<String> = RESOURCES
            .iter()
            .map(|r| {
                let role = if r.scope == Scope::KubewardenNamespace {
                    "Role"
                } else {
                    "ClusterRole"
                };
                format!("{role} {}/{}", r.group, r.plural)
            })
            .collect();
        wanted.sort();
        assert_eq!(granted, wanted);
    }
}
