//! Settings of the runtime-isolation policy (camelCase; unknown keys are rejected).

use std::collections::BTreeMap;
use std::fmt;

use pci_shared::exception::Exception;

use crate::placement::Placement;
use pci_shared::policy::PolicySettings;
use pci_shared::selector::LabelSelector;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// The policy settings.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Settings {
    /// Which workloads are high-risk (default: all).
    pub high_risk: HighRisk,
    /// The runtime classes a high-risk Linux workload may use.
    pub allowed_runtime_classes: Vec<String>,
    /// Look each class up and require an approved handler.
    pub verify_handlers: Option<HandlerCheck>,
    /// Set on high-risk Linux workloads that name no class, on CREATE only.
    pub default_runtime_class: Option<String>,
    /// Hyper-V isolation for high-risk Windows workloads.
    pub windows: Option<WindowsSettings>,
    /// Serverless placements accepted as isolation (EKS Fargate, AKS virtual nodes).
    #[serde(deserialize_with = "crate::placement::form::read_placements")]
    pub isolated_placements: Vec<Placement>,
    pub exceptions: Vec<Exception>,
}

/// Which workloads are high-risk: all of them, or those any selector picks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum HighRisk {
    #[default]
    All,
    Selected(Selectors),
}

/// Selectors of high-risk workloads; a workload is high-risk when any of them matches.
/// Read through `HighRiskForm`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selectors {
    /// On the pod (template) labels.
    pub pod_selector: Option<LabelSelector>,
    /// Pod (template) annotations that must all be present with these values.
    pub pod_annotations: BTreeMap<String, String>,
    /// On the labels of the workload's namespace (read through the host).
    pub namespace_selector: Option<LabelSelector>,
}

/// The object form of `highRisk`, as a form (the Rancher UI) fills it in: `all: true`, or the
/// selectors with `all` false or absent.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
struct HighRiskForm {
    all: bool,
    pod_selector: Option<LabelSelector>,
    pod_annotations: BTreeMap<String, String>,
    namespace_selector: Option<LabelSelector>,
}

impl HighRiskForm {
    fn into_high_risk(self) -> Result<HighRisk, String> {
        // An empty selector is a form field left untouched, not "every pod": to mean every
        // workload, say all: true.
        let given = |selector: Option<LabelSelector>| {
            selector.filter(|s| !s.match_labels.is_empty() || !s.match_expressions.is_empty())
        };
        let selectors = Selectors {
            pod_selector: given(self.pod_selector),
            pod_annotations: self.pod_annotations,
            namespace_selector: given(self.namespace_selector),
        };
        if !self.all {
            return Ok(HighRisk::Selected(selectors));
        }
        if selectors != Selectors::default() {
            return Err("all: true already makes every workload high-risk; remove podSelector, podAnnotations and namespaceSelector, or set all: false".into());
        }
        Ok(HighRisk::All)
    }
}

impl<'de> Deserialize<'de> for HighRisk {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct HighRiskVisitor;

        impl<'de> Visitor<'de> for HighRiskVisitor {
            type Value = HighRisk;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("\"all\" or {all, podSelector, podAnnotations, namespaceSelector}")
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<HighRisk, E> {
                match value {
                    "all" => Ok(HighRisk::All),
                    other => Err(E::custom(format!(
                        "\"{other}\" is not \"all\" or a selector object"
                    ))),
                }
            }

            /// A list is refused once it is read, so the error is placed at `highRisk`, not at
            /// its first entry.
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<HighRisk, A::Error> {
                while seq.next_element::<de::IgnoredAny>()?.is_some() {}
                Err(de::Error::invalid_type(de::Unexpected::Seq, &self))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<HighRisk, A::Error> {
                HighRiskForm::deserialize(de::value::MapAccessDeserializer::new(map))?
                    .into_high_risk()
                    .map_err(de::Error::custom)
            }
        }

        deserializer.deserialize_any(HighRiskVisitor)
    }
}

/// `verifyHandlers: {allowed: [runsc, kata, kata-*]}`: the handlers of the Linux classes
/// (`allowedRuntimeClasses`); without it, their handlers are not looked up.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandlerCheck {
    pub allowed: Vec<String>,
}

