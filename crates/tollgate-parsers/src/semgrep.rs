//! Semgrep JSON (`semgrep --json`): `{results: [...], errors, paths, version, …}`.
//!
//! One finding per entry of `results`.
//!
//! - `rule_id` = `check_id`; `title` = the last dotted segment of `check_id`, humanized
//!   (`…audit.cbc-padding-oracle` → "Cbc padding oracle"); `description` = `extra.message`;
//!   `recommendation` = `extra.fix` (the autofix text) when given.
//! - Severity: `extra.severity` — `CRITICAL` → Critical, `ERROR`/`HIGH` → High, `WARNING`/`MEDIUM`
//!   → Medium, `INFO`/`LOW` → Low (Semgrep itself renamed INFO to Low), `EXPERIMENT`/`INVENTORY`
//!   → Info. When the rule gives no usable severity, `metadata.impact` is used, else Medium.
//!   `confidence` = `metadata.confidence`.
//! - CWE from `metadata.cwe` (string or list); references from `metadata.references`,
//!   `metadata.source` and `metadata.source-rule-url`.
//! - `suppressed` = `extra.is_ignored` (`nosemgrep` comments, triage ignores).
//! - Category `secret` when the rule is a secrets rule (`metadata.category`/`subcategory`/
//!   `technology` says `secrets`, `vulnerability_class` says hard-coded secrets, or the rule id has
//!   a `secrets` segment); `sast` otherwise. For secrets rules, and for any rule about hard-coded
//!   credentials (CWE-798/259/321 or `hardcoded`/`password`/`secret` in the rule name), the
//!   matched lines are replaced by their redaction placeholder (the exact secret substring is not
//!   known), and secrets rules also carry `secret` = the redaction of the matched lines.
//! - `errors` with level `error` (or no level) make the report incomplete; `warn` level errors
//!   (partial parsing of one file) do not.
//!
//! Fingerprint (family `semgrep`): `check_id` + normalized `path` + normalized matched code
//! (`extra.lines`). Semgrep without a login writes `"requires login"` instead of the code: then
//! the message (which carries the interpolated metavariables) stands in for it. Never line or
//! column numbers, never Semgrep's own `fingerprint` (it changes between runs and logins).
//! Identical items in one report get identical fingerprints (the wrapper numbers repeats).

use std::borrow::Cow;

use serde::{Deserialize, Deserializer};
use serde_json::Value;
use tollgate_model::{
    parse_cwe, Category, Confidence, Finding, FingerprintBuilder, RedactedSecret, ReportMeta,
    Scanner, Severity,
};

use crate::json::{self, lenient};
use crate::sniff::Shape;
use crate::{Format, ParseError, Parser, Sniff};

pub struct SemgrepParser;

impl Parser for SemgrepParser {
    fn format(&self) -> Format {
        Format::Semgrep
    }

    fn detect(&self, sniff: &Sniff) -> bool {
        if sniff.shape() != Shape::JsonObject {
            return false;
        }
        // Bandit: results + metrics/generated_at; mobsfscan: results object + mobsfscan_version.
        if sniff.has("metrics") || sniff.has("generated_at") || sniff.has("mobsfscan_version") {
            return false;
        }
        if sniff.has("results[].check_id") {
            return true;
        }
        let semgrep_keys = sniff.has("paths.scanned")
            || sniff.has("skipped_rules")
            || sniff.has("interfile_languages_used")
            || sniff.has("engine_requested");
        let other_items = sniff.has("results[].test_id")
            || sniff.has("results[].ruleId")
            || sniff.has("results[].message");
        // An empty result list, or `results` beyond the sniffed head (older Semgrep sorts its
        // keys: errors, paths, results, version — and `paths.scanned` can be long).
        semgrep_keys && sniff.has("errors") && !other_items
    }

