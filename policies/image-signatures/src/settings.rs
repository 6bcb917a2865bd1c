//! Settings of the image-signatures policy (camelCase; unknown keys are rejected).

use std::collections::BTreeMap;

use pci_shared::exception::{Exception, PatternSetting};
use pci_shared::policy::PolicySettings;
use serde::Deserialize;

use crate::pem;
use crate::public_key::{self, PublicKey};
use crate::verifier::{Verifier, VerifyRequest};

/// The policy settings.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Settings {
    /// Which images must be signed, and how.
    pub rules: Vec<Rule>,
    /// What to do with an image no rule covers.
    pub unmatched_images: Unmatched,
    /// Rewrite each verified image to `…@<verified digest>`.
    pub pin_digest: bool,
    pub exceptions: Vec<Exception>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            rules: Vec::new(),
            unmatched_images: Unmatched::Reject,
            pin_digest: true,
            exceptions: Vec::new(),
        }
    }
}

/// What to do with an image no rule covers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum Unmatched {
    /// Fail closed.
    #[default]
    Reject,
    Accept,
}

impl TryFrom<String> for Unmatched {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        match value.as_str() {
            "reject" => Ok(Self::Reject),
            "accept" => Ok(Self::Accept),
            _ => Err(format!("\"{value}\" is not reject or accept")),
        }
    }
}

/// One rule: the images it covers, exactly one verifier, optional required annotations.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rule {
    pub images: Vec<PatternSetting>,
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
    pub owner: String,
    #[serde(default)]
    pub repo: Option<String>,
}

/// `certificates: {certificate, certificateChain, requireRekorBundle}`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Certificates {
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

impl Rule {
    /// The rule's verifier; `Err` unless exactly one is set.
    pub fn verifier(&self) -> Result<Verifier, String> {
        let mut set = Vec::new();
        if let Some(keys) = &self.public_keys {
            set.push(Verifier::PublicKeys {
                keys: keys.keys.clone(),
                threshold: keys.threshold.unwrap_or(keys.keys.len()),
            });
        }
        if let Some(keyless) = &self.keyless {
            set.push(Verifier::Single(VerifyRequest::Keyless(
                keyless
                    .iter()
                    .map(|k| (k.issuer.clone(), k.subject.clone()))
                    .collect(),
            )));
        }
        if let Some(prefixes) = &self.keyless_prefix {
            set.push(Verifier::Single(VerifyRequest::KeylessPrefix(
                prefixes
                    .iter()
                    .map(|k| (k.issuer.clone(), k.url_prefix.clone()))
                    .collect(),
            )));
        }
        if let Some(github) = &self.github_actions {
            set.push(Verifier::Single(VerifyRequest::GithubActions {
                owner: github.owner.clone(),
                repo: github.repo.clone(),
            }));
        }
        if let Some(certificates) = &self.certificates {
            set.push(Verifier::Single(VerifyRequest::Certificate {
                certificate: certificates.certificate.clone(),
                chain: certificates.certificate_chain.clone(),
                require_rekor_bundle: certificates.require_rekor_bundle,
            }));
        }
        match set.len() {
            1 => Ok(set.remove(0)),
            0 => Err("sets no verifier; set exactly one of publicKeys, keyless, keylessPrefix, githubActions, certificates".into()),
            n => Err(format!("sets {n} verifiers; set exactly one of publicKeys, keyless, keylessPrefix, githubActions, certificates")),
        }
    }

