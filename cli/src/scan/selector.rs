//! Label selectors as the API server decides them: a policy's `namespaceSelector` and
//! `objectSelector` (`metav1.LabelSelector`), and the string form a list lookup takes
//! (`tier=web,env in (prod),!legacy`).
//!
//! A workload's own labels are always known. Its namespace's labels are known when the scan was
//! given the Namespace (in the input, in a `--context` export or by `--namespace-labels`);
//! otherwise only the label the API server puts on every namespace is:
//! `kubernetes.io/metadata.name`, equal to its name. A requirement on another label of an
//! unknown namespace cannot be decided: the policy is judged as if selected (a scan never leaves
//! out a policy it cannot rule out), and the result says which requirements were assumed.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

/// The label the API server puts on every namespace, equal to its name.
pub const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// Labels, as `metadata.labels` holds them.
pub type Labels = BTreeMap<String, String>;

/// An object's `metadata.labels` (a value that is not text is no label: the API server refuses
/// it).
pub fn labels_of(object: &Value) -> Labels {
    object["metadata"]["labels"]
        .as_object()
        .map(|labels| {
            labels
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

/// A label selector: every requirement must hold. Empty selects everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selector {
    requirements: Vec<Requirement>,
}

/// One requirement on one label.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Requirement {
    key: String,
    operator: Operator,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Operator {
    In(Vec<String>),
    NotIn(Vec<String>),
    Exists,
    DoesNotExist,
}

/// Whether a selector selects, as far as the scan knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Selected,
    NotSelected,
    /// Every requirement the scan could decide holds; these (described) could not be.
    Assumed(Vec<String>),
}

/// `metav1.LabelSelector`, as the CRDs declare it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct LabelSelector {
    #[serde(default)]
    match_labels: Option<BTreeMap<String, String>>,
    #[serde(default)]
    match_expressions: Option<Vec<Expression>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expression {
    key: String,
    operator: String,
    #[serde(default)]
    values: Option<Vec<String>>,
}

impl Selector {
    /// Reads a `metav1.LabelSelector` at `field` (absent or null: everything); the error names
    /// the field that is wrong, as the API server would refuse it.
    pub fn read(selector: Option<&Value>, field: &str) -> Result<Self, String> {
        let Some(selector) = selector.filter(|s| !s.is_null()) else {
            return Ok(Self::default());
        };
        let selector: LabelSelector = serde_json::from_value(selector.clone())
            .map_err(|error| format!("{field}: {error}"))?;
        let mut requirements: Vec<Requirement> = selector
            .match_labels
            .unwrap_or_default()
            .into_iter()
            .map(|(key, value)| Requirement {
                key,
                operator: Operator::In(vec![value]),
            })
            .collect();
        for (index, expression) in selector
            .match_expressions
            .unwrap_or_default()
            .into_iter()
            .enumerate()
        {
            let operator = operator(&expression)
                .map_err(|why| format!("{field}.matchExpressions[{index}]: {why}"))?;
            requirements.push(Requirement {
                key: expression.key,
                operator,
            });
        }
        Ok(Self { requirements })
    }

    /// Parses the string form of a selector (`a=b`, `a==b`, `a!=b`, `a in (x,y)`,
    /// `a notin (x)`, `a`, `!a`, joined by commas), as a list lookup's `labelSelector`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut requirements = Vec::new();
        for term in split_terms(text) {
            let term = term.trim();
            if term.is_empty() {
                continue;
            }
            requirements.push(parse_term(term).map_err(|why| format!("{term:?}: {why}"))?);
        }
        Ok(Self { requirements })
    }

    /// True when `labels` meet every requirement.
    pub fn matches(&self, labels: &Labels) -> bool {
        self.requirements.iter().all(|r| r.holds(labels))
    }

    /// Decides for the namespace `name`: with its labels when known, else on its name label
    /// alone (see the module's documentation).
    pub fn decide_namespace(&self, name: &str, labels: Option<&Labels>) -> Decision {
        if let Some(labels) = labels {
            return self.decision(self.matches(labels));
        }
        let known = Labels::from([(NAMESPACE_NAME_LABEL.to_owned(), name.to_owned())]);
        let (on_name, others): (Vec<_>, Vec<_>) = self
            .requirements
            .iter()
            .partition(|r| r.key == NAMESPACE_NAME_LABEL);
        if !on_name.iter().all(|r| r.holds(&known)) {
            return Decision::NotSelected;
        }
        if others.is_empty() {
            Decision::Selected
        } else {
            Decision::Assumed(others.iter().map(|r| r.to_string()).collect())
        }
    }

    fn decision(&self, selected: bool) -> Decision {
        if selected {
            Decision::Selected
        } else {
            Decision::NotSelected
        }
    }
}

