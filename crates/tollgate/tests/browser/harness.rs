//! chromedriver, the seeded hubs, a browser session per test and the checks every page passes.

use crate::util::corpus_dir;
use anyhow::{bail, ensure, Context, Result};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use std::future::Future;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How every browser of these tests starts: no GPU, no sandbox (root in CI), and none of
/// Chromium's own connections to the outside (there is no network to reach).
pub const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
];

/// The window every test and the UI tour see the pages in.
pub const WINDOW: (u32, u32) = (1280, 900);

pub const PASSWORD: &str = "correct horse battery staple";
/// A person who sees every product.
pub const ADA: &str = "ada";
/// A person limited to [`BANK`].
pub const LENA: &str = "lena";
/// A person who may triage and comment (every product).
pub const TESS: &str = "tess";
/// Products of the seed: Semgrep's NodeGoat run, mobsfscan's SARIF of InsecureBankv2, and the
/// hostile fixtures (see `xss.rs`), whose name carries markup itself.
pub const SHOP: &str = "shop-web";
pub const BANK: &str = "bank-android";
pub const HOSTILE: &str = "hostile <b>product</b><img src=x onerror=\"window.__xss=9\">";

// ---------------------------------------------------------------------------------------------
// Processes that end with this test process.

/// A process started under `setsid sh`, which kills its whole process group (the program and
/// whatever it started: chromedriver's browsers) when its standard input closes. This process
/// holds that pipe, so the group goes however the tests end: at drop, at exit, or at a crash.
pub struct Tied {
    child: Child,
}

