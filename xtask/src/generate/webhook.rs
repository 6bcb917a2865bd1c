//! Which webhook a policy's settings need, read by the policy's own settings code (linked
//! natively): settings that can patch make a mutating webhook plus a validating twin; any
//! other settings a validating webhook.

use anyhow::{Result, anyhow, bail};
use pci_shared::policy::{Policy, PolicySettings, read_settings};
use serde_json::{Map, Value};

/// A policy's answer to "can these settings patch?" and its no-patch rewrite.
#[derive(Clone, Copy)]
pub struct Switch {
    can_patch: fn(&str) -> Result<bool, String>,
    turn_off: fn(&mut Map<String, Value>),
}

impl Switch {
    fn of<P: Policy>() -> Self {
        Self {
            can_patch: |json| read_settings::<P>(json).map(|settings| settings.can_patch()),
            turn_off: <P::Settings as PolicySettings>::turn_off_patching,
        }
    }

    /// The switch of policy `name`.
    pub fn for_policy(name: &str) -> Result<Self> {
        Ok(match name {
            "image-digest" => Self::of::<image_digest::Exported>(),
            "image-signatures" => Self::of::<image_signatures::Exported>(),
            "pod-security" => Self::of::<pod_security::Exported>(),
            "runtime-isolation" => Self::of::<runtime_isolation::Exported>(),
            "trusted-registries" => Self::of::<trusted_registries::Exported>(),
            other => bail!(
                "policies/{other} has no webhook switch: add it to xtask/src/generate/webhook.rs"
            ),
        })
    }

    /// True when `settings` can make the policy patch; an error when the policy refuses them.
    pub fn can_patch(&self, settings: &Map<String, Value>) -> Result<bool> {
        let json = serde_json::to_string(settings)?;
        (self.can_patch)(&json)
            .map_err(|reason| anyhow!("the policy refuses its settings: {reason}"))
    }

    /// The validating twin's settings: `settings` with patching off, checked to be so.
    pub fn validating_twin(&self, settings: &Map<String, Value>) -> Result<Map<String, Value>> {
        let mut twin = settings.clone();
        (self.turn_off)(&mut twin);
        if self.can_patch(&twin)? {
            bail!("turning patching off still leaves settings that patch");
        }
        Ok(twin)
    }
}
