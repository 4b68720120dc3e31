//! OWASP Dependency-Check reports: JSON (`reportSchema` 1.x: `scanInfo`, `projectInfo`,
//! `dependencies[].vulnerabilities[]`) and XML (root `analysis` in the
//! `jeremylong.github.io/DependencyCheck` namespace, schemas 1.3 to 3.x: `cvssScore`/`cvssAccessVector`…
//! flat CVSS v2 fields of old schemas, `cvssV2`/`cvssV3`/`cvssV4` elements of newer ones).
//!
//! Count: one finding per (dependency, vulnerability) pair. Suppressed vulnerabilities
//! (`suppressedVulnerabilities` in JSON, `suppressedVulnerability` elements in XML) are not
//! findings: Dependency-Check reports them only to say they were suppressed. `relatedDependencies`
//! (the same file found again elsewhere) add no findings.
//!
//! Severity: the report's `severity` word (CRITICAL, HIGH, MEDIUM, MODERATE, LOW, INFO, any
//! case); when it is missing or not a severity word, the highest CVSS base score; else Info.
//! CVSS vectors are rebuilt from the metric fields (`attackVector: NETWORK` → `AV:N`, also the
//! one-letter values OSS Index gives) when all metrics are present; the given score is kept.
//! Analysis exceptions in `scanInfo` make the report incomplete.
//!
//! Fingerprint recipe (family `dependency-check`): package identity (its purl without version,
//! qualifiers and subpath; else the dependency `fileName`) + package version (from the purl) +
//! vulnerability name. No file path: `filePath` is an absolute path of the build machine.

use serde::{Deserialize, Deserializer};
use serde_json::Value;
use tollgate_model::{
    normalize_path, parse_cwe, Category, Confidence, Cvss, CvssVersion, Finding,
    FingerprintBuilder, Location, Package, ReportMeta, Scanner, Severity,
};

use crate::json::{self, lenient};
use crate::sniff::Shape;
use crate::xml::{self, Element};
use crate::{Format, ParseError, Parser, Sniff};

pub struct JsonParser;

impl Parser for JsonParser {
    fn format(&self) -> Format {
        Format::DependencyCheckJson
    }

    fn detect(&self, sniff: &Sniff) -> bool {
        sniff.shape() == Shape::JsonObject
            && (sniff.has("reportSchema") || sniff.has("scanInfo"))
            && (sniff.has("dependencies") || sniff.has("projectInfo"))
    }

    fn parse(&self, input: &str, sink: &mut dyn FnMut(Finding)) -> Result<ReportMeta, ParseError> {
        let report: JsonReport = json::from_str(input)?;
        let Some(dependencies) = report.dependencies else {
            return Err(ParseError::shape(
                "$.dependencies",
                "missing: not an OWASP Dependency-Check JSON report",
            ));
        };
        let scan = report.scan_info.unwrap_or_default();
        let scanner = Scanner::new("dependency-check", scan.engine_version);
        let mut meta = ReportMeta::new(Format::DependencyCheckJson.id());
        meta.add_scanner(&scanner);
        meta.target = report
            .project_info
            .and_then(|p| project_name(p.name, p.artifact_id));
        for e in scan.analysis_exceptions.iter().flatten() {
            if let Some(msg) = exception_message(e) {
                add_incomplete(&mut meta, msg);
            }
        }
        for (d, dep) in dependencies.unwrap_or_default().into_iter().enumerate() {
            let (package, confidence) = json_package(&dep);
            let info = DepInfo {
                file_name: dep.file_name.as_deref(),
                file_path: dep.file_path.as_deref(),
                package,
                confidence,
                target: meta.target.as_deref(),
            };
            for (v, vuln) in dep
                .vulnerabilities
                .unwrap_or_default()
                .into_iter()
                .enumerate()
            {
                let data = json_vuln(vuln);
                let pointer = format!("/dependencies/{d}/vulnerabilities/{v}");
                sink(finding(
                    &scanner,
                    &info,
                    data,
                    Format::DependencyCheckJson,
                    pointer,
                ));
            }
        }
        Ok(meta)
    }
}

pub struct XmlParser;

impl Parser for XmlParser {
    fn format(&self) -> Format {
        Format::DependencyCheckXml
    }

