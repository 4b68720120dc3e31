//! The router: every route of the hub, and the layers around them.
//!
//! The routes are data: [`table`] adds each (method, path) through [`Table::add`], which both
//! routes it and records it, so [`route_table`] lists exactly what the router serves. The
//! authorization test walks that list; a route added any other way is a review error.

pub mod defectdojo;
pub mod hub;
pub mod ops;
pub mod program;
pub mod results;
pub mod ui;

use crate::error::ApiError;
use crate::metrics::{method_label, UNMATCHED};
use crate::state::AppState;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::handler::Handler;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{on, MethodFilter};
use axum::Router;
use tower_http::trace::TraceLayer;

const RESULTS: &str = "/apis/mobile_security/results/v2";

/// The router under construction and the (method, path) of every route added to it.
struct Table {
    router: Router<AppState>,
    routes: Vec<(Method, String)>,
}

impl Table {
    fn add<H, T>(mut self, method: Method, path: &str, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone()).expect("a routable method");
        self.router = self.router.route(path, on(filter, handler));
        self.routes.push((method, path.to_string()));
        self
    }
}

fn table() -> Table {
    let security_finding = format!("{RESULTS}/security_findings/{{id}}");
    let table = Table {
        router: Router::new(),
        routes: Vec::new(),
    }
    // DefectDojo-compatible API.
    .add(
        Method::POST,
        "/api/v2/import-scan/",
        defectdojo::import_scan,
    )
    .add(
        Method::POST,
        "/api/v2/reimport-scan/",
        defectdojo::reimport_scan,
    )
    // Scripts that drop DefectDojo's trailing slash still work.
    .add(Method::POST, "/api/v2/import-scan", defectdojo::import_scan)
    .add(
        Method::POST,
        "/api/v2/reimport-scan",
        defectdojo::reimport_scan,
    )
    .add(Method::GET, "/api/v2/products/", defectdojo::products)
    .add(Method::GET, "/api/v2/products/{id}/", defectdojo::product)
    .add(
        Method::PATCH,
        "/api/v2/products/{id}/",
        defectdojo::label_product,
    )
    .add(Method::GET, "/api/v2/engagements/", defectdojo::engagements)
    .add(
        Method::GET,
        "/api/v2/engagements/{id}/",
        defectdojo::engagement,
    )
    .add(Method::GET, "/api/v2/tests/", defectdojo::tests)
    .add(Method::GET, "/api/v2/tests/{id}/", defectdojo::test)
    .add(
        Method::GET,
        "/api/v2/test_imports/",
        defectdojo::test_imports,
    )
    .add(Method::GET, "/api/v2/test_types/", defectdojo::test_types)
    .add(
        Method::GET,
        "/api/v2/test_types/{id}/",
        defectdojo::test_type,
    )
    .add(Method::GET, "/api/v2/findings/", defectdojo::findings)
    .add(Method::GET, "/api/v2/findings/{id}/", defectdojo::finding)
    // For `tollgate gate`.
    .add(Method::GET, "/api/v2/tollgate/baseline/", hub::baseline)
    .add(
        Method::POST,
        "/api/v2/tollgate/gate-runs/",
        hub::record_gate_run,
    )
    // Results API.
    .add(
        Method::GET,
        &format!("{RESULTS}/security_findings"),
        results::list,
    )
    .add(Method::GET, &security_finding, results::get)
    .add(Method::PATCH, &security_finding, results::patch)
    .add(
        Method::POST,
        &format!("{security_finding}/close"),
        results::close,
    )
    .add(
        Method::POST,
        &format!("{security_finding}/notes"),
        results::add_note,
    )
    // Operations.
    .add(Method::GET, "/healthz", ops::healthz)
    .add(Method::GET, "/metrics", ops::metrics)
    .add(Method::GET, "/api/openapi.json", ops::openapi)
    // Web UI.
    .add(Method::GET, "/", ui::home)
    .add(Method::GET, "/ui/login", ui::login_form)
    .add(Method::POST, "/ui/login", ui::login)
    .add(Method::GET, "/ui/logout", ui::logout_form)
    .add(Method::POST, "/ui/logout", ui::logout)
    .add(Method::GET, "/ui/products", ui::products)
    .add(Method::GET, "/ui/products/{id}", ui::product)
    .add(Method::GET, "/ui/engagements/{id}", ui::engagement)
    .add(Method::GET, "/ui/tests/{id}", ui::test)
    .add(Method::GET, "/ui/gate-runs", ui::gate_runs)
    .add(Method::GET, "/ui/gate-runs/{id}", ui::gate_run)
    .add(Method::GET, "/ui/risk-acceptances", ui::risk_acceptances)
    .add(Method::GET, "/ui/metrics", ui::metrics)
    .add(Method::GET, "/ui/findings", ui::findings)
    .add(Method::GET, "/ui/findings.csv", ui::findings_csv)
    .add(Method::GET, "/ui/findings.json", ui::findings_json)
    .add(Method::POST, "/ui/findings/bulk", ui::findings_bulk)
    .add(Method::GET, "/ui/findings/{id}", ui::finding)
    .add(Method::POST, "/ui/findings/{id}/notes", ui::add_note)
    .add(Method::POST, "/ui/findings/{id}/close", ui::close)
    .add(Method::POST, "/ui/findings/{id}/priority", ui::set_priority)
    .add(Method::GET, ui::STYLESHEET_PATH, ui::stylesheet)
    // Program metrics and the promotions they count.
    .add(
        Method::POST,
        "/api/v2/tollgate/promotions/",
        program::record_promotion,
    )
    .add(
        Method::GET,
        &format!("{}/", program::PREFIX),
        program::index,
    );
    program::METRICS.iter().fold(table, |t, &(slug, _, _)| {
        t.add(
                Method::GET,
                &format!("{}/{slug}/", program::PREFIX),
                move |State(s): State<AppState>,
                      caller: crate::auth::Caller,
                      crate::extract::Query(p): crate::extract::Query<program::MetricParams>| {
                    program::json_answer(s, caller, slug, p)
                },
            )
            .add(
                Method::GET,
                &format!("{}/{slug}.svg", program::PREFIX),
                move |State(s): State<AppState>,
                      caller: crate::auth::Caller,
                      crate::extract::Query(p): crate::extract::Query<program::MetricParams>| {
                    program::svg_answer(s, caller, slug, p)
                },
            )
    })
}

