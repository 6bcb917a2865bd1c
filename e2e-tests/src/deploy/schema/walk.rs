//! Walking a value with its schema: types, `nullable`, declared and pruned fields, `required`,
//! maps (`additionalProperties`), `items`, `enum`, bounds, lengths, `pattern`, `format`,
//! `anyOf`/`allOf`, `x-kubernetes-int-or-string`, `-preserve-unknown-fields`,
//! `-embedded-resource`, `-list-type` (`set` and `map` items unique), and CEL rules reported
//! as not evaluated.

use serde_json::{Map, Value};

use pci_shared::path::FieldPath;

use super::format::format_violation;
use super::keywords::{AdditionalProperties, ListType, Schema, Type};
use crate::deploy::findings::{Violation, shown};
use crate::deploy::metadata::{Scope, metadata_violations};

impl Schema {
    /// Every violation of `value` (at `path`) against this schema, in the order met.
    pub fn violations(&self, value: &Value, path: &FieldPath) -> Vec<Violation> {
        let mut out = Vec::new();
        node(self, value, path, Pruning::Reported, &mut out);
        out
    }

    /// Every CEL rule of this schema and the schemas under it, with its path in the schema
    /// (`*` for any map value or list item).
    pub fn cel_rules(&self, path: &FieldPath) -> Vec<(FieldPath, String)> {
        let mut rules: Vec<_> = self
            .validations
            .iter()
            .map(|rule| (path.clone(), rule.rule.clone()))
            .collect();
        for (name, property) in &self.properties {
            rules.extend(property.cel_rules(&path.field(name.clone())));
        }
        if let Some(AdditionalProperties::Schema(values)) = &self.additional_properties {
            rules.extend(values.cel_rules(&path.field("*")));
        }
        if let Some(items) = &self.items {
            rules.extend(items.cel_rules(&path.field("*")));
        }
        for branch in self.any_of.iter().chain(&self.all_of) {
            rules.extend(branch.cel_rules(path));
        }
        rules
    }
}

/// Whether undeclared fields are reported: in the schema's own tree yes; inside `anyOf` and
/// `allOf` branches (value validations only, in a structural schema) no.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pruning {
    Reported,
    NotApplicable,
}

fn node(
    schema: &Schema,
    value: &Value,
    path: &FieldPath,
    pruning: Pruning,
    out: &mut Vec<Violation>,
) {
    for rule in &schema.validations {
        out.push(Violation::new(
            path.clone(),
            format!(
                "a CEL rule (x-kubernetes-validations) this checker does not evaluate: {}",
                rule.rule
            ),
        ));
    }
    if value.is_null() {
        if !schema.nullable {
            out.push(Violation::new(
                path.clone(),
                "null where the schema does not allow it (no nullable: true): the API server drops the field or refuses it",
            ));
        }
        return;
    }
    if let Some(message) = type_mismatch(schema, value) {
        out.push(Violation::new(path.clone(), message));
        return;
    }
    out.extend(
        value_rules(schema, value)
            .into_iter()
            .map(|message| Violation::new(path.clone(), message)),
    );
    for branch in &schema.all_of {
        node(branch, value, path, Pruning::NotApplicable, out);
    }
    if !schema.any_of.is_empty() && !schema.any_of.iter().any(|branch| accepts(branch, value)) {
        out.push(Violation::new(
            path.clone(),
            format!(
                "{} matches none of the forms the schema allows ({})",
                shown(value),
                forms(&schema.any_of)
            ),
        ));
    }
    match value {
        Value::Object(fields) => object_fields(schema, fields, path, pruning, out),
        Value::Array(items) => {
            if let Some(item) = &schema.items {
                for (index, value) in items.iter().enumerate() {
                    node(item, value, &path.index(index), pruning, out);
                }
            }
        }
        _ => {}
    }
}

/// True when `value` passes `branch` (an `anyOf` form).
fn accepts(branch: &Schema, value: &Value) -> bool {
    let mut out = Vec::new();
    node(
        branch,
        value,
        &FieldPath::root(),
        Pruning::NotApplicable,
        &mut out,
    );
    out.is_empty()
}

/// The `anyOf` forms, by their types (`an integer or a string`).
fn forms(branches: &[Schema]) -> String {
    branches
        .iter()
        .map(|branch| branch.kind.map_or("a value", Type::described))
        .collect::<Vec<_>>()
        .join(" or ")
}

/// Why `value` is not of the schema's type, if it is not.
fn type_mismatch(schema: &Schema, value: &Value) -> Option<String> {
    let is_integer = value.is_i64() || value.is_u64();
    if schema.int_or_string {
        return (!is_integer && !value.is_string()).then(|| {
            format!(
                "must be an integer or a string (x-kubernetes-int-or-string), not {}",
                shown(value)
            )
        });
    }
    let expected = schema.kind?;
    let matches = match expected {
        Type::Object => value.is_object(),
        Type::Array => value.is_array(),
        Type::String => value.is_string(),
        Type::Integer => is_integer,
        Type::Number => value.is_number(),
        Type::Boolean => value.is_boolean(),
    };
    (!matches).then(|| format!("must be {}, not {}", expected.described(), shown(value)))
}

