//! DefectDojo "Generic Findings Import" JSON: `{"findings": [...]}`, optionally with the
//! top-level `name`, `type`, `version`, `description`.
//!
//! One finding per entry of `findings`.
//!
//! - Scanner: the report's `type` (else `name`), lower-cased, when it names one; else `generic`.
//!   Version from `version`.
//! - `rule_id` = `vuln_id_from_tool`, else the first CVE / vulnerability id, else the title.
//!   `title` (else `vuln_id_from_tool`), `description` (+ `impact`), `recommendation` =
//!   `mitigation`, references from `references` (one per line).
//! - Severity: `severity` (`Critical`/`High`/`Medium`/`Low`/`Info`), else from the CVSS score
//!   (`cvssv3_score`, `cvssv4_score` or the computed score of `cvssv3`/`cvssv4`), else Info.
//! - Ids: `cve` and `vulnerability_ids` (strings or `{vulnerability_id}` objects); `cwe`.
//! - Location: `file_path`, `line`, component (`component_name`/`component_version` →
//!   package), first endpoint → url. Category: `sca` when a component is named, `dast` when the
//!   finding is dynamic (`dynamic_finding` or endpoints without a file), else `sast`.
//! - `suppressed` = `false_p`, `out_of_scope` or `is_mitigated` true, or `active` false.
//!   `verified` true → confidence High. DefectDojo free-form `tags` equal to a taxonomy tag name
//!   (`xss`, `weak-crypto` …) are kept.
//!
//! Fingerprint (family `generic-findings`): scanner name + `unique_id_from_tool` when present;
//! else scanner name + title + normalized `file_path` + component name and version +
//! `vuln_id_from_tool` + host and path of the first endpoint (no scheme, no query). Never
//! `line` or `date`.

use serde::Deserialize;
use serde_json::Value;
use tollgate_model::{
    parse_cwe, Category, Confidence, Cvss, Finding, FingerprintBuilder, Package, ReportMeta,
    Scanner, Severity, Tag,
};

use crate::json::{self, lenient};
use crate::semgrep::{line_number, null_as_empty};
use crate::sniff::Shape;
use crate::{Format, ParseError, Parser, Sniff};

pub struct GenericParser;

impl Parser for GenericParser {
    fn format(&self) -> Format {
        Format::Generic
    }

    fn detect(&self, sniff: &Sniff) -> bool {
        sniff.shape() == Shape::JsonObject
            && sniff.has("findings")
            // other tools' `findings` lists (not DefectDojo's) carry none of its item keys
            && (sniff.has("findings[].title")
                || sniff.has("findings[].severity")
                || sniff.has("findings[].unique_id_from_tool")
                // An empty list names no tool unless the report does (`name`, `type`).
                || (!sniff.has("findings[].id")
                    && (sniff.has_under("findings") || sniff.has("name") || sniff.has("type"))))
    }

    fn parse(&self, input: &str, sink: &mut dyn FnMut(Finding)) -> Result<ReportMeta, ParseError> {
        if !input.trim_start().starts_with('{') {
            return Err(ParseError::shape(
                "$",
                "expected an object with a \"findings\" list (DefectDojo Generic Findings Import)",
            ));
        }
        let report: Report = json::from_str(input)?;
        let name = report
            .r#type
            .as_deref()
            .or(report.name.as_deref())
            .map(|n| n.trim().to_lowercase())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "generic".to_string());
        let scanner = Scanner::new(name, report.version.clone());
        let mut meta = ReportMeta::new(Format::Generic.id());
        meta.add_scanner(&scanner);
        for (i, item) in report.findings.into_iter().enumerate() {
            sink(to_finding(&scanner, i, item));
        }
        Ok(meta)
    }
}

#[derive(Deserialize)]
struct Report {
    #[serde(deserialize_with = "null_as_empty")]
    findings: Vec<Item>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    r#type: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    version: Option<String>,
}

#[derive(Deserialize, Default)]
struct Item {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    title: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    description: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    severity: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    mitigation: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    impact: Option<String>,
    #[serde(default, deserialize_with = "lenient::string_list")]
    references: Vec<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    cve: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    cwe: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    cvssv3: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_f64")]
    cvssv3_score: Option<f64>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    cvssv4: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_f64")]
    cvssv4_score: Option<f64>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    file_path: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_f64")]
    line: Option<f64>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    component_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    component_version: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    vuln_id_from_tool: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    unique_id_from_tool: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    active: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    verified: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    false_p: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    out_of_scope: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    is_mitigated: Option<bool>,
    #[serde(default, deserialize_with = "lenient::opt_bool")]
    dynamic_finding: Option<bool>,
    #[serde(default, deserialize_with = "lenient::string_list")]
    tags: Vec<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    endpoints: Vec<Value>,
    /// DefectDojo reads a string or a list (of strings; older writers put objects).
    #[serde(default, deserialize_with = "one_or_list")]
    vulnerability_ids: Vec<Value>,
}

