//! Isolated placements: serverless services where a workload gets no user-accessible node (EKS
//! on Fargate, AKS virtual nodes on Azure Container Instances), accepted as the isolation
//! boundary PCI guidance 9.1 (and, for Windows, 9.2) names beside sandboxed runtime classes.
//!
//! A placement is described by what pins a workload there ([`settings`], read by [`form`] from
//! the documented [`presets`] and fields); [`pinning`] decides whether a workload is *guaranteed* to land there, and says
//! why not; [`fargate`] matches EKS Fargate profiles.

pub mod fargate;
pub mod form;
pub mod pinning;
pub mod presets;
pub mod settings;

pub use settings::{Os, Placement};

#[cfg(test)]
mod tests;

use pci_shared::workload::Workload;

use pinning::{Pinning, pinning};

/// Where a high-risk workload stands against the accepted placements.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Placed {
    /// Guaranteed on this placement (`placement eks-fargate`, `… via Fargate profile cde`,
    /// `… via nodeName fargate-ip-10-0-1-17.ec2.internal`).
    Isolated(String),
    /// On none; for each placement it reaches for, why it is not guaranteed there.
    No(Vec<String>),
}

/// Judges `workload`, admitted in `namespace` and running `os`, against every placement.
pub fn place(placements: &[Placement], workload: &Workload, namespace: &str, os: Os) -> Placed {
    let mut missed = Vec::new();
    for placement in placements {
        match pinning(placement, workload, namespace, os) {
            Pinning::Isolated { via } => {
                let via = via.map_or_else(String::new, |route| format!(" via {route}"));
                return Placed::Isolated(format!("placement {}{via}", placement.name));
            }
            Pinning::Missed(reasons) => {
                missed.push(format!("{}: {}", placement.name, reasons.join("; ")));
            }
            Pinning::NotReached => {}
        }
    }
    Placed::No(missed)
}

/// The accepted options for `os`, for rejection messages, and why the placements the workload
/// reached for do not hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// `gvisor, kata, or an isolated placement: eks-fargate (schedulerName fargate-scheduler)`;
    /// empty when nothing is configured for `os`.
    pub allowed: String,
    /// `. Not guaranteed to land on aks-virtual-nodes: …`, or empty.
    pub missed: String,
}

impl Options {
    /// The options of `classes` and the placements running `os`, with the `missed` reasons.
    pub fn new(classes: &[String], placements: &[Placement], os: Os, missed: &[String]) -> Self {
        let mut allowed = classes.join(", ");
        let usable: Vec<String> = placements
            .iter()
            .filter(|p| p.runs(os))
            .map(|p| format!("{} ({})", p.name, p.requirements()))
            .collect();
        if !usable.is_empty() {
            let joiner = if allowed.is_empty() { "" } else { ", or " };
            allowed.push_str(&format!(
                "{joiner}an isolated placement: {}",
                usable.join(", ")
            ));
        }
        let missed = missed
            .iter()
            .map(|m| format!(". Not guaranteed to land on {m}"))
            .collect();
        Self { allowed, missed }
    }
}

impl std::fmt::Display for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", self.allowed, self.missed)
    }
}
