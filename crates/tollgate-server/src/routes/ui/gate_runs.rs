//! Gate runs (the list and one run: decision, reasons with the findings they cite, inputs,
//! incomplete evidence), and the risk acceptances and waivers that end within 30 days. A gate
//! run's summary is what CI sent: every piece of it is escaped, and only links the hub builds
//! itself are links.

use super::{esc, internal, not_found, page, viewer_page, Viewer};
use crate::extract::{Path, Query};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;
use std::fmt::Write;
use tollgate_store::pages::{GateRunFilter, GateRunRow};

/// Rows per page of the gate-run list.
const PER_PAGE: i64 = 50;
/// The findings shown per reason (a reason may name thousands).
const CITED_SHOWN: usize = 100;

#[derive(Deserialize, Default)]
pub struct GateRunParams {
    product: Option<String>,
    outcome: Option<String>,
    page: Option<String>,
}

/// The HTML 400 page of a bad query parameter.
pub(super) fn bad_parameter(what: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        page("Bad request", &format!("<p>{}</p>", esc(what))),
    )
        .into_response()
}

/// A positive id or page number from a query parameter (absent or empty: None), else why not.
pub(super) fn number_param(name: &str, value: Option<&str>) -> Result<Option<i64>, String> {
    match value.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => match s.parse::<i64>() {
            Ok(n) if n > 0 => Ok(Some(n)),
            _ => Err(format!("{name}: {s:?} is not a positive number")),
        },
    }
}

/// The word the UI shows for a stored outcome (PASS, WARN, FAIL).
fn outcome_word(stored: &str) -> &'static str {
    match stored {
        "PASS" => "pass",
        "WARN" => "warn",
        _ => "block",
    }
}

pub(super) fn gate_run_table(runs: &[GateRunRow]) -> String {
    let mut t = String::from(
        "<table class=\"gate-runs\"><tr><th>Run</th><th>Product</th><th>Outcome</th><th>When</th>\
         <th>Commit</th><th>Branch</th><th>Release tag</th></tr>",
    );
    for r in runs {
        let word = outcome_word(&r.outcome);
        let _ = write!(
            t,
            "<tr data-gate-run=\"{id}\"><td><a href=\"/ui/gate-runs/{id}\">#{id}</a></td>\
             <td><a href=\"/ui/products/{}\">{}</a></td><td class=\"outcome-{word}\">{word}</td><td>{}</td>\
             <td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            r.product_id,
            esc(&r.product_name),
            crate::time::rfc3339(r.created_at),
            esc(r.commit_hash.as_deref().unwrap_or("")),
            esc(r.branch.as_deref().unwrap_or("")),
            esc(r.release_tag.as_deref().unwrap_or("")),
            id = r.id,
        );
    }
    t.push_str("</table>");
    t
}

