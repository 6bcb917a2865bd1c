//! Exceptions: narrow, justified, visible and expiring waivers of a control, shared by every
//! policy.
//!
//! An exception names the controls it waives, the namespaces it applies in (required: only the
//! namespace is guarded by RBAC, see [`namespaces`]), the containers it covers there (by image
//! glob and/or container name), a required reason, and an optional expiry date. A
//! container-level violation is waived when its container is covered; a pod-level violation
//! (e.g. `spec.hostNetwork`) only when *every* container of the pod is covered. An expired
//! exception waives nothing and says so in a warning, and so does an expiring one when the
//! clock cannot be read; every waiver is reported in the warnings and the audit annotations, a
//! cluster-wide one (`namespaces: ["*"]`) with a warning of its own.

pub mod namespaces;

use serde::Deserialize;
use serde_json::json;

use crate::containers::all_containers;
use crate::image_pattern::ImagePattern;
use crate::image_reference::ImageReference;
use crate::time::{Date, Now};
use crate::violation::{Violation, Violations};
use crate::workload::Workload;

pub use namespaces::Namespaces;

/// One exception, as written in the settings (`exceptions: [...]`).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Exception {
    /// The control ids waived.
    pub controls: Vec<String>,
    /// Image globs of the covered containers.
    #[serde(default)]
    pub images: Vec<PatternSetting>,
    /// Names of the covered containers.
    #[serde(default)]
    pub containers: Vec<String>,
    /// Namespaces where the exception applies (`["*"]`: every one). Required, but read as
    /// optional so that [`validate_exceptions`] can say which exception lacks it and what to add;
    /// an exception without it covers nothing.
    #[serde(default)]
    pub namespaces: Option<Namespaces>,
    /// Why this exception exists (required: an assessor reads it).
    pub reason: String,
    /// Who approved it (a person, a role or a change ticket), for the exceptions register.
    #[serde(default)]
    pub approved_by: Option<String>,
    /// Last day (UTC) the exception applies.
    #[serde(default)]
    pub expires: Option<DateSetting>,
}

/// An image glob in the settings, validated while the settings are read.
#[derive(Clone, Debug)]
pub struct PatternSetting(pub ImagePattern);

impl TryFrom<String> for PatternSetting {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        ImagePattern::parse(&value).map(Self)
    }
}

crate::validated_string!(PatternSetting);

/// A `YYYY-MM-DD` date in the settings, validated while the settings are read.
#[derive(Clone, Copy, Debug)]
pub struct DateSetting(pub Date);

impl TryFrom<String> for DateSetting {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        Date::parse(&value).map(Self)
    }
}

crate::validated_string!(DateSetting);

