//! The Kubewarden CRDs vendored under `e2e-tests/kubewarden-crds/<version>/` (see its
//! PROVENANCE.md), read per Kubewarden version: for each kind, its scope and the schema of
//! each version it serves.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use pci_shared::path::FieldPath;

use crate::deploy::metadata::Scope;
use crate::deploy::object::read_objects;
use crate::deploy::schema::Schema;

/// The folder of the vendored CRDs, one sub-folder per Kubewarden version (`v1.31.0`).
pub fn vendored_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("kubewarden-crds")
}

/// The CRDs of one Kubewarden version.
#[derive(Debug)]
pub struct CrdCatalog {
    /// `v1.31.0`.
    pub version: String,
    crds: Vec<Crd>,
}

/// One CustomResourceDefinition.
#[derive(Debug)]
pub struct Crd {
    pub group: String,
    pub kind: String,
    pub scope: Scope,
    pub versions: Vec<CrdVersion>,
}

/// One version of a CRD.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CrdVersion {
    pub name: String,
    pub served: bool,
    #[serde(default)]
    pub deprecated: bool,
    pub schema: VersionSchema,
}

/// `schema` of a CRD version.
#[derive(Debug, Deserialize)]
pub struct VersionSchema {
    #[serde(rename = "openAPIV3Schema")]
    pub open_api_v3_schema: Schema,
}

/// What a catalog says about an `apiVersion` and `kind`.
pub enum Lookup<'a> {
    /// A kind of this catalog, in a version it serves.
    Served(&'a Crd, &'a CrdVersion),
    /// A kind of this catalog, in a version it does not serve (the versions it serves).
    NotServed(Vec<String>),
    /// Not a kind of this catalog's groups.
    Unknown,
}

impl CrdCatalog {
    /// Every vendored catalog, oldest version first.
    pub fn vendored() -> Result<Vec<Self>> {
        let dir = vendored_dir();
        let mut catalogs = Vec::new();
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("cannot read {}", dir.display()))?
        {
            let path = entry?.path();
            if path.is_dir() {
                let version = path
                    .file_name()
                    .and_then(|name| name.to_str())
                    .with_context(|| format!("{}: not a version folder", path.display()))?
                    .to_owned();
                catalogs.push(Self::read(&path, version)?);
            }
        }
        catalogs.sort_by_key(|catalog| version_numbers(&catalog.version));
        if catalogs.is_empty() {
            bail!("no Kubewarden CRDs under {}", dir.display());
        }
        Ok(catalogs)
    }

    /// The CRDs of the `*.yaml` files of `dir`, as Kubewarden `version`.
    pub fn read(dir: &Path, version: String) -> Result<Self> {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .with_context(|| format!("cannot read {}", dir.display()))?
            .map(|entry| entry.map(|entry| entry.path()))
            .collect::<std::io::Result<_>>()?;
        files.retain(|path| path.extension().is_some_and(|ext| ext == "yaml"));
        files.sort();
        let mut crds = Vec::new();
        for file in files {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            for object in read_objects(&text).with_context(|| file.display().to_string())? {
                crds.push(Crd::from_value(object.value).with_context(|| {
                    format!("{}: not a CRD this checker reads", file.display())
                })?);
            }
        }
        Ok(Self { version, crds })
    }

    /// The CRD and version of `apiVersion` and `kind`.
    pub fn lookup(&self, api_version: &str, kind: &str) -> Lookup<'_> {
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        let Some(crd) = self
            .crds
            .iter()
            .find(|crd| crd.group == group && crd.kind == kind)
        else {
            return Lookup::Unknown;
        };
        match crd
            .versions
            .iter()
            .find(|known| known.name == version && known.served)
        {
            Some(served) => Lookup::Served(crd, served),
            None => Lookup::NotServed(
                crd.versions
                    .iter()
                    .filter(|known| known.served)
                    .map(|known| known.name.clone())
                    .collect(),
            ),
        }
    }

    /// True when one of the catalog's CRDs is of `group`.
    pub fn has_group(&self, group: &str) -> bool {
        self.crds.iter().any(|crd| crd.group == group)
    }

    /// Every CEL rule (`x-kubernetes-validations`) of every schema, as `Kind version path: rule`.
    pub fn cel_rules(&self) -> Vec<String> {
        let mut rules = Vec::new();
        for crd in &self.crds {
            for version in &crd.versions {
                for (path, rule) in version
                    .schema
                    .open_api_v3_schema
                    .cel_rules(&FieldPath::root())
                {
                    rules.push(format!("{} {} {path}: {rule}", crd.kind, version.name));
                }
            }
        }
        rules
    }

    /// Every kind, as `group/kind`.
    pub fn kinds(&self) -> Vec<String> {
        self.crds
            .iter()
            .map(|crd| format!("{}/{}", crd.group, crd.kind))
            .collect()
    }
}

