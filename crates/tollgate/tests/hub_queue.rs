//! The findings queue (`/ui/findings`, issue 15 §2): filters that narrow, a count equal to the
//! list and to the API's count, the URL as the view, exports of exactly the filtered rows, bulk
//! triage recorded in each finding's history, and product limits — the real binary, on SQLite
//! and PostgreSQL, seeded with reports of the corpus.

use crate::hub::{client, generic_report, Hub};
use crate::hub_authz::csrf_form;
use crate::util::{corpus_dir, temp_dir};
use serde_json::{json, Value};
use std::path::Path;

const B_NAME: &str = "bravo-secret";
const B_MARKER: &str = "Finding bravo";
/// A title a spreadsheet would run as a formula, with a comma and quotes.
const HOSTILE_TITLE: &str = "=HYPERLINK(\"http://evil\",\"x\"), +1 @A1";

fn no_redirects() -> reqwest::blocking::Client {
    let _ = client();
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

struct Seeded {
    admin: String,
    a_product: i64,
    b_product: i64,
    /// The secrets of the gitleaks report imported into alpha (never to be shown).
    secrets: Vec<String>,
    dir: std::path::PathBuf,
}

fn import(hub: &Hub, token: &str, report: &Path, scan_type: &str, product: &str) -> Value {
    let (s, v) = hub.import(
        "import-scan",
        token,
        report,
        &[
            ("scan_type", scan_type),
            ("product_type_name", "web"),
            ("product_name", product),
            ("engagement_name", "ci"),
            ("auto_create_context", "true"),
        ],
    );
    assert_eq!(s, 201, "{}: {product} {scan_type}: {v}", hub.backend);
    v
}

/// alpha: Semgrep (SARIF) and Gitleaks findings of the corpus, plus a finding with a hostile
/// title; bravo-secret: Bandit (SARIF) findings and five generic ones titled "Finding bravo-…".
fn seed(hub: &Hub, corpus: &Path, test: &str) -> Seeded {
    let dir = temp_dir(&format!("hub-queue-{test}-{}", hub.backend));
    let admin = hub.token("root", "admin", None);
    let a = import(
        hub,
        &admin,
        &corpus.join("sarif/semgrep-NodeGoat.sarif"),
        "SARIF",
        "alpha",
    );
    let gitleaks = corpus.join("gitleaks/gitleaks-WebGoat.json");
    import(hub, &admin, &gitleaks, "Gitleaks Scan", "alpha");
    let hostile = dir.join("hostile.json");
    std::fs::write(
        &hostile,
        json!({"findings": [{"title": HOSTILE_TITLE, "severity": "Critical",
            "description": "d", "unique_id_from_tool": "hostile-1", "file_path": "-cmd.sh"}]})
        .to_string(),
    )
    .unwrap();
    let mut generic = vec![("scan_type", "Generic Findings Import")];
    generic.extend([
        ("product_type_name", "web"),
        ("product_name", "alpha"),
        ("engagement_name", "hostile"),
        ("auto_create_context", "true"),
    ]);
    let (s, v) = hub.import("import-scan", &admin, &hostile, &generic);
    assert_eq!(s, 201, "{v}");
    let b = import(
        hub,
        &admin,
        &corpus.join("sarif/bandit-pygoat.sarif"),
        "SARIF",
        B_NAME,
    );
    import(
        hub,
        &admin,
        &generic_report(&dir, "bravo.json", "bravo", 5),
        "Generic Findings Import",
        B_NAME,
    );
    let leaks: Value = serde_json::from_str(&std::fs::read_to_string(&gitleaks).unwrap()).unwrap();
    let secrets = leaks
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["Secret"].as_str())
        .filter(|s| s.len() >= 8)
        .map(str::to_string)
        .collect::<Vec<_>>();
    assert!(!secrets.is_empty());
    Seeded {
        admin,
        a_product: a["product_id"].as_i64().unwrap(),
        b_product: b["product_id"].as_i64().unwrap(),
        secrets,
        dir,
    }
}

/// A UI request as the token `secret` (its cookie), with the CSRF cookie when given.
fn ui_get(hub: &Hub, path: &str, secret: &str) -> (u16, String) {
    let r = no_redirects()
        .get(format!("{}{path}", hub.url))
        .header("Cookie", format!("tollgate_token={secret}"))
        .send()
        .unwrap();
    (r.status().as_u16(), r.text().unwrap())
}

