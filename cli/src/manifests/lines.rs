//! The line of a field in a manifest, so a finding points at `securityContext.privileged: true`
//! and not only at the document: the document is parsed again from where it starts (only when a
//! finding needs a line) and its events are followed key by key and item by item, in block or
//! flow style, YAML or JSON alike. A field the text does not write (a default, a merged key)
//! gets the line of the deepest field on its path that is written.

use saphyr_parser::{Event, Parser, ScalarStyle};

use super::scalar;
use super::yaml::Restart;

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

/// One open collection on the way down, and whether it is on the wanted path.
enum Open {
    /// A sequence: the index of its next item.
    Seq(usize),
    /// A mapping: the key just read (its text and line), if its value comes next.
    Map(Option<(String, usize)>),
}

struct Frame {
    open: Open,
    /// A collection written as a mapping key (on no path).
    is_key: bool,
    /// How many steps of the wanted path this collection's own path matches, when it matches
    /// all of its own steps.
    on_path: Option<usize>,
}

/// The line of `path` in the document that `restart` points at in `text`; `prefix` is where
/// the object sits in the document (`items[3]` for an item of a `List`, `request.object` in an
/// AdmissionReview). Falls back to the deepest field written on the path, then to `line`, the
/// document's own line.
pub fn line_of(text: &str, restart: Restart, line: usize, prefix: &str, path: &str) -> usize {
    let mut wanted = steps(prefix);
    wanted.extend(steps(path));
    let Some(rest) = text.get(restart.offset..) else {
        return line;
    };
    // Lines in `rest` count from the restart's line.
    let absolute = |relative: usize| restart.line + relative.saturating_sub(1);
    let mut parser = Parser::new_from_str(rest);
    let mut walk = Walk {
        wanted,
        stack: Vec::new(),
        found: line,
    };
    let mut started = false;
    while let Some(Ok((event, span))) = parser.next_event() {
        let at = absolute(span.start.line());
        let done = match event {
            Event::DocumentStart(_) if started => true,
            Event::DocumentStart(_) => {
                started = true;
                false
            }
            Event::DocumentEnd | Event::StreamEnd => true,
            Event::Scalar(value, style, _, _) => walk.scalar(&value, style, at),
            Event::Alias(_) => {
                walk.alias(at);
                false
            }
            Event::SequenceStart(..) => walk.open(Open::Seq(0), at),
            Event::MappingStart(..) => walk.open(Open::Map(None), at),
            Event::SequenceEnd | Event::MappingEnd => walk.close(at),
            Event::StreamStart | Event::Nothing => false,
        };
        if done {
            break;
        }
    }
    walk.found
}

/// Following one document's events down the wanted path. Each event handler says whether the
/// walk is done (the path is found, or nothing deeper on it can follow).
struct Walk<'a> {
    wanted: Vec<Step<'a>>,
    /// The collections open around the current event, outermost first.
    stack: Vec<Frame>,
    /// The line of the deepest node on the path read so far.
    found: usize,
}

