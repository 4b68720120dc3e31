//! OWASP ZAP reports: the traditional XML report (`OWASPZAPReport` root) and the traditional JSON
//! report (`@version`, `site: [{@name, alerts: [...]}]`).
//!
//! - Count rule: **one finding per alert item** (`alertitem` / `site[].alerts[]`), not per
//!   instance. ZAP already groups the instances (URLs) of one rule on one site into an alert item,
//!   and the corpus counts agree only with that unit (DefectDojo's `0_zap_sample.xml`: 4 alert
//!   items, 12 instances; every other corpus file likewise).
//! - Location: the first instance's URL, method and parameter, its evidence as the snippet; the
//!   site name as the target. The other instances are listed (at most 20) in the description.
//! - Severity: `riskcode` 3 High, 2 Medium, 1 Low, 0 Info (`riskdesc` kept as the scanner's
//!   severity). Confidence: 1 Low, 2 Medium, 3 High, 4 (user confirmed) High; 0 means a user
//!   marked the alert as a false positive in ZAP: the finding is `suppressed`.
//! - Description, solution and references lose ZAP's `<p>`/`<br>`/list markup (only those tags:
//!   ZAP texts quote real HTML such as `<script>` that must stay). References keep the URLs only,
//!   also when older reports glued them together without separator.
//!
//! Fingerprint (family `dast`): the alert reference (`alertRef`, else `pluginid`) + the site
//! without scheme (lower-case host, plus the port when it is not the default one) + the alert
//! name (lower-case) + the normalized risk. ZAP itself splits one rule's alerts into separate
//! items by name variant and risk (10099 "Source Code Disclosure - SQL" / "- Servlet"; 90022
//! Medium / Low), so those are part of the item's identity; a ZAP upgrade that renames a rule
//! changes its fingerprints once. Confidence is left out (it moves between scans); items that
//! differ only by confidence are told apart by the shared repeat disambiguation. The URL,
//! method and parameter of an instance are deliberately not part of it: the unit is the alert
//! item, whose instance list (and so its first instance) changes from scan to scan with crawl
//! order, new endpoints and ZAP's per-alert instance cap. With this recipe DefectDojo's reimport
//! sequence behaves as expected: `0_zap_sample.xml` → `1_zap_sample_0_and_new_absent.xml` gives
//! 1 new (10010), 1 gone (10011), 3 unchanged; `2_zap_sample_0_and_new_endpoint.xml` (one more
//! endpoint for 10011) gives the same 4 fingerprints as the first scan.

use std::borrow::Cow;

use serde::Deserialize;
use tollgate_model::{
    parse_cwe, Category, Confidence, Finding, Fingerprint, FingerprintBuilder, ReportMeta, Scanner,
    Severity,
};

use crate::json::{self, lenient};
use crate::sniff::Shape;
use crate::xml::{self, Element};
use crate::{Format, ParseError, Parser, Sniff};

/// Instances listed in a finding's description; the rest are counted.
const LISTED_INSTANCES: usize = 20;

pub struct JsonParser;

impl Parser for JsonParser {
    fn format(&self) -> Format {
        Format::ZapJson
    }

    fn detect(&self, sniff: &Sniff) -> bool {
        sniff.shape() == Shape::JsonObject
            && sniff.has("site")
            && (sniff.has("@version")
                || sniff.has("@generated")
                || sniff.has("site[].@name")
                || sniff.has("site.@name"))
    }

