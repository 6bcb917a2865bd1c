//! One policy's publishing sources: `metadata.yml`, `pci.yml`, `questions-ui.yml`, `README.md`.

use std::collections::BTreeSet;

use anyhow::{Context, Result, bail};
use pci_host::metadata::Metadata;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::workspace;

/// The annotation listing the PCI control ids a policy enforces (comma-separated).
pub const CONTROLS_ANNOTATION: &str = "io.pci-policies.controls";

/// A policy and everything the generated files are made from.
pub struct PolicySources {
    pub name: String,
    pub metadata: Metadata,
    pub pci: PciProfile,
    pub questions: String,
    pub readme: String,
}

/// `pci.yml`: the PCI-recommended deployment of a policy.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PciProfile {
    /// ClusterAdmissionPolicy spec fields beyond those metadata.yml gives.
    pub deployment: Map<String, Value>,
    /// The webhook and evaluation timeouts, and why.
    pub timeouts: Timeouts,
    /// The recommended settings.
    pub settings: Map<String, Value>,
    /// One entry per top-level setting: the control it serves and why this value.
    pub recommendations: Vec<Recommendation>,
    /// The control ids the policy reports (in violations, exceptions name them).
    pub controls: Vec<ControlDoc>,
}

/// How long the API server waits for the webhook, and policy-server for one evaluation.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Timeouts {
    /// `spec.timeoutSeconds`.
    pub webhook_seconds: u32,
    /// `spec.timeoutEvalSeconds`: required when the policy calls host capabilities (unset, a
    /// slow registry would fail every request at policy-server's global 2 s).
    #[serde(default)]
    pub evaluation_seconds: Option<u32>,
    /// Why these values.
    pub why: String,
}

/// The CRD's range for both timeouts (kubebuilder `Minimum=2`, `Maximum=30`).
pub const TIMEOUT_RANGE: std::ops::RangeInclusive<u32> = 2..=30;
/// The audit scanner's fixed HTTP client timeout: an evaluation must end before it, or audit
/// reports a transport error instead of the policy's message.
pub const AUDIT_CLIENT_SECONDS: u32 = 10;
/// The margin the webhook timeout keeps above the evaluation timeout, so users see the
/// policy's own message rather than a generic webhook timeout.
pub const WEBHOOK_MARGIN_SECONDS: u32 = 3;
/// The first Kubewarden release (major, minor) that knows `spec.timeoutEvalSeconds`: an older
/// controller prunes the field and policy-server's global 2 s applies, silently.
pub const TIMEOUT_EVAL_SECONDS_SINCE: (u64, u64) = (1, 29);

impl Timeouts {
    /// Checks the values against the CRD and against what the policy calls.
    pub fn check(&self, calls_host: bool) -> Result<()> {
        if !TIMEOUT_RANGE.contains(&self.webhook_seconds) {
            bail!(
                "timeouts.webhookSeconds {} is outside the CRD's 2–30",
                self.webhook_seconds
            );
        }
        if self.why.trim().is_empty() {
            bail!("timeouts.why is empty: say why these timeouts");
        }
        match self.evaluation_seconds {
            None if calls_host => bail!(
                "timeouts.evaluationSeconds is required: the policy calls host capabilities, and policy-server's global 2 s would fail requests on a slow registry"
            ),
            None => Ok(()),
            Some(eval) => {
                if !TIMEOUT_RANGE.contains(&eval) {
                    bail!("timeouts.evaluationSeconds {eval} is outside the CRD's 2–30");
                }
                if eval >= AUDIT_CLIENT_SECONDS {
                    bail!(
                        "timeouts.evaluationSeconds {eval} must stay below the audit scanner's {AUDIT_CLIENT_SECONDS} s client timeout"
                    );
                }
                if self.webhook_seconds < eval + WEBHOOK_MARGIN_SECONDS {
                    bail!(
                        "timeouts.webhookSeconds {} must be at least evaluationSeconds + {WEBHOOK_MARGIN_SECONDS} ({})",
                        self.webhook_seconds,
                        eval + WEBHOOK_MARGIN_SECONDS
                    );
                }
                Ok(())
            }
        }
    }
}

impl Timeouts {
    /// A policy deployed with `timeoutEvalSeconds` must declare, in `metadata.yml`
    /// `minimumKubewardenVersion`, a Kubewarden that honours it, so that an older
    /// policy-server refuses the module loudly instead of running it under the global 2 s.
    pub fn check_kubewarden_version(&self, metadata: &Metadata) -> Result<()> {
        let Some(eval) = self.evaluation_seconds else {
            return Ok(());
        };
        let (major, minor) = TIMEOUT_EVAL_SECONDS_SINCE;
        let declared = metadata.minimum_kubewarden_version()?;
        if declared
            .as_ref()
            .is_none_or(|version| (version.major, version.minor) < TIMEOUT_EVAL_SECONDS_SINCE)
        {
            bail!(
                "timeouts.evaluationSeconds {eval} is deployed as spec.timeoutEvalSeconds, which Kubewarden honours from {major}.{minor} (an older controller prunes it and the global 2 s applies silently): metadata.yml must set minimumKubewardenVersion: {major}.{minor}.0 or later (it has {})",
                declared.map_or_else(|| "none".to_owned(), |version| version.to_string())
            );
        }
        Ok(())
    }
}

