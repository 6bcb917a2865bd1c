//! The verdict on one container image: every rule that covers it must pass.

use pci_shared::image_reference::Digest;
use pci_shared::workload_images::ImageVerdict;

use crate::settings::{Rule, Settings, Unmatched};
use crate::verifier::{SignatureHost, Verifier, VerifyRequest};

/// Verifies the image of container `name` against every rule covering it.
pub fn check_image<H: SignatureHost>(
    name: &str,
    image: Option<&str>,
    settings: &Settings,
) -> ImageVerdict {
    let reference = match ImageVerdict::parse(image) {
        Ok(reference) => reference,
        Err(verdict) => return verdict,
    };
    let image = image.unwrap_or_default();
    let mut result = ImageVerdict::default();
    let normalised = reference.to_string();
    let rules: Vec<(usize, &Rule)> = settings
        .rules
        .iter()
        .enumerate()
        .filter(|(_, rule)| {
            rule.images
                .iter()
                .any(|pattern| pattern.0.matches(&reference))
        })
        .collect();
    if rules.is_empty() {
        match settings.unmatched_images {
            Unmatched::Reject => result.findings.push((
                "unmatched",
                format!("\"{image}\" ({normalised}) matches no signature rule, and unmatchedImages is reject"),
            )),
            Unmatched::Accept => result.warnings.push(format!(
                "image-signatures: container \"{name}\": \"{image}\" matches no signature rule and is accepted unverified (unmatchedImages: accept)"
            )),
        }
        return result;
    }
    let mut verified_digest = None;
    for (index, rule) in rules {
        let verifier = match rule.verifier() {
            Ok(verifier) => verifier,
            Err(reason) => {
                result
                    .findings
                    .push(("signature", format!("rules[{index}] {reason}")));
                continue;
            }
        };
        match verify::<H>(&normalised, &verifier, rule) {
            Ok(digest) => {
                verified_digest.get_or_insert(digest);
            }
            Err(reason) => result.findings.push((
                "signature",
                format!(
                    "\"{image}\" ({normalised}) fails rules[{index}] {}: {reason}",
                    verifier.name()
                ),
            )),
        }
    }
    if !result.findings.is_empty() || !settings.pin_digest || reference.digest().is_some() {
        return result;
    }
    if let Some(digest) = verified_digest {
        match Digest::parse(&digest) {
            Ok(digest) => {
                result.pinned = Some(format!("{image}@{digest}"));
            }
            Err(reason) => result.findings.push((
                "signature",
                format!("\"{image}\": the host answered an invalid digest \"{digest}\": {reason}"),
            )),
        }
    }
    result
}

/// The verified digest, or why the rule is not satisfied.
fn verify<H: SignatureHost>(
    image: &str,
    verifier: &Verifier,
    rule: &Rule,
) -> Result<String, String> {
    let annotations = rule.annotations.as_ref();
    match verifier {
        Verifier::Single(request) => H::verify(image, request, annotations),
        Verifier::PublicKeys { keys, threshold } => {
            let mut digest = None;
            let mut passed = 0;
            let mut failures = Vec::new();
            for (index, key) in keys.iter().enumerate() {
                match H::verify(image, &VerifyRequest::PublicKey(key.clone()), annotations) {
                    Ok(found) => {
                        passed += 1;
                        digest.get_or_insert(found);
                        if passed >= *threshold {
                            break;
                        }
                    }
                    Err(reason) => failures.push(format!("key #{index}: {reason}")),
                }
            }
            match digest {
                Some(digest) if passed >= *threshold => Ok(digest),
                _ => Err(format!(
                    "{passed} of {} keys verified, {threshold} required; {}",
                    keys.len(),
                    failures.join("; ")
                )),
            }
        }
    }
}
