//! `tollgate parse` on a SARIF log large enough to be read by several threads writes exactly what
//! one thread writes, in every output format (repeats renumbered, pointers rebased, the JSON
//! writer's separators right).

use crate::util::{temp_dir, tollgate};

/// A ~10 MiB log: repeated fingerprints at distinct places (same rule, file and snippet on
/// other lines), true duplicates, texts with escapes and non-ASCII, a credential in a snippet.
fn large_log() -> String {
    let rules: Vec<String> = (0..5)
        .map(|r| {
            format!(
                r#"{{"id": "rule-{r}", "shortDescription": {{"text": "Rule {r} \"quoted\""}},
                   "fullDescription": {{"text": "Line one\nline two, \u00e9t\u00e9 {r}"}},
                   "help": {{"text": "Fix it: use\tparameters."}},
                   "properties": {{"tags": ["security", "external/cwe/cwe-89"], "security-severity": "{s}"}}}}"#,
                s = 3 + r
            )
        })
        .collect();
    let results: Vec<String> = (0..30_000)
        .map(|i| {
            let snippet = if i % 97 == 0 {
                "password = \\\"hunter2hunter2\\\"".to_string()
            } else {
                format!("call(x{})", i % 50)
            };
            format!(
                r#"{{"ruleId": "rule-{r}", "ruleIndex": {r}, "level": "warning",
                   "message": {{"text": "Message {i} with \"quotes\", a back\\slash and ü"}},
                   "locations": [{{"physicalLocation": {{"artifactLocation": {{"uri": "src/f{f}.py"}},
                     "region": {{"startLine": {line}, "snippet": {{"text": "{snippet}"}}}}}}}}]}}"#,
                r = i % 5,
                f = i % 40,
                line = (i / 3) % 700,
            )
        })
        .collect();
    format!(
        r#"{{"version": "2.1.0", "runs": [{{"tool": {{"driver": {{"name": "demo", "rules": [{}]}}}},
           "results": [{}]}}]}}"#,
        rules.join(","),
        results.join(",\n")
    )
}

#[test]
fn several_threads_write_what_one_thread_writes() {
    let path = temp_dir("parse-parallel").join("large.sarif");
    let log = large_log();
    assert!(log.len() > 9 << 20, "{} bytes", log.len());
    std::fs::write(&path, log).expect("write");
    let file = path.to_str().expect("utf-8 path");
    for format in ["ndjson", "json", "table"] {
        let one = tollgate(&["parse", "--threads", "1", "--format", format, file]);
        assert!(
            one.status.success(),
            "{}",
            String::from_utf8_lossy(&one.stderr)
        );
        for threads in ["2", "3"] {
            let many = tollgate(&["parse", "--threads", threads, "--format", format, file]);
            assert!(many.status.success());
            assert!(
                one.stdout == many.stdout,
                "--format {format}: {threads} threads differ from one"
            );
        }
        if format == "ndjson" {
            let text = String::from_utf8_lossy(&one.stdout);
            assert_eq!(text.lines().count(), 30_000);
            assert!(text.contains("\"pointer\":\"/runs/0/results/29999\""));
            assert!(!text.contains("hunter2hunter2"));
        }
    }
}

/// `gate` on the same log: read by several threads (which judge and summarize their findings)
/// or by one, keeping every finding (`--junit`) or only those the Markdown lists, it decides and
/// writes the same (the summary's fingerprints include the renumbered repeats; a live and an
/// expired waiver each name thousands of findings; each list is longer than the Markdown shows).
#[test]
fn gate_decides_and_writes_the_same_with_any_number_of_threads() {
    let dir = temp_dir("gate-parallel");
    let path = dir.join("large.sarif");
    std::fs::write(&path, large_log()).expect("write");
    let waivers = dir.join("waivers.toml");
    std::fs::write(
        &waivers,
        r#"
[[waiver]]
rule = "rule-4"
path = "src/f1*.py"
reason = "accepted in tests"
owner = "tests"
expires = "2027-01-01"

[[waiver]]
rule = "rule-3"
path = "src/**"
reason = "expired in tests"
owner = "tests"
expires = "2026-01-01"
"#,
    )
    .expect("write waivers");
    let policy = dir.join("policy.toml");
    std::fs::write(
        &policy,
        r#"
version = 1

[[rule]]
name = "high-blocks"
description = "A High finding."
verdict = "block"
[rule.match]
severity_at_least = "High"

[[rule]]
name = "medium-warns"
description = "A Medium finding."
verdict = "warn"
[rule.match]
severity_at_least = "Medium"
"#,
    )
    .expect("write policy");
    let run = |name: &str, extra: &[&str]| {
        let out = dir.join(name);
        let mut args = vec![
            "gate",
            "--today",
            "2026-11-22",
            "--build",
            "release",
            "--environment",
            "production",
            "--policy",
            policy.to_str().unwrap(),
            "--waivers",
            waivers.to_str().unwrap(),
            "--out-dir",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        args.push(path.to_str().unwrap());
        let o = tollgate(&args);
        assert_eq!(
            o.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let mut summary: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("security-gate-summary.json")).unwrap())
                .unwrap();
        summary["generated_at"] = serde_json::Value::Null;
        let md = std::fs::read_to_string(out.join("security-gate-summary.md")).unwrap();
        (summary, md, out)
    };
    let (one, one_md, one_dir) = run("one", &["--threads", "1", "--junit"]);
    assert_eq!(one["findings"].as_array().unwrap().len(), 30_000);
    // The fingerprints are parse's, in the same order (repeats renumbered alike).
    let parsed = tollgate(&["parse", "--format", "ndjson", path.to_str().unwrap()]);
    let parsed: Vec<String> = String::from_utf8_lossy(&parsed.stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["fingerprint"].as_str().unwrap().to_string()
        })
        .collect();
    let gated: Vec<&str> = one["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["fingerprint"].as_str().unwrap())
        .collect();
    assert_eq!(gated, parsed);
    let long_lists = one["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["fingerprints"].as_array().unwrap().len() > 50)
        .count();
    assert!(long_lists >= 2, "{}", one["reasons"]);
    for w in ["applied", "expired"] {
        let n = one["waivers"][w][0]["fingerprints"]
            .as_array()
            .unwrap()
            .len();
        assert!(n > 50, "{w}: {n}");
    }
    assert!(one_md.contains("… and "), "{one_md}");
    for (name, extra) in [
        ("many-all", &["--threads", "2", "--junit"][..]),
        ("many-listed", &["--threads", "2"][..]),
        ("one-listed", &["--threads", "1"][..]),
    ] {
        let (s, md, out) = run(name, extra);
        assert!(s == one, "{name}: the summary differs");
        assert!(md == one_md, "{name}: the Markdown differs");
        if extra.contains(&"--junit") {
            // The same but for the time of the run.
            let junit = |dir: &std::path::Path| {
                let text = std::fs::read_to_string(dir.join("security-gate.junit.xml")).unwrap();
                let at = text.find(" timestamp=\"").expect("a timestamp");
                let end = at + text[at + 13..].find('"').unwrap() + 14;
                format!("{}{}", &text[..at], &text[end..])
            };
            assert!(junit(&out) == junit(&one_dir), "{name}: the JUnit differs");
        }
    }
}