/// `GET /ui/gate-runs`: gate runs, newest first, filtered by product and outcome.
pub async fn gate_runs(
    State(state): State<AppState>,
    v: Viewer,
    Query(p): Query<GateRunParams>,
) -> Response {
    let product = match number_param("product", p.product.as_deref()) {
        Ok(x) => x,
        Err(why) => return bad_parameter(&why),
    };
    let page_no = match number_param("page", p.page.as_deref()) {
        Ok(x) => x.unwrap_or(1),
        Err(why) => return bad_parameter(&why),
    };
    let outcome = match p
        .outcome
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some("pass") => Some("PASS"),
        Some("warn") => Some("WARN"),
        Some("block") => Some("FAIL"),
        Some(o) => {
            return bad_parameter(&format!("outcome: {o:?} is not one of pass, warn, block"))
        }
    };
    // Another product's runs: none, exactly as for a product that does not exist.
    let (runs, total) = match state
        .store
        .gate_runs(&GateRunFilter {
            product,
            outcome: outcome.map(str::to_string),
            restrict_to_product: v.restriction(),
            limit: PER_PAGE,
            offset: (page_no.min(1_000_000) - 1) * PER_PAGE,
        })
        .await
    {
        Ok(x) => x,
        Err(e) => return internal(e),
    };
    let filter_query = |page_no: i64| {
        let mut q = Vec::new();
        if let Some(p) = product {
            q.push(format!("product={p}"));
        }
        if let Some(o) = outcome {
            q.push(format!("outcome={}", outcome_word(o)));
        }
        q.push(format!("page={page_no}"));
        q.join("&amp;")
    };
    let mut body = String::from("<p>Outcome: ");
    for (word, label) in [
        (None, "all"),
        (Some("pass"), "pass"),
        (Some("warn"), "warn"),
        (Some("block"), "block"),
    ] {
        let mut q = Vec::new();
        if let Some(p) = product {
            q.push(format!("product={p}"));
        }
        if let Some(w) = word {
            q.push(format!("outcome={w}"));
        }
        let _ = write!(
            body,
            "<a href=\"/ui/gate-runs?{}\">{label}</a> ",
            q.join("&amp;")
        );
    }
    let pages = (total + PER_PAGE - 1) / PER_PAGE;
    let _ = write!(
        body,
        "</p><p data-count=\"{total}\">{total} gate runs{}; page {page_no} of {}.</p>{}",
        if product.is_some() {
            " of this product"
        } else {
            ""
        },
        pages.max(1),
        gate_run_table(&runs)
    );
    body.push_str("<p class=\"pager\">");
    if page_no > 1 {
        let _ = write!(
            body,
            "<a href=\"/ui/gate-runs?{}\">previous</a> ",
            filter_query(page_no - 1)
        );
    }
    if page_no < pages {
        let _ = write!(
            body,
            "<a href=\"/ui/gate-runs?{}\">next</a>",
            filter_query(page_no + 1)
        );
    }
    body.push_str("</p>");
    viewer_page(&v, "Gate runs", &body).into_response()
}

