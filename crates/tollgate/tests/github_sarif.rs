//! The gate's SARIF as GitHub code scanning takes it (issue 13 §2): rules with full descriptions,
//! help and the `security` tag; repository-relative, percent-encoded file URIs and logical
//! locations for places that are not files; a capped run that says what it left out.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{json, Value};

use crate::util::{corpus_dir, manifest, stderr, temp_dir};

const POLICY: &str = r#"version = 1
[[rule]]
name = "critical"
description = "Critical."
verdict = "block"
[rule.match]
severity_at_least = "Critical"
[[rule]]
name = "medium"
description = "Medium or High."
verdict = "warn"
[rule.match]
severity_at_least = "Medium"
"#;

fn gate(dir: &Path, envs: &[(&str, &str)], args: &[&str]) -> Output {
    std::fs::write(dir.join("policy.toml"), POLICY).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tollgate"));
    cmd.arg("gate")
        .args(["--out-dir", dir.join("out").to_str().unwrap()])
        .args(["--policy", dir.join("policy.toml").to_str().unwrap()])
        .args(["--today", "2026-11-22", "--build", "release"])
        .args(args)
        .current_dir(dir)
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("GITHUB_WORKSPACE")
        .env_remove("CI_PROJECT_DIR");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("run tollgate")
}

/// A DefectDojo generic report of these findings.
fn generic(dir: &Path, name: &str, findings: Vec<Value>) -> String {
    let path = dir.join(name);
    std::fs::write(
        &path,
        serde_json::to_vec(&json!({"type": "acme", "findings": findings})).unwrap(),
    )
    .unwrap();
    path.to_string_lossy().into_owned()
}

fn sarif_of(dir: &Path, envs: &[(&str, &str)], args: &[&str]) -> Value {
    let out = gate(dir, envs, args);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
    serde_json::from_slice(&std::fs::read(dir.join("out/security-gate.sarif")).unwrap()).unwrap()
}

fn results(sarif: &Value) -> &Vec<Value> {
    sarif["runs"][0]["results"].as_array().unwrap()
}

/// The result whose message starts with `title`.
fn result<'a>(sarif: &'a Value, title: &str) -> &'a Value {
    results(sarif)
        .iter()
        .find(|r| r["message"]["text"].as_str().unwrap().starts_with(title))
        .unwrap_or_else(|| panic!("no result {title}"))
}

fn uri(r: &Value) -> Option<&str> {
    r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str()
}

