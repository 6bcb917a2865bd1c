//! Gatekeeper PSP-library constraints (`constraints.gatekeeper.sh`, kinds `K8sPSP*`) to
//! pod-security settings: every constraint of the input adds to one set of settings, as they
//! all run together, and the result refuses everything any of them refuses. It may refuse more
//! (the level; what no setting says exactly), and says so in "stricter than the source" notes.
//!
//! `exemptImages` becomes an exception, scoped to the constraint's `match.namespaces` (else
//! cluster-wide, said aloud), to the controls under which the imported policy refuses what
//! that constraint refuses, and no more: never to a control another constraint of the input
//! also reports under, nor to a pod-level field the template judges whatever the images.

mod constraint;
mod controls;
mod exempt_images;
mod ids;
mod kinds;
mod profiles;
mod sysctls;

use std::collections::BTreeSet;

use anyhow::Result;
use serde_json::{Value, json};

use crate::import::conversion::Conversion;
use constraint::Constraint;
use controls::Exemptions;
use exempt_images::Entry;

/// The constraints of an input, converted into one set of settings.
pub struct Import {
    out: Conversion,
    converted: Vec<Converted>,
    count: usize,
}

/// What one converted constraint leaves for the end.
struct Converted {
    id: String,
    /// The controls under which the imported policy refuses what this constraint refuses.
    reports_under: BTreeSet<String>,
    exemption: Option<Exemption>,
}

/// An exception to write for a constraint's `exemptImages`.
struct Exemption {
    controls: Vec<String>,
    images: Vec<String>,
    namespaces: Vec<String>,
    source: String,
}

impl Import {
    /// No constraint yet, at `level`.
    pub fn new(level: &str) -> Self {
        Self {
            out: Conversion::new(
                "the Gatekeeper PSP-library constraints".to_owned(),
                "gatekeeper-psp".to_owned(),
                level,
            ),
            converted: Vec::new(),
            count: 0,
        }
    }

    /// How many constraints were read.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Adds one constraint; an error names what pod-security cannot say without loosening it.
    pub fn add(&mut self, object: &Value) -> Result<()> {
        self.count += 1;
        let constraint = Constraint::of(object);
        let exempt = constraint.strings("exemptImages").unwrap_or_default();
        let every_container_exempt = exempt.iter().any(|e| e == "*")
            && matches!(controls::exemptions(constraint.kind), Exemptions::Waive(_));
        if every_container_exempt {
            return self.add_exempting_everything(&constraint);
        }
        self.out.take_touched();
        if !kinds::convert(&constraint, &mut self.out)? {
            return Ok(());
        }
        let touched = self.out.take_touched();
        let exemption = self.exemption(&constraint, &exempt, &touched);
        self.scope_notes(&constraint);
        self.converted.push(Converted {
            id: constraint.id(),
            reports_under: reports_under(constraint.kind, &touched),
            exemption,
        });
        Ok(())
    }

    /// `exemptImages: ["*"]` in a template that judges containers one by one: it judges none.
    /// Only K8sPSPHostNetworkingPorts still judges a pod-level field (`hostNetwork`).
    fn add_exempting_everything(&mut self, constraint: &Constraint<'_>) -> Result<()> {
        let Exemptions::Waive(waived) = controls::exemptions(constraint.kind) else {
            return Ok(());
        };
        self.scope_notes(constraint);
        let level: Vec<&str> = waived
            .iter()
            .copied()
            .filter(|c| !c.starts_with("psp."))
            .collect();
        let why = "* exempts every container, so the constraint judges none; no exception can name every image";
        if level.is_empty() {
            self.out.note(None, &constraint.at("exemptImages"), why);
        } else {
            self.out.stricter(
                None,
                &constraint.at("exemptImages"),
                &level,
                format!("{why}: the level still judges them"),
            );
        }
        if constraint.kind != "K8sPSPHostNetworkingPorts" {
            return Ok(());
        }
        self.out.take_touched();
        self.out.narrow(
            "hostNetwork",
            json!(constraint.parameters["hostNetwork"] == true),
            &constraint.at("hostNetwork"),
        )?;
        let touched = self.out.take_touched();
        self.converted.push(Converted {
            id: constraint.id(),
            reports_under: reports_under(constraint.kind, &touched),
            exemption: None,
        });
        Ok(())
    }

    /// The exception `exemptImages` becomes, if any: scoped to the constraint's namespaces, to
    /// the controls of its kind (a `psp.*` one only when the constraint set that setting).
    fn exemption(
        &mut self,
        constraint: &Constraint<'_>,
        exempt: &[String],
        touched: &[String],
    ) -> Option<Exemption> {
        if exempt.is_empty() {
            return None;
        }
        let source = constraint.at("exemptImages");
        let waived = match controls::exemptions(constraint.kind) {
            Exemptions::NotRead => {
                self.out.note(
                    None,
                    &source,
                    "this template does not read exemptImages: ignored, as Gatekeeper ignores it",
                );
                return None;
            }
            Exemptions::Kept(judged) => {
                self.out.stricter(
                    None,
                    &source,
                    judged,
                    "exempt containers stay judged: the template still judges the pod's own field whatever its images, and an exception would waive that too",
                );
                return None;
            }
            Exemptions::Waive(waived) => waived,
        };
        let controls: Vec<String> = waived
            .iter()
            .filter(|c| {
                c.strip_prefix("psp.")
                    .is_none_or(|setting| touched.iter().any(|t| t == setting))
            })
            .map(|c| (*c).to_owned())
            .collect();
        let mut images = Vec::new();
        for entry in exempt {
            match exempt_images::convert(entry) {
                Entry::Glob(glob) => images.push(glob),
                Entry::Everything => {}
                Entry::Dropped(why) => {
                    let judged: Vec<&str> = controls.iter().map(String::as_str).collect();
                    self.out.stricter(
                        Some("exceptions"),
                        &source,
                        &judged,
                        format!("{why}: those images stay judged"),
                    );
                }
            }
        }
        if controls.is_empty() || images.is_empty() {
            return None;
        }
        let namespaces = self.exception_namespaces(constraint);
        Some(Exemption {
            controls,
            images,
            namespaces,
            source,
        })
    }

