//! Data Theorem Mobile Security Results API v2 `security_findings`: a list page
//! (`{security_findings: [...], pagination_information: {...}}`), a bare list of findings, or a
//! single finding (`GET …/security_findings/:id`: an object with `id`, `mobile_app_id`,
//! `aggregated_status`, `title` …).
//!
//! One finding per security finding.
//!
//! - `rule_id` = `issue_type_id` (the issue type, the same across apps), else `id`; `title`;
//!   `description` = `description_intro` + `description`; `recommendation` = `recommendation` +
//!   `secure_code`; references = `portal_url` + the compliance policy links.
//! - Severity: `severity` (`HIGH`/`MEDIUM`/`LOW` → High/Medium/Low), raised to Critical when the
//!   CVSS base score is 9.0 or more (the API has no critical word). Without a severity word: from
//!   the CVSS score; without either: Medium.
//! - CVSS 3.1 from `cvss_vector` (also read under the documented misspelling `cvss_Vecotr`;
//!   bare vectors `AV:N/…` are accepted) and `cvss_score`.
//! - CWE from `associated_cwe_ids` (`CWE-099` → 99), vulnerability ids from
//!   `associated_cve_ids`. Category `mobile`; `location.target` = `mobile_app_id`.
//! - `suppressed` = the finding is closed at the source: `aggregated_status` is one of the
//!   `CLOSED_*` statuses (won't fix, risk accepted, fixed, …) or `is_permanently_closed` is true.
//!   The model has no status field, so closed findings are kept, marked suppressed.
//! - Tags only where the title clearly says so (the API's `category` alone is too broad), e.g.
//!   `DATA_IN_TRANSIT_EXPOSURE` + "cleartext"/"HTTP" → cleartext-traffic, certificate/hostname
//!   validation → insecure-tls, logging → sensitive-logging, "hardcoded" credentials/keys →
//!   hardcoded-secret, backup → backup-enabled, debuggable → debuggable.
//! - Booleans and numbers given as strings (`"true"`, `"5.3"`) are accepted.
//!
//! Fingerprint (family `datatheorem`): `mobile_app_id` + `issue_type_id`, or + `id` when the
//! finding has no issue type. Both are stable server-side ids; no dates, no status.
//!
//! A Tollgate hub's Results API adds a `tollgate` object to each finding. When it holds a valid
//! `fingerprint` (32 hex digits) and a five-level `severity`, those win: a finding pulled from a
//! hub keeps the identity and severity it had in the scanner's own report.

use serde::Deserialize;
use tollgate_model::{
    parse_cwe, Category, Cvss, Finding, Fingerprint, FingerprintBuilder, ReportMeta, Scanner,
    Severity, Tag,
};

use crate::json::{self, lenient};
use crate::semgrep::null_as_empty;
use crate::sniff::Shape;
use crate::{Format, ParseError, Parser, Sniff};

pub struct DataTheoremParser;

impl Parser for DataTheoremParser {
    fn format(&self) -> Format {
        Format::DataTheorem
    }

    fn detect(&self, sniff: &Sniff) -> bool {
        match sniff.shape() {
            Shape::JsonObject => {
                sniff.has("security_findings")
                    || (sniff.has("mobile_app_id") && sniff.has("aggregated_status"))
            }
            Shape::JsonArray => sniff.has("[].mobile_app_id") && sniff.has("[].aggregated_status"),
            _ => false,
        }
    }

    fn parse(&self, input: &str, sink: &mut dyn FnMut(Finding)) -> Result<ReportMeta, ParseError> {
        let trimmed = input.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
        let (findings, prefix): (Vec<DtFinding>, &str) = if trimmed.starts_with('[') {
            (json::from_str(input)?, "")
        } else if !trimmed.starts_with('{') {
            return Err(ParseError::shape(
                "$",
                "expected a security_findings page, a list of security findings or one security finding",
            ));
        } else {
            let page: Page = json::from_str(input)?;
            match page.security_findings {
                Some(list) => (list, "/security_findings"),
                None => {
                    let one: DtFinding = json::from_str(input)?;
                    if one.id.is_none()
                        && one.mobile_app_id.is_none()
                        && one.issue_type_id.is_none()
                    {
                        return Err(ParseError::shape(
                            "$",
                            "not a Data Theorem security finding: no security_findings list and no id / mobile_app_id",
                        ));
                    }
                    (vec![one], "")
                }
            }
        };
        let scanner = Scanner::new("datatheorem", None);
        let mut meta = ReportMeta::new(Format::DataTheorem.id());
        meta.add_scanner(&scanner);
        let mut apps: Vec<String> = Vec::new();
        let single = prefix.is_empty() && !trimmed.starts_with('[');
        for (i, raw) in findings.into_iter().enumerate() {
            if let Some(app) = &raw.mobile_app_id {
                if !apps.contains(app) {
                    apps.push(app.clone());
                }
            }
            let pointer = if single {
                String::new()
            } else {
                format!("{prefix}/{i}")
            };
            sink(to_finding(&scanner, pointer, raw));
        }
        if apps.len() == 1 {
            meta.target = apps.pop();
        }
        Ok(meta)
    }
}

