//! A pack over several clusters (`--cluster NAME=DIR`, repeatable): a summary of every
//! cluster × PCI section, then each cluster's own pack, judged from its export.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use anyhow::{Context, Result, bail};
use pci_shared::time::Date;
use serde::{Deserialize, Serialize};

use super::cluster::ClusterExport;
use super::history::{self, ScanEvidence};
use super::operational::{self, Clock, Verdict};
use super::{EvidenceArgs, Pack, html, pack, policies};
use crate::markup::escape;
use crate::profile::Profile;

/// The fleet's pack (`evidence.json` when `--cluster` is given).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fleet {
    pub date: String,
    pub tool: String,
    pub standard: String,
    /// The newest audit result may be this old, in hours.
    pub max_audit_age_hours: u64,
    /// One row per cluster, in the order given.
    pub summary: Vec<ClusterSummary>,
    pub clusters: Vec<Pack>,
}

/// One cluster's row of the summary.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterSummary {
    pub cluster: String,
    /// Section id → verdict.
    pub sections: BTreeMap<String, Verdict>,
    pub expired_exceptions: usize,
    /// How many things the cluster's pack flags.
    pub flagged: usize,
}

/// Where a cluster's objects come from.
enum Source<'a> {
    /// An export's folder (`--cluster NAME=DIR`).
    Export(&'a Path),
    /// The cluster's API (`--in-cluster NAME`), Kubewarden's Deployments in this namespace.
    Api { kubewarden_namespace: &'a str },
}

/// Reads every cluster (exports, then the API's), judges it and writes the fleet's pack;
/// signs and pushes it to `push` when asked.
pub fn build(
    args: &EvidenceArgs,
    today: Date,
    clock: Clock,
    scan: Option<ScanEvidence>,
    push: Option<&super::PushTarget>,
) -> Result<()> {
    let mut sources: Vec<(&str, Source)> = args
        .cluster
        .iter()
        .map(|(name, dir)| (name.as_str(), Source::Export(dir)))
        .collect();
    if let Some(name) = &args.in_cluster {
        let kubewarden_namespace = &args.kubewarden_namespace;
        sources.push((
            name,
            Source::Api {
                kubewarden_namespace,
            },
        ));
    }
    let mut clusters = Vec::new();
    for (name, source) in sources {
        if clusters
            .iter()
            .any(|c: &Pack| c.cluster.as_deref() == Some(name))
        {
            bail!("cluster {name} is given twice: each cluster needs its own name");
        }
        let namespace = &args.kubewarden_namespace;
        clusters.push(cluster_pack(
            (name, namespace),
            &source,
            today,
            clock,
            scan.clone(),
        )?);
    }
    let profile = Profile::get();
    let summary = clusters.iter().map(summary_of).collect();
    let fleet = Fleet {
        date: today.to_string(),
        tool: format!("pci-policies {}", env!("CARGO_PKG_VERSION")),
        standard: profile.standard.clone(),
        max_audit_age_hours: clock.max_audit_age_hours,
        summary,
        clusters,
    };
    let json = args.out.join("evidence.json");
    std::fs::write(&json, serde_json::to_string_pretty(&fleet)? + "\n")
        .with_context(|| format!("cannot write {}", json.display()))?;
    let index = args.out.join("index.html");
    std::fs::write(&index, render(&fleet))
        .with_context(|| format!("cannot write {}", index.display()))?;
    let clusters = super::counted(fleet.clusters.len() as i64, "cluster");
    println!("{}: {clusters}", index.display());
    for pack in &fleet.clusters {
        println!(
            "  {}: {}",
            pack.cluster.as_deref().unwrap_or_default(),
            super::summary_line(pack)
        );
    }
    let packs: Vec<&Pack> = fleet.clusters.iter().collect();
    super::sign_and_push(args, &packs, push)
}

/// What a source gave: the export, where it was read from, notes (what the API does not
/// serve) and, from the API, the day it was read.
type Read = (ClusterExport, String, Vec<String>, Option<String>);

/// Reads a cluster from its source.
fn read_source(name: &str, source: &Source) -> Result<Read> {
    match source {
        Source::Export(dir) => Ok((
            ClusterExport::read(name, dir)?,
            dir.display().to_string(),
            Vec::new(),
            None,
        )),
        #[cfg(feature = "live")]
        Source::Api {
            kubewarden_namespace,
        } => {
            let read = super::api::read(name, kubewarden_namespace)?;
            // When it was read, from the clock: what the pack's date may not contradict.
            let read_at = pci_shared::time::Now::read()
                .timestamp()
                .map(|pci_shared::time::Timestamp(seconds)| seconds);
            let notes = if read.not_served.is_empty() {
                Vec::new()
            } else {
                vec![format!(
                    "# Not served by the API (their CRDs, or these versions, are not installed): {}",
                    read.not_served.join(", ")
                )]
            };
            let when = read_at.map_or_else(
                || "at a time the clock could not tell".to_owned(),
                |seconds| format!("at {}", operational::rfc3339(seconds)),
            );
            Ok((
                read.export,
                format!("the Kubernetes API at {}, read {when}", read.server),
                notes,
                read_at.map(history::date_of),
            ))
        }
        #[cfg(not(feature = "live"))]
        Source::Api { .. } => {
            bail!("--in-cluster {name}: this build has no Kubernetes client (the `live` feature)")
        }
    }
}

/// One cluster's pack (its name and Kubewarden's namespace there), every policy judged against
/// the export.
fn cluster_pack(
    (name, kubewarden_namespace): (&str, &str),
    source: &Source,
    today: Date,
    clock: Clock,
    scan: Option<ScanEvidence>,
) -> Result<Pack> {
    let (mut export, read_from, notes, read_on) = read_source(name, source)?;
    // An export's webhook configurations say where Kubewarden runs (Rancher:
    // cattle-kubewarden-system); the API was read in the namespace given.
    let kubewarden_namespace = match source {
        Source::Export(_) => export
            .webhook_service_namespace()
            .unwrap_or_else(|| kubewarden_namespace.to_owned()),
        _ => kubewarden_namespace.to_owned(),
    };
    export.kubewarden_namespace = kubewarden_namespace.clone();
    let mut deployed = policies::collect(&export.policies)?;
    for policy in &mut deployed {
        let document = export
            .policies
            .iter()
            .map(|(_, document)| document)
            .find(|d| {
                d["kind"] == policy.kind.as_str()
                    && d["metadata"]["name"] == policy.name.as_str()
                    && d["metadata"]["namespace"].as_str() == policy.namespace.as_deref()
            })
            .with_context(|| format!("{name}: {} lost its document", policy.name))?;
        policy.operation = Some(operational::judge(policy, document, &export, clock));
    }
    let reports = if export.reports.is_empty() {
        None
    } else {
        Some(history::history_of(
            export.report_files.clone(),
            &export.reports,
            clock.now,
        ))
    };
    let mut pack = pack(today, deployed, reports, scan);
    pack.cluster = Some(name.to_owned());
    pack.manifests = vec![read_from];
    pack.reproduce.extend(notes);
    if let Some(day) = read_on.filter(|day| *day != pack.date) {
        pack.flagged.insert(
            0,
            format!(
                "the pack is dated {} but the cluster was read on {day}: it is evidence of {day}",
                pack.date
            ),
        );
    }
    if !export.unused.is_empty() {
        let unused: Vec<String> = export
            .unused
            .iter()
            .map(|(kind, count)| format!("{count} {kind}"))
            .collect();
        pack.reproduce
            .push(format!("# Read and not used: {}", unused.join(", ")));
    }
    pack.reproduce
        .extend(export_commands(name, &kubewarden_namespace));
    Ok(pack)
}

/// The commands that write a cluster's export, as this pack reads it.
pub fn export_commands(name: &str, kubewarden_namespace: &str) -> Vec<String> {
    let dir = format!("exports/{name}");
    vec![
        format!("# The export of cluster {name} (kubectl's context pointing at it)"),
        format!("mkdir -p {dir}"),
        format!(
            "kubectl get clusteradmissionpolicies,admissionpolicies,clusteradmissionpolicygroups,admissionpolicygroups -A -o yaml > {dir}/policies.yaml"
        ),
        format!("kubectl get policyservers -o yaml > {dir}/policyservers.yaml"),
        format!(
            "kubectl get deployments,cronjobs -n {kubewarden_namespace} -o yaml > {dir}/deployments.yaml"
        ),
        format!(
            "kubectl get validatingwebhookconfigurations,mutatingwebhookconfigurations -o yaml > {dir}/webhooks.yaml"
        ),
        format!(
            "kubectl get reports.openreports.io,clusterreports.openreports.io -A -o yaml > {dir}/reports.yaml"
        ),
        "# Kubewarden before 1.33, or reportCRDsKind: policyreport, writes PolicyReports instead:"
            .to_owned(),
        format!(
            "#   kubectl get policyreports.wgpolicyk8s.io,clusterpolicyreports.wgpolicyk8s.io -A -o yaml > {dir}/reports.yaml"
        ),
    ]
}

fn summary_of(pack: &Pack) -> ClusterSummary {
    ClusterSummary {
        cluster: pack.cluster.clone().unwrap_or_default(),
        sections: pack
            .sections
            .iter()
            .map(|s| (s.id.clone(), s.verdict))
            .collect(),
        expired_exceptions: pack
            .exceptions
            .iter()
            .filter(|e| e.status == "expired")
            .count(),
        flagged: pack.flagged.len(),
    }
}

/// The fleet's page: the summary table, then each cluster's pack with its ids prefixed by
/// the cluster's name.
fn render(fleet: &Fleet) -> String {
    let mut page = String::new();
    html::document_head(&mut page, &fleet.date);
    let _ = write!(
        page,
        "<header><h1>PCI DSS container-orchestration controls: evidence pack of {}</h1>\n<p>Date {} · {} · mapped to {} · audit results older than {} hours count as stopped</p></header>\n",
        super::counted(fleet.clusters.len() as i64, "cluster"),
        escape(&fleet.date),
        escape(&fleet.tool),
        escape(&fleet.standard),
        fleet.max_audit_age_hours
    );
    summary_table(&mut page, fleet);
    for pack in &fleet.clusters {
        let name = pack.cluster.as_deref().unwrap_or_default();
        let mut body = String::new();
        html::body(&mut body, pack);
        // Cluster names have no '/': no id of one cluster can be another's.
        let prefix = format!("cluster-{}/", escape(name));
        let body = body
            .replace("id=\"", &format!("id=\"{prefix}"))
            .replace("href=\"#", &format!("href=\"#{prefix}"));
        let _ = write!(
            page,
            "<section class=\"cluster\" id=\"cluster-{}\">\n{body}</section>\n",
            escape(name)
        );
    }
    page.push_str("</body>\n</html>\n");
    page
}

fn summary_table(page: &mut String, fleet: &Fleet) {
    let sections: Vec<&String> = fleet
        .summary
        .first()
        .map(|row| row.sections.keys().collect())
        .unwrap_or_default();
    page.push_str(
        "<section id=\"summary\">\n<h2>Summary</h2>\n<table class=\"summary\"><tr><th>Cluster</th>",
    );
    for section in &sections {
        let _ = write!(page, "<th>{}</th>", escape(section));
    }
    page.push_str("<th>Expired exceptions</th><th>Flagged</th></tr>\n");
    for row in &fleet.summary {
        let _ = write!(
            page,
            "<tr data-cluster=\"{0}\"><td><a href=\"#cluster-{0}\">{0}</a></td>",
            escape(&row.cluster)
        );
        for (section, verdict) in &row.sections {
            let class = if *verdict == Verdict::Operational {
                "ok"
            } else {
                "flag"
            };
            let _ = write!(
                page,
                "<td class=\"summary-verdict {class}\" data-section=\"{}\">{}</td>",
                escape(section),
                escape(verdict.text())
            );
        }
        let _ = writeln!(
            page,
            "<td>{}</td><td><a href=\"#cluster-{}/flagged\">{}</a></td></tr>",
            row.expired_exceptions,
            escape(&row.cluster),
            row.flagged
        );
    }
    page.push_str("</table>\n</section>\n");
}
