//! SBOMs of the policies' Rust dependencies, made by `cargo cyclonedx` (CycloneDX's own tool,
//! installed by `make setup`) from Cargo.lock for the wasm target: what is compiled into each
//! module, not the host's or the tooling's dependencies.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// The file stem the tool writes next to every workspace member's Cargo.toml.
const FILE_STEM: &str = "pci-release-sbom";
const WASM_TARGET: &str = "wasm32-wasip1";

/// The CycloneDX 1.5 JSON SBOM of each policy in `policies`, by name.
pub fn cyclonedx(root: &Path, policies: &[String]) -> Result<BTreeMap<String, Value>> {
    let status = Command::new("cargo")
        .current_dir(root)
        .args(["cyclonedx", "--format", "json", "--spec-version", "1.5"])
        .args([
            "--target",
            WASM_TARGET,
            "--override-filename",
            FILE_STEM,
            "-q",
        ])
        .status()
        .context("cannot run `cargo cyclonedx` (run `make setup`)")?;
    let file_name = format!("{FILE_STEM}.json");
    let written = written_files(root, &file_name);
    let mut sboms = BTreeMap::new();
    let result = (|| {
        if !status.success() {
            bail!("`cargo cyclonedx` failed ({status})");
        }
        for policy in policies {
            let path = root.join("policies").join(policy).join(&file_name);
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cargo cyclonedx wrote no {}", path.display()))?;
            let sbom: Value = serde_json::from_str(&text)
                .with_context(|| format!("{} is not JSON", path.display()))?;
            if sbom["bomFormat"] != "CycloneDX" {
                bail!("{} is not a CycloneDX SBOM", path.display());
            }
            sboms.insert(policy.clone(), sbom);
        }
        Ok(sboms)
    })();
    // The tool writes one file per workspace member: none is left in the sources.
    for path in written {
        let _ = std::fs::remove_file(path);
    }
    result
}

/// The files named `file_name` in the workspace members' folders (one and two levels down).
fn written_files(root: &Path, file_name: &str) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    for depth in 0..3 {
        let mut next = Vec::new();
        for dir in dirs {
            let candidate = dir.join(file_name);
            if candidate.is_file() {
                found.push(candidate);
            }
            if depth < 2
                && let Ok(entries) = std::fs::read_dir(&dir)
            {
                next.extend(
                    entries
                        .filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|p| p.is_dir() && !p.ends_with("target") && !p.ends_with(".git")),
                );
            }
        }
        dirs = next;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace;

    /// The SBOM lists what the module is built from (the shared crate, serde_json) and not
    /// the host's engine, and leaves no file behind.
    #[test]
    fn the_sbom_lists_the_module_dependencies() {
        let root = workspace::root();
        let sboms = cyclonedx(&root, &["image-digest".to_owned()]).unwrap();
        let sbom = &sboms["image-digest"];
        assert_eq!(sbom["specVersion"], "1.5");
        assert_eq!(sbom["metadata"]["component"]["name"], "image-digest");
        let names: Vec<&str> = sbom["components"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["name"].as_str())
            .collect();
        for expected in ["pci-shared", "serde_json", "wapc-guest"] {
            assert!(names.contains(&expected), "{expected}: {names:?}");
        }
        assert!(!names.contains(&"wasmtime"), "{names:?}");
        assert!(written_files(&root, &format!("{FILE_STEM}.json")).is_empty());
    }
}
