//! image-signatures: cosign signature verification through the Kubewarden host
//! (`oci/v2/verify`) for every container image (PCI DSS container orchestration guidance 3.2).
//!
//! Unlike upstream `verify-image-signatures`: public keys verify one by one against a threshold
//! (key rotation works), rules match normalised references (`nginx` cannot escape a
//! `docker.io/library/*` rule), and an image no rule covers is rejected unless configured
//! otherwise. This file is glue: the verdict is in [`evaluate`], the host calls in [`verifier`].

pub mod evaluate;
pub mod pem;
pub mod settings;
pub mod verifier;

use std::marker::PhantomData;

use pci_shared::images::ImagePolicy;
use pci_shared::input::InputError;
use pci_shared::policy::{self, Policy};
use pci_shared::request::AdmissionRequest;
use pci_shared::response::Outcome;
use pci_shared::time::Timestamp;

use settings::Settings;
use verifier::{HostSignatures, SignatureHost};

/// The PCI guidance this policy enforces.
pub const PCI_REFERENCE: &str = "3.2";

/// The control ids: messages and exceptions name them.
pub const CONTROLS: [&str; 3] = ["signature", "unmatched", "reference"];

/// The image-signatures policy, verifying through `H`.
pub struct ImageSignatures<H: SignatureHost>(PhantomData<H>);

impl<H: SignatureHost> Policy for ImageSignatures<H> {
    const NAME: &'static str = "image-signatures";
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
            evaluate::check_image::<H>(
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
    policy::register::<ImageSignatures<HostSignatures>>();
}

#[cfg(test)]
mod tests;