    fn detect(&self, sniff: &Sniff) -> bool {
        sniff.xml_root() == Some("analysis")
            && sniff.xml_root_tag().is_some_and(|t| {
                let t = t.to_ascii_lowercase();
                t.contains("dependencycheck")
                    || t.contains("dependency-check")
                    || !t.contains("xmlns")
            })
    }

    fn parse(&self, input: &str, sink: &mut dyn FnMut(Finding)) -> Result<ReportMeta, ParseError> {
        let root = xml::parse(input)?;
        if root.name != "analysis" {
            return Err(root.error(format!(
                "the root element is <{}>, not <analysis>: not an OWASP Dependency-Check XML report",
                root.name
            )));
        }
        let scan = root.child("scanInfo");
        let version = scan
            .and_then(|s| s.child_text("engineVersion"))
            .map(str::to_string);
        let scanner = Scanner::new("dependency-check", version);
        let mut meta = ReportMeta::new(Format::DependencyCheckXml.id());
        meta.add_scanner(&scanner);
        meta.target = root.child("projectInfo").and_then(|p| {
            project_name(
                p.child_text("name").map(str::to_string),
                p.child_text("artifactID").map(str::to_string),
            )
        });
        if let Some(exceptions) = scan.and_then(|s| s.child("analysisExceptions")) {
            for e in &exceptions.children {
                if let Some(msg) = e
                    .child_text("message")
                    .or(Some(e.text.as_str()))
                    .filter(|m| !m.is_empty())
                {
                    add_incomplete(&mut meta, msg.to_string());
                }
            }
        }
        let deps = root.child("dependencies");
        for dep in deps.iter().flat_map(|d| d.children_named("dependency")) {
            let (package, confidence) = xml_package(dep);
            let info = DepInfo {
                file_name: dep.child_text("fileName"),
                file_path: dep.child_text("filePath"),
                package,
                confidence,
                target: meta.target.as_deref(),
            };
            for list in dep.children_named("vulnerabilities") {
                for vuln in list.children_named("vulnerability") {
                    let data = xml_vuln(vuln);
                    sink(finding(
                        &scanner,
                        &info,
                        data,
                        Format::DependencyCheckXml,
                        vuln.path.clone(),
                    ));
                }
            }
        }
        Ok(meta)
    }
}

// ---------------------------------------------------------------------------------------------
// Shared conversion.

/// What a finding needs from its dependency.
struct DepInfo<'a> {
    file_name: Option<&'a str>,
    file_path: Option<&'a str>,
    package: Option<Package>,
    confidence: Option<Confidence>,
    target: Option<&'a str>,
}

/// One vulnerability, read from either format.
#[derive(Default)]
struct VulnData {
    name: String,
    source: Option<String>,
    severity: Option<String>,
    cvss: Vec<Cvss>,
    cwes: Vec<String>,
    description: Option<String>,
    notes: Option<String>,
    references: Vec<String>,
}

fn finding(
    scanner: &Scanner,
    dep: &DepInfo<'_>,
    v: VulnData,
    format: Format,
    pointer: String,
) -> Finding {
    let name = v.name.trim();
    let rule = if name.is_empty() {
        "dependency-check-vulnerability"
    } else {
        name
    };
    let what = dep
        .package
        .as_ref()
        .map(|p| match &p.installed_version {
            Some(ver) => format!("{} {ver}", p.name),
            None => p.name.clone(),
        })
        .or_else(|| dep.file_name.map(str::to_string));
    let title = match &what {
        Some(w) => format!("{rule} in {w}"),
        None => rule.to_string(),
    };
    let mut f = Finding::new(scanner.clone(), rule, title);
    f.cvss = v.cvss;
    let word = v
        .severity
        .as_deref()
        .map(str::trim)
        .filter(|w| !w.is_empty());
    f.severity = word
        .and_then(Severity::from_word)
        .or_else(|| f.cvss_score().map(Severity::from_cvss))
        .unwrap_or(Severity::Info);
    f.scanner_severity = word.map(str::to_string);
    f.confidence = dep.confidence;
    let description = v
        .description
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty());
    let notes = v.notes.as_deref().map(str::trim).filter(|n| !n.is_empty());
    f.description = match (description, notes) {
        (Some(d), Some(n)) => Some(format!("{d}\n\nNote: {n}")),
        (Some(d), None) => Some(d.to_string()),
        (None, Some(n)) => Some(format!("Note: {n}")),
        (None, None) => None,
    };
    for c in &v.cwes {
        if let Some(n) = parse_cwe(c) {
            f.add_cwe(n);
        }
    }
    if is_advisory_id(name) {
        f.add_vulnerability_id(name);
    }
    for r in &v.references {
        f.add_reference(r.as_str());
        if let Some(ghsa) = ghsa_in(r) {
            f.add_vulnerability_id(ghsa);
        }
    }
    let npm = v
        .source
        .as_deref()
        .is_some_and(|s| s.eq_ignore_ascii_case("NPM"));
    if npm && !name.is_empty() && name.chars().all(|c| c.is_ascii_digit()) {
        f.add_reference(format!("https://www.npmjs.com/advisories/{name}"));
    }
    f.category = Category::Sca;
    f.location = Location {
        file: dep.file_path.map(normalize_path).filter(|p| !p.is_empty()),
        package: dep.package.clone().or_else(|| {
            dep.file_name.map(|n| Package {
                name: n.to_string(),
                ..Package::default()
            })
        }),
        target: dep.target.map(str::to_string),
        ..Location::default()
    };
    let (identity, version) = match &dep.package {
        Some(p) => (
            p.purl
                .as_deref()
                .map(purl_identity)
                .unwrap_or_else(|| p.name.clone()),
            p.installed_version.clone(),
        ),
        None => (dep.file_name.unwrap_or("").to_string(), None),
    };
    f.fingerprint = FingerprintBuilder::new("dependency-check")
        .part(&identity)
        .opt(version.as_deref())
        .part(name)
        .finish();
    f.source = crate::source(format, pointer);
    f
}

