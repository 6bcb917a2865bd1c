//! The exceptions register: every exception of every deployed policy (and group member), with
//! its control, scope, reason, approver and expiry, flagged when expired or expiring within
//! 30 days, when any namespace's author can claim it (`namespaces: ["*"]`), or when the policy
//! refuses its namespaces.

use pci_shared::exception::{Namespaces, exception_problems};
use pci_shared::time::Date;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::policies::PolicyEvidence;

/// Days before expiry an exception is flagged as expiring.
pub const EXPIRING_WITHIN_DAYS: i64 = 30;

/// What the register says of an exception with `namespaces: ["*"]`.
pub const CLUSTER_WIDE: &str = "cluster-wide: any namespace's author can claim it";

/// How the register's namespace flag begins when the policy refuses the exception.
pub const REFUSED: &str = "refused by the policy: ";

/// One row of the register.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExceptionEntry {
    /// The deployed policy (and group member) the exception belongs to.
    pub policy: String,
    /// Its index in the `exceptions` setting, as warnings and audit annotations cite it.
    pub index: usize,
    pub controls: Vec<String>,
    pub images: Vec<String>,
    pub containers: Vec<String>,
    /// As written (`["*"]`: every namespace).
    pub namespaces: Vec<String>,
    /// What an assessor must know about the namespaces: [`CLUSTER_WIDE`], or why the policy
    /// refuses them; `None` for named namespaces.
    pub namespace_flag: Option<String>,
    pub reason: String,
    pub approved_by: Option<String>,
    pub expires: Option<String>,
    /// `active`, `expiring`, `expired`, `no expiry` or `invalid expiry`.
    pub status: String,
    /// Days from the pack's date to the expiry (negative once expired).
    pub days_left: Option<i64>,
}

impl ExceptionEntry {
    /// True when an assessor must look at it (expired, expiring, no expiry or approver,
    /// cluster-wide or refused namespaces).
    pub fn flagged(&self) -> bool {
        self.status != "active" || self.approved_by.is_none() || self.namespace_flag.is_some()
    }
}

/// The register of `policies`' settings, on `today`.
pub fn register(policies: &[PolicyEvidence], today: Date) -> Vec<ExceptionEntry> {
    let mut entries = Vec::new();
    for policy in policies {
        for setting in &policy.settings {
            let Some(owner) = setting.setting.strip_suffix("exceptions") else {
                continue;
            };
            if !(owner.is_empty() || owner.ends_with('.')) {
                continue;
            }
            let owner = if owner.is_empty() {
                policy.name.clone()
            } else {
                format!("{} / {}", policy.name, owner.trim_end_matches('.'))
            };
            for (index, exception) in setting.value.as_array().into_iter().flatten().enumerate() {
                entries.push(entry(&owner, index, exception, today));
            }
        }
    }
    entries
}