/// Every (method, path pattern) the router serves (GET routes answer HEAD too).
pub fn route_table() -> Vec<(Method, String)> {
    table().routes
}

pub fn router(state: AppState) -> Router {
    let body_limit = state.settings.body_limit;
    table()
        .router
        .fallback(unknown_route)
        .layer(middleware::from_fn(json_errors))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            count_requests,
        ))
        .layer(TraceLayer::new_for_http())
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

async fn count_requests(State(state): State<AppState>, req: Request, next: Next) -> Response {
    // Labels come from a closed set: HTTP's methods (else "other") and the router's patterns
    // (else "unmatched"); nothing a client sends becomes a label as sent.
    let method = method_label(req.method());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| UNMATCHED.into());
    let response = next.run(req).await;
    state
        .metrics
        .request(method, &route, response.status().as_u16());
    response
}

/// The Content-Security-Policy of UI pages: our own stylesheet, no script, no inline anything.
pub const UI_CSP: &str =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
/// The Content-Security-Policy of everything else (JSON, text): nothing may load at all.
pub const API_CSP: &str =
    "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Security headers on every response the router gives: API, UI, errors, 404s and 405s.
async fn security_headers(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let h = response.headers_mut();
    let csp = if html { UI_CSP } else { API_CSP };
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// Any path the router does not know: 404 in the API's error shape.
async fn unknown_route(method: Method, uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("{method} {}: no such route", uri.path()))
}

/// Errors that axum answers itself — 405 with an empty body (its `Allow` header kept), a
/// rejection's text/plain — become `{"detail": …}` JSON like every other error of the API.
/// HTML error pages of the web UI and JSON bodies pass untouched.
async fn json_errors(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let response = next.run(req).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with("application/json") || content_type.starts_with("text/html") {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 16 * 1024)
        .await
        .ok()
        .and_then(|b| String::from_utf8(b.to_vec()).ok())
        .map(|t| t.trim().to_string())
        .unwrap_or_default();
    let detail = if status == StatusCode::METHOD_NOT_ALLOWED {
        // axum adds the Allow header outside this layer; it stays on the response.
        format!("method {method} is not allowed on {path}; the Allow header lists those that are")
    } else if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_string()
    } else {
        text
    };
    let mut fresh = ApiError::new(status, detail).into_response();
    // Keep what the original said beside its body (Allow, WWW-Authenticate, …).
    parts.headers.remove(header::CONTENT_TYPE);
    parts.headers.remove(header::CONTENT_LENGTH);
    for (name, value) in fresh
        .headers_mut()
        .drain()
        .filter_map(|(n, v)| n.map(|n| (n, v)))
    {
        parts.headers.insert(name, value);
    }
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, fresh.into_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The OpenAPI document and the router list the same routes (the trailing-slash-less
    /// aliases of import-scan / reimport-scan aside).
    #[test]
    fn openapi_documents_every_route_of_the_table() {
        let doc: serde_json::Value = serde_json::from_str(ops::OPENAPI).unwrap();
        let table = route_table();
        let mut documented: Vec<(String, String)> = doc["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, ops)| {
                ops.as_object()
                    .unwrap()
                    .keys()
                    .map(|m| (m.to_ascii_uppercase(), path.clone()))
                    .collect::<Vec<_>>()
            })
            .collect();
        let mut routed: Vec<(String, String)> = table
            .iter()
            .filter(|(m, p)| {
                !table
                    .iter()
                    .any(|(m2, p2)| m2 == m && *p2 == format!("{p}/"))
            })
            .map(|(m, p)| (m.to_string(), p.clone()))
            .collect();
        documented.sort();
        routed.sort();
        assert_eq!(documented, routed);
    }
}
