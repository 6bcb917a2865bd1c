//! The deploy tree of a release: `deploy/` copied with every module reference of the lock
//! replaced by the one actually pushed, and a `modules.yaml` of what was pushed, so that
//! `kubectl kustomize <copy>/overlays/protect` deploys exactly the pushed modules (`make
//! publish` writes it to `dist/release/deploy/`). The replacement is exact: a lock reference is
//! replaced only where it stands whole, never inside a longer reference.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::module_lock::ModuleLock;

/// The name of the lock inside a deploy tree.
const LOCK_NAME: &str = "modules.yaml";

/// Copies `deploy` to `out` (replacing what `out` held) with each module reference of `lock`
/// replaced by the reference of the same policy in `pushed`; `out/modules.yaml` becomes
/// `pushed`, under `header`. Returns how many references of each policy were replaced.
/// Every policy of the lock must have been pushed, and nothing else; and a deploy tree that
/// holds more than its lock must name every locked module (else the tree was generated from
/// another lock, and the copy would deploy modules nobody pushed).
pub fn write_pinned_deploy(
    deploy: &Path,
    lock: &ModuleLock,
    pushed: &ModuleLock,
    header: &str,
    out: &Path,
) -> Result<BTreeMap<String, usize>> {
    let locked: Vec<&str> = lock.modules().map(|(policy, _)| policy).collect();
    let released: Vec<&str> = pushed.modules().map(|(policy, _)| policy).collect();
    if locked != released {
        bail!(
            "the lock lists {} but {} were pushed: run `make pin` and commit",
            locked.join(", "),
            released.join(", ")
        );
    }
    let replacements: Vec<(&str, String, String)> = lock
        .modules()
        .map(|(policy, module)| {
            Ok((
                policy,
                module.to_string(),
                pushed.module(policy)?.to_string(),
            ))
        })
        .collect::<Result<_>>()?;
    if out.exists() {
        std::fs::remove_dir_all(out)
            .with_context(|| format!("cannot replace {}", out.display()))?;
    }
    let mut counts: BTreeMap<String, usize> = locked
        .iter()
        .map(|policy| ((*policy).to_owned(), 0))
        .collect();
    let copied = copy_dir(deploy, out, true, &replacements, &mut counts)?;
    let unnamed: Vec<String> = replacements
        .iter()
        .filter(|(policy, _, _)| counts.get(*policy) == Some(&0))
        .map(|(policy, locked, _)| format!("{policy} ({locked})"))
        .collect();
    if copied > 0 && !unnamed.is_empty() {
        bail!(
            "{} never names the locked module of {}: it was generated from another lock; run `make pin` (which regenerates it) and commit",
            deploy.display(),
            unnamed.join(", ")
        );
    }
    std::fs::write(out.join(LOCK_NAME), pushed.render(header))
        .with_context(|| format!("cannot write {}", out.join(LOCK_NAME).display()))?;
    Ok(counts)
}

/// Copies the files under `from` to `to`, recursively, replacing the references in each; the
/// lock at the `top` is left out (the caller writes the new one). Returns how many files it
/// copied.
fn copy_dir(
    from: &Path,
    to: &Path,
    top: bool,
    replacements: &[(&str, String, String)],
    counts: &mut BTreeMap<String, usize>,
) -> Result<usize> {
    let mut copied = 0;
    std::fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    let mut entries: Vec<_> = std::fs::read_dir(from)
        .with_context(|| format!("cannot list {}", from.display()))?
        .collect::<std::io::Result<_>>()?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        let source = entry.path();
        let target = to.join(entry.file_name());
        if source.is_dir() {
            copied += copy_dir(&source, &target, false, replacements, counts)?;
            continue;
        }
        if top && entry.file_name() == LOCK_NAME {
            continue;
        }
        let mut text = std::fs::read_to_string(&source).with_context(|| {
            format!(
                "cannot read {} as text (deploy/ holds text only)",
                source.display()
            )
        })?;
        for (policy, locked, released) in replacements {
            let (replaced, count) = replace_whole(&text, locked, released);
            text = replaced;
            *counts.entry((*policy).to_owned()).or_default() += count;
        }
        std::fs::write(&target, text)
            .with_context(|| format!("cannot write {}", target.display()))?;
        copied += 1;
    }
    Ok(copied)
}

