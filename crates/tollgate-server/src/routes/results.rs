//! The Results API, shaped like Data Theorem's Mobile Security Results API v2:
//! `/apis/mobile_security/results/v2/security_findings…` with cursor paging.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::{now, AppState};
use crate::views::security_finding::{security_finding, SecurityFindingView};
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::Value;
use tollgate_store::{
    ClosedAs, NoteKind, Priority, ResultsQuery, Scope, StatusGroup, StoredFinding,
};

const DEFAULT_PAGE_SIZE: i64 = 50;
const MAX_PAGE_SIZE: i64 = 1000;

#[derive(Deserialize, Default)]
pub struct ListParams {
    cursor: Option<String>,
    mobile_app_id: Option<String>,
    results_since: Option<String>,
    status_group: Option<String>,
    page_size: Option<String>,
}

/// The cursor carries the last id of the page and the total, so later pages never count again.
fn encode_cursor(last_id: i64, total: i64) -> String {
    format!("{last_id:x}.{total:x}")
}

fn decode_cursor(text: &str) -> Option<(i64, i64)> {
    let (a, b) = text.trim().split_once('.')?;
    Some((
        i64::from_str_radix(a, 16).ok()?,
        i64::from_str_radix(b, 16).ok()?,
    ))
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<ListParams>,
) -> ApiResult<Response> {
    caller.require(Scope::Read, "read security findings")?;
    let page_size = match p.page_size.as_deref().filter(|s| !s.is_empty()) {
        None => DEFAULT_PAGE_SIZE,
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=MAX_PAGE_SIZE).contains(n))
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "page_size: {s:?} is not a number from 1 to {MAX_PAGE_SIZE}"
                ))
            })?,
    };
    let (after_id, known_total) = match p.cursor.as_deref().filter(|s| !s.is_empty()) {
        None => (None, None),
        Some(c) => {
            let (id, total) = decode_cursor(c).ok_or_else(|| {
                ApiError::bad_request(format!("cursor: {c:?} is not a cursor this API returned"))
            })?;
            (Some(id), Some(total))
        }
    };
    let product_id = match p.mobile_app_id.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => {
            let id = s.parse::<i64>().map_err(|_| {
                ApiError::bad_request(format!("mobile_app_id: {s:?} is not an integer"))
            })?;
            // Another product's id reads like an unknown one: an empty page (the store
            // intersects it with the token's product).
            Some(id)
        }
    };
    let results_since = p
        .results_since
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| {
            crate::time::parse(s).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "results_since: {s:?} is not a date-time (e.g. 2026-11-22T10:00:00Z)"
                ))
            })
        })
        .transpose()?;
    let status_group = match p.status_group.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) if s.eq_ignore_ascii_case("OPEN") => Some(StatusGroup::Open),
        Some(s) if s.eq_ignore_ascii_case("CLOSED") => Some(StatusGroup::Closed),
        Some(s) => {
            return Err(ApiError::bad_request(format!(
                "status_group: {s:?} is neither OPEN nor CLOSED"
            )))
        }
    };
    let (findings, total) = state
        .store
        .security_findings(&ResultsQuery {
            after_id,
            page_size: page_size + 1,
            product_id,
            restrict_to_product: caller.restriction(),
            results_since,
            status_group,
            known_total,
        })
        .await?;
    let more = findings.len() as i64 > page_size;
    let page = &findings[..findings.len().min(page_size as usize)];
    let next_cursor = if more {
        page.last().map(|f| encode_cursor(f.id, total))
    } else {
        None
    };
    // Only triaged findings can have notes: an untriaged page needs no notes query.
    let ids: Vec<i64> = page.iter().filter(|f| f.triaged).map(|f| f.id).collect();
    let notes = state.store.notes(&ids).await?;
    let body = ListBody {
        pagination_information: Pagination {
            next_cursor,
            total_count: total,
        },
        security_findings: page
            .iter()
            .map(|f| SecurityFindingView::new(f, &notes, &state.settings.public_url))
            .collect(),
    };
    // A SecurityFinding is ~2.5 KB of JSON: size the buffer once instead of doubling it a dozen
    // times per page.
    let mut bytes = Vec::with_capacity(1024 + body.security_findings.len() * 3072);
    serde_json::to_writer(&mut bytes, &body).map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("rendering failed: {e}"),
        )
    })?;
    Ok(([(header::CONTENT_TYPE, "application/json")], bytes).into_response())
}

#[derive(serde::Serialize)]
struct ListBody<'a> {
    pagination_information: Pagination,
    security_findings: Vec<SecurityFindingView<'a>>,
}

