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

/// `mobsf scan` writes the full report and the scorecard of one scan; the scorecard repeats the
/// report's issues. Gated or uploaded together (the `*.json` of the docs), the scan counts once.
#[test]
fn the_report_and_scorecard_of_one_scan_count_once_at_the_gate_and_the_upload() {
    let Some(corpus) = crate::util::corpus_dir("report_and_scorecard_count_once") else {
        return;
    };
    let dir = temp_dir("mobsf-count-once");
    let report = dir.join("mobsf-report.json");
    let card = dir.join("mobsf-report.scorecard.json");
    std::fs::copy(corpus.join("mobsf/lab-insecure-app.json"), &report).unwrap();
    std::fs::copy(
        corpus.join("mobsf-scorecard/lab-insecure-app.scorecard.json"),
        &card,
    )
    .unwrap();
    let gate = |files: &[&std::path::Path], out: &str| {
        let out_dir = dir.join(out);
        let mut args = vec!["gate".to_string()];
        // The scorecard first: the order the files come in must not matter.
        args.extend(files.iter().map(|f| f.display().to_string()));
        args.extend(
            [
                "--build",
                "release",
                "--environment",
                "production",
                "--out-dir",
                out_dir.to_str().unwrap(),
            ]
            .map(String::from),
        );
        let o = Command::new(env!("CARGO_BIN_EXE_tollgate"))
            .args(&args)
            .output()
            .unwrap();
        let summary: serde_json::Value = serde_json::from_slice(
            &std::fs::read(out_dir.join("security-gate-summary.json")).unwrap(),
        )
        .unwrap();
        (o, summary)
    };
    let (alone_out, alone) = gate(&[&report], "alone");
    let (both_out, both) = gate(&[&card, &report], "both");
    assert_eq!(alone_out.status.code(), Some(1), "{}", stderr(&alone_out));
    assert_eq!(both_out.status.code(), Some(1), "{}", stderr(&both_out));
    assert_eq!(both["totals"], alone["totals"], "{both:#}");
    assert_eq!(both["counts"], alone["counts"]);
    let inputs = both["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 2);
    assert_eq!(inputs[0]["counted_in"], report.display().to_string());
    assert_eq!(inputs[0]["findings"], 0);
    assert!(
        both["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("counted once")),
        "{both:#}"
    );
    let md = std::fs::read_to_string(dir.join("both/security-gate-summary.md")).unwrap();
    assert!(md.contains("counted in"), "{md}");

    // Given alone, the scorecard is read.
    let (_, card_alone) = gate(&[&card], "card");
    assert!(card_alone["totals"]["findings"].as_u64().unwrap() > 0);

    // The upload leaves the scorecard out too.
    let o = Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args([
            "upload",
            card.to_str().unwrap(),
            report.to_str().unwrap(),
            "--url",
            "http://127.0.0.1:9",
            "--token",
            "t",
            "--product",
            "shop",
            "--dry-run",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{}{stdout}", stderr(&o));
    assert_eq!(stdout.matches("would POST").count(), 1, "{stdout}");
    assert!(stdout.contains("not uploading"), "{stdout}");
}

/// MobSF's scan log says the decompiler failed: `mobsf scan` warns at once, naming the fix.
#[test]
fn an_incomplete_scan_is_warned_about_when_it_is_written() {
    let server = Server::start(vec![
        (200, vec![], r#"{"hash": "abc123", "file_name": "app.apk", "scan_type": "apk"}"#.into()),
        (200, vec![], r#"{"status": "ok"}"#.into()),
        (200, vec![], r#"{"title": "Static Analysis", "app_type": "apk", "package_name": "com.example", "md5": "abc123", "manifest_analysis": {"manifest_findings": []}, "logs": [{"timestamp": "2026-12-01 10:00:00", "status": "Decompiling with JADX failed", "exception": "FileNotFoundError(2, 'No such file or directory')"}]}"#.into()),
        (200, vec![], r#"{"high": [], "warning": [], "info": [], "secure": [], "hotspot": [], "security_score": 90, "hash": "abc123"}"#.into()),
    ]);
    let dir = temp_dir("mobsf-incomplete");
    let app = dir.join("app.apk");
    std::fs::write(&app, b"PK\x03\x04").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args([
            "mobsf",
            "scan",
            app.to_str().unwrap(),
            "--url",
            &server.url,
            "--api-key",
            "k",
        ])
        .current_dir(&dir)
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("the scan is incomplete"), "{err}");
    assert!(err.contains("MOBSF_JADX_BINARY"), "{err}");
    assert!(err.contains("--on-error open"), "{err}");
    assert_eq!(err.matches("JADX failed").count(), 1, "{err}");
}

/// Nothing listens at the MobSF URL: the message says the connection was refused, not an
/// internal channel error.
#[test]
fn an_unreachable_mobsf_is_named_as_such() {
    let dir = temp_dir("mobsf-unreachable");
    let app = dir.join("app.apk");
    std::fs::write(&app, vec![b'x'; 300_000]).unwrap();
    // A port that was just free.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args([
            "mobsf",
            "scan",
            app.to_str().unwrap(),
            "--url",
            &format!("http://127.0.0.1:{port}"),
            "--api-key",
            "k",
            "-o",
            dir.join("r.json").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.to_lowercase().contains("connection refused"), "{err}");
    assert!(!err.contains("receiver is gone"), "{err}");
    assert!(!dir.join("r.json").exists());
}
