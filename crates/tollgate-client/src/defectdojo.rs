//! Uploads reports to DefectDojo by `POST /api/v2/reimport-scan/` with DefectDojo's real scan_type
//! names, the naming model of seed 001 (engagement per scan lane, test title `<scanner>-<branch>`),
//! bounded retries, and the statistics DefectDojo answers with.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Value};
use tollgate_model::{Category, Finding, Severity};
use tollgate_parsers::Format;

use crate::{http_client, ClientError, RetryPolicy};

/// DefectDojo refuses uploads above this size (its default `DD_SCAN_FILE_MAX_SIZE`, 100 MB).
pub const MAX_UPLOAD_BYTES: u64 = 100 * 1024 * 1024;

/// How a report goes to DefectDojo: as it is, under a DefectDojo parser, or converted to Generic
/// Findings Import because DefectDojo has no parser for that format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shipment {
    AsIs {
        scan_type: &'static str,
        extension: &'static str,
    },
    AsGeneric,
}

/// DefectDojo's scan_type for a format (its exact strings: "Bandit" or "Trivy" alone are refused).
pub fn shipment(format: Format) -> Shipment {
    use Shipment::*;
    match format {
        Format::Mobsf => AsIs {
            scan_type: "MobSF Scan",
            extension: "json",
        },
        Format::Mobsfscan => AsIs {
            scan_type: "Mobsfscan Scan",
            extension: "json",
        },
        Format::Semgrep => AsIs {
            scan_type: "Semgrep JSON Report",
            extension: "json",
        },
        Format::Bandit => AsIs {
            scan_type: "Bandit Scan",
            extension: "json",
        },
        Format::ZapXml => AsIs {
            scan_type: "ZAP Scan",
            extension: "xml",
        },
        Format::Trivy => AsIs {
            scan_type: "Trivy Scan",
            extension: "json",
        },
        Format::DependencyCheckXml => AsIs {
            scan_type: "Dependency Check Scan",
            extension: "xml",
        },
        Format::Gitleaks => AsIs {
            scan_type: "Gitleaks Scan",
            extension: "json",
        },
        Format::Sarif => AsIs {
            scan_type: "SARIF",
            extension: "sarif",
        },
        Format::GitlabSast => AsIs {
            scan_type: "GitLab SAST Report",
            extension: "json",
        },
        Format::GitlabSecretDetection => AsIs {
            scan_type: "GitLab Secret Detection Report",
            extension: "json",
        },
        Format::Generic => AsIs {
            scan_type: "Generic Findings Import",
            extension: "json",
        },
        // No DefectDojo parser reads these: Data Theorem findings, ZAP's JSON report, the
        // Dependency-Check JSON report and the MobSF scorecard go as Generic Findings Import.
        Format::DataTheorem
        | Format::ZapJson
        | Format::DependencyCheckJson
        | Format::MobsfScorecard => AsGeneric,
    }
}

/// The engagement (scan lane) of seed 001 for a report.
pub fn engagement_for(format: Format, findings: &[Finding]) -> &'static str {
    let scanner_is = |name: &str| findings.iter().any(|f| f.scanner.name == name);
    let any_category = |c: Category| findings.iter().any(|f| f.category == c);
    match format {
        Format::Mobsf | Format::MobsfScorecard | Format::Mobsfscan | Format::DataTheorem => {
            "mobile-security"
        }
        Format::Gitleaks | Format::GitlabSecretDetection => "secret-detection",
        Format::ZapXml | Format::ZapJson => "staging-dast",
        Format::DependencyCheckJson | Format::DependencyCheckXml => "mainline-sca",
        Format::Trivy if any_category(Category::Container) => "image-security",
        Format::Trivy => "mainline-sca",
        Format::Sarif if scanner_is("gitleaks") => "secret-detection",
        Format::Sarif if scanner_is("trivy") && any_category(Category::Container) => {
            "image-security"
        }
        Format::Sarif if scanner_is("trivy") || scanner_is("dependency-check") => "mainline-sca",
        Format::Generic if any_category(Category::Dast) => "staging-dast",
        Format::Generic if any_category(Category::Sca) || any_category(Category::Container) => {
            "mainline-sca"
        }
        _ => "mainline-sast",
    }
}

