//! The OpenAPI v3 schema of a CRD version (`spec.versions[].schema.openAPIV3Schema`), as the
//! structural schemas of apiextensions.k8s.io/v1 write it. Every keyword the API server acts on
//! is read; a keyword this checker does not know is an error when the CRD is read, so a CRD
//! refresh that brings one cannot be validated silently without it.

use std::collections::BTreeMap;

use regex::Regex;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// One schema node.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Schema {
    /// Documentation only.
    #[serde(default)]
    pub description: Option<String>,
    /// Documentation only.
    #[serde(default)]
    pub title: Option<String>,
    /// Documentation only.
    #[serde(default)]
    pub example: Option<Value>,
    #[serde(default, rename = "type")]
    pub kind: Option<Type>,
    #[serde(default)]
    pub properties: BTreeMap<String, Schema>,
    #[serde(default)]
    pub required: Vec<String>,
    #[serde(default)]
    pub additional_properties: Option<AdditionalProperties>,
    #[serde(default)]
    pub items: Option<Box<Schema>>,
    #[serde(default, rename = "enum")]
    pub allowed: Option<Vec<Value>>,
    #[serde(default)]
    pub minimum: Option<f64>,
    #[serde(default)]
    pub maximum: Option<f64>,
    #[serde(default)]
    pub exclusive_minimum: bool,
    #[serde(default)]
    pub exclusive_maximum: bool,
    #[serde(default)]
    pub min_length: Option<usize>,
    #[serde(default)]
    pub max_length: Option<usize>,
    #[serde(default)]
    pub min_items: Option<usize>,
    #[serde(default)]
    pub max_items: Option<usize>,
    #[serde(default)]
    pub min_properties: Option<usize>,
    #[serde(default)]
    pub max_properties: Option<usize>,
    #[serde(default)]
    pub pattern: Option<Pattern>,
    #[serde(default)]
    pub format: Option<String>,
    #[serde(default)]
    pub any_of: Vec<Schema>,
    #[serde(default)]
    pub all_of: Vec<Schema>,
    #[serde(default)]
    pub nullable: bool,
    /// Applied by the API server to a missing field: a required field with a default is not
    /// missing.
    #[serde(default)]
    pub default: Option<Value>,
    #[serde(default, rename = "x-kubernetes-preserve-unknown-fields")]
    pub preserve_unknown_fields: bool,
    #[serde(default, rename = "x-kubernetes-int-or-string")]
    pub int_or_string: bool,
    #[serde(default, rename = "x-kubernetes-embedded-resource")]
    pub embedded_resource: bool,
    #[serde(default, rename = "x-kubernetes-list-type")]
    pub list_type: Option<ListType>,
    #[serde(default, rename = "x-kubernetes-list-map-keys")]
    pub list_map_keys: Vec<String>,
    /// How server-side apply merges a map; no effect on validation.
    #[serde(default, rename = "x-kubernetes-map-type")]
    pub map_type: Option<String>,
    /// CEL rules: not evaluated here, so every one met is reported (never assumed to pass).
    #[serde(default, rename = "x-kubernetes-validations")]
    pub validations: Vec<CelRule>,
}

/// `type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Type {
    Object,
    Array,
    String,
    Integer,
    Number,
    Boolean,
}

impl Type {
    /// The type's name with its article, for messages (`an integer`).
    pub fn described(self) -> &'static str {
        match self {
            Self::Object => "an object",
            Self::Array => "an array",
            Self::String => "a string",
            Self::Integer => "an integer",
            Self::Number => "a number",
            Self::Boolean => "a boolean",
        }
    }
}

/// `additionalProperties`: a schema every value of a map follows, or `true`/`false`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum AdditionalProperties {
    Allowed(bool),
    Schema(Box<Schema>),
}

/// `x-kubernetes-list-type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ListType {
    Atomic,
    Set,
    Map,
}

/// One `x-kubernetes-validations` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CelRule {
    pub rule: String,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub message_expression: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub field_path: Option<String>,
    #[serde(default)]
    pub optional_old_self: Option<bool>,
}

/// A `pattern`, compiled when the CRD is read (the API server's Go regexp is RE2, as the
/// `regex` crate; a pattern it cannot compile fails the read).
#[derive(Debug)]
pub struct Pattern(pub Regex);

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Regex::new(&text)
            .map(Pattern)
            .map_err(|e| serde::de::Error::custom(format!("pattern {text:?}: {e}")))
    }
}
