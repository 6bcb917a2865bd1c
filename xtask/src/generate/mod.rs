//! `make generate`: the files made from the policies' sources, checked in and kept current —
//! Artifact Hub packages, the Kustomize bundle `deploy/` and the flat manifests of the same
//! objects, the PCI evidence matrix, the control pages rejections link to, the fuzz targets and the README's policy table.
//! The tests fail when a checked-in file differs from what the sources give.

pub mod artifacthub;
pub mod control_pages;
pub mod controls;
pub mod deploy;
pub mod fuzz_targets;
pub mod group;
pub mod manifests;
pub mod matrix;
pub mod placement;
pub mod policy;
pub mod readme;
pub mod webhook;
pub mod yaml;

use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::workspace;
use deploy::base::{self, Sources};
use deploy::bundle::BundleSource;
use deploy::lock::ModuleLock;
use manifests::Rollout;

/// The verification config of our modules, which the bundle's ConfigMap carries.
const VERIFICATION_CONFIG: &str = "verification-config.yml";

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
    let bundle = BundleSource::load(root)?;
    let groups = group::all()?;
    let verification_config = read_verification_config(root)?;
    let sources = Sources {
        bundle: &bundle,
        policies: &policies,
        groups: &groups,
        verification_config: &verification_config,
    };
    let lock = ModuleLock::load(root, &policies)?;
    let module = |policy: &policy::PolicySources| lock.module(policy);
    for rollout in [Rollout::Protect, Rollout::Monitor] {
        files.extend(manifests_from(&sources, rollout, &module)?);
    }
    files.extend(deploy::files(&sources, &module)?);
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
    files.extend(control_pages::files(&mapping, &policies)?);
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

/// The manifests of one rollout (`manifests/` or `manifests/monitor/`), every module named by
/// `module`, with the bundle's placement from `deploy/bundle.yml`.
pub fn manifests_of(
    policies: &[policy::PolicySources],
    rollout: Rollout,
    module: &dyn Fn(&policy::PolicySources) -> Result<String>,
) -> Result<Vec<GeneratedFile>> {
    let root = workspace::root();
    let bundle = BundleSource::load(&root)?;
    let groups = group::all()?;
    let verification_config = read_verification_config(&root)?;
    let sources = Sources {
        bundle: &bundle,
        policies,
        groups: &groups,
        verification_config: &verification_config,
    };
    manifests_from(&sources, rollout, module)
}

/// The manifests of one rollout: one file per policy and per group, each checked to read back
/// with the CRD types, and the whole bundle in one file (the system namespaces' policy too).
fn manifests_from(
    sources: &Sources<'_>,
    rollout: Rollout,
    module: &dyn Fn(&policy::PolicySources) -> Result<String>,
) -> Result<Vec<GeneratedFile>> {
    let dir = rollout.dir();
    let base = base::files(sources, rollout, module)?;
    let mut files = Vec::new();
    for file in &base {
        let Some(name) = file.path.strip_prefix("policies/") else {
            continue;
        };
        let is_group = sources
            .groups
            .iter()
            .any(|g| format!("{}.yaml", g.name) == name);
        let checked = if is_group {
            group::parse_strict(file.documents().trim_start_matches("---\n")).map(drop)
        } else {
            manifests::parse_strict(file.documents()).map(drop)
        };
        checked.with_context(|| format!("the manifest {name} does not read back"))?;
        let notice =
            base::standalone_notice(sources.bundle, if is_group { "group" } else { "policy" });
        files.push(GeneratedFile {
            path: format!("{dir}/{name}"),
            contents: format!("{}{notice}{}", file.header(), file.documents()),
        });
    }
    let system_policy = deploy::system::policy(sources.bundle, sources.policies, rollout, module)?;
    files.push(GeneratedFile {
        path: format!("{dir}/pci-policies.yaml"),
        contents: base::single_file(&base, &manifests::documents(&[system_policy])?, rollout),
    });
    Ok(files)
}

/// Writes the manifests of one rollout (`make manifests MODE=…`).
pub fn write_manifests(rollout: Rollout) -> Result<()> {
    let root = workspace::root();
    let policies = policy::all()?;
    let lock = ModuleLock::load(&root, &policies)?;
    write_files(
        &root,
        manifests_of(&policies, rollout, &|policy| lock.module(policy))?,
    )
}

fn read_verification_config(root: &Path) -> Result<String> {
    std::fs::read_to_string(root.join(VERIFICATION_CONFIG))
        .with_context(|| format!("cannot read {VERIFICATION_CONFIG}"))
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
