//! mobsfscan JSON (`mobsfscan --json`): `{results: {<rule id>: {files: [...], metadata: {...}}},
//! errors, mobsfscan_version}`.
//!
//! One finding per rule × `files` entry (a rule matching twice in one file gives two findings);
//! a rule without `files` (mobsfscan's "the app lacks this protection" checks such as
//! `android_root_detection`) gives one finding without a file.
//!
//! - `rule_id` = the rule id; `title` = the rule id humanized (`android_logging` → "Android
//!   logging"); `description` = `metadata.description`; references from `metadata.reference`.
//! - Severity from `metadata.severity`: `ERROR` → High, `WARNING` → Medium, `INFO` → Info (the
//!   INFO rules are mostly missing hardening); anything else → Info.
//! - CWE from `metadata.cwe` (`cwe-295`, `CWE-532: …`). Category `mobile`.
//! - Tags from the rule id: logging → sensitive-logging, hardcoded/secret/password/api key →
//!   hardcoded-secret, webview → insecure-webview, weak hash/cipher, MD5/SHA1, ECB/CBC/DES →
//!   weak-crypto, SSL/TLS/certificate/hostname checks (not the pinning/transparency "missing
//!   hardening" rules) → insecure-tls, injection → injection, cleartext/arbitrary loads →
//!   cleartext-traffic, random → insecure-random, world readable/writable, external storage,
//!   file protection → insecure-storage, allow backup → backup-enabled, debuggable → debuggable.
//! - For hard-coded secret rules the whole `match_string` is replaced by its redaction
//!   placeholder (the exact secret inside the match is not known) and kept as `secret`.
//! - `errors` with level `error` make the report incomplete (`warn` = one file parsed partially).
//!
//! Fingerprint (family `mobsfscan`): rule id + normalized `file_path` + normalized
//! `match_string` (its redaction for secret rules). Never `match_lines`/`match_position`.

use std::borrow::Cow;
use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use tollgate_model::{
    parse_cwe, Category, Finding, FingerprintBuilder, RedactedSecret, ReportMeta, Scanner,
    Severity, Tag,
};

use crate::json::{self, lenient};
use crate::semgrep::{humanize, line_number, null_as_empty, semgrep_style_errors};
use crate::sniff::Shape;
use crate::{Format, ParseError, Parser, Sniff};

pub struct MobsfscanParser;

impl Parser for MobsfscanParser {
    fn format(&self) -> Format {
        Format::Mobsfscan
    }

    fn detect(&self, sniff: &Sniff) -> bool {
        if sniff.shape() != Shape::JsonObject || !sniff.has("results") {
            return false;
        }
        if sniff.has("mobsfscan_version") {
            return true;
        }
        // Old mobsfscan without a version: `results` + `errors` and nothing of Semgrep/Bandit
        // (their results are lists, whose items show up as `results[].…`).
        // An empty `results` without the version names no tool: not claimed.
        sniff.has("errors")
            && sniff.has_under("results")
            && !sniff.has("results[].check_id")
            && !sniff.has("results[].test_id")
            && !sniff.has("paths")
            && !sniff.has("version")
            && !sniff.has("metrics")
            && !sniff.has("generated_at")
            && !sniff.has("runs")
    }

    fn parse(&self, input: &str, sink: &mut dyn FnMut(Finding)) -> Result<ReportMeta, ParseError> {
        let report: Report = json::from_str(input)?;
        let scanner = Scanner::new("mobsfscan", report.mobsfscan_version.clone());
        let mut meta = ReportMeta::new(Format::Mobsfscan.id());
        meta.add_scanner(&scanner);
        meta.incomplete = semgrep_style_errors(&report.errors, "mobsfscan");
        for (rule_id, rule) in report.results.0 {
            emit_rule(&scanner, &rule_id, rule, sink);
        }
        Ok(meta)
    }
}

#[derive(Deserialize)]
struct Report<'a> {
    #[serde(borrow)]
    results: Rules<'a>,
    #[serde(default, deserialize_with = "null_as_empty")]
    errors: Vec<Value>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    mobsfscan_version: Option<String>,
}

/// The rule map in document order (`null` or `[]` read as no rules).
struct Rules<'a>(Vec<(Cow<'a, str>, Rule<'a>)>);

