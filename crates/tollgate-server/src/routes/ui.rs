//! A small server-rendered web UI: products, their findings, one finding (the Results API's
//! `portal_url`). Signed in with a token kept in an HttpOnly cookie.

use crate::auth::{secret_from, UI_COOKIE};
use crate::extract::{Form, Path};
use crate::state::AppState;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::fmt::Write;
use tollgate_store::{ListQuery, Scope, Token};

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{} — Tollgate</title>\
         <style>body{{font:14px/1.4 system-ui,sans-serif;margin:2em;max-width:70em}}\
         table{{border-collapse:collapse;width:100%}}td,th{{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}}\
         .critical{{color:#a00;font-weight:bold}}.high{{color:#c40}}.medium{{color:#a70}}.closed{{color:#777}}\
         pre{{white-space:pre-wrap;background:#f6f6f6;padding:8px}}</style></head>\
         <body><p><a href=\"/\">Tollgate hub</a></p><h1>{}</h1>{body}</body></html>",
        esc(title),
        esc(title)
    ))
}

/// The signed-in UI user; anything else is sent to the sign-in form.
pub struct Viewer(Token);

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let token = match secret_from(parts) {
            Some(s) => state.store.authenticate(&s).await.ok().flatten(),
            None => None,
        };
        match token {
            Some(t) if t.allows(Scope::Read) => Ok(Viewer(t)),
            _ => Err(Redirect::to("/ui/login").into_response()),
        }
    }
}

pub async fn login_form() -> Html<String> {
    page(
        "Sign in",
        "<form method=\"post\" action=\"/ui/login\"><p>Paste a token with the <code>read</code> scope \
         (<code>tollgate token create --name me --scope read</code>):</p>\
         <input type=\"password\" name=\"token\" size=\"60\" autofocus> <button>Sign in</button></form>",
    )
}

#[derive(Deserialize)]
pub struct LoginBody {
    token: String,
}

pub async fn login(State(state): State<AppState>, Form(b): Form<LoginBody>) -> Response {
    match state.store.authenticate(b.token.trim()).await {
        Ok(Some(t)) if t.allows(Scope::Read) => (
            StatusCode::SEE_OTHER,
            [
                (header::LOCATION, "/".to_string()),
                (
                    header::SET_COOKIE,
                    format!(
                        "{UI_COOKIE}={}; HttpOnly; SameSite=Strict; Path=/{}",
                        b.token.trim(),
                        // Behind HTTPS the browser must never send it in clear.
                        if state.settings.public_url.starts_with("https://") {
                            "; Secure"
                        } else {
                            ""
                        }
                    ),
                ),
            ],
        )
            .into_response(),
        _ => (
            StatusCode::UNAUTHORIZED,
            page("Sign in", "<p>That token is unknown, revoked or lacks the read scope.</p><p><a href=\"/ui/login\">Try again</a></p>"),
        )
            .into_response(),
    }
}

fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "ui failure");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        page("Error", "<p>The database failed.</p>"),
    )
        .into_response()
}

pub async fn home(State(state): State<AppState>, Viewer(t): Viewer) -> Response {
    let q = ListQuery {
        limit: 1000,
        restrict_to_product: t.product_id,
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
    page("Products", &body).into_response()
}

pub async fn product(
    State(state): State<AppState>,
    Viewer(t): Viewer,
    Path(id): Path<i64>,
) -> Response {
    if !t.sees(id) {
        return (
            StatusCode::FORBIDDEN,
            page("Forbidden", "<p>Your token may not see this product.</p>"),
        )
            .into_response();
    }
    let Ok(Some(p)) = state.store.product(id).await else {
        return (
            StatusCode::NOT_FOUND,
            page("Not found", "<p>No such product.</p>"),
        )
            .into_response();
    };
    let q = ListQuery {
        limit: 500,
        product_id: Some(id),
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
    page(&p.name, &body).into_response()
}

fn where_text(f: &tollgate_model::Finding) -> String {
    let l = &f.location;
    if let Some(file) = &l.file {
        return match l.start_line {
            Some(n) => format!("{file}:{n}"),
            None => file.clone(),
        };
    }
    if let Some(p) = &l.package {
        return format!(
            "{} {}",
            p.name,
            p.installed_version.as_deref().unwrap_or("")
        );
    }
    l.url
        .clone()
        .or(l.component.clone())
        .or(l.target.clone())
        .unwrap_or_default()
}

pub async fn finding(
    State(state): State<AppState>,
    Viewer(t): Viewer,
    Path(id): Path<i64>,
) -> Response {
    let f = match state.store.finding(id).await {
        Ok(Some(f)) => f,
        Ok(None) => {
            return (
                StatusCode::NOT_FOUND,
                page("Not found", "<p>No such finding.</p>"),
            )
                .into_response()
        }
        Err(e) => return internal(e),
    };
    if !t.sees(f.product_id) {
        return (
            StatusCode::FORBIDDEN,
            page("Forbidden", "<p>Your token may not see this finding.</p>"),
        )
            .into_response();
    }
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
    page(&m.title, &body).into_response()
}
