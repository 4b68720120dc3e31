//! The findings queue: one list across every product the viewer may see (`/ui/findings`), its
//! exports (`/ui/findings.csv`, `/ui/findings.json`: every matching row) and bulk triage
//! (`POST /ui/findings/bulk`). The query string is the view: filters, sort and page, so a link
//! shares it; the store's one filter writes the list, its count, the exports and bulk triage.

use super::{csrf, esc, internal, page, viewer_page, with_cookies, Viewer};
use crate::state::AppState;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::fmt::Write;
use tollgate_model::{Category, Severity, Tag};
use tollgate_store::{
    location_text, BulkAction, BulkOutcome, BulkTarget, FindingFilter, Priority, QueueRow,
    QueueSort, Scope, SlaState, StatusFilter, StoreError, StoredFinding, BULK_CAP,
};

/// Rows per page unless `per_page` says otherwise.
const DEFAULT_PER_PAGE: i64 = 50;
/// The store's largest queue page.
const MAX_PER_PAGE: i64 = tollgate_store::queue::MAX_QUEUE_PAGE;
/// Findings per chunk of an export.
const EXPORT_CHUNK: usize = 500;

/// The view a URL names: the filter (without the viewer's product limit), the order, the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    pub filter: FindingFilter,
    pub sort: QueueSort,
    pub page: i64,
    pub per_page: i64,
}

impl Default for View {
    fn default() -> Self {
        View {
            filter: FindingFilter::default(),
            sort: QueueSort::default(),
            page: 1,
            per_page: DEFAULT_PER_PAGE,
        }
    }
}

/// `application/x-www-form-urlencoded` pairs (a query string or a form body), decoded: `+` is a
/// space, `%XX` a byte; a key or value that is not UTF-8 is refused.
pub fn parse_pairs(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| {
            let bytes = tollgate_model::percent_decode_bytes(&s.replace('+', " "));
            String::from_utf8(bytes).map_err(|_| {
                format!(
                    "{}: the value is not UTF-8 text",
                    k.chars().take(40).collect::<String>()
                )
            })
        };
        out.push((decode(k)?, decode(v)?));
    }
    Ok(out)
}

/// `%XX` for everything but unreserved characters.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn bad(what: &str, value: &str) -> String {
    format!(
        "{what}: {:?} is not one of the values it takes (see docs/ui.md)",
        value.chars().take(60).collect::<String>()
    )
}

impl View {
    /// The view of these pairs. Keys it does not know are left for the caller (`csrf`, `id`…);
    /// an empty value is no filter (what an untouched form field sends).
    pub fn from_pairs(pairs: &[(String, String)]) -> Result<View, String> {
        let mut v = View::default();
        let f = &mut v.filter;
        for (k, value) in pairs {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            let text = || Some(value.to_string());
            match k.as_str() {
                "product" => f
                    .products
                    .push(value.parse().map_err(|_| bad("product", value))?),
                "tier" => f.tier = text(),
                "platform" => f.platform = text(),
                "severity" => f.severities.push(
                    Severity::ALL
                        .into_iter()
                        .find(|s| sev_word(*s) == value)
                        .ok_or_else(|| bad("severity", value))?,
                ),
                "status" => {
                    f.status = StatusFilter::parse(value).ok_or_else(|| bad("status", value))?
                }
                "scanner" => f.scanner = text(),
                "category" => f.category = text(),
                "tag" => f.tag = text(),
                "cwe" => {
                    let n = value.strip_prefix("CWE-").unwrap_or(value);
                    f.cwe = Some(n.parse().map_err(|_| bad("cwe", value))?)
                }
                "vuln" => f.vulnerability_id = text(),
                "since" => {
                    let secs = crate::time::parse_date(value).ok_or_else(|| {
                        format!(
                            "since: {:?} is not a date (YYYY-MM-DD)",
                            value.chars().take(60).collect::<String>()
                        )
                    })?;
                    f.first_seen_since_day = Some(secs.div_euclid(86_400));
                }
                "sla" => f.sla = Some(SlaState::parse(value).ok_or_else(|| bad("sla", value))?),
                "q" => f.text = text(),
                "sort" => v.sort = QueueSort::parse(value).ok_or_else(|| bad("sort", value))?,
                "page" => {
                    v.page = value
                        .parse::<i64>()
                        .ok()
                        .filter(|p| (1..=1_000_000).contains(p))
                        .ok_or_else(|| bad("page", value))?
                }
                "per_page" => {
                    v.per_page = value
                        .parse::<i64>()
                        .ok()
                        .filter(|p| (1..=MAX_PER_PAGE).contains(p))
                        .ok_or_else(|| format!("per_page: 1 to {MAX_PER_PAGE}"))?
                }
                _ => {}
            }
        }
        v.filter.products.sort_unstable();
        v.filter.products.dedup();
        v.filter.severities.sort();
        v.filter.severities.dedup();
        Ok(v)
    }

