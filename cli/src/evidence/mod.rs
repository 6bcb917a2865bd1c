//! `pci-policies evidence`: the assessor's pack. Which control, enforced by what, where, with
//! which exceptions, and what happened — from the deployed policy manifests, report exports
//! and scan results — written as one self-contained `index.html` and the same data as
//! `evidence.json`.

mod history;
mod html;
mod policies;
mod register;

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use pci_shared::time::{Date, Now, Timestamp};
use serde::{Deserialize, Serialize};

use crate::profile::{Profile, Requirement};
use crate::scan::outcome::ScanResults;
use history::{ReportHistory, ScanEvidence};
use policies::PolicyEvidence;
use register::ExceptionEntry;

/// What to build the pack from.
#[derive(Args)]
pub struct EvidenceArgs {
    /// Deployed policy manifests: files, or folders read like `kubectl apply -f` (their own
    /// files, not subfolders): `kubectl get clusteradmissionpolicies -o yaml` output, or the
    /// bundle's manifests/. Repeatable.
    #[arg(long, required = true)]
    manifests: Vec<PathBuf>,
    /// Report exports (`kubectl get reports.openreports.io -A -o yaml`, or PolicyReports),
    /// files or folders of them, merged into one history. Repeatable.
    #[arg(long)]
    reports: Vec<PathBuf>,
    /// Results of `pci-policies scan -o json`. Repeatable.
    #[arg(long)]
    scan: Vec<PathBuf>,
    /// Where to write index.html and evidence.json.
    #[arg(long, default_value = "evidence")]
    out: PathBuf,
    /// The pack's date (YYYY-MM-DD; default today, UTC): exceptions expire against it.
    #[arg(long)]
    date: Option<String>,
}

/// One guidance section and the policies enforcing it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SectionEvidence {
    pub id: String,
    pub title: String,
    pub requirements: Vec<Requirement>,
    /// Names of the deployed policies enforcing it.
    pub policies: Vec<String>,
    /// Deployed policies for it that refuse their own settings: not started, enforcing nothing.
    #[serde(default)]
    pub not_started: Vec<String>,
}

/// The whole pack (`evidence.json`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pack {
    pub date: String,
    pub tool: String,
    pub standard: String,
    pub manifests: Vec<String>,
    pub sections: Vec<SectionEvidence>,
    pub policies: Vec<PolicyEvidence>,
    pub exceptions: Vec<ExceptionEntry>,
    pub reports: Option<ReportHistory>,
    pub scan: Option<ScanEvidence>,
    /// Commands an assessor runs to check the pack against the cluster.
    pub reproduce: Vec<String>,
}

/// Builds the pack and writes it; prints where.
pub fn evidence(args: &EvidenceArgs) -> Result<()> {
    let today = match &args.date {
        Some(text) => Date::parse(text).map_err(|e| anyhow::anyhow!("--date: {e}"))?,
        None => {
            let Now::At(Timestamp(seconds)) = Now::read() else {
                anyhow::bail!(
                    "the clock cannot be read, so expired exceptions cannot be told apart: give the pack's date with --date YYYY-MM-DD"
                );
            };
            Date::parse(&history::date_of(seconds)).map_err(|e| anyhow::anyhow!("today: {e}"))?
        }
    };
    let documents = policies::read_manifests(&args.manifests)?;
    let deployed = policies::collect(&documents)?;
    let reports = if args.reports.is_empty() {
        None
    } else {
        Some(history::read_reports(&args.reports)?)
    };
    let scan = history::read_scans(&args.scan)?;
    let mut pack = pack(today, deployed, reports, scan);
    pack.manifests = args
        .manifests
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    pack.reproduce = reproduce(&pack, args);
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let json = args.out.join("evidence.json");
    std::fs::write(&json, serde_json::to_string_pretty(&pack)? + "\n")
        .with_context(|| format!("cannot write {}", json.display()))?;
    let index = args.out.join("index.html");
    std::fs::write(&index, html::render(&pack))
        .with_context(|| format!("cannot write {}", index.display()))?;
    let deviations = pack
        .policies
        .iter()
        .flat_map(|p| &p.settings)
        .filter(|s| s.is_deviation())
        .count();
    let flagged = pack.exceptions.iter().filter(|e| e.flagged()).count();
    let not_started: Vec<&str> = pack
        .policies
        .iter()
        .filter(|p| !p.refused_settings.is_empty())
        .map(|p| p.name.as_str())
        .collect();
    let not_started = if not_started.is_empty() {
        String::new()
    } else {
        format!(
            "; NOT STARTED, their settings refused (see the exceptions register): {}",
            not_started.join(", ")
        )
    };
    println!(
        "{}: {} policies, {} settings deviating from the recommendation, {} exceptions ({} flagged){not_started}",
        index.display(),
        pack.policies.len(),
        deviations,
        pack.exceptions.len(),
        flagged
    );
    Ok(())
}

