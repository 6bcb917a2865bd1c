//! Exceptions the oracle writes into the settings, and its own model of what one covers.
//!
//! For each expected violation the generator may write an exception that covers it (its
//! namespace or `*`, its control, its container or, for a pod-level violation, every container
//! of the pod; no expiry or a future one) and decoys that miss by one thing: another namespace,
//! another control, another container or image, an expiry in the past. The model ([`covers`])
//! is the rule the policies document, written from scratch: an exception waives a violation
//! when it has not expired, its `namespaces` contains the request's namespace or `*`, it names
//! the control, and it covers the violation's container (a pod-level violation: every
//! container of the pod). A container is covered when the exception lists its name (or lists
//! no names) and lists its exact image or repository (or lists no images).

use serde_json::{Value, json};

use pci_shared::time::{Date, Timestamp};

use super::draft::{ContainerFacts, Image, Target};
use super::draw::Draw;

/// An exception as the oracle writes it (`namespaces` always: the RBAC boundary).
#[derive(Clone, Debug)]
pub struct Exception {
    pub controls: Vec<&'static str>,
    pub containers: Vec<String>,
    /// Image patterns: a repository, optionally with a tag and a digest.
    pub images: Vec<Image>,
    pub namespaces: Vec<String>,
    /// Days from the evaluation day to the last day it applies (negative: expired).
    pub expires_in_days: Option<i64>,
}

/// Namespaces near the ones requests use, for decoys.
const OTHER_NAMESPACES: [&str; 6] = [
    "kube-system",
    "payments-dev",
    "web",
    "payment",
    "default",
    "batch",
];

impl Exception {
    /// The settings entry, dated relative to `now`.
    pub fn to_json(&self, now: Timestamp) -> Value {
        let mut entry = json!({
            "controls": self.controls,
            "namespaces": self.namespaces,
            "reason": "granted by the oracle",
        });
        if !self.containers.is_empty() {
            entry["containers"] = json!(self.containers);
        }
        if !self.images.is_empty() {
            let images: Vec<String> = self.images.iter().map(Image::text).collect();
            entry["images"] = json!(images);
        }
        if let Some(days) = self.expires_in_days {
            let day = now.0.div_euclid(86_400) + days;
            entry["expires"] = json!(Date::from_days_since_epoch(day).to_string());
        }
        entry
    }

    fn covers_container(&self, container: &ContainerFacts) -> bool {
        let named = self.containers.is_empty() || self.containers.contains(&container.name);
        let imaged = self.images.is_empty()
            || self
                .images
                .iter()
                .any(|pattern| pattern_matches(pattern, &container.image));
        named && imaged
    }
}

/// The documented pattern rule on the generator's images (whose names are spelt alike): the
/// same repository; the pattern's tag, if any, is the image's effective tag (`latest` without
/// tag and digest, none with a digest alone); its digest, if any, is the image's.
fn pattern_matches(pattern: &Image, image: &Image) -> bool {
    let effective_tag = match (&image.tag, &image.digest) {
        (Some(tag), _) => Some(tag.as_str()),
        (None, None) => Some("latest"),
        (None, Some(_)) => None,
    };
    pattern.name == image.name
        && pattern
            .tag
            .as_deref()
            .is_none_or(|tag| Some(tag) == effective_tag)
        && pattern
            .digest
            .as_ref()
            .is_none_or(|digest| image.digest.as_ref() == Some(digest))
}

/// True when `exception` waives `target` for a request in `namespace` (the model above).
pub fn covers(
    exception: &Exception,
    target: &Target,
    namespace: &str,
    containers: &[ContainerFacts],
) -> bool {
    let live = exception.expires_in_days.is_none_or(|days| days >= 0);
    let in_namespace = exception
        .namespaces
        .iter()
        .any(|n| n == namespace || n == "*");
    let named = exception.controls.contains(&target.control);
    let covered = match &target.container {
        Some(name) => containers
            .iter()
            .find(|c| c.name == *name)
            .is_some_and(|c| exception.covers_container(c)),
        None => !containers.is_empty() && containers.iter().all(|c| exception.covers_container(c)),
    };
    live && in_namespace && named && covered
}

/// How a decoy misses.
#[derive(Clone, Copy, Debug)]
enum Miss {
    Namespace,
    Control,
    Container,
    Image,
    Expired,
}