    fn parse(&self, input: &str, sink: &mut dyn FnMut(Finding)) -> Result<ReportMeta, ParseError> {
        let report: Report = json::from_str(input)?;
        let scanner = Scanner::new("semgrep", report.version.clone());
        let mut meta = ReportMeta::new(Format::Semgrep.id());
        meta.add_scanner(&scanner);
        meta.incomplete = semgrep_style_errors(&report.errors, "semgrep");
        for (i, r) in report.results.into_iter().enumerate() {
            sink(to_finding(&scanner, i, r));
        }
        Ok(meta)
    }
}

#[derive(Deserialize)]
struct Report<'a> {
    #[serde(borrow, deserialize_with = "null_as_empty")]
    results: Vec<SgResult<'a>>,
    #[serde(default, deserialize_with = "null_as_empty")]
    errors: Vec<Value>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    version: Option<String>,
}

#[derive(Deserialize)]
struct SgResult<'a> {
    #[serde(borrow)]
    check_id: Cow<'a, str>,
    #[serde(default, borrow)]
    path: Option<Cow<'a, str>>,
    #[serde(default)]
    start: Option<Position>,
    #[serde(default)]
    end: Option<Position>,
    #[serde(default, borrow)]
    extra: Option<Extra<'a>>,
}

#[derive(Deserialize, Default)]
struct Position {
    #[serde(default, deserialize_with = "lenient::opt_f64")]
    line: Option<f64>,
}

#[derive(Deserialize, Default)]
struct Extra<'a> {
    #[serde(default, borrow)]
    message: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    severity: Option<String>,
    #[serde(default)]
    metadata: Option<Metadata>,
    #[serde(default, borrow)]
    lines: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    is_ignored: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    fix: Option<String>,
}

#[derive(Deserialize, Default)]
struct Metadata {
    #[serde(default, deserialize_with = "lenient::string_list")]
    cwe: Vec<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    confidence: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    impact: Option<String>,
    #[serde(default, deserialize_with = "lenient::string_list")]
    references: Vec<String>,
    #[serde(default, deserialize_with = "lenient::string_list")]
    category: Vec<String>,
    #[serde(default, deserialize_with = "lenient::string_list")]
    subcategory: Vec<String>,
    #[serde(default, deserialize_with = "lenient::string_list")]
    technology: Vec<String>,
    #[serde(default, deserialize_with = "lenient::string_list")]
    vulnerability_class: Vec<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    source: Option<String>,
    #[serde(
        default,
        rename = "source-rule-url",
        deserialize_with = "lenient::opt_string"
    )]
    source_rule_url: Option<String>,
}

/// What Semgrep writes instead of the code when the user is not logged in.
const REQUIRES_LOGIN: &str = "requires login";

fn to_finding(scanner: &Scanner, index: usize, r: SgResult<'_>) -> Finding {
    let extra = r.extra.unwrap_or_default();
    let md = extra.metadata.unwrap_or_default();
    let check_id: &str = &r.check_id;
    let last = check_id.rsplit('.').next().unwrap_or(check_id);
    let mut f = Finding::new(scanner.clone(), check_id, humanize(last));
    f.source = crate::source(Format::Semgrep, format!("/results/{index}"));

    let message = extra
        .message
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty());
    f.description = message.map(str::to_string);

    f.scanner_severity = extra.severity.clone();
    f.severity = extra
        .severity
        .as_deref()
        .and_then(semgrep_severity)
        .or_else(|| md.impact.as_deref().and_then(Severity::from_word))
        .unwrap_or(Severity::Medium);
    f.confidence = md.confidence.as_deref().and_then(Confidence::from_word);

    for c in &md.cwe {
        if let Some(n) = parse_cwe(c) {
            f.add_cwe(n);
        }
    }
    for r in &md.references {
        f.add_reference(r.as_str());
    }
    for r in [&md.source, &md.source_rule_url].into_iter().flatten() {
        f.add_reference(r.as_str());
    }
    f.suppressed = extra.is_ignored.unwrap_or(false);

    let is_secrets_rule = is_secrets_rule(check_id, &md);
    let credential_rule = is_secrets_rule
        || f.cwe.iter().any(|c| matches!(c, 798 | 259 | 321))
        || ["hardcoded", "hard-coded", "password", "secret"]
            .iter()
            .any(|w| last.to_ascii_lowercase().contains(w));
    f.category = if is_secrets_rule {
        Category::Secret
    } else {
        Category::Sast
    };

    let lines = extra
        .lines
        .as_deref()
        .filter(|l| !l.trim().is_empty() && l.trim() != REQUIRES_LOGIN);
    if let Some(code) = lines {
        if credential_rule {
            let redacted = RedactedSecret::new(code.trim());
            f.location.snippet = Some(redacted.placeholder());
            if is_secrets_rule {
                f.secret = Some(redacted);
            }
        } else {
            f.location.snippet = Some(code.to_string());
            f.recommendation = extra.fix.clone().filter(|x| !x.trim().is_empty());
        }
    } else if !credential_rule {
        f.recommendation = extra.fix.clone().filter(|x| !x.trim().is_empty());
    }

    f.location.file = r.path.as_deref().map(str::to_string);
    f.location.start_line = r.start.as_ref().and_then(|p| line_number(p.line));
    f.location.end_line = r.end.as_ref().and_then(|p| line_number(p.line));

    f.fingerprint = FingerprintBuilder::new("semgrep")
        .part(check_id)
        .path(r.path.as_deref())
        .snippet(lines.or(message))
        .finish();
    f
}