/// Why `policy` refuses its own exceptions, if it does: each `exceptions` setting (of the
/// policy or a group member) that is not a list, and each exception it cannot read or accept.
pub fn refused_exceptions(policy: &PolicyEvidence) -> Vec<String> {
    let mut refused = Vec::new();
    for setting in &policy.settings {
        let Some(owner) = setting.setting.strip_suffix("exceptions") else {
            continue;
        };
        if !(owner.is_empty() || owner.ends_with('.')) {
            continue;
        }
        match &setting.value {
            Value::Null | Value::Array(_) => {
                let settings = serde_json::json!({ "exceptions": setting.value }).to_string();
                refused.extend(
                    exception_problems(&settings, None)
                        .into_iter()
                        .map(|problem| format!("{owner}{problem}")),
                );
            }
            _ => refused.push(format!("{owner}exceptions is not a list")),
        }
    }
    refused
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

fn entry(policy: &str, index: usize, exception: &Value, today: Date) -> ExceptionEntry {
    let expires = exception["expires"].as_str().map(str::to_owned);
    let (status, days_left) = match expires.as_deref().map(Date::parse) {
        None => ("no expiry", None),
        Some(Err(_)) => ("invalid expiry", None),
        Some(Ok(date)) => {
            let days = date.days_since_epoch() - today.days_since_epoch();
            let status = if days < 0 {
                "expired"
            } else if days <= EXPIRING_WITHIN_DAYS {
                "expiring"
            } else {
                "active"
            };
            (status, Some(days))
        }
    };
    ExceptionEntry {
        policy: policy.to_owned(),
        index,
        controls: strings(&exception["controls"]),
        images: strings(&exception["images"]),
        containers: strings(&exception["containers"]),
        namespaces: strings(&exception["namespaces"]),
        namespace_flag: namespace_flag(&exception["namespaces"]),
        reason: exception["reason"].as_str().unwrap_or_default().to_owned(),
        approved_by: exception["approvedBy"].as_str().map(str::to_owned),
        expires,
        status: status.to_owned(),
        days_left,
    }
}

/// [`CLUSTER_WIDE`] for `["*"]`; for namespaces the policy refuses, why (the policy's own words);
/// `None` for named namespaces.
fn namespace_flag(namespaces: &Value) -> Option<String> {
    let refused = |why: &str| Some(format!("{REFUSED}{why}"));
    if namespaces.is_null() {
        return refused(
            "no namespaces (only the namespace is guarded by RBAC; the exception must name them)",
        );
    }
    let Some(names) = namespaces.as_array() else {
        return refused("namespaces is not a list");
    };
    let names: Option<Vec<String>> = names
        .iter()
        .map(|name| name.as_str().map(str::to_owned))
        .collect();
    let Some(names) = names else {
        return refused("a namespace is not a string");
    };
    match Namespaces::try_from(names) {
        Ok(Namespaces::Every) => Some(CLUSTER_WIDE.to_owned()),
        Ok(Namespaces::Only(_)) => None,
        Err(why) => refused(&why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn expiry_is_flagged_against_the_pack_date() {
        let today = Date::parse("2026-12-03").expect("date");
        let status = |expires: Value| {
            entry(
                "p",
                0,
                &json!({"controls": ["c"], "namespaces": ["ns"], "reason": "r", "expires": expires}),
                today,
            )
            .status
        };
        assert_eq!(status(json!("2026-12-02")), "expired");
        assert_eq!(status(json!("2026-12-03")), "expiring");
        assert_eq!(status(json!("2027-01-02")), "expiring");
        assert_eq!(status(json!("2027-01-03")), "active");
        assert_eq!(status(json!(null)), "no expiry");
        assert_eq!(status(json!("soon")), "invalid expiry");
    }

    #[test]
    fn cluster_wide_and_refused_namespaces_are_flagged() {
        let today = Date::parse("2026-12-03").expect("date");
        let flag = |namespaces: Value| {
            let mut exception = json!({"controls": ["c"], "reason": "r", "approvedBy": "CISO",
                "expires": "2027-12-31"});
            if !namespaces.is_null() {
                exception["namespaces"] = namespaces;
            }
            let entry = entry("p", 0, &exception, today);
            assert_eq!(entry.flagged(), entry.namespace_flag.is_some());
            entry.namespace_flag
        };
        assert_eq!(flag(json!(["kube-system"])), None);
        assert_eq!(flag(json!(["*"])).as_deref(), Some(CLUSTER_WIDE));
        assert_eq!(
            CLUSTER_WIDE,
            "cluster-wide: any namespace's author can claim it"
        );
        for (namespaces, why) in [
            (json!(null), "refused by the policy: no namespaces"),
            (json!([]), "refused by the policy: namespaces is empty"),
            (
                json!(["*", "shop"]),
                "refused by the policy: \"*\" means every namespace",
            ),
            (
                json!(["shop", ""]),
                "refused by the policy: \"\" is not a namespace name",
            ),
        ] {
            let flagged = flag(namespaces.clone()).unwrap_or_default();
            assert!(flagged.starts_with(why), "{namespaces}: {flagged}");
        }
    }
}
