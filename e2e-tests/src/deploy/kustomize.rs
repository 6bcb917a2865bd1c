//! Rendering with `kubectl kustomize`, as users, Argo CD and Flux render the bundle: every
//! directory under a root that holds a kustomization, each rendered on its own.

use std::ffi::OsString;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

/// The file names kustomize reads a kustomization from.
pub const KUSTOMIZATION_FILES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Where to get kubectl, for the error when it is missing.
const KUBECTL_HELP: &str = "install kubectl (it has Kustomize built in): https://kubernetes.io/docs/tasks/tools/ (Debian: the kubernetes-client package, or the pkgs.k8s.io apt repository)";

/// Every directory under `root` (itself included) that holds a kustomization, sorted.
pub fn kustomization_dirs(root: &Path) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries =
            std::fs::read_dir(&dir).with_context(|| format!("cannot read {}", dir.display()))?;
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                pending.push(entry.path());
            } else {
                names.push(entry.file_name());
            }
        }
        if names
            .iter()
            .any(|name| KUSTOMIZATION_FILES.iter().any(|file| name == *file))
        {
            found.push(dir);
        }
    }
    found.sort();
    Ok(found)
}

/// A kustomize renderer: `kubectl kustomize`, or another program taking the same arguments.
pub struct Kustomize {
    program: OsString,
}

impl Kustomize {
    /// `kubectl` from the PATH.
    pub fn kubectl() -> Self {
        Self::with_program("kubectl")
    }

    /// Another program (a test's missing one).
    pub fn with_program(program: impl Into<OsString>) -> Self {
        Self {
            program: program.into(),
        }
    }

    /// The rendering of `dir`: kubectl's standard output, or why there is none.
    pub fn render(&self, dir: &Path) -> Result<String, RenderError> {
        let output = match Command::new(&self.program)
            .arg("kustomize")
            .arg(dir)
            .output()
        {
            Ok(output) => output,
            Err(error) if error.kind() == ErrorKind::NotFound => {
                return Err(RenderError::NoKubectl(format!(
                    "kubectl with Kustomize is needed: {:?} is not on the PATH; {KUBECTL_HELP}",
                    self.program
                )));
            }
            Err(error) => {
                return Err(RenderError::NoKubectl(format!(
                    "kubectl with Kustomize is needed: {:?} cannot be run ({error}); {KUBECTL_HELP}",
                    self.program
                )));
            }
        };
        if !output.status.success() {
            return Err(RenderError::Failed(format!(
                "`kubectl kustomize {}` failed ({}): {}",
                dir.display(),
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        String::from_utf8(output.stdout).map_err(|_| {
            RenderError::Failed(format!(
                "`kubectl kustomize {}` wrote something that is not UTF-8",
                dir.display()
            ))
        })
    }
}

/// Why a directory has no rendering.
#[derive(Debug, PartialEq, Eq)]
pub enum RenderError {
    /// kubectl cannot be run: nothing renders, the check stops.
    NoKubectl(String),
    /// This directory does not render (kubectl's message): a finding, the others still render.
    Failed(String),
}

impl std::fmt::Display for RenderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoKubectl(message) | Self::Failed(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for RenderError {}
