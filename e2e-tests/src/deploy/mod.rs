//! The deploy check: every kustomization under `deploy/` rendered with the real
//! `kubectl kustomize`, and every object of every rendering (and of every `manifests/` file)
//! validated as the API server would at the oldest and the newest Kubewarden version we
//! support (the CRDs vendored under `e2e-tests/kubewarden-crds/`), then checked as a bundle:
//! system namespaces spared, one PolicyServer with its budget, verification config and RBAC,
//! modules pinned under one registry prefix.
//!
//! - `object`: reading YAML streams; `findings`: what is wrong, where, in a stable order;
//! - `schema`, `crds`: CRD schemas and the vendored CRDs; `metadata`, `roundtrip`,
//!   `core_kinds`: ObjectMeta and the core kinds with their Kubernetes types;
//!   `controller_rules`: what the Kubewarden controller's webhook adds; `validate`: one object;
//! - `bundle`: the checks across the objects of one rendering; `kustomize`: rendering;
//!   `stated`: what each folder or manifest file states by where it is (its rollout).

pub mod bundle;
mod controller_rules;
mod core_kinds;
pub mod crds;
pub mod findings;
pub mod kustomize;
mod metadata;
pub mod object;
mod roundtrip;
pub mod schema;
pub mod stated;
pub mod validate;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use pci_host::bundle::Bundle;
use pci_shared::path::FieldPath;

use bundle::{BundleValues, Expectations, ModuleFacts, Rollout, Stated, bundle_findings};
use crds::CrdCatalog;
use findings::{Finding, Findings};
use kustomize::{Kustomize, RenderError, kustomization_dirs};
use object::{Object, read_objects};
use stated::{stated_by_folder, stated_by_manifest};
use validate::object_findings;

/// What was checked: the objects of each source, by kind.
#[derive(Debug, Default)]
pub struct Summary {
    pub sources: Vec<(String, BTreeMap<String, usize>)>,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (source, kinds) in &self.sources {
            let total: usize = kinds.values().sum();
            let counted: Vec<String> = kinds
                .iter()
                .map(|(kind, count)| format!("{count} {kind}"))
                .collect();
            writeln!(f, "{source}: {total} objects ({})", counted.join(", "))?;
        }
        Ok(())
    }
}

impl Summary {
    fn count(&mut self, source: &str, objects: &[Object]) {
        let mut kinds = BTreeMap::new();
        for object in objects {
            *kinds.entry(object.kind().to_owned()).or_insert(0) += 1;
        }
        self.sources.push((source.to_owned(), kinds));
    }
}

/// What this checkout's renderings are compared with: `deploy/bundle.yml`, the policies'
/// metadata and `verification-config.yml`.
pub fn checkout_expectations(root: &Path) -> Result<Expectations> {
    let verification = root.join("verification-config.yml");
    Ok(Expectations {
        values: BundleValues::read(&root.join("deploy").join("bundle.yml"))?,
        modules: ModuleFacts::of_checkout(&Bundle::at(root))?,
        verification_config: std::fs::read_to_string(&verification)
            .with_context(|| format!("cannot read {}", verification.display()))?,
    })
}

/// Renders every kustomization under `<root>/deploy` and checks every rendering; an error lists
/// every finding.
pub fn check_deploy(root: &Path) -> Result<Summary> {
    let crds = CrdCatalog::vendored()?;
    let expected = checkout_expectations(root)?;
    check_deploy_dir(
        root,
        &root.join("deploy"),
        &expected,
        &crds,
        &Kustomize::kubectl(),
    )
}

/// Renders every kustomization under `deploy` (`root` only shortens the names in messages) and
/// checks each rendering against `expected` and `crds`.
pub fn check_deploy_dir(
    root: &Path,
    deploy: &Path,
    expected: &Expectations,
    crds: &[CrdCatalog],
    kustomize: &Kustomize,
) -> Result<Summary> {
    let mut findings = run_findings(expected, crds);
    let mut summary = Summary::default();
    let dirs = kustomization_dirs(deploy)?;
    if dirs.is_empty() {
        bail!("no kustomization under {}", deploy.display());
    }
    for dir in dirs {
        let source = relative(root, &dir);
        let text = match kustomize.render(&dir) {
            Ok(text) => text,
            Err(RenderError::NoKubectl(message)) => bail!(message),
            Err(failed) => {
                findings.add(
                    &source,
                    [Finding::new(
                        "kubectl kustomize",
                        FieldPath::root(),
                        failed.to_string(),
                    )],
                );
                continue;
            }
        };
        let stated = stated_by_folder(deploy, &dir).unwrap_or_else(|finding| {
            findings.add(&source, [finding]);
            Stated::generated(None)
        });
        match read_objects(&text) {
            Ok(objects) => {
                findings.add(
                    &source,
                    rendering_findings(&objects, Some((expected, stated)), crds),
                );
                summary.count(&source, &objects);
            }
            Err(error) => findings.add(
                &source,
                [Finding::new(
                    "the rendering",
                    FieldPath::root(),
                    format!("{error:#}"),
                )],
            ),
        }
    }
    conclude(findings, summary)
}