/// The value validations of one node (the type already matches).
fn value_rules(schema: &Schema, value: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(allowed) = &schema.allowed
        && !allowed.contains(value)
    {
        let listed: Vec<_> = allowed.iter().map(shown).collect();
        problems.push(format!(
            "{} is not one of {}",
            shown(value),
            listed.join(", ")
        ));
    }
    if let Some(number) = value.as_f64() {
        problems.extend(bounds(schema, number, value));
    }
    if let Some(text) = value.as_str() {
        problems.extend(string_rules(schema, text));
    }
    if let Some(items) = value.as_array() {
        problems.extend(count_rule(
            items.len(),
            schema.min_items,
            schema.max_items,
            "items",
        ));
        problems.extend(unique_items(schema, items));
    }
    if let Some(fields) = value.as_object() {
        problems.extend(count_rule(
            fields.len(),
            schema.min_properties,
            schema.max_properties,
            "fields",
        ));
    }
    if let Some(format) = &schema.format {
        problems.extend(format_violation(format, value));
    }
    problems
}

/// `minimum`, `maximum` and their exclusive forms.
fn bounds(schema: &Schema, number: f64, value: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(minimum) = schema.minimum {
        let below = if schema.exclusive_minimum {
            number <= minimum
        } else {
            number < minimum
        };
        if below {
            problems.push(format!("{value} is below the minimum {minimum}"));
        }
    }
    if let Some(maximum) = schema.maximum {
        let above = if schema.exclusive_maximum {
            number >= maximum
        } else {
            number > maximum
        };
        if above {
            problems.push(format!("{value} is above the maximum {maximum}"));
        }
    }
    problems
}

/// `minLength`, `maxLength` (in characters, as the API server counts) and `pattern`.
fn string_rules(schema: &Schema, text: &str) -> Vec<String> {
    let mut problems = count_rule(
        text.chars().count(),
        schema.min_length,
        schema.max_length,
        "characters",
    );
    if let Some(pattern) = &schema.pattern
        && !pattern.0.is_match(text)
    {
        problems.push(format!(
            "{text:?} does not match the pattern {}",
            pattern.0.as_str()
        ));
    }
    problems
}

/// A count within `minimum` and `maximum`.
fn count_rule(
    count: usize,
    minimum: Option<usize>,
    maximum: Option<usize>,
    what: &str,
) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(minimum) = minimum
        && count < minimum
    {
        problems.push(format!("{count} {what}, fewer than the minimum {minimum}"));
    }
    if let Some(maximum) = maximum
        && count > maximum
    {
        problems.push(format!("{count} {what}, more than the maximum {maximum}"));
    }
    problems
}

/// `x-kubernetes-list-type: set` (items unique) and `map` (the key fields unique).
fn unique_items(schema: &Schema, items: &[Value]) -> Vec<String> {
    let key = |item: &Value| -> Value {
        match schema.list_type {
            Some(ListType::Map) => Value::Array(
                schema
                    .list_map_keys
                    .iter()
                    .map(|field| item.get(field).cloned().unwrap_or(Value::Null))
                    .collect(),
            ),
            _ => item.clone(),
        }
    };
    if !matches!(schema.list_type, Some(ListType::Set | ListType::Map)) {
        return Vec::new();
    }
    let mut problems = Vec::new();
    for (later, item) in items.iter().enumerate() {
        if let Some(earlier) = items[..later]
            .iter()
            .position(|other| key(other) == key(item))
        {
            problems.push(match schema.list_type {
                Some(ListType::Map) => format!(
                    "items [{earlier}] and [{later}] have the same key ({}: {}): a list-type map keeps one",
                    schema.list_map_keys.join(", "),
                    shown(&key(item))
                ),
                _ => format!(
                    "items [{earlier}] and [{later}] are equal: a list-type set holds each once"
                ),
            });
        }
    }
    problems
}

/// The fields of an object: `required`, the embedded resource's own fields, and each field
/// against its property, the map's value schema, or pruned.
fn object_fields(
    schema: &Schema,
    fields: &Map<String, Value>,
    path: &FieldPath,
    pruning: Pruning,
    out: &mut Vec<Violation>,
) {
    for required in &schema.required {
        let defaulted = schema
            .properties
            .get(required)
            .is_some_and(|property| property.default.is_some());
        if !fields.contains_key(required) && !defaulted {
            out.push(Violation::new(
                path.field(required.clone()),
                "required, missing",
            ));
        }
    }
    if schema.embedded_resource {
        embedded_resource(fields, path, out);
    }
    for (name, value) in fields {
        let at = path.field(name.clone());
        if let Some(property) = schema.properties.get(name) {
            node(property, value, &at, pruning, out);
        } else if schema.embedded_resource
            && matches!(name.as_str(), "apiVersion" | "kind" | "metadata")
        {
            // Checked by `embedded_resource`.
        } else if let Some(AdditionalProperties::Schema(values)) = &schema.additional_properties {
            node(values, value, &at, pruning, out);
        } else if schema.preserve_unknown_fields
            || matches!(
                schema.additional_properties,
                Some(AdditionalProperties::Allowed(true))
            )
            || pruning == Pruning::NotApplicable
        {
            // Kept as written.
        } else {
            out.push(Violation::new(
                at,
                "not declared by the schema: the API server would prune it silently",
            ));
        }
    }
}

/// `x-kubernetes-embedded-resource`: an object with its own `apiVersion`, `kind` and
/// `metadata` (read as ObjectMeta).
fn embedded_resource(fields: &Map<String, Value>, path: &FieldPath, out: &mut Vec<Violation>) {
    for key in ["apiVersion", "kind"] {
        if fields
            .get(key)
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            out.push(Violation::new(
                path.field(key),
                "an embedded resource needs it, a non-empty string",
            ));
        }
    }
    if let Some(metadata) = fields.get("metadata") {
        out.extend(metadata_violations(
            metadata,
            &path.field("metadata"),
            Scope::Embedded,
        ));
    }
}
