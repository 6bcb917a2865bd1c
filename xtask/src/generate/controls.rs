//! `docs/pci-controls.json`: the PCI data `pci-policies scan` and `pci-policies evidence`
//! embed — the guidance sections with the PCI DSS requirements they support
//! (`docs/pci-dss.yml`), and per policy its control ids, recommended settings and why.

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use serde_json::{Value, json};

use super::matrix::CONTROLS;
use super::policy::PolicySources;

/// `docs/pci-dss.yml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    pub standard: String,
    pub sections: Vec<Section>,
}

/// One guidance section and the PCI DSS requirements it supports.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    pub id: String,
    pub title: String,
    pub requirements: Vec<Requirement>,
}

/// One PCI DSS requirement, and why the section supports it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    pub id: String,
    pub basis: String,
    pub why: String,
}

/// The JSON text, from the mapping's text and the policies.
pub fn controls_json(mapping: &str, policies: &[PolicySources]) -> Result<String> {
    let mapping: Mapping = yaml_serde::from_str(mapping).context("docs/pci-dss.yml")?;
    let ids: Vec<&str> = mapping.sections.iter().map(|s| s.id.as_str()).collect();
    let expected: Vec<&str> = CONTROLS.iter().map(|(id, _)| *id).collect();
    if ids != expected {
        bail!("docs/pci-dss.yml: sections {ids:?}, expected the guidance sections {expected:?}");
    }
    for section in &mapping.sections {
        if section.requirements.is_empty() {
            bail!(
                "docs/pci-dss.yml: section {} maps to no requirement",
                section.id
            );
        }
        for requirement in &section.requirements {
            if !matches!(requirement.basis.as_str(), "established" | "judgement") {
                bail!(
                    "docs/pci-dss.yml: {} {}: basis {:?}, expected established or judgement",
                    section.id,
                    requirement.id,
                    requirement.basis
                );
            }
        }
    }
    let sections: Vec<Value> = mapping
        .sections
        .iter()
        .map(|s| {
            json!({
                "id": s.id,
                "title": s.title,
                "requirements": s.requirements.iter().map(|r| json!({"id": r.id, "basis": r.basis, "why": r.why})).collect::<Vec<_>>(),
            })
        })
        .collect();
    let mut described = Vec::new();
    for policy in policies {
        described.push(json!({
            "name": policy.name,
            "title": policy.annotation("io.artifacthub.displayName")?,
            "module": format!("registry://{}", policy.image()?),
            "sections": policy.controls()?,
            "severity": policy.annotation("io.kubewarden.policy.severity")?,
            "category": policy.annotation("io.kubewarden.policy.category")?,
            "controls": policy.pci.controls.iter().map(|c| json!({"id": c.id, "pci": c.pci, "what": c.what})).collect::<Vec<_>>(),
            "settings": policy.pci.settings,
            "recommendations": policy.pci.recommendations.iter().map(|r| json!({
                "setting": r.setting,
                "control": r.control,
                "why": r.why,
                "organisationSpecific": r.organisation_specific,
            })).collect::<Vec<_>>(),
        }));
    }
    let document = json!({
        "generatedBy": "make generate, from docs/pci-dss.yml and policies/*/{metadata,pci}.yml",
        "standard": mapping.standard,
        "sections": sections,
        "policies": described,
    });
    Ok(serde_json::to_string_pretty(&document)? + "\n")
}