fn is_secrets_rule(check_id: &str, md: &Metadata) -> bool {
    let says_secrets = |v: &Vec<String>| v.iter().any(|s| s.trim().eq_ignore_ascii_case("secrets"));
    says_secrets(&md.category)
        || says_secrets(&md.subcategory)
        || says_secrets(&md.technology)
        || md
            .vulnerability_class
            .iter()
            .any(|c| c.to_ascii_lowercase().contains("hard-coded secret"))
        || check_id
            .split('.')
            .any(|s| s.eq_ignore_ascii_case("secrets"))
}

/// Semgrep's severity words (old and new) → normalized severity.
fn semgrep_severity(word: &str) -> Option<Severity> {
    let w = word.trim();
    if w.eq_ignore_ascii_case("info") {
        Some(Severity::Low)
    } else if w.eq_ignore_ascii_case("experiment") || w.eq_ignore_ascii_case("inventory") {
        Some(Severity::Info)
    } else {
        Severity::from_word(w)
    }
}

pub(crate) fn line_number(n: Option<f64>) -> Option<u32> {
    n.filter(|n| n.is_finite() && *n >= 1.0 && *n <= u32::MAX as f64)
        .map(|n| n as u32)
}

/// `snake_case` / `kebab-case` rule names → "Sentence case words".
pub(crate) fn humanize(name: &str) -> String {
    let words: Vec<&str> = name
        .split(['_', '-', ' '])
        .filter(|w| !w.is_empty())
        .collect();
    let mut out = words.join(" ");
    if let Some(first) = out.chars().next() {
        let upper: String = first.to_uppercase().collect();
        out.replace_range(..first.len_utf8(), &upper);
    }
    if out.is_empty() {
        name.to_string()
    } else {
        out
    }
}