/// POSTs the bulk form; (status, Location, body).
fn ui_bulk(
    hub: &Hub,
    secret: &str,
    csrf: Option<&(String, String)>,
    form: &str,
) -> (u16, String, String) {
    let mut cookie = format!("tollgate_token={secret}");
    let mut body = form.to_string();
    if let Some((pair, value)) = csrf {
        cookie.push_str(&format!("; {pair}"));
        body.push_str(&format!("&csrf={value}"));
    }
    let r = no_redirects()
        .post(format!("{}/ui/findings/bulk", hub.url))
        .header("Cookie", cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .unwrap();
    let location = r
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string())
        .unwrap_or_default();
    (r.status().as_u16(), location, r.text().unwrap())
}

/// The page's "N findings" and the finding ids of its list, in order.
fn listed(page: &str) -> (i64, Vec<i64>) {
    let count = page
        .split("<p class=\"queue-count\"><strong>")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {page}"));
    let table = page.split("<table class=\"queue\">").nth(1).unwrap_or("");
    let ids = table
        .split("<a href=\"/ui/findings/")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().parse().unwrap())
        .collect();
    (count, ids)
}

fn queue(hub: &Hub, secret: &str, query: &str) -> (i64, Vec<i64>) {
    let (s, page) = ui_get(hub, &format!("/ui/findings?per_page=500&{query}"), secret);
    assert_eq!(s, 200, "{}: {query}: {page}", hub.backend);
    let (n, ids) = listed(&page);
    assert_eq!(
        n as usize,
        ids.len(),
        "{}: {query}: count ≠ rows",
        hub.backend
    );
    (n, ids)
}

/// RFC 4180 records.
fn csv_records(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut cell)),
            (false, '\r') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut cell));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => cell.push(c),
        }
    }
    assert!(cell.is_empty() && record.is_empty(), "a cut CSV: {text}");
    records
}

fn export_ids(hub: &Hub, secret: &str, query: &str) -> (Vec<i64>, Vec<i64>, String) {
    let (s, csv) = ui_get(hub, &format!("/ui/findings.csv?{query}"), secret);
    assert_eq!(s, 200, "{csv}");
    let records = csv_records(&csv);
    assert_eq!(records[0][0], "id", "the header row");
    assert!(records.iter().all(|r| r.len() == records[0].len()));
    let from_csv = records[1..].iter().map(|r| r[0].parse().unwrap()).collect();
    let (s, json) = ui_get(hub, &format!("/ui/findings.json?{query}"), secret);
    assert_eq!(s, 200, "{json}");
    let v: Value = serde_json::from_str(&json).unwrap();
    let from_json = v
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_i64().unwrap())
        .collect();
    (from_csv, from_json, format!("{csv}\n{json}"))
}