/// Checks a list of exceptions against the controls a policy knows: every refused exception is
/// named, each with its first problem, so old settings are fixed in one pass.
pub fn validate_exceptions(
    exceptions: &[Exception],
    known_controls: &[&str],
) -> Result<(), String> {
    let problems: Vec<String> = exceptions
        .iter()
        .enumerate()
        .filter_map(|(index, exception)| {
            problem_of(&format!("exceptions[{index}]"), exception, known_controls).err()
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// Every problem of the `exceptions` of settings `json`, each exception named by its index: the
/// error reading it, else its first problem against `known_controls` (`None`: its controls are
/// not checked). Empty when the settings are not JSON or have no list of exceptions: the read of
/// the whole settings says so. Each exception is read from its own text.
pub fn exception_problems(json: &str, known_controls: Option<&[&str]>) -> Vec<String> {
    problems_by_index(json, known_controls)
        .into_iter()
        .map(|(_, problem)| problem)
        .collect()
}

fn problems_by_index(json: &str, known_controls: Option<&[&str]>) -> Vec<(usize, String)> {
    /// Only the exceptions, each as written.
    #[derive(Deserialize)]
    struct Listed<'a> {
        #[serde(borrow, default)]
        exceptions: Option<Vec<&'a serde_json::value::RawValue>>,
    }
    let Ok(Listed {
        exceptions: Some(items),
    }) = serde_json::from_str::<Listed<'_>>(json)
    else {
        return Vec::new();
    };
    items
        .iter()
        .enumerate()
        .filter_map(|(index, item)| {
            let at = format!("exceptions[{index}]");
            let problem = match serde_json::from_str::<Exception>(item.get()) {
                Err(error) => Some(format!("{at}: {}", without_position(&error.to_string()))),
                Ok(exception) => {
                    let own: Vec<&str> = exception.controls.iter().map(String::as_str).collect();
                    problem_of(&at, &exception, known_controls.unwrap_or(&own)).err()
                }
            };
            problem.map(|problem| (index, problem))
        })
        .collect()
}

/// A serde_json message without its ` at line … column …` suffix.
fn without_position(message: &str) -> &str {
    message
        .rfind(" at line ")
        .map_or(message, |at| &message[..at])
}

/// The first problem of the exception at `at`, if any.
fn problem_of(at: &str, exception: &Exception, known_controls: &[&str]) -> Result<(), String> {
    if exception.reason.trim().is_empty() {
        return Err(format!(
            "{at}.reason must explain why the exception is needed"
        ));
    }
    if exception
        .approved_by
        .as_ref()
        .is_some_and(|a| a.trim().is_empty())
    {
        return Err(format!(
            "{at}.approvedBy is empty: name who approved the exception, or leave it out"
        ));
    }
    if exception.controls.is_empty() {
        return Err(format!("{at}.controls must name at least one control"));
    }
    for control in &exception.controls {
        if !known_controls.contains(&control.as_str()) {
            return Err(format!(
                "{at}.controls: unknown control \"{control}\"; known controls: {}",
                known_controls.join(", ")
            ));
        }
    }
    if exception.namespaces.is_none() {
        return Err(format!(
            "{at} (controls: {}) must name the namespaces it applies in, because only the namespace is guarded by RBAC (a pod's author writes its images and container names): add namespaces: [\"<namespace>\"] to it, or namespaces: [\"{}\"] to let any namespace's author claim it",
            exception.controls.join(", "),
            namespaces::EVERY_NAMESPACE
        ));
    }
    if exception.images.is_empty() && exception.containers.is_empty() {
        return Err(format!(
            "{at} must narrow itself with images and/or containers: an exception covering every workload is no exception"
        ));
    }
    if let Some(name) = exception.containers.iter().find(|c| c.trim().is_empty()) {
        return Err(format!("{at}.containers contains an empty name \"{name}\""));
    }
    Ok(())
}

/// A control that took over part of what an older control reported. For one release an
/// exception naming `former` still waives `current`, and its warning says to name `current`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Succession {
    /// The control id that used to report these violations.
    pub former: &'static str,
    /// The control id that reports them now.
    pub current: &'static str,
}

/// How an exception names a violation's control: itself, or through a former id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Naming {
    Directly,
    Through(&'static str),
}

/// The containers of the workload under evaluation, for exception matching.
#[derive(Debug, Default)]
pub struct ExceptionScope<'a> {
    pub namespace: Option<&'a str>,
    /// Every container's name and parsed image (`None` when the image does not parse: such a
    /// container is never covered by an image glob).
    pub containers: Vec<(&'a str, Option<ImageReference>)>,
}

impl<'a> ExceptionScope<'a> {
    /// The scope of a workload admitted in `namespace`: all its containers, of every kind.
    pub fn for_workload(workload: &'a Workload, namespace: Option<&'a str>) -> Self {
        let containers = all_containers(&workload.spec, &workload.spec_path)
            .map(|c| {
                let image = c
                    .container
                    .image
                    .as_deref()
                    .and_then(|i| ImageReference::parse(i).ok());
                (c.name(), image)
            })
            .collect();
        Self {
            namespace,
            containers,
        }
    }
}

/// What applying exceptions left, and what to report about it.
#[derive(Debug, Default)]
pub struct ExceptionReport {
    /// Violations no valid exception waived.
    pub remaining: Violations,
    /// Warnings about waivers (cluster-wide ones included), expired exceptions and expiring
    /// ones the clock could not date.
    pub warnings: Vec<String>,
    /// Audit annotations (`exceptions-applied`, `exceptions-expired`,
    /// [`CLOCK_UNREADABLE_AUDIT`]) as JSON arrays.
    pub audit: Vec<(String, String)>,
}

/// Waives the violations of `workload` covered by a valid exception; the exception scope (every
/// container's parsed image) is only built when there is something to waive.
pub fn apply_to_workload(
    policy: &str,
    exceptions: &[Exception],
    successions: &[Succession],
    violations: Violations,
    workload: &Workload,
    namespace: Option<&str>,
    now: Now,
) -> ExceptionReport {
    if exceptions.is_empty() || violations.is_empty() {
        return ExceptionReport {
            remaining: violations,
            ..ExceptionReport::default()
        };
    }
    let scope = ExceptionScope::for_workload(workload, namespace);
    apply_exceptions(policy, exceptions, successions, violations, &scope, now)
}

/// Whether an exception's expiry lets it waive at the time of the evaluation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Validity {
    /// No expiry, or not yet past it.
    Current,
    /// Past its last day.
    Expired(Date),
    /// It has an expiry, but the clock cannot be read to tell whether it is past: failing
    /// closed, it waives nothing.
    Undecidable(Date),
}