/// Checks every `*.yaml` file under `<root>/manifests`: each object on its own, and, with
/// `expected`, each file as a bundle of the rollout its folder states.
pub fn check_manifests(root: &Path, expected: Option<&Expectations>) -> Result<Summary> {
    let crds = CrdCatalog::vendored()?;
    let mut findings = expected
        .map(|expected| run_findings(expected, &crds))
        .unwrap_or_default();
    let mut summary = Summary::default();
    let manifests = root.join("manifests");
    let files = yaml_files(&manifests)?;
    if files.is_empty() {
        bail!("no manifest under {}", manifests.display());
    }
    for file in files {
        let source = relative(root, &file);
        let text = std::fs::read_to_string(&file)?;
        let bundle = expected.map(|expected| {
            let stated = stated_by_manifest(&manifests, &file).unwrap_or_else(|finding| {
                findings.add(&source, [finding]);
                Stated::generated(Some(Rollout::Protect))
            });
            (expected, stated)
        });
        match read_objects(&text) {
            Ok(objects) => {
                findings.add(&source, rendering_findings(&objects, bundle, &crds));
                summary.count(&source, &objects);
            }
            Err(error) => findings.add(
                &source,
                [Finding::new(
                    "the file",
                    FieldPath::root(),
                    format!("{error:#}"),
                )],
            ),
        }
    }
    conclude(findings, summary)
}

/// Everything wrong with the objects of one rendering: each on its own and, with `bundle`
/// (what it is compared with, and what its place states), all of them as a bundle.
pub fn rendering_findings(
    objects: &[Object],
    bundle: Option<(&Expectations, Stated)>,
    crds: &[CrdCatalog],
) -> Vec<Finding> {
    let mut findings: Vec<Finding> = objects
        .iter()
        .flat_map(|object| object_findings(object, crds))
        .collect();
    if let Some((expected, stated)) = bundle {
        findings.extend(bundle_findings(objects, expected, stated, crds));
    }
    findings
}

/// What is wrong once per run, whatever is rendered: the minimum Kubewarden version without
/// its CRDs, policies' metadata with two registry prefixes.
fn run_findings(expected: &Expectations, crds: &[CrdCatalog]) -> Findings {
    let mut findings = Findings::default();
    let minimum = format!("v{}", expected.values.minimum_kubewarden_version);
    if crds.first().is_none_or(|oldest| oldest.version != minimum) {
        findings.add(
            "deploy/bundle.yml",
            [Finding::new(
                "bundle values",
                FieldPath::parse_static("minimumKubewardenVersion"),
                format!(
                    "{minimum} has no vendored CRDs as the oldest version checked (vendored: {}): vendor them as e2e-tests/kubewarden-crds/PROVENANCE.md says",
                    crds.iter().map(|catalog| catalog.version.as_str()).collect::<Vec<_>>().join(", ")
                ),
            )],
        );
    }
    findings.add("policies", expected.modules.metadata_findings());
    findings
}

fn conclude(findings: Findings, summary: Summary) -> Result<Summary> {
    if findings.is_empty() {
        return Ok(summary);
    }
    let lines = findings.lines();
    bail!(
        "{} problem(s):\n{}\nChecked:\n{summary}",
        lines.len(),
        lines.join("\n")
    )
}

/// Every `*.yaml` and `*.yml` file under `dir`, sorted.
fn yaml_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path
                .extension()
                .is_some_and(|ext| ext == "yaml" || ext == "yml")
            {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// `path` relative to `root`, with `/` separators.
fn relative(root: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(root).unwrap_or(path);
    let text = relative.to_string_lossy().replace('\\', "/");
    if text.is_empty() {
        ".".to_owned()
    } else {
        text
    }
}