#[test]
fn the_queue_narrows_counts_exports_and_keeps_its_view_in_the_url() {
    let Some(corpus) = corpus_dir("hub_queue") else {
        return;
    };
    for hub in Hub::each("queue-filters") {
        let n = hub.backend;
        let w = seed(&hub, &corpus, "filters");
        let reader = hub.token("reader", "read", None);
        let (all, all_ids) = queue(&hub, &reader, "status=all");
        let (_, api) = hub.get(&w.admin, "/api/v2/findings/?limit=1");
        assert_eq!(all, api["count"].as_i64().unwrap(), "{n}: the API's count");
        assert!(all > 50, "{n}: {all}");
        let (open, _) = queue(&hub, &reader, "");
        assert!(open > 0 && open <= all);
        // Each filter narrows; the count equals the list (checked in `queue`) and the exports.
        let a = w.a_product;
        let filters = [
            format!("product={a}&status=all"),
            "severity=critical&severity=high".to_string(),
            "scanner=gitleaks".to_string(),
            "category=secret".to_string(),
            "category=sast&severity=medium".to_string(),
            "tag=hardcoded-secret".to_string(),
            "cwe=79".to_string(),
            "q=ROUTES%2F".to_string(),
            "sla=breached".to_string(),
            "sla=ok&status=all".to_string(),
            "since=2000-01-01&status=closed".to_string(),
            "status=false_positive".to_string(),
            format!("product={}&severity=low", w.b_product),
        ];
        for q in &filters {
            let (count, ids) = queue(&hub, &reader, q);
            assert!(count < all, "{n}: {q} does not narrow ({count} of {all})");
            let (csv, json, _) = export_ids(&hub, &reader, q);
            assert_eq!(csv, ids, "{n}: {q}: CSV ≠ list");
            assert_eq!(json, ids, "{n}: {q}: JSON ≠ list");
        }
        let mut nonempty = 0;
        for q in &filters[..8] {
            nonempty += usize::from(queue(&hub, &reader, q).0 > 0);
        }
        assert_eq!(nonempty, 8, "{n}: the first filters all match something");
        // Where the API can say the same: a product, a severity.
        for (ui, api_q) in [
            (format!("product={a}&status=all"), format!("product={a}")),
            (
                format!("product={}&status=all&severity=high", w.b_product),
                format!("product={}&severity=High", w.b_product),
            ),
        ] {
            let (_, v) = hub.get(&w.admin, &format!("/api/v2/findings/?limit=1&{api_q}"));
            assert_eq!(
                queue(&hub, &reader, &ui).0,
                v["count"].as_i64().unwrap(),
                "{n}: {ui}"
            );
        }
        // Paging covers the list once, in the same order as one big page.
        let mut paged = Vec::new();
        for page in 1..=((all + 49) / 50) {
            let (s, text) = ui_get(
                &hub,
                &format!("/ui/findings?status=all&page={page}"),
                &reader,
            );
            assert_eq!(s, 200);
            paged.extend(listed(&text).1);
        }
        assert_eq!(paged, all_ids, "{n}: paging");
        // The URL is the view: its links keep the filter; the export link gives the list.
        // In its canonical order (as the page writes it back).
        let view = "severity=high&severity=critical&status=all&sort=-age";
        let (_, page) = ui_get(&hub, &format!("/ui/findings?{view}"), &reader);
        let (_, listed_ids) = listed(&page);
        let csv_link = page
            .split("href=\"/ui/findings.csv")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .replace("&amp;", "&");
        assert_eq!(csv_link, format!("?{view}"), "{n}");
        let (csv, _, _) = export_ids(&hub, &reader, csv_link.trim_start_matches('?'));
        assert_eq!(csv[..listed_ids.len()], listed_ids[..]);
        assert!(
            page.contains(
                "href=\"/ui/findings?severity=high&amp;severity=critical&amp;status=all\""
            ),
            "{n}: the severity header keeps the filter"
        );
        assert!(page.contains("value=\"critical\" checked"), "{n}");
        // Bad parameters: a 400 page naming them.
        for bad in [
            "severity=urgent",
            "status=gone",
            "page=0",
            "since=yesterday",
            "sort=x",
        ] {
            let (s, text) = ui_get(&hub, &format!("/ui/findings?{bad}"), &reader);
            assert_eq!(s, 400, "{n}: {bad}");
            assert!(text.contains(bad.split('=').next().unwrap()), "{text}");
        }
        // Exports: formulas neutralized, quoting intact, secrets as the model stores them.
        let (_, _, text) = export_ids(&hub, &reader, "status=all");
        let (_, csv) = ui_get(&hub, "/ui/findings.csv?q=HYPERLINK", &reader);
        let records = csv_records(&csv);
        assert_eq!(records.len(), 2, "{csv}");
        assert_eq!(records[1][4], format!("'{HOSTILE_TITLE}"), "{n}: {csv}");
        assert_eq!(records[1][8], "'-cmd.sh", "{n}");
        for secret in &w.secrets {
            assert!(
                !text.contains(secret.as_str()),
                "{n}: a secret in an export"
            );
        }
        let (_, page) = ui_get(&hub, "/ui/findings?status=all&per_page=500", &reader);
        for secret in &w.secrets {
            assert!(!page.contains(secret.as_str()), "{n}: a secret on the page");
        }
        assert!(!page.contains("<script"), "{n}");
        // A reader gets no bulk form.
        assert!(
            !page.contains("/ui/findings/bulk"),
            "{n}: a reader sees the bulk form"
        );
        let _ = std::fs::remove_dir_all(&w.dir);
    }
}

