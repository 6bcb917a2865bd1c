//! The consistency of the settings, checked once per settings text with messages naming the
//! path (`PolicySettings::validate`), and what they ask of the webhook (may it patch?). The
//! PodSecurityPolicy-named settings are checked in [`crate::psp::validate`].

use pci_shared::exception::Exception;
use pci_shared::policy::PolicySettings;

use crate::capabilities;
use crate::settings::Settings;

impl PolicySettings for Settings {
    fn validate(&self) -> Result<(), String> {
        for (index, entry) in self.allowed_host_paths.iter().enumerate() {
            crate::host_path::validate_prefix(&entry.path_prefix)
                .map_err(|reason| format!("allowedHostPaths[{index}].pathPrefix: {reason}"))?;
        }
        if let Some(allowed) = &self.allowed_capabilities {
            for (index, name) in allowed.iter().enumerate() {
                if name == capabilities::ANY {
                    continue;
                }
                if capabilities::normalize(name) == capabilities::ALL {
                    return Err(format!(
                        "allowedCapabilities[{index}]: ALL cannot be allowed; list the capabilities containers may add, or * for any"
                    ));
                }
                if !capabilities::is_known(name) {
                    return Err(format!(
                        "allowedCapabilities[{index}]: \"{name}\" is not a Linux capability"
                    ));
                }
            }
        }
        for (index, name) in self.required_drop_capabilities.iter().enumerate() {
            let normalized = capabilities::normalize(name);
            if normalized != capabilities::ALL && !capabilities::is_known(name) {
                return Err(format!(
                    "requiredDropCapabilities[{index}]: \"{name}\" is not a Linux capability or ALL"
                ));
            }
            if normalized == capabilities::ALL {
                // Drop everything, then add back what allowedCapabilities lists: exactly what
                // the restricted standard asks (drop ALL, add NET_BIND_SERVICE).
                continue;
            }
            let same = self
                .allowed_capabilities
                .iter()
                .flatten()
                .enumerate()
                .find(|(_, allowed)| capabilities::normalize(allowed) == normalized);
            if let Some((allowed_index, allowed)) = same {
                return Err(format!(
                    "requiredDropCapabilities[{index}] \"{name}\" and allowedCapabilities[{allowed_index}] \"{allowed}\" name the same capability: a container cannot be required to drop what it is allowed to add"
                ));
            }
        }
        crate::psp::validate::validate(self)?;
        for (index, range) in self.allowed_host_ports.iter().enumerate() {
            if !(1..=65535).contains(&range.min) || !(1..=65535).contains(&range.max) {
                return Err(format!(
                    "allowedHostPorts[{index}]: ports must be from 1 to 65535, got {}-{}",
                    range.min, range.max
                ));
            }
            if range.min > range.max {
                return Err(format!(
                    "allowedHostPorts[{index}]: min {} is greater than max {}",
                    range.min, range.max
                ));
            }
        }
        Ok(())
    }

    fn exceptions(&self) -> &[Exception] {
        &self.exceptions
    }

    /// Only the `mutate` defaults patch.
    fn can_patch(&self) -> bool {
        self.mutate.any()
    }

    /// Every `mutate` default off (the checks stay).
    fn turn_off_patching(settings: &mut serde_json::Map<String, serde_json::Value>) {
        settings.remove("mutate");
    }
}
