//! Conformance over the real-scanner corpus (../shared/corpus/MANIFEST.tsv): detection, counts,
//! rejection, secret redaction, fingerprint distinctness and stability under shifted lines.

use std::collections::HashMap;

use serde_json::Value;
use tollgate_model::Finding;
use tollgate_parsers::Format;

use crate::util::{corpus_dir, manifest, tollgate, ManifestRow};

/// Corpus format names are Tollgate's format ids (we adopted the corpus's names).
fn our_format(corpus_name: &str) -> Option<Format> {
    Format::from_id(corpus_name)
}

fn parse_row(row: &ManifestRow) -> Result<(tollgate_model::ReportMeta, Vec<Finding>), String> {
    let bytes = std::fs::read(&row.path).map_err(|e| format!("{}: {e}", row.rel))?;
    // A clean scan that names no scanner is read as the format the corpus lists.
    let forced = match tollgate_parsers::detect(&bytes) {
        Err(e) if e.kind == tollgate_parsers::ErrorKind::Ambiguous => our_format(&row.format),
        _ => None,
    };
    tollgate_parsers::parse_to_vec(&bytes, forced).map_err(|e| format!("{}: {e}", row.rel))
}

#[test]
fn conformance_every_corpus_file_detects_parses_and_counts() {
    let Some(dir) = corpus_dir("conformance") else {
        return;
    };
    let rows = manifest(&dir);
    assert!(!rows.is_empty(), "empty manifest");
    let mut failures = Vec::new();
    for row in &rows {
        if row.error {
            let out = tollgate(&["parse", "--format", "ndjson", row.path.to_str().unwrap()]);
            if out.status.code() != Some(2) {
                failures.push(format!(
                    "{}: expected rejection with exit 2, got {:?}",
                    row.rel,
                    out.status.code()
                ));
            }
            continue;
        }
        let Some(expected) = our_format(&row.format) else {
            failures.push(format!(
                "{}: corpus format {:?} has no Tollgate format",
                row.rel, row.format
            ));
            continue;
        };
        let bytes = std::fs::read(&row.path).unwrap();
        // A clean scan that names no scanner (`null`: legacy Trivy, Gitleaks v7; `[]`: Gitleaks
        // v8) cannot be told apart by content: detection refuses it, and naming the listed
        // format reads it.
        let names_no_scanner = serde_json::from_slice::<Value>(&bytes)
            .is_ok_and(|v| tollgate_parsers::names_no_scanner(&v));
        match tollgate_parsers::detect(&bytes) {
            Ok(f) if f == expected => {}
            Err(e) if names_no_scanner && e.kind == tollgate_parsers::ErrorKind::Ambiguous => {
                match tollgate_parsers::parse_to_vec(&bytes, Some(expected)) {
                    Ok((_, v)) if Some(v.len()) == row.items => {}
                    other => failures.push(format!(
                        "{}: names no scanner; forcing {expected} gives {:?}",
                        row.rel,
                        other.map(|(_, v)| v.len())
                    )),
                }
                continue;
            }
            Ok(f) => failures.push(format!("{}: detected as {f}, expected {expected}", row.rel)),
            Err(e) => failures.push(format!("{}: not detected: {e}", row.rel)),
        }
        match tollgate_parsers::parse_to_vec(&bytes, None) {
            Ok((meta, findings)) => {
                assert_eq!(meta.findings as usize, findings.len());
                if let Some(n) = row.items {
                    if findings.len() != n {
                        failures.push(format!(
                            "{}: {} findings, manifest says {n}",
                            row.rel,
                            findings.len()
                        ));
                    }
                }
            }
            Err(e) => failures.push(format!("{}: parse failed: {e}", row.rel)),
        }
    }
    eprintln!("conformance: {} corpus files checked", rows.len());
    assert!(
        failures.is_empty(),
        "{} of {} corpus files fail:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

/// Secret values that real scanners put in their reports.
fn corpus_secrets(dir: &std::path::Path) -> Vec<String> {
    let mut secrets = Vec::new();
    for row in manifest(dir) {
        let Ok(text) = std::fs::read_to_string(&row.path) else {
            continue;
        };
        let Ok(v) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        collect_secrets(&row.format, &v, &mut secrets, None);
    }
    secrets.retain(|s| {
        s.chars().count() >= 8 && !s.contains("REDACTED") && !s.chars().all(|c| c == '*')
    });
    secrets.sort();
    secrets.dedup();
    secrets
}

fn collect_secrets(format: &str, v: &Value, out: &mut Vec<String>, key: Option<&str>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                collect_secrets(format, child, out, Some(k));
            }
        }
        Value::Array(items) => {
            for item in items {
                // MobSF `secrets`: entries like `"google_api_key" : "AIza…"`.
                if key == Some("secrets") && format == "mobsf" {
                    if let Some(s) = item.as_str() {
                        if let Some((_, value)) = s.split_once(" : ") {
                            out.push(value.trim().trim_matches('"').to_string());
                        }
                    }
                }
                collect_secrets(format, item, out, key);
            }
        }
        Value::String(s) => {
            let is_secret_field = match format {
                "gitleaks" => matches!(key, Some("Secret" | "offender")),
                "gitlab-secret-detection" => key == Some("raw_source_code_extract"),
                "trivy" => key == Some("Match"),
                _ => false,
            };
            if is_secret_field {
                out.push(s.trim().to_string());
            }
        }
        _ => {}
    }
}

