//! Operations: health, Prometheus metrics, the OpenAPI document.

use crate::auth::{authenticate, secret_from_header};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::json;
use tollgate_store::Scope;

pub async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    let backend = match state.store.backend() {
        tollgate_store::Backend::Sqlite => "sqlite",
        tollgate_store::Backend::Postgres => "postgres",
    };
    match state.store.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(json!({ "status": "ok", "database": backend })),
        ),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable", "database": backend })),
            )
        }
    }
}

/// `/metrics`: a token with the `metrics` scope (Prometheus' `authorization` sends
/// `Bearer <key>`), unless the hub runs with `--public-metrics`. The numbers span every product
/// (stored totals, requests of every caller), so a product-restricted token gets 403 even with
/// the scope.
pub async fn metrics(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> ApiResult<impl IntoResponse> {
    if !state.settings.public_metrics {
        let Some(secret) = secret_from_header(&headers) else {
            return Err(ApiError::unauthorized(
                "/metrics needs a token with the metrics scope: send 'Authorization: Bearer <key>' (tollgate token create --scope metrics)",
            ));
        };
        let token = authenticate(&state, &secret)
            .await?
            .ok_or_else(|| ApiError::unauthorized("Invalid token."))?;
        if !token.allows(Scope::Metrics) {
            return Err(ApiError::forbidden(format!(
                "token {:?} lacks the \"metrics\" scope (scrape /metrics)",
                token.name
            )));
        }
        if token.product_id.is_some() {
            return Err(ApiError::forbidden(format!(
                "token {:?} is restricted to one product; /metrics counts every product",
                token.name
            )));
        }
    }
    let stored = state.store.finding_totals().await.ok();
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(stored),
    ))
}

pub const OPENAPI: &str = include_str!("../../openapi.json");

pub async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}