#[test]
fn bulk_triage_closes_logs_who_and_why_and_keeps_to_the_product_limit() {
    let Some(corpus) = corpus_dir("hub_queue") else {
        return;
    };
    for hub in Hub::each("queue-bulk") {
        let n = hub.backend;
        let w = seed(&hub, &corpus, "bulk");
        let (a, b) = (w.a_product, w.b_product);
        let triager = hub.token("triager", "read,triage", None);
        let reader = hub.token("reader", "read", None);
        let commenter = hub.token("commenter", "read,comment", None);
        let alpha_triager = hub.token("alpha-triager", "read,triage", Some("alpha"));
        let csrf = csrf_form(&hub);

        // The form: for triage (every action), for comment (notes only), not for read.
        let (_, page) = ui_get(&hub, "/ui/findings", &triager);
        assert!(page.contains("action=\"/ui/findings/bulk\"") && page.contains("close_wont_fix"));
        assert!(page.contains("name=\"id\""), "{n}: checkboxes");
        let (_, page) = ui_get(&hub, "/ui/findings", &commenter);
        assert!(page.contains("action=\"/ui/findings/bulk\"") && !page.contains("close_wont_fix"));
        let (_, page) = ui_get(&hub, "/ui/findings", &reader);
        assert!(!page.contains("/ui/findings/bulk") && !page.contains("name=\"id\""));

        let view = format!("product={a}&category=secret");
        let (before, ids) = queue(&hub, &triager, &view);
        assert!(before >= 4, "{n}: {before}");
        let picked = &ids[..3];
        let form = |action: &str, extra: &str| {
            let ids: String = picked.iter().map(|i| format!("&id={i}")).collect();
            format!("{view}&action={action}&reason=fixed+upstream%2C+see+T-1{ids}{extra}")
        };
        // Refusals change nothing: no CSRF, a reader, a commenter closing, no reason.
        let (s, _, _) = ui_bulk(&hub, &triager, None, &form("close_wont_fix", ""));
        assert_eq!(s, 403, "{n}: no CSRF field");
        let (s, _, _) = ui_bulk(&hub, &reader, Some(&csrf), &form("close_wont_fix", ""));
        assert_eq!(s, 403, "{n}: a reader");
        let (s, _, _) = ui_bulk(&hub, &commenter, Some(&csrf), &form("close_wont_fix", ""));
        assert_eq!(s, 403, "{n}: a commenter closing");
        let (s, _, text) = ui_bulk(
            &hub,
            &triager,
            Some(&csrf),
            &format!("{view}&action=close_wont_fix&reason=&id={}", picked[0]),
        );
        assert_eq!(s, 400, "{n}: no reason: {text}");
        let (s, _, _) = ui_bulk(
            &hub,
            &triager,
            Some(&csrf),
            &form("close_risk_accepted", ""),
        );
        assert_eq!(s, 400, "{n}: risk accepted without until");
        assert_eq!(
            queue(&hub, &triager, &view).0,
            before,
            "{n}: refusals changed nothing"
        );

        // Close three with a reason: gone from the open queue, back to the same view.
        let (s, location, _) = ui_bulk(&hub, &triager, Some(&csrf), &form("close_wont_fix", ""));
        assert_eq!(s, 303, "{n}");
        assert_eq!(
            location,
            format!("/ui/findings?{view}&done=close_wont_fix.3.0.0"),
            "{n}"
        );
        let (_, page) = ui_get(&hub, &location, &triager);
        assert!(page.contains("close_wont_fix: 3 changed, 0 skipped"), "{n}");
        let (after, left) = queue(&hub, &triager, &view);
        assert_eq!(after, before - 3, "{n}");
        assert!(picked.iter().all(|id| !left.contains(id)));
        let (_, closed) = queue(&hub, &triager, &format!("{view}&status=closed"));
        assert!(picked.iter().all(|id| closed.contains(id)));
        // Each finding's history: the person and the reason (page and store).
        // The hub's store, opened beside the server, and the runtime that serves its pool.
        let rt = tollgate_server::runtime().unwrap();
        let store = rt
            .block_on(tollgate_store::Store::open(
                &hub.database,
                tollgate_store::StoreOptions::default(),
            ))
            .unwrap();
        for id in picked {
            let (s, page) = ui_get(&hub, &format!("/ui/findings/{id}"), &triager);
            assert_eq!(s, 200);
            let history = page.split("<h2>History</h2>").nth(1).unwrap_or("");
            assert!(
                history.contains("triager") && history.contains("fixed upstream, see T-1"),
                "{n}: {id}: {history}"
            );
            let events = rt.block_on(store.finding_events(*id)).unwrap();
            let last = events.last().unwrap();
            assert_eq!(last.actor.as_deref(), Some("triager"));
            assert_eq!(
                last.detail.as_deref(),
                Some("Closed as CLOSED_WONT_FIX: fixed upstream, see T-1")
            );
        }
        // Again, with one more: the closed ones are skipped, never re-closed.
        let more = format!("&id={}", left[0]);
        let (s, location, _) = ui_bulk(&hub, &triager, Some(&csrf), &form("false_positive", &more));
        assert_eq!(s, 303);
        assert!(
            location.ends_with("done=false_positive.1.3.0"),
            "{n}: {location}"
        );
        let events = rt.block_on(store.finding_events(picked[0])).unwrap();
        assert_eq!(
            events
                .iter()
                .filter(|e| e.actor.as_deref() == Some("triager"))
                .count(),
            1
        );
        let (_, fp) = queue(&hub, &triager, "status=false_positive");
        assert!(fp.contains(&left[0]), "{n}");

        // All matching a filter: every low finding of bravo gets a priority.
        let lows = format!("product={b}&severity=low");
        let (n_low, low_ids) = queue(&hub, &triager, &lows);
        assert!(n_low > 0);
        let (s, location, _) = ui_bulk(
            &hub,
            &triager,
            Some(&csrf),
            &format!("{lows}&scope=all&action=priority&priority=P1&reason="),
        );
        assert_eq!(s, 303);
        assert!(
            location.ends_with(&format!("done=priority.{n_low}.0.0")),
            "{location}"
        );
        let (_, f) = hub.get(&w.admin, &format!("/api/v2/findings/{}/", low_ids[0]));
        let (_, page) = ui_get(&hub, &format!("/ui/findings/{}", low_ids[0]), &triager);
        assert!(page.contains("P1"), "{n}: {f}");

        // A triager limited to alpha: nothing of bravo, whatever the URL or the form says.
        let (b_before, _) = queue(&hub, &w.admin, &format!("product={b}"));
        assert!(b_before > 0);
        for path in [
            format!("/ui/findings?product={b}"),
            format!("/ui/findings?product={b}&status=all"),
            "/ui/findings?status=all&sort=product".to_string(),
            format!("/ui/findings.csv?product={b}&status=all"),
            format!("/ui/findings.json?product={b}&status=all"),
        ] {
            let (s, text) = ui_get(&hub, &path, &alpha_triager);
            assert_eq!(s, 200, "{n}: {path}");
            assert!(
                !text.contains(B_NAME) && !text.contains(B_MARKER),
                "{n}: {path} shows bravo to alpha's triager"
            );
        }
        assert_eq!(
            queue(&hub, &alpha_triager, &format!("product={b}&status=all")).0,
            0
        );
        let (s, location, _) = ui_bulk(
            &hub,
            &alpha_triager,
            Some(&csrf),
            &format!("product={b}&scope=all&action=close_wont_fix&reason=pwned"),
        );
        assert_eq!(
            (s, location.ends_with("done=close_wont_fix.0.0.0")),
            (303, true),
            "{n}: {location}"
        );
        let (s, location, _) = ui_bulk(
            &hub,
            &alpha_triager,
            Some(&csrf),
            &format!("action=close_wont_fix&reason=pwned&id={}", low_ids[0]),
        );
        assert_eq!(
            (s, location.ends_with("done=close_wont_fix.0.0.1")),
            (303, true),
            "{n}: {location}"
        );
        assert_eq!(
            queue(&hub, &w.admin, &format!("product={b}")).0,
            b_before,
            "{n}: bravo untouched"
        );
        let _ = std::fs::remove_dir_all(&w.dir);
    }
}
