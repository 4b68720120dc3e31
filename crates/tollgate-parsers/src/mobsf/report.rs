//! MobSF `api/v1/report_json` (static analysis), Android and iOS, MobSF 3.x to 4.x.

use serde::Deserialize;
use serde_json::{Map, Value};
use tollgate_model::{
    parse_cwe, Category, Cvss, CvssVersion, Finding, FingerprintBuilder, RedactedSecret,
    ReportMeta, Scanner, Severity, Tag,
};

use super::common::{
    clean_html, component_in_parens, esc, first_sentence, first_text, number, redacted_entry,
    scrub, severity, slug, split_secret, tags_from_rule, tags_from_text, text,
};
use crate::json::lenient;
use crate::{Format, ParseError};

/// The fields of a report_json Tollgate reads; everything else (strings, files, urls, …) is
/// skipped without being kept.
#[derive(Deserialize)]
struct Report {
    #[serde(default, deserialize_with = "lenient::opt_string")]
    version: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    mobsf_version: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    app_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    file_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    app_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    package_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    bundle_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    version_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    app_version: Option<String>,
    #[serde(default)]
    manifest_analysis: Option<Value>,
    #[serde(default)]
    network_security: Option<Value>,
    #[serde(default)]
    certificate_analysis: Option<Value>,
    #[serde(default)]
    code_analysis: Option<Value>,
    #[serde(default)]
    binary_analysis: Option<Value>,
    #[serde(default)]
    macho_analysis: Option<Value>,
    #[serde(default)]
    dylib_analysis: Option<Value>,
    #[serde(default)]
    framework_analysis: Option<Value>,
    #[serde(default)]
    ats_analysis: Option<Value>,
    #[serde(default)]
    file_analysis: Option<Value>,
    #[serde(default)]
    secrets: Option<Value>,
    #[serde(default)]
    firebase_urls: Option<Value>,
    #[serde(default)]
    trackers: Option<Value>,
    #[serde(default)]
    domains: Option<Value>,
    #[serde(default)]
    logs: Option<Value>,
}

struct Ctx<'s> {
    scanner: Scanner,
    /// Package name / bundle id (per-finding `location.target`, part of every fingerprint).
    app: Option<String>,
    /// Secret values of the report, scrubbed from every text of every finding.
    secrets: Vec<String>,
    sink: &'s mut dyn FnMut(Finding),
}

impl Ctx<'_> {
    fn finding(
        &self,
        rule_id: &str,
        title: &str,
        sev: Severity,
        scanner_sev: Option<&str>,
        pointer: String,
    ) -> Finding {
        let mut f = Finding::new(self.scanner.clone(), rule_id, title);
        f.severity = sev;
        f.scanner_severity = scanner_sev.map(str::to_string);
        f.category = Category::Mobile;
        f.location.target = self.app.clone();
        f.source = crate::source(Format::Mobsf, pointer);
        f
    }

    fn fingerprint(&self, section: &str, rule: &str) -> FingerprintBuilder {
        FingerprintBuilder::new("mobsf")
            .opt(self.app.as_deref())
            .part(section)
            .part(rule)
    }

    fn emit(&mut self, mut f: Finding) {
        if !self.secrets.is_empty() || f.description.as_deref().is_some_and(|d| d.contains("key="))
        {
            let s = &self.secrets;
            f.title = scrub(&f.title, s);
            f.description = f.description.map(|d| scrub(&d, s));
            f.recommendation = f.recommendation.map(|d| scrub(&d, s));
            f.location.snippet = f.location.snippet.map(|d| scrub(&d, s));
            f.location.url = f.location.url.map(|d| scrub(&d, s));
            f.location.component = f.location.component.map(|d| scrub(&d, s));
            f.location.file = f.location.file.map(|d| scrub(&d, s));
            f.references = f.references.iter().map(|d| scrub(d, s)).collect();
        }
        (self.sink)(f)
    }
}

fn add_tags(f: &mut Finding, tags: Vec<Tag>) {
    for t in tags {
        f.tag(t);
    }
}

/// Adds `cwe` / `cvss` / `ref` / OWASP-MASVS metadata of a rule or check.
fn add_metadata(f: &mut Finding, meta: &Value) {
    if let Some(cwe) = text(meta, "cwe") {
        // "CWE-532: …", "cwe-532", "CWE-676 - Use of …"; several may be comma separated.
        for part in cwe.split(',') {
            if let Some(n) = parse_cwe(part) {
                f.add_cwe(n);
            }
        }
    }
    if let Some(score) = number(meta, "cvss").filter(|s| *s > 0.0) {
        if let Some(c) = Cvss::new(None, Some(score), Some(CvssVersion::V31)) {
            f.cvss.push(c);
        }
    }
    if let Some(r) = text(meta, "ref") {
        f.add_reference(r);
    }
    let owasp = first_text(meta, &["owasp-mobile", "owasp_mobile"]);
    let masvs = text(meta, "masvs");
    let mut extra = Vec::new();
    if let Some(o) = owasp {
        extra.push(format!("OWASP Mobile: {o}"));
    }
    if let Some(m) = masvs {
        extra.push(format!("MASVS: {m}"));
    }
    if !extra.is_empty() {
        let d = f.description.take().unwrap_or_default();
        let sep = if d.is_empty() { "" } else { "\n" };
        f.description = Some(format!("{d}{sep}{}", extra.join("; ")));
    }
}

