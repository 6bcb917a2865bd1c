//! A container flag a setting requires (`readOnlyRootFilesystem: true`,
//! `allowPrivilegeEscalation: false`), explicitly set on every container of a Linux pod.

use pci_shared::pod::SecurityContext;

use crate::check::{Findings, shown};
use crate::psp::Layer;

/// Reports every container whose `securityContext.<field>` is not `required`; `setting` names
/// the requirement in the message.
pub fn require_on_every_container(
    pod: &Layer<'_>,
    findings: &mut Findings<'_, '_>,
    (field, read): (&'static str, fn(&SecurityContext) -> Option<bool>),
    required: bool,
    setting: &str,
) {
    if pod.is_windows() {
        return;
    }
    for container in pod.containers() {
        let value = container.container.security_context.as_ref().and_then(read);
        if value != Some(required) {
            findings.container(
                &container,
                container.path().field("securityContext").field(field),
                format!("{}; {setting} requires {required}", shown(value)),
            );
        }
    }
}
