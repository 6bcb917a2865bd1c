//! The verdict on one container image, and the pinned image when it is resolved.

use pci_shared::host_error;
use pci_shared::image_reference::{Digest, ImageReference};
use pci_shared::workload_images::{Finding, ImageVerdict};

use crate::lookup::{self, DigestLookup, Lookups};
use crate::settings::{Mode, Settings, TagCheck};

/// Checks (and in `resolve` mode pins) the image of container `name`.
pub fn check_image<L: DigestLookup>(
    name: &str,
    image: Option<&str>,
    settings: &Settings,
    lookups: &mut Lookups,
) -> ImageVerdict {
    let reference = match ImageVerdict::parse(image) {
        Ok(reference) => reference,
        Err(verdict) => return verdict,
    };
    let image = image.unwrap_or_default();
    let mut result = ImageVerdict::default();
    match reference.digest() {
        Some(digest) => check_pinned::<L>(
            name,
            image,
            &reference,
            digest,
            settings,
            lookups,
            &mut result,
        ),
        None if settings.mode == Mode::Require => result.findings.push(Finding::new(
            "digest",
            format!(
                "\"{image}\" is not pinned by digest; pin it as {}@{}:<digest>",
                reference.name(),
                settings.preferred_algorithm()
            ),
        )),
        None => resolve::<L>(image, &reference, settings, lookups, &mut result),
    }
    result
}

fn check_pinned<L: DigestLookup>(
    name: &str,
    image: &str,
    reference: &ImageReference,
    digest: &Digest,
    settings: &Settings,
    lookups: &mut Lookups,
    result: &mut ImageVerdict,
) {
    if !settings.allows(digest.algorithm) {
        result.findings.push(Finding::new(
            "digest",
            format!(
                "\"{image}\" is pinned with {}; allowed algorithms: {}",
                digest.algorithm.name(),
                settings.allowed_list()
            ),
        ));
    }
    let Some(tag) = reference.tag() else { return };
    if settings.check_tag_matches_digest == TagCheck::Off {
        return;
    }
    let tagged = reference.tagged_name();
    let problem = match lookup::manifest_digest::<L>(lookups, tagged.clone()) {
        Ok(current) if current == digest.to_string() => return,
        Ok(current) => Finding {
            control: "tagMatchesDigest",
            message: format!(
                "\"{image}\": tag {tag} has moved to another digest; pin the digest it points to now, or drop the tag"
            ),
            detail: Some(format!(
                "{tagged} now points to {current}, the image pins {digest}"
            )),
        },
        Err(error) => Finding {
            control: "tagMatchesDigest",
            message: format!(
                "\"{image}\": cannot check what tag {tag} points to: {}",
                host_error::classify(
                    &error,
                    &[
                        (image, "<image>"),
                        (&tagged, "<image>"),
                        (&digest.to_string(), "<digest>")
                    ]
                )
                .lookup_phrase()
            ),
            detail: Some(host_error::trimmed(&error)),
        },
    };
    match settings.check_tag_matches_digest {
        TagCheck::Reject => result.findings.push(problem),
        _ => result.warnings.push(format!(
            "image-digest: container \"{name}\": {}{}",
            problem.message,
            problem
                .detail
                .map_or_else(String::new, |detail| format!(" ({detail})"))
        )),
    }
}

fn resolve<L: DigestLookup>(
    image: &str,
    reference: &ImageReference,
    settings: &Settings,
    lookups: &mut Lookups,
    result: &mut ImageVerdict,
) {
    let tagged = reference.tagged_name();
    let resolved = lookup::manifest_digest::<L>(lookups, tagged.clone()).and_then(|text| {
        Digest::parse(&text)
            .map_err(|reason| format!("the host answered an invalid digest \"{text}\": {reason}"))
    });
    match resolved {
        Err(error) => result.findings.push(Finding {
            control: "resolve",
            message: format!(
                "cannot resolve \"{image}\" to a digest: {}",
                host_error::classify(&error, &[(image, "<image>"), (&tagged, "<image>")])
                    .lookup_phrase()
            ),
            detail: Some(format!("{tagged}: {}", host_error::trimmed(&error))),
        }),
        Ok(digest) if !settings.allows(digest.algorithm) => result.findings.push(Finding::new(
            "resolve",
            format!(
                "\"{image}\" resolves to a {} digest; allowed algorithms: {}",
                digest.algorithm.name(),
                settings.allowed_list()
            ),
        )),
        Ok(digest) => {
            result.pinned = Some(reference.pinned_text(image, digest));
        }
    }
}
