//! The `validate` payload: the admission request and the policy settings.
//!
//! The object is kept as raw JSON text: the policy reads it once into the typed model it needs,
//! and parses it into a `serde_json::Value` only when it mutates. The request is checked once,
//! here: it must name its kind, and its operation becomes an [`Operation`].

use std::fmt;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::input::{InputError, check_depth, from_json_str};
use crate::nullable::nullable;

/// What the host sends to `validate`: `{"request": …, "settings": …}`.
#[derive(Debug)]
pub struct ValidationPayload<'a> {
    pub request: AdmissionRequest<'a>,
    pub settings: Option<&'a RawValue>,
}

/// The payload as it comes over the wire, before the request is checked.
#[derive(Deserialize)]
struct WirePayload<'a> {
    #[serde(borrow)]
    request: WireRequest<'a>,
    #[serde(borrow, default)]
    settings: Option<&'a RawValue>,
}

impl<'a> ValidationPayload<'a> {
    /// Parses the payload, naming the offending field when it is malformed.
    pub fn parse(payload: &'a [u8]) -> Result<Self, InputError> {
        let text = std::str::from_utf8(payload).map_err(|error| {
            InputError::new("request", format!("payload is not UTF-8: {error}"))
        })?;
        check_depth("request", text)?;
        let wire: WirePayload<'a> = from_json_str("request", text)?;
        Ok(Self {
            request: AdmissionRequest::checked(wire.request)?,
            settings: wire.settings,
        })
    }

    /// The settings' JSON text; absent or `null` settings are the policy defaults (`{}`).
    pub fn settings_text(&self) -> &'a str {
        match self.settings.map(RawValue::get) {
            None | Some("null") => "{}",
            Some(text) => text,
        }
    }
}

/// The operation an admission request carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    Create,
    Update,
    Delete,
    Connect,
}

impl Operation {
    /// Every operation, in the order Kubernetes documents them.
    pub const ALL: [Operation; 4] = [
        Operation::Create,
        Operation::Update,
        Operation::Delete,
        Operation::Connect,
    ];

    /// The wire name, e.g. `CREATE`.
    pub fn name(self) -> &'static str {
        match self {
            Operation::Create => "CREATE",
            Operation::Update => "UPDATE",
            Operation::Delete => "DELETE",
            Operation::Connect => "CONNECT",
        }
    }

    /// The operation of a wire name (exact, upper case as the API server sends it).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|operation| operation.name() == name)
    }

    /// True for CREATE and UPDATE, the operations that admit a pod spec.
    pub fn admits_an_object(self) -> bool {
        matches!(self, Operation::Create | Operation::Update)
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The fields of a Kubernetes `AdmissionRequest` that the policies use, checked.
#[derive(Debug)]
pub struct AdmissionRequest<'a> {
    pub uid: String,
    pub kind: GroupVersionKind,
    pub sub_resource: Option<String>,
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub operation: Operation,
    pub object: Option<&'a RawValue>,
    pub old_object: Option<&'a RawValue>,
    pub dry_run: bool,
}

/// The request as it comes over the wire.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct WireRequest<'a> {
    uid: String,
    kind: GroupVersionKind,
    sub_resource: Option<String>,
    name: Option<String>,
    namespace: Option<String>,
    operation: String,
    #[serde(borrow)]
    object: Option<&'a RawValue>,
    #[serde(borrow)]
    old_object: Option<&'a RawValue>,
    #[serde(deserialize_with = "nullable")]
    dry_run: bool,
}

/// `kind` of an admission request.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct GroupVersionKind {
    pub group: String,
    pub version: String,
    pub kind: String,
}

impl<'a> AdmissionRequest<'a> {
    /// A request must say what it admits: a kind and a known operation. Without this check a
    /// payload such as `{"request":[]}` would read as an empty request and be accepted.
    fn checked(wire: WireRequest<'a>) -> Result<Self, InputError> {
        if wire.kind.kind.is_empty() {
            return Err(InputError {
                path: "request.kind.kind".into(),
                message: "missing: the request does not say which kind it admits".into(),
                context: "request",
            });
        }
        let operation = Operation::parse(&wire.operation).ok_or_else(|| {
            let known: Vec<&str> = Operation::ALL.iter().map(|o| o.name()).collect();
            InputError {
                path: "request.operation".into(),
                message: format!("\"{}\" is not one of {}", wire.operation, known.join(", ")),
                context: "request",
            }
        })?;
        Ok(Self {
            uid: wire.uid,
            kind: wire.kind,
            sub_resource: wire.sub_resource,
            name: wire.name,
            namespace: wire.namespace,
            operation,
            object: wire.object,
            old_object: wire.old_object,
            dry_run: wire.dry_run,
        })
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
        assert_eq!(parsed.request.operation, Operation::Create);
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

    #[test]
    fn every_operation_reads_back_from_its_wire_name() {
        for operation in Operation::ALL {
            assert_eq!(Operation::parse(operation.name()), Some(operation));
        }
        assert_eq!(
            Operation::parse("create"),
            None,
            "the API server sends upper case"
        );
        assert!(Operation::Update.admits_an_object() && !Operation::Connect.admits_an_object());
    }
}