/// `text` with every whole occurrence of `from` replaced by `to`: an occurrence counts only
/// when the characters around it cannot continue a reference (so a lock reference by tag is
/// never replaced inside the same reference with a digest, nor inside a longer tag).
fn replace_whole(text: &str, from: &str, to: &str) -> (String, usize) {
    let continues = |c: char| c.is_ascii_alphanumeric() || "._-/:@".contains(c);
    let mut result = String::with_capacity(text.len());
    let mut count = 0;
    let mut rest = text;
    let mut before: Option<char> = None;
    while let Some(at) = rest.find(from) {
        let preceding = rest[..at].chars().next_back().or(before);
        let following = rest[at + from.len()..].chars().next();
        let whole = !preceding.is_some_and(continues) && !following.is_some_and(continues);
        let end = if whole { at + from.len() } else { at + 1 };
        let end = (end..=rest.len())
            .find(|&i| rest.is_char_boundary(i))
            .unwrap_or(rest.len());
        if whole {
            result.push_str(&rest[..at]);
            result.push_str(to);
            count += 1;
        } else {
            result.push_str(&rest[..end]);
        }
        before = rest[..end].chars().next_back();
        rest = &rest[end..];
    }
    result.push_str(rest);
    (result, count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::module_lock::ModuleRef;

    fn lock_of(repository: &str, digit: char) -> ModuleLock {
        ModuleLock::new(
            ["a", "b"]
                .into_iter()
                .map(|policy| {
                    let reference = format!(
                        "registry://{repository}/{policy}:v1@sha256:{}",
                        digit.to_string().repeat(64)
                    );
                    (policy.to_owned(), ModuleRef::parse(&reference).unwrap())
                })
                .collect(),
        )
    }

    #[test]
    fn the_copy_names_the_pushed_modules_and_a_tree_from_another_lock_is_refused() {
        let dir = std::env::temp_dir().join(format!("pinned-deploy-{}", std::process::id()));
        let (deploy, out) = (dir.join("deploy"), dir.join("out"));
        let lock = lock_of("ghcr.io/p", '1');
        let pushed = lock_of("mirror.test/p", '2');
        std::fs::create_dir_all(deploy.join("base")).unwrap();
        std::fs::write(deploy.join("modules.yaml"), lock.render("lock")).unwrap();
        let a = lock.module("a").unwrap().to_string();
        let b = lock.module("b").unwrap().to_string();
        std::fs::write(deploy.join("base/a.yaml"), format!("module: {a}\n")).unwrap();

        let error = write_pinned_deploy(&deploy, &lock, &pushed, "pushed", &out)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains(&format!("b ({b})")) && !error.contains("a ("),
            "{error}"
        );

        std::fs::write(deploy.join("base/b.yaml"), format!("module: \"{b}\"\n")).unwrap();
        let counts = write_pinned_deploy(&deploy, &lock, &pushed, "pushed", &out).unwrap();
        assert_eq!(counts, BTreeMap::from([("a".into(), 1), ("b".into(), 1)]));
        assert_eq!(
            std::fs::read_to_string(out.join("base/b.yaml")).unwrap(),
            format!("module: \"{}\"\n", pushed.module("b").unwrap())
        );
        assert_eq!(ModuleLock::read(&out.join("modules.yaml")).unwrap(), pushed);

        let mut fewer = BTreeMap::new();
        fewer.insert("a".to_owned(), pushed.module("a").unwrap().clone());
        let error = write_pinned_deploy(&deploy, &lock, &ModuleLock::new(fewer), "x", &out)
            .unwrap_err()
            .to_string();
        assert!(error.contains("were pushed"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn only_whole_references_are_replaced() {
        let from = "registry://r/p/a:v1";
        let to = "registry://m/a:v1@sha256:00";
        for (text, expected, count) in [
            (
                "module: registry://r/p/a:v1\n",
                "module: registry://m/a:v1@sha256:00\n",
                1,
            ),
            (
                "module: \"registry://r/p/a:v1\"",
                "module: \"registry://m/a:v1@sha256:00\"",
                1,
            ),
            (
                "registry://r/p/a:v1 registry://r/p/a:v1",
                "registry://m/a:v1@sha256:00 registry://m/a:v1@sha256:00",
                2,
            ),
            (
                "registry://r/p/a:v1@sha256:11",
                "registry://r/p/a:v1@sha256:11",
                0,
            ),
            ("registry://r/p/a:v1.2", "registry://r/p/a:v1.2", 0),
            ("xregistry://r/p/a:v1", "xregistry://r/p/a:v1", 0),
            (
                "é registry://r/p/a:v1é",
                "é registry://m/a:v1@sha256:00é",
                1,
            ),
        ] {
            assert_eq!(
                replace_whole(text, from, to),
                (expected.to_owned(), count),
                "{text}"
            );
        }
    }
}
