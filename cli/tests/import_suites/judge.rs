//! Import a suite's source with the real `pci-policies import`, judge each case's object with
//! the compiled pod-security module under the imported settings, and say how our verdict
//! compares with the source's.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

use pci_host::capabilities::HostCapabilities;
use pci_host::host::{DEFAULT_DEADLINE_TICKS, Engine, Instance};
use pci_shared::workload::WorkloadKind;
use pci_testkit::admission_request;
use serde_json::{Value, json};

use crate::source::Allowance;
use crate::suite::{Case, Test, Verdict};

/// The level every suite is imported at: the most permissive one, so that what the imported
/// policy refuses beyond the source is the settings' doing or, named as such, the level's.
pub const LEVEL: &str = "baseline";

/// How the imported policy's verdict on a case compares with the source's.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Finding {
    /// The same verdict.
    Agree,
    /// Refused where the source accepts, only under level controls the source does not widen:
    /// the level is stricter than the source, not the import.
    StricterLevel(BTreeSet<String>),
    /// Refused where the source accepts under controls the import narrowed, and the import
    /// says so in a "stricter than the source (…)" note naming each of them.
    StricterNoted(BTreeSet<String>),
    /// Refused where the source accepts, under controls no note names: a fault.
    StricterUnexplained(BTreeSet<String>),
    /// Accepted where the source refuses: the import loosened the policy; always a fault.
    Looser,
    /// `pci-policies import` refused the source, with its reason: nothing to deploy.
    ImportRefused,
    /// The module could not read the object (a 400: e.g. a Pod without containers, which the
    /// API server refuses too): refused, never admitted.
    Unreadable,
    /// The module refused the imported settings: a fault.
    SettingsRefused,
    /// The suite states no overall verdict for the case (only message-filtered assertions).
    NoVerdict,
}

impl Finding {
    /// True for the findings that fail a run: looser, unexplained, or unusable settings.
    pub fn is_fault(&self) -> bool {
        matches!(
            self,
            Finding::StricterUnexplained(_) | Finding::Looser | Finding::SettingsRefused
        )
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list =
            |controls: &BTreeSet<String>| controls.iter().cloned().collect::<Vec<_>>().join(", ");
        match self {
            Finding::Agree => write!(f, "agree"),
            Finding::StricterLevel(c) => write!(f, "stricter (level: {})", list(c)),
            Finding::StricterNoted(c) => write!(f, "stricter (import, noted: {})", list(c)),
            Finding::StricterUnexplained(c) => {
                write!(f, "stricter (import, NOT NOTED: {})", list(c))
            }
            Finding::Looser => write!(f, "LOOSER"),
            Finding::ImportRefused => write!(f, "import refused"),
            Finding::Unreadable => write!(f, "unreadable object"),
            Finding::SettingsRefused => write!(f, "SETTINGS REFUSED"),
            Finding::NoVerdict => write!(f, "no verdict stated"),
        }
    }
}

/// One judged case, for the report.
#[derive(Debug)]
pub struct Judged {
    /// `suite folder / test / case`.
    pub id: String,
    pub finding: Finding,
    /// What explains the finding: the rejection, the warnings, the import's error.
    pub detail: String,
}

/// The command and the compiled module, shared by every suite of a run.
pub struct Judge {
    root: PathBuf,
    scratch: PathBuf,
    instance: Instance,
}

/// The settings a test's source imports to, and the controls its notes call stricter.
struct Imported {
    settings: Value,
    stricter: BTreeSet<String>,
}

/// A rejection's violations: `(control, path, container)`.
type Violations = Vec<(String, String, Option<String>)>;