    /// The filter's parameters (no sort, no page), canonical: what links and forms carry.
    pub fn filter_pairs(&self) -> Vec<(&'static str, String)> {
        let f = &self.filter;
        let mut out: Vec<(&'static str, String)> = Vec::new();
        for p in &f.products {
            out.push(("product", p.to_string()));
        }
        let mut text = |k: &'static str, v: &Option<String>| {
            if let Some(v) = v {
                out.push((k, v.clone()));
            }
        };
        text("tier", &f.tier);
        text("platform", &f.platform);
        for s in &f.severities {
            out.push(("severity", sev_word(*s).to_string()));
        }
        if f.status != StatusFilter::Open {
            out.push(("status", f.status.as_str().to_string()));
        }
        let mut text = |k: &'static str, v: &Option<String>| {
            if let Some(v) = v {
                out.push((k, v.clone()));
            }
        };
        text("scanner", &f.scanner);
        text("category", &f.category);
        text("tag", &f.tag);
        text("cwe", &f.cwe.map(|c| c.to_string()));
        text("vuln", &f.vulnerability_id);
        text(
            "since",
            &f.first_seen_since_day
                .map(|d| crate::time::date(d * 86_400)),
        );
        text("sla", &f.sla.map(|s| s.as_str().to_string()));
        text("q", &f.text);
        out
    }

    /// The query string of this view (without `?`), sort and page included when not the default.
    pub fn query(&self) -> String {
        let mut pairs = self.filter_pairs();
        if self.sort != QueueSort::default() {
            pairs.push(("sort", self.sort.as_str().to_string()));
        }
        if self.per_page != DEFAULT_PER_PAGE {
            pairs.push(("per_page", self.per_page.to_string()));
        }
        if self.page != 1 {
            pairs.push(("page", self.page.to_string()));
        }
        pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }

    fn url(&self, path: &str) -> String {
        let q = self.query();
        if q.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{q}")
        }
    }

    fn with(&self, change: impl FnOnce(&mut View)) -> View {
        let mut v = self.clone();
        change(&mut v);
        v
    }
}

/// A 400 HTML page.
fn bad_request(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        page(
            "Bad request",
            &format!(
                "<p>{}</p><p><a href=\"/ui/findings\">Back to the findings</a></p>",
                esc(message)
            ),
        ),
    )
        .into_response()
}

/// The view of the request's query string, with the viewer's product limit.
fn view_of(uri: &Uri, v: &Viewer) -> Result<View, String> {
    let pairs = parse_pairs(uri.query().unwrap_or(""))?;
    let mut view = View::from_pairs(&pairs)?;
    view.filter.restrict_to_product = v.restriction();
    Ok(view)
}

/// The names of the products the viewer may see.
async fn product_names(state: &AppState, v: &Viewer) -> Result<HashMap<i64, String>, StoreError> {
    Ok(state
        .store
        .product_names_by_id(v.restriction())
        .await?
        .into_iter()
        .collect())
}

/// The severity word of the URL, the CSS class and the exports.
fn sev_word(s: Severity) -> &'static str {
    match s {
        Severity::Info => "info",
        Severity::Low => "low",
        Severity::Medium => "medium",
        Severity::High => "high",
        Severity::Critical => "critical",
    }
}

/// Whole days since the finding was first seen.
fn age_days(f: &QueueRow, now: i64) -> i64 {
    (now - f.first_seen).max(0) / 86_400
}

