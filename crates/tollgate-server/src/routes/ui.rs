//! A small server-rendered web UI: products, their findings, one finding (the Results API's
//! `portal_url`). A person signs in with a name and a password, automation with a token; either
//! way the browser gets a session (see [`session`]), never the token. The session cookie serves
//! these pages only (the API reads the `Authorization` header). No inline script or style: the
//! pages load one embedded stylesheet, so the Content-Security-Policy allows nothing inline;
//! every form carries a CSRF token (see [`csrf`]).

use crate::auth::{authenticate, cookie, UI_COOKIE};
use crate::extract::{Form, Path};
use crate::state::AppState;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::fmt::Write;
use tollgate_store::{ListQuery, Scope, SessionOf, Token, User};

/// Where the UI's stylesheet is served (embedded in the binary).
pub const STYLESHEET_PATH: &str = "/ui/static/tollgate.css";

const STYLESHEET: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:2em;max-width:70em}\n\
table{border-collapse:collapse;width:100%}\n\
td,th{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}\n\
.critical{color:#a00;font-weight:bold}\n.high{color:#c40}\n.medium{color:#a70}\n.closed{color:#777}\n\
pre{white-space:pre-wrap;background:#f6f6f6;padding:8px}\n";

pub async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
}

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
    page_with_nav(title, body, "")
}

/// A page of a signed-in viewer: who they are, and the way out.
fn viewer_page(v: &Viewer, title: &str, body: &str) -> Html<String> {
    let nav = format!(
        " · signed in as {}{} · <a href=\"/ui/logout\">Sign out</a>",
        esc(&v.name),
        if v.person { "" } else { " (token)" }
    );
    page_with_nav(title, body, &nav)
}

fn page_with_nav(title: &str, body: &str, nav: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{} — Tollgate</title>\
         <link rel=\"stylesheet\" href=\"{STYLESHEET_PATH}\"></head>\
         <body><p><a href=\"/\">Tollgate hub</a>{nav}</p><h1>{}</h1>{body}</body></html>",
        esc(title),
        esc(title)
    ))
}

/// Who is signed in to the UI — a person (a session) or a token (automation) — and what they
/// may see. Every UI page takes one; anyone else is sent to the sign-in form. A page filters by
/// [`Viewer::restriction`] and [`Viewer::sees`] exactly as the API filters by its `Caller`.
pub struct Viewer {
    /// The user's or the token's name: what notes and the status log record as the actor.
    pub name: String,
    pub scopes: Vec<Scope>,
    /// When set, the viewer sees only this product.
    pub product_id: Option<i64>,
    /// Signed in with a name and a password (rather than a token).
    pub person: bool,
}

impl Viewer {
    fn of_token(t: Token) -> Self {
        Viewer {
            name: t.name,
            scopes: t.scopes,
            product_id: t.product_id,
            person: false,
        }
    }
    fn of_user(u: User) -> Self {
        Viewer {
            name: u.name,
            scopes: u.scopes,
            product_id: u.product_id,
            person: true,
        }
    }
    /// `admin` grants every scope.
    pub fn allows(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope) || self.scopes.contains(&Scope::Admin)
    }
    /// Whether the viewer may see `product_id` at all.
    pub fn sees(&self, product_id: i64) -> bool {
        self.product_id.is_none_or(|p| p == product_id)
    }
    /// The only product the viewer may see, if limited: pass it as `restrict_to_product`.
    pub fn restriction(&self) -> Option<i64> {
        self.product_id
    }
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let viewer = match session::secret(state, &parts.headers) {
            Some(s) => match state.store.session(&s, crate::state::now()).await {
                Ok(Some(SessionOf::User(u))) => Some(Viewer::of_user(u)),
                Ok(Some(SessionOf::Token(t))) => Some(Viewer::of_token(t)),
                _ => None,
            },
            None => None,
        };
        // A script may still send a token itself as the `tollgate_token` cookie.
        let viewer = match viewer {
            Some(v) => Some(v),
            None => match cookie(&parts.headers, UI_COOKIE) {
                Some(s) => authenticate(state, &s)
                    .await
                    .ok()
                    .flatten()
                    .map(Viewer::of_token),
                None => None,
            },
        };
        match viewer {
            Some(v) if v.allows(Scope::Read) => Ok(v),
            _ => Err(Redirect::to("/ui/login").into_response()),
        }
    }
}

