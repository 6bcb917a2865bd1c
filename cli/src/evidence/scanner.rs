//! The audit scanner's own runs: its CronJob in Kubewarden's namespace, whose `.status` only
//! the CronJob controller writes.
//!
//! Audit reports are namespaced: the scanner writes one into each workload's namespace, and
//! anyone allowed to create `reports.openreports.io` there could write a result that names a
//! policy. A fresh report alone therefore cannot show that the scanner runs. When the export
//! holds the scanner's CronJob it must show a completed run within the allowed age, and not be
//! suspended; when it holds none, that is said.

use serde_json::Value;

use super::clock::{Clock, rfc3339};

/// The chart's name for the audit scanner's CronJob.
pub const CRON_JOB: &str = "audit-scanner";

/// How far after the pack's time a status time may be (clock skew), in seconds.
const SKEW: i64 = 300;

/// What the scanner's CronJob shows: why the audit is not shown running, or what is missing.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ScannerCheck {
    pub reason: Option<String>,
    pub note: Option<String>,
    /// Each scanner CronJob found: its name, schedule and last completed run.
    pub shown: Option<String>,
}

/// True when `cron_job` runs the audit scanner: named `audit-scanner`, labelled as its
/// component, or running an `…/audit-scanner` image.
fn is_audit_scanner(cron_job: &Value) -> bool {
    let metadata = &cron_job["metadata"];
    let containers = cron_job
        .pointer("/spec/jobTemplate/spec/template/spec/containers")
        .and_then(Value::as_array);
    metadata["name"] == CRON_JOB
        || metadata["labels"]["app.kubernetes.io/component"] == CRON_JOB
        || containers.into_iter().flatten().any(|container| {
            let image = container["image"].as_str().unwrap_or_default();
            let repository = image.split(['@']).next().unwrap_or_default();
            let without_tag = match repository.rsplit_once(':') {
                Some((name, tag)) if !tag.contains('/') => name,
                _ => repository,
            };
            without_tag.rsplit('/').next() == Some(CRON_JOB)
        })
}

/// Where the scanner's CronJob is looked for, and whether CronJobs were listed at all.
#[derive(Clone, Copy, Debug)]
pub struct Scope<'a> {
    /// Kubewarden's namespace: only a scanner there counts.
    pub namespace: &'a str,
    /// True when CronJobs were listed (read from the API): then none is a fact, not an
    /// export that left them out.
    pub listed: bool,
}

/// Checks the scanner's CronJob among the exported `cron_jobs`.
pub fn check(cron_jobs: &[Value], scope: Scope<'_>, clock: Clock) -> ScannerCheck {
    let namespace = scope.namespace;
    let scanners: Vec<&Value> = cron_jobs
        .iter()
        .filter(|c| is_audit_scanner(c))
        // kubectl writes each object's namespace: one without is not shown to be there.
        .filter(|c| c["metadata"]["namespace"] == namespace)
        .collect();
    if scanners.is_empty() {
        return if cron_jobs.is_empty() && !scope.listed {
            ScannerCheck {
                note: Some(format!(
                    "no CronJob in the export, so the audit scanner's own runs are not shown: if it is installed, export it (kubectl get deployments,cronjobs -n {namespace} -o yaml); without it the audit rests on reports alone, which anyone allowed to create reports in a namespace could write"
                )),
                ..ScannerCheck::default()
            }
        } else {
            ScannerCheck {
                reason: Some(format!(
                    "no audit scanner CronJob in Kubewarden's namespace {namespace} (CronJobs {}): nothing shows the audit running",
                    if cron_jobs.is_empty() {
                        "listed: none".to_owned()
                    } else {
                        format!("exported: {}", names(cron_jobs))
                    }
                )),
                ..ScannerCheck::default()
            }
        };
    }
    let shown = Some(
        scanners
            .iter()
            .map(|c| described(c))
            .collect::<Vec<_>>()
            .join("; "),
    );
    let verdicts: Vec<Result<(), String>> = scanners.iter().map(|c| judge(c, clock)).collect();
    let failures: Vec<String> = verdicts.iter().filter_map(|v| v.clone().err()).collect();
    if verdicts.iter().any(Result::is_ok) {
        // Another scanner at work: the one that is not is said, not hidden.
        return ScannerCheck {
            note: (!failures.is_empty()).then(|| failures.join("; ")),
            shown,
            ..ScannerCheck::default()
        };
    }
    ScannerCheck {
        reason: Some(failures.join("; ")),
        note: None,
        shown,
    }
}

/// `CronJob kubewarden/audit-scanner: schedule 0 * * * *, last completed run …`.
fn described(cron_job: &Value) -> String {
    let spec = &cron_job["spec"];
    format!(
        "{}: schedule {}{}, last completed run {}",
        name_of(cron_job),
        spec["schedule"].as_str().unwrap_or("not shown"),
        if spec["suspend"] == true {
            ", suspended"
        } else {
            ""
        },
        cron_job["status"]["lastSuccessfulTime"]
            .as_str()
            .unwrap_or("not shown")
    )
}

