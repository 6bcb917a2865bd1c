//! `make run`: every policy on every example request (`policies/<policy>/examples/`, layout in
//! `pci_host::examples`), as a verdict table.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use pci_host::admission::AdmissionResponse;
use pci_host::examples;
use pci_host::host::Engine;
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
    for policy in workspace::bundle().policies()? {
        let found = examples::load(&workspace::bundle().examples_dir(&policy))?;
        if found.is_empty() {
            continue;
        }
        let module_path = workspace::bundle().module(&policy);
        let module = std::fs::read(&module_path)
            .with_context(|| format!("cannot read {} (run `make build`)", module_path.display()))?;
        let compiled = engine.load(&module)?;
        for example in found {
            let response = example
                .run(&compiled)
                .with_context(|| format!("{policy}/{}", example.name))?;
            rows.push(row(&policy, &example.name, &response)?);
        }
    }
    let table = render(&rows);
    print!("{table}");
    if let Some(path) = output {
        std::fs::write(path, &table).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
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