impl Crd {
    fn from_value(value: serde_json::Value) -> Result<Self> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Definition {
            api_version: String,
            kind: String,
            spec: Spec,
        }
        #[derive(Deserialize)]
        struct Spec {
            group: String,
            names: Names,
            scope: String,
            versions: Vec<CrdVersion>,
        }
        #[derive(Deserialize)]
        struct Names {
            kind: String,
        }
        let definition: Definition = serde_path_to_error::deserialize(value)?;
        if definition.api_version != "apiextensions.k8s.io/v1"
            || definition.kind != "CustomResourceDefinition"
        {
            bail!(
                "{} {} is not an apiextensions.k8s.io/v1 CustomResourceDefinition",
                definition.api_version,
                definition.kind
            );
        }
        let scope = match definition.spec.scope.as_str() {
            "Namespaced" => Scope::Namespaced,
            "Cluster" => Scope::Cluster,
            other => bail!("scope {other:?} is neither Namespaced nor Cluster"),
        };
        Ok(Self {
            group: definition.spec.group,
            kind: definition.spec.names.kind,
            scope,
            versions: definition.spec.versions,
        })
    }
}

/// `v1.31.0` → `[1, 31, 0]`, to order versions numerically.
fn version_numbers(version: &str) -> Vec<u64> {
    version
        .trim_start_matches('v')
        .split('.')
        .map(|part| part.parse().unwrap_or(u64::MAX))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_vendored_versions_read_with_every_kubewarden_kind() {
        let catalogs = CrdCatalog::vendored().unwrap();
        let versions: Vec<_> = catalogs
            .iter()
            .map(|catalog| catalog.version.as_str())
            .collect();
        assert_eq!(versions, ["v1.31.0", "v1.36.0"]);
        for catalog in &catalogs {
            let mut kinds = catalog.kinds();
            kinds.sort();
            assert_eq!(
                kinds,
                [
                    "policies.kubewarden.io/AdmissionPolicy",
                    "policies.kubewarden.io/AdmissionPolicyGroup",
                    "policies.kubewarden.io/ClusterAdmissionPolicy",
                    "policies.kubewarden.io/ClusterAdmissionPolicyGroup",
                    "policies.kubewarden.io/PolicyServer",
                ],
                "{}",
                catalog.version
            );
            assert!(matches!(
                catalog.lookup("policies.kubewarden.io/v1", "PolicyServer"),
                Lookup::Served(crd, _) if crd.scope == Scope::Cluster
            ));
            assert!(matches!(
                catalog.lookup("policies.kubewarden.io/v2", "PolicyServer"),
                Lookup::NotServed(served) if served == ["v1", "v1alpha2"]
            ));
        }
    }

    /// The CRDs carry no CEL rule this checker would have to evaluate; a refresh that brings
    /// one fails here (and wherever an object meets it), so it is checked by hand, never
    /// assumed to pass.
    #[test]
    fn the_vendored_crds_carry_no_cel_rule() {
        for catalog in CrdCatalog::vendored().unwrap() {
            assert_eq!(
                catalog.cel_rules(),
                Vec::<String>::new(),
                "{}",
                catalog.version
            );
        }
    }
}