/// `CronJob NAMESPACE/NAME`.
fn name_of(cron_job: &Value) -> String {
    format!(
        "CronJob {}/{}",
        cron_job["metadata"]["namespace"].as_str().unwrap_or("?"),
        cron_job["metadata"]["name"].as_str().unwrap_or("?")
    )
}

/// One scanner CronJob: not suspended, and a run completed within the allowed age.
fn judge(cron_job: &Value, clock: Clock) -> Result<(), String> {
    let name = name_of(cron_job);
    if cron_job["spec"]["suspend"] == true {
        return Err(format!(
            "the audit scanner's {name} is suspended: nothing audits"
        ));
    }
    let last = &cron_job["status"]["lastSuccessfulTime"];
    let Some(text) = last.as_str() else {
        return Err(format!(
            "the audit scanner's {name} shows no completed run (no status.lastSuccessfulTime)"
        ));
    };
    let Some(seconds) = parse_time(text) else {
        return Err(format!(
            "the audit scanner's {name}: status.lastSuccessfulTime {text:?} is not a time"
        ));
    };
    if seconds > clock.now.saturating_add(SKEW) {
        return Err(format!(
            "the audit scanner's {name} last completed a run at {text}, after the pack's time: not counted"
        ));
    }
    let age_hours = clock.now.saturating_sub(seconds).max(0) / 3600;
    if clock.now.saturating_sub(seconds) > clock.max_audit_age_seconds() {
        return Err(format!(
            "the audit scanner's {name} last completed a run at {} ({} before the pack, more than {} hours): the audit scanner has stopped",
            rfc3339(seconds),
            super::age_in_words(age_hours),
            clock.max_audit_age_hours
        ));
    }
    Ok(())
}

