//! `tollgate gate` end to end: verdicts, exit codes, outputs, baseline, fail-closed, the seed-000 case.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::util::{corpus_dir, stderr, temp_dir};

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/reports")
}

fn gate(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .arg("gate")
        .args(["--out-dir", dir.to_str().unwrap(), "--today", "2026-11-22"])
        .args(args)
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("GITLAB_CI")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("CI_ENVIRONMENT_NAME")
        .env_remove("TOLLGATE_BUILD")
        .env_remove("TOLLGATE_ENVIRONMENT")
        .output()
        .expect("run tollgate gate")
}

fn summary(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("security-gate-summary.json")).unwrap()).unwrap()
}

fn blocking_rules(s: &Value) -> Vec<String> {
    s["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["verdict"] == "block")
        .map(|r| {
            r["rule"]
                .as_str()
                .unwrap_or(r["kind"].as_str().unwrap())
                .to_string()
        })
        .collect()
}

#[test]
fn examples_block_a_release_and_write_every_output() {
    let dir = temp_dir("gate-examples");
    let ex = examples();
    let reports: Vec<String> = [
        "semgrep.json",
        "gitleaks.json",
        "trivy-image.json",
        "zap.xml",
    ]
    .iter()
    .map(|f| ex.join(f).to_string_lossy().into_owned())
    .collect();
    let mut args: Vec<&str> = reports.iter().map(String::as_str).collect();
    args.extend([
        "--build",
        "release",
        "--sarif",
        "--junit",
        "--gitlab-codequality",
    ]);
    let out = gate(&dir, &args);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
    let s = summary(&dir);
    assert_eq!(s["schema_version"], 1);
    assert_eq!(s["decision"], "FAIL");
    assert_eq!(s["exit_code"], 1);
    let rules = blocking_rules(&s);
    assert!(rules.contains(&"new-critical".to_string()), "{rules:?}");
    assert!(
        rules.contains(&"hardcoded-secret-release".to_string()),
        "{rules:?}"
    );
    assert_eq!(s["inputs"].as_array().unwrap().len(), 4);
    assert_eq!(s["inputs"][0]["sha256"].as_str().unwrap().len(), 64);
    let n = s["findings"].as_array().unwrap().len() as u64;
    assert_eq!(s["totals"]["findings"], n);
    // Every blocking reason cites its findings by fingerprint, and those are in the list.
    let fps: Vec<&str> = s["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["fingerprint"].as_str().unwrap())
        .collect();
    for r in s["reasons"].as_array().unwrap() {
        for fp in r["fingerprints"].as_array().unwrap() {
            assert!(fps.contains(&fp.as_str().unwrap()));
        }
    }
    let md = std::fs::read_to_string(dir.join("security-gate-summary.md")).unwrap();
    assert!(md.starts_with("## ⛔ Security gate: FAIL"), "{md}");
    assert!(md.find("### Blocking").unwrap() < md.find("<details><summary>Inputs").unwrap());
    assert!(md.contains("<details><summary>Rationale and fix</summary>"));
    assert!(!md.contains("AKIAEXAMPLEFAKE00001"), "secret in Markdown");
    let sarif: Value =
        serde_json::from_slice(&std::fs::read(dir.join("security-gate.sarif")).unwrap()).unwrap();
    assert_eq!(
        sarif["runs"][0]["results"].as_array().unwrap().len() as u64,
        n
    );
    let junit = std::fs::read_to_string(dir.join("security-gate.junit.xml")).unwrap();
    let blocked = s["totals"]["block"].as_u64().unwrap();
    assert_eq!(junit.matches("<failure ").count() as u64, blocked);
    let cq: Value =
        serde_json::from_slice(&std::fs::read(dir.join("gl-code-quality-report.json")).unwrap())
            .unwrap();
    assert!(cq
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["severity"] == "blocker"));
}

#[test]
fn baseline_turns_findings_existing_and_only_new_criticals_block() {
    let dir = temp_dir("gate-baseline");
    let trivy = examples().join("trivy-image.json");
    let t = trivy.to_str().unwrap();
    let first = gate(&dir, &[t, "--build", "debug"]);
    assert_eq!(
        first.status.code(),
        Some(1),
        "new critical blocks: {}",
        stderr(&first)
    );
    let s = summary(&dir);
    assert!(s["notes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n.as_str().unwrap().contains("no baseline")));
    let base = dir.join("baseline.json");
    std::fs::rename(dir.join("security-gate-summary.json"), &base).unwrap();
    let second = gate(
        &dir,
        &[t, "--build", "debug", "--baseline", base.to_str().unwrap()],
    );
    assert_eq!(
        second.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&second.stdout)
    );
    let s = summary(&dir);
    assert_eq!(s["decision"], "WARN");
    assert!(s["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["state"] == "existing"));
    assert_eq!(s["baseline"]["source"], base.to_str().unwrap());
}

#[test]
fn broken_report_fails_closed_with_exit_2_and_still_explains() {
    let dir = temp_dir("gate-broken");
    let bad = dir.join("truncated.json");
    std::fs::write(&bad, "{\"results\": [").unwrap();
    let semgrep = examples().join("semgrep.json");
    let out = gate(
        &dir,
        &[
            semgrep.to_str().unwrap(),
            bad.to_str().unwrap(),
            "--build",
            "debug",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let s = summary(&dir);
    assert_eq!(s["decision"], "FAIL");
    assert_eq!(blocking_rules(&s), vec!["broken-report".to_string()]);
    assert!(s["inputs"][1]["error"].as_str().unwrap().contains("line 1"));
    // Fail-open lets it through, loudly.
    let out = gate(
        &dir,
        &[
            semgrep.to_str().unwrap(),
            bad.to_str().unwrap(),
            "--build",
            "debug",
            "--on-error",
            "open",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("FAIL-OPEN"));
    let md = std::fs::read_to_string(dir.join("security-gate-summary.md")).unwrap();
    assert!(md.contains("**FAIL-OPEN"), "{md}");
}

#[test]
fn policy_errors_and_required_scanners() {
    let dir = temp_dir("gate-policy");
    let policy = dir.join("tollgate.toml");
    std::fs::write(&policy, "[require]\nscanners = [\"mobsf\"]\n").unwrap();
    let semgrep = examples().join("semgrep.json");
    let out = gate(
        &dir,
        &[
            semgrep.to_str().unwrap(),
            "--policy",
            policy.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        blocking_rules(&summary(&dir)),
        vec!["missing-scanner".to_string()]
    );
    std::fs::write(&policy, "[[rule]]\nname = 1\n").unwrap();
    let out = gate(
        &dir,
        &[
            semgrep.to_str().unwrap(),
            "--policy",
            policy.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("tollgate.toml: line 2"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn github_step_summary_gets_the_markdown() {
    let dir = temp_dir("gate-gh");
    let step = dir.join("step.md");
    std::fs::write(&step, "previous step\n").unwrap();
    let semgrep = examples().join("semgrep.json");
    let out = Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args([
            "gate",
            "--out-dir",
            dir.to_str().unwrap(),
            "--build",
            "debug",
            semgrep.to_str().unwrap(),
        ])
        .env("GITHUB_STEP_SUMMARY", &step)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_SHA", "0123456789abcdef")
        .env("GITHUB_REF_NAME", "feature/x")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(&step).unwrap();
    assert!(text.starts_with("previous step\n## "), "{text}");
    assert!(text.contains("branch `feature/x`"));
    assert_eq!(summary(&dir)["context"]["commit"], "0123456789abcdef");
}

#[test]
fn init_writes_the_default_policy_once() {
    let dir = temp_dir("gate-init");
    let p = dir.join("tollgate.toml");
    let run = |force: bool| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_tollgate"));
        c.args(["init", p.to_str().unwrap()]);
        if force {
            c.arg("--force");
        }
        c.output().unwrap()
    };
    assert_eq!(run(false).status.code(), Some(0));
    assert!(std::fs::read_to_string(&p)
        .unwrap()
        .contains("name = \"new-critical\""));
    assert_eq!(run(false).status.code(), Some(2));
    assert_eq!(run(true).status.code(), Some(0));
}

/// Seed 000 on the real MobSF reports of the lab apps.
#[test]
fn seed_000_insecure_lab_app_blocks_a_release_and_clean_app_passes() {
    let Some(corpus) = corpus_dir("seed-000 gate") else {
        return;
    };
    let dir = temp_dir("gate-seed000");
    let insecure = corpus.join("mobsf/lab-insecure-app.json");
    let out = gate(
        &dir,
        &[
            insecure.to_str().unwrap(),
            "--build",
            "release",
            "--environment",
            "production",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let s = summary(&dir);
    let rules = blocking_rules(&s);
    for want in [
        "debuggable-release",
        "cleartext-traffic-production",
        "exported-component-release",
        "hardcoded-secret-release",
    ] {
        assert!(
            rules.contains(&want.to_string()),
            "{want} missing from {rules:?}"
        );
    }
    let warn_rules: Vec<&str> = s["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["verdict"] == "warn")
        .filter_map(|r| r["rule"].as_str())
        .collect();
    assert!(
        warn_rules.contains(&"mobile-data-exposure"),
        "backup and logging warn: {warn_rules:?}"
    );
    let tagged = |tag: &str| {
        s["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| {
                f["tags"]
                    .as_array()
                    .is_some_and(|t| t.iter().any(|x| x == tag))
            })
            .map(|f| f["disposition"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert!(
        tagged("backup-enabled").iter().all(|d| d == "warn"),
        "{:?}",
        tagged("backup-enabled")
    );
    assert!(
        tagged("sensitive-logging").iter().all(|d| d == "warn"),
        "{:?}",
        tagged("sensitive-logging")
    );
    assert!(!tagged("backup-enabled").is_empty() && !tagged("sensitive-logging").is_empty());

    let clean = corpus.join("mobsf/lab-clean-app.json");
    let out = gate(
        &dir,
        &[
            clean.to_str().unwrap(),
            "--build",
            "release",
            "--environment",
            "production",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_ne!(summary(&dir)["decision"], "FAIL");
}

/// `--sarif REPORT` used to take the report for the SARIF file name and write over it. The file
/// name is now only `--sarif=FILE`; a report that is one of the run's own outputs is refused.
#[test]
fn an_output_option_never_writes_over_a_report() {
    let dir = temp_dir("gate-output-over-report");
    let report = dir.join("semgrep.json");
    std::fs::copy(examples().join("semgrep.json"), &report).unwrap();
    let before = std::fs::read(&report).unwrap();
    let r = report.to_str().unwrap();
    let out = gate(&dir, &["--build", "debug", "--sarif", r]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        std::fs::read(&report).unwrap(),
        before,
        "the report was written over"
    );
    assert!(dir.join("security-gate.sarif").is_file());
    assert_eq!(
        summary(&dir)["inputs"][0]["file"],
        r,
        "the report was gated"
    );
    // Last run's SARIF named after --sarif with a space is a report now: refused, not gated twice.
    let sarif = dir.join("security-gate.sarif");
    let out = gate(
        &dir,
        &["--build", "debug", r, "--sarif", sarif.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("this is the file --sarif of this run writes")
            && stderr(&out).contains("--sarif=security-gate.sarif"),
        "{}",
        stderr(&out)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--baseline FILE` that does not exist: an error (exit 2, nothing written) unless
/// `--baseline-missing=new` says a first run is expected; then an empty baseline and a note in
/// every output. A file that is there but unusable fails closed whatever the flag says.
#[test]
fn missing_baseline_is_an_error_unless_a_first_run_is_declared() {
    let dir = temp_dir("gate-baseline-missing");
    let trivy = examples().join("trivy-image.json");
    let t = trivy.to_str().unwrap();
    let absent = dir.join("baseline").join("security-gate-summary.json");
    let a = absent.to_str().unwrap();

    // Default: a missing file is a mistake (a typo must not turn into "everything is new").
    let out = gate(&dir, &[t, "--build", "debug", "--baseline", a]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains(a), "names the file: {}", stderr(&out));
    assert!(!dir.join("security-gate-summary.json").exists());
    let out = gate(
        &dir,
        &[
            t,
            "--build",
            "debug",
            "--baseline",
            a,
            "--baseline-missing=error",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));

    // Declared first run: the gate decides as without a baseline, and says why.
    let out = gate(
        &dir,
        &[
            t,
            "--build",
            "debug",
            "--baseline",
            a,
            "--baseline-missing=new",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "new critical blocks: {}",
        stderr(&out)
    );
    let note = format!("first run: no baseline at {a}, every finding is new");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&note),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let s = summary(&dir);
    assert!(s["notes"].as_array().unwrap().iter().any(|n| n == &note));
    assert_eq!(s["baseline"]["source"], a);
    let findings = s["findings"].as_array().unwrap();
    assert!(!findings.is_empty());
    assert!(findings.iter().all(|f| f["state"] == "new"));
    let md = std::fs::read_to_string(dir.join("security-gate-summary.md")).unwrap();
    assert!(md.contains("first run: no baseline at"), "{md}");

    // There but unusable: fails closed with the flag too.
    for name in ["truncated", "empty", "directory", "dangling-symlink"] {
        let p = dir.join(format!("{name}.json"));
        match name {
            "truncated" => std::fs::write(&p, "{\"findings\": [").unwrap(),
            "empty" => std::fs::write(&p, "").unwrap(),
            "directory" => std::fs::create_dir(&p).unwrap(),
            _ => std::os::unix::fs::symlink(p.with_extension("gone"), &p).unwrap(),
        }
        let _ = std::fs::remove_file(dir.join("security-gate-summary.json"));
        let out = gate(
            &dir,
            &[
                t,
                "--build",
                "debug",
                "--baseline",
                p.to_str().unwrap(),
                "--baseline-missing=new",
            ],
        );
        assert_eq!(out.status.code(), Some(2), "{name}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(p.to_str().unwrap()),
            "{name}: names the file: {}",
            stderr(&out)
        );
        assert!(!dir.join("security-gate-summary.json").exists(), "{name}");
    }

    // The flag means nothing without --baseline: a usage error, not a silent no-op.
    let out = gate(&dir, &[t, "--build", "debug", "--baseline-missing=new"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}