/// One control id a policy reports.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlDoc {
    pub id: String,
    /// The PCI guidance section it serves.
    pub pci: String,
    /// What it checks, in one line.
    pub what: String,
    /// How a developer fixes a violation (`docs/controls/<id>.md`); without it the page says
    /// to change the field the rejection names as its line says.
    #[serde(default)]
    pub fix: Option<String>,
    /// The settings that move the control (its page lists them); without it, the settings the
    /// policy recommends for the control's PCI section.
    #[serde(default)]
    pub settings: Option<Vec<String>>,
}

/// Why a setting has its recommended value.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Recommendation {
    pub setting: String,
    pub control: String,
    pub why: String,
    /// The value is an example each organisation replaces (its registry, keys, classes).
    #[serde(default)]
    pub organisation_specific: bool,
}

impl PolicySources {
    /// Reads the sources of `policies/<name>/` and checks that they agree.
    pub fn load(name: &str) -> Result<Self> {
        let dir = workspace::bundle().policy_dir(name);
        let read = |file: &str| {
            let path = dir.join(file);
            std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))
        };
        let metadata = Metadata::from_yaml(&read("metadata.yml")?)
            .with_context(|| format!("policies/{name}/metadata.yml"))?;
        let pci: PciProfile = yaml_serde::from_str(&read("pci.yml")?)
            .with_context(|| format!("policies/{name}/pci.yml"))?;
        let sources = Self {
            name: name.to_owned(),
            metadata,
            pci,
            questions: read("questions-ui.yml")?,
            readme: read("README.md")?,
        };
        sources
            .check()
            .with_context(|| format!("policies/{name}"))?;
        Ok(sources)
    }

    /// A required, non-empty, single-line annotation.
    pub fn annotation(&self, key: &str) -> Result<&str> {
        required_annotation(&self.metadata, key)
    }

    /// An optional annotation (absent or empty = `None`).
    pub fn optional_annotation(&self, key: &str) -> Option<&str> {
        self.metadata
            .annotations
            .get(key)
            .map(|value| value.trim())
            .filter(|value| !value.is_empty())
    }

    /// The PCI control ids the metadata declares.
    pub fn controls(&self) -> Result<Vec<String>> {
        Ok(self
            .annotation(CONTROLS_ANNOTATION)?
            .split(',')
            .map(|id| id.trim().to_owned())
            .filter(|id| !id.is_empty())
            .collect())
    }

    /// `v<version>`, the tag the policy is published under.
    pub fn tag(&self) -> Result<String> {
        Ok(format!(
            "v{}",
            self.annotation("io.kubewarden.policy.version")?
        ))
    }

    /// `<ociUrl>:v<version>`.
    pub fn image(&self) -> Result<String> {
        Ok(format!(
            "{}:{}",
            self.annotation("io.kubewarden.policy.ociUrl")?,
            self.tag()?
        ))
    }

    /// True when the policy declares host capabilities (registry, Sigstore, Kubernetes).
    pub fn calls_host(&self) -> bool {
        self.metadata
            .host_capabilities
            .as_ref()
            .is_some_and(|capabilities| !capabilities.is_empty())
    }

    fn check(&self) -> Result<()> {
        self.pci.timeouts.check(self.calls_host())?;
        self.pci.timeouts.check_kubewarden_version(&self.metadata)?;
        let controls: BTreeSet<String> = self.controls()?.into_iter().collect();
        let settings: BTreeSet<&str> = self.pci.settings.keys().map(String::as_str).collect();
        let mut explained = BTreeSet::new();
        for recommendation in &self.pci.recommendations {
            if !settings.contains(recommendation.setting.as_str()) {
                bail!(
                    "pci.yml recommends {:?}, which is not in its settings",
                    recommendation.setting
                );
            }
            if !explained.insert(recommendation.setting.as_str()) {
                bail!("pci.yml explains {:?} twice", recommendation.setting);
            }
            if !controls.contains(&recommendation.control) {
                bail!(
                    "pci.yml maps {:?} to control {}, which metadata.yml ({CONTROLS_ANNOTATION}) does not declare",
                    recommendation.setting,
                    recommendation.control
                );
            }
            if recommendation.why.trim().is_empty() {
                bail!("pci.yml gives no reason for {:?}", recommendation.setting);
            }
        }
        if let Some(unexplained) = settings.difference(&explained).next() {
            bail!("pci.yml sets {unexplained:?} without a recommendation saying why");
        }
        for doc in &self.pci.controls {
            if !controls.contains(&doc.pci) {
                bail!(
                    "pci.yml control {} serves {}, which metadata.yml ({CONTROLS_ANNOTATION}) does not declare",
                    doc.id,
                    doc.pci
                );
            }
        }
        for control in &controls {
            if !self
                .pci
                .recommendations
                .iter()
                .any(|r| &r.control == control)
            {
                bail!(
                    "control {control} is declared in metadata.yml but no setting of pci.yml serves it"
                );
            }
        }
        Ok(())
    }
}

/// A required, non-empty, single-line annotation of `metadata`.
pub fn required_annotation<'a>(metadata: &'a Metadata, key: &str) -> Result<&'a str> {
    let value = metadata
        .annotations
        .get(key)
        .map(|value| value.trim())
        .filter(|value| !value.is_empty())
        .with_context(|| format!("metadata.yml has no {key} annotation (required)"))?;
    if value.contains('\n') {
        bail!("metadata.yml annotation {key} must be one line");
    }
    Ok(value)
}

/// Every policy's sources, in name order.
pub fn all() -> Result<Vec<PolicySources>> {
    workspace::bundle()
        .policies()?
        .iter()
        .map(|name| PolicySources::load(name))
        .collect()
}
