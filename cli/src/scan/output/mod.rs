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
    /// Every format: its name and what it is for (the `-o` values `--help` lists).
    const ALL: [(&'static str, Self, &'static str); 7] = [
        (
            "table",
            Self::Table,
            "grouped by file and workload, for people",
        ),
        (
            "json",
            Self::Json,
            "summary and every result, for scripts and `evidence --scan`",
        ),
        (
            "junit",
            Self::Junit,
            "a test suite per policy, for GitLab and Jenkins",
        ),
        (
            "sarif",
            Self::Sarif,
            "SARIF 2.1.0, for GitHub code scanning",
        ),
        (
            "report",
            Self::Report,
            "OpenReports Reports, as Kubewarden's audit scanner writes them",
        ),
        (
            "policyreport",
            Self::PolicyReport,
            "wgpolicyk8s.io/v1alpha2 PolicyReports",
        ),
        ("html", Self::Html, "the scan part of the evidence page"),
    ];

    fn parse(text: &str) -> Result<Self> {
        match Self::ALL.iter().find(|(name, _, _)| *name == text) {
            Some((_, format, _)) => Ok(*format),
            None => {
                let names: Vec<&str> = Self::ALL.iter().map(|(name, _, _)| *name).collect();
                bail!("-o {text:?}: expected one of {}", names.join(", "))
            }
        }
    }
}

/// Takes a value for clap as text and lists the values it knows, with their help, in `--help`;
/// the command reads the text, so a wrong value is its error (`Error: …`, exit 2).
#[derive(Clone, Copy, Debug)]
pub struct ListedValues(pub fn() -> Vec<(&'static str, &'static str)>);

impl clap::builder::TypedValueParser for ListedValues {
    type Value = String;

    fn parse_ref(
        &self,
        command: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<String, clap::Error> {
        clap::builder::StringValueParser::new().parse_ref(command, arg, value)
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        Some(Box::new((self.0)().into_iter().map(|(name, help)| {
            clap::builder::PossibleValue::new(name).help(help)
        })))
    }
}

/// The `-o` formats and what each is for.
pub fn formats() -> Vec<(&'static str, &'static str)> {
    Format::ALL
        .iter()
        .map(|(name, _, help)| (*name, *help))
        .collect()
}

/// One `-o` value.
#[derive(Clone, Debug)]
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