/// `null` where a list is expected reads as an empty list; a missing field stays an error
/// unless the field also has `#[serde(default)]`.
pub(crate) fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// The `errors` list of Semgrep-engine tools (Semgrep, mobsfscan, njsscan): entries with level
/// `error` (or no level) are reasons the scan is incomplete; `warn` entries (one file parsed
/// partially) are not.
pub(crate) fn semgrep_style_errors(errors: &[Value], tool: &str) -> Vec<String> {
    const MAX: usize = 20;
    let mut reasons = Vec::new();
    let mut count = 0usize;
    for e in errors {
        let level = e.get("level").and_then(Value::as_str).unwrap_or("error");
        if !level.eq_ignore_ascii_case("error") && !level.eq_ignore_ascii_case("fatal") {
            continue;
        }
        count += 1;
        if reasons.len() >= MAX {
            continue;
        }
        let kind = match e.get("type") {
            Some(Value::String(s)) => Some(s.as_str()),
            Some(Value::Array(a)) => a.first().and_then(Value::as_str),
            _ => None,
        };
        let message = match e {
            Value::String(s) => s.as_str(),
            _ => e
                .get("message")
                .or_else(|| e.get("reason"))
                .and_then(Value::as_str)
                .unwrap_or("unknown error"),
        };
        let message: String = message
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(300)
            .collect();
        let path = e
            .get("path")
            .or_else(|| e.get("filename"))
            .and_then(Value::as_str);
        let mut reason = format!("{tool} error");
        if let Some(k) = kind {
            reason.push_str(&format!(" ({k})"));
        }
        if let Some(p) = path {
            reason.push_str(&format!(" in {p}"));
        }
        reason.push_str(": ");
        reason.push_str(&message);
        reasons.push(reason);
    }
    if count > reasons.len() {
        reasons.push(format!(
            "… and {} more {tool} errors",
            count - reasons.len()
        ));
    }
    reasons
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse_to_vec, ErrorKind};

    const BASIC: &str = include_str!("../tests/fixtures/semgrep/basic.json");
    const SHIFTED: &str = include_str!("../tests/fixtures/semgrep/basic-shifted.json");
    const NO_LOGIN: &str = include_str!("../tests/fixtures/semgrep/no-login-v1.182.json");
    const EMPTY: &str = include_str!("../tests/fixtures/semgrep/empty.json");

    fn parse(input: &str) -> (ReportMeta, Vec<Finding>) {
        parse_to_vec(input.as_bytes(), Some(Format::Semgrep)).unwrap()
    }

    #[test]
    fn snapshot_basic() {
        let (meta, findings) = parse(BASIC);
        insta::assert_json_snapshot!("semgrep_basic_meta", meta);
        insta::assert_json_snapshot!("semgrep_basic", findings);
    }

    #[test]
    fn snapshot_no_login() {
        let (meta, findings) = parse(NO_LOGIN);
        insta::assert_json_snapshot!("semgrep_no_login_meta", meta);
        insta::assert_json_snapshot!("semgrep_no_login", findings);
    }

    #[test]
    fn detects_all_fixtures() {
        for input in [BASIC, SHIFTED, NO_LOGIN, EMPTY] {
            assert_eq!(crate::detect(input.as_bytes()).unwrap(), Format::Semgrep);
        }
    }

    #[test]
    fn detects_results_beyond_the_sniffed_head() {
        let paths: Vec<String> = (0..40_000)
            .map(|i| format!("src/module_{i}/file.py"))
            .collect();
        let doc = serde_json::json!({"errors": [], "paths": {"scanned": paths},
            "results": [{"check_id": "a.b", "path": "x.py", "extra": {"message": "m", "severity": "INFO"}}],
            "version": "1.30.0"});
        let text = serde_json::to_string(&doc).unwrap();
        assert!(text.len() > crate::sniff::SNIFF_BYTES);
        assert_eq!(crate::detect(text.as_bytes()).unwrap(), Format::Semgrep);
        let (meta, _) = parse(&text);
        assert_eq!(meta.findings, 1);
    }

    #[test]
    fn maps_severity_suppression_and_secrets() {
        let (meta, f) = parse(BASIC);
        assert_eq!(meta.findings, 5);
        assert_eq!(meta.scanners[0].version.as_deref(), Some("1.97.0"));
        assert_eq!(f[0].severity, Severity::High);
        assert_eq!(f[0].confidence, Some(Confidence::Medium));
        assert_eq!(f[0].cwe, vec![78]);
        assert!(f[0].has_tag(tollgate_model::Tag::Injection));
        // is_ignored
        assert!(f[1].suppressed);
        assert_eq!(f[1].severity, Severity::Medium);
        // the secrets rule: category, redaction, secret field
        let s = &f[2];
        assert_eq!(s.category, Category::Secret);
        assert!(s.secret.is_some());
        let out = serde_json::to_string(&f).unwrap();
        assert!(!out.contains("ghp_FAKEfake0000000000000000000000000000"));
        assert!(s.has_tag(tollgate_model::Tag::HardcodedSecret));
        // INFO → Low, new-style CRITICAL
        assert_eq!(f[3].severity, Severity::Low);
        assert_eq!(f[4].severity, Severity::Critical);
        assert!(meta.is_complete());
    }

    #[test]
    fn shifted_lines_keep_fingerprints() {
        let (_, a) = parse(BASIC);
        let (_, b) = parse(SHIFTED);
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(&b) {
            assert_ne!(x.location.start_line, y.location.start_line);
            assert_eq!(x.fingerprint, y.fingerprint, "{}", x.rule_id);
        }
    }

    #[test]
    fn semgrep_own_fingerprint_is_ignored() {
        // DefectDojo's "third run, different unique id": Semgrep's fingerprint changed, the
        // finding did not
        let (_, a) = parse(BASIC);
        let (_, b) = parse(&BASIC.replace("0123456789abcdef_0", "DIFFERENT0123456789abcdef_0"));
        assert_eq!(a[0].fingerprint, b[0].fingerprint);
        // identical items (DefectDojo's repeated findings) get identical fingerprints
        let doc = serde_json::json!({"results": [
            {"check_id": "r.x", "path": "a.java", "start": {"line": 66}, "end": {"line": 66},
             "extra": {"message": "m", "severity": "WARNING", "lines": "c = f(x);"}},
            {"check_id": "r.x", "path": "a.java", "start": {"line": 66}, "end": {"line": 66},
             "extra": {"message": "m", "severity": "WARNING", "lines": "c = f(x);"}}], "errors": []});
        let (_, f) = parse(&doc.to_string());
        assert_eq!(f[0].fingerprint, f[1].fingerprint);
    }

    #[test]
    fn repeated_items_keep_identical_recipes() {
        let (_, f) = parse(NO_LOGIN);
        // two results of one rule in one file without code share the recipe; the wrapper's
        // occurrence numbering tells the two places apart
        assert_eq!(f.len(), 4);
        assert_ne!(f[0].fingerprint, f[1].fingerprint);
        assert_ne!(f[0].fingerprint, f[2].fingerprint);
        let (_, again) = parse(NO_LOGIN);
        assert_eq!(
            f.iter().map(|x| &x.fingerprint).collect::<Vec<_>>(),
            again.iter().map(|x| &x.fingerprint).collect::<Vec<_>>()
        );
        // error-level errors make the report incomplete, warn-level ones do not
        let (meta, _) = parse(NO_LOGIN);
        assert_eq!(meta.incomplete.len(), 1);
        assert!(
            meta.incomplete[0].contains("Timeout"),
            "{:?}",
            meta.incomplete
        );
    }

    #[test]
    fn empty_and_null_results() {
        let (meta, f) = parse(EMPTY);
        assert!(f.is_empty());
        assert_eq!(meta.findings, 0);
        let (_, f) = parse(r#"{"results": null, "errors": null}"#);
        assert!(f.is_empty());
    }

    #[test]
    fn errors_name_the_path() {
        let e = parse_to_vec(br#"{"errors": []}"#, Some(Format::Semgrep)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Shape);
        assert!(e.message.contains("results"), "{e}");
        let e = parse_to_vec(
            br#"{"results": [{"check_id": "a", "path": "x"}, {"check_id": 7}], "errors": []}"#,
            Some(Format::Semgrep),
        )
        .unwrap_err();
        assert_eq!(e.path.as_deref(), Some("$.results[1].check_id"));
        let e = parse_to_vec(br#"[1, 2]"#, Some(Format::Semgrep)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Shape);
        let e = parse_to_vec(
            br#"{"results": {"a": 1}, "errors": []}"#,
            Some(Format::Semgrep),
        )
        .unwrap_err();
        assert_eq!(e.path.as_deref(), Some("$.results"));
    }

    #[test]
    fn humanize_names() {
        assert_eq!(humanize("cbc-padding-oracle"), "Cbc padding oracle");
        assert_eq!(humanize("hardcoded_password"), "Hardcoded password");
        assert_eq!(humanize(""), "");
    }
}
