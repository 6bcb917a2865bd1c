//! Verifying a policy module before running it, as `kwctl verify` and policy-server
//! (`--verification-path`) do: the Kubewarden verification config (`apiVersion: v1`, `allOf`,
//! `anyOf`), checked against the cosign signatures of the module's manifest digest; then the
//! module pulled by that digest, so what runs is what was signed.
//!
//! Public keys are verified offline. Keyless entries (`githubAction`, `genericIssuer`) are
//! verified offline too with a Sigstore trust root given to the cosign client
//! (`--sigstore-trust-config`, [`Cosign::with_trust_root`]); without one they fail, saying so.

use std::collections::BTreeMap;

use anyhow::{Context, Result, anyhow, bail};
use serde::Deserialize;
use sigstore::cosign::verification_constraint::{
    AnnotationVerifier, PublicKeyVerifier, VerificationConstraint,
};
use sigstore::registry::OciReference;

use crate::cosign::Cosign;
use crate::keyless::KeylessLayers;
use crate::keyless::identity::Identity;
use crate::oci::{Pulled, Registry};

/// `verification-config.yml`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerificationConfig {
    pub api_version: String,
    #[serde(default)]
    pub all_of: Option<Vec<Requirement>>,
    #[serde(default)]
    pub any_of: Option<AnyOf>,
}

/// `anyOf`: at least `minimumMatches` of `signatures`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AnyOf {
    #[serde(default = "one")]
    pub minimum_matches: usize,
    pub signatures: Vec<Requirement>,
}

fn one() -> usize {
    1
}

/// One signature requirement.
#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase", deny_unknown_fields)]
pub enum Requirement {
    /// Signed with this public key (PEM).
    #[serde(rename_all = "camelCase")]
    PubKey {
        #[serde(default)]
        owner: Option<String>,
        key: String,
        #[serde(default)]
        annotations: Option<BTreeMap<String, String>>,
    },
    /// Keyless, from a GitHub Actions workflow of `owner` (and `repo`).
    #[serde(rename_all = "camelCase")]
    GithubAction {
        owner: String,
        #[serde(default)]
        repo: Option<String>,
        #[serde(default)]
        annotations: Option<BTreeMap<String, String>>,
    },
    /// Keyless, from `issuer` with a subject equal to or starting with a value.
    #[serde(rename_all = "camelCase")]
    GenericIssuer {
        issuer: String,
        subject: Subject,
        #[serde(default)]
        annotations: Option<BTreeMap<String, String>>,
    },
}

/// A keyless subject.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum Subject {
    Equal(String),
    UrlPrefix(String),
}

/// A config accepting only modules signed with `public_key_pem`, as `make publish` writes it
/// for the key it signed with (`owner` labels the key).
pub fn pub_key_config(owner: &str, public_key_pem: &str) -> String {
    let indented: String = public_key_pem
        .lines()
        .map(|line| format!("      {line}\n"))
        .collect();
    format!(
        "# Accepts only modules signed with this key (kwctl verify --verification-config-path,\n# PolicyServer spec.verificationConfig).\napiVersion: v1\nallOf:\n  - kind: pubKey\n    owner: {owner}\n    key: |\n{indented}"
    )
}

impl VerificationConfig {
    /// Reads and checks a config: `apiVersion: v1`, at least one of `allOf` / `anyOf`, and
    /// `minimumMatches` within the signatures listed.
    pub fn from_yaml(text: &str) -> Result<Self> {
        let config: Self = yaml_serde::from_str(text).context("not a verification config")?;
        if config.api_version != "v1" {
            bail!("apiVersion {:?}: only v1 is known", config.api_version);
        }
        let all = config.all_of.as_ref().map_or(0, Vec::len);
        let any = config.any_of.as_ref().map_or(0, |a| a.signatures.len());
        if all == 0 && any == 0 {
            bail!("give allOf or anyOf: a config without requirements verifies nothing");
        }
        if let Some(any_of) = &config.any_of
            && (any_of.minimum_matches == 0 || any_of.minimum_matches > any_of.signatures.len())
        {
            bail!(
                "anyOf.minimumMatches {} must be from 1 to the {} signatures listed",
                any_of.minimum_matches,
                any_of.signatures.len()
            );
        }
        for (path, requirement) in config.requirements() {
            requirement
                .identity()
                .transpose()
                .map_err(|e| anyhow!("{path}: {e}"))?;
        }
        Ok(config)
    }

