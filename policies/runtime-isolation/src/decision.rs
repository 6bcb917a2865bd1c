//! The decision for a high-risk Linux workload (PCI 9.1), as a table: which runtime class it
//! ends up in ([`class_of`]), then what that class and its handler check give ([`decide`]).
//! One row per case, one test per row.

use pci_shared::request::Operation;

use crate::settings::Settings;

/// Which runtime class a high-risk Linux workload ends up in: the first matching row of
///
/// | `runtimeClassName` | allowed? | `defaultRuntimeClass` | operation | class |
/// |---|---|---|---|---|
/// | set | yes | – | – | [`Class::Explicit`] |
/// | set | no | – | – | [`Class::NotSandboxed`] |
/// | unset | – | set | CREATE | [`Class::Defaulted`] |
/// | unset | – | unset, or any | UPDATE | [`Class::Unset`] |
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Class<'a> {
    /// An allowed class the workload names.
    Explicit(&'a str),
    /// A class the workload names that is not an allowed sandbox.
    NotSandboxed(&'a str),
    /// No class named: the default is set (a CREATE; the class of a running Pod is immutable).
    Defaulted(&'a str),
    /// No class named and none set: the workload would share the host kernel.
    Unset,
}

/// The class row of the table above.
pub fn class_of<'a>(
    named: Option<&'a str>,
    settings: &'a Settings,
    operation: Operation,
) -> Class<'a> {
    let allowed = |class: &str| settings.allowed_runtime_classes.iter().any(|c| c == class);
    match (named, settings.default_runtime_class.as_deref(), operation) {
        (Some(class), _, _) if allowed(class) => Class::Explicit(class),
        (Some(class), _, _) => Class::NotSandboxed(class),
        (None, Some(default), Operation::Create) => Class::Defaulted(default),
        (None, _, _) => Class::Unset,
    }
}

/// What verifying the class's handler gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Handler {
    /// `verifyHandlers` is not configured.
    NotChecked,
    /// The class maps to an approved handler.
    Verified,
    /// It does not, or the lookup failed (the reason).
    Refused(String),
}

/// The judgement of a high-risk Linux workload, one row per (class, handler): a class that is
/// not a sandbox, or none, is a `runtimeClass` violation; an unverified handler is a
/// `runtimeHandler` violation, and only that; a defaulted class is set whatever the handler
/// gave, so an exception that waives `runtimeHandler` waives that check alone and the workload
/// still gets its sandbox (the waiver is reported as a warning).
pub fn decide(class: &Class<'_>, handler: Handler, allowed: &str) -> Decision {
    let handler_violation = match handler {
        Handler::Refused(reason) => Some(("runtimeHandler", reason)),
        Handler::NotChecked | Handler::Verified => None,
    };
    match class {
        Class::Explicit(_) => Decision {
            violation: handler_violation,
            default_class: None,
        },
        Class::Defaulted(default) => Decision {
            violation: handler_violation,
            default_class: Some((*default).to_owned()),
        },
        Class::NotSandboxed(class) => Decision {
            violation: Some((
                "runtimeClass",
                format!(
                    "\"{class}\" is not a sandboxed runtime class for high-risk workloads; allowed: {allowed}"
                ),
            )),
            default_class: None,
        },
        Class::Unset => Decision {
            violation: Some((
                "runtimeClass",
                format!(
                    "unset: a high-risk workload must run in a sandboxed runtime class, not on the shared host kernel; allowed: {allowed}"
                ),
            )),
            default_class: None,
        },
    }
}

/// The outcome of [`decide`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The violated control and why.
    pub violation: Option<(&'static str, String)>,
    /// The class to set, when no violation is left after exceptions.
    pub default_class: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use pci_shared::policy::read_settings;

    fn settings(default: Option<&str>) -> Settings {
        let mut json = serde_json::json!({"allowedRuntimeClasses": ["gvisor", "kata"]});
        if let Some(default) = default {
            json["defaultRuntimeClass"] = default.into();
        }
        read_settings::<crate::Exported>(&json.to_string()).expect("valid settings")
    }

    const ALLOWED: &str = "gvisor, kata";

    #[test]
    fn row_named_allowed_class_is_kept_on_every_operation() {
        for operation in [Operation::Create, Operation::Update] {
            assert_eq!(
                class_of(Some("kata"), &settings(Some("gvisor")), operation),
                Class::Explicit("kata")
            );
        }
    }

    #[test]
    fn row_named_class_that_is_not_a_sandbox_is_refused_even_with_a_default() {
        let settings = settings(Some("gvisor"));
        let class = class_of(Some("runc"), &settings, Operation::Create);
        assert_eq!(class, Class::NotSandboxed("runc"));
        let decision = decide(&class, Handler::NotChecked, ALLOWED);
        assert_eq!(decision.default_class, None);
        assert!(
            decision
                .violation
                .is_some_and(|(control, message)| control == "runtimeClass"
                    && message.starts_with("\"runc\" is not a sandboxed runtime class"))
        );
    }

    #[test]
    fn row_unset_on_create_with_a_default_gets_the_default() {
        let settings = settings(Some("gvisor"));
        let class = class_of(None, &settings, Operation::Create);
        assert_eq!(class, Class::Defaulted("gvisor"));
        assert_eq!(
            decide(&class, Handler::Verified, ALLOWED),
            Decision {
                violation: None,
                default_class: Some("gvisor".into())
            }
        );
    }

    #[test]
    fn row_unset_on_update_is_refused_the_default_is_for_create_only() {
        let settings = settings(Some("gvisor"));
        let class = class_of(None, &settings, Operation::Update);
        assert_eq!(class, Class::Unset);
        let decision = decide(&class, Handler::NotChecked, ALLOWED);
        assert_eq!(decision.default_class, None);
        assert!(
            decision
                .violation
                .is_some_and(|(control, _)| control == "runtimeClass")
        );
    }

    #[test]
    fn row_unset_without_a_default_is_refused() {
        let settings = settings(None);
        let class = class_of(None, &settings, Operation::Create);
        assert_eq!(class, Class::Unset);
        let decision = decide(&class, Handler::NotChecked, ALLOWED);
        assert!(
            decision
                .violation
                .is_some_and(|(control, message)| control == "runtimeClass"
                    && message.contains("not on the shared host kernel; allowed: gvisor, kata"))
        );
    }

    #[test]
    fn row_allowed_class_with_a_verified_or_unchecked_handler_is_accepted() {
        for handler in [Handler::Verified, Handler::NotChecked] {
            assert_eq!(
                decide(&Class::Explicit("gvisor"), handler, ALLOWED),
                Decision {
                    violation: None,
                    default_class: None
                }
            );
        }
    }

    #[test]
    fn row_allowed_class_with_a_refused_handler_violates_runtime_handler_only() {
        let decision = decide(
            &Class::Explicit("gvisor"),
            Handler::Refused("maps to runc".into()),
            ALLOWED,
        );
        assert_eq!(
            decision.violation,
            Some(("runtimeHandler", "maps to runc".to_owned()))
        );
    }

    #[test]
    fn row_default_with_a_refused_handler_keeps_the_default_for_when_the_check_is_waived() {
        let decision = decide(
            &Class::Defaulted("gvisor"),
            Handler::Refused("maps to runc".into()),
            ALLOWED,
        );
        assert_eq!(
            decision,
            Decision {
                violation: Some(("runtimeHandler", "maps to runc".to_owned())),
                default_class: Some("gvisor".into())
            }
        );
    }
}
