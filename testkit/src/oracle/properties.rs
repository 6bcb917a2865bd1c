//! The properties every response must have:
//!
//! 1. **Never admitted without a waiver**: an admitted request has, for every violation the
//!    hostile workload must get, a live exception whose `namespaces` holds the request's
//!    namespace (or `*`), that names the control and covers the container (a pod-level
//!    violation: every container). runtime-isolation may instead set the sandbox class it was
//!    configured to set, and then must.
//! 2. **The rejection names it**: every violation no exception covers is in the rejection, with
//!    its control, its field path and its container, in the message and in the `violations`
//!    audit annotation; no violation names a clean container; the request is judged, never
//!    refused as unreadable (the oracle writes only readable requests).

use serde_json::Value;

use pci_shared::response::ValidationResponse;

use super::Case;
use super::draft::Target;
use super::exceptions::covers;

/// What a response did with a case, for the tally.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Rejected, naming every violation no exception covers.
    Rejected,
    /// Admitted: every violation waived by an exception.
    Waived,
    /// Admitted with the default sandbox class set (runtime-isolation).
    Defaulted,
}

/// Checks both properties; the error says which one failed and how.
pub fn check(case: &Case, response: &ValidationResponse) -> Result<Verdict, String> {
    let message = response.message.as_deref().unwrap_or_default();
    if response.code == Some(400) {
        return Err(format!("the policy could not read the request: {message}"));
    }
    let uncovered: Vec<&Target> = case
        .targets
        .iter()
        .filter(|target| {
            !case
                .exceptions
                .iter()
                .any(|e| covers(e, target, &case.namespace, &case.containers))
        })
        .collect();
    if response.accepted {
        if !uncovered.is_empty() {
            let list: Vec<String> = uncovered.iter().map(|t| describe(t)).collect();
            return Err(format!(
                "ADMITTED although no exception waives {}",
                list.join("; ")
            ));
        }
        return match &case.defaulted {
            Some(class) => check_default(case, response, class).map(|()| Verdict::Defaulted),
            None => Ok(Verdict::Waived),
        };
    }
    if let Some(class) = &case.defaulted {
        return Err(format!(
            "rejected a workload the policy must admit with runtimeClassName \"{class}\": {message}"
        ));
    }
    let reported = reported(response)?;
    for target in &uncovered {
        let listed = reported.iter().any(|(control, path, container)| {
            control == target.control && *path == target.path && *container == target.container
        });
        let mut named = message.contains(&format!("[{}] {}", target.control, target.path));
        if let Some(container) = &target.container {
            named &= message.contains(&format!("(container \"{container}\")"));
        }
        if !listed || !named {
            return Err(format!(
                "the rejection does not name {} (in the audit annotation: {listed}, in the message: {named})",
                describe(target)
            ));
        }
    }
    if let Some((control, path, Some(container))) = reported
        .iter()
        .find(|(_, _, container)| container.as_ref().is_some_and(|c| *c != case.hostile))
    {
        return Err(format!(
            "a violation names the clean container \"{container}\": [{control}] {path}"
        ));
    }
    Ok(Verdict::Rejected)
}

/// `[control] path (container "name")`.
pub fn describe(target: &Target) -> String {
    match &target.container {
        Some(container) => format!(
            "[{}] {} (container \"{container}\")",
            target.control, target.path
        ),
        None => format!("[{}] {} (pod-level)", target.control, target.path),
    }
}

/// `(control, path, container)` of every violation in the `violations` audit annotation.
fn reported(
    response: &ValidationResponse,
) -> Result<Vec<(String, String, Option<String>)>, String> {
    let Some(text) = response
        .audit_annotations
        .as_ref()
        .and_then(|audit| audit.get("violations"))
    else {
        return Ok(Vec::new());
    };
    let entries: Vec<Value> = serde_json::from_str(text)
        .map_err(|e| format!("the violations audit annotation is not JSON ({e}): {text}"))?;
    Ok(entries
        .iter()
        .map(|entry| {
            (
                entry["control"].as_str().unwrap_or_default().to_owned(),
                entry["path"].as_str().unwrap_or_default().to_owned(),
                entry["container"].as_str().map(str::to_owned),
            )
        })
        .collect())
}

/// The admitted object must carry `runtimeClassName: class` in its pod spec.
fn check_default(case: &Case, response: &ValidationResponse, class: &str) -> Result<(), String> {
    let pointer = format!("/{}/runtimeClassName", case.spec_path.replace('.', "/"));
    let object = response.mutated_object.as_ref().map(|m| m.value());
    let set = object
        .as_ref()
        .and_then(|object| object.pointer(&pointer))
        .and_then(Value::as_str);
    if set == Some(class) {
        Ok(())
    } else {
        Err(format!(
            "admitted a high-risk workload without a class, and set {pointer} to {set:?}, not \"{class}\""
        ))
    }
}
