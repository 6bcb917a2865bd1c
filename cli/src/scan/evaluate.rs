//! Judging the documents: every workload through the deployed policies, spread over worker
//! threads, each with its own instance of every policy (settings validated once), as
//! policy-server's workers do. Mutating policies patch the request first, in name order; the
//! validating policies judge the final object.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result};
use pci_host::admission::{AdmissionResponse, Deployment};
use pci_host::capabilities::LiveAnswers;
use pci_host::group::{MemberAnswer, evaluate_group};
use pci_host::host::Policy;
use pci_host::replay::CallbackRequest;
use pci_host::run::{RunOptions, Session};
use serde_json::Value;

use super::base::Base;
use super::cluster::{Cluster, ClusterFirst, Layer};
use super::input::{Document, Source, Unit};
use super::outcome::{Finding, Outcome, Verdict, Waiver};
use super::policies::{Applies, Deployed, Evaluator, Member};
use super::progress::Progress;
use super::unanswered::{Unanswered, not_checked};
use pci_policies::manifests::Origin;
use pci_shared::workload::WorkloadKind;

/// Who answers the policies' host calls: a replay session or the registry (live), or nobody
/// (`--offline`, or a build without the live host). A call it cannot answer is refused, and
/// the evaluation that asked is an error ([`Unanswered`]).
pub struct HostAnswers {
    pub answerer: Option<Arc<dyn LiveAnswers>>,
    /// Why a call it cannot answer is not asked (for the report); `None`: offline.
    pub unanswered: Option<&'static str>,
}

impl HostAnswers {
    /// One worker's answerer, remembering what it refuses: the cluster's objects first (the
    /// input's and the context's), then the registry or the session.
    fn for_worker(&self, cluster: &Arc<Cluster>) -> Arc<Unanswered> {
        let through = |rest: Option<Arc<dyn LiveAnswers>>| -> Arc<dyn LiveAnswers> {
            Arc::new(ClusterFirst {
                cluster: Arc::clone(cluster),
                rest,
            })
        };
        Arc::new(match self.unanswered {
            None => Unanswered::offline(Some(through(None))),
            Some(why) => Unanswered::through(Some(through(self.answerer.clone())), why),
        })
    }
}

/// Where the manifests are applied: the cluster as the scan knows it, what it runs now
/// (`--base`), and the namespace of manifests that name none (`--namespace`).
pub struct Target {
    pub cluster: Cluster,
    pub base: Base,
    pub namespace: Option<String>,
}

/// What a scan judged.
pub struct Judged {
    /// In input order: by unit, then by document.
    pub outcomes: Vec<Outcome>,
    /// Workload documents read.
    pub workloads: usize,
}

/// Reads and parses every unit, learns the cluster from the objects that are not workloads (over
/// `context`, the `--context` files), then judges every workload on `jobs` worker threads, each
/// with its own instance of every policy; the outcomes come back in input order.
pub fn evaluate_all(
    units: &[Unit],
    deployed: &[Deployed],
    answers: &HostAnswers,
    target: Target,
    jobs: usize,
    progress: &Progress,
) -> Result<Judged> {
    let jobs = jobs.clamp(1, units.len().max(1));
    let mut documents = read_all(units, jobs)?;
    let Target {
        cluster,
        base,
        namespace,
    } = target;
    if let Some(namespace) = &namespace {
        for document in documents.iter_mut().flatten() {
            document.in_namespace(namespace);
        }
    }
    let cluster = Arc::new(learn_cluster(cluster, &documents));
    let work = Work {
        documents: &documents,
        deployed,
        cluster: &cluster,
        base: &base,
        namespace_given: namespace.is_some(),
        next: AtomicUsize::new(0),
        workloads: AtomicUsize::new(0),
        progress,
    };
    let judged: Vec<Result<Done>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..jobs)
            .map(|_| scope.spawn(|| work.worker(answers)))
            .collect();
        workers
            .into_iter()
            .map(|worker| {
                worker
                    .join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a scan worker panicked")))
            })
            .collect()
    });
    let mut by_unit = BTreeMap::new();
    for worker in judged {
        by_unit.extend(worker?);
    }
    Ok(Judged {
        outcomes: by_unit.into_values().flatten().collect(),
        workloads: work.workloads.into_inner(),
    })
}

