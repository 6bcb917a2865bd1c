//! `pci-policies evidence diff OLD NEW`: what changed between two packs (their folders or
//! `evidence.json`), cluster by cluster: section verdicts, policies added, removed or no longer
//! operational, mode and failure policy, settings drift, and exceptions new, removed, or whose
//! status moved (an exception that expired).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use serde::Serialize;
use serde_json::Value;

use super::Pack;
use super::policies::PolicyEvidence;
use super::register::ExceptionEntry;

/// `pci-policies evidence diff`.
#[derive(Args)]
pub struct DiffArgs {
    /// The older pack: its folder, or its evidence.json.
    old: PathBuf,
    /// The newer pack.
    new: PathBuf,
    /// Print the changes as JSON.
    #[arg(long)]
    json: bool,
}

/// One change between the packs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    pub cluster: String,
    /// `cluster`, `section`, `policy`, `verdict`, `mode`, `failurePolicy`, `setting` or
    /// `exception`.
    pub what: &'static str,
    pub subject: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// Prints every change; "no change" when there is none.
pub fn diff(args: &DiffArgs) -> Result<()> {
    let changes = changes(&read(&args.old)?, &read(&args.new)?);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&changes)?);
        return Ok(());
    }
    if changes.is_empty() {
        println!("no change");
    }
    for change in &changes {
        let side = |value: &Option<String>| value.clone().unwrap_or_else(|| "(none)".into());
        println!(
            "{}: {} {}: {} → {}",
            change.cluster,
            change.what,
            change.subject,
            side(&change.old),
            side(&change.new)
        );
    }
    Ok(())
}

/// The packs of a pack's folder or file, by cluster (`manifests` for a pack of manifests).
fn read(path: &Path) -> Result<BTreeMap<String, Pack>> {
    let file = if path.is_dir() {
        path.join("evidence.json")
    } else {
        path.to_path_buf()
    };
    let text = std::fs::read_to_string(&file)
        .with_context(|| format!("cannot read {}", file.display()))?;
    let value: Value = serde_json::from_str(&text)
        .with_context(|| format!("{}: not an evidence.json", file.display()))?;
    let packs: Vec<Pack> = if value.get("summary").is_some() {
        serde_json::from_value(value["clusters"].clone())
    } else {
        serde_json::from_value(value).map(|pack| vec![pack])
    }
    .with_context(|| format!("{}: not a pack of this tool", file.display()))?;
    let mut by_cluster = BTreeMap::new();
    for pack in packs {
        let name = pack.cluster.clone().unwrap_or_else(|| "manifests".into());
        if by_cluster.insert(name.clone(), pack).is_some() {
            bail!("{}: cluster {name} twice", file.display());
        }
    }
    Ok(by_cluster)
}

/// Every change from `old` to `new`, cluster by cluster.
pub fn changes(old: &BTreeMap<String, Pack>, new: &BTreeMap<String, Pack>) -> Vec<Change> {
    let mut changes = Vec::new();
    for name in old
        .keys()
        .chain(new.keys().filter(|k| !old.contains_key(*k)))
    {
        let mut add = |what, subject: &str, before: Option<String>, after: Option<String>| {
            if before != after {
                changes.push(Change {
                    cluster: name.clone(),
                    what,
                    subject: subject.to_owned(),
                    old: before,
                    new: after,
                });
            }
        };
        match (old.get(name), new.get(name)) {
            (Some(before), Some(after)) => compare(before, after, &mut add),
            (before, _) => add(
                "cluster",
                name,
                before.map(|_| "present".into()),
                new.get(name).map(|_| "present".into()),
            ),
        }
    }
    changes
}

type Add<'a> = dyn FnMut(&'static str, &str, Option<String>, Option<String>) + 'a;

fn compare(old: &Pack, new: &Pack, add: &mut Add<'_>) {
    for section in &new.sections {
        let before = old.sections.iter().find(|s| s.id == section.id);
        add(
            "section",
            &section.id,
            before.map(|s| s.verdict.text().to_owned()),
            Some(section.verdict.text().to_owned()),
        );
    }
    let key = |p: &PolicyEvidence| match &p.namespace {
        Some(namespace) if !p.kind.starts_with("Cluster") => {
            format!("{} {namespace}/{}", p.kind, p.name)
        }
        _ => format!("{} {}", p.kind, p.name),
    };
    let old_policies: BTreeMap<String, &PolicyEvidence> =
        old.policies.iter().map(|p| (key(p), p)).collect();
    let new_policies: BTreeMap<String, &PolicyEvidence> =
        new.policies.iter().map(|p| (key(p), p)).collect();
    let added = new_policies
        .keys()
        .filter(|k| !old_policies.contains_key(*k));
    for name in old_policies.keys().chain(added) {
        match (old_policies.get(name), new_policies.get(name)) {
            (Some(before), Some(after)) => compare_policy(before, after, add),
            (before, after) => add(
                "policy",
                name,
                before.map(|_| "deployed".into()),
                after.map(|_| "deployed".into()),
            ),
        }
    }
    compare_exceptions(&old.exceptions, &new.exceptions, add);
}

/// One part of a policy the diff compares, as text.
type Part = fn(&PolicyEvidence) -> Option<String>;

