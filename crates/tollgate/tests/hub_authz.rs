//! Authorization at the hub's seams (issue 12 §3, §5): every route walked with another
//! product's token, no existence oracle, `/metrics` behind a scope with bounded labels, security
//! headers on every response, CSRF on the sign-in form, and the API deaf to the UI cookie.

use crate::hub::{client, generic_report, status_json, Hub};
use crate::util::temp_dir;
use reqwest::blocking::{multipart, Response};
use reqwest::Method;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

const RESULTS: &str = "/apis/mobile_security/results/v2/security_findings";
const SCAN: &str = "Generic Findings Import";
/// Product B's stored finding titles start with this; no answer to product A's token may hold it.
const B_MARKER: &str = "Finding bravo";
const B_NAME: &str = "bravo-secret";
const B_ENGAGEMENT: &str = "bravo-eng";

/// Two products, A ("alpha") and B ("bravo-secret"), and the ids of B's objects.
struct World {
    admin: String,
    /// An admin token restricted to product A: every scope, one product.
    a_admin: String,
    b_product: i64,
    b_engagement: i64,
    b_test: i64,
    b_finding: i64,
    b_gate_run: i64,
    report: PathBuf,
    dir: PathBuf,
}

fn import_into(hub: &Hub, token: &str, report: &Path, product: &str, engagement: &str) -> Value {
    let (s, v) = hub.import(
        "import-scan",
        token,
        report,
        &[
            ("scan_type", SCAN),
            ("product_type_name", "web"),
            ("product_name", product),
            ("engagement_name", engagement),
            ("auto_create_context", "true"),
        ],
    );
    assert_eq!(s, 201, "{}: seeding {product}: {v}", hub.backend);
    v
}

fn world(hub: &Hub, test: &str) -> World {
    let dir = temp_dir(&format!("hub-authz-{test}"));
    let admin = hub.token("root", "admin", None);
    let a_report = generic_report(&dir, "alpha.json", "alpha", 3);
    import_into(hub, &admin, &a_report, "alpha", "ci");
    let b_report = generic_report(&dir, "bravo.json", "bravo", 3);
    let b = import_into(hub, &admin, &b_report, B_NAME, B_ENGAGEMENT);
    let b_product = b["product_id"].as_i64().unwrap();
    let (s, f) = hub.get(&admin, &format!("/api/v2/findings/?product={b_product}"));
    assert_eq!(s, 200, "{f}");
    let a_admin = hub.token("alpha-admin", "admin", Some("alpha"));
    let (s, run) = hub.send_json(
        "POST",
        &admin,
        "/api/v2/tollgate/gate-runs/",
        json!({"product_name": B_NAME, "engagement_name": B_ENGAGEMENT, "outcome": "FAIL",
               "summary": {"reasons": [{"kind": "rule", "verdict": "block", "rule": "r",
                           "message": B_MARKER, "fingerprints": []}]}}),
    );
    assert_eq!(s, 201, "{run}");
    World {
        admin,
        a_admin,
        b_product,
        b_engagement: b["engagement_id"].as_i64().unwrap(),
        b_test: b["test_id"].as_i64().unwrap(),
        b_finding: f["results"][0]["id"].as_i64().unwrap(),
        b_gate_run: run["id"].as_i64().unwrap(),
        report: a_report,
        dir,
    }
}

