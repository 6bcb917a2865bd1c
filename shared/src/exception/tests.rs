use super::*;
use crate::path::FieldPath;

use crate::time::Timestamp;

const NOW: Now = Now::At(Timestamp(1_795_000_000)); // 2026-11-18

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
        detail: None,
    }
}

fn scope() -> ExceptionScope<'static> {
    scope_in(Some("kube-system"))
}

/// kube-proxy and a sidecar, admitted in `namespace`.
fn scope_in(namespace: Option<&'static str>) -> ExceptionScope<'static> {
    ExceptionScope {
        namespace,
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
    run_at(exceptions, violation, &scope(), NOW)
}

fn run_at(
    exceptions: &[Exception],
    violation: Violation,
    scope: &ExceptionScope<'_>,
    now: Now,
) -> ExceptionReport {
    apply_exceptions(
        "p",
        exceptions,
        &[],
        [violation].into_iter().collect(),
        scope,
        now,
    )
}

#[test]
fn a_former_control_id_still_waives_its_successor_and_says_so() {
    const SUCCESSIONS: &[Succession] = &[Succession {
        former: "capabilities_baseline",
        current: "psp.allowedCapabilities",
    }];
    let list = exceptions(
        r#"[{"controls":["capabilities_baseline"],"containers":["proxy"],"namespaces":["kube-system"],"reason":"needs NET_ADMIN"}]"#,
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
        r#"[{"controls":["privileged"],"images":["registry.k8s.io/kube-proxy:*"],"namespaces":["kube-system"],"reason":"kube-proxy needs iptables"}]"#,
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
    let only_proxy = exceptions(
        r#"[{"controls":["hostNamespaces"],"containers":["proxy"],"namespaces":["kube-system"],"reason":"r"}]"#,
    );
    assert_eq!(
        run(&only_proxy, violation("hostNamespaces", None))
            .remaining
            .len(),
        1
    );
    let both = exceptions(
        r#"[{"controls":["hostNamespaces"],"containers":["proxy","sidecar"],"namespaces":["kube-system"],"reason":"r"}]"#,
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
        r#"[{"controls":["privileged"],"containers":["proxy"],"namespaces":["kube-system"],"reason":"r","expires":"2026-01-31"}]"#,
    );
    let report = run(&list, violation("privileged", Some("proxy")));
    assert_eq!(report.remaining.len(), 1);
    assert!(report.warnings[0].contains("expired on 2026-01-31"));
    assert_eq!(report.audit[0].0, "exceptions-expired");
    let future = exceptions(
        r#"[{"controls":["privileged"],"containers":["proxy"],"namespaces":["kube-system"],"reason":"r","expires":"2027-01-31"}]"#,
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
            r#"[{"controls":["privileged"],"containers":["a"],"namespaces":["kube-system"],"reason":" "}]"#,
            "exceptions[0].reason",
        ),
        (
            r#"[{"controls":[],"containers":["a"],"namespaces":["kube-system"],"reason":"r"}]"#,
            "exceptions[0].controls must name",
        ),
        (
            r#"[{"controls":["privilegd"],"containers":["a"],"namespaces":["kube-system"],"reason":"r"}]"#,
            "unknown control \"privilegd\"",
        ),
        (
            r#"[{"controls":["privileged"],"namespaces":["kube-system"],"reason":"r"}]"#,
            "must narrow itself",
        ),
    ];
    for (json, expected) in cases {
        let error = validate_exceptions(&exceptions(json), &known).expect_err(json);
        assert!(error.contains(expected), "{error}");
    }
    assert!(
        serde_json::from_str::<Vec<Exception>>(
            r#"[{"controls":["a"],"namespaces":["kube-system"],"reason":"r","expires":"2026-02-30"}]"#
        )
        .is_err()
    );
    assert!(
        serde_json::from_str::<Vec<Exception>>(
            r#"[{"controls":["a"],"namespaces":["kube-system"],"reason":"r","images":["BAD/Image"]}]"#
        )
        .is_err()
    );
    assert!(
        serde_json::from_str::<Vec<Exception>>(
            r#"[{"controls":["a"],"namespaces":["kube-system"],"reason":"r","image":["x"]}]"#
        )
        .is_err()
    );
}

#[test]
fn an_exception_without_namespaces_is_refused_with_the_line_to_add() {
    let list = exceptions(
        r#"[{"controls":["privileged"],"containers":["a"],"namespaces":["ns"],"reason":"r"},
            {"controls":["privileged","hostNamespaces"],"containers":["kube-proxy"],"reason":"r"}]"#,
    );
    assert_eq!(
        validate_exceptions(&list, &["privileged", "hostNamespaces"]).expect_err("refused"),
        "exceptions[1] (controls: privileged, hostNamespaces) must name the namespaces it applies in, \
         because only the namespace is guarded by RBAC (a pod's author writes its images and \
         container names): add namespaces: [\"<namespace>\"] to it, or namespaces: [\"*\"] to let \
         any namespace's author claim it"
    );
}

/// Issue 29 review: settings from before namespaces were required lack them in every
/// exception; each refused exception is named at once, not one per run.
#[test]
fn every_refused_exception_is_named_at_once() {
    let list = exceptions(
        r#"[{"controls":["privileged"],"containers":["a"],"reason":"r"},
            {"controls":["privileged"],"containers":["b"],"namespaces":["ns"],"reason":"r"},
            {"controls":["hostNamespaces"],"images":["registry.k8s.io/kube-proxy:*"],"reason":"r"},
            {"controls":["privileged"],"namespaces":["ns"],"reason":"r"}]"#,
    );
    let error = validate_exceptions(&list, &["privileged", "hostNamespaces"]).expect_err("refused");
    let named: Vec<&str> = error
        .split("; ")
        .filter_map(|problem| problem.split_once(' ').map(|(at, _)| at))
        .collect();
    assert_eq!(
        named,
        ["exceptions[0]", "exceptions[2]", "exceptions[3]"],
        "{error}"
    );
    assert!(error.contains("exceptions[2] (controls: hostNamespaces) must name the namespaces"));
    assert!(error.contains("exceptions[3] must narrow itself"));
}

