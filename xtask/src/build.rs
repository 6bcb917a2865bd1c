//! Compile, optimise and annotate the policies.

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
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(&root)
        .args(["build", "--locked", "--release", "--target", TARGET]);
    for name in &names {
        command.args(["-p", name]);
    }
    run(&mut command, "cargo build of the policies")?;

    std::fs::create_dir_all(root.join("dist"))?;
    let engine = Engine::new()?;
    for name in &names {
        let raw = root
            .join("target")
            .join(TARGET)
            .join("release")
            .join(format!("{}.wasm", name.replace('-', "_")));
        let optimised = root.join("target").join(format!("{name}.opt.wasm"));
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

fn run(command: &mut Command, what: &str) -> Result<()> {
    let status = command
        .status()
        .with_context(|| format!("cannot start {what}"))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}