/// What the viewer may do in bulk: (any action at all, closing actions too).
fn bulk_rights(v: &Viewer) -> (bool, bool) {
    let triage = v.allows(Scope::Triage);
    (triage || v.allows(Scope::Comment), triage)
}

pub async fn queue(
    State(state): State<AppState>,
    v: Viewer,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let view = match view_of(&uri, &v) {
        Ok(view) => view,
        Err(e) => return bad_request(&e),
    };
    let now = crate::state::now();
    // The page, its count and the products' names (the filter form) in one read.
    let page = match state
        .store
        .queue_page(&view.filter, view.sort, view.page, view.per_page, now)
        .await
    {
        Ok(page) => page,
        Err(e) => return internal(e),
    };
    let names: HashMap<i64, String> = page.products.into_iter().collect();
    let (rows, total) = (page.findings, page.total);
    let pairs = parse_pairs(uri.query().unwrap_or("")).unwrap_or_default();
    let mut body = String::new();
    if let Some((_, done)) = pairs.iter().find(|(k, _)| k == "done") {
        body.push_str(&bulk_summary(done));
    }
    filter_form(&mut body, &view, &names);
    let _ = write!(
        body,
        "<p class=\"queue-count\"><strong>{total} finding{}</strong> · export: \
         <a href=\"{}\">CSV</a> · <a href=\"{}\">JSON</a></p>",
        if total == 1 { "" } else { "s" },
        esc(&view.with(|x| x.page = 1).url("/ui/findings.csv")),
        esc(&view.with(|x| x.page = 1).url("/ui/findings.json")),
    );
    let (may_bulk, may_close) = bulk_rights(&v);
    let mut set_cookie = None;
    if may_bulk {
        let (token, set) = csrf::issue(&state, &headers);
        set_cookie = set;
        let _ = write!(
            body,
            "<form method=\"post\" action=\"/ui/findings/bulk\" class=\"queue-bulk\">{}",
            csrf::input(&token)
        );
        for (k, val) in view.filter_pairs() {
            let _ = write!(
                body,
                "<input type=\"hidden\" name=\"{k}\" value=\"{}\">",
                esc(&val)
            );
        }
        for (k, val) in [
            ("sort", view.sort.as_str().to_string()),
            ("page", view.page.to_string()),
            ("per_page", view.per_page.to_string()),
        ] {
            let _ = write!(
                body,
                "<input type=\"hidden\" name=\"{k}\" value=\"{}\">",
                esc(&val)
            );
        }
    }
    table(&mut body, &view, &rows, &names, may_bulk, now);
    pager(&mut body, &view, total);
    if may_bulk {
        bulk_controls(&mut body, total, may_close);
        body.push_str("</form>");
    }
    with_cookies(
        StatusCode::OK,
        set_cookie.as_slice(),
        viewer_page(&v, "Findings", &body),
    )
}