    /// Every requirement with its path (`allOf[0]`, `anyOf.signatures[1]`).
    fn requirements(&self) -> impl Iterator<Item = (String, &Requirement)> {
        let all = self.all_of.iter().flatten().enumerate();
        let any = self
            .any_of
            .iter()
            .flat_map(|a| a.signatures.iter().enumerate());
        all.map(|(i, r)| (format!("allOf[{i}]"), r))
            .chain(any.map(|(i, r)| (format!("anyOf.signatures[{i}]"), r)))
    }
}

impl Requirement {
    fn describe(&self) -> String {
        match self {
            Self::PubKey { owner, .. } => format!(
                "pubKey{}",
                owner
                    .as_ref()
                    .map(|o| format!(" ({o})"))
                    .unwrap_or_default()
            ),
            Self::GithubAction { owner, repo, .. } => format!(
                "githubAction {owner}{}",
                repo.as_ref().map(|r| format!("/{r}")).unwrap_or_default()
            ),
            Self::GenericIssuer { issuer, .. } => format!("genericIssuer {issuer}"),
        }
    }

    /// The keyless identity required, `None` for a public key.
    fn identity(&self) -> Option<Result<Identity, String>> {
        match self {
            Self::PubKey { .. } => None,
            Self::GithubAction { owner, repo, .. } => Some(Ok(Identity::GithubActions {
                owner: owner.clone(),
                repo: repo.clone(),
            })),
            Self::GenericIssuer {
                issuer,
                subject: Subject::Equal(subject),
                ..
            } => Some(Ok(Identity::Exact {
                issuer: issuer.clone(),
                subject: subject.clone(),
            })),
            Self::GenericIssuer {
                issuer,
                subject: Subject::UrlPrefix(prefix),
                ..
            } => Some(
                Identity::prefix(issuer, prefix).map_err(|e| format!("subject.urlPrefix: {e}")),
            ),
        }
    }

    /// `Ok` when a signature layer satisfies the requirement; keyless requirements are
    /// checked against the keyless signatures (an error when they could not be read).
    fn check(
        &self,
        layers: &[sigstore::cosign::SignatureLayer],
        keyless: &Result<KeylessLayers, String>,
    ) -> Result<(), String> {
        if let Some(identity) = self.identity() {
            let identity = identity?;
            let keyless = keyless.as_ref().map_err(Clone::clone)?;
            let annotations = match self {
                Self::GithubAction { annotations, .. }
                | Self::GenericIssuer { annotations, .. } => {
                    annotations.clone().unwrap_or_default()
                }
                Self::PubKey { .. } => BTreeMap::new(),
            };
            return if keyless.satisfies(&identity, &annotations) {
                Ok(())
            } else {
                Err(keyless.explain(&identity, &annotations))
            };
        }
        match self {
            Self::PubKey {
                key, annotations, ..
            } => {
                let verifier = PublicKeyVerifier::try_from(key.as_bytes())
                    .map_err(|e| format!("the key is not usable: {e}"))?;
                let annotations = AnnotationVerifier {
                    annotations: annotations
                        .clone()
                        .unwrap_or_default()
                        .into_iter()
                        .collect(),
                };
                let satisfied = layers.iter().any(|layer| {
                    verifier.verify(layer).unwrap_or(false)
                        && annotations.verify(layer).unwrap_or(false)
                });
                if satisfied {
                    Ok(())
                } else {
                    Err(format!(
                        "none of the {} signature(s) is by this key{}",
                        layers.len(),
                        if annotations.annotations.is_empty() {
                            ""
                        } else {
                            " with these annotations"
                        }
                    ))
                }
            }
            Self::GithubAction { .. } | Self::GenericIssuer { .. } => {
                Err("a keyless requirement without an identity".into())
            }
        }
    }
}

/// A module that passed verification.
pub struct Verified {
    /// The manifest digest the signatures are for.
    pub digest: String,
    /// The module, pulled by that digest.
    pub pulled: Pulled,
}

