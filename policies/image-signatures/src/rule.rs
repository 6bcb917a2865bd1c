//! One signature rule as written in the settings: the images it covers, exactly one verifier,
//! and the annotations every signature must carry. Checked and compiled in [`crate::plan`].

use std::collections::BTreeMap;

use pci_shared::exception::PatternSetting;
use serde::Deserialize;

/// One rule: the images it covers, exactly one verifier, optional required annotations.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rule {
    pub images: Vec<PatternSetting>,
    /// Which verifier the rule uses, as a form's select names it (`publicKeys`, `keyless`,
    /// `keylessPrefix`, `githubActions`, `certificates`). Optional; when given, only that
    /// verifier's fields are read, and the others a form leaves behind (it keeps the values of
    /// fields it hides, and a cleared field is an empty string) are ignored.
    #[serde(default)]
    pub verifier: Option<String>,
    #[serde(default)]
    pub public_keys: Option<PublicKeys>,
    #[serde(default)]
    pub keyless: Option<Vec<KeylessIdentity>>,
    #[serde(default)]
    pub keyless_prefix: Option<Vec<KeylessPrefix>>,
    #[serde(default)]
    pub github_actions: Option<GithubActions>,
    #[serde(default)]
    pub certificates: Option<Certificates>,
    /// Annotations every signature must carry.
    #[serde(default)]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// `publicKeys: {keys, threshold}`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicKeys {
    #[serde(default)]
    pub keys: Vec<String>,
    /// How many keys must verify (default: all).
    #[serde(default)]
    pub threshold: Option<usize>,
}

/// `keyless: [{issuer, subject}]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeylessIdentity {
    pub issuer: String,
    pub subject: String,
}

/// `keylessPrefix: [{issuer, urlPrefix}]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeylessPrefix {
    pub issuer: String,
    pub url_prefix: String,
}

/// `githubActions: {owner, repo}`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GithubActions {
    #[serde(default)]
    pub owner: String,
    #[serde(default)]
    pub repo: Option<String>,
}

/// `certificates: {certificate, certificateChain, requireRekorBundle}`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Certificates {
    #[serde(default)]
    pub certificate: String,
    #[serde(default)]
    pub certificate_chain: Option<Vec<String>>,
    /// Require a Rekor bundle (recommended; default true).
    #[serde(default = "default_true")]
    pub require_rekor_bundle: bool,
}

fn default_true() -> bool {
    true
}
