//! The router: every route of the hub, and the layers around them.

pub mod defectdojo;
pub mod hub;
pub mod ops;
pub mod results;
pub mod ui;

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tower_http::trace::TraceLayer;

const RESULTS: &str = "/apis/mobile_security/results/v2";

pub fn router(state: AppState) -> Router {
    let body_limit = state.settings.body_limit;
    Router::new()
        // DefectDojo-compatible API.
        .route("/api/v2/import-scan/", post(defectdojo::import_scan))
        .route("/api/v2/reimport-scan/", post(defectdojo::reimport_scan))
        // Scripts that drop DefectDojo's trailing slash still work.
        .route("/api/v2/import-scan", post(defectdojo::import_scan))
        .route("/api/v2/reimport-scan", post(defectdojo::reimport_scan))
        .route("/api/v2/products/", get(defectdojo::products))
        .route(
            "/api/v2/products/{id}/",
            get(defectdojo::product).patch(defectdojo::label_product),
        )
        .route("/api/v2/engagements/", get(defectdojo::engagements))
        .route("/api/v2/engagements/{id}/", get(defectdojo::engagement))
        .route("/api/v2/tests/", get(defectdojo::tests))
        .route("/api/v2/tests/{id}/", get(defectdojo::test))
        .route("/api/v2/test_imports/", get(defectdojo::test_imports))
        .route("/api/v2/findings/", get(defectdojo::findings))
        .route("/api/v2/findings/{id}/", get(defectdojo::finding))
        // For `tollgate gate`.
        .route("/api/v2/tollgate/baseline/", get(hub::baseline))
        .route("/api/v2/tollgate/gate-runs/", post(hub::record_gate_run))
        // Results API.
        .route(&format!("{RESULTS}/security_findings"), get(results::list))
        .route(
            &format!("{RESULTS}/security_findings/{{id}}"),
            get(results::get).patch(results::patch),
        )
        .route(
            &format!("{RESULTS}/security_findings/{{id}}/close"),
            post(results::close),
        )
        .route(
            &format!("{RESULTS}/security_findings/{{id}}/notes"),
            post(results::add_note),
        )
        // Operations.
        .route("/healthz", get(ops::healthz))
        .route("/metrics", get(ops::metrics))
        .route("/api/openapi.json", get(ops::openapi))
        // Web UI.
        .route("/", get(ui::home))
        .route("/ui/login", get(ui::login_form).post(ui::login))
        .route("/ui/products/{id}", get(ui::product))
        .route("/ui/findings/{id}", get(ui::finding))
        .fallback(unknown_route)
        .layer(middleware::from_fn(json_errors))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            count_requests,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn count_requests(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let response = next.run(req).await;
    state
        .metrics
        .request(&method, &route, response.status().as_u16());
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