fn add_incomplete(meta: &mut ReportMeta, message: String) {
    let line = format!("Dependency-Check analysis exception: {}", message.trim());
    if meta.incomplete.len() < 20 && !meta.incomplete.contains(&line) {
        meta.incomplete.push(line);
    }
}

fn project_name(name: Option<String>, artifact: Option<String>) -> Option<String> {
    name.filter(|n| !n.trim().is_empty())
        .or(artifact.filter(|a| !a.trim().is_empty()))
}

/// CVE, GHSA and other `PREFIX-…` advisory ids (not free text like `CWE-400: …` or `possible XSS`).
fn is_advisory_id(name: &str) -> bool {
    let Some((prefix, rest)) = name.split_once('-') else {
        return false;
    };
    !rest.is_empty()
        && !name.contains(char::is_whitespace)
        && !prefix.eq_ignore_ascii_case("CWE")
        && prefix.len() >= 2
        && prefix.chars().all(|c| c.is_ascii_uppercase())
}

/// A GHSA id in a GitHub advisory URL.
fn ghsa_in(url: &str) -> Option<&str> {
    let at = url.find("GHSA-")?;
    let id = &url[at..];
    let end = id
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .unwrap_or(id.len());
    let id = &id[..end];
    (id.len() == 19).then_some(id)
}

fn confidence_of(word: &str) -> Option<Confidence> {
    match word.trim().to_ascii_uppercase().as_str() {
        "HIGHEST" | "HIGH" => Some(Confidence::High),
        "MEDIUM" => Some(Confidence::Medium),
        "LOW" => Some(Confidence::Low),
        _ => None,
    }
}

/// A package from a purl: `pkg:maven/org.example/lib@1.2?type=jar` → `org.example:lib` 1.2.
fn package_from_purl(purl: &str) -> Option<Package> {
    let purl = purl.trim();
    let rest = purl.strip_prefix("pkg:")?;
    let (kind, rest) = rest.split_once('/')?;
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    let (path, version) = match rest.rsplit_once('@') {
        Some((p, v)) if !p.is_empty() && !v.contains('/') => (p, Some(v)),
        _ => (rest, None),
    };
    let path = tollgate_model::percent_decode(path.trim_matches('/'));
    if path.is_empty() {
        return None;
    }
    let name = if kind.eq_ignore_ascii_case("maven") {
        path.replacen('/', ":", 1)
    } else {
        path
    };
    Some(Package {
        name,
        installed_version: version
            .map(tollgate_model::percent_decode)
            .filter(|v| !v.is_empty()),
        fixed_version: None,
        purl: Some(purl.to_string()),
        ecosystem: Some(kind.to_ascii_lowercase()),
    })
}

/// The purl without version, qualifiers and subpath.
fn purl_identity(purl: &str) -> String {
    let base = purl.trim().split(['?', '#']).next().unwrap_or(purl);
    match base.rsplit_once('@') {
        Some((p, v)) if !v.contains('/') && p.contains('/') => p.to_string(),
        _ => base.to_string(),
    }
}