/// `cluster` with the input's objects that are not workloads added to it.
fn learn_cluster(mut cluster: Cluster, documents: &[Vec<Document>]) -> Cluster {
    for document in documents.iter().flatten() {
        if let Document::Object { object, .. } = document {
            cluster.add(Layer::Input, object.clone());
        }
    }
    cluster
}

/// What a worker judged: the outcomes of the units it took, by unit index.
type Done = Vec<(usize, Vec<Outcome>)>;

/// What the workers share: the documents by unit, what judges them, and the next unit to take.
struct Work<'a> {
    documents: &'a [Vec<Document>],
    deployed: &'a [Deployed],
    cluster: &'a Arc<Cluster>,
    base: &'a Base,
    namespace_given: bool,
    /// The index of the next unit a worker takes.
    next: AtomicUsize,
    /// Workload documents read.
    workloads: AtomicUsize,
    progress: &'a Progress,
}

impl Work<'_> {
    /// One worker: starts its own instance of every policy, then judges units until none is
    /// left.
    fn worker(&self, answers: &HostAnswers) -> Result<Done> {
        // Each worker has its own refusals to read after each evaluation.
        let unanswered = answers.for_worker(self.cluster);
        let answerer = Arc::clone(&unanswered) as Arc<dyn LiveAnswers>;
        let sessions = start_sessions(self.deployed, Some(answerer))?;
        // Calls made while validating settings belong to no document.
        unanswered.take();
        let mut done = Vec::new();
        loop {
            let index = self.next.fetch_add(1, Ordering::Relaxed);
            let Some(unit) = self.documents.get(index) else {
                break;
            };
            let mut outcomes = Vec::new();
            for document in unit {
                if matches!(document, Document::Workload { .. }) {
                    self.workloads.fetch_add(1, Ordering::Relaxed);
                }
                outcomes.extend(judge(
                    document,
                    self.deployed,
                    &sessions,
                    &unanswered,
                    self.cluster,
                    self.base,
                    self.namespace_given,
                )?);
            }
            done.push((index, outcomes));
            self.progress.advance();
        }
        Ok(done)
    }
}

/// The documents of every unit, read and parsed on `jobs` threads, in input order.
fn read_all(units: &[Unit], jobs: usize) -> Result<Vec<Vec<Document>>> {
    let next = AtomicUsize::new(0);
    let read = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..jobs)
            .map(|_| {
                let next = &next;
                scope.spawn(move || {
                    let mut read = Vec::new();
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(unit) = units.get(index) else {
                            break read;
                        };
                        read.push((index, unit.documents()));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join())
            .collect::<Result<Vec<_>, _>>()
    })
    .map_err(|_| anyhow::anyhow!("a scan reader panicked"))?;
    let by_unit: BTreeMap<usize, Vec<Document>> = read.into_iter().flatten().collect();
    Ok(by_unit.into_values().collect())
}

/// A worker's instances of one deployed policy: one session, or one per group member.
enum Judge {
    Single(Session),
    Group(Vec<Session>),
}

/// One instance of every deployed policy (of every member of a group), its settings
/// validated.
fn start_sessions(deployed: &[Deployed], live: Option<Arc<dyn LiveAnswers>>) -> Result<Vec<Judge>> {
    let start = |policy: &Policy, settings: &Value, mutating: bool| {
        let options = RunOptions {
            settings: settings.clone(),
            live: live.clone(),
            allow_context_aware: true,
            deployment: Deployment {
                monitor: false,
                allowed_to_mutate: mutating,
            },
            ..RunOptions::default()
        };
        Session::start(policy, options)
    };
    deployed
        .iter()
        .map(|deployed| match &deployed.evaluator {
            Evaluator::Single { policy, settings } => start(policy, settings, deployed.mutating)
                .map(Judge::Single)
                .with_context(|| deployed.name.clone()),
            Evaluator::Group { members, .. } => members
                .iter()
                .map(|member| {
                    start(&member.policy, &member.settings, false)
                        .with_context(|| format!("{}: member {}", deployed.name, member.name))
                })
                .collect::<Result<Vec<_>>>()
                .map(Judge::Group),
        })
        .collect()
}