/// What to send for one report.
#[derive(Debug, Clone)]
pub struct Upload {
    /// The report as given (for messages).
    pub report: String,
    pub format: Format,
    pub scan_type: &'static str,
    /// The file name DefectDojo sees (its extension must be one DefectDojo accepts).
    pub file_name: String,
    pub body: Vec<u8>,
    /// Multipart text fields, in order.
    pub fields: Vec<(String, String)>,
    /// The product type to create the product in when the server refuses to create it without
    /// one (DefectDojo: "does not exist and no product_type_name provided"): sent only then, as
    /// DefectDojo refuses a product_type_name that is not an existing product's own.
    pub fallback_product_type: Option<String>,
}

/// Options that apply to every report of one `tollgate upload`.
#[derive(Debug, Clone, Default)]
pub struct UploadOptions {
    pub product: String,
    pub product_type: Option<String>,
    /// See [`Upload::fallback_product_type`] (used only when `product_type` is None).
    pub fallback_product_type: Option<String>,
    pub engagement: Option<String>,
    pub test_title: Option<String>,
    pub auto_create_context: bool,
    pub close_old_findings: bool,
    pub do_not_reactivate: bool,
    pub minimum_severity: Option<String>,
    pub tags: Vec<String>,
    pub branch: Option<String>,
    pub commit: Option<String>,
    pub build_id: Option<String>,
    pub version: Option<String>,
    pub scan_date: Option<String>,
}

/// Builds the upload of one parsed report.
pub fn prepare(
    report: &str,
    bytes: Vec<u8>,
    format: Format,
    findings: &[Finding],
    opts: &UploadOptions,
) -> Upload {
    let stem = std::path::Path::new(report)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| !s.is_empty() && s != "-")
        .unwrap_or_else(|| format.id().to_string());
    let (scan_type, file_name, body) = match shipment(format) {
        Shipment::AsIs {
            scan_type,
            extension,
        } => (scan_type, format!("{stem}.{extension}"), bytes),
        Shipment::AsGeneric => (
            "Generic Findings Import",
            format!("{stem}.generic.json"),
            generic_findings_json(findings),
        ),
    };
    let scanner = findings
        .first()
        .map(|f| f.scanner.name.clone())
        .unwrap_or_else(|| format.id().to_string());
    let test_title = opts
        .test_title
        .clone()
        .unwrap_or_else(|| match &opts.branch {
            Some(b) => format!("{scanner}-{}", b.replace('/', "-")),
            None => scanner.clone(),
        });
    let engagement = opts
        .engagement
        .clone()
        .unwrap_or_else(|| engagement_for(format, findings).to_string());
    let mut fields: Vec<(String, String)> = vec![
        ("scan_type".into(), scan_type.into()),
        ("product_name".into(), opts.product.clone()),
        ("engagement_name".into(), engagement),
        ("test_title".into(), test_title),
        (
            "auto_create_context".into(),
            opts.auto_create_context.to_string(),
        ),
        (
            "close_old_findings".into(),
            opts.close_old_findings.to_string(),
        ),
        (
            "do_not_reactivate".into(),
            opts.do_not_reactivate.to_string(),
        ),
        ("active".into(), "true".into()),
        ("verified".into(), "false".into()),
        (
            "minimum_severity".into(),
            opts.minimum_severity
                .clone()
                .unwrap_or_else(|| "Info".into()),
        ),
    ];
    let optional = [
        ("product_type_name", &opts.product_type),
        ("branch_tag", &opts.branch),
        ("commit_hash", &opts.commit),
        ("build_id", &opts.build_id),
        ("version", &opts.version),
        ("scan_date", &opts.scan_date),
    ];
    for (k, v) in optional {
        if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
            fields.push((k.into(), v.clone()));
        }
    }
    if !opts.tags.is_empty() {
        fields.push(("tags".into(), opts.tags.join(",")));
    }
    Upload {
        report: report.to_string(),
        format,
        scan_type,
        file_name,
        body,
        fields,
        fallback_product_type: opts
            .product_type
            .is_none()
            .then(|| opts.fallback_product_type.clone())
            .flatten(),
    }
}

