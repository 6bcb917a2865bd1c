//! The policy's answer: violations, warnings, audit annotations and an optional mutation,
//! turned into the `ValidationResponse` wire format at the edge.

use std::collections::BTreeMap;

use serde::{Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::exception::ExceptionReport;
use crate::input::InputError;
use crate::violation::Violations;

/// HTTP status code of a rejection for a policy violation.
pub const CODE_FORBIDDEN: u16 = 403;
/// HTTP status code of a rejection for input the policy cannot evaluate.
pub const CODE_BAD_REQUEST: u16 = 400;

/// The Kubewarden `ValidationResponse` (same wire format as the SDK's), with ordered maps so the
/// serialised answer is byte-for-byte deterministic.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ValidationResponse {
    pub accepted: bool,
    pub message: Option<String>,
    pub code: Option<u16>,
    pub mutated_object: Option<MutatedObject>,
    pub audit_annotations: Option<BTreeMap<String, String>>,
    pub warnings: Option<Vec<String>>,
}

impl ValidationResponse {
    /// A rejection for input the policy cannot evaluate (fail closed, with the reason).
    pub fn invalid_input(policy: &str, subject: &str, error: &InputError) -> Self {
        Self {
            accepted: false,
            message: Some(format!("{policy} cannot evaluate {subject}: {error}")),
            code: Some(CODE_BAD_REQUEST),
            ..Self::default()
        }
    }
}

/// What a policy concluded about one request.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// Violations left after exceptions: any of them rejects the request.
    pub violations: Violations,
    /// Warnings besides the violations (exceptions applied or expired, notes).
    pub warnings: Vec<String>,
    /// Audit annotations besides the violations.
    pub audit: BTreeMap<String, String>,
    /// The mutated object, when the policy changed anything.
    pub mutated: Option<MutatedObject>,
}

/// A mutated object as JSON text, written once: a policy that reads it again and the response
/// use the same text (writing a `Value` out costs as much as reading it).
#[derive(Clone, Debug)]
pub struct MutatedObject(Box<RawValue>);

impl MutatedObject {
    /// The object's JSON text, as written by `serde_json`.
    pub fn from_text(text: String) -> Result<Self, InputError> {
        RawValue::from_string(text)
            .map(Self)
            .map_err(|error| InputError::new("object", error.to_string()))
    }

    /// The object, written out.
    pub fn from_value(value: &Value) -> Result<Self, InputError> {
        serde_json::value::to_raw_value(value)
            .map(Self)
            .map_err(|error| InputError::new("object", error.to_string()))
    }

    /// The JSON text.
    pub fn text(&self) -> &str {
        self.0.get()
    }

    /// The object read back (tests and tools; `null` if the text were not JSON, which
    /// [`MutatedObject::from_text`] refuses).
    pub fn value(&self) -> Value {
        serde_json::from_str(self.0.get()).unwrap_or_default()
    }
}

impl PartialEq for MutatedObject {
    fn eq(&self, other: &Self) -> bool {
        self.text() == other.text()
    }
}

impl Serialize for MutatedObject {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl Outcome {
    /// An outcome built from what exceptions left and reported.
    pub fn from_exceptions(report: ExceptionReport) -> Self {
        Self {
            violations: report.remaining,
            warnings: report.warnings,
            audit: report.audit.into_iter().collect(),
            mutated: None,
        }
    }

    /// The wire response: a rejection listing every violation, or an acceptance (with the
    /// mutated object, if any). Warnings and audit annotations are kept in both cases.
    pub fn into_response(self, policy: &str, subject: &str) -> ValidationResponse {
        let mut warnings = self.violations.warnings(policy);
        warnings.extend(self.warnings);
        let mut audit = self.audit;
        if !self.violations.is_empty() {
            audit.insert("violations".into(), self.violations.audit_annotation());
        }
        let warnings = (!warnings.is_empty()).then_some(warnings);
        let audit_annotations = (!audit.is_empty()).then_some(audit);
        if self.violations.is_empty() {
            ValidationResponse {
                accepted: true,
                mutated_object: self.mutated,
                audit_annotations,
                warnings,
                ..ValidationResponse::default()
            }
        } else {
            ValidationResponse {
                accepted: false,
                message: Some(self.violations.rejection_message(policy, subject)),
                code: Some(CODE_FORBIDDEN),
                mutated_object: None,
                audit_annotations,
                warnings,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::FieldPath;
    use crate::violation::Violation;

    #[test]
    fn wire_format_is_the_kubewarden_validation_response() {
        let response = ValidationResponse {
            accepted: false,
            message: Some("m".into()),
            code: Some(403),
            audit_annotations: Some(BTreeMap::from([("k".into(), "v".into())])),
            warnings: Some(vec!["w".into()]),
            ..ValidationResponse::default()
        };
        let text = serde_json::to_string(&response).expect("serialises");
        assert_eq!(
            text,
            r#"{"accepted":false,"message":"m","code":403,"mutated_object":null,"audit_annotations":{"k":"v"},"warnings":["w"]}"#
        );
    }

    #[test]
    fn violations_reject_and_drop_the_mutation() {
        let mut outcome = Outcome {
            mutated: Some(MutatedObject::from_value(&serde_json::json!({})).expect("JSON")),
            ..Outcome::default()
        };
        outcome.violations.push(Violation {
            path: FieldPath::parse_static("spec.hostPID"),
            control: "hostNamespaces",
            container: None,
            message: "true".into(),
            pci: "3.1",
            detail: None,
        });
        let response = outcome.into_response("pod-security", "Pod a");
        assert!(!response.accepted);
        assert!(response.mutated_object.is_none());
        assert_eq!(response.code, Some(403));
        assert!(
            response
                .audit_annotations
                .is_some_and(|a| a.contains_key("violations"))
        );
    }

    #[test]
    fn a_clean_outcome_accepts_without_noise() {
        let response = Outcome::default().into_response("p", "Pod a");
        assert_eq!(
            serde_json::to_string(&response).expect("serialises"),
            r#"{"accepted":true,"message":null,"code":null,"mutated_object":null,"audit_annotations":null,"warnings":null}"#
        );
    }
}
