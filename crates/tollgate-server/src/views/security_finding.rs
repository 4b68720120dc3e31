//! The Results API SecurityFinding: Data Theorem's Mobile Security Results API v2 shape (every
//! field of its documentation), built from a stored finding, plus a `tollgate` object with what
//! that shape cannot carry (fingerprint, five-level severity, location …) so that a hub pulled by
//! `tollgate pull` loses nothing. docs/results-api.md documents each mapping made here.

use serde::Serialize;
use serde_json::{json, Value};
use std::borrow::Cow;
use tollgate_model::{
    Category, Confidence, Cvss, CvssVersion, Finding, FingerprintBuilder, Location, Severity, Tag,
};
use tollgate_store::{Note, NoteKind, Priority, StoredFinding};

use super::rfc3339;

/// The SecurityFinding of `f`. `notes` are the finding's notes (others are ignored), `base_url`
/// the hub's public URL (a trailing `/` is fine).
pub fn security_finding(f: &StoredFinding, notes: &[Note], base_url: &str) -> Value {
    serde_json::to_value(SecurityFindingView::new(f, notes, base_url)).unwrap_or(Value::Null)
}

/// A SecurityFinding ready to serialize, borrowing from the stored finding: the list endpoint
/// writes pages of these straight to the response (building `Value` maps per finding cost more
/// than the database read).
#[derive(Serialize)]
pub struct SecurityFindingView<'a> {
    aggregated_status: &'static str,
    associated_cve_ids: Vec<&'a str>,
    associated_cwe_ids: Vec<String>,
    category: &'static str,
    compliance_policy_references: Vec<ComplianceReference>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cvss_score: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cvss_vector: Option<&'a str>,
    /// The documentation's spelling; Data Theorem clients read it.
    #[serde(rename = "cvss_Vecotr", skip_serializing_if = "Option::is_none")]
    cvss_vecotr: Option<&'a str>,
    date_created: String,
    description: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description_intro: Option<String>,
    exploitability: &'static str,
    id: String,
    importance_tags: Vec<&'static str>,
    is_permanently_closed: bool,
    issue_type_id: String,
    links: [Link; 2],
    mobile_app_id: String,
    notes: Vec<NoteView<'a>>,
    portal_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    priority: Option<&'static str>,
    recommendation: Cow<'a, str>,
    results_last_updated: String,
    severity: &'static str,
    title: &'a str,
    tollgate: TollgateExtra<'a>,
}

/// One entry of `compliance_policy_references`.
#[derive(Serialize)]
struct ComplianceReference {
    compliance_policy: &'static str,
    link: &'static str,
    markdown: &'static str,
}

#[derive(Serialize)]
struct Link {
    href: String,
    #[serde(rename = "type")]
    method: &'static str,
    rel: &'static str,
}

#[derive(Serialize)]
pub struct NoteView<'a> {
    author_email: &'a str,
    date_created: String,
    id: String,
    is_internal_comment: bool,
    is_question_for_datatheorem: bool,
    is_reply_from_datatheorem: bool,
    text: &'a str,
}

impl<'a> NoteView<'a> {
    fn new(n: &'a Note) -> Self {
        NoteView {
            author_email: &n.author,
            date_created: rfc3339(n.created_at),
            id: n.id.to_string(),
            is_internal_comment: n.kind == NoteKind::Internal,
            is_question_for_datatheorem: n.kind == NoteKind::Question,
            is_reply_from_datatheorem: n.kind == NoteKind::Reply,
            text: &n.text,
        }
    }
}

impl<'a> SecurityFindingView<'a> {
    pub fn new(f: &'a StoredFinding, notes: &'a [Note], base_url: &str) -> Self {
        let m = &f.finding;
        let id = f.id.to_string();
        let app = f.product_id.to_string();
        let cvss = main_cvss(m);
        let vector = cvss.and_then(|c| c.vector.as_deref());
        let base = base_url.trim_end_matches('/');
        SecurityFindingView {
            aggregated_status: aggregated_status(f),
            associated_cve_ids: m
                .vulnerability_ids
                .iter()
                .map(String::as_str)
                .filter(|v| is_cve(v))
                .collect(),
            associated_cwe_ids: m.cwe.iter().map(|c| format!("CWE-{c}")).collect(),
            category: category(m),
            compliance_policy_references: compliance_policy_references(m),
            cvss_score: cvss.and_then(|c| c.score),
            cvss_vector: vector,
            cvss_vecotr: vector,
            date_created: rfc3339(f.first_seen),
            description: m.description.as_deref().unwrap_or(""),
            description_intro: describe_location(&m.location),
            exploitability: exploitability(m),
            importance_tags: importance_tags(f),
            is_permanently_closed: f.status.permanently_closed,
            issue_type_id: issue_type_id(&m.scanner.name, &m.rule_id),
            links: [
                Link {
                    href: ["mobile_apps/", &app].concat(),
                    method: "GET",
                    rel: "mobile_app",
                },
                Link {
                    href: ["security_findings/", &id].concat(),
                    method: "GET",
                    rel: "self",
                },
            ],
            notes: notes
                .iter()
                .filter(|n| n.finding_id == f.id)
                .map(NoteView::new)
                .collect(),
            portal_url: [base, "/ui/findings/", &id].concat(),
            priority: f.status.priority.map(|p| p.as_str()),
            recommendation: recommendation(m),
            results_last_updated: rfc3339(f.updated_at),
            severity: severity(m.severity),
            title: &m.title,
            tollgate: TollgateExtra::new(f),
            id,
            mobile_app_id: app,
        }
    }
}

/// One Note of a SecurityFinding.
pub fn note(n: &Note) -> Value {
    json!({
        "author_email": n.author,
        "date_created": rfc3339(n.created_at),
        "id": n.id.to_string(),
        "is_internal_comment": n.kind == NoteKind::Internal,
        "is_question_for_datatheorem": n.kind == NoteKind::Question,
        "is_reply_from_datatheorem": n.kind == NoteKind::Reply,
        "text": n.text,
    })
}

