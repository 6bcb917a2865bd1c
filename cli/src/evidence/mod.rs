//! `pci-policies evidence`: the assessor's pack. Which control, enforced by what, where, with
//! which exceptions, and what happened — from the deployed policy manifests, report exports
//! and scan results — written as one self-contained `index.html` and the same data as
//! `evidence.json`.

#[cfg(feature = "live")]
mod api;
#[cfg(feature = "live")]
mod artifact;
mod clock;
mod cluster;
mod diff;
mod fleet;
mod history;
mod html;
mod operation;
mod operational;
mod policies;
mod register;
mod scanner;
#[cfg(feature = "live")]
mod signed;
mod value_html;

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use pci_shared::time::{Date, Now, Timestamp};
use serde::{Deserialize, Serialize};

use crate::profile::{Profile, Requirement};
use crate::scan::outcome::ScanResults;
use history::{ReportHistory, ScanEvidence};
use operation::Verdict;
use policies::PolicyEvidence;
use register::ExceptionEntry;

/// `pci-policies evidence`: build a pack, or check one.
#[derive(Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct EvidenceCommand {
    #[command(subcommand)]
    action: Option<EvidenceAction>,
    #[command(flatten)]
    build: EvidenceArgs,
}

#[derive(Subcommand)]
enum EvidenceAction {
    /// What changed between two packs (folders or evidence.json), cluster by cluster: section
    /// verdicts, policies added, removed or no longer operational, settings drift, exceptions
    /// new, removed or expired.
    Diff(diff::DiffArgs),
    /// Check a signed pack: the signature with the public key (--key), or a keyless one with
    /// the Sigstore trust root and the signer's identity (--sigstore-trust-config), and that
    /// index.html and evidence.json are byte for byte what was signed (an edited pack is
    /// refused).
    #[cfg(feature = "live")]
    Verify(signed::VerifyArgs),
    /// Fetch a pack pushed with --push (REGISTRY/REPOSITORY:YYYY-MM-DD) and verify it: a pack
    /// that does not verify with the key is refused and not kept.
    #[cfg(feature = "live")]
    Pull(artifact::PullArgs),
}

/// Runs `pci-policies evidence` or its subcommand.
pub fn run(command: &EvidenceCommand) -> Result<()> {
    match &command.action {
        #[cfg(feature = "live")]
        Some(EvidenceAction::Verify(args)) => signed::verify(args),
        #[cfg(feature = "live")]
        Some(EvidenceAction::Pull(args)) => artifact::pull(args),
        Some(EvidenceAction::Diff(args)) => diff::diff(args),
        None => evidence(&command.build),
    }
}

