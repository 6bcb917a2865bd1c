//! Exceptions: narrow, justified, visible and expiring waivers of a control, shared by every
//! policy.
//!
//! An exception names the controls it waives, the containers it covers (by image glob and/or
//! container name, optionally only in some namespaces), a required reason, and an optional
//! expiry date. A container-level violation is waived when its container is covered; a pod-level
//! violation (e.g. `spec.hostNetwork`) only when *every* container of the pod is covered. An
//! expired exception waives nothing and says so in a warning; every waiver is reported in the
//! warnings and the audit annotations.

use serde::Deserialize;
use serde_json::json;

use crate::containers::all_containers;
use crate::image_pattern::ImagePattern;
use crate::image_reference::ImageReference;
use crate::time::{Date, Timestamp};
use crate::violation::{Violation, Violations};
use crate::workload::Workload;

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
    /// Namespaces where the exception applies (all when empty).
    #[serde(default)]
    pub namespaces: Vec<String>,
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
#[derive(Clone, Debug, Deserialize)]
#[serde(try_from = "String")]
pub struct PatternSetting(pub ImagePattern);

impl TryFrom<String> for PatternSetting {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        ImagePattern::parse(&value).map(Self)
    }
}

/// A `YYYY-MM-DD` date in the settings, validated while the settings are read.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(try_from = "String")]
pub struct DateSetting(pub Date);

impl TryFrom<String> for DateSetting {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        Date::parse(&value).map(Self)
    }
}

