//! A CRD's structural schema, and a value validated against it as the API server validates a
//! custom resource, strictly: every field the schema does not declare (where the API server
//! would prune it without a word) is a violation naming its path.

mod format;
mod keywords;
mod walk;

pub use keywords::{CelRule, Schema, Type};