#[test]
fn secrets_from_the_corpus_never_appear_in_output() {
    let Some(dir) = corpus_dir("secrets") else {
        return;
    };
    let secrets = corpus_secrets(&dir);
    assert!(
        secrets.len() >= 20,
        "expected the corpus to hold secrets, found {}",
        secrets.len()
    );
    // Gitleaks SARIF snippets are the leaked values too.
    let mut leaks = Vec::new();
    for row in manifest(&dir).iter().filter(|r| !r.error) {
        let (_, findings) = parse_row(row).expect("corpus file parses (see the conformance test)");
        let out = serde_json::to_string(&findings).unwrap();
        for s in &secrets {
            if out.contains(s.as_str()) {
                leaks.push(format!(
                    "{}: contains a secret of length {} starting {:?}",
                    row.rel,
                    s.len(),
                    &s[..s.len().min(3)]
                ));
            }
        }
    }
    eprintln!(
        "secrets: checked {} secret values against every corpus file's output",
        secrets.len()
    );
    assert!(
        leaks.is_empty(),
        "secret values leaked:\n{}",
        leaks.join("\n")
    );
}

#[test]
fn distinct_findings_in_the_corpus_never_share_a_fingerprint() {
    let Some(dir) = corpus_dir("fingerprints") else {
        return;
    };
    let mut owner: HashMap<String, (String, String, String)> = HashMap::new();
    let mut failures = Vec::new();
    for row in manifest(&dir).iter().filter(|r| !r.error) {
        let (_, findings) = parse_row(row).expect("corpus file parses (see the conformance test)");
        let mut in_file: HashMap<&str, &Finding> = HashMap::new();
        for f in &findings {
            assert_eq!(
                f.fingerprint.as_str().len(),
                32,
                "{}: bad fingerprint",
                row.rel
            );
            if let Some(prev) = in_file.insert(f.fingerprint.as_str(), f) {
                // Same fingerprint in one report: only a true duplicate (same rule, same place).
                if prev.rule_id != f.rule_id
                    || prev.location != f.location
                    || prev.vulnerability_ids != f.vulnerability_ids
                {
                    failures.push(format!(
                        "{}: {} shared by {} @ {:?} and {} @ {:?}",
                        row.rel,
                        f.fingerprint,
                        prev.rule_id,
                        prev.location.file,
                        f.rule_id,
                        f.location.file
                    ));
                }
            }
            let who = (
                f.scanner.name.clone(),
                f.rule_id.clone(),
                row.format.clone(),
            );
            if let Some(prev) = owner.get(f.fingerprint.as_str()) {
                if prev.0 != who.0 || prev.1 != who.1 {
                    failures.push(format!(
                        "{}: {} also belongs to {:?}",
                        row.rel, f.fingerprint, prev
                    ));
                }
            } else {
                owner.insert(f.fingerprint.to_string(), who);
            }
        }
    }
    assert!(
        failures.is_empty(),
        "fingerprint collisions:\n{}",
        failures.join("\n")
    );
}

