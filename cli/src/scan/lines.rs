//! The line of a field in a manifest's text, so a finding points at
//! `securityContext.privileged: true` and not only at the document. Block-style YAML (what
//! people, Helm and Kustomize write) is followed key by key and item by item; where the path
//! enters flow style or JSON arrays, the line of the deepest field found is the answer.

/// One step of a field path.
#[derive(Debug, PartialEq, Eq)]
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// Splits `spec.containers[0].securityContext` and `metadata.annotations[a.b/c]`.
fn steps(path: &str) -> Vec<Step<'_>> {
    let mut steps = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('[') {
            let Some(end) = after.find(']') else { break };
            let inside = &after[..end];
            steps.push(match inside.parse() {
                Ok(index) => Step::Index(index),
                Err(_) => Step::Key(inside),
            });
            rest = &after[end + 1..];
        } else {
            let rest_trimmed = rest.strip_prefix('.').unwrap_or(rest);
            let end = rest_trimmed.find(['.', '[']).unwrap_or(rest_trimmed.len());
            steps.push(Step::Key(&rest_trimmed[..end]));
            rest = &rest_trimmed[end..];
        }
    }
    steps
}

/// A meaningful line: its number in the file, indentation, and text after the indentation.
/// A `- item` line is split in two: the item marker, then the item's first line two columns
/// further in.
#[derive(Debug)]
struct Line<'a> {
    number: usize,
    indent: usize,
    marker: bool,
    text: &'a str,
}

fn lines(text: &str, first_line: usize) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    for (offset, raw) in text.lines().enumerate() {
        let number = first_line + offset;
        let trimmed = raw.trim_start_matches(' ');
        // Blank lines, comments and JSON's bare brackets hold no field.
        if trimmed.is_empty()
            || trimmed.starts_with('#')
            || trimmed
                .chars()
                .all(|c| matches!(c, '{' | '}' | '[' | ']' | ',' | ' '))
        {
            continue;
        }
        let mut indent = raw.len() - trimmed.len();
        let mut text = trimmed;
        while let Some(item) = text
            .strip_prefix("- ")
            .or(if text == "-" { Some("") } else { None })
        {
            out.push(Line {
                number,
                indent,
                marker: true,
                text: "",
            });
            let inner = item.trim_start_matches(' ');
            indent += text.len() - inner.len();
            text = inner;
            if text.is_empty() {
                break;
            }
        }
        if !text.is_empty() {
            out.push(Line {
                number,
                indent,
                marker: false,
                text,
            });
        }
    }
    out
}

/// True when `text` is the line of mapping key `key` (`key:`, `"key":` or `'key':`).
fn is_key(text: &str, key: &str) -> bool {
    let rest = if let Some(quoted) = text.strip_prefix('"') {
        quoted.strip_prefix(key).and_then(|r| r.strip_prefix('"'))
    } else if let Some(quoted) = text.strip_prefix('\'') {
        quoted.strip_prefix(key).and_then(|r| r.strip_prefix('\''))
    } else {
        text.strip_prefix(key)
    };
    rest.map(str::trim_start)
        .is_some_and(|r| r == ":" || r.starts_with(": ") || r.starts_with(":\t"))
}

/// The line of `path` in a document whose text starts at `first_line` of its file; `prefix`
/// is where the object sits in the document (`items[3]` for an item of a `List`). Falls back
/// to the deepest field found, then to `first_line`.
pub fn line_of(text: &str, first_line: usize, prefix: &str, path: &str) -> usize {
    let all = lines(text, first_line);
    let mut range = &all[..];
    let mut found = first_line;
    let mut wanted = steps(prefix);
    wanted.extend(steps(path));
    for step in wanted {
        let Some(first) = range.first() else { break };
        let level = first.indent;
        match step {
            Step::Key(key) => {
                let Some(at) = range
                    .iter()
                    .position(|l| !l.marker && l.indent == level && is_key(l.text, key))
                else {
                    break;
                };
                found = range[at].number;
                // The value: deeper lines, and the items of a sequence written at the key's
                // own indentation.
                let end = range[at + 1..]
                    .iter()
                    .position(|l| l.indent < level || (l.indent == level && !l.marker))
                    .map_or(range.len(), |p| at + 1 + p);
                range = &range[at + 1..end];
            }
            Step::Index(index) => {
                let Some(marker_indent) = range.iter().find(|l| l.marker).map(|l| l.indent) else {
                    break;
                };
                let markers: Vec<usize> = range
                    .iter()
                    .enumerate()
                    .filter(|(_, l)| l.marker && l.indent == marker_indent)
                    .map(|(i, _)| i)
                    .collect();
                let Some(&start) = markers.get(index) else {
                    break;
                };
                found = range[start].number;
                let end = markers.get(index + 1).copied().unwrap_or(range.len());
                range = &range[start + 1..end];
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEPLOYMENT: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations:
    container.apparmor.security.beta.kubernetes.io/app: unconfined
spec:
  template:
    spec:
      # the app and its sidecar
      containers:
      - name: app
        image: nginx
      - name: sidecar
        image: envoy
        securityContext:
          privileged: true
          capabilities:
            add: [NET_ADMIN]
      volumes:
        - name: host
          hostPath: {path: /var/run}
";

    #[test]
    fn follows_keys_and_items_in_block_yaml() {
        let at = |path| line_of(DEPLOYMENT, 10, "", path);
        assert_eq!(
            at("spec.template.spec.containers[1].securityContext.privileged"),
            26
        );
        assert_eq!(at("spec.template.spec.containers[0]"), 21);
        assert_eq!(at("spec.template.spec.containers[1].image"), 24);
        assert_eq!(
            at("spec.template.spec.containers[1].securityContext.capabilities.add"),
            28
        );
        assert_eq!(at("spec.template.spec.volumes[0].hostPath.path"), 31);
        assert_eq!(
            at("metadata.annotations[container.apparmor.security.beta.kubernetes.io/app]"),
            15
        );
    }

    #[test]
    fn falls_back_to_the_deepest_field_written() {
        let at = |path| line_of(DEPLOYMENT, 1, "", path);
        // `hostPath` is flow style: its line is the answer for anything inside.
        assert_eq!(at("spec.template.spec.volumes[0].hostPath.type"), 22);
        assert_eq!(at("spec.template.spec.containers[5].image"), 11);
        assert_eq!(at("spec.hostPID"), 7);
        assert_eq!(at("nothing.here"), 1);
    }

    #[test]
    fn list_items_and_json() {
        let list = "apiVersion: v1\nkind: List\nitems:\n- kind: Pod\n  spec:\n    hostPID: true\n- kind: Pod\n  spec:\n    hostIPC: true\n";
        assert_eq!(line_of(list, 1, "items[1]", "spec.hostIPC"), 9);
        assert_eq!(line_of(list, 1, "items[0]", "spec.hostPID"), 6);
        let json = "{\n  \"kind\": \"Pod\",\n  \"spec\": {\n    \"hostPID\": true\n  }\n}\n";
        // JSON's braces shift nothing: the keys are found by their quotes.
        assert_eq!(line_of(json, 1, "", "spec"), 3);
    }
}
