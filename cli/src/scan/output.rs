//! What a scan found, and how it is printed: a table grouped by file and workload, or JSON.

use std::io::Write;

use anyhow::{Result, bail};
use serde::Serialize;

use super::input::Origin;

/// A policy's verdict on a workload (or what became of a document).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    /// Admitted with warnings, or rejected by a policy in monitor mode.
    Warn,
    Fail,
    /// The check could not be made (a module error, or the registry in an offline scan).
    Error,
    /// Not a workload the policies serve.
    Skip,
    /// A document that could not be read.
    Invalid,
}

impl Verdict {
    fn label(self) -> &'static str {
        match self {
            Self::Pass => "PASS",
            Self::Warn => "WARN",
            Self::Fail => "FAIL",
            Self::Error => "ERROR",
            Self::Skip => "SKIP",
            Self::Invalid => "INVALID",
        }
    }
}

/// One line of the result.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    pub file: String,
    pub line: usize,
    pub kind: String,
    pub name: String,
    pub namespace: String,
    pub policy: String,
    pub verdict: Verdict,
    pub message: String,
    pub warnings: Vec<String>,
}

impl Outcome {
    /// A document that is not judged by a policy.
    pub fn other(origin: &Origin, kind: &str, verdict: Verdict, message: String) -> Self {
        Self {
            file: origin.file.clone(),
            line: origin.line,
            kind: kind.to_owned(),
            name: String::new(),
            namespace: String::new(),
            policy: String::new(),
            verdict,
            message,
            warnings: Vec::new(),
        }
    }
}

/// The output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
}

impl Format {
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "table" => Ok(Self::Table),
            "json" => Ok(Self::Json),
            other => bail!("-o {other:?}: expected table or json"),
        }
    }
}

/// Prints `outcomes` in `format`.
pub fn print(format: Format, outcomes: &[Outcome], out: &mut dyn Write) -> Result<()> {
    match format {
        Format::Json => {
            let summary = summary(outcomes);
            serde_json::to_writer_pretty(
                &mut *out,
                &serde_json::json!({"summary": summary, "results": outcomes}),
            )?;
            writeln!(out)?;
        }
        Format::Table => {
            let mut last = (String::new(), 0);
            for outcome in outcomes {
                let at = (outcome.file.clone(), outcome.line);
                if at != last {
                    let what = if outcome.name.is_empty() {
                        outcome.kind.clone()
                    } else {
                        format!("{} {}/{}", outcome.kind, outcome.namespace, outcome.name)
                    };
                    writeln!(out, "{}:{}  {what}", outcome.file, outcome.line)?;
                    last = at;
                }
                let policy = if outcome.policy.is_empty() {
                    "-"
                } else {
                    outcome.policy.as_str()
                };
                let detail = if outcome.message.is_empty() {
                    outcome.warnings.join("; ")
                } else {
                    outcome.message.clone()
                };
                writeln!(
                    out,
                    "  {:<7} {policy:<32} {}",
                    outcome.verdict.label(),
                    detail.replace('\n', " ")
                )?;
            }
            let s = summary(outcomes);
            writeln!(
                out,
                "{} pass, {} warn, {} fail, {} error, {} skipped, {} invalid",
                s.pass, s.warn, s.fail, s.error, s.skip, s.invalid
            )?;
        }
    }
    Ok(())
}

/// Counts per verdict.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub pass: usize,
    pub warn: usize,
    pub fail: usize,
    pub error: usize,
    pub skip: usize,
    pub invalid: usize,
}

fn summary(outcomes: &[Outcome]) -> Summary {
    let mut summary = Summary::default();
    for outcome in outcomes {
        let count = match outcome.verdict {
            Verdict::Pass => &mut summary.pass,
            Verdict::Warn => &mut summary.warn,
            Verdict::Fail => &mut summary.fail,
            Verdict::Error => &mut summary.error,
            Verdict::Skip => &mut summary.skip,
            Verdict::Invalid => &mut summary.invalid,
        };
        *count += 1;
    }
    summary
}
