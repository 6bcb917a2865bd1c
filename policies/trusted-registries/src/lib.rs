//! trusted-registries: images come from registries and repositories the organisation trusts
//! (PCI DSS container orchestration guidance 3.3), matched on exact, normalised references.
//!
//! This file is glue: the verdict on one image is in [`evaluate`], the settings in [`settings`].

pub mod evaluate;
pub mod settings;

use pci_shared::containers::ContainerRef;
use pci_shared::workload_images::{ImagePolicy, ImageVerdict};

use settings::Settings;

/// The trusted-registries policy.
pub struct TrustedRegistries;

impl ImagePolicy for TrustedRegistries {
    const NAME: &'static str = "trusted-registries";
    const PCI: &'static str = "3.3";
    const CONTROLS: &'static [&'static str] = &["registries", "images", "tags", "reference"];
    type Settings = Settings;
    type Memo = ();

    fn check_image(container: &ContainerRef<'_>, settings: &Settings, _: &mut ()) -> ImageVerdict {
        evaluate::check_image(container.container.image.as_deref(), settings)
    }
}

pci_shared::export_policy!(TrustedRegistries);

#[cfg(test)]
mod tests;
