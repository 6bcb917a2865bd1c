//! What every pci-policies policy stands on.
//!
//! - [`request`], [`workload`], [`pod`], [`containers`]: read the admission request and the pod
//!   spec of any pod-bearing kind, and visit every container;
//! - [`violation`], [`exception`], [`response`]: report violations, waive them with narrow
//!   exceptions, and answer the host;
//! - [`image`], [`glob`]: parse and match image references exactly;
//! - [`images`]: the judge-every-image loop the image policies share;
//! - [`patch`]: edit the raw object surgically;
//! - [`policy`]: the glue from waPC entry points to a policy's pure evaluation.

pub mod containers;
pub mod exception;
#[cfg(feature = "fixtures")]
pub mod fixtures;
pub mod glob;
pub mod image;
pub mod images;
pub mod input;
pub mod nullable;
pub mod patch;
pub mod path;
pub mod pod;
pub mod policy;
pub mod request;
pub mod response;
pub mod selector;
pub mod time;
pub mod violation;
pub mod workload;
