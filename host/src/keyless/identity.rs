//! Who must have signed, as Kubewarden says it: an exact issuer and subject
//! (`SigstoreKeylessVerify`, `genericIssuer` with `subject.equal`), an issuer and a URL prefix of
//! the subject (`SigstoreKeylessPrefixVerify`, `subject.urlPrefix`), or a GitHub Actions
//! workflow of an owner and repository (`SigstoreGithubActionsVerify`, `githubAction`).

use super::{KeylessSignature, Subject};

/// The OIDC issuer of GitHub Actions tokens.
pub const GITHUB_ACTIONS_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// A required signer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Identity {
    /// This issuer, and this subject (e-mail or URI), exactly.
    Exact { issuer: String, subject: String },
    /// This issuer, and a subject starting with `prefix` (which ends with `/`).
    Prefix { issuer: String, prefix: String },
    /// GitHub Actions, a workflow of `owner` (and `repo`): the subject is
    /// `https://github.com/<owner>/<repo>/…`.
    GithubActions { owner: String, repo: Option<String> },
}

impl Identity {
    /// A URL prefix as Kubewarden reads it: a URL, with `/` added when it does not end with
    /// one, so `https://github.com/org` does not admit `https://github.com/organisation`.
    pub fn prefix(issuer: &str, url_prefix: &str) -> Result<Self, String> {
        let scheme_and_host = url_prefix
            .split_once("://")
            .filter(|(scheme, rest)| !scheme.is_empty() && !rest.is_empty());
        if scheme_and_host.is_none() {
            return Err(format!("url prefix {url_prefix:?} is not a URL"));
        }
        let prefix = if url_prefix.ends_with('/') {
            url_prefix.to_owned()
        } else {
            format!("{url_prefix}/")
        };
        Ok(Self::Prefix {
            issuer: issuer.to_owned(),
            prefix,
        })
    }

    /// True when `signature` was made by this identity.
    pub fn matches(&self, signature: &KeylessSignature) -> bool {
        self.names(&signature.issuer, &signature.subject)
    }

    /// True when a certificate of `issuer` for `subject` is this identity.
    pub fn names(&self, signer_issuer: &str, signer_subject: &Subject) -> bool {
        match self {
            Self::Exact { issuer, subject } => {
                signer_issuer == issuer && signer_subject.as_str() == subject
            }
            Self::Prefix { issuer, prefix } => {
                signer_issuer == issuer && signer_subject.as_str().starts_with(prefix)
            }
            Self::GithubActions { owner, repo } => {
                signer_issuer == GITHUB_ACTIONS_ISSUER
                    && matches!(signer_subject, Subject::Uri(uri)
                    if github_repository(uri).is_some_and(|(o, r)| {
                        o == owner && repo.as_ref().is_none_or(|repo| repo == r)
                    }))
            }
        }
    }

    /// For messages: `issuer … subject …`.
    pub fn describe(&self) -> String {
        match self {
            Self::Exact { issuer, subject } => format!("issuer {issuer} and subject {subject}"),
            Self::Prefix { issuer, prefix } => {
                format!("issuer {issuer} and a subject starting with {prefix}")
            }
            Self::GithubActions { owner, repo } => format!(
                "a GitHub Actions workflow of {owner}{}",
                repo.as_ref().map(|r| format!("/{r}")).unwrap_or_default()
            ),
        }
    }
}

/// The owner and repository of `https://github.com/<owner>/<repo>/…`.
fn github_repository(uri: &str) -> Option<(&str, &str)> {
    let path = uri.strip_prefix("https://github.com/")?;
    let mut segments = path.split('/');
    let owner = segments.next().filter(|s| !s.is_empty())?;
    let repo = segments.next().filter(|s| !s.is_empty())?;
    Some((owner, repo))
}