fn logical(r: &Value) -> Vec<String> {
    r["locations"][0]["logicalLocations"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|l| l["fullyQualifiedName"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn sarif_rules_have_descriptions_help_and_the_security_tag() {
    let dir = temp_dir("gh-sarif-rules");
    let report = generic(
        &dir,
        "r.json",
        vec![
            // zap rule 10062's shape: an empty mitigation, no description.
            json!({"title": "PII Disclosure", "vuln_id_from_tool": "10062", "severity": "High",
                   "description": "", "mitigation": "", "cwe": 359, "file_path": "a.py"}),
            json!({"title": "SQL injection", "vuln_id_from_tool": "sqli", "severity": "Critical",
                   "description": "User input reaches a query.", "mitigation": "Bind parameters.",
                   "file_path": "b.py", "line": 3}),
            json!({"title": "SQL injection", "vuln_id_from_tool": "sqli", "severity": "Critical",
                   "description": "Again.", "cwe": 89, "file_path": "c.py"}),
        ],
    );
    let sarif = sarif_of(&dir, &[], &["--sarif=security-gate.sarif", &report]);
    let rules = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    assert_eq!(rules.len(), 2);
    for rule in rules {
        for key in ["shortDescription", "fullDescription", "help"] {
            let text = rule[key]["text"].as_str().unwrap_or("");
            assert!(!text.trim().is_empty(), "{key} of {rule}");
        }
        let tags: Vec<&str> = rule["properties"]["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        assert!(tags.contains(&"security"), "{rule}");
        assert!(
            rule["properties"]["security-severity"].is_string(),
            "{rule}"
        );
    }
    let pii = rules.iter().find(|r| r["name"] == "10062").unwrap();
    assert_eq!(pii["help"]["text"], "PII Disclosure");
    assert_eq!(pii["fullDescription"]["text"], "PII Disclosure");
    assert!(pii["properties"]["tags"]
        .as_array()
        .unwrap()
        .contains(&json!("external/cwe/cwe-359")));
    let sqli = rules.iter().find(|r| r["name"] == "sqli").unwrap();
    assert_eq!(
        sqli["fullDescription"]["text"],
        "User input reaches a query."
    );
    assert_eq!(sqli["help"]["text"], "Bind parameters.");
    // The CWE of any finding of the rule, not only of the first.
    assert!(sqli["properties"]["tags"]
        .as_array()
        .unwrap()
        .contains(&json!("external/cwe/cwe-089")));
}

#[test]
fn sarif_file_uris_are_relative_and_encoded_and_other_places_are_logical() {
    let dir = temp_dir("gh-sarif-uris");
    let report = generic(
        &dir,
        "r.json",
        vec![
            json!({"title": "gomod", "severity": "High", "file_path": "go.mod:github.com/go-sql-driver/mysql/1.6.0",
                   "component_name": "github.com/go-sql-driver/mysql", "component_version": "1.6.0"}),
            json!({"title": "npmlock", "severity": "High", "file_path": "package-lock.json?yargs-parser",
                   "component_name": "yargs-parser", "component_version": "5.0.0"}),
            json!({"title": "drive", "severity": "Low", "file_path": "C:/code/file1.c"}),
            json!({"title": "spaces", "severity": "Low", "file_path": "/opt/elsewhere/Side Channel/x.swift", "line": 7}),
            json!({"title": "checkout", "severity": "Low", "file_path": "/builds/group/project/src/app.py"}),
            json!({"title": "dotted", "severity": "Low", "file_path": "./src/a b#c.py"}),
            json!({"title": "dast", "severity": "Medium",
                   "endpoints": [{"protocol": "https", "host": "shop.example", "path": "/cart"}]}),
            json!({"title": "nowhere", "severity": "Info"}),
        ],
    );
    let sarif = sarif_of(
        &dir,
        &[("CI_PROJECT_DIR", "/builds/group/project")],
        &["--sarif=security-gate.sarif", &report],
    );
    let gomod = result(&sarif, "gomod");
    assert_eq!(uri(gomod), Some("go.mod"));
    let places = logical(gomod);
    assert!(
        places.contains(&"go.mod:github.com/go-sql-driver/mysql/1.6.0".to_string()),
        "{places:?}"
    );
    assert!(
        places.contains(&"github.com/go-sql-driver/mysql@1.6.0".to_string()),
        "{places:?}"
    );
    assert_eq!(uri(result(&sarif, "npmlock")), Some("package-lock.json"));
    assert_eq!(uri(result(&sarif, "drive")), Some("code/file1.c"));
    let spaces = result(&sarif, "spaces");
    assert_eq!(uri(spaces), Some("opt/elsewhere/Side%20Channel/x.swift"));
    assert_eq!(
        spaces["properties"]["tollgate-path"],
        "/opt/elsewhere/Side Channel/x.swift"
    );
    assert_eq!(
        spaces["locations"][0]["physicalLocation"]["region"]["startLine"],
        7
    );
    assert_eq!(uri(result(&sarif, "checkout")), Some("src/app.py"));
    assert_eq!(uri(result(&sarif, "dotted")), Some("src/a%20b%23c.py"));
    // Places that are no file of the repository: logical locations only.
    let dast = result(&sarif, "dast");
    assert_eq!(uri(dast), None);
    assert!(
        logical(dast)
            .iter()
            .any(|l| l.contains("https://shop.example/cart")),
        "{dast}"
    );
    let nowhere = result(&sarif, "nowhere");
    assert_eq!(
        uri(nowhere),
        None,
        "the report is no file of the repository"
    );
    assert_eq!(logical(nowhere), vec![report.clone()]);
    // Every URI: a relative reference, no scheme, nothing unencoded.
    for r in results(&sarif) {
        assert_eq!(r["locations"].as_array().unwrap().len(), 1, "{r}");
        if let Some(u) = uri(r) {
            assert!(!u.starts_with('/') && !u.starts_with("./"), "{u}");
            assert!(!u.split('/').next().unwrap().contains(':'), "{u}");
            assert!(
                u.bytes()
                    .all(|b| b.is_ascii_graphic() && !b"?#\\ ".contains(&b)),
                "{u}"
            );
        }
    }
}

#[test]
fn sarif_is_capped_blockers_first_and_says_so() {
    let dir = temp_dir("gh-sarif-cap");
    let mut findings = Vec::new();
    for (n, severity) in [(4, "Info"), (3, "Medium"), (2, "Critical"), (2, "Low")] {
        for i in 0..n {
            findings.push(json!({"title": format!("{severity} {i}"), "severity": severity,
                                 "vuln_id_from_tool": format!("{severity}-{i}"), "file_path": "x.py"}));
        }
    }
    let report = generic(&dir, "r.json", findings);
    let sarif = sarif_of(
        &dir,
        &[],
        &[
            "--sarif=security-gate.sarif",
            "--sarif-max-results",
            "4",
            &report,
        ],
    );
    let levels: Vec<&str> = results(&sarif)
        .iter()
        .map(|r| r["level"].as_str().unwrap())
        .collect();
    // Both blockers, then two of the three warnings; the six notes go first.
    assert_eq!(
        levels.iter().filter(|l| **l == "error").count(),
        2,
        "{levels:?}"
    );
    assert_eq!(
        levels.iter().filter(|l| **l == "warning").count(),
        2,
        "{levels:?}"
    );
    assert_eq!(levels.len(), 4);
    let run = &sarif["runs"][0];
    assert_eq!(run["properties"]["tollgate-results-total"], 11);
    assert_eq!(run["properties"]["tollgate-results-left-out"], 7);
    let notice = run["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"]
        .as_str()
        .unwrap();
    assert!(
        notice.contains("4 of 11 results: 7 left out (6 notes, 1 warnings, 0 blockers)"),
        "{notice}"
    );
    // Rules of left-out results are not described.
    assert_eq!(run["tool"]["driver"]["rules"].as_array().unwrap().len(), 4);
    // The summaries say it too.
    let summary: Value =
        serde_json::from_slice(&std::fs::read(dir.join("out/security-gate-summary.json")).unwrap())
            .unwrap();
    assert!(
        summary["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("7 left out")),
        "{}",
        summary["notes"]
    );
    let md = std::fs::read_to_string(dir.join("out/security-gate-summary.md")).unwrap();
    assert!(md.contains("4 of 11 results: 7 left out"), "{md}");

    // The default keeps 5,000: nothing is left out here, and nothing is said.
    let sarif = sarif_of(&dir, &[], &["--sarif=security-gate.sarif", &report]);
    assert_eq!(results(&sarif).len(), 11);
    assert!(sarif["runs"][0].get("invocations").is_none());
    let md = std::fs::read_to_string(dir.join("out/security-gate-summary.md")).unwrap();
    assert!(!md.contains("left out"), "{md}");

    // GitHub rejects more than 25,000: so does the flag, with a clear message.
    for bad in ["25001", "0", "many"] {
        let out = gate(
            &dir,
            &[],
            &[
                "--sarif=security-gate.sarif",
                "--sarif-max-results",
                bad,
                &report,
            ],
        );
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(
            stderr(&out).contains("--sarif-max-results"),
            "{}",
            stderr(&out)
        );
    }
}

/// The whole real corpus in one gate: the issue's figures (GitHub's hard limit, the go.mod
/// pseudo-path as a scheme, leading `/`, raw spaces) checked on real reports.
#[test]
fn sarif_of_the_whole_corpus_is_one_github_accepts() {
    let Some(corpus) = corpus_dir("sarif_of_the_whole_corpus_is_one_github_accepts") else {
        return;
    };
    let dir = temp_dir("gh-sarif-corpus");
    let rows = manifest(&corpus);
    let mut args: Vec<String> = vec![
        "--sarif=security-gate.sarif".into(),
        "--on-error".into(),
        "open".into(),
    ];
    for row in &rows {
        let p = row.path.to_string_lossy().into_owned();
        args.push(format!("--scanner={}={p}", row.format));
        args.push(p);
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = gate(&dir, &[], &refs);
    assert!(matches!(out.status.code(), Some(0..=2)), "{}", stderr(&out));
    let sarif: Value =
        serde_json::from_slice(&std::fs::read(dir.join("out/security-gate.sarif")).unwrap())
            .unwrap();
    let run = &sarif["runs"][0];
    let total = run["properties"]["tollgate-results-total"]
        .as_u64()
        .unwrap();
    assert!(
        total > 5_000,
        "the corpus has more results than GitHub keeps: {total}"
    );
    assert_eq!(results(&sarif).len(), 5_000);
    assert!(
        run["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"]
            .as_str()
            .unwrap()
            .contains("left out")
    );
    for rule in run["tool"]["driver"]["rules"].as_array().unwrap() {
        assert!(
            !rule["fullDescription"]["text"]
                .as_str()
                .unwrap()
                .trim()
                .is_empty(),
            "{rule}"
        );
        assert!(
            !rule["help"]["text"].as_str().unwrap().trim().is_empty(),
            "{rule}"
        );
        let tags = rule["properties"]["tags"].as_array().unwrap();
        assert_eq!(tags[0], "security", "{rule}");
        assert!(tags.len() <= 10, "GitHub keeps 10 tags of a rule: {rule}");
        for key in ["shortDescription", "fullDescription"] {
            let units = rule[key]["text"].as_str().unwrap().encode_utf16().count();
            assert!(units <= 1024, "{key} of {}: {units}", rule["id"]);
        }
    }
    for r in results(&sarif) {
        if let Some(u) = uri(r) {
            assert!(!u.starts_with('/'), "{u}");
            assert!(!u.split('/').next().unwrap().contains(':'), "{u}");
            assert!(!u.contains(' '), "{u}");
        } else {
            assert!(!logical(r).is_empty(), "{r}");
        }
    }
}