/// `NEW`/`OPEN` while the finding is open, else the `CLOSED_*` status that says best why it is
/// not: triage's own word, then risk accepted, false positive (won't fix: nothing to fix), out of
/// scope (closed by policy: a scoping rule), mitigated by a reimport (fixed), inactive (closed by
/// policy: the import said so).
pub fn aggregated_status(f: &StoredFinding) -> &'static str {
    let s = &f.status;
    if let Some(c) = s.closed_as {
        return c.as_str();
    }
    if s.is_open() {
        return if f.is_new { "NEW" } else { "OPEN" };
    }
    if s.risk_accepted {
        "CLOSED_RISK_ACCEPTED"
    } else if s.false_p {
        "CLOSED_WONT_FIX"
    } else if s.out_of_scope {
        "CLOSED_BY_POLICY"
    } else if s.is_mitigated {
        "CLOSED_FIXED"
    } else {
        "CLOSED_BY_POLICY"
    }
}

/// The API has three levels: Critical and High are `HIGH`, Low and Info are `LOW`.
pub fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "HIGH",
        Severity::Medium => "MEDIUM",
        Severity::Low | Severity::Info => "LOW",
    }
}

/// The API's category from the finding's tags (first match wins): tracker → collection, transit,
/// at rest, exposure to other apps; everything else is data loss to attackers.
pub fn category(m: &Finding) -> &'static str {
    let any = |tags: &[Tag]| tags.iter().any(|t| m.has_tag(*t));
    if any(&[Tag::Tracker]) {
        "UNAUTHORIZED_DATA_COLLECTION"
    } else if any(&[Tag::CleartextTraffic, Tag::InsecureTls]) {
        "DATA_IN_TRANSIT_EXPOSURE"
    } else if any(&[
        Tag::InsecureStorage,
        Tag::BackupEnabled,
        Tag::SensitiveLogging,
    ]) {
        "DATA_AT_REST_EXPOSURE"
    } else if any(&[Tag::ExportedComponent, Tag::InsecureWebview]) {
        "DATA_EXPOSURE_TO_THIRD_PARTY_APPS"
    } else {
        "DATA_LOSS_TO_HACKERS"
    }
}

/// How easy the finding is to exploit, from severity and the scanner's confidence (unknown
/// confidence counts as medium).
pub fn exploitability(m: &Finding) -> &'static str {
    let confidence = m.confidence.unwrap_or(Confidence::Medium);
    match (m.severity, confidence) {
        (Severity::Critical, Confidence::Low) => "MODERATE",
        (Severity::Critical, _) => "EASY",
        (Severity::High, Confidence::High) => "EASY",
        (Severity::High, Confidence::Medium) => "MODERATE",
        (Severity::Medium, Confidence::High) => "MODERATE",
        _ => "DIFFICULT",
    }
}

/// `SECURITY` always, then the tags Data Theorem would give the kind of issue.
pub fn importance_tags(f: &StoredFinding) -> Vec<&'static str> {
    let m = &f.finding;
    let mut tags = vec!["SECURITY"];
    // A priority set by triage overrides the automatic P1, as Data Theorem's does.
    let p1 = match f.status.priority {
        Some(p) => p <= Priority::P1,
        None => m.severity == Severity::Critical,
    };
    if p1 {
        tags.push("SECURITY_P1");
    }
    if m.has_tag(Tag::HardcodedSecret) {
        tags.push("KEYS_TO_THE_KINGDOM");
    }
    if m.has_tag(Tag::SensitiveLogging) {
        tags.push("DATA_LEAKS");
    }
    if m.has_tag(Tag::Tracker) {
        tags.push("PRIVACY");
    }
    if m.has_tag(Tag::Debuggable) {
        tags.push(if looks_ios(m) {
            "APPLE_P1"
        } else {
            "GOOGLE_P1"
        });
    }
    if m.has_tag(Tag::BackupEnabled) || is_missing_hardening(m) {
        tags.push("DEFENSE_IN_DEPTH");
    }
    if m.category == Category::Dast {
        tags.push("SERVER_SIDE");
    }
    tags
}

/// A UUID naming the issue type (scanner + rule) the same way in every app: the first 16 bytes
/// of a SHA-256 over both, with the RFC 9562 version-8 and variant bits set so that UUID
/// validators accept it.
pub fn issue_type_id(scanner: &str, rule_id: &str) -> String {
    // A page holds few distinct rules: remember the last ids computed on this thread.
    type Known = std::collections::HashMap<u64, (String, String, String)>;
    thread_local! {
        static KNOWN: std::cell::RefCell<Known> = std::cell::RefCell::default();
    }
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (scanner, rule_id).hash(&mut h);
    let key = h.finish();
    KNOWN.with(|known| {
        let mut known = known.borrow_mut();
        if let Some((s, r, id)) = known.get(&key) {
            if s == scanner && r == rule_id {
                return id.clone();
            }
        }
        if known.len() >= 4096 {
            known.clear();
        }
        let id = compute_issue_type_id(scanner, rule_id);
        known.insert(key, (scanner.to_string(), rule_id.to_string(), id.clone()));
        id
    })
}

fn compute_issue_type_id(scanner: &str, rule_id: &str) -> String {
    let hash = FingerprintBuilder::new("issue-type")
        .part(scanner)
        .part(rule_id)
        .finish();
    let mut hex: Vec<u8> = hash.as_str().bytes().collect();
    hex[12] = b'8';
    // variant 10xx: the high nibble of byte 8 is 8, 9, a or b
    let nibble = (hex_value(hex[16]) & 0x3) | 0x8;
    hex[16] = b"0123456789abcdef"[usize::from(nibble)];
    let h = String::from_utf8(hex).unwrap_or_default();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn hex_value(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => 0,
    }
}

