//! The inputs a scan reads: files and folders (recursive) and standard input, read in parallel
//! by the workers; their documents are read by [`pci_policies::manifests`]: each workload
//! becomes the CREATE request the API server would send, other objects are skipped, a document
//! that cannot be read is an error with its file and line, and the scan goes on.

use std::path::{Path, PathBuf};

pub use pci_policies::manifests::{Document, Source};
use pci_policies::manifests::{Origin, read_text};

/// One input of a scan: a manifest file, or standard input already read. Workers read and
/// parse units in parallel.
#[derive(Debug)]
pub enum Unit {
    File(PathBuf),
    Text {
        name: String,
        text: String,
    },
    Unreadable {
        name: String,
        line: usize,
        error: String,
    },
}

impl Unit {
    /// The documents of this input, in order.
    pub fn documents(&self) -> Vec<Document> {
        match self {
            Self::Text { name, text } => read_text(name, text),
            Self::Unreadable { name, line, error } => vec![invalid(name, *line, error.clone())],
            Self::File(file) => {
                let name = file.display().to_string();
                match std::fs::read(file) {
                    Ok(bytes) => match std::str::from_utf8(&bytes) {
                        Ok(text) => read_text(&name, text),
                        Err(error) => vec![invalid(
                            &name,
                            line_of_byte(&bytes, error.valid_up_to()),
                            NOT_UTF8.to_owned(),
                        )],
                    },
                    Err(error) => vec![invalid(&name, 1, format!("cannot read: {error}"))],
                }
            }
        }
    }
}

/// The inputs of `paths` (`-` is standard input, read now), folders walked recursively for
/// `.yaml`, `.yml` and `.json`, in name order.
pub fn units(paths: &[PathBuf], stdin: &mut dyn std::io::Read) -> Vec<Unit> {
    let mut units = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            let mut bytes = Vec::new();
            let name = "-".to_owned();
            units.push(match stdin.read_to_end(&mut bytes) {
                Ok(_) => match String::from_utf8(bytes) {
                    Ok(text) => Unit::Text { name, text },
                    Err(error) => Unit::Unreadable {
                        name,
                        line: line_of_byte(error.as_bytes(), error.utf8_error().valid_up_to()),
                        error: NOT_UTF8.to_owned(),
                    },
                },
                Err(error) => Unit::Unreadable {
                    name,
                    line: 1,
                    error: format!("cannot read: {error}"),
                },
            });
            continue;
        }
        units.extend(files_under(path).into_iter().map(Unit::File));
    }
    units
}

fn invalid(file: &str, line: usize, error: String) -> Document {
    Document::Invalid {
        origin: Origin {
            file: file.to_owned(),
            line,
            document: 0,
        },
        error,
    }
}

/// Manifests are UTF-8 text (kubectl reads nothing else); the error names the line of the first
/// byte that is not.
const NOT_UTF8: &str = "cannot read: not UTF-8 text";

/// The line of byte `at` of `bytes`.
fn line_of_byte(bytes: &[u8], at: usize) -> usize {
    1 + bytes[..at.min(bytes.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

/// The manifest files under `path` (itself when it is a file), sorted.
pub fn files_under(path: &Path) -> Vec<PathBuf> {
    if !path.is_dir() {
        return vec![path.to_path_buf()];
    }
    let mut files = Vec::new();
    let mut dirs = vec![path.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
            {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}
