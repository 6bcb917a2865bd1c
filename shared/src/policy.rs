//! The contract every policy implements ([`Policy`], [`PolicySettings`]), and the glue between
//! the waPC entry points and a policy's pure evaluation.
//!
//! A policy crate implements [`Policy`] and names its type with [`export_policy!`] (which
//! defines `wapc_init` and the `Exported` alias the tooling uses). Everything a policy would
//! otherwise repeat lives here: parsing the payload, reading and validating settings (exceptions
//! included, against the policy's controls), deciding whether the object is a workload, failing
//! closed with a precise message, and serialising the answer.

use std::any::Any;
use std::cell::RefCell;
use std::rc::Rc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use wapc_guest::{CallResult, register_function};

use crate::api_versions;
use crate::exception::{Exception, validate_exceptions};
use crate::input::{InputError, check_depth, from_json_str};
use crate::request::{AdmissionRequest, ValidationPayload};
use crate::response::{Outcome, ValidationResponse};
use crate::time::Now;
use crate::update::{EPHEMERAL_CONTAINERS, Review};
use crate::workload::WorkloadKind;

/// A policy's settings: read from camelCase JSON (unknown keys rejected) and checked for
/// consistency.
pub trait PolicySettings: DeserializeOwned + 'static {
    /// `Err` with a precise message naming the setting at fault.
    fn validate(&self) -> Result<(), String>;
    /// The exceptions, checked against the policy's [`Policy::CONTROLS`] when read.
    fn exceptions(&self) -> &[Exception];
    /// True when these settings can make the policy return a patch. Such a policy is deployed
    /// as a mutating webhook with a validating twin; any other as a validating webhook.
    fn can_patch(&self) -> bool;
    /// Rewrites `settings` (the JSON object, everything else kept) into the validating twin's:
    /// the same checks, never a patch.
    fn turn_off_patching(settings: &mut serde_json::Map<String, serde_json::Value>);
}

/// A policy: a name, its controls, settings, and a pure evaluation of one admission request.
pub trait Policy {
    /// The policy name used in messages, e.g. `pod-security`.
    const NAME: &'static str;
    /// The control ids its violations carry and its exceptions may name.
    const CONTROLS: &'static [&'static str];
    /// The settings.
    type Settings: PolicySettings;

    /// Evaluates one request at `now` (the clock's reading, or that it could not be read);
    /// `Err` for input that cannot be evaluated (the request is then rejected with the error,
    /// never accepted).
    fn evaluate(
        request: &AdmissionRequest<'_>,
        settings: &Self::Settings,
        now: Now,
    ) -> Result<Outcome, InputError>;
}

/// Makes a type the policy of this module: defines `wapc_init`, which registers the waPC
/// operations of that policy, and `Exported`, the name the tooling (fuzz targets, native
/// comparisons) uses for it.
#[macro_export]
macro_rules! export_policy {
    ($policy:ty) => {
        /// The policy behind this module's waPC entry points.
        pub type Exported = $policy;

        /// Registers the waPC operations (only in the wasm module: natively several policies
        /// link into one test binary, and none is called through waPC).
        #[cfg(target_arch = "wasm32")]
        #[unsafe(no_mangle)]
        pub extern "C" fn wapc_init() {
            $crate::policy::register::<$policy>();
        }
    };
}

/// Reads and validates the settings of policy `P` from their JSON text.
pub fn read_settings<P: Policy>(json: &str) -> Result<P::Settings, String> {
    // serde would also build a struct from an array of its fields: settings are an object.
    if !json.trim_start().starts_with('{') {
        return Err("settings must be a JSON object".into());
    }
    check_depth("settings", json).map_err(|error| error.to_string())?;
    let settings: P::Settings =
        from_json_str("settings", json).map_err(|error| match error.path.as_str() {
            "" | "." => error.message,
            path => format!("{path}: {}", error.message),
        })?;
    settings.validate()?;
    validate_exceptions(settings.exceptions(), P::CONTROLS)?;
    Ok(settings)
}

thread_local! {
    /// The settings of the last request, with their text: the host sends the same settings
    /// with every request of a policy, so they are read and validated once, not per request.
    static LAST_SETTINGS: RefCell<Option<(String, Rc<dyn Any>)>> = const { RefCell::new(None) };
}

