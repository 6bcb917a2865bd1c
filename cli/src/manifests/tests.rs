//! The reader on hand-written streams: every document the parser counts is judged, skipped or
//! unreadable, with its line.

use serde::Deserialize;

use super::*;

/// What became of each document: `W kind` (a workload), `S kind` (skipped), `I line` (unreadable).
fn summary(documents: &[Document]) -> Vec<String> {
    documents
        .iter()
        .map(|document| match document {
            Document::Workload { kind, origin, .. } => {
                format!("W {} @{}", kind.name(), origin.line)
            }
            // Not judged either way.
            Document::Object { kind, origin, .. } | Document::Skipped { kind, origin } => {
                format!("S {kind} @{}", origin.line)
            }
            Document::Invalid { origin, .. } => format!("I @{}", origin.line),
        })
        .collect()
}

fn error_of(document: &Document) -> &str {
    match document {
        Document::Invalid { error, .. } => error,
        other => panic!("not unreadable: {other:?}"),
    }
}

#[test]
fn documents_lists_and_errors_keep_their_file_and_line() {
    let text = "\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec: {template: {spec: {containers: [{name: a, image: nginx}]}}}
---
# a comment only
---
apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Pod, metadata: {name: p, namespace: shop}, spec: {containers: []}}
- {apiVersion: v1, kind: Service, metadata: {name: s}}
---
apiVersion: v1
kind: Pod
metadata: {name: [broken
";
    let documents = read_text("app.yaml", text);
    assert_eq!(
        summary(&documents),
        [
            "W Deployment @1",
            "S  @5",
            "W Pod @8",
            "S Service @8",
            "I @16"
        ],
        "{documents:#?}"
    );
    match &documents[0] {
        Document::Workload {
            namespace, request, ..
        } => {
            assert_eq!(namespace, DEFAULT_NAMESPACE);
            assert_eq!(request["operation"], "CREATE");
            assert_eq!(request["resource"]["resource"], "deployments");
            assert_eq!(request["object"]["metadata"]["namespace"], "default");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(&documents[2], Document::Workload { namespace, .. } if namespace == "shop"));
    let Document::Invalid { origin, error } = &documents[4] else {
        panic!()
    };
    assert_eq!(origin.file, "app.yaml");
    assert_eq!(origin.document, 3, "the fourth document");
    assert!(error.contains("not YAML"), "{error}");
}

#[test]
fn a_custom_resource_named_like_a_workload_is_an_object_not_a_workload() {
    let documents = read_text(
        "crd.yaml",
        "{\"apiVersion\": \"example.com/v1\", \"kind\": \"Deployment\", \"metadata\": {\"name\": \"x\"}}",
    );
    assert!(
        matches!(&documents[0], Document::Object { kind, object, .. } if kind == "Deployment" && object["apiVersion"] == "example.com/v1")
    );
}

const POD: &str = "{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {\"name\": \"p\"}, \"spec\": {\"containers\": [{\"name\": \"a\", \"image\": \"nginx\", \"securityContext\": {\"privileged\": true}}]}}";

/// Issue 29: `--- {…}`, `--- !!map` and `--- # comment` documents were thrown away with their
/// separator line.
#[test]
fn content_on_the_separator_line_is_read() {
    let text = format!(
        "--- {POD}\n--- !!map\napiVersion: v1\nkind: Pod\nmetadata: {{name: q}}\nspec: {{containers: []}}\n--- # the third\napiVersion: v1\nkind: Pod\nmetadata: {{name: r}}\nspec: {{containers: []}}\n"
    );
    assert_eq!(
        summary(&read_text("f.yaml", &text)),
        ["W Pod @1", "W Pod @2", "W Pod @8"]
    );
}

#[test]
fn end_markers_directives_bom_and_crlf() {
    let text = "\u{feff}%YAML 1.2\r\n---\r\napiVersion: v1\r\nkind: Pod\r\nmetadata: {name: a}\r\nspec: {containers: []}\r\n...\r\n# between\r\n---\r\n...\r\napiVersion: v1\r\nkind: ConfigMap\r\nmetadata: {name: c}\r\n...\r\n";
    assert_eq!(
        summary(&read_text("f.yaml", text)),
        ["W Pod @3", "S  @9", "S ConfigMap @11"]
    );
}

#[test]
fn an_empty_list_is_skipped_and_items_that_are_not_a_list_are_unreadable() {
    let documents = read_text(
        "f.yaml",
        "apiVersion: v1\nkind: List\nitems: []\n---\napiVersion: v1\nkind: List\nitems: {a: 1}\n",
    );
    assert_eq!(summary(&documents), ["S List @1", "I @5"]);
    assert!(error_of(&documents[1]).contains("items is not a list"));
}

#[test]
fn scalars_read_as_kubectl_reads_them() {
    let documents = read_text(
        "f.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: nginx\n    securityContext: {privileged: yes, runAsUser: 0}\n  volumes:\n  - name: s\n    secret: {secretName: s, defaultMode: 0644}\n",
    );
    let Document::Workload { request, .. } = &documents[0] else {
        panic!("{documents:?}")
    };
    let spec = &request["object"]["spec"];
    assert_eq!(
        spec["containers"][0]["securityContext"]["privileged"],
        json!(true)
    );
    assert_eq!(spec["volumes"][0]["secret"]["defaultMode"], json!(420));
}

#[test]
fn ambiguous_documents_are_unreadable_and_the_next_one_is_read() {
    for (bad, reason) in [
        (
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {hostPID: false, hostPID: true}\n",
            "written twice",
        ),
        (
            "x: &p {privileged: true}\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    securityContext:\n      privileged: false\n      <<: *p\n",
            "merged",
        ),
        ("kind: !secret Pod\n", "!secret"),
        ("{[a]: 1}\n", "key"),
        ("a: .nan\n", "JSON"),
        ("a: &x [*x]\n", "not complete"),
    ] {
        let text = format!("{bad}---\n{POD}\n");
        let documents = read_text("f.yaml", &text);
        assert_eq!(documents.len(), 2, "{bad}: {documents:?}");
        assert!(
            error_of(&documents[0]).contains(reason),
            "{bad}: {documents:?}"
        );
        assert!(
            documents[0].origin().line <= bad.lines().count(),
            "{documents:?}"
        );
        assert!(
            matches!(&documents[1], Document::Workload { .. }),
            "{bad}: the next document is read: {documents:?}"
        );
    }
    // An alias to no anchor is the parser's own error: the rest of the file is not read.
    let documents = read_text("f.yaml", &format!("a: *nothing\n---\n{POD}\n"));
    assert_eq!(documents.len(), 1);
    assert!(error_of(&documents[0]).contains("unknown anchor"));
}

#[test]
fn merge_keys_are_applied_as_kubectl_applies_them() {
    let text = "\
x-hardened: &hardened
  allowPrivilegeEscalation: false
  privileged: false
x-root: &root
  privileged: true
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
  - name: a
    image: nginx
    securityContext:
      <<: [*root, *hardened]
      runAsUser: 0
";
    let documents = read_text("f.yaml", text);
    let Document::Workload { request, .. } = &documents[0] else {
        panic!("{documents:?}")
    };
    assert_eq!(
        request["object"]["spec"]["containers"][0]["securityContext"],
        json!({"privileged": true, "allowPrivilegeEscalation": false, "runAsUser": 0}),
        "the earlier mapping of a merge wins, as in every YAML reader"
    );
}

#[test]
fn aliases_that_expand_without_bound_are_refused() {
    let mut text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n".to_owned();
    for level in 1..8 {
        let previous = format!("*a{}", level - 1);
        let items = [previous.as_str(); 10].join(", ");
        text.push_str(&format!("a{level}: &a{level} [{items}]\n"));
    }
    let documents = read_text("laughs.yaml", &text);
    assert!(error_of(&documents[0]).contains("aliases expand"));
}

#[test]
fn nesting_deeper_than_the_policies_read_is_refused() {
    let text = format!("{}{}\n", "[".repeat(200), "]".repeat(200));
    let documents = read_text("deep.yaml", &text);
    assert_eq!(documents.len(), 1);
    assert!(
        error_of(&documents[0]).contains("nested deeper"),
        "{documents:?}"
    );
}

#[test]
fn a_syntax_error_names_its_line_and_ends_the_file() {
    let documents = read_text("f.yaml", &format!("{POD}\n---\na: b: c\n---\n{POD}\n"));
    assert_eq!(summary(&documents), ["W Pod @1", "I @3"]);
    assert!(error_of(&documents[1]).contains("the rest of the file is not read"));
}

#[test]
fn admission_reviews_are_opened() {
    let text = format!(
        "{{\"apiVersion\": \"admission.k8s.io/v1\", \"kind\": \"AdmissionReview\", \"request\": {{\"operation\": \"CREATE\", \"object\": {POD}}}}}"
    );
    let documents = read_text("r.json", &text);
    let Document::Workload { source, origin, .. } = &documents[0] else {
        panic!("{documents:?}")
    };
    assert_eq!(source.prefix, "request.object");
    assert_eq!(source.line_of(origin.line, "spec.containers[0].image"), 1);
}

/// Issue 29 review: workloads in the older versions Kubernetes served them in are judged (the
/// request says the version written), a version that never served the kind is unreadable.
#[test]
fn older_api_versions_are_judged_and_unserved_ones_unreadable() {
    let text = "\
apiVersion: extensions/v1beta1
kind: Deployment
metadata: {name: old}
spec: {template: {spec: {containers: [{name: a, image: nginx, securityContext: {privileged: true}}]}}}
---
apiVersion: apps/v2
kind: Deployment
metadata: {name: future}
---
apiVersion: v1
kind: Deployment
metadata: {name: core}
---
kind: 5
";
    let documents = read_text("f.yaml", text);
    assert_eq!(
        summary(&documents),
        ["W Deployment @1", "I @6", "I @10", "I @14"]
    );
    let Document::Workload { request, .. } = &documents[0] else {
        panic!("{documents:?}")
    };
    // As the API server sends it to a webhook registered for the current version
    // (`matchPolicy: Equivalent`): converted, so the deployed rules select it.
    assert_eq!(
        request["kind"],
        json!({"group": "apps", "version": "v1", "kind": "Deployment"})
    );
    assert_eq!(request["resource"]["version"], "v1");
    assert_eq!(request["object"]["apiVersion"], "apps/v1");
    assert_eq!(request["resource"]["resource"], "deployments");
    assert!(
        error_of(&documents[1]).contains("apps/v2"),
        "{}",
        error_of(&documents[1])
    );
    assert!(error_of(&documents[3]).contains("kind 5 is not a string"));
}

/// Issue 29 review: Kubernetes' decoder reads any document with `items` as a list, and gives an
/// item that states neither kind nor apiVersion the list's kind without `List`.
#[test]
fn lists_are_read_as_kubernetes_decodes_them() {
    let text = "\
apiVersion: v1
kind: PodList
items:
- {metadata: {name: inferred}, spec: {containers: []}}
- {kind: Service, apiVersion: v1, metadata: {name: s}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: wrapper}
items:
- {apiVersion: v1, kind: Pod, metadata: {name: inside}, spec: {containers: []}}
---
apiVersion: v1
kind: List
items:
- {metadata: {name: no-kind}}
";
    let text = format!("{text}---\napiVersion: v1\nkind: List\nitems: [7]\n");
    let documents = read_text("f.yaml", &text);
    assert_eq!(
        summary(&documents),
        ["W Pod @1", "S Service @1", "W Pod @7", "S  @13", "I @18"]
    );
    let Document::Workload { name, request, .. } = &documents[0] else {
        panic!("{documents:?}")
    };
    assert_eq!(name, "inferred");
    assert_eq!(request["object"]["apiVersion"], "v1");
}

/// Issue 29 review: a workload with a `request` or `operation` field is that workload, not an
/// AdmissionReview hiding another object.
#[test]
fn a_workload_with_wrapper_fields_is_judged_itself() {
    let config_map =
        "{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"c\"}}";
    let with_request = POD.replacen(
        '{',
        &format!("{{\"request\": {{\"object\": {config_map}}}, "),
        1,
    );
    let with_operation = POD.replacen(
        '{',
        &format!("{{\"operation\": \"CREATE\", \"object\": {config_map}, "),
        1,
    );
    for text in [with_request, with_operation] {
        assert_eq!(summary(&read_text("f.json", &text)), ["W Pod @1"], "{text}");
    }
    let request = format!(
        "{{\"kind\": {{\"group\": \"\", \"version\": \"v1\", \"kind\": \"Pod\"}}, \"operation\": \"CREATE\", \"object\": {POD}}}"
    );
    assert_eq!(summary(&read_text("r.json", &request)), ["W Pod @1"]);
    // An object that is not one cannot be read; a review without one has nothing to judge.
    let reviews = "{\"apiVersion\": \"admission.k8s.io/v1\", \"kind\": \"AdmissionReview\", \"request\": {\"operation\": \"CREATE\", \"object\": \"Pod\"}}\n---\n{\"apiVersion\": \"admission.k8s.io/v1\", \"kind\": \"AdmissionReview\", \"request\": {\"operation\": \"DELETE\", \"object\": null}}";
    let documents = read_text("r.yaml", reviews);
    assert_eq!(summary(&documents), ["I @1", "S AdmissionReview @3"]);
    assert!(error_of(&documents[0]).contains("request.object is not an object"));
    // The policies judge what request.kind says: an object that does not say is that.
    let bare = "{\"metadata\": {\"name\": \"b\"}, \"spec\": {\"containers\": []}}";
    let request = format!(
        "{{\"kind\": {{\"group\": \"apps\", \"version\": \"v1\", \"kind\": \"Deployment\"}}, \"operation\": \"CREATE\", \"object\": {bare}}}\n---\n{{\"apiVersion\": \"admission.k8s.io/v1\", \"kind\": \"AdmissionReview\", \"request\": {{\"kind\": {{\"group\": \"\", \"version\": \"v1\", \"kind\": \"Pod\"}}, \"operation\": \"CREATE\", \"object\": {bare}}}}}"
    );
    assert_eq!(
        summary(&read_text("r.yaml", &request)),
        ["W Deployment @1", "W Pod @3"]
    );
}

/// A deterministic generator (xorshift64*: no dependency, the same inputs every run).
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// One generated document: its text (after its separator) and what the reader must make of it.
fn generated_document(random: &mut Random, index: usize) -> (String, &'static str) {
    let kinds = [
        ("v1", "Pod", "W Pod"),
        ("apps/v1", "Deployment", "W Deployment"),
        ("batch/v1", "CronJob", "W CronJob"),
        ("v1", "ConfigMap", "S ConfigMap"),
    ];
    let (api, kind, expected) = kinds[random.below(kinds.len())];
    let spec = "{containers: [{name: a, image: nginx}]}";
    let body = match kind {
        "Pod" => format!("spec: {spec}"),
        "CronJob" => format!("spec: {{jobTemplate: {{spec: {{template: {{spec: {spec}}}}}}}}}"),
        "Deployment" => format!("spec:\n  template:\n    spec: {spec}"),
        _ => "data: {a: b}".to_owned(),
    };
    match random.below(6) {
        // An empty document, or one holding only comments.
        0 => ("# nothing here\n".to_owned(), "S "),
        // Flow style, on the separator's line when there is one.
        1 => (
            format!(
                "{{\"apiVersion\": \"{api}\", \"kind\": \"{kind}\", \"metadata\": {{\"name\": \"d{index}\"}}, \"spec\": {{\"containers\": [{{\"name\": \"a\", \"image\": \"nginx\"}}]}}}}\n"
            ),
            match kind {
                "Deployment" | "CronJob" | "Pod" => expected,
                _ => "S ConfigMap",
            },
        ),
        2 => (
            format!(
                "!!map\napiVersion: {api}\nkind: {kind}\nmetadata: {{name: d{index}}}\n{body}\n"
            ),
            expected,
        ),
        _ => (
            format!(
                "# document {index}\napiVersion: {api}\nkind: {kind}\nmetadata:\n  name: d{index}  # its name\n{body}\n"
            ),
            expected,
        ),
    }
}

/// A fixed number of generated streams: random separators (`---` alone, with a comment, with
/// content on its line, after `...`, with a directive), comments, empty documents, a byte
/// order mark, CRLF. The reader judges or skips exactly the documents a YAML parser counts (the
/// generator's own count, and libyaml's through yaml_serde), in order, each on its line.
#[test]
fn generated_streams_lose_no_document() {
    let mut random = Random(0x005e_ed0f_2029);
    for case in 0..400 {
        let mut text = String::new();
        let mut expected = Vec::new();
        if random.below(4) == 0 {
            text.push('\u{feff}');
        }
        let count = 1 + random.below(6);
        for index in 0..count {
            let (document, kind) = generated_document(&mut random, index);
            let flow_on_separator = document.starts_with('{') || document.starts_with('!');
            // Comments before the first `---` are no document of their own.
            let implicit = kind != "S " && !flow_on_separator;
            let separator = match (index, random.below(5)) {
                (0, 0 | 1) if implicit => "",
                (_, 0) => "---\n",
                (_, 1) => "--- # next\n",
                (_, 2) if flow_on_separator => "--- ",
                (_, 2) => "---   \n",
                (0, _) => "%YAML 1.1\n---\n",
                (_, _) => "...\n# after the end\n%YAML 1.1\n---\n",
            };
            text.push_str(separator);
            text.push_str(&document);
            expected.push(kind);
        }
        if random.below(3) == 0 {
            text.push_str("...\n");
        }
        if random.below(3) == 0 {
            text = text.replace('\n', "\r\n");
        }
        let documents = read_text("generated.yaml", &text);
        let found: Vec<String> = summary(&documents)
            .into_iter()
            .map(|s| s.split(" @").next().unwrap_or_default().to_owned())
            .collect();
        assert_eq!(found, expected, "case {case}: {text:?}");
        accounting::check(&text, &documents).unwrap_or_else(|e| panic!("case {case}: {e}"));
        // libyaml (yaml_serde) does not see a `---` right after a byte order mark.
        let libyaml = yaml_serde::Deserializer::from_str(text.trim_start_matches('\u{feff}'))
            .map(|document| yaml_serde::Value::deserialize(document).map(|_| ()))
            .collect::<Result<Vec<()>, _>>()
            .unwrap_or_else(|e| panic!("case {case}: libyaml: {e}: {text:?}"));
        assert_eq!(libyaml.len(), documents.len(), "case {case}: {text:?}");
        for document in &documents {
            if let Document::Workload { origin, source, .. } = document {
                let line = source.line_of(origin.line, "metadata.name");
                let written = text.lines().nth(line - 1).unwrap_or_default();
                assert!(
                    written.contains(&format!("d{}", origin.document)),
                    "case {case}: the name of document {} is not on line {line} ({written:?}): {text:?}",
                    origin.document
                );
            }
        }
    }
}

/// JSON's surrogate-pair escapes (an emoji as `json.dump` writes it) are read as the character,
/// in a whole JSON text only; an escaped backslash before `u` is not an escape.
#[test]
fn json_surrogate_pairs_are_read_as_their_character() {
    let json = "{\n  \"a\": \"\\ud83d\\ude00 \\u00e9\",\n  \"b\": \"\\\\ud83d\\\\ude00\"\n}\n";
    let read = super::yaml::documents("request.json", json).expect("reads");
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].1["a"], "\u{1F600} \u{e9}");
    assert_eq!(read[0].1["b"], "\\ud83d\\ude00");
    // A lone surrogate is not a character: still refused, naming the line.
    let lone = "{\n  \"a\": \"\\ud83d\"\n}\n";
    let error = super::yaml::documents("lone.json", lone).expect_err("refused");
    assert!(error.starts_with("lone.json:"), "{error}");
    // In YAML (not a JSON text) nothing is rewritten.
    let yaml = "a: '\\ud83d\\ude00'\n";
    let read = super::yaml::documents("f.yaml", yaml).expect("reads");
    assert_eq!(read[0].1["a"], "\\ud83d\\ude00");
}
