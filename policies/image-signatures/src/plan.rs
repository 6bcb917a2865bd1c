//! A rule compiled once per settings: the verifications it asks of the host, each named for
//! messages, and how many of them must verify the image's digest. Compiling is also the rule's
//! validation, so what is refused and what is run cannot drift apart.

use std::collections::BTreeMap;

use crate::certificate::{self, Certificate};
use crate::public_key::{self, PublicKey};
use crate::rule::{self, Rule};
use crate::verifier::VerifyRequest;

/// What one rule asks of the host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RulePlan {
    /// The verifier's settings name: `publicKeys`, `keyless`, `keylessPrefix`,
    /// `githubActions` or `certificates`.
    pub verifier: &'static str,
    /// The verifications, each counted at most once.
    pub checks: Vec<Check>,
    /// How many checks must verify the digest (the threshold; 1 for the other verifiers).
    pub required: usize,
    /// Annotations every signature must carry.
    pub annotations: Option<BTreeMap<String, String>>,
}

/// One verification the host performs, with the name messages give it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// E.g. `publicKeys.keys[1] (ECDSA P-256 key d1af860e6757e4a8)`.
    pub label: String,
    pub request: VerifyRequest,
}

/// The verifiers a rule may set, by their settings name.
const VERIFIERS: [&str; 5] = [
    "publicKeys",
    "keyless",
    "keylessPrefix",
    "githubActions",
    "certificates",
];

const ONE_VERIFIER: &str =
    "set exactly one of publicKeys, keyless, keylessPrefix, githubActions, certificates";

/// Checks `rule` and compiles it; the error names the setting at fault (below `rules[i]`).
pub fn compile(rule: &Rule) -> Result<RulePlan, String> {
    if rule.images.is_empty() {
        return Err("images must list at least one image glob".into());
    }
    if let Some(key) = rule
        .annotations
        .iter()
        .flat_map(|a| a.keys())
        .find(|k| k.trim().is_empty())
    {
        return Err(format!("annotations has an empty key \"{key}\""));
    }
    let named = rule.verifier.as_deref();
    if let Some(name) = named.filter(|name| !VERIFIERS.contains(name)) {
        return Err(format!(
            "verifier \"{name}\" is not one of {}",
            VERIFIERS.join(", ")
        ));
    }
    // With a named verifier only its fields are read, and another verifier may only be left
    // empty (a form's defaults, a cleared field): one filled in is refused, not ignored.
    // Without a name, every verifier set counts.
    if let Some(name) = named
        && let Some(other) = filled_verifiers(rule)
            .into_iter()
            .find(|other| *other != name)
    {
        return Err(format!(
            "verifier is {name}, but {other} is filled in too: clear {other}, or choose it as the verifier"
        ));
    }
    let reads = |name: &str| named.is_none_or(|named| named == name);
    let mut plans = Vec::new();
    if let Some(keys) = rule.public_keys.as_ref().filter(|_| reads("publicKeys")) {
        plans.push(public_keys(&keys.keys, keys.threshold)?);
    }
    if let Some(identities) = rule.keyless.as_ref().filter(|_| reads("keyless")) {
        plans.push(keyless(identities)?);
    }
    if let Some(prefixes) = rule
        .keyless_prefix
        .as_ref()
        .filter(|_| reads("keylessPrefix"))
    {
        plans.push(keyless_prefix(prefixes)?);
    }
    if let Some(github) = rule
        .github_actions
        .as_ref()
        .filter(|_| reads("githubActions"))
    {
        plans.push(github_actions(github)?);
    }
    if let Some(certificates) = rule.certificates.as_ref().filter(|_| reads("certificates")) {
        plans.push(certificate(certificates)?);
    }
    let (verifier, checks, required) = match plans.len() {
        1 => plans.remove(0),
        0 => match named {
            Some(name) => return Err(format!("verifier is {name}, but {name} is not set")),
            None => return Err(format!("sets no verifier; {ONE_VERIFIER}")),
        },
        n => return Err(format!("sets {n} verifiers; {ONE_VERIFIER}")),
    };
    Ok(RulePlan {
        verifier,
        checks,
        required,
        // An empty map (a form's default) asks for nothing: the host is asked without one.
        annotations: rule.annotations.clone().filter(|a| !a.is_empty()),
    })
}

type Compiled = (&'static str, Vec<Check>, usize);

/// The verifiers of `rule` that hold anything: a key, an identity, an owner, a certificate.
fn filled_verifiers(rule: &Rule) -> Vec<&'static str> {
    let filled = [
        (
            "publicKeys",
            rule.public_keys
                .as_ref()
                .is_some_and(|k| k.keys.iter().any(|t| !t.trim().is_empty())),
        ),
        (
            "keyless",
            rule.keyless.as_ref().is_some_and(|list| !list.is_empty()),
        ),
        (
            "keylessPrefix",
            rule.keyless_prefix
                .as_ref()
                .is_some_and(|list| !list.is_empty()),
        ),
        (
            "githubActions",
            rule.github_actions
                .as_ref()
                .is_some_and(|g| !g.owner.trim().is_empty()),
        ),
        (
            "certificates",
            rule.certificates
                .as_ref()
                .is_some_and(|c| !c.certificate.trim().is_empty()),
        ),
    ];
    filled
        .into_iter()
        .filter_map(|(name, filled)| filled.then_some(name))
        .collect()
}

