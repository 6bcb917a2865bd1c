//! The `validate` payload: the admission request and the policy settings.
//!
//! The object is kept as raw JSON text: the policy reads it once into the typed model it needs,
//! and parses it into a `serde_json::Value` only when it mutates.

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::input::{InputError, check_depth, from_json_str};
use crate::nullable::nullable;

/// What the host sends to `validate`: `{"request": …, "settings": …}`.
#[derive(Debug, Deserialize)]
pub struct ValidationPayload<'a> {
    #[serde(borrow)]
    pub request: AdmissionRequest<'a>,
    #[serde(borrow, default)]
    pub settings: Option<&'a RawValue>,
}

impl<'a> ValidationPayload<'a> {
    /// Parses the payload, naming the offending field when it is malformed.
    pub fn parse(payload: &'a [u8]) -> Result<Self, InputError> {
        let text = std::str::from_utf8(payload).map_err(|error| {
            InputError::new("request", format!("payload is not UTF-8: {error}"))
        })?;
        check_depth("request", text)?;
        let parsed: Self = from_json_str("request", text)?;
        parsed.request.check()?;
        Ok(parsed)
    }

    /// The settings' JSON text; absent or `null` settings are the policy defaults (`{}`).
    pub fn settings_text(&self) -> &'a str {
        match self.settings.map(RawValue::get) {
            None | Some("null") => "{}",
            Some(text) => text,
        }
    }
}

/// The fields of a Kubernetes `AdmissionRequest` that the policies use.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AdmissionRequest<'a> {
    pub uid: String,
    pub kind: GroupVersionKind,
    pub sub_resource: Option<String>,
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub operation: String,
    #[serde(borrow)]
    pub object: Option<&'a RawValue>,
    #[serde(borrow)]
    pub old_object: Option<&'a RawValue>,
    #[serde(deserialize_with = "nullable")]
    pub dry_run: bool,
}

/// `kind` of an admission request.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct GroupVersionKind {
    pub group: String,
    pub version: String,
    pub kind: String,
}

/// The operations an admission request can carry.
pub const OPERATIONS: [&str; 4] = ["CREATE", "UPDATE", "DELETE", "CONNECT"];

impl AdmissionRequest<'_> {
    /// A request must say what it admits: a kind and a known operation. Without this check a
    /// payload such as `{"request":[]}` would read as an empty request and be accepted.
    pub fn check(&self) -> Result<(), InputError> {
        if self.kind.kind.is_empty() {
            return Err(InputError {
                path: "request.kind.kind".into(),
                message: "missing: the request does not say which kind it admits".into(),
                context: "request",
            });
        }
        if !OPERATIONS.contains(&self.operation.as_str()) {
            return Err(InputError {
                path: "request.operation".into(),
                message: format!(
                    "\"{}\" is not one of {}",
                    self.operation,
                    OPERATIONS.join(", ")
                ),
                context: "request",
            });
        }
        Ok(())
    }

    /// `Kind namespace/name` for messages, with whatever parts are known.
    pub fn subject(&self) -> String {
        let name = self.name.as_deref().unwrap_or("");
        match (self.namespace.as_deref(), name) {
            (Some(ns), "") if !ns.is_empty() => format!("{} in namespace {ns}", self.kind.kind),
            (Some(ns), name) if !ns.is_empty() => format!("{} {ns}/{name}", self.kind.kind),
            (_, "") => self.kind.kind.clone(),
            (_, name) => format!("{} {name}", self.kind.kind),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_object_raw_and_reads_the_rest() {
        let payload = br#"{"settings":{"a":1},"request":{"uid":"u","kind":{"group":"apps","version":"v1","kind":"Deployment"},
            "operation":"CREATE","namespace":"ns","name":"web","object":{"spec":{}},"oldObject":null}}"#;
        let parsed = ValidationPayload::parse(payload).expect("valid payload");
        assert_eq!(parsed.request.kind.kind, "Deployment");
        assert_eq!(
            parsed.request.object.map(RawValue::get),
            Some(r#"{"spec":{}}"#)
        );
        assert!(parsed.request.old_object.is_none());
        assert_eq!(parsed.request.subject(), "Deployment ns/web");
        assert_eq!(parsed.settings_text(), r#"{"a":1}"#);
        let defaults = ValidationPayload::parse(
            br#"{"request":{"kind":{"group":"","version":"v1","kind":"Pod"},"operation":"CREATE"},"settings":null}"#,
        )
        .expect("valid payload");
        assert_eq!(defaults.settings_text(), "{}");
    }

    #[test]
    fn a_malformed_payload_names_the_field() {
        let error = ValidationPayload::parse(br#"{"request":{"operation":7},"settings":{}}"#)
            .expect_err("wrong type");
        assert_eq!(error.path, "request.operation");
        let truncated = ValidationPayload::parse(br#"{"request":{"uid":"#).expect_err("truncated");
        assert_eq!(truncated.context, "request");
    }

    #[test]
    fn a_request_must_name_its_kind_and_a_known_operation() {
        let empty =
            ValidationPayload::parse(br#"{"request":[],"settings":{}}"#).expect_err("no kind");
        assert_eq!(empty.path, "request.kind.kind");
        let bad_operation = ValidationPayload::parse(
            br#"{"request":{"kind":{"group":"","version":"v1","kind":"Pod"},"operation":"PATCH"},"settings":{}}"#,
        )
        .expect_err("unknown operation");
        assert_eq!(bad_operation.path, "request.operation");
    }
}
