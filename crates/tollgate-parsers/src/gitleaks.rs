//! Gitleaks JSON reports: v8 (`RuleID`, `Secret`, `Match`, `File`, `StartLine` …) and v7 (`rule`,
//! `offender`, `line`, `file`, `lineNumber` …). One finding per leak.
//!
//! - Detection: a top-level array whose first element has `RuleID` (v8) or `rule` + `offender`
//!   (v7), or an empty array `[]` (Gitleaks is tried last, so every other format had its chance).
//!   Gitleaks v7 writes `null` when it found nothing: `parse` accepts it (zero findings), but the
//!   sniffer cannot tell `null` from other non-JSON-object text, so such a file is only read with
//!   `--scanner gitleaks`.
//! - Secrets: `Secret` (v8) / `offender` (v7) is the secret. It becomes `finding.secret`
//!   (redacted form only) and is scrubbed from every text copied (`Match` / `line` as the snippet,
//!   title, description). When the secret is not found verbatim in the context, the whole context
//!   is replaced by a placeholder. A report written with `gitleaks --redact` has `REDACTED` as the
//!   secret: then nothing is known about the value and `finding.secret` stays empty.
//! - Severity: Gitleaks has none; every leak is **High** (a committed credential is always worth
//!   blocking on until rotated or waived). Category `secret`, tag `hardcoded-secret`.
//! - Lines: `StartLine` / `EndLine`; a match ending at `EndColumn` 1 ends on the line before (it
//!   only swallowed the newline), so a leak Gitleaks reports twice at one line is one place.
//! - rule_id: `RuleID` verbatim (v8 ids are the config's ids, used in allowlists); v7 `rule` names
//!   are slugged (`AWS Access Key` → `aws-access-key`).
//!
//! Fingerprint (family `secret`): rule id + normalized file path + the normalized match context
//! (`Match` for v8, `line` for v7) with the secret replaced by the fixed word `REDACTED`. This is
//! what Gitleaks' own `Fingerprint` (`[commit:]file:rule:line`) identifies, without its commit
//! (which differs between a history scan and `--no-git`, and between commits of the same leak)
//! and without its line (which moves when code above changes). Replacing the secret by
//! `REDACTED` makes a report written with `--redact` and one without give the same fingerprints;
//! a secret hash would not (every redacted secret is the same word). Consequence: rotating the
//! value on the same line keeps the identity (it is the same hard-coded credential site).

use std::borrow::Cow;

use serde::Deserialize;
use tollgate_model::{
    redact_in, Category, Finding, FingerprintBuilder, RedactedSecret, ReportMeta, Scanner,
    Severity, Tag,
};

use crate::json::{self, lenient};
use crate::sniff::Shape;
use crate::{Format, ParseError, Parser, Sniff};

pub struct GitleaksParser;

/// What `gitleaks --redact` writes instead of the secret.
const REDACTED_WORD: &str = "REDACTED";

#[derive(Deserialize, Default)]
#[serde(default)]
struct Leak<'a> {
    // v8
    #[serde(rename = "RuleID", borrow)]
    rule_id: Option<Cow<'a, str>>,
    #[serde(rename = "Description", borrow)]
    description: Option<Cow<'a, str>>,
    #[serde(rename = "StartLine", deserialize_with = "lenient::opt_f64")]
    start_line: Option<f64>,
    #[serde(rename = "EndLine", deserialize_with = "lenient::opt_f64")]
    end_line: Option<f64>,
    #[serde(rename = "EndColumn", deserialize_with = "lenient::opt_f64")]
    end_column: Option<f64>,
    #[serde(rename = "Match", borrow)]
    matched: Option<Cow<'a, str>>,
    #[serde(rename = "Secret", borrow)]
    secret: Option<Cow<'a, str>>,
    #[serde(rename = "File", borrow)]
    file: Option<Cow<'a, str>>,
    #[serde(rename = "SymlinkFile", borrow)]
    symlink_file: Option<Cow<'a, str>>,
    #[serde(rename = "Commit", borrow)]
    commit: Option<Cow<'a, str>>,
    #[serde(rename = "Entropy", deserialize_with = "lenient::opt_f64")]
    entropy: Option<f64>,
    #[serde(rename = "Author", borrow)]
    author: Option<Cow<'a, str>>,
    #[serde(rename = "Date", borrow)]
    date: Option<Cow<'a, str>>,
    #[serde(rename = "Message", borrow)]
    message: Option<Cow<'a, str>>,
    #[serde(rename = "Tags", deserialize_with = "lenient::string_list")]
    tags: Vec<String>,
    #[serde(rename = "Link", borrow)]
    link: Option<Cow<'a, str>>,
    // v7
    #[serde(rename = "rule", borrow)]
    v7_rule: Option<Cow<'a, str>>,
    #[serde(rename = "line", borrow)]
    v7_line: Option<Cow<'a, str>>,
    #[serde(rename = "lineNumber", deserialize_with = "lenient::opt_f64")]
    v7_line_number: Option<f64>,
    #[serde(rename = "offender", borrow)]
    v7_offender: Option<Cow<'a, str>>,
    #[serde(rename = "offenderEntropy", deserialize_with = "lenient::opt_f64")]
    v7_entropy: Option<f64>,
    #[serde(rename = "commit", borrow)]
    v7_commit: Option<Cow<'a, str>>,
    #[serde(rename = "leakURL", borrow)]
    v7_leak_url: Option<Cow<'a, str>>,
    #[serde(rename = "commitMessage", borrow)]
    v7_message: Option<Cow<'a, str>>,
    #[serde(rename = "author", borrow)]
    v7_author: Option<Cow<'a, str>>,
    #[serde(rename = "file", borrow)]
    v7_file: Option<Cow<'a, str>>,
    #[serde(rename = "date", borrow)]
    v7_date: Option<Cow<'a, str>>,
    #[serde(rename = "tags", deserialize_with = "lenient::string_list")]
    v7_tags: Vec<String>,
}