/// What one deployed policy said of a request.
struct Answer {
    verdict: Verdict,
    message: String,
    warnings: Vec<String>,
    /// Audit annotations, with the prefix of their controls (a group member's name).
    annotations: Vec<(String, BTreeMap<String, String>)>,
    patch: Option<Value>,
}

impl Answer {
    fn of(response: Result<AdmissionResponse>, monitor: bool) -> Result<Self> {
        Ok(match response {
            Err(error) => Self {
                verdict: Verdict::Error,
                message: format!("{error:#}"),
                warnings: Vec::new(),
                annotations: Vec::new(),
                patch: None,
            },
            Ok(response) => Self {
                verdict: verdict_of(&response, monitor),
                message: response.message(),
                warnings: response.warnings.clone().unwrap_or_default(),
                annotations: vec![(
                    String::new(),
                    response.audit_annotations.clone().unwrap_or_default(),
                )],
                patch: response.patch_operations()?,
            },
        })
    }
}

impl Answer {
    /// Makes this answer the error of a check that could not be made: the host calls `refused`
    /// were not answered (because `why`), whatever the policy then decided.
    fn not_checked(
        &mut self,
        policy: &str,
        refused: &[CallbackRequest],
        why: &str,
        object: &Value,
    ) {
        let said = std::mem::take(&mut self.message);
        self.verdict = Verdict::Error;
        self.message = format!("{policy}: {}", not_checked(refused, why, object));
        // What a policy made of a refused cluster lookup says nothing more.
        let cluster_only = refused.iter().all(|c| c.kubernetes_resource().is_some());
        if !said.is_empty() && !cluster_only {
            self.message
                .push_str(&format!(" (the policy answered: {said})"));
        }
    }
}

/// A group's answer: its expression over the members' answers, as policy-server evaluates it.
fn group_answer(
    deployed: &Deployed,
    expression: &pci_host::group::Expression,
    message: &str,
    members: &[Member],
    sessions: &[Session],
    request: &Value,
    text: &str,
) -> Result<Answer> {
    let mut answers: BTreeMap<String, Answer> = BTreeMap::new();
    let mut failure = None;
    let verdict = evaluate_group(expression, message, &mut |name| {
        let Some(index) = members.iter().position(|m| m.name == name) else {
            return MemberAnswer::Failed(format!("no member {name}"));
        };
        match Answer::of(sessions[index].evaluate_text(request, text), false) {
            Err(error) => {
                failure = Some(error);
                MemberAnswer::Failed(String::new())
            }
            Ok(answer) => {
                let member = match answer.verdict {
                    _ if answer.patch.is_some() => MemberAnswer::Patched,
                    Verdict::Pass | Verdict::Warn => MemberAnswer::Accepted,
                    Verdict::Error => MemberAnswer::Failed(answer.message.clone()),
                    _ => MemberAnswer::Rejected(answer.message.clone()),
                };
                answers.insert(name.to_owned(), answer);
                member
            }
        }
    });
    if let Some(error) = failure {
        return Err(error);
    }
    let warnings = answers.values().flat_map(|a| a.warnings.clone()).collect();
    if verdict.allowed {
        return Ok(Answer {
            verdict: Verdict::Pass,
            message: String::new(),
            warnings,
            annotations: Vec::new(),
            patch: None,
        });
    }
    let causes: Vec<String> = verdict
        .causes
        .iter()
        .map(|(member, cause)| format!("{member}: {cause}"))
        .collect();
    let errored = answers.values().any(|a| a.verdict == Verdict::Error);
    Ok(Answer {
        verdict: if errored {
            Verdict::Error
        } else if deployed.monitor {
            Verdict::Warn
        } else {
            Verdict::Fail
        },
        message: format!("{message} ({})", causes.join("; ")),
        warnings,
        annotations: answers
            .into_iter()
            .flat_map(|(name, answer)| {
                answer
                    .annotations
                    .into_iter()
                    .map(move |(_, annotations)| (format!("{name}."), annotations))
            })
            .collect(),
        patch: None,
    })
}