impl Requirement {
    fn holds(&self, labels: &Labels) -> bool {
        let value = labels.get(&self.key);
        match &self.operator {
            Operator::In(values) => value.is_some_and(|v| values.contains(v)),
            // As Kubernetes: a missing label is not in any set.
            Operator::NotIn(values) => value.is_none_or(|v| !values.contains(v)),
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
        }
    }
}

impl std::fmt::Display for Requirement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let key = &self.key;
        match &self.operator {
            Operator::In(values) => write!(f, "{key} in ({})", values.join(",")),
            Operator::NotIn(values) => write!(f, "{key} notin ({})", values.join(",")),
            Operator::Exists => write!(f, "{key}"),
            Operator::DoesNotExist => write!(f, "!{key}"),
        }
    }
}

/// An expression as the API server validates it: `In` and `NotIn` need values, `Exists` and
/// `DoesNotExist` take none.
fn operator(expression: &Expression) -> Result<Operator, String> {
    let values = expression.values.clone().unwrap_or_default();
    match (expression.operator.as_str(), values.is_empty()) {
        ("In", false) => Ok(Operator::In(values)),
        ("NotIn", false) => Ok(Operator::NotIn(values)),
        ("Exists", true) => Ok(Operator::Exists),
        ("DoesNotExist", true) => Ok(Operator::DoesNotExist),
        ("In" | "NotIn", true) => Err(format!("operator {} needs values", expression.operator)),
        ("Exists" | "DoesNotExist", false) => {
            Err(format!("operator {} takes no values", expression.operator))
        }
        (other, _) => Err(format!(
            "operator {other:?} is not In, NotIn, Exists or DoesNotExist"
        )),
    }
}