    fn parse(&self, input: &str, sink: &mut dyn FnMut(Finding)) -> Result<ReportMeta, ParseError> {
        let report: JsonReport<'_> = json::from_str(input)?;
        let Some(sites) = report.site else {
            return Err(ParseError::shape(
                "$.site",
                "not a ZAP JSON report: the \"site\" list is missing",
            ));
        };
        let scanner = Scanner::new("zap", report.version.map(|v| v.trim().to_string()));
        let mut meta = ReportMeta::new(Format::ZapJson.id());
        meta.add_scanner(&scanner);
        let mut targets = Vec::new();
        let mut variants = Variants::default();
        for (s, site) in sites.into_iter().enumerate() {
            let site_name = site_label(
                site.name.as_deref(),
                site.host.as_deref(),
                site.port.as_deref(),
            );
            if let Some(n) = &site_name {
                if !targets.contains(n) {
                    targets.push(n.clone());
                }
            }
            for (a, item) in site.alerts.into_iter().enumerate() {
                let pointer = format!("/site/{s}/alerts/{a}");
                let path = format!("$.site[{s}].alerts[{a}]");
                sink(alert_finding(
                    &scanner,
                    Format::ZapJson,
                    site_name.as_deref(),
                    item,
                    pointer,
                    &path,
                    &mut variants,
                )?);
            }
        }
        meta.target = (!targets.is_empty()).then(|| targets.join(", "));
        Ok(meta)
    }
}

pub struct XmlParser;

impl Parser for XmlParser {
    fn format(&self) -> Format {
        Format::ZapXml
    }

    fn detect(&self, sniff: &Sniff) -> bool {
        sniff.shape() == Shape::Xml && sniff.xml_root() == Some("OWASPZAPReport")
    }

    fn parse(&self, input: &str, sink: &mut dyn FnMut(Finding)) -> Result<ReportMeta, ParseError> {
        let root = xml::parse(input)?;
        if root.name != "OWASPZAPReport" {
            return Err(root.error(format!(
                "not a ZAP XML report: the root element is <{}>, expected <OWASPZAPReport>",
                root.name
            )));
        }
        let scanner = Scanner::new("zap", root.attr("version").map(|v| v.trim().to_string()));
        let mut meta = ReportMeta::new(Format::ZapXml.id());
        meta.add_scanner(&scanner);
        let mut targets = Vec::new();
        let mut variants = Variants::default();
        for site in root.children_named("site") {
            let site_name = site_label(site.attr("name"), site.attr("host"), site.attr("port"));
            if let Some(n) = &site_name {
                if !targets.contains(n) {
                    targets.push(n.clone());
                }
            }
            let Some(alerts) = site.child("alerts") else {
                continue;
            };
            for item in alerts.children_named("alertitem") {
                let text = |name: &str| item.child_text(name).map(str::to_string);
                let mut instances: Vec<Instance> = item
                    .child("instances")
                    .map(|list| list.children_named("instance").map(xml_instance).collect())
                    .unwrap_or_default();
                // ZAP before 2.8 wrote a single instance's fields on the alert item itself.
                if instances.is_empty() && item.child("uri").is_some() {
                    instances.push(xml_instance(item));
                }
                let alert = AlertItem {
                    pluginid: text("pluginid"),
                    alert_ref: text("alertRef"),
                    alert: text("alert"),
                    name: text("name"),
                    riskcode: text("riskcode"),
                    confidence: text("confidence"),
                    riskdesc: text("riskdesc"),
                    desc: text("desc"),
                    instances,
                    count: text("count"),
                    solution: text("solution"),
                    otherinfo: text("otherinfo"),
                    reference: text("reference"),
                    cweid: text("cweid"),
                };
                let f = alert_finding(
                    &scanner,
                    Format::ZapXml,
                    site_name.as_deref(),
                    alert,
                    item.path.clone(),
                    &item.path,
                    &mut variants,
                )
                .map_err(|e| e.at(item.line, 1))?;
                sink(f);
            }
        }
        meta.target = (!targets.is_empty()).then(|| targets.join(", "));
        Ok(meta)
    }
}

fn xml_instance(el: &Element) -> Instance {
    let text = |name: &str| el.child_text(name).map(str::to_string);
    Instance {
        uri: text("uri"),
        method: text("method"),
        param: text("param"),
        attack: text("attack"),
        evidence: text("evidence"),
        otherinfo: text("otherinfo"),
    }
}

// ---- JSON shape ----

#[derive(Deserialize)]
struct JsonReport<'a> {
    #[serde(rename = "@version", default, borrow)]
    version: Option<Cow<'a, str>>,
    /// Absent: not this format; `null`: no sites.
    #[serde(default, borrow, deserialize_with = "present_list")]
    site: Option<Vec<JsonSite<'a>>>,
}