/// The outcomes of one document: one per validating policy that applies to a workload, and one
/// per mutating policy whose host call was not answered when no validating policy of the same
/// module reports such a refusal (the twin's error says it once).
fn judge(
    document: &Document,
    deployed: &[Deployed],
    sessions: &[Judge],
    unanswered: &Unanswered,
    cluster: &Cluster,
    base: &Base,
    namespace_given: bool,
) -> Result<Vec<Outcome>> {
    let (workload, request) = match workload_of(document) {
        Ok(workload) => workload,
        Err(outcome) => return Ok(vec![*outcome]),
    };
    let mut request = as_update(request, base);
    let mut text = serde_json::to_string(&*request)?;
    let mut passes = Passes::default();
    for (policy, judge) in deployed.iter().zip(sessions) {
        let Applies::Yes(mut assumed) = policy.applies_to(&request, cluster) else {
            continue;
        };
        if !workload.namespace_written && !namespace_given {
            let namespace = workload.namespace;
            assumed.insert(0, format!("the manifest names no namespace: judged in {namespace}, where `kubectl apply` without -n puts it; give --namespace NS for `helm install -n NS`"));
        }
        passes.pass(
            policy,
            judge,
            unanswered,
            (&mut request, &mut text),
            assumed,
        )?;
    }
    let Passes {
        mut judged,
        unchecked_mutators,
        refused_modules,
        mutations,
    } = passes;
    judged.extend(
        unchecked_mutators
            .into_iter()
            .filter(|(policy, _, _)| !refused_modules.contains(policy.module.as_str())),
    );
    if judged.is_empty() {
        // Counted, never dropped: a workload no deployed policy's rules or namespace select.
        let (kind, namespace, name) = (workload.kind.name(), workload.namespace, workload.name);
        return Ok(vec![Outcome::document(
            &workload.origin.file,
            workload.origin.line,
            kind,
            Verdict::Skip,
            format!("{kind} {namespace}/{name}: no deployed policy selects it"),
        )]);
    }
    Ok(judged
        .into_iter()
        .map(|(policy, answer, assumed)| {
            workload.outcome(&request, policy, answer, assumed, &mutations)
        })
        .collect())
}

/// A workload document's fields and its request; for any other document, its one outcome
/// (skipped, or invalid).
fn workload_of(document: &Document) -> std::result::Result<(Workload<'_>, &Value), Box<Outcome>> {
    match document {
        Document::Workload {
            origin,
            kind,
            name,
            namespace,
            request,
            source,
            namespace_written,
        } => Ok((
            Workload {
                origin,
                kind: *kind,
                name,
                namespace,
                source,
                namespace_written: *namespace_written,
            },
            request,
        )),
        Document::Skipped { origin, kind } | Document::Object { origin, kind, .. } => {
            Err(Box::new(Outcome::document(
                &origin.file,
                origin.line,
                kind,
                Verdict::Skip,
                String::new(),
            )))
        }
        Document::Invalid { origin, error } => Err(Box::new(Outcome::document(
            &origin.file,
            origin.line,
            "",
            Verdict::Invalid,
            error.clone(),
        ))),
    }
}

/// A workload document's fields, but its request, which the mutating policies patch.
struct Workload<'a> {
    origin: &'a Origin,
    kind: WorkloadKind,
    name: &'a str,
    namespace: &'a str,
    source: &'a Source,
    namespace_written: bool,
}

