//! What the store keeps and returns: plain data, serializable, no I/O.

use serde::{Deserialize, Serialize};
use tollgate_model::{Finding, Severity};

/// Unix seconds (UTC). The store keeps every instant as one; dates (`YYYY-MM-DD`) stay text.
pub type Timestamp = i64;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ProductType {
    pub id: i64,
    pub name: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Product {
    pub id: i64,
    pub product_type_id: i64,
    pub name: String,
    /// A label such as `tier-1`; free text.
    pub tier: Option<String>,
    /// `android`, `ios`, `web`, … free text.
    pub platform: Option<String>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Engagement {
    pub id: i64,
    pub product_id: i64,
    /// The lane (`mobile-sast`, `container`, …).
    pub name: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Test {
    pub id: i64,
    pub engagement_id: i64,
    pub product_id: i64,
    /// The test's title: the `test_title` it was created with, else its scan type.
    pub title: String,
    /// Whether the call that created it gave a `test_title` (DefectDojo's title is `null`
    /// otherwise).
    pub titled: bool,
    /// DefectDojo's scan_type string ("ZAP Scan").
    pub scan_type: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The import that last touched this test (NEW findings are the ones it created).
    pub last_import_id: Option<i64>,
}

/// What DefectDojo's test serializer shows beside the test itself: the scan type, and the
/// version / branch / commit / build its imports named (the latest import that named each).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TestDetails {
    pub test_id: i64,
    pub scan_type: String,
    pub version: Option<String>,
    pub branch_tag: Option<String>,
    pub commit_hash: Option<String>,
    pub build_id: Option<String>,
}

/// How a finding was closed by triage (the Results API's CLOSED_* values).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ClosedAs {
    ClosedWontFix,
    ClosedRiskAccepted,
    ClosedCompensatingControl,
}

impl ClosedAs {
    pub fn as_str(self) -> &'static str {
        match self {
            ClosedAs::ClosedWontFix => "CLOSED_WONT_FIX",
            ClosedAs::ClosedRiskAccepted => "CLOSED_RISK_ACCEPTED",
            ClosedAs::ClosedCompensatingControl => "CLOSED_COMPENSATING_CONTROL",
        }
    }
    pub fn from_str_opt(s: &str) -> Option<ClosedAs> {
        match s {
            "CLOSED_WONT_FIX" => Some(ClosedAs::ClosedWontFix),
            "CLOSED_RISK_ACCEPTED" => Some(ClosedAs::ClosedRiskAccepted),
            "CLOSED_COMPENSATING_CONTROL" => Some(ClosedAs::ClosedCompensatingControl),
            _ => None,
        }
    }
}

/// P0 (most urgent) … P4.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    P0,
    P1,
    P2,
    P3,
    P4,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::P0 => "P0",
            Priority::P1 => "P1",
            Priority::P2 => "P2",
            Priority::P3 => "P3",
            Priority::P4 => "P4",
        }
    }
    pub fn from_str_opt(s: &str) -> Option<Priority> {
        match s {
            "P0" => Some(Priority::P0),
            "P1" => Some(Priority::P1),
            "P2" => Some(Priority::P2),
            "P3" => Some(Priority::P3),
            "P4" => Some(Priority::P4),
            _ => None,
        }
    }
}

/// The triage and lifecycle state of a stored finding (DefectDojo's flags).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct FindingStatus {
    pub active: bool,
    pub verified: bool,
    pub false_p: bool,
    pub out_of_scope: bool,
    pub risk_accepted: bool,
    /// `YYYY-MM-DD`; after it the acceptance has expired.
    pub risk_accepted_until: Option<String>,
    pub is_mitigated: bool,
    pub mitigated_at: Option<Timestamp>,
    pub mitigated_by: Option<String>,
    pub duplicate: bool,
    pub permanently_closed: bool,
    /// Set when triage closed the finding through the Results API.
    pub closed_as: Option<ClosedAs>,
    pub priority: Option<Priority>,
}

impl FindingStatus {
    /// One word for where the finding stands: `open`, `mitigated`, `false_positive`,
    /// `risk_accepted`, `out_of_scope`, `closed_wont_fix`, `closed_risk_accepted`,
    /// `closed_compensating_control` or `inactive` (baselines, the Results API's `tollgate.status`).
    pub fn word(&self) -> &'static str {
        if let Some(c) = self.closed_as {
            return match c {
                ClosedAs::ClosedWontFix => "closed_wont_fix",
                ClosedAs::ClosedRiskAccepted => "closed_risk_accepted",
                ClosedAs::ClosedCompensatingControl => "closed_compensating_control",
            };
        }
        if self.false_p {
            "false_positive"
        } else if self.risk_accepted {
            "risk_accepted"
        } else if self.out_of_scope {
            "out_of_scope"
        } else if self.is_mitigated {
            "mitigated"
        } else if self.active {
            "open"
        } else {
            "inactive"
        }
    }

    /// Open = still to be dealt with: active and in none of the closed states.
    pub fn is_open(&self) -> bool {
        self.active
            && !self.is_mitigated
            && !self.false_p
            && !self.out_of_scope
            && !self.risk_accepted
            && self.closed_as.is_none()
    }
}

