//! A YAML stream read with a YAML parser (saphyr-parser, YAML 1.2, events with positions): every
//! document the parser finds becomes one [`YamlDocument`], its value or why it cannot be read,
//! with its line; nothing is split by hand and nothing is skipped. `---` with content on its
//! line, `...`, directives, a byte order mark and CRLF line ends are the parser's business.
//!
//! The value is the JSON Kubernetes receives: scalars as kubectl reads them ([`super::scalar`]),
//! aliases expanded (within [`MAX_ALIAS_NODES`]), merge keys (`<<`) applied, and refused where
//! readers disagree: a key written twice, a key both written before `<<` and merged (go-yaml v2,
//! behind kubectl, lets the merge win; the YAML spec and go-yaml v3 the written key), a
//! non-scalar key, a tag the scan does not read, nesting deeper than
//! [`pci_shared::input::MAX_DEPTH`]. Such a document is unreadable; the next one is read.
//! A syntax error ends the stream: the parser cannot know where the next document starts.

use std::collections::{HashMap, HashSet};

use pci_shared::input::MAX_DEPTH;
use saphyr_parser::{Event, Marker, Parser, ScalarStyle, Span};
use serde_json::{Map, Value};

use super::scalar::{self, Wanted};

/// At most this many nodes are copied by the aliases of one document ("billion laughs").
pub const MAX_ALIAS_NODES: usize = 100_000;

/// Where a document can be read again on its own: a byte offset of the text and its line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Restart {
    pub offset: usize,
    pub line: usize,
}

/// Why a document (or the rest of a stream) cannot be read, and the line where that shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unreadable {
    pub line: usize,
    pub message: String,
}

/// One document of a stream.
#[derive(Clone, Debug)]
pub struct YamlDocument {
    /// The line of the document's content (its first field), or of its `---` when it is empty.
    pub line: usize,
    /// Where to parse again to find the lines of its fields.
    pub restart: Restart,
    pub content: Result<Value, Unreadable>,
}

/// A stream's documents, in order, and the syntax error that ended it early, if any.
#[derive(Debug, Default)]
pub struct Stream {
    pub documents: Vec<YamlDocument>,
    pub broken: Option<Unreadable>,
}

/// Reads every document of `text`.
pub fn read(text: &str) -> Stream {
    let mut stream = Stream::default();
    let mut parser = Parser::new_from_str(text);
    let mut offsets = Offsets::new(text);
    // Where the next document can be parsed again: after an explicit `...`, directives
    // included; else at its own start.
    let mut after_end: Option<Restart> = Some(Restart { offset: 0, line: 1 });
    let mut document: Option<(Restart, Builder)> = None;
    loop {
        let (event, span) = match parser.next_event() {
            None => break,
            Some(Ok(next)) => next,
            Some(Err(error)) => {
                let (line, column) = (error.marker().line(), error.marker().col() + 1);
                let last = last_line(text);
                let place = if line > last {
                    "at the end of the file".to_owned()
                } else {
                    format!("line {line}, column {column}")
                };
                stream.broken = Some(Unreadable {
                    line: line.clamp(1, last),
                    message: format!(
                        "not YAML: {} ({place}); the rest of the file is not read",
                        error.info()
                    ),
                });
                break;
            }
        };
        match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
            Event::DocumentStart(_) => {
                let start = Restart {
                    offset: offsets.byte(span.start),
                    line: span.start.line(),
                };
                let restart = after_end.take().unwrap_or(start);
                document = Some((restart, Builder::new(span.start.line())));
            }
            Event::DocumentEnd => {
                let Some((restart, builder)) = document.take() else {
                    continue;
                };
                stream.documents.push(builder.finish(restart));
                let explicit = text
                    .get(offsets.byte(span.start)..)
                    .is_some_and(|rest| rest.starts_with("..."));
                after_end = explicit.then(|| Restart {
                    offset: offsets.byte(span.end),
                    line: span.end.line(),
                });
            }
            event => {
                if let Some((_, builder)) = &mut document {
                    builder.event(event, span);
                }
            }
        }
    }
    stream
}

