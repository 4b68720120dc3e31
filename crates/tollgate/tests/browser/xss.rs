//! Scanner text is attacker-controlled: reports whose titles, descriptions, paths, references,
//! rule help, product name and notes carry script are imported, and every page that shows them
//! is opened in the browser. Nothing may run (no marker set, no dialog, no changed title), no
//! element may come out of the payloads (no handler attribute, no `javascript:` URL, no inline
//! script, no injected image), and the payloads must read as the text they are.

use crate::harness::{
    csp_of_page, each_hub, h1, open, page_is_clean, sign_in, text, SeededHub, ADA, HOSTILE,
    PASSWORD,
};
use anyhow::{ensure, Result};
use fantoccini::Client;
use serde_json::json;
use std::path::{Path, PathBuf};

/// Each payload, had it run, sets `window.__xss` or changes `document.title`.
pub const PAYLOADS: &[&str] = &[
    "<script>window.__xss=1;alert(1)</script>",
    "<img src=x onerror=\"window.__xss=2\">",
    "<svg onload=\"window.__xss=3\"><circle r=\"9\"></circle></svg>",
    "javascript:window.__xss=4",
    "[click me](javascript:window.__xss=5)",
    "\"><script>document.title='pwned'</script>",
    "'><img src=x onerror=document.title='pwned'>",
    "<a href=\"javascript:window.__xss=8\">a link</a>",
];

/// The note added to every hostile finding through the Results API.
pub const NOTE: &str = "note <script>window.__xss=10</script> <img src=x onerror=\"window.__xss=11\"> [n](javascript:window.__xss=12)";

/// What of [`NOTE`] reads the same whether notes are shown as plain text or as sanitized
/// Markdown (which turns a refused `[n](javascript:…)` link into its text).
const NOTE_TEXT: &str =
    "note <script>window.__xss=10</script> <img src=x onerror=\"window.__xss=11\">";

fn all_payloads() -> String {
    PAYLOADS.join("\n")
}

/// The hostile reports (Generic Findings Import JSON, SARIF, Semgrep JSON) and their scan types.
pub fn fixture_reports(dir: &Path) -> Vec<(PathBuf, &'static str)> {
    let generic = json!({"findings": [
        {
            "title": "Title <script>window.__xss=1</script>",
            "severity": "High",
            "description": all_payloads(),
            "mitigation": "[fix it](javascript:window.__xss=5) or <img src=x onerror=\"window.__xss=2\">",
            "references": "javascript:window.__xss=4\n[ref](javascript:window.__xss=5)\n<a href=\"javascript:window.__xss=8\">r</a>",
            "file_path": "src/<img src=x onerror=\"window.__xss=2\">.js",
            "line": 7,
            "unique_id_from_tool": "xss-generic-1",
            "vuln_id_from_tool": "RULE\"><svg onload=\"window.__xss=3\">",
            "cwe": 79,
        },
        {
            "title": "<svg onload=\"window.__xss=3\"> and \"><script>document.title='pwned'</script>",
            "severity": "Critical",
            "description": "[click me](javascript:window.__xss=5)",
            "file_path": "'><img src=x onerror=document.title='pwned'>",
            "line": 1,
            "unique_id_from_tool": "xss-generic-2",
            "cwe": 79,
        },
    ]});
    let sarif = json!({
        "version": "2.1.0",
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "runs": [{
            "tool": {"driver": {
                "name": "XssLint",
                "version": "1.0",
                "rules": [{
                    "id": "xss/<img src=x onerror=\"window.__xss=2\">",
                    "shortDescription": {"text": "Rule <script>window.__xss=1</script>"},
                    "fullDescription": {"text": all_payloads()},
                    "helpUri": "javascript:window.__xss=4",
                    "help": {"text": all_payloads(), "markdown": "[help](javascript:window.__xss=5) <img src=x onerror=\"window.__xss=2\">"},
                    "properties": {"tags": ["security", "<script>window.__xss=1</script>"]},
                }],
            }},
            "results": [{
                "ruleId": "xss/<img src=x onerror=\"window.__xss=2\">",
                "ruleIndex": 0,
                "level": "error",
                "message": {"text": "Message <svg onload=\"window.__xss=3\"> [m](javascript:window.__xss=5)"},
                "locations": [{"physicalLocation": {
                    "artifactLocation": {"uri": "web/<script>window.__xss=1</script>.html"},
                    "region": {"startLine": 3, "snippet": {"text": "<script>window.__xss=1</script>"}},
                }}],
            }],
        }],
    });
    let semgrep = json!({
        "version": "1.182.0",
        "errors": [],
        "paths": {"scanned": ["app/x.js"]},
        "results": [{
            "check_id": "rules.xss.<img src=x onerror=\"window.__xss=2\">",
            "path": "app/\"><script>document.title='pwned'</script>.js",
            "start": {"line": 4, "col": 1, "offset": 0},
            "end": {"line": 4, "col": 20, "offset": 19},
            "extra": {
                "message": all_payloads(),
                "severity": "ERROR",
                "lines": "el.innerHTML = '<img src=x onerror=\"window.__xss=2\">'",
                "fix": "[safe](javascript:window.__xss=5)",
                "metadata": {
                    "cwe": ["CWE-79: Improper Neutralization of Input During Web Page Generation"],
                    "references": ["javascript:window.__xss=4", "<a href=\"javascript:window.__xss=8\">x</a>"],
                    "source": "javascript:window.__xss=4",
                    "confidence": "HIGH",
                },
            },
        }],
    });
    let mut reports = vec![];
    for (name, value, scan_type) in [
        ("xss-generic.json", generic, "Generic Findings Import"),
        ("xss.sarif", sarif, "SARIF"),
        ("xss-semgrep.json", semgrep, "Semgrep JSON Report"),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, serde_json::to_vec_pretty(&value).unwrap()).unwrap();
        reports.push((path, scan_type));
    }
    reports
}

