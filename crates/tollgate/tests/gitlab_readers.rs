//! The gate over the whole corpus, read the way GitLab reads its files: a JUnit case per blocked
//! finding under a (classname, name) no other case has, and a Code Quality entry per finding at a
//! repository file under a fingerprint no other entry has (GitLab keeps one per key).
//! scripts/gitlab-readers-check.sh adds the XSD and the GFM render in CI.

use std::collections::HashSet;

use crate::util::{corpus_dir, manifest, stderr, temp_dir, tollgate};

#[test]
fn gitlab_readers_see_every_blocked_finding_and_every_file_finding_of_the_corpus() {
    let Some(dir) = corpus_dir("gitlab_readers_corpus") else {
        return;
    };
    let out = temp_dir("gitlab-readers");
    let mut args: Vec<String> = vec!["gate".into()];
    for row in manifest(&dir).into_iter().filter(|r| !r.error) {
        let path = row.path.display().to_string();
        args.push(path.clone());
        args.push("--scanner".into());
        args.push(format!("{}={path}", row.format));
    }
    args.extend(
        [
            "--out-dir",
            out.to_str().unwrap(),
            "--junit",
            "--gitlab-codequality",
        ]
        .map(String::from),
    );
    let o = tollgate(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);

    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("security-gate-summary.json")).unwrap())
            .unwrap();
    let findings = summary["findings"].as_array().unwrap();
    let blocked = findings
        .iter()
        .filter(|f| f["disposition"] == "block")
        .count();
    let fail_closed = summary["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["verdict"] == "block" && r["fingerprints"].as_array().unwrap().is_empty())
        .count();
    let failing = blocked + fail_closed;

    // JUnit: one failing case per blocked finding and per fail-closed condition, each under its
    // own (classname, name). Before: 884 cases, 770 keys.
    let junit = std::fs::read_to_string(out.join("security-gate.junit.xml")).unwrap();
    let cases: Vec<(String, String)> = junit
        .lines()
        .filter(|l| l.trim_start().starts_with("<testcase "))
        .map(|l| (attr(l, "classname"), attr(l, "name")))
        .collect();
    let keys: HashSet<_> = cases.iter().collect();
    assert_eq!(cases.len(), failing, "one case per blocked finding");
    assert_eq!(keys.len(), cases.len(), "JUnit (classname, name) repeats");
    assert!(
        junit.contains(&format!(
            "<testsuite name=\"security gate\" tests=\"{failing}\" failures=\"{failing}\" errors=\"0\""
        )),
        "junit-10 attributes: {}",
        &junit[..400]
    );

    // Code Quality: unique fingerprints (before: 17,976 entries, 16,788 fingerprints),
    // repository-relative paths (before: 3,127 with `./`, 172 URLs and pseudo-paths).
    let cq: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(out.join("gl-code-quality-report.json")).unwrap())
            .unwrap();
    let fps: HashSet<&str> = cq
        .iter()
        .map(|i| i["fingerprint"].as_str().unwrap())
        .collect();
    assert_eq!(fps.len(), cq.len(), "Code Quality fingerprints repeat");
    for i in &cq {
        let p = i["location"]["path"].as_str().unwrap();
        assert!(
            !p.is_empty()
                && !p.starts_with("./")
                && !p.starts_with('/')
                && !p.contains("://")
                && !p.contains(':')
                && !p.contains('?')
                && !p.contains('\\'),
            "not a repository path: {p:?}"
        );
    }
    // Every finding GitLab should see is there: those left out are counted, and said.
    let shown = findings
        .iter()
        .filter(|f| f["disposition"] != "waived" && f["disposition"] != "suppressed")
        .count();
    let left_out = shown - cq.len();
    assert!(left_out > 0 && left_out < shown / 10, "{left_out} left out");
    assert!(
        stdout.contains(&format!(
            "note: {left_out} finding(s) not in the Code Quality report"
        )),
        "{stdout}"
    );
    let _ = std::fs::remove_dir_all(&out);
}

fn attr(line: &str, name: &str) -> String {
    let key = format!(" {name}=\"");
    let from = line.find(&key).expect(name) + key.len();
    line[from..from + line[from..].find('"').unwrap()].to_string()
}