/// One row of the findings queue (`Store::queue_page`): what the queue's table shows, read from
/// the finding's own row in `findings` (title, severity, scanner and location are written there at
/// import, as the finding's JSON says them, and never change). A page reads neither the finding's
/// JSON nor its test nor its imports: on PostgreSQL that halved the cost of a page's statement.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct QueueRow {
    pub id: i64,
    pub product_id: i64,
    pub title: String,
    pub severity: Severity,
    /// The scanner's name.
    pub scanner: String,
    /// Where the finding is, as `queue::location_text` words it (empty when it says nowhere).
    pub location: String,
    pub status: FindingStatus,
    pub first_seen: Timestamp,
    /// `YYYY-MM-DD`: the SLA days of its severity after its date.
    pub sla_due: Option<String>,
}

/// A finding as the hub keeps it: the normalized model plus its lifecycle.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StoredFinding {
    pub id: i64,
    pub product_id: i64,
    pub engagement_id: i64,
    pub test_id: i64,
    pub finding: Finding,
    pub status: FindingStatus,
    /// Created by the latest import of its test and not triaged since (Results API `NEW`).
    pub is_new: bool,
    /// Someone set its priority, commented or closed it (only such findings can have notes).
    #[serde(default)]
    pub triaged: bool,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// Last change of anything but `last_seen` (Results API `results_last_updated`).
    pub updated_at: Timestamp,
    /// `YYYY-MM-DD`: the SLA days of its severity after its date.
    pub sla_due: Option<String>,
    /// `YYYY-MM-DD`: the `scan_date` of the import that created it (DefectDojo's `date`), when
    /// that import gave one.
    #[serde(default)]
    pub scan_date: Option<String>,
}

impl StoredFinding {
    pub fn severity(&self) -> Severity {
        self.finding.severity
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum NoteKind {
    Internal,
    Question,
    Reply,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Note {
    pub id: i64,
    pub finding_id: i64,
    pub author: String,
    pub text: String,
    pub kind: NoteKind,
    pub created_at: Timestamp,
}

/// One row of a test's import history.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ImportRecord {
    pub id: i64,
    pub test_id: i64,
    /// `import` or `reimport`.
    pub kind: String,
    pub created_at: Timestamp,
    pub scan_date: Option<String>,
    pub created: i64,
    pub closed: i64,
    pub reactivated: i64,
    pub untouched: i64,
    pub version: Option<String>,
    pub branch_tag: Option<String>,
    pub commit_hash: Option<String>,
    pub build_id: Option<String>,
    pub tags: Vec<String>,
    /// Name of the token that made the call.
    pub actor: Option<String>,
}

/// What a token may do.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Read,
    Import,
    /// Close findings and set their priority.
    Triage,
    Comment,
    Admin,
    /// Scrape `/metrics` (per-process counters and stored totals across every product).
    Metrics,
}

impl Scope {
    pub const ALL: [Scope; 6] = [
        Scope::Read,
        Scope::Import,
        Scope::Triage,
        Scope::Comment,
        Scope::Admin,
        Scope::Metrics,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Import => "import",
            Scope::Triage => "triage",
            Scope::Comment => "comment",
            Scope::Admin => "admin",
            Scope::Metrics => "metrics",
        }
    }
    pub fn from_str_opt(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// An API token (its secret is never stored, only a SHA-256 of it).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Token {
    pub id: i64,
    pub name: String,
    pub scopes: Vec<Scope>,
    /// When set, the token sees and touches only this product.
    pub product_id: Option<i64>,
    pub created_at: Timestamp,
}

impl Token {
    /// `admin` grants every scope.
    pub fn allows(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope) || self.scopes.contains(&Scope::Admin)
    }
    /// Whether the token may see `product_id` at all.
    pub fn sees(&self, product_id: i64) -> bool {
        self.product_id.is_none_or(|p| p == product_id)
    }
}