fn filter_form(body: &mut String, view: &View, names: &HashMap<i64, String>) {
    let f = &view.filter;
    let text = |name: &str, label: &str, value: Option<&str>| {
        format!(
            "<label>{label} <input name=\"{name}\" value=\"{}\"></label> ",
            esc(value.unwrap_or(""))
        )
    };
    let select = |name: &str, label: &str, options: &[(&str, &str)], current: &str| {
        let mut s = format!("<label>{label} <select name=\"{name}\">");
        for (value, shown) in options {
            let _ = write!(
                s,
                "<option value=\"{}\"{}>{}</option>",
                esc(value),
                if *value == current { " selected" } else { "" },
                esc(shown)
            );
        }
        s.push_str("</select></label> ");
        s
    };
    body.push_str("<form method=\"get\" action=\"/ui/findings\" class=\"queue-filter\"><fieldset><legend>Filter</legend>");
    // Products: only those the viewer sees.
    let mut products: Vec<(&i64, &String)> = names.iter().collect();
    products.sort_by(|a, b| a.1.cmp(b.1));
    body.push_str("<label>Product <select name=\"product\" multiple size=\"3\">");
    for (id, name) in products {
        let _ = write!(
            body,
            "<option value=\"{id}\"{}>{}</option>",
            if f.products.contains(id) {
                " selected"
            } else {
                ""
            },
            esc(name)
        );
    }
    body.push_str("</select></label> ");
    body.push_str("<span class=\"queue-severities\">Severity ");
    for s in Severity::ALL {
        let _ = write!(
            body,
            "<label><input type=\"checkbox\" name=\"severity\" value=\"{0}\"{1}> {0}</label> ",
            sev_word(s),
            if f.severities.contains(&s) {
                " checked"
            } else {
                ""
            }
        );
    }
    body.push_str("</span> ");
    let statuses: Vec<(&str, &str)> = StatusFilter::ALL
        .iter()
        .map(|s| (s.as_str(), s.as_str()))
        .collect();
    body.push_str(&select("status", "Status", &statuses, f.status.as_str()));
    let mut slas: Vec<(&str, &str)> = vec![("", "any")];
    slas.extend(SlaState::ALL.iter().map(|s| (s.as_str(), s.as_str())));
    body.push_str(&select(
        "sla",
        "SLA",
        &slas,
        f.sla.map_or("", SlaState::as_str),
    ));
    let mut categories: Vec<(&str, &str)> = vec![("", "any")];
    categories.extend(Category::ALL.iter().map(|c| (c.as_str(), c.as_str())));
    body.push_str(&select(
        "category",
        "Category",
        &categories,
        f.category.as_deref().unwrap_or(""),
    ));
    let mut tags: Vec<(&str, &str)> = vec![("", "any")];
    tags.extend(Tag::ALL.iter().map(|t| (t.as_str(), t.as_str())));
    body.push_str(&select("tag", "Tag", &tags, f.tag.as_deref().unwrap_or("")));
    body.push_str(&text("scanner", "Scanner", f.scanner.as_deref()));
    body.push_str(&text("tier", "Tier", f.tier.as_deref()));
    body.push_str(&text("platform", "Platform", f.platform.as_deref()));
    body.push_str(&text("cwe", "CWE", f.cwe.map(|c| c.to_string()).as_deref()));
    body.push_str(&text(
        "vuln",
        "Vulnerability id",
        f.vulnerability_id.as_deref(),
    ));
    body.push_str(&text(
        "since",
        "First seen since",
        f.first_seen_since_day
            .map(|d| crate::time::date(d * 86_400))
            .as_deref(),
    ));
    body.push_str(&text("q", "Text", f.text.as_deref()));
    if view.sort != QueueSort::default() {
        let _ = write!(
            body,
            "<input type=\"hidden\" name=\"sort\" value=\"{}\">",
            view.sort.as_str()
        );
    }
    if view.per_page != DEFAULT_PER_PAGE {
        let _ = write!(
            body,
            "<input type=\"hidden\" name=\"per_page\" value=\"{}\">",
            view.per_page
        );
    }
    body.push_str("<button>Show</button> <a href=\"/ui/findings\">Reset</a></fieldset></form>");
}

/// A column header: a link that sorts by it (the second click reverses where that makes sense).
fn sort_link(view: &View, label: &str, asc: QueueSort, desc: Option<QueueSort>) -> String {
    let next = match desc {
        Some(d) if view.sort == d => asc,
        Some(d) if view.sort == asc => d,
        Some(d) if asc == QueueSort::Severity => d,
        _ => asc,
    };
    let marker = if view.sort == asc || Some(view.sort) == desc {
        " class=\"sorted\""
    } else {
        ""
    };
    format!(
        "<a href=\"{}\"{marker}>{}</a>",
        esc(&view
            .with(|x| {
                x.sort = next;
                x.page = 1
            })
            .url("/ui/findings")),
        esc(label)
    )
}

