//! GitLab security reports (schema v2.x–v15): SAST (`gl-sast-report.json`: semgrep, bandit,
//! eslint, find_sec_bugs, njsscan, checkov, kics …) and Secret Detection
//! (`gl-secret-detection-report.json`). One finding per entry of `vulnerabilities`.
//!
//! - Detection, from the shape of schemas 2.x–15.x: an object with `vulnerabilities` and either
//!   a `scan` block, GitLab's identifier list (`vulnerabilities[].identifiers[].type`), or a
//!   schema `version` with only the schema's top-level keys beside it. `scan.type` `sast` /
//!   `secret_detection` decides; without it (old schemas, a clean report, or `scan` beyond the
//!   sniffed head) the first vulnerability's `category`, a `raw_source_code_extract`, or the
//!   locations tell the type, and an empty report is an empty SAST report. Other GitLab report
//!   types (dependency/container scanning, DAST) are not claimed.
//! - rule_id: the first identifier whose type is scanner-specific (`semgrep_id`, `semgrep_type`,
//!   `bandit_test_id`, `gitleaks_rule_id`, `checkov`, `find_sec_bugs_type` …; not `cwe`, `cve`,
//!   `owasp` …): its value, or its name when the value is prose (njsscan puts the message there).
//!   Else the vulnerability name, else its id.
//! - Scanner: the vulnerability's `scanner.id`, else `scan.scanner.id`, else the tool named by the
//!   identifier type (`bandit_test_id` → bandit), lower-case; version from `scan.scanner`.
//! - Severity: Critical/High/Medium/Low/Info verbatim. `Unknown` (or none): **Medium** for IaC
//!   scanners (checkov, kics: open-source checkov never rates its checks, and a failed check is a
//!   real misconfiguration — DefectDojo's Checkov default), **Info** otherwise (GitLab's own
//!   meaning: the analyzer did not rate it; mostly lint rules such as eslint).
//! - Category: `secret` for Secret Detection reports and for secret scanners inside a SAST report
//!   (gitleaks, trufflehog, detect-secrets); `iac` for checkov/kics/tfsec/terrascan; else `sast`.
//! - Secrets: `raw_source_code_extract` is the secret itself. It becomes `finding.secret`
//!   (redacted), the snippet is its placeholder, and it is scrubbed from title and description.
//!
//! Fingerprint: GitLab's `id` and `cve` are not usable (random UUIDs, line numbers, or hashes of
//! whole files depending on the analyzer). SAST (family `gitlab-sast`): scanner + rule id +
//! normalized file + a code-anchored part: GitLab's tracking signature of algorithm `hash` when
//! present, else `class#method` of the location; never line numbers. Secrets (family `secret`
//! for Secret Detection, i.e. the same family as the Gitleaks recipe but a different part list):
//! rule id + normalized file + the first 16 hex digits of the secret's SHA-256 (from
//! `raw_source_code_extract`, or the SHA-256 GitLab's gitleaks analyzer writes in
//! `cve = file:<sha256(secret)>:rule`).

use std::borrow::Cow;

use serde::Deserialize;
use tollgate_model::{
    parse_cwe, redact_in, Category, Confidence, Finding, FingerprintBuilder, RedactedSecret,
    ReportMeta, Scanner, Severity, Tag,
};

use crate::json::{self, lenient};
use crate::sniff::Shape;
use crate::{Format, ParseError, Parser, Sniff};

pub struct SecretDetectionParser;

impl Parser for SecretDetectionParser {
    fn format(&self) -> Format {
        Format::GitlabSecretDetection
    }

    fn detect(&self, sniff: &Sniff) -> bool {
        report_type(sniff) == Some(ReportType::SecretDetection)
    }

    fn parse(&self, input: &str, sink: &mut dyn FnMut(Finding)) -> Result<ReportMeta, ParseError> {
        parse_report(input, Format::GitlabSecretDetection, sink)
    }
}

pub struct SastParser;

impl Parser for SastParser {
    fn format(&self) -> Format {
        Format::GitlabSast
    }

    fn detect(&self, sniff: &Sniff) -> bool {
        report_type(sniff) == Some(ReportType::Sast)
    }

    fn parse(&self, input: &str, sink: &mut dyn FnMut(Finding)) -> Result<ReportMeta, ParseError> {
        parse_report(input, Format::GitlabSast, sink)
    }
}

/// What kind of GitLab security report the sniffed head is, if it is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReportType {
    Sast,
    SecretDetection,
    /// Dependency or container scanning, DAST, …: not read here.
    Other,
}

