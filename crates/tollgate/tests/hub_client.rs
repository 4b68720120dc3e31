//! `tollgate gate --baseline-url / --report-to` against a scripted hub: the hub's fingerprints are
//! the baseline, a JSON 404 is an empty baseline, any other failure fails closed (exit 2), and
//! recording the run never changes the verdict, the exit code or the files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};

use crate::http::{Reply, Server};
use crate::util::{stderr, temp_dir};

const TOKEN: &str = "hub-s3cr3t-9f2c";

fn trivy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/reports/trivy-image.json")
}

/// A gate over the Trivy example (a new Critical: it blocks without a baseline), debug build,
/// outside any CI, fast retries.
fn gate(dir: &Path, args: &[&str]) -> Output {
    gate_with_env(dir, args, &[])
}

fn gate_with_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tollgate"));
    c.arg("gate")
        .arg(trivy())
        .args([
            "--out-dir",
            dir.to_str().unwrap(),
            "--today",
            "2026-11-22",
            "--build",
            "debug",
            "--hub-retry-delay",
            "0.05",
            "--hub-attempts",
            "3",
        ])
        .args(args);
    for k in [
        "GITHUB_STEP_SUMMARY",
        "GITLAB_CI",
        "CI_PIPELINE_ID",
        "GITHUB_ACTIONS",
        "CI_ENVIRONMENT_NAME",
        "TOLLGATE_BUILD",
        "TOLLGATE_ENVIRONMENT",
        "TOLLGATE_HUB_TOKEN",
        "TOLLGATE_PRODUCT",
        "DD_PRODUCT",
        "CI_PROJECT_NAME",
        "GITHUB_REPOSITORY",
    ] {
        c.env_remove(k);
    }
    c.envs(env.iter().copied());
    c.output().expect("run tollgate gate")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn summary(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("security-gate-summary.json")).unwrap()).unwrap()
}

