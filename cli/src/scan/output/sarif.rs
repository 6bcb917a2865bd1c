//! SARIF 2.1.0, as GitHub code scanning reads it: one rule per policy control
//! (`<policy>/<control>`, stable across runs), one result per violation at the line of the
//! offending field, `security-severity` and PCI tags on the rules, the PCI DSS requirements
//! as a taxonomy, exceptions as suppressions, and a fingerprint that survives moved lines.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::profile::Profile;
use crate::scan::outcome::{Outcome, ScanResults, Verdict};

const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";
const TAXONOMY: &str = "PCI DSS";

/// A rule as the results use it.
struct Rule {
    id: String,
    name: String,
    text: String,
    severity: String,
    sections: Vec<String>,
}

/// The SARIF log.
pub fn render(results: &ScanResults) -> Value {
    let profile = Profile::get();
    let mut rules: BTreeMap<String, Rule> = BTreeMap::new();
    let mut entries = Vec::new();
    for outcome in &results.results {
        for (rule, result) in results_of(outcome) {
            rules.entry(rule.id.clone()).or_insert(rule);
            entries.push(result);
        }
    }
    let index: BTreeMap<&str, usize> = rules
        .keys()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    for entry in &mut entries {
        let id = entry["ruleId"].as_str().unwrap_or_default();
        if let Some(i) = index.get(id) {
            entry["ruleIndex"] = json!(i);
        }
    }
    let taxa: Vec<Value> = profile
        .sections
        .iter()
        .flat_map(|s| &s.requirements)
        .map(|r| r.id.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .map(|id| json!({"id": id, "name": format!("Requirement {id}")}))
        .collect();
    let rules: Vec<Value> = rules
        .values()
        .map(|rule| rule_json(rule, profile))
        .collect();
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "pci-policies",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/pci-policies/pci-policies",
                "rules": rules,
                "supportedTaxonomies": [{"name": TAXONOMY, "index": 0}],
            }},
            "taxonomies": [{
                "name": TAXONOMY,
                "version": "4.0.1",
                "organization": "PCI Security Standards Council",
                "shortDescription": {"text": "Payment Card Industry Data Security Standard v4.0.1"},
                "taxa": taxa,
            }],
            "columnKind": "unicodeCodePoints",
            "results": entries,
        }],
    })
}

fn rule_json(rule: &Rule, profile: &Profile) -> Value {
    let requirements = profile.requirements_of(rule.sections.iter().map(String::as_str));
    let mut tags = vec!["security".to_owned()];
    tags.extend(requirements.iter().map(|r| format!("pci-dss-4.0.1/{r}")));
    tags.extend(rule.sections.iter().map(|s| format!("pci-containers/{s}")));
    tags.truncate(20);
    let relationships: Vec<Value> = requirements
        .iter()
        .map(|id| json!({"target": {"id": id, "toolComponent": {"name": TAXONOMY}}, "kinds": ["relevant"]}))
        .collect();
    let guidance = rule.sections.join(", ");
    json!({
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.text},
        "fullDescription": {"text": format!("{} (PCI container guidance {guidance}; PCI DSS {})", rule.text, requirements.join(", "))},
        "help": {
            "text": format!("{}. See the policy's README for the setting that governs it and how to add a narrow, expiring exception.", rule.text),
            "markdown": format!("**{}**\n\nPCI container guidance {guidance}; PCI DSS v4.0.1 {}.", rule.text, requirements.join(", ")),
        },
        "helpUri": format!("https://github.com/pci-policies/pci-policies/tree/main/policies/{}", rule.id.split('/').next().unwrap_or_default()),
        "defaultConfiguration": {"level": "error"},
        "relationships": relationships,
        "properties": {
            "tags": tags,
            "precision": "very-high",
            "security-severity": security_severity(&rule.severity),
        },
    })
}

/// GitHub's scale: critical > 9, high 7–8.9, medium 4–6.9, low < 4.
fn security_severity(severity: &str) -> &'static str {
    match severity {
        "critical" => "9.5",
        "high" => "8.0",
        "medium" => "5.5",
        "low" => "3.0",
        _ => "1.0",
    }
}

/// The SARIF `level` of an outcome.
fn level(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Fail | Verdict::Error | Verdict::Invalid => "error",
        Verdict::Warn => "warning",
        Verdict::Pass | Verdict::Skip => "note",
    }
}

