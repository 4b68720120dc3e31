//! `tollgate serve` end to end: the real binary on a random port, on SQLite and (when
//! TOLLGATE_TEST_POSTGRES_URL is set) on PostgreSQL, driven over HTTP and by the other commands.

use crate::util::{corpus_dir, stderr, temp_dir, tollgate};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const RESULTS: &str = "/apis/mobile_security/results/v2/security_findings";

/// A running `tollgate serve` with its own database.
pub struct Hub {
    child: Option<Child>,
    pub url: String,
    pub database: String,
    pub backend: &'static str,
    dir: PathBuf,
    extra: Vec<String>,
}

impl Hub {
    /// A hub on SQLite, and one on PostgreSQL when configured (else said loudly).
    pub fn each(test: &str) -> Vec<Hub> {
        Hub::each_with(test, &[])
    }

    pub fn each_with(test: &str, extra: &[&str]) -> Vec<Hub> {
        let mut hubs = vec![Hub::sqlite(test, extra)];
        match std::env::var("TOLLGATE_TEST_POSTGRES_URL") {
            Ok(base) => hubs.push(Hub::postgres(test, &base, extra)),
            Err(_) => {
                eprintln!("{test}: SKIPPED on PostgreSQL: TOLLGATE_TEST_POSTGRES_URL is not set")
            }
        }
        hubs
    }

    pub(crate) fn sqlite(test: &str, extra: &[&str]) -> Hub {
        let dir = temp_dir(&format!("hub-{test}"));
        let database = format!("sqlite://{}", dir.join("hub.db").display());
        Hub::start(dir, database, "sqlite", extra)
    }

    fn postgres(test: &str, base: &str, extra: &[&str]) -> Hub {
        let dir = temp_dir(&format!("hub-pg-{test}"));
        let rt = tollgate_server::runtime().unwrap();
        let database = rt
            .block_on(tollgate_store::testing::fresh_postgres_database(base))
            .expect("create a PostgreSQL test database");
        Hub::start(dir, database, "postgres", extra)
    }

    fn start(dir: PathBuf, database: String, backend: &'static str, extra: &[&str]) -> Hub {
        let mut hub = Hub {
            child: None,
            url: String::new(),
            database,
            backend,
            dir,
            extra: extra.iter().map(|s| s.to_string()).collect(),
        };
        hub.launch();
        hub
    }

    fn launch(&mut self) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tollgate"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--database",
                &self.database,
            ])
            .args(&self.extra)
            .current_dir(&self.dir)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start tollgate serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("tollgate hub listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from serve: {line:?}"))
            .to_string();
        self.url = url;
        self.child = Some(child);
    }

    /// A second `serve` process on the same database, started with the same flags.
    pub fn replica(&self) -> Hub {
        let dir = temp_dir(&format!(
            "{}-replica",
            self.dir.display().to_string().replace('/', "_")
        ));
        let extra: Vec<&str> = self.extra.iter().map(String::as_str).collect();
        Hub::start(dir, self.database.clone(), self.backend, &extra)
    }

    /// kill -9, then start again on the same database.
    pub fn kill9_and_restart(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
        self.launch();
    }

    /// SIGTERM; the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut c = self.child.take().unwrap();
        Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status()
            .unwrap();
        c.wait().unwrap()
    }

    pub fn token(&self, name: &str, scopes: &str, product: Option<&str>) -> String {
        let mut args = vec![
            "token",
            "create",
            "--name",
            name,
            "--scope",
            scopes,
            "--database",
        ];
        args.push(&self.database);
        if let Some(p) = product {
            args.extend(["--product", p]);
        }
        let out = tollgate(&args);
        assert!(out.status.success(), "token create: {}", stderr(&out));
        let secret = String::from_utf8(out.stdout).unwrap().trim().to_string();
        assert!(secret.starts_with("tgk_"));
        secret
    }

    pub fn get(&self, token: &str, path: &str) -> (u16, Value) {
        let r = client()
            .get(format!("{}{path}", self.url))
            .header("Authorization", format!("Token {token}"))
            .send()
            .unwrap();
        status_json(r)
    }

    pub fn results(&self, key: &str, query: &str) -> (u16, Value) {
        let r = client()
            .get(format!("{}{RESULTS}{query}", self.url))
            .header("Authorization", format!("APIKey {key}"))
            .send()
            .unwrap();
        status_json(r)
    }

    pub fn send_json(&self, method: &str, key: &str, path: &str, body: Value) -> (u16, Value) {
        let r = client()
            .request(method.parse().unwrap(), format!("{}{path}", self.url))
            .header("Authorization", format!("APIKey {key}"))
            .json(&body)
            .send()
            .unwrap();
        status_json(r)
    }

    /// POSTs a DefectDojo import-scan / reimport-scan form.
    pub fn import(
        &self,
        endpoint: &str,
        token: &str,
        file: &Path,
        fields: &[(&str, &str)],
    ) -> (u16, Value) {
        self.try_import(endpoint, token, file, fields).unwrap()
    }

    /// Like `import`, but a connection the server closed while the body was still being sent
    /// (it answers 413 before reading all of an oversized upload) is an `Err`.
    pub fn try_import(
        &self,
        endpoint: &str,
        token: &str,
        file: &Path,
        fields: &[(&str, &str)],
    ) -> Result<(u16, Value), reqwest::Error> {
        let mut form = reqwest::blocking::multipart::Form::new()
            .file("file", file)
            .unwrap();
        for (k, v) in fields {
            form = form.text(k.to_string(), v.to_string());
        }
        let r = client()
            .post(format!("{}/api/v2/{endpoint}/", self.url))
            .header("Authorization", format!("Token {token}"))
            .multipart(form)
            .send()?;
        Ok(status_json(r))
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub(crate) fn client() -> reqwest::blocking::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()
        .unwrap()
}