/// The `namespace/name` of `cron_jobs`, for messages.
fn names(cron_jobs: &[Value]) -> String {
    cron_jobs
        .iter()
        .map(|c| {
            format!(
                "{}/{}",
                c["metadata"]["namespace"].as_str().unwrap_or("?"),
                c["metadata"]["name"].as_str().unwrap_or("?")
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Unix seconds of an RFC 3339 time as Kubernetes writes it (`2026-12-01T03:00:05Z`), with
/// an optional fraction and a `Z` or `±HH:MM` offset; anything else is not a time.
pub fn parse_time(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = bytes.get(range)?;
        part.iter()
            .all(u8::is_ascii_digit)
            .then(|| std::str::from_utf8(part).ok()?.parse().ok())?
    };
    if bytes.len() < 20
        || !matches!(bytes[10], b'T' | b't')
        || bytes[13] != b':'
        || bytes[16] != b':'
    {
        return None;
    }
    let days = pci_shared::time::Date::parse(text.get(..10)?)
        .ok()?
        .days_since_epoch();
    let (hour, minute, second) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = text.get(19..)?;
    if let Some(fraction) = rest.strip_prefix('.') {
        let end = fraction
            .find(|c: char| !c.is_ascii_digit())
            .filter(|end| *end > 0)?;
        rest = &fraction[end..];
    }
    let offset = match rest.as_bytes() {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let zone = std::str::from_utf8(&[*h1, *h2, *m1, *m2]).ok()?.to_owned();
            if !zone.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let (hours, minutes): (i64, i64) = (zone[..2].parse().ok()?, zone[2..].parse().ok()?);
            if hours > 23 || minutes > 59 {
                return None;
            }
            let seconds = hours * 3600 + minutes * 60;
            if *sign == b'-' { -seconds } else { seconds }
        }
        _ => return None,
    };
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_796_169_599; // 2026-12-01T23:59:59Z

    fn clock() -> Clock {
        Clock {
            now: NOW,
            max_audit_age_hours: 48,
        }
    }

    const EXPORTED: Scope<'static> = Scope {
        namespace: "kubewarden",
        listed: false,
    };

    fn check(cron_jobs: &[Value], clock: Clock) -> ScannerCheck {
        super::check(cron_jobs, EXPORTED, clock)
    }

    fn scanner(status: Value) -> Value {
        json!({
            "kind": "CronJob",
            "metadata": {"name": "audit-scanner", "namespace": "kubewarden"},
            "spec": {"schedule": "0 * * * *"},
            "status": status,
        })
    }

    #[test]
    fn kubernetes_times_are_read() {
        assert_eq!(parse_time("2026-12-01T23:59:59Z"), Some(NOW));
        assert_eq!(parse_time("2026-12-01T23:59:59.123456Z"), Some(NOW));
        assert_eq!(parse_time("2026-12-02T01:59:59+02:00"), Some(NOW));
        assert_eq!(parse_time("2026-12-01T22:59:59-01:00"), Some(NOW));
        for wrong in [
            "2026-12-01",
            "2026-12-01T24:00:00Z",
            "yesterday",
            "2026-12-01T1:2Z",
        ] {
            assert_eq!(parse_time(wrong), None, "{wrong}");
        }
    }

    #[test]
    fn a_recent_completed_run_shows_the_scanner_running() {
        let fresh = scanner(json!({"lastSuccessfulTime": "2026-12-01T23:00:12Z"}));
        let result = check(&[fresh], clock());
        assert_eq!((result.reason, result.note), (None, None));
        assert_eq!(
            result.shown.as_deref(),
            Some(
                "CronJob kubewarden/audit-scanner: schedule 0 * * * *, last completed run 2026-12-01T23:00:12Z"
            )
        );
    }

    #[test]
    fn a_scanner_suspended_stale_or_never_run_is_a_reason() {
        let mut suspended = scanner(json!({"lastSuccessfulTime": "2026-12-01T23:00:12Z"}));
        suspended["spec"]["suspend"] = json!(true);
        let cases = [
            (suspended, "is suspended"),
            (
                scanner(json!({"lastSuccessfulTime": "2026-11-20T03:00:00Z"})),
                "last completed a run at 2026-11-20T03:00:00Z (11 days before the pack, more than 48 hours)",
            ),
            (
                scanner(json!({"lastScheduleTime": "2026-12-01T23:00:00Z"})),
                "shows no completed run",
            ),
            (
                scanner(json!({"lastSuccessfulTime": "2026-12-03T00:00:00Z"})),
                "after the pack's time",
            ),
            (
                scanner(json!({"lastSuccessfulTime": "soon"})),
                "is not a time",
            ),
        ];
        for (cron_job, expected) in cases {
            let result = check(&[cron_job], clock());
            let reason = result.reason.expect("a reason");
            assert!(reason.contains(expected), "{reason}");
            assert!(
                reason.contains("CronJob kubewarden/audit-scanner"),
                "{reason}"
            );
        }
    }

    #[test]
    fn the_scanner_is_found_by_name_label_or_image() {
        let mut by_label = scanner(json!({"lastSuccessfulTime": "2026-12-01T23:00:12Z"}));
        by_label["metadata"]["name"] = json!("kw-audit");
        by_label["metadata"]["labels"] = json!({"app.kubernetes.io/component": "audit-scanner"});
        assert_eq!(check(&[by_label], clock()).reason, None);
        let mut by_image = scanner(json!({"lastSuccessfulTime": "2026-12-01T23:00:12Z"}));
        by_image["metadata"]["name"] = json!("scan");
        by_image["spec"]["jobTemplate"] = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "s", "image": "ghcr.io/kubewarden/audit-scanner:v1.30.0"}
        ]}}}});
        assert_eq!(check(&[by_image], clock()).reason, None);
    }

    #[test]
    fn other_cron_jobs_without_the_scanner_are_a_reason_and_none_at_all_a_note() {
        let mut other = scanner(json!({"lastSuccessfulTime": "2026-12-01T23:00:12Z"}));
        other["metadata"]["name"] = json!("pci-policies-evidence");
        let without = check(&[other], clock());
        assert!(
            without.reason.expect("a reason").contains(
                "no audit scanner CronJob in Kubewarden's namespace kubewarden (CronJobs exported: kubewarden/pci-policies-evidence)"
            )
        );
        let none = check(&[], clock());
        assert_eq!(none.reason, None);
        assert!(none.note.expect("a note").contains(
            "if it is installed, export it (kubectl get deployments,cronjobs -n kubewarden -o yaml)"
        ));
        // Read from the API, no CronJob is a fact.
        let listed = super::check(
            &[],
            Scope {
                namespace: "kubewarden",
                listed: true,
            },
            clock(),
        );
        assert!(
            listed
                .reason
                .expect("a reason")
                .contains("CronJobs listed: none")
        );
    }

    /// A healthy `audit-scanner` elsewhere does not stand for Kubewarden's, and a second
    /// scanner that stopped is said even when another runs.
    #[test]
    fn only_kubewardens_namespace_counts_and_nothing_is_hidden() {
        let mut suspended = scanner(json!({"lastSuccessfulTime": "2026-12-01T23:00:12Z"}));
        suspended["spec"]["suspend"] = json!(true);
        let mut elsewhere = scanner(json!({"lastSuccessfulTime": "2026-12-01T23:00:12Z"}));
        elsewhere["metadata"]["namespace"] = json!("shop");
        let result = check(&[suspended.clone(), elsewhere], clock());
        assert!(result.reason.expect("a reason").contains("is suspended"));

        let mut second = scanner(json!({"lastSuccessfulTime": "2026-12-01T23:00:12Z"}));
        second["metadata"]["name"] = json!("audit-scanner-2");
        second["metadata"]["labels"] = json!({"app.kubernetes.io/component": "audit-scanner"});
        let result = check(&[suspended, second], clock());
        assert_eq!(result.reason, None);
        assert!(
            result
                .note
                .expect("a note")
                .contains("kubewarden/audit-scanner is suspended")
        );
    }
}
