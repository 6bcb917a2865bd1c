//! image-signatures: cosign signature verification through the Kubewarden host
//! (`oci/v2/verify`) for every container image (PCI DSS container orchestration guidance 3.2).
//!
//! Unlike upstream `verify-image-signatures`: each image is resolved once to one digest and every
//! rule, key and identity is verified against that digest (the one pinned); public keys verify
//! one by one against a threshold of distinct keys (key rotation works); rules match normalised
//! references (`nginx` cannot escape a `docker.io/library/*` rule); and an image no rule covers
//! is rejected unless configured otherwise. This file is glue: the verdict is in [`evaluate`],
//! the rules compiled once per settings in [`plan`], the host calls in [`verifier`].

pub mod certificate;
pub mod der;
pub mod evaluate;
pub mod pem;
pub mod plan;
pub mod public_key;
pub mod rule;
pub mod settings;
pub mod verifier;

use std::marker::PhantomData;

use pci_shared::containers::ContainerRef;
use pci_shared::workload_images::{ImagePolicy, ImageVerdict};

use evaluate::Answers;
use settings::Settings;
use verifier::{HostSignatures, SignatureHost};

/// The image-signatures policy, verifying through `H`.
pub struct ImageSignatures<H: SignatureHost>(PhantomData<H>);

impl<H: SignatureHost> ImagePolicy for ImageSignatures<H> {
    const NAME: &'static str = "image-signatures";
    const PCI: &'static str = "3.2";
    const CONTROLS: &'static [&'static str] = &["signature", "unmatched", "reference"];
    type Settings = Settings;
    type Memo = Answers;

    fn check_image(
        container: &ContainerRef<'_>,
        settings: &Settings,
        answers: &mut Answers,
    ) -> ImageVerdict {
        evaluate::check_image::<H>(
            container.name(),
            container.container.image.as_deref(),
            settings,
            answers,
        )
    }

    fn asks_registry(_settings: &Settings) -> bool {
        true
    }
}

pci_shared::export_policy!(ImageSignatures<HostSignatures>);

#[cfg(test)]
mod tests;