#[derive(Deserialize)]
struct Page {
    #[serde(default, deserialize_with = "some_list")]
    security_findings: Option<Vec<DtFinding>>,
}

/// Present (even `null`) → `Some(list)`; absent → `None` (through `#[serde(default)]`).
fn some_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Vec<DtFinding>>, D::Error> {
    null_as_empty(d).map(Some)
}

#[derive(Deserialize, Default)]
struct DtFinding {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    issue_type_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    mobile_app_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    aggregated_status: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    is_permanently_closed: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    title: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    description_intro: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    description: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    recommendation: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    secure_code: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    severity: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    category: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_f64")]
    cvss_score: Option<f64>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    cvss_vector: Option<String>,
    /// The API documentation's spelling.
    #[serde(
        default,
        rename = "cvss_Vecotr",
        deserialize_with = "lenient::opt_string"
    )]
    cvss_vecotr: Option<String>,
    #[serde(default, deserialize_with = "lenient::string_list")]
    associated_cwe_ids: Vec<String>,
    #[serde(default, deserialize_with = "lenient::string_list")]
    associated_cve_ids: Vec<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    compliance_policy_references: Vec<ComplianceRef>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    portal_url: Option<String>,
    /// Only in findings served by a Tollgate hub.
    #[serde(default)]
    tollgate: Option<TollgateExtra>,
}

#[derive(Deserialize, Default)]
struct TollgateExtra {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    fingerprint: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    severity: Option<String>,
}

#[derive(Deserialize, Default)]
struct ComplianceRef {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    link: Option<String>,
}

fn to_finding(scanner: &Scanner, pointer: String, d: DtFinding) -> Finding {
    let rule_id = d
        .issue_type_id
        .clone()
        .or_else(|| d.id.clone())
        .unwrap_or_default();
    let title = d
        .title
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map_or_else(|| format!("Data Theorem finding {rule_id}"), str::to_string);
    let mut f = Finding::new(scanner.clone(), rule_id, title);
    f.source = crate::source(Format::DataTheorem, pointer);
    f.category = Category::Mobile;

    f.description = join_texts([d.description_intro.as_deref(), d.description.as_deref()]);
    f.recommendation = join_texts([d.recommendation.as_deref(), d.secure_code.as_deref()]);
    if let Some(url) = &d.portal_url {
        f.add_reference(url.as_str());
    }
    for r in &d.compliance_policy_references {
        if let Some(l) = &r.link {
            f.add_reference(l.as_str());
        }
    }

    let vector = d.cvss_vector.as_deref().or(d.cvss_vecotr.as_deref());
    if let Some(c) = Cvss::new(vector, d.cvss_score, None) {
        f.cvss.push(c);
    }
    f.scanner_severity = d.severity.clone();
    let word = d.severity.as_deref().and_then(Severity::from_word);
    let score = f.cvss_score();
    f.severity = match (word, score) {
        (Some(_), Some(s)) if s >= 9.0 => Severity::Critical,
        (Some(w), _) => w,
        (None, Some(s)) => Severity::from_cvss(s),
        (None, None) => Severity::Medium,
    };
    let hub = d.tollgate.as_ref();
    if let Some(s) = hub
        .and_then(|t| t.severity.as_deref())
        .and_then(Severity::from_word)
    {
        f.severity = s;
    }

    for c in &d.associated_cwe_ids {
        if let Some(n) = parse_cwe(c) {
            f.add_cwe(n);
        }
    }
    for v in &d.associated_cve_ids {
        f.add_vulnerability_id(v.as_str());
    }
    for t in title_tags(&f.title, d.category.as_deref()) {
        f.tag(t);
    }

    let closed = d
        .aggregated_status
        .as_deref()
        .is_some_and(|s| s.trim().to_ascii_uppercase().starts_with("CLOSED"));
    f.suppressed = closed || d.is_permanently_closed == Some(true);
    f.location.target = d.mobile_app_id.clone();

    let (kind, id) = match (&d.issue_type_id, &d.id) {
        (Some(t), _) => ("issue_type", t.as_str()),
        (None, Some(i)) => ("id", i.as_str()),
        (None, None) => ("title", f.title.as_str()),
    };
    let from_hub = hub
        .and_then(|t| t.fingerprint.as_deref())
        .and_then(|fp| Fingerprint::parse(fp.trim()));
    f.fingerprint = from_hub.unwrap_or_else(|| {
        FingerprintBuilder::new("datatheorem")
            .opt(d.mobile_app_id.as_deref())
            .part(kind)
            .part(id)
            .finish()
    });
    f
}

