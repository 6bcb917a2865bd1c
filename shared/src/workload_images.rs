//! The contract of the image policies (trusted-registries, image-digest, image-signatures),
//! which judge every container's image on its own: implement [`ImagePolicy`] and the type is a
//! [`Policy`]. The shared part turns the verdicts into violations (waived by exceptions) and
//! warnings, and writes pinned images back surgically.

use crate::containers::{ContainerRef, all_containers};
use crate::exception::{Exception, apply_to_workload};
use crate::image_reference::ImageReference;
use crate::input::InputError;
use crate::patch::ObjectEditor;
use crate::policy::{Policy, PolicySettings, Target, object_value, read_workload};
use crate::request::AdmissionRequest;
use crate::response::Outcome;
use crate::time::Now;
use crate::update::Review;
use crate::violation::{Violation, Violations};

/// A policy that judges each container's image on its own.
pub trait ImagePolicy {
    /// The policy name used in messages.
    const NAME: &'static str;
    /// The PCI guidance it enforces, e.g. `3.3`.
    const PCI: &'static str;
    /// The control ids its verdicts use (`reference` for an unreadable image included).
    const CONTROLS: &'static [&'static str];
    /// The settings.
    type Settings: PolicySettings;

    /// What one request remembers from container to container (host answers, so the same
    /// image is asked about once); `()` for a policy that asks nothing.
    type Memo: Default;

    /// The verdict on one container's image.
    fn check_image(
        container: &ContainerRef<'_>,
        settings: &Self::Settings,
        memo: &mut Self::Memo,
    ) -> ImageVerdict;

    /// True when checking an image asks the registry (through the host). Images an UPDATE does
    /// not change are then not checked again: a finalizer removal must not wait on a registry.
    fn asks_registry(_settings: &Self::Settings) -> bool {
        false
    }

    /// The control under which the policy's validating twin (its settings through
    /// [`PolicySettings::turn_off_patching`]) refuses an image that is not pinned by digest, or
    /// `None` when the twin accepts one. A running Pod's unchanged image is never pinned (that
    /// would restart its container); when the policy declines such a pin it refuses the image
    /// under this control, so the mutating instance and its twin give the same verdict.
    const UNPINNED_CONTROL: Option<&'static str> = None;
}

impl<P: ImagePolicy> Policy for P {
    const NAME: &'static str = P::NAME;
    const CONTROLS: &'static [&'static str] = P::CONTROLS;
    type Settings = P::Settings;

    fn evaluate(
        request: &AdmissionRequest<'_>,
        settings: &P::Settings,
        now: Now,
    ) -> Result<Outcome, InputError> {
        let review = match read_workload(request)? {
            Target::Workload(review) => review,
            Target::NotApplicable(_) => return Ok(Outcome::default()),
        };
        let judge = ImageJudge {
            name: P::NAME,
            pci: P::PCI,
            exceptions: settings.exceptions(),
            asks_registry: P::asks_registry(settings),
            unpinned_control: P::UNPINNED_CONTROL,
            now,
        };
        let mut memo = P::Memo::default();
        judge.judge(request, &review, |container| {
            P::check_image(container, settings, &mut memo)
        })
    }
}

/// One reason to reject an image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The control id.
    pub control: &'static str,
    /// What is wrong and what would pass, short: it leads the rejection message.
    pub message: String,
    /// What the message leaves out (the host's words, trimmed): audit annotation only.
    pub detail: Option<String>,
}

impl Finding {
    /// A finding without details.
    pub fn new(control: &'static str, message: String) -> Self {
        Self {
            control,
            message,
            detail: None,
        }
    }
}

/// What an image policy concluded about one container's image.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImageVerdict {
    /// Reasons to reject.
    pub findings: Vec<Finding>,
    /// Warnings for the user.
    pub warnings: Vec<String>,
    /// The image to write instead (e.g. pinned by digest), if any.
    pub pinned: Option<String>,
}

impl ImageVerdict {
    /// A verdict with one finding.
    pub fn finding(control: &'static str, message: String) -> Self {
        Self {
            findings: vec![Finding::new(control, message)],
            ..Self::default()
        }
    }

    /// Parses a container's `image` field; a missing or unparsable image is the verdict itself
    /// (control `reference`), naming the string and the reason.
    pub fn parse(image: Option<&str>) -> Result<ImageReference, Self> {
        let image =
            image.ok_or_else(|| Self::finding("reference", "no image is set".to_owned()))?;
        ImageReference::parse(image).map_err(|error| {
            let message = format!(
                "\"{}\" is not a valid image reference: {}",
                image.escape_debug(),
                error.reason
            );
            Self::finding("reference", message)
        })
    }
}

