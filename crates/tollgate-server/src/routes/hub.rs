//! What `tollgate gate` asks of the hub: a baseline of known fingerprints, and a record of
//! each gate run.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Query};
use crate::state::{now, AppState};
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};
use tollgate_store::{NewGateRun, Scope};

#[derive(Deserialize)]
pub struct BaselineParams {
    product_name: Option<String>,
    engagement_name: Option<String>,
}

pub async fn baseline(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<BaselineParams>,
) -> ApiResult<Json<Value>> {
    caller.require(Scope::Read, "read a baseline")?;
    let product = p
        .product_name
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| ApiError::bad_request("product_name is required"))?;
    let engagement = p.engagement_name.filter(|s| !s.trim().is_empty());
    let (product_id, engagement_id, findings) = state
        .store
        .baseline(&product, engagement.as_deref(), caller.restriction())
        .await?;
    Ok(Json(json!({
        "product_id": product_id,
        "engagement_id": engagement_id,
        "findings": findings,
    })))
}

#[derive(Deserialize)]
pub struct GateRunBody {
    product_name: Option<String>,
    engagement_name: Option<String>,
    outcome: Option<String>,
    commit_hash: Option<String>,
    release_tag: Option<String>,
    artifact_sha256: Option<String>,
    #[serde(default)]
    summary: Value,
}

pub async fn record_gate_run(
    State(state): State<AppState>,
    caller: Caller,
    Json(b): Json<GateRunBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require(Scope::Import, "record gate runs")?;
    let product_name = b
        .product_name
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| ApiError::bad_request("product_name is required"))?;
    let outcome = b.outcome.unwrap_or_default().to_ascii_uppercase();
    if !matches!(outcome.as_str(), "PASS" | "WARN" | "FAIL") {
        return Err(ApiError::bad_request("outcome must be PASS, WARN or FAIL"));
    }
    if let Some(sha) = &b.artifact_sha256 {
        if sha.len() != 64 || !sha.bytes().all(|c| c.is_ascii_hexdigit()) {
            return Err(ApiError::bad_request(
                "artifact_sha256 must be 64 hex digits",
            ));
        }
    }
    let run = state
        .store
        .record_gate_run(NewGateRun {
            product_name,
            engagement_name: b.engagement_name.filter(|s| !s.trim().is_empty()),
            outcome,
            commit_hash: b.commit_hash,
            release_tag: b.release_tag,
            artifact_sha256: b.artifact_sha256.map(|s| s.to_ascii_lowercase()),
            body: b.summary,
            restrict_to_product: caller.restriction(),
            now: now(),
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(
            json!({ "id": run.id, "product_id": run.product_id, "engagement_id": run.engagement_id }),
        ),
    ))
}
