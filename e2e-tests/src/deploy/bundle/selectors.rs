//! A policy's selectors as the bundle writes them: `spec.namespaceSelector` is exactly one
//! expression on the namespace-name label (which the API server sets and RBAC guards) and
//! nothing else, and there is no `objectSelector` nor `matchConditions` (a pod's author writes
//! its labels and the request: either would let the author choose not to be judged).

use std::collections::BTreeSet;

use serde_json::Value;

use pci_shared::path::FieldPath;

use crate::deploy::object::Object;

/// The label the API server sets on every namespace, to its name.
pub const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// The expression on the namespace-name label of a `namespaceSelector`.
#[derive(Debug, PartialEq, Eq)]
pub struct NameExpression {
    /// Where it is: `spec.namespaceSelector.matchExpressions[0]`.
    pub at: FieldPath,
    /// `NotIn`, `In`, or whatever else it says.
    pub operator: String,
    /// The namespace names it lists.
    pub values: BTreeSet<String>,
}

/// A `namespaceSelector` read: its first expression on the namespace-name label, and
/// everything else it holds, each a problem (a path and why).
#[derive(Debug, Default)]
pub struct NamespaceSelector {
    pub name: Option<NameExpression>,
    pub extras: Vec<(FieldPath, String)>,
}

/// Reads `spec.namespaceSelector` of a policy or group.
pub fn namespace_selector(object: &Object) -> NamespaceSelector {
    let at = FieldPath::parse_static("spec.namespaceSelector");
    let mut read = NamespaceSelector::default();
    let Some(selector) = object
        .value
        .pointer("/spec/namespaceSelector")
        .and_then(Value::as_object)
    else {
        return read;
    };
    for key in selector.keys().filter(|key| *key != "matchExpressions") {
        read.extras.push((
            at.field(key.clone()),
            "whoever may label a namespace would choose whether it is judged: select by kubernetes.io/metadata.name only".to_owned(),
        ));
    }
    let expressions = selector
        .get("matchExpressions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate();
    for (index, expression) in expressions {
        let here = at.field("matchExpressions").index(index);
        let text = |field: &str| expression.get(field).and_then(Value::as_str);
        if read.name.is_some() || text("key") != Some(NAMESPACE_NAME_LABEL) {
            read.extras.push((
                here,
                "an expression beyond the one on kubernetes.io/metadata.name: a namespace's labels would decide whether it is judged".to_owned(),
            ));
            continue;
        }
        read.name = Some(NameExpression {
            at: here,
            operator: text("operator").unwrap_or("").to_owned(),
            values: expression
                .get("values")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
        });
    }
    read
}

/// `spec.objectSelector` and `spec.matchConditions` of a policy or group, each a problem.
pub fn author_chosen_selectors(object: &Object) -> Vec<(FieldPath, &'static str)> {
    let mut problems = Vec::new();
    if object.value.pointer("/spec/objectSelector").is_some() {
        problems.push((
            FieldPath::parse_static("spec.objectSelector"),
            "a workload's author writes its labels: an object selector would let them choose not to be judged",
        ));
    }
    if object.value.pointer("/spec/matchConditions").is_some() {
        problems.push((
            FieldPath::parse_static("spec.matchConditions"),
            "a request's author writes what these conditions read: they would let it step around the policy",
        ));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::object::read_objects;

    fn policy(spec: &str) -> Object {
        read_objects(&format!(
            "apiVersion: policies.kubewarden.io/v1\nkind: ClusterAdmissionPolicy\nmetadata: {{name: p}}\nspec: {spec}\n"
        ))
        .unwrap()
        .remove(0)
    }

    #[test]
    fn reads_the_name_expression_and_names_everything_else() {
        let read = namespace_selector(&policy(
            "{namespaceSelector: {matchLabels: {team: a}, matchExpressions: [{key: team, operator: Exists}, {key: kubernetes.io/metadata.name, operator: NotIn, values: [b, a]}, {key: kubernetes.io/metadata.name, operator: In, values: [c]}]}}",
        ));
        assert_eq!(
            read.name,
            Some(NameExpression {
                at: FieldPath::parse_static("spec.namespaceSelector.matchExpressions").index(1),
                operator: "NotIn".to_owned(),
                values: BTreeSet::from(["a".to_owned(), "b".to_owned()]),
            })
        );
        let paths: Vec<String> = read.extras.iter().map(|(at, _)| at.to_string()).collect();
        assert_eq!(
            paths,
            [
                "spec.namespaceSelector.matchLabels",
                "spec.namespaceSelector.matchExpressions[0]",
                "spec.namespaceSelector.matchExpressions[2]",
            ]
        );
    }

    #[test]
    fn no_selector_reads_as_nothing() {
        let read = namespace_selector(&policy("{module: m}"));
        assert_eq!(read.name, None);
        assert!(read.extras.is_empty());
    }

    #[test]
    fn object_selectors_and_match_conditions_are_problems() {
        let problems = author_chosen_selectors(&policy(
            "{objectSelector: {}, matchConditions: [{name: a, expression: 'true'}]}",
        ));
        let paths: Vec<String> = problems.iter().map(|(at, _)| at.to_string()).collect();
        assert_eq!(paths, ["spec.objectSelector", "spec.matchConditions"]);
    }
}
