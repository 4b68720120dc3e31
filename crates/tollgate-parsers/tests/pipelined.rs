//! The parallel reading of large SARIF logs and Trivy reports must give exactly what the
//! sequential reader gives:
//! the same findings in the same order (pointers, repeat numbering and all) and the same errors,
//! whatever the chunk size (tiny chunks make every guess and every overrun happen).

use std::path::{Path, PathBuf};

use tollgate_model::Finding;
use tollgate_parsers::{parse_pipelined_to_vec, parse_to_vec, Format, ParseError, Pipeline};

/// Findings as `tollgate parse` assembles them from a pipelined read (`forced` skips detection).
fn pipelined_as(
    input: &[u8],
    forced: Option<Format>,
    chunk_bytes: usize,
) -> Result<Vec<Finding>, ParseError> {
    let pipeline = Pipeline {
        workers: 3,
        parallel_from: 0,
        chunk_bytes,
    };
    let (meta, findings) = parse_pipelined_to_vec(input, forced, pipeline)?;
    assert_eq!(meta.findings, findings.len() as u64);
    Ok(findings)
}

fn assert_same(name: &str, input: &[u8]) {
    assert_same_as(name, input, None)
}

/// [`assert_same`] with the format forced (detection, which checks the first MiB, skipped).
fn assert_same_as(name: &str, input: &[u8], forced: Option<Format>) {
    let sequential = parse_to_vec(input, forced);
    for chunk in [1, 50, 333, 4096, 1 << 20] {
        let parallel = pipelined_as(input, forced, chunk);
        match (&sequential, &parallel) {
            (Ok((meta, a)), Ok(b)) => {
                assert_eq!(a.len(), b.len(), "{name}, chunks of {chunk}: count");
                for (i, (x, y)) in a.iter().zip(b).enumerate() {
                    assert_eq!(x, y, "{name}, chunks of {chunk}: finding {i}");
                }
                assert_eq!(meta.findings, b.len() as u64);
            }
            (Err(a), Err(b)) => assert_eq!(
                a.to_string(),
                b.to_string(),
                "{name}, chunks of {chunk}: error"
            ),
            (a, b) => panic!(
                "{name}, chunks of {chunk}: sequential {:?} but parallel {:?}",
                a.as_ref().map(|(_, f)| f.len()),
                b.as_ref().map(Vec::len)
            ),
        }
    }
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sarif")
}

#[test]
fn our_sarif_and_trivy_fixtures_read_the_same_in_parallel() {
    let mut seen = 0;
    for format in ["sarif", "trivy"] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(format);
        for entry in std::fs::read_dir(dir).expect("fixtures") {
            let path = entry.expect("entry").path();
            let bytes = std::fs::read(&path).expect("read");
            assert_same(&path.display().to_string(), &bytes);
            seen += 1;
        }
    }
    assert!(seen >= 12);
}

/// Several Results, one whose Target comes after its Vulnerabilities (buffered), secrets,
/// misconfigurations and licenses after streamed vulnerabilities, Kubernetes resources after
/// Results, and a report whose Results come before its ArtifactName (buffered throughout).
#[test]
fn trivy_layouts_read_the_same_in_parallel() {
    let vuln = |i: usize| {
        format!(
            r#"{{"VulnerabilityID": "CVE-2024-{i:04}", "PkgName": "pkg{p}", "InstalledVersion": "1.{i}",
                "Severity": "HIGH", "Title": "Title {i} \"x\"", "References": ["https://e/{i}"]}}"#,
            p = i % 7
        )
    };
    let vulns = |n: usize| (0..n).map(vuln).collect::<Vec<_>>().join(", ");
    let results = format!(
        r#"[{{"Target": "img (debian 12)", "Class": "os-pkgs", "Type": "debian", "Vulnerabilities": [{a}],
             "Misconfigurations": [{{"ID": "DS001", "Status": "FAIL", "Title": "m"}}, {{"ID": "DS002", "Status": "PASS"}}],
             "Secrets": [{{"RuleID": "aws", "Title": "AWS", "Severity": "CRITICAL", "Match": "AKIA****"}}]}},
            {{"Vulnerabilities": [{b}], "Target": "app/package-lock.json", "Class": "lang-pkgs", "Type": "npm"}},
            {{"Target": "app/go.sum", "Class": "lang-pkgs", "Type": "gomod", "Vulnerabilities": null,
             "Licenses": [{{"Name": "GPL-3.0", "PkgName": "x", "Severity": "HIGH"}}]}},
            {{"Target": "app/Gemfile.lock", "Class": "lang-pkgs", "Type": "bundler", "Vulnerabilities": [{c}]}}]"#,
        a = vulns(40),
        b = vulns(9),
        c = vulns(25),
    );
    let image = format!(
        r#"{{"SchemaVersion": 2, "Trivy": {{"Version": "0.58.1"}}, "ArtifactName": "img:1", "Results": {results}}}"#
    );
    let late_name =
        format!(r#"{{"SchemaVersion": 2, "Results": {results}, "ArtifactName": "img:2"}}"#);
    for (name, doc) in [("image", &image), ("late name", &late_name)] {
        assert_same(name, doc.as_bytes());
        assert_eq!(
            parse_to_vec(doc.as_bytes(), None).expect("parses").1.len(),
            77
        );
    }
    let k8s = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/trivy/kubernetes.json"),
    )
    .expect("fixture");
    let with_results = k8s.replacen(
        '{',
        &format!(r#"{{"ClusterName": "c", "Results": {results}, "#),
        1,
    );
    assert!(parse_to_vec(with_results.as_bytes(), None).is_ok());
    assert_same("kubernetes after results", with_results.as_bytes());
}