fn table(
    body: &mut String,
    view: &View,
    rows: &[QueueRow],
    names: &HashMap<i64, String>,
    checkboxes: bool,
    now: i64,
) {
    body.push_str("<table class=\"queue\"><tr>");
    if checkboxes {
        body.push_str("<th>Select</th>");
    }
    let _ = write!(
        body,
        "<th>{}</th><th>{}</th><th>{}</th><th>Where</th><th>Scanner</th><th>Status</th><th>{}</th><th>{}</th></tr>",
        sort_link(view, "Severity", QueueSort::Severity, Some(QueueSort::SeverityDesc)),
        sort_link(view, "Title", QueueSort::Title, None),
        sort_link(view, "Product", QueueSort::Product, None),
        sort_link(view, "Age", QueueSort::Age, Some(QueueSort::AgeDesc)),
        sort_link(view, "SLA due", QueueSort::Sla, None),
    );
    for f in rows {
        let sev = sev_word(f.severity);
        body.push_str("<tr>");
        if checkboxes {
            let _ = write!(
                body,
                "<td><input type=\"checkbox\" name=\"id\" value=\"{}\" aria-label=\"select finding {}\"></td>",
                f.id, f.id
            );
        }
        let _ = write!(
            body,
            "<td class=\"{sev}\">{sev}</td><td><a href=\"/ui/findings/{}\">{}</a></td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{} d</td><td>{}</td></tr>",
            f.id,
            esc(&f.title),
            esc(names.get(&f.product_id).map_or("", String::as_str)),
            esc(&f.location),
            esc(&f.scanner),
            f.status.word(),
            age_days(f, now),
            esc(f.sla_due.as_deref().unwrap_or("")),
        );
    }
    body.push_str("</table>");
}

fn pager(body: &mut String, view: &View, total: i64) {
    let pages = ((total + view.per_page - 1) / view.per_page).max(1);
    body.push_str("<p class=\"queue-pages\">");
    if view.page > 1 {
        let _ = write!(
            body,
            "<a href=\"{}\" rel=\"prev\">Previous</a> ",
            esc(&view
                .with(|x| x.page = (x.page - 1).min(pages))
                .url("/ui/findings"))
        );
    }
    let _ = write!(body, "Page {} of {pages}", view.page);
    if view.page < pages {
        let _ = write!(
            body,
            " <a href=\"{}\" rel=\"next\">Next</a>",
            esc(&view.with(|x| x.page += 1).url("/ui/findings"))
        );
    }
    body.push_str("</p>");
}

fn bulk_controls(body: &mut String, total: i64, may_close: bool) {
    let mut actions: Vec<(&str, &str)> = Vec::new();
    if may_close {
        actions.extend([
            ("close_wont_fix", "Close: won't fix"),
            ("close_risk_accepted", "Close: risk accepted (until)"),
            ("close_compensating_control", "Close: compensating control"),
            ("false_positive", "Mark false positive"),
            ("priority", "Set priority"),
        ]);
    }
    actions.push(("note", "Add a note"));
    let _ = write!(
        body,
        "<fieldset class=\"queue-bulk-controls\"><legend>Bulk triage</legend>\
         <label><input type=\"radio\" name=\"scope\" value=\"selected\" checked> the selected findings</label> \
         <label><input type=\"radio\" name=\"scope\" value=\"all\"> all {total} matching this filter</label> \
         (at most {BULK_CAP})<br><label>Action <select name=\"action\">"
    );
    for (value, label) in actions {
        let _ = write!(body, "<option value=\"{value}\">{}</option>", esc(label));
    }
    body.push_str(
        "</select></label> <label>Reason <input name=\"reason\" size=\"40\"></label> \
         <label>Until <input type=\"date\" name=\"until\"></label> ",
    );
    if may_close {
        body.push_str("<label>Priority <select name=\"priority\">");
        for p in ["P0", "P1", "P2", "P3", "P4"] {
            let _ = write!(body, "<option>{p}</option>");
        }
        body.push_str("</select></label> ");
    }
    body.push_str("<button>Apply</button></fieldset>");
}

/// The line a bulk action's redirect shows (`done=ACTION.CHANGED.SKIPPED.MISSING`).
fn bulk_summary(done: &str) -> String {
    let parts: Vec<&str> = done.split('.').collect();
    let [action, changed, skipped, missing] = parts.as_slice() else {
        return String::new();
    };
    let Some(action) = ACTIONS.iter().find(|a| *a == action) else {
        return String::new();
    };
    let n = |s: &str| s.parse::<i64>().ok();
    let (Some(changed), Some(skipped), Some(missing)) = (n(changed), n(skipped), n(missing)) else {
        return String::new();
    };
    format!(
        "<p class=\"queue-done\">{action}: {changed} changed, {skipped} skipped (not open), {missing} not found.</p>"
    )
}