/// Checks a list of exceptions against the controls a policy knows.
pub fn validate_exceptions(
    exceptions: &[Exception],
    known_controls: &[&str],
) -> Result<(), String> {
    for (index, exception) in exceptions.iter().enumerate() {
        let at = format!("exceptions[{index}]");
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
        if exception.images.is_empty() && exception.containers.is_empty() {
            return Err(format!(
                "{at} must narrow itself with images and/or containers: an exception covering every workload is no exception"
            ));
        }
        if let Some(name) = exception.containers.iter().find(|c| c.trim().is_empty()) {
            return Err(format!("{at}.containers contains an empty name \"{name}\""));
        }
        if let Some(namespace) = exception.namespaces.iter().find(|n| n.trim().is_empty()) {
            return Err(format!(
                "{at}.namespaces contains an empty name \"{namespace}\""
            ));
        }
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
    /// Warnings about waivers and expired exceptions.
    pub warnings: Vec<String>,
    /// Audit annotations (`exceptions-applied`, `exceptions-expired`) as JSON arrays.
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
    now: Timestamp,
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

/// Waives the violations covered by a valid exception.
pub fn apply_exceptions(
    policy: &str,
    exceptions: &[Exception],
    successions: &[Succession],
    violations: Violations,
    scope: &ExceptionScope<'_>,
    now: Timestamp,
) -> ExceptionReport {
    let mut report = ExceptionReport::default();
    let mut applied = Vec::new();
    let mut expired = Vec::new();
    for violation in violations {
        let covering = exceptions
            .iter()
            .enumerate()
            .filter_map(|(index, exception)| {
                covers(exception, successions, &violation, scope)
                    .map(|naming| (index, exception, naming))
            });
        let mut waived_by = None;
        for (index, exception, naming) in covering {
            match exception.expires {
                Some(DateSetting(date)) if date.is_past(now) => {
                    report.warnings.push(format!(
                        "{policy}: exception #{index} expired on {date} and no longer waives {violation}"
                    ));
                    expired.push(audit_entry(index, exception, &violation));
                }
                _ => {
                    waived_by = Some((index, exception, naming));
                    break;
                }
            }
        }
        match waived_by {
            Some((index, exception, naming)) => {
                let until = exception
                    .expires
                    .map_or_else(String::new, |DateSetting(date)| format!(", until {date}"));
                report.warnings.push(format!(
                    "{policy}: exception #{index} waives {violation} (reason: {}{until})",
                    exception.reason
                ));
                let mut entry = audit_entry(index, exception, &violation);
                if let Naming::Through(former) = naming {
                    report.warnings.push(format!(
                        "{policy}: exception #{index} waives {} only through its former control id \"{former}\": add \"{}\" to its controls, \"{former}\" stops waiving it in the next minor release",
                        violation.control, violation.control
                    ));
                    entry["through"] = json!(former);
                }
                applied.push(entry);
            }
            None => report.remaining.push(violation),
        }
    }
    if !applied.is_empty() {
        report.audit.push((
            "exceptions-applied".into(),
            serde_json::Value::Array(applied).to_string(),
        ));
    }
    if !expired.is_empty() {
        report.audit.push((
            "exceptions-expired".into(),
            serde_json::Value::Array(expired).to_string(),
        ));
    }
    report
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
    if !exception.namespaces.is_empty()
        && !scope
            .namespace
            .is_some_and(|ns| exception.namespaces.iter().any(|n| n == ns))
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
mod tests {
    use super::*;
    use crate::path::FieldPath;

    const NOW: Timestamp = Timestamp(1_795_000_000); // 2026-11-18

    fn exceptions(json: &str) -> Vec<Exception> {
        serde_json::from_str(json).expect("valid exceptions")
    }

    fn violation(control: &'static str, container: Option<&str>) -> Violation {
        Violation {
            path: FieldPath::parse_static("spec.hostNetwork"),
            control,
            container: container.map(str::to_owned),
            message: "m".into(),
            pci: "3.1",
        }
    }

    fn scope() -> ExceptionScope<'static> {
        ExceptionScope {
            namespace: Some("kube-system"),
            containers: vec![
                (
                    "proxy",
                    ImageReference::parse("registry.k8s.io/kube-proxy:v1.31.0").ok(),
                ),
                (
                    "sidecar",
                    ImageReference::parse("registry.corp.com/sidecar:1").ok(),
                ),
            ],
        }
    }

    fn run(exceptions: &[Exception], violation: Violation) -> ExceptionReport {
        apply_exceptions(
            "p",
            exceptions,
            &[],
            [violation].into_iter().collect(),
            &scope(),
            NOW,
        )
    }

    #[test]
    fn a_former_control_id_still_waives_its_successor_and_says_so() {
        const SUCCESSIONS: &[Succession] = &[Succession {
            former: "capabilities_baseline",
            current: "psp.allowedCapabilities",
        }];
        let list = exceptions(
            r#"[{"controls":["capabilities_baseline"],"containers":["proxy"],"reason":"needs NET_ADMIN"}]"#,
        );
        let apply = |successions: &[Succession], control| {
            apply_exceptions(
                "p",
                &list,
                successions,
                [violation(control, Some("proxy"))].into_iter().collect(),
                &scope(),
                NOW,
            )
        };
        let report = apply(SUCCESSIONS, "psp.allowedCapabilities");
        assert!(report.remaining.is_empty());
        assert!(
            report.warnings[1].contains(
                "waives psp.allowedCapabilities only through its former control id \"capabilities_baseline\": add \"psp.allowedCapabilities\""
            ),
            "{:?}",
            report.warnings
        );
        assert!(
            report.audit[0]
                .1
                .contains(r#""through":"capabilities_baseline""#)
        );
        // Without the succession, or for another control, nothing is waived.
        assert_eq!(apply(&[], "psp.allowedCapabilities").remaining.len(), 1);
        assert_eq!(
            apply(SUCCESSIONS, "psp.requiredDropCapabilities")
                .remaining
                .len(),
            1
        );
        // Named directly: no deprecation warning.
        let direct = apply(SUCCESSIONS, "capabilities_baseline");
        assert!(direct.remaining.is_empty());
        assert_eq!(direct.warnings.len(), 1, "{:?}", direct.warnings);
    }

    #[test]
    fn waives_a_covered_container_and_reports_it() {
        let list = exceptions(
            r#"[{"controls":["privileged"],"images":["registry.k8s.io/kube-proxy:*"],"reason":"kube-proxy needs iptables"}]"#,
        );
        let report = run(&list, violation("privileged", Some("proxy")));
        assert!(report.remaining.is_empty());
        assert!(
            report.warnings[0].contains("exception #0 waives [privileged]"),
            "{:?}",
            report.warnings
        );
        assert_eq!(report.audit[0].0, "exceptions-applied");
        let untouched = run(&list, violation("privileged", Some("sidecar")));
        assert_eq!(untouched.remaining.len(), 1);
        let other_control = run(&list, violation("hostPorts", Some("proxy")));
        assert_eq!(other_control.remaining.len(), 1);
    }

    #[test]
    fn pod_level_violations_need_every_container_covered() {
        let only_proxy =
            exceptions(r#"[{"controls":["hostNamespaces"],"containers":["proxy"],"reason":"r"}]"#);
        assert_eq!(
            run(&only_proxy, violation("hostNamespaces", None))
                .remaining
                .len(),
            1
        );
        let both = exceptions(
            r#"[{"controls":["hostNamespaces"],"containers":["proxy","sidecar"],"reason":"r"}]"#,
        );
        assert!(
            run(&both, violation("hostNamespaces", None))
                .remaining
                .is_empty()
        );
    }

    #[test]
    fn expired_exceptions_warn_and_waive_nothing() {
        let list = exceptions(
            r#"[{"controls":["privileged"],"containers":["proxy"],"reason":"r","expires":"2026-01-31"}]"#,
        );
        let report = run(&list, violation("privileged", Some("proxy")));
        assert_eq!(report.remaining.len(), 1);
        assert!(report.warnings[0].contains("expired on 2026-01-31"));
        assert_eq!(report.audit[0].0, "exceptions-expired");
        let future = exceptions(
            r#"[{"controls":["privileged"],"containers":["proxy"],"reason":"r","expires":"2027-01-31"}]"#,
        );
        assert!(
            run(&future, violation("privileged", Some("proxy")))
                .remaining
                .is_empty()
        );
    }

    #[test]
    fn namespaces_narrow_the_exception() {
        let list = exceptions(
            r#"[{"controls":["privileged"],"containers":["proxy"],"namespaces":["other"],"reason":"r"}]"#,
        );
        assert_eq!(
            run(&list, violation("privileged", Some("proxy")))
                .remaining
                .len(),
            1
        );
    }

    #[test]
    fn validation_names_the_problem() {
        let known = ["privileged", "hostNamespaces"];
        let cases = [
            (
                r#"[{"controls":["privileged"],"containers":["a"],"reason":" "}]"#,
                "exceptions[0].reason",
            ),
            (
                r#"[{"controls":[],"containers":["a"],"reason":"r"}]"#,
                "exceptions[0].controls must name",
            ),
            (
                r#"[{"controls":["privilegd"],"containers":["a"],"reason":"r"}]"#,
                "unknown control \"privilegd\"",
            ),
            (
                r#"[{"controls":["privileged"],"reason":"r"}]"#,
                "must narrow itself",
            ),
        ];
        for (json, expected) in cases {
            let error = validate_exceptions(&exceptions(json), &known).expect_err(json);
            assert!(error.contains(expected), "{error}");
        }
        assert!(
            serde_json::from_str::<Vec<Exception>>(
                r#"[{"controls":["a"],"reason":"r","expires":"2026-02-30"}]"#
            )
            .is_err()
        );
        assert!(
            serde_json::from_str::<Vec<Exception>>(
                r#"[{"controls":["a"],"reason":"r","images":["BAD/Image"]}]"#
            )
            .is_err()
        );
        assert!(
            serde_json::from_str::<Vec<Exception>>(
                r#"[{"controls":["a"],"reason":"r","image":["x"]}]"#
            )
            .is_err()
        );
    }
}