/// Element starts hidden in strings and nested arrays, results before `tool`, two runs, a run
/// without results, repeats of one fingerprint at distinct places.
#[test]
fn misleading_element_starts_are_overrun() {
    let result = |i: usize, text: &str| {
        format!(
            r#"{{"ruleId": "r{r}", "message": {{"text": "{text}"}},
              "locations": [{{"physicalLocation": {{"artifactLocation": {{"uri": "src/a{f}.py"}},
                 "region": {{"startLine": {i}, "snippet": {{"text": "x = {r}"}}}}}}}},
                 {{"physicalLocation": {{"artifactLocation": {{"uri": "src/b.py"}}}}}}],
              "relatedLocations": [{{"id": 1}}, {{"id": 2}}]}}"#,
            r = i % 3,
            f = i % 2,
        )
    };
    let tricky = r#"}, {\"ruleId\": \"fake\"}, {\"ruleId\": \"r1\", "#;
    let results: Vec<String> = (0..60)
        .map(|i| result(i, if i % 4 == 0 { tricky } else { "plain text" }))
        .collect();
    let tool =
        r#"{"driver": {"name": "demo", "rules": [{"id": "r0"}, {"id": "r1"}, {"id": "r2"}]}}"#;
    let log = format!(
        r#"{{"version": "2.1.0", "runs": [
            {{"tool": {tool}, "results": [{a}]}},
            {{"results": [{b}], "tool": {tool}}},
            {{"tool": {tool}, "results": null}},
            {{"tool": {tool}, "results": [ ]}}
        ]}}"#,
        a = results.join(",\n"),
        b = results[..20].join(" , "),
    );
    assert_same("tricky", log.as_bytes());
    let (_, findings) = parse_to_vec(log.as_bytes(), None).expect("parses");
    assert_eq!(findings.len(), 80);
}

#[test]
fn broken_logs_give_the_sequential_error() {
    let good = std::fs::read_to_string(fixtures().join("codeql.sarif")).expect("read");
    let at = good.rfind("\"ruleId\"").expect("a result");
    for broken in [
        format!("{}{}", &good[..at], "\"ruleId\": [}"),
        format!("{}{}", &good[..at], "\"ruleId\": 1,, "),
        good[..good.len() - 3].to_string(),
        format!("{good} trailing"),
        good.replacen("\"results\": [", "\"results\": [1, ", 1),
        good.replacen("\"results\": [", "\"results\": {", 1),
    ] {
        assert!(parse_to_vec(broken.as_bytes(), None).is_err());
        assert_same("broken", broken.as_bytes());
    }
}

#[test]
fn corpus_sarif_and_trivy_reports_read_the_same_in_parallel() {
    let dir = std::env::var_os("TOLLGATE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus"));
    let Ok(manifest) = std::fs::read_to_string(dir.join("MANIFEST.tsv")) else {
        assert!(
            std::env::var_os("TOLLGATE_REQUIRE_CORPUS").is_none(),
            "corpus required but {} has no MANIFEST.tsv",
            dir.display()
        );
        eprintln!(
            "SKIPPED corpus_sarif_logs_read_the_same_in_parallel: no corpus at {}",
            dir.display()
        );
        return;
    };
    let mut seen = 0;
    for line in manifest.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        if !matches!(cols.get(1), Some(&"sarif" | &"trivy")) {
            continue;
        }
        let bytes = std::fs::read(dir.join(cols[0])).expect("corpus file");
        if !matches!(
            tollgate_parsers::detect(&bytes),
            Ok(Format::Sarif | Format::Trivy)
        ) {
            continue;
        }
        assert_same(cols[0], &bytes);
        seen += 1;
    }
    assert!(
        seen > 20,
        "only {seen} SARIF and Trivy reports in the corpus"
    );
}