    /// The constraint's `match.namespaces`, else every namespace (`*`), said aloud.
    fn exception_namespaces(&mut self, constraint: &Constraint<'_>) -> Vec<String> {
        let listed: Vec<String> = constraint.spec["match"]["namespaces"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|n| n.as_str().map(str::to_owned))
            .collect();
        let source = format!("{}: spec.match.namespaces", constraint.id());
        if listed.is_empty() {
            self.out.note(
                Some("exceptions"),
                &source,
                "unset: the constraint matched every namespace, so its exemption is cluster-wide (namespaces: [\"*\"]): any namespace's author can claim it by running these images; narrow it to the namespaces that need it",
            );
            return vec!["*".to_owned()];
        }
        if listed.iter().any(|n| n.ends_with('*') && n != "*") {
            self.out.note(
                Some("exceptions"),
                &source,
                "Gatekeeper reads a trailing * as a namespace prefix; list the namespaces by name if pod-security compares them as written",
            );
        }
        listed
    }

    /// Notes on what the constraint's `match` and `enforcementAction` become.
    fn scope_notes(&mut self, constraint: &Constraint<'_>) {
        let id = constraint.id();
        let action = constraint.spec["enforcementAction"]
            .as_str()
            .unwrap_or("deny");
        if action != "deny" {
            self.out.note(
                None,
                &format!("{id}: spec.enforcementAction"),
                format!("{action}: deploy the policy with mode: monitor to only report"),
            );
        }
        let matching = &constraint.spec["match"];
        let names = |field: &str| -> Option<String> {
            matching[field]
                .as_array()
                .filter(|n| !n.is_empty())
                .map(|n| {
                    n.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                })
        };
        if let Some(only) = names("namespaces") {
            self.out.note(
                None,
                &format!("{id}: spec.match.namespaces"),
                format!("the constraint judged only {only}; the settings apply in every namespace the policy selects (stricter elsewhere): narrow the policy with a namespaceSelector"),
            );
        }
        if let Some(skipped) = names("excludedNamespaces") {
            self.out.note(
                None,
                &format!("{id}: spec.match.excludedNamespaces"),
                format!("the constraint skipped {skipped}; the settings apply there too (stricter there): leave them out with the policy's namespaceSelector"),
            );
        }
        let other = matching.as_object().is_some_and(|m| {
            m.keys()
                .any(|k| k != "namespaces" && k != "excludedNamespaces")
        });
        if other {
            self.out.note(
                None,
                &format!("{id}: spec.match"),
                "the constraint's kinds, labelSelector and namespaceSelector become the policy's rules and namespaceSelector, not settings; pod-security judges every workload kind's pods",
            );
        }
    }

    /// The settings, with the exceptions no other constraint's rule contradicts.
    pub fn finish(mut self) -> Conversion {
        for (index, converted) in self.converted.iter().enumerate() {
            let Some(exemption) = &converted.exemption else {
                continue;
            };
            let mut controls = Vec::new();
            for control in &exemption.controls {
                let other = self
                    .converted
                    .iter()
                    .enumerate()
                    .find(|(i, c)| *i != index && c.reports_under.contains(control));
                match other {
                    Some((_, other)) => self.out.stricter(
                        Some("exceptions"),
                        &exemption.source,
                        &[control.as_str()],
                        format!(
                            "{} also refuses under {control}, whatever these images: an exception would waive its refusals too, so exempt containers stay judged there",
                            other.id
                        ),
                    ),
                    None => controls.push(control.clone()),
                }
            }
            if controls.is_empty() {
                continue;
            }
            let exception = json!({
                "controls": controls,
                "images": exemption.images,
                "namespaces": exemption.namespaces,
                "reason": format!("exemptImages of Gatekeeper constraint {}", converted.id),
            });
            let list = self
                .out
                .settings
                .entry("exceptions")
                .or_insert_with(|| json!([]));
            if let Value::Array(list) = list {
                list.push(exception);
            }
            self.out.note(
                Some("exceptions"),
                &exemption.source,
                "Gatekeeper compares the image text (a trailing * is a prefix); these globs match normalised references and no image it does not exempt (docs/migrating.md); add approvedBy and expires",
            );
        }
        sysctls::reconcile(&mut self.out);
        kinds::reconcile(&mut self.out);
        self.out
    }
}

/// The controls under which the imported policy refuses what a constraint of `kind` refuses,
/// given the settings it set.
fn reports_under(kind: &str, touched: &[String]) -> BTreeSet<String> {
    controls::level_controls(kind)
        .iter()
        .map(|c| (*c).to_owned())
        .chain(touched.iter().map(|setting| format!("psp.{setting}")))
        .collect()
}

#[cfg(test)]
mod tests;
