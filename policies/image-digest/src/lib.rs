//! image-digest: every image pinned by digest, optionally resolved through the host
//! (PCI DSS container orchestration guidance 3.2). A tag can be moved; a digest cannot.
//!
//! This file is glue: the verdict on one image is in [`evaluate`], the host lookup in
//! [`lookup`], the settings in [`settings`].

pub mod evaluate;
pub mod lookup;
pub mod settings;

use std::marker::PhantomData;

use pci_shared::containers::ContainerRef;
use pci_shared::workload_images::{ImagePolicy, ImageVerdict};

use lookup::{DigestLookup, HostLookup, Lookups};
use settings::Settings;

/// The image-digest policy, asking `L` for digests.
pub struct ImageDigest<L: DigestLookup>(PhantomData<L>);

impl<L: DigestLookup> ImagePolicy for ImageDigest<L> {
    const NAME: &'static str = "image-digest";
    const PCI: &'static str = "3.2";
    const CONTROLS: &'static [&'static str] =
        &["digest", "reference", "resolve", "tagMatchesDigest"];
    type Settings = Settings;
    type Memo = Lookups;

    fn check_image(
        container: &ContainerRef<'_>,
        settings: &Settings,
        lookups: &mut Lookups,
    ) -> ImageVerdict {
        evaluate::check_image::<L>(
            container.name(),
            container.container.image.as_deref(),
            settings,
            lookups,
        )
    }

    /// The twin (`require`) refuses an unpinned image under `digest`: so does `resolve` when it
    /// leaves a running Pod's image unpinned.
    const UNPINNED_CONTROL: Option<&'static str> = Some("digest");

    fn asks_registry(settings: &Settings) -> bool {
        settings.mode == settings::Mode::Resolve
            || settings.check_tag_matches_digest != settings::TagCheck::Off
    }
}

pci_shared::export_policy!(ImageDigest<HostLookup>);

#[cfg(test)]
mod tests;
