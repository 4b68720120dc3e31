//! Issue 12, §1 and §6: reports that name no scanner are never guessed (`--scanner` names them),
//! a clean GitLab SAST report passes, the Generic Findings Import conversion writes what
//! DefectDojo's parser reads, and every file the CLI opens or writes is safe on hostile paths
//! (FIFOs, devices, directories, symlinks to /dev/zero), each run under a timeout.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::http::{Reply, Server};
use crate::util::{stderr, temp_dir};

/// How long any one command may take here: a hang fails the test instead of stalling the suite.
const LIMIT: Duration = Duration::from_secs(20);

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/reports")
}

/// Runs `tollgate` with `args` in `cwd`, killed (and the test failed) after `limit`.
fn run_in(cwd: &Path, args: &[&str], limit: Duration) -> (Output, Duration) {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(args)
        .current_dir(cwd)
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("GITLAB_CI")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("CI_ENVIRONMENT_NAME")
        .env_remove("TOLLGATE_BUILD")
        .env_remove("TOLLGATE_ENVIRONMENT")
        .env_remove("DEFECTDOJO_URL")
        .env_remove("DEFECTDOJO_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tollgate");
    // Drained on threads so a full pipe never blocks the child.
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let err_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "tollgate {} did not finish within {limit:?} (killed)",
                args.join(" ")
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let took = started.elapsed();
    let output = Output {
        status,
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
    };
    (output, took)
}

fn run(cwd: &Path, args: &[&str]) -> Output {
    run_in(cwd, args, LIMIT).0
}

fn gate_args<'a>(out_dir: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["gate", "--out-dir", out_dir, "--today", "2026-11-22"];
    v.extend_from_slice(rest);
    v
}

fn summary(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("security-gate-summary.json")).expect("summary"))
        .expect("summary JSON")
}

const NO_SCANNER: &str = "cannot tell which scanner wrote this report; pass --scanner";

