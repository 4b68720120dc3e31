//! What callers ask of the store: validated by the caller (the server), plain data here.

use crate::types::Timestamp;
use tollgate_model::Severity;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportMode {
    /// Always a new test (DefectDojo `import-scan`).
    Import,
    /// Into the matching test, created when absent and `auto_create_context` (DefectDojo `reimport-scan`).
    Reimport,
}

/// Where an import lands: ids win over names, like DefectDojo.
#[derive(Debug, Clone, Default)]
pub struct ImportTarget {
    pub test_id: Option<i64>,
    pub engagement_id: Option<i64>,
    pub product_type_name: Option<String>,
    pub product_name: Option<String>,
    pub engagement_name: Option<String>,
    pub test_title: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ImportRequest {
    pub mode: ImportMode,
    pub target: ImportTarget,
    /// DefectDojo's scan_type string, already canonical ("ZAP Scan").
    pub scan_type: String,
    pub auto_create_context: bool,
    /// The product type of a product `auto_create_context` creates when the call names none
    /// (DefectDojo refuses such a call; a hub setting).
    pub default_product_type: Option<String>,
    pub close_old_findings: bool,
    pub do_not_reactivate: bool,
    pub minimum_severity: Severity,
    /// Flags given to newly created findings.
    pub active: bool,
    pub verified: bool,
    /// `YYYY-MM-DD`.
    pub scan_date: Option<String>,
    pub version: Option<String>,
    pub branch_tag: Option<String>,
    pub commit_hash: Option<String>,
    pub build_id: Option<String>,
    pub service: Option<String>,
    pub tags: Vec<String>,
    /// Name of the token making the call (mitigated_by, import history).
    pub actor: Option<String>,
    /// When set (a product-restricted token), the import may only touch this product.
    pub restrict_to_product: Option<i64>,
    pub now: Timestamp,
}

impl ImportRequest {
    /// DefectDojo's defaults for `mode`.
    pub fn new(mode: ImportMode, scan_type: impl Into<String>, now: Timestamp) -> Self {
        ImportRequest {
            mode,
            target: ImportTarget::default(),
            scan_type: scan_type.into(),
            auto_create_context: false,
            default_product_type: None,
            close_old_findings: mode == ImportMode::Reimport,
            do_not_reactivate: false,
            minimum_severity: Severity::Info,
            active: true,
            verified: false,
            scan_date: None,
            version: None,
            branch_tag: None,
            commit_hash: None,
            build_id: None,
            service: None,
            tags: Vec::new(),
            actor: None,
            restrict_to_product: None,
            now,
        }
    }
}

/// Limit/offset paging and the basic filters of DefectDojo's list endpoints.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub limit: i64,
    pub offset: i64,
    /// Only what this product-restricted token may see.
    pub restrict_to_product: Option<i64>,
    pub name: Option<String>,
    pub product_id: Option<i64>,
    pub engagement_id: Option<i64>,
    pub test_id: Option<i64>,
    pub active: Option<bool>,
    pub severity: Option<Severity>,
}

/// Results API open/closed filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusGroup {
    Open,
    Closed,
}

#[derive(Debug, Clone, Default)]
pub struct ResultsQuery {
    /// Findings with an id above this one (the decoded cursor).
    pub after_id: Option<i64>,
    pub page_size: i64,
    pub product_id: Option<i64>,
    pub restrict_to_product: Option<i64>,
    pub results_since: Option<Timestamp>,
    pub status_group: Option<StatusGroup>,
    /// Skip the total count (already known from the cursor).
    pub known_total: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct NewGateRun {
    pub product_name: String,
    pub engagement_name: Option<String>,
    pub outcome: String,
    pub commit_hash: Option<String>,
    pub release_tag: Option<String>,
    pub artifact_sha256: Option<String>,
    pub body: serde_json::Value,
    pub restrict_to_product: Option<i64>,
    pub now: Timestamp,
}
