//! `make generate`: the files made from the policies' sources, checked in and kept current —
//! Artifact Hub packages, deployable manifests, the PCI evidence matrix, the fuzz targets and
//! the README's policy table.
//! The tests fail when a checked-in file differs from what the sources give.

pub mod artifacthub;
pub mod fuzz_targets;
pub mod manifests;
pub mod matrix;
pub mod policy;
pub mod readme;

use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::workspace;

/// A generated file: path relative to the repository root, and its contents.
#[derive(Debug)]
pub struct GeneratedFile {
    pub path: String,
    pub contents: String,
}

/// Every generated file, from the sources as they are now.
pub fn files(root: &Path, now: &str) -> Result<Vec<GeneratedFile>> {
    let policies = policy::all()?;
    let mut files = vec![GeneratedFile {
        path: "artifacthub/artifacthub-repo.yml".into(),
        contents: artifacthub::repository(&policies)?,
    }];
    for policy in &policies {
        let dir = artifacthub::package_dir(policy)?;
        let package_path = format!("{dir}/artifacthub-pkg.yml");
        // A version keeps the creation time it was first generated with.
        let created_at = std::fs::read_to_string(root.join(&package_path))
            .ok()
            .and_then(|existing| artifacthub::created_at_of(&existing))
            .unwrap_or_else(|| now.to_owned());
        let package = artifacthub::package(policy, &created_at)
            .with_context(|| format!("Artifact Hub package of {}", policy.name))?;
        files.push(GeneratedFile {
            path: package_path,
            contents: package,
        });
        files.push(GeneratedFile {
            path: format!("{dir}/README.md"),
            contents: policy.readme.clone(),
        });
        let manifest =
            manifests::manifest(policy).with_context(|| format!("manifest of {}", policy.name))?;
        manifests::parse_strict(&manifest)
            .with_context(|| format!("the manifest of {} does not read back", policy.name))?;
        files.push(GeneratedFile {
            path: format!("manifests/{}.yaml", policy.name),
            contents: manifest,
        });
    }
    files.push(GeneratedFile {
        path: manifests::BUNDLE.into(),
        contents: manifests::bundle(&policies)?,
    });
    files.push(GeneratedFile {
        path: "docs/pci-matrix.md".into(),
        contents: matrix::matrix(&policies)?,
    });
    let names: Vec<String> = policies.iter().map(|p| p.name.clone()).collect();
    files.extend(fuzz_targets::files(&names));
    let readme =
        std::fs::read_to_string(root.join("README.md")).context("cannot read README.md")?;
    files.push(GeneratedFile {
        path: "README.md".into(),
        contents: readme::with_policy_table(&readme, &policies)?,
    });
    Ok(files)
}

/// Writes every generated file (`make generate`).
pub fn write() -> Result<()> {
    let root = workspace::root();
    for file in files(&root, &now_rfc3339())? {
        let path = root.join(&file.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let unchanged = std::fs::read_to_string(&path).is_ok_and(|old| old == file.contents);
        if !unchanged {
            std::fs::write(&path, &file.contents)
                .with_context(|| format!("cannot write {}", path.display()))?;
            println!("generated {}", file.path);
        }
    }
    Ok(())
}

/// The generated files that are missing or differ from their sources.
pub fn stale(root: &Path) -> Result<Vec<String>> {
    let mut stale = Vec::new();
    for file in files(root, "(not generated yet)")? {
        match std::fs::read_to_string(root.join(&file.path)) {
            Ok(existing) if existing == file.contents => {}
            Ok(_) => stale.push(format!("{} differs from its sources", file.path)),
            Err(_) => stale.push(format!("{} is missing", file.path)),
        }
    }
    Ok(stale)
}

/// Fails when a generated file is stale (`xtask generate --check`).
pub fn check() -> Result<()> {
    let stale = stale(&workspace::root())?;
    if !stale.is_empty() {
        bail!(
            "generated files are stale; run `make generate` and commit:\n  {}",
            stale.join("\n  ")
        );
    }
    println!("generated files are current");
    Ok(())
}

/// The current UTC time as RFC 3339 (`YYYY-MM-DDTHH:MM:SSZ`).
pub fn now_rfc3339() -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    rfc3339(seconds)
}