/// What DefectDojo says it did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    pub test_id: Option<u64>,
    pub engagement_id: Option<u64>,
    pub product_id: Option<u64>,
    /// created / closed / reactivated / untouched totals, when DefectDojo reports them.
    pub delta: BTreeMap<String, u64>,
    /// A Tollgate hub's `tollgate.warnings`: where a real DefectDojo would have answered otherwise.
    pub warnings: Vec<String>,
}

/// Whether a 400 says the product must be created and needs a product type (DefectDojo: `Product
/// "x" does not exist and no product_type_name provided …`; a hub without a default product
/// type: `… product_type_name is needed to create it`).
fn needs_product_type(e: &ClientError) -> bool {
    matches!(e, ClientError::Status { status: 400, body, .. }
        if body.contains("product_type_name") && body.contains("does not exist"))
}

/// Sends one upload with retries; the multipart body is rebuilt for every attempt.
pub fn send(
    base_url: &str,
    token: &str,
    upload: &Upload,
    retry: &RetryPolicy,
    timeout: Duration,
    log: impl FnMut(&str),
) -> Result<Outcome, ClientError> {
    if upload.body.len() as u64 > MAX_UPLOAD_BYTES {
        return Err(ClientError::Input(format!(
            "{}: {} bytes is more than DefectDojo accepts ({} MB); split the scan or raise DD_SCAN_FILE_MAX_SIZE and upload it another way",
            upload.report,
            upload.body.len(),
            MAX_UPLOAD_BYTES / (1024 * 1024)
        )));
    }
    let mut log = log;
    match send_once(base_url, token, upload, retry, timeout, &mut log) {
        Err(e) if needs_product_type(&e) && upload.fallback_product_type.is_some() => {
            let product_type = upload.fallback_product_type.clone().unwrap_or_default();
            log(&format!(
                "the product does not exist yet and the server needs a product type to create it: sending product_type_name={product_type:?} (pass --product-type to choose)"
            ));
            let mut again = upload.clone();
            again
                .fields
                .push(("product_type_name".into(), product_type));
            again.fallback_product_type = None;
            send_once(base_url, token, &again, retry, timeout, &mut log)
        }
        other => other,
    }
}

fn send_once(
    base_url: &str,
    token: &str,
    upload: &Upload,
    retry: &RetryPolicy,
    timeout: Duration,
    log: &mut impl FnMut(&str),
) -> Result<Outcome, ClientError> {
    let client = http_client(timeout)?;
    let url = format!("{}/api/v2/reimport-scan/", base_url.trim_end_matches('/'));
    let resp = retry.run(
        &url,
        || {
            let mut form = reqwest::blocking::multipart::Form::new();
            for (k, v) in &upload.fields {
                form = form.text(k.clone(), v.clone());
            }
            let part = reqwest::blocking::multipart::Part::bytes(upload.body.clone())
                .file_name(upload.file_name.clone());
            form = form.part("file", part);
            client
                .post(&url)
                .header(reqwest::header::AUTHORIZATION, format!("Token {token}"))
                .header(reqwest::header::ACCEPT, "application/json")
                .multipart(form)
                .send()
        },
        log,
    )?;
    let text = resp.text().unwrap_or_default();
    Ok(parse_outcome(&text))
}

