//! Kubernetes label selectors (`matchLabels`, `matchExpressions`), as the API server applies them.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::nullable::nullable;

/// A label selector requirement: `key operator values`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Requirement {
    pub key: String,
    pub operator: String,
    #[serde(deserialize_with = "nullable")]
    pub values: Vec<String>,
}

/// A label selector: every `matchLabels` entry and every expression must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct LabelSelector {
    pub match_labels: BTreeMap<String, String>,
    pub match_expressions: Vec<Requirement>,
}

impl LabelSelector {
    /// Checks the operators and their values as the API server would.
    pub fn validate(&self) -> Result<(), String> {
        for (index, requirement) in self.match_expressions.iter().enumerate() {
            let at = format!("matchExpressions[{index}]");
            if requirement.key.is_empty() {
                return Err(format!("{at}.key must not be empty"));
            }
            match requirement.operator.as_str() {
                "In" | "NotIn" if requirement.values.is_empty() => {
                    return Err(format!(
                        "{at}: operator {} needs values",
                        requirement.operator
                    ));
                }
                "Exists" | "DoesNotExist" if !requirement.values.is_empty() => {
                    return Err(format!(
                        "{at}: operator {} takes no values",
                        requirement.operator
                    ));
                }
                "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
                other => {
                    return Err(format!(
                        "{at}.operator \"{other}\" is not In, NotIn, Exists or DoesNotExist"
                    ));
                }
            }
        }
        if self.match_labels.is_empty() && self.match_expressions.is_empty() {
            return Err(
                "the selector is empty: it would select everything (say so explicitly instead)"
                    .into(),
            );
        }
        Ok(())
    }

    /// True when `labels` satisfy the selector.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.match_labels
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v))
            && self.match_expressions.iter().all(|r| {
                let value = labels.get(&r.key);
                match r.operator.as_str() {
                    "In" => value.is_some_and(|v| r.values.contains(v)),
                    "NotIn" => !value.is_some_and(|v| r.values.contains(v)),
                    "Exists" => value.is_some(),
                    "DoesNotExist" => value.is_none(),
                    _ => false,
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn matches_labels_and_every_operator() {
        let selector: LabelSelector = serde_json::from_str(
            r#"{"matchLabels":{"pci":"cde"},"matchExpressions":[
                {"key":"tier","operator":"In","values":["backend","api"]},
                {"key":"legacy","operator":"DoesNotExist"},
                {"key":"env","operator":"NotIn","values":["dev"]},
                {"key":"team","operator":"Exists"}]}"#,
        )
        .expect("valid");
        assert_eq!(selector.validate(), Ok(()));
        assert!(selector.matches(&labels(&[
            ("pci", "cde"),
            ("tier", "api"),
            ("team", "payments")
        ])));
        assert!(
            !selector.matches(&labels(&[("pci", "cde"), ("tier", "api")])),
            "team must exist"
        );
        assert!(!selector.matches(&labels(&[("pci", "cde"), ("tier", "web"), ("team", "x")])));
        assert!(!selector.matches(&labels(&[
            ("pci", "cde"),
            ("tier", "api"),
            ("team", "x"),
            ("env", "dev")
        ])));
        assert!(!selector.matches(&labels(&[
            ("pci", "cde"),
            ("tier", "api"),
            ("team", "x"),
            ("legacy", "1")
        ])));
    }

    #[test]
    fn validation_catches_what_the_api_server_refuses() {
        let invalid = |json: &str| {
            serde_json::from_str::<LabelSelector>(json)
                .expect("parses")
                .validate()
                .is_err()
        };
        assert!(invalid(
            r#"{"matchExpressions":[{"key":"a","operator":"In"}]}"#
        ));
        assert!(invalid(
            r#"{"matchExpressions":[{"key":"a","operator":"Exists","values":["x"]}]}"#
        ));
        assert!(invalid(
            r#"{"matchExpressions":[{"key":"a","operator":"Equals","values":["x"]}]}"#
        ));
        assert!(invalid("{}"));
        assert!(serde_json::from_str::<LabelSelector>(r#"{"matchLabel":{}}"#).is_err());
    }
}
