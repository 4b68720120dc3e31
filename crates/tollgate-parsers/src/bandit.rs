//! Bandit JSON (`bandit -f json`): `{results: [...], errors, generated_at, metrics}`.
//!
//! One finding per entry of `results`.
//!
//! - `rule_id` = `test_id` (`B105`); `title` = `test_name` humanized; for the generic
//!   `blacklist` test, the name of the check from the `more_info` anchor instead
//!   (`…#b404-import-subprocess` → "Import subprocess"). `description` = `issue_text`.
//! - Severity from `issue_severity` (`HIGH`/`MEDIUM`/`LOW`; `UNDEFINED` or anything else → Info),
//!   confidence from `issue_confidence`, CWE from `issue_cwe.id`, references `more_info` and
//!   `issue_cwe.link`. Bandit writes no scanner version: none is set.
//! - Snippet: the flagged lines (`line_range`) of `code`, with the line numbers Bandit prefixes to
//!   each code line removed (the surrounding context lines are dropped).
//! - Hard-coded password tests (B105/B106/B107): the value from `issue_text`
//!   (`Possible hardcoded password: '…'`) becomes `secret` (redacted) and is scrubbed from the
//!   description; the snippet is replaced whole by its redaction placeholder (the flagged code
//!   may hold other credentials too). Category stays `sast` (these are heuristics on code).
//! - `errors` (files Bandit could not scan) make the report incomplete.
//!
//! Fingerprint (family `bandit`): `test_id` + normalized `filename` + the normalized flagged
//! code without its line numbers (for password tests: its redaction placeholder, which is
//! derived from the same code). Never line numbers or the context
//! lines, so moving code or editing its neighbours keeps the fingerprint.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;
use tollgate_model::{
    parse_cwe, Category, Confidence, Finding, FingerprintBuilder, RedactedSecret, ReportMeta,
    Scanner, Severity,
};

use crate::json::{self, lenient};
use crate::semgrep::{humanize, line_number, null_as_empty};
use crate::sniff::Shape;
use crate::{Format, ParseError, Parser, Sniff};

pub struct BanditParser;

impl Parser for BanditParser {
    fn format(&self) -> Format {
        Format::Bandit
    }

    fn detect(&self, sniff: &Sniff) -> bool {
        if sniff.shape() != Shape::JsonObject || sniff.has("results[].check_id") {
            return false;
        }
        // Bandit writes its keys sorted: errors, generated_at, metrics (one entry per scanned
        // file, possibly beyond the sniffed head), results.
        (sniff.has("generated_at") && sniff.has("metrics"))
            || (sniff.has("results")
                && (sniff.has("metrics")
                    || sniff.has("generated_at")
                    || sniff.has("results[].test_id")))
    }

    fn parse(&self, input: &str, sink: &mut dyn FnMut(Finding)) -> Result<ReportMeta, ParseError> {
        let report: Report = json::from_str(input)?;
        let scanner = Scanner::new("bandit", None);
        let mut meta = ReportMeta::new(Format::Bandit.id());
        meta.add_scanner(&scanner);
        meta.incomplete = bandit_errors(&report.errors);
        for (i, r) in report.results.into_iter().enumerate() {
            sink(to_finding(&scanner, i, r));
        }
        Ok(meta)
    }
}

#[derive(Deserialize)]
struct Report<'a> {
    #[serde(borrow, deserialize_with = "null_as_empty")]
    results: Vec<BResult<'a>>,
    #[serde(default, deserialize_with = "null_as_empty")]
    errors: Vec<Value>,
}

#[derive(Deserialize)]
struct BResult<'a> {
    #[serde(default, borrow)]
    code: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    filename: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    issue_confidence: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    issue_severity: Option<String>,
    #[serde(default)]
    issue_cwe: Option<IssueCwe>,
    #[serde(default, borrow)]
    issue_text: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "lenient::opt_f64")]
    line_number: Option<f64>,
    #[serde(default)]
    line_range: Option<Vec<Value>>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    more_info: Option<String>,
    #[serde(borrow)]
    test_id: Cow<'a, str>,
    #[serde(default, borrow)]
    test_name: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct IssueCwe {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    link: Option<String>,
}

