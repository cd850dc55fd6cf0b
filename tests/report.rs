//! `clotair detect --report DIR` on `data/regression`: the page lists every recording with a
//! timeline PNG, its events and its score, and a real browser loads every image.
//!
//! The browser half needs `chromium` (or `chromium-browser`) on the PATH; without it that half
//! is skipped with a message. `scripts/report_check.sh` installs Chromium and runs this test.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Recordings in `data/regression`.
const RECORDINGS: usize = 8;
/// A timeline should stay a thumbnail-sized file.
const MAX_PNG_BYTES: u64 = 200_000;

fn find_chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|n| dir.join(n)))
        .find(|p| p.is_file())
}

/// The `src` of every `<img>` of the page.
fn image_sources(html: &str) -> Vec<String> {
    html.split("<img ")
        .skip(1)
        .map(|tag| {
            let src = tag.split("src=\"").nth(1).expect("img without src");
            src[..src.find('"').unwrap()].to_owned()
        })
        .collect()
}

fn render_report(dir: &Path) -> PathBuf {
    let regression = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/regression");
    let report = dir.join("report");
    let o = Command::new(env!("CARGO_BIN_EXE_clotair"))
        .args(["detect", regression.to_str().unwrap(), "--quiet", "--out"])
        .arg(dir.join("events"))
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    report
}

#[test]
fn report_lists_every_recording_and_every_image_loads() {
    let dir = tempfile::tempdir().unwrap();
    let report = render_report(dir.path());
    let html = std::fs::read_to_string(report.join("index.html")).unwrap();
    assert!(!html.contains("<script"), "the page needs no script");
    let sources = image_sources(&html);
    assert_eq!(sources.len(), RECORDINGS, "{html}");
    for src in &sources {
        let png = report.join(src);
        let bytes = std::fs::read(&png).unwrap_or_else(|e| panic!("{}: {e}", png.display()));
        assert!(
            bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
            "{src} is not a PNG"
        );
        assert!(
            bytes.len() as u64 <= MAX_PNG_BYTES,
            "{src}: {} bytes",
            bytes.len()
        );
    }
    for i in 0..RECORDINGS {
        assert!(html.contains(&format!("<h2>sim{i:04}</h2>")), "sim{i:04}");
    }
    // Every recording is labelled: one overall score and one per recording.
    assert_eq!(html.matches("<th>confusion</th>").count(), RECORDINGS + 1);
    assert!(html.contains("sensitivity by size"));
    assert!(html.contains("<td class=\"air\">air</td>"));

    let Some(chromium) = find_chromium() else {
        eprintln!(
            "SKIPPED the browser check: no chromium on PATH (scripts/report_check.sh installs it)"
        );
        return;
    };
    // A copy of the page beside it (so the relative image paths resolve) with a script that
    // records, after load, whether each image decoded.
    let probe = html.replace(
        "</body>",
        "<script>addEventListener('load',()=>{document.body.dataset.loaded=\
         Array.from(document.images).map(i=>i.complete&&i.naturalWidth>0?'1':'0').join('')});\
         </script></body>",
    );
    let check = report.join("check.html");
    std::fs::write(&check, probe).unwrap();
    let profile = tempfile::tempdir().unwrap();
    let o = Command::new(&chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--allow-file-access-from-files",
            "--virtual-time-budget=10000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", check.display()))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&o.stdout);
    let loaded = dom
        .split("data-loaded=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_else(|| {
            panic!(
                "{}: no load result in the DOM:\n{dom}\n{}",
                chromium.display(),
                String::from_utf8_lossy(&o.stderr)
            )
        });
    assert_eq!(
        loaded,
        "1".repeat(RECORDINGS),
        "images that did not load: 0s"
    );
}
