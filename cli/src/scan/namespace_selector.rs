//! A policy's `namespaceSelector` as a scan can decide it. A scanned manifest has a namespace
//! (the one it names, else `default`, where `kubectl apply` puts it) but no namespace labels,
//! except the one the API server sets on every namespace: `kubernetes.io/metadata.name`, equal
//! to its name. A requirement on that label is decided as the API server would; a requirement
//! on any other label cannot be, and is taken as met, so the policy is judged: a scan never
//! leaves out a policy it cannot rule out. The bundle's policies spare the system namespaces
//! by that label, and its system-namespaces policy selects exactly them.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

/// The label the API server puts on every namespace, equal to its name.
pub const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// `spec.namespaceSelector`, kept as the requirements a scan can decide.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NamespaceSelector {
    /// Requirements on the namespace's name; any other requirement is taken as met.
    on_name: Vec<NameRequirement>,
}

/// One requirement on `kubernetes.io/metadata.name`.
#[derive(Clone, Debug, PartialEq, Eq)]
enum NameRequirement {
    In(Vec<String>),
    NotIn(Vec<String>),
    Exists,
    DoesNotExist,
}

/// `metav1.LabelSelector`, as the CRD declares it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct LabelSelector {
    #[serde(default)]
    match_labels: BTreeMap<String, String>,
    #[serde(default)]
    match_expressions: Vec<Expression>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expression {
    key: String,
    operator: String,
    #[serde(default)]
    values: Vec<String>,
}

impl NamespaceSelector {
    /// Reads `spec.namespaceSelector` (absent or null: every namespace); the error names the
    /// field that is wrong, as the API server would refuse it.
    pub fn read(selector: Option<&Value>) -> Result<Self, String> {
        let Some(selector) = selector.filter(|s| !s.is_null()) else {
            return Ok(Self::default());
        };
        let selector: LabelSelector = serde_json::from_value(selector.clone())
            .map_err(|error| format!("spec.namespaceSelector: {error}"))?;
        let mut on_name = Vec::new();
        for (key, value) in &selector.match_labels {
            if key == NAMESPACE_NAME_LABEL {
                on_name.push(NameRequirement::In(vec![value.clone()]));
            }
        }
        for (index, expression) in selector.match_expressions.iter().enumerate() {
            let at = format!("spec.namespaceSelector.matchExpressions[{index}]");
            let requirement = requirement(expression).map_err(|why| format!("{at}: {why}"))?;
            if expression.key == NAMESPACE_NAME_LABEL {
                on_name.push(requirement);
            }
        }
        Ok(Self { on_name })
    }

    /// True when a namespace named `namespace` may be selected: every requirement on its name
    /// holds (the others cannot be decided offline and are taken as met).
    pub fn admits(&self, namespace: &str) -> bool {
        let listed = |values: &[String]| values.iter().any(|v| v == namespace);
        self.on_name.iter().all(|requirement| match requirement {
            NameRequirement::In(values) => listed(values),
            NameRequirement::NotIn(values) => !listed(values),
            NameRequirement::Exists => true,
            NameRequirement::DoesNotExist => false,
        })
    }
}

/// An expression as the API server validates it: `In` and `NotIn` need values, `Exists` and
/// `DoesNotExist` take none.
fn requirement(expression: &Expression) -> Result<NameRequirement, String> {
    let values = &expression.values;
    match (expression.operator.as_str(), values.is_empty()) {
        ("In", false) => Ok(NameRequirement::In(values.clone())),
        ("NotIn", false) => Ok(NameRequirement::NotIn(values.clone())),
        ("Exists", true) => Ok(NameRequirement::Exists),
        ("DoesNotExist", true) => Ok(NameRequirement::DoesNotExist),
        ("In" | "NotIn", true) => Err(format!("operator {} needs values", expression.operator)),
        ("Exists" | "DoesNotExist", false) => {
            Err(format!("operator {} takes no values", expression.operator))
        }
        (other, _) => Err(format!(
            "operator {other:?} is not In, NotIn, Exists or DoesNotExist"
        )),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn selector(value: Value) -> NamespaceSelector {
        NamespaceSelector::read(Some(&value)).unwrap()
    }

    #[test]
    fn requirements_on_the_name_label_are_decided() {
        let spare = selector(json!({"matchExpressions": [
            {"key": NAMESPACE_NAME_LABEL, "operator": "NotIn", "values": ["kube-system", "kubewarden"]}
        ]}));
        assert!(spare.admits("shop"));
        assert!(!spare.admits("kube-system"));
        let select = selector(json!({"matchExpressions": [
            {"key": NAMESPACE_NAME_LABEL, "operator": "In", "values": ["kube-system"]}
        ]}));
        assert!(select.admits("kube-system"));
        assert!(!select.admits("shop"));
        let label = selector(json!({"matchLabels": {NAMESPACE_NAME_LABEL: "shop"}}));
        assert!(label.admits("shop") && !label.admits("default"));
        let exists = selector(json!({"matchExpressions": [
            {"key": NAMESPACE_NAME_LABEL, "operator": "Exists"}
        ]}));
        assert!(exists.admits("shop"));
        let absent = selector(json!({"matchExpressions": [
            {"key": NAMESPACE_NAME_LABEL, "operator": "DoesNotExist"}
        ]}));
        assert!(!absent.admits("shop"));
        // Every requirement must hold.
        let both = selector(json!({
            "matchLabels": {NAMESPACE_NAME_LABEL: "shop"},
            "matchExpressions": [{"key": NAMESPACE_NAME_LABEL, "operator": "NotIn", "values": ["shop"]}]
        }));
        assert!(!both.admits("shop"));
    }

    /// Labels a scan cannot see never leave a policy out.
    #[test]
    fn other_labels_and_no_selector_admit_every_namespace() {
        for value in [
            json!({"matchLabels": {"payments.internal/cde": "true"}}),
            json!({"matchExpressions": [{"key": "team", "operator": "In", "values": ["a"]}]}),
            json!({}),
            Value::Null,
        ] {
            assert!(selector(value.clone()).admits("shop"), "{value}");
        }
        assert!(NamespaceSelector::read(None).unwrap().admits("kube-system"));
    }

    #[test]
    fn a_selector_the_api_server_would_refuse_is_an_error_naming_the_field() {
        for (value, expected) in [
            (
                json!({"matchExpressions": [{"key": "team", "operator": "Equals", "values": ["a"]}]}),
                "spec.namespaceSelector.matchExpressions[0]: operator \"Equals\" is not In, NotIn, Exists or DoesNotExist",
            ),
            (
                json!({"matchExpressions": [{"key": NAMESPACE_NAME_LABEL, "operator": "In"}]}),
                "spec.namespaceSelector.matchExpressions[0]: operator In needs values",
            ),
            (
                json!({"matchExpressions": [{"key": "team", "operator": "Exists", "values": ["a"]}]}),
                "spec.namespaceSelector.matchExpressions[0]: operator Exists takes no values",
            ),
            (
                json!({"matchLabel": {"team": "a"}}),
                "spec.namespaceSelector: unknown field `matchLabel`",
            ),
            (json!("kube-system"), "spec.namespaceSelector: invalid type"),
        ] {
            let error = NamespaceSelector::read(Some(&value)).unwrap_err();
            assert!(error.starts_with(expected), "{value}: {error}");
        }
    }
}
