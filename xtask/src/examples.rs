//! `make run`: every policy on every example request, as a verdict table.
//!
//! Layout: `examples/<policy>/<example>.json` is an AdmissionRequest (usable with
//! `kwctl run -r` too); its settings are `<example>.settings.json` if present, else the
//! folder's `settings.json`, else `{}`; `<example>.session.yml`, if present, is the kwctl replay
//! session answering the policy's host capability calls.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use pci_host::admission::{AdmissionResponse, read_request, read_settings};
use pci_host::host::Engine;
use pci_host::replay::Replay;
use pci_host::run::{RunOptions, run as run_policy};
use serde_json::Value;

use crate::workspace;

const DETAIL_WIDTH: usize = 150;

struct Row {
    policy: String,
    example: String,
    verdict: &'static str,
    detail: String,
}

/// Evaluates every example and prints (and optionally writes) the table.
pub fn run(output: Option<&Path>) -> Result<()> {
    let engine = Engine::new()?;
    let mut rows = Vec::new();
    for policy in workspace::policies()? {
        let dir = workspace::root().join("examples").join(&policy);
        let examples = example_files(&dir)?;
        if examples.is_empty() {
            continue;
        }
        let module_path = workspace::dist_module(&policy);
        let module = std::fs::read(&module_path)
            .with_context(|| format!("cannot read {} (run `make build`)", module_path.display()))?;
        let compiled = engine.load(&module)?;
        for example in examples {
            let name = example
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let request = read_request(&std::fs::read_to_string(&example)?)?;
            let settings = settings_for(&dir, &name)?;
            let session = dir.join(format!("{name}.session.yml"));
            let replay = if session.is_file() {
                Some(Arc::new(Replay::from_yaml(&std::fs::read_to_string(
                    &session,
                )?)?))
            } else {
                None
            };
            // As `kwctl run --allow-context-aware`: examples may read what the metadata lists.
            let options = RunOptions {
                settings,
                replay,
                allow_context_aware: true,
                ..RunOptions::default()
            };
            let response = run_policy(&compiled, &request, options)
                .with_context(|| format!("{policy}/{name}"))?;
            rows.push(row(&policy, &name, &response)?);
        }
    }
    let table = render(&rows);
    print!("{table}");
    if let Some(path) = output {
        std::fs::write(path, &table).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

fn example_files(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            name.ends_with(".json") && !name.ends_with(".settings.json") && name != "settings.json"
        })
        .collect();
    files.sort();
    Ok(files)
}

fn settings_for(dir: &Path, example: &str) -> Result<Value> {
    for candidate in [
        dir.join(format!("{example}.settings.json")),
        dir.join("settings.json"),
    ] {
        if candidate.is_file() {
            return read_settings(&std::fs::read_to_string(&candidate)?);
        }
    }
    read_settings("")
}

fn row(policy: &str, example: &str, response: &AdmissionResponse) -> Result<Row> {
    let warnings = response.warnings.as_ref().map_or(0, Vec::len);
    let (verdict, mut detail) = if !response.allowed {
        let message = response
            .status
            .as_ref()
            .and_then(|s| s.message.clone())
            .unwrap_or_default();
        ("REJECT", message)
    } else if let Some(Value::Array(operations)) = response.patch_operations()? {
        let summary: Vec<String> = operations
            .iter()
            .map(|op| {
                format!(
                    "{} {}",
                    op["op"].as_str().unwrap_or("?"),
                    op["path"].as_str().unwrap_or("?")
                )
            })
            .collect();
        ("MUTATE", format!("patch: {}", summary.join(", ")))
    } else {
        ("ACCEPT", String::new())
    };
    if warnings > 0 && response.allowed {
        if !detail.is_empty() {
            detail.push_str("; ");
        }
        let _ = write!(
            detail,
            "{warnings} warning(s): {}",
            response.warnings.as_ref().map_or("", |w| w[0].as_str())
        );
    }
    Ok(Row {
        policy: policy.to_owned(),
        example: example.to_owned(),
        verdict,
        detail: shorten(&detail),
    })
}

fn shorten(text: &str) -> String {
    if text.chars().count() <= DETAIL_WIDTH {
        return text.to_owned();
    }
    let cut: String = text.chars().take(DETAIL_WIDTH - 1).collect();
    format!("{cut}…")
}

fn render(rows: &[Row]) -> String {
    let width =
        |f: fn(&Row) -> usize, title: &str| rows.iter().map(f).max().unwrap_or(0).max(title.len());
    let policy_w = width(|r| r.policy.len(), "POLICY");
    let example_w = width(|r| r.example.len(), "EXAMPLE");
    let mut out = format!(
        "{:policy_w$}  {:example_w$}  {:7}  DETAIL\n",
        "POLICY", "EXAMPLE", "VERDICT"
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{:policy_w$}  {:example_w$}  {:7}  {}",
            r.policy, r.example, r.verdict, r.detail
        );
    }
    out
}