#[derive(Clone, Debug)]
enum Body {
    None,
    Json(Value),
    Multipart(Vec<(&'static str, String)>),
    Form(String),
}

/// What a token of product A may get back from a request aimed at product B.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    /// 403 or 404, as for something that does not exist.
    Hidden,
    /// 200 with an empty page: a list filtered to B's objects reads like a filter on unknown ids.
    EmptyList,
    /// No product data at all (health, the OpenAPI document, the sign-in form…): any non-5xx.
    Public,
}

/// How the walk aims `method pattern` at product B: (path with query, body, expectation), one
/// or more ways. A route the walk does not know fails the test: teach it here.
fn aim(w: &World, method: &Method, pattern: &str) -> Vec<(String, Body, Expect)> {
    use Body as B;
    use Expect::*;
    let path = fill(w, pattern);
    let m = method.as_str();
    let import_variants = || {
        let base = || vec![("scan_type", SCAN.to_string())];
        let mut by_test = base();
        by_test.push(("test", w.b_test.to_string()));
        let mut by_engagement = base();
        by_engagement.push(("engagement", w.b_engagement.to_string()));
        let mut by_name = base();
        by_name.extend([
            ("product_type_name", "web".to_string()),
            ("product_name", B_NAME.to_string()),
            ("engagement_name", B_ENGAGEMENT.to_string()),
            ("auto_create_context", "true".to_string()),
        ]);
        [by_test, by_engagement, by_name]
            .into_iter()
            .map(|f| (path.clone(), B::Multipart(f), Hidden))
            .collect()
    };
    let (p, e, t) = (w.b_product, w.b_engagement, w.b_test);
    match (m, pattern) {
        (
            "POST",
            "/api/v2/import-scan/"
            | "/api/v2/import-scan"
            | "/api/v2/reimport-scan/"
            | "/api/v2/reimport-scan",
        ) => import_variants(),
        ("GET", "/api/v2/products/") => vec![
            (format!("{path}?id={p}"), B::None, EmptyList),
            (path, B::None, Public),
        ],
        ("GET", "/api/v2/engagements/") => vec![
            (format!("{path}?product={p}"), B::None, EmptyList),
            (format!("{path}?id={e}"), B::None, EmptyList),
        ],
        ("GET", "/api/v2/tests/") => vec![
            (format!("{path}?engagement={e}"), B::None, EmptyList),
            (format!("{path}?id={t}"), B::None, EmptyList),
        ],
        ("GET", "/api/v2/findings/") => vec![
            (format!("{path}?product={p}"), B::None, EmptyList),
            (format!("{path}?engagement={e}"), B::None, EmptyList),
            (format!("{path}?test={t}"), B::None, EmptyList),
            (path, B::None, Public),
        ],
        // The scan types the hub reads: no product's data.
        ("GET", "/api/v2/test_types/" | "/api/v2/test_types/{id}/") => {
            vec![(path, B::None, Public)]
        }
        ("GET", "/api/v2/test_imports/") => vec![(format!("{path}?test={t}"), B::None, Hidden)],
        (
            "GET",
            "/api/v2/products/{id}/"
            | "/api/v2/engagements/{id}/"
            | "/api/v2/tests/{id}/"
            | "/api/v2/findings/{id}/",
        ) => vec![(path, B::None, Hidden)],
        ("PATCH", "/api/v2/products/{id}/") => vec![(
            path,
            B::Json(json!({"tier": "tier-pwned", "platform": "pwned"})),
            Hidden,
        )],
        ("GET", "/api/v2/tollgate/baseline/") => vec![(
            format!("{path}?product_name={B_NAME}&engagement_name={B_ENGAGEMENT}"),
            B::None,
            Hidden,
        )],
        ("POST", "/api/v2/tollgate/gate-runs/") => vec![(
            path,
            B::Json(
                json!({"product_name": B_NAME, "engagement_name": B_ENGAGEMENT, "outcome": "PASS"}),
            ),
            Hidden,
        )],
        ("GET", pat) if pat == RESULTS_LIST => vec![
            (format!("{path}?mobile_app_id={p}"), B::None, EmptyList),
            (path, B::None, Public),
        ],
        ("GET", pat) if pat == RESULTS_ONE => vec![(path, B::None, Hidden)],
        ("PATCH", pat) if pat == RESULTS_ONE => {
            vec![(path, B::Json(json!({"priority": "P0"})), Hidden)]
        }
        ("POST", pat) if pat == RESULTS_CLOSE => vec![(
            path,
            B::Json(json!({"aggregated_status": "CLOSED_WONT_FIX", "reason": "pwned"})),
            Hidden,
        )],
        ("POST", pat) if pat == RESULTS_NOTES => {
            vec![(path, B::Json(json!({"text": "pwned"})), Hidden)]
        }
        ("POST", "/api/v2/tollgate/promotions/") => vec![(
            path,
            B::Json(
                json!({"product": B_NAME, "artifact_sha256": "ab".repeat(32),
                "release_tag": "v1", "environment": "production"}),
            ),
            Hidden,
        )],
        ("GET", "/api/v2/tollgate/metrics/") => vec![(path, B::None, Public)],
        // Program metrics: naming B is a 404; without a product they cover A only (the walk
        // checks that no answer holds B's name or findings).
        ("GET", pat) if pat.starts_with("/api/v2/tollgate/metrics/") => vec![
            (format!("{path}?product={p}"), B::None, Hidden),
            (
                format!("{path}?product={p}&from=2020-01-01&to=2020-03-01&interval=month"),
                B::None,
                Hidden,
            ),
            (path, B::None, Public),
        ],
        // Counts across every product: a restricted token gets none of them.
        ("GET", "/metrics") => vec![(path, B::None, Hidden)],
        ("GET", "/healthz" | "/api/openapi.json" | "/ui/login" | "/ui/static/tollgate.css") => {
            vec![(path, B::None, Public)]
        }
        ("GET", "/") => vec![(path, B::None, Public)],
        ("POST", "/ui/login") => vec![
            (
                path.clone(),
                B::Form(format!("token={}", w.a_admin)),
                Public,
            ),
            (
                path,
                B::Form("name=root&password=not-the-password".into()),
                Public,
            ),
        ],
        // Without the CSRF field a sign-out is refused (403); with it, it touches only the
        // browser's own session.
        ("GET", "/ui/logout") => vec![(path, B::None, Public)],
        ("POST", "/ui/logout") => vec![(path, B::Form(String::new()), Public)],
        (
            "GET",
            "/ui/products/{id}"
            | "/ui/findings/{id}"
            | "/ui/engagements/{id}"
            | "/ui/tests/{id}"
            | "/ui/gate-runs/{id}",
        ) => vec![(path, B::None, Hidden)],
        // Lists across products: B's rows are not there (the walk checks the text), and naming
        // B lists nothing of it.
        ("GET", "/ui/products" | "/ui/risk-acceptances") => vec![(path, B::None, Public)],
        ("GET", "/ui/gate-runs") => vec![
            (format!("{path}?product={p}"), B::None, Public),
            (path, B::None, Public),
        ],
        ("GET", "/ui/metrics") => vec![
            (format!("{path}?product={p}"), B::None, Hidden),
            (path, B::None, Public),
        ],
        // The finding page's forms, with a valid CSRF pair (see `send`): only the product limit
        // stands between A's admin and B's finding.
        ("POST", "/ui/findings/{id}/notes") => vec![
            (
                path.clone(),
                B::Form(format!("csrf={WALK_CSRF}&text=pwned")),
                Hidden,
            ),
            (path, B::Form(format!("csrf={WALK_CSRF}")), Hidden),
        ],
        ("POST", "/ui/findings/{id}/close") => vec![
            (
                path.clone(),
                B::Form(format!("csrf={WALK_CSRF}&how=wont_fix&reason=pwned")),
                Hidden,
            ),
            (
                path,
                B::Form(format!(
                    "csrf={WALK_CSRF}&how=risk_accepted&until=bad&reason="
                )),
                Hidden,
            ),
        ],
        ("POST", "/ui/findings/{id}/priority") => vec![
            (
                path.clone(),
                B::Form(format!("csrf={WALK_CSRF}&priority=P0")),
                Hidden,
            ),
            (
                path,
                B::Form(format!("csrf={WALK_CSRF}&priority=P9")),
                Hidden,
            ),
        ],
        // The queue and its exports: asking for B's product gives nothing of it.
        ("GET", "/ui/findings" | "/ui/findings.csv" | "/ui/findings.json") => vec![
            (format!("{path}?product={p}&status=all"), B::None, Public),
            (format!("{path}?status=all"), B::None, Public),
        ],
        // Without the CSRF field: refused before anything is looked at; with it, naming B's
        // product reaches nothing of it (the walk then checks B's findings are untouched).
        ("POST", "/ui/findings/bulk") => vec![
            (
                path.clone(),
                B::Form(format!(
                    "scope=all&product={p}&status=all&action=close_wont_fix&reason=pwned"
                )),
                Hidden,
            ),
            (
                path,
                B::Form(format!(
                    "csrf={WALK_CSRF}&scope=all&product={p}&status=all&action=close_wont_fix&reason=pwned"
                )),
                Public,
            ),
        ],
        _ => panic!(
            "the authorization walk does not know the route {m} {pattern}: teach `aim` in \
             tests/hub_authz.rs how to aim it at another product's objects"
        ),
    }
}

/// The CSRF cookie every UI request of the walk carries (a double-submit token is any
/// well-formed value the cookie and the field share).
const WALK_CSRF: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

const RESULTS_LIST: &str = RESULTS;
const RESULTS_ONE: &str = "/apis/mobile_security/results/v2/security_findings/{id}";
const RESULTS_CLOSE: &str = "/apis/mobile_security/results/v2/security_findings/{id}/close";
const RESULTS_NOTES: &str = "/apis/mobile_security/results/v2/security_findings/{id}/notes";

/// The pattern with B's id of the right kind in place of `{id}`.
fn fill(w: &World, pattern: &str) -> String {
    if !pattern.contains('{') {
        return pattern.to_string();
    }
    if pattern.starts_with("/api/v2/test_types/") {
        // Not product data: any existing type.
        return pattern.replace("{id}", "1");
    }
    let id = if pattern.starts_with("/api/v2/products/") || pattern.starts_with("/ui/products/") {
        w.b_product
    } else if pattern.starts_with("/api/v2/engagements/") || pattern.starts_with("/ui/engagements/")
    {
        w.b_engagement
    } else if pattern.starts_with("/api/v2/tests/") || pattern.starts_with("/ui/tests/") {
        w.b_test
    } else if pattern.starts_with("/ui/gate-runs/") {
        w.b_gate_run
    } else if pattern.starts_with("/api/v2/findings/")
        || pattern.starts_with(RESULTS)
        || pattern.starts_with("/ui/findings/")
    {
        w.b_finding
    } else {
        panic!("the authorization walk cannot fill the path parameters of {pattern}: teach `fill`")
    };
    pattern.replace("{id}", &id.to_string())
}

fn is_ui(path: &str) -> bool {
    path == "/" || path.starts_with("/ui/")
}

/// Sends one request as `token`: the UI cookie for UI pages, the Authorization header for the
/// rest (Bearer for /metrics, as Prometheus sends it).
fn send(hub: &Hub, token: &str, method: &Method, path: &str, body: &Body) -> (u16, String) {
    let mut r = no_redirects().request(method.clone(), format!("{}{path}", hub.url));
    r = if is_ui(path) {
        r.header(
            "Cookie",
            format!("tollgate_token={token}; tollgate_csrf={WALK_CSRF}"),
        )
    } else if path == "/metrics" {
        r.header("Authorization", format!("Bearer {token}"))
    } else {
        r.header("Authorization", format!("Token {token}"))
    };
    r = match body {
        Body::None => r,
        Body::Json(v) => r.json(v),
        Body::Form(f) => r
            .header("content-type", "application/x-www-form-urlencoded")
            .body(f.clone()),
        Body::Multipart(fields) => {
            let mut form = multipart::Form::new()
                .file("file", generic_report_file(hub))
                .unwrap();
            for (k, v) in fields {
                form = form.text(k.to_string(), v.clone());
            }
            r.multipart(form)
        }
    };
    let resp = r.send().unwrap();
    let status = resp.status().as_u16();
    (status, resp.text().unwrap_or_default())
}

fn generic_report_file(hub: &Hub) -> PathBuf {
    let dir = temp_dir(&format!("hub-authz-upload-{}", hub.backend));
    generic_report(&dir, "upload.json", "upload", 2)
}

fn no_redirects() -> reqwest::blocking::Client {
    let _ = client();
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

#[test]
fn every_route_refuses_another_products_token() {
    let table = tollgate_server::routes::route_table();
    assert!(
        table.len() >= 30,
        "the route table lists {} routes",
        table.len()
    );
    for hub in Hub::each("authz-walk") {
        let w = world(&hub, &format!("walk-{}", hub.backend));
        let mut paths: Vec<&str> = table.iter().map(|(_, p)| p.as_str()).collect();
        paths.dedup();
        paths.sort();
        paths.dedup();
        let mut walked = 0;
        for pattern in paths {
            for m in METHODS {
                let method = Method::from_bytes(m.as_bytes()).unwrap();
                // HEAD is served by a route's GET.
                let routed = if m == "HEAD" { "GET" } else { m };
                let served = table
                    .iter()
                    .any(|(tm, tp)| tm.as_str() == routed && tp == pattern);
                let cases = if served {
                    aim(&w, &Method::from_bytes(routed.as_bytes()).unwrap(), pattern)
                } else {
                    vec![(fill(&w, pattern), Body::None, Expect::Hidden)]
                };
                for (path, body, expect) in cases {
                    let (status, text) = send(&hub, &w.a_admin, &method, &path, &body);
                    walked += 1;
                    let what = format!("{}: {m} {path} ({pattern}) → {status} {text}", hub.backend);
                    assert!(status < 500, "{what}");
                    assert!(!text.contains(B_MARKER), "B's data leaked: {what}");
                    let sent_b_name =
                        path.contains("bravo") || format!("{body:?}").contains("bravo");
                    if !sent_b_name {
                        assert!(!text.contains(B_NAME), "B's name leaked: {what}");
                        assert!(
                            !text.contains(B_ENGAGEMENT),
                            "B's engagement leaked: {what}"
                        );
                    }
                    match (served, expect) {
                        (false, _) => assert_eq!(status, 405, "an unrouted method: {what}"),
                        (true, Expect::Hidden) if m == "HEAD" => {
                            assert!(matches!(status, 403 | 404), "{what}")
                        }
                        (true, Expect::Hidden) => {
                            assert!(matches!(status, 403 | 404), "{what}");
                            if !is_ui(&path) {
                                let v: Value = serde_json::from_str(&text).unwrap();
                                assert!(v["detail"].is_string(), "{what}");
                            }
                        }
                        (true, Expect::EmptyList) if m == "HEAD" => {
                            assert_eq!(status, 200, "{what}")
                        }
                        (true, Expect::EmptyList) => {
                            assert_eq!(status, 200, "{what}");
                            let v: Value = serde_json::from_str(&text).unwrap();
                            let n = v
                                .get("count")
                                .or(v.pointer("/pagination_information/total_count"))
                                .and_then(Value::as_i64);
                            assert_eq!(n, Some(0), "{what}");
                        }
                        (true, Expect::Public) => {}
                    }
                }
            }
        }
        assert!(walked > 150, "walked {walked} requests");

        // And B is as it was: labels, findings, triage, tests and imports untouched.
        let (_, p) = hub.get(&w.admin, &format!("/api/v2/products/{}/", w.b_product));
        assert!(
            p["tier"].is_null() && p["platform"].is_null(),
            "B's labels changed: {p}"
        );
        let (_, sf) = hub.results(&w.admin, &format!("?mobile_app_id={}", w.b_product));
        assert_eq!(sf["pagination_information"]["total_count"], 3, "{sf}");
        for f in sf["security_findings"].as_array().unwrap() {
            assert_eq!(f["tollgate"]["status"], "open", "{f}");
            assert_eq!(f["aggregated_status"], "NEW", "{f}");
            assert!(f["priority"].is_null(), "{f}");
            assert!(f["notes"].as_array().is_none_or(|n| n.is_empty()), "{f}");
        }
        let (_, tests) = hub.get(
            &w.admin,
            &format!("/api/v2/tests/?engagement={}", w.b_engagement),
        );
        assert_eq!(tests["count"], 1, "{tests}");
        let (_, imports) = hub.get(
            &w.admin,
            &format!("/api/v2/test_imports/?test={}", w.b_test),
        );
        assert_eq!(imports["count"], 1, "{imports}");
        let _ = std::fs::remove_dir_all(&w.dir);
    }
}

/// Status and body of an import as `token` with `fields`.
fn import_answer(hub: &Hub, token: &str, report: &Path, fields: &[(&str, &str)]) -> (u16, String) {
    let mut form = multipart::Form::new().file("file", report).unwrap();
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    let r = client()
        .post(format!("{}/api/v2/reimport-scan/", hub.url))
        .header("Authorization", format!("Token {token}"))
        .multipart(form)
        .send()
        .unwrap();
    (r.status().as_u16(), r.text().unwrap())
}

fn ui_answer(hub: &Hub, token: &str, path: &str) -> (u16, String) {
    let r = no_redirects()
        .get(format!("{}{path}", hub.url))
        .header("Cookie", format!("tollgate_token={token}"))
        .send()
        .unwrap();
    (r.status().as_u16(), r.text().unwrap())
}

fn api_answer(hub: &Hub, token: &str, path: &str) -> (u16, String) {
    let r = client()
        .get(format!("{}{path}", hub.url))
        .header("Authorization", format!("Token {token}"))
        .send()
        .unwrap();
    (r.status().as_u16(), r.text().unwrap())
}

#[test]
fn another_products_objects_answer_exactly_like_missing_ones() {
    for hub in Hub::each("authz-oracle") {
        let w = world(&hub, &format!("oracle-{}", hub.backend));
        let ci = hub.token("alpha-ci", "import,read", Some("alpha"));
        let missing = 987_654_321_i64;

        // Import by product name: B's name and a name nobody has used answer the same bytes.
        for auto_create in ["false", "true"] {
            let by_name = |name: &str| {
                import_answer(
                    &hub,
                    &ci,
                    &w.report,
                    &[
                        ("scan_type", SCAN),
                        ("product_type_name", "web"),
                        ("product_name", name),
                        ("engagement_name", B_ENGAGEMENT),
                        ("auto_create_context", auto_create),
                    ],
                )
            };
            let b = by_name(B_NAME);
            let unknown = by_name("never-heard-of-it");
            assert_eq!(
                b, unknown,
                "{}: auto_create_context={auto_create}",
                hub.backend
            );
            assert!(matches!(b.0, 400 | 403 | 404), "{b:?}");
            let v: Value = serde_json::from_str(&b.1).unwrap();
            assert!(v["detail"].is_string(), "{v}");
        }

        // The web UI: a finding (and a product) of B reads like one that does not exist.
        let b = ui_answer(&hub, &ci, &format!("/ui/findings/{}", w.b_finding));
        let unknown = ui_answer(&hub, &ci, &format!("/ui/findings/{missing}"));
        assert_eq!(b, unknown, "{}", hub.backend);
        assert_eq!(b.0, 404);
        for (page, b_id) in [
            ("products", w.b_product),
            ("engagements", w.b_engagement),
            ("tests", w.b_test),
            ("gate-runs", w.b_gate_run),
        ] {
            let b = ui_answer(&hub, &ci, &format!("/ui/{page}/{b_id}"));
            let unknown = ui_answer(&hub, &ci, &format!("/ui/{page}/{missing}"));
            assert_eq!(b, unknown, "{}: {page}", hub.backend);
            assert_eq!(b.0, 404, "{page}");
        }

        // The API echoes the id it was asked for, nothing else differs.
        let same_but_id = |path: &str, b_id: i64| {
            let b = api_answer(&hub, &ci, &path.replace("{}", &b_id.to_string()));
            let unknown = api_answer(&hub, &ci, &path.replace("{}", &missing.to_string()));
            assert_eq!(
                (b.0, b.1.replace(&b_id.to_string(), "ID")),
                (unknown.0, unknown.1.replace(&missing.to_string(), "ID")),
                "{}: {path}",
                hub.backend
            );
            assert_eq!(b.0, 404, "{path}: {}", b.1);
        };
        same_but_id("/api/v2/products/{}/", w.b_product);
        same_but_id("/api/v2/engagements/{}/", w.b_engagement);
        same_but_id("/api/v2/tests/{}/", w.b_test);
        same_but_id("/api/v2/findings/{}/", w.b_finding);
        same_but_id(&format!("{RESULTS}/{{}}"), w.b_finding);
        same_but_id("/api/v2/test_imports/?test={}", w.b_test);
        let b = api_answer(
            &hub,
            &ci,
            &format!("{RESULTS}?mobile_app_id={}", w.b_product),
        );
        let unknown = api_answer(&hub, &ci, &format!("{RESULTS}?mobile_app_id={missing}"));
        assert_eq!(b, unknown, "{}", hub.backend);
        for (field, id) in [("test", w.b_test), ("engagement", w.b_engagement)] {
            let b = import_answer(
                &hub,
                &ci,
                &w.report,
                &[("scan_type", SCAN), (field, &id.to_string())],
            );
            let unknown = import_answer(
                &hub,
                &ci,
                &w.report,
                &[("scan_type", SCAN), (field, &missing.to_string())],
            );
            assert_eq!(
                (b.0, b.1.replace(&id.to_string(), "ID")),
                (unknown.0, unknown.1.replace(&missing.to_string(), "ID")),
                "{}: import by {field}",
                hub.backend
            );
        }
        let _ = std::fs::remove_dir_all(&w.dir);
    }
}

fn metrics(hub: &Hub, auth: Option<&str>) -> (u16, String) {
    let mut r = client().get(format!("{}/metrics", hub.url));
    if let Some(a) = auth {
        r = r.header("Authorization", a);
    }
    let r = r.send().unwrap();
    (r.status().as_u16(), r.text().unwrap())
}

#[test]
fn metrics_need_the_metrics_scope_and_keep_their_labels_bounded() {
    for hub in Hub::each("authz-metrics") {
        let w = world(&hub, &format!("metrics-{}", hub.backend));
        let reader = hub.token("reader", "read", None);
        let prom = hub.token("prometheus", "metrics", None);
        let restricted = hub.token("alpha-prom", "metrics", Some("alpha"));
        assert_eq!(metrics(&hub, None).0, 401, "{}: no token", hub.backend);
        assert_eq!(metrics(&hub, Some("Bearer tgk_nonsense")).0, 401);
        let (s, body) = metrics(&hub, Some(&format!("Bearer {reader}")));
        assert_eq!(s, 403, "a read-only token: {body}");
        let (s, body) = metrics(&hub, Some(&format!("Bearer {restricted}")));
        assert_eq!(
            s, 403,
            "a product-restricted token sees no cross-product numbers: {body}"
        );
        assert!(!body.contains("tollgate_findings_stored"));
        let r = client()
            .get(format!("{}/metrics", hub.url))
            .header("Cookie", format!("tollgate_token={prom}"))
            .send()
            .unwrap();
        assert_eq!(
            r.status().as_u16(),
            401,
            "the UI cookie does not open /metrics"
        );
        let (s, before) = metrics(&hub, Some(&format!("Bearer {prom}")));
        assert_eq!(s, 200, "{before}");
        assert!(
            before.contains("tollgate_findings_stored{state=\"open\"} 6"),
            "{before}"
        );
        let (s, _) = metrics(&hub, Some(&format!("Bearer {}", w.admin)));
        assert_eq!(s, 200, "admin includes metrics");

        // 3,000 made-up methods on random paths (and on real routes) add a bounded few series.
        let c = client();
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for i in 0..3000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let method = Method::from_bytes(format!("X{seed:x}").as_bytes()).unwrap();
            let path = match i % 3 {
                0 => format!("/random/{seed:x}/{i}"),
                1 => format!("/api/v2/findings/{}/", seed % 1000),
                _ => format!("/ui/%{:02x}{seed:x}?q={i}", (seed % 256) as u8),
            };
            let r = c
                .request(method, format!("{}{path}", hub.url))
                .send()
                .unwrap();
            assert!(r.status().as_u16() < 500, "{path}: {}", r.status());
        }
        let (_, after) = metrics(&hub, Some(&format!("Bearer {prom}")));
        let lines = |t: &str| t.lines().count();
        assert!(
            lines(&after) <= lines(&before) + 6,
            "{}: {} lines before, {} after 3,000 made-up requests:\n{after}",
            hub.backend,
            lines(&before),
            lines(&after)
        );
        for line in after
            .lines()
            .filter(|l| l.starts_with("tollgate_http_requests_total{"))
        {
            let method = line
                .split("method=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            assert!(
                [
                    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT",
                    "other"
                ]
                .contains(&method),
                "{line}"
            );
            let route = line
                .split("route=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            assert!(
                route == "unmatched"
                    || tollgate_server::routes::route_table()
                        .iter()
                        .any(|(_, p)| p == route),
                "{line}"
            );
        }
        assert!(
            after.contains("method=\"other\",route=\"unmatched\""),
            "{after}"
        );
        let _ = std::fs::remove_dir_all(&w.dir);
    }
    // The explicit opt-in: open to anyone.
    for hub in Hub::each_with("authz-metrics-public", &["--public-metrics"]) {
        let (s, body) = metrics(&hub, None);
        assert_eq!(s, 200, "{}: --public-metrics: {body}", hub.backend);
        assert!(body.contains("tollgate_http_requests_total"), "{body}");
    }
}

fn header<'a>(r: &'a Response, name: &str) -> &'a str {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap())
        .unwrap_or_else(|| panic!("{} {}: no {name} header", r.status(), r.url()))
}

