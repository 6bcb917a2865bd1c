//! Compile, optimise and annotate the policies.
//!
//! The modules are reproducible: their bytes depend on the sources, Cargo.lock and the
//! toolchain (rustc, wasm-opt), not on where the checkout or Cargo's home is, so the digest
//! `make pin` computes here is the one a release built elsewhere pushes.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use pci_host::annotate::annotate_file;
use pci_host::host::Engine;

use crate::workspace;

pub const TARGET: &str = "wasm32-wasip1";

/// Features Rust 1.95 emits for wasm32-wasip1 that binaryen must be told about.
pub const WASM_OPT_FEATURES: [&str; 6] = [
    "--enable-bulk-memory",
    "--enable-sign-ext",
    "--enable-mutable-globals",
    "--enable-nontrapping-float-to-int",
    "--enable-multivalue",
    "--enable-reference-types",
];

/// Builds `dist/<name>.wasm` for each requested policy (all when empty).
pub fn build(requested: &[String]) -> Result<()> {
    let all = workspace::bundle().policies()?;
    let names: Vec<String> = if requested.is_empty() {
        all.clone()
    } else {
        requested.to_vec()
    };
    if let Some(unknown) = names.iter().find(|n| !all.contains(n)) {
        bail!("unknown policy {unknown}; policies: {}", all.join(", "));
    }
    let root = workspace::root();
    let mut command = wasm_build(&root)?;
    for name in &names {
        command.args(["-p", name]);
    }
    run(&mut command, "cargo build of the policies")?;

    std::fs::create_dir_all(root.join("dist"))?;
    let target_dir = target_dir(&root)?;
    let engine = Engine::new()?;
    for name in &names {
        let raw = target_dir
            .join(TARGET)
            .join("release")
            .join(format!("{}.wasm", name.replace('-', "_")));
        let optimised = target_dir.join(format!("{name}.opt.wasm"));
        let mut wasm_opt = Command::new("wasm-opt");
        wasm_opt
            .arg("-O3")
            .args(WASM_OPT_FEATURES)
            .arg(&raw)
            .arg("-o")
            .arg(&optimised);
        run(
            &mut wasm_opt,
            "wasm-opt (Debian package binaryen; `make setup` installs it)",
        )?;
        let policy_dir = root.join("policies").join(name);
        let output = workspace::bundle().module(name);
        annotate_file(
            &engine,
            &optimised,
            &policy_dir.join("metadata.yml"),
            Some(&policy_dir.join("README.md")),
            &output,
        )?;
        let sizes =
            [raw, optimised, output.clone()].map(|p| std::fs::metadata(p).map_or(0, |m| m.len()));
        println!(
            "{name}: {} bytes raw, {} optimised, {} annotated -> {}",
            sizes[0],
            sizes[1],
            sizes[2],
            output.strip_prefix(&root).unwrap_or(&output).display()
        );
    }
    Ok(())
}

/// `cargo build --release --target wasm32-wasip1` in `root`, with the paths rustc would embed
/// (panic locations of dependencies name their source file) remapped: Cargo's home to
/// `/cargo-home`, the checkout to `/pci-policies`. The flags go to the wasm target only
/// (`target.wasm32-wasip1.rustflags`), so build scripts and proc macros, and every host
/// artifact's cache, are untouched. `RUSTFLAGS` would replace them, so it is refused.
pub fn wasm_build(root: &Path) -> Result<Command> {
    for variable in ["RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS"] {
        if std::env::var_os(variable).is_some_and(|value| !value.is_empty()) {
            bail!(
                "{variable} is set: cargo would then ignore target.{TARGET}.rustflags, which remap this machine's paths out of the modules (they would not be reproducible, and their digests would not be the pinned ones); unset it, or put the flags in target.{TARGET}.rustflags of a Cargo config"
            );
        }
    }
    let flags = remap_path_prefixes(root, &cargo_home()?);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(root)
        .arg("--config")
        .arg(format!(
            "target.{TARGET}.rustflags={}",
            serde_json::to_string(&flags)?
        ))
        .args(["build", "--locked", "--release", "--target", TARGET]);
    Ok(command)
}

/// `--remap-path-prefix` flags for the checkout and Cargo's home, each as given and, when it
/// differs, canonical (a symlinked home). rustc applies the last mapping that matches: the
/// home comes last, so a home inside the checkout (a CI cache) still maps to `/cargo-home`.
fn remap_path_prefixes(root: &Path, cargo_home: &Path) -> Vec<String> {
    let mut flags = Vec::new();
    for (path, to) in [(root, "/pci-policies"), (cargo_home, "/cargo-home")] {
        let mut forms = vec![path.to_path_buf()];
        if let Ok(canonical) = path.canonicalize()
            && canonical != path
        {
            forms.push(canonical);
        }
        for form in forms {
            flags.push(format!("--remap-path-prefix={}={to}", form.display()));
        }
    }
    flags
}

/// Where cargo writes the build (`CARGO_TARGET_DIR`, `build.target-dir`, else `target/`), as
/// `cargo metadata` says.
fn target_dir(root: &Path) -> Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(root)
        .args(["metadata", "--format-version", "1", "--no-deps", "--locked"])
        .output()
        .context("cannot start cargo metadata")?;
    if !output.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).context("cargo metadata printed no JSON")?;
    metadata["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .context("cargo metadata names no target_directory")
}

/// Cargo's home: `CARGO_HOME`, else `~/.cargo`, as cargo finds it.
fn cargo_home() -> Result<PathBuf> {
    if let Some(home) = std::env::var_os("CARGO_HOME").filter(|home| !home.is_empty()) {
        return Ok(PathBuf::from(home));
    }
    let home = std::env::var_os("HOME")
        .filter(|home| !home.is_empty())
        .context("neither CARGO_HOME nor HOME is set: cannot tell where Cargo's home is")?;
    Ok(PathBuf::from(home).join(".cargo"))
}

fn run(command: &mut Command, what: &str) -> Result<()> {
    let status = command
        .status()
        .with_context(|| format!("cannot start {what}"))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checkout_and_cargo_home_are_remapped_home_last() {
        let flags = remap_path_prefixes(
            Path::new("/nowhere/checkout"),
            Path::new("/nowhere/checkout/.cargo"),
        );
        assert_eq!(
            flags,
            [
                "--remap-path-prefix=/nowhere/checkout=/pci-policies",
                "--remap-path-prefix=/nowhere/checkout/.cargo=/cargo-home",
            ]
        );
    }
}