/// Adds `n` to every line number of a report: keys naming lines, Bandit's numbered code, MobSF's
/// "12,34" line lists, Gitleaks' `…:line` fingerprints.
fn shift_lines(v: &mut Value, n: i64, key: Option<&str>) {
    let is_line_key = |k: &str| {
        let k = k.to_ascii_lowercase();
        k.contains("line") && !k.contains("lines_of")
    };
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                if k == "start" || k == "end" {
                    if let Some(Value::Number(num)) = child.get("line").cloned() {
                        child["line"] = Value::from(num.as_i64().unwrap_or(0) + n);
                    }
                }
                shift_lines(child, n, Some(k));
            }
        }
        Value::Array(items) => {
            for item in items.iter_mut() {
                if let (Some(k), Value::Number(num)) = (key, &*item) {
                    if is_line_key(k) {
                        *item = Value::from(num.as_i64().unwrap_or(0) + n);
                        continue;
                    }
                }
                shift_lines(item, n, key);
            }
        }
        Value::Number(num) if key.is_some_and(is_line_key) => {
            if let Some(i) = num.as_i64() {
                *v = Value::from(i + n);
            }
        }
        Value::String(s) => match key {
            Some("code") => {
                // Bandit: every code line starts with its number.
                let shifted: Vec<String> = s
                    .split_inclusive('\n')
                    .map(|line| {
                        let digits: String =
                            line.chars().take_while(|c| c.is_ascii_digit()).collect();
                        match digits.parse::<i64>() {
                            Ok(d) if !digits.is_empty() => {
                                format!("{}{}", d + n, &line[digits.len()..])
                            }
                            _ => line.to_string(),
                        }
                    })
                    .collect();
                *s = shifted.concat();
            }
            Some("Fingerprint") => {
                if let Some((head, tail)) = s.rsplit_once(':') {
                    if let Ok(l) = tail.parse::<i64>() {
                        *s = format!("{head}:{}", l + n);
                    }
                }
            }
            // MobSF code analysis: {"path/File.java": "12,34"}.
            Some(k)
                if (k.contains('/') || k.contains('.'))
                    && !s.is_empty()
                    && s.split(',').all(|p| p.trim().parse::<i64>().is_ok()) =>
            {
                *s = s
                    .split(',')
                    .map(|p| (p.trim().parse::<i64>().unwrap_or(0) + n).to_string())
                    .collect::<Vec<_>>()
                    .join(",");
            }
            _ => {}
        },
        _ => {}
    }
}

