//! What the organisation's layer reads: the pod as the standard's checks see it, the settings,
//! and what the settings imply, derived once per evaluation (normalised capability names).

use std::ops::Deref;

use crate::capabilities;
use crate::check::PodContext;
use crate::settings::Settings;

/// The pod and the settings, for the knobs and the widening rule.
pub struct Layer<'a> {
    pub pod: PodContext<'a>,
    pub settings: &'a Settings,
    /// `allowedCapabilities`, normalised (`cap_net_raw` is `NET_RAW`).
    pub allowed_capabilities: Option<Vec<String>>,
    /// `requiredDropCapabilities`, normalised.
    pub required_drops: Vec<String>,
    /// `defaultAddCapabilities`, normalised: containers may add them.
    pub default_adds: Vec<String>,
}

impl<'a> Layer<'a> {
    /// The layer of one evaluation of `pod` with `settings`.
    pub fn new(pod: PodContext<'a>, settings: &'a Settings) -> Self {
        let normalised = |names: &[String]| -> Vec<String> {
            names.iter().map(|n| capabilities::normalize(n)).collect()
        };
        Self {
            pod,
            settings,
            allowed_capabilities: settings.allowed_capabilities.as_deref().map(normalised),
            required_drops: normalised(settings.required_drop_capabilities.as_slice()),
            default_adds: normalised(settings.default_add_capabilities.as_slice()),
        }
    }

    /// The setting that lets containers add capability `name` (compared verbatim):
    /// `defaultAddCapabilities` or `allowedCapabilities` (a name or `*`), if any.
    pub fn capability_setting_allowing(&self, name: &str) -> Option<&'static str> {
        if self.default_adds.iter().any(|c| c == name) {
            return Some("defaultAddCapabilities");
        }
        self.allowed_capabilities
            .as_deref()
            .is_some_and(|list| list.iter().any(|c| c == name || c == capabilities::ANY))
            .then_some("allowedCapabilities")
    }
}

impl<'a> Deref for Layer<'a> {
    type Target = PodContext<'a>;

    fn deref(&self) -> &PodContext<'a> {
        &self.pod
    }
}