fn to_finding(scanner: &Scanner, index: usize, r: BResult<'_>) -> Finding {
    let test_id: &str = r.test_id.trim();
    let test_name = r.test_name.as_deref().unwrap_or("");
    let title = blacklist_title(test_name, r.more_info.as_deref()).unwrap_or_else(|| {
        humanize(if test_name.is_empty() {
            test_id
        } else {
            test_name
        })
    });
    let mut f = Finding::new(scanner.clone(), test_id, title);
    f.source = crate::source(Format::Bandit, format!("/results/{index}"));
    f.category = Category::Sast;

    f.scanner_severity = r.issue_severity.clone();
    f.severity = r
        .issue_severity
        .as_deref()
        .and_then(Severity::from_word)
        .unwrap_or(Severity::Info);
    f.confidence = r
        .issue_confidence
        .as_deref()
        .and_then(Confidence::from_word);
    if let Some(cwe) = &r.issue_cwe {
        if let Some(n) = cwe.id.as_deref().and_then(parse_cwe) {
            f.add_cwe(n);
        }
    }
    if let Some(m) = &r.more_info {
        f.add_reference(m.as_str());
    }
    if let Some(l) = r.issue_cwe.as_ref().and_then(|c| c.link.as_deref()) {
        f.add_reference(l);
    }

    let mut description = r
        .issue_text
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string);
    let range = line_range(r.line_range.as_deref(), r.line_number);
    let mut snippet = r.code.as_deref().and_then(|c| flagged_code(c, range));

    let password_test =
        matches!(test_id, "B105" | "B106" | "B107") || test_name.starts_with("hardcoded_password");
    if password_test {
        if let Some(secret) = description.as_deref().and_then(password_value) {
            let secret = secret.to_string();
            if !secret.is_empty() {
                f.secret = Some(RedactedSecret::new(&secret));
                description = description.map(|d| scrub(&d, &secret));
            }
        }
        // The flagged code can hold more credentials than the one Bandit names (a call with
        // several keyword arguments, a URL with a password): none of it is copied.
        snippet = snippet.map(|s| RedactedSecret::new(s.trim()).placeholder());
    }
    f.description = description;

    f.location.file = r.filename.as_deref().map(str::to_string);
    f.location.start_line = range.map(|r| r.0);
    f.location.end_line = range.map(|r| r.1);
    f.fingerprint = FingerprintBuilder::new("bandit")
        .part(test_id)
        .path(r.filename.as_deref())
        .snippet(snippet.as_deref())
        .finish();
    f.location.snippet = snippet;
    f
}

/// First and last flagged line: `line_range` when given, else `line_number`.
fn line_range(range: Option<&[Value]>, line: Option<f64>) -> Option<(u32, u32)> {
    let nums: Vec<u32> = range
        .unwrap_or(&[])
        .iter()
        .filter_map(|v| line_number(v.as_f64()))
        .collect();
    match (nums.iter().min(), nums.iter().max()) {
        (Some(a), Some(b)) => Some((*a, *b)),
        _ => line_number(line).map(|l| (l, l)),
    }
}

/// Bandit's `code` prefixes each line with its number (`"12 import os\n13 …"`). Returns the lines
/// inside `range` with the numbers removed, or every line when no number falls in the range.
fn flagged_code(code: &str, range: Option<(u32, u32)>) -> Option<String> {
    let mut all = Vec::new();
    let mut flagged = Vec::new();
    for line in code.lines() {
        let digits = line.bytes().take_while(u8::is_ascii_digit).count();
        let (num, text) = if digits > 0 {
            let rest = &line[digits..];
            match rest.strip_prefix(' ') {
                Some(t) => (line[..digits].parse::<u32>().ok(), t),
                None if rest.is_empty() => (line[..digits].parse::<u32>().ok(), ""),
                None => (None, line),
            }
        } else {
            (None, line)
        };
        all.push(text);
        if let (Some(n), Some((a, b))) = (num, range) {
            if n >= a && n <= b {
                flagged.push(text);
            }
        }
    }
    let chosen = if flagged.is_empty() { all } else { flagged };
    let text = chosen.join("\n");
    (!text.trim().is_empty()).then_some(text)
}

/// `blacklist` findings all share one test name; their `more_info` anchor names the check.
fn blacklist_title(test_name: &str, more_info: Option<&str>) -> Option<String> {
    if test_name != "blacklist" {
        return None;
    }
    let anchor = more_info?.rsplit_once('#')?.1;
    // b404-import-subprocess → import-subprocess
    let name = match anchor.split_once('-') {
        Some((id, rest)) if id.len() > 1 && id[1..].bytes().all(|b| b.is_ascii_digit()) => rest,
        _ => anchor,
    };
    (!name.is_empty()).then(|| humanize(name))
}

/// `Possible hardcoded password: 'hunter2'` → `hunter2`.
fn password_value(text: &str) -> Option<&str> {
    let (_, rest) = text.split_once(':')?;
    let rest = rest.trim();
    let quote = rest.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let inner = &rest[1..];
    Some(inner.strip_suffix(quote).unwrap_or(inner))
}

/// Replaces the secret wherever it is quoted; a secret of 4+ characters everywhere.
fn scrub(text: &str, secret: &str) -> String {
    let placeholder = RedactedSecret::new(secret).placeholder();
    let mut out = text
        .replace(&format!("'{secret}'"), &format!("'{placeholder}'"))
        .replace(&format!("\"{secret}\""), &format!("\"{placeholder}\""));
    if secret.chars().count() >= 4 {
        // Not inside the placeholders already written: they never contain the secret itself.
        out = tollgate_model::redact_in(&out, secret);
    }
    out
}

