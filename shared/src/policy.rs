//! The glue between the waPC entry points and a policy's pure evaluation.
//!
//! A policy implements [`Policy`]; its `lib.rs` registers [`validate`] and [`validate_settings`].
//! Everything a policy would otherwise repeat lives here: parsing the payload, reading and
//! validating settings, deciding whether the object is a workload, failing closed with a precise
//! message, and serialising the answer.

use kubewarden_policy_sdk::settings::SettingsValidationResponse;
use kubewarden_policy_sdk::wapc_guest::{CallResult, register_function};
use serde::de::DeserializeOwned;

use crate::input::{InputError, check_depth, from_json_str_tracked};
use crate::request::{AdmissionRequest, ValidationPayload};
use crate::response::{Outcome, ValidationResponse};
use crate::time::Timestamp;
use crate::workload::{Workload, WorkloadKind};

/// Settings that can check their own consistency.
pub trait Validate {
    /// `Err` with a precise message naming the setting at fault.
    fn validate(&self) -> Result<(), String>;
}

/// A policy: a name, settings, and a pure evaluation of one admission request.
pub trait Policy {
    /// The policy name used in messages, e.g. `pod-security`.
    const NAME: &'static str;
    /// The settings, deserialised from camelCase JSON (unknown keys rejected).
    type Settings: DeserializeOwned + Validate;

    /// Evaluates one request; `Err` for input that cannot be evaluated (the request is then
    /// rejected with the error, never accepted).
    fn evaluate(
        request: &AdmissionRequest<'_>,
        settings: &Self::Settings,
        now: Timestamp,
    ) -> Result<Outcome, InputError>;
}

/// Reads and validates settings from their JSON text.
pub fn read_settings<S: DeserializeOwned + Validate>(json: &str) -> Result<S, String> {
    // serde would also build a struct from an array of its fields: settings are an object.
    if !json.trim_start().starts_with('{') {
        return Err("settings must be a JSON object".into());
    }
    check_depth("settings", json).map_err(|error| error.to_string())?;
    let settings: S =
        from_json_str_tracked("settings", json).map_err(|error| match error.path.as_str() {
            "" | "." => error.message,
            path => format!("{path}: {}", error.message),
        })?;
    settings.validate()?;
    Ok(settings)
}

/// Registers the waPC operations of policy `P` (call it from the crate's `wapc_init`):
/// `validate`, `validate_settings` and the SDK's `protocol_version`.
pub fn register<P: Policy>() {
    register_function("validate", validate::<P>);
    register_function("validate_settings", validate_settings::<P>);
    register_function(
        "protocol_version",
        kubewarden_policy_sdk::protocol_version_guest,
    );
}

/// The `validate_settings` waPC operation.
pub fn validate_settings<P: Policy>(payload: &[u8]) -> CallResult {
    let response = match std::str::from_utf8(payload)
        .map_err(|error| format!("settings are not UTF-8: {error}"))
        .and_then(read_settings::<P::Settings>)
    {
        Ok(_) => SettingsValidationResponse {
            valid: true,
            message: None,
        },
        Err(message) => SettingsValidationResponse {
            valid: false,
            message: Some(message),
        },
    };
    Ok(serde_json::to_vec(&response)?)
}

/// The `validate` waPC operation.
pub fn validate<P: Policy>(payload: &[u8]) -> CallResult {
    Ok(serde_json::to_vec(&evaluate::<P>(
        payload,
        Timestamp::now(),
    ))?)
}

/// Evaluates a `validate` payload at time `now`; never panics, never accepts what it cannot read.
pub fn evaluate<P: Policy>(payload: &[u8], now: Timestamp) -> ValidationResponse {
    let parsed = match ValidationPayload::parse(payload) {
        Ok(parsed) => parsed,
        Err(error) => return ValidationResponse::invalid_input(P::NAME, "the request", &error),
    };
    let subject = parsed.request.subject();
    let settings = match read_settings::<P::Settings>(parsed.settings_text()) {
        Ok(settings) => settings,
        Err(message) => {
            let error = InputError::new("settings", message);
            return ValidationResponse::invalid_input(P::NAME, &subject, &error);
        }
    };
    match P::evaluate(&parsed.request, &settings, now) {
        Ok(outcome) => outcome.into_response(P::NAME, &subject),
        Err(error) => ValidationResponse::invalid_input(P::NAME, &subject, &error),
    }
}

/// Whether a request concerns a pod-bearing object the policies must check.
#[derive(Debug)]
pub enum Target {
    /// A workload to evaluate.
    Workload(Box<Workload>),
    /// Nothing to check, and why (accepted on purpose).
    NotApplicable(&'static str),
}

/// Decides whether the request carries a workload, and reads it.
///
/// DELETE and CONNECT, kinds without a pod spec, and Pod subresources other than
/// `ephemeralcontainers` (status, binding, eviction…) are not applicable, as in Pod Security
/// Admission. A pod-bearing object that is missing or malformed is an error.
pub fn read_workload(request: &AdmissionRequest<'_>) -> Result<Target, InputError> {
    if matches!(request.operation.as_str(), "DELETE" | "CONNECT") {
        return Ok(Target::NotApplicable(
            "the operation admits no new pod spec",
        ));
    }
    let Some(kind) = WorkloadKind::from_group_kind(&request.kind.group, &request.kind.kind) else {
        return Ok(Target::NotApplicable("the kind carries no pod spec"));
    };
    if let Some(sub) = request.sub_resource.as_deref()
        && !sub.is_empty()
        && !(kind == WorkloadKind::Pod && sub == "ephemeralcontainers")
    {
        return Ok(Target::NotApplicable(
            "the subresource carries no pod spec change",
        ));
    }
    let object = request
        .object
        .ok_or_else(|| InputError::new("request", "request.object is missing"))?;
    Workload::from_json(kind, object.get()).map(|w| Target::Workload(Box::new(w)))
}

/// The admitted object as JSON, for policies that mutate it.
pub fn object_value(request: &AdmissionRequest<'_>) -> Result<serde_json::Value, InputError> {
    let object = request
        .object
        .ok_or_else(|| InputError::new("request", "request.object is missing"))?;
    serde_json::from_str(object.get()).map_err(|error| InputError::new("object", error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, serde::Deserialize)]
    #[serde(default, deny_unknown_fields)]
    struct Knobs {
        level: u8,
    }

    impl Validate for Knobs {
        fn validate(&self) -> Result<(), String> {
            Ok(())
        }
    }

    #[test]
    fn settings_must_be_an_object() {
        // serde builds a struct from an array of its fields: `[]` must not read as defaults.
        for text in ["[]", "[3]", "null", "3", "\"level\"", ""] {
            assert_eq!(
                read_settings::<Knobs>(text).unwrap_err(),
                "settings must be a JSON object",
                "{text:?}"
            );
        }
        assert_eq!(read_settings::<Knobs>(" {\"level\": 2}").unwrap().level, 2);
    }

    #[test]
    fn deeply_nested_settings_are_refused_with_the_place() {
        let deep = format!("{{\"x\":{}{}}}", "[".repeat(200), "]".repeat(200));
        let error = read_settings::<Knobs>(&deep).unwrap_err();
        assert!(
            error.starts_with("invalid settings: x[0]")
                && error.ends_with("nested deeper than 128 levels"),
            "{error}"
        );
    }
}
