//! `make generate`: the files made from the policies' sources, checked in and kept current —
//! Artifact Hub packages, deployable manifests, the PCI evidence matrix, the fuzz targets and
//! the README's policy table.
//! The tests fail when a checked-in file differs from what the sources give.

pub mod artifacthub;
pub mod controls;
pub mod fuzz_targets;
pub mod group;
pub mod manifests;
pub mod matrix;
pub mod policy;
pub mod readme;
pub mod webhook;

use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::workspace;
use manifests::Rollout;

/// A generated file: path relative to the repository root, and its contents.
#[derive(Debug)]
pub struct GeneratedFile {
    pub path: String,
    pub contents: String,
}

/// Every generated file, from the sources as they are now.
pub fn files(root: &Path, now: &str) -> Result<Vec<GeneratedFile>> {
    let policies = policy::all()?;
    let mut files = vec![GeneratedFile {
        path: "artifacthub/artifacthub-repo.yml".into(),
        contents: artifacthub::repository(&policies)?,
    }];
    for policy in &policies {
        let dir = artifacthub::package_dir(policy)?;
        let package_path = format!("{dir}/artifacthub-pkg.yml");
        // A version keeps the creation time it was first generated with.
        let created_at = std::fs::read_to_string(root.join(&package_path))
            .ok()
            .and_then(|existing| artifacthub::created_at_of(&existing))
            .unwrap_or_else(|| now.to_owned());
        let package = artifacthub::package(policy, &created_at)
            .with_context(|| format!("Artifact Hub package of {}", policy.name))?;
        files.push(GeneratedFile {
            path: package_path,
            contents: package,
        });
        files.push(GeneratedFile {
            path: format!("{dir}/README.md"),
            contents: policy.readme.clone(),
        });
    }
    for rollout in [Rollout::Protect, Rollout::Monitor] {
        files.extend(manifests_of(
            &policies,
            rollout,
            &manifests::default_module,
        )?);
    }
    files.push(GeneratedFile {
        path: "docs/pci-matrix.md".into(),
        contents: matrix::matrix(&policies)?,
    });
    let mapping = std::fs::read_to_string(root.join("docs/pci-dss.yml"))
        .context("cannot read docs/pci-dss.yml")?;
    files.push(GeneratedFile {
        path: "docs/pci-controls.json".into(),
        contents: controls::controls_json(&mapping, &policies)?,
    });
    let names: Vec<String> = policies.iter().map(|p| p.name.clone()).collect();
    files.extend(fuzz_targets::files(&names));
    let readme =
        std::fs::read_to_string(root.join("README.md")).context("cannot read README.md")?;
    files.push(GeneratedFile {
        path: "README.md".into(),
        contents: readme::with_policy_table(&readme, &policies)?,
    });
    Ok(files)
}

/// The manifests of one rollout: one file per policy and the whole bundle, each checked to
/// read back with the CRD types.
pub fn manifests_of(
    policies: &[policy::PolicySources],
    rollout: Rollout,
    module: &dyn Fn(&policy::PolicySources) -> Result<String>,
) -> Result<Vec<GeneratedFile>> {
    let dir = rollout.dir();
    let mut files = Vec::new();
    for policy in policies {
        let manifest = manifests::manifest(policy, rollout, &module(policy)?)
            .with_context(|| format!("manifest of {}", policy.name))?;
        manifests::parse_strict(&manifest)
            .with_context(|| format!("the manifest of {} does not read back", policy.name))?;
        files.push(GeneratedFile {
            path: format!("{dir}/{}.yaml", policy.name),
            contents: manifest,
        });
    }
    files.push(GeneratedFile {
        path: format!("{dir}/pci-policies.yaml"),
        contents: manifests::bundle(policies, rollout, module)?,
    });
    for group in group::all()? {
        let manifest = group.manifest(policies, rollout, module)?;
        let document = manifest.split_once("---\n").map_or("", |(_, doc)| doc);
        group::parse_strict(document)
            .with_context(|| format!("the manifest of {} does not read back", group.name))?;
        files.push(GeneratedFile {
            path: format!("{dir}/{}.yaml", group.name),
            contents: manifest,
        });
    }
    Ok(files)
}

/// Writes the manifests of one rollout (`make manifests MODE=…`).
pub fn write_manifests(rollout: Rollout) -> Result<()> {
    let root = workspace::root();
    write_files(
        &root,
        manifests_of(&policy::all()?, rollout, &manifests::default_module)?,
    )
}

/// Writes every generated file (`make generate`).
pub fn write() -> Result<()> {
    let root = workspace::root();
    write_files(&root, files(&root, &now_rfc3339())?)
}

fn write_files(root: &Path, files: Vec<GeneratedFile>) -> Result<()> {
    for file in files {
        let path = root.join(&file.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let unchanged = std::fs::read_to_string(&path).is_ok_and(|old| old == file.contents);
        if !unchanged {
            std::fs::write(&path, &file.contents)
                .with_context(|| format!("cannot write {}", path.display()))?;
            println!("generated {}", file.path);
        }
    }
    Ok(())
}

/// The generated files that are missing or differ from their sources.
pub fn stale(root: &Path) -> Result<Vec<String>> {
    let mut stale = Vec::new();
    for file in files(root, "(not generated yet)")? {
        match std::fs::read_to_string(root.join(&file.path)) {
            Ok(existing) if existing == file.contents => {}
            Ok(_) => stale.push(format!("{} differs from its sources", file.path)),
            Err(_) => stale.push(format!("{} is missing", file.path)),
        }
    }
    Ok(stale)
}

/// Fails when a generated file is stale (`xtask generate --check`).
pub fn check() -> Result<()> {
    let stale = stale(&workspace::root())?;
    if !stale.is_empty() {
        bail!(
            "generated files are stale; run `make generate` and commit:\n  {}",
            stale.join("\n  ")
        );
    }
    println!("generated files are current");
    Ok(())
}

/// The current UTC time as RFC 3339 (`YYYY-MM-DDTHH:MM:SSZ`).
pub fn now_rfc3339() -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    rfc3339(seconds)
}

fn rfc3339(unix_seconds: u64) -> String {
    let days = i64::try_from(unix_seconds / 86_400).unwrap_or(i64::MAX);
    let time = unix_seconds % 86_400;
    let pci_shared::time::Date { year, month, day } =
        pci_shared::time::Date::from_days_since_epoch(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        time / 3600,
        time % 3600 / 60,
        time % 60
    )
}

#[cfg(test)]
mod tests;