/// Deterministic mutations of our fixtures (bytes dropped, repeated, replaced by JSON
/// punctuation): broken or not, both readers must agree (the differential fuzz target does the
/// same on any input; this runs in every test run).
#[test]
fn mutated_reports_read_the_same_in_parallel() {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n.max(1) as u64) as usize
    };
    const PUNCTUATION: &[u8] = b"{}[],:\"\\ 0n";
    let mut compared = 0;
    for (format, forced) in [("sarif", Format::Sarif), ("trivy", Format::Trivy)] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(format);
        for entry in std::fs::read_dir(dir).expect("fixtures") {
            let original = std::fs::read(entry.expect("entry").path()).expect("read");
            for _ in 0..150 {
                let mut bytes = original.clone();
                for _ in 0..1 + next(3) {
                    let at = next(bytes.len());
                    match next(4) {
                        3 => {
                            // Text whose UTF-8 must be checked: a valid character, or bytes that
                            // are not UTF-8 (stray continuation, cut sequence, never valid).
                            const TEXT: [&[u8]; 5] =
                                [b"\xC3\xA9", b"\xE2\x82\xAC", b"\x80", b"\xE2\x82", b"\xFF"];
                            bytes.splice(at..at, TEXT[next(TEXT.len())].iter().copied());
                        }
                        0 => {
                            let end = (at + 1 + next(40)).min(bytes.len());
                            bytes.drain(at..end);
                        }
                        1 => {
                            let end = (at + 1 + next(200)).min(bytes.len());
                            let copy = bytes[at..end].to_vec();
                            bytes.splice(at..at, copy);
                        }
                        _ => bytes[at] = PUNCTUATION[next(PUNCTUATION.len())],
                    }
                }
                // Forced: detection (which checks the first MiB's UTF-8 and shape) would
                // otherwise stop many mutations before either reader sees them.
                let sequential = parse_to_vec(&bytes, Some(forced));
                for chunk in [1, 97] {
                    let parallel = pipelined_as(&bytes, Some(forced), chunk);
                    match (&sequential, &parallel) {
                        (Ok((_, a)), Ok(b)) => {
                            assert!(a == b, "mutation {compared}: findings differ")
                        }
                        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
                        (Err(a), Ok(_)) if a.kind == tollgate_parsers::ErrorKind::TooDeep => {}
                        (a, b) => panic!(
                            "mutation {compared}: sequential {:?}, parallel {:?}",
                            a.as_ref().map(|x| x.1.len()),
                            b.as_ref().map(Vec::len)
                        ),
                    }
                }
                compared += 1;
            }
        }
    }
    assert!(compared >= 1800);
}

/// A byte that is not UTF-8 anywhere (a result's read or skipped field, the envelope before or
/// after the results, between runs) gives the sequential reader's error, and characters of every
/// length read the same. The format is forced: detection checks the first MiB (all of this log),
/// and a reader that checked UTF-8 as it went (tried on 2026-11-23: no faster) must be held to
/// the same errors.
#[test]
fn invalid_utf8_anywhere_gives_the_sequential_error() {
    let result = |i: usize| {
        format!(
            r#"{{"ruleId": "r{r}", "message": {{"text": "m{i} é€🔒"}},
              "ignored": {{"note": "n{i}"}},
              "locations": [{{"physicalLocation": {{"artifactLocation": {{"uri": "src/{i}.py"}},
                 "region": {{"startLine": {i}}}}}}}]}}"#,
            r = i % 3,
        )
    };
    let results: Vec<String> = (0..40).map(result).collect();
    let log = format!(
        r#"{{"leading": "l", "version": "2.1.0", "runs": [
            {{"tool": {{"driver": {{"name": "demo", "unknown": "u",
                "rules": [{{"id": "r0", "help": {{"text": "h"}}}}]}}}},
              "results": [{results}], "properties": {{"skipped": "p"}}}},
            {{"results": [{two}], "tool": {{"driver": {{"name": "second"}}}}}}
        ], "trailing": {{"skipped": "t"}}}}"#,
        results = results.join(",\n"),
        two = results[..5].join(", "),
    );
    assert_same_as("valid characters", log.as_bytes(), Some(Format::Sarif));
    assert_eq!(
        parse_to_vec(log.as_bytes(), None).expect("parses").1.len(),
        45
    );
    let places = [
        "\"m7 ",    // a field a result's finding reads
        "\"n21",    // a field serde skips, inside a result
        "\"n39",    // the last result
        "\"l\"",    // skipped, before the runs
        "\"u\"",    // skipped in the tool, before the results
        "\"h\"",    // the tool, before the results
        "\"p\"",    // a run's member after its results
        "\"second", // the second run, its results before its tool
        "\"t\"",    // after the runs
    ];
    for place in places {
        let at = log.find(place).expect("place") + 1;
        for bad in [&b"\xFF"[..], b"\x80", b"\xE2\x82"] {
            let mut bytes = log.as_bytes().to_vec();
            bytes.splice(at..at, bad.iter().copied());
            let error = parse_to_vec(&bytes, Some(Format::Sarif)).expect_err("invalid UTF-8");
            assert_eq!(error.kind, tollgate_parsers::ErrorKind::Encoding, "{place}");
            assert_same_as(place, &bytes, Some(Format::Sarif));
        }
    }
}