/// The comma-separated terms of a selector string, commas inside `( )` kept.
fn split_terms(text: &str) -> Vec<&str> {
    let (mut terms, mut depth, mut start) = (Vec::new(), 0usize, 0);
    for (at, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                terms.push(&text[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    terms.push(&text[start..]);
    terms
}

fn parse_term(term: &str) -> Result<Requirement, String> {
    let requirement = |key: &str, operator| {
        let key = key.trim();
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err(format!("{key:?} is not a label key"));
        }
        Ok(Requirement {
            key: key.to_owned(),
            operator,
        })
    };
    if let Some(key) = term.strip_prefix('!') {
        return requirement(key, Operator::DoesNotExist);
    }
    if let Some((key, value)) = term.split_once("!=") {
        return requirement(key, Operator::NotIn(vec![value.trim().to_owned()]));
    }
    if let Some((key, value)) = term.split_once("==").or_else(|| term.split_once('=')) {
        return requirement(key, Operator::In(vec![value.trim().to_owned()]));
    }
    for (word, set) in [(" notin ", false), (" in ", true)] {
        if let Some((key, values)) = term.split_once(word) {
            let values = values
                .trim()
                .strip_prefix('(')
                .and_then(|v| v.strip_suffix(')'))
                .ok_or("a set is written (a,b)")?;
            let values: Vec<String> = values.split(',').map(|v| v.trim().to_owned()).collect();
            let operator = if set {
                Operator::In(values)
            } else {
                Operator::NotIn(values)
            };
            return requirement(key, operator);
        }
    }
    requirement(term, Operator::Exists)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const FIELD: &str = "spec.namespaceSelector";

    fn selector(value: Value) -> Selector {
        Selector::read(Some(&value), FIELD).unwrap()
    }

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn requirements_on_the_name_label_are_decided_for_an_unknown_namespace() {
        let decide = |value: Value, name: &str| selector(value).decide_namespace(name, None);
        let spare = json!({"matchExpressions": [
            {"key": NAMESPACE_NAME_LABEL, "operator": "NotIn", "values": ["kube-system", "kubewarden"]}
        ]});
        assert_eq!(decide(spare.clone(), "shop"), Decision::Selected);
        assert_eq!(decide(spare, "kube-system"), Decision::NotSelected);
        let label = json!({"matchLabels": {NAMESPACE_NAME_LABEL: "shop"}});
        assert_eq!(decide(label.clone(), "shop"), Decision::Selected);
        assert_eq!(decide(label, "default"), Decision::NotSelected);
        let absent = json!({"matchExpressions": [{"key": NAMESPACE_NAME_LABEL, "operator": "DoesNotExist"}]});
        assert_eq!(decide(absent, "shop"), Decision::NotSelected);
        // Every requirement must hold.
        let both = json!({
            "matchLabels": {NAMESPACE_NAME_LABEL: "shop"},
            "matchExpressions": [{"key": NAMESPACE_NAME_LABEL, "operator": "NotIn", "values": ["shop"]}]
        });
        assert_eq!(decide(both, "shop"), Decision::NotSelected);
    }

    /// Labels a scan cannot see never leave a policy out, and are said.
    #[test]
    fn other_labels_of_an_unknown_namespace_are_assumed_and_named() {
        let cde = selector(json!({"matchLabels": {"payments.internal/cde": "true"}}));
        assert_eq!(
            cde.decide_namespace("shop", None),
            Decision::Assumed(vec!["payments.internal/cde in (true)".to_owned()])
        );
        for value in [json!({}), Value::Null] {
            assert_eq!(
                selector(value).decide_namespace("shop", None),
                Decision::Selected
            );
        }
        // A name requirement that fails decides, whatever the others.
        let mixed = selector(json!({"matchLabels": {"team": "a", NAMESPACE_NAME_LABEL: "x"}}));
        assert_eq!(mixed.decide_namespace("shop", None), Decision::NotSelected);
    }

    #[test]
    fn known_labels_decide_every_operator_as_kubernetes() {
        let shop = labels(&[("tier", "web"), ("env", "prod")]);
        for (value, expected) in [
            (json!({"matchLabels": {"tier": "web"}}), true),
            (json!({"matchLabels": {"tier": "db"}}), false),
            (
                json!({"matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "stage"]}]}),
                true,
            ),
            (
                json!({"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod"]}]}),
                false,
            ),
            // NotIn holds for a missing label.
            (
                json!({"matchExpressions": [{"key": "team", "operator": "NotIn", "values": ["a"]}]}),
                true,
            ),
            (
                json!({"matchExpressions": [{"key": "team", "operator": "Exists"}]}),
                false,
            ),
            (
                json!({"matchExpressions": [{"key": "team", "operator": "DoesNotExist"}]}),
                true,
            ),
        ] {
            assert_eq!(selector(value.clone()).matches(&shop), expected, "{value}");
            let decided = selector(value.clone()).decide_namespace("shop", Some(&shop));
            let wanted = if expected {
                Decision::Selected
            } else {
                Decision::NotSelected
            };
            assert_eq!(decided, wanted, "{value}");
        }
    }

    #[test]
    fn the_string_form_is_read_as_kubectl_writes_it() {
        let shop = labels(&[("tier", "web"), ("env", "prod")]);
        for (text, expected) in [
            ("", true),
            ("tier=web", true),
            ("tier==web,env=prod", true),
            ("tier!=web", false),
            ("team!=a", true),
            ("env in (prod, stage),tier", true),
            ("env notin (prod)", false),
            ("!team", true),
            ("!tier", false),
            ("team", false),
        ] {
            assert_eq!(
                Selector::parse(text).unwrap().matches(&shop),
                expected,
                "{text}"
            );
        }
        assert!(
            Selector::parse("env in prod")
                .unwrap_err()
                .contains("(a,b)")
        );
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
            let error = Selector::read(Some(&value), FIELD).unwrap_err();
            assert!(error.starts_with(expected), "{value}: {error}");
        }
    }
}