impl Parser for GitleaksParser {
    fn format(&self) -> Format {
        Format::Gitleaks
    }

    fn detect(&self, sniff: &Sniff) -> bool {
        // Gitleaks' clean scan (`[]`, v7: `null`) names no scanner: other tools write the same
        // document, so it is never claimed here (`--scanner gitleaks` reads it as 0 leaks).
        sniff.shape() == Shape::JsonArray
            && (sniff.has("[].RuleID") || (sniff.has("[].rule") && sniff.has("[].offender")))
    }

    fn parse(&self, input: &str, sink: &mut dyn FnMut(Finding)) -> Result<ReportMeta, ParseError> {
        let scanner = Scanner::new("gitleaks", None);
        let mut meta = ReportMeta::new(Format::Gitleaks.id());
        meta.add_scanner(&scanner);
        let trimmed = input.trim_start_matches('\u{feff}').trim_start();
        if !(trimmed.starts_with('[') || trimmed.starts_with("null")) {
            return Err(ParseError::shape(
                "$",
                "not a Gitleaks report: expected a JSON array of leaks (or null)",
            ));
        }
        // Gitleaks v7 writes `null` when it found nothing.
        let leaks: Option<Vec<Leak<'_>>> = json::from_str(input)?;
        for (i, leak) in leaks.unwrap_or_default().iter().enumerate() {
            sink(leak_finding(&scanner, i, leak)?);
        }
        Ok(meta)
    }
}

fn non_empty<'s>(v: &'s Option<Cow<'_, str>>) -> Option<&'s str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn line_number(v: Option<f64>) -> Option<u32> {
    v.filter(|n| n.is_finite() && *n >= 1.0 && *n <= f64::from(u32::MAX))
        .map(|n| n as u32)
}

/// The last line of the match. A match that swallowed its line's newline ends at column 1 of the
/// next line (Gitleaks 8 writes `EndLine: n + 1, EndColumn: 1`, e.g. `generic-api-key` matching
/// the value with and without the newline): its last line is `n`. Without this, the same rule at
/// the same line would be two places, and the hub would keep both where Gitleaks' own
/// `Fingerprint` (`file:rule:line`) and DefectDojo (hash of title + secret + line) keep one.
fn end_line(leak: &Leak, start: Option<u32>) -> Option<u32> {
    let end = line_number(leak.end_line).or(start)?;
    match (start, leak.end_column) {
        (Some(s), Some(c)) if c == 1.0 && end > s => Some(end - 1),
        _ => Some(end),
    }
}