/// Asserts the security headers of a response; returns its body.
fn assert_secured(r: Response, what: &str) -> String {
    let html = r
        .headers()
        .get("content-type")
        .is_some_and(|v| v.to_str().unwrap().starts_with("text/html"));
    assert_eq!(header(&r, "x-content-type-options"), "nosniff", "{what}");
    assert_eq!(header(&r, "x-frame-options"), "DENY", "{what}");
    assert_eq!(header(&r, "referrer-policy"), "same-origin", "{what}");
    let csp = header(&r, "content-security-policy").to_string();
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{what}: {csp}"
    );
    if html {
        assert!(csp.contains("default-src 'self'"), "{what}: {csp}");
        assert!(csp.contains("script-src 'self'"), "{what}: {csp}");
        assert!(csp.contains("style-src 'self'"), "{what}: {csp}");
    } else {
        assert!(csp.starts_with("default-src 'none'"), "{what}: {csp}");
    }
    let body = r.text().unwrap();
    if html {
        // Nothing inline for the CSP to block: the page must render as written.
        for inline in [
            "<style",
            " style=",
            "<script",
            " onclick=",
            " onload=",
            " onerror=",
        ] {
            assert!(
                !body.contains(inline),
                "{what}: inline {inline:?} in {body}"
            );
        }
    }
    body
}