pub(crate) fn parse(input: &str, sink: &mut dyn FnMut(Finding)) -> Result<ReportMeta, ParseError> {
    let r: Report = crate::json::from_str(input)?;
    if r.app_type.is_none()
        && r.package_name.is_none()
        && r.bundle_id.is_none()
        && r.manifest_analysis.is_none()
        && r.ats_analysis.is_none()
    {
        return Err(ParseError::shape(
            "$",
            "not a MobSF report_json: none of app_type, package_name, bundle_id, manifest_analysis, ats_analysis",
        ));
    }
    let version = r
        .version
        .clone()
        .or_else(|| r.mobsf_version.clone())
        .map(|v| v.trim().trim_start_matches(['v', 'V']).to_string());
    let scanner = Scanner::new("mobsf", version);
    let mut meta = ReportMeta::new(Format::Mobsf.id());
    meta.add_scanner(&scanner);
    let app = r
        .package_name
        .clone()
        .or_else(|| r.bundle_id.clone())
        .or_else(|| r.app_name.clone())
        .or_else(|| r.file_name.clone());
    let app_version = r.version_name.clone().or_else(|| r.app_version.clone());
    meta.target = match (&app, &app_version) {
        (Some(a), Some(v)) => Some(format!("{a} {v}")),
        (Some(a), None) => Some(a.clone()),
        _ => None,
    };

    // Secret values first: they are scrubbed from every finding.
    let secret_entries: Vec<(usize, String)> = match &r.secrets {
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.as_str().map(|s| (i, s.to_string())))
            .filter(|(_, s)| !s.trim().is_empty())
            .collect(),
        _ => Vec::new(),
    };
    let mut secrets: Vec<String> = secret_entries
        .iter()
        .map(|(_, s)| split_secret(s).value)
        .filter(|v| v.chars().count() >= 6)
        .collect();
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    secrets.dedup();

    let mut ctx = Ctx {
        scanner,
        app,
        secrets,
        sink,
    };

    if let Some(v) = &r.manifest_analysis {
        manifest(&mut ctx, v);
    }
    if let Some(v) = &r.network_security {
        network(&mut ctx, v);
    }
    if let Some(v) = &r.certificate_analysis {
        certificate(&mut ctx, v);
    }
    let code_findings = r.code_analysis.as_ref().map_or(0, |v| code(&mut ctx, v));
    if let Some(v) = &r.binary_analysis {
        binary(&mut ctx, v, "/binary_analysis");
    }
    if let Some(v) = &r.macho_analysis {
        binary(&mut ctx, v, "/macho_analysis");
    }
    if let Some(v) = &r.dylib_analysis {
        binary(&mut ctx, v, "/dylib_analysis");
    }
    if let Some(v) = &r.framework_analysis {
        binary(&mut ctx, v, "/framework_analysis");
    }
    if let Some(v) = &r.ats_analysis {
        ats(&mut ctx, v);
    }
    if let Some(v) = &r.file_analysis {
        files(&mut ctx, v);
    }
    for (i, entry) in &secret_entries {
        secret(&mut ctx, *i, entry);
    }
    if let Some(v) = &r.firebase_urls {
        firebase(&mut ctx, v);
    }
    if let Some(v) = &r.trackers {
        trackers(&mut ctx, v);
    }
    if let Some(v) = &r.domains {
        domains(&mut ctx, v);
    }
    if let Some(v) = &r.logs {
        meta.incomplete = incomplete_reasons(v, code_findings);
    }
    Ok(meta)
}

/// A list section, either bare (MobSF < 3.6.5) or wrapped as `{<key>: [...], <summary>: {...}}`.
fn list_section<'v>(v: &'v Value, key: &str, base: &str) -> Vec<(String, &'v Value)> {
    let (items, prefix) = match v {
        Value::Array(a) => (a, base.to_string()),
        Value::Object(o) => match o.get(key) {
            Some(Value::Array(a)) => (a, format!("{base}/{key}")),
            _ => return Vec::new(),
        },
        _ => return Vec::new(),
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| (format!("{prefix}/{i}"), item))
        .collect()
}

const COMPONENT_KINDS: [&str; 6] = [
    "activity",
    "activity-alias",
    "service",
    "broadcast receiver",
    "receiver",
    "content provider",
];

