//! Where things are in the repository: the checkout this xtask belongs to, as a
//! [`Bundle`] (policies discovered from `policies/`, modules in `dist/`).

use std::path::{Path, PathBuf};

use pci_host::bundle::Bundle;

/// The repository root (the parent of this crate).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// The bundle in this checkout.
pub fn bundle() -> Bundle {
    Bundle::at(root())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A policy is its folder: everything the tooling reads must be there, and its crate must
    /// export its policy type and build as a wasm module.
    #[test]
    fn every_policy_folder_has_what_the_tooling_needs() {
        let bundle = bundle();
        let policies = bundle.policies().unwrap();
        assert!(policies.len() >= 5, "{policies:?}");
        for name in &policies {
            let missing = bundle.missing_files(name);
            assert!(missing.is_empty(), "policies/{name} lacks {missing:?}");
            let dir = bundle.policy_dir(name);
            let read = |file: &str| std::fs::read_to_string(dir.join(file)).unwrap();
            assert!(
                read("Cargo.toml").contains(r#"crate-type = ["cdylib", "rlib"]"#),
                "policies/{name}/Cargo.toml must build a cdylib (the wasm) and an rlib (tests)"
            );
            assert!(
                read("Cargo.toml").contains(&format!("name = \"{name}\"")),
                "policies/{name}: the crate is named after its folder"
            );
            assert!(
                read("src/lib.rs").contains("pci_shared::export_policy!("),
                "policies/{name}/src/lib.rs must name its policy with pci_shared::export_policy!"
            );
            let bench: serde_json::Value = serde_json::from_str(&read("bench.json")).unwrap();
            assert!(
                bench["settings"].is_object(),
                "policies/{name}/bench.json needs the `settings` to benchmark with"
            );
        }
    }
}
