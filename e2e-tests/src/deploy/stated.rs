//! What each checked source states by where it is. Its rollout: `deploy/base` and
//! `deploy/overlays/protect` protect, `deploy/overlays/monitor` monitor, a component none (it
//! follows the overlay that adds it), an example the rollout of the one overlay its
//! kustomization names in `resources`; `manifests/` protect and `manifests/monitor/` monitor.
//! And whether it is an organisation's overlay (`deploy/examples/`), the only kind that may
//! narrow the system namespaces. Any other place is a finding: the check does not guess what a
//! folder should deploy.

use std::path::{Path, PathBuf};

use pci_shared::path::FieldPath;

use crate::deploy::bundle::{Rollout, Stated};
use crate::deploy::findings::Finding;
use crate::deploy::kustomize::KUSTOMIZATION_FILES;

/// Where a folder's rollout comes from, for findings.
const ROLLOUT: &str = "the rollout";

/// What the kustomization in `dir` states; `deploy` is the bundle's root.
pub fn stated_by_folder(deploy: &Path, dir: &Path) -> Result<Stated, Finding> {
    let relative = slashed(dir.strip_prefix(deploy).unwrap_or(dir));
    if let Some(rollout) = named(&relative) {
        return Ok(Stated::generated(Some(rollout)));
    }
    if relative.starts_with("components/") {
        return Ok(Stated::generated(None));
    }
    if relative.starts_with("examples/") {
        return rollout_of_resources(deploy, dir).map(|rollout| Stated {
            rollout: Some(rollout),
            organisation: true,
        });
    }
    Err(Finding::new(
        ROLLOUT,
        FieldPath::root(),
        format!(
            "the deploy check knows no rollout for the folder {relative:?}: it checks base, overlays/monitor, overlays/protect, components/* and examples/* (whose kustomization names one of the overlays in resources)"
        ),
    ))
}

/// What a file under `manifests` states: generated, of the rollout of its folder.
pub fn stated_by_manifest(manifests: &Path, file: &Path) -> Result<Stated, Finding> {
    let relative = slashed(file.strip_prefix(manifests).unwrap_or(file));
    let rollout = |rollout| Ok(Stated::generated(Some(rollout)));
    match relative.split_once('/') {
        None => rollout(Rollout::Protect),
        Some(("monitor", rest)) if !rest.contains('/') => rollout(Rollout::Monitor),
        _ => Err(Finding::new(
            ROLLOUT,
            FieldPath::root(),
            format!(
                "the deploy check knows no rollout for the manifest {relative:?}: manifests/ holds protect, manifests/monitor/ monitor"
            ),
        )),
    }
}

/// The rollout of a folder the bundle names: `base`, `overlays/protect`, `overlays/monitor`.
fn named(relative: &str) -> Option<Rollout> {
    match relative {
        "base" | "overlays/protect" => Some(Rollout::Protect),
        "overlays/monitor" => Some(Rollout::Monitor),
        _ => None,
    }
}

/// The rollout of the one named folder among the `resources` of the kustomization in `dir`.
fn rollout_of_resources(deploy: &Path, dir: &Path) -> Result<Rollout, Finding> {
    let at = FieldPath::parse_static("resources");
    let unreadable = |why: String| Finding::new(ROLLOUT, at.clone(), why);
    let file = KUSTOMIZATION_FILES
        .iter()
        .map(|name| dir.join(name))
        .find(|path| path.is_file())
        .ok_or_else(|| unreadable("no kustomization file".to_owned()))?;
    let text = std::fs::read_to_string(&file)
        .map_err(|error| unreadable(format!("cannot read {}: {error}", file.display())))?;
    let kustomization: yaml_serde::Value = yaml_serde::from_str(&text)
        .map_err(|error| unreadable(format!("{}: {error}", file.display())))?;
    let root = canonical(deploy);
    let mut rollouts: Vec<(String, Rollout)> = kustomization
        .get("resources")
        .and_then(yaml_serde::Value::as_sequence)
        .into_iter()
        .flatten()
        .filter_map(yaml_serde::Value::as_str)
        .filter_map(|resource| {
            let target = canonical(&dir.join(resource));
            let relative = slashed(target.strip_prefix(&root).ok()?);
            named(&relative).map(|rollout| (relative, rollout))
        })
        .collect();
    rollouts.dedup_by_key(|(_, rollout)| *rollout);
    match rollouts.as_slice() {
        [(_, rollout)] => Ok(*rollout),
        [] => Err(unreadable(
            "names none of base, overlays/monitor, overlays/protect: the check cannot tell which rollout this example deploys".to_owned(),
        )),
        several => Err(unreadable(format!(
            "names {}: an example deploys one rollout",
            several
                .iter()
                .map(|(folder, _)| folder.as_str())
                .collect::<Vec<_>>()
                .join(" and ")
        ))),
    }
}

/// `path` without `.` and `..`, as the file system resolves it when it exists.
fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// A relative path with `/` separators.
fn slashed(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_and_their_monitor_folder_state_their_rollouts() {
        let root = Path::new("/r/manifests");
        let of = |file: &str| stated_by_manifest(root, &root.join(file));
        assert_eq!(
            of("pci-policies.yaml"),
            Ok(Stated::generated(Some(Rollout::Protect)))
        );
        assert_eq!(
            of("monitor/pod-security.yaml"),
            Ok(Stated::generated(Some(Rollout::Monitor)))
        );
        assert_eq!(
            of("other/pod-security.yaml").unwrap_err().to_string(),
            "the rollout: the deploy check knows no rollout for the manifest \"other/pod-security.yaml\": manifests/ holds protect, manifests/monitor/ monitor"
        );
    }

    #[test]
    fn the_bundles_folders_state_theirs_by_name() {
        let root = Path::new("/r/deploy");
        let of = |folder: &str| stated_by_folder(root, &root.join(folder));
        let generated = |rollout| Ok(Stated::generated(rollout));
        assert_eq!(of("base"), generated(Some(Rollout::Protect)));
        assert_eq!(of("overlays/protect"), generated(Some(Rollout::Protect)));
        assert_eq!(of("overlays/monitor"), generated(Some(Rollout::Monitor)));
        assert_eq!(of("components/system-namespaces"), generated(None));
        assert_eq!(
            of("overlays/pinned").unwrap_err().to_string(),
            "the rollout: the deploy check knows no rollout for the folder \"overlays/pinned\": it checks base, overlays/monitor, overlays/protect, components/* and examples/* (whose kustomization names one of the overlays in resources)"
        );
    }
}