/// Manifest rule id for 3.x entries, which have none: recognised from the title MobSF wrote.
fn manifest_rule_from_title(title: &str) -> String {
    let t = title.to_ascii_lowercase();
    let has = |s: &str| t.contains(s);
    let id = if has("debug enabled for app") {
        "app_is_debuggable"
    } else if has("can be backed up") && has("flag is missing") {
        "allowbackup_not_set"
    } else if has("can be backed up") {
        "app_allowbackup"
    } else if has("clear text traffic") {
        "clear_text_traffic"
    } else if has("would not be protected") {
        "exported_provider_2"
    } else if has("is not protected") && has("intent-filter") {
        "exported_intent_filter_exists"
    } else if has("is not protected") && has("content provider, targetsdkversion < 17") {
        "exported_provider"
    } else if has("is not protected") {
        "explicitly_exported"
    } else if has("protected by a permission") {
        "exported_protected_permission"
    } else if has("installed on a vulnerable") {
        "vulnerable_os_version"
    } else if has("network security configuration") {
        "has_network_security"
    } else if has("test mode") {
        "app_in_test_mode"
    } else if has("taskaffinity") {
        "task_affinity_set"
    } else if has("launch mode") {
        "non_standard_launchmode"
    } else if has("strandhogg 2.0") {
        "task_hijacking2"
    } else if has("task hijacking") {
        "task_hijacking"
    } else {
        let short = title.split(['(', '[']).next().unwrap_or(title);
        return format!("manifest_{}", slug(short));
    };
    id.to_string()
}

fn manifest(ctx: &mut Ctx, v: &Value) {
    for (ptr, item) in list_section(v, "manifest_findings", "/manifest_analysis") {
        let sev_word = first_text(item, &["severity", "stat", "level"]);
        let Some(sev) = severity(sev_word.as_deref()) else {
            continue;
        };
        let raw_title = first_text(item, &["title", "name"]).unwrap_or_default();
        let title = clean_html(&raw_title);
        let rule = text(item, "rule").unwrap_or_else(|| manifest_rule_from_title(&title));
        let description = first_text(item, &["description", "desc"]);
        let comps: Vec<String> = match item.get("component") {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|c| c.as_str().map(clean_html))
                .filter(|c| !c.is_empty())
                .collect(),
            Some(Value::String(s)) if !s.trim().is_empty() => vec![clean_html(s)],
            _ => Vec::new(),
        };
        let component = match comps.as_slice() {
            [kind, name, ..] if COMPONENT_KINDS.contains(&kind.to_ascii_lowercase().as_str()) => {
                Some(name.clone())
            }
            _ => component_in_parens(&title),
        };
        let mut f = ctx.finding(
            &rule,
            if title.is_empty() { &rule } else { &title },
            sev,
            sev_word.as_deref(),
            ptr,
        );
        f.description = description.clone();
        f.location.component = component.clone();
        add_tags(&mut f, tags_from_rule(&rule));
        add_tags(&mut f, tags_from_text(&title, ""));
        // Protected components are never "exported without permission".
        if rule.starts_with("exported_protected") || title.contains("Protected by a permission") {
            f.tags.retain(|t| *t != Tag::ExportedComponent);
        }
        // Version-like parts (minSdk) would change the identity with every SDK bump.
        let identity = component.unwrap_or_else(|| {
            comps
                .iter()
                .filter(|c| !c.starts_with(|ch: char| ch.is_ascii_digit()))
                .cloned()
                .collect::<Vec<_>>()
                .join("|")
        });
        f.fingerprint = ctx.fingerprint("manifest", &rule).part(&identity).finish();
        ctx.emit(f);
    }
}

fn network(ctx: &mut Ctx, v: &Value) {
    for (ptr, item) in list_section(v, "network_findings", "/network_security") {
        let sev_word = first_text(item, &["severity", "stat"]);
        let Some(sev) = severity(sev_word.as_deref()) else {
            continue;
        };
        let description = first_text(item, &["description", "desc"]).unwrap_or_default();
        let scope: Vec<String> = match item.get("scope") {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect(),
            Some(Value::String(s)) => vec![s.clone()],
            _ => Vec::new(),
        };
        let title = first_sentence(&description);
        let rule = network_rule(&title);
        let mut f = ctx.finding(&rule, &title, sev, sev_word.as_deref(), ptr);
        f.description = Some(if scope.is_empty() {
            description.clone()
        } else {
            format!("{description}\nScope: {}", scope.join(", "))
        });
        if !scope.is_empty() {
            f.location.component = Some(scope.join(", "));
        }
        add_tags(&mut f, tags_from_text(&title, &description));
        f.fingerprint = ctx
            .fingerprint("network", &rule)
            .part(&scope.join("|"))
            .finish();
        ctx.emit(f);
    }
}

