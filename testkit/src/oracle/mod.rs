//! A security oracle: hostile workloads that each policy must refuse, wrapped in every kind and
//! container list, surrounded by benign noise, with exceptions that do and do not waive them;
//! and the properties every answer must have ([`properties`]).
//!
//! One generator serves the tests and the fuzzer: a case is drawn from bytes ([`draw::Draw`],
//! on `arbitrary::Unstructured`). `make test` runs [`check_policy`] on a fixed number of fixed
//! pseudo-random buffers per policy ([`draw::case_bytes`]); the fuzz targets run
//! [`check_bytes`] on the fuzzer's input. Each policy runs natively through its real entry point
//! (`pci_shared::policy::evaluate`) with its host calls answered by [`world`] at the waPC
//! boundary, as the wasm module would be.
//!
//! A case: a [`draft::Draft`] of clean containers and noise ([`noise`]); one container (in any
//! list) and the pod made hostile to the policy under test ([`subjects`]); the request as
//! CREATE or as an UPDATE whose old object differs where it counts ([`wire::Change`]), with
//! unknown fields and shuffled keys ([`wire`]); exceptions that cover or narrowly miss each
//! expected violation ([`exceptions`]).

pub mod draft;
pub mod draw;
pub mod exceptions;
pub mod noise;
pub mod properties;
pub mod subjects;
pub mod wire;
pub mod world;

use std::collections::BTreeMap;

use serde_json::{Value, json};

use pci_shared::native_stubs::script_host_calls;
use pci_shared::policy::{Policy, evaluate};
use pci_shared::response::ValidationResponse;
use pci_shared::time::Timestamp;
use pci_shared::workload::WorkloadKind;

use draft::{ContainerFacts, Draft, Image, LISTS, Target, spec_path};
use draw::{Draw, case_bytes};
use exceptions::Exception;
use properties::{Verdict, describe};
use subjects::Subject;
use wire::Change;

/// When the oracle's requests are judged: 2026-11-22 at noon (UTC), so "expires today" is live
/// and "expired yesterday" is not.
pub const NOW: Timestamp = Timestamp(20_779 * 86_400 + 43_200);

/// Cases per policy in `make test` (`ORACLE_CASES` overrides; `ORACLE_CASE=n` replays one).
pub const CASES: u64 = 810;

/// Bytes drawn from for one test case.
const CASE_BYTES: usize = 4_096;

/// One generated case and what the oracle knows about it.
#[derive(Clone, Debug)]
pub struct Case {
    pub kind: WorkloadKind,
    /// Where the kind keeps its pod spec (`spec.template.spec`).
    pub spec_path: &'static str,
    /// The list holding the hostile container.
    pub list: &'static str,
    pub change: Option<Change>,
    pub namespace: String,
    pub hostile: String,
    pub containers: Vec<ContainerFacts>,
    /// The violations the policy must report unless waived.
    pub targets: Vec<Target>,
    pub exceptions: Vec<Exception>,
    /// runtime-isolation: the class the policy must set instead.
    pub defaulted: Option<String>,
    pub threats: Vec<&'static str>,
    /// The `validate` payload.
    pub payload: String,
}