/// `windows: {allowedRuntimeClasses, allowedHandlers}`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WindowsSettings {
    /// Runtime classes giving Hyper-V isolation.
    pub allowed_runtime_classes: Vec<String>,
    /// Handler globs a Windows class must map to (default Hyper-V, any build). A Windows class
    /// is always looked up, whatever `verifyHandlers` says (that is for the Linux classes), and
    /// an empty list is refused: it would verify nothing.
    #[serde(default = "hyper_v_handlers")]
    pub allowed_handlers: Vec<String>,
}

fn hyper_v_handlers() -> Vec<String> {
    vec![
        "runhcs-wcow-hypervisor".into(),
        "runhcs-wcow-hypervisor-*".into(),
    ]
}

/// A DNS subdomain, as Kubernetes object names are.
fn check_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if valid {
        Ok(())
    } else {
        Err(format!("\"{name}\" is not a valid RuntimeClass name"))
    }
}

/// A handler name or glob (`kata-*`).
fn check_handler(handler: &str) -> Result<(), String> {
    let valid = !handler.is_empty()
        && handler
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.*".contains(&b));
    if valid {
        Ok(())
    } else {
        Err(format!("\"{handler}\" is not a valid handler name or glob"))
    }
}

fn check_list(
    list: &[String],
    at: &str,
    check: fn(&str) -> Result<(), String>,
) -> Result<(), String> {
    for (index, item) in list.iter().enumerate() {
        check(item).map_err(|reason| format!("{at}[{index}]: {reason}"))?;
    }
    Ok(())
}

impl PolicySettings for Settings {
    fn validate(&self) -> Result<(), String> {
        if let HighRisk::Selected(selectors) = &self.high_risk {
            if selectors.pod_selector.is_none()
                && selectors.pod_annotations.is_empty()
                && selectors.namespace_selector.is_none()
            {
                return Err("highRisk selects nothing: set podSelector, podAnnotations or namespaceSelector, or use \"all\"".into());
            }
            if let Some(selector) = &selectors.pod_selector {
                selector
                    .validate()
                    .map_err(|r| format!("highRisk.podSelector: {r}"))?;
            }
            if let Some(selector) = &selectors.namespace_selector {
                selector
                    .validate()
                    .map_err(|r| format!("highRisk.namespaceSelector: {r}"))?;
            }
        }
        if self.allowed_runtime_classes.is_empty() && self.isolated_placements.is_empty() {
            return Err("allowedRuntimeClasses must list the sandboxed runtime classes (e.g. gvisor, kata) high-risk workloads may use, or isolatedPlacements the serverless placements they may land on".into());
        }
        let mut names = std::collections::BTreeSet::new();
        for (index, placement) in self.isolated_placements.iter().enumerate() {
            let at = format!("isolatedPlacements[{index}]");
            placement.validate(&at)?;
            if !names.insert(placement.name.as_str()) {
                return Err(format!(
                    "{at}.name \"{}\" is already used by another placement",
                    placement.name
                ));
            }
        }
        check_list(
            &self.allowed_runtime_classes,
            "allowedRuntimeClasses",
            check_name,
        )?;
        if let Some(handlers) = &self.verify_handlers {
            if handlers.allowed.is_empty() {
                return Err(
                    "verifyHandlers.allowed must list the approved handlers (e.g. runsc, kata)"
                        .into(),
                );
            }
            check_list(&handlers.allowed, "verifyHandlers.allowed", check_handler)?;
        }
        if let Some(default) = &self.default_runtime_class
            && !self.allowed_runtime_classes.contains(default)
        {
            return Err(format!(
                "defaultRuntimeClass \"{default}\" must be one of allowedRuntimeClasses"
            ));
        }
        if let Some(windows) = &self.windows {
            if windows.allowed_runtime_classes.is_empty() {
                return Err(
                    "windows.allowedRuntimeClasses must list the Hyper-V runtime classes".into(),
                );
            }
            check_list(
                &windows.allowed_runtime_classes,
                "windows.allowedRuntimeClasses",
                check_name,
            )?;
            if windows.allowed_handlers.is_empty() {
                return Err(format!(
                    "windows.allowedHandlers must list the Hyper-V handlers a Windows class may map to (leave it out for {}): an empty list would verify nothing",
                    hyper_v_handlers().join(", ")
                ));
            }
            check_list(
                &windows.allowed_handlers,
                "windows.allowedHandlers",
                check_handler,
            )?;
        }
        Ok(())
    }