#[test]
fn fingerprints_survive_every_line_moving_by_n() {
    let Some(dir) = corpus_dir("shifted-lines") else {
        return;
    };
    let mut failures = Vec::new();
    let mut checked = 0;
    for row in manifest(&dir) {
        if row.format.ends_with("-xml") || row.error {
            continue; // XML formats carry no line numbers
        }
        let bytes = std::fs::read(&row.path).unwrap();
        let Ok(mut v) = serde_json::from_slice::<Value>(&bytes) else {
            continue;
        };
        let (_, before) = parse_row(&row).expect("corpus file parses (see the conformance test)");
        shift_lines(&mut v, 17, None);
        let shifted = serde_json::to_vec(&v).unwrap();
        let format = our_format(&row.format);
        let after = match tollgate_parsers::parse_to_vec(&shifted, format) {
            Ok((_, f)) => f,
            Err(e) => {
                failures.push(format!("{}: shifted copy does not parse: {e}", row.rel));
                continue;
            }
        };
        checked += 1;
        // Re-serializing sorts keys, which may reorder findings: pair them by their pointer.
        let by_pointer: HashMap<&str, &Finding> = after
            .iter()
            .map(|f| (f.source.pointer.as_str(), f))
            .collect();
        let mut changed = 0;
        let mut moved = false;
        for f in &before {
            match by_pointer.get(f.source.pointer.as_str()) {
                Some(g) => {
                    changed += usize::from(f.fingerprint != g.fingerprint);
                    moved |= f.location.start_line != g.location.start_line;
                }
                None => changed += 1,
            }
        }
        if changed > 0 || before.len() != after.len() {
            failures.push(format!(
                "{}: {changed} of {} fingerprints changed when lines moved",
                row.rel,
                before.len()
            ));
        }
        let has_lines = before.iter().any(|f| f.location.start_line.is_some());
        if has_lines && !moved {
            failures.push(format!(
                "{}: the shift did not move any reported line (test is blind here)",
                row.rel
            ));
        }
    }
    eprintln!("shifted-lines: {checked} corpus files checked");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// DefectDojo's own ZAP reimport sequence, by fingerprint: importing `0_zap_sample` then
/// `1_zap_sample_0_and_new_absent` creates 1, closes 1 and leaves 3 untouched; a new endpoint of an
/// existing alert (`2_zap_sample_0_and_new_endpoint`) is the same findings.
#[test]
fn zap_reimport_sequence_matches_defectdojos() {
    let Some(dir) = corpus_dir("zap reimport sequence") else {
        return;
    };
    let fingerprints = |name: &str| -> std::collections::HashSet<String> {
        let bytes = std::fs::read(dir.join("zap-xml").join(name)).unwrap();
        let (_, findings) = tollgate_parsers::parse_to_vec(&bytes, None).unwrap();
        findings
            .into_iter()
            .map(|f| f.fingerprint.to_string())
            .collect()
    };
    let first = fingerprints("dd-0_zap_sample.xml");
    let second = fingerprints("dd-1_zap_sample_0_and_new_absent.xml");
    assert_eq!(second.difference(&first).count(), 1, "created");
    assert_eq!(first.difference(&second).count(), 1, "closed");
    assert_eq!(first.intersection(&second).count(), 3, "untouched");
    assert_eq!(
        first,
        fingerprints("dd-2_zap_sample_0_and_new_endpoint.xml")
    );
}

/// The hand-written finding writer of `parse --format json|ndjson` is byte for byte what serde
/// makes of the model, on the findings of every fixture and every corpus report.
#[test]
fn finding_json_is_serdes_on_every_fixture_and_corpus_finding() {
    let fixtures =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tollgate-parsers/tests/fixtures");
    let mut files = Vec::new();
    for dir in std::fs::read_dir(&fixtures).expect("fixtures") {
        for file in std::fs::read_dir(dir.expect("fixture dir").path()).expect("fixture files") {
            files.push(file.expect("fixture file").path());
        }
    }
    if let Some(dir) = corpus_dir("finding_json_is_serdes_on_every_fixture_and_corpus_finding") {
        files.extend(manifest(&dir).into_iter().map(|row| row.path));
    }
    let mut compared = 0;
    for path in &files {
        let Ok(bytes) = std::fs::read(path) else {
            continue;
        };
        let Ok((_, findings)) = tollgate_parsers::parse_to_vec(&bytes, None) else {
            continue;
        };
        for f in &findings {
            let mut ours = Vec::new();
            tollgate_report::write_finding(&mut ours, f).expect("write finding");
            let theirs = serde_json::to_vec(f).expect("serde_json");
            assert!(
                ours == theirs,
                "{}: {}\n!=\n{}",
                path.display(),
                String::from_utf8_lossy(&ours),
                String::from_utf8_lossy(&theirs)
            );
            compared += 1;
        }
    }
    assert!(compared > 1000, "only {compared} findings compared");
}

/// The tables of docs/formats.md "Differences from DefectDojo's parsers" give, per corpus report,
/// what `parse` writes and what the hub keeps (one finding per fingerprint: the store drops
/// repeats of a fingerprint within a report as `duplicates_in_report`). Those numbers are
/// checked here, so the document cannot drift from the parsers.
#[test]
fn documented_defectdojo_differences_match_the_corpus() {
    let Some(dir) = corpus_dir("documented_defectdojo_differences_match_the_corpus") else {
        return;
    };
    let doc = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/formats.md");
    let doc = std::fs::read_to_string(&doc).expect("docs/formats.md");
    let section = doc
        .split("\n## Differences from DefectDojo's parsers\n")
        .nth(1)
        .expect("docs/formats.md has the section \"Differences from DefectDojo's parsers\"");
    let section = section.split("\n## ").next().unwrap_or(section);
    let rows = manifest(&dir);
    let mut checked = 0;
    let mut failures = Vec::new();
    for line in section.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        assert!(
            cells.len() >= 6,
            "docs/formats.md: short table row {line:?}"
        );
        let rel = cells[1].trim_matches('`');
        let number = |cell: &str| -> usize {
            cell.parse()
                .unwrap_or_else(|_| panic!("docs/formats.md: {rel}: {cell:?} is not a count"))
        };
        let (written, kept) = (number(cells[3]), number(cells[4]));
        let row = rows
            .iter()
            .find(|r| r.rel == rel)
            .unwrap_or_else(|| panic!("docs/formats.md names {rel}, which is not in the corpus"));
        let (_, findings) = parse_row(row).unwrap_or_else(|e| panic!("{e}"));
        let distinct: std::collections::HashSet<&str> =
            findings.iter().map(|f| f.fingerprint.as_str()).collect();
        if (findings.len(), distinct.len()) != (written, kept) {
            failures.push(format!(
                "{rel}: the document says {written} written / {kept} kept, the parser gives {} / {}",
                findings.len(),
                distinct.len()
            ));
        }
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} documented reports found");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