/// What to build the pack from.
#[derive(Args)]
#[command(group(clap::ArgGroup::new("source").required(true).multiple(true).args(["manifests", "cluster", "in_cluster"])))]
pub struct EvidenceArgs {
    /// Deployed policy manifests: files, or folders read like `kubectl apply -f` (their own
    /// files, not subfolders): `kubectl get clusteradmissionpolicies -o yaml` output, or the
    /// bundle's manifests/. Repeatable. What they show is configured, not operational: use
    /// --cluster for that.
    #[arg(long, conflicts_with_all = ["cluster", "in_cluster"])]
    manifests: Vec<PathBuf>,
    /// A cluster's export, NAME=DIR: the files of `kubectl get … -o yaml` (policies with
    /// their status, PolicyServers, the Deployments and CronJobs of Kubewarden's namespace,
    /// webhook configurations, reports; docs/scan-and-evidence.md lists the commands). Repeatable: one
    /// pack over the fleet, each section judged operational, monitor only, configured but not
    /// active, or missing, per cluster.
    #[arg(long, value_name = "NAME=DIR", value_parser = cluster::parse_cluster_arg)]
    cluster: Vec<(String, PathBuf)>,
    /// Read cluster NAME's objects from its Kubernetes API instead of an export: in a pod with
    /// the pod's service account (deploy/components/evidence-schedule), elsewhere with the
    /// kubeconfig's current context. The same objects an export holds, judged the same way;
    /// combines with --cluster.
    #[arg(long, value_name = "NAME", value_parser = cluster::parse_cluster_name)]
    in_cluster: Option<String>,
    /// Kubewarden's namespace: where --in-cluster reads the PolicyServers' Deployments and the
    /// audit scanner's CronJob, and, for an export whose policy-server Deployments do not
    /// say it, where the audit scanner is looked for and what the export commands name.
    #[arg(long, default_value = "kubewarden", value_name = "NAMESPACE", value_parser = cluster::parse_namespace)]
    kubewarden_namespace: String,
    /// How old, in hours, the newest audit result of a policy, and the audit scanner
    /// CronJob's last completed run, may be before the scanner counts as stopped (it runs
    /// hourly by default). Signed into the pack's statement.
    #[arg(long, default_value_t = 48, value_name = "HOURS")]
    max_audit_age_hours: u64,
    /// Report exports (`kubectl get reports.openreports.io -A -o yaml`, or PolicyReports),
    /// files or folders of them, merged into one history. Repeatable. With --cluster, the
    /// reports are the export's own.
    #[arg(long, conflicts_with_all = ["cluster", "in_cluster"])]
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
    /// Sign the pack with this cosign private key (password in COSIGN_PASSWORD): an in-toto
    /// statement of index.html and evidence.json as a DSSE envelope, evidence.intoto.json,
    /// checked by `pci-policies evidence verify` or `cosign verify-blob-attestation`.
    #[arg(long, value_name = "KEY")]
    sign_key: Option<PathBuf>,
    /// Also write evidence.statement.json: the same statement, unsigned, for cosign 2.6 or
    /// later to sign keyless with the signer's OIDC identity (`cosign attest-blob --statement
    /// OUT/evidence.statement.json --new-bundle-format --bundle OUT/evidence.sigstore.json`);
    /// `evidence verify --sigstore-trust-config` checks the bundle.
    #[arg(long)]
    statement: bool,
    /// Push the signed pack to this OCI repository (REGISTRY/REPOSITORY), tagged with the
    /// pack's date (YYYY-MM-DD) unless a tag is given; `evidence pull` fetches it back.
    #[arg(long, value_name = "REPOSITORY", requires = "sign_key")]
    push: Option<String>,
    #[command(flatten)]
    registry: RegistryArgs,
}

/// How `--push` reaches the registry.
#[derive(Args, Clone, Debug)]
pub struct RegistryArgs {
    /// Plain HTTP for the registry (local registries only).
    #[arg(long)]
    insecure: bool,
    /// Docker config file with the registry's credentials (default `$DOCKER_CONFIG` or
    /// `~/.docker`).
    #[arg(long = "docker-config-json-path", value_name = "FILE")]
    docker_config: Option<PathBuf>,
    /// Certificates of a private certificate authority the registry's certificate chains to,
    /// trusted besides the public roots: a PEM file, or a folder of `.crt`/`.pem` files.
    #[arg(long = "registry-ca", value_name = "FILE|DIR")]
    registry_ca: Option<PathBuf>,
}

/// Where `--push` goes, checked before the pack is built: the reference and the registry.
#[cfg(feature = "live")]
type PushTarget = (String, pci_host::oci::Registry);
#[cfg(not(feature = "live"))]
type PushTarget = (String, ());

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
    /// Operational, monitor only, configured but not active, or missing.
    pub verdict: Verdict,
    /// Why it is not operational, per policy.
    pub reasons: Vec<String>,
}

/// The whole pack (`evidence.json`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pack {
    /// The cluster (`--cluster NAME=DIR`); none for a pack of manifests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    pub date: String,
    pub tool: String,
    pub standard: String,
    pub manifests: Vec<String>,
    pub sections: Vec<SectionEvidence>,
    pub policies: Vec<PolicyEvidence>,
    pub exceptions: Vec<ExceptionEntry>,
    pub reports: Option<ReportHistory>,
    pub scan: Option<ScanEvidence>,
    /// Everything not operational, and what weakens what is: the top of the page.
    pub flagged: Vec<String>,
    /// Commands an assessor runs to check the pack against the cluster.
    pub reproduce: Vec<String>,
}