impl<'de: 'a, 'a> Deserialize<'de> for Rules<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Rules<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of rule id → {files, metadata}")
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Rules<'a>, E> {
                Ok(Rules(Vec::new()))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Rules<'a>, A::Error> {
                // An empty list is how some tools write "no results"; items are not mobsfscan.
                if seq.next_element::<serde::de::IgnoredAny>()?.is_some() {
                    return Err(serde::de::Error::custom(
                        "mobsfscan results must be an object keyed by rule id, found a non-empty list",
                    ));
                }
                Ok(Rules(Vec::new()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Rules<'a>, A::Error> {
                let mut out = Vec::new();
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    let rule: Rule<'de> = map.next_value()?;
                    out.push((key, rule));
                }
                Ok(Rules(out))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

#[derive(Deserialize)]
struct Rule<'a> {
    #[serde(default, borrow)]
    files: Option<Vec<FileMatch<'a>>>,
    #[serde(default)]
    metadata: Option<Metadata>,
}

#[derive(Deserialize)]
struct FileMatch<'a> {
    #[serde(default, borrow)]
    file_path: Option<Cow<'a, str>>,
    #[serde(default)]
    match_lines: Option<Vec<Value>>,
    #[serde(default, borrow)]
    match_string: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
struct Metadata {
    #[serde(default, deserialize_with = "lenient::string_list")]
    cwe: Vec<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    description: Option<String>,
    #[serde(default, deserialize_with = "lenient::string_list")]
    reference: Vec<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    severity: Option<String>,
}

fn emit_rule(scanner: &Scanner, rule_id: &str, rule: Rule<'_>, sink: &mut dyn FnMut(Finding)) {
    let md = rule.metadata.unwrap_or_default();
    let mut base = Finding::new(scanner.clone(), rule_id, title(rule_id));
    base.category = Category::Mobile;
    base.description = md
        .description
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(str::to_string);
    base.scanner_severity = md.severity.clone();
    base.severity = md
        .severity
        .as_deref()
        .and_then(Severity::from_word)
        .unwrap_or(Severity::Info);
    for c in &md.cwe {
        if let Some(n) = parse_cwe(c) {
            base.add_cwe(n);
        }
    }
    for r in &md.reference {
        base.add_reference(r.as_str());
    }
    for tag in rule_tags(rule_id) {
        base.tag(tag);
    }
    let secret_rule = base.has_tag(Tag::HardcodedSecret);
    let pointer = format!("/results/{}", escape_pointer(rule_id));

    let files = rule.files.unwrap_or_default();
    if files.is_empty() {
        let mut f = base;
        f.fingerprint = FingerprintBuilder::new("mobsfscan")
            .part(rule_id)
            .path(None)
            .snippet(None)
            .finish();
        f.source = crate::source(Format::Mobsfscan, pointer);
        sink(f);
        return;
    }
    for (j, m) in files.into_iter().enumerate() {
        let mut f = base.clone();
        let matched = m.match_string.as_deref().filter(|s| !s.trim().is_empty());
        let snippet = matched.map(|s| {
            if secret_rule {
                let redacted = RedactedSecret::new(s.trim());
                let placeholder = redacted.placeholder();
                f.secret = Some(redacted);
                placeholder
            } else {
                s.to_string()
            }
        });
        let lines: Vec<u32> = m
            .match_lines
            .as_deref()
            .unwrap_or(&[])
            .iter()
            .filter_map(|v| line_number(v.as_f64()))
            .collect();
        f.location.start_line = lines.first().copied();
        f.location.end_line = lines.get(1).or(lines.first()).copied();
        f.location.file = m.file_path.as_deref().map(str::to_string);
        f.fingerprint = FingerprintBuilder::new("mobsfscan")
            .part(rule_id)
            .path(m.file_path.as_deref())
            .snippet(snippet.as_deref())
            .finish();
        f.location.snippet = snippet;
        f.source = crate::source(Format::Mobsfscan, format!("{pointer}/files/{j}"));
        sink(f);
    }
}

