//! Functions a reader can hold: no non-test function of the workspace is over [`LIMIT`] lines,
//! from its `fn` line to its closing brace. rustfmt formats the code, so a line scan finds them:
//! a `fn` at some indentation ends at the first `}` line at the same indentation. `tests.rs`
//! files, `tests/` folders and `#[cfg(test)] mod … { … }` blocks are test code, not scanned.

use std::path::{Path, PathBuf};

/// The most lines a non-test function may span.
const LIMIT: usize = 80;

/// A function over the limit: its file, its `fn` line (from 1), name and length in lines.
#[derive(Debug, PartialEq, Eq)]
struct Long {
    file: String,
    line: usize,
    name: String,
    lines: usize,
}

/// The `src/` folders of the workspace's crates.
fn source_folders(root: &Path) -> Vec<PathBuf> {
    let mut folders: Vec<PathBuf> = ["shared", "testkit", "host", "cli", "e2e-tests", "xtask"]
        .iter()
        .map(|name| root.join(name).join("src"))
        .collect();
    let policies = std::fs::read_dir(root.join("policies")).expect("policies/");
    folders.extend(policies.flatten().map(|entry| entry.path().join("src")));
    folders.retain(|folder| folder.is_dir());
    folders.sort();
    folders
}

/// The `.rs` files under `folder` that are not test files, in name order.
fn source_files(folder: &Path, files: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(folder)
        .expect("a source folder")
        .flatten()
        .map(|entry| entry.path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if path.is_dir() && name != "tests" {
            source_files(&path, files);
        } else if name.ends_with(".rs") && name != "tests.rs" {
            files.push(path);
        }
    }
}

/// The indentation of `line` and the name of the function it starts, if it starts one.
fn function_start(line: &str) -> Option<(usize, &str)> {
    let text = line.trim_start();
    let indent = line.len() - text.len();
    let at = text.find("fn ")?;
    let qualifiers = &text[..at];
    let known = [
        "pub",
        "pub(crate)",
        "pub(super)",
        "const",
        "async",
        "unsafe",
    ];
    if !qualifiers
        .split_whitespace()
        .all(|word| known.contains(&word))
    {
        return None;
    }
    let rest = &text[at + 3..];
    let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_'))?;
    (end > 0).then(|| (indent, &rest[..end]))
}

/// The line (index) closing a block opened at `indent` after line `from`.
fn closing_line(lines: &[&str], from: usize, indent: usize) -> Option<usize> {
    let close = format!("{}}}", " ".repeat(indent));
    (from..lines.len()).find(|&at| lines[at].trim_end() == close)
}

/// Whether the function starting at `start` has a body (a trait's declaration has none).
fn has_body(lines: &[&str], start: usize) -> bool {
    lines[start..]
        .iter()
        .map(|line| line.trim_end())
        .find(|line| line.ends_with('{') || line.ends_with(';'))
        .is_some_and(|line| line.ends_with('{'))
}

/// The functions over the limit in one file's text.
fn long_functions(file: &str, text: &str) -> Vec<Long> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    let mut at = 0;
    while at < lines.len() {
        let line = lines[at];
        let next = lines.get(at + 1).map_or("", |next| next.trim_start());
        if line.trim() == "#[cfg(test)]" && next.starts_with("mod ") && next.ends_with('{') {
            let indent = lines[at + 1].len() - next.len();
            at = closing_line(&lines, at + 1, indent).map_or(lines.len(), |end| end + 1);
            continue;
        }
        if let Some((indent, name)) = function_start(line)
            && has_body(&lines, at)
            && let Some(end) = closing_line(&lines, at, indent)
            && end + 1 - at > LIMIT
        {
            found.push(Long {
                file: file.to_owned(),
                line: at + 1,
                name: name.to_owned(),
                lines: end + 1 - at,
            });
        }
        at += 1;
    }
    found
}

#[test]
fn the_scan_measures_functions_from_fn_to_closing_brace() {
    let body = "    let x = 1;\n".repeat(LIMIT - 2);
    let long = format!("pub fn long() {{\n{body}    x;\n}}\n");
    let short = format!("fn short() {{\n{}}}\n", "    x;\n".repeat(3));
    let test = format!("#[cfg(test)]\nmod tests {{\n    fn in_test() {{\n{body}{body}    }}\n}}\n");
    let found = long_functions("f.rs", &format!("{short}{long}{test}"));
    assert_eq!(
        found,
        vec![Long {
            file: "f.rs".into(),
            line: 6,
            name: "long".into(),
            lines: LIMIT + 1,
        }]
    );
}

#[test]
fn no_non_test_function_is_over_80_lines() {
    let root = crate::workspace::root();
    let mut files = Vec::new();
    for folder in source_folders(&root) {
        source_files(&folder, &mut files);
    }
    let mut found = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("a source file");
        let file = path
            .strip_prefix(&root)
            .unwrap_or(&path)
            .display()
            .to_string();
        found.extend(long_functions(&file, &text));
    }
    let over: Vec<String> = found
        .iter()
        .map(|long| {
            format!(
                "{}:{}: fn {} is {} lines",
                long.file, long.line, long.name, long.lines
            )
        })
        .collect();
    assert!(
        over.is_empty(),
        "functions over {LIMIT} lines (split them):\n{}",
        over.join("\n")
    );
}
