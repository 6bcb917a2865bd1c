//! A policy's `spec.matchConditions`: CEL expressions the API server evaluates on the request
//! before it calls the webhook (Kubernetes `AdmissionWebhookMatchConditions`): any `false`
//! skips the policy, all `true` call it. A scan evaluates them on the request it builds.
//!
//! Some conditions cannot be decided from files: who sends the request (`request.userInfo`),
//! what they may do (`authorizer`), a parameter object (`params`), or a CEL function this
//! evaluator lacks. Such a condition is taken as true (the policy is judged: a scan never leaves
//! out a policy it cannot rule out) and every result of the policy says so.

use anyhow::{Result, bail};
use cel_interpreter::{Context, Program};
use serde::Deserialize;
use serde_json::Value;

/// The conditions of one policy, compiled once.
#[derive(Default)]
pub struct MatchConditions(Vec<Condition>);

struct Condition {
    name: String,
    program: Program,
    /// Why it cannot be decided from files, if so.
    undecidable: Option<&'static str>,
    /// It indexes a map or list (`[…]`).
    indexes: bool,
}

/// What the conditions make of a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Matched {
    /// Every condition holds: the API server calls the policy.
    Yes,
    /// This condition is false: the API server skips the policy.
    No(String),
    /// None is false, but these could not be decided (one line each, naming the condition).
    Assumed(Vec<String>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Written {
    name: String,
    expression: String,
}

impl MatchConditions {
    /// Reads `spec.matchConditions` (absent or null: none). A condition that does not compile
    /// is an error, as the API server refuses the policy.
    pub fn read(conditions: Option<&Value>) -> Result<Self> {
        let Some(conditions) = conditions.filter(|c| !c.is_null()) else {
            return Ok(Self::default());
        };
        let written: Vec<Written> = serde_json::from_value(conditions.clone())
            .map_err(|error| anyhow::anyhow!("spec.matchConditions: {error}"))?;
        let mut read = Vec::new();
        for (index, condition) in written.into_iter().enumerate() {
            let at = format!("spec.matchConditions[{index}] ({})", condition.name);
            if read.iter().any(|r: &Condition| r.name == condition.name) {
                bail!("{at}: the name is used twice");
            }
            let program = Program::compile(&condition.expression)
                .map_err(|error| anyhow::anyhow!("{at}: the expression is not CEL: {error}"))?;
            let references = program.references();
            let undecidable = if references.has_variable("authorizer") {
                Some("it asks the authorizer, which a scan does not have")
            } else if references.has_variable("params") {
                Some("it reads a parameter object, which a scan does not have")
            } else if condition.expression.contains("userInfo") {
                Some(
                    "it reads request.userInfo, and a scan does not know who will apply the manifest",
                )
            } else if condition.expression.contains("dryRun") {
                Some(
                    "it reads request.dryRun, and a scan does not know how the manifest will be applied",
                )
            } else {
                None
            };
            // This evaluator gives `false` where the API server's CEL fails on a missing map
            // key (`labels['risk']`): an indexed condition that comes out false is not trusted.
            let indexes = condition.expression.contains('[');
            read.push(Condition {
                name: condition.name,
                program,
                undecidable,
                indexes,
            });
        }
        Ok(Self(read))
    }

    /// Evaluates every condition on `request` (an AdmissionRequest with `object` and, on
    /// UPDATE, `oldObject`).
    pub fn evaluate(&self, request: &Value) -> Matched {
        if self.0.is_empty() {
            return Matched::Yes;
        }
        let mut assumed = Vec::new();
        let context = match context_of(request) {
            Ok(context) => context,
            Err(error) => {
                return Matched::Assumed(vec![format!(
                    "matchConditions not evaluated ({error}): taken as met"
                )]);
            }
        };
        for condition in &self.0 {
            let name = &condition.name;
            if let Some(why) = condition.undecidable {
                assumed.push(format!("matchCondition {name} taken as met: {why}"));
                continue;
            }
            match condition.program.execute(&context) {
                Ok(cel_interpreter::Value::Bool(true)) => {}
                Ok(cel_interpreter::Value::Bool(false)) if condition.indexes => assumed.push(format!(
                    "matchCondition {name} taken as met: it came out false, but it indexes a map, and where the key is missing the API server fails the condition (and applies failurePolicy) instead"
                )),
                Ok(cel_interpreter::Value::Bool(false)) => return Matched::No(name.clone()),
                Ok(other) => assumed.push(format!(
                    "matchCondition {name} taken as met: it returned {other:?}, not a bool"
                )),
                Err(error) => assumed.push(format!(
                    "matchCondition {name} taken as met: it could not be evaluated here ({error}); the API server applies the policy's failurePolicy to an error"
                )),
            }
        }
        if assumed.is_empty() {
            Matched::Yes
        } else {
            Matched::Assumed(assumed)
        }
    }
}

/// `object`, `oldObject` (null on CREATE) and `request` (the request's attributes without the
/// objects), as the API server binds them.
fn context_of(request: &Value) -> Result<Context<'static>, String> {
    let mut context = Context::default();
    let mut attributes = request.clone();
    let mut take = |key: &str| {
        attributes
            .as_object_mut()
            .and_then(|fields| fields.remove(key))
            .unwrap_or(Value::Null)
    };
    let (object, old_object) = (take("object"), take("oldObject"));
    for (name, value) in [
        ("object", object),
        ("oldObject", old_object),
        ("request", attributes),
    ] {
        let value = cel_interpreter::to_value(value).map_err(|e| e.to_string())?;
        context.add_variable_from_value(name, value);
    }
    Ok(context)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn conditions(value: Value) -> MatchConditions {
        MatchConditions::read(Some(&value)).expect("valid conditions")
    }

    fn request(labels: Value, operation: &str) -> Value {
        json!({
            "operation": operation,
            "namespace": "shop",
            "userInfo": {"username": "ci"},
            "object": {"metadata": {"name": "web", "labels": labels}},
            "oldObject": null,
        })
    }

    #[test]
    fn a_false_condition_skips_and_true_ones_match() {
        let conditions = conditions(json!([
            {"name": "not-system", "expression": "!request.namespace.startsWith('kube-')"},
            {"name": "not-exempt", "expression": "!has(object.metadata.labels.exempt)"},
            {"name": "create", "expression": "request.operation == 'CREATE' && oldObject == null"},
        ]));
        assert_eq!(
            conditions.evaluate(&request(json!({"app": "web"}), "CREATE")),
            Matched::Yes
        );
        assert_eq!(
            conditions.evaluate(&request(json!({"exempt": "yes"}), "CREATE")),
            Matched::No("not-exempt".into())
        );
        assert_eq!(
            conditions.evaluate(&request(json!({}), "UPDATE")),
            Matched::No("create".into())
        );
        let mut system = request(json!({}), "CREATE");
        system["namespace"] = json!("kube-system");
        assert_eq!(
            conditions.evaluate(&system),
            Matched::No("not-system".into())
        );
    }

    #[test]
    fn what_a_scan_cannot_know_is_assumed_and_said() {
        let conditions = conditions(json!([
            {"name": "humans", "expression": "!request.userInfo.username.startsWith('system:')"},
            {"name": "authz", "expression": "authorizer.group('').resource('pods').check('get').allowed()"},
            {"name": "unknown-function", "expression": "object.metadata.name.lowerAscii() == 'web'"},
        ]));
        let Matched::Assumed(notes) = conditions.evaluate(&request(json!({}), "CREATE")) else {
            panic!("assumed");
        };
        assert_eq!(notes.len(), 3, "{notes:?}");
        assert!(
            notes[0].contains("humans") && notes[0].contains("userInfo"),
            "{notes:?}"
        );
        assert!(notes[1].contains("authorizer"), "{notes:?}");
        assert!(notes[2].contains("unknown-function"), "{notes:?}");
        // An indexed condition that comes out false is not trusted (a missing key is an error
        // in the API server); read by request.dryRun neither.
        let guarded = self::conditions(json!([
            {"name": "risky", "expression": "object.metadata.labels['risk'] == 'high'"},
            {"name": "real", "expression": "!request.dryRun"},
        ]));
        let Matched::Assumed(notes) = guarded.evaluate(&request(json!({}), "CREATE")) else {
            panic!("assumed");
        };
        assert!(
            notes[0].contains("risky") && notes[1].contains("dryRun"),
            "{notes:?}"
        );
        // A false condition still decides.
        let mixed = self::conditions(json!([
            {"name": "humans", "expression": "request.userInfo.username != 'x'"},
            {"name": "never", "expression": "false"},
        ]));
        assert_eq!(
            mixed.evaluate(&request(json!({}), "CREATE")),
            Matched::No("never".into())
        );
    }

    #[test]
    fn conditions_the_api_server_would_refuse_are_errors_naming_them() {
        for (value, expected) in [
            (
                json!([{"name": "a", "expression": "object.metadata.("}]),
                "spec.matchConditions[0] (a): the expression is not CEL",
            ),
            (
                json!([{"name": "a", "expression": "true"}, {"name": "a", "expression": "true"}]),
                "spec.matchConditions[1] (a): the name is used twice",
            ),
            (
                json!([{"expression": "true"}]),
                "spec.matchConditions: missing field `name`",
            ),
        ] {
            let error = MatchConditions::read(Some(&value))
                .err()
                .expect("refused")
                .to_string();
            assert!(error.starts_with(expected), "{error}");
        }
        assert_eq!(
            MatchConditions::read(None).unwrap().evaluate(&json!({})),
            Matched::Yes
        );
    }
}
