//! Program metrics end to end (issue 15 §3, docs/metrics.md): imports, gate runs recorded by
//! `tollgate gate --report-to`, promotions by `tollgate promote`, triage; then every metric's
//! JSON against a hand count, its SVG against its JSON, and a product-limited token that sees
//! its own product's numbers only.

use crate::hub::{client, generic_report, status_json, Hub};
use crate::util::{stderr, temp_dir, tollgate};
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;

const SHOP: &str = "shop-web";
const MOBILE: &str = "bravo-mobile";
const METRICS: &str = "/api/v2/tollgate/metrics";
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

fn import(hub: &Hub, token: &str, report: &Path, product: &str, commit: &str) -> Value {
    let (s, v) = hub.import(
        "import-scan",
        token,
        report,
        &[
            ("scan_type", "Generic Findings Import"),
            ("product_type_name", "apps"),
            ("product_name", product),
            ("engagement_name", "ci"),
            ("auto_create_context", "true"),
            ("commit_hash", commit),
        ],
    );
    assert_eq!(s, 201, "{}: {v}", hub.backend);
    v
}

fn post(hub: &Hub, token: &str, path: &str, body: Value) -> (u16, Value) {
    let r = client()
        .post(format!("{}{path}", hub.url))
        .header("Authorization", format!("Token {token}"))
        .json(&body)
        .send()
        .unwrap();
    status_json(r)
}

fn get_text(hub: &Hub, token: &str, path: &str) -> (u16, String, String) {
    let r = client()
        .get(format!("{}{path}", hub.url))
        .header("Authorization", format!("Token {token}"))
        .send()
        .unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (status, ct, r.text().unwrap())
}

/// `tollgate` with CI variables naming a commit (GitLab's), nothing else of the caller's CI.
fn tollgate_in_ci(args: &[&str], commit: &str) -> std::process::Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tollgate"));
    for k in [
        "GITHUB_ACTIONS",
        "CI_COMMIT_TAG",
        "CI_ENVIRONMENT_NAME",
        "TOLLGATE_ENVIRONMENT",
        "TOLLGATE_BUILD",
        "GITHUB_REF_TYPE",
    ] {
        c.env_remove(k);
    }
    c.args(args)
        .env("GITLAB_CI", "true")
        .env("CI_COMMIT_SHA", commit)
        .output()
        .unwrap()
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Every drawn value of a chart: (series, label, value).
fn svg_values(svg: &str) -> Vec<(String, String, f64)> {
    let attr = |tag: &str, name: &str| {
        let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
        let len = tag[start..].find('"')?;
        Some(unescape(&tag[start..start + len]))
    };
    svg.split("class=\"value\"")
        .skip(1)
        .map(|tag| {
            let tag = &tag[..tag.find('>').unwrap()];
            (
                attr(tag, "data-series").unwrap(),
                attr(tag, "data-label").unwrap(),
                attr(tag, "data-value").unwrap().parse().unwrap(),
            )
        })
        .collect()
}

/// The chart draws `json` (a number) at (series, label), or nothing there when it is null.
fn drawn(values: &[(String, String, f64)], series: &str, label: &str, json: &Value, what: &str) {
    let found: Vec<f64> = values
        .iter()
        .filter(|(s, l, _)| s == series && l == label)
        .map(|(_, _, v)| *v)
        .collect();
    match json.as_f64() {
        Some(v) => assert_eq!(found, [v], "{what}: {series} / {label} (json {json})"),
        None => assert!(
            found.is_empty(),
            "{what}: {series} / {label} drawn, json null"
        ),
    }
}

fn by<'a>(list: &'a Value, key: &str, name: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|x| x[key] == name)
        .unwrap_or_else(|| panic!("no {key} {name} in {list}"))
}

