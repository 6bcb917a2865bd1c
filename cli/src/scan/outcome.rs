//! What a scan found: one outcome per workload and policy (or per document not judged), with
//! the violations the policy listed and the exceptions that waived some.

use serde::{Deserialize, Serialize};

/// A policy's verdict on a workload (or what became of a document).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    /// Admitted with warnings, or rejected by a policy in monitor mode.
    Warn,
    Fail,
    /// The check could not be made (a module error, or the registry in an offline scan).
    Error,
    /// Not a workload the policies serve.
    Skip,
    /// A document that could not be read.
    Invalid,
}

impl Verdict {
    /// Upper-case label of the table.
    pub fn label(self) -> &'static str {
        match self {
            Self::Pass => "PASS",
            Self::Warn => "WARN",
            Self::Fail => "FAIL",
            Self::Error => "ERROR",
            Self::Skip => "SKIP",
            Self::Invalid => "INVALID",
        }
    }
}

/// One violation a policy reported (its `violations` audit annotation), placed in the file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The control id, e.g. `privileged`.
    pub control: String,
    /// The offending field, e.g. `spec.template.spec.containers[0].securityContext.privileged`.
    pub path: String,
    #[serde(default)]
    pub container: Option<String>,
    pub message: String,
    /// What the message leaves out: the host's answer (a registry's or Sigstore's error),
    /// trimmed by the policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The PCI guidance section, e.g. `3.1`.
    pub pci: String,
    /// The line of the field in the file, or of the nearest parent written there.
    #[serde(default)]
    pub line: usize,
}

/// An exception that waived (or, expired, no longer waived) a violation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waiver {
    /// The index of the exception in the policy's `exceptions` setting.
    pub exception: usize,
    pub control: String,
    pub path: String,
    #[serde(default)]
    pub container: Option<String>,
    pub reason: String,
    #[serde(default)]
    pub expires: Option<String>,
    /// True when the exception has expired and waived nothing.
    #[serde(default)]
    pub expired: bool,
    /// The line of the waived field.
    #[serde(default)]
    pub line: usize,
}

/// One line of the result: a policy's verdict on one workload.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Outcome {
    pub file: String,
    /// The line the workload's document starts on.
    pub line: usize,
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub namespace: String,
    /// The deployed policy's name (`metadata.name`, e.g. `pci-pod-security`).
    pub policy: String,
    /// The name the audit scanner files its results under (`clusterwide-<name>`,
    /// `namespaced-<namespace>-<name>`, `clusterwide-group-<name>` …).
    pub unique_name: String,
    /// The bundle policy its module is (e.g. `pod-security`): the first part of rule ids.
    pub module: String,
    /// PCI guidance sections the policy enforces (`io.pci-policies.controls`).
    pub controls: Vec<String>,
    /// `io.kubewarden.policy.severity`, `info` for a policy in monitor mode.
    pub severity: String,
    /// `io.kubewarden.policy.category`.
    pub category: String,
    pub verdict: Verdict,
    pub message: String,
    pub warnings: Vec<String>,
    pub findings: Vec<Finding>,
    pub waivers: Vec<Waiver>,
    /// What the scan could not decide about whether the policy applies and took as met (a
    /// namespace's unknown labels, a match condition on the requesting user), one line each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assumed: Vec<String>,
    /// The request the workload was judged as: `CREATE`, or with `--base` the `UPDATE` of its
    /// base version.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub operation: String,
    /// What the mutating policies changed before this policy judged the workload, as the API
    /// server applies their patches (`<policy>: <op> <path> = <value>`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mutations: Vec<String>,
}

impl Outcome {
    /// A document no policy judged.
    pub fn document(
        file: &str,
        line: usize,
        kind: &str,
        verdict: Verdict,
        message: String,
    ) -> Self {
        Self {
            file: file.to_owned(),
            line,
            api_version: String::new(),
            kind: kind.to_owned(),
            name: String::new(),
            namespace: String::new(),
            policy: String::new(),
            unique_name: String::new(),
            module: String::new(),
            controls: Vec::new(),
            severity: String::new(),
            category: String::new(),
            verdict,
            message,
            warnings: Vec::new(),
            findings: Vec::new(),
            waivers: Vec::new(),
            assumed: Vec::new(),
            operation: String::new(),
            mutations: Vec::new(),
        }
    }

    /// True for a policy's verdict on a workload (not a skipped or unreadable document).
    pub fn is_judged(&self) -> bool {
        !self.policy.is_empty()
    }

    /// `Kind/namespace/name`, unique per workload within a scan.
    pub fn workload(&self) -> String {
        format!("{}/{}/{}", self.kind, self.namespace, self.name)
    }
}

/// Counts per verdict.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub pass: usize,
    pub warn: usize,
    pub fail: usize,
    pub error: usize,
    pub skip: usize,
    pub invalid: usize,
}

impl Summary {
    /// The counts of `outcomes`.
    pub fn of<'a>(outcomes: impl IntoIterator<Item = &'a Outcome>) -> Self {
        let mut summary = Self::default();
        for outcome in outcomes {
            summary.add(outcome.verdict);
        }
        summary
    }

    /// Counts one more verdict.
    pub fn add(&mut self, verdict: Verdict) {
        let count = match verdict {
            Verdict::Pass => &mut self.pass,
            Verdict::Warn => &mut self.warn,
            Verdict::Fail => &mut self.fail,
            Verdict::Error => &mut self.error,
            Verdict::Skip => &mut self.skip,
            Verdict::Invalid => &mut self.invalid,
        };
        *count += 1;
    }
}

/// A whole scan's results, as `-o json` writes them and `evidence --scan` reads them.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ScanResults {
    pub summary: Summary,
    pub results: Vec<Outcome>,
    /// The scan had a `--base`: workloads not in it are new (CREATE).
    #[serde(skip)]
    pub with_base: bool,
}
