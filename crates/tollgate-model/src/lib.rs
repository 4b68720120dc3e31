//! The normalized finding model every Tollgate crate speaks.
//!
//! Pure data and pure functions (severity ordering, fingerprint hashing, path and snippet
//! normalization, secret redaction, CVSS scoring). It must never do I/O and never hold a secret in
//! clear: a [`RedactedSecret`] is the only form a secret value takes here.

mod cvss_score;
mod fingerprint;
mod secret;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use cvss_score::{Cvss, CvssVersion};
pub use fingerprint::{
    already_normal_path, normalize_path, normalize_snippet, Fingerprint, FingerprintBuilder,
};
pub use secret::{redact_in, RedactedSecret};

/// Version of the JSON shape of [`Finding`] (`tollgate parse --format json|ndjson`).
pub const FINDING_SCHEMA_VERSION: u32 = 1;

/// One result item reported by a scanner, normalized.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable identity across builds (see docs/fingerprints.md).
    pub fingerprint: Fingerprint,
    pub scanner: Scanner,
    /// The scanner's rule / check / plugin id.
    pub rule_id: String,
    pub title: String,
    pub severity: Severity,
    /// The scanner's own severity word, verbatim ("ERROR", "HIGH", "warning", "3", …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scanner_severity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<Confidence>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recommendation: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
    /// CWE numbers (`79` for CWE-79).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cwe: Vec<u32>,
    /// CVE, GHSA, OSV, RUSTSEC … ids, verbatim.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vulnerability_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cvss: Vec<Cvss>,
    pub category: Category,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
    #[serde(default, skip_serializing_if = "Location::is_empty")]
    pub location: Location,
    /// Present when the finding is a leaked secret: the value itself is never kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<RedactedSecret>,
    /// The scanner itself marked the result suppressed (SARIF suppressions, `nosec`, …).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suppressed: bool,
    pub source: SourceRef,
}

impl Finding {
    /// A finding with the required fields set and everything else empty; parsers fill in the rest
    /// and then call [`Finding::finish`].
    pub fn new(scanner: Scanner, rule_id: impl Into<String>, title: impl Into<String>) -> Self {
        Finding {
            fingerprint: Fingerprint::default(),
            scanner,
            rule_id: rule_id.into(),
            title: title.into(),
            severity: Severity::Info,
            scanner_severity: None,
            confidence: None,
            description: None,
            recommendation: None,
            references: Vec::new(),
            cwe: Vec::new(),
            vulnerability_ids: Vec::new(),
            cvss: Vec::new(),
            category: Category::Sast,
            tags: Vec::new(),
            location: Location::default(),
            secret: None,
            suppressed: false,
            source: SourceRef::default(),
        }
    }

    /// Adds a tag once, keeping the list sorted.
    pub fn tag(&mut self, tag: Tag) {
        if let Err(at) = self.tags.binary_search(&tag) {
            self.tags.insert(at, tag);
        }
    }

    pub fn has_tag(&self, tag: Tag) -> bool {
        self.tags.binary_search(&tag).is_ok()
    }

    /// Adds a CWE number once.
    pub fn add_cwe(&mut self, cwe: u32) {
        if cwe != 0 && !self.cwe.contains(&cwe) {
            self.cwe.push(cwe);
        }
    }

    /// Adds a vulnerability id once (case-sensitive, as the scanner wrote it).
    pub fn add_vulnerability_id(&mut self, id: impl Into<String>) {
        let id = id.into();
        let id = id.trim();
        if !id.is_empty() && !self.vulnerability_ids.iter().any(|v| v == id) {
            self.vulnerability_ids.push(id.to_string());
        }
    }

    pub fn add_reference(&mut self, reference: impl Into<String>) {
        let r = reference.into();
        let r = r.trim();
        if !r.is_empty() && !self.references.iter().any(|v| v == r) {
            self.references.push(r.to_string());
        }
    }

