//! The audit scanner's own runs: its CronJob in Kubewarden's namespace, whose `.status` only
//! the CronJob controller writes.
//!
//! Audit reports are namespaced: the scanner writes one into each workload's namespace, and
//! anyone allowed to create `reports.openreports.io` there could write a result that names a
//! policy. A fresh report alone therefore cannot show that the scanner runs. When the export
//! holds the scanner's CronJob it must show a completed run within the allowed age, and not be
//! suspended; when it holds none, that is said.

use serde_json::Value;

use super::operational::{Clock, rfc3339};

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

/// Checks the scanner's CronJob among the exported `cron_jobs`.
pub fn check(cron_jobs: &[Value], clock: Clock) -> ScannerCheck {
    let scanners: Vec<&Value> = cron_jobs.iter().filter(|c| is_audit_scanner(c)).collect();
    if scanners.is_empty() {
        return if cron_jobs.is_empty() {
            ScannerCheck {
                reason: None,
                shown: None,
                note: Some(
                    "the audit scanner's CronJob is not in the export (kubectl get deployments,cronjobs -n <kubewarden namespace>): the audit rests on reports alone, which anyone allowed to create reports in a namespace could write".to_owned(),
                ),
            }
        } else {
            ScannerCheck {
                reason: Some(format!(
                    "no audit scanner among the exported CronJobs ({}): nothing audits the cluster",
                    names(cron_jobs)
                )),
                note: None,
                shown: None,
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
    // Several scanners: the best of them shows the audit running.
    let verdicts: Vec<Result<(), String>> = scanners.iter().map(|c| judge(c, clock)).collect();
    if verdicts.iter().any(Result::is_ok) {
        return ScannerCheck {
            shown,
            ..ScannerCheck::default()
        };
    }
    let reasons: Vec<String> = verdicts.into_iter().filter_map(Result::err).collect();
    ScannerCheck {
        reason: Some(reasons.join("; ")),
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
    if seconds > clock.now + SKEW {
        return Err(format!(
            "the audit scanner's {name} last completed a run at {text}, after the pack's time: not counted"
        ));
    }
    let age_hours = (clock.now - seconds).max(0) / 3600;
    if clock.now - seconds > (clock.max_audit_age_hours as i64) * 3600 {
        return Err(format!(
            "the audit scanner's {name} last completed a run at {} ({} before the pack, more than {} hours): the audit scanner has stopped",
            rfc3339(seconds),
            super::age_in_words(age_hours),
            clock.max_audit_age_hours
        ));
    }
    Ok(())
}

/// The names of `cron_jobs`, for messages.
fn names(cron_jobs: &[Value]) -> String {
    cron_jobs
        .iter()
        .map(|c| c["metadata"]["name"].as_str().unwrap_or("?"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Unix seconds of a Kubernetes time (`2026-12-01T03:00:05Z`, or with an offset or fraction).
pub fn parse_time(text: &str) -> Option<i64> {
    let (date, rest) = text.split_once(['T', 't'])?;
    let days = pci_shared::time::Date::parse(date).ok()?.days_since_epoch();
    let (clock, offset) = if let Some(clock) = rest.strip_suffix(['Z', 'z']) {
        (clock, 0)
    } else {
        let at = rest.rfind(['+', '-'])?;
        let (clock, zone) = rest.split_at(at);
        let sign = if zone.starts_with('-') { -1 } else { 1 };
        let (hours, minutes) = zone[1..].split_once(':')?;
        let minutes = hours.parse::<i64>().ok()? * 60 + minutes.parse::<i64>().ok()?;
        (clock, sign * minutes * 60)
    };
    let clock = clock.split('.').next()?;
    let mut parts = clock.split(':').map(|p| p.parse::<i64>().ok());
    let (hour, minute, second) = (parts.next()??, parts.next()??, parts.next()??);
    if parts.next().is_some() || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
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
            without
                .reason
                .expect("a reason")
                .contains("no audit scanner among the exported CronJobs (pci-policies-evidence)")
        );
        let none = check(&[], clock());
        assert_eq!(none.reason, None);
        assert!(none.note.expect("a note").contains("reports alone"));
    }
}