/// Every document of a file a user gives (policies, settings, an import's or the evidence's
/// inputs), each with the line it starts on; the first document that cannot be read is an
/// error naming `file:line`, so every YAML input of the command reports its errors as the scan
/// does. Empty documents are `null`.
pub fn documents(file: &str, text: &str) -> Result<Vec<(usize, Value)>, String> {
    let stream = read(&json_astral_escapes(text));
    let mut values = Vec::with_capacity(stream.documents.len());
    for document in stream.documents {
        match document.content {
            Ok(value) => values.push((document.line, value)),
            Err(unreadable) => {
                return Err(format!(
                    "{file}:{}: {}",
                    unreadable.line, unreadable.message
                ));
            }
        }
    }
    match stream.broken {
        Some(broken) => Err(format!("{file}:{}: {}", broken.line, broken.message)),
        None => Ok(values),
    }
}

/// JSON text with its astral characters written as YAML reads them: JSON escapes a character
/// beyond U+FFFF as a surrogate pair (`\ud83d\ude00`, as Python's `json.dump` and `jq -a`
/// write emoji), which YAML refuses; YAML's `\U0001f600` says the same. Only whole JSON
/// texts are rewritten (every backslash of JSON is inside a string), and lines do not move.
fn json_astral_escapes(text: &str) -> std::borrow::Cow<'_, str> {
    let has_surrogate = text
        .as_bytes()
        .windows(3)
        .any(|w| w[0] == b'\\' && w[1] == b'u' && matches!(w[2], b'd' | b'D'));
    if !has_surrogate || serde_json::from_str::<serde::de::IgnoredAny>(text).is_err() {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let escape = &rest[at..];
        if let Some(character) = surrogate_pair(escape) {
            out.push_str(&format!("\\U{:08x}", u32::from(character)));
            rest = &escape[12..];
        } else {
            // Any other escape (`\\` included) is copied whole, so the next backslash found
            // starts an escape.
            let length = escape.chars().nth(1).map_or(1, |c| 1 + c.len_utf8());
            out.push_str(&escape[..length]);
            rest = &escape[length..];
        }
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

/// The character of a `\uD8xx\uDCxx` pair at the start of `escape`.
fn surrogate_pair(escape: &str) -> Option<char> {
    let hex = |range: std::ops::Range<usize>| {
        escape
            .get(range)
            .and_then(|h| u32::from_str_radix(h, 16).ok())
    };
    if !escape.starts_with("\\u") || escape.get(6..8) != Some("\\u") {
        return None;
    }
    let (high, low) = (hex(2..6)?, hex(8..12)?);
    if !(0xD800..0xDC00).contains(&high) || !(0xDC00..0xE000).contains(&low) {
        return None;
    }
    char::from_u32(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
}

/// The one document of a file that holds a single object (settings, a request): `null` when
/// the file is empty; an error naming `file:line` when it cannot be read or holds several.
pub fn single_document(file: &str, text: &str) -> Result<Value, String> {
    let mut values = documents(file, text)?;
    match values.len() {
        0 => Ok(Value::Null),
        1 => Ok(values.remove(0).1),
        _ => Err(format!(
            "{file}:{}: a second YAML document, where one object is expected",
            values[1].0
        )),
    }
}

/// The number of the last line of `text` (at least 1).
pub fn last_line(text: &str) -> usize {
    text.lines().count().max(1)
}

/// Character indices (the parser's markers) to byte offsets, for indices that only grow.
struct Offsets<'a> {
    text: &'a str,
    ascii: bool,
    chars: usize,
    bytes: usize,
}

impl<'a> Offsets<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text,
            ascii: text.is_ascii(),
            chars: 0,
            bytes: 0,
        }
    }

    fn byte(&mut self, marker: Marker) -> usize {
        let index = marker.index();
        if self.ascii {
            return index.min(self.text.len());
        }
        if index < self.chars {
            // Not expected (markers grow); count again from the start.
            self.chars = 0;
            self.bytes = 0;
        }
        let mut rest = self.text[self.bytes..].chars();
        while self.chars < index {
            let Some(c) = rest.next() else { break };
            self.chars += 1;
            self.bytes += c.len_utf8();
        }
        self.bytes
    }
}

/// A collection being built.
enum Open {
    Seq(Vec<Value>),
    Map {
        map: Map<String, Value>,
        /// The key read, waiting for its value: its text, or `<<`.
        key: Option<Key>,
        /// Keys that came from a merge (a later written key may replace them).
        merged: HashSet<String>,
        merge_seen: bool,
    },
}