    /// The highest CVSS base score known for this finding.
    pub fn cvss_score(&self) -> Option<f64> {
        self.cvss
            .iter()
            .filter_map(|c| c.score)
            .fold(None, |m, s| Some(m.map_or(s, |m: f64| m.max(s))))
    }
}

/// Which scanner produced a finding.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Scanner {
    /// Lower-case tool name: `semgrep`, `trivy`, `mobsf`, `codeql` …
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

impl Scanner {
    pub fn new(name: impl Into<String>, version: Option<String>) -> Self {
        Scanner {
            name: name.into(),
            version: version.filter(|v| !v.trim().is_empty()),
        }
    }
}

/// `semgrep 1.90.0`, or just the name when the version is unknown.
impl fmt::Display for Scanner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.version {
            Some(v) => write!(f, "{} {v}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// Normalized severity, most severe first in [`Severity::ALL`]; `Ord` sorts Info < … < Critical.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "Info",
            Severity::Low => "Low",
            Severity::Medium => "Medium",
            Severity::High => "High",
            Severity::Critical => "Critical",
        }
    }

    /// Maps the common severity words of scanners (case-insensitive). `None` for words that carry
    /// no severity, so the caller can pick its own default.
    pub fn from_word(word: &str) -> Option<Severity> {
        let w = word.trim();
        let eq = |s: &str| w.eq_ignore_ascii_case(s);
        Some(if eq("critical") || eq("blocker") || eq("crit") {
            Severity::Critical
        } else if eq("high") || eq("error") || eq("severe") || eq("major") || eq("dangerous") {
            Severity::High
        } else if eq("medium") || eq("moderate") || eq("warning") || eq("warn") || eq("med") {
            Severity::Medium
        } else if eq("low") || eq("minor") || eq("note") {
            Severity::Low
        } else if eq("info")
            || eq("informational")
            || eq("information")
            || eq("none")
            || eq("negligible")
            || eq("unknown")
            || eq("secure")
            || eq("good")
            || eq("hotspot")
        {
            Severity::Info
        } else {
            return None;
        })
    }

    /// CVSS qualitative rating of a base score (v3.x and v4 use the same bands).
    pub fn from_cvss(score: f64) -> Severity {
        if score >= 9.0 {
            Severity::Critical
        } else if score >= 7.0 {
            Severity::High
        } else if score >= 4.0 {
            Severity::Medium
        } else if score > 0.0 {
            Severity::Low
        } else {
            Severity::Info
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::from_word(s).ok_or_else(|| {
            format!("unknown severity {s:?}: expected Critical, High, Medium, Low or Info")
        })
    }
}

/// How sure the scanner is that the finding is real.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Confidence {
    Low,
    Medium,
    High,
}

impl Confidence {
    pub fn from_word(word: &str) -> Option<Confidence> {
        let w = word.trim();
        let eq = |s: &str| w.eq_ignore_ascii_case(s);
        if eq("high") || eq("certain") || eq("confirmed") || eq("firm") {
            Some(Confidence::High)
        } else if eq("medium") || eq("moderate") {
            Some(Confidence::Medium)
        } else if eq("low") || eq("tentative") || eq("experimental") || eq("weak") {
            Some(Confidence::Low)
        } else {
            None
        }
    }
}

/// The kind of analysis a finding comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    Sast,
    Sca,
    Secret,
    Dast,
    Container,
    Iac,
    Mobile,
    License,
}

impl Category {
    pub const ALL: [Category; 8] = [
        Category::Sast,
        Category::Sca,
        Category::Secret,
        Category::Dast,
        Category::Container,
        Category::Iac,
        Category::Mobile,
        Category::License,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Sast => "sast",
            Category::Sca => "sca",
            Category::Secret => "secret",
            Category::Dast => "dast",
            Category::Container => "container",
            Category::Iac => "iac",
            Category::Mobile => "mobile",
            Category::License => "license",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Category {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Category::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                format!(
                    "unknown category {s:?}: expected one of {}",
                    Category::ALL.map(|c| c.as_str()).join(", ")
                )
            })
    }
}

