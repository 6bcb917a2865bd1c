//! `pci-policies precompile`: the modules of a deployment and their compiled code, written into
//! a folder laid out as the scan's cache. Installed as `<prefix>/share/pci-policies` beside the
//! command (the release archives, the container image and `make install` do this), it lets a
//! first scan start without pulling a module or waiting for Cranelift.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use pci_host::host::precompiled_file;

use super::modules::{Modules, Puller};
use super::{policies, policy_sources};

/// Which policies to precompile, from where, and into which folder.
#[derive(Args)]
pub struct PrecompileArgs {
    /// The folder to write (`modules/` and `compiled/`), e.g. `<prefix>/share/pci-policies`.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// The deployment whose modules to precompile (default: the bundle's recommended one), as
    /// `scan --policies` reads it.
    #[arg(long, value_name = "FILE|DIR|-")]
    policies: Vec<PathBuf>,
    /// Local modules, used for a pinned reference only when they are the pinned module.
    #[arg(long, default_value = "dist")]
    modules: PathBuf,
    /// Plain HTTP to registries (local registries only).
    #[arg(long)]
    insecure: bool,
    /// Pull nothing: every module must be in --modules.
    #[arg(long)]
    offline: bool,
}

/// Loads (pulls, compiles) every module of the deployment into `--out` and writes the modules
/// there by digest; prints what it wrote.
pub fn precompile(args: &PrecompileArgs) -> Result<()> {
    let sources = policy_sources(&args.policies, &[])?;
    let pull = (!args.offline).then_some(Puller {
        insecure: args.insecure,
    });
    let mut modules = Modules::new(args.modules.clone(), args.out.clone(), pull, None)?
        .without_shipped()
        .with_dir_given(true);
    policies::read(&sources, &mut modules)?;
    let loaded = modules.loaded()?;
    for (reference, digest, bytes) in &loaded {
        let file = Modules::module_path(&args.out, digest);
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        std::fs::write(&file, bytes).with_context(|| format!("cannot write {}", file.display()))?;
        // Loading compiled it into --out already, unless that write failed.
        let compiled_dir = args.out.join("compiled");
        let mut compiled = precompiled_file(bytes, &compiled_dir);
        if !compiled.is_file() {
            compiled = modules.engine().precompile(bytes, &compiled_dir)?;
        }
        println!("{reference}: {} and {}", file.display(), compiled.display());
    }
    println!(
        "precompiled {} modules into {}",
        loaded.len(),
        args.out.display()
    );
    Ok(())
}