/// The rule id humanized, with the usual spelling of platform and protocol names.
fn title(rule_id: &str) -> String {
    const WORDS: &[(&str, &str)] = &[
        ("ios", "iOS"),
        ("api", "API"),
        ("ssl", "SSL"),
        ("tls", "TLS"),
        ("ats", "ATS"),
        ("sql", "SQL"),
        ("sqlite", "SQLite"),
        ("md5", "MD5"),
        ("sha1", "SHA1"),
        ("ui", "UI"),
        ("uiwebview", "UIWebView"),
        ("webview", "WebView"),
        ("ecb", "ECB"),
        ("cbc", "CBC"),
    ];
    let words: Vec<String> = humanize(rule_id)
        .split(' ')
        .map(|w| {
            WORDS
                .iter()
                .find(|(k, _)| w.eq_ignore_ascii_case(k))
                .map_or_else(|| w.to_string(), |(_, v)| v.to_string())
        })
        .collect();
    words.join(" ")
}

/// Taxonomy tags that the rule id clearly names.
fn rule_tags(rule_id: &str) -> Vec<Tag> {
    let id = rule_id.to_ascii_lowercase();
    let tokens: Vec<&str> = id.split(['_', '-', '.']).collect();
    let has = |words: &[&str]| words.iter().any(|w| id.contains(w));
    let token = |words: &[&str]| words.iter().any(|w| tokens.contains(w));
    let mut tags = Vec::new();
    if has(&["logging"]) || token(&["log", "nslog", "logcat"]) {
        tags.push(Tag::SensitiveLogging);
    }
    if has(&[
        "hardcoded",
        "hard_coded",
        "secret",
        "password",
        "api_key",
        "apikey",
    ]) || token(&["username", "credentials"])
    {
        tags.push(Tag::HardcodedSecret);
    }
    if has(&["webview"]) {
        tags.push(Tag::InsecureWebview);
    }
    if has(&[
        "weak_hash",
        "weak_cipher",
        "weak_key",
        "static_iv",
        "weak_crypto",
        "weak_encryption",
        "insecure_hash",
        "rsa_no_oaep",
        "no_padding",
    ]) || token(&[
        "md5", "md4", "sha1", "ecb", "cbc", "des", "3des", "rc2", "rc4", "blowfish",
    ]) {
        tags.push(Tag::WeakCrypto);
    }
    if (has(&[
        "hostname_verif",
        "trust_all",
        "trustmanager",
        "x509",
        "certificate_validation",
    ]) || token(&["ssl", "tls", "certificate", "cert"]))
        && !has(&["pinning", "transparency"])
    {
        tags.push(Tag::InsecureTls);
    }
    if has(&["injection"]) || token(&["sqli"]) {
        tags.push(Tag::Injection);
    }
    if has(&[
        "clear_text",
        "cleartext",
        "arbitrary_loads",
        "insecure_http",
    ]) {
        tags.push(Tag::CleartextTraffic);
    }
    if has(&["random"]) {
        tags.push(Tag::InsecureRandom);
    }
    if has(&[
        "world_readable",
        "world_writable",
        "external_storage",
        "sdcard",
        "sd_card",
        "file_perm",
        "file_protection",
    ]) {
        tags.push(Tag::InsecureStorage);
    }
    if has(&["allow_backup", "allowbackup"]) {
        tags.push(Tag::BackupEnabled);
    }
    if has(&["debuggable"]) {
        tags.push(Tag::Debuggable);
    }
    tags
}