impl Validity {
    fn of(exception: &Exception, now: Now) -> Self {
        match (exception.expires, now) {
            (None, _) => Self::Current,
            (Some(DateSetting(date)), Now::Unreadable) => Self::Undecidable(date),
            (Some(DateSetting(date)), Now::At(time)) if date.is_past(time) => Self::Expired(date),
            (Some(_), Now::At(_)) => Self::Current,
        }
    }
}

/// The audit annotation naming exceptions that could not waive because the clock could not be
/// read.
pub const CLOCK_UNREADABLE_AUDIT: &str = "exceptions-clock-unreadable";

/// Waives the violations covered by a valid exception.
pub fn apply_exceptions(
    policy: &str,
    exceptions: &[Exception],
    successions: &[Succession],
    violations: Violations,
    scope: &ExceptionScope<'_>,
    now: Now,
) -> ExceptionReport {
    let mut waiving = Waiving::default();
    for violation in violations {
        let covering = exceptions
            .iter()
            .enumerate()
            .filter_map(|(index, exception)| {
                covers(exception, successions, &violation, scope)
                    .map(|naming| (index, exception, naming))
            });
        match waiving.first_current(policy, covering, &violation, now) {
            Some((index, exception, naming)) => {
                waiving.waive(policy, (index, exception, naming), &violation, now);
            }
            None => waiving.report.remaining.push(violation),
        }
    }
    waiving.finish()
}

/// What [`apply_exceptions`] gathers: the report, and the audit entries of the exceptions
/// applied, expired, and undecidable without a clock.
#[derive(Default)]
struct Waiving {
    report: ExceptionReport,
    applied: Vec<serde_json::Value>,
    expired: Vec<serde_json::Value>,
    undecidable: Vec<serde_json::Value>,
    /// (exception, control) pairs already warned about as cluster-wide: a handful per request.
    cluster_wide_told: Vec<(usize, &'static str)>,
}

impl Waiving {
    /// The first `covering` exception still current for `violation`; the expired and the
    /// undecidable ones before it are warned about and recorded.
    fn first_current<'e>(
        &mut self,
        policy: &str,
        covering: impl Iterator<Item = (usize, &'e Exception, Naming)>,
        violation: &Violation,
        now: Now,
    ) -> Option<(usize, &'e Exception, Naming)> {
        for (index, exception, naming) in covering {
            match Validity::of(exception, now) {
                Validity::Expired(date) => {
                    self.report.warnings.push(format!(
                        "{policy}: exception #{index} expired on {date} and no longer waives {violation}"
                    ));
                    self.expired.push(audit_entry(index, exception, violation));
                }
                Validity::Undecidable(date) => {
                    self.report.warnings.push(format!(
                        "{policy}: exception #{index} expires on {date} but the clock cannot be read, so it waives nothing: {violation} is not waived"
                    ));
                    self.undecidable
                        .push(audit_entry(index, exception, violation));
                }
                Validity::Current => return Some((index, exception, naming)),
            }
        }
        None
    }

    /// `violation` waived by exception #`index`: its warnings (reason, expiry soon, a former
    /// control id, cluster-wide) and its audit entry.
    fn waive(
        &mut self,
        policy: &str,
        (index, exception, naming): (usize, &Exception, Naming),
        violation: &Violation,
        now: Now,
    ) {
        let warnings = &mut self.report.warnings;
        let until = exception
            .expires
            .map_or_else(String::new, |DateSetting(date)| format!(", until {date}"));
        warnings.push(format!(
            "{policy}: exception #{index} waives {violation} (reason: {}{until})",
            exception.reason
        ));
        if let Some(warning) = expiring_soon(policy, index, exception, now)
            && !warnings.contains(&warning)
        {
            warnings.push(warning);
        }
        let mut entry = audit_entry(index, exception, violation);
        if let Naming::Through(former) = naming {
            warnings.push(format!(
                "{policy}: exception #{index} waives {} only through its former control id \"{former}\": add \"{}\" to its controls, \"{former}\" stops waiving it in the next minor release",
                violation.control, violation.control
            ));
            entry["through"] = json!(former);
        }
        if is_cluster_wide(exception) {
            if !self.cluster_wide_told.contains(&(index, violation.control)) {
                self.cluster_wide_told.push((index, violation.control));
                warnings.push(format!(
                    "{policy}: exception #{index} waives {} cluster-wide (namespaces: [\"{}\"]): any namespace's author can claim it",
                    violation.control,
                    namespaces::EVERY_NAMESPACE
                ));
            }
            entry["clusterWide"] = json!(true);
        }
        self.applied.push(entry);
    }