/// The session cookie of a signed-in browser (a name and a password, or a token). It holds a
/// random 256-bit id (the database keeps its SHA-256): HttpOnly, `SameSite=Lax` so a link to a finding
/// from a merge request opens signed in (no GET changes anything, and every POST needs the
/// `SameSite=Strict` CSRF cookie), `Path=/`, `Max-Age` of the session's absolute end, and behind
/// an `https://` public URL `Secure` and the `__Host-` prefix.
pub mod session {
    use super::*;

    pub fn cookie_name(state: &AppState) -> &'static str {
        if secure(state) {
            "__Host-tollgate_session"
        } else {
            "tollgate_session"
        }
    }

    pub(crate) fn secure(state: &AppState) -> bool {
        state.settings.public_url.starts_with("https://")
    }

    /// The session id the request carries, if well formed.
    pub fn secret(state: &AppState, headers: &HeaderMap) -> Option<String> {
        cookie(headers, cookie_name(state))
            .filter(|v| v.len() == 64 && v.bytes().all(|c| c.is_ascii_hexdigit()))
    }

    pub fn set(state: &AppState, secret: &str) -> String {
        format!(
            "{}={secret}; HttpOnly; SameSite=Lax; Path=/; Max-Age={}{}",
            cookie_name(state),
            tollgate_store::SESSION_ABSOLUTE_SECS,
            if secure(state) { "; Secure" } else { "" }
        )
    }

    /// The `Set-Cookie` values that make the browser forget both sign-in cookies.
    pub fn clear(state: &AppState) -> [String; 2] {
        let secure = if secure(state) { "; Secure" } else { "" };
        [
            format!(
                "{}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0{secure}",
                cookie_name(state)
            ),
            format!("{UI_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{secure}"),
        ]
    }
}

/// CSRF protection of the UI's forms: a double-submit token. The form's page sets a random
/// value in an HttpOnly, SameSite=Strict cookie (`__Host-` prefixed behind HTTPS, so no sibling
/// domain can plant one) and writes the same value into a hidden field; a POST is taken only
/// when both are present and equal. Another site can make a browser POST but can neither read
/// the cookie nor set it, so it cannot fill in the field. Stateless: any replica checks any form.
/// Cross-site requests (`Sec-Fetch-Site: cross-site`, or an `Origin` that is not this host) are
/// refused before that.
pub mod csrf {
    use super::*;
    use rand::RngCore;

    /// The hidden field's name.
    pub const FIELD: &str = "csrf";