#[derive(Deserialize)]
struct JsonSite<'a> {
    #[serde(rename = "@name", default, borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(rename = "@host", default, borrow)]
    host: Option<Cow<'a, str>>,
    #[serde(rename = "@port", default, deserialize_with = "lenient::opt_string")]
    port: Option<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    alerts: Vec<AlertItem>,
}

fn present_list<'de, D, T>(d: D) -> Result<Option<Vec<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Some(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default()))
}

fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

// ---- shared between XML and JSON ----

#[derive(Deserialize)]
struct Instance {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    uri: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    method: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    param: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    attack: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    evidence: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    otherinfo: Option<String>,
}

#[derive(Deserialize)]
struct AlertItem {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pluginid: Option<String>,
    #[serde(rename = "alertRef", default, deserialize_with = "lenient::opt_string")]
    alert_ref: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    alert: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    riskcode: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    confidence: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    riskdesc: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    desc: Option<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    instances: Vec<Instance>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    count: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    solution: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    otherinfo: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    reference: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    cweid: Option<String>,
}

fn clean(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The site's name as reported (`https://example.com`), else `host:port`.
fn site_label(name: Option<&str>, host: Option<&str>, port: Option<&str>) -> Option<String> {
    let name = name.map(str::trim).filter(|s| !s.is_empty());
    let host = host.map(str::trim).filter(|s| !s.is_empty());
    match (name, host) {
        (Some(n), _) => Some(n.to_string()),
        (None, Some(h)) => Some(match port.map(str::trim).filter(|p| !p.is_empty()) {
            Some(p) => format!("{h}:{p}"),
            None => h.to_string(),
        }),
        (None, None) => None,
    }
}

/// `https://Example.com:443/` → `example.com`; `http://localhost:8080` → `localhost:8080`.
fn site_key(site: &str) -> String {
    let s = site.trim();
    let (scheme, rest) = match s.find("://") {
        Some(i) => (&s[..i], &s[i + 3..]),
        None => ("", s),
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority
        .rsplit('@')
        .next()
        .unwrap_or(authority)
        .to_ascii_lowercase();
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "https" => Some(":443"),
        "http" => Some(":80"),
        _ => None,
    };
    match default_port {
        Some(p) if authority.ends_with(p) => authority[..authority.len() - p.len()].to_string(),
        _ => authority,
    }
}

/// Removes ZAP's paragraph, line-break and list markup, keeping paragraphs as lines.
pub(crate) fn strip_markup(text: &str) -> String {
    const BREAKS: &[&str] = &[
        "<p>", "</p>", "<br>", "<br/>", "<br />", "<ul>", "</ul>", "<ol>", "</ol>", "</li>",
    ];
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    'outer: while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        let tail = &rest[lt..];
        for tag in BREAKS {
            // `get` (not indexing): the bytes after `<` may be a multi-byte character.
            if tail
                .get(..tag.len())
                .is_some_and(|t| t.eq_ignore_ascii_case(tag))
            {
                out.push('\n');
                rest = &tail[tag.len()..];
                continue 'outer;
            }
        }
        if tail
            .get(..4)
            .is_some_and(|t| t.eq_ignore_ascii_case("<li>"))
        {
            out.push_str("\n- ");
            rest = &tail[4..];
            continue;
        }
        out.push('<');
        rest = &tail[1..];
    }
    out.push_str(rest);
    let lines: Vec<&str> = out
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines.join("\n")
}

/// The URLs in a ZAP reference field (paragraphs, lines, or URLs glued together).
fn reference_urls(text: &str) -> Vec<String> {
    let plain = strip_markup(text);
    let mut urls = Vec::new();
    for token in plain.split_whitespace() {
        // Older XML reports glue URLs: split before every scheme after the first character.
        let mut starts: Vec<usize> = Vec::new();
        for scheme in ["http://", "https://"] {
            starts.extend(token.match_indices(scheme).map(|(i, _)| i));
        }
        starts.sort_unstable();
        starts.dedup();
        for (n, start) in starts.iter().enumerate() {
            let end = starts.get(n + 1).copied().unwrap_or(token.len());
            let mut url = token[*start..end].trim_end_matches([',', ';', '.']);
            // A closing parenthesis belongs to the URL only when it closes one opened in it.
            while url.ends_with(')') && url.matches(')').count() > url.matches('(').count() {
                url = &url[..url.len() - 1];
            }
            if url.len() > "https://".len() {
                urls.push(url.to_string());
            }
        }
    }
    urls
}