/// Every key read into its SubjectPublicKeyInfo: a key written twice (however wrapped) is
/// refused, and the threshold is bounded by the distinct keys. Each key is verified on its own.
fn public_keys(texts: &[String], threshold: Option<usize>) -> Result<Compiled, String> {
    if texts.is_empty() {
        return Err("publicKeys.keys must list at least one key".into());
    }
    let mut read: Vec<PublicKey> = Vec::with_capacity(texts.len());
    let mut checks = Vec::with_capacity(texts.len());
    for (index, text) in texts.iter().enumerate() {
        let key = public_key::parse(text)
            .map_err(|reason| format!("publicKeys.keys[{index}] {reason}"))?;
        if let Some(first) = read.iter().position(|seen| seen.spki == key.spki) {
            return Err(format!(
                "publicKeys.keys[{index}] is the same {} key ({}) as publicKeys.keys[{first}] (the same SubjectPublicKeyInfo, however the PEM is wrapped): a key counts once towards the threshold",
                key.algorithm,
                key.fingerprint()
            ));
        }
        checks.push(Check {
            label: format!(
                "publicKeys.keys[{index}] ({} key {})",
                key.algorithm,
                key.fingerprint()
            ),
            request: VerifyRequest::PublicKey(text.clone()),
        });
        read.push(key);
    }
    let required = threshold.unwrap_or(read.len());
    if !(1..=read.len()).contains(&required) {
        return Err(format!(
            "publicKeys.threshold {required} must be from 1 to the number of distinct keys ({})",
            read.len()
        ));
    }
    Ok(("publicKeys", checks, required))
}

fn keyless(identities: &[rule::KeylessIdentity]) -> Result<Compiled, String> {
    if identities.is_empty() {
        return Err("keyless must list at least one issuer and subject".into());
    }
    for (index, identity) in identities.iter().enumerate() {
        check_url(&identity.issuer, true).map_err(|r| format!("keyless[{index}].issuer {r}"))?;
        if identity.subject.trim().is_empty() {
            return Err(format!("keyless[{index}].subject must not be empty"));
        }
    }
    let pairs: Vec<(String, String)> = identities
        .iter()
        .map(|k| (k.issuer.clone(), k.subject.clone()))
        .collect();
    Ok(single(
        "keyless",
        describe("keyless", &pairs, "subject"),
        VerifyRequest::Keyless(pairs),
    ))
}

fn keyless_prefix(prefixes: &[rule::KeylessPrefix]) -> Result<Compiled, String> {
    if prefixes.is_empty() {
        return Err("keylessPrefix must list at least one issuer and URL prefix".into());
    }
    for (index, prefix) in prefixes.iter().enumerate() {
        check_url(&prefix.issuer, true)
            .map_err(|r| format!("keylessPrefix[{index}].issuer {r}"))?;
        check_url(&prefix.url_prefix, false)
            .map_err(|r| format!("keylessPrefix[{index}].urlPrefix {r}"))?;
    }
    let pairs: Vec<(String, String)> = prefixes
        .iter()
        .map(|k| (k.issuer.clone(), k.url_prefix.clone()))
        .collect();
    Ok(single(
        "keylessPrefix",
        describe("keylessPrefix", &pairs, "urlPrefix"),
        VerifyRequest::KeylessPrefix(pairs),
    ))
}

fn github_actions(github: &rule::GithubActions) -> Result<Compiled, String> {
    check_github_name(&github.owner).map_err(|r| format!("githubActions.owner {r}"))?;
    if let Some(repo) = &github.repo {
        check_github_name(repo).map_err(|r| format!("githubActions.repo {r}"))?;
    }
    let workflow = match &github.repo {
        Some(repo) => format!("{}/{repo}", github.owner),
        None => format!("{}/*", github.owner),
    };
    Ok(single(
        "githubActions",
        format!("githubActions ({workflow})"),
        VerifyRequest::GithubActions {
            owner: github.owner.clone(),
            repo: github.repo.clone(),
        },
    ))
}

/// The certificate and its chain, read strictly; the chain must chain.
fn certificate(certificates: &rule::Certificates) -> Result<Compiled, String> {
    let leaf = certificate::parse(&certificates.certificate)
        .map_err(|r| format!("certificates.certificate {r}"))?;
    if let Some(texts) = &certificates.certificate_chain {
        let chain = texts
            .iter()
            .enumerate()
            .map(|(index, text)| {
                certificate::parse(text)
                    .map_err(|r| format!("certificates.certificateChain[{index}] {r}"))
            })
            .collect::<Result<Vec<Certificate>, String>>()?;
        certificate::check_chain(&leaf, &chain).map_err(|(index, reason)| match index {
            Some(index) => format!("certificates.certificateChain[{index}] {reason}"),
            None => format!("certificates.certificateChain {reason}"),
        })?;
    }
    Ok(single(
        "certificates",
        format!(
            "certificates.certificate (\"{}\", {} key)",
            leaf.subject_text, leaf.algorithm
        ),
        VerifyRequest::Certificate {
            certificate: certificates.certificate.clone(),
            chain: certificates.certificate_chain.clone(),
            require_rekor_bundle: certificates.require_rekor_bundle,
        },
    ))
}

fn single(verifier: &'static str, label: String, request: VerifyRequest) -> Compiled {
    (verifier, vec![Check { label, request }], 1)
}

/// `keyless identities [issuer X, subject Y; …]`.
fn describe(verifier: &str, pairs: &[(String, String)], second: &str) -> String {
    let identities: Vec<String> = pairs
        .iter()
        .map(|(issuer, value)| format!("issuer {issuer}, {second} {value}"))
        .collect();
    format!("{verifier} identities [{}]", identities.join("; "))
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