    fn cookie_name(state: &AppState) -> &'static str {
        if state.settings.public_url.starts_with("https://") {
            "__Host-tollgate_csrf"
        } else {
            "tollgate_csrf"
        }
    }

    fn well_formed(v: &str) -> bool {
        v.len() == 64 && v.bytes().all(|c| c.is_ascii_hexdigit())
    }

    /// The token for a form: the one the browser already holds, else a new one and the
    /// `Set-Cookie` that hands it over.
    pub fn issue(state: &AppState, headers: &HeaderMap) -> (String, Option<String>) {
        let name = cookie_name(state);
        if let Some(v) = cookie(headers, name).filter(|v| well_formed(v)) {
            return (v, None);
        }
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let v: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let secure = if name.starts_with("__Host-") {
            "; Secure"
        } else {
            ""
        };
        let set = format!("{name}={v}; HttpOnly; SameSite=Strict; Path=/{secure}");
        (v, Some(set))
    }

    /// The hidden input that carries `token`.
    pub fn input(token: &str) -> String {
        format!(
            "<input type=\"hidden\" name=\"{FIELD}\" value=\"{}\">",
            esc(token)
        )
    }

    /// The 403 page of a refused form.
    pub fn refused(why: &str) -> Response {
        tracing::info!(reason = why, "form refused: CSRF check failed");
        (
            StatusCode::FORBIDDEN,
            page(
                "Forbidden",
                "<p>This form expired or was sent from another site. <a href=\"/ui/login\">Open it again</a>.</p>",
            ),
        )
            .into_response()
    }

    /// Ok when the POST comes from our own form; else why not (for [`refused`]).
    pub fn check(
        state: &AppState,
        headers: &HeaderMap,
        field: Option<&str>,
    ) -> Result<(), &'static str> {
        let refuse = Err;
        let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
        if header("sec-fetch-site") == Some("cross-site") {
            return refuse("cross-site request");
        }
        if let Some(origin) = header("origin") {
            // Our own origin: the Host the request came to, or the public URL's (a reverse
            // proxy may rewrite Host).
            let host = header("host").unwrap_or("");
            let origin_host = origin.split_once("://").map_or("", |(_, h)| h);
            let public = &state.settings.public_url;
            let public_origin = match public.split_once("://") {
                Some((scheme, rest)) => {
                    let authority = rest.split('/').next().unwrap_or("");
                    format!("{scheme}://{authority}")
                }
                None => String::new(),
            };
            let ours = origin_host.eq_ignore_ascii_case(host)
                || origin.eq_ignore_ascii_case(&public_origin);
            if origin == "null" || !ours {
                return refuse("foreign Origin");
            }
        }
        let Some(expected) = cookie(headers, cookie_name(state)).filter(|v| well_formed(v)) else {
            return refuse("no CSRF cookie");
        };
        let Some(sent) = field else {
            return refuse("no CSRF field");
        };
        // Constant time: the comparison must not tell how much of a guess was right.
        let same = sent.len() == expected.len()
            && sent
                .bytes()
                .zip(expected.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if same {
            Ok(())
        } else {
            refuse("CSRF token mismatch")
        }
    }
}

/// A page that sets `cookies`.
fn with_cookies(status: StatusCode, cookies: &[String], body: Html<String>) -> Response {
    let mut response = (status, body).into_response();
    for c in cookies {
        if let Ok(v) = header::HeaderValue::from_str(c) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}

/// 303 to `to`, setting `cookies`.
fn see_other(to: &str, cookies: &[String]) -> Response {
    let mut response =
        (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_string())]).into_response();
    for c in cookies {
        if let Ok(v) = header::HeaderValue::from_str(c) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}

pub async fn login_form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (token, set_cookie) = csrf::issue(&state, &headers);
    let body = page(
        "Sign in",
        &format!(
            "<form method=\"post\" action=\"/ui/login\">{csrf}\
             <p><label>Name <input name=\"name\" autocomplete=\"username\" autofocus></label></p>\
             <p><label>Password <input type=\"password\" name=\"password\" autocomplete=\"current-password\"></label></p>\
             <p><button>Sign in</button></p></form>\
             <h2>With a token</h2>\
             <form method=\"post\" action=\"/ui/login\">{csrf}<p>Paste a token with the <code>read</code> scope \
             (<code>tollgate token create --name me --scope read</code>):</p>\
             <input type=\"password\" name=\"token\" size=\"60\" autocomplete=\"off\"> <button>Sign in with the token</button></form>",
            csrf = csrf::input(&token)
        ),
    );
    with_cookies(StatusCode::OK, set_cookie.as_slice(), body)
}

#[derive(Deserialize)]
pub struct LoginBody {
    token: Option<String>,
    name: Option<String>,
    password: Option<String>,
    csrf: Option<String>,
}

/// The one answer to every failed sign-in: it does not tell an unknown name from a wrong
/// password, a disabled user or one locked out for a while.
fn sign_in_refused(what: &str) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        page(
            "Sign in",
            &format!("<p>{what}</p><p><a href=\"/ui/login\">Try again</a></p>"),
        ),
    )
        .into_response()
}

pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(b): Form<LoginBody>,
) -> Response {
    // A form with neither way of signing in is not one of ours: a 400 like any unreadable form.
    if b.name.is_none() && b.token.is_none() {
        return crate::error::ApiError::bad_request(
            "the sign-in form needs `name` and `password`, or `token`",
        )
        .into_response();
    }
    if let Err(why) = csrf::check(&state, &headers, b.csrf.as_deref()) {
        return csrf::refused(why);
    }
    // Whatever session this browser had ends: a sign-in always starts a new one (no fixation).
    if let Some(old) = session::secret(&state, &headers) {
        if let Err(e) = state.store.end_session(&old).await {
            return internal(e);
        }
    }
    let [_, clear_token] = session::clear(&state);
    if let Some(name) = b.name.as_deref().filter(|n| !n.is_empty()) {
        let password = b.password.as_deref().unwrap_or("");
        return match state
            .store
            .sign_in(name, password, crate::state::now())
            .await
        {
            Ok(Some((user, secret))) if user.allows(Scope::Read) => {
                see_other("/", &[session::set(&state, &secret), clear_token])
            }
            Ok(Some((_, secret))) => {
                let _ = state.store.end_session(&secret).await;
                sign_in_refused(
                    "Unknown name or wrong password (or too many attempts: wait a few minutes).",
                )
            }
            Ok(None) => sign_in_refused(
                "Unknown name or wrong password (or too many attempts: wait a few minutes).",
            ),
            Err(e) => internal(e),
        };
    }
    let token = b.token.as_deref().unwrap_or("").trim();
    if token.is_empty() {
        return sign_in_refused("Give a name and a password, or a token.");
    }
    match state.store.authenticate(token).await {
        // The browser gets a session id, never the token: sign-out and expiry then apply, and
        // a stolen cookie is not an API key.
        Ok(Some(t)) if t.allows(Scope::Read) => {
            match state
                .store
                .start_token_session(&t, crate::state::now())
                .await
            {
                Ok(secret) => {
                    tracing::info!(token = ?t.name, "signed in with a token");
                    see_other("/", &[session::set(&state, &secret), clear_token])
                }
                Err(e) => internal(e),
            }
        }
        Ok(_) => sign_in_refused("That token is unknown, revoked or lacks the read scope."),
        Err(e) => internal(e),
    }
}

/// The sign-out form (a POST, so another site cannot sign anyone out with a link).
pub async fn logout_form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (token, set_cookie) = csrf::issue(&state, &headers);
    let body = page(
        "Sign out",
        &format!(
            "<form method=\"post\" action=\"/ui/logout\">{}<button>Sign out</button></form>",
            csrf::input(&token)
        ),
    );
    with_cookies(StatusCode::OK, set_cookie.as_slice(), body)
}

#[derive(Deserialize)]
pub struct LogoutBody {
    csrf: Option<String>,
}

/// Ends the session in the database (the cookie is worthless from then on, wherever a copy of
/// it is) and makes the browser forget both sign-in cookies.
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(b): Form<LogoutBody>,
) -> Response {
    if let Err(why) = csrf::check(&state, &headers, b.csrf.as_deref()) {
        return csrf::refused(why);
    }
    if let Some(secret) = session::secret(&state, &headers) {
        if let Err(e) = state.store.end_session(&secret).await {
            return internal(e);
        }
    }
    tracing::info!("signed out");
    see_other("/ui/login", &session::clear(&state))
}

fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "ui failure");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        page("Error", "<p>The database failed.</p>"),
    )
        .into_response()
}

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
        return (
            StatusCode::NOT_FOUND,
            page("Not found", "<p>No such product.</p>"),
        )
            .into_response();
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

pub async fn finding(State(state): State<AppState>, v: Viewer, Path(id): Path<i64>) -> Response {
    // Another product's finding answers exactly like a missing one.
    let f = match state.store.finding(id).await {
        Ok(Some(f)) if v.sees(f.product_id) => f,
        Ok(_) => {
            return (
                StatusCode::NOT_FOUND,
                page("Not found", "<p>No such finding.</p>"),
            )
                .into_response()
        }
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