/// `count` and `noun`, plural unless one: "1 day", "2 days".
pub(crate) fn counted(count: i64, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// An age in hours, in words: hours under two days, else days ("30 hours", "11 days").
pub(crate) fn age_in_words(hours: i64) -> String {
    if hours < 48 {
        counted(hours, "hour")
    } else {
        counted(hours / 24, "day")
    }
}

/// Builds the pack (or the fleet's) and writes it; prints where.
pub fn evidence(args: &EvidenceArgs) -> Result<()> {
    let (today, now) = pack_time(args.date.as_deref())?;
    // A key that cannot sign is found before the pack is written, and a signature of an
    // earlier pack in the same folder never outlives it.
    #[cfg(feature = "live")]
    if let Some(key) = &args.sign_key {
        signed::read_key(key)?;
    }
    #[cfg(feature = "live")]
    signed::remove_stale(&args.out)?;
    let push: Option<PushTarget> = match &args.push {
        #[cfg(feature = "live")]
        Some(repository) => Some((
            artifact::push_reference(repository, &today.to_string())?,
            artifact::registry_for(&args.registry)?,
        )),
        #[cfg(not(feature = "live"))]
        Some(repository) => {
            anyhow::bail!(
                "--push {repository}: this build has no registry client (the `live` feature)"
            )
        }
        None => None,
    };
    let scan = history::read_scans(&args.scan)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    if !args.cluster.is_empty() || args.in_cluster.is_some() {
        let clock = operational::Clock {
            now,
            max_audit_age_hours: args.max_audit_age_hours,
        };
        return fleet::build(args, today, clock, scan, push.as_ref());
    }
    let documents = policies::read_manifests(&args.manifests)?;
    let deployed = policies::collect(&documents)?;
    let reports = if args.reports.is_empty() {
        None
    } else {
        Some(history::read_reports(&args.reports, now)?)
    };
    let mut pack = pack(today, deployed, reports, scan);
    pack.manifests = args
        .manifests
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    pack.reproduce = reproduce(&pack, args);
    let json = args.out.join("evidence.json");
    std::fs::write(&json, serde_json::to_string_pretty(&pack)? + "\n")
        .with_context(|| format!("cannot write {}", json.display()))?;
    let index = args.out.join("index.html");
    std::fs::write(&index, html::render(&pack))
        .with_context(|| format!("cannot write {}", index.display()))?;
    println!("{}: {}", index.display(), summary_line(&pack));
    sign_and_push(args, &[&pack], push.as_ref())
}

/// What the signed statement says of the pack: its date, tool, clusters and verdicts.
fn attested(date: &str, packs: &[&Pack], max_audit_age_hours: u64) -> serde_json::Value {
    let verdicts: std::collections::BTreeMap<String, std::collections::BTreeMap<&str, &str>> =
        packs
            .iter()
            .map(|pack| {
                let sections = pack
                    .sections
                    .iter()
                    .map(|s| (s.id.as_str(), s.verdict.text()))
                    .collect();
                (
                    pack.cluster.clone().unwrap_or_else(|| "manifests".into()),
                    sections,
                )
            })
            .collect();
    serde_json::json!({
        "date": date,
        "tool": format!("pci-policies {}", env!("CARGO_PKG_VERSION")),
        "clusters": packs.iter().filter_map(|p| p.cluster.clone()).collect::<Vec<_>>(),
        "maxAuditAgeHours": max_audit_age_hours,
        "verdicts": verdicts,
    })
}

/// Signs the pack of `packs` written in `--out` when `--sign-key` is given, then pushes it
/// to `push` (`--push`, which needs the key).
fn sign_and_push(args: &EvidenceArgs, packs: &[&Pack], push: Option<&PushTarget>) -> Result<()> {
    let date = packs.first().map(|p| p.date.clone()).unwrap_or_default();
    let predicate = attested(&date, packs, args.max_audit_age_hours);
    if args.statement {
        #[cfg(feature = "live")]
        {
            let path = signed::write_statement(&args.out, predicate.clone())?;
            let bundle = args.out.join(signed::SIGSTORE_BUNDLE);
            println!(
                "{}: to sign keyless, run: cosign attest-blob --statement {} --new-bundle-format --bundle {} --yes",
                path.display(),
                signed::shell_word(&path.display().to_string()),
                signed::shell_word(&bundle.display().to_string())
            );
        }
        #[cfg(not(feature = "live"))]
        anyhow::bail!("--statement: this build has no signing (the `live` feature)");
    }
    let Some(key) = &args.sign_key else {
        return Ok(());
    };
    #[cfg(feature = "live")]
    {
        let envelope = signed::sign(&args.out, key, predicate)?;
        println!("{}: signed", envelope.display());
        if let Some((reference, registry)) = push {
            let clusters: Vec<String> = packs.iter().filter_map(|p| p.cluster.clone()).collect();
            let pushed = artifact::push(&args.out, reference, &date, &clusters, registry)?;
            println!("{reference} -> {pushed}");
        }
        Ok(())
    }
    #[cfg(not(feature = "live"))]
    {
        let _ = (predicate, push);
        anyhow::bail!(
            "--sign-key {}: this build has no signing (the `live` feature)",
            key.display()
        )
    }
}

/// The pack's date, and the instant audit ages are measured from: now, or the end of the
/// `--date` given (a pack dated in the past judges as of that day's end).
fn pack_time(date: Option<&str>) -> Result<(Date, i64)> {
    match date {
        Some(text) => {
            let date = Date::parse(text).map_err(|e| anyhow::anyhow!("--date: {e}"))?;
            Ok((date, (date.days_since_epoch() + 1) * 86_400))
        }
        None => {
            let Now::At(Timestamp(seconds)) = Now::read() else {
                anyhow::bail!(
                    "the clock cannot be read, so expired exceptions cannot be told apart: give the pack's date with --date YYYY-MM-DD"
                );
            };
            let date = Date::parse(&history::date_of(seconds))
                .map_err(|e| anyhow::anyhow!("today: {e}"))?;
            Ok((date, seconds))
        }
    }
}

/// One line on what a pack holds, for the terminal.
fn summary_line(pack: &Pack) -> String {
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
    let sections: Vec<String> = pack
        .sections
        .iter()
        .map(|s| format!("{} {}", s.id, s.verdict.text()))
        .collect();
    let why = if pack.flagged.is_empty() {
        String::new()
    } else {
        let anchor = pack.cluster.as_deref().map_or_else(
            || "flagged".to_owned(),
            |name| format!("cluster-{name}/flagged"),
        );
        format!(
            " ({}: index.html#{anchor})",
            counted(pack.flagged.len() as i64, "flag")
        )
    };
    format!(
        "{} policies, {} settings deviating from the recommendation, {} exceptions ({} flagged){not_started}; {}{why}",
        pack.policies.len(),
        deviations,
        pack.exceptions.len(),
        flagged,
        sections.join(", ")
    )
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
    let sections: Vec<SectionEvidence> = profile
        .sections
        .iter()
        .map(|section| {
            let (started, not_started): (Vec<&PolicyEvidence>, Vec<&PolicyEvidence>) = policies
                .iter()
                .filter(|p| p.sections.contains(&section.id))
                .partition(|p| p.refused_settings.is_empty());
            let (verdict, reasons) = operational::section_verdict(&section.id, &policies, profile);
            let names = |list: Vec<&PolicyEvidence>| list.iter().map(|p| p.name.clone()).collect();
            SectionEvidence {
                id: section.id.clone(),
                title: section.title.clone(),
                requirements: section.requirements.clone(),
                policies: names(started),
                not_started: names(not_started),
                verdict,
                reasons,
            }
        })
        .collect();
    let flagged = flagged(&sections, &policies, &exceptions);
    Pack {
        cluster: None,
        date: today.to_string(),
        tool: format!("pci-policies {}", env!("CARGO_PKG_VERSION")),
        standard: profile.standard.clone(),
        manifests: Vec::new(),
        sections,
        policies,
        exceptions,
        reports,
        scan,
        flagged,
        reproduce: Vec::new(),
    }
}

/// What the top of the page flags: every section not operational with its reasons, what
/// weakens a working policy, and the exceptions expired or expiring.
fn flagged(
    sections: &[SectionEvidence],
    policies: &[PolicyEvidence],
    exceptions: &[ExceptionEntry],
) -> Vec<String> {
    let mut flags = Vec::new();
    // A reason several sections share (one policy maps to 9.1 and 9.2) is said once.
    let mut said: Vec<&str> = Vec::new();
    for section in sections
        .iter()
        .filter(|s| s.verdict != Verdict::Operational)
    {
        let new: Vec<&str> = section
            .reasons
            .iter()
            .map(String::as_str)
            .filter(|reason| !said.contains(reason))
            .collect();
        let repeated = section.reasons.len() - new.len();
        let mut text = grouped(&new);
        if repeated > 0 {
            let also = format!("{} as above", counted(repeated as i64, "reason"));
            text = if text.is_empty() {
                also
            } else {
                format!("{text}; {also}")
            };
        }
        said.extend(new);
        flags.push(format!("{} {}: {text}", section.id, section.verdict.text()));
    }
    // A note several policies share (the audit scanner's) is said once, naming them all.
    let mut notes: Vec<(&str, Vec<&str>)> = Vec::new();
    for policy in policies {
        for note in policy.operation.iter().flat_map(|o| &o.notes) {
            match notes.iter_mut().find(|(text, _)| *text == note.as_str()) {
                Some((_, names)) => names.push(&policy.name),
                None => notes.push((note, vec![&policy.name])),
            }
        }
    }
    for (note, names) in notes {
        flags.push(format!("{}: {note}", names.join(", ")));
    }
    let expired = exceptions.iter().filter(|e| e.flagged()).count();
    if expired > 0 {
        let expired = counted(expired as i64, "exception");
        flags.push(format!(
            "{expired} expired, expiring or invalid: see the register"
        ));
    }
    flags
}

/// `policy: reason` lines with the reason shared by several policies said once:
/// "pci-a, pci-b: reason".
fn grouped(reasons: &[&str]) -> String {
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for reason in reasons {
        let (who, what) = reason.split_once(": ").unwrap_or(("", reason));
        match groups.iter_mut().find(|(text, _)| *text == what) {
            Some((_, names)) if !who.is_empty() => names.push(who),
            _ => groups.push((what, vec![who])),
        }
    }
    groups
        .iter()
        .map(|(what, who)| {
            let who: Vec<&str> = who.iter().copied().filter(|w| !w.is_empty()).collect();
            if who.is_empty() {
                (*what).to_owned()
            } else {
                format!("{}: {what}", who.join(", "))
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Marks each policy whose exceptions it refuses (read and checked as the policy reads them;
/// unknown control ids only the module knows): policy-server does not start it.
fn mark_refused_settings(policies: &mut [PolicyEvidence]) {
    for policy in policies {
        policy.refused_settings = register::refused_exceptions(policy);
        if policy.refused_settings.is_empty() {
            continue;
        }
        if let Some(operation) = policy.operation.as_mut() {
            operation.verdict = Verdict::NotActive;
            operation
                .reasons
                .push("refuses its settings: policy-server does not start it".into());
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_several_policies_share_is_said_once() {
        assert_eq!(
            grouped(&["a: stopped", "b: stopped", "a: pending", "no policy"]),
            "a, b: stopped; a: pending; no policy"
        );
    }
}