fn bandit_errors(errors: &[Value]) -> Vec<String> {
    const MAX: usize = 20;
    let mut reasons: Vec<String> = errors
        .iter()
        .take(MAX)
        .map(|e| {
            let file = e.get("filename").and_then(Value::as_str);
            let reason = e
                .get("reason")
                .and_then(Value::as_str)
                .or_else(|| e.as_str())
                .unwrap_or("unknown error");
            let reason: String = reason
                .lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(300)
                .collect();
            match file {
                Some(f) => format!("bandit could not scan {f}: {reason}"),
                None => format!("bandit error: {reason}"),
            }
        })
        .collect();
    if errors.len() > MAX {
        reasons.push(format!("… and {} more bandit errors", errors.len() - MAX));
    }
    reasons
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse_to_vec, ErrorKind};

    const BASIC: &str = include_str!("../tests/fixtures/bandit/basic.json");
    const SHIFTED: &str = include_str!("../tests/fixtures/bandit/basic-shifted.json");
    const EMPTY: &str = include_str!("../tests/fixtures/bandit/no-results.json");

    fn parse(input: &str) -> (ReportMeta, Vec<Finding>) {
        parse_to_vec(input.as_bytes(), Some(Format::Bandit)).unwrap()
    }

    #[test]
    fn snapshot_basic() {
        let (meta, findings) = parse(BASIC);
        insta::assert_json_snapshot!("bandit_basic_meta", meta);
        insta::assert_json_snapshot!("bandit_basic", findings);
    }

    #[test]
    fn detects_fixtures() {
        for input in [BASIC, SHIFTED, EMPTY] {
            assert_eq!(crate::detect(input.as_bytes()).unwrap(), Format::Bandit);
        }
    }

    #[test]
    fn detects_results_beyond_the_sniffed_head() {
        let mut metrics = serde_json::Map::new();
        for i in 0..20_000 {
            metrics.insert(
                format!("./pkg/module_{i}.py"),
                serde_json::json!({"CONFIDENCE.HIGH": 0, "SEVERITY.HIGH": 0, "loc": 10, "nosec": 0}),
            );
        }
        let doc = serde_json::json!({"errors": [], "generated_at": "2025-01-01T00:00:00Z",
            "metrics": metrics, "results": []});
        let text = serde_json::to_string(&doc).unwrap();
        assert!(text.len() > crate::sniff::SNIFF_BYTES);
        assert_eq!(crate::detect(text.as_bytes()).unwrap(), Format::Bandit);
    }

    #[test]
    fn maps_fields_and_strips_line_numbers() {
        let (meta, f) = parse(BASIC);
        assert_eq!(f.len(), 4);
        assert_eq!(meta.incomplete.len(), 1);
        assert_eq!(f[0].rule_id, "B602");
        assert_eq!(f[0].severity, Severity::High);
        assert_eq!(f[0].confidence, Some(Confidence::High));
        assert_eq!(f[0].cwe, vec![78]);
        assert_eq!(
            (f[0].location.start_line, f[0].location.end_line),
            (Some(15), Some(17))
        );
        let snippet = f[0].location.snippet.as_deref().unwrap();
        assert!(snippet.starts_with("    subprocess.Popen("), "{snippet}");
        assert!(!snippet.contains("14 "), "{snippet}");
        assert_eq!(f[1].title, "Import subprocess");
        assert_eq!(f[3].severity, Severity::Info);
    }

    #[test]
    fn hardcoded_passwords_are_redacted() {
        let (_, f) = parse(BASIC);
        let p = &f[2];
        assert!(p.secret.is_some());
        assert!(p.has_tag(tollgate_model::Tag::HardcodedSecret));
        let out = serde_json::to_string(&f).unwrap();
        assert!(!out.contains("Sup3rS3cretFake!"), "{out}");
    }

    #[test]
    fn shifted_lines_keep_fingerprints() {
        let (_, a) = parse(BASIC);
        let (_, b) = parse(SHIFTED);
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            assert_ne!(x.location.start_line, y.location.start_line);
            assert_eq!(x.fingerprint, y.fingerprint, "{}", x.rule_id);
            assert_eq!(x.location.snippet, y.location.snippet);
        }
    }

    #[test]
    fn empty_report_and_errors() {
        let (meta, f) = parse(EMPTY);
        assert!(f.is_empty() && meta.is_complete());
        let e = parse_to_vec(br#"{"metrics": {}}"#, Some(Format::Bandit)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Shape);
        assert!(e.message.contains("results"), "{e}");
        let e = parse_to_vec(
            br#"{"results": [{"test_id": "B101", "line_range": "x"}], "metrics": {}}"#,
            Some(Format::Bandit),
        )
        .unwrap_err();
        assert_eq!(e.path.as_deref(), Some("$.results[0].line_range"));
    }

    #[test]
    fn code_line_numbers() {
        assert_eq!(
            flagged_code("9 a\n10   b\n11 c\n", Some((10, 10))).as_deref(),
            Some("  b")
        );
        assert_eq!(
            flagged_code("1 x\n2 \n", Some((7, 7))).as_deref(),
            Some("x\n")
        );
        assert_eq!(
            password_value("Possible hardcoded password: 'a:b'"),
            Some("a:b")
        );
        assert_eq!(
            blacklist_title("blacklist", Some("https://x/blacklist_calls.html#b303-md5")),
            Some("Md5".to_string())
        );
    }
}