fn one_or_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Value>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items,
        Some(one) => vec![one],
    })
}

fn text(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn to_finding(scanner: &Scanner, index: usize, item: Item) -> Finding {
    let mut ids: Vec<String> = Vec::new();
    for id in text(&item.cve).into_iter().map(str::to_string).chain(
        item.vulnerability_ids.iter().filter_map(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Object(o) => o
                .get("vulnerability_id")
                .and_then(Value::as_str)
                .map(str::to_string),
            _ => None,
        }),
    ) {
        let id = id.trim().to_string();
        if !id.is_empty() && !ids.contains(&id) {
            ids.push(id);
        }
    }
    let title = text(&item.title)
        .or(text(&item.vuln_id_from_tool))
        .or(ids.first().map(String::as_str))
        .unwrap_or("Untitled finding")
        .to_string();
    let rule_id = text(&item.vuln_id_from_tool)
        .or(ids.first().map(String::as_str))
        .unwrap_or(&title)
        .to_string();
    let mut f = Finding::new(scanner.clone(), rule_id, title);
    f.source = crate::source(Format::Generic, format!("/findings/{index}"));
    for id in &ids {
        f.add_vulnerability_id(id.as_str());
    }

    f.description = match (text(&item.description), text(&item.impact)) {
        (Some(d), Some(i)) => Some(format!("{d}\n\nImpact: {i}")),
        (Some(d), None) => Some(d.to_string()),
        (None, Some(i)) => Some(format!("Impact: {i}")),
        (None, None) => None,
    };
    f.recommendation = text(&item.mitigation).map(str::to_string);
    for refs in &item.references {
        for line in refs.lines() {
            let line = line.trim().trim_start_matches(['-', '*']).trim();
            if !line.is_empty() {
                f.add_reference(line);
            }
        }
    }
    if let Some(n) = text(&item.cwe).and_then(parse_cwe) {
        f.add_cwe(n);
    }
    if let Some(c) = Cvss::new(text(&item.cvssv3), item.cvssv3_score, None) {
        f.cvss.push(c);
    }
    if let Some(c) = Cvss::new(
        text(&item.cvssv4),
        item.cvssv4_score,
        Some(tollgate_model::CvssVersion::V40),
    ) {
        f.cvss.push(c);
    }
    f.scanner_severity = text(&item.severity).map(str::to_string);
    f.severity = text(&item.severity)
        .and_then(Severity::from_word)
        .or_else(|| f.cvss_score().map(Severity::from_cvss))
        .unwrap_or(Severity::Info);
    if item.verified == Some(true) {
        f.confidence = Some(Confidence::High);
    }

    f.location.url = item.endpoints.iter().find_map(endpoint_url);
    f.location.file = text(&item.file_path).map(str::to_string);
    f.location.start_line = line_number(item.line);
    if let Some(name) = text(&item.component_name) {
        f.location.package = Some(Package {
            name: name.to_string(),
            installed_version: text(&item.component_version).map(str::to_string),
            ..Package::default()
        });
    }
    f.category = if f.location.package.is_some() {
        Category::Sca
    } else if item.dynamic_finding == Some(true)
        || (f.location.url.is_some() && f.location.file.is_none())
    {
        Category::Dast
    } else {
        Category::Sast
    };
    for t in &item.tags {
        if let Ok(tag) = t.parse::<Tag>() {
            f.tag(tag);
        }
    }
    f.suppressed = item.false_p == Some(true)
        || item.out_of_scope == Some(true)
        || item.is_mitigated == Some(true)
        || item.active == Some(false);

    f.fingerprint = match text(&item.unique_id_from_tool) {
        Some(uid) => FingerprintBuilder::new("generic-findings")
            .part(&scanner.name)
            .part("unique_id")
            .part(uid),
        None => FingerprintBuilder::new("generic-findings")
            .part(&scanner.name)
            .part(&f.title)
            .path(text(&item.file_path))
            .opt(text(&item.component_name))
            .opt(text(&item.component_version))
            .opt(text(&item.vuln_id_from_tool))
            .opt(f.location.url.as_deref().map(url_identity).as_deref()),
    }
    .finish();
    f
}

/// Host and path of a URL, without scheme, query or fragment.
fn url_identity(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let end = rest.find(['?', '#']).unwrap_or(rest.len());
    rest[..end].to_string()
}

