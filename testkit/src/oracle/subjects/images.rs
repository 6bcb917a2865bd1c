//! The image policies: an image outside the trusted registries (trusted-registries), not
//! pinned by digest (image-digest), unsigned, vouched for by a lying host or covered by no rule
//! (image-signatures).

use serde_json::{Value, json};

use super::{Hostility, in_hostile};
use crate::oracle::draft::{Draft, Expected, Image};
use crate::oracle::draw::Draw;
use crate::oracle::noise::{APPS, TAGS, TEAMS};
use crate::oracle::world::{REGISTRY, SIGNED, SIGNER, UNSIGNED};

/// An image with a drawn tag (or none) and `digest`, if any.
fn image(draw: &mut Draw<'_>, name: String, digest: Option<&str>) -> Image {
    Image {
        name,
        tag: draw.chance(2, 3).then(|| draw.pick(&TAGS).to_owned()),
        digest: digest.map(str::to_owned),
    }
}

/// The hostile container runs `image`, and the policy must report `control` on it.
fn hostile_image(
    draft: &mut Draft,
    image: Image,
    control: &'static str,
    threat: &'static str,
    settings: Value,
) -> Hostility {
    draft.set_hostile_image(image);
    Hostility {
        settings,
        expected: vec![Expected {
            control,
            spot: in_hostile(draft, "image"),
        }],
        defaulted: None,
        threats: vec![threat],
    }
}

/// An image outside the trusted registries (or in a denied part of one).
pub fn trusted_registries(draw: &mut Draw<'_>, draft: &mut Draft) -> Hostility {
    let mut registries = vec![REGISTRY.to_owned()];
    if draw.chance(1, 3) {
        registries.push("ghcr.io/corp".into());
    }
    let deny_legacy = draw.chance(1, 3);
    let settings = json!({
        "registries": {"allow": registries, "deny": if deny_legacy { json!([format!("{REGISTRY}/legacy")]) } else { json!([]) }},
        "images": {"allow": if draw.chance(1, 2) { json!(["docker.io/library/busybox:1.36"]) } else { json!([]) }},
        "tags": {"deny": if draw.chance(2, 3) { json!(["latest"]) } else { json!([]) }},
    });
    let (team, app) = (draw.pick(&TEAMS), draw.pick(&APPS));
    let mut names = vec![
        format!("evil.io/{app}"),
        app.to_owned(),
        format!("{REGISTRY}.evil.io/{team}/{app}"),
        format!("evil.io/{REGISTRY}/{app}"),
        format!("registry.corp.comx/{team}/{app}"),
        format!("ghcr.io/evil/{app}"),
        "docker.io/library/busybox".to_owned(),
    ];
    if deny_legacy {
        names.push(format!("{REGISTRY}/legacy/{app}"));
    }
    let name = draw.pick(&names);
    let digest = draw.chance(1, 3).then_some(SIGNED);
    let mut image = image(draw, name, digest);
    if image.name.ends_with("busybox") && image.tag.as_deref() == Some("1.36") {
        image.tag = None;
    }
    hostile_image(draft, image, "registries", "untrusted registry", settings)
}

/// An image not pinned by digest.
pub fn image_digest(draw: &mut Draw<'_>, draft: &mut Draft) -> Hostility {
    let mut settings = json!({"mode": "require",
        "checkTagMatchesDigest": draw.pick(&["off", "warn", "reject"])});
    if draw.chance(1, 2) {
        settings["allowedAlgorithms"] = json!(["sha256"]);
    }
    let (team, app) = (draw.pick(&TEAMS), draw.pick(&APPS));
    let name = draw.pick(&[
        format!("{REGISTRY}/{team}/{app}"),
        format!("{REGISTRY}/{team}/{app}"),
        app.to_owned(),
        format!("evil.io/{app}"),
    ]);
    let image = image(draw, name, None);
    hostile_image(draft, image, "digest", "unpinned image", settings)
}

/// An image whose digest no trusted key signed, whose host lies, or that no rule covers.
pub fn image_signatures(draw: &mut Draw<'_>, draft: &mut Draft) -> Hostility {
    let settings = json!({
        "rules": [{"images": [format!("{REGISTRY}/**")], "githubActions": {"owner": SIGNER}}],
        "unmatchedImages": "reject",
        "pinDigest": draw.chance(1, 2),
    });
    let (team, app) = (draw.pick(&TEAMS), draw.pick(&APPS));
    let (image, control, threat) = match draw.range(0, 3) {
        0 => (
            image(draw, format!("{REGISTRY}/unsigned/{app}"), None),
            "signature",
            "no signature",
        ),
        1 => (
            image(draw, format!("{REGISTRY}/{team}/{app}"), Some(UNSIGNED)),
            "signature",
            "unsigned digest",
        ),
        2 => (
            image(draw, format!("{REGISTRY}/liar/{app}"), None),
            "signature",
            "lying host",
        ),
        _ => {
            let name = draw.pick(&[
                format!("evil.io/{app}"),
                app.to_owned(),
                format!("{REGISTRY}.evil.io/{team}/{app}"),
            ]);
            (image(draw, name, None), "unmatched", "no rule")
        }
    };
    hostile_image(draft, image, control, threat, settings)
}