/// A short stable id for MobSF's network-security wording: `network_<base|domain|debug>_<topic>`.
pub(crate) fn network_rule(title: &str) -> String {
    let t = title.to_ascii_lowercase();
    let kind = if t.starts_with("base config") {
        "base_"
    } else if t.starts_with("domain config") {
        "domain_"
    } else if t.starts_with("debug") {
        "debug_"
    } else {
        ""
    };
    let topic = if t.contains("permit clear text") {
        "cleartext_permitted".to_string()
    } else if t.contains("trust user installed") {
        "trust_user_certificates".to_string()
    } else if t.contains("trust system") {
        "trust_system_certificates".to_string()
    } else if t.contains("bypass certificate pinning") {
        "pinning_bypass".to_string()
    } else if t.contains("pin") && t.contains("expir") {
        "pinning_expiry".to_string()
    } else {
        return format!(
            "network_{}",
            slug(title).chars().take(60).collect::<String>()
        );
    };
    format!("network_{kind}{topic}")
}

/// `NSExceptionMinimumTLSVersion set to TLSv1.0 on api.example.com` → (`set to TLSv1.0` wording
/// without the domain, `Some("api.example.com")`).
fn split_domain(issue: &str) -> (String, Option<String>) {
    let words: Vec<&str> = issue.split_whitespace().collect();
    let is_domain = |w: &str| {
        let w = w.trim_end_matches(['.', ',']);
        w.contains('.')
            && w.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '*'))
            && w.rsplit('.')
                .next()
                .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()))
    };
    let Some(at) = words.iter().position(|w| is_domain(w)) else {
        return (issue.to_string(), None);
    };
    let domain = words[at].trim_end_matches(['.', ',']).to_string();
    let mut rest: Vec<&str> = Vec::new();
    for (i, w) in words.iter().enumerate() {
        if i == at || (i + 1 == at && matches!(*w, "for" | "on" | "to")) {
            continue;
        }
        rest.push(w);
    }
    (rest.join(" "), Some(domain))
}

fn certificate(ctx: &mut Ctx, v: &Value) {
    let Some(obj) = v.as_object() else { return };
    if let Some(Value::Array(items)) = obj.get("certificate_findings") {
        for (i, item) in items.iter().enumerate() {
            let ptr = format!("/certificate_analysis/certificate_findings/{i}");
            // [severity, description, title] (4.x also accepts objects).
            let (sev_word, desc, title) = match item {
                Value::Array(a) => (
                    a.first().and_then(Value::as_str).map(str::to_string),
                    a.get(1).and_then(Value::as_str).map(str::to_string),
                    a.get(2).and_then(Value::as_str).map(str::to_string),
                ),
                Value::Object(_) => (
                    first_text(item, &["severity", "status"]),
                    first_text(item, &["description", "desc"]),
                    first_text(item, &["title", "name"]),
                ),
                _ => continue,
            };
            let Some(sev) = severity(sev_word.as_deref()) else {
                continue;
            };
            let desc = desc.unwrap_or_default();
            let title = title.unwrap_or_else(|| first_sentence(&desc));
            let rule = format!("certificate_{}", slug(&title));
            let mut f = ctx.finding(&rule, &title, sev, sev_word.as_deref(), ptr);
            f.description = (!desc.is_empty()).then_some(desc.clone());
            add_tags(&mut f, tags_from_text(&title, &desc));
            f.fingerprint = ctx.fingerprint("certificate", &rule).finish();
            ctx.emit(f);
        }
    } else if let Some(status) = text(v, "certificate_status") {
        // MobSF 3.0–3.2: one verdict for the signing certificate.
        let Some(sev) = severity(Some(&status)) else {
            return;
        };
        if status.eq_ignore_ascii_case("good") || status.eq_ignore_ascii_case("secure") {
            return;
        }
        let desc = text(v, "description").unwrap_or_default();
        let title = first_sentence(&desc);
        let rule = format!("certificate_{}", slug(&title));
        let mut f = ctx.finding(
            &rule,
            &title,
            sev,
            Some(&status),
            "/certificate_analysis".into(),
        );
        f.description = Some(desc.clone());
        add_tags(&mut f, tags_from_text(&title, &desc));
        f.fingerprint = ctx.fingerprint("certificate", &rule).finish();
        ctx.emit(f);
    }
}