/// The sign-in form's CSRF cookie (`name=value`) and its hidden field's value.
pub(crate) fn csrf_form(hub: &Hub) -> (String, String) {
    csrf_form_named(hub, "tollgate_csrf")
}

pub(crate) fn csrf_form_named(hub: &Hub, name: &str) -> (String, String) {
    let r = no_redirects()
        .get(format!("{}/ui/login", hub.url))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with(&format!("{name}=")))
        .expect("the sign-in form sets a CSRF cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap().to_string();
    let body = r.text().unwrap();
    let value = body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .expect("the form has a csrf field")
        .split('"')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(
        pair,
        format!("{name}={value}"),
        "double submit: the same value"
    );
    (pair, value)
}

/// POSTs the sign-in form.
fn sign_in(hub: &Hub, cookie: Option<&str>, form: &str, extra: &[(&str, &str)]) -> Response {
    let mut r = no_redirects()
        .post(format!("{}/ui/login", hub.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_string());
    if let Some(c) = cookie {
        r = r.header("Cookie", c);
    }
    for (k, v) in extra {
        r = r.header(*k, *v);
    }
    r.send().unwrap()
}

#[test]
fn every_response_carries_security_headers_and_pages_render_without_inline_code() {
    for hub in Hub::each("authz-headers") {
        let w = world(&hub, &format!("headers-{}", hub.backend));
        let c = no_redirects();
        let get = |path: &str| c.get(format!("{}{path}", hub.url));
        let cookie = format!("tollgate_token={}", w.admin);
        let cases: Vec<(&str, reqwest::blocking::RequestBuilder, u16)> = vec![
            ("health JSON", get("/healthz"), 200),
            ("the OpenAPI document", get("/api/openapi.json"), 200),
            (
                "an API list",
                get("/api/v2/findings/").header("Authorization", format!("Token {}", w.admin)),
                200,
            ),
            ("401 error JSON", get("/api/v2/findings/"), 401),
            (
                "404 of the API",
                get(&format!("/api/v2/findings/{}/", 99_999_999))
                    .header("Authorization", format!("Token {}", w.admin)),
                404,
            ),
            ("unknown route", get("/no/such/route"), 404),
            (
                "unrouted method",
                c.delete(format!("{}/healthz", hub.url)),
                405,
            ),
            (
                "400 of a bad multipart body",
                c.post(format!("{}/api/v2/import-scan/", hub.url))
                    .header("Authorization", format!("Token {}", w.admin))
                    .header("content-type", "multipart/form-data")
                    .body("x"),
                400,
            ),
            ("metrics 401", get("/metrics"), 401),
            ("sign-in page", get("/ui/login"), 200),
            ("stylesheet", get("/ui/static/tollgate.css"), 200),
            ("redirect to sign-in", get("/"), 303),
            ("home page", get("/").header("Cookie", &cookie), 200),
            (
                "product page",
                get(&format!("/ui/products/{}", w.b_product)).header("Cookie", &cookie),
                200,
            ),
            (
                "finding page",
                get(&format!("/ui/findings/{}", w.b_finding)).header("Cookie", &cookie),
                200,
            ),
            (
                "UI 404",
                get("/ui/findings/99999999").header("Cookie", &cookie),
                404,
            ),
        ];
        for (what, req, status) in cases {
            let r = req.send().unwrap();
            let what = format!("{}: {what}", hub.backend);
            assert_eq!(r.status().as_u16(), status, "{what}");
            let is_css = what.ends_with("stylesheet");
            let ctype = r
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_string());
            let body = assert_secured(r, &what);
            if is_css {
                assert!(ctype.unwrap().starts_with("text/css"), "{what}");
                assert!(body.contains(".critical"), "{what}: {body}");
            }
            if what.ends_with("finding page") {
                assert!(
                    body.contains("/ui/static/tollgate.css"),
                    "{what}: links its stylesheet"
                );
                assert!(body.contains(B_MARKER), "{what}: the page renders");
            }
        }
        // A refused sign-in (CSRF) is secured too.
        assert_secured(sign_in(&hub, None, "token=x", &[]), "CSRF refusal");
        let _ = std::fs::remove_dir_all(&w.dir);
    }
}