impl Walk<'_> {
    /// The node an event at line `at` starts, placed in its parent: how many wanted steps its
    /// path matches, and the line it is written on (a map value's is its key's); `None` for a
    /// mapping's value whose key is missing.
    fn place(&mut self, at: usize) -> Option<(Option<usize>, usize)> {
        let Some(parent) = self.stack.last_mut() else {
            return Some((Some(0), at));
        };
        let depth = parent.on_path;
        let wanted = &self.wanted;
        match &mut parent.open {
            Open::Seq(next) => {
                let index = *next;
                *next += 1;
                let on = depth.filter(|&d| wanted.get(d) == Some(&Step::Index(index)));
                Some((on.map(|d| d + 1), at))
            }
            Open::Map(key) => {
                let (name, key_line) = key.take()?;
                let on = depth.filter(|&d| wanted.get(d) == Some(&Step::Key(&name)));
                Some((on.map(|d| d + 1), key_line))
            }
        }
    }

    /// A scalar: a mapping's key (remembered for its value), or a node on the path.
    fn scalar(&mut self, value: &str, style: ScalarStyle, at: usize) -> bool {
        if let Some(Frame {
            open: Open::Map(key @ None),
            ..
        }) = self.stack.last_mut()
        {
            *key = Some((scalar::key(value, style), at));
            return false;
        }
        if let Some((Some(on), written)) = self.place(at) {
            self.found = written;
            return on == self.wanted.len();
        }
        false
    }

    /// An alias: a node on the path (its line is where the alias is written).
    fn alias(&mut self, at: usize) {
        if let Some((Some(_), written)) = self.place(at) {
            self.found = written;
        }
    }

    /// A sequence or mapping starts (`open`): placed like any node, then opened.
    fn open(&mut self, open: Open, at: usize) -> bool {
        let key_pending = matches!(
            self.stack.last(),
            Some(Frame {
                open: Open::Map(None),
                ..
            })
        );
        // A collection as a key is on no path.
        let on_path = if key_pending {
            None
        } else {
            match self.place(at) {
                Some((on, written)) => {
                    if on.is_some() {
                        self.found = written;
                    }
                    on
                }
                None => None,
            }
        };
        if on_path == Some(self.wanted.len()) {
            return true;
        }
        self.stack.push(Frame {
            open,
            is_key: key_pending,
            on_path,
        });
        false
    }

    /// A sequence or mapping ends: leaving the deepest collection on the path ends the walk.
    fn close(&mut self, at: usize) -> bool {
        let Some(closed) = self.stack.pop() else {
            return true;
        };
        if closed.on_path.is_some() {
            // Left the deepest collection on the path: nothing deeper follows.
            return true;
        }
        // A collection that was a key: its mapping now waits for the value.
        if closed.is_key
            && let Some(Frame {
                open: Open::Map(key),
                ..
            }) = self.stack.last_mut()
        {
            *key = Some((String::new(), at));
        }
        false
    }
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

    const START: Restart = Restart { offset: 0, line: 1 };

    #[test]
    fn follows_keys_and_items_in_block_yaml() {
        // The document as if it started on line 10 of its file.
        let restart = Restart {
            offset: 0,
            line: 10,
        };
        let at = |path| line_of(DEPLOYMENT, restart, 10, "", path);
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
        let at = |path| line_of(DEPLOYMENT, START, 1, "", path);
        // `hostPath` is flow style: its line is the answer for anything inside.
        assert_eq!(at("spec.template.spec.volumes[0].hostPath.type"), 22);
        assert_eq!(at("spec.template.spec.containers[5].image"), 11);
        assert_eq!(at("spec.hostPID"), 7);
        assert_eq!(at("nothing.here"), 1);
    }

    #[test]
    fn list_items_json_and_flow_style() {
        let list = "apiVersion: v1\nkind: List\nitems:\n- kind: Pod\n  spec:\n    hostPID: true\n- kind: Pod\n  spec:\n    hostIPC: true\n";
        assert_eq!(line_of(list, START, 1, "items[1]", "spec.hostIPC"), 9);
        assert_eq!(line_of(list, START, 1, "items[0]", "spec.hostPID"), 6);
        let json = "{\n  \"kind\": \"Pod\",\n  \"spec\": {\n    \"hostPID\": true,\n    \"containers\": [{\"name\": \"a\"},\n      {\"name\": \"b\", \"securityContext\": {\"privileged\": true}}]\n  }\n}\n";
        assert_eq!(line_of(json, START, 1, "", "spec"), 3);
        assert_eq!(line_of(json, START, 1, "", "spec.hostPID"), 4);
        assert_eq!(
            line_of(
                json,
                START,
                1,
                "",
                "spec.containers[1].securityContext.privileged"
            ),
            6
        );
    }

    #[test]
    fn a_document_is_read_again_from_its_restart_point() {
        let text = "kind: Service\r\n---\r\n--- {\"kind\": \"Pod\",\r\n  \"spec\": {\"hostPID\": true}}\r\n...\r\n%YAML 1.2\r\n---\r\nspec:\r\n  hostIPC: true\r\n";
        let stream = super::super::yaml::read(text);
        let documents = &stream.documents;
        assert_eq!(documents.len(), 4, "{documents:?}");
        let at = |index: usize, path| {
            let document = &documents[index];
            line_of(text, document.restart, document.line, "", path)
        };
        assert_eq!(at(2, "spec.hostPID"), 4);
        assert_eq!(at(3, "spec.hostIPC"), 9);
        assert_eq!(at(3, "spec.hostPID"), 8, "the deepest field written");
    }
}
