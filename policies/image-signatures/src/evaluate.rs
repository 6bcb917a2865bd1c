//! The verdict on one container image. The image is resolved once to one digest (the digest it
//! pins, or the one its tag points to now), and every rule covering it must be satisfied by
//! signatures of that digest: a verification the host answers for another digest counts for
//! nothing and rejects the image. The digest verified is the digest pinned.

use std::collections::BTreeMap;

use pci_shared::host_answers::HostAnswers;
use pci_shared::image_reference::{Digest, ImageReference};
use pci_shared::workload_images::ImageVerdict;

use crate::plan::{Check, RulePlan};
use crate::settings::{Settings, Unmatched};
use crate::verifier::{SignatureHost, VerifyRequest};

/// What one request remembers, so that an image in several containers is resolved once and
/// each verification of a digest is asked once.
#[derive(Debug, Default)]
pub struct Answers {
    /// By `registry/repository:tag`.
    digests: HostAnswers<String, Result<String, String>>,
    verifications: HostAnswers<Question, Result<String, String>>,
}

/// One verification of one digest.
#[derive(Debug, PartialEq)]
struct Question {
    image: String,
    request: VerifyRequest,
    annotations: Option<BTreeMap<String, String>>,
}

/// Verifies the image of container `name` against every rule covering it.
pub fn check_image<H: SignatureHost>(
    name: &str,
    image: Option<&str>,
    settings: &Settings,
    answers: &mut Answers,
) -> ImageVerdict {
    let reference = match ImageVerdict::parse(image) {
        Ok(reference) => reference,
        Err(verdict) => return verdict,
    };
    let image = image.unwrap_or_default();
    let rules: Vec<usize> = settings
        .rules
        .iter()
        .enumerate()
        .filter(|(_, rule)| {
            rule.images
                .iter()
                .any(|pattern| pattern.0.matches(&reference))
        })
        .map(|(index, _)| index)
        .collect();
    if rules.is_empty() {
        return unmatched(name, image, &reference, settings.unmatched_images);
    }
    let digest = match digest_to_verify::<H>(&reference, answers) {
        Ok(digest) => digest,
        Err(reason) => {
            return ImageVerdict::finding(
                "signature",
                format!("\"{image}\" ({reference}): {reason}; no signature was checked"),
            );
        }
    };
    let subject = format!("{}@{digest}", reference.name());
    let mut result = ImageVerdict::default();
    for index in rules {
        let plan = settings.plan(index);
        let outcome = plan
            .map_err(str::to_owned)
            .and_then(|plan| satisfy::<H>(&subject, &digest, plan, answers));
        if let Err(reason) = outcome {
            let verifier = plan.map_or("", |plan| plan.verifier);
            result.findings.push((
                "signature",
                format!("\"{image}\" ({subject}) fails rules[{index}] {verifier}: {reason}"),
            ));
        }
    }
    if result.findings.is_empty() && settings.pin_digest && reference.digest().is_none() {
        result.pinned = Some(format!("{image}@{digest}"));
    }
    result
}

fn unmatched(
    name: &str,
    image: &str,
    reference: &ImageReference,
    unmatched: Unmatched,
) -> ImageVerdict {
    match unmatched {
        Unmatched::Reject => ImageVerdict::finding(
            "unmatched",
            format!(
                "\"{image}\" ({reference}) matches no signature rule, and unmatchedImages is reject"
            ),
        ),
        Unmatched::Accept => ImageVerdict {
            warnings: vec![format!(
                "image-signatures: container \"{name}\": \"{image}\" matches no signature rule and is accepted unverified (unmatchedImages: accept)"
            )],
            ..ImageVerdict::default()
        },
    }
}

/// The one digest every rule is checked against: the pinned digest, or what the tag points to
/// now (asked once per request).
fn digest_to_verify<H: SignatureHost>(
    reference: &ImageReference,
    answers: &mut Answers,
) -> Result<Digest, String> {
    if let Some(digest) = reference.digest() {
        return Ok(digest.clone());
    }
    let tagged = reference.tagged_name();
    let text = answers
        .digests
        .get_or_ask(tagged.clone(), |tagged| H::manifest_digest(tagged))
        .map_err(|error| format!("cannot resolve {tagged} to the digest to verify: {error}"))?;
    Digest::parse(&text).map_err(|reason| {
        format!("the host resolved {tagged} to an invalid digest \"{text}\": {reason}")
    })
}

/// Counts the checks of `plan` whose signatures verify `digest` (`subject` is
/// `registry/repository@digest`). Each check counts once; the rule holds when `required` of
/// them verify and no answer was for another digest.
fn satisfy<H: SignatureHost>(
    subject: &str,
    digest: &Digest,
    plan: &RulePlan,
    answers: &mut Answers,
) -> Result<(), String> {
    let expected = digest.to_string();
    let mut verified: Vec<&str> = Vec::new();
    let mut not_verified = Vec::new();
    let mut other_digest = Vec::new();
    for check in &plan.checks {
        if verified.len() >= plan.required {
            break;
        }
        match ask::<H>(subject, check, plan, answers) {
            Ok(found) if found == expected => verified.push(&check.label),
            Ok(found) => other_digest.push(format!(
                "{}: the host verified {found}, not {expected}, and a signature of another digest does not count",
                check.label
            )),
            Err(reason) => not_verified.push(format!("{}: {reason}", check.label)),
        }
    }
    if other_digest.is_empty() && verified.len() >= plan.required {
        return Ok(());
    }
    let mut reason = format!(
        "{} of {} verified {expected}, {} required",
        verified.len(),
        plan.checks.len(),
        plan.required
    );
    if !verified.is_empty() {
        reason.push_str(&format!("; verified: {}", verified.join(", ")));
    }
    for failure in other_digest.iter().chain(&not_verified) {
        reason.push_str("; ");
        reason.push_str(failure);
    }
    Err(reason)
}

/// The host's answer to one check of `subject`, asked once per request.
fn ask<H: SignatureHost>(
    subject: &str,
    check: &Check,
    plan: &RulePlan,
    answers: &mut Answers,
) -> Result<String, String> {
    let question = Question {
        image: subject.to_owned(),
        request: check.request.clone(),
        annotations: plan.annotations.clone(),
    };
    answers.verifications.get_or_ask(question, |question| {
        H::verify(
            &question.image,
            &question.request,
            question.annotations.as_ref(),
        )
    })
}