fn severity_of(riskcode: Option<&str>, riskdesc: Option<&str>) -> Severity {
    match riskcode.map(str::trim) {
        Some("3") => Severity::High,
        Some("2") => Severity::Medium,
        Some("1") => Severity::Low,
        Some("0") => Severity::Info,
        _ => riskdesc
            .and_then(|d| d.split_whitespace().next())
            .and_then(Severity::from_word)
            .unwrap_or(Severity::Info),
    }
}

/// The alert texts met so far in a report, by the fingerprint of the recipe without them.
///
/// ZAP's `<alert>` is the alert's own name and `<name>` the scan rule's; they differ for variants
/// of one rule (DefectDojo's `5_zap_sample_one.xml`: two 10011 items, "zap1: Cookie Without
/// Secure Flag" and "zap2: …", one `<name>`). The first alert text of a fingerprint keeps it, so
/// an item without variants keeps the fingerprint it always had; another alert text of the same
/// fingerprint gets that text mixed in, and DefectDojo's two findings are two here too.
#[derive(Default)]
struct Variants(std::collections::HashMap<String, String>);

impl Variants {
    fn fingerprint(&mut self, base: Fingerprint, alert: &str) -> Fingerprint {
        match self.0.get(base.as_str()) {
            None => {
                self.0.insert(base.as_str().to_string(), alert.to_string());
                base
            }
            Some(first) if first == alert => base,
            Some(_) => FingerprintBuilder::new("dast-variant")
                .part(base.as_str())
                .part(alert)
                .finish(),
        }
    }
}