/// The one-letter value of a CVSS metric written as a word (`NETWORK`, `ADJACENT_NETWORK`,
/// `PARTIAL`, `UNCHANGED` …) or already as a letter, when it is one of `allowed`.
fn metric(value: Option<String>, allowed: &str) -> Option<char> {
    let c = value?.trim().chars().next()?.to_ascii_uppercase();
    allowed.contains(c).then_some(c)
}

/// CVSS v2 from the metric fields, read with `get` (names of the newer schemas).
fn cvss_v2(get: &dyn Fn(&str) -> Option<String>) -> Option<Cvss> {
    let score = get("score").and_then(|s| s.trim().parse::<f64>().ok());
    let vector = get("vectorString")
        .filter(|v| !v.trim().is_empty())
        .or_else(|| {
            let av = metric(get("accessVector"), "LAN")?;
            let ac = metric(get("accessComplexity"), "HML")?;
            let au = metric(
                get("authenticationr").or_else(|| get("authentication")),
                "MSN",
            )?;
            let c = metric(
                get("confidentialImpact").or_else(|| get("confidentialityImpact")),
                "NPC",
            )?;
            let i = metric(get("integrityImpact"), "NPC")?;
            let a = metric(get("availabilityImpact"), "NPC")?;
            Some(format!("AV:{av}/AC:{ac}/Au:{au}/C:{c}/I:{i}/A:{a}"))
        });
    cvss_or_score(vector, score, CvssVersion::V2)
}

/// CVSS v3.x from the metric fields.
fn cvss_v3(get: &dyn Fn(&str) -> Option<String>) -> Option<Cvss> {
    let score = get("baseScore").and_then(|s| s.trim().parse::<f64>().ok());
    let version = match get("version").as_deref().map(str::trim) {
        Some("3.0") => "3.0",
        _ => "3.1",
    };
    let hint = if version == "3.0" {
        CvssVersion::V30
    } else {
        CvssVersion::V31
    };
    let vector = get("vectorString")
        .filter(|v| !v.trim().is_empty())
        .or_else(|| {
            let av = metric(get("attackVector"), "NALP")?;
            let ac = metric(get("attackComplexity"), "LH")?;
            let pr = metric(get("privilegesRequired"), "NLH")?;
            let ui = metric(get("userInteraction"), "NR")?;
            let s = metric(get("scope"), "UC")?;
            let c = metric(get("confidentialityImpact"), "NLH")?;
            let i = metric(get("integrityImpact"), "NLH")?;
            let a = metric(get("availabilityImpact"), "NLH")?;
            Some(format!(
                "CVSS:{version}/AV:{av}/AC:{ac}/PR:{pr}/UI:{ui}/S:{s}/C:{c}/I:{i}/A:{a}"
            ))
        });
    cvss_or_score(vector, score, hint)
}

/// CVSS v4.0: only a vector string (and score) is used.
fn cvss_v4(get: &dyn Fn(&str) -> Option<String>) -> Option<Cvss> {
    let score = get("baseScore").and_then(|s| s.trim().parse::<f64>().ok());
    cvss_or_score(get("vectorString"), score, CvssVersion::V40)
}

/// A checked vector with the given score; a vector that does not parse is dropped (the score
/// stays).
fn cvss_or_score(vector: Option<String>, score: Option<f64>, hint: CvssVersion) -> Option<Cvss> {
    if let Some(v) = vector.as_deref() {
        if Cvss::new(Some(v), None, Some(hint)).is_some() {
            return Cvss::new(Some(v), score, Some(hint));
        }
    }
    Cvss::new(None, score, Some(hint))
}

// ---------------------------------------------------------------------------------------------
// JSON shapes.

#[derive(Deserialize)]
struct JsonReport {
    #[serde(rename = "scanInfo", default)]
    scan_info: Option<ScanInfo>,
    #[serde(rename = "projectInfo", default)]
    project_info: Option<ProjectInfo>,
    /// `None`: missing (not this format); `Some(None)`: `null`.
    #[serde(default, deserialize_with = "present")]
    dependencies: Option<Option<Vec<JsonDependency>>>,
}

fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

