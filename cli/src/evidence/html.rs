//! The pack as one self-contained HTML page: no script, no external font, style or image,
//! an inline SVG chart, and print styles so it prints cleanly as the assessor's copy.

use std::fmt::Write;

use serde_json::Value;

use super::history::Counts;
use super::operational::{Operation, Verdict};
use super::policies::PolicyEvidence;
use super::value_html::value_html;
use super::{Pack, SectionEvidence, counted};
use crate::markup::escape;

const STYLE: &str = "
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:75rem;color:#1b1b1b;line-height:1.4}
h1{font-size:1.6rem}h2{border-bottom:2px solid #444;padding-bottom:.2rem;margin-top:2.2rem}h3{margin-bottom:.3rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem;font-size:.9rem}
th,td{border:1px solid #bbb;padding:.25rem .45rem;text-align:left;vertical-align:top;overflow-wrap:break-word}
th{background:#eee}code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85rem;overflow-wrap:anywhere}
pre{background:#f4f4f4;padding:.6rem;white-space:pre-wrap}
ul.value,ol.value{margin:0;padding-left:1.1rem}svg{max-width:100%;height:auto}
table.settings th:first-child{width:18%}table.settings th:nth-child(4){width:10%}table.settings th:last-child{width:24%}
.flag{color:#a00;font-weight:bold}.ok{color:#060}.muted{color:#666}
section.flagged{border:2px solid #a00;padding:0 1rem;margin:1rem 0}.verdict{font-weight:bold}section.cluster{border-top:4px solid #444;margin-top:3rem}
tr.deviation td,tr.exception.expired td{background:#fde8e8}tr.exception.expiring td{background:#fff6db}
nav a{margin-right:1rem}
body{padding:0 1rem}
@media (max-width:60rem){table{font-size:.8rem}th,td{padding:.2rem .3rem}}
@page{size:A4;margin:15mm}
@media print{nav{display:none}body{margin:0;padding:0;max-width:none;font-size:10pt}table{font-size:8pt}th,td{padding:.15rem .3rem}tr{break-inside:avoid}h2{break-before:page}h2,h3{break-after:avoid}}
";

/// The page.
pub fn render(pack: &Pack) -> String {
    let mut page = String::new();
    document_head(&mut page, &pack.date);
    body(&mut page, pack);
    page.push_str("</body>\n</html>\n");
    page
}

/// The `<!DOCTYPE>`, the head with the style, and the opening `<body>`.
pub fn document_head(page: &mut String, date: &str) {
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>PCI container controls evidence {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape(date)
    );
}

/// One pack's content: header, what is flagged, the overview, every section, the register,
/// the reports, the scan and how to reproduce it.
pub fn body(page: &mut String, pack: &Pack) {
    header(page, pack);
    flags(page, &pack.flagged);
    overview(page, pack);
    for section in &pack.sections {
        control_section(page, pack, section);
    }
    exceptions(page, pack);
    reports(page, pack);
    scan(page, pack);
    page.push_str("<section id=\"reproduce\">\n<h2>How to reproduce</h2>\n<pre>");
    for command in &pack.reproduce {
        page.push_str(&escape(command));
        page.push('\n');
    }
    page.push_str("</pre>\n</section>\n");
}

/// The box at the top listing everything not operational (nothing: a line saying so).
pub fn flags(page: &mut String, flagged: &[String]) {
    if flagged.is_empty() {
        page.push_str("<p class=\"ok\" id=\"flagged\">Every section is operational; nothing is flagged.</p>\n");
        return;
    }
    page.push_str("<section id=\"flagged\" class=\"flagged\">\n<h2>Flagged</h2>\n<ul>\n");
    for flag in flagged {
        let _ = writeln!(page, "<li class=\"flag\">{}</li>", escape(flag));
    }
    page.push_str("</ul>\n</section>\n");
}

/// The pack's header (cluster, date, tool, standard, what was read) and its navigation bar.
fn header(page: &mut String, pack: &Pack) {
    let title = match &pack.cluster {
        Some(cluster) => format!("Cluster {}", escape(cluster)),
        None => "PCI DSS container-orchestration controls: evidence pack".to_owned(),
    };
    let _ = write!(
        page,
        "<header><h1>{title}</h1>\n<p>Date {} · {} · mapped to {} · read: {}</p></header>\n",
        escape(&pack.date),
        escape(&pack.tool),
        escape(&pack.standard),
        escape(&if pack.manifests.is_empty() {
            "none".to_owned()
        } else {
            pack.manifests.join(", ")
        })
    );
    page.push_str("<nav>");
    for section in &pack.sections {
        let _ = write!(
            page,
            "<a href=\"#control-{0}\">{0}</a>",
            escape(&section.id)
        );
    }
    page.push_str("<a href=\"#exceptions\">Exceptions</a><a href=\"#history\">Reports</a><a href=\"#scan\">Scan</a><a href=\"#reproduce\">Reproduce</a></nav>\n");
}

/// One control section: its PCI DSS requirements, the policies not started, and the block of
/// every policy that enforces it.
fn control_section(page: &mut String, pack: &Pack, section: &SectionEvidence) {
    let _ = write!(
        page,
        "<section class=\"control\" id=\"control-{}\">\n<h2>{} {}</h2>\n",
        escape(&section.id),
        escape(&section.id),
        escape(&section.title)
    );
    page.push_str(
        "<table><tr><th>PCI DSS requirement</th><th>Basis</th><th>Why it applies</th></tr>\n",
    );
    for requirement in &section.requirements {
        let _ = writeln!(
            page,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&requirement.id),
            escape(&requirement.basis),
            escape(&requirement.why)
        );
    }
    page.push_str("</table>\n");
    let _ = writeln!(
        page,
        "<p class=\"verdict {}\">{}</p>",
        if section.verdict == Verdict::Operational {
            "ok"
        } else {
            "flag"
        },
        escape(&verdict_line(section))
    );
    for policy in pack
        .policies
        .iter()
        .filter(|p| section.not_started.contains(&p.name))
    {
        let _ = writeln!(
            page,
            "<p class=\"flag\">{} is not started: the policy refuses its settings ({}), so policy-server does not run it and it enforces nothing.</p>",
            escape(&policy.name),
            escape(&policy.refused_settings.join("; "))
        );
    }
    for policy in pack
        .policies
        .iter()
        .filter(|p| section.policies.contains(&p.name))
    {
        policy_block(page, &section.id, policy);
    }
    page.push_str("</section>\n");
}

fn overview(page: &mut String, pack: &Pack) {
    page.push_str("<section id=\"overview\">\n<h2>Overview</h2>\n<table class=\"verdicts\"><tr><th>Section</th><th>Verdict</th></tr>\n");
    for section in &pack.sections {
        let class = if section.verdict == Verdict::Operational {
            "ok"
        } else {
            "flag"
        };
        let _ = writeln!(
            page,
            "<tr><td>{} {}</td><td class=\"{class}\" data-section=\"{}\">{}</td></tr>",
            escape(&section.id),
            escape(&section.title),
            escape(&section.id),
            escape(section.verdict.text())
        );
    }
    page.push_str("</table>\n<table><tr><th>Section</th><th>Policy</th><th>Mode</th><th>Failure policy</th><th>Webhook</th><th>Background audit</th><th>Deviations</th></tr>\n");
    for section in &pack.sections {
        for policy in pack
            .policies
            .iter()
            .filter(|p| section.policies.contains(&p.name) || section.not_started.contains(&p.name))
        {
            let deviations = policy.settings.iter().filter(|s| s.is_deviation()).count();
            let flag = |good: bool, text: &str| {
                if good {
                    format!("<span class=\"ok\">{}</span>", escape(text))
                } else {
                    format!("<span class=\"flag\">{}</span>", escape(text))
                }
            };
            let _ = writeln!(
                page,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&section.id),
                escape(&policy.name),
                if policy.refused_settings.is_empty() {
                    flag(policy.mode == "protect", &policy.mode)
                } else {
                    flag(false, "not started: settings refused")
                },
                flag(policy.failure_policy == "Fail", &policy.failure_policy),
                escape(&policy.webhook),
                if policy.background_audit { "yes" } else { "no" },
                flag(deviations == 0, &deviations.to_string())
            );
        }
    }
    page.push_str("</table>\n</section>\n");
}

/// "Verdict: operational", or the verdict and every reason.
fn verdict_line(section: &SectionEvidence) -> String {
    let mut line = format!("Verdict: {}", section.verdict.text());
    if section.verdict != Verdict::Operational && !section.reasons.is_empty() {
        line.push_str(" — ");
        line.push_str(&section.reasons.join("; "));
    }
    line
}

/// One policy's block: how it is deployed, then its settings against the recommended ones.
fn policy_block(page: &mut String, section: &str, policy: &PolicyEvidence) {
    deployment_table(page, section, policy);
    settings_table(page, policy);
}

/// One row of a two-column table: `key` (escaped) and `value` (HTML already).
fn row(page: &mut String, key: &str, value: String) {
    let _ = writeln!(page, "<tr><th>{}</th><td>{value}</td></tr>", escape(key));
}

/// How a policy is deployed: its kind, file, modules, mode, webhook and what it selects.
fn deployment_table(page: &mut String, section: &str, policy: &PolicyEvidence) {
    let _ = write!(
        page,
        "<h3 id=\"policy-{}-{1}\">{1}</h3>\n<table>\n",
        escape(section),
        escape(&policy.name)
    );
    row(page, "Kind", escape(&policy.kind));
    row(
        page,
        "Read from",
        format!("<code>{}</code>", escape(&policy.file)),
    );
    for module in &policy.modules {
        let label = if module.member.is_empty() {
            "Module".to_owned()
        } else {
            format!("Module of {}", module.member)
        };
        row(
            page,
            &label,
            format!(
                "<code>{}</code><br>digest: {}<br>signature: {}",
                escape(&module.reference),
                module.digest.as_deref().map_or_else(
                    || "<span class=\"flag\">not pinned</span>".to_owned(),
                    |d| format!("<code>{}</code>", escape(d))
                ),
                escape(&module.signature)
            ),
        );
    }
    if let Some(expression) = &policy.expression {
        row(
            page,
            "Group expression",
            format!("<code>{}</code>", escape(expression)),
        );
    }
    row(page, "Mode", escape(&policy.mode));
    row(page, "Failure policy", escape(&policy.failure_policy));
    row(page, "Webhook", escape(&policy.webhook));
    row(
        page,
        "Background audit",
        escape(if policy.background_audit { "yes" } else { "no" }),
    );
    row(page, "Kinds", escape(&policy.kinds.join(", ")));
    row(page, "Operations", escape(&policy.operations.join(", ")));
    row(page, "Namespaces", escape(&policy.namespace_selector));
    row(page, "Objects", escape(&policy.object_selector));
    if !policy.match_conditions.is_empty() {
        row(
            page,
            "Match conditions",
            escape(&policy.match_conditions.join("; ")),
        );
    }
    if let Some(timeout) = policy.timeout_seconds {
        row(page, "Webhook timeout", format!("{timeout} s"));
    }
    if let Some(operation) = &policy.operation {
        operation_rows(page, operation);
    }
    page.push_str("</table>\n");
}

/// What the cluster's export shows of the policy at work.
fn operation_rows(page: &mut String, operation: &Operation) {
    let class = if operation.verdict == Verdict::Operational {
        "ok"
    } else {
        "flag"
    };
    let mut verdict = format!(
        "<span class=\"{class}\">{}</span>",
        escape(operation.verdict.text())
    );
    for reason in operation.reasons.iter().chain(&operation.notes) {
        let _ = write!(verdict, "<br>{}", escape(reason));
    }
    row(page, "In the cluster", verdict);
    let or_none = |value: Option<&str>| escape(value.unwrap_or("not shown"));
    row(page, "Status", or_none(operation.policy_status.as_deref()));
    row(page, "Mode in effect", escape(&operation.mode_in_effect));
    if !operation.conditions.is_empty() {
        row(page, "Conditions", escape(&operation.conditions.join("; ")));
    }
    let webhook = operation.webhook.as_ref().map(|w| {
        format!(
            "{} {}: failurePolicy {}, timeout {} s, namespaceSelector {}",
            w.kind, w.configuration, w.failure_policy, w.timeout_seconds, w.namespace_selector
        )
    });
    row(page, "Registered webhook", or_none(webhook.as_deref()));
    let server = &operation.policy_server;
    let replicas = match (server.ready_replicas, server.replicas) {
        (Some(ready), Some(wanted)) => {
            format!("{}: {ready} of {wanted} replicas ready", server.name)
        }
        _ => format!("{}: replicas not shown", server.name),
    };
    row(page, "PolicyServer", escape(&replicas));
    row(
        page,
        "Newest audit result",
        or_none(operation.newest_audit.as_deref()),
    );
    row(
        page,
        "Audit scanner",
        or_none(operation.audit_scanner.as_deref()),
    );
}

/// A policy's settings: deployed and recommended values, deviations flagged.
fn settings_table(page: &mut String, policy: &PolicyEvidence) {
    page.push_str("<table class=\"settings\"><tr><th>Setting</th><th>Deployed</th><th>Recommended</th><th>Status</th><th>Why</th></tr>\n");
    for setting in &policy.settings {
        let class = if setting.is_deviation() {
            " class=\"deviation\""
        } else {
            ""
        };
        let status = if setting.is_deviation() {
            "<span class=\"flag\">DEVIATION</span>".to_owned()
        } else {
            escape(&setting.status)
        };
        // Exceptions are listed once, in the register, one row each.
        let registered = setting.status == "in the exceptions register";
        let deployed = match &setting.value {
            Value::Array(items) if registered => format!(
                "<a href=\"#exceptions\">{} in the register</a>",
                items.len()
            ),
            value => value_html(value),
        };
        let recommended = match &setting.recommended {
            None => "—".to_owned(),
            Some(_) if registered => "reviewed one by one".to_owned(),
            Some(value) => value_html(value),
        };
        let _ = writeln!(
            page,
            "<tr{class}><td><code>{}</code></td><td>{deployed}</td><td>{recommended}</td><td>{status}</td><td>{}</td></tr>",
            escape(&setting.setting),
            escape(&setting.why)
        );
    }
    page.push_str("</table>\n");
}

fn exceptions(page: &mut String, pack: &Pack) {
    page.push_str("<section id=\"exceptions\">\n<h2>Exceptions register</h2>\n");
    let _ = writeln!(
        page,
        "<p>{} exceptions on {}; expired and expiring within {} days are flagged. An expired exception waives nothing: the policy rejects again.</p>",
        pack.exceptions.len(),
        escape(&pack.date),
        super::register::EXPIRING_WITHIN_DAYS
    );
    page.push_str("<table class=\"register\"><tr><th>Exception</th><th>Controls</th><th>Scope</th><th>Reason</th><th>Approval</th></tr>\n");
    for entry in &pack.exceptions {
        let mut scope = Vec::new();
        if !entry.namespaces.is_empty() {
            scope.push(escape(&format!(
                "namespaces {}",
                entry.namespaces.join(", ")
            )));
        }
        if let Some(flag) = &entry.namespace_flag {
            scope.push(format!("<span class=\"flag\">{}</span>", escape(flag)));
        }
        if !entry.images.is_empty() {
            scope.push(escape(&format!("images {}", entry.images.join(", "))));
        }
        if !entry.containers.is_empty() {
            scope.push(escape(&format!(
                "containers {}",
                entry.containers.join(", ")
            )));
        }
        let status_class = entry.status.replace(' ', "-");
        let status = match (&entry.status[..], entry.days_left) {
            ("active", Some(days)) => format!("active ({} left)", counted(days, "day")),
            ("expiring", Some(days)) => {
                format!(
                    "<span class=\"flag\">EXPIRING in {}</span>",
                    counted(days, "day")
                )
            }
            ("expired", Some(days)) => {
                format!(
                    "<span class=\"flag\">EXPIRED {} ago</span>",
                    counted(-days, "day")
                )
            }
            (other, _) => format!("<span class=\"flag\">{}</span>", escape(other)),
        };
        let _ = writeln!(
            page,
            "<tr class=\"exception {status_class}\" data-policy=\"{}\" data-index=\"{}\"><td>{} #{}</td><td>{}</td><td>{}</td><td>{}</td><td>approved by {}<br>expires {}<br>{status}</td></tr>",
            escape(&entry.policy),
            entry.index,
            escape(&entry.policy),
            entry.index,
            entry
                .controls
                .iter()
                .map(|control| format!("<code>{}</code>", escape(control)))
                .collect::<Vec<_>>()
                .join(", "),
            scope.join("; "),
            escape(&entry.reason),
            entry.approved_by.as_deref().map_or_else(
                || "<span class=\"flag\">not recorded</span>".to_owned(),
                escape
            ),
            escape(entry.expires.as_deref().unwrap_or("never")),
        );
    }
    page.push_str("</table>\n</section>\n");
}

fn reports(page: &mut String, pack: &Pack) {
    page.push_str("<section id=\"history\">\n<h2>In-cluster reports</h2>\n");
    let Some(history) = &pack.reports else {
        page.push_str("<p class=\"muted\">No report export given (<code>--reports</code>). Export the audit scanner's reports on a schedule and pass every export to build the 12-month history PCI DSS 10.5.1 asks for.</p>\n</section>\n");
        return;
    };
    let _ = writeln!(
        page,
        "<p>{} reports from {} exports: {}.</p>",
        history.reports,
        history.files.len(),
        escape(&history.files.join(", "))
    );
    if history.out_of_range > 0 {
        let _ = writeln!(
            page,
            "<p class=\"flag\">{} dated after the pack's time or before 2014 (or without a readable time), not counted.</p>",
            super::counted(history.out_of_range as i64, "result")
        );
    }
    page.push_str("<table><tr><th>Day</th><th>Policy</th><th>Pass</th><th>Fail</th><th>Warn</th><th>Error</th><th>Skip</th></tr>\n");
    for (day, policies) in &history.days {
        for (policy, counts) in policies {
            let _ = writeln!(
                page,
                "<tr class=\"report-day\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(day),
                escape(policy),
                counts.pass,
                counts.fail,
                counts.warn,
                counts.error,
                counts.skip
            );
        }
    }
    page.push_str("</table>\n");
    if !history.latest_failures.is_empty() {
        page.push_str("<h3>Failing on the latest day</h3>\n<table><tr><th>Resource</th><th>Policy</th><th>Result</th><th>Message</th></tr>\n");
        for [resource, policy, result, message] in &history.latest_failures {
            let _ = writeln!(
                page,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(resource),
                escape(policy),
                escape(result),
                escape(message)
            );
        }
        page.push_str("</table>\n");
    }
    page.push_str("</section>\n");
}

fn scan(page: &mut String, pack: &Pack) {
    page.push_str("<section id=\"scan\">\n<h2>Shift-left scan</h2>\n");
    let Some(scan) = &pack.scan else {
        page.push_str("<p class=\"muted\">No scan results given (<code>--scan</code>, from <code>pci-policies scan -o json</code>).</p>\n</section>\n");
        return;
    };
    let _ = writeln!(
        page,
        "<p>{} workloads from {}; {} unreadable documents.</p>",
        scan.workloads,
        escape(&scan.files.join(", ")),
        scan.invalid_documents
    );
    page.push_str(&chart(&scan.sections));
    page.push_str(
        "<table><tr><th>Section</th><th>Pass</th><th>Warn</th><th>Fail</th><th>Error</th></tr>\n",
    );
    for (section, counts) in &scan.sections {
        let _ = writeln!(
            page,
            "<tr class=\"scan-section\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(section),
            counts.pass,
            counts.warn,
            counts.fail,
            counts.error
        );
    }
    page.push_str("</table>\n");
    if !scan.failing.is_empty() {
        page.push_str("<h3>Failing workloads</h3>\n<table><tr><th>Where</th><th>Workload</th><th>Policy</th><th>What</th></tr>\n");
        for [at, workload, policy, what] in &scan.failing {
            let _ = writeln!(
                page,
                "<tr class=\"failing\"><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(at),
                escape(workload),
                escape(policy),
                escape(what)
            );
        }
        page.push_str("</table>\n");
    }
    page.push_str("</section>\n");
}

/// A horizontal stacked bar per section: pass, warn, fail, error.
fn chart(sections: &std::collections::BTreeMap<String, Counts>) -> String {
    let width = 600.0;
    let bar = 22.0;
    let height = 30.0 * sections.len() as f64 + 30.0;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"Scan results per PCI section\" width=\"{}\" height=\"{height}\" viewBox=\"0 0 {} {height}\">\n",
        width + 80.0,
        width + 80.0
    );
    for (row, (section, counts)) in sections.iter().enumerate() {
        let y = 30.0 * row as f64 + 4.0;
        let total = counts.total().max(1) as f64;
        let _ = writeln!(
            svg,
            "<text x=\"0\" y=\"{}\" font-size=\"13\">{}</text>",
            y + 15.0,
            escape(section)
        );
        let mut x = 40.0;
        for (count, colour, label) in [
            (counts.pass, "#2e7d32", "pass"),
            (counts.warn, "#f9a825", "warn"),
            (counts.fail, "#c62828", "fail"),
            (counts.error, "#6a1b9a", "error"),
        ] {
            if count == 0 {
                continue;
            }
            let w = width * count as f64 / total;
            let _ = writeln!(
                svg,
                "<rect x=\"{x:.1}\" y=\"{y}\" width=\"{w:.1}\" height=\"{bar}\" fill=\"{colour}\"><title>{label}: {count}</title></rect>"
            );
            x += w;
        }
    }
    let legend_y = 30.0 * sections.len() as f64 + 20.0;
    let _ = writeln!(
        svg,
        "<text x=\"40\" y=\"{legend_y}\" font-size=\"12\">green pass · yellow warn · red fail · purple error</text>\n</svg>"
    );
    svg
}
