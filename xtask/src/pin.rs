//! `make pin`: the module lock `deploy/modules.yaml` from `dist/`. Each reference is
//! `registry://<ociUrl>:v<version>@sha256:<hex>`: registry and version from the module's
//! metadata (built from `metadata.yml`), the digest that of the OCI manifest `make publish`
//! pushes for the module, computed here without a registry. The generated files that follow
//! the lock (deploy/, manifests/) are written next.

use std::process::Command;

use anyhow::{Context, Result};
use pci_host::publish::{plan_bundle, planned_lock};

use crate::{generate, workspace};

/// Writes the lock, then every generated file.
pub fn pin() -> Result<()> {
    let bundle = workspace::bundle();
    let lock = planned_lock(&plan_bundle(&bundle, None, None)?)?;
    let prefix = lock.registry_prefix()?;
    let path = bundle.module_lock();
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&path, lock.render(&header(&toolchain())))
        .with_context(|| format!("cannot write {}", path.display()))?;
    for (policy, module) in lock.modules() {
        println!("{policy}: {module}");
    }
    println!(
        "pinned {} modules under {prefix} in {}",
        lock.modules().count(),
        path.strip_prefix(bundle.root()).unwrap_or(&path).display()
    );
    generate::write()
}

/// What the lock says about itself.
fn header(toolchain: &str) -> String {
    format!(
        "The modules deploy/ and manifests/ deploy, one per policy. Written by `make pin` (xtask pin)
from dist/: each digest is the sha256 of the OCI manifest `make publish` pushes for
dist/<policy>.wasm, computed without a registry; registry and version come from each policy's
metadata.yml (io.kubewarden.policy.ociUrl, io.kubewarden.policy.version). Do not edit: after a
change that reaches a module, run `make pin` and commit. The release pushes only these digests.
Pinned with: {toolchain}.
Another rustc or wasm-opt builds other bytes, which the release then refuses to push."
    )
}

/// The versions of the tools the modules' bytes depend on.
fn toolchain() -> String {
    let version = |program: &str| {
        Command::new(program)
            .arg("--version")
            .output()
            .ok()
            .filter(|output| output.status.success())
            .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
            .unwrap_or_else(|| format!("{program} (version unknown)"))
    };
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    format!("{} and {}", version(&rustc), version("wasm-opt"))
}