/// Reads DefectDojo's reimport answer (shapes vary across versions; missing parts stay empty).
pub fn parse_outcome(text: &str) -> Outcome {
    let v: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let id = |k: &str| v.get(k).and_then(Value::as_u64);
    let mut delta = BTreeMap::new();
    if let Some(d) = v.pointer("/statistics/delta").and_then(Value::as_object) {
        for (k, stats) in d {
            // DefectDojo: delta.created.total.total (per-severity buckets, each with a total).
            let total = stats
                .pointer("/total/total")
                .and_then(Value::as_u64)
                .or_else(|| stats.get("total").and_then(Value::as_u64))
                .or_else(|| stats.as_u64())
                .unwrap_or(0);
            delta.insert(k.clone(), total);
        }
    }
    // A first upload is an import (a reimport into a test that does not exist yet is one too):
    // DefectDojo answers `statistics.after` only. Every finding after it was created.
    if delta.is_empty() && v.pointer("/statistics/before").is_none() {
        if let Some(after) = v
            .pointer("/statistics/after/total/total")
            .and_then(Value::as_u64)
        {
            delta.insert("created".to_string(), after);
            for k in ["closed", "reactivated", "untouched"] {
                delta.insert(k.to_string(), 0);
            }
        }
    }
    Outcome {
        test_id: id("test_id").or_else(|| id("test")),
        engagement_id: id("engagement_id").or_else(|| id("engagement")),
        product_id: id("product_id"),
        delta,
        warnings: v
            .pointer("/tollgate/warnings")
            .and_then(Value::as_array)
            .map(|w| {
                w.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// DefectDojo Generic Findings Import JSON for findings that have no DefectDojo parser.
///
/// Written for DefectDojo's reader (`dojo/tools/generic/json_parser.py`): only keys in its
/// `allowed` set; `vulnerability_ids` and `tags` lists of strings; `endpoints` URL strings;
/// numbers where it coerces numbers (`cwe`, `line` as integers, `cvssv3_score` as a float);
/// text no longer than the `Finding` column it lands in (PostgreSQL refuses longer values, and
/// DefectDojo answers 500).
pub fn generic_findings_json(findings: &[Finding]) -> Vec<u8> {
    let items: Vec<Value> = findings
        .iter()
        .map(|f| {
            let mut item = json!({
                "title": f.title,
                "severity": match f.severity {
                    Severity::Critical => "Critical",
                    Severity::High => "High",
                    Severity::Medium => "Medium",
                    Severity::Low => "Low",
                    Severity::Info => "Info",
                },
                "description": f.description.clone().unwrap_or_else(|| f.title.clone()),
                "unique_id_from_tool": clip(f.fingerprint.as_str(), 500),
                "vuln_id_from_tool": clip(&f.rule_id, 500),
                "active": !f.suppressed,
                "verified": false,
                "static_finding": !matches!(f.category, Category::Dast),
                "dynamic_finding": matches!(f.category, Category::Dast),
            });
            if let Some(r) = &f.recommendation {
                item["mitigation"] = json!(r);
            }
            if !f.references.is_empty() {
                item["references"] = json!(f.references.join("\n"));
            }
            if let Some(cwe) = f.cwe.iter().find(|c| i32::try_from(**c).is_ok()) {
                item["cwe"] = json!(cwe);
            }
            // DefectDojo reads a string or a list of strings here (objects answer 500).
            if !f.vulnerability_ids.is_empty() {
                item["vulnerability_ids"] = json!(f.vulnerability_ids);
            }
            if let Some(c) = f.cvss.iter().find(|c| {
                c.vector
                    .as_deref()
                    .is_some_and(|v| v.starts_with("CVSS:3") && v.len() <= 117)
            }) {
                item["cvssv3"] = json!(c.vector);
                if let Some(s) = c.score.filter(|s| (0.0..=10.0).contains(s)) {
                    item["cvssv3_score"] = json!(s);
                }
            }
            if let Some(file) = &f.location.file {
                item["file_path"] = json!(clip(file, 4000));
            }
            if let Some(line) = f.location.start_line.filter(|l| i32::try_from(*l).is_ok()) {
                item["line"] = json!(line);
            }
            if let Some(p) = &f.location.package {
                item["component_name"] = json!(clip(&p.name, 500));
                if let Some(v) = &p.installed_version {
                    item["component_version"] = json!(clip(v, 100));
                }
            }
            if let Some(url) = f.location.url.as_deref().filter(|u| is_endpoint_url(u)) {
                item["endpoints"] = json!([url]);
            }
            if !f.tags.is_empty() {
                item["tags"] = json!(f.tags.iter().map(|t| t.as_str()).collect::<Vec<_>>());
            }
            item
        })
        .collect();
    let mut out = serde_json::to_vec_pretty(&json!({ "findings": items })).unwrap_or_default();
    out.push(b'\n');
    out
}

/// At most `max` characters of `s` (DefectDojo's column lengths count characters).
fn clip(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((end, _)) => &s[..end],
        None => s,
    }
}

/// A URL DefectDojo's `Endpoint.from_uri` takes: `scheme://host…`.
fn is_endpoint_url(url: &str) -> bool {
    url.split_once("://").is_some_and(|(scheme, rest)| {
        !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            && rest
                .split(['/', '?', '#'])
                .next()
                .is_some_and(|host| !host.is_empty())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_types_are_defectdojos_own() {
        let names: Vec<&str> = Format::ALL
            .iter()
            .filter_map(|f| match shipment(*f) {
                Shipment::AsIs { scan_type, .. } => Some(scan_type),
                Shipment::AsGeneric => None,
            })
            .collect();
        for wrong in [
            "Bandit",
            "Trivy",
            "Zed Attack Proxy",
            "Gitleaks",
            "Dependency Check",
        ] {
            assert!(!names.contains(&wrong), "{wrong} is refused by DefectDojo");
        }
        assert_eq!(shipment(Format::DataTheorem), Shipment::AsGeneric);
    }

    #[test]
    fn generic_conversion_writes_what_defectdojo_reads() {
        let mut f = Finding::new(
            tollgate_model::Scanner::new("dependency-check", None),
            "CVE-2021-44228",
            "log4j-core: CVE-2021-44228",
        );
        f.vulnerability_ids = vec!["CVE-2021-44228".into(), "GHSA-jfh8-c2jp-5v3q".into()];
        f.cwe = vec![u32::MAX, 502];
        f.location.start_line = Some(u32::MAX);
        f.location.url = Some("not a url".into());
        f.location.package = Some(tollgate_model::Package {
            name: "log4j-core".into(),
            installed_version: Some("v".repeat(300)),
            ..Default::default()
        });
        let doc: Value = serde_json::from_slice(&generic_findings_json(&[f])).unwrap();
        let item = &doc["findings"][0];
        // A list of strings: DefectDojo answers 500 on a list of objects.
        assert_eq!(
            item["vulnerability_ids"],
            json!(["CVE-2021-44228", "GHSA-jfh8-c2jp-5v3q"])
        );
        assert_eq!(item["cwe"], json!(502));
        assert!(item.get("line").is_none());
        assert!(item.get("endpoints").is_none());
        assert_eq!(
            item["component_version"].as_str().unwrap().chars().count(),
            100
        );
    }

    #[test]
    fn outcome_reads_reimport_statistics() {
        let o = parse_outcome(
            r#"{"test_id": 7, "engagement_id": 3, "product_id": 1, "statistics": {"delta": {"created": {"total": 1}, "closed": {"total": 1}, "reactivated": {"total": 0}, "untouched": {"total": 3}}}}"#,
        );
        assert_eq!(o.test_id, Some(7));
        assert_eq!(o.delta.get("untouched"), Some(&3));
        assert_eq!(parse_outcome("not json"), Outcome::default());
        // DefectDojo's (and the hub's) real shape: per-severity buckets, each with a total.
        let bucket = |n: u64| {
            format!(
                r#"{{"high": {{"active": {n}, "total": {n}}}, "total": {{"active": {n}, "total": {n}}}}}"#
            )
        };
        let real = format!(
            r#"{{"test": 9, "statistics": {{"delta": {{"created": {}, "closed": {}, "reactivated": {}, "untouched": {}}}}}}}"#,
            bucket(2),
            bucket(1),
            bucket(0),
            bucket(5)
        );
        let o = parse_outcome(&real);
        assert_eq!(o.test_id, Some(9));
        assert_eq!(o.delta.get("created"), Some(&2));
        assert_eq!(o.delta.get("untouched"), Some(&5));
    }

    #[test]
    fn an_import_answer_with_only_after_counts_every_finding_as_created() {
        // DefectDojo's answer to a first upload (an import): `after` only, no `delta`.
        let o = parse_outcome(
            r#"{"test": 4, "statistics": {"after": {"high": {"active": 2, "total": 2}, "total": {"active": 3, "verified": 0, "total": 3}}}}"#,
        );
        assert_eq!(o.delta.get("created"), Some(&3));
        assert_eq!(o.delta.get("closed"), Some(&0));
        assert_eq!(o.delta.get("untouched"), Some(&0));
        // A reimport's `before` / `after` without a `delta` is not guessed at.
        let o = parse_outcome(
            r#"{"statistics": {"before": {"total": {"total": 3}}, "after": {"total": {"total": 4}}}}"#,
        );
        assert_eq!(o.delta.get("created"), None);
    }
}