fn is_cve(id: &str) -> bool {
    id.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("CVE-"))
}

/// CVSS 3.x first (the API documents 3.1 scores), the highest scored of them; else any version.
fn main_cvss(m: &Finding) -> Option<&Cvss> {
    let best = |v3: bool| {
        m.cvss
            .iter()
            .filter(|c| !v3 || matches!(c.version, CvssVersion::V30 | CvssVersion::V31))
            .max_by(|a, b| a.score.unwrap_or(-1.0).total_cmp(&b.score.unwrap_or(-1.0)))
    };
    best(true).or_else(|| best(false))
}

/// The scanner's recommendation, else the upgrade a package finding names.
fn recommendation(m: &Finding) -> Cow<'_, str> {
    if let Some(r) = m.recommendation.as_deref().filter(|r| !r.trim().is_empty()) {
        return Cow::Borrowed(r);
    }
    match &m.location.package {
        Some(p) => match &p.fixed_version {
            Some(v) => Cow::Owned(format!("Upgrade {} to {}.", code(&p.name), code(v))),
            None => Cow::Borrowed(""),
        },
        None => Cow::Borrowed(""),
    }
}

/// Where the finding is, in a Markdown sentence; `None` when the location is empty.
fn describe_location(l: &Location) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    if let Some(file) = &l.file {
        let mut s = code(file);
        match (l.start_line, l.end_line) {
            (Some(a), Some(b)) if b > a => {
                s.push_str(", lines ");
                s.push_str(&a.to_string());
                s.push('–');
                s.push_str(&b.to_string());
            }
            (Some(a), _) => {
                s.push_str(", line ");
                s.push_str(&a.to_string());
            }
            _ => {}
        }
        parts.push(s);
    }
    if let Some(p) = &l.package {
        let mut s = ["package ", &code(&p.name)].concat();
        if let Some(v) = &p.installed_version {
            s.push(' ');
            s.push_str(&code(v));
        }
        if let Some(v) = &p.fixed_version {
            s.push_str(" (fixed in ");
            s.push_str(&code(v));
            s.push(')');
        }
        parts.push(s);
    }
    if let Some(url) = &l.url {
        let mut s = match &l.method {
            Some(method) => [&method.to_ascii_uppercase(), " ", &code(url)].concat(),
            None => code(url),
        };
        if let Some(p) = &l.parameter {
            s.push_str(", parameter ");
            s.push_str(&code(p));
        }
        parts.push(s);
    }
    if let Some(c) = &l.component {
        parts.push(["component ", &code(c)].concat());
    }
    if let Some(t) = &l.target {
        parts.push(["in ", &code(t)].concat());
    }
    // A place that is only a target (a mobile app's package, an image) reads "Found in …".
    let lead = if parts.len() == 1 && l.target.is_some() {
        "Found "
    } else {
        "Found at "
    };
    (!parts.is_empty()).then(|| [lead, &parts.join("; "), "."].concat())
}

/// A Markdown code span that survives backticks in `text`.
fn code(text: &str) -> String {
    if !text.contains('`') {
        let mut out = String::with_capacity(text.len() + 2);
        out.push('`');
        out.push_str(text);
        out.push('`');
        return out;
    }
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    if longest == 0 {
        format!("{fence}{text}{fence}")
    } else {
        format!("{fence} {text} {fence}")
    }
}

/// Tags that only make sense for an app; a finding carrying one is read against the OWASP Mobile
/// Top 10 even when its scanner is not a mobile one.
const MOBILE_TAGS: &[Tag] = &[
    Tag::Debuggable,
    Tag::BackupEnabled,
    Tag::ExportedComponent,
    Tag::InsecureWebview,
    Tag::Tracker,
];

/// OWASP entries for the finding's tags: the Mobile Top 10 (2024) for mobile findings, the
/// Top 10 (2021) otherwise. Tags come from the scanner and from CWE ids (docs/taxonomy.md).
fn compliance_policy_references(m: &Finding) -> Vec<ComplianceReference> {
    let mobile = m.category == Category::Mobile || MOBILE_TAGS.iter().any(|t| m.has_tag(*t));
    let mut out: Vec<ComplianceReference> = Vec::new();
    for tag in &m.tags {
        let entry = if mobile {
            owasp_mobile(*tag)
        } else {
            owasp_web(*tag)
        };
        let Some((markdown, link)) = entry else {
            continue;
        };
        if out.iter().any(|e| e.markdown == markdown) {
            continue;
        }
        out.push(ComplianceReference {
            compliance_policy: "OWASP",
            link,
            markdown,
        });
    }
    out
}

const MOBILE_TOP_10: &str = "https://owasp.org/www-project-mobile-top-10/";

fn owasp_mobile(tag: Tag) -> Option<(&'static str, &'static str)> {
    let markdown = match tag {
        Tag::HardcodedSecret => "M1: Improper Credential Usage (OWASP Mobile Top 10 2024)",
        Tag::VulnerableDependency => {
            "M2: Inadequate Supply Chain Security (OWASP Mobile Top 10 2024)"
        }
        Tag::Injection | Tag::Xss => {
            "M4: Insufficient Input/Output Validation (OWASP Mobile Top 10 2024)"
        }
        Tag::CleartextTraffic | Tag::InsecureTls => {
            "M5: Insecure Communication (OWASP Mobile Top 10 2024)"
        }
        Tag::Tracker => "M6: Inadequate Privacy Controls (OWASP Mobile Top 10 2024)",
        Tag::Debuggable
        | Tag::BackupEnabled
        | Tag::ExportedComponent
        | Tag::InsecureWebview
        | Tag::Misconfiguration => "M8: Security Misconfiguration (OWASP Mobile Top 10 2024)",
        Tag::InsecureStorage | Tag::SensitiveLogging => {
            "M9: Insecure Data Storage (OWASP Mobile Top 10 2024)"
        }
        Tag::WeakCrypto | Tag::InsecureRandom => {
            "M10: Insufficient Cryptography (OWASP Mobile Top 10 2024)"
        }
    };
    Some((markdown, MOBILE_TOP_10))
}