/// A DefectDojo endpoint: a URL string, or `{protocol, host, port, path, query}`.
fn endpoint_url(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Value::Object(o) => {
            let get = |k: &str| match o.get(k) {
                Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
                Some(Value::Number(n)) => Some(n.to_string()),
                _ => None,
            };
            let host = get("host")?;
            let mut url = String::new();
            if let Some(p) = get("protocol") {
                url.push_str(&p);
                url.push_str("://");
            }
            url.push_str(&host);
            if let Some(port) = get("port") {
                url.push(':');
                url.push_str(&port);
            }
            if let Some(path) = get("path") {
                if !path.starts_with('/') {
                    url.push('/');
                }
                url.push_str(&path);
            }
            if let Some(q) = get("query") {
                url.push('?');
                url.push_str(&q);
            }
            Some(url)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse_to_vec, ErrorKind};

    const BASIC: &str = include_str!("../tests/fixtures/generic/findings.json");
    const NAMED: &str = include_str!("../tests/fixtures/generic/named-tool.json");

    fn parse(input: &str) -> (ReportMeta, Vec<Finding>) {
        parse_to_vec(input.as_bytes(), Some(Format::Generic)).unwrap()
    }

    #[test]
    fn snapshots() {
        for (name, input) in [("findings", BASIC), ("named_tool", NAMED)] {
            let (meta, findings) = parse(input);
            insta::assert_json_snapshot!(format!("generic_{name}_meta"), meta);
            insta::assert_json_snapshot!(format!("generic_{name}"), findings);
        }
    }

    #[test]
    fn detects_fixtures() {
        for input in [
            BASIC,
            NAMED,
            r#"{"name": "Acme", "findings": []}"#,
            r#"{"type": "Acme", "findings": []}"#,
        ] {
            assert_eq!(crate::detect(input.as_bytes()).unwrap(), Format::Generic);
        }
        // An empty list that names no tool is not guessed.
        assert_eq!(
            crate::detect(br#"{"findings": []}"#).unwrap_err().kind,
            crate::ErrorKind::Ambiguous
        );
    }

    #[test]
    fn vulnerability_ids_may_be_one_string() {
        let (_, f) = parse(
            r#"{"findings": [{"title": "t", "severity": "High", "description": "d",
                "vulnerability_ids": "CVE-2021-44228"}]}"#,
        );
        assert_eq!(f[0].vulnerability_ids, ["CVE-2021-44228"]);
    }

    #[test]
    fn maps_ids_severity_and_status() {
        let (meta, f) = parse(BASIC);
        assert_eq!(meta.scanners[0].name, "generic");
        assert_eq!(f.len(), 4);
        let a = &f[0];
        assert_eq!(
            a.vulnerability_ids,
            vec!["CVE-2020-36234", "GHSA-5mrr-rgp6-x4gr", "OSV-2021-1234"]
        );
        assert_eq!(a.severity, Severity::High);
        assert_eq!(a.cwe, vec![261]);
        assert_eq!(a.category, Category::Sca);
        assert_eq!(a.confidence, Some(Confidence::High));
        assert!(a.has_tag(Tag::VulnerableDependency));
        // no severity word: from cvssv3 (computed)
        assert_eq!(
            f[1].severity,
            Severity::from_cvss(f[1].cvss[0].score.unwrap())
        );
        assert!(f[1].suppressed); // false_p
        assert!(f[2].suppressed); // active: "false"
        assert_eq!(f[2].category, Category::Dast);
        assert_eq!(
            f[2].location.url.as_deref(),
            Some("https://shop.example:8443/login?next=x")
        );
        assert_eq!(f[3].severity, Severity::Info);
        assert_eq!(url_identity("https://a.example:1/x?y=1#z"), "a.example:1/x");
        assert!(f[3].has_tag(Tag::Xss));
    }

    #[test]
    fn fingerprints_prefer_unique_id_and_ignore_lines() {
        let (_, a) = parse(BASIC);
        let moved = BASIC
            .replace("\"line\": 42", "\"line\": 99")
            .replace("2021-01-06", "2025-01-01");
        let (_, b) = parse(&moved);
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x.fingerprint, y.fingerprint);
        }
        let retitled = BASIC.replace("Prototype pollution in lodash", "Renamed");
        let (_, c) = parse(&retitled);
        // f[0] has a unique_id_from_tool: the title does not matter
        assert_eq!(a[0].fingerprint, c[0].fingerprint);
    }

    #[test]
    fn named_tool() {
        let (meta, f) = parse(NAMED);
        assert_eq!(meta.scanners[0].name, "acme scanner");
        assert_eq!(meta.scanners[0].version.as_deref(), Some("2.3.1"));
        assert_eq!(f[0].scanner.name, "acme scanner");
    }

    #[test]
    fn error_cases() {
        let e = parse_to_vec(br#"{"items": []}"#, Some(Format::Generic)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Shape);
        assert!(e.message.contains("findings"), "{e}");
        let e = parse_to_vec(br#"[{"title": "x"}]"#, Some(Format::Generic)).unwrap_err();
        assert_eq!(e.path.as_deref(), Some("$"));
        let e = parse_to_vec(
            br#"{"findings": [{"title": "x"}, 5]}"#,
            Some(Format::Generic),
        )
        .unwrap_err();
        assert_eq!(e.path.as_deref(), Some("$.findings[1]"));
    }
}