/// The settings of `P` read from `text`, reusing the last ones when the text is the same.
fn settings_for<P: Policy>(text: &str) -> Result<Rc<P::Settings>, String> {
    let cached = LAST_SETTINGS.with(|last| {
        let last = last.borrow();
        let (cached_text, settings) = last.as_ref()?;
        (cached_text == text).then(|| Rc::clone(settings).downcast::<P::Settings>().ok())?
    });
    if let Some(settings) = cached {
        return Ok(settings);
    }
    let settings = Rc::new(read_settings::<P>(text)?);
    let shared: Rc<dyn Any> = Rc::clone(&settings) as Rc<dyn Any>;
    LAST_SETTINGS.with(|last| *last.borrow_mut() = Some((text.to_owned(), shared)));
    Ok(settings)
}

/// Registers the waPC operations of policy `P` (call it from the crate's `wapc_init`):
/// `validate`, `validate_settings` and the SDK's `protocol_version`.
pub fn register<P: Policy>() {
    register_function("validate", validate::<P>);
    register_function("validate_settings", validate_settings::<P>);
    register_function("protocol_version", protocol_version);
}

/// The Kubewarden protocol a policy speaks (`validate`, `validate_settings` with JSON payloads).
pub const PROTOCOL_VERSION: &str = "v1";

/// The `protocol_version` waPC operation: the JSON string `"v1"`.
pub fn protocol_version(_payload: &[u8]) -> CallResult {
    Ok(serde_json::to_vec(PROTOCOL_VERSION)?)
}

/// The answer to `validate_settings`.
#[derive(Debug, Serialize)]
struct SettingsValidationResponse {
    valid: bool,
    message: Option<String>,
}

/// The `validate_settings` waPC operation.
pub fn validate_settings<P: Policy>(payload: &[u8]) -> CallResult {
    let response = match std::str::from_utf8(payload)
        .map_err(|error| format!("settings are not UTF-8: {error}"))
        .and_then(read_settings::<P>)
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
    Ok(serde_json::to_vec(&evaluate::<P>(payload, Now::read()))?)
}