/// `{rule: {files: {path: "lines"}, metadata: {...}}}`, optionally wrapped in
/// `{findings: {...}, summary: {...}}` (MobSF >= 3.6.5). One finding per rule × file.
fn code(ctx: &mut Ctx, v: &Value) -> usize {
    let Some(obj) = v.as_object() else { return 0 };
    let (rules, base): (&Map<String, Value>, &str) = match obj.get("findings") {
        Some(Value::Object(inner)) if !obj.get("findings").is_some_and(is_code_rule) => {
            (inner, "/code_analysis/findings")
        }
        _ => (obj, "/code_analysis"),
    };
    let mut count = 0;
    for (rule, entry) in rules {
        if !is_code_rule(entry) {
            continue;
        }
        // MobSF >= 3.x: `{files, metadata}`; older reports kept the metadata next to a `path`
        // list (`{desc, level, cvss, cwe, path: [...]}`).
        let meta = entry
            .get("metadata")
            .filter(|m| m.is_object())
            .unwrap_or(entry);
        let sev_word = first_text(meta, &["severity", "level", "stat"]);
        let Some(sev) = severity(sev_word.as_deref()) else {
            continue;
        };
        let rule_id = text(meta, "id").unwrap_or_else(|| rule.clone());
        let description = first_text(meta, &["description", "message", "desc"]).unwrap_or_default();
        let title = if description.is_empty() {
            rule_id.clone()
        } else {
            first_sentence(&description)
        };
        let rule_ptr = format!("{base}/{}", super::common::esc(rule));
        let (files_key, files) = match entry.get("files") {
            Some(f) => ("files", Some(f)),
            None => ("path", entry.get("path")),
        };
        // (path, lines, pointer)
        let files: Vec<(&str, Option<&Value>, String)> = match files {
            Some(Value::Object(files)) => files
                .iter()
                .map(|(p, l)| {
                    (
                        p.as_str(),
                        Some(l),
                        format!("{rule_ptr}/{files_key}/{}", esc(p)),
                    )
                })
                .collect(),
            Some(Value::Array(list)) => list
                .iter()
                .enumerate()
                .filter_map(|(i, p)| {
                    p.as_str()
                        .map(|p| (p, None, format!("{rule_ptr}/{files_key}/{i}")))
                })
                .collect(),
            _ => Vec::new(),
        };
        let mut make = |path: Option<&str>, lines: Option<&Value>, ptr: String| {
            let mut f = ctx.finding(&rule_id, &title, sev, sev_word.as_deref(), ptr);
            f.description = (!description.is_empty()).then(|| description.clone());
            add_metadata(&mut f, meta);
            f.location.file = path.map(str::to_string);
            if let Some(l) = lines {
                let nums: Vec<u32> = match l {
                    Value::String(s) => {
                        s.split(',').filter_map(|n| n.trim().parse().ok()).collect()
                    }
                    Value::Number(n) => n
                        .as_u64()
                        .and_then(|n| u32::try_from(n).ok())
                        .into_iter()
                        .collect(),
                    Value::Array(a) => a
                        .iter()
                        .filter_map(|n| n.as_u64().and_then(|n| u32::try_from(n).ok()))
                        .collect(),
                    _ => Vec::new(),
                };
                f.location.start_line = nums.iter().copied().filter(|n| *n > 0).min();
                if nums.len() > 1 {
                    let mut sorted = nums.clone();
                    sorted.sort_unstable();
                    sorted.dedup();
                    let list: Vec<String> = sorted.iter().map(u32::to_string).collect();
                    let d = f.description.take().unwrap_or_default();
                    f.description = Some(format!("{d}\nLines: {}", list.join(", ")));
                }
            }
            add_tags(&mut f, tags_from_rule(&rule_id));
            add_tags(&mut f, tags_from_text(&title, &description));
            f.fingerprint = ctx.fingerprint("code", &rule_id).path(path).finish();
            ctx.emit(f);
        };
        if files.is_empty() {
            make(None, None, rule_ptr);
            count += 1;
        } else {
            for (path, lines, ptr) in files {
                make(Some(path), lines, ptr);
                count += 1;
            }
        }
    }
    count
}

fn is_code_rule(v: &Value) -> bool {
    v.get("metadata").is_some_and(Value::is_object)
        || v.get("files")
            .is_some_and(|f| f.is_object() || f.is_array())
        || v.get("path").is_some_and(Value::is_array)
}

/// Android `.so` checks (list of `{name, nx: {...}, pie: {...}, …}`), iOS Mach-O checks
/// (`{name, nx: {...}, …}`) and iOS binary findings (`{title: {detailed_desc, severity, …}}`,
/// optionally wrapped in `{findings, summary}`).
fn binary(ctx: &mut Ctx, v: &Value, base: &str) {
    match v {
        Value::Array(libs) => {
            for (i, lib) in libs.iter().enumerate() {
                let ptr = format!("{base}/{i}");
                if lib.get("name").is_some() {
                    binary_checks(ctx, lib, &ptr);
                } else if lib.get("issue").is_some() || lib.get("title").is_some() {
                    binary_issue(ctx, lib, None, &ptr);
                }
            }
        }
        Value::Object(o) => {
            if o.contains_key("name") && o.values().any(|c| c.get("severity").is_some()) {
                binary_checks(ctx, v, base);
                return;
            }
            let (items, base) = match o.get("findings") {
                Some(Value::Object(inner)) => (inner, format!("{base}/findings")),
                Some(Value::Array(list)) => {
                    for (i, item) in list.iter().enumerate() {
                        binary_issue(ctx, item, None, &format!("{base}/findings/{i}"));
                    }
                    return;
                }
                _ => (o, base.to_string()),
            };
            for (title, item) in items {
                if item.is_object() {
                    binary_issue(ctx, item, Some(title), &format!("{base}/{}", esc(title)));
                }
            }
        }
        _ => {}
    }
}