pub(crate) fn status_json(r: reqwest::blocking::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let text = r.text().unwrap();
    let v = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, v)
}

/// A reimport answer's (created, closed, reactivated, untouched).
pub(crate) fn delta(v: &Value) -> (i64, i64, i64, i64) {
    let d = &v["statistics"]["delta"];
    let n = |k: &str| d[k]["total"]["total"].as_i64().unwrap();
    (n("created"), n("closed"), n("reactivated"), n("untouched"))
}

const CONTEXT: [(&str, &str); 4] = [
    ("product_type_name", "web"),
    ("product_name", "shop"),
    ("engagement_name", "ci"),
    ("auto_create_context", "true"),
];

/// The import form fields of product `shop` / engagement `ci` (auto-created), plus `extra`.
pub(crate) fn with<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut v: Vec<_> = CONTEXT.to_vec();
    v.extend_from_slice(extra);
    v
}

/// A DefectDojo Generic Findings report of `n` findings with stable distinct ids `prefix-i`.
pub fn generic_report(dir: &Path, name: &str, prefix: &str, n: usize) -> PathBuf {
    let severities = ["Critical", "High", "Medium", "Low", "Info"];
    let findings: Vec<Value> = (0..n)
        .map(|i| {
            json!({
                "title": format!("Finding {prefix}-{i}"),
                "severity": severities[i % 5],
                "description": format!("Generated finding {i} for the hub tests."),
                "file_path": format!("src/module{}/file{i}.py", i % 17),
                "line": i % 400 + 1,
                "unique_id_from_tool": format!("{prefix}-{i}"),
                "vuln_id_from_tool": format!("RULE-{}", i % 31),
                "cwe": 79,
            })
        })
        .collect();
    let path = dir.join(name);
    std::fs::write(
        &path,
        serde_json::to_vec(&json!({ "findings": findings })).unwrap(),
    )
    .unwrap();
    path
}

#[test]
fn defectdojos_zap_reimport_sequence_from_the_corpus() {
    let Some(corpus) = corpus_dir("defectdojos_zap_reimport_sequence_from_the_corpus") else {
        return;
    };
    for hub in Hub::each("zap-sequence") {
        let t = hub.token("ci", "import,read", None);
        let (s, first) = hub.import(
            "import-scan",
            &t,
            &corpus.join("zap-xml/dd-0_zap_sample.xml"),
            &with(&[("scan_type", "ZAP Scan")]),
        );
        assert_eq!(s, 201, "{}: {first}", hub.backend);
        assert!(
            first["statistics"].get("delta").is_none(),
            "import returns only after"
        );
        let (s, second) = hub.import(
            "reimport-scan",
            &t,
            &corpus.join("zap-xml/dd-1_zap_sample_0_and_new_absent.xml"),
            &with(&[("scan_type", "Zed Attack Proxy")]),
        );
        assert_eq!(s, 201, "{}: {second}", hub.backend);
        assert_eq!(second["test_id"], first["test_id"]);
        assert_eq!(delta(&second), (1, 1, 0, 3), "{}: {second}", hub.backend);
        // The history of the test has both calls.
        let (_, imports) = hub.get(
            &t,
            &format!("/api/v2/test_imports/?test={}", first["test_id"]),
        );
        assert_eq!(imports["count"], 2, "{}: {imports}", hub.backend);
    }
}