/// The top-level keys of GitLab's security report schemas 2.x–15.x: `version` and
/// `vulnerabilities` throughout, `remediations` (optional from 15.0), `dependency_files`
/// (dependency scanning), `scan` (optional from 2.3, required from 14.0), `schema`.
const TOP_LEVEL_KEYS: &[&str] = &[
    "version",
    "vulnerabilities",
    "remediations",
    "dependency_files",
    "scan",
    "schema",
];

/// `2.0`, `2.4`, `14.0.4`, `15.0.7`: a version of GitLab's report schemas (2.x onwards).
fn is_schema_version(v: &str) -> bool {
    let mut parts = v.trim().split('.');
    let major = parts.next().and_then(|m| m.parse::<u32>().ok());
    let rest_ok = parts.all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    v.trim().contains('.') && rest_ok && major.is_some_and(|m| (2..100).contains(&m))
}

/// A GitLab security report is told by its shape: an object with a `vulnerabilities` list and
/// either GitLab's `scan` block, its identifier list, or a schema `version` with only the
/// schema's top-level keys beside it (a clean scan: `{"version": "15.0.4", "vulnerabilities":
/// [], "remediations": []}`). Its type is `scan.type`; without one, what its vulnerabilities and
/// top-level keys say; an empty report without `scan.type` is an empty SAST report (what GitLab's
/// SAST analyzers write on a clean scan).
fn report_type(sniff: &Sniff) -> Option<ReportType> {
    if sniff.shape() != Shape::JsonObject || !sniff.has("vulnerabilities") {
        return None;
    }
    let schema_shape = sniff.value("version").is_some_and(is_schema_version)
        && sniff.top_keys().all(|k| TOP_LEVEL_KEYS.contains(&k));
    let gitlab = schema_shape
        || sniff.has("scan.type")
        || sniff.has("scan.scanner.id")
        || sniff.has("vulnerabilities[].identifiers[].type");
    if !gitlab {
        return None;
    }
    if let Some(t) = sniff.value("scan.type") {
        return Some(match t {
            "sast" => ReportType::Sast,
            "secret_detection" => ReportType::SecretDetection,
            _ => ReportType::Other,
        });
    }
    match sniff.value("vulnerabilities[].category") {
        Some("secret_detection") => return Some(ReportType::SecretDetection),
        // GitLab's SAST schema allows a `dependency` beside the file: the category decides.
        Some("sast") if !sniff.has("vulnerabilities[].raw_source_code_extract") => {
            return Some(ReportType::Sast)
        }
        Some("sast") | None => {}
        Some(_) => return Some(ReportType::Other),
    }
    if sniff.has("vulnerabilities[].raw_source_code_extract") {
        return Some(ReportType::SecretDetection);
    }
    // Dependency scanning: its dependency list, or a named package without a line (SAST
    // locations may carry an empty `dependency` beside their lines); container scanning: an
    // image; DAST: a host.
    let other = sniff.has("dependency_files")
        || (sniff.has("vulnerabilities[].location.dependency.package.name")
            && !sniff.has("vulnerabilities[].location.start_line"))
        || sniff.has("vulnerabilities[].location.image")
        || sniff.has("vulnerabilities[].location.operating_system")
        || sniff.has("vulnerabilities[].location.hostname");
    if other {
        return Some(ReportType::Other);
    }
    let identified = sniff.has("vulnerabilities[].identifiers[].type");
    let empty = !sniff.has_under("vulnerabilities");
    (identified || (schema_shape && (empty || sniff.has("vulnerabilities[].location.file"))))
        .then_some(ReportType::Sast)
}

// ---- report shape ----