/// Issue 29 review: the evidence pack checks each exception as the policy reads and checks it:
/// one the read refuses (empty namespaces, a date that is not one) is named with the others.
#[test]
fn exceptions_the_read_refuses_are_named_with_the_others() {
    let settings = r#"{"exceptions": [{"controls":["privileged"],"containers":["a"],"namespaces":[],"reason":"r"},
            {"controls":["privileged"],"containers":["kube-proxy"],"reason":"r"},
            {"controls":["privileged"],"containers":["b"],"namespaces":["ns"],"reason":"r","expires":"soon"},
            {"controls":["privileged"],"containers":["c"],"namespaces":["ns"],"reason":"r"}]}"#;
    let problems = exception_problems(settings, Some(&["privileged"]));
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(
        problems[0].starts_with("exceptions[0]: ") && problems[0].contains("namespace"),
        "{problems:?}"
    );
    assert!(
        problems[1].starts_with("exceptions[1] (controls: privileged) must name the namespaces")
    );
    assert!(
        problems[2].starts_with("exceptions[2]: ") && problems[2].contains("soon"),
        "{problems:?}"
    );
    assert!(exception_problems("{}", None).is_empty());
    assert!(exception_problems("not json", None).is_empty());
}

#[test]
fn an_exception_without_namespaces_covers_nothing_even_unvalidated() {
    let list = exceptions(r#"[{"controls":["privileged"],"containers":["proxy"],"reason":"r"}]"#);
    let report = run(&list, violation("privileged", Some("proxy")));
    assert_eq!(report.remaining.len(), 1);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
}

#[test]
fn a_container_name_waives_nothing_outside_the_named_namespaces() {
    // Anyone who may create pods in `default` can name a container kube-proxy.
    let list = exceptions(
        r#"[{"controls":["privileged"],"containers":["proxy"],"namespaces":["kube-system"],"reason":"r"}]"#,
    );
    let privileged = || violation("privileged", Some("proxy"));
    for elsewhere in [Some("default"), Some("kube-system-2"), Some(""), None] {
        let report = run_at(&list, privileged(), &scope_in(elsewhere), NOW);
        assert_eq!(report.remaining.len(), 1, "{elsewhere:?}");
    }
    assert!(run(&list, privileged()).remaining.is_empty());
}

#[test]
fn an_image_glob_waives_nothing_outside_the_named_namespaces() {
    // Anyone can run the kube-proxy image with `command: [sh]`.
    let list = exceptions(
        r#"[{"controls":["privileged","hostNamespaces"],"images":["registry.k8s.io/kube-proxy:*","registry.corp.com/*"],"namespaces":["kube-system"],"reason":"r"}]"#,
    );
    let in_default = scope_in(Some("default"));
    for violation in [
        violation("privileged", Some("proxy")),
        violation("hostNamespaces", None),
    ] {
        let report = run_at(&list, violation.clone(), &in_default, NOW);
        assert_eq!(report.remaining.len(), 1, "{violation}");
        assert!(run(&list, violation).remaining.is_empty());
    }
}

#[test]
fn a_cluster_wide_exception_waives_everywhere_and_says_so_once_per_control() {
    let list = exceptions(
        r#"[{"controls":["privileged"],"containers":["proxy","sidecar"],"namespaces":["*"],"reason":"r"}]"#,
    );
    for namespace in [Some("default"), Some("kube-system"), None] {
        let report = apply_exceptions(
            "p",
            &list,
            &[],
            [
                violation("privileged", Some("proxy")),
                violation("privileged", Some("sidecar")),
            ]
            .into_iter()
            .collect(),
            &scope_in(namespace),
            NOW,
        );
        assert!(report.remaining.is_empty(), "{namespace:?}");
        let cluster_wide: Vec<&String> = report
            .warnings
            .iter()
            .filter(|w| w.contains("cluster-wide"))
            .collect();
        assert_eq!(
            cluster_wide,
            [
                "p: exception #0 waives privileged cluster-wide (namespaces: [\"*\"]): any namespace's author can claim it"
            ],
            "{namespace:?}"
        );
        let applied: serde_json::Value = serde_json::from_str(&report.audit[0].1).expect("json");
        assert_eq!(applied[0]["clusterWide"], true);
        assert_eq!(applied[1]["clusterWide"], true);
    }
    // A named namespace is not cluster-wide: no such warning, no such mark.
    let named = exceptions(
        r#"[{"controls":["privileged"],"containers":["proxy"],"namespaces":["kube-system"],"reason":"r"}]"#,
    );
    let report = run(&named, violation("privileged", Some("proxy")));
    assert!(!report.warnings.iter().any(|w| w.contains("cluster-wide")));
    assert!(!report.audit[0].1.contains("clusterWide"));
}

#[test]
fn an_expiring_exception_waives_nothing_when_the_clock_cannot_be_read() {
    let list = exceptions(
        r#"[{"controls":["privileged"],"containers":["proxy"],"namespaces":["kube-system"],"reason":"r","expires":"2027-01-31"},
            {"controls":["privileged"],"containers":["proxy"],"namespaces":["kube-system"],"reason":"r"}]"#,
    );
    let report = run_at(
        &list[..1],
        violation("privileged", Some("proxy")),
        &scope(),
        Now::Unreadable,
    );
    assert_eq!(report.remaining.len(), 1);
    assert_eq!(
        report.warnings,
        [
            "p: exception #0 expires on 2027-01-31 but the clock cannot be read, so it waives nothing: [privileged] spec.hostNetwork (container \"proxy\"): m is not waived"
        ]
    );
    assert_eq!(report.audit[0].0, CLOCK_UNREADABLE_AUDIT);
    // An exception without an expiry needs no clock: the next one waives.
    let report = run_at(
        &list,
        violation("privileged", Some("proxy")),
        &scope(),
        Now::Unreadable,
    );
    assert!(report.remaining.is_empty());
    assert!(report.warnings[1].contains("exception #1 waives [privileged]"));
    // With a clock, the expiring one waives (what `Timestamp::now` made of an unreadable clock
    // before: 1970, long before any expiry).
    assert!(
        run_at(
            &list[..1],
            violation("privileged", Some("proxy")),
            &scope(),
            Now::At(Timestamp(0)),
        )
        .remaining
        .is_empty()
    );
}