impl Tied {
    /// Starts `program`; its standard output is piped to this process when `stdout` is true
    /// (else dropped: a pipe nobody reads would stop it at its first line).
    fn spawn(
        program: &str,
        args: &[&str],
        dir: &Path,
        env: &[(&str, &str)],
        stdout: bool,
    ) -> (Tied, Option<ChildStdout>) {
        let mut child = Command::new("setsid")
            .args([
                "-w",
                "sh",
                "-c",
                "\"$@\" & cat >/dev/null; kill -TERM 0",
                "tied",
            ])
            .arg(program)
            .args(args)
            .current_dir(dir)
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(if stdout {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("start {program} under setsid: {e}"));
        let stdout = child.stdout.take();
        (Tied { child }, stdout)
    }
}

impl Drop for Tied {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

// ---------------------------------------------------------------------------------------------
// chromedriver

pub struct Driver {
    pub url: String,
    _process: Tied,
}

static DRIVER: OnceLock<std::result::Result<Driver, String>> = OnceLock::new();

fn on_path(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn chromium_binary() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".into())
}

fn start_driver() -> std::result::Result<Driver, String> {
    let driver = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
    for program in [driver.clone(), chromium_binary()] {
        if !on_path(&program) {
            return Err(format!("`{program} --version` does not run"));
        }
    }
    let port = free_port();
    let (process, _) = Tied::spawn(
        &driver,
        &[&format!("--port={port}"), "--log-level=WARNING"],
        &std::env::temp_dir(),
        &[],
        false,
    );
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ready = http()
            .get(format!("{url}/status"))
            .send()
            .ok()
            .and_then(|r| r.json::<Value>().ok())
            .is_some_and(|v| v["value"]["ready"] == true);
        if ready {
            return Ok(Driver {
                url,
                _process: process,
            });
        }
        if Instant::now() > deadline {
            return Err(format!(
                "{driver} did not answer on {url}/status within 30 s"
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The shared chromedriver; `None` (said loudly) when there is no browser, unless
/// `TOLLGATE_REQUIRE_BROWSER=1`, which makes that a failure.
pub fn driver(test: &str) -> Option<&'static Driver> {
    match DRIVER.get_or_init(start_driver) {
        Ok(d) => Some(d),
        Err(why) => {
            if std::env::var("TOLLGATE_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
                panic!("{test}: a browser is required (TOLLGATE_REQUIRE_BROWSER=1) but {why}");
            }
            // Straight to stderr: the test harness captures eprintln! of passing tests.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: no browser ({why}; apt-get install chromium chromium-driver, \
                 or set CHROMEDRIVER / CHROMIUM)"
            );
            None
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The seeded hubs

pub fn http() -> reqwest::blocking::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(300))
        .build()
        .unwrap()
}

/// One `tollgate serve` with the seed below; its ids, as the API gave them.
pub struct SeededHub {
    pub url: String,
    pub backend: &'static str,
    pub database: String,
    pub admin: String,
    pub shop: i64,
    pub bank: i64,
    pub hostile: i64,
    /// The shop's and the bank's findings, `(id, title)`, as the API lists them.
    pub shop_findings: Vec<(i64, String)>,
    pub bank_findings: Vec<(i64, String)>,
    pub hostile_findings: Vec<(i64, String)>,
    /// The gate run of the shop's release (`tollgate gate --report-to`), and the SHA-256 of the
    /// artifact it named.
    pub gate_run: i64,
    pub artifact_sha256: String,
    _process: Tied,
    dir: PathBuf,
}

impl Drop for SeededHub {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

static HUBS: OnceLock<Vec<SeededHub>> = OnceLock::new();

/// Removes what earlier runs left in the temporary directory (the shared hubs' directories outlive
/// their run: statics are never dropped): `tollgate-browser-…-PID` and `tollgate-chromium-…-PID`
/// of processes that are gone.
fn remove_leftovers() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !(name.starts_with("tollgate-browser-") || name.starts_with("tollgate-chromium-")) {
            continue;
        }
        let pid = name.rsplit('-').next().and_then(|p| p.parse::<u32>().ok());
        if pid
            .is_some_and(|p| p != std::process::id() && !Path::new(&format!("/proc/{p}")).exists())
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The seeded hubs of this test binary: SQLite, and PostgreSQL when `TOLLGATE_TEST_POSTGRES_URL`
/// is set (else said loudly). `None` without the corpus (see [`corpus_dir`]).
pub fn hubs(test: &str) -> Option<&'static [SeededHub]> {
    let corpus = corpus_dir(test)?;
    Some(HUBS.get_or_init(|| {
        remove_leftovers();
        let mut hubs = vec![SeededHub::start("sqlite", &corpus, Seed::Tests)];
        match std::env::var("TOLLGATE_TEST_POSTGRES_URL") {
            Ok(_) => hubs.push(SeededHub::start("postgres", &corpus, Seed::Tests)),
            Err(_) => {
                let _ = writeln!(
                    std::io::stderr(),
                    "browser tests: SKIPPED on PostgreSQL: TOLLGATE_TEST_POSTGRES_URL is not set"
                );
            }
        }
        hubs
    }))
}

pub fn tollgate(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tollgate");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn succeeded(what: &str, out: &Output) -> String {
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What a hub is seeded with.
#[derive(Clone, Copy, PartialEq)]
pub enum Seed {
    /// The tests' hub: the corpus products, the hostile product, a gate run, two people.
    Tests,
    /// The UI tour's: the same without the hostile product, and one finding triaged (closed with
    /// a reason, a note) so its page has a history to show.
    Tour,
}

impl SeededHub {
    pub fn start(backend: &'static str, corpus: &Path, seed: Seed) -> SeededHub {
        let label = match seed {
            Seed::Tests => "tests",
            Seed::Tour => "tour",
        };
        let dir = std::env::temp_dir().join(format!(
            "tollgate-browser-{label}-{backend}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let database = match backend {
            "sqlite" => format!("sqlite://{}", dir.join("hub.db").display()),
            _ => {
                let base = std::env::var("TOLLGATE_TEST_POSTGRES_URL").unwrap();
                tollgate_server::runtime()
                    .unwrap()
                    .block_on(tollgate_store::testing::fresh_postgres_database(&base))
                    .expect("create a PostgreSQL test database")
            }
        };
        let admin = succeeded(
            "token create",
            &tollgate(
                &[
                    "token",
                    "create",
                    "--name",
                    "seed",
                    "--scope",
                    "admin",
                    "--database",
                    &database,
                ],
                "",
            ),
        )
        .trim()
        .to_string();
        let (process, stdout) = Tied::spawn(
            env!("CARGO_BIN_EXE_tollgate"),
            &["serve", "--listen", "127.0.0.1:0", "--database", &database],
            &dir,
            &[("RUST_LOG", "warn")],
            true,
        );
        let mut line = String::new();
        BufReader::new(stdout.unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("tollgate hub listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from serve: {line:?}"))
            .to_string();

        let mut hub = SeededHub {
            url,
            backend,
            database,
            admin,
            shop: 0,
            bank: 0,
            hostile: 0,
            shop_findings: vec![],
            bank_findings: vec![],
            hostile_findings: vec![],
            gate_run: 0,
            artifact_sha256: String::new(),
            _process: process,
            dir: dir.clone(),
        };
        hub.shop = hub.import(
            &corpus.join("semgrep/semgrep-NodeGoat.json"),
            "Semgrep JSON Report",
            SHOP,
        );
        hub.bank = hub.import(
            &corpus.join("sarif/mobsfscan-Android-InsecureBankv2.sarif"),
            "SARIF",
            BANK,
        );
        hub.label(hub.shop, "tier-1", "web");
        hub.label(hub.bank, "tier-2", "android");
        hub.shop_findings = hub.findings(hub.shop);
        hub.bank_findings = hub.findings(hub.bank);
        match seed {
            Seed::Tests => {
                for (file, scan_type) in crate::xss::fixture_reports(&dir) {
                    hub.hostile = hub.import(&file, scan_type, HOSTILE);
                }
                hub.hostile_findings = hub.findings(hub.hostile);
                for (id, _) in &hub.hostile_findings {
                    hub.note(*id, crate::xss::NOTE);
                }
            }
            Seed::Tour => {
                let (id, _) = hub.shop_findings[0];
                hub.note(id, "Reproduced on staging; the fix is in review (MR !42).");
                hub.results_post(
                    &format!("{id}/close"),
                    json!({"aggregated_status": "CLOSED_COMPENSATING_CONTROL",
                           "reason": "The WAF rule 9410 blocks this input on every route."}),
                );
            }
        }
        hub.gate_run(&dir, corpus);
        for (name, scopes, product) in [
            (ADA, "read", None),
            (LENA, "read", Some(BANK)),
            (TESS, "read,triage,comment", None),
        ] {
            let mut args = vec![
                "user",
                "create",
                "--name",
                name,
                "--scope",
                scopes,
                "--database",
            ];
            args.push(&hub.database);
            if let Some(p) = product {
                args.extend(["--product", p]);
            }
            succeeded("user create", &tollgate(&args, &format!("{PASSWORD}\n")));
        }
        hub
    }

    /// Imports `file` into `product` (engagement `ci`, created as needed); the product's id.
    pub fn import(&self, file: &Path, scan_type: &str, product: &str) -> i64 {
        let form = reqwest::blocking::multipart::Form::new()
            .file("file", file)
            .unwrap()
            .text("scan_type", scan_type.to_string())
            .text("product_type_name", "apps")
            .text("product_name", product.to_string())
            .text("engagement_name", "ci")
            .text("auto_create_context", "true");
        let r = http()
            .post(format!("{}/api/v2/import-scan/", self.url))
            .header("Authorization", format!("Token {}", self.admin))
            .multipart(form)
            .send()
            .unwrap();
        let status = r.status().as_u16();
        let v: Value = r.json().unwrap();
        assert_eq!(status, 201, "import {}: {v}", file.display());
        v["product_id"].as_i64().unwrap()
    }

    /// Sets a product's tier and platform labels.
    fn label(&self, product: i64, tier: &str, platform: &str) {
        let r = http()
            .patch(format!("{}/api/v2/products/{product}/", self.url))
            .header("Authorization", format!("Token {}", self.admin))
            .json(&json!({ "tier": tier, "platform": platform }))
            .send()
            .unwrap();
        assert!(r.status().is_success(), "label {product}: {}", r.status());
    }

    /// GET `path` of the API as the seeding admin.
    pub fn api(&self, path: &str) -> Value {
        let r = http()
            .get(format!("{}{path}", self.url))
            .header("Authorization", format!("Token {}", self.admin))
            .send()
            .unwrap();
        assert!(r.status().is_success(), "GET {path}: {}", r.status());
        r.json().unwrap()
    }

    fn findings(&self, product: i64) -> Vec<(i64, String)> {
        let v = self.api(&format!("/api/v2/findings/?product={product}&limit=1000"));
        let findings: Vec<(i64, String)> = v["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["id"].as_i64().unwrap(),
                    f["title"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert!(!findings.is_empty(), "product {product} has no findings");
        findings
    }

    /// A new token with the `read` scope, limited to `product` (by name) when given: its secret.
    pub fn read_token(&self, name: &str, product: Option<&str>) -> String {
        let mut args = vec!["token", "create", "--name", name, "--scope", "read"];
        if let Some(p) = product {
            args.extend(["--product", p]);
        }
        args.extend(["--database", &self.database]);
        succeeded("token create", &tollgate(&args, ""))
            .trim()
            .to_string()
    }

    /// A note through the Results API (`POST …/security_findings/{id}/notes`).
    pub fn note(&self, finding: i64, text: &str) {
        assert_eq!(
            self.results_post(&format!("{finding}/notes"), json!({ "text": text })),
            204,
            "note on {finding}"
        );
    }

    /// `POST …/security_findings/{path}` of the Results API as the seeding admin; the status.
    pub fn results_post(&self, path: &str, body: Value) -> u16 {
        let r = http()
            .post(format!(
                "{}/apis/mobile_security/results/v2/security_findings/{path}",
                self.url
            ))
            .header("Authorization", format!("APIKey {}", self.admin))
            .json(&body)
            .send()
            .unwrap();
        let status = r.status().as_u16();
        assert!(
            r.status().is_success(),
            "POST {path}: {status} {}",
            r.text().unwrap_or_default()
        );
        status
    }

    /// A real gate run of the shop's report, recorded with `--report-to`.
    fn gate_run(&mut self, dir: &Path, corpus: &Path) {
        use sha2::Digest;
        let artifact = dir.join("shop-web.tar");
        let content = b"the shop's release";
        std::fs::write(&artifact, content).unwrap();
        self.artifact_sha256 = sha2::Sha256::digest(content)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let report = corpus.join("semgrep/semgrep-NodeGoat.json");
        let out_dir = dir.join("gate");
        let out = tollgate(
            &[
                "gate",
                report.to_str().unwrap(),
                "--out-dir",
                out_dir.to_str().unwrap(),
                "--report-to",
                &self.url,
                "--hub-token",
                &self.admin,
                "--product",
                SHOP,
                "--artifact",
                artifact.to_str().unwrap(),
            ],
            "",
        );
        let said = String::from_utf8_lossy(&out.stdout);
        self.gate_run = said
            .split("recorded as gate run ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|id| id.parse().ok())
            .unwrap_or_else(|| {
                panic!(
                    "gate --report-to: {said}{}",
                    String::from_utf8_lossy(&out.stderr)
                )
            });
    }
}

// ---------------------------------------------------------------------------------------------
// A browser session per test

/// Where failing tests leave their screenshots: `target/browser-screenshots/`.
pub fn screenshot_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"))
        .join("browser-screenshots")
}

/// Starts a browser session with a fresh profile, runs `scenario` in it, and closes it. When
/// the scenario fails (an error or a panic), saves a screenshot of the page it was on, prints its
/// path and fails the test with the scenario's message.
pub fn in_browser<F, Fut>(driver: &Driver, name: &str, scenario: F)
where
    F: FnOnce(Client) -> Fut,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    let profile =
        std::env::temp_dir().join(format!("tollgate-chromium-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&profile);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let failure = runtime.block_on(async {
        let client = connect(driver, &profile)
            .await
            .unwrap_or_else(|e| panic!("{name}: start a browser session: {e:#}"));
        let outcome = tokio::spawn(scenario(client.clone())).await;
        let failure = match outcome {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(format!("{e:#}")),
            Err(e) => Some(match e.try_into_panic() {
                Ok(p) => p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "panic".into()),
                Err(e) => e.to_string(),
            }),
        };
        let failure = match failure {
            None => None,
            Some(why) => {
                let shot = save_screenshot(&client, name).await;
                let at = client
                    .current_url()
                    .await
                    .map(|u| u.to_string())
                    .unwrap_or_default();
                Some(format!("{why}\n  page: {at}\n  screenshot: {shot}"))
            }
        };
        let _ = client.close().await;
        failure
    });
    let _ = std::fs::remove_dir_all(&profile);
    if let Some(why) = failure {
        panic!("{name}: {why}");
    }
}

async fn connect(driver: &Driver, profile: &Path) -> Result<Client> {
    let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|s| s.to_string()).collect();
    args.push(format!("--user-data-dir={}", profile.display()));
    args.push(format!("--window-size={},{}", WINDOW.0, WINDOW.1));
    let mut options = json!({ "args": args });
    if let Ok(binary) = std::env::var("CHROMIUM") {
        options["binary"] = json!(binary);
    }
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("chrome"));
    caps.insert("goog:chromeOptions".into(), options);
    Ok(
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&driver.url)
            .await?,
    )
}

async fn save_screenshot(client: &Client, name: &str) -> String {
    let dir = screenshot_dir();
    let path = dir.join(format!("{name}.png"));
    match client.screenshot().await {
        Ok(png) => match std::fs::create_dir_all(&dir).and_then(|_| std::fs::write(&path, png)) {
            Ok(()) => path.display().to_string(),
            Err(e) => format!("(not saved: {e})"),
        },
        Err(e) => format!("(no screenshot: {e})"),
    }
}

/// Runs `scenario` against each seeded hub, in a browser session of its own; skips (loudly) when
/// there is no browser or no corpus.
pub fn each_hub<F, Fut>(test: &str, scenario: F)
where
    F: Fn(Client, &'static SeededHub) -> Fut,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    let Some(driver) = driver(test) else {
        return;
    };
    let Some(hubs) = hubs(test) else {
        return;
    };
    for hub in hubs {
        in_browser(driver, &format!("{test}-{}", hub.backend), |c| {
            scenario(c, hub)
        });
    }
}

// ---------------------------------------------------------------------------------------------
// What a test does on a page

/// Opens `path` of the hub and checks the page as every UI page must be (see [`page_is_clean`]).
pub async fn open(c: &Client, hub: &SeededHub, path: &str) -> Result<()> {
    c.goto(&format!("{}{path}", hub.url))
        .await
        .with_context(|| format!("open {path}"))?;
    page_is_clean(c).await.with_context(|| format!("on {path}"))
}

/// The path of the page the browser shows.
pub async fn path(c: &Client) -> Result<String> {
    Ok(c.current_url().await?.path().to_string())
}

/// Marks the page the browser shows as left, before a click that navigates to a page with the same
/// path (a filter form, a POST that redirects back): `wait_for_path` then waits for the new page
/// instead of returning at once on the old one.
pub async fn leaving(c: &Client) -> Result<()> {
    c.execute(
        "document.documentElement.setAttribute('data-test-left', '')",
        vec![],
    )
    .await?;
    Ok(())
}

/// Waits (up to 10 s) until the browser shows `path`, loaded, and not the page marked by `leaving`,
/// after a click that navigates.
pub async fn wait_for_path(c: &Client, want: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = path(c).await?;
        if now == want
            && c.execute(
                "return document.readyState === 'complete' \
                 && !document.documentElement.hasAttribute('data-test-left')",
                vec![],
            )
            .await?
                == true
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("expected to arrive at {want}, still at {now}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The text a person reads on the page.
pub async fn text(c: &Client) -> Result<String> {
    Ok(c.execute("return document.body.innerText", vec![])
        .await?
        .as_str()
        .unwrap_or_default()
        .to_string())
}

pub async fn h1(c: &Client) -> Result<String> {
    Ok(c.find(Locator::Css("h1")).await?.text().await?)
}

/// What a UI page must be under its Content-Security-Policy: its stylesheet loaded, no inline
/// script or style, no event-handler attribute, no `javascript:` URL, no frame or object.
pub async fn page_is_clean(c: &Client) -> Result<()> {
    let v = c
        .execute(
            r#"
            const all = Array.from(document.querySelectorAll('*'));
            const handlers = all.flatMap(e => Array.from(e.attributes)
                .filter(a => a.name.toLowerCase().startsWith('on'))
                .map(a => e.tagName + '[' + a.name + ']'));
            const jsUrls = all.flatMap(e => ['href', 'src', 'action', 'formaction', 'xlink:href']
                .map(n => e.getAttribute(n)).filter(u => u !== null)
                .filter(u => u.replace(/[\u0000-\u0020]/g, '').toLowerCase().startsWith('javascript:')));
            return {
                rules: Array.from(document.styleSheets).reduce((n, s) => n + s.cssRules.length, 0),
                sheets: Array.from(document.styleSheets).map(s => s.href),
                inline_scripts: Array.from(document.scripts).filter(s => !s.src).map(s => s.text.slice(0, 80)),
                scripts: Array.from(document.scripts).map(s => s.src),
                styles: document.querySelectorAll('style').length,
                style_attributes: document.querySelectorAll('[style]').length,
                handlers: handlers,
                javascript_urls: jsUrls,
                embedded: document.querySelectorAll('iframe, frame, object, embed, base').length,
            };
            "#,
            vec![],
        )
        .await?;
    ensure!(
        v["rules"].as_u64().unwrap_or(0) > 0,
        "the stylesheet did not load: {v}"
    );
    ensure!(
        v["sheets"]
            == json!([format!(
                "{}/ui/static/tollgate.css",
                c.current_url().await?.origin().ascii_serialization()
            )]),
        "the page loads other stylesheets than the hub's: {v}"
    );
    for empty in ["inline_scripts", "handlers", "javascript_urls"] {
        ensure!(v[empty] == json!([]), "{empty} on the page: {v}");
    }
    for zero in ["styles", "style_attributes", "embedded"] {
        ensure!(v[zero] == 0, "{zero} on the page: {v}");
    }
    Ok(())
}

/// The `Content-Security-Policy` the hub sends with the page the browser shows (fetched again
/// from inside the page, with its cookies).
pub async fn csp_of_page(c: &Client) -> Result<String> {
    let v = c
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
               fetch(location.href, {credentials: 'same-origin'})
                 .then(r => done(r.headers.get('content-security-policy')))
                 .catch(e => done('fetch failed: ' + e));"#,
            vec![],
        )
        .await?;
    Ok(v.as_str().unwrap_or_default().to_string())
}

/// Signs `name` in through the name-and-password form; arrives at `/`.
pub async fn sign_in(c: &Client, hub: &SeededHub, name: &str, password: &str) -> Result<()> {
    open(c, hub, "/ui/login").await?;
    c.find(Locator::Css("input[name=name]"))
        .await?
        .send_keys(name)
        .await?;
    c.find(Locator::Css("input[name=password]"))
        .await?
        .send_keys(password)
        .await?;
    c.find(Locator::Css("form button")).await?.click().await?;
    wait_for_path(c, "/").await.context("after signing in")?;
    page_is_clean(c).await
}
