//! `tollgate mobsf scan` against a scripted MobSF API (the real one: scripts/mobsf-lab-test.sh).

use std::process::Command;

use crate::http::Server;
use crate::util::{stderr, temp_dir};

#[test]
fn upload_scan_report_and_scorecard_in_order() {
    let server = Server::start(vec![
        (200, vec![], r#"{"hash": "abc123", "file_name": "app.apk", "scan_type": "apk"}"#.into()),
        (200, vec![], r#"{"status": "ok"}"#.into()),
        (200, vec![], r#"{"title": "Static Analysis", "app_type": "apk", "package_name": "com.example", "md5": "abc123", "manifest_analysis": {"manifest_findings": []}}"#.into()),
        (200, vec![], r#"{"high": [], "warning": [], "info": [], "secure": [], "hotspot": [], "security_score": 90}"#.into()),
    ]);
    let dir = temp_dir("mobsf-scan");
    let app = dir.join("app.apk");
    std::fs::write(&app, b"PK\x03\x04 not really an apk").unwrap();
    let report = dir.join("report.json");
    let out = Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args([
            "mobsf",
            "scan",
            app.to_str().unwrap(),
            "--url",
            &server.url,
            "--api-key",
            "k3y",
            "-o",
            report.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let reqs = server.requests();
    let paths: Vec<&str> = reqs.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/api/v1/upload",
            "/api/v1/scan",
            "/api/v1/report_json",
            "/api/v1/scorecard"
        ]
    );
    assert!(reqs
        .iter()
        .all(|r| r.header("authorization") == Some("k3y")));
    let upload = reqs[0].multipart();
    assert_eq!(upload[0].1.as_deref(), Some("app.apk"));
    assert_eq!(reqs[1].field("hash").as_deref(), Some("abc123"));
    assert_eq!(reqs[1].field("scan_type").as_deref(), Some("apk"));
    assert_eq!(reqs[2].field("hash").as_deref(), Some("abc123"));
    let written = std::fs::read(&report).unwrap();
    assert_eq!(
        tollgate_parsers::detect(&written).unwrap(),
        tollgate_parsers::Format::Mobsf
    );
    assert!(dir.join("report.scorecard.json").is_file());
}

#[test]
fn a_refused_key_exits_3_with_a_clear_message() {
    let server = Server::start(vec![(
        401,
        vec![],
        r#"{"error": "You are not authorized"}"#.into(),
    )]);
    let dir = temp_dir("mobsf-401");
    let app = dir.join("app.apk");
    std::fs::write(&app, b"PK").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args([
            "mobsf",
            "scan",
            app.to_str().unwrap(),
            "--url",
            &server.url,
            "--api-key",
            "wrong",
            "-o",
            dir.join("r.json").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(
        stderr(&out).contains("refused the API key"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.join("r.json").exists());
}