/// The checks of one library / Mach-O binary. Entries with severity `info`/`secure`/`good`
/// state that a protection is present and are skipped.
fn binary_checks(ctx: &mut Ctx, lib: &Value, ptr: &str) {
    let Some(obj) = lib.as_object() else { return };
    let name = text(lib, "name");
    for (check, result) in obj {
        let Some(sev_word) = text(result, "severity") else {
            continue;
        };
        let Some(sev) = severity(Some(&sev_word)).filter(|s| *s > Severity::Info) else {
            continue;
        };
        let description = first_text(result, &["description", "detailed_desc"]).unwrap_or_default();
        let title = match check.as_str() {
            "nx" => "Binary without NX bit (non-executable stack)".to_string(),
            "pie" => "Binary not built as position independent code (PIE/PIC)".to_string(),
            "stack_canary" => "Binary without stack canary".to_string(),
            "relocation_readonly" | "relro" => "Binary without full RELRO".to_string(),
            "rpath" => "Binary has RPATH set".to_string(),
            "runpath" => "Binary has RUNPATH set".to_string(),
            "fortify" => "Binary without fortified functions".to_string(),
            "symbol" => "Binary symbols are not stripped".to_string(),
            "arc" => "Binary not compiled with ARC".to_string(),
            "encrypted" => "Binary is not encrypted".to_string(),
            "code_signature" => "Binary has no code signature".to_string(),
            _ => first_sentence(&description),
        };
        let rule = format!("binary_{}", slug(check));
        let mut f = ctx.finding(
            &rule,
            &title,
            sev,
            Some(&sev_word),
            format!("{ptr}/{}", esc(check)),
        );
        f.description = (!description.is_empty()).then(|| description.clone());
        add_metadata(&mut f, result);
        f.location.file = name.clone();
        add_tags(&mut f, tags_from_text(&title, &description));
        f.fingerprint = ctx
            .fingerprint("binary", &rule)
            .path(name.as_deref())
            .finish();
        ctx.emit(f);
    }
}

fn binary_issue(ctx: &mut Ctx, item: &Value, key_title: Option<&str>, ptr: &str) {
    let sev_word = first_text(item, &["severity", "status", "stat"]);
    let Some(sev) = severity(sev_word.as_deref()) else {
        return;
    };
    let title = key_title
        .map(str::to_string)
        .or_else(|| first_text(item, &["title", "issue"]))
        .unwrap_or_default();
    let description =
        first_text(item, &["detailed_desc", "description", "desc"]).unwrap_or_default();
    let rule = format!("binary_{}", slug(&title));
    let mut f = ctx.finding(&rule, &title, sev, sev_word.as_deref(), ptr.to_string());
    f.description = (!description.is_empty()).then(|| description.clone());
    add_metadata(&mut f, item);
    add_tags(&mut f, tags_from_rule(&rule));
    add_tags(&mut f, tags_from_text(&title, &description));
    f.fingerprint = ctx.fingerprint("binary", &rule).finish();
    ctx.emit(f);
}

fn ats(ctx: &mut Ctx, v: &Value) {
    for (ptr, item) in list_section(v, "ats_findings", "/ats_analysis") {
        let sev_word = first_text(item, &["severity", "status"]);
        let Some(sev) = severity(sev_word.as_deref()) else {
            continue;
        };
        let title = first_text(item, &["issue", "title"]).unwrap_or_default();
        let description = first_text(item, &["description", "desc"]).unwrap_or_default();
        let (generic, domain) = split_domain(&title);
        let rule = format!("ats_{}", slug(&generic));
        let mut f = ctx.finding(&rule, &title, sev, sev_word.as_deref(), ptr);
        f.location.component = domain.clone();
        f.description = (!description.is_empty()).then(|| description.clone());
        add_tags(&mut f, tags_from_text(&title, &description));
        // NSAllowsArbitraryLoads (all loads) and NSExceptionAllowsInsecureHTTPLoads (per domain).
        let t = title.to_ascii_lowercase();
        if t.contains("arbitraryloads") || t.contains("insecurehttploads") {
            f.tag(Tag::CleartextTraffic);
        }
        f.fingerprint = ctx
            .fingerprint("ats", &rule)
            .opt(domain.as_deref())
            .finish();
        ctx.emit(f);
    }
}

const KEY_FILE_EXTENSIONS: [&str; 8] = [
    ".key",
    ".p12",
    ".pfx",
    ".jks",
    ".bks",
    ".keystore",
    ".pk8",
    ".ppk",
];