/// Documents that name no scanner, as files.
fn ambiguous_reports(dir: &Path) -> Vec<(String, &'static str)> {
    [
        ("null.json", "null\n"),
        ("empty-list.json", "[]\n"),
        ("empty-object.json", "{}"),
        ("empty-results.json", r#"{"results": [], "errors": []}"#),
        ("empty-vulns.json", r#"{"vulnerabilities": []}"#),
        ("empty-findings.json", r#"{"findings": []}"#),
    ]
    .iter()
    .map(|(name, body)| {
        std::fs::write(dir.join(name), body).expect("write");
        (name.to_string(), *body)
    })
    .collect()
}

#[test]
fn seams_detect_and_parse_refuse_documents_that_name_no_scanner() {
    let dir = temp_dir("seams-ambiguous");
    for (file, body) in ambiguous_reports(&dir) {
        for cmd in ["detect", "parse"] {
            let out = run(&dir, &[cmd, &file]);
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(2), "{cmd} {body}: {err}");
            assert!(
                err.contains(&format!("{file}: {NO_SCANNER}")),
                "{cmd} {body}: {err}"
            );
        }
    }
    // Named, the clean scans read as empty reports.
    for (file, scanner) in [("null.json", "trivy"), ("empty-list.json", "gitleaks")] {
        let out = run(
            &dir,
            &["parse", "--format", "ndjson", "--scanner", scanner, file],
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert!(out.stdout.is_empty());
        let spec = format!("{scanner}={file}");
        let out = run(
            &dir,
            &["parse", "--format", "json", "--scanner", &spec, file],
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let v: Value = serde_json::from_slice(&out.stdout).expect("json");
        assert_eq!(v["reports"][0]["format"], scanner);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn seams_gate_refuses_a_report_that_names_no_scanner_until_named() {
    let dir = temp_dir("seams-gate-ambiguous");
    ambiguous_reports(&dir);
    let semgrep = examples().join("semgrep.json");
    let semgrep = semgrep.to_str().expect("path");
    for on_error in ["closed", "open"] {
        let out = run(
            &dir,
            &gate_args(
                "out",
                &[
                    "--on-error",
                    on_error,
                    semgrep,
                    "null.json",
                    "empty-list.json",
                ],
            ),
        );
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(&format!("null.json: {NO_SCANNER}")), "{err}");
    }
    // Per file: the other report is still detected.
    let out = run(
        &dir,
        &gate_args(
            "out",
            &[
                "--scanner",
                "trivy=null.json",
                "--scanner",
                "gitleaks=./empty-list.json",
                semgrep,
                "null.json",
                "empty-list.json",
            ],
        ),
    );
    assert_ne!(out.status.code(), Some(2), "{}", stderr(&out));
    let s = summary(&dir.join("out"));
    let formats: Vec<&str> = s["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .map(|i| i["format"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(formats, ["semgrep", "trivy", "gitleaks"]);
    // For all files: a clean Trivy scan passes.
    let out = run(
        &dir,
        &gate_args("out2", &["--scanner", "trivy", "null.json"]),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(summary(&dir.join("out2"))["inputs"][0]["format"], "trivy");
    // A --scanner for a file that is not a report, or two for all files: usage errors.
    for extra in [
        &["--scanner", "trivy=other.json", "null.json"][..],
        &["--scanner", "trivy", "--scanner", "gitleaks", "null.json"][..],
        &["--scanner", "nosuch", "null.json"][..],
    ] {
        let out = run(&dir, &gate_args("out3", extra));
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {}", stderr(&out));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn created() -> Reply {
    (
        201,
        vec![],
        r#"{"test_id": 12, "engagement_id": 3, "product_id": 1, "statistics": {"delta": {"created": {"total": 0}, "closed": {"total": 0}, "reactivated": {"total": 0}, "untouched": {"total": 0}}}}"#.into(),
    )
}

fn upload_args<'a>(url: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![
        "upload",
        "--url",
        url,
        "--token",
        "s3cr3t-token",
        "--product",
        "shop",
        "--retry-delay",
        "0.05",
        "--attempts",
        "1",
    ];
    v.extend_from_slice(rest);
    v
}

#[test]
fn seams_upload_of_a_report_that_names_no_scanner_never_reaches_the_server() {
    let dir = temp_dir("seams-upload-ambiguous");
    ambiguous_reports(&dir);
    let semgrep = examples().join("semgrep.json");
    let semgrep = semgrep.to_str().expect("path");
    let server = Server::start(vec![created(), created(), created()]);
    // The good report comes first: nothing at all is sent.
    let out = run(&dir, &upload_args(&server.url, &[semgrep, "null.json"]));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("null.json: {NO_SCANNER}")), "{err}");
    assert!(server.requests().is_empty(), "a request reached the server");
    let out = run(&dir, &upload_args(&server.url, &["empty-list.json"]));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(server.requests().is_empty(), "a request reached the server");
    // Named, it goes to the named scanner's test.
    let out = run(
        &dir,
        &upload_args(
            &server.url,
            &[
                "--branch",
                "main",
                "--scanner",
                "trivy=null.json",
                semgrep,
                "null.json",
            ],
        ),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(
        reqs[0].field("scan_type").as_deref(),
        Some("Semgrep JSON Report")
    );
    assert_eq!(reqs[1].field("scan_type").as_deref(), Some("Trivy Scan"));
    assert_eq!(reqs[1].field("test_title").as_deref(), Some("trivy-main"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn seams_clean_gitlab_sast_report_passes_the_gate() {
    let dir = temp_dir("seams-gitlab-clean");
    let reports = [
        (
            "gl-sast-report.json",
            r#"{"version": "15.0.4", "vulnerabilities": [], "remediations": []}"#,
        ),
        (
            "gl-sast-v2.json",
            r#"{"version": "2.4", "vulnerabilities": []}"#,
        ),
    ];
    for (name, body) in reports {
        std::fs::write(dir.join(name), body).expect("write");
        let out = run(&dir, &["detect", name]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert!(String::from_utf8_lossy(&out.stdout).contains("gitlab-sast"));
        let out = run(&dir, &gate_args("out", &[name]));
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr(&out));
        let s = summary(&dir.join("out"));
        assert_eq!(s["decision"], "PASS", "{s}");
        assert_eq!(s["inputs"][0]["format"], "gitlab-sast");
        assert_eq!(s["inputs"][0]["findings"], 0);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// What DefectDojo's Generic Findings Import reader (`dojo/tools/generic/json_parser.py`) does
/// with each key of a finding, read from its source: `allowed` (plus the popped `endpoints`,
/// `files`, `tags`, `vulnerability_ids`, `cwes`), the numeric coercions of `NUMERIC_FIELDS`,
/// `dateutil.parser.parse` on `date`/`mitigated`, and the `Finding` columns' lengths
/// (`dojo/finding/models.py`; PostgreSQL refuses longer text).
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// A string of at most this many characters (`usize::MAX`: a text column).
    Str(usize),
    /// An integer that fits the column (IntegerField: i32).
    Int,
    /// A finite number in `lo..=hi`.
    Float(f64, f64),
    Bool,
    /// A string or a list of strings (`vulnerability_ids`, `tags`, `cwes`).
    Strings,
    /// A date string (`YYYY-MM-DD…`, what dateutil parses for certain).
    Date,
    /// A list of `scheme://host…` strings (`Endpoint.from_uri`) or objects.
    Endpoints,
    /// A list of `{"title", "data": base64}` objects.
    Files,
    /// One of DefectDojo's severities.
    Severity,
}

fn dojo_generic_fields() -> Vec<(&'static str, Expect)> {
    use Expect::*;
    let text = Str(usize::MAX);
    vec![
        ("title", text), // save() cuts it to 511
        ("severity", Severity),
        ("description", text),
        ("date", Date),
        ("cwe", Int),
        ("cve", Str(50)),
        ("epss_score", Float(0.0, 1.0)),
        ("epss_percentile", Float(0.0, 1.0)),
        ("cvssv3", Str(117)),
        ("cvssv3_score", Float(0.0, 10.0)),
        ("cvssv4", Str(255)),
        ("cvssv4_score", Float(0.0, 10.0)),
        ("mitigation", text),
        ("impact", text),
        ("steps_to_reproduce", text),
        ("severity_justification", text),
        ("references", text),
        ("active", Bool),
        ("verified", Bool),
        ("false_p", Bool),
        ("out_of_scope", Bool),
        ("risk_accepted", Bool),
        ("under_review", Bool),
        ("is_mitigated", Bool),
        ("thread_id", Int),
        ("mitigated", Date),
        ("numerical_severity", Str(4)),
        ("param", text),
        ("payload", text),
        ("line", Int),
        ("file_path", Str(4000)),
        ("component_name", Str(500)),
        ("component_version", Str(100)),
        ("static_finding", Bool),
        ("dynamic_finding", Bool),
        ("scanner_confidence", Int),
        ("unique_id_from_tool", Str(500)),
        ("vuln_id_from_tool", Str(500)),
        ("sast_source_object", text),
        ("sast_sink_object", text),
        ("sast_source_line", Int),
        ("sast_source_file_path", Str(4000)),
        ("nb_occurences", Int),
        ("publish_date", Date),
        ("service", Str(200)),
        ("planned_remediation_date", Date),
        ("planned_remediation_version", Str(99)),
        ("effort_for_fixing", Str(99)),
        ("tags", Strings),
        ("kev_date", Date),
        ("known_exploited", Bool),
        ("ransomware_used", Bool),
        ("fix_available", Bool),
        ("fix_version", Str(100)),
        // Popped before the `allowed` check, read on their own.
        ("endpoints", Endpoints),
        ("files", Files),
        ("vulnerability_ids", Strings),
        ("cwes", Strings),
    ]
}

/// What is wrong with `value` for DefectDojo, if anything.
fn dojo_type_error(expect: Expect, value: &Value) -> Option<String> {
    let is_date = |s: &str| {
        let b = s.as_bytes();
        b.len() >= 10
            && b[..10].iter().enumerate().all(|(i, c)| {
                if i == 4 || i == 7 {
                    *c == b'-'
                } else {
                    c.is_ascii_digit()
                }
            })
    };
    let ok = match (expect, value) {
        (Expect::Str(max), Value::String(s)) => s.chars().count() <= max,
        (Expect::Int, Value::Number(n)) => n.as_i64().is_some_and(|i| i32::try_from(i).is_ok()),
        (Expect::Float(lo, hi), Value::Number(n)) => n
            .as_f64()
            .is_some_and(|f| f.is_finite() && (lo..=hi).contains(&f)),
        (Expect::Bool, Value::Bool(_)) => true,
        (Expect::Strings, Value::String(_)) => true,
        (Expect::Strings, Value::Array(items)) => items.iter().all(Value::is_string),
        (Expect::Date, Value::String(s)) => is_date(s),
        (Expect::Endpoints, Value::Array(items)) => items.iter().all(|e| match e {
            Value::String(u) => u
                .split_once("://")
                .is_some_and(|(scheme, rest)| !scheme.is_empty() && !rest.is_empty()),
            Value::Object(_) => true,
            _ => false,
        }),
        (Expect::Files, Value::Array(items)) => items
            .iter()
            .all(|f| f.get("data").is_some_and(Value::is_string)),
        (Expect::Severity, Value::String(s)) => {
            ["Critical", "High", "Medium", "Low", "Info"].contains(&s.as_str())
        }
        _ => false,
    };
    (!ok).then(|| format!("expected {expect:?}, got {}", clip_json(value)))
}

fn clip_json(v: &Value) -> String {
    let s = v.to_string();
    s.chars().take(120).collect()
}

/// Every finding of every corpus report that `tollgate upload` converts to Generic Findings
/// Import, checked against what DefectDojo's reader takes.
#[test]
fn seams_generic_findings_import_conversion_matches_defectdojos_reader_on_the_corpus() {
    use tollgate_client::defectdojo::{generic_findings_json, shipment, Shipment};
    let Some(dir) = crate::util::corpus_dir("generic-conversion") else {
        return;
    };
    let fields: std::collections::HashMap<&str, Expect> =
        dojo_generic_fields().into_iter().collect();
    let test_keys = [
        "findings",
        "name",
        "type",
        "version",
        "description",
        "dynamic_tool",
        "static_tool",
        "soc",
    ];
    let mut problems = Vec::new();
    let (mut reports, mut findings, mut with_ids) = (0, 0, 0);
    for row in crate::util::manifest(&dir) {
        let Some(format) = tollgate_parsers::Format::from_id(&row.format) else {
            continue;
        };
        if row.error || shipment(format) != Shipment::AsGeneric {
            continue;
        }
        let bytes = std::fs::read(&row.path).expect("read corpus file");
        let (_, parsed) =
            tollgate_parsers::parse_to_vec(&bytes, Some(format)).expect("corpus report parses");
        let doc: Value =
            serde_json::from_slice(&generic_findings_json(&parsed)).expect("conversion is JSON");
        reports += 1;
        let top = doc.as_object().expect("an object");
        for k in top.keys() {
            if !test_keys.contains(&k.as_str()) {
                problems.push(format!("{}: top-level key {k:?} is not read", row.rel));
            }
        }
        let items = doc["findings"].as_array().expect("findings list");
        assert_eq!(items.len(), parsed.len(), "{}", row.rel);
        for (i, item) in items.iter().enumerate() {
            findings += 1;
            let item = item.as_object().expect("finding object");
            for required in ["title", "severity", "description"] {
                if !item.contains_key(required) {
                    problems.push(format!("{}: finding {i} lacks {required}", row.rel));
                }
            }
            with_ids += usize::from(item.contains_key("vulnerability_ids"));
            for (k, v) in item {
                match fields.get(k.as_str()) {
                    None => problems.push(format!(
                        "{}: finding {i}: {k:?} is not allowed by DefectDojo",
                        row.rel
                    )),
                    Some(expect) => {
                        if let Some(e) = dojo_type_error(*expect, v) {
                            problems.push(format!("{}: finding {i}: {k}: {e}", row.rel));
                        }
                    }
                }
            }
        }
    }
    assert!(reports >= 5, "only {reports} converted corpus reports");
    assert!(
        with_ids > 0,
        "no converted finding carries vulnerability_ids"
    );
    assert!(
        problems.is_empty(),
        "{} problems in {findings} findings of {reports} reports:\n{}",
        problems.len(),
        problems
            .iter()
            .take(30)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Hostile inputs in one directory: a FIFO, a symlink to /dev/zero, a directory, and a sparse
/// regular file far above the size limit.
fn hostile_inputs(dir: &Path) -> Vec<(&'static str, String)> {
    let fifo = dir.join("fifo.json");
    let made = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("run mkfifo");
    assert!(made.success(), "mkfifo failed");
    std::os::unix::fs::symlink("/dev/zero", dir.join("zero.json")).expect("symlink");
    std::fs::create_dir_all(dir.join("dir.json")).expect("dir");
    vec![
        ("FIFO", "fifo.json".to_string()),
        ("symlink to /dev/zero", "zero.json".to_string()),
        ("/dev/zero", "/dev/zero".to_string()),
        ("directory", "dir.json".to_string()),
    ]
}

/// Every file input of every command: a clear exit 2 naming the file, at once (a FIFO would
/// hang a plain open; /dev/zero would be read until memory runs out).
#[test]
fn seams_hostile_inputs_are_refused_at_once_naming_the_file() {
    let dir = temp_dir("seams-hostile-inputs");
    let inputs = hostile_inputs(&dir);
    let semgrep = examples().join("semgrep.json");
    let semgrep = semgrep.to_str().expect("path");
    let mut slowest = Duration::ZERO;
    for (what, file) in &inputs {
        let f = file.as_str();
        let cases: Vec<(&str, Vec<&str>)> = vec![
            ("report (parse)", vec!["parse", f]),
            ("report (parse -o)", vec!["parse", "-o", "out.json", f]),
            ("report (detect)", vec!["detect", f]),
            ("report (gate)", gate_args("out", &[f])),
            ("--policy", gate_args("out", &["--policy", f, semgrep])),
            ("--baseline", gate_args("out", &["--baseline", f, semgrep])),
            ("--waivers", gate_args("out", &["--waivers", f, semgrep])),
            (
                "report (upload)",
                vec![
                    "upload",
                    "--dry-run",
                    "--url",
                    "http://127.0.0.1:9",
                    "--token",
                    "t",
                    "--product",
                    "p",
                    f,
                ],
            ),
        ];
        for (slot, args) in cases {
            let (out, took) = run_in(&dir, &args, LIMIT);
            slowest = slowest.max(took);
            // The gate fails closed on a report it cannot use and says so in its verdict.
            let err = stderr(&out) + &String::from_utf8_lossy(&out.stdout);
            assert_eq!(out.status.code(), Some(2), "{slot} = {what}: {err}");
            assert!(
                err.contains(f),
                "{slot} = {what}: the file is not named: {err}"
            );
            assert!(err.contains("not a regular file"), "{slot} = {what}: {err}");
            assert!(
                took < Duration::from_secs(3),
                "{slot} = {what}: took {took:?}"
            );
        }
    }
    eprintln!("slowest refusal of a hostile input: {slowest:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `parse` to standard output checks every input before it writes: a path that is no report,
/// after a good one, leaves standard output empty (it cannot be taken back).
#[test]
fn seams_parse_to_stdout_writes_nothing_when_an_input_is_refused() {
    let dir = temp_dir("seams-parse-stdout");
    let semgrep = examples().join("semgrep.json");
    let semgrep = semgrep.to_str().expect("path");
    std::fs::File::create(dir.join("big.json"))
        .and_then(|f| f.set_len(2 << 20))
        .expect("sparse file");
    for (bad, why) in [
        ("/dev/null", "not a regular file"),
        ("missing.json", "cannot read"),
        ("big.json", "larger than the limit"),
    ] {
        for format in ["json", "ndjson", "table"] {
            let args = ["parse", "--max-size", "1M", "-f", format, semgrep, bad];
            let (out, _) = run_in(&dir, &args, LIMIT);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
            assert!(stderr(&out).contains(why), "{args:?}: {}", stderr(&out));
            assert!(
                out.stdout.is_empty(),
                "{args:?}: wrote {} bytes before refusing {bad}",
                out.stdout.len()
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The size limit is applied before reading: a 4 GiB sparse file is refused at once.
#[test]
fn seams_size_limit_is_applied_before_reading() {
    let dir = temp_dir("seams-size-limit");
    let big = dir.join("big.json");
    std::fs::File::create(&big)
        .and_then(|f| f.set_len(4 << 30))
        .expect("sparse file");
    let semgrep = examples().join("semgrep.json");
    let semgrep = semgrep.to_str().expect("path");
    for args in [
        vec!["parse", "--max-size", "1M", "big.json"],
        gate_args(
            "out",
            &["--max-size", "1M", "--baseline", "big.json", semgrep],
        ),
        gate_args("out", &["--policy", "big.json", semgrep]),
    ] {
        let (out, took) = run_in(&dir, &args, LIMIT);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("big.json") && err.contains("larger than the limit"),
            "{err}"
        );
        assert!(took < Duration::from_secs(3), "{args:?}: took {took:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn tmp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("read dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect()
}

/// `-o` through a symlink to a character device writes through it: the link stays a link.
#[test]
fn seams_output_through_a_symlink_to_a_device_keeps_the_link() {
    use std::os::unix::fs::FileTypeExt;
    let dir = temp_dir("seams-output-link");
    let link = dir.join("null-link.json");
    std::os::unix::fs::symlink("/dev/null", &link).expect("symlink");
    let semgrep = examples().join("semgrep.json");
    let semgrep = semgrep.to_str().expect("path");
    let out = run(&dir, &["parse", "-o", "null-link.json", semgrep]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = run(
        &dir,
        &gate_args("out", &["--sarif=../null-link.json", semgrep]),
    );
    assert_ne!(out.status.code(), Some(2), "{}", stderr(&out));
    let meta = std::fs::symlink_metadata(&link).expect("meta");
    assert!(meta.file_type().is_symlink(), "the link was replaced");
    assert!(std::fs::metadata(&link)
        .expect("meta")
        .file_type()
        .is_char_device());
    assert!(tmp_files(&dir).is_empty(), "{:?}", tmp_files(&dir));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `-o /dev/null` and `-o /dev/stdout` are written through, never replaced by a regular file.
#[test]
fn seams_output_to_dev_null_and_dev_stdout_stays_a_device() {
    use std::os::unix::fs::FileTypeExt;
    let dir = temp_dir("seams-output-dev");
    let semgrep = examples().join("semgrep.json");
    let semgrep = semgrep.to_str().expect("path");
    let out = run(&dir, &["parse", "-o", "/dev/null", semgrep]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(std::fs::metadata("/dev/null")
        .expect("meta")
        .file_type()
        .is_char_device());
    // /dev/stdout is a symlink to the process's standard output (a pipe here): the findings
    // arrive there.
    let out = run(&dir, &["parse", "-o", "/dev/stdout", semgrep]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON on standard output");
    assert!(!v["findings"].as_array().expect("findings").is_empty());
    assert!(std::fs::symlink_metadata("/dev/stdout")
        .expect("meta")
        .file_type()
        .is_symlink());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A failed write leaves no temporary file: `-o` a directory, a report that fails to parse,
/// an output directory that is a file.
#[test]
fn seams_failed_writes_leave_no_temporary_file() {
    let dir = temp_dir("seams-failed-writes");
    std::fs::create_dir_all(dir.join("outdir")).expect("dir");
    std::fs::write(dir.join("broken.json"), r#"{"runs": [{"tool": "#).expect("write");
    std::fs::write(dir.join("kept.json"), "old").expect("write");
    let semgrep = examples().join("semgrep.json");
    let semgrep = semgrep.to_str().expect("path");
    let out = run(&dir, &["parse", "-o", "outdir", semgrep]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("outdir"), "{}", stderr(&out));
    let out = run(&dir, &["parse", "-o", "kept.json", semgrep, "broken.json"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(std::fs::read(dir.join("kept.json")).expect("read"), b"old");
    let out = run(&dir, &gate_args("out", &["--sarif=../outdir", semgrep]));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    for d in [dir.clone(), dir.join("outdir"), dir.join("out")] {
        if d.is_dir() {
            assert!(
                tmp_files(&d).is_empty(),
                "{}: {:?}",
                d.display(),
                tmp_files(&d)
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// On the hub the scan_type names the scanner: a clean scan that names none (`null`, `[]`) is an
/// empty report of that scan type, and one its parser cannot read is a 400 `{"detail"}`.
#[cfg(feature = "hub")]
#[test]
fn seams_hub_reads_a_clean_scan_as_the_scan_type_it_is_sent_as() {
    use crate::hub::Hub;
    for hub in Hub::each("seams-hub-clean-scans") {
        let t = hub.token("ci", "import,read", None);
        let dir = temp_dir(&format!("seams-hub-clean-{}", hub.backend));
        ambiguous_reports(&dir);
        let fields = |scan_type: &'static str| {
            vec![
                ("scan_type", scan_type),
                ("product_name", "shop"),
                ("engagement_name", "ci"),
                ("product_type_name", "apps"),
                ("auto_create_context", "true"),
            ]
        };
        for (file, scan_type) in [
            ("null.json", "Trivy Scan"),
            ("null.json", "Gitleaks Scan"),
            ("empty-list.json", "Gitleaks Scan"),
        ] {
            let (s, v) = hub.import("import-scan", &t, &dir.join(file), &fields(scan_type));
            assert_eq!(s, 201, "{file} as {scan_type}: {v}");
        }
        let (s, v) = hub.import("import-scan", &t, &dir.join("null.json"), &fields("SARIF"));
        assert_eq!(s, 400, "{v}");
        assert!(v["detail"].is_string(), "{v}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
