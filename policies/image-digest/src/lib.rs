//! image-digest: every image pinned by digest, optionally resolved through the host
//! (PCI DSS container orchestration guidance 3.2). A tag can be moved; a digest cannot.
//!
//! This file is glue: the verdict on one image is in [`evaluate`], the host lookup in
//! [`lookup`], the settings in [`settings`].

pub mod evaluate;
pub mod lookup;
pub mod settings;

use std::marker::PhantomData;

use pci_shared::images::ImagePolicy;
use pci_shared::input::InputError;
use pci_shared::policy::{self, Policy};
use pci_shared::request::AdmissionRequest;
use pci_shared::response::Outcome;
use pci_shared::time::Timestamp;

use lookup::{DigestLookup, HostLookup};
use settings::Settings;

/// The PCI guidance this policy enforces.
pub const PCI_REFERENCE: &str = "3.2";

/// The control ids: messages and exceptions name them.
pub const CONTROLS: [&str; 4] = ["digest", "reference", "resolve", "tagMatchesDigest"];

/// The image-digest policy, asking `L` for digests.
pub struct ImageDigest<L: DigestLookup>(PhantomData<L>);

impl<L: DigestLookup> Policy for ImageDigest<L> {
    const NAME: &'static str = "image-digest";
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
            evaluate::check_image::<L>(
                container.name(),
                container.container.image.as_deref(),
                settings,
            )
        })
    }
}

/// Registers the waPC operations.
#[unsafe(no_mangle)]
pub extern "C" fn wapc_init() {
    policy::register::<ImageDigest<HostLookup>>();
}

#[cfg(test)]
mod tests;