#[derive(Deserialize, Default)]
struct ScanInfo {
    #[serde(
        rename = "engineVersion",
        default,
        deserialize_with = "lenient::opt_string"
    )]
    engine_version: Option<String>,
    #[serde(rename = "analysisExceptions", default)]
    analysis_exceptions: Option<Vec<Value>>,
}

#[derive(Deserialize)]
struct ProjectInfo {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    name: Option<String>,
    #[serde(
        rename = "artifactID",
        default,
        deserialize_with = "lenient::opt_string"
    )]
    artifact_id: Option<String>,
}

#[derive(Deserialize)]
struct JsonDependency {
    #[serde(rename = "fileName", default, deserialize_with = "lenient::opt_string")]
    file_name: Option<String>,
    #[serde(rename = "filePath", default, deserialize_with = "lenient::opt_string")]
    file_path: Option<String>,
    #[serde(default)]
    packages: Option<Vec<JsonIdentifier>>,
    #[serde(rename = "vulnerabilityIds", default)]
    vulnerability_ids: Option<Vec<JsonIdentifier>>,
    #[serde(default)]
    vulnerabilities: Option<Vec<JsonVuln>>,
}

#[derive(Deserialize)]
struct JsonIdentifier {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    confidence: Option<String>,
}

#[derive(Deserialize)]
struct JsonVuln {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    source: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    severity: Option<String>,
    #[serde(default)]
    cvssv2: Option<Value>,
    #[serde(default)]
    cvssv3: Option<Value>,
    #[serde(default)]
    cvssv4: Option<Value>,
    #[serde(default, deserialize_with = "lenient::string_list")]
    cwes: Vec<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    description: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    notes: Option<String>,
    #[serde(default)]
    references: Option<Vec<JsonReference>>,
}

#[derive(Deserialize)]
struct JsonReference {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    url: Option<String>,
}