const ACTIONS: [&str; 6] = [
    "close_wont_fix",
    "close_risk_accepted",
    "close_compensating_control",
    "false_positive",
    "priority",
    "note",
];

pub async fn bulk(
    State(state): State<AppState>,
    v: Viewer,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    if !form_type {
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            page(
                "Unsupported form",
                "<p>Send the form as application/x-www-form-urlencoded.</p>",
            ),
        )
            .into_response();
    }
    let Ok(text) = std::str::from_utf8(&body) else {
        return bad_request("the form is not UTF-8 text");
    };
    let pairs = match parse_pairs(text) {
        Ok(p) => p,
        Err(e) => return bad_request(&e),
    };
    let field = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.trim())
    };
    if let Err(why) = csrf::check(&state, &headers, field(csrf::FIELD)) {
        return csrf::refused(why);
    }
    let action_word = field("action").unwrap_or("");
    let (may_bulk, may_close) = bulk_rights(&v);
    let allowed = if action_word == "note" {
        may_bulk
    } else {
        may_close
    };
    if !allowed {
        return (
            StatusCode::FORBIDDEN,
            page(
                "Forbidden",
                "<p>Your sign-in may not triage findings (it needs the triage scope, or comment for notes).</p>",
            ),
        )
            .into_response();
    }
    let mut view = match View::from_pairs(&pairs) {
        Ok(view) => view,
        Err(e) => return bad_request(&e),
    };
    view.filter.restrict_to_product = v.restriction();
    let reason = field("reason").unwrap_or("");
    let action = match action_word {
        "close_wont_fix" => BulkAction::CloseWontFix,
        "close_risk_accepted" => match field("until").filter(|u| !u.is_empty()) {
            Some(until) if crate::time::parse_date(until).is_some() => {
                BulkAction::CloseRiskAccepted {
                    until: until.to_string(),
                }
            }
            Some(_) => return bad_request("until: not a date (YYYY-MM-DD)"),
            None => return bad_request("a risk acceptance needs `until` (YYYY-MM-DD)"),
        },
        "close_compensating_control" => BulkAction::CloseCompensatingControl,
        "false_positive" => BulkAction::FalsePositive,
        "priority" => match field("priority").and_then(Priority::from_str_opt) {
            Some(p) => BulkAction::Priority(p),
            None => return bad_request("priority: P0 to P4"),
        },
        "note" => BulkAction::Note,
        _ => return bad_request(&bad("action", action_word)),
    };
    let target = if field("scope") == Some("all") {
        BulkTarget::Filter(Box::new(view.filter.clone()))
    } else {
        let mut ids = Vec::new();
        for (k, val) in &pairs {
            if k == "id" {
                match val.trim().parse::<i64>() {
                    Ok(id) => ids.push(id),
                    Err(_) => return bad_request(&bad("id", val)),
                }
            }
        }
        if ids.is_empty() {
            return bad_request(
                "select findings (the boxes of the list) or choose all matching this filter",
            );
        }
        BulkTarget::Ids(ids)
    };
    let outcome: BulkOutcome = match state
        .store
        .bulk_triage(
            &target,
            &action,
            reason,
            &v.name,
            v.restriction(),
            crate::state::now(),
        )
        .await
    {
        Ok(o) => o,
        Err(StoreError::Invalid(m)) => return bad_request(&m),
        Err(e) => return internal(e),
    };
    tracing::info!(actor = %v.name, action = action_word, changed = outcome.changed,
        skipped = outcome.skipped, missing = outcome.missing, "bulk triage");
    let back = view.url("/ui/findings");
    let sep = if back.contains('?') { '&' } else { '?' };
    super::see_other(
        &format!(
            "{back}{sep}done={action_word}.{}.{}.{}",
            outcome.changed, outcome.skipped, outcome.missing
        ),
        &[],
    )
}