    fn validate(&self) -> Result<(), String> {
        if self.images.is_empty() {
            return Err("images must list at least one image glob".into());
        }
        self.verifier()?;
        if let Some(keys) = &self.public_keys {
            if keys.keys.is_empty() {
                return Err("publicKeys.keys must list at least one key".into());
            }
            let mut read: Vec<PublicKey> = Vec::with_capacity(keys.keys.len());
            for (index, text) in keys.keys.iter().enumerate() {
                let key = public_key::parse(text)
                    .map_err(|reason| format!("publicKeys.keys[{index}] {reason}"))?;
                if let Some(first) = read.iter().position(|seen| seen.spki == key.spki) {
                    return Err(format!(
                        "publicKeys.keys[{index}] is the same {} key as publicKeys.keys[{first}] (the same SubjectPublicKeyInfo, however the PEM is wrapped): a key counts once towards the threshold",
                        key.algorithm
                    ));
                }
                read.push(key);
            }
            if let Some(threshold) = keys.threshold
                && !(1..=read.len()).contains(&threshold)
            {
                return Err(format!(
                    "publicKeys.threshold {threshold} must be from 1 to the number of distinct keys ({})",
                    read.len()
                ));
            }
        }
        if let Some(keyless) = &self.keyless {
            if keyless.is_empty() {
                return Err("keyless must list at least one issuer and subject".into());
            }
            for (index, identity) in keyless.iter().enumerate() {
                check_url(&identity.issuer, true)
                    .map_err(|r| format!("keyless[{index}].issuer {r}"))?;
                if identity.subject.trim().is_empty() {
                    return Err(format!("keyless[{index}].subject must not be empty"));
                }
            }
        }
        if let Some(prefixes) = &self.keyless_prefix {
            if prefixes.is_empty() {
                return Err("keylessPrefix must list at least one issuer and URL prefix".into());
            }
            for (index, prefix) in prefixes.iter().enumerate() {
                check_url(&prefix.issuer, true)
                    .map_err(|r| format!("keylessPrefix[{index}].issuer {r}"))?;
                check_url(&prefix.url_prefix, false)
                    .map_err(|r| format!("keylessPrefix[{index}].urlPrefix {r}"))?;
            }
        }
        if let Some(github) = &self.github_actions {
            check_github_name(&github.owner).map_err(|r| format!("githubActions.owner {r}"))?;
            if let Some(repo) = &github.repo {
                check_github_name(repo).map_err(|r| format!("githubActions.repo {r}"))?;
            }
        }
        if let Some(certificates) = &self.certificates {
            pem::decode(&certificates.certificate, "CERTIFICATE")
                .map_err(|r| format!("certificates.certificate {r}"))?;
            for (index, certificate) in certificates.certificate_chain.iter().flatten().enumerate()
            {
                pem::decode(certificate, "CERTIFICATE")
                    .map_err(|r| format!("certificates.certificateChain[{index}] {r}"))?;
            }
        }
        if let Some(key) = self
            .annotations
            .iter()
            .flat_map(|a| a.keys())
            .find(|k| k.trim().is_empty())
        {
            return Err(format!("annotations has an empty key \"{key}\""));
        }
        Ok(())
    }
}

/// An absolute `https://` URL (or `http(s)://` when `https_only` is false) with a host.
fn check_url(url: &str, https_only: bool) -> Result<(), String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| {
            if https_only {
                None
            } else {
                url.strip_prefix("http://")
            }
        })
        .ok_or_else(|| {
            format!(
                "\"{url}\" is not an {} URL",
                if https_only { "https://" } else { "http(s)://" }
            )
        })?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let valid_host = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        && !url.chars().any(char::is_whitespace);
    if valid_host {
        Ok(())
    } else {
        Err(format!("\"{url}\" has no valid host"))
    }
}

/// A GitHub user, organisation or repository name.
fn check_github_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.len() <= 100
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if valid {
        Ok(())
    } else {
        Err(format!("\"{name}\" is not a GitHub name"))
    }
}

impl PolicySettings for Settings {
    fn validate(&self) -> Result<(), String> {
        if self.rules.is_empty() {
            return Err(
                "rules must list at least one rule: without rules every image would be unmatched"
                    .into(),
            );
        }
        for (index, rule) in self.rules.iter().enumerate() {
            rule.validate()
                .map_err(|reason| format!("rules[{index}]: {reason}"))?;
        }
        Ok(())
    }

    fn exceptions(&self) -> &[Exception] {
        &self.exceptions
    }
}