/// The tag taxonomy policies match on (docs/taxonomy.md). Parsers attach a tag only when the
/// finding really is that kind of issue; a tag is a claim the gate may block on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tag {
    /// The app is debuggable (`android:debuggable="true"`, iOS `get-task-allow`).
    Debuggable,
    /// App data can be backed up and restored elsewhere (`android:allowBackup`).
    BackupEnabled,
    /// Cleartext (HTTP) traffic is allowed (manifest flag, network security config, iOS ATS).
    CleartextTraffic,
    /// An exported Android component (activity, service, receiver, provider) without a permission.
    ExportedComponent,
    /// Sensitive data written to logs.
    SensitiveLogging,
    /// A credential, key or token in source, resources or the app bundle.
    HardcodedSecret,
    /// Weak or broken cryptography (MD5/SHA1 for security, ECB, DES, static IVs, weak keys).
    WeakCrypto,
    /// WebView with JavaScript bridges, file access or ignored TLS errors.
    InsecureWebview,
    /// A third-party tracker / analytics SDK (inventory).
    Tracker,
    /// TLS certificate or hostname verification disabled or weakened.
    InsecureTls,
    /// SQL, command, code, LDAP or template injection.
    Injection,
    /// Cross-site scripting.
    Xss,
    /// Non-cryptographic randomness used for security.
    InsecureRandom,
    /// Data stored unencrypted on the device or in world-readable places.
    InsecureStorage,
    /// A known-vulnerable third-party package.
    VulnerableDependency,
    /// A misconfiguration in infrastructure-as-code or a container/cluster setting.
    Misconfiguration,
}

impl Tag {
    pub const ALL: [Tag; 16] = [
        Tag::Debuggable,
        Tag::BackupEnabled,
        Tag::CleartextTraffic,
        Tag::ExportedComponent,
        Tag::SensitiveLogging,
        Tag::HardcodedSecret,
        Tag::WeakCrypto,
        Tag::InsecureWebview,
        Tag::Tracker,
        Tag::InsecureTls,
        Tag::Injection,
        Tag::Xss,
        Tag::InsecureRandom,
        Tag::InsecureStorage,
        Tag::VulnerableDependency,
        Tag::Misconfiguration,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Tag::Debuggable => "debuggable",
            Tag::BackupEnabled => "backup-enabled",
            Tag::CleartextTraffic => "cleartext-traffic",
            Tag::ExportedComponent => "exported-component",
            Tag::SensitiveLogging => "sensitive-logging",
            Tag::HardcodedSecret => "hardcoded-secret",
            Tag::WeakCrypto => "weak-crypto",
            Tag::InsecureWebview => "insecure-webview",
            Tag::Tracker => "tracker",
            Tag::InsecureTls => "insecure-tls",
            Tag::Injection => "injection",
            Tag::Xss => "xss",
            Tag::InsecureRandom => "insecure-random",
            Tag::InsecureStorage => "insecure-storage",
            Tag::VulnerableDependency => "vulnerable-dependency",
            Tag::Misconfiguration => "misconfiguration",
        }
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Tag {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Tag::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                format!(
                    "unknown tag {s:?}: expected one of {}",
                    Tag::ALL.map(|t| t.as_str()).join(", ")
                )
            })
    }
}

/// Where a finding is: in code, in a package, at a URL, in an app component or an image.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Location {
    /// Path as the scanner reported it (relative when the scanner gave a relative path).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_line: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_line: Option<u32>,
    /// The offending code or text; redacted when the finding is a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snippet: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<Package>,
    /// DAST: the URL, HTTP method and parameter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
    /// Mobile: the Android component (`com.app.MainActivity`) or iOS bundle part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    /// What was scanned: image reference, lock file, cluster resource, app package name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

impl Location {
    pub fn is_empty(&self) -> bool {
        self == &Location::default()
    }
}

/// A third-party package (SCA, container findings).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Package {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installed_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    /// npm, pypi, maven, golang, debian, alpine …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecosystem: Option<String>,
}