/// A spreadsheet cell: a leading `=`, `+`, `-`, `@`, tab or carriage return (a formula to
/// Excel and LibreOffice) gets a `'` in front; quoted when it holds a comma, a quote or a line break.
pub fn csv_cell(value: &str) -> String {
    let neutral = match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{value}"),
        _ => value.to_string(),
    };
    if neutral.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", neutral.replace('"', "\"\""))
    } else {
        neutral
    }
}

const CSV_HEADER: [&str; 17] = [
    "id",
    "product",
    "severity",
    "status",
    "title",
    "scanner",
    "rule_id",
    "category",
    "where",
    "cwe",
    "vulnerability_ids",
    "tags",
    "first_seen",
    "last_seen",
    "sla_due",
    "priority",
    "url",
];

fn export_record(f: &StoredFinding, product: &str, public_url: &str) -> Vec<String> {
    let m = &f.finding;
    vec![
        f.id.to_string(),
        product.to_string(),
        sev_word(m.severity).to_string(),
        f.status.word().to_string(),
        m.title.clone(),
        m.scanner.name.clone(),
        m.rule_id.clone(),
        m.category.as_str().to_string(),
        location_text(m),
        m.cwe
            .iter()
            .map(|c| format!("CWE-{c}"))
            .collect::<Vec<_>>()
            .join(" "),
        m.vulnerability_ids.join(" "),
        m.tags
            .iter()
            .map(|t| t.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        crate::time::rfc3339(f.first_seen),
        crate::time::rfc3339(f.last_seen),
        f.sla_due.clone().unwrap_or_default(),
        f.status
            .priority
            .map(|p| p.as_str().to_string())
            .unwrap_or_default(),
        format!("{}/ui/findings/{}", public_url.trim_end_matches('/'), f.id),
    ]
}

fn export_json(f: &StoredFinding, product: &str, public_url: &str) -> serde_json::Value {
    let m = &f.finding;
    serde_json::json!({
        "id": f.id,
        "product_id": f.product_id,
        "product": product,
        "severity": sev_word(m.severity),
        "status": f.status.word(),
        "title": m.title,
        "scanner": m.scanner.name,
        "rule_id": m.rule_id,
        "category": m.category.as_str(),
        "where": location_text(m),
        "cwe": m.cwe,
        "vulnerability_ids": m.vulnerability_ids,
        "tags": m.tags.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
        "first_seen": crate::time::rfc3339(f.first_seen),
        "last_seen": crate::time::rfc3339(f.last_seen),
        "sla_due": f.sla_due,
        "priority": f.status.priority.map(|p| p.as_str()),
        "url": format!("{}/ui/findings/{}", public_url.trim_end_matches('/'), f.id),
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    Json,
}

pub async fn export_csv(state: State<AppState>, v: Viewer, uri: Uri) -> Response {
    export(state, v, uri, Format::Csv).await
}

pub async fn export_json_list(state: State<AppState>, v: Viewer, uri: Uri) -> Response {
    export(state, v, uri, Format::Json).await
}

/// Every finding of the view, in its order, streamed in chunks (the ids first, one snapshot of
/// which findings match; then their rows). A failure midway aborts the response, so a client
/// never takes a cut file for a whole one.
async fn export(State(state): State<AppState>, v: Viewer, uri: Uri, format: Format) -> Response {
    let view = match view_of(&uri, &v) {
        Ok(view) => view,
        Err(e) => return bad_request(&e),
    };
    let names = match product_names(&state, &v).await {
        Ok(n) => n,
        Err(e) => return internal(e),
    };
    let ids = match state
        .store
        .queue_ids(&view.filter, view.sort, crate::state::now())
        .await
    {
        Ok(ids) => ids,
        Err(e) => return internal(e),
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let restriction = v.restriction();
    let store = state.store.clone();
    let public_url = state.settings.public_url.clone();
    tokio::spawn(async move {
        let head = match format {
            Format::Csv => format!("{}\r\n", CSV_HEADER.join(",")),
            Format::Json => "[".to_string(),
        };
        if tx.send(Ok(Bytes::from(head))).await.is_err() {
            return;
        }
        let mut first = true;
        for chunk in ids.chunks(EXPORT_CHUNK) {
            let rows = match store.queue_findings(chunk, restriction).await {
                Ok(rows) => rows,
                Err(e) => {
                    tracing::error!(error = %e, "export failed");
                    let _ = tx.send(Err(std::io::Error::other("export failed"))).await;
                    return;
                }
            };
            let mut out = String::new();
            for f in &rows {
                let product = names.get(&f.product_id).map_or("", String::as_str);
                match format {
                    Format::Csv => {
                        let record: Vec<String> = export_record(f, product, &public_url)
                            .iter()
                            .map(|c| csv_cell(c))
                            .collect();
                        out.push_str(&record.join(","));
                        out.push_str("\r\n");
                    }
                    Format::Json => {
                        if !first {
                            out.push(',');
                        }
                        first = false;
                        out.push('\n');
                        out.push_str(&export_json(f, product, &public_url).to_string());
                    }
                }
            }
            if tx.send(Ok(Bytes::from(out))).await.is_err() {
                return;
            }
        }
        if format == Format::Json {
            let _ = tx.send(Ok(Bytes::from_static(b"\n]\n"))).await;
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let (content_type, name) = match format {
        Format::Csv => ("text/csv; charset=utf-8", "findings.csv"),
        Format::Json => ("application/json", "findings.json"),
    };
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(q: &str) -> Result<View, String> {
        View::from_pairs(&parse_pairs(q)?)
    }

    #[test]
    fn a_view_round_trips_through_its_url() {
        let v = view(
            "product=3&product=1&severity=high&severity=critical&status=all&scanner=Zed+Attack%20Proxy\
             &category=sast&tag=xss&cwe=79&vuln=CVE-2021-44228&since=2026-01-02&sla=due_soon\
             &q=a%26b%3Dc+%25&sort=-age&page=3&per_page=20&tier=tier-1&platform=android",
        )
        .unwrap();
        assert_eq!(v.filter.products, [1, 3]);
        assert_eq!(v.filter.severities, [Severity::High, Severity::Critical]);
        assert_eq!(v.filter.scanner.as_deref(), Some("Zed Attack Proxy"));
        assert_eq!(v.filter.text.as_deref(), Some("a&b=c %"));
        assert_eq!(v.filter.cwe, Some(79));
        assert_eq!(v.sort, QueueSort::AgeDesc);
        assert_eq!((v.page, v.per_page), (3, 20));
        let again = view(&v.query()).unwrap();
        assert_eq!(again, v);
        assert_eq!(view("").unwrap(), View::default());
        assert_eq!(View::default().query(), "");
        // Untouched form fields are no filter.
        assert_eq!(view("scanner=&sla=&cwe=").unwrap(), View::default());
        assert_eq!(view("cwe=CWE-89").unwrap().filter.cwe, Some(89));
    }

    #[test]
    fn bad_values_are_refused_with_their_name() {
        for (q, word) in [
            ("severity=urgent", "severity"),
            ("severity=HIGH", "severity"),
            ("status=gone", "status"),
            ("sla=late", "sla"),
            ("sort=random", "sort"),
            ("page=0", "page"),
            ("per_page=501", "per_page"),
            ("product=abc", "product"),
            ("cwe=x", "cwe"),
            ("since=2026-02-31", "since"),
            ("q=%FF", "q"),
        ] {
            let e = view(q).unwrap_err();
            assert!(e.starts_with(word), "{q}: {e}");
        }
    }

    #[test]
    fn csv_cells_are_quoted_and_formulas_neutralized() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        for lead in ["+1", "-1", "@SUM(A1)", "\tx"] {
            assert!(csv_cell(lead).starts_with('\''), "{lead}");
        }
        assert_eq!(csv_cell(""), "");
    }

    #[test]
    fn the_bulk_summary_shows_only_what_it_understands() {
        assert!(bulk_summary("close_wont_fix.3.1.0").contains("3 changed, 1 skipped"));
        assert_eq!(bulk_summary("<script>.1.1.1"), "");
        assert_eq!(bulk_summary("note.x.1.1"), "");
        assert_eq!(bulk_summary("note"), "");
    }
}