#[test]
fn the_sign_in_form_needs_its_csrf_token() {
    for hub in Hub::each("authz-csrf") {
        let reader = hub.token("reader", "read", None);
        let (cookie, value) = csrf_form(&hub);

        // A cross-origin POST knows neither the cookie nor its value.
        let r = sign_in(
            &hub,
            None,
            &format!("token={reader}"),
            &[("Origin", "https://evil.example")],
        );
        assert_eq!(
            r.status().as_u16(),
            403,
            "{}: cross-origin sign-in",
            hub.backend
        );
        assert!(r.headers().get("set-cookie").is_none());
        let r = sign_in(&hub, None, &format!("token={reader}"), &[]);
        assert_eq!(r.status().as_u16(), 403, "no CSRF cookie nor field");
        let r = sign_in(&hub, Some(&cookie), &format!("token={reader}"), &[]);
        assert_eq!(r.status().as_u16(), 403, "cookie without the field");
        let r = sign_in(&hub, None, &format!("token={reader}&csrf={value}"), &[]);
        assert_eq!(r.status().as_u16(), 403, "field without the cookie");
        let wrong = "0".repeat(64);
        let r = sign_in(
            &hub,
            Some(&cookie),
            &format!("token={reader}&csrf={wrong}"),
            &[],
        );
        assert_eq!(r.status().as_u16(), 403, "a field that does not match");
        let r = sign_in(
            &hub,
            Some(&cookie),
            &format!("token={reader}&csrf={value}"),
            &[("Origin", "https://evil.example")],
        );
        assert_eq!(
            r.status().as_u16(),
            403,
            "a matching pair from another origin"
        );
        let r = sign_in(
            &hub,
            Some(&cookie),
            &format!("token={reader}&csrf={value}"),
            &[("Sec-Fetch-Site", "cross-site")],
        );
        assert_eq!(r.status().as_u16(), 403, "a matching pair sent cross-site");

        // Our own form: accepted, from the same origin too.
        let origin = hub.url.trim_end_matches('/').to_string();
        let r = sign_in(
            &hub,
            Some(&cookie),
            &format!("token={reader}&csrf={value}"),
            &[("Origin", &origin), ("Sec-Fetch-Site", "same-origin")],
        );
        assert_eq!(r.status().as_u16(), 303, "{}: our own form", hub.backend);
        let set = r.headers()["set-cookie"].to_str().unwrap();
        assert!(
            set.starts_with("tollgate_session=") && !set.contains(&reader),
            "{set}"
        );
        // A wrong token through a valid form is still 401.
        let r = sign_in(
            &hub,
            Some(&cookie),
            &format!("token=tgk_wrong&csrf={value}"),
            &[],
        );
        assert_eq!(r.status().as_u16(), 401);
        // The form reuses the browser's CSRF cookie: two tabs do not invalidate each other.
        let r = no_redirects()
            .get(format!("{}/ui/login", hub.url))
            .header("Cookie", &cookie)
            .send()
            .unwrap();
        assert!(r.headers().get("set-cookie").is_none());
        assert!(r.text().unwrap().contains(&value));
    }
    // Behind HTTPS and a reverse proxy: a `__Host-` Secure cookie, and the public URL's origin
    // is ours even when the proxy rewrites Host.
    for hub in Hub::each_with(
        "authz-csrf-https",
        &["--public-url", "https://tollgate.example.com/"],
    ) {
        let reader = hub.token("reader", "read", None);
        let (cookie, value) = csrf_form_named(&hub, "__Host-tollgate_csrf");
        let form = format!("token={reader}&csrf={value}");
        let r = sign_in(
            &hub,
            Some(&cookie),
            &form,
            &[("Origin", "https://tollgate.example.com")],
        );
        assert_eq!(
            r.status().as_u16(),
            303,
            "{}: the public origin",
            hub.backend
        );
        let set = r.headers()["set-cookie"].to_str().unwrap();
        assert!(set.contains("; Secure"), "{set}");
        let r = sign_in(
            &hub,
            Some(&cookie),
            &form,
            &[("Origin", "https://tollgate.example.com.evil.example")],
        );
        assert_eq!(r.status().as_u16(), 403);
        let r = sign_in(&hub, Some(&cookie.replace("__Host-", "")), &form, &[]);
        assert_eq!(
            r.status().as_u16(),
            403,
            "the plain-HTTP cookie name does not count"
        );
    }
}

