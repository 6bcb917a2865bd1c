//! K8sPSPAllowedUsers and K8sPSPFSGroup: id rules (`runAsUser`, `runAsGroup`,
//! `supplementalGroups`, `fsGroup`), each a `rule` and `ranges`, become pod-security's settings
//! of the same names. A rule Gatekeeper applies with no range, or one pod-security does not
//! have, refuses every pod that sets the id (with MustRunAs, every pod): pod-security cannot
//! say it, so the import fails, naming the field.

use anyhow::{Result, bail};
use serde_json::{Value, json};

use super::constraint::Constraint;
use crate::import::conversion::Conversion;

/// Converts the rule `value` read at `source` into the setting `field`.
pub fn rule(field: &str, value: &Value, source: &str, out: &mut Conversion) -> Result<()> {
    if value.is_null() {
        return Ok(());
    }
    let rules: &[&str] = if field == "runAsUser" {
        &["MustRunAs", "MustRunAsNonRoot", "RunAsAny"]
    } else {
        &["MustRunAs", "MayRunAs", "RunAsAny"]
    };
    let rule = value["rule"].as_str().unwrap_or_default();
    if !rules.contains(&rule) {
        bail!(
            "{source}.rule: {rule:?} is not one of {}: Gatekeeper then refuses every pod that sets {field}, which pod-security cannot say",
            rules.join(", ")
        );
    }
    if rule == "RunAsAny" || rule == "MustRunAsNonRoot" {
        return out.narrow(field, json!({"rule": rule}), source);
    }
    let ranges = value["ranges"].as_array().filter(|r| !r.is_empty());
    let Some(ranges) = ranges else {
        bail!(
            "{source}.ranges: {rule} without a range refuses every pod in Gatekeeper{}; pod-security needs at least one range: give the ranges meant",
            if rule == "MustRunAs" {
                ""
            } else {
                " that sets it"
            }
        );
    };
    let ranges: Vec<Value> = ranges
        .iter()
        .map(|r| json!({"min": r["min"], "max": r["max"]}))
        .collect();
    out.narrow(field, json!({"rule": rule, "ranges": ranges}), source)
}

/// K8sPSPAllowedUsers: the four rules it has.
pub fn allowed_users(constraint: &Constraint<'_>, out: &mut Conversion) -> Result<()> {
    for field in ["runAsUser", "runAsGroup", "supplementalGroups", "fsGroup"] {
        rule(
            field,
            &constraint.parameters[field],
            &constraint.at(field),
            out,
        )?;
    }
    if constraint.parameters["runAsUser"]["rule"] == "MustRunAsNonRoot" {
        out.stricter(
            Some("runAsUser"),
            &constraint.at("runAsUser"),
            &["psp.runAsUser"],
            "runAsNonRoot: false is refused even with a non-zero user, which Gatekeeper accepts",
        );
    }
    Ok(())
}

/// K8sPSPFSGroup: `rule` and `ranges` at the top of the parameters; no rule judges nothing.
pub fn fs_group(constraint: &Constraint<'_>, out: &mut Conversion) -> Result<()> {
    if constraint.parameters["rule"].is_null() {
        out.note(
            None,
            &constraint.at("rule"),
            "unset: the constraint judges nothing",
        );
        return Ok(());
    }
    rule(
        "fsGroup",
        constraint.parameters,
        &format!("{}: parameters", constraint.id()),
        out,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn convert(yaml: &str) -> Result<Conversion> {
        let object: Value = yaml_serde::from_str(yaml).unwrap();
        let constraint = Constraint::of(&object);
        let mut out = Conversion::new("t".into(), "n".into(), "baseline");
        match constraint.kind {
            "K8sPSPFSGroup" => fs_group(&constraint, &mut out),
            _ => allowed_users(&constraint, &mut out),
        }
        .map(|()| out)
    }

    #[test]
    fn fs_group_rules_convert_and_no_rule_judges_nothing() {
        let out = convert("{kind: K8sPSPFSGroup, metadata: {name: f}, spec: {parameters: {rule: MayRunAs, ranges: [{min: 1, max: 1000}]}}}").unwrap();
        assert_eq!(
            out.settings["fsGroup"],
            json!({"rule": "MayRunAs", "ranges": [{"min": 1, "max": 1000}]})
        );
        let out = convert("{kind: K8sPSPFSGroup, metadata: {name: f}, spec: {parameters: {ranges: [{min: 1, max: 1000}]}}}").unwrap();
        assert!(!out.settings.contains_key("fsGroup"));
    }

    #[test]
    fn what_refuses_every_pod_is_an_error_naming_the_field() {
        let error = convert("{kind: K8sPSPFSGroup, metadata: {name: f}, spec: {parameters: {rule: MustRunAs, ranges: []}}}")
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("K8sPSPFSGroup f: parameters.ranges: MustRunAs without a range"),
            "{error}"
        );
        let error = convert("{kind: K8sPSPAllowedUsers, metadata: {name: u}, spec: {parameters: {runAsUser: {rule: MayRunAs, ranges: [{min: 1, max: 2}]}}}}")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("parameters.runAsUser.rule: \"MayRunAs\""),
            "{error}"
        );
    }
}
