//! trusted-registries: images come from registries and repositories the organisation trusts
//! (PCI DSS container orchestration guidance 3.3), matched on exact, normalised references.
//!
//! This file is glue: the verdict on one image is in [`evaluate`], the settings in [`settings`].

pub mod evaluate;
pub mod settings;

use pci_shared::images::ImagePolicy;
use pci_shared::input::InputError;
use pci_shared::policy::{self, Policy};
use pci_shared::request::AdmissionRequest;
use pci_shared::response::Outcome;
use pci_shared::time::Timestamp;

use settings::Settings;

/// The PCI guidance this policy enforces.
pub const PCI_REFERENCE: &str = "3.3";

/// The control ids: messages and exceptions name them.
pub const CONTROLS: [&str; 4] = ["registries", "images", "tags", "reference"];

/// The trusted-registries policy.
pub struct TrustedRegistries;

impl Policy for TrustedRegistries {
    const NAME: &'static str = "trusted-registries";
    type Settings = Settings;

    fn evaluate(
        request: &AdmissionRequest<'_>,
        settings: &Settings,
        now: Timestamp,
    ) -> Result<Outcome, InputError> {
        let policy = ImagePolicy {
            name: Self::NAME,
            pci: PCI_REFERENCE,
            exceptions: &settings.exceptions,
            now,
        };
        policy.evaluate(request, |container| {
            evaluate::check_image(container.container.image.as_deref(), settings)
        })
    }
}

/// Registers the waPC operations.
#[unsafe(no_mangle)]
pub extern "C" fn wapc_init() {
    policy::register::<TrustedRegistries>();
}

#[cfg(test)]
mod tests;