enum Key {
    Named(String),
    Merge,
}

struct Frame {
    open: Open,
    anchor: usize,
    /// Height of the tallest child, to know a completed collection's height.
    height: usize,
}

/// A completed value with what an alias to it costs.
struct Anchored {
    value: Value,
    nodes: usize,
    height: usize,
}

/// Builds one document's value from its events; the first error makes the document
/// unreadable and the rest of its events are ignored.
struct Builder {
    document_line: usize,
    root_line: Option<usize>,
    stack: Vec<Frame>,
    root: Option<Value>,
    anchors: HashMap<usize, Anchored>,
    alias_nodes: usize,
    error: Option<Unreadable>,
}

impl Builder {
    fn new(document_line: usize) -> Self {
        Self {
            document_line,
            root_line: None,
            stack: Vec::new(),
            root: None,
            anchors: HashMap::new(),
            alias_nodes: 0,
            error: None,
        }
    }

    fn finish(self, restart: Restart) -> YamlDocument {
        let root = self.root.unwrap_or(Value::Null);
        // An empty document is where its `---` is, not where the parser noticed its end.
        let line = match self.root_line {
            Some(line) if !root.is_null() || self.error.is_some() => line,
            _ => self.document_line,
        };
        let content = match self.error {
            Some(error) => Err(error),
            None => Ok(root),
        };
        YamlDocument {
            line,
            restart,
            content,
        }
    }

    fn event(&mut self, event: Event<'_>, span: Span) {
        if self.error.is_some() {
            return;
        }
        let line = span.start.line();
        if let Err(message) = self.apply(event, line) {
            self.error = Some(Unreadable { line, message });
        }
    }