impl Workload<'_> {
    /// The outcome of `policy`'s `answer` on the final `request`, with its findings and waivers
    /// placed on their lines.
    fn outcome(
        &self,
        request: &Value,
        policy: &Deployed,
        answer: Answer,
        assumed: Vec<String>,
        mutations: &[String],
    ) -> Outcome {
        let (origin, source) = (self.origin, self.source);
        let mut findings = Vec::new();
        let mut all_waivers = Vec::new();
        for (prefix, annotations) in &answer.annotations {
            findings.extend(findings_of(annotations, prefix, source, origin.line));
            all_waivers.extend(waivers(annotations, source, origin.line));
        }
        Outcome {
            file: origin.file.clone(),
            line: origin.line,
            api_version: request["object"]["apiVersion"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            kind: self.kind.name().to_owned(),
            name: self.name.to_owned(),
            namespace: self.namespace.to_owned(),
            policy: policy.name.clone(),
            unique_name: policy.unique_name.clone(),
            module: policy.module.clone(),
            controls: policy.controls.clone(),
            severity: if policy.monitor {
                "info".to_owned()
            } else {
                policy.severity.clone()
            },
            category: policy.category.clone(),
            verdict: answer.verdict,
            message: answer.message,
            warnings: other_warnings(answer.warnings, &findings),
            findings,
            waivers: all_waivers,
            assumed,
            operation: request["operation"].as_str().unwrap_or_default().to_owned(),
            mutations: mutations.to_vec(),
        }
    }
}

/// The request as judged: an UPDATE of what the cluster runs (`--base`) when it runs this
/// workload, else the CREATE request itself. Copied only when it is an UPDATE (or, later, when
/// a mutating policy patches it).
fn as_update<'a>(request: &'a Value, base: &Base) -> std::borrow::Cow<'a, Value> {
    if !base.is_empty() {
        let mut update = request.clone();
        if base.as_update(&mut update) {
            return std::borrow::Cow::Owned(update);
        }
    }
    std::borrow::Cow::Borrowed(request)
}

/// A validating or mutating policy's answer, with what it assumed of the workload.
type Said<'a> = (&'a Deployed, Answer, Vec<String>);

/// What the deployed policies said of one workload, policy by policy, in order.
#[derive(Default)]
struct Passes<'a> {
    /// The validating policies' answers, in order.
    judged: Vec<Said<'a>>,
    /// The mutating policies whose host calls an offline scan refused.
    unchecked_mutators: Vec<Said<'a>>,
    /// The modules whose validating policy reported such a refusal.
    refused_modules: std::collections::BTreeSet<&'a str>,
    /// What the mutating policies changed before the validating ones judged, one line each.
    mutations: Vec<String>,
}