    fn exceptions(&self) -> &[Exception] {
        &self.exceptions
    }

    /// Only `defaultRuntimeClass` patches (sets the class of a high-risk workload).
    fn can_patch(&self) -> bool {
        self.default_runtime_class.is_some()
    }

    /// No default class: a high-risk workload without a sandbox class is rejected, so the twin
    /// checks what the mutating instance set.
    fn turn_off_patching(settings: &mut serde_json::Map<String, serde_json::Value>) {
        settings.remove("defaultRuntimeClass");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Exported;
    use pci_shared::policy::read_settings;
    use rstest::rstest;

    #[test]
    fn reads_all_and_selectors() {
        let all: Settings =
            read_settings::<Exported>(r#"{"highRisk":"all","allowedRuntimeClasses":["gvisor"]}"#)
                .expect("valid");
        assert_eq!(all.high_risk, HighRisk::All);
        let selected: Settings = read_settings::<Exported>(
            r#"{"highRisk":{"podSelector":{"matchLabels":{"pci":"cde"}},"namespaceSelector":{"matchExpressions":[{"key":"pci","operator":"Exists"}]}},
                "allowedRuntimeClasses":["gvisor","kata"],"verifyHandlers":{"allowed":["runsc","kata-*"]},"defaultRuntimeClass":"gvisor",
                "windows":{"allowedRuntimeClasses":["hyperv"]}}"#,
        )
        .expect("valid");
        assert!(matches!(selected.high_risk, HighRisk::Selected(_)));
        assert_eq!(
            selected.windows.map(|w| w.allowed_handlers),
            Some(hyper_v_handlers())
        );
    }

    #[rstest]
    #[case::no_classes(r#"{}"#, "allowedRuntimeClasses must list")]
    #[case::bad_keyword(
        r#"{"highRisk":"some","allowedRuntimeClasses":["gvisor"]}"#,
        "highRisk: \"some\" is not \"all\""
    )]
    #[case::empty_selectors(
        r#"{"highRisk":{},"allowedRuntimeClasses":["gvisor"]}"#,
        "highRisk selects nothing"
    )]
    #[case::selector_typo(
        r#"{"highRisk":{"podSelectors":{}},"allowedRuntimeClasses":["gvisor"]}"#,
        "unknown field `podSelectors`"
    )]
    #[case::bad_operator(r#"{"highRisk":{"podSelector":{"matchExpressions":[{"key":"a","operator":"Is","values":["x"]}]}},"allowedRuntimeClasses":["gvisor"]}"#, "highRisk.podSelector: matchExpressions[0].operator \"Is\"")]
    #[case::bad_class(
        r#"{"allowedRuntimeClasses":["gVisor"]}"#,
        "allowedRuntimeClasses[0]: \"gVisor\" is not a valid RuntimeClass name"
    )]
    #[case::no_handlers(
        r#"{"allowedRuntimeClasses":["gvisor"],"verifyHandlers":{"allowed":[]}}"#,
        "verifyHandlers.allowed must list"
    )]
    #[case::default_not_allowed(
        r#"{"allowedRuntimeClasses":["gvisor"],"defaultRuntimeClass":"kata"}"#,
        "defaultRuntimeClass \"kata\" must be one of"
    )]
    #[case::windows_empty(
        r#"{"allowedRuntimeClasses":["gvisor"],"windows":{"allowedRuntimeClasses":[]}}"#,
        "windows.allowedRuntimeClasses must list"
    )]
    #[case::windows_handlers_empty(
        r#"{"allowedRuntimeClasses":["gvisor"],"windows":{"allowedRuntimeClasses":["hyperv"],"allowedHandlers":[]}}"#,
        "windows.allowedHandlers must list the Hyper-V handlers a Windows class may map to (leave it out for runhcs-wcow-hypervisor, runhcs-wcow-hypervisor-*): an empty list would verify nothing"
    )]
    #[case::exception(r#"{"allowedRuntimeClasses":["gvisor"],"exceptions":[{"controls":["runtime"],"containers":["a"],"namespaces":["ns"],"reason":"r"}]}"#, "unknown control \"runtime\"")]
    fn rejects_invalid_settings_precisely(#[case] json: &str, #[case] expected: &str) {
        let error = read_settings::<Exported>(json).expect_err("invalid settings");
        assert!(error.contains(expected), "{json}: {error}");
    }
}