#[derive(Deserialize)]
struct Report<'a> {
    /// Absent: not this format; `null`: no findings.
    #[serde(default, borrow, deserialize_with = "present_list")]
    vulnerabilities: Option<Vec<Vulnerability<'a>>>,
    #[serde(default, borrow)]
    scan: Option<Scan<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Scan<'a> {
    #[serde(borrow)]
    scanner: Option<ScannerInfo<'a>>,
    #[serde(borrow)]
    analyzer: Option<ScannerInfo<'a>>,
    #[serde(rename = "type", borrow)]
    scan_type: Option<Cow<'a, str>>,
    #[serde(borrow)]
    status: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ScannerInfo<'a> {
    #[serde(borrow)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(deserialize_with = "lenient::opt_string")]
    version: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Vulnerability<'a> {
    #[serde(deserialize_with = "lenient::opt_string")]
    id: Option<String>,
    #[serde(borrow)]
    category: Option<Cow<'a, str>>,
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    message: Option<Cow<'a, str>>,
    #[serde(borrow)]
    description: Option<Cow<'a, str>>,
    #[serde(borrow)]
    cve: Option<Cow<'a, str>>,
    #[serde(borrow)]
    severity: Option<Cow<'a, str>>,
    #[serde(borrow)]
    confidence: Option<Cow<'a, str>>,
    #[serde(borrow)]
    solution: Option<Cow<'a, str>>,
    #[serde(borrow)]
    scanner: Option<ScannerInfo<'a>>,
    #[serde(borrow)]
    location: Option<VulnLocation<'a>>,
    #[serde(deserialize_with = "null_as_empty", borrow)]
    identifiers: Vec<Identifier<'a>>,
    #[serde(deserialize_with = "null_as_empty", borrow)]
    links: Vec<Link<'a>>,
    details: Option<serde_json::Value>,
    #[serde(borrow)]
    raw_source_code_extract: Option<Cow<'a, str>>,
    #[serde(borrow)]
    tracking: Option<Tracking<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct VulnLocation<'a> {
    #[serde(borrow)]
    file: Option<Cow<'a, str>>,
    #[serde(deserialize_with = "lenient::opt_f64")]
    start_line: Option<f64>,
    #[serde(deserialize_with = "lenient::opt_f64")]
    end_line: Option<f64>,
    #[serde(borrow)]
    class: Option<Cow<'a, str>>,
    #[serde(borrow)]
    method: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Identifier<'a> {
    #[serde(rename = "type", borrow)]
    id_type: Option<Cow<'a, str>>,
    #[serde(deserialize_with = "lenient::opt_string")]
    name: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    value: Option<String>,
    #[serde(borrow)]
    url: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Link<'a> {
    #[serde(borrow)]
    url: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Tracking<'a> {
    #[serde(deserialize_with = "null_as_empty", borrow)]
    items: Vec<TrackingItem<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TrackingItem<'a> {
    #[serde(deserialize_with = "null_as_empty", borrow)]
    signatures: Vec<Signature<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Signature<'a> {
    #[serde(borrow)]
    algorithm: Option<Cow<'a, str>>,
    #[serde(borrow)]
    value: Option<Cow<'a, str>>,
}

fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

fn present_list<'de, D, T>(d: D) -> Result<Option<Vec<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Some(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default()))
}

// ---- normalization ----

/// Identifier types that name a weakness or advisory, not the scanner's rule.
const GENERIC_IDENTIFIER_TYPES: &[&str] = &[
    "cwe",
    "cve",
    "ghsa",
    "osv",
    "osvdb",
    "owasp",
    "wasc",
    "usn",
    "rhsa",
    "elsa",
    "rustsec",
    "gemnasium",
    "capec",
    "nist",
    "cis",
];
const VULNERABILITY_ID_TYPES: &[&str] = &[
    "cve", "ghsa", "osv", "osvdb", "usn", "rhsa", "elsa", "rustsec",
];
const SECRET_SCANNERS: &[&str] = &["gitleaks", "trufflehog", "detect-secrets", "detect_secrets"];
const IAC_SCANNERS: &[&str] = &["checkov", "kics", "tfsec", "terrascan"];