/// Where in its report a finding came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceRef {
    /// Report format id (`sarif`, `trivy`, `mobsf` …).
    pub format: String,
    /// The report file, as given on the command line (set by the caller, not the parser).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// JSON pointer (`/runs/0/results/12`) or XML path (`/OWASPZAPReport/site[1]/alerts/alertitem[3]`).
    pub pointer: String,
}

/// What a parser learnt about a report besides its findings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReportMeta {
    /// Report format id.
    pub format: String,
    /// Scanners named in the report (SARIF can hold several runs).
    pub scanners: Vec<Scanner>,
    /// Why the scan must not be trusted as complete (e.g. MobSF decompilation failed). Empty when
    /// nothing is known to be wrong.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incomplete: Vec<String>,
    /// What was scanned (app name, image, project), when the report says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Number of findings the parser emitted.
    pub findings: u64,
}

impl ReportMeta {
    pub fn new(format: impl Into<String>) -> Self {
        ReportMeta {
            format: format.into(),
            ..ReportMeta::default()
        }
    }

    /// Records a scanner once.
    pub fn add_scanner(&mut self, scanner: &Scanner) {
        if !self.scanners.contains(scanner) {
            self.scanners.push(scanner.clone());
        }
    }

    pub fn is_complete(&self) -> bool {
        self.incomplete.is_empty()
    }
}

/// Parses `CWE-79`, `cwe-079`, `79`, `CWE-79: Improper …` into 79.
pub fn parse_cwe(text: &str) -> Option<u32> {
    let t = text.trim();
    let t = t
        .get(..4)
        .filter(|p| p.eq_ignore_ascii_case("cwe-"))
        .map_or(t, |_| &t[4..]);
    let digits: &str = &t[..t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len())];
    digits.parse().ok().filter(|n| *n > 0)
}

/// `%XX` escapes decoded to bytes (RFC 3986); anything else, a malformed `%` included, kept.
pub fn percent_decode_bytes(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let hex = |c: u8| (c as char).to_digit(16);
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// A percent-encoded path or URI component decoded to text; the text as given when the
/// decoded bytes are not UTF-8.
pub fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_string();
    }
    String::from_utf8(percent_decode_bytes(s)).unwrap_or_else(|_| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_orders_and_maps_words() {
        assert!(Severity::Critical > Severity::High);
        assert!(Severity::Low > Severity::Info);
        assert_eq!(Severity::from_word("ERROR"), Some(Severity::High));
        assert_eq!(Severity::from_word("warning"), Some(Severity::Medium));
        assert_eq!(Severity::from_word("bogus"), None);
        assert_eq!(Severity::from_cvss(9.8), Severity::Critical);
        assert_eq!(Severity::from_cvss(0.0), Severity::Info);
        assert_eq!(Severity::from_cvss(3.9), Severity::Low);
    }

    #[test]
    fn cwe_parsing_accepts_common_spellings() {
        assert_eq!(parse_cwe("CWE-79"), Some(79));
        assert_eq!(parse_cwe("cwe-089"), Some(89));
        assert_eq!(parse_cwe("532"), Some(532));
        assert_eq!(parse_cwe("CWE-312: Cleartext Storage"), Some(312));
        assert_eq!(parse_cwe("none"), None);
        assert_eq!(parse_cwe("CWE-0"), None);
    }

    #[test]
    fn tags_round_trip_and_stay_sorted() {
        for t in Tag::ALL {
            assert_eq!(t.as_str().parse::<Tag>().unwrap(), t);
            assert_eq!(
                serde_json::to_string(&t).unwrap(),
                format!("\"{}\"", t.as_str())
            );
        }
        let mut f = Finding::new(Scanner::new("x", None), "r", "t");
        f.tag(Tag::Tracker);
        f.tag(Tag::Debuggable);
        f.tag(Tag::Tracker);
        assert_eq!(f.tags, vec![Tag::Debuggable, Tag::Tracker]);
        assert!(f.has_tag(Tag::Debuggable));
    }
}
