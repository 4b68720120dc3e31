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
