//! The bundle in a checkout: every policy is a folder `policies/<name>/` holding a crate (the
//! workspace takes `policies/*` as members), discovered here and never listed. Its compiled
//! module is `dist/<name>.wasm`, its examples `policies/<name>/examples/`; the modules the
//! bundle deploys are pinned in `deploy/modules.yaml`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// What a policy folder holds for the tooling: the crate, what `make build` embeds
/// (`metadata.yml`, the README as usage), what `make generate` publishes (`pci.yml`,
/// `questions-ui.yml`), what `make bench` measures it with (`bench.json`) and what `make run`
/// and the end-to-end tests evaluate (`examples/`, documented in `examples/README.md`).
pub const POLICY_FILES: [&str; 9] = [
    "Cargo.toml",
    "src/lib.rs",
    "metadata.yml",
    "pci.yml",
    "README.md",
    "questions-ui.yml",
    "bench.json",
    "examples/README.md",
    "examples/settings.json",
];

/// A checkout of the bundle.
#[derive(Clone, Debug)]
pub struct Bundle {
    root: PathBuf,
}

impl Bundle {
    /// The checkout at `root` (the folder holding `policies/`).
    pub fn at(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The checkout's root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The policy names: the folders under `policies/` that hold a crate, sorted.
    pub fn policies(&self) -> Result<Vec<String>> {
        let dir = self.root.join("policies");
        let mut names = Vec::new();
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))?
        {
            let entry = entry?;
            if entry.path().join("Cargo.toml").is_file() {
                names.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        names.sort();
        Ok(names)
    }

    /// `policies/<name>/`.
    pub fn policy_dir(&self, name: &str) -> PathBuf {
        self.root.join("policies").join(name)
    }

    /// `dist/<name>.wasm`, the optimised, annotated module `make build` writes.
    pub fn module(&self, name: &str) -> PathBuf {
        self.root.join("dist").join(format!("{name}.wasm"))
    }

    /// `deploy/modules.yaml`, the module lock `make pin` writes ([`crate::module_lock`]).
    pub fn module_lock(&self) -> PathBuf {
        self.root.join("deploy").join("modules.yaml")
    }

    /// `deploy/`, the Kustomize bundle users apply.
    pub fn deploy_dir(&self) -> PathBuf {
        self.root.join("deploy")
    }

    /// `policies/<name>/examples/`.
    pub fn examples_dir(&self, name: &str) -> PathBuf {
        self.policy_dir(name).join("examples")
    }

    /// The [`POLICY_FILES`] that `policies/<name>/` lacks.
    pub fn missing_files(&self, name: &str) -> Vec<&'static str> {
        let dir = self.policy_dir(name);
        POLICY_FILES
            .into_iter()
            .filter(|file| !dir.join(file).is_file())
            .collect()
    }
}

/// The policy a module reference names: the last path segment without tag or digest,
/// `registry://host/path/<policy>:v1@sha256:…` → `<policy>` (`file://…/<policy>.wasm` too).
pub fn policy_of_module(reference: &str) -> Option<&str> {
    let last = reference.rsplit('/').next()?;
    let name = last.split([':', '@']).next()?;
    let name = name.strip_suffix(".wasm").unwrap_or(name);
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_is_a_folder_with_a_crate() {
        let root = std::env::temp_dir().join(format!("bundle-{}", std::process::id()));
        for (folder, crate_file) in [("b-policy", true), ("a-policy", true), ("notes", false)] {
            let dir = root.join("policies").join(folder);
            std::fs::create_dir_all(&dir).unwrap();
            if crate_file {
                std::fs::write(dir.join("Cargo.toml"), "[package]").unwrap();
            }
        }
        let bundle = Bundle::at(&root);
        assert_eq!(bundle.policies().unwrap(), vec!["a-policy", "b-policy"]);
        assert_eq!(bundle.module("a-policy"), root.join("dist/a-policy.wasm"));
        let missing = bundle.missing_files("a-policy");
        assert!(!missing.contains(&"Cargo.toml"));
        assert!(missing.contains(&"metadata.yml") && missing.contains(&"examples/README.md"));
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn module_references_name_their_policy() {
        for (module, policy) in [
            (
                "registry://ghcr.io/pci-policies/pod-security:v0.1.0",
                Some("pod-security"),
            ),
            (
                "registry://r/x/image-digest:v1@sha256:00",
                Some("image-digest"),
            ),
            (
                "file:///tmp/trusted-registries.wasm",
                Some("trusted-registries"),
            ),
            ("registry://r/x/", None),
        ] {
            assert_eq!(policy_of_module(module), policy, "{module}");
        }
    }
}