/// `AWS Access Key` → `aws-access-key`.
pub(crate) fn slug(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.trim().chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// Removes `secret` from `text`. When the secret is known but not found verbatim, the whole
/// text is replaced: it may still hold the value in another form.
fn scrub(text: &str, secret: Option<&str>) -> String {
    match secret {
        None => text.to_string(),
        Some(s) if text.contains(s) => redact_in(text, s),
        Some(_) => RedactedSecret::new(text).placeholder(),
    }
}

/// Like [`scrub`] for free text (titles, messages): only verbatim occurrences are replaced.
fn scrub_text(text: &str, secret: Option<&str>) -> String {
    match secret {
        Some(s) => redact_in(text, s),
        None => text.to_string(),
    }
}

fn leak_finding(scanner: &Scanner, i: usize, leak: &Leak<'_>) -> Result<Finding, ParseError> {
    let pointer = format!("/{i}");
    let v8 = non_empty(&leak.rule_id).is_some();
    let rule_id = match (non_empty(&leak.rule_id), non_empty(&leak.v7_rule)) {
        (Some(r), _) => r.to_string(),
        (None, Some(r)) => slug(r),
        (None, None) => {
            return Err(ParseError::shape(
                format!("$[{i}]"),
                "a Gitleaks leak needs RuleID (v8) or rule (v7)",
            ))
        }
    };
    let raw_secret = if v8 {
        non_empty(&leak.secret)
    } else {
        non_empty(&leak.v7_offender).or(non_empty(&leak.secret))
    };
    // `--redact` reports carry no value: nothing to hide, nothing to record.
    let secret = raw_secret.filter(|s| *s != REDACTED_WORD);
    let context = if v8 {
        non_empty(&leak.matched)
    } else {
        non_empty(&leak.v7_line).or(non_empty(&leak.matched))
    };

    let title_raw = non_empty(&leak.description)
        .or(non_empty(&leak.v7_rule))
        .unwrap_or(&rule_id);
    let mut f = Finding::new(
        scanner.clone(),
        rule_id.clone(),
        scrub_text(title_raw, secret),
    );
    f.severity = Severity::High;
    f.category = Category::Secret;
    f.tag(Tag::HardcodedSecret);
    f.secret = secret.map(RedactedSecret::new);

    let file = non_empty(&leak.file).or(non_empty(&leak.v7_file));
    f.location.file = file.map(str::to_string);
    f.location.start_line = line_number(leak.start_line.or(leak.v7_line_number));
    f.location.end_line = end_line(leak, f.location.start_line);
    f.location.snippet = context.map(|c| scrub(c, secret));

    // Description: what Gitleaks says plus where in history the leak sits.
    let mut desc = vec![
        match (non_empty(&leak.description), non_empty(&leak.v7_rule)) {
            (Some(d), _) => format!("{}.", d.trim_end_matches('.')),
            (None, Some(r)) => format!("Gitleaks rule \"{r}\" matched."),
            (None, None) => format!("Gitleaks rule {rule_id} matched."),
        },
    ];
    if raw_secret == Some(REDACTED_WORD) {
        desc.push("The secret value was redacted by Gitleaks (--redact).".to_string());
    }
    if let Some(link) = non_empty(&leak.symlink_file) {
        desc.push(format!("Reached through the symbolic link {link}."));
    }
    let commit = non_empty(&leak.commit).or(non_empty(&leak.v7_commit));
    if let Some(commit) = commit {
        let short: String = commit.chars().take(12).collect();
        let mut line = format!("Commit {short}");
        if let Some(a) = non_empty(&leak.author).or(non_empty(&leak.v7_author)) {
            line.push_str(&format!(" by {a}"));
        }
        if let Some(d) = non_empty(&leak.date)
            .or(non_empty(&leak.v7_date))
            .filter(|d| !d.starts_with("0001-01-01"))
        {
            line.push_str(&format!(" on {d}"));
        }
        if let Some(m) = non_empty(&leak.message).or(non_empty(&leak.v7_message)) {
            let first = m.lines().next().unwrap_or("").trim();
            if !first.is_empty() {
                line.push_str(&format!(": {}", scrub_text(first, secret)));
            }
        }
        desc.push(line);
    }
    if let Some(e) = leak.entropy.or(leak.v7_entropy).filter(|e| *e > 0.0) {
        desc.push(format!("Entropy {e:.2}."));
    }
    let tags: Vec<&str> = leak
        .tags
        .iter()
        .chain(leak.v7_tags.iter())
        .flat_map(|t| t.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect();
    if !tags.is_empty() {
        desc.push(format!("Gitleaks tags: {}.", tags.join(", ")));
    }
    f.description = Some(desc.join("\n"));
    f.recommendation = Some(
        "Rotate the credential, remove it from the code (and from the history if it was \
         committed), and load it from a secret store or the environment instead."
            .to_string(),
    );
    for url in [non_empty(&leak.link), non_empty(&leak.v7_leak_url)]
        .into_iter()
        .flatten()
    {
        if url.starts_with("http://") || url.starts_with("https://") {
            f.add_reference(url);
        }
    }

    let fingerprint_context = context.map(|c| match secret {
        Some(s) => c.replace(s, REDACTED_WORD),
        None => c.to_string(),
    });
    f.fingerprint = FingerprintBuilder::new("secret")
        .part(&rule_id)
        .path(file)
        .snippet(fingerprint_context.as_deref())
        .finish();
    f.source = crate::source(Format::Gitleaks, pointer);
    Ok(f)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::ErrorKind;

    const V8: &[u8] = include_bytes!("../tests/fixtures/gitleaks/v8.json");
    const V8_SHIFTED: &[u8] = include_bytes!("../tests/fixtures/gitleaks/v8-shifted.json");
    const V8_REDACTED: &[u8] = include_bytes!("../tests/fixtures/gitleaks/v8-redacted.json");
    const V7: &[u8] = include_bytes!("../tests/fixtures/gitleaks/v7.json");
    const NOT_LEAKS: &[u8] = include_bytes!("../tests/fixtures/gitleaks/not-leaks.json");

    /// Every secret value of the fixtures (and the parts that would identify them).
    const SECRETS: &[&str] = &[
        "AKIATOLLGATEFAKE0001",
        "tg_fake_9f8e7d6c5b4a3210fedcba98",
        "TOLLGATEFAKEKEYMATERIAL",
        "tollgatefakewebhook0001",
        "Tollgate-Fake-Passw0rd",
        "TollgateFakeToken",
    ];

    fn parse(bytes: &[u8]) -> Vec<Finding> {
        crate::parse_to_vec(bytes, Some(Format::Gitleaks))
            .unwrap()
            .1
    }

    fn fingerprints(findings: &[Finding]) -> BTreeSet<String> {
        findings.iter().map(|f| f.fingerprint.to_string()).collect()
    }

    fn assert_no_secret(findings: &[Finding]) {
        let out = serde_json::to_string(findings).unwrap();
        for s in SECRETS {
            assert!(!out.contains(s), "secret {s} leaked: {out}");
        }
    }

    #[test]
    fn v8_snapshot() {
        let findings = parse(V8);
        assert_no_secret(&findings);
        insta::assert_json_snapshot!("gitleaks_v8", findings);
    }

    #[test]
    fn v7_snapshot() {
        let findings = parse(V7);
        assert_no_secret(&findings);
        insta::assert_json_snapshot!("gitleaks_v7", findings);
    }

    #[test]
    fn v8_redacted_snapshot() {
        insta::assert_json_snapshot!("gitleaks_v8_redacted", parse(V8_REDACTED));
    }

    #[test]
    fn detection() {
        for input in [V8, V7, V8_REDACTED] {
            assert_eq!(crate::detect(input).unwrap(), Format::Gitleaks);
        }
        // A clean scan names no scanner: never guessed, read when named.
        for input in [b"[]".as_slice(), b" [ \n ] ", b"null", b"null\n"] {
            let e = crate::detect(input).unwrap_err();
            assert_eq!(e.kind, crate::ErrorKind::Ambiguous);
            let (meta, f) = crate::parse_to_vec(input, Some(Format::Gitleaks)).unwrap();
            assert_eq!((meta.format.as_str(), f.len()), ("gitleaks", 0));
        }
        assert!(crate::detect(br#"[{"rule": "x"}]"#).is_err());
        assert!(crate::detect(br#"{"RuleID": "x"}"#).is_err());
    }

    #[test]
    fn secrets_are_redacted_everywhere() {
        let f = parse(V8);
        assert_eq!(f.len(), 3);
        let aws = &f[0];
        assert_eq!(
            aws.secret,
            Some(RedactedSecret::new("AKIATOLLGATEFAKE0001"))
        );
        assert_eq!(aws.severity, Severity::High);
        assert_eq!(aws.category, Category::Secret);
        assert!(aws.has_tag(Tag::HardcodedSecret));
        // The commit message quoting the key is scrubbed too.
        assert!(aws
            .description
            .as_deref()
            .unwrap()
            .contains("add provider config with key AKIA…"));
        assert_eq!(aws.location.start_line, Some(12));
        assert_eq!(aws.references.len(), 1);
        // A multi-line private key: the whole match is the secret.
        let key = &f[2];
        assert_eq!(
            key.location.snippet,
            Some(RedactedSecret::new(key_secret()).placeholder())
        );
        assert_eq!(
            (key.location.start_line, key.location.end_line),
            (Some(1), Some(5))
        );
        // v7: offender not found verbatim in the line → the whole line is replaced.
        let v7 = parse(V7);
        assert_eq!(v7.len(), 3);
        assert_eq!(v7[0].rule_id, "slack-webhook");
        assert_eq!(v7[1].location.start_line, None);
        let token_line = "token:\tghp_TollgateFakeToken000000000000000001";
        assert_eq!(
            v7[2].location.snippet,
            Some(RedactedSecret::new(token_line).placeholder())
        );
    }

    fn key_secret() -> &'static str {
        "-----BEGIN PRIVATE KEY-----\nTOLLGATEFAKEKEYMATERIALxxxxxxxxxxxxxxxxxx\nyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\n-----END PRIVATE KEY-----"
    }

    #[test]
    fn fingerprints_survive_line_moves_commits_and_redaction() {
        let base = fingerprints(&parse(V8));
        assert_eq!(base.len(), 3);
        assert_eq!(base, fingerprints(&parse(V8_SHIFTED)));
        assert_eq!(base, fingerprints(&parse(V8_REDACTED)));
        // A redacted report knows nothing about the value.
        assert!(parse(V8_REDACTED).iter().all(|f| f.secret.is_none()));
    }

    /// Gitleaks 8 reports `generic-api-key` twice at one line when the value is matched with
    /// and without the line's newline (gitleaks-kubernetes-goat.json: 11 leaks, 3 such pairs):
    /// one leak, as Gitleaks' own `Fingerprint` says. Both stay in the output (one per leak) but
    /// share a fingerprint, so the hub keeps one (8, as DefectDojo).
    #[test]
    fn a_match_ending_at_column_1_of_the_next_line_is_the_same_place() {
        let leak = |end_line: u32, end_column: u32| {
            format!(
                r#"{{"RuleID": "generic-api-key", "Description": "Generic API Key", "File": "k8s/deployment.yaml",
                "StartLine": 44, "EndLine": {end_line}, "StartColumn": 4, "EndColumn": {end_column},
                "Match": "k8svaultapikey: REDACTED", "Secret": "REDACTED",
                "Fingerprint": "k8s/deployment.yaml:generic-api-key:44"}}"#
            )
        };
        let twice = format!("[{}, {}]", leak(44, 75), leak(45, 1));
        let f = parse(twice.as_bytes());
        assert_eq!(f.len(), 2, "one finding per leak");
        assert_eq!(f[1].location.end_line, Some(44));
        assert_eq!(f[0].fingerprint, f[1].fingerprint);
        // A match that really goes on to the next line is another place: numbered as a repeat.
        let longer = format!("[{}, {}]", leak(44, 75), leak(45, 2));
        let f = parse(longer.as_bytes());
        assert_eq!(f[1].location.end_line, Some(45));
        assert_ne!(f[0].fingerprint, f[1].fingerprint);
    }

    #[test]
    fn empty_reports() {
        let (meta, f) = crate::parse_to_vec(b"null\n", Some(Format::Gitleaks)).unwrap();
        assert!(f.is_empty());
        assert_eq!(meta.scanners[0].name, "gitleaks");
        assert!(parse(b"[]").is_empty());
    }

    #[test]
    fn errors_name_the_place() {
        let e = crate::parse_to_vec(NOT_LEAKS, Some(Format::Gitleaks)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Shape);
        assert_eq!(e.path.as_deref(), Some("$[1]"));
        let e = crate::parse_to_vec(br#"{"leaks": []}"#, Some(Format::Gitleaks)).unwrap_err();
        assert_eq!((e.kind, e.path.as_deref()), (ErrorKind::Shape, Some("$")));
        let e = crate::parse_to_vec(
            br#"[{"RuleID": "x", "StartLine": []}]"#,
            Some(Format::Gitleaks),
        );
        assert!(e.is_ok(), "loose numbers are tolerated");
        let e = crate::parse_to_vec(br#"[{"RuleID": 5}]"#, Some(Format::Gitleaks)).unwrap_err();
        assert_eq!(e.path.as_deref(), Some("$[0].RuleID"));
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("AWS Access Key"), "aws-access-key");
        assert_eq!(slug("  Github -- PAT!"), "github-pat");
    }
}
