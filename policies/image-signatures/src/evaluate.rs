//! The verdict on one container image. The image is resolved once to one digest (the digest it
//! pins, or the one its tag points to now), and every rule covering it must be satisfied by
//! signatures of that digest: a verification the host answers for another digest counts for
//! nothing and rejects the image. The digest verified is the digest pinned.

use std::collections::BTreeMap;

use pci_shared::host_answers::HostAnswers;
use pci_shared::host_error::{self, HostFailure};
use pci_shared::image_reference::{Digest, ImageReference};
use pci_shared::workload_images::{Finding, ImageVerdict};

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
    let digest = match digest_to_verify::<H>(image, &reference, answers) {
        Ok(digest) => digest,
        Err(finding) => {
            return ImageVerdict {
                findings: vec![finding],
                ..ImageVerdict::default()
            };
        }
    };
    let subject = format!("{}@{digest}", reference.name());
    let mut result = ImageVerdict::default();
    for index in rules {
        let outcome = match settings.plan(index) {
            Ok(plan) => satisfy::<H>(&subject, &digest, plan, answers)
                .map_err(|failure| failure.finding(image, index, plan.verifier, &subject)),
            Err(reason) => Err(Finding {
                control: "signature",
                message: format!("\"{image}\": rules[{index}] cannot be checked: {reason}"),
                detail: None,
            }),
        };
        if let Err(finding) = outcome {
            result.findings.push(finding);
        }
    }
    if result.findings.is_empty() && settings.pin_digest && reference.digest().is_none() {
        result.pinned = Some(reference.pinned_text(image, &digest));
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
                "\"{image}\" ({reference}): no signature rule covers it; use an image a rule covers, or request an exception"
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
/// now (asked once per request). A failed lookup is the image's finding: no signature was
/// checked.
fn digest_to_verify<H: SignatureHost>(
    image: &str,
    reference: &ImageReference,
    answers: &mut Answers,
) -> Result<Digest, Finding> {
    if let Some(digest) = reference.digest() {
        return Ok(digest.clone());
    }
    let tagged = reference.tagged_name();
    let unresolved = |failure: HostFailure, detail: String| Finding {
        control: "signature",
        message: format!(
            "cannot check the signature of \"{image}\": {}",
            failure.lookup_phrase()
        ),
        detail: Some(format!("resolving {tagged}: {detail}")),
    };
    let text = answers
        .digests
        .get_or_ask(tagged.clone(), |tagged| H::manifest_digest(tagged))
        .map_err(|error| {
            let failure = host_error::classify(&error, &[(image, "<image>"), (&tagged, "<image>")]);
            unresolved(failure, host_error::trimmed(&error))
        })?;
    Digest::parse(&text).map_err(|reason| {
        unresolved(
            HostFailure::Other,
            format!("the host answered an invalid digest \"{text}\": {reason}"),
        )
    })
}

/// Why a rule is not satisfied, in our words, and the host's answers for the audit annotation.
struct RuleFailure {
    failure: Failure,
    /// `k of n verified <digest>, r required; <check>: <host's words>; …`.
    detail: String,
}

/// The kinds of [`RuleFailure`].
enum Failure {
    /// A verification answered for another digest than the image's.
    OtherDigest,
    /// Some checks verified, fewer than the threshold.
    TooFew { verified: usize, required: usize },
    /// What the host's errors say (the first transport failure, else the signatures' state).
    Host(HostFailure),
}

impl RuleFailure {
    /// The finding of `image` failing `rules[index]` (verifier `verifier`): what is wrong, what
    /// would pass.
    fn finding(self, image: &str, index: usize, verifier: &str, subject: &str) -> Finding {
        let message = match self.failure {
            Failure::OtherDigest => format!(
                "\"{image}\": the registry answered for another digest; retry, or tell the platform team"
            ),
            Failure::TooFew { verified, required } => format!(
                "\"{image}\": {verified} of {required} required signatures; add the others or request an exception"
            ),
            Failure::Host(HostFailure::NoSignature | HostFailure::NotFound) => {
                format!("\"{image}\": not signed; sign it in your pipeline or request an exception")
            }
            Failure::Host(HostFailure::OtherSigner | HostFailure::TooFewSignatures) => format!(
                "\"{image}\": not signed by the expected signer; sign it or request an exception"
            ),
            Failure::Host(
                failure @ (HostFailure::Timeout
                | HostFailure::Unreachable
                | HostFailure::Unauthorized),
            ) => format!(
                "cannot check the signature of \"{image}\": {}",
                failure.lookup_phrase()
            ),
            Failure::Host(HostFailure::Other) => format!(
                "the signature of \"{image}\" could not be verified; the platform team has the host's answer"
            ),
        };
        Finding {
            control: "signature",
            message,
            detail: Some(format!(
                "rules[{index}] {verifier}: {subject}: {}",
                self.detail
            )),
        }
    }
}

/// Counts the checks of `plan` whose signatures verify `digest` (`subject` is
/// `registry/repository@digest`). Each check counts once; the rule holds when `required` of
/// them verify and no answer was for another digest.
fn satisfy<H: SignatureHost>(
    subject: &str,
    digest: &Digest,
    plan: &RulePlan,
    answers: &mut Answers,
) -> Result<(), RuleFailure> {
    let expected = digest.to_string();
    let mut verified: Vec<&str> = Vec::new();
    let mut not_verified = Vec::new();
    let mut other_digest = Vec::new();
    let mut failures = Vec::new();
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
            Err(reason) => {
                let echoes = [(subject, "<image>"), (expected.as_str(), "<digest>")];
                failures.push(host_error::classify(&reason, &echoes));
                let said = host_error::trimmed_about(&reason, &echoes);
                not_verified.push(format!("{}: {said}", check.label));
            }
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
    let transport = failures.iter().copied().filter(|failure| {
        matches!(
            failure,
            HostFailure::Timeout | HostFailure::Unreachable | HostFailure::Unauthorized
        )
    });
    let failure = if !other_digest.is_empty() {
        Failure::OtherDigest
    } else if let Some(first) = transport.min() {
        Failure::Host(first)
    } else if !verified.is_empty() {
        Failure::TooFew {
            verified: verified.len(),
            required: plan.required,
        }
    } else {
        Failure::Host(failures.into_iter().max().unwrap_or(HostFailure::Other))
    };
    Err(RuleFailure {
        failure,
        detail: reason,
    })
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