/// A stable identity of a result: rule, workload and field, not the line (which moves).
fn fingerprint(parts: &[&str]) -> String {
    // FNV-1a over the parts: the same on every platform and every run.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in parts.join("\u{1f}").bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

fn location(file: &str, line: usize) -> Value {
    json!({"physicalLocation": {
        "artifactLocation": {"uri": if file == "-" { "stdin" } else { file }},
        "region": {"startLine": line.max(1)},
    }})
}

/// The rules and results of one outcome.
fn results_of(outcome: &Outcome) -> Vec<(Rule, Value)> {
    let entries = Entries {
        outcome,
        workload: outcome.workload(),
        module: if outcome.module.is_empty() {
            "pci-policies"
        } else {
            &outcome.module
        },
    };
    let mut out = match outcome.verdict {
        Verdict::Pass | Verdict::Skip => Vec::new(),
        Verdict::Invalid => vec![entries.entry(
            "invalid-document",
            "A manifest document that cannot be read".into(),
            outcome.message.clone(),
            outcome.line,
            &format!("{}:{}", outcome.file, outcome.line),
        )],
        Verdict::Warn | Verdict::Fail | Verdict::Error => entries.violations(),
    };
    out.extend(entries.waived());
    out
}

/// Makes the rules and results of one outcome, the same way for each kind of result.
struct Entries<'a> {
    outcome: &'a Outcome,
    workload: String,
    /// The rules' prefix: the outcome's module, or `pci-policies` for a document.
    module: &'a str,
}

impl Entries<'_> {
    /// What a control checks, from the bundle's profile (a group member's control is named
    /// `<member>.<control>`), else `fallback`.
    fn what(&self, control: &str, fallback: &str) -> String {
        Profile::get()
            .control(
                &self.outcome.module,
                control.rsplit('.').next().unwrap_or_default(),
            )
            .map_or_else(|| fallback.to_owned(), |c| c.what.clone())
    }

    /// The rule of `control` (described by `text`) and a result of it saying `message` at
    /// `line`, fingerprinted by its rule, workload and `key`.
    fn entry(
        &self,
        control: &str,
        text: String,
        message: String,
        line: usize,
        key: &str,
    ) -> (Rule, Value) {
        let outcome = self.outcome;
        let rule = Rule {
            id: format!("{}/{control}", self.module),
            name: control.to_owned(),
            text,
            severity: outcome.severity.clone(),
            sections: outcome.controls.clone(),
        };
        let result = json!({
            "ruleId": rule.id,
            "level": level(outcome.verdict),
            "message": {"text": message},
            "locations": [location(&outcome.file, line)],
            "partialFingerprints": {"pciPolicies/v1": fingerprint(&[&rule.id, &self.workload, key])},
            "properties": properties(outcome, &self.workload),
        });
        (rule, result)
    }

    /// One result per finding of a rejection, warning or error; one for its message when it
    /// has no finding.
    fn violations(&self) -> Vec<(Rule, Value)> {
        let (outcome, workload) = (self.outcome, &self.workload);
        let mut out = Vec::new();
        for finding in &outcome.findings {
            let container = finding
                .container
                .as_ref()
                .map_or_else(String::new, |c| format!(" container \"{c}\":"));
            out.push(self.entry(
                &finding.control,
                self.what(&finding.control, &finding.control),
                format!(
                    "{workload}:{container} {}: {}",
                    finding.path, finding.message
                ),
                finding.line,
                &finding.path,
            ));
        }
        if outcome.findings.is_empty() && !outcome.message.is_empty() {
            let (control, text) = if outcome.verdict == Verdict::Error {
                (
                    "evaluation-error",
                    "The policy could not evaluate the workload",
                )
            } else {
                ("rejected", "The policy rejected the workload")
            };
            out.push(self.entry(
                control,
                text.into(),
                format!("{workload}: {}", outcome.message),
                outcome.line,
                "",
            ));
        }
        out
    }

    /// Waived violations stay visible, suppressed with the exception's reason.
    fn waived(&self) -> Vec<(Rule, Value)> {
        let workload = &self.workload;
        let waivers = self.outcome.waivers.iter().filter(|w| !w.expired);
        waivers
            .map(|waiver| {
                let (rule, mut result) = self.entry(
                    &waiver.control,
                    self.what(&waiver.control, &waiver.control),
                    format!(
                        "{workload}: {} (waived by exception #{})",
                        waiver.path, waiver.exception
                    ),
                    waiver.line,
                    &waiver.path,
                );
                result["level"] = json!("note");
                result["suppressions"] = json!([{
                    "kind": "external",
                    "status": "accepted",
                    "justification": waiver.reason,
                }]);
                (rule, result)
            })
            .collect()
    }
}

/// A result's properties: the policy, the workload and, when the scan could not decide whether
/// the policy applies, what it assumed.
fn properties(outcome: &Outcome, workload: &str) -> Value {
    let mut properties = json!({"policy": outcome.policy, "workload": workload});
    if !outcome.assumed.is_empty() {
        properties["assumed"] = json!(outcome.assumed);
    }
    properties
}