#[test]
fn the_api_ignores_the_ui_cookie() {
    for hub in Hub::each("authz-cookie") {
        let w = world(&hub, &format!("cookie-{}", hub.backend));
        let cookie = format!("tollgate_token={}", w.admin);
        // The body from memory, sent with the head: the hub refuses this call before it reads
        // the body and closes the connection after its answer, so a body still streaming from a
        // file could meet the closed connection and lose the answer (a CI run did).
        let report =
            multipart::Part::bytes(std::fs::read(&w.report).unwrap()).file_name("report.json");
        let form = multipart::Form::new()
            .part("file", report)
            .text("scan_type", SCAN)
            .text("product_name", "alpha")
            .text("engagement_name", "ci");
        let r = client()
            .post(format!("{}/api/v2/import-scan/", hub.url))
            .header("Cookie", &cookie)
            .multipart(form)
            .send()
            .unwrap();
        let (s, v) = status_json(r);
        assert_eq!(
            s, 401,
            "{}: a multipart import with only the cookie: {v}",
            hub.backend
        );
        assert!(v["detail"].is_string(), "{v}");
        for path in [
            "/api/v2/findings/".to_string(),
            format!("/api/v2/products/{}/", w.b_product),
            RESULTS.to_string(),
            "/api/v2/tollgate/baseline/?product_name=alpha".to_string(),
        ] {
            let r = client()
                .get(format!("{}{path}", hub.url))
                .header("Cookie", &cookie)
                .send()
                .unwrap();
            assert_eq!(
                r.status().as_u16(),
                401,
                "{}: {path} with only the cookie",
                hub.backend
            );
        }
        let r = client()
            .patch(format!("{}/api/v2/products/{}/", hub.url, w.b_product))
            .header("Cookie", &cookie)
            .json(&json!({"tier": "tier-1"}))
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 401);
        // The cookie still serves the UI, and the header the API.
        let r = no_redirects()
            .get(format!("{}/ui/findings/{}", hub.url, w.b_finding))
            .header("Cookie", &cookie)
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let (s, _) = hub.get(&w.admin, "/api/v2/findings/");
        assert_eq!(s, 200);
        let _ = std::fs::remove_dir_all(&w.dir);
    }
}
