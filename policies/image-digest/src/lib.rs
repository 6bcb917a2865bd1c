//! image-digest: every image pinned by digest, optionally resolved through the host
//! (PCI DSS container orchestration guidance 3.2). A tag can be moved; a digest cannot.
//!
//! This file is glue: the verdict on one image is in [`evaluate`], the host lookup in
//! [`lookup`], the settings in [`settings`].

pub mod evaluate;
pub mod lookup;
pub mod settings;

use std::marker::PhantomData;

use kubewarden_policy_sdk::wapc_guest::register_function;
use pci_shared::containers::all_containers;
use pci_shared::exception::apply_to_workload;
use pci_shared::input::InputError;
use pci_shared::patch::ObjectEditor;
use pci_shared::policy::{self, Policy, Target, object_value, read_workload};
use pci_shared::request::AdmissionRequest;
use pci_shared::response::Outcome;
use pci_shared::time::Timestamp;
use pci_shared::violation::{Violation, Violations};
use serde_json::Value;

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
        let workload = match read_workload(request)? {
            Target::Workload(workload) => workload,
            Target::NotApplicable(_) => return Ok(Outcome::default()),
        };
        let mut violations = Violations::new();
        let mut warnings = Vec::new();
        let mut pins = Vec::new();
        for container in all_containers(&workload.spec, &workload.spec_path) {
            let result = evaluate::check_image::<L>(
                container.name(),
                container.container.image.as_deref(),
                settings,
            );
            let path = container.path().field("image");
            for (control, message) in result.findings {
                violations.push(Violation {
                    path: path.clone(),
                    control,
                    container: Some(container.name().to_owned()),
                    message,
                    pci: PCI_REFERENCE,
                });
            }
            warnings.extend(result.warnings);
            if let Some(pinned) = result.pinned {
                pins.push((path, pinned));
            }
        }
        let namespace = request.namespace.as_deref();
        let report = apply_to_workload(
            Self::NAME,
            &settings.exceptions,
            violations,
            &workload,
            namespace,
            now,
        );
        let mut outcome = Outcome::from_exceptions(report);
        outcome.warnings.extend(warnings);
        if !pins.is_empty() && outcome.violations.is_empty() {
            outcome.mutated = pin_images(request, pins)?;
        }
        Ok(outcome)
    }
}

/// Rewrites only the `image` fields that were resolved; everything else stays as it came.
fn pin_images(
    request: &AdmissionRequest<'_>,
    pins: Vec<(pci_shared::path::FieldPath, String)>,
) -> Result<Option<Value>, InputError> {
    let mut editor = ObjectEditor::new(object_value(request)?);
    for (path, pinned) in pins {
        editor
            .set(&path, Value::String(pinned))
            .map_err(|error| InputError::new("object", error.to_string()))?;
    }
    Ok(editor.finish())
}

/// Registers the waPC operations.
#[unsafe(no_mangle)]
pub extern "C" fn wapc_init() {
    register_function("validate", policy::validate::<ImageDigest<HostLookup>>);
    register_function(
        "validate_settings",
        policy::validate_settings::<ImageDigest<HostLookup>>,
    );
    register_function(
        "protocol_version",
        kubewarden_policy_sdk::protocol_version_guest,
    );
}

#[cfg(test)]
mod tests;