fn fingerprints(s: &Value) -> Vec<String> {
    s["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["fingerprint"].as_str().unwrap().to_string())
        .collect()
}

fn assert_no_token(o: &Output) {
    assert!(
        !stdout(o).contains(TOKEN) && !stderr(o).contains(TOKEN),
        "the token was printed:\n{}\n{}",
        stdout(o),
        stderr(o)
    );
}

/// The fingerprints and outcome of a run with no baseline at all.
fn run_without_baseline(name: &str) -> (PathBuf, Vec<String>) {
    let dir = temp_dir(name);
    let out = gate(&dir, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    (dir.clone(), fingerprints(&summary(&dir)))
}

fn baseline_reply(fps: &[String]) -> Reply {
    let statuses = ["open", "mitigated", "risk_accepted", "closed_wont_fix"];
    let findings: Vec<Value> = fps
        .iter()
        .enumerate()
        .map(|(i, fp)| {
            let status = statuses[i % statuses.len()];
            json!({"fingerprint": fp, "open": status == "open", "status": status})
        })
        .collect();
    (
        200,
        vec![],
        json!({"product_id": 1, "engagement_id": null, "findings": findings}).to_string(),
    )
}

#[test]
fn hub_baseline_makes_known_findings_existing_so_the_critical_no_longer_blocks() {
    let (_, fps) = run_without_baseline("hub-baseline-none");
    assert!(!fps.is_empty());
    let server = Server::start(vec![baseline_reply(&fps)]);
    let dir = temp_dir("hub-baseline-found");
    let out = gate(
        &dir,
        &[
            "--baseline-url",
            &server.url,
            "--hub-token",
            TOKEN,
            "--product",
            "shop app",
            "--engagement",
            "release-1",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let s = summary(&dir);
    assert_eq!(s["decision"], "WARN");
    assert!(s["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["state"] == "existing"));
    assert_eq!(s["baseline"]["fingerprints"], fps.len());
    assert!(s["baseline"]["source"]
        .as_str()
        .unwrap()
        .starts_with(&server.url));
    assert!(
        !s["notes"].to_string().contains("baseline"),
        "{}",
        s["notes"]
    );
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].method, "GET");
    assert_eq!(
        reqs[0].path,
        "/api/v2/tollgate/baseline/?product_name=shop+app&engagement_name=release-1"
    );
    assert_eq!(
        reqs[0].header("authorization"),
        Some(format!("Token {TOKEN}").as_str())
    );
    assert_no_token(&out);
}

#[test]
fn hub_404_is_an_empty_baseline_and_says_so() {
    let server = Server::start(vec![(
        404,
        vec![],
        r#"{"detail": "No Product matches the given query."}"#.into(),
    )]);
    let dir = temp_dir("hub-baseline-404");
    let out = gate_with_env(
        &dir,
        &["--baseline-url", &server.url],
        &[
            ("TOLLGATE_HUB_TOKEN", TOKEN),
            ("TOLLGATE_PRODUCT", "new-app"),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let s = summary(&dir);
    assert_eq!(s["decision"], "FAIL");
    assert!(s["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["state"] == "new"));
    assert_eq!(s["baseline"]["fingerprints"], 0);
    let notes = s["notes"].to_string();
    assert!(
        notes.contains("the hub has no product \\\"new-app\\\" yet")
            && notes.contains("every finding counts as new"),
        "{notes}"
    );
    assert!(
        stdout(&out).contains("note: the hub has no product"),
        "{}",
        stdout(&out)
    );
    let md = std::fs::read_to_string(dir.join("security-gate-summary.md")).unwrap();
    assert!(md.contains("the hub has no product"), "{md}");
    assert_eq!(
        server.requests()[0].path,
        "/api/v2/tollgate/baseline/?product_name=new-app"
    );
    assert_no_token(&out);
}

#[test]
fn a_404_that_is_not_the_hubs_fails_closed() {
    let server = Server::start(vec![(404, vec![], "<h1>Not Found</h1>".into())]);
    let dir = temp_dir("hub-baseline-404-html");
    let out = gate(
        &dir,
        &[
            "--baseline-url",
            &server.url,
            "--hub-token",
            TOKEN,
            "--product",
            "shop",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("is this a Tollgate hub URL?"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.join("security-gate-summary.json").exists());
}

#[test]
fn hub_baseline_errors_fail_closed_with_exit_2_naming_the_url() {
    // 500 on every attempt.
    let server = Server::start(vec![(500, vec![], "boom".into()); 3]);
    let dir = temp_dir("hub-baseline-500");
    let out = gate(
        &dir,
        &[
            "--baseline-url",
            &server.url,
            "--hub-token",
            TOKEN,
            "--product",
            "shop",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert_eq!(server.requests().len(), 3);
    let err = stderr(&out);
    let last = err.lines().last().unwrap();
    assert!(
        last.starts_with("tollgate: error: ")
            && last.contains(&server.url)
            && last.contains("HTTP 500"),
        "{err}"
    );
    assert!(err.contains("attempt 2/3 failed"), "{err}");
    assert!(!dir.join("security-gate-summary.json").exists());
    assert_no_token(&out);

    // Malformed JSON, a refused token (not retried; the server echoes the token), nobody there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let refused_url = format!("http://127.0.0.1:{port}");
    for (reply, want) in [
        (
            Some((
                200,
                vec![],
                r#"{"product_id": 1, "findings": [{"fingerprint": 7}]}"#.to_string(),
            )),
            "not a baseline answer",
        ),
        (
            Some((
                401,
                vec![],
                format!(r#"{{"detail": "Invalid token {TOKEN}."}}"#),
            )),
            "the hub refused the token (HTTP 401)",
        ),
        (None, "attempt"),
    ] {
        let server = reply.map(|r| Server::start(vec![r]));
        let url = server
            .as_ref()
            .map_or(refused_url.clone(), |s| s.url.clone());
        let out = gate(
            &dir,
            &[
                "--baseline-url",
                &url,
                "--hub-token",
                TOKEN,
                "--product",
                "shop",
            ],
        );
        assert_eq!(out.status.code(), Some(2), "{want}: {}", stdout(&out));
        let err = stderr(&out);
        assert!(err.contains(want), "{want}: {err}");
        let last = err.lines().last().unwrap();
        assert!(
            last.starts_with("tollgate: error: ") && last.contains(&url),
            "{err}"
        );
        if let Some(s) = &server {
            assert_eq!(s.requests().len(), 1, "{want}: not retried");
        }
        assert_no_token(&out);
        assert!(!dir.join("security-gate-summary.json").exists());
    }
}

#[test]
fn hub_flags_need_a_token_and_a_product_and_exclude_a_baseline_file() {
    let dir = temp_dir("hub-usage");
    let out = gate(
        &dir,
        &["--baseline-url", "http://127.0.0.1:9", "--product", "shop"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("TOLLGATE_HUB_TOKEN"),
        "{}",
        stderr(&out)
    );
    let out = gate(
        &dir,
        &["--report-to", "http://127.0.0.1:9", "--hub-token", TOKEN],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("need a product name"),
        "{}",
        stderr(&out)
    );
    let out = gate(
        &dir,
        &[
            "--baseline",
            "prev.json",
            "--baseline-url",
            "http://127.0.0.1:9",
            "--hub-token",
            TOKEN,
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot be used with"),
        "{}",
        stderr(&out)
    );
    let out = gate(
        &dir,
        &["--report-to", "hub.example.com", "--hub-token", TOKEN],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--report-to: hub.example.com: not a URL"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.join("security-gate-summary.json").exists());
    assert_no_token(&out);
}

#[test]
fn report_to_records_the_summary_and_the_release() {
    let server = Server::start(vec![(201, vec![], r#"{"id": 42}"#.into())]);
    let dir = temp_dir("hub-report");
    let artifact = dir.join("app-release.apk");
    std::fs::write(&artifact, "hello\n").unwrap();
    let out = gate_with_env(
        &dir,
        &[
            "--report-to",
            &server.url,
            "--hub-token",
            TOKEN,
            "--artifact",
            artifact.to_str().unwrap(),
        ],
        &[
            ("GITLAB_CI", "true"),
            ("CI_COMMIT_SHA", "0123456789abcdef0123456789abcdef01234567"),
            ("CI_COMMIT_TAG", "v1.4.2"),
            ("CI_PROJECT_NAME", "shop-android"),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("recorded as gate run 42"),
        "{}",
        stdout(&out)
    );
    assert_no_token(&out);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/api/v2/tollgate/gate-runs/")
    );
    assert_eq!(
        r.header("authorization"),
        Some(format!("Token {TOKEN}").as_str())
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    let body: Value = serde_json::from_slice(&r.body).expect("the body is JSON");
    assert_eq!(body["product_name"], "shop-android");
    assert_eq!(body["engagement_name"], Value::Null);
    assert_eq!(body["outcome"], "FAIL");
    assert_eq!(
        body["commit_hash"],
        "0123456789abcdef0123456789abcdef01234567"
    );
    assert_eq!(body["release_tag"], "v1.4.2");
    assert_eq!(
        body["artifact_sha256"],
        "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
    );
    assert_eq!(body["summary"]["decision"], "FAIL");
    assert_eq!(
        body["summary"],
        summary(&dir),
        "the summary is the file's document"
    );

    // --artifact-sha256 instead of the file, and an engagement.
    let server = Server::start(vec![(201, vec![], r#"{"id": 43}"#.into())]);
    let hex = "AB".repeat(32);
    let out = gate(
        &dir,
        &[
            "--report-to",
            &server.url,
            "--hub-token",
            TOKEN,
            "--product",
            "shop",
            "--engagement",
            "mobile-security",
            "--artifact-sha256",
            &hex,
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let body: Value = serde_json::from_slice(&server.requests()[0].body).unwrap();
    assert_eq!(body["artifact_sha256"], "ab".repeat(32));
    assert_eq!(body["engagement_name"], "mobile-security");
    assert_eq!(body["commit_hash"], Value::Null);
}

/// The summary files with the one field that changes from run to run removed.
fn outputs(dir: &Path) -> (Value, String) {
    let mut s = summary(dir);
    s.as_object_mut().unwrap().remove("generated_at");
    let md = std::fs::read_to_string(dir.join("security-gate-summary.md")).unwrap();
    (s, md)
}

#[test]
fn report_to_failing_changes_neither_the_exit_code_nor_the_outputs() {
    let (plain_dir, _) = run_without_baseline("hub-report-plain");
    let plain_out = gate(&plain_dir, &[]);
    let plain = outputs(&plain_dir);

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let refused_url = format!("http://127.0.0.1:{port}");
    for (name, replies) in [
        (
            "hub-report-500",
            Some(vec![(500, vec![], "boom".to_string()); 3]),
        ),
        ("hub-report-refused", None),
        (
            "hub-report-403",
            Some(vec![(403, vec![], TOKEN.to_string())]),
        ),
        (
            "hub-report-no-id",
            Some(vec![(201, vec![], "{}".to_string())]),
        ),
    ] {
        let server = replies.map(Server::start);
        let url = server
            .as_ref()
            .map_or(refused_url.clone(), |s| s.url.clone());
        let dir = temp_dir(name);
        let out = gate(
            &dir,
            &[
                "--report-to",
                &url,
                "--hub-token",
                TOKEN,
                "--product",
                "shop",
            ],
        );
        assert_eq!(
            out.status.code(),
            plain_out.status.code(),
            "{name}: {}",
            stderr(&out)
        );
        assert_eq!(
            stdout(&out).replace(dir.to_str().unwrap(), "DIR"),
            stdout(&plain_out).replace(plain_dir.to_str().unwrap(), "DIR"),
            "{name}"
        );
        assert_eq!(outputs(&dir), plain, "{name}: the files differ");
        let err = stderr(&out);
        let warning = err.lines().last().unwrap();
        assert!(
            warning.starts_with("tollgate: warning: the gate run was not recorded")
                && warning.contains(&url),
            "{name}: {err}"
        );
        assert_no_token(&out);
    }
}
