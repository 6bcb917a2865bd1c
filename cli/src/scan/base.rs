//! `scan --base`: the version of the manifests the cluster already runs (a folder, or a git
//! revision of the scanned files). A workload that exists in both is judged as the UPDATE the API
//! server would send, its `oldObject` the base version; a new one stays a CREATE. So a CI run
//! answers "will this change be admitted" with the policies' day-2 rules (an unchanged pod
//! template is not re-judged as new, a relabelling into scope is).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use super::input::{Document, Unit, units};

/// A workload's identity: API group, kind, namespace, name.
type Key = (String, String, String, String);

/// The base version of each workload, by identity.
#[derive(Debug, Default)]
pub struct Base {
    objects: HashMap<Key, Value>,
}

impl Base {
    /// Reads `--base`: a file or folder, else a git revision of the scanned `paths` (read with
    /// `git show`, so the work tree is untouched). A base document that cannot be read is an
    /// error: the change could not be judged against it.
    pub fn read(base: &str, paths: &[PathBuf]) -> Result<Self> {
        let base_units = if Path::new(base).exists() {
            // A folder named like a branch (`origin/main/`) committed in the scanned checkout
            // must not stand in for the revision.
            if is_revision(base, paths) {
                bail!(
                    "--base {base}: both a file or folder and a git revision; write ./{base} for the folder, or refs/remotes/{base} (or the commit) for the revision"
                );
            }
            units(&[PathBuf::from(base)], &mut std::io::empty())
        } else {
            revision_units(base, paths)?
        };
        let mut read = Self::default();
        for unit in &base_units {
            for document in unit.documents() {
                match document {
                    Document::Workload { request, .. } => {
                        let key = key_of(&request);
                        let object = request.get("object").cloned().unwrap_or(Value::Null);
                        read.objects.insert(key, object);
                    }
                    Document::Invalid { origin, error } => {
                        bail!("--base {base}: {}:{}: {error}", origin.file, origin.line)
                    }
                    Document::Object { .. } | Document::Skipped { .. } => {}
                }
            }
        }
        Ok(read)
    }

    /// Makes `request` (a CREATE) the UPDATE of its base version, when there is one; true if it
    /// did.
    pub fn as_update(&self, request: &mut Value) -> bool {
        let Some(old) = self.objects.get(&key_of(request)) else {
            return false;
        };
        request["operation"] = json!("UPDATE");
        request["oldObject"] = old.clone();
        request["options"] = json!({"apiVersion": "meta.k8s.io/v1", "kind": "UpdateOptions"});
        true
    }

    /// True when no base was given or it holds no workload.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }
}

fn key_of(request: &Value) -> Key {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    (
        text(&request["kind"]["group"]),
        text(&request["kind"]["kind"]),
        text(&request["namespace"]),
        text(&request["name"]),
    )
}

/// The manifest files of `paths` at git `revision` of the repository each path is in, as units
/// named `revision:path`.
fn revision_units(revision: &str, paths: &[PathBuf]) -> Result<Vec<Unit>> {
    if paths.iter().any(|p| p.as_os_str() == "-") {
        bail!(
            "--base {revision}: a git revision gives the base of scanned files; standard input has none (render the base yourself and give --base DIR)"
        );
    }
    let mut units = Vec::new();
    for path in paths {
        let (top, relative) = in_repository(revision, path)?;
        let commit = commit_of(&top, revision)?;
        // An empty pathspec is refused by git: the top folder is `.`.
        let relative_text = match relative.to_string_lossy().into_owned() {
            text if text.is_empty() => ".".to_owned(),
            text => text,
        };
        let listed = git(
            &top,
            &[
                "ls-tree",
                "-r",
                "-z",
                "--name-only",
                "--full-tree",
                &commit,
                "--",
                &relative_text,
            ],
        )?;
        for file in listed
            .split('\0')
            .filter(|f| !f.is_empty())
            .map(PathBuf::from)
        {
            // The files a scan of the same paths reads: a file named itself, manifests in a
            // folder.
            if file != relative && !is_manifest(&file) {
                continue;
            }
            let text = git(&top, &["show", &format!("{commit}:{}", file.display())])?;
            units.push(Unit::Text {
                name: format!("{revision}:{}", top.join(&file).display()),
                text,
            });
        }
    }
    Ok(units)
}

/// True when `text` names a commit in the repository of the first scanned path. A text that
/// starts with `.` or `/` is a path, never a revision.
fn is_revision(text: &str, paths: &[PathBuf]) -> bool {
    if text.starts_with('.') || text.starts_with('/') {
        return false;
    }
    let Some(path) = paths.iter().find(|p| p.as_os_str() != "-") else {
        return false;
    };
    in_repository(text, path).is_ok_and(|(top, _)| commit_of(&top, text).is_ok())
}

/// The top folder of the git repository `path` is in, and `path` relative to it.
fn in_repository(revision: &str, path: &Path) -> Result<(PathBuf, PathBuf)> {
    let absolute = std::path::absolute(path)
        .with_context(|| format!("--base {revision}: cannot resolve {}", path.display()))?;
    let folder = if absolute.is_dir() {
        absolute.clone()
    } else {
        absolute
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| absolute.clone())
    };
    let top = git(&folder, &["rev-parse", "--show-toplevel"]).with_context(|| {
        format!(
            "--base {revision}: neither a file or folder, nor a git revision: {} is not in a git repository",
            path.display()
        )
    })?;
    let top = PathBuf::from(top.trim());
    let top = top.canonicalize().unwrap_or(top);
    let folder = folder.canonicalize().unwrap_or(folder);
    let mut relative = folder
        .strip_prefix(&top)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    if !absolute.is_dir()
        && let Some(name) = absolute.file_name()
    {
        relative.push(name);
    }
    Ok((top, relative))
}

/// The commit `revision` names in the repository at `top`.
fn commit_of(top: &Path, revision: &str) -> Result<String> {
    let commit = git(
        top,
        &["rev-parse", "--verify", "--quiet", "--end-of-options", &format!("{revision}^{{commit}}")],
    )
    .map_err(|_| {
        anyhow::anyhow!(
            "--base {revision}: neither a file or folder nor a git revision of {} (in CI, fetch it: a shallow clone lacks it, e.g. actions/checkout with fetch-depth: 0)",
            top.display()
        )
    })?;
    Ok(commit.trim().to_owned())
}

fn is_manifest(file: &Path) -> bool {
    file.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
}

/// Runs git in `dir`, its standard output; a failure is an error with git's message.
fn git(dir: &Path, args: &[&str]) -> Result<String> {
    let output = Command::new("git")
        .current_dir(dir)
        .args(args)
        .output()
        .context("cannot run git")?;
    if !output.status.success() {
        bail!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    String::from_utf8(output.stdout).context("git printed text that is not UTF-8")
}