/// A person who signs in to the web UI with a name and a password (only an argon2id hash of it
/// is stored). Scopes and the product limit mean what they mean for a [`Token`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub scopes: Vec<Scope>,
    /// When set, the user sees and touches only this product.
    pub product_id: Option<i64>,
    pub created_at: Timestamp,
    pub disabled_at: Option<Timestamp>,
    pub last_sign_in: Option<Timestamp>,
}

impl User {
    /// `admin` grants every scope.
    pub fn allows(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope) || self.scopes.contains(&Scope::Admin)
    }
    /// Whether the user may see `product_id` at all.
    pub fn sees(&self, product_id: i64) -> bool {
        self.product_id.is_none_or(|p| p == product_id)
    }
}

/// A recorded run of `tollgate gate`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GateRun {
    pub id: i64,
    pub product_id: i64,
    pub engagement_id: Option<i64>,
    pub created_at: Timestamp,
    /// PASS / WARN / FAIL.
    pub outcome: String,
    pub commit_hash: Option<String>,
    pub release_tag: Option<String>,
    pub artifact_sha256: Option<String>,
    /// The rest of the gate's summary, as sent: reasons, context, counts.
    pub body: serde_json::Value,
}

/// One entry of a hub baseline: a fingerprint known to the product and what became of it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BaselineEntry {
    pub fingerprint: String,
    pub open: bool,
    /// `open`, `mitigated`, `false_positive`, `risk_accepted`, `out_of_scope`, `closed_wont_fix`, …
    pub status: String,
}

/// Counts keyed like DefectDojo's import statistics.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct StatusCounts {
    pub active: i64,
    pub verified: i64,
    pub duplicate: i64,
    pub false_p: i64,
    pub out_of_scope: i64,
    pub is_mitigated: i64,
    pub risk_accepted: i64,
    pub total: i64,
}

impl StatusCounts {
    pub fn plus(&mut self, o: &StatusCounts) {
        self.active += o.active;
        self.verified += o.verified;
        self.duplicate += o.duplicate;
        self.false_p += o.false_p;
        self.out_of_scope += o.out_of_scope;
        self.is_mitigated += o.is_mitigated;
        self.risk_accepted += o.risk_accepted;
        self.total += o.total;
    }

    pub fn add(&mut self, s: &FindingStatus) {
        self.active += i64::from(s.active);
        self.verified += i64::from(s.verified);
        self.duplicate += i64::from(s.duplicate);
        self.false_p += i64::from(s.false_p);
        self.out_of_scope += i64::from(s.out_of_scope);
        self.is_mitigated += i64::from(s.is_mitigated);
        self.risk_accepted += i64::from(s.risk_accepted);
        self.total += 1;
    }
}

/// `{info, low, medium, high, critical, total}` of [`StatusCounts`], as DefectDojo returns them.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct SeverityCounts {
    pub info: StatusCounts,
    pub low: StatusCounts,
    pub medium: StatusCounts,
    pub high: StatusCounts,
    pub critical: StatusCounts,
    pub total: StatusCounts,
}

impl SeverityCounts {
    pub fn add(&mut self, severity: Severity, s: &FindingStatus) {
        let bucket = match severity {
            Severity::Info => &mut self.info,
            Severity::Low => &mut self.low,
            Severity::Medium => &mut self.medium,
            Severity::High => &mut self.high,
            Severity::Critical => &mut self.critical,
        };
        bucket.add(s);
        self.total.add(s);
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct ImportDelta {
    pub created: SeverityCounts,
    pub closed: SeverityCounts,
    pub reactivated: SeverityCounts,
    pub untouched: SeverityCounts,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct ImportStatistics {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<SeverityCounts>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delta: Option<ImportDelta>,
    pub after: SeverityCounts,
}

/// The result of one import or reimport.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ImportOutcome {
    pub import_id: i64,
    pub product_type_id: i64,
    pub product_id: i64,
    pub engagement_id: i64,
    pub test_id: i64,
    pub test_title: String,
    pub scan_type: String,
    pub statistics: ImportStatistics,
    /// Findings of the report dropped by `minimum_severity`.
    pub below_minimum_severity: usize,
    /// Findings of the report that repeated a fingerprint already in it.
    pub duplicates_in_report: usize,
    /// Mitigated findings the report had again, left mitigated by `do_not_reactivate` (DefectDojo
    /// counts them in no bucket of `statistics.delta`).
    pub not_reactivated: usize,
    /// What DefectDojo would have done otherwise (a product type it would have asked for).
    pub warnings: Vec<String>,
}

/// One page of a list.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Page<T> {
    pub count: i64,
    pub results: Vec<T>,
}
