//! The dashboard (`/`): open findings by severity × product (each number opens the queue so
//! filtered), SLA breaches, new this week, incomplete scans, the latest gate runs and the
//! metrics in small. Counts come from the store's aggregates, never a scan of the findings.

use super::gate_runs::{gate_run_table, incomplete_scans};
use super::products::product_table;
use super::{internal, viewer_page, Viewer};
use crate::state::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use std::fmt::Write;
use tollgate_store::pages::GateRunFilter;

/// The gate runs the dashboard lists.
const LATEST_RUNS: i64 = 10;

/// `GET /`.
pub async fn home(State(state): State<AppState>, v: Viewer) -> Response {
    let now = crate::state::now();
    let products = match state.store.open_by_product(v.restriction(), now).await {
        Ok(p) => p,
        Err(e) => return internal(e),
    };
    let (runs, total_runs) = match state
        .store
        .gate_runs(&GateRunFilter {
            restrict_to_product: v.restriction(),
            limit: LATEST_RUNS,
            ..GateRunFilter::default()
        })
        .await
    {
        Ok(r) => r,
        Err(e) => return internal(e),
    };
    let incomplete = match incomplete_scans(&state, &v).await {
        Ok(i) => i,
        Err(e) => return internal(e),
    };
    let open: i64 = products.iter().map(|p| p.total()).sum();
    let breached: i64 = products.iter().map(|p| p.breached_total()).sum();
    let new: i64 = products.iter().map(|p| p.new_this_week).sum();
    let mut body = format!(
        "<p class=\"nav\"><a href=\"/ui/findings\">Findings</a> · <a href=\"/ui/products\">Products</a> · \
         <a href=\"/ui/gate-runs\">Gate runs</a> · <a href=\"/ui/risk-acceptances\">Risk acceptances and waivers</a> · \
         <a href=\"/ui/metrics\">Metrics</a></p>\
         <p class=\"headline\"><span data-open=\"{open}\"><b>{open}</b> open findings</span> · \
         <span data-breached=\"{breached}\"><b>{breached}</b> past their SLA</span> · \
         <span data-new=\"{new}\"><b>{new}</b> new this week</span></p>\
         <h2>Open findings by severity and product</h2>{}",
        product_table(&products)
    );
    let _ = write!(
        body,
        "<h2>Incomplete scans</h2>{incomplete}<h2>Latest gate runs</h2>{}<p><a href=\"/ui/gate-runs\">All {total_runs} gate runs</a></p>\
         <h2>Metrics</h2>{}",
        gate_run_table(&runs),
        super::metrics::small_charts(&state, &v).await
    );
    viewer_page(&v, "Dashboard", &body).into_response()
}