fn alert_finding(
    scanner: &Scanner,
    format: Format,
    site: Option<&str>,
    alert: AlertItem,
    pointer: String,
    path: &str,
    variants: &mut Variants,
) -> Result<Finding, ParseError> {
    let Some(plugin) = clean(&alert.pluginid).or(clean(&alert.alert_ref)) else {
        return Err(ParseError::shape(
            path.to_string(),
            "a ZAP alert item needs a pluginid (or alertRef)",
        ));
    };
    let plugin = plugin.to_string();
    let alert_ref = clean(&alert.alert_ref).unwrap_or(&plugin).to_string();
    let title = clean(&alert.name)
        .or(clean(&alert.alert))
        .unwrap_or(&plugin)
        .to_string();
    let mut f = Finding::new(scanner.clone(), plugin.clone(), title);
    f.category = Category::Dast;
    f.severity = severity_of(clean(&alert.riskcode), clean(&alert.riskdesc));
    f.scanner_severity = clean(&alert.riskdesc)
        .or(clean(&alert.riskcode))
        .map(str::to_string);
    match clean(&alert.confidence) {
        Some("0") => f.suppressed = true, // a user marked it "False Positive" in ZAP
        Some("1") => f.confidence = Some(Confidence::Low),
        Some("2") => f.confidence = Some(Confidence::Medium),
        Some("3") | Some("4") => f.confidence = Some(Confidence::High),
        Some(other) => f.confidence = Confidence::from_word(other),
        None => {}
    }
    if let Some(cwe) = clean(&alert.cweid).and_then(parse_cwe) {
        f.add_cwe(cwe);
    }

    let first = alert.instances.first();
    let instance_field = |get: fn(&Instance) -> &Option<String>| -> Option<String> {
        first.and_then(|i| clean(get(i))).map(str::to_string)
    };
    f.location.url = instance_field(|i| &i.uri);
    f.location.method = instance_field(|i| &i.method);
    f.location.parameter = instance_field(|i| &i.param);
    f.location.snippet = instance_field(|i| &i.evidence);
    f.location.target = site.map(str::to_string);

    let mut desc = Vec::new();
    if let Some(d) = clean(&alert.desc) {
        desc.push(strip_markup(d));
    }
    if let Some(o) = clean(&alert.otherinfo).or_else(|| first.and_then(|i| clean(&i.otherinfo))) {
        desc.push(format!("Other information:\n{}", strip_markup(o)));
    }
    if let Some(a) = first.and_then(|i| clean(&i.attack)) {
        desc.push(format!("Attack: {a}"));
    }
    let total = clean(&alert.count)
        .and_then(|c| c.parse::<usize>().ok())
        .unwrap_or(0)
        .max(alert.instances.len());
    if total > 1 || alert.instances.len() > 1 {
        let mut lines = vec![format!("Instances ({total}):")];
        for inst in alert.instances.iter().take(LISTED_INSTANCES) {
            let mut line = format!(
                "- {} {}",
                clean(&inst.method).unwrap_or("GET"),
                clean(&inst.uri).unwrap_or("(no URL)")
            );
            if let Some(p) = clean(&inst.param) {
                line.push_str(&format!(" (parameter {p})"));
            }
            lines.push(line);
        }
        let listed = alert.instances.len().min(LISTED_INSTANCES);
        if total > listed {
            lines.push(format!("- … and {} more", total - listed));
        }
        desc.push(lines.join("\n"));
    }
    if !desc.is_empty() {
        f.description = Some(desc.join("\n\n"));
    }
    f.recommendation = clean(&alert.solution).map(strip_markup);
    if let Some(r) = clean(&alert.reference) {
        for url in reference_urls(r) {
            f.add_reference(url);
        }
    }

    // ZAP splits one rule's alerts into several items by name variant and risk (10099 "Source
    // Code Disclosure - SQL" / "- Servlet"; 90022 Medium / Low): both are part of the identity.
    let base = FingerprintBuilder::new("dast")
        .part(&alert_ref)
        .part(&site.map(site_key).unwrap_or_default())
        .part(&f.title.trim().to_lowercase())
        .part(f.severity.as_str())
        .finish();
    let alert_text = clean(&alert.alert)
        .unwrap_or(&f.title)
        .trim()
        .to_lowercase();
    f.fingerprint = variants.fingerprint(base, &alert_text);
    f.source = crate::source(format, pointer);
    Ok(f)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use tollgate_model::{Confidence, Finding, Severity, Tag};

    use super::*;
    use crate::ErrorKind;

    const XML: &[u8] = include_bytes!("../tests/fixtures/zap-xml/multi-site.xml");
    const XML_RESCAN: &[u8] = include_bytes!("../tests/fixtures/zap-xml/rescan-shifted.xml");
    const XML_NO_PLUGIN: &[u8] = include_bytes!("../tests/fixtures/zap-xml/missing-pluginid.xml");
    const JSON: &[u8] = include_bytes!("../tests/fixtures/zap-json/multi-site.json");
    const JSON_BAD: &[u8] = include_bytes!("../tests/fixtures/zap-json/instances-not-a-list.json");

    fn parse(bytes: &[u8], format: Format) -> (ReportMeta, Vec<Finding>) {
        crate::parse_to_vec(bytes, Some(format)).unwrap()
    }

    fn fingerprints(findings: &[Finding]) -> BTreeSet<String> {
        findings.iter().map(|f| f.fingerprint.to_string()).collect()
    }

    #[test]
    fn xml_snapshot() {
        let (meta, findings) = parse(XML, Format::ZapXml);
        insta::assert_json_snapshot!("zap_xml_meta", meta);
        insta::assert_json_snapshot!("zap_xml_findings", findings);
    }

    #[test]
    fn json_snapshot() {
        let (meta, findings) = parse(JSON, Format::ZapJson);
        insta::assert_json_snapshot!("zap_json_meta", meta);
        insta::assert_json_snapshot!("zap_json_findings", findings);
    }

    #[test]
    fn detects_both_formats() {
        assert_eq!(crate::detect(XML).unwrap(), Format::ZapXml);
        assert_eq!(crate::detect(JSON).unwrap(), Format::ZapJson);
        assert!(crate::detect(br#"{"site": "x", "results": []}"#).is_err());
        assert_ne!(
            crate::detect(b"<?xml version=\"1.0\"?><analysis/>").ok(),
            Some(Format::ZapXml)
        );
    }

    #[test]
    fn one_finding_per_alert_item_with_mapped_fields() {
        let (meta, f) = parse(XML, Format::ZapXml);
        assert_eq!(f.len(), 5);
        assert_eq!(meta.findings, 5);
        assert_eq!(
            meta.target.as_deref(),
            Some("https://shop.example.test, http://api.example.test:8080")
        );
        let sev: Vec<Severity> = f.iter().map(|x| x.severity).collect();
        use Severity::*;
        assert_eq!(sev, [High, Medium, Low, Info, Low]);
        let xss = &f[0];
        assert_eq!(xss.rule_id, "40012");
        assert_eq!(xss.category, tollgate_model::Category::Dast);
        assert_eq!(xss.confidence, Some(Confidence::Medium));
        assert!(xss.has_tag(Tag::Xss));
        assert_eq!(xss.location.method.as_deref(), Some("GET"));
        assert_eq!(xss.location.parameter.as_deref(), Some("q"));
        let desc = xss.description.as_deref().unwrap();
        // Paragraph markup goes, quoted HTML stays.
        assert!(desc.contains("echoes <script> code"), "{desc}");
        assert!(!desc.contains("<p>"));
        assert!(
            desc.contains("POST https://shop.example.test/account/profile (parameter displayName)")
        );
        // Confidence 0 is a user's "false positive": suppressed.
        assert!(f[2].suppressed);
        assert_eq!(f[2].confidence, None);
        assert_eq!(f[3].confidence, Some(Confidence::High));
        // Glued reference URLs are split.
        assert_eq!(
            f[1].references,
            [
                "https://developer.mozilla.org/en-US/docs/Web/HTTP/CSP",
                "https://www.w3.org/TR/CSP/"
            ]
        );
        // Pre-2.8 alert item with the instance fields inline.
        assert_eq!(
            f[4].location.url.as_deref(),
            Some("http://api.example.test:8080/login")
        );
        assert_eq!(f[4].references.len(), 2);
        assert_eq!(
            f[4].source.pointer,
            "/OWASPZAPReport/site[2]/alerts[1]/alertitem[2]"
        );
    }

    #[test]
    fn rescan_with_reordered_and_new_instances_keeps_fingerprints() {
        let (_, first) = parse(XML, Format::ZapXml);
        let (_, second) = parse(XML_RESCAN, Format::ZapXml);
        assert_eq!(fingerprints(&first), fingerprints(&second));
        // The location still follows the report (first instance listed).
        assert_ne!(first[0].location.url, second[0].location.url);
    }

    /// Two items of one plugin, one `<name>`, two `<alert>` texts (DefectDojo's
    /// `5_zap_sample_one.xml` shape), each with the same instance.
    fn variants(alerts: &[&str]) -> Vec<u8> {
        let items: String = alerts
            .iter()
            .map(|a| {
                format!(
                    "<alertitem><pluginid>10011</pluginid><alert>{a}</alert>\
                     <name>Cookie Without Secure Flag</name><riskcode>1</riskcode>\
                     <instances><instance><uri>https://mainsite.com/dashboard</uri>\
                     <method>GET</method><param>opvc</param></instance></instances></alertitem>"
                )
            })
            .collect();
        format!(
            "<?xml version=\"1.0\"?><OWASPZAPReport version=\"2.9.0\">\
             <site name=\"https://mainsite.com\" host=\"mainsite.com\" port=\"443\" ssl=\"true\">\
             <alerts>{items}</alerts></site></OWASPZAPReport>"
        )
        .into_bytes()
    }

    #[test]
    fn variants_of_one_rule_get_their_own_fingerprints_and_the_first_keeps_its_own() {
        let (_, both) = parse(
            &variants(&[
                "zap1: Cookie Without Secure Flag",
                "zap2: Cookie Without Secure Flag",
            ]),
            Format::ZapXml,
        );
        assert_eq!(both.len(), 2);
        assert_ne!(both[0].fingerprint, both[1].fingerprint);
        // An item alone, whatever its alert text, has the fingerprint the recipe always gave it.
        let (_, first) = parse(
            &variants(&["zap1: Cookie Without Secure Flag"]),
            Format::ZapXml,
        );
        let (_, plain) = parse(&variants(&["Cookie Without Secure Flag"]), Format::ZapXml);
        assert_eq!(first[0].fingerprint, both[0].fingerprint);
        assert_eq!(plain[0].fingerprint, both[0].fingerprint);
        // A true repeat (same alert text, same place) still shares one.
        let (_, twice) = parse(
            &variants(&[
                "zap1: Cookie Without Secure Flag",
                "zap1: Cookie Without Secure Flag",
            ]),
            Format::ZapXml,
        );
        assert_eq!(twice[0].fingerprint, twice[1].fingerprint);
    }

    #[test]
    fn same_rule_on_another_site_is_another_finding() {
        let (_, f) = parse(JSON, Format::ZapJson);
        assert_eq!(fingerprints(&f).len(), f.len());
        assert_eq!(
            site_key("https://Shop.Example.test:443/"),
            "shop.example.test"
        );
        assert_eq!(site_key("http://localhost:8080"), "localhost:8080");
        assert_eq!(site_key("http://user@host:80/x?y"), "host");
    }

    #[test]
    fn json_numbers_and_nulls_are_tolerated() {
        let (_, f) = parse(JSON, Format::ZapJson);
        assert_eq!(f.len(), 3);
        let ts = &f[2];
        assert_eq!(ts.rule_id, "10096");
        assert_eq!(ts.severity, Severity::Info);
        assert_eq!(ts.confidence, Some(Confidence::Low));
        assert!(ts.cwe.is_empty()); // cweid -1
        assert_eq!(ts.location.url, None);
        assert_eq!(ts.location.target.as_deref(), Some("http://localhost:3000"));
        let headers = &f[1];
        let desc = headers.description.as_deref().unwrap();
        assert!(desc.contains("Instances (57):"), "{desc}");
        assert!(desc.contains("… and 54 more"), "{desc}");
    }

    #[test]
    fn errors_name_the_place() {
        let e = crate::parse_to_vec(XML_NO_PLUGIN, Some(Format::ZapXml)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Shape);
        assert_eq!(
            e.path.as_deref(),
            Some("/OWASPZAPReport/site[1]/alerts[1]/alertitem[1]")
        );
        assert_eq!(e.line_column.map(|p| p.0), Some(5));
        let e = crate::parse_to_vec(JSON_BAD, Some(Format::ZapJson)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Shape);
        assert_eq!(e.path.as_deref(), Some("$.site[0].alerts[0].instances"));
        let e = crate::parse_to_vec(b"<other/>", Some(Format::ZapXml)).unwrap_err();
        assert!(e.message.contains("OWASPZAPReport"), "{e}");
        let e =
            crate::parse_to_vec(b"{\"@version\": \"2.14.0\"}", Some(Format::ZapJson)).unwrap_err();
        assert_eq!(e.path.as_deref(), Some("$.site"));
        let (_, none) = parse(br#"{"@version": "2.14.0", "site": null}"#, Format::ZapJson);
        assert!(none.is_empty());
        let e = crate::parse_to_vec(b"[1, 2]", Some(Format::ZapJson)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Shape);
    }

    #[test]
    fn markup_and_references() {
        assert_eq!(strip_markup("<p>a</p><p>b <b>c</b></p>"), "a\nb <b>c</b>");
        assert_eq!(strip_markup("<ul><li>x</li><li>y</li></ul>"), "- x\n- y");
        assert_eq!(strip_markup("a <é and <pé"), "a <é and <pé");
        assert_eq!(
            reference_urls("http://a.test/x_(y)http://b.test/z)"),
            ["http://a.test/x_(y)", "http://b.test/z"]
        );
    }
}