/// `file_analysis`: one finding per issue × file, except the plist inventory of iOS.
fn files(ctx: &mut Ctx, v: &Value) {
    let Value::Array(items) = v else { return };
    for (i, item) in items.iter().enumerate() {
        let Some(issue) = first_text(item, &["finding", "issue", "title"]) else {
            continue;
        };
        if issue.eq_ignore_ascii_case("plist files") {
            continue;
        }
        let rule = format!("file_{}", slug(&issue));
        let Some(Value::Array(paths)) = item.get("files") else {
            continue;
        };
        for (j, p) in paths.iter().enumerate() {
            let path = match p {
                Value::String(s) => Some(s.clone()),
                Value::Object(_) => first_text(p, &["file_path", "path"]),
                _ => None,
            };
            let Some(path) = path else { continue };
            let mut f = ctx.finding(
                &rule,
                issue.trim_end_matches('.'),
                Severity::Medium,
                None,
                format!("/file_analysis/{i}/files/{j}"),
            );
            f.description = Some(issue.clone());
            let lower = path.to_ascii_lowercase();
            if KEY_FILE_EXTENSIONS.iter().any(|e| lower.ends_with(e)) {
                f.tag(Tag::HardcodedSecret);
            }
            f.location.file = Some(path.clone());
            f.fingerprint = ctx.fingerprint("file", &rule).path(Some(&path)).finish();
            ctx.emit(f);
        }
    }
}

fn secret(ctx: &mut Ctx, i: usize, entry: &str) {
    let s = split_secret(entry);
    let redacted = RedactedSecret::new(&s.value);
    let title = match &s.name {
        Some(n) => format!("Possible hardcoded secret in string resource \"{n}\""),
        None => "Possible hardcoded secret (high-entropy string in the app)".to_string(),
    };
    let mut f = ctx.finding(
        "hardcoded_secret",
        &title,
        Severity::Medium,
        None,
        format!("/secrets/{i}"),
    );
    f.description = Some(
        "MobSF identified a value that may be a secret. Ensure that it is not a secret or private information."
            .to_string(),
    );
    f.location.snippet = Some(redacted_entry(entry, &s));
    f.tag(Tag::HardcodedSecret);
    f.fingerprint = ctx
        .fingerprint("secret", "hardcoded_secret")
        .opt(s.name.as_deref())
        .part(&redacted.sha256_prefix)
        .finish();
    f.secret = Some(redacted);
    ctx.emit(f);
}

/// `[{url, open}]` (MobSF < 4) or `[{title, severity, description}]` (MobSF 4.x).
fn firebase(ctx: &mut Ctx, v: &Value) {
    let Value::Array(items) = v else { return };
    for (i, item) in items.iter().enumerate() {
        let ptr = format!("/firebase_urls/{i}");
        if let Some(url) = text(item, "url") {
            let open = matches!(item.get("open"), Some(Value::Bool(true)));
            let (rule, title, sev) = if open {
                ("firebase_db_open", "Open Firebase database", Severity::High)
            } else {
                (
                    "firebase_db_exists",
                    "App talks to a Firebase database",
                    Severity::Info,
                )
            };
            let mut f = ctx.finding(rule, title, sev, None, ptr);
            f.description = Some(if open {
                format!("The Firebase database at {url} is exposed to the internet without any authentication.")
            } else {
                format!("The app talks to the Firebase database at {url}.")
            });
            f.location.url = Some(url.clone());
            f.fingerprint = ctx.fingerprint("firebase", rule).part(&url).finish();
            ctx.emit(f);
        } else if let Some(title) = text(item, "title") {
            let sev_word = text(item, "severity");
            let Some(sev) = severity(sev_word.as_deref()) else {
                continue;
            };
            let t = title.to_ascii_lowercase();
            let rule = if t.contains("open firebase database") {
                "firebase_db_open".to_string()
            } else if t.contains("talks to a firebase database") {
                "firebase_db_exists".to_string()
            } else {
                format!("firebase_{}", slug(title.trim_start_matches("Firebase ")))
            };
            let description = text(item, "description");
            // "… database at https://x.firebaseio.com": the URL names the database.
            let url = description.as_deref().and_then(|d| {
                let at = d.find("https://").or_else(|| d.find("http://"))?;
                let end = d[at..]
                    .find(char::is_whitespace)
                    .map_or(d.len(), |e| at + e);
                Some(d[at..end].trim_end_matches(['.', ',']).to_string())
            });
            let mut f = ctx.finding(&rule, &title, sev, sev_word.as_deref(), ptr);
            f.description = description;
            // The Remote Config URL carries the API key: keep it only in the (scrubbed) text.
            let db_url = url.filter(|u| u.contains("firebaseio.com"));
            f.location.url = db_url.clone();
            f.fingerprint = ctx
                .fingerprint("firebase", &rule)
                .opt(db_url.as_deref())
                .finish();
            ctx.emit(f);
        }
    }
}

