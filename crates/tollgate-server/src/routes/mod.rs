//! The router: every route of the hub, and the layers around them.

pub mod defectdojo;
pub mod hub;
pub mod ops;
pub mod results;
pub mod ui;

use crate::state::AppState;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
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