#[test]
fn bad_imports_get_400_and_store_nothing() {
    for hub in Hub::each("bad-imports") {
        let t = hub.token("ci", "import,read", None);
        let dir = temp_dir("hub-bad-imports-files");
        let report = generic_report(&dir, "g.json", "a", 3);

        let (s, v) = hub.import(
            "import-scan",
            &t,
            &report,
            &with(&[("scan_type", "Nessus Scan")]),
        );
        assert_eq!(s, 400);
        let detail = v["detail"].as_str().unwrap();
        assert!(
            detail.contains("Nessus Scan") && detail.contains("\"ZAP Scan\""),
            "{detail}"
        );

        // A Generic report sent as Trivy.
        let (s, v) = hub.import("import-scan", &t, &report, &with(&[("scan_type", "Trivy")]));
        assert_eq!(s, 400, "{v}");
        assert!(
            v["detail"].as_str().unwrap().contains("not \"Trivy Scan\""),
            "{v}"
        );

        // Truncated JSON.
        let broken = dir.join("broken.json");
        std::fs::write(&broken, br#"{"findings": [{"title": "x", "#).unwrap();
        let (s, v) = hub.import(
            "import-scan",
            &t,
            &broken,
            &with(&[("scan_type", "Generic Findings Import")]),
        );
        assert_eq!(s, 400, "{v}");
        assert!(v["detail"].as_str().unwrap().contains("line 1"), "{v}");

        // A large SARIF that breaks near its end: findings were already streaming into the
        // store when the parser failed; the import is rolled back whole.
        let results: Vec<Value> = (0..5000)
            .map(|i| json!({"ruleId": format!("R{}", i % 7), "level": "error",
                "message": {"text": format!("issue {i}")},
                "locations": [{"physicalLocation": {"artifactLocation": {"uri": format!("src/f{i}.c")},
                    "region": {"startLine": i + 1}}}]}))
            .collect();
        let sarif = serde_json::to_string(&json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "cc"}}, "results": results}]})).unwrap();
        let cut = dir.join("cut.sarif");
        std::fs::write(&cut, &sarif[..sarif.len() - 300]).unwrap();
        let (s, v) = hub.import("import-scan", &t, &cut, &with(&[("scan_type", "SARIF")]));
        assert_eq!(s, 400, "{v}");
        assert!(
            v["detail"]
                .as_str()
                .unwrap()
                .contains("nothing was imported"),
            "{v}"
        );

        // Unknown product without auto_create_context.
        let (s, v) = hub.import(
            "reimport-scan",
            &t,
            &report,
            &[
                ("scan_type", "Generic Findings Import"),
                ("product_name", "nowhere"),
                ("engagement_name", "ci"),
            ],
        );
        assert_eq!(s, 400, "{v}");
        assert!(v["detail"].as_str().unwrap().contains("\"nowhere\""), "{v}");

        let (s, v) = hub.import(
            "import-scan",
            &t,
            &report,
            &with(&[("scan_type", "Generic"), ("minimum_severity", "Severe")]),
        );
        assert_eq!(s, 400, "{v}");

        let (_, products) = hub.get(&t, "/api/v2/products/");
        assert_eq!(
            products["count"], 0,
            "{}: nothing stored: {products}",
            hub.backend
        );
        let (_, findings) = hub.get(&t, "/api/v2/findings/");
        assert_eq!(findings["count"], 0);

        // No token, a wrong token.
        let r = client()
            .get(format!("{}/api/v2/products/", hub.url))
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 401);
        let (s, _) = hub.get("tgk_not_a_token", "/api/v2/products/");
        assert_eq!(s, 401);
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[test]
fn results_api_pages_closes_notes_and_enforces_permissions() {
    for hub in Hub::each("results-api") {
        let admin = hub.token("admin", "admin", None);
        let dir = temp_dir("hub-results-files");
        let shop = generic_report(&dir, "shop.json", "s", 7);
        let other = generic_report(&dir, "other.json", "o", 2);
        let (s, v) = hub.import(
            "import-scan",
            &admin,
            &shop,
            &with(&[("scan_type", "Generic Findings Import")]),
        );
        assert_eq!(s, 201, "{v}");
        let shop_id = v["product_id"].as_i64().unwrap();
        let (s, v) = hub.import(
            "import-scan",
            &admin,
            &other,
            &[
                ("scan_type", "Generic Findings Import"),
                ("product_type_name", "web"),
                ("product_name", "other"),
                ("engagement_name", "ci"),
                ("auto_create_context", "true"),
            ],
        );
        assert_eq!(s, 201, "{v}");
        let other_id = v["product_id"].as_i64().unwrap();

        // Paging over 4 pages of 2 with mobile_app_id, then all 9 without.
        let mut ids = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let q = match &cursor {
                Some(c) => format!("?page_size=2&mobile_app_id={shop_id}&cursor={c}"),
                None => format!("?page_size=2&mobile_app_id={shop_id}"),
            };
            let (s, page) = hub.results(&admin, &q);
            assert_eq!(s, 200, "{page}");
            pages += 1;
            assert_eq!(page["pagination_information"]["total_count"], 7);
            for f in page["security_findings"].as_array().unwrap() {
                assert_eq!(f["mobile_app_id"], shop_id.to_string());
                assert_eq!(f["aggregated_status"], "NEW");
                ids.push(f["id"].as_str().unwrap().to_string());
            }
            match page["pagination_information"]["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => break,
            }
            assert!(pages < 10, "cursor loop");
        }
        assert_eq!(pages, 4, "{}", hub.backend);
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 7, "every finding exactly once: {ids:?}");
        let (_, all) = hub.results(&admin, "?page_size=1000");
        assert_eq!(all["security_findings"].as_array().unwrap().len(), 9);
        assert!(all["pagination_information"]["next_cursor"].is_null());
        let (s, _) = hub.results(&admin, "?cursor=garbage");
        assert_eq!(s, 400);
        let (s, _) = hub.results(&admin, "?status_group=MAYBE");
        assert_eq!(s, 400);

        // Labels: admin only.
        let (s, p) = hub.send_json(
            "PATCH",
            &admin,
            &format!("/api/v2/products/{shop_id}/"),
            json!({"tier": "tier-1", "platform": "android"}),
        );
        assert_eq!(s, 200, "{p}");
        let (_, p) = hub.get(&admin, &format!("/api/v2/products/{shop_id}/"));
        assert!(p.to_string().contains("tier-1"), "{p}");

        let first = &ids[0];
        let path = format!("{RESULTS}/{first}");
        // Priority and notes.
        let (s, f) = hub.send_json("PATCH", &admin, &path, json!({"priority": "P1"}));
        assert_eq!(s, 200, "{f}");
        assert_eq!(f["priority"], "P1");
        assert_eq!(f["aggregated_status"], "OPEN", "triaged: no longer NEW");
        let (s, _) = hub.send_json("PATCH", &admin, &path, json!({"priority": "P9"}));
        assert_eq!(s, 400);
        let (s, body) = hub.send_json(
            "POST",
            &admin,
            &format!("{path}/notes"),
            json!({"text": "Looking into it"}),
        );
        assert_eq!(s, 204, "{body}");
        // Close permanently; the reason is a note; closing again is an error.
        let (s, f) = hub.send_json(
            "POST",
            &admin,
            &format!("{path}/close"),
            json!({"aggregated_status": "CLOSED_RISK_ACCEPTED", "is_permanently_closed": true, "reason": "Compensated by the WAF"}),
        );
        assert_eq!(s, 200, "{f}");
        assert_eq!(f["aggregated_status"], "CLOSED_RISK_ACCEPTED");
        assert_eq!(f["is_permanently_closed"], true);
        let texts: Vec<&str> = f["notes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["text"].as_str().unwrap())
            .collect();
        assert_eq!(texts.len(), 2, "{texts:?}");
        assert!(texts[1].contains("Compensated by the WAF"), "{texts:?}");
        let (s, v) = hub.send_json(
            "POST",
            &admin,
            &format!("{path}/close"),
            json!({"aggregated_status": "CLOSED_WONT_FIX", "reason": "again"}),
        );
        assert_eq!(s, 409, "{v}");
        let (_, open) = hub.results(
            &admin,
            &format!("?mobile_app_id={shop_id}&status_group=OPEN"),
        );
        assert_eq!(open["pagination_information"]["total_count"], 6);
        let (_, closed) = hub.results(&admin, "?status_group=CLOSED");
        assert_eq!(closed["pagination_information"]["total_count"], 1);

        // The same report again: the permanently closed finding stays closed.
        let (s, v) = hub.import(
            "reimport-scan",
            &admin,
            &shop,
            &with(&[("scan_type", "Generic Findings Import")]),
        );
        assert_eq!(s, 201, "{v}");
        assert_eq!(delta(&v), (0, 0, 0, 7), "{v}");
        let (_, f) = hub.results(&admin, &format!("/{first}"));
        assert_eq!(
            f["aggregated_status"], "CLOSED_RISK_ACCEPTED",
            "{}: never reopens",
            hub.backend
        );

        // Permissions: a read-only key cannot triage or comment.
        let reader = hub.token("reader", "read", None);
        let (s, _) = hub.send_json(
            "PATCH",
            &reader,
            &format!("{RESULTS}/{}", ids[1]),
            json!({"priority": "P2"}),
        );
        assert_eq!(s, 403);
        let (s, _) = hub.send_json(
            "POST",
            &reader,
            &format!("{RESULTS}/{}/close", ids[1]),
            json!({"aggregated_status": "CLOSED_WONT_FIX", "reason": "x"}),
        );
        assert_eq!(s, 403);
        let (s, _) = hub.send_json(
            "POST",
            &reader,
            &format!("{RESULTS}/{}/notes", ids[1]),
            json!({"text": "x"}),
        );
        assert_eq!(s, 403);
        let commenter = hub.token("commenter", "read,comment", None);
        let (s, _) = hub.send_json(
            "POST",
            &commenter,
            &format!("{RESULTS}/{}/notes", ids[1]),
            json!({"text": "ok"}),
        );
        assert_eq!(s, 204);

        // A token of product "other" sees nothing of "shop".
        let scoped = hub.token("other-ci", "read,import,triage", Some("other"));
        let (_, list) = hub.results(&scoped, "");
        assert_eq!(list["pagination_information"]["total_count"], 2, "{list}");
        let other_app = other_id.to_string();
        assert!(list["security_findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["mobile_app_id"].as_str() == Some(other_app.as_str())));
        // (What it may not see reads like what does not exist: an empty page, 404.)
        let (s, v) = hub.results(&scoped, &format!("?mobile_app_id={shop_id}"));
        assert_eq!(s, 200);
        assert_eq!(v["pagination_information"]["total_count"], 0, "{v}");
        let (s, _) = hub.results(&scoped, &format!("/{}", ids[1]));
        assert_eq!(s, 404);
        let (s, _) = hub.send_json(
            "POST",
            &scoped,
            &format!("{RESULTS}/{}/close", ids[1]),
            json!({"aggregated_status": "CLOSED_WONT_FIX", "reason": "x"}),
        );
        assert_eq!(s, 404);
        let (_, products) = hub.get(&scoped, "/api/v2/products/");
        assert_eq!(products["count"], 1, "{products}");
        let (s, _) = hub.get(&scoped, &format!("/api/v2/products/{shop_id}/"));
        assert_eq!(s, 404);
        let (_, findings) = hub.get(&scoped, "/api/v2/findings/");
        assert_eq!(findings["count"], 2);
        let (s, v) = hub.import(
            "reimport-scan",
            &scoped,
            &shop,
            &with(&[("scan_type", "Generic Findings Import")]),
        );
        assert_eq!(s, 403, "{v}");
        let (s, v) = hub.import(
            "reimport-scan",
            &scoped,
            &other,
            &[
                ("scan_type", "Generic Findings Import"),
                ("product_name", "other"),
                ("engagement_name", "ci"),
            ],
        );
        assert_eq!(s, 201, "{v}");
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[test]
fn upload_pull_and_gate_work_against_the_hub() {
    for hub in Hub::each("clients") {
        let ci = hub.token("ci", "import,read", None);
        let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/reports");
        let trivy = examples.join("trivy-image.json");
        let semgrep = examples.join("semgrep.json");
        let upload = |extra: &[&str]| {
            let mut args = vec![
                "upload",
                trivy.to_str().unwrap(),
                semgrep.to_str().unwrap(),
                "--url",
                &hub.url,
                "--token",
                &ci,
                "--product",
                "shop",
                "--product-type",
                "web",
                "--attempts",
                "1",
            ];
            args.extend_from_slice(extra);
            tollgate(&args)
        };
        let out = upload(&[]);
        assert!(out.status.success(), "{}: {}", hub.backend, stderr(&out));
        let out = upload(&[]);
        assert!(out.status.success(), "{}", stderr(&out));
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(
            said.contains("0 created, 0 closed, 0 reactivated"),
            "{said}"
        );
        assert!(
            !said.contains(" 0 untouched") && !said.contains("? untouched"),
            "{said}"
        );
        let (_, tests) = hub.get(&ci, "/api/v2/tests/");
        assert_eq!(
            tests["count"], 2,
            "one test per scan type, reimported: {tests}"
        );
        let (_, findings) = hub.get(&ci, "/api/v2/findings/?limit=100");
        let stored = findings["count"].as_i64().unwrap();
        assert!(stored >= 3, "{findings}");

        // pull reads every page back into a report parse and gate accept.
        let dir = temp_dir("hub-clients-pull");
        let pulled = dir.join("pulled.json");
        let out = tollgate(&[
            "pull",
            "--url",
            &hub.url,
            "--api-key",
            &ci,
            "--status-group",
            "OPEN",
            "-o",
            pulled.to_str().unwrap(),
            "--attempts",
            "1",
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let out = tollgate(&["parse", pulled.to_str().unwrap(), "--format", "json"]);
        assert!(out.status.success(), "{}", stderr(&out));
        let parsed: Value = serde_json::from_slice(&out.stdout).unwrap();
        let n = parsed
            .as_array()
            .map(|a| a.len())
            .or_else(|| parsed["findings"].as_array().map(|a| a.len()))
            .unwrap();
        assert_eq!(
            n as i64, stored,
            "{}: every open finding pulled",
            hub.backend
        );
        // Pulled findings keep the hub's fingerprints (so a gate over them matches baselines).
        let list = parsed
            .as_array()
            .or_else(|| parsed["findings"].as_array())
            .unwrap();
        let mut pulled_fps: Vec<&str> = list
            .iter()
            .map(|f| f["fingerprint"].as_str().unwrap())
            .collect();
        let mut hub_fps: Vec<&str> = findings["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["hash_code"].as_str().unwrap())
            .collect();
        pulled_fps.sort();
        hub_fps.sort();
        assert_eq!(pulled_fps, hub_fps, "{}", hub.backend);

        // The gate with the hub as baseline: what the hub knows is not new.
        let gate = |extra: &[&str]| {
            let out_dir = dir.join(format!("gate{}", extra.len()));
            let mut args = vec![
                "gate",
                trivy.to_str().unwrap(),
                "--out-dir",
                out_dir.to_str().unwrap(),
                "--hub-token",
                &ci,
                "--product",
                "shop",
            ];
            args.extend_from_slice(extra);
            (tollgate(&args), out_dir)
        };
        let (out, out_dir) = gate(&["--baseline-url", &hub.url, "--report-to", &hub.url]);
        let summary: Value = serde_json::from_slice(
            &std::fs::read(out_dir.join("security-gate-summary.json")).unwrap(),
        )
        .unwrap();
        let text = summary.to_string();
        assert!(
            !text.contains("\"state\":\"new\""),
            "{}: nothing new against the hub: {}",
            hub.backend,
            stderr(&out)
        );
        assert!(
            stderr(&out).contains("recorded as gate run")
                || String::from_utf8_lossy(&out.stdout).contains("recorded as gate run"),
            "{}",
            stderr(&out)
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[test]
fn concurrent_reimports_never_duplicate_and_auto_create_once() {
    for hub in Hub::each("concurrency") {
        let t = hub.token("ci", "import,read", None);
        let dir = temp_dir("hub-concurrency-files");
        let report = generic_report(&dir, "r.json", "c", 200);
        std::thread::scope(|s| {
            for _ in 0..6 {
                s.spawn(|| {
                    let (status, v) = hub.import(
                        "reimport-scan",
                        &t,
                        &report,
                        &with(&[("scan_type", "Generic Findings Import")]),
                    );
                    assert_eq!(status, 201, "{v}");
                });
            }
        });
        let (_, products) = hub.get(&t, "/api/v2/products/");
        assert_eq!(products["count"], 1, "{}", hub.backend);
        let (_, engagements) = hub.get(&t, "/api/v2/engagements/");
        assert_eq!(engagements["count"], 1, "{}", hub.backend);
        let (_, tests) = hub.get(&t, "/api/v2/tests/");
        assert_eq!(tests["count"], 1, "{}", hub.backend);
        let (_, findings) = hub.get(&t, "/api/v2/findings/?limit=1");
        assert_eq!(findings["count"], 200, "{}", hub.backend);
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[test]
fn kill_9_during_a_large_import_leaves_a_consistent_database_and_the_retry_converges() {
    for mut hub in Hub::each("kill9") {
        let t = hub.token("ci", "import,read", None);
        let dir = temp_dir("hub-kill9-files");
        let n = 60_000;
        let report = generic_report(&dir, "big.json", "k", n);
        let url = hub.url.clone();
        let sender = {
            let report = report.clone();
            let t = t.clone();
            std::thread::spawn(move || {
                let form = reqwest::blocking::multipart::Form::new()
                    .file("file", &report)
                    .unwrap()
                    .text("scan_type", "Generic Findings Import");
                let mut form = form;
                for (k, v) in CONTEXT {
                    form = form.text(k, v);
                }
                client()
                    .post(format!("{url}/api/v2/reimport-scan/"))
                    .header("Authorization", format!("Token {t}"))
                    .multipart(form)
                    .send()
                    .map(|r| r.status().as_u16())
            })
        };
        // Kill while the server works on it (after the upload, during parse or store).
        std::thread::sleep(Duration::from_millis(700));
        hub.kill9_and_restart();
        let _ = sender.join().unwrap();

        let (_, findings) = hub.get(&t, "/api/v2/findings/?limit=1");
        let count = findings["count"].as_i64().unwrap();
        assert!(
            count == 0 || count == n as i64,
            "{}: half an import survived: {count}",
            hub.backend
        );
        let (_, tests) = hub.get(&t, "/api/v2/tests/");
        assert!(tests["count"].as_i64().unwrap() <= 1);

        let (s, v) = hub.import(
            "reimport-scan",
            &t,
            &report,
            &with(&[("scan_type", "Generic Findings Import")]),
        );
        assert_eq!(s, 201, "{v}");
        let (_, findings) = hub.get(&t, "/api/v2/findings/?limit=1");
        assert_eq!(
            findings["count"], n as i64,
            "{}: the retry converges",
            hub.backend
        );
        let (s, v) = hub.import(
            "reimport-scan",
            &t,
            &report,
            &with(&[("scan_type", "Generic Findings Import")]),
        );
        assert_eq!(s, 201);
        assert_eq!(delta(&v), (0, 0, 0, n as i64));
        // And the file itself is sound (SQLite's integrity check; PostgreSQL has none to run).
        hub.terminate();
        let rt = tollgate_server::runtime().unwrap();
        rt.block_on(async {
            let store = tollgate_store::Store::open(&hub.database, Default::default())
                .await
                .unwrap();
            store.check_integrity().await.unwrap();
            store.close().await;
        });
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[test]
fn operations_health_metrics_openapi_body_limit_and_graceful_shutdown() {
    for mut hub in Hub::each_with("ops", &["--body-limit", "2K"]) {
        let t = hub.token("ci", "import,read", None);
        let r = client().get(format!("{}/healthz", hub.url)).send().unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let health: Value = r.json().unwrap();
        assert_eq!(health["database"], hub.backend);

        let dir = temp_dir("hub-ops-files");
        let big = generic_report(&dir, "big.json", "b", 50);
        // The hub answers 413 as soon as the limit is passed; the client may still be sending
        // and see the connection closed instead. Either way the metrics show the 413 below.
        match hub.try_import(
            "import-scan",
            &t,
            &big,
            &with(&[("scan_type", "Generic Findings Import")]),
        ) {
            Ok((s, _)) => assert_eq!(s, 413, "{}: over the body limit", hub.backend),
            Err(e) => eprintln!("upload cut off by the hub's early 413: {e}"),
        }
        let small = generic_report(&dir, "small.json", "s", 1);
        let (s, v) = hub.import(
            "import-scan",
            &t,
            &small,
            &with(&[("scan_type", "Generic Findings Import")]),
        );
        assert_eq!(s, 201, "{v}");

        let prometheus = hub.token("prometheus", "metrics", None);
        let metrics = client()
            .get(format!("{}/metrics", hub.url))
            .header("Authorization", format!("Bearer {prometheus}"))
            .send()
            .unwrap()
            .text()
            .unwrap();
        assert!(
            metrics.contains("tollgate_import_duration_seconds_count{kind=\"import\"} 1"),
            "{metrics}"
        );
        assert!(
            metrics.contains("tollgate_findings_stored{state=\"open\"} 1"),
            "{metrics}"
        );
        assert!(
            metrics.contains("route=\"/api/v2/import-scan/\",status=\"413\"} 1"),
            "{metrics}"
        );

        let openapi: Value = client()
            .get(format!("{}/api/openapi.json", hub.url))
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert!(openapi.is_object());

        // The web page of a finding (the Results API portal_url) needs a signed-in token.
        let (_, list) = hub.results(&t, "");
        let portal = list["security_findings"][0]["portal_url"]
            .as_str()
            .unwrap()
            .to_string();
        let page = client()
            .get(&portal)
            .header("Cookie", format!("tollgate_token={t}"))
            .send()
            .unwrap();
        assert_eq!(page.status().as_u16(), 200);
        assert!(page.text().unwrap().contains("Finding s-0"));
        let anonymous = reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .get(&portal)
            .send()
            .unwrap();
        assert_eq!(anonymous.status().as_u16(), 303);

        // Signing in with the token sets a session in an HttpOnly cookie (never the token
        // itself); a wrong token is refused.
        let no_redirect = reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let (csrf_cookie, csrf) = crate::hub_authz::csrf_form(&hub);
        let signed_in = no_redirect
            .post(format!("{}/ui/login", hub.url))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("Cookie", &csrf_cookie)
            .body(format!("token={t}&csrf={csrf}"))
            .send()
            .unwrap();
        assert_eq!(signed_in.status().as_u16(), 303);
        let cookie = signed_in.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            cookie.starts_with("tollgate_session=")
                && cookie.contains("HttpOnly")
                && cookie.contains("SameSite=Lax")
                && !cookie.contains(&t),
            "{cookie}"
        );
        let refused = no_redirect
            .post(format!("{}/ui/login", hub.url))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("Cookie", &csrf_cookie)
            .body(format!("token=tgk_wrong&csrf={csrf}"))
            .send()
            .unwrap();
        assert_eq!(refused.status().as_u16(), 401);

        let status = hub.terminate();
        assert!(
            status.success(),
            "{}: SIGTERM is a clean stop: {status}",
            hub.backend
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[test]
fn replicas_on_one_postgres_share_every_import() {
    let Ok(base) = std::env::var("TOLLGATE_TEST_POSTGRES_URL") else {
        eprintln!("replicas_on_one_postgres_share_every_import: SKIPPED: TOLLGATE_TEST_POSTGRES_URL is not set");
        return;
    };
    let a = Hub::postgres("replicas", &base, &[]);
    let b = a.replica();
    let c = a.replica();
    let t = a.token("ci", "import,read,triage", None);
    let dir = temp_dir("hub-replicas-files");
    let report = generic_report(&dir, "r.json", "r", 300);
    std::thread::scope(|s| {
        for hub in [&a, &b, &c, &a, &b, &c] {
            let (t, report) = (&t, &report);
            s.spawn(move || {
                let (status, v) = hub.import(
                    "reimport-scan",
                    t,
                    report,
                    &with(&[("scan_type", "Generic Findings Import")]),
                );
                assert_eq!(status, 201, "{v}");
            });
        }
    });
    for hub in [&a, &b, &c] {
        let (_, tests) = hub.get(&t, "/api/v2/tests/");
        assert_eq!(tests["count"], 1, "one test whichever replica answered");
        let (_, findings) = hub.get(&t, "/api/v2/findings/?limit=1");
        assert_eq!(findings["count"], 300);
    }
    // Triage on one replica is what the others serve.
    let (_, page) = a.results(&t, "?page_size=1");
    let id = page["security_findings"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, _) = b.send_json(
        "PATCH",
        &t,
        &format!("{RESULTS}/{id}"),
        json!({"priority": "P0"}),
    );
    assert_eq!(s, 200);
    let (_, f) = c.results(&t, &format!("/{id}"));
    assert_eq!(f["priority"], "P0");
    let _ = std::fs::remove_dir_all(dir);
}