/// Verifies `reference` (`registry/repository:tag` or `@sha256:…`) against `config`, then pulls
/// the module by the verified digest. The error names every requirement that failed.
pub fn verify_policy(
    cosign: &Cosign,
    registry: &Registry,
    reference: &str,
    config: &VerificationConfig,
) -> Result<Verified> {
    let oci: OciReference = reference
        .parse()
        .map_err(|e| anyhow!("{reference:?} is not a reference: {e}"))?;
    let (digest, layers) = cosign.signature_layers(&oci).map_err(|e| {
        anyhow!("{reference} cannot be verified: no signature could be read: {e:#}")
    })?;
    let keyless = keyless_layers(cosign, &oci, &digest, config);
    let mut failures = Vec::new();
    for (index, requirement) in config.all_of.iter().flatten().enumerate() {
        if let Err(reason) = requirement.check(&layers, &keyless) {
            failures.push(format!(
                "allOf[{index}] {}: {reason}",
                requirement.describe()
            ));
        }
    }
    if let Some(any_of) = &config.any_of {
        let mut reasons = Vec::new();
        let mut matched = 0;
        for (index, requirement) in any_of.signatures.iter().enumerate() {
            match requirement.check(&layers, &keyless) {
                Ok(()) => matched += 1,
                Err(reason) => reasons.push(format!(
                    "anyOf.signatures[{index}] {}: {reason}",
                    requirement.describe()
                )),
            }
        }
        if matched < any_of.minimum_matches {
            failures.push(format!(
                "anyOf: {matched} of {} required signatures matched ({})",
                any_of.minimum_matches,
                reasons.join("; ")
            ));
        }
    }
    if !failures.is_empty() {
        bail!(
            "{reference} ({digest}) cannot be verified: {}",
            failures.join("; ")
        );
    }
    let pinned = format!("{}/{}@{digest}", oci.resolve_registry(), oci.repository());
    let pulled = registry.pull_policy(&pinned)?;
    if pulled.manifest_digest != digest {
        bail!(
            "{reference}: the registry served {} for the verified {digest}",
            pulled.manifest_digest
        );
    }
    Ok(Verified { digest, pulled })
}

/// The keyless signatures of `digest` when the config has keyless requirements (they are read
/// only then: a config of public keys needs no trust root).
fn keyless_layers(
    cosign: &Cosign,
    reference: &OciReference,
    digest: &str,
    config: &VerificationConfig,
) -> Result<KeylessLayers, String> {
    if !config.requirements().any(|(_, r)| r.identity().is_some()) {
        return Err("no keyless requirement".into());
    }
    let (keyless_digest, layers) = cosign
        .keyless_layers(reference)
        .map_err(|e| format!("{e:#}"))?;
    if keyless_digest != digest {
        return Err(format!(
            "the reference moved from {digest} to {keyless_digest} while it was verified"
        ));
    }
    Ok(layers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_written_pub_key_config_reads_back() {
        let pem = "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n";
        let config = VerificationConfig::from_yaml(&pub_key_config("release", pem)).unwrap();
        match &config.all_of.unwrap()[0] {
            Requirement::PubKey { key, owner, .. } => {
                assert_eq!(key, pem);
                assert_eq!(owner.as_deref(), Some("release"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn keyless_entries_are_read_with_their_identity() {
        let config = VerificationConfig::from_yaml(
            "apiVersion: v1\nallOf:\n  - kind: githubAction\n    owner: corp\n  - kind: genericIssuer\n    issuer: https://token.actions.githubusercontent.com\n    subject:\n      urlPrefix: https://github.com/corp\n",
        )
        .unwrap();
        let identities: Vec<Identity> = config
            .requirements()
            .filter_map(|(_, r)| r.identity())
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            identities,
            [
                Identity::GithubActions {
                    owner: "corp".into(),
                    repo: None
                },
                Identity::Prefix {
                    issuer: "https://token.actions.githubusercontent.com".into(),
                    prefix: "https://github.com/corp/".into()
                }
            ]
        );
        let error = VerificationConfig::from_yaml(
            "apiVersion: v1\nanyOf:\n  signatures:\n    - kind: genericIssuer\n      issuer: https://issuer.example\n      subject: {urlPrefix: corp}\n",
        )
        .unwrap_err();
        assert!(
            format!("{error:#}").contains(
                "anyOf.signatures[0]: subject.urlPrefix: url prefix \"corp\" is not a URL"
            ),
            "{error:#}"
        );
    }
}
