//! `tollgate pull` against a scripted Results API: cursor paging, filters, fail-closed answers.

use std::process::{Command, Output};

use serde_json::json;

use crate::http::{Reply, Server};
use crate::util::{stderr, temp_dir};

fn page(ids: &[&str], next: Option<&str>, total: usize) -> Reply {
    let findings: Vec<_> = ids
        .iter()
        .map(|id| {
            json!({"id": id, "mobile_app_id": "7", "title": format!("Finding {id}"), "severity": "HIGH",
                   "aggregated_status": "OPEN", "issue_type_id": format!("type-{id}"), "cvss_Vecotr": "AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"})
        })
        .collect();
    let body = json!({"security_findings": findings, "pagination_information": {"next_cursor": next, "total_count": total.to_string()}});
    (200, vec![], body.to_string())
}

fn pull(url: &str, out: &std::path::Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args([
            "pull",
            "--url",
            url,
            "--api-key",
            "k3y",
            "-o",
            out.to_str().unwrap(),
            "--retry-delay",
            "0.05",
        ])
        .args(extra)
        .env_remove("RESULTS_API_URL")
        .env_remove("RESULTS_API_KEY")
        .output()
        .expect("run tollgate pull")
}

#[test]
fn reads_every_page_and_writes_one_report_the_parsers_accept() {
    let server = Server::start(vec![
        page(&["1", "2"], Some("c1"), 5),
        page(&["3", "4"], Some("c2"), 5),
        page(&["5"], None, 5),
    ]);
    let dir = temp_dir("pull-pages");
    let out_path = dir.join("findings.json");
    let out = pull(
        &server.url,
        &out_path,
        &[
            "--mobile-app-id",
            "7",
            "--status-group",
            "OPEN",
            "--results-since",
            "2026-01-01T00:00:00Z",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let reqs = server.requests();
    assert_eq!(reqs.len(), 3);
    assert!(reqs
        .iter()
        .all(|r| r.header("authorization") == Some("APIKey k3y")));
    assert!(reqs[0]
        .path
        .starts_with("/apis/mobile_security/results/v2/security_findings?"));
    assert!(reqs[0].path.contains("mobile_app_id=7") && reqs[0].path.contains("status_group=OPEN"));
    assert!(
        reqs[0]
            .path
            .contains("results_since=2026-01-01T00%3A00%3A00Z"),
        "{}",
        reqs[0].path
    );
    assert!(!reqs[0].path.contains("cursor="));
    assert!(reqs[1].path.contains("cursor=c1") && reqs[2].path.contains("cursor=c2"));
    let bytes = std::fs::read(&out_path).unwrap();
    let (meta, findings) = tollgate_parsers::parse_to_vec(&bytes, None).unwrap();
    assert_eq!(meta.format, "datatheorem");
    assert_eq!(findings.len(), 5);
    assert!(findings.iter().all(|f| f.cvss_score() == Some(9.8)));
}

#[test]
fn a_page_without_pagination_information_is_an_error_not_zero_findings() {
    let server = Server::start(vec![(200, vec![], r#"{"security_findings": []}"#.into())]);
    let dir = temp_dir("pull-nopage");
    let out_path = dir.join("findings.json");
    let out = pull(&server.url, &out_path, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no pagination_information"),
        "{}",
        stderr(&out)
    );
    assert!(!out_path.exists(), "nothing may be written");
}

#[test]
fn a_cursor_loop_is_an_error() {
    let server = Server::start(vec![
        page(&["1"], Some("same"), 9),
        page(&["2"], Some("same"), 9),
    ]);
    let dir = temp_dir("pull-loop");
    let out_path = dir.join("findings.json");
    let out = pull(&server.url, &out_path, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("loops"), "{}", stderr(&out));
    assert!(!out_path.exists());
}

#[test]
fn http_errors_after_retries_exit_3() {
    let server = Server::start(vec![
        page(&["1"], Some("c1"), 2),
        (503, vec![], "down".into()),
        (503, vec![], "down".into()),
    ]);
    let dir = temp_dir("pull-503");
    let out_path = dir.join("findings.json");
    let out = pull(&server.url, &out_path, &["--attempts", "2"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("HTTP 503"), "{}", stderr(&out));
    assert!(!out_path.exists(), "a partial pull must not be written");
}