/// Evaluates a `validate` payload at time `now`; never panics, never accepts what it cannot read.
pub fn evaluate<P: Policy>(payload: &[u8], now: Now) -> ValidationResponse {
    let parsed = match ValidationPayload::parse(payload) {
        Ok(parsed) => parsed,
        Err(error) => return ValidationResponse::invalid_input(P::NAME, "the request", &error),
    };
    let subject = parsed.request.subject();
    let settings = match settings_for::<P>(parsed.settings_text()) {
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
    /// A workload to evaluate, with what the request changed ([`Review`]).
    Workload(Box<Review>),
    /// Nothing to check, and why (accepted on purpose).
    NotApplicable(&'static str),
}

/// Decides whether the request carries a workload, and reads it with what it changed.
///
/// DELETE and CONNECT, kinds without a pod spec, and Pod subresources other than
/// `ephemeralcontainers` (status, binding, eviction…) are not applicable, as in Pod Security
/// Admission. A workload kind in any version Kubernetes served it in is read as its current
/// form; in a version that never served it, or in an object that does not say what the
/// request says it is, it is an error ([`api_versions`]). A pod-bearing object that is missing
/// or malformed is an error; a malformed `oldObject` makes the UPDATE judged in full.
pub fn read_workload(request: &AdmissionRequest<'_>) -> Result<Target, InputError> {
    if !request.operation.admits_an_object() {
        return Ok(Target::NotApplicable(
            "the operation admits no new pod spec",
        ));
    }
    let Some(kind) = api_versions::workload_kind(&request.kind)? else {
        let object = request.object.map(RawValue::get);
        api_versions::check_not_a_workload_inside(&request.kind, object)?;
        return Ok(Target::NotApplicable("the kind carries no pod spec"));
    };
    if let Some(sub) = request.sub_resource.as_deref()
        && !sub.is_empty()
        && !(kind == WorkloadKind::Pod && sub == EPHEMERAL_CONTAINERS)
    {
        return Ok(Target::NotApplicable(
            "the subresource carries no pod spec change",
        ));
    }
    let object = request
        .object
        .ok_or_else(|| InputError::new("request", "request.object is missing"))?;
    api_versions::check_object_agrees(&request.kind, object.get())?;
    Review::read(request, kind, object.get()).map(|review| Target::Workload(Box::new(review)))
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
        exceptions: Vec<Exception>,
    }

    impl PolicySettings for Knobs {
        fn validate(&self) -> Result<(), String> {
            Ok(())
        }
        fn exceptions(&self) -> &[Exception] {
            &self.exceptions
        }
        fn can_patch(&self) -> bool {
            false
        }
        fn turn_off_patching(_: &mut serde_json::Map<String, serde_json::Value>) {}
    }

    struct Knobbed;

    impl Policy for Knobbed {
        const NAME: &'static str = "knobbed";
        const CONTROLS: &'static [&'static str] = &["first", "second"];
        type Settings = Knobs;
        fn evaluate(_: &AdmissionRequest<'_>, _: &Knobs, _: Now) -> Result<Outcome, InputError> {
            Ok(Outcome::default())
        }
    }

    #[test]
    fn the_settings_answer_and_the_protocol_are_the_wire_format() {
        let valid = validate_settings::<Knobbed>(b"{}").unwrap();
        assert_eq!(valid, br#"{"valid":true,"message":null}"#);
        let invalid = validate_settings::<Knobbed>(b"[]").unwrap();
        assert_eq!(
            invalid,
            br#"{"valid":false,"message":"settings must be a JSON object"}"#
        );
        assert_eq!(protocol_version(&[]).unwrap(), br#""v1""#);
    }

    #[test]
    fn the_same_settings_are_read_once() {
        let first = settings_for::<Knobbed>(r#"{"level": 1}"#).expect("valid");
        let again = settings_for::<Knobbed>(r#"{"level": 1}"#).expect("valid");
        assert!(Rc::ptr_eq(&first, &again), "reused, not read again");
        let other = settings_for::<Knobbed>(r#"{"level": 2}"#).expect("valid");
        assert_eq!(other.level, 2);
        assert!(!Rc::ptr_eq(&first, &other));
        for _ in 0..2 {
            assert_eq!(
                settings_for::<Knobbed>("[]").expect_err("invalid, every time"),
                "settings must be a JSON object"
            );
        }
        assert_eq!(
            settings_for::<Knobbed>(r#"{"level": 2}"#)
                .expect("valid")
                .level,
            2
        );
    }

    #[test]
    fn settings_must_be_an_object() {
        // serde builds a struct from an array of its fields: `[]` must not read as defaults.
        for text in ["[]", "[3]", "null", "3", "\"level\"", ""] {
            assert_eq!(
                read_settings::<Knobbed>(text).unwrap_err(),
                "settings must be a JSON object",
                "{text:?}"
            );
        }
        assert_eq!(
            read_settings::<Knobbed>(" {\"level\": 2}").unwrap().level,
            2
        );
    }

    #[test]
    fn exceptions_may_name_only_the_policy_controls() {
        let known = r#"{"exceptions":[{"controls":["second"],"containers":["a"],"namespaces":["ns"],"reason":"r"}]}"#;
        assert!(read_settings::<Knobbed>(known).is_ok());
        let unknown = known.replace("second", "third");
        assert_eq!(
            read_settings::<Knobbed>(&unknown).unwrap_err(),
            "exceptions[0].controls: unknown control \"third\"; known controls: first, second"
        );
    }

    #[test]
    fn exceptions_must_name_their_namespaces_precisely() {
        let without = r#"{"exceptions":[{"controls":["second"],"containers":["a"],"reason":"r"}]}"#;
        let error = read_settings::<Knobbed>(without).unwrap_err();
        assert!(
            error.starts_with(
                "exceptions[0] (controls: second) must name the namespaces it applies in"
            ) && error.contains(r#"add namespaces: ["<namespace>"] to it, or namespaces: ["*"]"#),
            "{error}"
        );
        let named = |namespaces: &str| {
            read_settings::<Knobbed>(&format!(
                r#"{{"exceptions":[{{"controls":["second"],"containers":["a"],"namespaces":{namespaces},"reason":"r"}}]}}"#
            ))
        };
        assert!(named(r#"["*"]"#).is_ok());
        assert!(named(r#"["kube-system", "monitoring"]"#).is_ok());
        for (namespaces, expected) in [
            (
                r#"["*", "kube-system"]"#,
                r#"exceptions[0].namespaces: "*" means every namespace and cannot be listed with other namespaces ("kube-system")"#,
            ),
            (
                r#"["kube-system", ""]"#,
                r#"exceptions[0].namespaces: "" is not a namespace name"#,
            ),
            (r#"[]"#, "exceptions[0].namespaces: namespaces is empty"),
        ] {
            let error = named(namespaces).unwrap_err();
            assert!(error.starts_with(expected), "{namespaces}: {error}");
        }
    }

    #[test]
    fn deeply_nested_settings_are_refused_with_the_place() {
        let deep = format!("{{\"x\":{}{}}}", "[".repeat(200), "]".repeat(200));
        let error = read_settings::<Knobbed>(&deep).unwrap_err();
        assert!(
            error.starts_with("invalid settings: x[0]")
                && error.ends_with("nested deeper than 128 levels"),
            "{error}"
        );
    }
}