fn owasp_web(tag: Tag) -> Option<(&'static str, &'static str)> {
    Some(match tag {
        Tag::WeakCrypto
        | Tag::InsecureRandom
        | Tag::CleartextTraffic
        | Tag::InsecureTls
        | Tag::InsecureStorage => (
            "A02:2021 – Cryptographic Failures",
            "https://owasp.org/Top10/A02_2021-Cryptographic_Failures/",
        ),
        Tag::Injection | Tag::Xss => (
            "A03:2021 – Injection",
            "https://owasp.org/Top10/A03_2021-Injection/",
        ),
        Tag::Misconfiguration => (
            "A05:2021 – Security Misconfiguration",
            "https://owasp.org/Top10/A05_2021-Security_Misconfiguration/",
        ),
        Tag::VulnerableDependency => (
            "A06:2021 – Vulnerable and Outdated Components",
            "https://owasp.org/Top10/A06_2021-Vulnerable_and_Outdated_Components/",
        ),
        Tag::HardcodedSecret => (
            "A07:2021 – Identification and Authentication Failures",
            "https://owasp.org/Top10/A07_2021-Identification_and_Authentication_Failures/",
        ),
        Tag::SensitiveLogging => (
            "A09:2021 – Security Logging and Monitoring Failures",
            "https://owasp.org/Top10/A09_2021-Security_Logging_and_Monitoring_Failures/",
        ),
        Tag::Debuggable
        | Tag::BackupEnabled
        | Tag::ExportedComponent
        | Tag::InsecureWebview
        | Tag::Tracker => return None,
    })
}

/// An iOS app's debuggable flag (`get-task-allow`) blocks the App Store, Android's Google Play.
fn looks_ios(m: &Finding) -> bool {
    let l = &m.location;
    let texts = [
        Some(m.rule_id.as_str()),
        Some(m.title.as_str()),
        l.file.as_deref(),
        l.target.as_deref(),
    ];
    texts.into_iter().flatten().any(|t| {
        let t = t.to_ascii_lowercase();
        t.contains("get-task-allow")
            || t.contains("get_task_allow")
            || t.ends_with(".ipa")
            || t.ends_with(".plist")
            || t.ends_with(".entitlements")
    })
}

/// A missing extra protection (pinning, root/jailbreak detection, obfuscation, anti-tampering),
/// not a flaw in itself: Data Theorem's App Protection findings.
fn is_missing_hardening(m: &Finding) -> bool {
    let text = format!("{} {}", m.rule_id, m.title).to_ascii_lowercase();
    [
        "pinning",
        "pinned",
        "certificate transparency",
        "root detection",
        "jailbreak",
        "obfuscat",
        "tamper",
        "anti-debug",
        "anti debug",
    ]
    .iter()
    .any(|w| text.contains(w))
}

/// The finding's state in Tollgate's words (the hub baseline's `status`).
/// What the Data Theorem shape cannot carry, so a hub pulled into a report loses nothing.
/// Tollgate's own fields, so a hub loses nothing of the finding model.
#[derive(Serialize)]
struct TollgateExtra<'a> {
    category: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    confidence: Option<tollgate_model::Confidence>,
    cvss: &'a [Cvss],
    engagement_id: i64,
    fingerprint: &'a str,
    first_seen: String,
    last_seen: String,
    location: &'a Location,
    references: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    risk_accepted_until: Option<&'a str>,
    rule_id: &'a str,
    scanner: &'a tollgate_model::Scanner,
    #[serde(skip_serializing_if = "Option::is_none")]
    scanner_severity: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<&'a tollgate_model::RedactedSecret>,
    severity: &'static str,
    sla_due: Option<&'a str>,
    status: &'static str,
    tags: &'a [Tag],
    test_id: i64,
    vulnerability_ids: &'a [String],
}