/// The pack of what was read.
fn pack(
    today: Date,
    mut policies: Vec<PolicyEvidence>,
    reports: Option<ReportHistory>,
    scan: Option<ScanEvidence>,
) -> Pack {
    let exceptions = register::register(&policies, today);
    mark_refused_settings(&mut policies);
    let profile = Profile::get();
    let sections = profile
        .sections
        .iter()
        .map(|section| {
            let (started, not_started): (Vec<&PolicyEvidence>, Vec<&PolicyEvidence>) = policies
                .iter()
                .filter(|p| p.sections.contains(&section.id))
                .partition(|p| p.refused_settings.is_empty());
            let names = |list: Vec<&PolicyEvidence>| list.iter().map(|p| p.name.clone()).collect();
            SectionEvidence {
                id: section.id.clone(),
                title: section.title.clone(),
                requirements: section.requirements.clone(),
                policies: names(started),
                not_started: names(not_started),
            }
        })
        .collect();
    Pack {
        date: today.to_string(),
        tool: format!("pci-policies {}", env!("CARGO_PKG_VERSION")),
        standard: profile.standard.clone(),
        manifests: Vec::new(),
        sections,
        policies,
        exceptions,
        reports,
        scan,
        reproduce: Vec::new(),
    }
}

/// Marks each policy whose exceptions it refuses (read and checked as the policy reads them;
/// unknown control ids only the module knows): policy-server does not start it.
fn mark_refused_settings(policies: &mut [PolicyEvidence]) {
    for policy in policies {
        policy.refused_settings = register::refused_exceptions(policy);
    }
}

/// The commands that re-create each part of the pack from the cluster and the registry.
fn reproduce(pack: &Pack, args: &EvidenceArgs) -> Vec<String> {
    let mut commands = vec![
        "# The deployed policies, as this pack read them".to_owned(),
        "kubectl get clusteradmissionpolicies,admissionpolicies,clusteradmissionpolicygroups,admissionpolicygroups -A -o yaml > policies.yaml".to_owned(),
        "kubectl get clusteradmissionpolicies,clusteradmissionpolicygroups -o custom-columns=NAME:.metadata.name,MODE:.spec.mode,STATUS:.status.policyStatus".to_owned(),
        "# The webhooks policy-server registered (failurePolicy, rules, selectors)".to_owned(),
        "kubectl get validatingwebhookconfigurations,mutatingwebhookconfigurations -o yaml > webhooks.yaml".to_owned(),
        "# Each module's signature (verification-config.yml is published with every release)".to_owned(),
    ];
    let mut modules: Vec<&str> = pack
        .policies
        .iter()
        .flat_map(|p| &p.modules)
        .map(|m| m.reference.as_str())
        .collect();
    modules.sort_unstable();
    modules.dedup();
    for module in modules {
        commands.push(format!(
            "kwctl verify --verification-config-path verification-config.yml {module}"
        ));
    }
    commands.push(
        "# The audit scanner's current results (export on a schedule: 12 months of history)".into(),
    );
    commands.push("kubectl get reports.openreports.io,clusterreports.openreports.io -A -o yaml > reports-$(date +%F).yaml".into());
    commands.push("# The application manifests, judged with exactly the deployed settings".into());
    commands.push("pci-policies scan <manifests folder> --policies policies.yaml -o json=scan.json -o sarif=scan.sarif".into());
    let mut again = String::from("pci-policies evidence");
    for path in &args.manifests {
        again.push_str(&format!(" --manifests {}", path.display()));
    }
    for path in &args.reports {
        again.push_str(&format!(" --reports {}", path.display()));
    }
    for path in &args.scan {
        again.push_str(&format!(" --scan {}", path.display()));
    }
    again.push_str(&format!(
        " --date {} --out {}",
        pack.date,
        args.out.display()
    ));
    commands.push("# This pack".into());
    commands.push(again);
    commands
}

/// `pci-policies scan -o html`: the scan part of the evidence page, on its own.
pub fn scan_page(results: &ScanResults) -> String {
    let mut scan = ScanEvidence::default();
    scan.add(results);
    scan.files.push("this scan".into());
    // The page lists no exceptions, so an unreadable clock only leaves it dated 1970-01-01.
    let seconds = Now::read()
        .timestamp()
        .map_or(0, |Timestamp(seconds)| seconds);
    let today = Date::parse(&history::date_of(seconds)).unwrap_or(Date {
        year: 1970,
        month: 1,
        day: 1,
    });
    let pack = pack(today, Vec::new(), None, Some(scan));
    html::render(&pack)
}