/// Draws a case against `subject` (whose policy knows `controls`); `forced` fixes the kind and
/// the hostile container's list.
pub fn generate(
    subject: Subject,
    controls: &[&'static str],
    draw: &mut Draw<'_>,
    forced: Option<(WorkloadKind, usize)>,
) -> Case {
    let (kind, list) = forced.unwrap_or_else(|| {
        (
            draw.pick(&WorkloadKind::ALL),
            draw.range(0, LISTS.len() - 1),
        )
    });
    let namespace = draw.pick(&world::NAMESPACES).0.to_owned();
    let volumes = noise::volumes(draw);
    let mut lists: [Vec<(Value, Image)>; 3] = Default::default();
    let mut taken = Vec::new();
    for _ in 0..draw.range(0, 3) {
        let (container, image) = clean_container(draw, &mut taken, &volumes);
        lists[draw.range(0, 2)].push((container, image));
    }
    if list != 1 && lists[1].is_empty() {
        lists[1].push(clean_container(draw, &mut taken, &volumes));
    }
    let (container, image) = clean_container(draw, &mut taken, &volumes);
    let hostile = taken.last().cloned().unwrap_or_default();
    let index = draw.range(0, lists[list].len());
    lists[list].insert(index, (container, image));
    let mut draft = Draft {
        kind,
        namespace,
        labels: noise::string_map(draw, "noise.example"),
        annotations: noise::string_map(draw, "noise.example"),
        spec: noise::pod_fields(draw),
        volumes,
        lists,
        hostile: hostile.clone(),
    };
    let change = draw_change(draw, &mut draft, subject);
    let hostility = subject.make_hostile(draw, &mut draft, change.is_none());
    let targets: Vec<Target> = hostility
        .expected
        .iter()
        .map(|e| draft.resolve(e))
        .collect();
    let containers = draft.containers();
    let aim = draw.chance(2, 5);
    let exceptions =
        exceptions::generate(draw, &targets, &draft.namespace, &containers, controls, aim);
    let mut settings = hostility.settings;
    settings["exceptions"] = exceptions.iter().map(|e| e.to_json(NOW)).collect();
    let request = wire::request(draw, &draft, change.as_ref());
    let payload = wire::payload(draw, &request, &settings);
    Case {
        kind,
        spec_path: spec_path(kind),
        list: LISTS[list],
        change,
        namespace: draft.namespace,
        hostile,
        containers,
        targets,
        exceptions,
        defaulted: hostility.defaulted,
        threats: hostility.threats,
        payload,
    }
}

/// A clean container with a name not in `taken` (then added to it), and its image.
fn clean_container(
    draw: &mut Draw<'_>,
    taken: &mut Vec<String>,
    volumes: &[Value],
) -> (Value, Image) {
    let name = noise::container_name(draw, taken);
    let image = noise::clean_image(draw);
    let container = noise::clean_container(draw, &name, &image, volumes);
    taken.push(name);
    (container, image)
}

/// CREATE (`None`) or an UPDATE that changes what the policies judge. For `kubectl debug`
/// into the hostile Pod, the clean ephemeral container it adds is added to `draft`.
fn draw_change(draw: &mut Draw<'_>, draft: &mut Draft, subject: Subject) -> Option<Change> {
    if draw.chance(1, 2) {
        return None;
    }
    let previous = Image {
        tag: Some("previous".into()),
        ..noise::clean_image(draw)
    };
    let mut changes = vec![Change::HostileAdded, Change::HostileImage(previous)];
    if draft.kind == WorkloadKind::Pod {
        if LISTS[draft.hostile_list()] == "ephemeralContainers" {
            changes.push(Change::Debug);
        } else if subject.judges_debugged_pods() {
            changes.push(Change::DebugInto(String::new()));
        }
    } else {
        changes.extend([Change::Env, Change::TemplateLabel]);
    }
    match draw.pick(&changes) {
        Change::DebugInto(_) => {
            let mut taken: Vec<String> = draft.containers().into_iter().map(|c| c.name).collect();
            let (container, image) = clean_container(draw, &mut taken, &draft.volumes);
            let name = taken.last().cloned().unwrap_or_default();
            draft.lists[2].push((container, image));
            Some(Change::DebugInto(name))
        }
        change => Some(change),
    }
}

/// Judges `case` with policy `P` in the oracle's world.
fn judge<P: Policy>(case: &Case) -> ValidationResponse {
    let _host = script_host_calls(world::answer);
    evaluate::<P>(case.payload.as_bytes(), NOW.into())
}

/// What a failing case was, for the report.
fn report<P: Policy>(case: &Case, response: &ValidationResponse, failure: &str) -> String {
    let operation = match &case.change {
        None => "CREATE".to_owned(),
        Some(change) => format!("UPDATE ({change:?})"),
    };
    let targets: Vec<String> = case.targets.iter().map(describe).collect();
    let exceptions: Vec<Value> = case.exceptions.iter().map(|e| e.to_json(NOW)).collect();
    format!(
        "security oracle, {}: {failure}\n  {} {operation} in namespace {:?}, hostile container {:?} in {}\n  expected: {}\n  exceptions: {}\n  response: {}\n  payload: {}",
        P::NAME,
        case.kind.name(),
        case.namespace,
        case.hostile,
        case.list,
        targets.join("; "),
        json!(exceptions),
        json!({"accepted": response.accepted, "message": response.message, "warnings": response.warnings}),
        case.payload
    )
}

/// Counts what the cases exercised.
#[derive(Debug, Default)]
pub struct Tally {
    pub verdicts: BTreeMap<String, usize>,
    pub threats: BTreeMap<&'static str, usize>,
    pub kinds_and_lists: BTreeMap<(&'static str, &'static str), usize>,
    pub updates: usize,
}

impl Tally {
    fn add(&mut self, case: &Case, verdict: Verdict) {
        *self.verdicts.entry(format!("{verdict:?}")).or_default() += 1;
        for threat in &case.threats {
            *self.threats.entry(threat).or_default() += 1;
        }
        *self
            .kinds_and_lists
            .entry((case.kind.name(), case.list))
            .or_default() += 1;
        self.updates += usize::from(case.change.is_some());
    }
}

/// Runs the fixed cases of the oracle against policy `P` and panics on the first failure,
/// with the case number to replay it (`ORACLE_CASE=n`) and the payload. Case `n` puts the
/// hostile container in kind `n % 9` and list `n / 9 % 3`, so every kind and list is covered.
pub fn check_policy<P: Policy>() -> Tally {
    let subject = Subject::of(P::NAME).unwrap_or_else(|| {
        panic!(
            "the security oracle does not know policy {}: add it to testkit/src/oracle/subjects.rs",
            P::NAME
        )
    });
    let number = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let cases: Vec<u64> = match number("ORACLE_CASE") {
        Some(one) => vec![one],
        None => (0..number("ORACLE_CASES").unwrap_or(CASES)).collect(),
    };
    let mut tally = Tally::default();
    for &index in &cases {
        let bytes = case_bytes(P::NAME, index, CASE_BYTES);
        let kind = WorkloadKind::ALL[(index % 9) as usize];
        let list = (index / 9 % 3) as usize;
        let case = generate(
            subject,
            P::CONTROLS,
            &mut Draw::new(&bytes),
            Some((kind, list)),
        );
        let response = judge::<P>(&case);
        match properties::check(&case, &response) {
            Ok(verdict) => tally.add(&case, verdict),
            Err(failure) => panic!(
                "{}\n  replay: ORACLE_CASE={index} cargo test --locked -p {} security_oracle",
                report::<P>(&case, &response, &failure),
                P::NAME
            ),
        }
    }
    if cases.len() > 1 {
        for verdict in ["Rejected", "Waived"] {
            assert!(
                tally.verdicts.contains_key(verdict),
                "{}: no case was {verdict}; the oracle lost its teeth or its waivers: {tally:?}",
                P::NAME
            );
        }
    }
    tally
}

/// One case drawn from `data` (a fuzzer's input) against policy `P`; panics when a property
/// fails. Policies the oracle does not know are skipped.
pub fn check_bytes<P: Policy>(data: &[u8]) {
    let Some(subject) = Subject::of(P::NAME) else {
        return;
    };
    let case = generate(subject, P::CONTROLS, &mut Draw::new(data), None);
    let response = judge::<P>(&case);
    if let Err(failure) = properties::check(&case, &response) {
        panic!("{}", report::<P>(&case, &response, &failure));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fuzzer's input may be empty or constant: the case is still a readable request with
    /// something hostile in it.
    #[test]
    fn any_bytes_make_a_hostile_readable_case() {
        let controls = ["privileged", "hostNamespaces", "hostPathVolumes"];
        for bytes in [
            vec![],
            vec![0xff; 64],
            vec![0; 4096],
            case_bytes("x", 1, 4096),
        ] {
            for subject in [Subject::PodSecurity, Subject::RuntimeIsolation] {
                let case = generate(subject, &controls, &mut Draw::new(&bytes), None);
                let payload: Value = serde_json::from_str(&case.payload).expect("JSON");
                assert!(payload["request"]["object"].is_object(), "{payload}");
                assert!(
                    !case.targets.is_empty() || case.defaulted.is_some(),
                    "{subject:?}: nothing hostile"
                );
            }
        }
    }

    #[test]
    fn case_numbers_cover_every_kind_and_list() {
        let mut seen = std::collections::BTreeSet::new();
        for index in 0..27u64 {
            let bytes = case_bytes("x", index, 512);
            let kind = WorkloadKind::ALL[(index % 9) as usize];
            let list = (index / 9 % 3) as usize;
            let case = generate(
                Subject::TrustedRegistries,
                &["registries"],
                &mut Draw::new(&bytes),
                Some((kind, list)),
            );
            seen.insert((case.kind.name(), case.list));
        }
        assert_eq!(seen.len(), 27);
    }
}