/// `{detected_trackers, total_trackers, trackers: [{name, categories, url}]}`: one Info finding
/// per detected tracker.
fn trackers(ctx: &mut Ctx, v: &Value) {
    let (list, base) = match v {
        Value::Object(o) => match o.get("trackers") {
            Some(Value::Array(a)) => (a, "/trackers/trackers"),
            _ => return,
        },
        Value::Array(a) => (a, "/trackers"),
        _ => return,
    };
    for (i, t) in list.iter().enumerate() {
        let (name, url, categories) = match t {
            Value::String(s) => (Some(s.clone()), None, None),
            Value::Array(a) => (
                a.first().and_then(Value::as_str).map(str::to_string),
                a.get(1).and_then(Value::as_str).map(str::to_string),
                None,
            ),
            Value::Object(_) => (text(t, "name"), text(t, "url"), text(t, "categories")),
            _ => (None, None, None),
        };
        let Some(name) = name else { continue };
        let mut f = ctx.finding(
            "tracker",
            &format!("Tracker: {name}"),
            Severity::Info,
            None,
            format!("{base}/{i}"),
        );
        f.description = Some(match &categories {
            Some(c) => format!("The app includes the tracker {name} ({c})."),
            None => format!("The app includes the tracker {name}."),
        });
        if let Some(u) = url {
            f.add_reference(u);
        }
        f.location.component = Some(name.clone());
        f.tag(Tag::Tracker);
        f.fingerprint = ctx.fingerprint("tracker", "tracker").part(&name).finish();
        ctx.emit(f);
    }
}

/// Domains MobSF's malware check rated bad.
fn domains(ctx: &mut Ctx, v: &Value) {
    let Value::Object(o) = v else { return };
    for (domain, info) in o {
        let bad = text(info, "bad").is_some_and(|b| b.eq_ignore_ascii_case("yes") || b == "true");
        if !bad {
            continue;
        }
        let mut f = ctx.finding(
            "domain_malware",
            &format!("Domain with bad reputation: {domain}"),
            Severity::High,
            None,
            format!("/domains/{}", esc(domain)),
        );
        f.description = Some(format!("MobSF's domain malware check flagged {domain}."));
        f.location.url = Some(domain.clone());
        f.fingerprint = ctx
            .fingerprint("domain", "domain_malware")
            .part(domain)
            .finish();
        ctx.emit(f);
    }
}

/// Log entries of steps that only fetch extra context: their failure does not make the analysis
/// incomplete.
const BENIGN_STEPS: [&str; 7] = [
    "play store",
    "app store",
    "app details",
    "icon",
    "virustotal",
    "virus total",
    "updat",
];

/// Reasons the scan must not be trusted as complete, from MobSF's scan log
/// (`[{timestamp, status, exception}]`).
fn incomplete_reasons(logs: &Value, code_findings: usize) -> Vec<String> {
    let Value::Array(entries) = logs else {
        return Vec::new();
    };
    let mut reasons: Vec<String> = Vec::new();
    let mut decompile: Option<String> = None;
    for e in entries {
        let Some(status) = first_text(e, &["status", "message"]) else {
            continue;
        };
        let exception = text(e, "exception").filter(|x| x != "null" && x != "None");
        let lower = status.to_ascii_lowercase();
        let failed = exception.is_some()
            || [
                "fail",
                "error",
                "timed out",
                "timeout",
                "not found",
                "unable",
                "missing",
            ]
            .iter()
            .any(|w| lower.contains(w));
        // "Decompiling with JADX failed, attempting on all DEX files" is a retry, not a failure.
        if !failed || lower.contains("attempting") {
            continue;
        }
        let detail = match &exception {
            Some(x) => {
                let short: String = x.chars().take(160).collect();
                format!("{status} ({short})")
            }
            None => status.clone(),
        };
        if lower.contains("decompil") || lower.contains("jadx") {
            decompile.get_or_insert(detail);
        } else if BENIGN_STEPS.iter().any(|b| lower.contains(b)) {
            continue;
        } else {
            let r = format!("MobSF logged a failed analysis step: {detail}");
            if !reasons.contains(&r) {
                reasons.push(r);
            }
        }
    }
    if let Some(d) = decompile {
        let effect = if code_findings == 0 {
            "code analysis is missing"
        } else {
            "code analysis may be partial"
        };
        reasons.insert(
            0,
            format!(
                "MobSF could not decompile the app (its log: {d}): {effect} — no findings for insecure code, hard-coded secrets in code or logging of sensitive data, only the manifest, network, certificate and resource checks. Fix: give MobSF its decompiler (jadx installed where MobSF runs, or MOBSF_JADX_BINARY set to its path) and scan again"
            ),
        );
    }
    reasons
}
