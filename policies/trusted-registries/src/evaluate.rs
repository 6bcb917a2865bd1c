//! The verdict on one container image: parse, then deny lists, allow lists, denied tags.
//!
//! Deny wins: a reference matching `registries.deny` or `images.deny` is refused. When an allow
//! list is configured, a reference must match `registries.allow` *or* `images.allow` (an
//! external image can be trusted one by one without trusting its registry). A tag in
//! `tags.deny` is refused; a reference without tag or digest counts as `latest`, a reference
//! pinned by digest alone has no tag.

use pci_shared::glob::{SEGMENT, glob};
use pci_shared::image_reference::ImageReference;
use pci_shared::workload_images::{Finding, ImageVerdict};

use crate::settings::Settings;

/// Everything wrong with one container's `image` field.
pub fn check_image(image: Option<&str>, settings: &Settings) -> ImageVerdict {
    let reference = match ImageVerdict::parse(image) {
        Ok(reference) => reference,
        Err(verdict) => return verdict,
    };
    let image = image.unwrap_or_default();
    // The normalised reference only when it says more than the image as written.
    let normalised = reference.to_string();
    let shown = || {
        if normalised == image {
            format!("\"{image}\"")
        } else {
            format!("\"{image}\" ({normalised})")
        }
    };
    let mut findings = Vec::new();
    if let Some(entry) = settings
        .registries
        .deny
        .iter()
        .find(|e| e.0.matches(&reference))
    {
        findings.push(Finding::new(
            "registries",
            format!("{}: registry entry \"{}\" is denied", shown(), entry.0),
        ));
    }
    if let Some(entry) = settings
        .images
        .deny
        .iter()
        .find(|e| e.0.matches(&reference))
    {
        findings.push(Finding::new(
            "images",
            format!("{}: image pattern \"{}\" is denied", shown(), entry.0),
        ));
    }
    findings.extend(untrusted(&reference, settings, &shown));
    findings.extend(denied_tag(&reference, settings, &shown));
    ImageVerdict {
        findings,
        ..ImageVerdict::default()
    }
}

/// The finding of a reference no allow list matches, when an allow list is configured.
fn untrusted(
    reference: &ImageReference,
    settings: &Settings,
    shown: &dyn Fn() -> String,
) -> Option<Finding> {
    let allow_configured =
        !settings.registries.allow.is_empty() || !settings.images.allow.is_empty();
    let allowed = settings
        .registries
        .allow
        .iter()
        .any(|e| e.0.matches(reference))
        || settings.images.allow.iter().any(|e| e.0.matches(reference));
    if !allow_configured || allowed {
        return None;
    }
    let control = if settings.registries.allow.is_empty() {
        "images"
    } else {
        "registries"
    };
    Some(Finding::new(
        control,
        format!(
            "{}: untrusted source; allowed: {}",
            shown(),
            allowed_summary(settings)
        ),
    ))
}

/// The finding of a tag `tags.deny` refuses (no tag and no digest is `latest`).
fn denied_tag(
    reference: &ImageReference,
    settings: &Settings,
    shown: &dyn Fn() -> String,
) -> Option<Finding> {
    let tag = reference.effective_tag()?;
    let entry = settings
        .tags
        .deny
        .iter()
        .find(|t| glob(&t.0, tag, SEGMENT))?;
    let implied = if reference.tag().is_none() {
        " (no tag and no digest means latest)"
    } else {
        ""
    };
    Some(Finding::new(
        "tags",
        format!(
            "{}: tag \"{tag}\" is denied by \"{}\"{implied}",
            shown(),
            entry.0
        ),
    ))
}

/// The allowed registries, then the allowed image globs (a registry has no `/`-separated
/// repository, an image glob has).
fn allowed_summary(settings: &Settings) -> String {
    let registries = settings.registries.allow.iter().map(|e| e.0.to_string());
    let images = settings.images.allow.iter().map(|e| e.0.to_string());
    registries.chain(images).collect::<Vec<_>>().join(", ")
}