fn exception_message(e: &Value) -> Option<String> {
    let msg = e
        .pointer("/exception/message")
        .or_else(|| e.get("message"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| e.as_str().map(str::to_string))?;
    (!msg.trim().is_empty()).then_some(msg)
}

fn json_package(dep: &JsonDependency) -> (Option<Package>, Option<Confidence>) {
    let first = dep.packages.iter().flatten().find(|p| p.id.is_some());
    let package = first
        .and_then(|p| p.id.as_deref())
        .and_then(package_from_purl);
    let confidence = first
        .and_then(|p| p.confidence.as_deref())
        .or_else(|| {
            dep.vulnerability_ids
                .iter()
                .flatten()
                .find_map(|v| v.confidence.as_deref())
        })
        .and_then(confidence_of);
    (package, confidence)
}

/// A metric of a JSON CVSS object, as text (numbers too), also inside `cvssData`.
fn json_get(obj: &Value, key: &str) -> Option<String> {
    let v = obj
        .get(key)
        .or_else(|| obj.get("cvssData").and_then(|d| d.get(key)))?;
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn json_vuln(v: JsonVuln) -> VulnData {
    let mut cvss = Vec::new();
    if let Some(c) = v.cvssv4.as_ref().and_then(|o| cvss_v4(&|k| json_get(o, k))) {
        cvss.push(c);
    }
    if let Some(c) = v.cvssv3.as_ref().and_then(|o| cvss_v3(&|k| json_get(o, k))) {
        cvss.push(c);
    }
    if let Some(c) = v.cvssv2.as_ref().and_then(|o| cvss_v2(&|k| json_get(o, k))) {
        cvss.push(c);
    }
    VulnData {
        name: v.name.unwrap_or_default(),
        source: v.source,
        severity: v.severity,
        cvss,
        cwes: v.cwes,
        description: v.description,
        notes: v.notes,
        references: v
            .references
            .into_iter()
            .flatten()
            .filter_map(|r| r.url)
            .map(|u| u.trim().to_string())
            .filter(|u| !u.is_empty())
            .collect(),
    }
}

// ---------------------------------------------------------------------------------------------
// XML shapes.

/// The dependency's package: `identifiers/package` (also nested one level deeper, as some
/// reports have it), else a schema 1.x `identifier type="maven"` (`group:artifact:version`).
fn xml_package(dep: &Element) -> (Option<Package>, Option<Confidence>) {
    let ids = dep.child("identifiers");
    let pkg_el = ids.and_then(|i| {
        i.child("package").or_else(|| {
            i.children_named("identifiers")
                .find_map(|n| n.child("package"))
        })
    });
    let confidence = pkg_el
        .and_then(|p| p.attr("confidence"))
        .or_else(|| {
            ids.and_then(|i| {
                i.children
                    .iter()
                    .chain(
                        i.children_named("identifiers")
                            .flat_map(|n| n.children.iter()),
                    )
                    .find_map(|c| c.attr("confidence"))
            })
        })
        .and_then(confidence_of);
    if let Some(p) = pkg_el
        .and_then(|p| p.child_text("id"))
        .and_then(package_from_purl)
    {
        return (Some(p), confidence);
    }
    let maven = ids.and_then(|i| {
        i.children_named("identifier").find(|c| {
            c.attr("type")
                .is_some_and(|t| t.eq_ignore_ascii_case("maven"))
        })
    });
    let package = maven.and_then(|m| m.child_text("name")).and_then(|gav| {
        let mut parts = gav.split(':');
        let (g, a) = (parts.next()?, parts.next()?);
        Some(Package {
            name: format!("{g}:{a}"),
            installed_version: parts.next().map(str::to_string),
            ecosystem: Some("maven".to_string()),
            ..Package::default()
        })
    });
    (package, confidence)
}

fn xml_vuln(v: &Element) -> VulnData {
    let text = |name: &str| v.child_text(name).map(str::to_string);
    let child_get = |el: &Element, k: &str| el.child_text(k).map(str::to_string);
    let mut cvss = Vec::new();
    if let Some(c) = v
        .child("cvssV4")
        .and_then(|el| cvss_v4(&|k| child_get(el, k)))
    {
        cvss.push(c);
    }
    if let Some(c) = v
        .child("cvssV3")
        .and_then(|el| cvss_v3(&|k| child_get(el, k)))
    {
        cvss.push(c);
    }
    if let Some(c) = v
        .child("cvssV2")
        .and_then(|el| cvss_v2(&|k| child_get(el, k)))
    {
        cvss.push(c);
    } else if v.child("cvssScore").is_some() {
        // Schema 1.x: flat `cvssScore`, `cvssAccessVector` … fields.
        let flat = |k: &str| {
            let name = match k {
                "score" => "cvssScore".to_string(),
                other => {
                    let mut cs = other.chars();
                    match cs.next() {
                        Some(first) => format!("cvss{}{}", first.to_ascii_uppercase(), cs.as_str()),
                        None => return None,
                    }
                }
            };
            v.child_text(&name).map(str::to_string)
        };
        if let Some(c) = cvss_v2(&flat) {
            cvss.push(c);
        }
    }
    let mut cwes: Vec<String> = v.children_named("cwe").map(|c| c.text.clone()).collect();
    for list in v.children_named("cwes") {
        cwes.extend(list.children_named("cwe").map(|c| c.text.clone()));
    }
    let references = v
        .children_named("references")
        .flat_map(|r| r.children_named("reference"))
        .filter_map(|r| r.child_text("url"))
        .map(|u| u.trim().to_string())
        .filter(|u| !u.is_empty())
        .collect();
    VulnData {
        name: text("name").unwrap_or_default(),
        source: v.attr("source").map(str::to_string),
        severity: text("severity"),
        cvss,
        cwes,
        // XML pretty-printers indent wrapped lines: keep the line breaks, drop the indentation.
        description: text("description")
            .map(|d| d.lines().map(str::trim).collect::<Vec<_>>().join("\n")),
        notes: text("notes"),
        references,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(dir: &str, name: &str) -> Vec<u8> {
        let path = format!("{}/tests/fixtures/{dir}/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn fingerprints(findings: &[Finding]) -> Vec<String> {
        findings.iter().map(|f| f.fingerprint.to_string()).collect()
    }

    #[test]
    fn json_report_snapshot_and_fields() {
        let bytes = fixture("dependency-check-json", "report.json");
        assert_eq!(crate::detect(&bytes).unwrap(), Format::DependencyCheckJson);
        let (meta, findings) = crate::parse_to_vec(&bytes, None).unwrap();
        insta::assert_json_snapshot!("dependency_check_json", findings);
        // 2 + 1 + 1 vulnerabilities; the suppressed one and the related dependency add none.
        assert_eq!(findings.len(), 4);
        assert!(findings.iter().all(|f| f.rule_id != "CVE-2019-16943"));
        assert_eq!(
            meta.scanners,
            vec![Scanner::new("dependency-check", Some("12.1.0".into()))]
        );
        assert_eq!(meta.target.as_deref(), Some("shop-api"));
        assert_eq!(meta.incomplete.len(), 1, "{:?}", meta.incomplete);

        let jackson = &findings[0];
        assert_eq!(jackson.rule_id, "CVE-2020-36518");
        assert_eq!(
            jackson.title,
            "CVE-2020-36518 in com.fasterxml.jackson.core:jackson-databind 2.9.10.1"
        );
        assert_eq!(jackson.severity, Severity::High);
        assert_eq!(jackson.confidence, Some(Confidence::High));
        assert_eq!(
            jackson.vulnerability_ids,
            vec!["CVE-2020-36518", "GHSA-57j2-w4cx-62h2"]
        );
        let vectors: Vec<Option<&str>> = jackson.cvss.iter().map(|c| c.vector.as_deref()).collect();
        assert_eq!(
            vectors,
            vec![
                Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"),
                Some("AV:N/AC:L/Au:N/C:N/I:N/A:P")
            ]
        );
        assert_eq!(jackson.cvss[1].score, Some(5.0));
        assert_eq!(
            jackson.location.file.as_deref(),
            Some("core/jackson-databind/2.9.10.1/jackson-databind-2.9.10.1.jar"),
            "absolute build-machine path is normalized"
        );
        let pkg = jackson.location.package.as_ref().unwrap();
        assert_eq!(pkg.ecosystem.as_deref(), Some("maven"));
        assert_eq!(pkg.installed_version.as_deref(), Some("2.9.10.1"));

        // No severity word: from the v3 score (8.1), vector built from one-letter metrics.
        let oss = &findings[1];
        assert_eq!(oss.severity, Severity::High);
        assert_eq!(oss.scanner_severity, None);
        assert_eq!(
            oss.cvss[0].vector.as_deref(),
            Some("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H")
        );
        assert!(oss
            .description
            .as_deref()
            .unwrap()
            .contains("Note: Reviewed 2025-02"));

        let npm = &findings[2];
        assert_eq!(npm.severity, Severity::Medium, "moderate");
        assert_eq!(npm.location.package.as_ref().unwrap().name, "minimist");
        assert_eq!(npm.source.pointer, "/dependencies/1/vulnerabilities/0");

        // No package: the file name stands in.
        let retire = &findings[3];
        assert_eq!(retire.severity, Severity::Low);
        assert_eq!(
            retire.location.package.as_ref().unwrap().name,
            "jquery-1.8.1.min.js"
        );
        assert!(retire.vulnerability_ids.is_empty());
    }

    #[test]
    fn json_fingerprints_ignore_the_build_machine() {
        let bytes = fixture("dependency-check-json", "report.json");
        let moved = String::from_utf8(bytes.clone())
            .unwrap()
            .replace("/home/runner/", "/var/lib/ci/agent-7/")
            .replace("2025-03-02T10:12:40.112Z", "2025-03-09T11:00:00.000Z");
        let (_, a) = crate::parse_to_vec(&bytes, None).unwrap();
        let (_, b) = crate::parse_to_vec(moved.as_bytes(), None).unwrap();
        assert_eq!(fingerprints(&a), fingerprints(&b));
        let mut fps = fingerprints(&a);
        fps.dedup();
        assert_eq!(fps.len(), 4);
    }

    #[test]
    fn xml_report_snapshot_and_fields() {
        let bytes = fixture("dependency-check-xml", "report.xml");
        assert_eq!(crate::detect(&bytes).unwrap(), Format::DependencyCheckXml);
        let (meta, findings) = crate::parse_to_vec(&bytes, None).unwrap();
        insta::assert_json_snapshot!("dependency_check_xml", findings);
        assert_eq!(
            findings.len(),
            3,
            "the suppressedVulnerability is not a finding"
        );
        assert_eq!(
            meta.scanners,
            vec![Scanner::new("dependency-check", Some("9.0.9".into()))]
        );
        assert_eq!(meta.target.as_deref(), Some("billing-service"));
        let snake = &findings[0];
        assert_eq!(snake.cwe, vec![20, 502]);
        assert_eq!(snake.cvss.len(), 2);
        assert_eq!(snake.cvss[0].score, Some(8.8));
        assert_eq!(
            snake.location.file.as_deref(),
            Some("1/s/lib/snakeyaml-1.30.jar")
        );
        assert!(snake
            .references
            .contains(&"https://nvd.nist.gov/vuln/detail/CVE-2022-1471".to_string()));
        assert_eq!(
            snake.source.pointer,
            "/analysis/dependencies[1]/dependency[1]/vulnerabilities[1]/vulnerability[1]"
        );
        assert_eq!(
            findings[1].severity,
            Severity::Medium,
            "from the CVSS v3 score 6.5"
        );
        assert_eq!(findings[2].severity, Severity::Medium, "MODERATE");
        assert_eq!(findings[2].vulnerability_ids, vec!["GHSA-6fc8-4gx4-v693"]);
    }

    #[test]
    fn xml_schema_1_3_snapshot() {
        let bytes = fixture("dependency-check-xml", "schema-1.3.xml");
        assert_eq!(crate::detect(&bytes).unwrap(), Format::DependencyCheckXml);
        let (meta, findings) = crate::parse_to_vec(&bytes, None).unwrap();
        insta::assert_json_snapshot!("dependency_check_xml_1_3", findings);
        assert_eq!(findings.len(), 1);
        assert_eq!(meta.scanners[0].version, None);
        let f = &findings[0];
        assert_eq!(
            f.cvss[0].vector.as_deref(),
            Some("AV:N/AC:L/Au:N/C:C/I:C/A:C")
        );
        assert_eq!(f.cvss[0].score, Some(10.0));
        assert_eq!(f.cwe, vec![502]);
        let pkg = f.location.package.as_ref().unwrap();
        assert_eq!(pkg.name, "commons-collections:commons-collections");
        assert_eq!(pkg.installed_version.as_deref(), Some("3.2.1"));
        assert_eq!(
            f.location.file.as_deref(),
            Some("WEB-INF/lib/commons-collections-3.2.1.jar")
        );
    }

    #[test]
    fn errors_and_detection() {
        let e = crate::parse_to_vec(br#"{"scanInfo": {}}"#, Some(Format::DependencyCheckJson))
            .unwrap_err();
        assert_eq!(e.path.as_deref(), Some("$.dependencies"));
        let e = crate::parse_to_vec(
            br#"{"dependencies": [{"fileName": "a.jar", "vulnerabilities": {"name": "x"}}]}"#,
            Some(Format::DependencyCheckJson),
        )
        .unwrap_err();
        assert_eq!(
            e.path.as_deref(),
            Some("$.dependencies[0].vulnerabilities"),
            "{e}"
        );
        let e = crate::parse_to_vec(b"[1, 2]", Some(Format::DependencyCheckJson)).unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::Shape);
        let e = crate::parse_to_vec(b"<OWASPZAPReport/>", Some(Format::DependencyCheckXml))
            .unwrap_err();
        assert!(
            e.message
                .contains("not an OWASP Dependency-Check XML report"),
            "{e}"
        );
        let e = crate::parse_to_vec(
            b"<analysis><dependencies>",
            Some(Format::DependencyCheckXml),
        )
        .unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::Syntax);
        let other_analysis = b"<analysis xmlns=\"urn:example:static-analysis\"><x/></analysis>";
        assert_ne!(
            crate::detect(other_analysis).ok(),
            Some(Format::DependencyCheckXml)
        );
        let (_, none) = crate::parse_to_vec(
            br#"{"reportSchema": "1.1", "scanInfo": {"engineVersion": "8.0.0"}, "dependencies": null}"#,
            None,
        )
        .unwrap();
        assert!(none.is_empty());
    }

    #[test]
    fn purls_become_packages() {
        let p = package_from_purl("pkg:npm/%40angular/core@12.0.0?x=1#sub").unwrap();
        assert_eq!(
            (p.name.as_str(), p.installed_version.as_deref()),
            ("@angular/core", Some("12.0.0"))
        );
        let p = package_from_purl("pkg:golang/github.com/go-sql-driver/mysql@1.6.0").unwrap();
        assert_eq!(p.name, "github.com/go-sql-driver/mysql");
        assert_eq!(
            purl_identity("pkg:maven/a.b/c@1.0?type=jar"),
            "pkg:maven/a.b/c"
        );
        assert_eq!(
            package_from_purl("pkg:npm/@scope/name")
                .unwrap()
                .installed_version,
            None
        );
        assert!(package_from_purl("cpe:2.3:a:x").is_none());
        assert!(package_from_purl("pkg:npm/%").is_some());
    }
}