/// JSON pointer escaping (RFC 6901) of one reference token.
fn escape_pointer(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse_to_vec, ErrorKind};

    const BASIC: &str = include_str!("../tests/fixtures/mobsfscan/android-v0.4.json");
    const IOS: &str = include_str!("../tests/fixtures/mobsfscan/ios-v1.1.json");
    const EMPTY: &str = include_str!("../tests/fixtures/mobsfscan/no-findings.json");

    fn parse(input: &str) -> (ReportMeta, Vec<Finding>) {
        parse_to_vec(input.as_bytes(), Some(Format::Mobsfscan)).unwrap()
    }

    #[test]
    fn snapshot_android() {
        let (meta, findings) = parse(BASIC);
        insta::assert_json_snapshot!("mobsfscan_android_meta", meta);
        insta::assert_json_snapshot!("mobsfscan_android", findings);
    }

    #[test]
    fn snapshot_ios() {
        let (meta, findings) = parse(IOS);
        insta::assert_json_snapshot!("mobsfscan_ios_meta", meta);
        insta::assert_json_snapshot!("mobsfscan_ios", findings);
    }

    #[test]
    fn detects_fixtures_and_not_semgrep() {
        for input in [BASIC, IOS, EMPTY] {
            assert_eq!(crate::detect(input.as_bytes()).unwrap(), Format::Mobsfscan);
        }
        let semgrep = br#"{"results": [{"check_id": "x", "path": "a"}], "errors": []}"#;
        assert_eq!(crate::detect(semgrep).unwrap(), Format::Semgrep);
    }

    #[test]
    fn one_finding_per_rule_and_file_entry() {
        let (meta, f) = parse(BASIC);
        // android_logging: 3 entries (two in one file); hardcoded: 1; no-file rules: 2
        assert_eq!(meta.findings, 7);
        let logging: Vec<_> = f
            .iter()
            .filter(|x| x.rule_id == "android_logging")
            .collect();
        assert_eq!(logging.len(), 3);
        assert!(logging.iter().all(|x| x.has_tag(Tag::SensitiveLogging)));
        assert_eq!(logging[0].location.file, logging[1].location.file);
        assert_ne!(logging[0].fingerprint, logging[1].fingerprint);
        assert_eq!(
            logging[0].source.pointer,
            "/results/android_logging/files/0"
        );
        let root = f
            .iter()
            .find(|x| x.rule_id == "android_root_detection")
            .unwrap();
        assert!(root.location.file.is_none());
        assert_eq!(root.severity, Severity::Info);
        let sql = f.iter().find(|x| x.rule_id == "sqlite_injection").unwrap();
        assert!(sql.has_tag(Tag::Injection));
        assert_eq!(sql.severity, Severity::Medium);
        assert_eq!(meta.scanners[0].version.as_deref(), Some("0.4.3"));
    }

    #[test]
    fn hardcoded_matches_are_redacted() {
        let (_, f) = parse(BASIC);
        let out = serde_json::to_string(&f).unwrap();
        assert!(!out.contains("AIzaFAKEFAKEFAKE0000000000000000000000"));
        let h = f.iter().find(|x| x.rule_id == "hardcoded_api_key").unwrap();
        assert!(h.secret.is_some() && h.has_tag(Tag::HardcodedSecret));
    }

    #[test]
    fn ios_tags_and_incomplete() {
        let (meta, f) = parse(IOS);
        assert_eq!(meta.incomplete.len(), 1, "{:?}", meta.incomplete);
        let tag_of = |id: &str| f.iter().find(|x| x.rule_id == id).unwrap().tags.clone();
        assert!(tag_of("ios_ats_arbitrary_loads").contains(&Tag::CleartextTraffic));
        assert!(tag_of("ios_weak_hash").contains(&Tag::WeakCrypto));
        assert!(tag_of("ios_file_perm").contains(&Tag::InsecureStorage));
        assert!(tag_of("ios_uiwebview").contains(&Tag::InsecureWebview));
        assert!(rule_tags("ios_cert_pinning").is_empty());
        assert!(rule_tags("object_deserialization").is_empty());
        assert_eq!(title("ios_ats_arbitrary_loads"), "iOS ATS arbitrary loads");
        assert_eq!(title("android_logging"), "Android logging");
        assert!(rule_tags("android_sqlite_db").is_empty());
        assert_eq!(rule_tags("android_biometric_login"), vec![]);
    }

    #[test]
    fn empty_and_error_shapes() {
        let (meta, f) = parse(EMPTY);
        assert!(f.is_empty() && meta.is_complete());
        let (_, f) = parse(r#"{"results": [], "errors": []}"#);
        assert!(f.is_empty());
        let e = parse_to_vec(br#"{"errors": []}"#, Some(Format::Mobsfscan)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Shape);
        let e = parse_to_vec(
            br#"{"results": {"r": {"files": [{"file_path": 3}]}}, "errors": []}"#,
            Some(Format::Mobsfscan),
        )
        .unwrap_err();
        assert_eq!(e.path.as_deref(), Some("$.results.r.files[0].file_path"));
        let e = parse_to_vec(
            br#"{"results": [{"check_id": "x"}], "errors": []}"#,
            Some(Format::Mobsfscan),
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Shape);
    }
}
