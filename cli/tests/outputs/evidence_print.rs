//! The pack as a person sees it: `index.html` rendered by headless Chromium (Debian's
//! `chromium`, installed by `make setup`) on a laptop screen (1400 px) and at the printable
//! width of an A4 page (180 mm, 680 px), where no element may reach past the page's edge; then
//! printed to PDF (A4 pages) and captured as PNG, kept under target/evidence-render/.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{pci_policies, root};

/// Widths a page is read at: a laptop screen, and A4 less 15 mm margins (Letter is wider).
const WIDTHS: [u32; 2] = [1400, 680];

/// Appended to a copy of the page (the pack itself has no script): lists every element whose
/// right edge passes the viewport, and every word of running text (not code) split across two
/// lines, after layout.
const PROBE: &str = r#"<script>
(() => {
  const width = document.documentElement.clientWidth;
  const wide = [];
  for (const element of document.body.querySelectorAll('*')) {
    const box = element.getBoundingClientRect();
    if (box.width > 0 && box.right > width + 1) {
      wide.push(`${element.tagName.toLowerCase()} ${Math.round(box.right)}px: ${(element.textContent || '').trim().slice(0, 80)}`);
    }
  }
  const broken = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.parentElement.closest('code, pre, script')) continue;
    for (const match of node.textContent.matchAll(/[A-Za-z0-9]{2,}/g)) {
      const range = document.createRange();
      range.setStart(node, match.index);
      range.setEnd(node, match.index + match[0].length);
      if (range.getClientRects().length > 1) broken.push(match[0]);
    }
  }
  const report = document.createElement('pre');
  report.id = 'width-report';
  report.textContent = JSON.stringify({width, scrollWidth: document.documentElement.scrollWidth, wide: wide.slice(0, 15), count: wide.length, broken: broken.slice(0, 15), brokenCount: broken.length});
  document.body.appendChild(report);
})();
</script>"#;

/// The Chromium binary; the test fails (never skips) without it.
fn chromium() -> PathBuf {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        if let Ok(output) = Command::new("sh")
            .args(["-c", &format!("command -v {name}")])
            .output()
            && output.status.success()
        {
            return PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        }
    }
    panic!(
        "headless Chromium is needed to render the evidence pack: run `make setup` (Debian: apt-get install chromium)"
    );
}

/// Runs headless Chromium on `page` with `flags`; its standard output.
fn render(page: &Path, profile: &Path, flags: &[String]) -> String {
    let output = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--hide-scrollbars",
            "--allow-file-access-from-files",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(flags)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    assert!(
        output.status.success(),
        "chromium: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Builds the packs a person reads: the bundle's manifests (every policy's settings, the
/// system namespaces' exceptions) and the example fleet.
fn packs(dir: &Path) -> Vec<(&'static str, PathBuf)> {
    let bundle = dir.join("bundle");
    let (code, _, stderr) = pci_policies(&[
        "evidence",
        "--manifests",
        "manifests",
        "--date",
        "2026-12-01",
        "--out",
        bundle.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let fleet = dir.join("fleet");
    let (code, _, stderr) = pci_policies(&[
        "evidence",
        "--cluster",
        "prod=examples/fleet/prod",
        "--cluster",
        "staging=examples/fleet/staging",
        "--date",
        "2026-12-01",
        "--out",
        fleet.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    vec![("bundle", bundle), ("fleet", fleet)]
}

/// Every table, list and code block fits a laptop screen and an A4 page's printable width.
#[test]
fn every_element_fits_the_screen_and_the_printed_page() {
    let dir = super::scratch("print");
    let kept = root().join("target/evidence-render");
    std::fs::create_dir_all(&kept).unwrap();
    let mut problems = Vec::new();
    for (name, pack) in packs(&dir) {
        let html = std::fs::read_to_string(pack.join("index.html")).unwrap();
        assert!(!html.contains("<script"), "the pack itself has no script");
        let probe = pack.join("probe.html");
        std::fs::write(&probe, html.replace("</body>", &format!("{PROBE}</body>"))).unwrap();
        for width in WIDTHS {
            let dom = render(
                &probe,
                &dir.join(format!("profile-{name}-{width}")),
                &[format!("--window-size={width},1000"), "--dump-dom".into()],
            );
            let report = dom
                .split("<pre id=\"width-report\">")
                .nth(1)
                .and_then(|rest| rest.split("</pre>").next())
                .unwrap_or_else(|| panic!("{name} at {width}px: no report in {dom:.300}"));
            let report: serde_json::Value = serde_json::from_str(
                &report
                    .replace("&quot;", "\"")
                    .replace("&amp;", "&")
                    .replace("&lt;", "<")
                    .replace("&gt;", ">"),
            )
            .unwrap_or_else(|e| panic!("{name} at {width}px: {e}: {report}"));
            assert_eq!(report["width"], width, "{name}: the viewport is the window");
            let too_wide = report["scrollWidth"].as_u64() > Some(width.into());
            if report["count"] != 0 || report["brokenCount"] != 0 || too_wide {
                problems.push(format!("{name} at {width}px: {report}"));
            }
        }
        let pdf = kept.join(format!("{name}.pdf"));
        render(
            &pack.join("index.html"),
            &dir.join(format!("profile-{name}-pdf")),
            &[
                format!("--print-to-pdf={}", pdf.display()),
                "--no-pdf-header-footer".into(),
            ],
        );
        let bytes = std::fs::read(&pdf).unwrap();
        assert!(bytes.starts_with(b"%PDF-"), "{name}: a PDF");
        let text = String::from_utf8_lossy(&bytes);
        let boxes: Vec<Vec<f64>> = text
            .split("/MediaBox")
            .skip(1)
            .map(|rest| {
                let inside = rest.split(']').next().unwrap_or_default();
                inside
                    .trim_start_matches([' ', '['])
                    .split_whitespace()
                    .filter_map(|n| n.parse().ok())
                    .collect()
            })
            .collect();
        assert!(!boxes.is_empty(), "{name}: no page in the PDF");
        for page in &boxes {
            let a4 =
                page.len() == 4 && (page[2] - 595.3).abs() < 1.0 && (page[3] - 841.9).abs() < 1.0;
            assert!(a4, "{name}: a page of {page:?} pt, not A4 (595 × 842 pt)");
        }
        let png = kept.join(format!("{name}.png"));
        render(
            &pack.join("index.html"),
            &dir.join(format!("profile-{name}-png")),
            &[
                format!("--screenshot={}", png.display()),
                "--window-size=1400,2400".into(),
            ],
        );
        let bytes = std::fs::read(&png).unwrap();
        assert!(bytes.starts_with(b"\x89PNG"), "{name}: a PNG");
        let png_width = u32::from_be_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
        assert_eq!(png_width, 1400, "{name}: captured at 1400 px");
    }
    assert!(
        problems.is_empty(),
        "wider than the page, or words split across lines:\n{}",
        problems.join("\n")
    );
}
