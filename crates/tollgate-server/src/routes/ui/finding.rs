//! One finding: what it is, where, its history and notes.

use super::{esc, internal, not_found, viewer_page, where_text, Viewer};
use crate::extract::Path;
use crate::state::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use std::fmt::Write;

pub async fn finding(State(state): State<AppState>, v: Viewer, Path(id): Path<i64>) -> Response {
    // Another product's finding answers exactly like a missing one.
    let f = match state.store.finding(id).await {
        Ok(Some(f)) if v.sees(f.product_id) => f,
        Ok(_) => return not_found("finding"),
        Err(e) => return internal(e),
    };
    let notes = state.store.notes(&[id]).await.unwrap_or_default();
    let m = &f.finding;
    let mut body = format!(
        "<table><tr><th>Severity</th><td>{}</td></tr><tr><th>Status</th><td>{}</td></tr>\
         <tr><th>Scanner / rule</th><td>{} / {}</td></tr><tr><th>Where</th><td>{}</td></tr>\
         <tr><th>First / last seen</th><td>{} / {}</td></tr><tr><th>SLA due</th><td>{}</td></tr>\
         <tr><th>Priority</th><td>{}</td></tr><tr><th>CWE</th><td>{}</td></tr><tr><th>Fingerprint</th><td><code>{}</code></td></tr></table>",
        m.severity,
        if f.status.is_open() { "open" } else { "closed" },
        esc(&m.scanner.to_string()),
        esc(&m.rule_id),
        esc(&where_text(m)),
        crate::time::rfc3339(f.first_seen),
        crate::time::rfc3339(f.last_seen),
        esc(f.sla_due.as_deref().unwrap_or("")),
        f.status.priority.map(|p| p.as_str()).unwrap_or(""),
        m.cwe.iter().map(|c| format!("CWE-{c}")).collect::<Vec<_>>().join(", "),
        esc(m.fingerprint.as_str()),
    );
    if let Some(d) = &m.description {
        let _ = write!(body, "<h2>Description</h2><pre>{}</pre>", esc(d));
    }
    if let Some(r) = &m.recommendation {
        let _ = write!(body, "<h2>Recommendation</h2><pre>{}</pre>", esc(r));
    }
    if let Some(s) = &m.location.snippet {
        let _ = write!(body, "<h2>Snippet</h2><pre>{}</pre>", esc(s));
    }
    let history = state.store.finding_events(id).await.unwrap_or_default();
    if !history.is_empty() {
        body.push_str(
            "<h2>History</h2><table><tr><th>When</th><th>What</th><th>Status after</th>\
             <th>By</th><th>Import</th><th>Detail</th></tr>",
        );
        for e in &history {
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                crate::time::rfc3339(e.at),
                e.kind.as_str(),
                esc(&e.status),
                esc(e.actor.as_deref().unwrap_or("")),
                e.import_id.map(|i| format!("#{i}")).unwrap_or_default(),
                esc(e.detail.as_deref().unwrap_or("")),
            );
        }
        body.push_str("</table>");
    }
    if !notes.is_empty() {
        body.push_str("<h2>Notes</h2>");
        for n in &notes {
            let _ = write!(
                body,
                "<p><b>{}</b> {}:<br>{}</p>",
                esc(&n.author),
                crate::time::rfc3339(n.created_at),
                esc(&n.text)
            );
        }
    }
    viewer_page(&v, &m.title, &body).into_response()
}
