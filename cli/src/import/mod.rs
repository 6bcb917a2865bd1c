//! `pci-policies import`: PodSecurityPolicy objects, OpenShift SecurityContextConstraints,
//! Gatekeeper PSP-library constraints and upstream Kubewarden `*-psp` policies, read from
//! files, printed as the equivalent pod-security settings (or a whole ClusterAdmissionPolicy),
//! with a comment on every field that cannot be expressed exactly and why.

mod conversion;
mod gatekeeper;
mod kubewarden;
mod psp;
mod scc;

use std::io::Read as _;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use conversion::Conversion;

/// `pci-policies import FILE…`
#[derive(clap::Args)]
pub struct ImportArgs {
    /// Files (YAML or JSON, several documents, `kind: List`); `-` reads standard input.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The Pod Security Standards level the settings build on.
    #[arg(long, default_value = "restricted", value_parser = ["baseline", "restricted"])]
    level: String,
    /// Print whole ClusterAdmissionPolicy manifests, not only their settings.
    #[arg(long)]
    policy: bool,
}

/// The bundle's recommended pod-security manifest, the frame of `--policy`.
const MANIFEST: &str = include_str!("../../../manifests/pod-security.yaml");

/// Runs the import and prints the result.
pub fn import(args: &ImportArgs) -> Result<()> {
    let conversions = convert_files(args)?;
    let mut out = String::new();
    for (index, conversion) in conversions.iter().enumerate() {
        if index > 0 || args.policy {
            out.push_str("---\n");
        }
        out.push_str(&render(conversion, args.policy)?);
    }
    print!("{out}");
    Ok(())
}

/// Every convertible object of the files: one conversion per PodSecurityPolicy and SCC, one
/// for all Gatekeeper constraints, one for all upstream Kubewarden policies.
fn convert_files(args: &ImportArgs) -> Result<Vec<Conversion>> {
    let mut conversions = Vec::new();
    let mut gatekeeper = gatekeeper::Import::new(&args.level);
    let mut upstream = Conversion::new(
        "the upstream Kubewarden PSP policies".to_owned(),
        "kubewarden-psp".to_owned(),
        &args.level,
    );
    let mut policies = 0;
    for file in &args.files {
        let origin = file.display().to_string();
        for object in read_objects(file)? {
            let kind = object["kind"].as_str().unwrap_or_default();
            if kind == "PodSecurityPolicy" {
                conversions.push(psp::convert(&object, &origin, &args.level));
            } else if kind == "SecurityContextConstraints" {
                conversions.push(scc::convert(&object, &origin, &args.level));
            } else if kind.starts_with("K8sPSP") {
                gatekeeper
                    .add(&object)
                    .with_context(|| format!("{origin}: cannot import without loosening"))?;
            } else if let Some(module) = kubewarden::upstream_module(&object) {
                kubewarden::add(&object, module, &mut upstream)
                    .with_context(|| format!("{origin}: cannot import without loosening"))?;
                policies += 1;
            } else {
                eprintln!(
                    "import: {origin}: skipped {} {}: not a PodSecurityPolicy, SecurityContextConstraints, K8sPSP* constraint or upstream *-psp policy",
                    if kind.is_empty() {
                        "an object without kind"
                    } else {
                        kind
                    },
                    object["metadata"]["name"].as_str().unwrap_or_default()
                );
            }
        }
    }
    if gatekeeper.count() > 0 {
        conversions.push(gatekeeper.finish());
    }
    if policies > 0 {
        conversions.push(upstream);
    }
    if conversions.is_empty() {
        bail!(
            "nothing to import: no PodSecurityPolicy, SecurityContextConstraints, Gatekeeper K8sPSP* constraint or upstream Kubewarden *-psp policy in the input"
        );
    }
    Ok(conversions)
}

/// The objects of a file: every document, the items of a `List`; a document that cannot be read
/// is an error naming the file and line.
fn read_objects(file: &PathBuf) -> Result<Vec<Value>> {
    let text = if file.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        text
    } else {
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?
    };
    let mut objects = Vec::new();
    let documents = pci_policies::manifests::yaml::documents(&file.display().to_string(), &text)
        .map_err(anyhow::Error::msg)?;
    for (_, value) in documents {
        match value["items"].as_array() {
            Some(items) if value["kind"].as_str().is_some_and(|k| k.ends_with("List")) => {
                objects.extend(items.iter().cloned());
            }
            _ if value.is_null() => {}
            _ => objects.push(value),
        }
    }
    Ok(objects)
}

/// One conversion as settings, or as a ClusterAdmissionPolicy.
fn render(conversion: &Conversion, policy: bool) -> Result<String> {
    let header = format!(
        "# pod-security settings converted from {} by `pci-policies import`\n",
        conversion.title
    );
    if !policy {
        return Ok(header + &conversion.render_settings(0));
    }
    let mut manifest: Value = yaml_serde::Deserializer::from_str(MANIFEST)
        .filter_map(|d| serde::Deserialize::deserialize(d).ok())
        .find(|v: &Value| v["kind"] == "ClusterAdmissionPolicy")
        .context("the bundle's pod-security manifest has no ClusterAdmissionPolicy")?;
    manifest["metadata"]["name"] =
        Value::String(format!("pod-security-{}", dns_label(&conversion.name)));
    manifest["spec"]["mutating"] = Value::Bool(conversion.mutates());
    if let Some(spec) = manifest["spec"].as_object_mut() {
        spec.remove("settings");
    }
    let body = yaml_serde::to_string(&manifest)?;
    Ok(format!(
        "{header}{body}  settings:\n{}",
        conversion.render_settings(4)
    ))
}

/// `name` as a lowercase DNS label.
fn dns_label(name: &str) -> String {
    let label: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    label.trim_matches('-').chars().take(50).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_input_that_is_not_yaml_names_its_file_and_line() {
        let path = std::env::temp_dir().join(format!("import-broken-{}.yaml", std::process::id()));
        std::fs::write(
            &path,
            "kind: PodSecurityPolicy\nmetadata:\n  name: [unclosed\n",
        )
        .unwrap();
        let error = read_objects(&path).expect_err("not YAML").to_string();
        std::fs::remove_file(&path).unwrap();
        assert!(
            error.starts_with(&format!("{}:", path.display())) && error.contains(":3: not YAML"),
            "{error}"
        );
    }
}