impl<'a> TollgateExtra<'a> {
    fn new(f: &'a StoredFinding) -> Self {
        let m = &f.finding;
        TollgateExtra {
            category: m.category.as_str(),
            confidence: m.confidence,
            cvss: &m.cvss,
            engagement_id: f.engagement_id,
            fingerprint: m.fingerprint.as_str(),
            first_seen: rfc3339(f.first_seen),
            last_seen: rfc3339(f.last_seen),
            location: &m.location,
            references: &m.references,
            risk_accepted_until: f.status.risk_accepted_until.as_deref(),
            rule_id: &m.rule_id,
            scanner: &m.scanner,
            scanner_severity: m.scanner_severity.as_deref(),
            secret: m.secret.as_ref(),
            severity: match m.severity {
                Severity::Critical => "critical",
                Severity::High => "high",
                Severity::Medium => "medium",
                Severity::Low => "low",
                Severity::Info => "info",
            },
            sla_due: f.sla_due.as_deref(),
            status: f.status.word(),
            tags: &m.tags,
            test_id: f.test_id,
            vulnerability_ids: &m.vulnerability_ids,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_model::{Package, Scanner};
    use tollgate_store::ClosedAs;
    use tollgate_store::FindingStatus;

    const BASE: &str = "https://hub.example/";

    fn finding(scanner: &str, rule: &str, title: &str, severity: Severity) -> Finding {
        let mut m = Finding::new(Scanner::new(scanner, Some("1.2".into())), rule, title);
        m.severity = severity;
        m.fingerprint = FingerprintBuilder::new("test")
            .part(rule)
            .part(title)
            .finish();
        m
    }

    fn stored(id: i64, m: Finding) -> StoredFinding {
        StoredFinding {
            id,
            product_id: 7,
            engagement_id: 3,
            test_id: 11,
            finding: m,
            status: FindingStatus {
                active: true,
                ..FindingStatus::default()
            },
            is_new: false,
            triaged: false,
            // 2026-01-02T03:04:05Z
            first_seen: 1_767_323_045,
            last_seen: 1_767_323_045 + 86_400,
            updated_at: 1_767_323_045 + 3_600,
            sla_due: Some("2026-02-01".into()),
            scan_date: None,
        }
    }

    fn sample() -> StoredFinding {
        let mut m = finding(
            "semgrep",
            "python.lang.security.audit.sqli",
            "SQL injection",
            Severity::High,
        );
        m.description = Some("User input reaches a query.".into());
        m.recommendation = Some("Use bound parameters.".into());
        m.add_cwe(89);
        m.add_vulnerability_id("CVE-2024-0001");
        m.add_vulnerability_id("GHSA-aaaa-bbbb-cccc");
        m.tag(Tag::Injection);
        m.confidence = Some(Confidence::High);
        m.location.file = Some("app/db.py".into());
        m.location.start_line = Some(12);
        m.location.end_line = Some(14);
        m.cvss.push(
            Cvss::new(
                Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
                None,
                None,
            )
            .unwrap(),
        );
        stored(42, m)
    }

    fn render(f: &StoredFinding) -> Value {
        security_finding(f, &[], BASE)
    }

    #[test]
    fn every_documented_field_is_there() {
        let v = render(&sample());
        for key in [
            "id",
            "aggregated_status",
            "associated_cve_ids",
            "associated_cwe_ids",
            "category",
            "compliance_policy_references",
            "cvss_score",
            "cvss_Vecotr",
            "cvss_vector",
            "date_created",
            "description_intro",
            "description",
            "exploitability",
            "importance_tags",
            "issue_type_id",
            "is_permanently_closed",
            "links",
            "mobile_app_id",
            "notes",
            "portal_url",
            "recommendation",
            "results_last_updated",
            "severity",
            "title",
            "tollgate",
        ] {
            assert!(v.get(key).is_some(), "{key} missing");
        }
        // optional and unknown here: omitted, not null
        for key in ["priority", "secure_code", "screenshot_url"] {
            assert!(v.get(key).is_none(), "{key} present");
        }
        assert_eq!(v["id"], "42");
        assert_eq!(v["mobile_app_id"], "7");
        assert_eq!(v["date_created"], "2026-01-02T03:04:05Z");
        assert_eq!(v["results_last_updated"], "2026-01-02T04:04:05Z");
        assert_eq!(v["associated_cve_ids"], json!(["CVE-2024-0001"]));
        assert_eq!(v["associated_cwe_ids"], json!(["CWE-89"]));
        assert_eq!(v["description"], "User input reaches a query.");
        assert_eq!(v["description_intro"], "Found at `app/db.py`, lines 12–14.");
        assert_eq!(v["recommendation"], "Use bound parameters.");
        assert_eq!(v["cvss_score"], 9.8);
        assert_eq!(
            v["links"],
            json!([
                {"href": "mobile_apps/7", "type": "GET", "rel": "mobile_app"},
                {"href": "security_findings/42", "type": "GET", "rel": "self"},
            ])
        );
        assert_eq!(
            v["compliance_policy_references"],
            json!([{
                "compliance_policy": "OWASP",
                "markdown": "A03:2021 – Injection",
                "link": "https://owasp.org/Top10/A03_2021-Injection/",
            }])
        );
        let t = &v["tollgate"];
        assert_eq!(t["severity"], "high");
        assert_eq!(t["fingerprint"], sample().finding.fingerprint.as_str());
        assert_eq!(t["scanner"], json!({"name": "semgrep", "version": "1.2"}));
        assert_eq!(t["rule_id"], "python.lang.security.audit.sqli");
        assert_eq!(t["category"], "sast");
        assert_eq!(t["tags"], json!(["injection"]));
        assert_eq!(
            t["location"],
            json!({"file": "app/db.py", "start_line": 12, "end_line": 14})
        );
        assert_eq!(t["first_seen"], "2026-01-02T03:04:05Z");
        assert_eq!(t["last_seen"], "2026-01-03T03:04:05Z");
        assert_eq!(t["sla_due"], "2026-02-01");
        assert_eq!(t["test_id"], 11);
        assert_eq!(t["engagement_id"], 3);
        assert_eq!(t["status"], "open");
        assert_eq!(
            t["vulnerability_ids"],
            json!(["CVE-2024-0001", "GHSA-aaaa-bbbb-cccc"])
        );
    }

    #[test]
    fn misspelled_vector_key_repeats_the_vector() {
        let v = render(&sample());
        assert_eq!(
            v["cvss_vector"],
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
        );
        assert_eq!(v["cvss_Vecotr"], v["cvss_vector"]);
        // without CVSS, neither key nor the score
        let mut f = sample();
        f.finding.cvss.clear();
        let v = render(&f);
        for key in ["cvss_vector", "cvss_Vecotr", "cvss_score"] {
            assert!(v.get(key).is_none(), "{key}");
        }
    }

    #[test]
    fn cvss_prefers_version_3() {
        let mut f = sample();
        f.finding.cvss = vec![
            Cvss::new(Some("AV:N/AC:L/Au:N/C:P/I:P/A:P"), Some(7.5), None).unwrap(),
            Cvss::new(
                Some("CVSS:3.0/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N"),
                None,
                None,
            )
            .unwrap(),
        ];
        let v = render(&f);
        assert!(v["cvss_vector"].as_str().unwrap().starts_with("CVSS:3.0/"));
        assert_eq!(v["cvss_score"], f.finding.cvss[1].score.unwrap());
    }

    #[test]
    fn portal_url_has_no_double_slash() {
        let f = sample();
        for base in [
            "https://hub.example",
            "https://hub.example/",
            "https://hub.example//",
        ] {
            let v = security_finding(&f, &[], base);
            assert_eq!(v["portal_url"], "https://hub.example/ui/findings/42");
        }
    }

    fn status_of(edit: impl FnOnce(&mut StoredFinding)) -> String {
        let mut f = sample();
        edit(&mut f);
        let v = render(&f);
        assert_eq!(
            v["aggregated_status"]
                .as_str()
                .unwrap()
                .starts_with("CLOSED_"),
            !f.status.is_open(),
            "status_group must agree with is_open"
        );
        v["aggregated_status"].as_str().unwrap().to_string()
    }

    #[test]
    fn status_mapping() {
        assert_eq!(status_of(|_| {}), "OPEN");
        assert_eq!(status_of(|f| f.is_new = true), "NEW");
        assert_eq!(
            status_of(|f| {
                f.status.is_mitigated = true;
                f.status.active = false;
            }),
            "CLOSED_FIXED"
        );
        for c in [
            ClosedAs::ClosedWontFix,
            ClosedAs::ClosedRiskAccepted,
            ClosedAs::ClosedCompensatingControl,
        ] {
            assert_eq!(status_of(|f| f.status.closed_as = Some(c)), c.as_str());
        }
        // triage's word wins over the flags it set (risk_accepted comes with CLOSED_RISK_ACCEPTED)
        assert_eq!(
            status_of(|f| {
                f.status.closed_as = Some(ClosedAs::ClosedCompensatingControl);
                f.status.is_mitigated = true;
            }),
            "CLOSED_COMPENSATING_CONTROL"
        );
        assert_eq!(
            status_of(|f| f.status.risk_accepted = true),
            "CLOSED_RISK_ACCEPTED"
        );
        assert_eq!(status_of(|f| f.status.false_p = true), "CLOSED_WONT_FIX");
        assert_eq!(
            status_of(|f| f.status.out_of_scope = true),
            "CLOSED_BY_POLICY"
        );
        assert_eq!(status_of(|f| f.status.active = false), "CLOSED_BY_POLICY");
        // is_new never makes a closed finding NEW
        assert_eq!(
            status_of(|f| {
                f.is_new = true;
                f.status.false_p = true;
            }),
            "CLOSED_WONT_FIX"
        );
    }

    #[test]
    fn permanently_closed_is_reported() {
        let mut f = sample();
        assert_eq!(render(&f)["is_permanently_closed"], false);
        f.status.closed_as = Some(ClosedAs::ClosedRiskAccepted);
        f.status.permanently_closed = true;
        assert_eq!(render(&f)["is_permanently_closed"], true);
    }

    #[test]
    fn severity_mapping() {
        for (s, word, five) in [
            (Severity::Critical, "HIGH", "critical"),
            (Severity::High, "HIGH", "high"),
            (Severity::Medium, "MEDIUM", "medium"),
            (Severity::Low, "LOW", "low"),
            (Severity::Info, "LOW", "info"),
        ] {
            let mut f = sample();
            f.finding.severity = s;
            let v = render(&f);
            assert_eq!(v["severity"], word, "{s}");
            assert_eq!(v["tollgate"]["severity"], five, "{s}");
        }
    }

    #[test]
    fn notes_take_the_note_shape() {
        let f = sample();
        let note = |id, kind, text: &str| Note {
            id,
            finding_id: 42,
            author: "ci-shop".into(),
            text: text.into(),
            kind,
            created_at: 1_767_323_045,
        };
        let notes = vec![
            note(1, NoteKind::Internal, "looked at it"),
            note(2, NoteKind::Question, "is this real?"),
            note(3, NoteKind::Reply, "yes"),
            Note {
                finding_id: 99,
                ..note(4, NoteKind::Internal, "another finding's")
            },
        ];
        let v = security_finding(&f, &notes, BASE);
        let n = v["notes"].as_array().unwrap();
        assert_eq!(n.len(), 3);
        assert_eq!(
            n[0],
            json!({
                "author_email": "ci-shop",
                "date_created": "2026-01-02T03:04:05Z",
                "id": "1",
                "is_internal_comment": true,
                "is_question_for_datatheorem": false,
                "is_reply_from_datatheorem": false,
                "text": "looked at it",
            })
        );
        assert_eq!(n[1]["is_question_for_datatheorem"], true);
        assert_eq!(n[1]["is_internal_comment"], false);
        assert_eq!(n[2]["is_reply_from_datatheorem"], true);
        assert_eq!(n[2]["is_internal_comment"], false);
    }

    #[test]
    fn priority_only_when_set_and_it_overrides_p1() {
        let mut f = sample();
        f.finding.severity = Severity::Critical;
        let v = render(&f);
        assert!(v.get("priority").is_none());
        assert!(tags_of(&v).contains(&"SECURITY_P1".to_string()));
        f.status.priority = Some(Priority::P3);
        let v = render(&f);
        assert_eq!(v["priority"], "P3");
        assert!(!tags_of(&v).contains(&"SECURITY_P1".to_string()));
        f.finding.severity = Severity::Low;
        f.status.priority = Some(Priority::P0);
        assert!(tags_of(&render(&f)).contains(&"SECURITY_P1".to_string()));
    }

    fn tags_of(v: &Value) -> Vec<String> {
        v["importance_tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_string())
            .collect()
    }

    fn mobile(tags: &[Tag]) -> StoredFinding {
        let mut m = finding(
            "mobsf",
            "android_rule",
            "Some mobile issue",
            Severity::Medium,
        );
        m.category = Category::Mobile;
        for t in tags {
            m.tag(*t);
        }
        stored(5, m)
    }

    #[test]
    fn category_from_tags() {
        let cat = |tags: &[Tag]| render(&mobile(tags))["category"].clone();
        assert_eq!(cat(&[Tag::CleartextTraffic]), "DATA_IN_TRANSIT_EXPOSURE");
        assert_eq!(cat(&[Tag::InsecureTls]), "DATA_IN_TRANSIT_EXPOSURE");
        assert_eq!(cat(&[Tag::InsecureStorage]), "DATA_AT_REST_EXPOSURE");
        assert_eq!(cat(&[Tag::BackupEnabled]), "DATA_AT_REST_EXPOSURE");
        assert_eq!(cat(&[Tag::SensitiveLogging]), "DATA_AT_REST_EXPOSURE");
        assert_eq!(
            cat(&[Tag::ExportedComponent]),
            "DATA_EXPOSURE_TO_THIRD_PARTY_APPS"
        );
        assert_eq!(
            cat(&[Tag::InsecureWebview]),
            "DATA_EXPOSURE_TO_THIRD_PARTY_APPS"
        );
        assert_eq!(cat(&[Tag::Tracker]), "UNAUTHORIZED_DATA_COLLECTION");
        assert_eq!(
            cat(&[Tag::Tracker, Tag::CleartextTraffic]),
            "UNAUTHORIZED_DATA_COLLECTION"
        );
        assert_eq!(cat(&[Tag::HardcodedSecret]), "DATA_LOSS_TO_HACKERS");
        assert_eq!(cat(&[]), "DATA_LOSS_TO_HACKERS");
    }

    #[test]
    fn importance_tags_by_kind() {
        let tags = |f: StoredFinding| tags_of(&render(&f));
        assert_eq!(tags(mobile(&[])), vec!["SECURITY"]);
        assert_eq!(
            tags(mobile(&[Tag::HardcodedSecret])),
            vec!["SECURITY", "KEYS_TO_THE_KINGDOM"]
        );
        assert_eq!(
            tags(mobile(&[Tag::SensitiveLogging])),
            vec!["SECURITY", "DATA_LEAKS"]
        );
        assert_eq!(tags(mobile(&[Tag::Tracker])), vec!["SECURITY", "PRIVACY"]);
        assert_eq!(
            tags(mobile(&[Tag::Debuggable])),
            vec!["SECURITY", "GOOGLE_P1"]
        );
        let mut ios = mobile(&[Tag::Debuggable]);
        ios.finding.location.file = Some("Payload/App.app/embedded.entitlements".into());
        assert_eq!(tags(ios), vec!["SECURITY", "APPLE_P1"]);
        assert_eq!(
            tags(mobile(&[Tag::BackupEnabled])),
            vec!["SECURITY", "DEFENSE_IN_DEPTH"]
        );
        let mut pinning = mobile(&[]);
        pinning.finding.title = "No certificate pinning".into();
        assert_eq!(tags(pinning), vec!["SECURITY", "DEFENSE_IN_DEPTH"]);
        let mut dast = sample();
        dast.finding.category = Category::Dast;
        assert!(tags(dast).contains(&"SERVER_SIDE".to_string()));
        let mut crit = mobile(&[Tag::HardcodedSecret]);
        crit.finding.severity = Severity::Critical;
        assert_eq!(
            tags(crit),
            vec!["SECURITY", "SECURITY_P1", "KEYS_TO_THE_KINGDOM"]
        );
    }

    #[test]
    fn exploitability_from_severity_and_confidence() {
        let e = |s, c| {
            let mut f = sample();
            f.finding.severity = s;
            f.finding.confidence = c;
            render(&f)["exploitability"].as_str().unwrap().to_string()
        };
        assert_eq!(e(Severity::Critical, None), "EASY");
        assert_eq!(e(Severity::Critical, Some(Confidence::Low)), "MODERATE");
        assert_eq!(e(Severity::High, Some(Confidence::High)), "EASY");
        assert_eq!(e(Severity::High, None), "MODERATE");
        assert_eq!(e(Severity::High, Some(Confidence::Low)), "DIFFICULT");
        assert_eq!(e(Severity::Medium, Some(Confidence::High)), "MODERATE");
        assert_eq!(e(Severity::Medium, None), "DIFFICULT");
        assert_eq!(e(Severity::Low, Some(Confidence::High)), "DIFFICULT");
        assert_eq!(e(Severity::Info, None), "DIFFICULT");
    }

    #[test]
    fn remembered_issue_type_ids_are_the_computed_ones() {
        // twice over more rules than are remembered, so the memory is also cleared on the way
        for round in 0..2 {
            for i in 0..5_000 {
                let (scanner, rule) = (format!("s{}", i % 7), format!("rule-{i}"));
                assert_eq!(
                    issue_type_id(&scanner, &rule),
                    compute_issue_type_id(&scanner, &rule),
                    "round {round}"
                );
            }
        }
    }

    #[test]
    fn issue_type_id_is_a_stable_uuid_per_scanner_and_rule() {
        let a = issue_type_id("semgrep", "rule-a");
        assert_eq!(a, issue_type_id("semgrep", "rule-a"));
        assert_ne!(a, issue_type_id("semgrep", "rule-b"));
        assert_ne!(a, issue_type_id("bandit", "rule-a"));
        // 8-4-4-4-12 lower-case hex, version 8, variant 10xx
        let groups: Vec<&str> = a.split('-').collect();
        assert_eq!(
            groups.iter().map(|g| g.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(a
            .bytes()
            .all(|b| b == b'-' || b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert_eq!(&a[14..15], "8");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"));
        // the same rule in two apps has one issue type
        let mut other_app = sample();
        other_app.product_id = 8;
        other_app.id = 43;
        assert_eq!(
            render(&sample())["issue_type_id"],
            render(&other_app)["issue_type_id"]
        );
        // the rest of the UUID is the hash: 122 bits of SHA-256
        let hash = FingerprintBuilder::new("issue-type")
            .part("semgrep")
            .part("rule-a")
            .finish();
        let plain: String = a.chars().filter(|c| *c != '-').collect();
        let same = plain
            .chars()
            .zip(hash.as_str().chars())
            .enumerate()
            .filter(|(i, _)| *i != 12 && *i != 16)
            .all(|(_, (x, y))| x == y);
        assert!(same);
    }

    #[test]
    fn location_in_words() {
        let mut l = Location {
            package: Some(Package {
                name: "lodash".into(),
                installed_version: Some("4.17.20".into()),
                fixed_version: Some("4.17.21".into()),
                ..Package::default()
            }),
            target: Some("package-lock.json".into()),
            ..Location::default()
        };
        assert_eq!(
            describe_location(&l).unwrap(),
            "Found at package `lodash` `4.17.20` (fixed in `4.17.21`); in `package-lock.json`."
        );
        l = Location {
            url: Some("https://shop.example/search".into()),
            method: Some("get".into()),
            parameter: Some("q".into()),
            ..Location::default()
        };
        assert_eq!(
            describe_location(&l).unwrap(),
            "Found at GET `https://shop.example/search`, parameter `q`."
        );
        l = Location {
            target: Some("com.example.insecureapp".into()),
            ..Location::default()
        };
        assert_eq!(
            describe_location(&l).unwrap(),
            "Found in `com.example.insecureapp`."
        );
        assert_eq!(describe_location(&Location::default()), None);
        assert_eq!(code("a`b"), "`` a`b ``");
        // an empty location: no description_intro at all
        let f = mobile(&[]);
        assert!(render(&f).get("description_intro").is_none());
    }

    #[test]
    fn recommendation_falls_back_to_the_fixed_version() {
        let mut f = sample();
        f.finding.recommendation = None;
        assert_eq!(render(&f)["recommendation"], "");
        f.finding.location.package = Some(Package {
            name: "lodash".into(),
            fixed_version: Some("4.17.21".into()),
            ..Package::default()
        });
        assert_eq!(
            render(&f)["recommendation"],
            "Upgrade `lodash` to `4.17.21`."
        );
    }

    #[test]
    fn mobile_findings_cite_the_mobile_top_10() {
        let v = render(&mobile(&[
            Tag::CleartextTraffic,
            Tag::InsecureTls,
            Tag::Debuggable,
        ]));
        let refs = v["compliance_policy_references"].as_array().unwrap();
        let md: Vec<&str> = refs
            .iter()
            .map(|r| r["markdown"].as_str().unwrap())
            .collect();
        assert_eq!(
            md,
            vec![
                "M8: Security Misconfiguration (OWASP Mobile Top 10 2024)",
                "M5: Insecure Communication (OWASP Mobile Top 10 2024)",
            ]
        );
        assert!(refs.iter().all(|r| r["compliance_policy"] == "OWASP"));
        assert_eq!(
            render(&mobile(&[]))["compliance_policy_references"],
            json!([])
        );
    }

    /// The page `tollgate pull` writes (crates/tollgate-client/src/results_api.rs `to_report`).
    fn pulled_report(findings: Vec<Value>) -> Vec<u8> {
        let total = findings.len().to_string();
        let doc = json!({
            "security_findings": findings,
            "pagination_information": {"total_count": total, "next_cursor": Value::Null},
        });
        serde_json::to_vec_pretty(&doc).unwrap()
    }

    #[test]
    fn round_trip_through_the_data_theorem_parser() {
        let a = sample();
        // the same rule elsewhere in the same app: a second finding, its own fingerprint
        let mut b = sample();
        b.id = 43;
        b.finding.location.start_line = Some(80);
        b.finding.location.end_line = None;
        b.finding.severity = Severity::Critical;
        b.finding.cvss.clear();
        b.finding.fingerprint = FingerprintBuilder::new("test").part("other").finish();
        b.status.is_mitigated = true;
        b.status.active = false;
        let report = pulled_report(vec![render(&a), render(&b)]);

        let (meta, parsed) = tollgate_parsers::parse_to_vec(&report, None).unwrap();
        assert_eq!(meta.format, "datatheorem");
        assert_eq!(parsed.len(), 2);
        for (orig, back) in [(&a, &parsed[0]), (&b, &parsed[1])] {
            assert_eq!(back.title, orig.finding.title);
            assert_eq!(back.fingerprint, orig.finding.fingerprint);
            assert_eq!(back.cwe, orig.finding.cwe);
            assert_eq!(back.severity, orig.finding.severity);
            assert_eq!(back.location.target.as_deref(), Some("7"));
        }
        assert_eq!(parsed[0].vulnerability_ids, vec!["CVE-2024-0001"]);
        assert!(!parsed[0].suppressed);
        // closed on the hub: suppressed in the report
        assert!(parsed[1].suppressed);
        // Critical survives although the API word is HIGH and there is no CVSS to raise it
        assert_eq!(parsed[1].severity, Severity::Critical);
    }

    #[test]
    fn without_the_tollgate_object_the_parser_still_reads_it() {
        let mut v = render(&sample());
        v.as_object_mut().unwrap().remove("tollgate");
        let report = pulled_report(vec![v]);
        let (_, parsed) = tollgate_parsers::parse_to_vec(&report, None).unwrap();
        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed[0].title, "SQL injection");
        assert_eq!(parsed[0].cwe, vec![89]);
        // the Data Theorem recipe: app + issue type
        assert_ne!(parsed[0].fingerprint, sample().finding.fingerprint);
        // HIGH raised to Critical by the 9.8 score, as for Data Theorem's own findings
        assert_eq!(parsed[0].severity, Severity::Critical);
        assert_eq!(
            parsed[0].rule_id,
            issue_type_id("semgrep", "python.lang.security.audit.sqli")
        );
    }
}