#[derive(serde::Serialize)]
struct Pagination {
    next_cursor: Option<String>,
    total_count: i64,
}

async fn visible(state: &AppState, caller: &Caller, id: &str) -> ApiResult<StoredFinding> {
    let id = id
        .parse::<i64>()
        .map_err(|_| ApiError::not_found(format!("security finding {id:?} does not exist")))?;
    caller
        .visible(state.store.finding(id).await?, |f| f.product_id)
        .ok_or_else(|| ApiError::not_found(format!("security finding {id} does not exist")))
}

async fn render_one(state: &AppState, f: &StoredFinding) -> ApiResult<Json<Value>> {
    let notes = state.store.notes(&[f.id]).await?;
    Ok(Json(security_finding(
        f,
        &notes,
        &state.settings.public_url,
    )))
}

pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    caller.require(Scope::Read, "read security findings")?;
    let f = visible(&state, &caller, &id).await?;
    render_one(&state, &f).await
}

fn body<T>(payload: Result<Json<T>, JsonRejection>) -> ApiResult<T> {
    payload
        .map(|Json(v)| v)
        .map_err(|e| ApiError::bad_request(format!("request body: {}", e.body_text())))
}

#[derive(Deserialize)]
pub struct PriorityBody {
    priority: Option<String>,
}

pub async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    payload: Result<Json<PriorityBody>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    caller.require(Scope::Triage, "can_set_priority")?;
    let b = body(payload)?;
    let f = visible(&state, &caller, &id).await?;
    let Some(p) = b.priority else {
        return render_one(&state, &f).await;
    };
    let priority = Priority::from_str_opt(p.trim()).ok_or_else(|| {
        ApiError::bad_request(format!("priority: {p:?} is not one of P0, P1, P2, P3, P4"))
    })?;
    let f = state
        .store
        .set_priority(f.id, priority, caller.restriction(), now())
        .await?;
    render_one(&state, &f).await
}

#[derive(Deserialize)]
pub struct CloseBody {
    aggregated_status: Option<String>,
    #[serde(default)]
    is_permanently_closed: Option<bool>,
    reason: Option<String>,
    /// Tollgate extension: when a CLOSED_RISK_ACCEPTED acceptance ends (YYYY-MM-DD). A finding
    /// still reported after that day reopens at the next reimport.
    risk_accepted_until: Option<String>,
}

pub async fn close(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    payload: Result<Json<CloseBody>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    caller.require(Scope::Triage, "can_close_issues")?;
    let b = body(payload)?;
    let status = b.aggregated_status.unwrap_or_default();
    let closed_as = ClosedAs::from_str_opt(status.trim()).ok_or_else(|| {
        ApiError::bad_request(format!(
            "aggregated_status: {status:?} is not one of CLOSED_WONT_FIX, CLOSED_RISK_ACCEPTED, CLOSED_COMPENSATING_CONTROL"
        ))
    })?;
    let reason = b
        .reason
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty())
        .ok_or_else(|| ApiError::bad_request("reason is required: it becomes the closing note"))?;
    let f = visible(&state, &caller, &id).await?;
    let f = state
        .store
        .close_finding(
            f.id,
            closed_as,
            b.is_permanently_closed.unwrap_or(false),
            &reason,
            b.risk_accepted_until
                .as_deref()
                .filter(|d| !d.trim().is_empty()),
            &caller.0.name,
            caller.restriction(),
            now(),
        )
        .await?;
    render_one(&state, &f).await
}

#[derive(Deserialize)]
pub struct NoteBody {
    text: Option<String>,
    #[serde(default)]
    is_question_for_datatheorem: Option<bool>,
}

pub async fn add_note(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    payload: Result<Json<NoteBody>, JsonRejection>,
) -> ApiResult<StatusCode> {
    caller.require(Scope::Comment, "can_comment_on_issues")?;
    let b = body(payload)?;
    let text = b
        .text
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| ApiError::bad_request("text is required"))?;
    let f = visible(&state, &caller, &id).await?;
    let kind = if b.is_question_for_datatheorem.unwrap_or(false) {
        NoteKind::Question
    } else {
        NoteKind::Internal
    };
    state
        .store
        .add_note(
            f.id,
            &caller.0.name,
            &text,
            kind,
            caller.restriction(),
            now(),
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        assert_eq!(decode_cursor(&encode_cursor(1234, 99)), Some((1234, 99)));
        assert_eq!(decode_cursor("nope"), None);
        assert_eq!(decode_cursor("zz.1"), None);
    }
}
