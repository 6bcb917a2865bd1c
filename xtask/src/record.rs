//! `make record`: regenerate the recorded replay fixtures from live runs against a real registry.

use std::sync::Arc;

use anyhow::Result;
use pci_host::host::Engine;
use pci_host::oci::read_module;
use pci_host::recording::record_all;

use crate::workspace;

/// Records every case into `policies/<policy>/test_data/recorded/`.
pub fn record() -> Result<()> {
    let engine = Engine::new()?;
    let root = workspace::root();
    let load = |name: &str| {
        Ok(Arc::new(
            engine.load(&read_module(&workspace::bundle().module(name))?)?,
        ))
    };
    for path in record_all(&root, &load)? {
        println!(
            "recorded {}",
            path.strip_prefix(&root).unwrap_or(&path).display()
        );
    }
    Ok(())
}