/// Nothing ran on the page, and nothing came out of the payloads.
pub async fn nothing_ran(c: &Client) -> Result<()> {
    if let Ok(alert) = c.get_alert_text().await {
        anyhow::bail!("a dialog is open: {alert:?}");
    }
    let v = c
        .execute(
            r#"return {
                marker: window.__xss === undefined ? null : String(window.__xss),
                title: document.title,
                heading: (document.querySelector('h1') || {}).textContent,
                injected_images: document.querySelectorAll('img[src="x"], img[src$="/x"]').length,
                injected_svg: document.querySelectorAll('svg[onload], circle[r="9"]').length,
                injected_bold: Array.from(document.querySelectorAll('b')).filter(b => b.textContent === 'product').length,
                links_named_by_payload: Array.from(document.links).filter(a => /a link|click me|^ref$|^r$|^x$/.test(a.textContent)).map(a => a.href),
            };"#,
            vec![],
        )
        .await?;
    ensure!(
        v["marker"].is_null(),
        "a payload ran: window.__xss = {}",
        v["marker"]
    );
    ensure!(
        v["title"]
            == json!(format!(
                "{} — Tollgate",
                v["heading"].as_str().unwrap_or("")
            )),
        "a payload set the title: {v}"
    );
    for zero in ["injected_images", "injected_svg", "injected_bold"] {
        ensure!(
            v[zero] == 0,
            "{zero}: markup of a payload became an element: {v}"
        );
    }
    ensure!(
        v["links_named_by_payload"] == json!([]),
        "a payload became a link: {v}"
    );
    // What the CSP and the page's own structure promise (no handler, no javascript: URL, no
    // inline script), checked here too: they would catch an injection the markers cannot see.
    page_is_clean(c).await?;
    ensure!(
        csp_of_page(c).await?.contains("script-src 'self'"),
        "the page has no CSP forbidding inline script"
    );
    Ok(())
}

pub async fn shows(c: &Client, what: &str, page: &str) -> Result<()> {
    let t = text(c).await?;
    ensure!(
        t.contains(what),
        "{page} does not show {what:?} as text; it reads:\n{t}"
    );
    Ok(())
}

#[test]
fn hostile_scanner_text_and_notes_run_nothing_and_read_as_text_on_every_page() {
    each_hub("xss", |c, hub: &'static SeededHub| async move {
        ensure!(
            hub.hostile_findings.len() == 4,
            "the hostile fixtures made {} findings, not 4",
            hub.hostile_findings.len()
        );
        sign_in(&c, hub, ADA, PASSWORD).await?;

        open(&c, hub, "/").await?;
        nothing_ran(&c).await?;
        shows(&c, HOSTILE, "the product list").await?;

        let product = format!("/ui/products/{}", hub.hostile);
        open(&c, hub, &product).await?;
        nothing_ran(&c).await?;
        ensure!(h1(&c).await? == HOSTILE, "the product page's heading");
        for (_, title) in &hub.hostile_findings {
            shows(&c, title, &product).await?;
        }
        shows(
            &c,
            "src/<img src=x onerror=\"window.__xss=2\">.js:7",
            &product,
        )
        .await?;

        for (id, title) in &hub.hostile_findings {
            let page = format!("/ui/findings/{id}");
            open(&c, hub, &page).await?;
            nothing_ran(&c).await?;
            ensure!(
                h1(&c).await? == *title,
                "{page}: the heading is not the title {title:?}"
            );
            shows(&c, NOTE_TEXT, &page).await?;
        }
        // The first generic finding's description: every payload, as text.
        let generic = hub
            .hostile_findings
            .iter()
            .find(|(_, t)| t.starts_with("Title <script>"))
            .map(|(id, _)| *id)
            .unwrap();
        let page = format!("/ui/findings/{generic}");
        open(&c, hub, &page).await?;
        for p in PAYLOADS {
            // A Markdown link to javascript: reads as its text when descriptions are rendered
            // as sanitized Markdown, as the whole payload when shown as plain text.
            let visible = match p.strip_prefix('[') {
                Some(link) => link.split(']').next().unwrap(),
                None => p,
            };
            shows(&c, visible, &page).await?;
        }
        Ok(())
    });
}
