//! The Results API, shaped like Data Theorem's Mobile Security Results API v2:
//! `/apis/mobile_security/results/v2/security_findings…` with cursor paging.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::state::{now, AppState};
use crate::views::security_finding::{security_finding, SecurityFindingView};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
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

/// The key that signs cursors (see [`encode_cursor`]); never printed.
#[derive(Clone)]
pub struct CursorKey(pub [u8; 32]);

impl std::fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorKey(…)")
    }
}

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// What a cursor continues: the filters of the list and the token's product restriction. A
/// cursor made for one of these is refused for another (its total would be another list's).
#[derive(Clone, Copy)]
struct CursorScope {
    product_id: Option<i64>,
    restrict_to_product: Option<i64>,
    results_since: Option<i64>,
    status_group: Option<StatusGroup>,
}

const MAC_BYTES: usize = 16;

fn cursor_mac(key: &CursorKey, last_id: i64, total: i64, scope: CursorScope) -> HmacSha256 {
    use hmac::Mac;
    let mut mac = HmacSha256::new_from_slice(&key.0).expect("HMAC takes a key of any size");
    let group = match scope.status_group {
        None => "",
        Some(StatusGroup::Open) => "OPEN",
        Some(StatusGroup::Closed) => "CLOSED",
    };
    mac.update(
        format!(
            "results-cursor-v1|{last_id}|{total}|{:?}|{:?}|{:?}|{group}",
            scope.product_id, scope.restrict_to_product, scope.results_since
        )
        .as_bytes(),
    );
    mac
}

/// The cursor carries the last id of the page and the total, so later pages never count again;
/// an HMAC (key shared by all replicas through the database) makes it tamper-evident, so the
/// total a client sends back is one this hub computed for the same list.
fn encode_cursor(key: &CursorKey, last_id: i64, total: i64, scope: CursorScope) -> String {
    use hmac::Mac;
    let tag = cursor_mac(key, last_id, total, scope)
        .finalize()
        .into_bytes();
    let hex: String = tag[..MAC_BYTES]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{last_id:x}.{total:x}.{hex}")
}

fn decode_cursor(key: &CursorKey, text: &str, scope: CursorScope) -> Option<(i64, i64)> {
    use hmac::Mac;
    let mut parts = text.split('.');
    let (a, b, tag) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    // Only the exact text encode_cursor writes: lowercase hex, no sign, no leading zeros.
    let number = |s: &str| -> Option<i64> {
        let n = i64::from_str_radix(s, 16).ok()?;
        (n >= 0 && format!("{n:x}") == s).then_some(n)
    };
    let (last_id, total) = (number(a)?, number(b)?);
    if tag.len() != MAC_BYTES * 2 {
        return None;
    }
    let mut bytes = [0u8; MAC_BYTES];
    for (i, pair) in tag.as_bytes().chunks(2).enumerate() {
        let pair = std::str::from_utf8(pair).ok()?;
        if pair.bytes().any(|c| c.is_ascii_uppercase()) {
            return None;
        }
        bytes[i] = u8::from_str_radix(pair, 16).ok()?;
    }
    cursor_mac(key, last_id, total, scope)
        .verify_truncated_left(&bytes)
        .ok()?;
    Some((last_id, total))
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
    let scope = CursorScope {
        product_id,
        restrict_to_product: caller.restriction(),
        results_since,
        status_group,
    };
    let key = &state.settings.cursor_key;
    let (after_id, known_total) = match p.cursor.as_deref().filter(|s| !s.is_empty()) {
        None => (None, None),
        Some(c) => {
            let (id, total) = decode_cursor(key, c, scope).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "cursor: {c:?} is not a cursor this API returned for this list"
                ))
            })?;
            (Some(id), Some(total))
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
        page.last().map(|f| encode_cursor(key, f.id, total, scope))
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

#[derive(Deserialize)]
pub struct PriorityBody {
    priority: Option<String>,
}

pub async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(b): Json<PriorityBody>,
) -> ApiResult<Json<Value>> {
    caller.require(Scope::Triage, "can_set_priority")?;
    let f = visible(&state, &caller, &id).await?;
    let Some(p) = b.priority else {
        return render_one(&state, &f).await;
    };
    let priority = Priority::from_str_opt(p.trim()).ok_or_else(|| {
        ApiError::bad_request(format!("priority: {p:?} is not one of P0, P1, P2, P3, P4"))
    })?;
    let f = state
        .store
        .set_priority(f.id, priority, &caller.0.name, caller.restriction(), now())
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
    Json(b): Json<CloseBody>,
) -> ApiResult<Json<Value>> {
    caller.require(Scope::Triage, "can_close_issues")?;
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
    Json(b): Json<NoteBody>,
) -> ApiResult<StatusCode> {
    caller.require(Scope::Comment, "can_comment_on_issues")?;
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

    const SCOPE: CursorScope = CursorScope {
        product_id: None,
        restrict_to_product: None,
        results_since: None,
        status_group: None,
    };

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let key = CursorKey([7; 32]);
        let c = encode_cursor(&key, 1234, 99, SCOPE);
        assert_eq!(decode_cursor(&key, &c, SCOPE), Some((1234, 99)));
        for bad in [
            "nope",
            "zz.1",
            "0.ffffff",
            "-1.-1",
            "4d2.63",
            "4d2.63.",
            "4d2.63.00",
        ] {
            assert_eq!(decode_cursor(&key, bad, SCOPE), None, "{bad}");
        }
        // Another key, another list, a changed total or a truncated tag: refused.
        assert_eq!(decode_cursor(&CursorKey([8; 32]), &c, SCOPE), None);
        let open = CursorScope {
            status_group: Some(StatusGroup::Open),
            ..SCOPE
        };
        assert_eq!(decode_cursor(&key, &c, open), None);
        let tag = c.rsplit('.').next().unwrap();
        assert_eq!(
            decode_cursor(&key, &format!("4d2.ffffff.{tag}"), SCOPE),
            None
        );
        assert_eq!(decode_cursor(&key, &c[..c.len() - 2], SCOPE), None);
        assert_eq!(decode_cursor(&key, &c.to_uppercase(), SCOPE), None);
    }
}
