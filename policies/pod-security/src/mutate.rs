//! Opt-in safe defaults, applied to unset fields before validation.
//!
//! Edits go to the raw object through the shared [`ObjectEditor`], so only the fields below
//! change and nothing else in the object is lost. A default that would make the object invalid
//! for the API server is not applied (the validation then reports the field instead):
//! `allowPrivilegeEscalation: false` with `privileged: true` or `CAP_SYS_ADMIN`, and Linux-only
//! fields on Windows pods. The defaults a PodSecurityPolicy applied are in
//! [`crate::psp::defaults`].

use pci_shared::containers::{ContainerRef, all_containers};
use pci_shared::patch::{EditError, ObjectEditor};
use pci_shared::pod::PodSpec;
use pci_shared::workload::Workload;
use serde_json::{Value, json};

use crate::capabilities::{self, ALL};
use crate::psp;
use crate::settings::{MutateSettings, Settings};

/// Applies the enabled defaults to `object` (of which `workload` is the typed view); `None` when
/// nothing had to change.
pub fn apply(
    object: Value,
    workload: &Workload,
    full: &Settings,
) -> Result<Option<Value>, EditError> {
    let settings = &full.mutate;
    let mut editor = ObjectEditor::new(object);
    let spec = &workload.spec;
    let pod_context = workload.spec_path.field("securityContext");
    let containers: Vec<_> = all_containers(spec, &workload.spec_path).collect();
    if !spec.is_windows() {
        for container in &containers {
            container_defaults(&mut editor, settings, container)?;
        }
        if settings.seccomp_runtime_default && seccomp_unset(spec, &containers) {
            editor.set(
                &pod_context.field("seccompProfile"),
                json!({"type": "RuntimeDefault"}),
            )?;
        }
    }
    if settings.run_as_non_root && run_as_non_root_unset(spec, &containers) {
        editor.set(&pod_context.field("runAsNonRoot"), json!(true))?;
    }
    if settings.pod_security_policy_defaults {
        psp::defaults::apply(&mut editor, workload, &containers, full)?;
    }
    Ok(editor.finish())
}

/// A Linux container's defaults: `drop: [ALL]` added, `allowPrivilegeEscalation: false` where
/// unset (not for a privileged or SYS_ADMIN container, which escalates anyway).
fn container_defaults(
    editor: &mut ObjectEditor,
    settings: &MutateSettings,
    container: &ContainerRef<'_>,
) -> Result<(), EditError> {
    let context = container.container.security_context.as_ref();
    let context_path = container.path().field("securityContext");
    let capabilities = context.and_then(|sc| sc.capabilities.as_ref());
    if settings.drop_all_capabilities {
        let drops_all = capabilities.is_some_and(|c| c.drop.iter().any(|d| d == ALL));
        if !drops_all {
            editor.append_unique(&context_path.fields("capabilities.drop"), json!(ALL))?;
        }
    }
    if settings.disallow_privilege_escalation {
        let unset = context
            .and_then(|sc| sc.allow_privilege_escalation)
            .is_none();
        let privileged = context.and_then(|sc| sc.privileged) == Some(true);
        let sys_admin = capabilities.is_some_and(|c| {
            c.add
                .iter()
                .any(|a| capabilities::normalize(a) == "SYS_ADMIN")
        });
        if unset && !privileged && !sys_admin {
            editor.set(
                &context_path.field("allowPrivilegeEscalation"),
                json!(false),
            )?;
        }
    }
    Ok(())
}

/// True when the pod sets no seccomp profile and some container sets none either.
fn seccomp_unset(spec: &PodSpec, containers: &[ContainerRef<'_>]) -> bool {
    let pod_has_profile = spec
        .security_context
        .as_ref()
        .is_some_and(|sc| sc.seccomp_profile.is_some());
    let some_container_has_none = containers.iter().any(|c| {
        c.container
            .security_context
            .as_ref()
            .and_then(|sc| sc.seccomp_profile.as_ref())
            .is_none()
    });
    !pod_has_profile && some_container_has_none
}

/// True when the pod leaves `runAsNonRoot` unset and some container does too.
fn run_as_non_root_unset(spec: &PodSpec, containers: &[ContainerRef<'_>]) -> bool {
    let pod_unset = spec
        .security_context
        .as_ref()
        .and_then(|sc| sc.run_as_non_root)
        .is_none();
    let some_container_unset = containers.iter().any(|c| {
        c.container
            .security_context
            .as_ref()
            .and_then(|sc| sc.run_as_non_root)
            .is_none()
    });
    pod_unset && some_container_unset
}