fn join_texts<const N: usize>(parts: [Option<&str>; N]) -> Option<String> {
    let kept: Vec<&str> = parts
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    (!kept.is_empty()).then(|| kept.join("\n\n"))
}

/// Conservative tags from the title (and the API category where it disambiguates).
fn title_tags(title: &str, category: Option<&str>) -> Vec<Tag> {
    let t = title.to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| t.contains(w));
    let in_transit = category.is_some_and(|c| c.eq_ignore_ascii_case("DATA_IN_TRANSIT_EXPOSURE"));
    let mut tags = Vec::new();
    if in_transit
        && has(&[
            "cleartext",
            "clear text",
            "clear-text",
            "http ",
            "http)",
            "unencrypted",
            "plaintext",
        ])
        || has(&[
            "cleartext traffic",
            "cleartext http",
            "app transport security",
            "arbitrary loads",
        ])
    {
        tags.push(Tag::CleartextTraffic);
    }
    if has(&[
        "certificate validation",
        "hostname validation",
        "hostname verification",
        "ssl validation",
        "tls validation",
        "trust all",
        "trusts all",
        "certificate verification",
    ]) {
        tags.push(Tag::InsecureTls);
    }
    if has(&[
        "logging",
        "logs sensitive",
        "logcat",
        "written to log",
        "to the log",
    ]) {
        tags.push(Tag::SensitiveLogging);
    }
    if has(&["hardcoded", "hard-coded", "hard coded"])
        && has(&["key", "secret", "password", "credential", "token"])
    {
        tags.push(Tag::HardcodedSecret);
    }
    if has(&[
        "allowbackup",
        "backup enabled",
        "allows backup",
        "backups enabled",
        "app data backup",
    ]) {
        tags.push(Tag::BackupEnabled);
    }
    if has(&["debuggable"]) {
        tags.push(Tag::Debuggable);
    }
    if has(&["sql injection", "command injection", "javascript injection"]) {
        tags.push(Tag::Injection);
    }
    if has(&["cross-site scripting", "xss"]) {
        tags.push(Tag::Xss);
    }
    if has(&[
        "weak cipher",
        "weak crypto",
        "weak hash",
        "ecb mode",
        "insecure cipher",
        "md5",
        "sha1 ",
        "sha-1",
    ]) {
        tags.push(Tag::WeakCrypto);
    }
    if has(&["insecure random", "predictable random", "weak random"]) {
        tags.push(Tag::InsecureRandom);
    }
    if has(&[
        "world readable",
        "world-readable",
        "world writable",
        "world-writable",
        "external storage",
    ]) {
        tags.push(Tag::InsecureStorage);
    }
    if has(&["exported"]) && has(&["activity", "service", "receiver", "provider", "component"]) {
        tags.push(Tag::ExportedComponent);
    }
    tags
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse_to_vec, ErrorKind};

    const LIST: &str = include_str!("../tests/fixtures/datatheorem/list-page.json");
    const SINGLE: &str = include_str!("../tests/fixtures/datatheorem/single-closed.json");
    const LOOSE: &str = include_str!("../tests/fixtures/datatheorem/loose-types.json");

    fn parse(input: &str) -> (ReportMeta, Vec<Finding>) {
        parse_to_vec(input.as_bytes(), Some(Format::DataTheorem)).unwrap()
    }

    #[test]
    fn snapshots() {
        for (name, input) in [("list", LIST), ("single", SINGLE), ("loose", LOOSE)] {
            let (meta, findings) = parse(input);
            insta::assert_json_snapshot!(format!("datatheorem_{name}_meta"), meta);
            insta::assert_json_snapshot!(format!("datatheorem_{name}"), findings);
        }
    }

    #[test]
    fn detects_fixtures() {
        for input in [LIST, SINGLE, LOOSE] {
            assert_eq!(
                crate::detect(input.as_bytes()).unwrap(),
                Format::DataTheorem
            );
        }
    }

    #[test]
    fn list_page_maps_fields() {
        let (meta, f) = parse(LIST);
        assert_eq!(f.len(), 3);
        assert_eq!(meta.target.as_deref(), Some("1234"));
        let a = &f[0];
        assert_eq!(a.rule_id, "2c1f6a1e-0000-4000-8000-00000000a001");
        assert_eq!(a.severity, Severity::Medium);
        assert_eq!(
            a.cvss[0].vector.as_deref(),
            Some("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:L/I:N/A:N")
        );
        assert_eq!(a.cvss[0].score, Some(5.0));
        assert_eq!(a.vulnerability_ids, vec!["CVE-2000-1909"]);
        assert_eq!(a.location.target.as_deref(), Some("1234"));
        assert!(a.has_tag(Tag::CleartextTraffic));
        assert!(!a.suppressed);
        // CVSS >= 9 raises HIGH to Critical; CWE-099 reads as 99
        assert_eq!(f[1].severity, Severity::Critical);
        assert_eq!(f[1].cwe, vec![99, 798]);
        assert!(f[1].has_tag(Tag::HardcodedSecret));
        // CLOSED_* is suppressed
        assert!(f[2].suppressed);
        assert!(f[2].has_tag(Tag::SensitiveLogging));
        assert_ne!(f[0].fingerprint, f[2].fingerprint);
    }

    #[test]
    fn single_and_loose_types() {
        let (_, f) = parse(SINGLE);
        assert_eq!(f.len(), 1);
        assert!(f[0].suppressed);
        assert_eq!(f[0].source.pointer, "");
        let (_, f) = parse(LOOSE);
        assert_eq!(f.len(), 2);
        // cvss_Vecotr + score as string
        assert_eq!(f[0].cvss[0].score, Some(7.5));
        assert_eq!(f[0].severity, Severity::High);
        // is_permanently_closed as "true"; no issue_type_id: fingerprint from id
        assert!(f[1].suppressed);
        assert_eq!(f[1].rule_id, "9001");
        // no severity word: from the vector's computed score
        assert_eq!(
            f[1].severity,
            Severity::from_cvss(f[1].cvss[0].score.unwrap())
        );
    }

    #[test]
    fn fingerprint_ignores_status_and_dates() {
        let (_, a) = parse(LIST);
        let changed = LIST
            .replace("\"NEW\"", "\"OPEN\"")
            .replace("2016-11-02", "2024-01-01");
        let (_, b) = parse(&changed);
        assert_eq!(a[0].fingerprint, b[0].fingerprint);
    }

    #[test]
    fn tollgate_hub_fingerprint_and_severity_win() {
        let with = |extra: &str| {
            format!(
                r#"{{"security_findings": [{{"id": "5", "mobile_app_id": "7", "issue_type_id": "t-1",
                  "title": "Hard-coded AWS key", "severity": "HIGH", "aggregated_status": "OPEN"{extra}}}]}}"#
            )
        };
        let hub = |fingerprint: &str, severity: &str| {
            with(&format!(
                r#", "tollgate": {{"fingerprint": "{fingerprint}", "severity": "{severity}"}}"#
            ))
        };
        let fp = "0123456789abcdef0123456789abcdef";
        let (_, f) = parse(&hub(fp, "critical"));
        assert_eq!(f[0].fingerprint.as_str(), fp);
        assert_eq!(f[0].severity, Severity::Critical);
        assert_eq!(f[0].scanner_severity.as_deref(), Some("HIGH"));
        let (_, f) = parse(&hub(fp, "info"));
        assert_eq!(f[0].severity, Severity::Info);
        // not a fingerprint, not a severity: the Data Theorem recipe and word
        let (_, plain) = parse(&with(""));
        assert_ne!(plain[0].fingerprint.as_str(), fp);
        let (_, f) = parse(&hub("not-a-fingerprint", "bogus"));
        assert_eq!(f[0].fingerprint, plain[0].fingerprint);
        assert_eq!(f[0].severity, Severity::High);
        let (_, f) = parse(&hub(&fp.to_uppercase(), "high"));
        assert_eq!(f[0].fingerprint, plain[0].fingerprint);
        // null is absent
        let (_, f) = parse(&with(r#", "tollgate": null"#));
        assert_eq!(f[0].fingerprint, plain[0].fingerprint);
    }

    #[test]
    fn error_cases() {
        let e = parse_to_vec(br#"{"foo": 1}"#, Some(Format::DataTheorem)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Shape);
        assert_eq!(e.path.as_deref(), Some("$"));
        let e = parse_to_vec(
            br#"{"security_findings": [{"id": "1", "compliance_policy_references": 5}]}"#,
            Some(Format::DataTheorem),
        )
        .unwrap_err();
        assert_eq!(
            e.path.as_deref(),
            Some("$.security_findings[0].compliance_policy_references")
        );
        let e = parse_to_vec(br#""text""#, Some(Format::DataTheorem)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Shape);
        let (_, f) = parse(r#"{"security_findings": null, "pagination_information": {}}"#);
        assert!(f.is_empty());
    }
}