#[test]
fn metrics_count_what_happened_and_charts_show_the_same_numbers() {
    for hub in Hub::each("metrics") {
        let be = hub.backend;
        let dir = temp_dir(&format!("hub-metrics-{be}"));
        let admin = hub.token("root", "admin", None);
        let ci = hub.token("ci", "import,read", None);
        // shop-web: 5 findings (Critical … Info), commit c1; bravo-mobile (android, tier-1):
        // 3 findings (Critical, High, Medium), commit m1.
        let shop_report = generic_report(&dir, "shop.json", "shop", 5);
        let shop = import(&hub, &ci, &shop_report, SHOP, "c1")["product_id"]
            .as_i64()
            .unwrap();
        let mobile_report = generic_report(&dir, "mobile.json", "mobile", 3);
        let mobile = import(&hub, &ci, &mobile_report, MOBILE, "m1")["product_id"]
            .as_i64()
            .unwrap();
        for (id, labels) in [
            (mobile, json!({"tier": "tier-1", "platform": "android"})),
            (shop, json!({"tier": "tier-2"})),
        ] {
            let (s, v) = hub.send_json("PATCH", &admin, &format!("/api/v2/products/{id}/"), labels);
            assert_eq!(s, 200, "{be}: {v}");
        }
        // Triage closes shop's High finding.
        let (_, page) = hub.get(
            &admin,
            &format!("/api/v2/findings/?product={shop}&severity=High"),
        );
        let high = page["results"][0]["id"].as_i64().unwrap();
        let (s, v) = hub.send_json(
            "POST",
            &admin,
            &format!("/apis/mobile_security/results/v2/security_findings/{high}/close"),
            json!({"aggregated_status": "CLOSED_WONT_FIX", "reason": "legacy"}),
        );
        assert_eq!(s, 200, "{be}: {v}");

        // Gate run 1: `tollgate gate --report-to` on commit c1 with the artifact file (FAIL:
        // the example Trivy report has a new Critical CVE).
        let artifact = dir.join("app-release.apk");
        std::fs::write(&artifact, b"an artifact").unwrap();
        let trivy =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/reports/trivy-image.json");
        let out_dir = dir.join("gate");
        let out = tollgate_in_ci(
            &[
                "gate",
                trivy.to_str().unwrap(),
                "--out-dir",
                out_dir.to_str().unwrap(),
                "--report-to",
                &hub.url,
                "--hub-token",
                &ci,
                "--product",
                SHOP,
                "--artifact",
                artifact.to_str().unwrap(),
            ],
            "c1",
        );
        assert_eq!(out.status.code(), Some(1), "{be}: {}", stderr(&out));
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("recorded as gate run"),
            "{be}: {}",
            stderr(&out)
        );
        let summary: Value = serde_json::from_slice(
            &std::fs::read(out_dir.join("security-gate-summary.json")).unwrap(),
        )
        .unwrap();
        let mut blocking_rules: Vec<String> = summary["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["verdict"] == "block")
            .map(|r| {
                r["rule"]
                    .as_str()
                    .or(r["kind"].as_str())
                    .unwrap()
                    .to_string()
            })
            .collect();
        blocking_rules.sort();
        assert!(!blocking_rules.is_empty(), "{summary}");
        // Gate run 2: shop PASS on a commit never imported, artifact B. Gate run 3 comes after
        // the mobile promotion.
        let b = "b".repeat(64);
        let (s, v) = post(
            &hub,
            &ci,
            "/api/v2/tollgate/gate-runs/",
            json!({"product_name": SHOP, "outcome": "PASS", "commit_hash": "c-none",
                   "artifact_sha256": b, "summary": {"reasons": []}}),
        );
        assert_eq!(s, 201, "{be}: {v}");

        // Promotions: the scanned file, the scanned digest, an unscanned mobile build.
        let promote = |product: &str, artifact: &[&str], extra: &[&str]| {
            let mut args = vec![
                "promote",
                "--url",
                &hub.url,
                "--hub-token",
                &ci,
                "--product",
                product,
                "--environment",
                "production",
                "--release-tag",
                "v1.0",
                "--hub-attempts",
                "1",
            ];
            args.extend_from_slice(artifact);
            args.extend_from_slice(extra);
            tollgate(&args)
        };
        let out = promote(SHOP, &["--artifact", artifact.to_str().unwrap()], &[]);
        let said = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{be}: {}", stderr(&out));
        assert!(said.contains("a gate run scanned it first"), "{be}: {said}");
        let out = promote(SHOP, &["--artifact-sha256", &b], &["--require-scanned"]);
        assert!(out.status.success(), "{be}: {}", stderr(&out));
        let c = "C".repeat(64);
        let out = promote(MOBILE, &["--artifact-sha256", &c], &["--require-scanned"]);
        assert_eq!(out.status.code(), Some(1), "{be}: {}", stderr(&out));
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("NO gate run had scanned it"),
            "{be}"
        );
        let out = promote("no-such-product", &["--artifact-sha256", &c], &[]);
        assert_eq!(out.status.code(), Some(3), "{be}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("does not exist"),
            "{be}: {}",
            stderr(&out)
        );
        let out = promote(SHOP, &["--artifact-sha256", "abc"], &[]);
        assert_eq!(out.status.code(), Some(2), "{be}: {}", stderr(&out));

        let (s, v) = post(
            &hub,
            &ci,
            "/api/v2/tollgate/gate-runs/",
            json!({"product_name": MOBILE, "outcome": "WARN", "commit_hash": "m1",
                   "artifact_sha256": "d".repeat(64), "summary": {"reasons": [
                       {"kind": "rule", "verdict": "warn", "rule": "medium", "message": "…"}]}}),
        );
        assert_eq!(s, 201, "{be}: {v}");

        let metric = |token: &str, slug: &str, query: &str| {
            let (s, v) = hub.get(token, &format!("{METRICS}/{slug}/{query}"));
            assert_eq!(s, 200, "{be}: {slug}{query}: {v}");
            let (s, ct, svg) = get_text(&hub, token, &format!("{METRICS}/{slug}.svg{query}"));
            assert_eq!(
                (s, ct.as_str()),
                (200, "image/svg+xml"),
                "{be}: {slug}: {svg}"
            );
            assert!(svg.starts_with("<svg") && !svg.contains("<script"), "{svg}");
            (v, svg_values(&svg), svg)
        };

        // 1. Three promotions, two scanned first.
        let (v, svg, _) = metric(&admin, "promoted-scanned", "");
        assert_eq!(
            (v["promotions"].as_i64(), v["scanned"].as_i64()),
            (Some(3), Some(2)),
            "{be}: {v}"
        );
        assert_eq!(v["percent"], 66.7, "{be}");
        let shop_row = by(&v["by_product"], "product", SHOP);
        assert_eq!(
            (
                shop_row["promotions"].as_i64(),
                shop_row["percent"].as_f64()
            ),
            (Some(2), Some(100.0))
        );
        assert_eq!(by(&v["by_product"], "product", MOBILE)["percent"], 0.0);
        drawn(&svg, "% scanned before promotion", "all", &v["percent"], be);
        drawn(
            &svg,
            "% scanned before promotion",
            SHOP,
            &shop_row["percent"],
            be,
        );

        // 2. Three gate runs, two with an import of their product's commit.
        let (v, svg, _) = metric(&admin, "scans-imported", "");
        assert_eq!(
            (
                v["gate_runs"].as_i64(),
                v["with_commit"].as_i64(),
                v["imported"].as_i64()
            ),
            (Some(3), Some(3), Some(2)),
            "{be}: {v}"
        );
        drawn(&svg, "% imported", "all", &v["percent"], be);
        drawn(
            &svg,
            "% imported",
            MOBILE,
            &by(&v["by_product"], "product", MOBILE)["percent"],
            be,
        );

        // 3. The mobile product's open Critical, in tier-1; tier-2's are not mobile.
        let (v, svg, _) = metric(&admin, "critical-mobile-by-tier", "");
        assert_eq!(v["open_critical"], 1, "{be}: {v}");
        assert_eq!(by(&v["tiers"], "tier", "tier-1")["open_critical"], 1);
        assert_eq!(by(&v["tiers"], "tier", "tier-2")["open_critical"], 0);
        drawn(&svg, "open critical", "tier-1", &json!(1), be);
        drawn(&svg, "open critical", "tier-2", &json!(0), be);

        // 4. Seven open findings, all seen today; the three mobile ones.
        let (v, svg, _) = metric(&admin, "open-age", "");
        assert_eq!(
            (v["all"]["open"].as_i64(), v["mobile"]["open"].as_i64()),
            (Some(7), Some(3)),
            "{be}: {v}"
        );
        assert_eq!(v["all"]["median_age_days"], 0.0);
        let crit = &v["all"]["by_severity"][0];
        assert_eq!(
            (crit["severity"].as_str(), crit["open"].as_i64()),
            (Some("critical"), Some(2))
        );
        assert_eq!(crit["buckets"]["under_half_sla"], 2);
        assert_eq!(
            v["all"]["by_severity"][4]["buckets"]["no_sla"], 1,
            "info has no SLA"
        );
        drawn(
            &svg,
            "all: median age",
            "critical",
            &crit["median_age_days"],
            be,
        );
        drawn(
            &svg,
            "mobile: median age",
            "low",
            &v["mobile"]["by_severity"][3]["median_age_days"],
            be,
        );

        // 5. This quarter: one blocked run, blocked by the summary's blocking reasons.
        let (v, svg, _) = metric(&admin, "blocking-by-quarter", "");
        let q = v["quarters"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(q["blocked_runs"], 1, "{be}: {v}");
        let mut rules: Vec<String> = q["by_rule"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["rule"].as_str().unwrap().to_string())
            .collect();
        rules.sort();
        rules.dedup();
        let mut expected = blocking_rules.clone();
        expected.dedup();
        assert_eq!(rules, expected, "{be}");
        assert_eq!(
            q["blocking_issues"].as_u64(),
            Some(blocking_rules.len() as u64)
        );
        let quarter = q["quarter"].as_str().unwrap();
        drawn(&svg, "blocked runs", quarter, &q["blocked_runs"], be);
        drawn(&svg, &rules[0], quarter, &json!(1), be);

        // 6. Closing by triage is not remediation: nothing remediated, nothing overdue yet.
        let (v, svg, _) = metric(&admin, "remediation", "");
        assert_eq!(
            (
                v["overall"]["remediated"].as_i64(),
                v["overall"]["overdue_open"].as_i64()
            ),
            (Some(0), Some(0)),
            "{be}: {v}"
        );
        assert!(v["overall"]["mttr_days"].is_null());
        assert!(svg.is_empty(), "{be}: nothing to draw: {svg:?}");

        // 7. Today: 2 Critical, 1 High (shop's was closed), 2 Medium, 1 Low, 1 Info.
        let (v, svg, _) = metric(&admin, "open-findings", "?interval=day");
        let last = v["points"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(
            [
                &last["critical"],
                &last["high"],
                &last["medium"],
                &last["low"],
                &last["info"],
                &last["total"]
            ],
            [
                &json!(2),
                &json!(1),
                &json!(2),
                &json!(1),
                &json!(1),
                &json!(7)
            ],
            "{be}: {v}"
        );
        assert_eq!(v["points"].as_array().unwrap().len(), 90);
        assert_eq!(v["points"][0]["total"], 0, "{be}: nothing open 90 days ago");
        let date = last["date"].as_str().unwrap();
        for s in ["critical", "high", "medium", "low", "info", "total"] {
            drawn(&svg, s, date, &last[s], be);
        }
        assert_eq!(svg.len(), 90 * 6, "{be}: one point per day and series");
        let (v, _, _) = metric(
            &admin,
            "open-findings",
            &format!("?product={shop}&from={date}&to={date}"),
        );
        assert_eq!(v["points"][0]["total"], 4, "{be}: {v}");

        // 8. One pass, one warn, one block.
        let (v, svg, _) = metric(&admin, "gate-outcomes", "");
        assert_eq!(
            (
                v["runs"].as_i64(),
                v["pass"].as_i64(),
                v["warn"].as_i64(),
                v["block"].as_i64()
            ),
            (Some(3), Some(1), Some(1), Some(1)),
            "{be}: {v}"
        );
        assert_eq!(v["block_rate"], 33.3);
        assert_eq!(by(&v["by_rule"], "rule", &rules[0])["blocked_runs"], 1);
        drawn(&svg, "block %", "all", &v["block_rate"], be);
        drawn(
            &svg,
            "pass %",
            SHOP,
            &by(&v["by_product"], "product", SHOP)["pass_rate"],
            be,
        );

        // The index lists every metric, each reachable.
        let (s, index) = hub.get(&admin, &format!("{METRICS}/"));
        assert_eq!(s, 200);
        let names: Vec<&str> = index["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, SLUGS);

        // A token of shop-web: its own numbers, nothing of bravo-mobile, bravo-mobile a 404.
        let reader = hub.token("shop-reader", "read", Some(SHOP));
        for slug in SLUGS {
            let (v, _, svg) = metric(&reader, slug, "");
            assert_eq!(v["product"], shop, "{be}: {slug}: {v}");
            assert!(
                !v.to_string().contains(MOBILE) && !svg.contains(MOBILE),
                "{be}: {slug}: {v}"
            );
            for path in [
                format!("{METRICS}/{slug}/?product={mobile}"),
                format!("{METRICS}/{slug}.svg?product={mobile}"),
            ] {
                let (s, ct, text) = get_text(&hub, &reader, &path);
                assert_eq!(
                    (s, ct.as_str()),
                    (404, "application/json"),
                    "{be}: {path}: {text}"
                );
                assert_eq!(
                    text,
                    format!("{{\"detail\":\"product {mobile} does not exist\"}}")
                );
            }
        }
        let (v, _, _) = metric(&reader, "gate-outcomes", "");
        assert_eq!(
            (v["runs"].as_i64(), v["pass"].as_i64(), v["block"].as_i64()),
            (Some(2), Some(1), Some(1)),
            "{be}: {v}"
        );
        let (v, _, _) = metric(&reader, "open-age", "");
        assert_eq!(
            (v["all"]["open"].as_i64(), v["mobile"]["open"].as_i64()),
            (Some(4), Some(0)),
            "{be}: {v}"
        );
        // And it records promotions of its own product only.
        let (s, v) = post(
            &hub,
            &hub.token("shop-ci", "import", Some(SHOP)),
            "/api/v2/tollgate/promotions/",
            json!({"product": MOBILE, "artifact_sha256": b, "environment": "production"}),
        );
        assert_eq!(s, 404, "{be}: {v}");

        // Bad requests are 400s that say what is wrong.
        for (query, says) in [
            ("?from=2026-02-30", "from: \"2026-02-30\" is not a date"),
            (
                "?from=2026-03-02&to=2026-03-01",
                "from must not be after to",
            ),
            ("?from=2000-01-01&to=2026-01-01", "longer than 3660 days"),
            (
                "?interval=hour",
                "interval: \"hour\" is not one of day, week, month",
            ),
            (
                "?from=2016-01-01&to=2026-01-01&interval=day",
                "more than 1000 points",
            ),
        ] {
            let (s, v) = hub.get(&admin, &format!("{METRICS}/open-findings/{query}"));
            assert_eq!(s, 400, "{be}: {query}: {v}");
            assert!(
                v["detail"].as_str().unwrap().contains(says),
                "{be}: {query}: {v}"
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
