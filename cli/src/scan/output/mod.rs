//! The scan's outputs: `-o FORMAT` to standard output, `-o FORMAT=FILE` to a file, several at
//! once.

mod junit;
mod reports;
mod sarif;
mod table;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use super::outcome::ScanResults;

/// The output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Junit,
    Sarif,
    /// OpenReports `openreports.io/v1alpha1` Report / ClusterReport.
    Report,
    /// `wgpolicyk8s.io/v1alpha2` PolicyReport / ClusterPolicyReport.
    PolicyReport,
    Html,
}

impl Format {
    const NAMES: &'static str = "table, json, junit, sarif, report, policyreport or html";

    fn parse(text: &str) -> Result<Self> {
        Ok(match text {
            "table" => Self::Table,
            "json" => Self::Json,
            "junit" => Self::Junit,
            "sarif" => Self::Sarif,
            "report" => Self::Report,
            "policyreport" => Self::PolicyReport,
            "html" => Self::Html,
            other => bail!("-o {other:?}: expected {}", Self::NAMES),
        })
    }
}

/// One `-o` value.
#[derive(Debug)]
pub struct Destination {
    pub format: Format,
    /// `None`: standard output.
    pub file: Option<PathBuf>,
}

impl Destination {
    /// `FORMAT` or `FORMAT=FILE`.
    pub fn parse(text: &str) -> Result<Self> {
        let (format, file) = match text.split_once('=') {
            Some((_, "")) => bail!("-o {text:?}: the file name is missing after '='"),
            Some((format, file)) => (format, Some(PathBuf::from(file))),
            None => (text, None),
        };
        Ok(Self {
            format: Format::parse(format)?,
            file,
        })
    }

    /// Renders `results` and writes them where asked.
    pub fn write(&self, results: &ScanResults) -> Result<()> {
        let colour = self.file.is_none()
            && std::io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none();
        let text = render(self.format, results, colour)?;
        match &self.file {
            None => {
                let mut out = std::io::stdout().lock();
                out.write_all(text.as_bytes())?;
                out.flush()?;
            }
            Some(path) => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent)
                        .with_context(|| format!("cannot create {}", parent.display()))?;
                }
                std::fs::write(path, text)
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
        }
        Ok(())
    }
}

/// `results` in `format`.
pub fn render(format: Format, results: &ScanResults, colour: bool) -> Result<String> {
    Ok(match format {
        Format::Table => table::render(results, colour),
        Format::Json => serde_json::to_string_pretty(results)? + "\n",
        Format::Junit => junit::render(results),
        Format::Sarif => serde_json::to_string_pretty(&sarif::render(results))? + "\n",
        Format::Report => reports::render(results, reports::Shape::OpenReports)?,
        Format::PolicyReport => reports::render(results, reports::Shape::PolicyReport)?,
        Format::Html => crate::evidence::scan_page(results),
    })
}
