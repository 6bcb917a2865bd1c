//! What every pci-policies policy stands on.
//!
//! - [`policy`]: the contract a policy implements ([`policy::Policy`]), and the glue from the
//!   waPC entry points to its pure evaluation;
//! - [`request`], [`workload`], [`pod`], [`containers`]: read the admission request and the pod
//!   spec of any pod-bearing kind, and visit every container; [`api_versions`]: which groups
//!   and versions of a workload kind are read, and that the object is what the request says;
//! - [`violation`], [`exception`], [`response`]: report violations, waive them with narrow
//!   exceptions, and answer the host;
//! - [`image_reference`], [`image_pattern`], [`glob`]: parse, normalise and match image
//!   references exactly;
//! - [`workload_images`]: the contract of the image policies, which judge every container's
//!   image on its own;
//! - [`update`]: what an UPDATE changed, and so what a policy enforces on it (one rule for all);
//! - [`patch`]: edit the raw object surgically;
//! - [`host_calls`]: the Kubewarden host capabilities a policy calls, and [`host_answers`]: their
//!   answers remembered for one request; [`host_error`]: the host's errors in our words.

pub mod api_versions;
pub mod containers;
pub mod exception;
pub mod glob;
pub mod host_answers;
pub mod host_calls;
pub mod host_error;
pub mod image_pattern;
pub mod image_reference;
pub mod input;
pub mod json_span;
#[cfg(not(target_arch = "wasm32"))]
pub mod native_stubs;
pub mod nullable;
pub mod patch;
pub mod path;
pub mod pod;
pub mod policy;
pub mod profile_annotations;
pub mod request;
pub mod response;
pub mod selector;
pub mod time;
pub mod update;
pub mod validated;
pub mod violation;
pub mod workload;
pub mod workload_images;