    /// The report, with an audit annotation for each kind of entry there is.
    fn finish(mut self) -> ExceptionReport {
        for (key, entries) in [
            ("exceptions-applied", self.applied),
            ("exceptions-expired", self.expired),
            (CLOCK_UNREADABLE_AUDIT, self.undecidable),
        ] {
            if !entries.is_empty() {
                self.report
                    .audit
                    .push((key.into(), serde_json::Value::Array(entries).to_string()));
            }
        }
        self.report
    }
}

/// Days before its expiry from which an exception that waives says so on every admission.
pub const EXPIRY_NOTICE_DAYS: i64 = 30;

/// The warning of an exception expiring within [`EXPIRY_NOTICE_DAYS`], so the workload's owner
/// fixes it or has the exception renewed before admissions start failing.
fn expiring_soon(policy: &str, index: usize, exception: &Exception, now: Now) -> Option<String> {
    let DateSetting(date) = exception.expires?;
    let days = date.days_after(now.timestamp()?);
    let when = match days {
        0 => "today (its last day)".to_owned(),
        1 => "tomorrow".to_owned(),
        days if days <= EXPIRY_NOTICE_DAYS => format!("in {days} days"),
        _ => return None,
    };
    Some(format!(
        "{policy}: exception #{index} expires on {date} ({when}): fix the workload or have the exception renewed before then"
    ))
}

/// True for an exception that applies in every namespace (`namespaces: ["*"]`).
fn is_cluster_wide(exception: &Exception) -> bool {
    exception
        .namespaces
        .as_ref()
        .is_some_and(Namespaces::is_cluster_wide)
}

fn audit_entry(index: usize, exception: &Exception, violation: &Violation) -> serde_json::Value {
    json!({
        "exception": index,
        "control": violation.control,
        "path": violation.path.to_string(),
        "container": violation.container,
        "reason": exception.reason,
        "approvedBy": exception.approved_by,
        "expires": exception.expires.map(|DateSetting(date)| date.to_string()),
    })
}

/// How `exception` covers `violation`, if it does.
fn covers(
    exception: &Exception,
    successions: &[Succession],
    violation: &Violation,
    scope: &ExceptionScope<'_>,
) -> Option<Naming> {
    let naming = naming(exception, successions, violation.control)?;
    covers_scope(exception, violation, scope).then_some(naming)
}

/// How `exception` names `control`: directly, or through a former id of it.
fn naming(exception: &Exception, successions: &[Succession], control: &str) -> Option<Naming> {
    if exception.controls.iter().any(|c| c == control) {
        return Some(Naming::Directly);
    }
    successions
        .iter()
        .filter(|s| s.current == control)
        .find(|s| exception.controls.iter().any(|c| c == s.former))
        .map(|s| Naming::Through(s.former))
}

/// True when the violation's namespace and container(s) are inside the exception's scope.
fn covers_scope(exception: &Exception, violation: &Violation, scope: &ExceptionScope<'_>) -> bool {
    // Without namespaces (settings that skipped validation), an exception covers nothing.
    if !exception
        .namespaces
        .as_ref()
        .is_some_and(|namespaces| namespaces.admit(scope.namespace))
    {
        return false;
    }
    let container_covered = |name: &str, image: &Option<ImageReference>| {
        let name_ok =
            exception.containers.is_empty() || exception.containers.iter().any(|c| c == name);
        let image_ok = exception.images.is_empty()
            || image
                .as_ref()
                .is_some_and(|image| exception.images.iter().any(|p| p.0.matches(image)));
        name_ok && image_ok
    };
    match &violation.container {
        Some(name) => scope
            .containers
            .iter()
            .find(|(candidate, _)| candidate == name)
            .is_some_and(|(name, image)| container_covered(name, image)),
        None => {
            !scope.containers.is_empty()
                && scope
                    .containers
                    .iter()
                    .all(|(name, image)| container_covered(name, image))
        }
    }
}

#[cfg(test)]
mod tests;