fn text_of(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// A table of key / value rows of a JSON object (values escaped, nested values as JSON text).
fn object_table(v: &Value, class: &str) -> String {
    let Some(o) = v.as_object().filter(|o| !o.is_empty()) else {
        return "<p>None.</p>".into();
    };
    let mut t = format!("<table class=\"{class}\">");
    for (k, x) in o {
        let shown = match x {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let _ = write!(t, "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(&shown));
    }
    t.push_str("</table>");
    t
}

/// `GET /ui/gate-runs/{id}`: one gate run.
pub async fn gate_run(State(state): State<AppState>, v: Viewer, Path(id): Path<i64>) -> Response {
    let d = match state.store.gate_run(id).await {
        Ok(Some(d)) if v.sees(d.run.product_id) => d,
        Ok(_) => return not_found("gate run"),
        Err(e) => return internal(e),
    };
    let r = &d.run;
    let b = &d.body;
    let reasons: Vec<&Value> = b["reasons"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    // The findings the reasons cite, looked up among the product's findings.
    let cited: Vec<String> = reasons
        .iter()
        .flat_map(|x| strings(&x["fingerprints"]).into_iter().take(CITED_SHOWN))
        .collect();
    let found = match state
        .store
        .findings_by_fingerprint(r.product_id, &cited)
        .await
    {
        Ok(f) => f,
        Err(e) => return internal(e),
    };
    let word = outcome_word(&r.outcome);
    let context = &b["context"];
    let mut body = format!(
        "<table class=\"run\"><tr><th>Decision</th><td class=\"outcome-{word}\" data-outcome=\"{word}\">{word} ({})</td></tr>\
         <tr><th>Product</th><td><a href=\"/ui/products/{}\">{}</a></td></tr>\
         <tr><th>Engagement</th><td>{}</td></tr><tr><th>When</th><td>{}</td></tr>\
         <tr><th>Commit</th><td><code>{}</code></td></tr><tr><th>Branch</th><td>{}</td></tr>\
         <tr><th>Release tag</th><td>{}</td></tr><tr><th>Artifact sha256</th><td><code>{}</code></td></tr>\
         <tr><th>Environment / build</th><td>{} / {}</td></tr><tr><th>Pipeline</th><td>{}</td></tr>\
         <tr><th>Tool</th><td>{} {}</td></tr></table>",
        esc(&r.outcome),
        r.product_id,
        esc(&r.product_name),
        match (r.engagement_id, &r.engagement_name) {
            (Some(e), Some(n)) => format!("<a href=\"/ui/engagements/{e}\">{}</a>", esc(n)),
            _ => String::new(),
        },
        crate::time::rfc3339(r.created_at),
        esc(r.commit_hash.as_deref().unwrap_or("")),
        esc(r.branch.as_deref().unwrap_or("")),
        esc(r.release_tag.as_deref().unwrap_or("")),
        esc(r.artifact_sha256.as_deref().unwrap_or("")),
        esc(&text_of(context, "environment")),
        esc(&text_of(context, "build")),
        // Text, never a link: the URL came from the client.
        esc(&text_of(context, "pipeline_url")),
        esc(&text_of(&b["tool"], "name")),
        esc(&text_of(&b["tool"], "version")),
    );
    let _ = write!(body, "<h2>Reasons</h2>");
    if reasons.is_empty() {
        body.push_str("<p>None: nothing blocked or warned.</p>");
    } else {
        body.push_str(
            "<table class=\"reasons\"><tr><th>Verdict</th><th>Rule / kind</th><th>Message</th><th>Findings cited</th></tr>",
        );
        for x in &reasons {
            let prints = strings(&x["fingerprints"]);
            let mut cells = String::new();
            for fp in prints.iter().take(CITED_SHOWN) {
                match found.get(fp) {
                    Some(fid) => {
                        let _ = write!(
                            cells,
                            "<a href=\"/ui/findings/{fid}\" data-fingerprint=\"{}\"><code>{}</code></a> ",
                            esc(fp),
                            esc(&fp.chars().take(12).collect::<String>())
                        );
                    }
                    None => {
                        let _ = write!(
                            cells,
                            "<code title=\"not among the product's findings\">{}</code> ",
                            esc(&fp.chars().take(12).collect::<String>())
                        );
                    }
                }
            }
            if prints.len() > CITED_SHOWN {
                let _ = write!(cells, "and {} more", prints.len() - CITED_SHOWN);
            }
            let verdict = text_of(x, "verdict");
            let rule = text_of(x, "rule");
            let _ =
                write!(
                body,
                "<tr><td class=\"verdict-{}\">{}</td><td>{}</td><td>{}</td><td>{cells}</td></tr>",
                esc(&verdict),
                esc(&verdict),
                esc(if rule.is_empty() { text_of(x, "kind") } else { rule }.as_str()),
                esc(&text_of(x, "message")),
            );
        }
        body.push_str("</table>");
    }
    // Incomplete evidence: inputs the gate could not fully trust, and the reasons saying so.
    let inputs: Vec<&Value> = b["inputs"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let mut incomplete = String::new();
    for i in &inputs {
        for why in strings(&i["incomplete"]) {
            let _ = write!(
                incomplete,
                "<li>{}: {}</li>",
                esc(&text_of(i, "file")),
                esc(&why)
            );
        }
        let error = text_of(i, "error");
        if !error.is_empty() {
            let _ = write!(
                incomplete,
                "<li>{}: unreadable: {}</li>",
                esc(&text_of(i, "file")),
                esc(&error)
            );
        }
    }
    for x in reasons.iter().filter(|x| {
        matches!(
            x["kind"].as_str(),
            Some("incomplete-scan" | "missing-scanner" | "broken-report")
        )
    }) {
        let _ = write!(
            incomplete,
            "<li>{}: {}</li>",
            esc(&text_of(x, "kind")),
            esc(&text_of(x, "message"))
        );
    }
    body.push_str("<h2>Incomplete evidence</h2>");
    if incomplete.is_empty() {
        body.push_str("<p>None reported.</p>");
    } else {
        let _ = write!(body, "<ul class=\"incomplete\">{incomplete}</ul>");
    }
    body.push_str("<h2>Inputs</h2>");
    if inputs.is_empty() {
        body.push_str("<p>None recorded.</p>");
    } else {
        body.push_str(
            "<table class=\"inputs\"><tr><th>File</th><th>Format</th><th>Scanners</th><th class=\"num\">Findings</th><th>sha256</th></tr>",
        );
        for i in &inputs {
            let scanners: Vec<String> = i["scanners"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|s| format!("{} {}", text_of(s, "name"), text_of(s, "version")))
                        .collect()
                })
                .unwrap_or_default();
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td><code>{}</code></td></tr>",
                esc(&text_of(i, "file")),
                esc(&text_of(i, "format")),
                esc(&scanners.join(", ")),
                esc(&text_of(i, "findings")),
                esc(&text_of(i, "sha256")),
            );
        }
        body.push_str("</table>");
    }
    body.push_str("<h2>Totals</h2>");
    body.push_str(&object_table(&b["totals"], "totals"));
    let notes = strings(&b["notes"]);
    if !notes.is_empty() {
        body.push_str("<h2>Notes</h2><ul>");
        for n in notes {
            let _ = write!(body, "<li>{}</li>", esc(&n));
        }
        body.push_str("</ul>");
    }
    let waivers = waiver_rows(&b["waivers"], &crate::time::date(crate::state::now()), None);
    if !waivers.is_empty() {
        let _ = write!(body, "<h2>Waivers</h2>{}", waiver_table(&waivers, false));
    }
    viewer_page(&v, &format!("Gate run #{}", r.id), &body).into_response()
}

/// One waiver of a gate summary (`waivers.applied|expired|stale[]`).
struct WaiverRow {
    list: &'static str,
    declared_in: String,
    matches: String,
    reason: String,
    owner: String,
    expires: String,
    expired: bool,
    product: Option<(i64, String, i64)>,
}

/// The waivers of a summary, those expiring on or before `until` only when given.
fn waiver_rows(w: &Value, today: &str, until: Option<&str>) -> Vec<WaiverRow> {
    let mut out = Vec::new();
    for list in ["applied", "expired", "stale"] {
        for x in w[list].as_array().into_iter().flatten() {
            let expires = text_of(x, "expires");
            if let Some(u) = until {
                if expires.is_empty() || expires.as_str() > u {
                    continue;
                }
            }
            out.push(WaiverRow {
                list,
                declared_in: text_of(x, "declared_in"),
                matches: text_of(x, "matches"),
                reason: text_of(x, "reason"),
                owner: text_of(x, "owner"),
                expired: list == "expired" || (!expires.is_empty() && expires.as_str() < today),
                expires,
                product: None,
            });
        }
    }
    out
}

fn waiver_table(rows: &[WaiverRow], with_product: bool) -> String {
    let mut t = String::from("<table class=\"waivers\"><tr>");
    if with_product {
        t.push_str("<th>Product</th><th>Gate run</th>");
    }
    t.push_str("<th>Expires</th><th>State</th><th>Declared in</th><th>Matches</th><th>Reason</th><th>Owner</th></tr>");
    for w in rows {
        let _ = write!(
            t,
            "<tr class=\"{}\">",
            if w.expired { "expired" } else { "" }
        );
        if let Some((pid, name, run)) = &w.product {
            let _ = write!(
                t,
                "<td><a href=\"/ui/products/{pid}\">{}</a></td><td><a href=\"/ui/gate-runs/{run}\">#{run}</a></td>",
                esc(name)
            );
        }
        let _ = write!(
            t,
            "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&w.expires),
            if w.expired {
                "expired".to_string()
            } else {
                w.list.to_string()
            },
            esc(&w.declared_in),
            esc(&w.matches),
            esc(&w.reason),
            esc(&w.owner),
        );
    }
    t.push_str("</table>");
    t
}

/// `GET /ui/risk-acceptances`: risk acceptances and waivers that end within 30 days (and those
/// already ended).
pub async fn risk_acceptances(State(state): State<AppState>, v: Viewer) -> Response {
    let now = crate::state::now();
    let today = crate::time::date(now);
    let until = tollgate_store::pages::day_after(now, 30);
    let accepted = match state
        .store
        .risk_acceptances_ending(v.restriction(), &until, 1000)
        .await
    {
        Ok(a) => a,
        Err(e) => return internal(e),
    };
    let runs = match state
        .store
        .latest_run_parts(v.restriction(), "waivers")
        .await
    {
        Ok(r) => r,
        Err(e) => return internal(e),
    };
    let mut body = format!(
        "<p>Everything that ends on or before {} (30 days from today, {}); what has already ended is marked expired.</p>\
         <h2>Findings closed as risk accepted</h2>",
        esc(&until),
        esc(&today)
    );
    if accepted.is_empty() {
        body.push_str("<p>None.</p>");
    } else {
        body.push_str(
            "<table class=\"acceptances\"><tr><th>Until</th><th>State</th><th>Product</th><th>Severity</th><th>Finding</th></tr>",
        );
        for a in &accepted {
            let expired = a.until.as_str() < today.as_str();
            let sev = super::products::SEVERITIES
                .iter()
                .find(|(r, _)| *r as i64 == a.severity)
                .map_or("info", |(_, s)| s);
            let _ = write!(
                body,
                "<tr class=\"{}\" data-finding=\"{}\"><td>{}</td><td>{}</td><td><a href=\"/ui/products/{}\">{}</a></td>\
                 <td class=\"{sev}\">{sev}</td><td><a href=\"/ui/findings/{}\">{}</a></td></tr>",
                if expired { "expired" } else { "" },
                a.finding_id,
                esc(&a.until),
                if expired { "expired" } else { "ends soon" },
                a.product_id,
                esc(&a.product_name),
                a.finding_id,
                esc(&a.title),
            );
        }
        body.push_str("</table>");
    }
    body.push_str("<h2>Waivers of the latest gate run of each product</h2>");
    let mut rows = Vec::new();
    for r in &runs {
        for mut w in waiver_rows(&r.part, &today, Some(&until)) {
            w.product = Some((r.product_id, r.product_name.clone(), r.gate_run_id));
            rows.push(w);
        }
    }
    rows.sort_by(|a, b| a.expires.cmp(&b.expires));
    if rows.is_empty() {
        body.push_str("<p>None.</p>");
    } else {
        body.push_str(&waiver_table(&rows, true));
    }
    viewer_page(&v, "Risk acceptances and waivers ending soon", &body).into_response()
}

/// The dashboard's incomplete scans: the inputs of each product's latest gate run that the gate
/// could not fully read (and its incomplete-scan reasons).
pub(super) async fn incomplete_scans(
    state: &AppState,
    v: &Viewer,
) -> Result<String, tollgate_store::StoreError> {
    let runs = state
        .store
        .latest_run_parts(v.restriction(), "inputs")
        .await?;
    let mut items = String::new();
    for r in &runs {
        let mut whys: Vec<String> = Vec::new();
        for i in r.part.as_array().into_iter().flatten() {
            for why in strings(&i["incomplete"]) {
                whys.push(format!("{}: {why}", text_of(i, "file")));
            }
            let error = text_of(i, "error");
            if !error.is_empty() {
                whys.push(format!("{}: unreadable: {error}", text_of(i, "file")));
            }
        }
        for x in r.reasons.as_array().into_iter().flatten() {
            if x["kind"].as_str() == Some("incomplete-scan") && whys.is_empty() {
                whys.push(text_of(x, "message"));
            }
        }
        for why in whys {
            let _ = write!(
                items,
                "<tr><td><a href=\"/ui/products/{}\">{}</a></td><td><a href=\"/ui/gate-runs/{g}\">#{g}</a></td><td>{}</td><td>{}</td></tr>",
                r.product_id,
                esc(&r.product_name),
                crate::time::rfc3339(r.created_at),
                esc(&why),
                g = r.gate_run_id,
            );
        }
    }
    Ok(if items.is_empty() {
        "<p>None: the latest gate run of each product read every scan in full.</p>".into()
    } else {
        format!(
            "<table class=\"incomplete\"><tr><th>Product</th><th>Gate run</th><th>When</th><th>What is missing</th></tr>{items}</table>"
        )
    })
}