/// Exceptions for `targets`: when `aim` is set, one covering each target; decoys besides.
pub fn generate(
    draw: &mut Draw<'_>,
    targets: &[Target],
    namespace: &str,
    containers: &[ContainerFacts],
    controls: &[&'static str],
    aim: bool,
) -> Vec<Exception> {
    let mut exceptions = Vec::new();
    for target in targets {
        if aim || draw.chance(1, 5) {
            exceptions.push(covering(draw, target, namespace, containers, controls));
        }
        for _ in 0..draw.range(0, 2) {
            let mut decoy = covering(draw, target, namespace, containers, controls);
            miss(draw, &mut decoy, target, namespace, containers, controls);
            exceptions.push(decoy);
        }
    }
    draw.shuffle(&mut exceptions);
    exceptions
}

/// An exception that covers `target`.
fn covering(
    draw: &mut Draw<'_>,
    target: &Target,
    namespace: &str,
    containers: &[ContainerFacts],
    controls: &[&'static str],
) -> Exception {
    let mut named = vec![target.control];
    if draw.chance(1, 3) {
        let other = draw.pick(controls);
        if !named.contains(&other) {
            named.push(other);
        }
    }
    let namespaces = match draw.range(0, 3) {
        0 => vec!["*".to_owned()],
        1 => vec![
            draw.pick(&OTHER_NAMESPACES).to_owned(),
            namespace.to_owned(),
        ],
        _ => vec![namespace.to_owned()],
    };
    let covered: Vec<&ContainerFacts> = match &target.container {
        Some(name) => containers.iter().filter(|c| c.name == *name).collect(),
        None => containers.iter().collect(),
    };
    let (names, images) = match draw.range(0, 2) {
        0 => (covered.iter().map(|c| c.name.clone()).collect(), Vec::new()),
        1 => (
            Vec::new(),
            covered.iter().map(|c| image_pattern(draw, c)).collect(),
        ),
        _ => (
            covered.iter().map(|c| c.name.clone()).collect(),
            covered.iter().map(|c| image_pattern(draw, c)).collect(),
        ),
    };
    Exception {
        controls: named,
        containers: names,
        images,
        namespaces,
        expires_in_days: draw.chance(1, 2).then(|| draw.range(0, 400) as i64),
    }
}

/// The container's exact image, or its repository (every tag and digest of it).
fn image_pattern(draw: &mut Draw<'_>, container: &ContainerFacts) -> Image {
    if draw.chance(1, 2) {
        container.image.clone()
    } else {
        Image {
            name: container.image.name.clone(),
            tag: None,
            digest: None,
        }
    }
}

/// Makes `exception` miss `target` by one thing.
fn miss(
    draw: &mut Draw<'_>,
    exception: &mut Exception,
    target: &Target,
    namespace: &str,
    containers: &[ContainerFacts],
    controls: &[&'static str],
) {
    let how = draw.pick(&[
        Miss::Namespace,
        Miss::Control,
        Miss::Container,
        Miss::Image,
        Miss::Expired,
    ]);
    match how {
        Miss::Namespace => {
            let other = draw.pick(&OTHER_NAMESPACES);
            exception.namespaces = if other == namespace {
                vec![format!("{namespace}-other")]
            } else {
                vec![other.to_owned()]
            };
        }
        Miss::Control => {
            let others: Vec<&'static str> = controls
                .iter()
                .copied()
                .filter(|c| *c != target.control)
                .collect();
            if !others.is_empty() {
                exception.controls = vec![draw.pick(&others)];
            }
        }
        Miss::Container => {
            let left_out = match &target.container {
                Some(name) => name.clone(),
                None => draw.pick(containers).name.clone(),
            };
            let others: Vec<&ContainerFacts> =
                containers.iter().filter(|c| c.name != left_out).collect();
            exception.containers = others.iter().map(|c| c.name.clone()).collect();
            exception.images = Vec::new();
            if exception.containers.is_empty() {
                exception.containers = vec![format!("{left_out}-other")];
            }
        }
        Miss::Image => {
            // The same repository under another tag: no container runs it.
            let decoyed = match &target.container {
                Some(name) => name.clone(),
                None => draw.pick(containers).name.clone(),
            };
            exception.containers = Vec::new();
            exception.images = containers
                .iter()
                .filter(|c| target.container.is_none() || c.name == decoyed)
                .map(|c| {
                    if c.name == decoyed {
                        Image {
                            name: c.image.name.clone(),
                            tag: Some("decoy".into()),
                            digest: None,
                        }
                    } else {
                        c.image.clone()
                    }
                })
                .collect();
        }
        Miss::Expired => exception.expires_in_days = Some(-(draw.range(1, 400) as i64)),
    }
}