#[test]
fn an_exception_expiring_within_thirty_days_says_so_when_it_waives() {
    let expiring = |date: &str| {
        exceptions(&format!(
            r#"[{{"controls":["privileged"],"namespaces":["kube-system"],"reason":"r","expires":"{date}"}}]"#
        ))
    };
    let today = pci_shared_date(NOW);
    let in_days = |days: i64| {
        crate::time::Date::from_days_since_epoch(today.days_since_epoch() + days).to_string()
    };
    for (days, says) in [(0, "today"), (1, "tomorrow"), (30, "in 30 days")] {
        let report = run(&expiring(&in_days(days)), violation("privileged", None));
        assert!(report.remaining.is_empty());
        let notice = report
            .warnings
            .iter()
            .find(|w| w.contains("expires on"))
            .unwrap_or_else(|| panic!("{days} days: {:?}", report.warnings));
        assert!(notice.contains(says), "{notice}");
    }
    let later = run(&expiring(&in_days(31)), violation("privileged", None));
    assert!(!later.warnings.iter().any(|w| w.contains("expires on")));
}

/// The day `now` falls on.
fn pci_shared_date(now: Now) -> crate::time::Date {
    let seconds = now.timestamp().expect("a readable clock").0;
    crate::time::Date::from_days_since_epoch(seconds.div_euclid(86_400))
}