/// The parts of a policy the diff compares, by name.
const PARTS: [(&str, Part); 11] = [
    ("verdict", |p| operation(p, |o| o.verdict.text().to_owned())),
    ("reasons", |p| operation(p, |o| listed(&o.reasons))),
    ("notes", |p| operation(p, |o| listed(&o.notes))),
    ("mode in effect", |p| {
        operation(p, |o| o.mode_in_effect.clone())
    }),
    ("registered webhook", |p| {
        operation(p, |o| {
            o.webhook.as_ref().map_or("none".into(), |w| {
                format!(
                    "{} failurePolicy {} timeout {} s namespaceSelector {}",
                    w.configuration, w.failure_policy, w.timeout_seconds, w.namespace_selector
                )
            })
        })
    }),
    ("mode", |p| Some(p.mode.clone())),
    ("failurePolicy", |p| Some(p.failure_policy.clone())),
    ("modules", |p| {
        Some(
            p.modules
                .iter()
                .map(|m| {
                    format!(
                        "{}{}",
                        m.reference,
                        m.digest
                            .as_deref()
                            .map(|d| format!(" {d}"))
                            .unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
                .join(", "),
        )
    }),
    ("coverage", |p| {
        Some(format!(
            "{} on {}",
            p.operations.join(", "),
            p.kinds.join(", ")
        ))
    }),
    ("selectors", |p| {
        Some(format!(
            "namespaces: {}; objects: {}; match conditions: {}",
            p.namespace_selector,
            p.object_selector,
            p.match_conditions.join("; ")
        ))
    }),
    ("backgroundAudit", |p| Some(p.background_audit.to_string())),
];

fn compare_policy(old: &PolicyEvidence, new: &PolicyEvidence, add: &mut Add<'_>) {
    let name = super::operational::label(new);
    for (what, part) in PARTS {
        add(what, &name, part(old), part(new));
    }
    add(
        "refused settings",
        &name,
        Some(old.refused_settings.join("; ")),
        Some(new.refused_settings.join("; ")),
    );
    // Exceptions are compared one by one in the register, not as one setting.
    let settings = |p: &PolicyEvidence| -> BTreeMap<String, String> {
        p.settings
            .iter()
            .filter(|s| !s.setting.ends_with("exceptions"))
            .map(|s| (s.setting.clone(), s.value.to_string()))
            .collect()
    };
    let (before, after) = (settings(old), settings(new));
    for setting in before
        .keys()
        .chain(after.keys().filter(|k| !before.contains_key(*k)))
    {
        add(
            "setting",
            &format!("{name} {setting}"),
            before.get(setting).cloned(),
            after.get(setting).cloned(),
        );
    }
}

/// A part of a policy's operation in the cluster, when it was judged from an export.
fn operation(
    policy: &PolicyEvidence,
    part: fn(&super::operational::Operation) -> String,
) -> Option<String> {
    policy.operation.as_ref().map(part)
}

/// Reasons or notes as one line, "none" for none; an audit result's age ("30 days before the
/// pack") left out, so a pack a day later differs only where something changed.
fn listed(items: &[String]) -> String {
    if items.is_empty() {
        return "none".into();
    }
    items
        .iter()
        .map(|item| without_age(item))
        .collect::<Vec<_>>()
        .join("; ")
}

/// `text` with each "(N days before the pack" (or hours) written "(before the pack".
fn without_age(text: &str) -> String {
    const SUFFIX: &str = " before the pack";
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(SUFFIX) {
        let head = &rest[..at];
        let age = head.rfind('(').filter(|open| {
            let mut words = head[open + 1..].split(' ');
            let number = words.next().is_some_and(|n| n.parse::<u64>().is_ok());
            let unit = words
                .next()
                .is_some_and(|u| u.starts_with("day") || u.starts_with("hour"));
            number && unit && words.next().is_none()
        });
        match age {
            Some(open) => out.push_str(&head[..=open]),
            None => {
                out.push_str(head);
                out.push(' ');
            }
        }
        out.push_str(SUFFIX.trim_start());
        rest = &rest[at + SUFFIX.len()..];
    }
    out.push_str(rest);
    out
}

/// An exception's identity: its policy and everything it says (an expiry moved, an approver
/// or a reason changed is the old one removed and a new one added); its index may move.
fn identity(entry: &ExceptionEntry) -> String {
    let list = |items: &[String]| {
        if items.is_empty() {
            "any".to_owned()
        } else {
            items.join(", ")
        }
    };
    format!(
        "{}: controls {}; namespaces {}; images {}; containers {}; reason \"{}\"; approved by {}; expires {}",
        entry.policy,
        list(&entry.controls),
        list(&entry.namespaces),
        list(&entry.images),
        list(&entry.containers),
        entry.reason,
        entry.approved_by.as_deref().unwrap_or("nobody recorded"),
        entry.expires.as_deref().unwrap_or("never")
    )
}

fn compare_exceptions(old: &[ExceptionEntry], new: &[ExceptionEntry], add: &mut Add<'_>) {
    // The same exception written twice counts twice.
    let by_identity = |entries: &[ExceptionEntry]| -> BTreeMap<String, Vec<String>> {
        let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for entry in entries {
            map.entry(identity(entry))
                .or_default()
                .push(entry.status.clone());
        }
        map
    };
    let (before, after) = (by_identity(old), by_identity(new));
    for exception in before
        .keys()
        .chain(after.keys().filter(|k| !before.contains_key(*k)))
    {
        add(
            "exception",
            exception,
            before.get(exception).map(|s| s.join(", ")),
            after.get(exception).map(|s| s.join(", ")),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_audit_result_growing_older_is_not_a_change() {
        let reason = |days: u32| {
            format!(
                "the newest audit result is from 2026-11-01T03:00:00Z ({days} days before the pack, more than 48 hours): stopped"
            )
        };
        assert_eq!(listed(&[reason(30)]), listed(&[reason(31)]));
        assert_eq!(
            without_age(&reason(30)),
            "the newest audit result is from 2026-11-01T03:00:00Z (before the pack, more than 48 hours): stopped"
        );
        assert_eq!(
            without_age("(x days before the pack"),
            "(x days before the pack"
        );
        assert_eq!(listed(&[]), "none");
    }
}