impl Judge {
    /// The judge of a run: `dist/pod-security.wasm`, instantiated once as policy-server does.
    pub fn load() -> Self {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let bytes = std::fs::read(root.join("dist/pod-security.wasm"))
            .expect("dist/pod-security.wasm: run `make build`");
        let instance = Engine::new()
            .expect("an engine")
            .load(&bytes)
            .expect("the module loads")
            .instantiate(HostCapabilities::none(), DEFAULT_DEADLINE_TICKS)
            .expect("the module starts");
        let scratch = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("import-suites-{}", std::process::id()));
        std::fs::create_dir_all(&scratch).expect("a scratch folder");
        Self {
            root,
            scratch,
            instance,
        }
    }

    /// Every case of `test` (of the suite at `suite`), judged.
    pub fn judge_test(&self, suite: &str, test: &Test) -> Vec<Judged> {
        let source = self.source(test);
        let imported = self.import(&source);
        test.cases
            .iter()
            .map(|case| {
                let id = format!("{suite} / {} / {}", test.name, case.name);
                let (finding, detail) = match &imported {
                    Err(why) => (Finding::ImportRefused, why.clone()),
                    Ok(imported) => self.judge_case(&source, imported, case),
                };
                Judged {
                    id,
                    finding,
                    detail,
                }
            })
            .collect()
    }

    /// The source object of a test, and the file holding only it.
    fn source(&self, test: &Test) -> (Value, PathBuf) {
        let at = test.constraint.display();
        let text = std::fs::read_to_string(&test.constraint)
            .unwrap_or_else(|e| panic!("cannot read {at}: {e}"));
        let objects: Vec<Value> = yaml_serde::Deserializer::from_str(&text)
            .map(|d| serde::Deserialize::deserialize(d).unwrap_or_else(|e| panic!("{at}: {e}")))
            .flat_map(|v: Value| match v["items"].as_array() {
                Some(items) => items.clone(),
                None => vec![v],
            })
            .filter(|v| !v.is_null())
            .collect();
        let Some(name) = &test.document else {
            assert_eq!(
                objects.len(),
                1,
                "{at}: one object, or name it with `document`"
            );
            return (objects[0].clone(), test.constraint.clone());
        };
        let object = objects
            .into_iter()
            .find(|o| o["metadata"]["name"] == name.as_str())
            .unwrap_or_else(|| panic!("{at}: no object named {name}"));
        let file = self.scratch.join(format!("{name}.json"));
        std::fs::write(&file, object.to_string()).expect("the scratch file is written");
        (object, file)
    }

    /// `pci-policies import --level baseline FILE`, as a user runs it.
    fn import(&self, (_, file): &(Value, PathBuf)) -> Result<Imported, String> {
        let output = Command::new(env!("CARGO_BIN_EXE_pci-policies"))
            .current_dir(&self.root)
            .args(["import", "--level", LEVEL])
            .arg(file)
            .output()
            .expect("pci-policies runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            return Err(String::from_utf8_lossy(&output.stderr).trim().to_owned());
        }
        let documents: Vec<Value> = yaml_serde::Deserializer::from_str(&stdout)
            .map(|d| serde::Deserialize::deserialize(d).expect("the output is YAML"))
            .filter(|v: &Value| !v.is_null())
            .collect();
        assert_eq!(
            documents.len(),
            1,
            "one source, one set of settings: {stdout}"
        );
        Ok(Imported {
            settings: documents[0].clone(),
            stricter: stricter_controls(&stdout),
        })
    }

    fn judge_case(
        &self,
        source: &(Value, PathBuf),
        imported: &Imported,
        case: &Case,
    ) -> (Finding, String) {
        let validation = self
            .instance
            .validate_settings(&imported.settings)
            .expect("validate_settings answers");
        if !validation.valid {
            return (
                Finding::SettingsRefused,
                validation.message.unwrap_or_default(),
            );
        }
        let Some(expected) = case.expected else {
            return (Finding::NoVerdict, String::new());
        };
        let (object, request) = request(&case.object);
        let response = self.validate(&request, &imported.settings);
        let accepted = response["accepted"] == true;
        let detail = response["message"].as_str().unwrap_or_default().to_owned();
        let finding = match (expected, accepted) {
            (Verdict::Accepted, true) | (Verdict::Rejected, false) => Finding::Agree,
            (Verdict::Rejected, true) => Finding::Looser,
            (Verdict::Accepted, false) if response["code"] == 400 => Finding::Unreadable,
            (Verdict::Accepted, false) => {
                let level_only = self.validate(&request, &level_only(&imported.settings));
                classify(
                    &violations(&response),
                    &violations(&level_only),
                    &Allowance::of(&source.0),
                    &object,
                    &imported.stricter,
                )
            }
        };
        (finding, detail)
    }

    fn validate(&self, request: &Value, settings: &Value) -> Value {
        self.instance
            .validate(request, settings)
            .expect("validate answers")
    }
}

/// The controls named by the import's "stricter than the source (a, b)" notes.
fn stricter_controls(output: &str) -> BTreeSet<String> {
    const MARK: &str = "stricter than the source (";
    output
        .lines()
        .filter(|line| line.trim_start().starts_with('#'))
        .filter_map(|line| line.split_once(MARK))
        .filter_map(|(_, rest)| rest.split_once(')'))
        .flat_map(|(controls, _)| controls.split(',').map(|c| c.trim().to_owned()))
        .collect()
}