    fn apply(&mut self, event: Event<'_>, line: usize) -> Result<(), String> {
        if self.root_line.is_none() {
            self.root_line = Some(line);
        }
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                let wanted = scalar::wanted(tag.as_deref())?;
                if self.expects_key() {
                    if wanted != Wanted::Any && wanted != Wanted::Str {
                        return Err(format!("the key {text:?} is tagged {wanted:?}"));
                    }
                    return self.key(&text, style, wanted);
                }
                let value = scalar::value(&text, style, wanted)?;
                self.remember(anchor, &value, 1, 0);
                self.add(value, 0)
            }
            Event::SequenceStart(anchor, tag) => {
                self.open(anchor, tag.as_deref(), Wanted::Seq, Open::Seq(Vec::new()))
            }
            Event::MappingStart(anchor, tag) => self.open(
                anchor,
                tag.as_deref(),
                Wanted::Map,
                Open::Map {
                    map: Map::new(),
                    key: None,
                    merged: HashSet::new(),
                    merge_seen: false,
                },
            ),
            Event::SequenceEnd | Event::MappingEnd => self.close(),
            Event::Alias(id) => {
                if self.expects_key() {
                    return Err("an alias as a mapping key is not read".to_owned());
                }
                let Some(anchored) = self.anchors.get(&id) else {
                    return Err("an alias to an anchor that is not complete here".to_owned());
                };
                self.alias_nodes += anchored.nodes;
                if self.alias_nodes > MAX_ALIAS_NODES {
                    return Err(format!(
                        "aliases expand to more than {MAX_ALIAS_NODES} nodes"
                    ));
                }
                let (value, height) = (anchored.value.clone(), anchored.height);
                self.add(value, height)
            }
            Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart(_)
            | Event::DocumentEnd
            | Event::Nothing => Ok(()),
        }
    }

    /// True when the next node is a mapping key.
    fn expects_key(&self) -> bool {
        matches!(
            self.stack.last(),
            Some(Frame {
                open: Open::Map { key: None, .. },
                ..
            })
        )
    }

    fn key(&mut self, text: &str, style: ScalarStyle, wanted: Wanted) -> Result<(), String> {
        let Some(Frame {
            open:
                Open::Map {
                    map,
                    key,
                    merged,
                    merge_seen,
                },
            ..
        }) = self.stack.last_mut()
        else {
            return Err("a key outside a mapping".to_owned());
        };
        if text == "<<" && style == ScalarStyle::Plain && wanted == Wanted::Any {
            if *merge_seen {
                return Err("the merge key << is written twice".to_owned());
            }
            *merge_seen = true;
            *key = Some(Key::Merge);
            return Ok(());
        }
        let name = if wanted == Wanted::Str {
            text.to_owned()
        } else {
            scalar::key(text, style)
        };
        if map.contains_key(&name) && !merged.contains(&name) {
            return Err(format!("the key {name:?} is written twice"));
        }
        *key = Some(Key::Named(name));
        Ok(())
    }

    fn open(
        &mut self,
        anchor: usize,
        tag: Option<&saphyr_parser::Tag>,
        kind: Wanted,
        open: Open,
    ) -> Result<(), String> {
        let wanted = scalar::wanted(tag)?;
        if wanted != Wanted::Any && wanted != kind {
            return Err(format!("a {kind:?} tagged {wanted:?}"));
        }
        if self.expects_key() {
            return Err("a mapping key that is a mapping or a sequence is not read".to_owned());
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err(format!("nested deeper than {MAX_DEPTH} levels"));
        }
        self.stack.push(Frame {
            open,
            anchor,
            height: 0,
        });
        Ok(())
    }

    fn close(&mut self) -> Result<(), String> {
        let Some(frame) = self.stack.pop() else {
            return Err("a collection ends that did not start".to_owned());
        };
        let value = match frame.open {
            Open::Seq(items) => Value::Array(items),
            Open::Map { map, key: None, .. } => Value::Object(map),
            Open::Map { key: Some(_), .. } => return Err("a key without a value".to_owned()),
        };
        let height = frame.height + 1;
        if frame.anchor != 0 {
            let nodes = count_nodes(&value);
            self.remember(frame.anchor, &value, nodes, height);
        }
        self.add(value, height)
    }

    fn remember(&mut self, anchor: usize, value: &Value, nodes: usize, height: usize) {
        if anchor != 0 {
            self.anchors.insert(
                anchor,
                Anchored {
                    value: value.clone(),
                    nodes,
                    height,
                },
            );
        }
    }

    /// Puts a completed value where it belongs: the root, an item, or a key's value.
    fn add(&mut self, value: Value, height: usize) -> Result<(), String> {
        if self.stack.len() + height > MAX_DEPTH {
            return Err(format!("nested deeper than {MAX_DEPTH} levels"));
        }
        let Some(frame) = self.stack.last_mut() else {
            self.root = Some(value);
            return Ok(());
        };
        frame.height = frame.height.max(height);
        match &mut frame.open {
            Open::Seq(items) => items.push(value),
            Open::Map {
                map, key, merged, ..
            } => match key.take() {
                None => {
                    // A scalar key is taken by `key`; anything else arrives here.
                    return Err("a mapping key that is not a scalar is not read".to_owned());
                }
                Some(Key::Named(name)) => {
                    merged.remove(&name);
                    map.insert(name, value);
                }
                Some(Key::Merge) => merge(map, merged, value)?,
            },
        }
        Ok(())
    }
}

/// Applies `<<: value` to `map`: a mapping, or a sequence of mappings where the earlier wins.
fn merge(
    map: &mut Map<String, Value>,
    merged: &mut HashSet<String>,
    value: Value,
) -> Result<(), String> {
    let sources = match value {
        Value::Object(source) => vec![source],
        Value::Array(items) => items
            .into_iter()
            .map(|item| match item {
                Value::Object(source) => Ok(source),
                _ => Err("<< merges mappings only".to_owned()),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err("<< merges mappings only".to_owned()),
    };
    for source in sources {
        for (name, value) in source {
            if merged.contains(&name) {
                continue;
            }
            if map.contains_key(&name) {
                return Err(format!(
                    "the key {name:?} is written before << and merged by it: kubectl lets the \
                     merge win, other YAML readers the written key; write it after <<"
                ));
            }
            merged.insert(name.clone());
            map.insert(name, value);
        }
    }
    Ok(())
}

/// Nodes of `value`, for the alias budget.
fn count_nodes(value: &Value) -> usize {
    let mut count = 0;
    let mut pending = vec![value];
    while let Some(value) = pending.pop() {
        count += 1;
        match value {
            Value::Array(items) => pending.extend(items),
            Value::Object(map) => pending.extend(map.values()),
            _ => {}
        }
    }
    count
}
