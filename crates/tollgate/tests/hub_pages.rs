//! The hub's pages (issue 15 §2): the dashboard, products → engagements → tests, gate runs,
//! risk acceptances and waivers, metrics — each against the numbers the API gives for the same
//! data, a product-limited viewer who sees nothing of another product on any of them, and
//! client text (a product's name, a gate run's reason) that comes out escaped. SQLite and
//! PostgreSQL, the real binary.

use crate::hub::{client, generic_report, Hub};
use crate::util::temp_dir;
use serde_json::{json, Value};
use tollgate_policy::Date;

const ALPHA: &str = "alpha-app";
/// Another product's name: client text with markup in it.
const BRAVO: &str = "bravo<script>alert('b')</script>";
const BRAVO_ESCAPED: &str = "bravo&lt;script&gt;alert(&#39;b&#39;)&lt;/script&gt;";
const HOSTILE_REASON: &str = "<script>alert('reason')</script><img src=x onerror=alert(1)>";
const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", "info"];
const SLUGS: [&str; 8] = [
    "promoted-scanned",
    "scans-imported",
    "critical-mobile-by-tier",
    "open-age",
    "blocking-by-quarter",
    "remediation",
    "open-findings",
    "gate-outcomes",
];

fn day(offset: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    Date::from_days(now.div_euclid(86_400) + offset).to_string()
}

/// A UI page as `token`'s browser (the `tollgate_token` cookie), without following redirects.
fn page(hub: &Hub, token: &str, path: &str) -> (u16, String) {
    let _ = client();
    let r = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}{path}", hub.url))
        .header("Cookie", format!("tollgate_token={token}"))
        .send()
        .unwrap();
    (r.status().as_u16(), r.text().unwrap())
}

fn ok_page(hub: &Hub, token: &str, path: &str) -> String {
    let (s, text) = page(hub, token, path);
    assert_eq!(s, 200, "{}: {path}: {text}", hub.backend);
    // No markup from client text anywhere: the pages have no script of their own.
    assert!(
        !text.to_ascii_lowercase().contains("<script"),
        "{}: {path} holds a <script>",
        hub.backend
    );
    assert!(
        !text.contains("<img"),
        "{}: {path} holds an <img>",
        hub.backend
    );
    text
}

fn import(hub: &Hub, token: &str, kind: &str, report: &std::path::Path, product: &str) -> Value {
    let (s, v) = hub.import(
        kind,
        token,
        report,
        &[
            ("scan_type", "Generic Findings Import"),
            ("product_type_name", "apps"),
            ("product_name", product),
            ("engagement_name", "ci"),
            ("auto_create_context", "true"),
            ("version", "1.4.2"),
            ("branch_tag", "main"),
            ("commit_hash", "c0ffee"),
            ("scan_date", "2026-11-30"),
        ],
    );
    assert_eq!(s, 201, "{}: {v}", hub.backend);
    v
}

/// The number in the cell that follows `marker` (inside a link or not) in `html` after `from`.
fn number_after(html: &str, from: &str, marker: &str) -> i64 {
    let start = html
        .find(from)
        .unwrap_or_else(|| panic!("no {from} in the page"));
    let rest = &html[start..];
    let row = &rest[..rest.find("</tr>").unwrap()];
    let at = row
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker} in {row}"));
    let mut cell = &row[at + marker.len()..];
    cell = &cell[cell.find('>').unwrap() + 1..];
    if cell.starts_with("<a") {
        cell = &cell[cell.find('>').unwrap() + 1..];
    }
    let digits: String = cell
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '-')
        .collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("no number after {marker} in {row}"))
}

/// Every scalar leaf of a JSON value with its pointer.
fn leaves(v: &Value, path: &str, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(o) => o
            .iter()
            .for_each(|(k, x)| leaves(x, &format!("{path}/{k}"), out)),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| leaves(x, &format!("{path}/{i}"), out)),
        scalar => out.push((path.to_string(), scalar.clone())),
    }
}

/// The metrics page shows every number of every metric's JSON answer (as `token` gets it).
fn metrics_page_matches_the_api(hub: &Hub, token: &str, page_html: &str) {
    for slug in SLUGS {
        let (s, v) = hub.get(token, &format!("/api/v2/tollgate/metrics/{slug}/"));
        assert_eq!(s, 200, "{v}");
        let mut found = Vec::new();
        leaves(&v, slug, &mut found);
        let numbers: Vec<_> = found.iter().filter(|(_, x)| x.is_number()).collect();
        assert!(!numbers.is_empty(), "{slug}: {v}");
        for (path, x) in numbers {
            let cell = format!("<span data-path=\"{path}\">{x}</span>");
            assert!(
                page_html.contains(&cell),
                "{}: the metrics page lacks {cell}",
                hub.backend
            );
        }
        assert!(
            page_html.contains(&format!("<section class=\"metric\" id=\"{slug}\">")),
            "{slug}"
        );
    }
    assert_eq!(page_html.matches("<svg").count(), 8, "eight charts");
}

