//! The defaults a PodSecurityPolicy applied before validating (`mutate.podSecurityPolicyDefaults`),
//! each only where the field is unset, so a pod that states its own value keeps it:
//!
//! - `MustRunAs` ids: the pod's `runAsUser`, `runAsGroup`, `fsGroup` and `supplementalGroups`
//!   get the first range's minimum (when a container lacks the id, for the first two);
//! - `runAsUser: MustRunAsNonRoot`: the pod's `runAsNonRoot: true` when a container sets
//!   neither `runAsNonRoot` nor a user;
//! - `seLinux: MustRunAs`: the pod's `seLinuxOptions` when a container has none;
//! - `defaultAddCapabilities` added, `requiredDropCapabilities` dropped (unless the container
//!   already drops the capability, or ALL);
//! - `defaultAllowPrivilegeEscalation`; `readOnlyRootFilesystem: true`;
//! - `runtimeClass.defaultRuntimeClassName`.
//!
//! Windows pods get only the runtime class (the rest are Linux-only fields).

use pci_shared::containers::ContainerRef;
use pci_shared::patch::{EditError, ObjectEditor};
use pci_shared::path::FieldPath;
use pci_shared::pod::{PodSecurityContext, SecurityContext};
use pci_shared::workload::Workload;
use serde_json::json;

use crate::capabilities::{self, ALL};
use crate::psp::id_ranges::IdRule;
use crate::psp::settings::SeLinuxRule;
use crate::settings::Settings;

/// Applies the PodSecurityPolicy defaults the settings imply to `editor`'s object.
pub fn apply(
    editor: &mut ObjectEditor,
    workload: &Workload,
    containers: &[ContainerRef<'_>],
    settings: &Settings,
) -> Result<(), EditError> {
    let spec = &workload.spec;
    let pod_context_path = workload.spec_path.field("securityContext");
    runtime_class_default(editor, workload, settings)?;
    if spec.is_windows() {
        return Ok(());
    }
    let pod_context = spec.security_context.as_ref();
    let some_container_lacks = |read: fn(&SecurityContext) -> bool| {
        containers
            .iter()
            .any(|c| !c.container.security_context.as_ref().is_some_and(read))
    };
    if let Some(id) = settings.run_as_user.as_ref().and_then(|s| s.default_id())
        && pod_context.and_then(|sc| sc.run_as_user).is_none()
        && some_container_lacks(|sc| sc.run_as_user.is_some())
    {
        editor.set(&pod_context_path.field("runAsUser"), json!(id))?;
    }
    let non_root = settings
        .run_as_user
        .as_ref()
        .is_some_and(|s| s.rule == IdRule::MustRunAsNonRoot);
    if non_root
        && pod_context.is_none_or(|sc| sc.run_as_non_root.is_none() && sc.run_as_user.is_none())
        && some_container_lacks(|sc| sc.run_as_non_root.is_some() || sc.run_as_user.is_some())
    {
        editor.set(&pod_context_path.field("runAsNonRoot"), json!(true))?;
    }
    if let Some(id) = settings.run_as_group.as_ref().and_then(|s| s.default_id())
        && pod_context.and_then(|sc| sc.run_as_group).is_none()
        && some_container_lacks(|sc| sc.run_as_group.is_some())
    {
        editor.set(&pod_context_path.field("runAsGroup"), json!(id))?;
    }
    volume_group_defaults(editor, &pod_context_path, pod_context, settings)?;
    if let Some(options) = settings
        .se_linux
        .as_ref()
        .filter(|s| s.rule == SeLinuxRule::MustRunAs)
        .and_then(|s| s.se_linux_options.as_ref())
        && pod_context
            .and_then(|sc| sc.se_linux_options.as_ref())
            .is_none()
        && some_container_lacks(|sc| sc.se_linux_options.is_some())
    {
        editor.set(&pod_context_path.field("seLinuxOptions"), options.to_json())?;
    }
    for container in containers {
        container_defaults(editor, container, settings)?;
    }
    Ok(())
}

/// `runtimeClass.defaultRuntimeClassName` for a pod that names no runtime class.
fn runtime_class_default(
    editor: &mut ObjectEditor,
    workload: &Workload,
    settings: &Settings,
) -> Result<(), EditError> {
    if let Some(default) = settings
        .runtime_class
        .as_ref()
        .and_then(|r| r.default_runtime_class_name.as_ref())
        .filter(|name| !name.is_empty())
        && workload.spec.runtime_class_name.is_none()
    {
        editor.set(
            &workload.spec_path.field("runtimeClassName"),
            json!(default),
        )?;
    }
    Ok(())
}

/// The pod's `fsGroup` and `supplementalGroups` defaults, where the pod sets none.
fn volume_group_defaults(
    editor: &mut ObjectEditor,
    pod_context_path: &FieldPath,
    pod_context: Option<&PodSecurityContext>,
    settings: &Settings,
) -> Result<(), EditError> {
    if let Some(id) = settings.fs_group.as_ref().and_then(|s| s.default_id())
        && pod_context.and_then(|sc| sc.fs_group).is_none()
    {
        editor.set(&pod_context_path.field("fsGroup"), json!(id))?;
    }
    if let Some(id) = settings
        .supplemental_groups
        .as_ref()
        .and_then(|s| s.default_id())
        && pod_context.is_none_or(|sc| sc.supplemental_groups.is_empty())
    {
        editor.set(&pod_context_path.field("supplementalGroups"), json!([id]))?;
    }
    Ok(())
}

fn container_defaults(
    editor: &mut ObjectEditor,
    container: &ContainerRef<'_>,
    settings: &Settings,
) -> Result<(), EditError> {
    let context = container.container.security_context.as_ref();
    let context_path = container.path().field("securityContext");
    let caps = context.and_then(|sc| sc.capabilities.as_ref());
    let dropped: Vec<String> = caps
        .map(|c| c.drop.iter().map(|d| capabilities::normalize(d)).collect())
        .unwrap_or_default();
    let added: Vec<String> = caps
        .map(|c| c.add.iter().map(|a| capabilities::normalize(a)).collect())
        .unwrap_or_default();
    for name in &settings.default_add_capabilities {
        let normalized = capabilities::normalize(name);
        if !added.contains(&normalized) && !dropped.contains(&normalized) {
            editor.append_unique(&context_path.fields("capabilities.add"), json!(normalized))?;
        }
    }
    if !dropped.iter().any(|d| d == ALL) {
        for name in &settings.required_drop_capabilities {
            let normalized = capabilities::normalize(name);
            if !dropped.contains(&normalized) {
                editor
                    .append_unique(&context_path.fields("capabilities.drop"), json!(normalized))?;
            }
        }
    }
    if let Some(default) = settings.default_allow_privilege_escalation
        && context
            .and_then(|sc| sc.allow_privilege_escalation)
            .is_none()
    {
        let privileged = context.and_then(|sc| sc.privileged) == Some(true);
        let sys_admin = added.iter().any(|a| a == "SYS_ADMIN");
        // false with privileged or CAP_SYS_ADMIN is invalid for the API server: left unset,
        // the validation reports it instead.
        if default || !(privileged || sys_admin) {
            editor.set(
                &context_path.field("allowPrivilegeEscalation"),
                json!(default),
            )?;
        }
    }
    if settings.read_only_root_filesystem
        && context
            .and_then(|sc| sc.read_only_root_filesystem)
            .is_none()
    {
        editor.set(&context_path.field("readOnlyRootFilesystem"), json!(true))?;
    }
    Ok(())
}
