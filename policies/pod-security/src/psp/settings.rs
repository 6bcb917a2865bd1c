//! The shapes of the PodSecurityPolicy-named settings that are more than a list or a switch
//! (the id rules are in [`super::id_ranges`]).

use pci_shared::pod::SeLinuxOptions;
use serde::Deserialize;

/// `seLinux`: `MustRunAs` with the exact options every pod and container must carry, or
/// `RunAsAny`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeLinuxStrategy {
    pub rule: SeLinuxRule,
    pub se_linux_options: Option<SeLinuxOptionsSetting>,
}

/// The rule of `seLinux`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeLinuxRule {
    MustRunAs,
    RunAsAny,
}

impl TryFrom<String> for SeLinuxRule {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        match value.as_str() {
            "MustRunAs" => Ok(Self::MustRunAs),
            "RunAsAny" => Ok(Self::RunAsAny),
            other => Err(format!(
                "unknown variant `{other}`, expected `MustRunAs` or `RunAsAny`"
            )),
        }
    }
}

pci_shared::validated_string!(SeLinuxRule);

/// `seLinux.seLinuxOptions`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeLinuxOptionsSetting {
    pub user: Option<String>,
    pub role: Option<String>,
    #[serde(rename = "type")]
    pub selinux_type: Option<String>,
    pub level: Option<String>,
}

impl SeLinuxOptionsSetting {
    /// True when `options` (a pod's or a container's) carries exactly these options; MLS levels
    /// compare with their categories in any order (`s0:c2,c1` is `s0:c1,c2`).
    pub fn matches(&self, options: &SeLinuxOptions) -> bool {
        let text = |value: &Option<String>| value.clone().unwrap_or_default();
        text(&self.user) == text(&options.user)
            && text(&self.role) == text(&options.role)
            && text(&self.selinux_type) == text(&options.selinux_type)
            && canonical_level(&text(&self.level)) == canonical_level(&text(&options.level))
    }

    /// True when no option is set (the Rancher form sends empty strings).
    pub fn is_empty(&self) -> bool {
        [&self.user, &self.role, &self.selinux_type, &self.level]
            .into_iter()
            .all(|value| value.as_deref().is_none_or(str::is_empty))
    }

    /// The options for messages: `type=spc_t, level=s0:c1`.
    pub fn describe(&self) -> String {
        let parts: Vec<String> = [
            ("user", &self.user),
            ("role", &self.role),
            ("type", &self.selinux_type),
            ("level", &self.level),
        ]
        .into_iter()
        .filter_map(|(name, value)| {
            value
                .as_ref()
                .filter(|v| !v.is_empty())
                .map(|v| format!("{name}={v}"))
        })
        .collect();
        if parts.is_empty() {
            "no options".to_owned()
        } else {
            parts.join(", ")
        }
    }

    /// As the pod field (for the default PodSecurityPolicy applied).
    pub fn to_json(&self) -> serde_json::Value {
        let mut object = serde_json::Map::new();
        for (name, value) in [
            ("user", &self.user),
            ("role", &self.role),
            ("type", &self.selinux_type),
            ("level", &self.level),
        ] {
            if let Some(value) = value {
                object.insert(name.to_owned(), serde_json::Value::String(value.clone()));
            }
        }
        serde_json::Value::Object(object)
    }
}

/// `s0:c2,c1` and `s0:c1,c2` are one level.
fn canonical_level(level: &str) -> String {
    match level.split_once(':') {
        Some((sensitivity, categories)) => {
            let mut list: Vec<&str> = categories.split(',').map(str::trim).collect();
            // An insertion sort: a level lists a few categories, and the module then carries no
            // general sort routine (about 9 KB of wasm).
            for end in 1..list.len() {
                let mut at = end;
                while at > 0 && list[at - 1] > list[at] {
                    list.swap(at - 1, at);
                    at -= 1;
                }
            }
            format!("{}:{}", sensitivity.trim(), list.join(","))
        }
        None => level.trim().to_owned(),
    }
}

/// One `allowedFlexVolumes` entry.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlexVolumeDriver {
    pub driver: String,
}

/// One `allowedCSIDrivers` entry.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsiDriver {
    pub name: String,
}

/// `runtimeClass`: the runtime classes pods may name (`*` any), and the default for the
/// PodSecurityPolicy defaults.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuntimeClassStrategy {
    pub allowed_runtime_class_names: Vec<String>,
    pub default_runtime_class_name: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_compare_with_categories_in_any_order() {
        let setting = SeLinuxOptionsSetting {
            selinux_type: Some("container_t".to_owned()),
            level: Some("s0:c1,c2".to_owned()),
            ..SeLinuxOptionsSetting::default()
        };
        let options = |level: &str, user: Option<&str>| SeLinuxOptions {
            selinux_type: Some("container_t".to_owned()),
            level: Some(level.to_owned()),
            user: user.map(str::to_owned),
            role: None,
        };
        assert!(setting.matches(&options("s0:c2,c1", None)));
        assert!(!setting.matches(&options("s0:c1,c3", None)));
        assert!(!setting.matches(&options("s0:c1,c2", Some("system_u"))));
        assert_eq!(setting.describe(), "type=container_t, level=s0:c1,c2");
    }
}