fn rfc3339(unix_seconds: u64) -> String {
    let days = (unix_seconds / 86_400) as i64;
    let time = unix_seconds % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        time / 3600,
        time % 3600 / 60,
        time % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use policy::PolicySources;

    #[test]
    fn checked_in_generated_files_are_current() {
        let stale = stale(&workspace::root()).unwrap();
        assert!(
            stale.is_empty(),
            "run `make generate` and commit:\n{}",
            stale.join("\n")
        );
    }

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_392_000 + 3_723), "2026-11-23T01:02:03Z");
    }

    #[test]
    fn every_required_package_field_is_enforced() {
        for key in [
            "io.kubewarden.policy.version",
            "io.kubewarden.policy.title",
            "io.artifacthub.displayName",
            "io.kubewarden.policy.description",
            "io.kubewarden.policy.ociUrl",
        ] {
            let mut policy = PolicySources::load("image-digest").unwrap();
            policy.metadata.annotations.remove(key);
            let error = artifacthub::package(&policy, "2026-11-22T00:00:00Z").unwrap_err();
            assert!(format!("{error:#}").contains(key), "{key}: {error:#}");
        }
    }

    #[test]
    fn an_empty_questions_file_is_refused() {
        let mut policy = PolicySources::load("image-digest").unwrap();
        policy.questions = "\n".into();
        let error = artifacthub::package(&policy, "2026-11-22T00:00:00Z").unwrap_err();
        assert!(error.to_string().contains("questions-ui.yml"), "{error}");
    }

    #[test]
    fn manifests_parse_with_the_sdk_crd_types() {
        let root = workspace::root();
        let bundle = std::fs::read_to_string(root.join(manifests::BUNDLE)).unwrap();
        let policies = manifests::parse_strict(&bundle).unwrap();
        let names: Vec<String> = workspace::bundle().policies().unwrap();
        assert_eq!(policies.len(), names.len());
        for (parsed, name) in policies.iter().zip(&names) {
            let sources = PolicySources::load(name).unwrap();
            let expected = manifests::cluster_admission_policy(&sources).unwrap();
            assert_eq!(parsed, &expected, "{name}");
            let spec = parsed.spec.as_ref().unwrap();
            assert!(spec.module.starts_with("registry://"), "{name}");
            assert_eq!(
                spec.settings.0,
                serde_json::Value::Object(sources.pci.settings.clone())
            );
            let single =
                std::fs::read_to_string(root.join(format!("manifests/{name}.yaml"))).unwrap();
            assert_eq!(manifests::parse_strict(&single).unwrap(), vec![expected]);
        }
    }

    #[test]
    fn manifest_fields_the_crd_does_not_know_are_rejected() {
        let sources = PolicySources::load("runtime-isolation").unwrap();
        let good = manifests::manifest(&sources).unwrap();
        assert!(manifests::parse_strict(&good).is_ok());
        for (from, to, field) in [
            ("  mutating:", "  mutatin:", "mutatin"),
            ("  - apiGroups:", "  - apiGroupz:", "apiGroupz"),
            ("  name: pci-", "  nam: pci-", "nam"),
            (
                "    kind: Namespace",
                "    kind: Namespace\n    group: core",
                "group",
            ),
            (
                "kind: ClusterAdmissionPolicy\n",
                "kind: ClusterAdmissionPolicy\nstatuz: {}\n",
                "statuz",
            ),
        ] {
            assert!(good.contains(from), "{from}");
            let bad = good.replacen(from, to, 1);
            let error = format!("{:#}", manifests::parse_strict(&bad).unwrap_err());
            assert!(
                error.contains(&format!(".{field}"))
                    || error.contains(&format!("`{field}`"))
                    || error.ends_with(field),
                "{field}: {error}"
            );
        }
    }

    #[test]
    fn deployment_fields_owned_by_the_metadata_are_refused() {
        let mut sources = PolicySources::load("image-digest").unwrap();
        sources
            .pci
            .deployment
            .insert("mutating".into(), serde_json::Value::Bool(false));
        let error = manifests::cluster_admission_policy(&sources).unwrap_err();
        assert!(error.to_string().contains("mutating"), "{error}");
        let mut sources = PolicySources::load("image-digest").unwrap();
        sources
            .pci
            .deployment
            .insert("mode".into(), serde_json::Value::String("watch".into()));
        assert!(manifests::cluster_admission_policy(&sources).is_err());
    }
}
