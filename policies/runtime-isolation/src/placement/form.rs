//! `isolatedPlacements` as written: each entry a preset and/or fields, the fields replacing the
//! preset's; what a form leaves untouched (`""`, `{}`, `[]`) is the preset's.

use std::collections::BTreeMap;

use std::fmt;

use serde::de::{self, SeqAccess, Visitor, value::SeqAccessDeserializer};
use serde::{Deserialize, Deserializer};

use super::fargate::FargateProfile;
use super::presets::Preset;
use super::settings::{Os, Placement, RequiredToleration};

/// Reads `isolatedPlacements` (serde `deserialize_with`). Each entry is read from a JSON value,
/// so the form's reader is compiled once, not once per deserializer the settings go through
/// (a smaller module). The entries are converted inside the list's visitor, so an error is
/// placed at the list and names `isolatedPlacements` ([`pci_shared::validated`]).
pub fn read_placements<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<Placement>, D::Error> {
    struct Entries;

    impl<'de> Visitor<'de> for Entries {
        type Value = Vec<Placement>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a sequence")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Vec<Placement>, A::Error> {
            let entries = Vec::<serde_json::Value>::deserialize(SeqAccessDeserializer::new(seq))?;
            entries
                .into_iter()
                .enumerate()
                .map(|(index, entry)| {
                    PlacementForm::deserialize(entry)
                        .map(Placement::from)
                        .map_err(|error| de::Error::custom(format!("[{index}]: {error}")))
                })
                .collect()
        }
    }

    deserializer.deserialize_seq(Entries)
}

/// A placement as written: a preset, and fields that replace the preset's.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PlacementForm {
    preset: Option<Preset>,
    name: Option<String>,
    description: Option<String>,
    scheduler_name: Option<String>,
    node_selector: Option<BTreeMap<String, String>>,
    tolerations: Option<Vec<RequiredToleration>>,
    fargate_profiles: Option<Vec<FargateProfile>>,
    node_names: Option<Vec<String>>,
    os: Option<Vec<Os>>,
    runs_daemon_sets: Option<bool>,
}

impl From<PlacementForm> for Placement {
    fn from(form: PlacementForm) -> Self {
        // A form (the Rancher UI) sends "", {} and [] for fields left untouched: the preset's.
        let text = |value: Option<String>| value.filter(|v| !v.is_empty());
        let form = PlacementForm {
            name: text(form.name),
            description: text(form.description),
            scheduler_name: text(form.scheduler_name),
            node_selector: form.node_selector.filter(|m| !m.is_empty()),
            node_names: form.node_names.filter(|n| !n.is_empty()),
            os: form.os.filter(|o| !o.is_empty()),
            ..form
        };
        let base = form.preset.map(Preset::placement);
        // No name and no preset: `Placement::validate` says so, naming the path.
        let name = form
            .name
            .or_else(|| base.as_ref().map(|b| b.name.clone()))
            .unwrap_or_default();
        let base = base.unwrap_or(Placement {
            name: String::new(),
            description: String::new(),
            scheduler_name: None,
            node_selector: BTreeMap::new(),
            tolerations: Vec::new(),
            fargate_profiles: Vec::new(),
            node_names: Vec::new(),
            os: vec![Os::Linux],
            runs_daemon_sets: true,
        });
        Self {
            name,
            description: form.description.unwrap_or(base.description),
            scheduler_name: form.scheduler_name.or(base.scheduler_name),
            node_selector: form.node_selector.unwrap_or(base.node_selector),
            tolerations: form.tolerations.unwrap_or(base.tolerations),
            fargate_profiles: form.fargate_profiles.unwrap_or(base.fargate_profiles),
            node_names: form.node_names.unwrap_or(base.node_names),
            os: form.os.unwrap_or(base.os),
            runs_daemon_sets: form.runs_daemon_sets.unwrap_or(base.runs_daemon_sets),
        }
    }
}
