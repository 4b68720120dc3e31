//! The product list and a product's findings.

use super::{esc, internal, not_found, viewer_page, where_text, Viewer};
use crate::extract::Path;
use crate::state::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use std::fmt::Write;
use tollgate_store::ListQuery;

pub async fn home(State(state): State<AppState>, v: Viewer) -> Response {
    let q = ListQuery {
        limit: 1000,
        restrict_to_product: v.restriction(),
        ..ListQuery::default()
    };
    let products = match state.store.products(&q).await {
        Ok(p) => p,
        Err(e) => return internal(e),
    };
    let mut body = String::from("<table><tr><th>Product</th><th>Tier</th><th>Platform</th></tr>");
    for p in &products.results {
        let _ = write!(
            body,
            "<tr><td><a href=\"/ui/products/{}\">{}</a></td><td>{}</td><td>{}</td></tr>",
            p.id,
            esc(&p.name),
            esc(p.tier.as_deref().unwrap_or("")),
            esc(p.platform.as_deref().unwrap_or(""))
        );
    }
    body.push_str("</table>");
    viewer_page(&v, "Products", &body).into_response()
}

pub async fn product(State(state): State<AppState>, v: Viewer, Path(id): Path<i64>) -> Response {
    // Another product's page answers exactly like a missing one.
    let found = match state.store.product(id).await {
        Ok(p) => p.filter(|p| v.sees(p.id)),
        Err(e) => return internal(e),
    };
    let Some(p) = found else {
        return not_found("product");
    };
    let q = ListQuery {
        limit: 500,
        product_id: Some(id),
        restrict_to_product: v.restriction(),
        ..ListQuery::default()
    };
    let findings = match state.store.findings(&q).await {
        Ok(f) => f,
        Err(e) => return internal(e),
    };
    let mut rows: Vec<_> = findings.results.iter().collect();
    rows.sort_by_key(|f| (!f.status.is_open(), std::cmp::Reverse(f.finding.severity)));
    let mut body = format!(
        "<p>{} findings (first {} shown, open first).</p><table><tr><th>Severity</th><th>Title</th><th>Where</th><th>Status</th><th>SLA due</th></tr>",
        findings.count,
        rows.len()
    );
    for f in rows {
        let sev = f.finding.severity.to_string().to_ascii_lowercase();
        let open = f.status.is_open();
        let _ = write!(
            body,
            "<tr class=\"{}\"><td class=\"{sev}\">{sev}</td><td><a href=\"/ui/findings/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            if open { "" } else { "closed" },
            f.id,
            esc(&f.finding.title),
            esc(&where_text(&f.finding)),
            if open { "open" } else { "closed" },
            esc(f.sla_due.as_deref().unwrap_or(""))
        );
    }
    body.push_str("</table>");
    viewer_page(&v, &p.name, &body).into_response()
}