#[test]
fn hub_pages_show_the_stored_numbers_to_those_who_may_see_them() {
    for hub in Hub::each("pages") {
        let n = hub.backend;
        let dir = temp_dir(&format!("hub-pages-{n}"));
        let admin = hub.token("root", "admin", None);

        // Alpha: 7 findings, then a reimport of 4 of them (3 closed); bravo: 6 findings.
        let first = import(
            &hub,
            &admin,
            "import-scan",
            &generic_report(&dir, "a.json", "alpha", 7),
            ALPHA,
        );
        let alpha = first["product_id"].as_i64().unwrap();
        let alpha_test = first["test_id"].as_i64().unwrap();
        let alpha_engagement = first["engagement_id"].as_i64().unwrap();
        import(
            &hub,
            &admin,
            "reimport-scan",
            &generic_report(&dir, "a.json", "alpha", 4),
            ALPHA,
        );
        let b = import(
            &hub,
            &admin,
            "import-scan",
            &generic_report(&dir, "b.json", "bravo", 6),
            BRAVO,
        );
        let bravo = b["product_id"].as_i64().unwrap();
        let (s, _) = hub.send_json(
            "PATCH",
            &admin,
            &format!("/api/v2/products/{alpha}/"),
            json!({"tier": "tier-1", "platform": "android"}),
        );
        assert_eq!(s, 200);

        // A risk acceptance ending in 5 days (listed) and one in 60 (not).
        let (_, open) = hub.get(
            &admin,
            &format!("/api/v2/findings/?product={alpha}&active=true&limit=100"),
        );
        let open = open["results"].as_array().unwrap().clone();
        let close = |id: &Value, until: &str| {
            let (s, v) = hub.send_json(
                "POST",
                &admin,
                &format!("/apis/mobile_security/results/v2/security_findings/{id}/close"),
                json!({"aggregated_status": "CLOSED_RISK_ACCEPTED", "reason": "accepted for now",
                       "risk_accepted_until": until}),
            );
            assert_eq!(s, 200, "{v}");
        };
        assert_eq!(open.len(), 4, "{n}");
        close(&open[3]["id"], &day(5));
        close(&open[2]["id"], &day(60));
        let soon_title = open[3]["title"].as_str().unwrap().to_string();
        let later_title = open[2]["title"].as_str().unwrap().to_string();
        let cited = &open[0];
        let cited_print = cited["hash_code"].as_str().unwrap();

        // Gate runs: alpha blocked (a hostile reason citing one of its findings, an incomplete
        // input, waivers ending in 10 and in 100 days), bravo passed.
        let summary = json!({
            "decision": "FAIL",
            "reasons": [{"kind": "rule", "verdict": "block", "rule": "no-critical",
                         "message": HOSTILE_REASON,
                         "fingerprints": [cited_print, "0".repeat(64)]}],
            "context": {"branch": "release/1.4", "commit": "c0ffee"},
            "inputs": [{"file": "mobsf.json", "format": "mobsf", "scanners": [{"name": "mobsf", "version": "4.4.1"}],
                        "findings": 7, "incomplete": ["decompilation failed: <b>jadx</b> crashed"]}],
            "waivers": {"applied": [
                {"declared_in": "tollgate.toml: waiver 1", "matches": "rule x", "reason": "vendor fix pending",
                 "owner": "appsec", "expires": day(10), "fingerprints": []},
                {"declared_in": "tollgate.toml: waiver 2", "matches": "rule y", "reason": "far away",
                 "owner": "appsec", "expires": day(100), "fingerprints": []}]},
            "totals": {"findings": 7, "block": 1}
        });
        let (s, run) = hub.send_json(
            "POST",
            &admin,
            "/api/v2/tollgate/gate-runs/",
            json!({"product_name": ALPHA, "engagement_name": "ci", "outcome": "FAIL",
                   "commit_hash": "c0ffee", "release_tag": "v1.4.2",
                   "artifact_sha256": "ab".repeat(32), "summary": summary}),
        );
        assert_eq!(s, 201, "{run}");
        let alpha_run = run["id"].as_i64().unwrap();
        let (s, run) = hub.send_json(
            "POST",
            &admin,
            "/api/v2/tollgate/gate-runs/",
            json!({"product_name": BRAVO, "outcome": "PASS", "commit_hash": "b0b0",
                   "summary": {"decision": "PASS", "reasons": []}}),
        );
        assert_eq!(s, 201, "{run}");
        let bravo_run = run["id"].as_i64().unwrap();

        // The dashboard: each product × severity count is the API's: its active findings less
        // those closed by triage (risk accepted stays active in DefectDojo's fields; the hub's
        // `tollgate.is_open` says open).
        let home = ok_page(&hub, &admin, "/");
        let mut total = 0;
        for p in [alpha, bravo] {
            for sev in SEVERITIES {
                let (_, api) = hub.get(
                    &admin,
                    &format!("/api/v2/findings/?product={p}&severity={sev}&active=true&limit=1000"),
                );
                let results = api["results"].as_array().unwrap();
                assert_eq!(api["count"].as_i64().unwrap(), results.len() as i64);
                let open = results
                    .iter()
                    .filter(|f| f["tollgate"]["is_open"] == true)
                    .count() as i64;
                let shown = number_after(
                    &home,
                    &format!("<tr data-product=\"{p}\">"),
                    &format!("data-severity=\"{sev}\""),
                );
                assert_eq!(shown, open, "{n}: {p} {sev}");
                total += shown;
            }
        }
        // 4 + 6 open minus the 2 risk accepted.
        assert_eq!(total, 8, "{n}");
        assert!(home.contains(&format!("data-open=\"{total}\"")), "{n}");
        assert!(home.contains("data-new=\"8\""), "{n}: all first seen today");
        assert!(
            home.contains(&format!(
                "/ui/findings?product={alpha}&amp;severity=critical"
            )),
            "{n}: counts link into the queue"
        );
        assert!(home.contains("tier-1") && home.contains("android"), "{n}");
        assert!(
            home.contains(BRAVO_ESCAPED),
            "{n}: the other product, escaped"
        );
        assert!(
            home.contains("decompilation failed: &lt;b&gt;jadx&lt;/b&gt; crashed"),
            "{n}: the incomplete scan"
        );
        assert!(
            home.contains(&format!("href=\"/ui/gate-runs/{alpha_run}\"")),
            "{n}"
        );
        assert_eq!(home.matches("<svg").count(), 8, "{n}: the metrics in small");

        // Products → engagements → tests.
        let products = ok_page(&hub, &admin, "/ui/products");
        for sev in SEVERITIES {
            let marker = format!("data-severity=\"{sev}\"");
            let row = format!("<tr data-product=\"{alpha}\">");
            assert_eq!(
                number_after(&products, &row, &marker),
                number_after(&home, &row, &marker)
            );
        }
        let product = ok_page(&hub, &admin, &format!("/ui/products/{alpha}"));
        assert!(product.contains(&format!("href=\"/ui/engagements/{alpha_engagement}\"")));
        assert!(product.contains(&format!("href=\"/ui/tests/{alpha_test}\"")));
        let engagement = ok_page(&hub, &admin, &format!("/ui/engagements/{alpha_engagement}"));
        assert_eq!(
            number_after(
                &engagement,
                &format!("<tr data-test=\"{alpha_test}\">"),
                "data-severity=\"critical\""
            ),
            1,
            "{n}: alpha-0 (the critical of alpha-0..3) is open"
        );
        let test = ok_page(&hub, &admin, &format!("/ui/tests/{alpha_test}"));
        let (_, imports) = hub.get(&admin, &format!("/api/v2/test_imports/?test={alpha_test}"));
        let imports = imports["results"].as_array().unwrap();
        assert_eq!(imports.len(), 2, "{n}");
        for i in imports {
            let row = format!("<tr data-import=\"{}\">", i["id"]);
            for k in ["created", "closed", "reactivated", "untouched"] {
                assert_eq!(
                    number_after(&test, &row, &format!("data-{k}")),
                    i["tollgate"][k].as_i64().unwrap(),
                    "{n}: import {} {k}",
                    i["id"]
                );
            }
        }
        let reimport = imports.iter().find(|i| i["type"] == "reimport").unwrap();
        assert_eq!(reimport["tollgate"]["closed"], 3, "{n}");
        // Open right after the import, then after the reimport: what each import made of the
        // test (the risk acceptances came later and show only at a next import).
        let open_after = |i: &Value| {
            number_after(
                &test,
                &format!("<tr data-import=\"{}\">", i["id"]),
                "data-open",
            )
        };
        let first_import = imports.iter().find(|i| i["type"] == "import").unwrap();
        let moved = |i: &Value, k: &str| i["tollgate"][k].as_i64().unwrap();
        assert_eq!(open_after(first_import), 7, "{n}");
        assert_eq!(
            open_after(reimport),
            7 - moved(reimport, "closed")
                + moved(reimport, "created")
                + moved(reimport, "reactivated"),
            "{n}: open after the reimport"
        );
        assert!(test.contains("1.4.2") && test.contains("c0ffee") && test.contains("2026-11-30"));
        assert_eq!(test.matches("<svg").count(), 1, "{n}: the trend chart");

        // Gate runs.
        let runs = ok_page(&hub, &admin, "/ui/gate-runs");
        assert!(runs.contains("data-count=\"2\""), "{n}");
        assert!(
            runs.contains("release/1.4") && runs.contains("v1.4.2"),
            "{n}"
        );
        let blocked = ok_page(&hub, &admin, "/ui/gate-runs?outcome=block");
        assert!(
            blocked.contains("data-count=\"1\"")
                && blocked.contains(&format!("data-gate-run=\"{alpha_run}\""))
        );
        assert!(
            !blocked.contains(&format!("data-gate-run=\"{bravo_run}\"")),
            "{n}"
        );
        let of_bravo = ok_page(&hub, &admin, &format!("/ui/gate-runs?product={bravo}"));
        assert!(
            of_bravo.contains("data-count=\"1\"")
                && of_bravo.contains(&format!("data-gate-run=\"{bravo_run}\""))
        );
        assert_eq!(page(&hub, &admin, "/ui/gate-runs?outcome=maybe").0, 400);
        assert_eq!(page(&hub, &admin, "/ui/gate-runs?page=0").0, 400);
        let run = ok_page(&hub, &admin, &format!("/ui/gate-runs/{alpha_run}"));
        assert!(
            run.contains("&lt;script&gt;alert(&#39;reason&#39;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"),
            "{n}: the reason, escaped"
        );
        assert!(
            run.contains(&format!(
                "<a href=\"/ui/findings/{}\" data-fingerprint=\"{cited_print}\">",
                cited["id"]
            )),
            "{n}: the cited finding, linked"
        );
        assert!(
            run.contains(&"ab".repeat(32))
                && run.contains("release/1.4")
                && run.contains("mobsf 4.4.1")
        );
        assert!(run.contains("data-outcome=\"block\""), "{n}");
        assert!(
            run.contains("decompilation failed"),
            "{n}: incomplete evidence"
        );
        assert_eq!(page(&hub, &admin, "/ui/gate-runs/987654321").0, 404);

        // Risk acceptances and waivers ending within 30 days.
        let risk = ok_page(&hub, &admin, "/ui/risk-acceptances");
        assert!(risk.contains(&soon_title) && risk.contains(&day(5)), "{n}");
        assert!(!risk.contains(&later_title), "{n}: ends in 60 days");
        assert!(
            risk.contains("vendor fix pending") && risk.contains(&day(10)),
            "{n}"
        );
        assert!(!risk.contains("far away"), "{n}: expires in 100 days");

        // Metrics: the page's numbers are the JSON endpoints'.
        let metrics = ok_page(&hub, &admin, "/ui/metrics");
        metrics_page_matches_the_api(&hub, &admin, &metrics);
        assert_eq!(page(&hub, &admin, "/ui/metrics?product=987654321").0, 404);

        // A viewer limited to alpha: nothing of bravo on any page — name, id, numbers.
        let limited = hub.token("alpha-reader", "read", Some(ALPHA));
        let pages = [
            "/".to_string(),
            "/ui/products".into(),
            format!("/ui/products/{alpha}"),
            format!("/ui/engagements/{alpha_engagement}"),
            format!("/ui/tests/{alpha_test}"),
            "/ui/gate-runs".into(),
            format!("/ui/gate-runs?product={bravo}"),
            format!("/ui/gate-runs/{alpha_run}"),
            "/ui/risk-acceptances".into(),
            "/ui/metrics".into(),
        ];
        for path in &pages {
            let text = ok_page(&hub, &limited, path);
            let shown = text.replace(&format!("product={bravo}"), "");
            assert!(
                !shown.contains("bravo")
                    && !shown.contains(&format!("/ui/products/{bravo}\""))
                    && !shown.contains(&format!("data-product=\"{bravo}\""))
                    && !shown.contains(&format!("/ui/gate-runs/{bravo_run}\"")),
                "{n}: {path} shows bravo to a viewer limited to alpha"
            );
        }
        let home = ok_page(&hub, &limited, "/");
        assert!(
            home.contains("data-open=\"2\""),
            "{n}: alpha's open findings only"
        );
        let runs = ok_page(&hub, &limited, "/ui/gate-runs");
        assert!(runs.contains("data-count=\"1\""), "{n}");
        let (s, _) = page(&hub, &limited, &format!("/ui/gate-runs/{bravo_run}"));
        assert_eq!(s, 404, "{n}");
        assert_eq!(
            page(&hub, &limited, &format!("/ui/metrics?product={bravo}")).0,
            404
        );
        let metrics = ok_page(&hub, &limited, "/ui/metrics");
        metrics_page_matches_the_api(&hub, &limited, &metrics);

        // Not signed in: to the sign-in page.
        let anonymous = reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        for path in &pages {
            let r = anonymous.get(format!("{}{path}", hub.url)).send().unwrap();
            assert_eq!(r.status().as_u16(), 303, "{n}: {path}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