impl<'a> Passes<'a> {
    /// Asks `policy` (through `judge`, its sessions) about `request` (and its JSON `text`): a
    /// validating policy's answer is kept, a mutating policy's patch is applied to both.
    fn pass(
        &mut self,
        policy: &'a Deployed,
        judge: &Judge,
        unanswered: &Unanswered,
        (request, text): (&mut std::borrow::Cow<'_, Value>, &mut String),
        assumed: Vec<String>,
    ) -> Result<()> {
        let mut answer = answer_of(policy, judge, request, text)?;
        // A check not made is an error, whatever the policy made of the refusal.
        let (refused, why) = unanswered.take();
        if !refused.is_empty() {
            answer.not_checked(&policy.name, &refused, why, &request["object"]);
        }
        if !policy.mutating {
            if !refused.is_empty() {
                self.refused_modules.insert(policy.module.as_str());
            }
            self.judged.push((policy, answer, assumed));
            return Ok(());
        }
        if let Some(operations) = &answer.patch {
            self.mutations
                .extend(describe_patch(&policy.name, operations));
            let patch: json_patch::Patch = serde_json::from_value(operations.clone())?;
            json_patch::patch(&mut request.to_mut()["object"], &patch)
                .with_context(|| format!("{}: its patch does not apply", policy.name))?;
            *text = serde_json::to_string(&**request)?;
        }
        // Its fix is applied; its checks are its validating twin's, which reports them on the
        // final object, as in the cluster's audit. A check it could not make is reported
        // below, unless its twin reports the same kind of error.
        if !refused.is_empty() {
            self.unchecked_mutators.push((policy, answer, assumed));
        }
        Ok(())
    }
}

/// What `policy` answers to `request` (its JSON `text`): its session's answer, or its group's.
fn answer_of(policy: &Deployed, judge: &Judge, request: &Value, text: &str) -> Result<Answer> {
    match (judge, &policy.evaluator) {
        (Judge::Single(session), _) => {
            Answer::of(session.evaluate_text(request, text), policy.monitor)
        }
        (
            Judge::Group(sessions),
            Evaluator::Group {
                expression,
                message,
                members,
            },
        ) => group_answer(
            policy, expression, message, members, sessions, request, text,
        ),
        (Judge::Group(_), Evaluator::Single { .. }) => {
            anyhow::bail!("{}: a group's sessions for a single policy", policy.name)
        }
    }
}

/// One line per JSON Patch operation: `<policy>: <op> <path>` and, for a value that is text or a
/// number, `= <value>`.
fn describe_patch(policy: &str, operations: &Value) -> Vec<String> {
    operations
        .as_array()
        .into_iter()
        .flatten()
        .map(|operation| {
            let text = |key: &str| operation[key].as_str().unwrap_or_default().to_owned();
            let value = match &operation["value"] {
                Value::String(text) => format!(" = {text:?}"),
                Value::Number(number) => format!(" = {number}"),
                Value::Bool(flag) => format!(" = {flag}"),
                _ => String::new(),
            };
            format!("{policy}: {} {}{value}", text("op"), text("path"))
        })
        .collect()
}

fn verdict_of(response: &AdmissionResponse, monitor: bool) -> Verdict {
    let code = response.status.as_ref().and_then(|s| s.code);
    let warned = response.warnings.as_ref().is_some_and(|w| !w.is_empty());
    if response.allowed {
        if warned { Verdict::Warn } else { Verdict::Pass }
    } else if code == Some(500) {
        Verdict::Error
    } else if monitor {
        Verdict::Warn
    } else {
        Verdict::Fail
    }
}

/// The `violations` audit annotation, each placed on its line; a group member's controls are
/// prefixed with its name.
fn findings_of(
    annotations: &BTreeMap<String, String>,
    prefix: &str,
    source: &Source,
    line: usize,
) -> Vec<Finding> {
    let Some(text) = annotations.get("violations") else {
        return Vec::new();
    };
    let mut findings: Vec<Finding> = serde_json::from_str(text).unwrap_or_default();
    for finding in &mut findings {
        finding.control = format!("{prefix}{}", finding.control);
        finding.line = source.line_of(line, &finding.path);
    }
    findings
}

/// The warnings that do not restate a finding (a rejecting policy of this bundle also warns
/// once per violation, `<policy>: [<control>] <path>…`).
fn other_warnings(warnings: Vec<String>, findings: &[Finding]) -> Vec<String> {
    warnings
        .into_iter()
        .filter(|warning| {
            !findings.iter().any(|f| {
                let control = f.control.rsplit('.').next().unwrap_or_default();
                warning
                    .split_once(": ")
                    .is_some_and(|(_, rest)| rest.starts_with(&format!("[{control}] {}", f.path)))
            })
        })
        .collect()
}

/// The `exceptions-applied` and `exceptions-expired` audit annotations.
fn waivers(annotations: &BTreeMap<String, String>, source: &Source, line: usize) -> Vec<Waiver> {
    let mut waivers = Vec::new();
    for (key, expired) in [("exceptions-applied", false), ("exceptions-expired", true)] {
        let Some(text) = annotations.get(key) else {
            continue;
        };
        let entries: Vec<Value> = serde_json::from_str(text).unwrap_or_default();
        for entry in entries {
            let text = |field: &str| entry[field].as_str().map(str::to_owned);
            waivers.push(Waiver {
                exception: entry["exception"]
                    .as_u64()
                    .and_then(|i| usize::try_from(i).ok())
                    .unwrap_or_default(),
                control: text("control").unwrap_or_default(),
                line: source.line_of(line, &text("path").unwrap_or_default()),
                path: text("path").unwrap_or_default(),
                container: text("container"),
                reason: text("reason").unwrap_or_default(),
                expires: text("expires"),
                expired,
            });
        }
    }
    waivers
}