fn text<'s>(v: &'s Option<Cow<'_, str>>) -> Option<&'s str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn owned_text(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn line_number(v: Option<f64>) -> Option<u32> {
    v.filter(|n| n.is_finite() && *n >= 1.0 && *n <= f64::from(u32::MAX))
        .map(|n| n as u32)
}

/// `bandit_test_id` → `bandit`, `find_sec_bugs_type` → `find_sec_bugs`, `checkov` → `checkov`.
fn tool_of_identifier_type(t: &str) -> String {
    let t = t.to_ascii_lowercase();
    for suffix in ["_rule_id", "_test_id", "_rule_type", "_type", "_id"] {
        if let Some(stem) = t.strip_suffix(suffix) {
            if !stem.is_empty() {
                return stem.to_string();
            }
        }
    }
    t
}

fn is_generic_identifier(t: &str) -> bool {
    GENERIC_IDENTIFIER_TYPES
        .iter()
        .any(|g| t.eq_ignore_ascii_case(g))
}

/// The first scanner-specific identifier: (rule id, tool named by its type).
fn rule_identifier(ids: &[Identifier<'_>]) -> Option<(String, String)> {
    ids.iter().find_map(|id| {
        let t = text(&id.id_type)?;
        if is_generic_identifier(t) {
            return None;
        }
        let value = owned_text(&id.value);
        let name = owned_text(&id.name);
        // njsscan writes the rule's message as the value and the rule id as the name.
        let rule = match (value, name) {
            (Some(v), Some(n))
                if v.contains(char::is_whitespace) && !n.contains(char::is_whitespace) =>
            {
                n
            }
            (Some(v), _) => v,
            (None, Some(n)) => n,
            (None, None) => return None,
        };
        Some((rule.to_string(), tool_of_identifier_type(t)))
    })
}

/// Text some converters write when they have none (checkov's GitLab output:
/// "Further info can be found None").
fn is_placeholder_text(t: &str) -> bool {
    t == "Further info can be found None"
        || t.eq_ignore_ascii_case("none")
        || t.eq_ignore_ascii_case("n/a")
}

/// The first sentence of a long message, for a title.
fn headline(text: &str) -> String {
    let first = text.lines().next().unwrap_or(text).trim();
    let sentence = match first.find(". ") {
        Some(i) => &first[..i],
        None => first.trim_end_matches('.'),
    };
    if sentence.chars().count() > 120 {
        let cut: String = sentence.chars().take(117).collect();
        format!("{}…", cut.trim_end())
    } else {
        sentence.to_string()
    }
}

/// The 64-hex SHA-256 GitLab's gitleaks analyzer puts in `cve` (`file:<sha256>:rule`).
fn cve_secret_hash(cve: &str) -> Option<&str> {
    cve.split(':')
        .find(|p| p.len() == 64 && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn parse_report(
    input: &str,
    format: Format,
    sink: &mut dyn FnMut(Finding),
) -> Result<ReportMeta, ParseError> {
    let report: Report<'_> = json::from_str(input)?;
    let Some(vulnerabilities) = report.vulnerabilities else {
        return Err(ParseError::shape(
            "$.vulnerabilities",
            "not a GitLab security report: the \"vulnerabilities\" list is missing",
        ));
    };
    let scan = report.scan.unwrap_or_default();
    let scan_tool = scan.scanner.as_ref().or(scan.analyzer.as_ref());
    let scan_scanner = scan_tool.and_then(|s| {
        let id = text(&s.id).or(text(&s.name))?;
        Some(Scanner::new(id.to_ascii_lowercase(), s.version.clone()))
    });
    let mut meta = ReportMeta::new(format.id());
    if let Some(s) = &scan_scanner {
        meta.add_scanner(s);
    }
    if let Some(status) = text(&scan.status).filter(|s| !s.eq_ignore_ascii_case("success")) {
        meta.incomplete.push(format!(
            "the GitLab scan status is \"{status}\", not success"
        ));
    }
    let secret_report = format == Format::GitlabSecretDetection
        || text(&scan.scan_type) == Some("secret_detection");
    for (i, v) in vulnerabilities.iter().enumerate() {
        let f = vulnerability_finding(format, secret_report, scan_scanner.as_ref(), i, v);
        meta.add_scanner(&f.scanner);
        sink(f);
    }
    Ok(meta)
}

fn vulnerability_finding(
    format: Format,
    secret_report: bool,
    scan_scanner: Option<&Scanner>,
    i: usize,
    v: &Vulnerability<'_>,
) -> Finding {
    let rule = rule_identifier(&v.identifiers);
    let vuln_scanner = v
        .scanner
        .as_ref()
        .and_then(|s| text(&s.id).or(text(&s.name)))
        .map(str::to_ascii_lowercase);
    let scanner = match (vuln_scanner, scan_scanner) {
        (Some(id), Some(s)) if s.name == id => s.clone(),
        (Some(id), _) => Scanner::new(id, None),
        (None, Some(s)) => s.clone(),
        (None, None) => Scanner::new(
            rule.as_ref()
                .map(|(_, tool)| tool.clone())
                .unwrap_or_else(|| "gitlab".to_string()),
            None,
        ),
    };
    let rule_id = rule
        .map(|(r, _)| r)
        .or_else(|| text(&v.name).map(str::to_string))
        .or_else(|| owned_text(&v.id).map(str::to_string))
        .unwrap_or_else(|| "unknown".to_string());

    let category = if secret_report
        || text(&v.category) == Some("secret_detection")
        || SECRET_SCANNERS.contains(&scanner.name.as_str())
    {
        Category::Secret
    } else if IAC_SCANNERS.contains(&scanner.name.as_str()) {
        Category::Iac
    } else {
        Category::Sast
    };

    let secret = text(&v.raw_source_code_extract).filter(|_| category == Category::Secret);
    // The raw extract of a non-secret finding is code: keep it as the snippet.
    let snippet = match (secret, text(&v.raw_source_code_extract)) {
        (Some(s), _) => Some(RedactedSecret::new(s).placeholder()),
        (None, Some(code)) => Some(code.to_string()),
        (None, None) => None,
    };
    let scrub = |t: &str| match secret {
        Some(s) => redact_in(t, s),
        None => t.to_string(),
    };

    let title = text(&v.name)
        .map(str::to_string)
        .or_else(|| text(&v.message).map(headline))
        .or_else(|| text(&v.description).map(headline))
        .unwrap_or_else(|| rule_id.clone());
    let mut f = Finding::new(scanner.clone(), rule_id.clone(), scrub(&title));
    f.category = category;
    if category == Category::Secret {
        f.tag(Tag::HardcodedSecret);
    }

    f.scanner_severity = text(&v.severity).map(str::to_string);
    f.severity = match text(&v.severity) {
        Some(w) if !w.eq_ignore_ascii_case("unknown") && !w.eq_ignore_ascii_case("undefined") => {
            Severity::from_word(w).unwrap_or(Severity::Info)
        }
        _ if category == Category::Iac => Severity::Medium,
        _ => Severity::Info,
    };
    f.confidence = text(&v.confidence)
        .and_then(Confidence::from_word)
        .or_else(|| {
            let details = v.details.as_ref()?;
            let c = details.get("confidence")?;
            let word = c.get("value").unwrap_or(c).as_str()?;
            Confidence::from_word(word)
        });

    // Description: the long text, plus the message when it says something else.
    let mut desc = Vec::new();
    if let Some(d) = text(&v.description).filter(|d| !is_placeholder_text(d)) {
        desc.push(scrub(d));
    }
    if let Some(m) = text(&v.message) {
        let said = |t: Option<&str>| t.is_some_and(|t| t.contains(m));
        if !said(text(&v.description)) && text(&v.name) != Some(m) {
            desc.push(scrub(m));
        }
    }
    let location = v.location.as_ref();
    let class = location.and_then(|l| text(&l.class));
    let method = location.and_then(|l| text(&l.method));
    match (class, method) {
        (Some(c), Some(m)) => desc.push(format!("In {c}.{m}.")),
        (Some(c), None) => desc.push(format!("In {c}.")),
        (None, Some(m)) => desc.push(format!("In {m}.")),
        (None, None) => {}
    }
    if !desc.is_empty() {
        f.description = Some(desc.join("\n\n"));
    }
    f.recommendation = text(&v.solution)
        .filter(|s| !is_placeholder_text(s))
        .map(scrub);

    for id in &v.identifiers {
        let Some(t) = text(&id.id_type) else { continue };
        if t.eq_ignore_ascii_case("cwe") {
            if let Some(cwe) = owned_text(&id.value)
                .and_then(parse_cwe)
                .or_else(|| owned_text(&id.name).and_then(parse_cwe))
            {
                f.add_cwe(cwe);
            }
        } else if VULNERABILITY_ID_TYPES
            .iter()
            .any(|g| t.eq_ignore_ascii_case(g))
        {
            if let Some(value) = owned_text(&id.value).or(owned_text(&id.name)) {
                f.add_vulnerability_id(value);
            }
        }
        if let Some(url) = text(&id.url).filter(|u| u.starts_with("http")) {
            f.add_reference(url);
        }
    }
    for link in &v.links {
        if let Some(url) = text(&link.url).filter(|u| u.starts_with("http")) {
            f.add_reference(url);
        }
    }

    let file = location.and_then(|l| text(&l.file));
    f.location.file = file.map(str::to_string);
    f.location.start_line = location.and_then(|l| line_number(l.start_line));
    f.location.end_line = location.and_then(|l| line_number(l.end_line));
    f.location.snippet = snippet;

    f.fingerprint = if category == Category::Secret {
        let hash = secret
            .map(|s| RedactedSecret::new(s).sha256_prefix)
            .or_else(|| {
                text(&v.cve)
                    .and_then(cve_secret_hash)
                    .map(|h| h[..16].to_ascii_lowercase())
            });
        f.secret = secret.map(RedactedSecret::new);
        FingerprintBuilder::new("secret")
            .part(&rule_id)
            .path(file)
            .opt(hash.as_deref())
            .finish()
    } else {
        let anchor = v
            .tracking
            .as_ref()
            .and_then(|t| {
                t.items
                    .iter()
                    .flat_map(|i| i.signatures.iter())
                    .find_map(|s| {
                        (text(&s.algorithm) == Some("hash"))
                            .then(|| text(&s.value))
                            .flatten()
                    })
            })
            .map(str::to_string)
            .or_else(|| match (class, method) {
                (None, None) => None,
                (c, m) => Some(format!("{}#{}", c.unwrap_or(""), m.unwrap_or(""))),
            });
        FingerprintBuilder::new("gitlab-sast")
            .part(&scanner.name)
            .part(&rule_id)
            .path(file)
            .opt(anchor.as_deref())
            .finish()
    };
    f.source = crate::source(format, format!("/vulnerabilities/{i}"));
    f
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::ErrorKind;

    const SEMGREP: &[u8] = include_bytes!("../tests/fixtures/gitlab-sast/semgrep-v15.json");
    const SEMGREP_SHIFTED: &[u8] =
        include_bytes!("../tests/fixtures/gitlab-sast/semgrep-v15-shifted.json");
    const CHECKOV: &[u8] = include_bytes!("../tests/fixtures/gitlab-sast/checkov-v15.json");
    const V14: &[u8] = include_bytes!("../tests/fixtures/gitlab-sast/v14-no-scan.json");
    const NO_VULNS: &[u8] = include_bytes!("../tests/fixtures/gitlab-sast/no-vulnerabilities.json");
    const SECRETS: &[u8] = include_bytes!("../tests/fixtures/gitlab-secret-detection/v15.json");
    const SECRETS_V14: &[u8] =
        include_bytes!("../tests/fixtures/gitlab-secret-detection/v14-no-scan-type.json");

    fn parse(bytes: &[u8], format: Format) -> (ReportMeta, Vec<Finding>) {
        crate::parse_to_vec(bytes, Some(format)).unwrap()
    }

    fn fingerprints(findings: &[Finding]) -> BTreeSet<String> {
        findings.iter().map(|f| f.fingerprint.to_string()).collect()
    }

    #[test]
    fn snapshots() {
        for (name, bytes, format) in [
            ("gitlab_sast_semgrep_v15", SEMGREP, Format::GitlabSast),
            ("gitlab_sast_checkov_v15", CHECKOV, Format::GitlabSast),
            ("gitlab_sast_v14_no_scan", V14, Format::GitlabSast),
            (
                "gitlab_secret_detection_v15",
                SECRETS,
                Format::GitlabSecretDetection,
            ),
            (
                "gitlab_secret_detection_v14",
                SECRETS_V14,
                Format::GitlabSecretDetection,
            ),
        ] {
            let (meta, findings) = parse(bytes, format);
            insta::assert_json_snapshot!(
                name,
                serde_json::json!({"meta": meta, "findings": findings})
            );
        }
    }

    #[test]
    fn detection() {
        for input in [SEMGREP, SEMGREP_SHIFTED, CHECKOV, V14] {
            assert_eq!(crate::detect(input).unwrap(), Format::GitlabSast);
        }
        for input in [SECRETS, SECRETS_V14] {
            assert_eq!(crate::detect(input).unwrap(), Format::GitlabSecretDetection);
        }
        // Other GitLab report types and look-alikes are not claimed.
        let dependency = br#"{"version": "15.0.4", "vulnerabilities": [], "scan": {"type": "dependency_scanning", "scanner": {"id": "gemnasium"}}}"#;
        assert!(crate::detect(dependency).is_err());
        let snyk = br#"{"vulnerabilities": [{"id": "SNYK-JS-X-1", "identifiers": {"CVE": ["CVE-2020-1"]}}]}"#;
        assert!(crate::detect(snyk).is_err());
    }

    /// One document per shape of GitLab's report schemas 2.x–15.x, and the format it is.
    #[test]
    fn every_schema_shape_is_recognised() {
        let sast = Some(Format::GitlabSast);
        let secrets = Some(Format::GitlabSecretDetection);
        let v2_vuln = r#"{"category": "sast", "name": "Use of insecure MD2, MD4, or MD5 hash function.",
            "message": "Use of insecure MD5", "cve": "app.py:abc:B303", "severity": "Medium",
            "confidence": "High", "scanner": {"id": "bandit", "name": "Bandit"},
            "location": {"file": "app.py", "start_line": 3},
            "identifiers": [{"type": "bandit_test_id", "name": "Bandit Test ID B303", "value": "B303"}]}"#;
        let cases: Vec<(String, Option<Format>)> = vec![
            // 15.x clean SAST as the analyzers write it: no `scan` (the issue's report).
            (r#"{"version": "15.0.4", "vulnerabilities": [], "remediations": []}"#.into(), sast),
            // 15.x: remediations optional.
            (r#"{"version": "15.1.0", "vulnerabilities": []}"#.into(), sast),
            // 14.x clean, with the schema URL.
            (r#"{"schema": "https://gitlab.com/gitlab-org/security-products/security-report-schemas/-/raw/v14.0.0/dist/sast-report-format.json", "version": "14.0.0", "vulnerabilities": [], "remediations": []}"#.into(), sast),
            // 2.x: version, vulnerabilities, remediations; no scan.
            (r#"{"version": "2.0", "vulnerabilities": [], "remediations": []}"#.into(), sast),
            (format!(r#"{{"version": "2.4", "vulnerabilities": [{v2_vuln}], "remediations": []}}"#), sast),
            // 2.x SAST without identifiers: a file location.
            (r#"{"version": "2.3", "vulnerabilities": [{"category": "sast", "message": "x", "location": {"file": "a.js", "start_line": 1}}]}"#.into(), sast),
            // 3.x–13.x: an optional `scan` without its type.
            (format!(r#"{{"version": "3.0", "vulnerabilities": [{v2_vuln}], "remediations": [], "scan": {{"scanner": {{"id": "bandit", "name": "Bandit"}}, "status": "success"}}}}"#), sast),
            // scan.type names the kind whatever else is there.
            (r#"{"version": "15.0.4", "vulnerabilities": [], "scan": {"type": "sast", "status": "success"}}"#.into(), sast),
            (r#"{"version": "15.0.4", "vulnerabilities": [], "scan": {"type": "secret_detection", "status": "success"}}"#.into(), secrets),
            // 2.x secret detection: its category, or the secret itself.
            (r#"{"version": "2.4", "vulnerabilities": [{"category": "secret_detection", "message": "AWS key", "location": {"file": "a"}}], "remediations": []}"#.into(), secrets),
            (r#"{"version": "3.0", "vulnerabilities": [{"message": "AWS key", "raw_source_code_extract": "AKIA", "location": {"file": "a"}}]}"#.into(), secrets),
            // Other report types are not claimed: dependency scanning (dependency_files, or a
            // dependency location), container scanning (an image), DAST, and their scan.type.
            (r#"{"version": "2.0", "vulnerabilities": [], "remediations": [], "dependency_files": []}"#.into(), None),
            (r#"{"version": "14.0.0", "vulnerabilities": [{"category": "dependency_scanning", "location": {"file": "package-lock.json", "dependency": {"package": {"name": "x"}}}}]}"#.into(), None),
            (r#"{"version": "2.3", "vulnerabilities": [{"message": "CVE-1", "location": {"image": "alpine:3", "dependency": {"package": {"name": "musl"}}}}], "remediations": []}"#.into(), None),
            // A SAST location may carry an empty dependency beside its lines (DefectDojo's v2.3
            // sample): still SAST.
            (r#"{"version": "2.3", "vulnerabilities": [{"name": "x", "location": {"file": "a.yml", "start_line": 19, "dependency": {"package": {}}}, "identifiers": [{"type": "trufflehog_rule_id", "value": "x"}]}], "remediations": []}"#.into(), sast),
            (r#"{"version": "15.0.0", "vulnerabilities": [], "scan": {"type": "container_scanning"}}"#.into(), None),
            // A `version` and an empty list beside other keys is not GitLab's shape.
            (r#"{"version": "15.0.4", "vulnerabilities": [], "ok": true}"#.into(), None),
            (r#"{"version": "1.2", "vulnerabilities": []}"#.into(), None),
            (r#"{"version": "latest", "vulnerabilities": []}"#.into(), None),
        ];
        for (doc, expected) in cases {
            let got = crate::detect(doc.as_bytes()).ok();
            assert_eq!(got, expected, "{doc}");
            if let Some(format) = expected {
                let parsed = crate::parse_to_vec(doc.as_bytes(), None);
                assert!(parsed.is_ok(), "{doc}: {parsed:?}");
                let (meta, _) = parsed.unwrap();
                assert_eq!(meta.format, format.id());
            }
        }
        let (meta, f) = parse(
            br#"{"version": "15.0.4", "vulnerabilities": [], "remediations": []}"#,
            Format::GitlabSast,
        );
        assert!(f.is_empty());
        assert!(meta.incomplete.is_empty());
    }

    #[test]
    fn sast_fields() {
        let (meta, f) = parse(SEMGREP, Format::GitlabSast);
        assert_eq!(
            meta.scanners,
            [Scanner::new("semgrep", Some("1.74.0".into()))]
        );
        assert_eq!(f.len(), 3);
        let sqli = &f[0];
        assert_eq!(
            sqli.rule_id,
            "python.lang.security.audit.formatted-sql-query"
        );
        assert_eq!(sqli.cwe, [89]);
        assert_eq!(sqli.severity, Severity::High);
        assert_eq!(sqli.confidence, Some(Confidence::High));
        assert!(sqli.has_tag(Tag::Injection));
        assert_eq!(sqli.references.len(), 3);
        // No name: the title is the message's first sentence; confidence from details.
        assert_eq!(
            f[1].title,
            "Detected MD5 hash algorithm which is considered insecure"
        );
        assert_eq!(f[1].confidence, Some(Confidence::Low));
        // Unknown severity of a SAST rule → Info.
        assert_eq!(f[2].severity, Severity::Info);
        assert_eq!(f[2].scanner_severity.as_deref(), Some("Unknown"));
        assert_eq!(f[2].confidence, Some(Confidence::Low));
        assert_eq!(f[2].rule_id, "find_sec_bugs.ECB_MODE-1");

        let (_, f) = parse(CHECKOV, Format::GitlabSast);
        assert!(f
            .iter()
            .all(|x| x.category == Category::Iac && x.has_tag(Tag::Misconfiguration)));
        assert_eq!(f[0].severity, Severity::Medium); // Unknown IaC check
        assert_eq!(f[2].severity, Severity::High);
        assert_eq!(f[1].description, None); // "Further info can be found None"
        assert_eq!(f[1].location.start_line, None); // line 0

        let (meta, f) = parse(V14, Format::GitlabSast);
        let names: Vec<&str> = meta.scanners.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["bandit", "eslint", "find_sec_bugs"]);
        assert_eq!(f[1].rule_id, "security/detect-object-injection");
        assert_eq!(f[1].title, "Generic Object Injection Sink");
        assert_eq!(f[2].vulnerability_ids, ["CVE-2019-12384"]);
        assert_eq!(f[2].confidence, Some(Confidence::High));
        assert_eq!(f[2].severity, Severity::Critical);
    }

    #[test]
    fn shifted_lines_keep_fingerprints() {
        let (_, a) = parse(SEMGREP, Format::GitlabSast);
        let (_, b) = parse(SEMGREP_SHIFTED, Format::GitlabSast);
        assert_eq!(fingerprints(&a).len(), 3);
        assert_eq!(fingerprints(&a), fingerprints(&b));
        // Workspace prefixes do not matter either.
        let (_, v14) = parse(V14, Format::GitlabSast);
        let moved =
            String::from_utf8_lossy(V14).replace("/builds/shop/backend/app/auth.py", "app/auth.py");
        let (_, v14b) = parse(moved.as_bytes(), Format::GitlabSast);
        assert_eq!(v14[0].fingerprint, v14b[0].fingerprint);
    }

    #[test]
    fn secret_detection_redacts_the_extract() {
        let (meta, f) = parse(SECRETS, Format::GitlabSecretDetection);
        assert_eq!(
            meta.scanners,
            [Scanner::new("gitleaks", Some("8.18.4".into()))]
        );
        let out = serde_json::to_string(&f).unwrap();
        for secret in [
            "AKIATOLLGATEFAKE0002",
            "Tollgate-Fake-Db-Pass",
            "TOLLGATEFAKE",
        ] {
            assert!(!out.contains(secret), "{secret} leaked: {out}");
        }
        assert!(f
            .iter()
            .all(|x| x.category == Category::Secret && x.has_tag(Tag::HardcodedSecret)));
        assert_eq!(
            f[0].secret,
            Some(RedactedSecret::new("AKIATOLLGATEFAKE0002"))
        );
        assert_eq!(
            f[0].location.snippet,
            Some(RedactedSecret::new("AKIATOLLGATEFAKE0002").placeholder())
        );
        assert!(f[1]
            .description
            .as_deref()
            .unwrap()
            .contains("Password in URL http…[redacted 61 chars"));
        // No extract: no secret, the fingerprint uses the hash GitLab wrote in `cve`.
        assert_eq!(f[2].secret, None);
        let expected = FingerprintBuilder::new("secret")
            .part("Stripe")
            .path(Some("src/billing.js"))
            .part("c3ab8ff13720e8ad")
            .finish();
        assert_eq!(f[2].fingerprint, expected);
        // An extract gives the same hash GitLab would have written.
        let from_extract = FingerprintBuilder::new("secret")
            .part("AWS")
            .path(Some("deploy/terraform/provider.tf"))
            .part(&RedactedSecret::new("AKIATOLLGATEFAKE0002").sha256_prefix)
            .finish();
        assert_eq!(f[0].fingerprint, from_extract);

        let (meta, f) = parse(SECRETS_V14, Format::GitlabSecretDetection);
        assert_eq!(meta.incomplete.len(), 1, "scan status failure");
        assert!(!serde_json::to_string(&f).unwrap().contains("TOLLGATEFAKE"));
    }

    #[test]
    fn errors_name_the_place() {
        let e = crate::parse_to_vec(NO_VULNS, Some(Format::GitlabSast)).unwrap_err();
        assert_eq!(
            (e.kind, e.path.as_deref()),
            (ErrorKind::Shape, Some("$.vulnerabilities"))
        );
        let e = crate::parse_to_vec(
            br#"{"vulnerabilities": [{"identifiers": [{"type": "cwe"}]}, {"location": "x"}]}"#,
            Some(Format::GitlabSast),
        )
        .unwrap_err();
        assert_eq!(e.path.as_deref(), Some("$.vulnerabilities[1].location"));
        let e = crate::parse_to_vec(b"[]", Some(Format::GitlabSecretDetection)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Shape);
        let (_, f) = parse(
            br#"{"vulnerabilities": null, "scan": null}"#,
            Format::GitlabSast,
        );
        assert!(f.is_empty());
    }
}
