//! `deploy/`, the Kustomize bundle: `base/` (the PolicyServer, its RBAC, PodDisruptionBudget
//! and verification config, every policy and group), the `monitor` and `protect` overlays, the
//! `system-namespaces` Component and the optional `monitoring`, `service-monitor` and
//! `evidence-schedule` Components, generated from `deploy/bundle.yml` (hand-written), the module
//! lock `deploy/modules.yaml`, the policies' sources and `groups/`. `deploy/README.md` and `deploy/examples/` are hand-written.

pub mod base;
pub mod bundle;
pub mod evidence_schedule;
pub mod fields;
pub mod kustomize;
pub mod lock;
pub mod monitoring;
pub mod policy_server;
pub mod rbac;
pub mod system;

use anyhow::Result;

use super::GeneratedFile;
use super::manifests::Rollout;
use super::policy::PolicySources;
use base::Sources;

/// The generated files of `deploy/`, every module named by `module`.
pub fn files(
    sources: &Sources<'_>,
    module: &dyn Fn(&PolicySources) -> Result<String>,
) -> Result<Vec<GeneratedFile>> {
    let base = base::files(sources, Rollout::Protect, module)?;
    let listed: Vec<String> = base.iter().map(|file| file.path.clone()).collect();
    let system_file = "pod-security-system.yaml";
    let system_manifest = system::manifest(sources.bundle, sources.policies, module)?;
    let monitoring = monitoring::files(sources.bundle, &base, &system_manifest)?;
    let mut files: Vec<GeneratedFile> = base
        .into_iter()
        .map(|file| GeneratedFile {
            path: format!("deploy/base/{}", file.path),
            contents: file.text,
        })
        .collect();
    files.push(GeneratedFile {
        path: "deploy/base/kustomization.yaml".into(),
        contents: kustomize::base(&listed, &sources.bundle.minimum_kubewarden_version)?,
    });
    files.push(GeneratedFile {
        path: "deploy/overlays/monitor/kustomization.yaml".into(),
        contents: kustomize::overlay(
            "monitor",
            "Ignore",
            "# The first step of a rollout (docs/rollout.md): every policy and group in monitor mode with\n# failurePolicy Ignore; every verdict is logged and reported, nothing is rejected. The system\n# namespaces' baseline policy (components/system-namespaces) is in monitor mode too.\n",
        )?,
    });
    files.push(GeneratedFile {
        path: "deploy/overlays/protect/kustomization.yaml".into(),
        contents: kustomize::overlay(
            "protect",
            "Fail",
            "# The PCI deployment: every policy and group in protect mode, failing closed (what pci.yml says,\n# written out so an overlay built on this one states it). The system namespaces' baseline policy\n# (components/system-namespaces) protects too, keeping deploy/bundle.yml's failurePolicy.\n",
        )?,
    });
    files.push(GeneratedFile {
        path: format!("deploy/components/system-namespaces/{system_file}"),
        contents: system_manifest,
    });
    files.push(GeneratedFile {
        path: "deploy/components/system-namespaces/kustomization.yaml".into(),
        contents: kustomize::system_component(system_file)?,
    });
    files.extend(monitoring);
    files.extend(evidence_schedule::files(sources.bundle)?);
    Ok(files)
}

#[cfg(test)]
mod tests;
