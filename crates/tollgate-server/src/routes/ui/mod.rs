//! A small server-rendered web UI: products, their findings, one finding (the Results API's
//! `portal_url`). A person signs in with a name and a password, automation with a token; either
//! way the browser gets a session (see [`session`]), never the token. The session cookie serves
//! these pages only (the API reads the `Authorization` header). No inline script or style: the
//! pages load one embedded stylesheet, so the Content-Security-Policy allows nothing inline;
//! every form carries a CSRF token (see [`csrf`]).

use crate::auth::{authenticate, cookie, UI_COOKIE};
use crate::extract::Form;
use crate::state::AppState;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use tollgate_store::{Scope, SessionOf, Token, User};

mod dashboard;
mod finding;
mod gate_runs;
mod metrics;
mod products;
pub mod queue;

pub use dashboard::home;
pub use finding::{add_note, close, finding, set_priority};
pub use gate_runs::{gate_run, gate_runs, risk_acceptances};
pub use metrics::metrics;
pub use products::{engagement, product, products, test};
pub use queue::{
    bulk as findings_bulk, export_csv as findings_csv, export_json_list as findings_json,
    queue as findings,
};

/// Where the UI's stylesheet is served (embedded in the binary).
pub const STYLESHEET_PATH: &str = "/ui/static/tollgate.css";

/// One stylesheet, from one file per part of the UI (each part keeps its rules in its own file).
const STYLESHEET: &str = concat!(
    include_str!("css/base.css"),
    include_str!("css/pages.css"),
    include_str!("css/queue.css"),
    include_str!("css/finding.css"),
);

pub async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
}

pub(crate) fn esc(s: &str) -> String {
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

pub(crate) fn page(title: &str, body: &str) -> Html<String> {
    page_with_nav(title, body, "")
}

/// A page of a signed-in viewer: who they are, and the way out.
pub(crate) fn viewer_page(v: &Viewer, title: &str, body: &str) -> Html<String> {
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
pub(crate) fn with_cookies(status: StatusCode, cookies: &[String], body: Html<String>) -> Response {
    let mut response = (status, body).into_response();
    for c in cookies {
        if let Ok(v) = header::HeaderValue::from_str(c) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}

/// 303 to `to`, setting `cookies`.
pub(crate) fn see_other(to: &str, cookies: &[String]) -> Response {
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

pub(crate) fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "ui failure");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        page("Error", "<p>The database failed.</p>"),
    )
        .into_response()
}

/// The 404 page of a missing thing — and of another product's thing, which must look the same.
pub(crate) fn not_found(what: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        page("Not found", &format!("<p>No such {}.</p>", esc(what))),
    )
        .into_response()
}