/// The context of one evaluation of an image policy.
struct ImageJudge<'a> {
    name: &'static str,
    pci: &'static str,
    exceptions: &'a [Exception],
    asks_registry: bool,
    /// [`ImagePolicy::UNPINNED_CONTROL`].
    unpinned_control: Option<&'static str>,
    now: Now,
}

impl ImageJudge<'_> {
    /// Judges every container's image (init, regular, ephemeral) within the review's scope and
    /// builds the outcome: the findings become violations on `<container path>.image`,
    /// exceptions waive what they cover, and when nothing is left to reject the pinned images
    /// are written into the object, touching only those `image` fields. A running Pod's image
    /// that the UPDATE did not change is never rewritten (see [`Self::decline_pin`]); every
    /// image of a controller's new pod template is.
    fn judge(
        &self,
        request: &AdmissionRequest<'_>,
        review: &Review,
        mut judge: impl FnMut(&ContainerRef<'_>) -> ImageVerdict,
    ) -> Result<Outcome, InputError> {
        let workload = &review.workload;
        let mut violations = Violations::new();
        let mut warnings = Vec::new();
        let mut pins = Vec::new();
        let mut not_checked = Vec::new();
        for container in all_containers(&workload.spec, &workload.spec_path) {
            if self.asks_registry && !review.scope.enforces() {
                not_checked.push(format!("\"{}\"", container.name()));
                continue;
            }
            let verdict = judge(&container);
            let path = container.path().field("image");
            let violation = |finding: Finding| Violation {
                path: path.clone(),
                control: finding.control,
                container: Some(container.name().to_owned()),
                message: finding.message,
                pci: self.pci,
                detail: finding.detail,
            };
            for finding in verdict.findings {
                violations.push(violation(finding));
            }
            warnings.extend(verdict.warnings);
            let Some(pinned) = verdict.pinned else {
                continue;
            };
            let image = container.container.image.as_deref().unwrap_or_default();
            if review.keeps_running_image(&container) {
                match self.decline_pin(&container, image, &pinned) {
                    Ok(warning) => warnings.push(warning),
                    Err(finding) => violations.push(violation(finding)),
                }
            } else {
                warnings.push(format!(
                    "{}: container \"{}\": pinned \"{image}\" to \"{pinned}\"",
                    self.name,
                    container.name()
                ));
                pins.push((path, pinned));
            }
        }
        if !not_checked.is_empty() {
            warnings.push(format!(
                "{}: not checked against the registry on this UPDATE ({}): containers {}",
                self.name,
                review.scope.why(),
                not_checked.join(", ")
            ));
        }
        let namespace = request.namespace.as_deref();
        let report = apply_to_workload(
            self.name,
            self.exceptions,
            &[],
            violations,
            workload,
            namespace,
            self.now,
        );
        let mut outcome = Outcome::from_exceptions(report);
        outcome.warnings.extend(warnings);
        let mut outcome = review.settle(outcome, self.name);
        if !pins.is_empty() && outcome.violations.is_empty() && review.scope.may_mutate() {
            let mut editor = ObjectEditor::new(object_value(request)?);
            for (path, pinned) in pins {
                editor
                    .set(&path, serde_json::Value::String(pinned))
                    .map_err(|error| InputError::new("object", error.to_string()))?;
            }
            outcome.mutated = editor.into_mutated()?;
        }
        Ok(outcome)
    }

    /// What declining to pin a running Pod's unchanged image `image` to `pinned` gives: a
    /// warning when the validating twin accepts an unpinned image, else the twin's refusal
    /// (control and message), saying why the image was not pinned here.
    fn decline_pin(
        &self,
        container: &ContainerRef<'_>,
        image: &str,
        pinned: &str,
    ) -> Result<String, Finding> {
        let why = format!(
            "this UPDATE leaves it as it was, and rewriting it to \"{pinned}\" would restart the running container"
        );
        match self.unpinned_control {
            None => Ok(format!(
                "{}: container \"{}\": \"{image}\" is not pinned: {why}",
                self.name,
                container.name()
            )),
            Some(control) => Err(Finding::new(
                control,
                format!("\"{image}\" is not pinned by digest: {why}; pin it in the Pod spec"),
            )),
        }
    }
}
