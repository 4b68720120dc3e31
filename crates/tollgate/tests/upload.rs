//! `tollgate upload` against a local recording HTTP server: multipart fields and DefectDojo's
//! scan_type strings, retries on 503 and 429 (Retry-After), giving up with exit 3.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use crate::http::{Reply, Server};
use crate::util::stderr;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/reports")
}

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tollgate-parsers/tests/fixtures")
        .join(rel)
}

fn upload(url: &str, reports: &[&Path], extra: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tollgate"));
    c.arg("upload")
        .args(reports)
        .args([
            "--url",
            url,
            "--token",
            "s3cr3t-token",
            "--product",
            "shop",
            "--retry-delay",
            "0.05",
        ])
        .args(extra)
        .env_remove("GITLAB_CI")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("DEFECTDOJO_URL")
        .env_remove("DEFECTDOJO_TOKEN");
    c.output().expect("run tollgate upload")
}

fn created() -> Reply {
    (
        201,
        vec![],
        r#"{"test_id": 12, "engagement_id": 3, "product_id": 1, "statistics": {"delta": {"created": {"total": 2}, "closed": {"total": 1}, "reactivated": {"total": 0}, "untouched": {"total": 5}}}}"#.into(),
    )
}

#[test]
fn sends_defectdojo_scan_types_naming_and_context_fields() {
    let server = Server::start(vec![created(), created(), created(), created(), created()]);
    let ex = examples();
    let reports = [
        ex.join("semgrep.json"),
        ex.join("trivy-image.json"),
        ex.join("gitleaks.json"),
        ex.join("zap.xml"),
        fixture("datatheorem/list-page.json"),
    ];
    let refs: Vec<&Path> = reports.iter().map(PathBuf::as_path).collect();
    let out = upload(
        &server.url,
        &refs,
        &["--branch", "main", "--tag", "ci", "--tag", "mobile"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("2 created, 1 closed, 0 reactivated, 5 untouched"),
        "{stdout}"
    );
    let reqs = server.requests();
    assert_eq!(reqs.len(), 5);
    let expect = [
        (
            "Semgrep JSON Report",
            "mainline-sast",
            "semgrep-main",
            "semgrep.json",
        ),
        (
            "Trivy Scan",
            "image-security",
            "trivy-main",
            "trivy-image.json",
        ),
        (
            "Gitleaks Scan",
            "secret-detection",
            "gitleaks-main",
            "gitleaks.json",
        ),
        ("ZAP Scan", "staging-dast", "zap-main", "zap.xml"),
        (
            "Generic Findings Import",
            "mobile-security",
            "datatheorem-main",
            "list-page.generic.json",
        ),
    ];
    for (r, (scan_type, engagement, title, file)) in reqs.iter().zip(expect) {
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/api/v2/reimport-scan/");
        assert_eq!(r.header("authorization"), Some("Token s3cr3t-token"));
        assert_eq!(r.field("scan_type").as_deref(), Some(scan_type));
        assert_eq!(r.field("engagement_name").as_deref(), Some(engagement));
        assert_eq!(r.field("test_title").as_deref(), Some(title));
        assert_eq!(r.field("product_name").as_deref(), Some("shop"));
        assert_eq!(r.field("auto_create_context").as_deref(), Some("true"));
        assert_eq!(r.field("close_old_findings").as_deref(), Some("true"));
        assert_eq!(r.field("branch_tag").as_deref(), Some("main"));
        assert_eq!(r.field("tags").as_deref(), Some("ci,mobile"));
        let parts = r.multipart();
        let (_, name, content) = parts
            .iter()
            .find(|(n, _, _)| n == "file")
            .expect("file part");
        assert_eq!(name.as_deref(), Some(file));
        assert!(!content.is_empty());
    }
    // Data Theorem findings went as Generic Findings Import JSON.
    let generic: serde_json::Value = serde_json::from_str(
        &reqs[4]
            .multipart()
            .into_iter()
            .find(|p| p.0 == "file")
            .map(|p| String::from_utf8(p.2).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert!(!generic["findings"].as_array().unwrap().is_empty());
    assert!(generic["findings"][0]["title"].is_string());
}

#[test]
fn retries_a_503_and_rebuilds_the_body() {
    let server = Server::start(vec![(503, vec![], "busy".into()), created()]);
    let out = upload(&server.url, &[&examples().join("semgrep.json")], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("attempt 1/5 failed (HTTP 503"),
        "{}",
        stderr(&out)
    );
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].field("file"), reqs[1].field("file"));
    assert!(reqs[1].field("file").unwrap().contains("sql-injection"));
}

#[test]
fn honours_retry_after_on_429() {
    let server = Server::start(vec![
        (429, vec![("Retry-After", "1".into())], "slow down".into()),
        created(),
    ]);
    let started = Instant::now();
    let out = upload(&server.url, &[&examples().join("semgrep.json")], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        started.elapsed().as_secs_f64() >= 1.0,
        "Retry-After: 1 was not honoured"
    );
    assert!(
        stderr(&out).contains("retrying in 1.0 s"),
        "{}",
        stderr(&out)
    );
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn gives_up_after_n_attempts_with_exit_3_and_never_retries_a_400() {
    let server = Server::start(vec![(500, vec![], "boom".into()); 3]);
    let out = upload(
        &server.url,
        &[&examples().join("semgrep.json")],
        &["--attempts", "3"],
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("HTTP 500"), "{}", stderr(&out));
    assert!(stderr(&out).contains("the gate's decision is unaffected"));
    assert_eq!(server.requests().len(), 3);

    let server = Server::start(vec![
        (400, vec![], r#"{"scan_type": ["not valid"]}"#.into()),
        created(),
    ]);
    let out = upload(&server.url, &[&examples().join("semgrep.json")], &[]);
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("not valid"), "{}", stderr(&out));
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn connection_refused_is_retried_then_exit_3() {
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = upload(
        &format!("http://127.0.0.1:{port}"),
        &[&examples().join("semgrep.json")],
        &["--attempts", "2"],
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("attempt 1/2 failed"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn dry_run_sends_nothing() {
    let server = Server::start(vec![created()]);
    let out = upload(
        &server.url,
        &[&examples().join("trivy-image.json")],
        &["--dry-run"],
    );
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("scan_type=Trivy Scan")
            && stdout.contains("engagement_name=image-security"),
        "{stdout}"
    );
    drop(server);
}