/// The same level and version as the imported settings, and nothing else.
fn level_only(settings: &Value) -> Value {
    let mut only = json!({"level": settings["level"]});
    if !settings["version"].is_null() {
        only["version"] = settings["version"].clone();
    }
    only
}

/// Why the imported policy refused what the source accepts.
fn classify(
    imported: &Violations,
    level_only: &Violations,
    allowance: &Allowance,
    object: &Value,
    noted: &BTreeSet<String>,
) -> Finding {
    let mut level = BTreeSet::new();
    let mut import = BTreeSet::new();
    for (control, path, container) in imported {
        let image = container.as_deref().and_then(|c| image_of(object, c));
        let value = value_at(object, path);
        let by_level = !control.starts_with("psp.")
            && level_only.iter().any(|(c, p, _)| c == control && p == path)
            && !allowance.widens(control, path, &value, image.as_deref());
        if by_level {
            level.insert(control.clone());
        } else {
            import.insert(control.clone());
        }
    }
    if import.is_empty() {
        Finding::StricterLevel(level)
    } else if import.is_subset(noted) {
        Finding::StricterNoted(import)
    } else {
        Finding::StricterUnexplained(&import - noted)
    }
}

/// The violations of a response's `violations` audit annotation.
fn violations(response: &Value) -> Violations {
    let entries: Vec<Value> = response["audit_annotations"]["violations"]
        .as_str()
        .map(|text| serde_json::from_str(text).expect("the annotation is JSON"))
        .unwrap_or_default();
    entries
        .iter()
        .map(|v| {
            let text = |field: &str| {
                v[field]
                    .as_str()
                    .unwrap_or_else(|| panic!("a violation without {field}: {v}"))
                    .to_owned()
            };
            (
                text("control"),
                text("path"),
                v["container"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

/// The value at a violation's path (`spec.containers[0].securityContext.capabilities.add[1]`,
/// `metadata.annotations[a/b]`: a bracket holds an index, or a key with dots or slashes), null
/// when absent.
fn value_at(object: &Value, path: &str) -> Value {
    let mut value = object;
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('[') {
            let (inside, tail) = after.split_once(']').unwrap_or((after, ""));
            value = match inside.parse::<usize>() {
                Ok(index) => &value[index],
                Err(_) => &value[inside],
            };
            rest = tail;
        } else {
            let field = rest.strip_prefix('.').unwrap_or(rest);
            let end = field.find(['.', '[']).unwrap_or(field.len());
            value = &value[&field[..end]];
            rest = &field[end..];
        }
    }
    value.clone()
}

/// The image of the container named `name` in the object's pod spec, of any container list.
fn image_of(object: &Value, name: &str) -> Option<String> {
    let kind = workload_kind(object)?;
    let mut spec = object;
    for field in kind.pod_spec_path().split('.') {
        spec = &spec[field];
    }
    ["containers", "initContainers", "ephemeralContainers"]
        .iter()
        .flat_map(|list| spec[*list].as_array().into_iter().flatten())
        .find(|c| c["name"] == name)
        .and_then(|c| c["image"].as_str().map(str::to_owned))
}

fn workload_kind(object: &Value) -> Option<WorkloadKind> {
    let group = object["apiVersion"]
        .as_str()
        .and_then(|v| v.rsplit_once('/'))
        .map_or("", |(group, _)| group);
    WorkloadKind::from_group_kind(group, object["kind"].as_str()?)
}

/// The admission request for a case's object file: a workload is created; an AdmissionReview
/// keeps its operation. An UPDATE the review sends without `oldObject` gets the object itself
/// as `oldObject`, as the API server sends it: a Pod's spec is immutable, so the stored Pod
/// has the same spec (and Gatekeeper's templates skip UPDATEs for that reason).
fn request(file: &Path) -> (Value, Value) {
    let at = file.display();
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("cannot read {at}: {e}"));
    let document: Value =
        yaml_serde::from_str(&text).unwrap_or_else(|e| panic!("{at} is not YAML: {e}"));
    let (operation, object, old) = if document["kind"] == "AdmissionReview" {
        let review = &document["request"];
        (
            review["operation"].as_str().unwrap_or("CREATE").to_owned(),
            review["object"].clone(),
            review["oldObject"].clone(),
        )
    } else {
        ("CREATE".to_owned(), document, Value::Null)
    };
    let kind = workload_kind(&object).unwrap_or_else(|| panic!("{at}: not a workload"));
    let mut request = admission_request(kind, &operation, object.clone());
    if !old.is_null() {
        request["oldObject"] = old;
    }
    if let Some(namespace) = object["metadata"]["namespace"].as_str() {
        request["namespace"] = json!(namespace);
    }
    (object, request)
}
