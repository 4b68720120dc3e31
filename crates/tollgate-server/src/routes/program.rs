//! Program metrics (docs/metrics.md): one JSON endpoint and one server-drawn SVG chart per
//! metric, both from the same store read, and the promotions they count. A product-limited
//! token's numbers cover its own product only; naming another product is a 404, as for one that
//! does not exist.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::extract::Json;
use crate::state::{now, AppState};
use crate::svg::{self, Chart, ChartKind, Series};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{json, Value};

use tollgate_store::metrics::{self as m, day_number, Date};
use tollgate_store::{Interval, MetricWindow, NewPromotion, Scope};

pub const PREFIX: &str = "/api/v2/tollgate/metrics";

/// Every metric: its path segment, title, and the default length of its window in days.
pub const METRICS: [(&str, &str, i64); 8] = [
    (
        "promoted-scanned",
        "Release artifacts scanned before promotion",
        90,
    ),
    (
        "scans-imported",
        "Gate runs with an import of the same commit",
        90,
    ),
    (
        "critical-mobile-by-tier",
        "Open critical mobile findings by app tier",
        0,
    ),
    ("open-age", "Age of open findings", 0),
    (
        "blocking-by-quarter",
        "Release-blocking issues by quarter",
        365,
    ),
    ("remediation", "Time to remediate and SLA compliance", 90),
    ("open-findings", "Open findings over time", 90),
    ("gate-outcomes", "Gate pass / warn / block rate", 90),
];

/// The longest window a metric reads (ten years), and the most points of a series.
const MAX_DAYS: i64 = 3_660;
const MAX_POINTS: usize = 1_000;

#[derive(Deserialize, Default)]
pub struct MetricParams {
    pub product: Option<i64>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub interval: Option<String>,
}

fn date_param(name: &str, value: Option<&str>) -> ApiResult<Option<i64>> {
    match value.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => Date::parse(s).map(|d| Some(day_number(d))).ok_or_else(|| {
            ApiError::bad_request(format!("{name}: {s:?} is not a date (YYYY-MM-DD)"))
        }),
    }
}

/// The window and product of a request: `product` must be visible to the caller; without it a
/// product-limited caller gets its own product.
async fn window(
    state: &AppState,
    restriction: Option<i64>,
    p: &MetricParams,
    default_days: i64,
    today: i64,
) -> ApiResult<MetricWindow> {
    let to_day = date_param("to", p.to.as_deref())?.unwrap_or(today);
    let from_day =
        date_param("from", p.from.as_deref())?.unwrap_or(to_day - (default_days - 1).max(0));
    if from_day > to_day {
        return Err(ApiError::bad_request("from must not be after to"));
    }
    if to_day - from_day >= MAX_DAYS {
        return Err(ApiError::bad_request(format!(
            "the window from {} to {} is longer than {MAX_DAYS} days",
            Date::from_days(from_day),
            Date::from_days(to_day)
        )));
    }
    let product = match p.product {
        Some(id) => {
            state.store.metric_product(id, restriction).await?;
            Some(id)
        }
        None => restriction,
    };
    Ok(MetricWindow {
        product,
        from_day,
        to_day,
    })
}

fn interval(p: &MetricParams) -> ApiResult<Interval> {
    match p
        .interval
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => Ok(Interval::Week),
        Some(s) => Interval::parse(s).ok_or_else(|| {
            ApiError::bad_request(format!("interval: {s:?} is not one of day, week, month"))
        }),
    }
}

fn severity_labels() -> Vec<String> {
    m::SEVERITIES.iter().map(|(_, n)| n.to_string()).collect()
}

fn counted(v: i64) -> Option<f64> {
    Some(v as f64)
}

/// Computes metric `slug` for a caller limited to `restriction` (if any): its JSON answer and
/// its chart, from one store read. The API and the web UI's pages both answer from here.
pub(crate) async fn compute(
    state: &AppState,
    restriction: Option<i64>,
    slug: &str,
    p: &MetricParams,
) -> ApiResult<(Value, Chart)> {
    let (_, title, default_days) = METRICS
        .iter()
        .find(|(s, _, _)| *s == slug)
        .copied()
        .ok_or_else(|| ApiError::not_found(format!("no metric {slug:?}")))?;
    let now = now();
    let today = now.div_euclid(86_400);
    let w = window(state, restriction, p, default_days, today).await?;
    let store = &state.store;
    let bars = |labels: Vec<String>, series: Vec<Series>, unit: &str| Chart {
        title: title.to_string(),
        unit: unit.to_string(),
        kind: ChartKind::Bars,
        labels,
        series,
    };
    let (data, chart) = match slug {
        "promoted-scanned" => {
            let r = store.promotion_coverage(w).await?;
            let mut labels = vec!["all".to_string()];
            let mut values = vec![r.total.percent];
            for p in &r.by_product {
                labels.push(p.product.clone());
                values.push(p.count.percent);
            }
            let chart = bars(
                labels,
                vec![Series {
                    name: "% scanned before promotion".into(),
                    values,
                }],
                "%",
            );
            (serde_json::to_value(&r), chart)
        }
        "scans-imported" => {
            let r = store.import_coverage(w).await?;
            let mut labels = vec!["all".to_string()];
            let mut values = vec![r.total.percent];
            for p in &r.by_product {
                labels.push(p.product.clone());
                values.push(p.count.percent);
            }
            let chart = bars(
                labels,
                vec![Series {
                    name: "% imported".into(),
                    values,
                }],
                "%",
            );
            (serde_json::to_value(&r), chart)
        }
        "critical-mobile-by-tier" => {
            let r = store.critical_mobile_by_tier(w.product).await?;
            let labels = r
                .tiers
                .iter()
                .map(|t| t.tier.clone().unwrap_or_else(|| "(no tier)".into()))
                .collect();
            let values = r.tiers.iter().map(|t| counted(t.open_critical)).collect();
            let chart = bars(
                labels,
                vec![Series {
                    name: "open critical".into(),
                    values,
                }],
                "findings",
            );
            (serde_json::to_value(&r), chart)
        }
        "open-age" => {
            let r = store.open_age(w.product, now).await?;
            let series = [("all", &r.all), ("mobile", &r.mobile)]
                .into_iter()
                .map(|(name, set)| Series {
                    name: format!("{name}: median age"),
                    values: set.by_severity.iter().map(|s| s.median_age_days).collect(),
                })
                .collect();
            let chart = bars(severity_labels(), series, "days");
            (serde_json::to_value(&r), chart)
        }
        "blocking-by-quarter" => {
            let r = store.blocking_by_quarter(w).await?;
            let labels: Vec<String> = r.quarters.iter().map(|q| q.quarter.clone()).collect();
            let mut rules: Vec<String> = r
                .quarters
                .iter()
                .flat_map(|q| q.by_rule.iter().map(|b| b.rule.clone()))
                .collect();
            rules.sort();
            rules.dedup();
            let mut series = vec![Series {
                name: "blocked runs".into(),
                values: r.quarters.iter().map(|q| counted(q.blocked_runs)).collect(),
            }];
            for rule in rules {
                series.push(Series {
                    values: r
                        .quarters
                        .iter()
                        .map(|q| {
                            counted(
                                q.by_rule
                                    .iter()
                                    .find(|b| b.rule == rule)
                                    .map_or(0, |b| b.blocked_runs),
                            )
                        })
                        .collect(),
                    name: rule,
                });
            }
            (serde_json::to_value(&r), bars(labels, series, "gate runs"))
        }
        "remediation" => {
            let r = store.remediation(w, now).await?;
            let mut labels = severity_labels();
            labels.push("all".into());
            let mut values: Vec<Option<f64>> = r.by_severity.iter().map(|s| s.mttr_days).collect();
            values.push(r.overall.mttr_days);
            let chart = bars(
                labels,
                vec![Series {
                    name: "mean time to remediate".into(),
                    values,
                }],
                "days",
            );
            (serde_json::to_value(&r), chart)
        }
        "open-findings" => {
            let iv = interval(p)?;
            if m::sample_days(w.from_day, w.to_day, iv).len() > MAX_POINTS {
                return Err(ApiError::bad_request(format!(
                    "more than {MAX_POINTS} points: use a longer interval or a shorter window"
                )));
            }
            let r = store.open_over_time(w, iv).await?;
            let labels = r.points.iter().map(|p| p.date.clone()).collect();
            type Pick = fn(&m::OpenPoint) -> i64;
            let picks: [(&str, Pick); 6] = [
                ("critical", |p| p.critical),
                ("high", |p| p.high),
                ("medium", |p| p.medium),
                ("low", |p| p.low),
                ("info", |p| p.info),
                ("total", |p| p.total),
            ];
            let series = picks
                .iter()
                .map(|(name, pick)| Series {
                    name: name.to_string(),
                    values: r.points.iter().map(|p| counted(pick(p))).collect(),
                })
                .collect();
            let chart = Chart {
                title: title.to_string(),
                unit: "open findings".into(),
                kind: ChartKind::Lines,
                labels,
                series,
            };
            (serde_json::to_value(&r), chart)
        }
        "gate-outcomes" => {
            let r = store.gate_outcomes(w).await?;
            let mut labels = vec!["all".to_string()];
            let mut rows = vec![&r.total];
            for p in &r.by_product {
                labels.push(p.product.clone());
                rows.push(&p.count);
            }
            type Pick = fn(&m::OutcomeCount) -> Option<f64>;
            let picks: [(&str, Pick); 3] = [
                ("pass %", |c| c.pass_rate),
                ("warn %", |c| c.warn_rate),
                ("block %", |c| c.block_rate),
            ];
            let series = picks
                .iter()
                .map(|(name, pick)| Series {
                    name: name.to_string(),
                    values: rows.iter().map(|c| pick(c)).collect(),
                })
                .collect();
            (serde_json::to_value(&r), bars(labels, series, "%"))
        }
        _ => return Err(ApiError::not_found(format!("no metric {slug:?}"))),
    };
    let data = data.map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("metric {slug}: {e}"),
        )
    })?;
    let mut answer = json!({
        "metric": slug,
        "title": title,
        "product": w.product,
        "from": Date::from_days(w.from_day).to_string(),
        "to": Date::from_days(w.to_day).to_string(),
    });
    if let (Some(a), Value::Object(d)) = (answer.as_object_mut(), data) {
        a.extend(d);
    }
    Ok((answer, chart))
}

/// `GET /api/v2/tollgate/metrics/{slug}/`.
pub async fn json_answer(
    state: AppState,
    caller: Caller,
    slug: &'static str,
    p: MetricParams,
) -> ApiResult<Json<Value>> {
    caller.require(Scope::Read, "read metrics")?;
    let (answer, _) = compute(&state, caller.restriction(), slug, &p).await?;
    Ok(Json(answer))
}

/// `GET /api/v2/tollgate/metrics/{slug}.svg`.
pub async fn svg_answer(
    state: AppState,
    caller: Caller,
    slug: &'static str,
    p: MetricParams,
) -> ApiResult<Response> {
    caller.require(Scope::Read, "read metrics")?;
    let (_, chart) = compute(&state, caller.restriction(), slug, &p).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "private, max-age=60"),
        ],
        svg::render(&chart),
    )
        .into_response())
}

/// `GET /api/v2/tollgate/metrics/`: the metrics and where each one is.
pub async fn index(
    axum::extract::State(_state): axum::extract::State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Value>> {
    caller.require(Scope::Read, "read metrics")?;
    let metrics: Vec<Value> = METRICS
        .iter()
        .map(|(slug, title, _)| {
            json!({
                "name": slug,
                "title": title,
                "url": format!("{PREFIX}/{slug}/"),
                "svg": format!("{PREFIX}/{slug}.svg"),
                "definition": format!("docs/metrics.md#{slug}"),
            })
        })
        .collect();
    Ok(Json(json!({ "count": metrics.len(), "results": metrics })))
}

#[derive(Deserialize)]
pub struct PromotionBody {
    #[serde(alias = "product_name")]
    product: Option<String>,
    artifact_sha256: Option<String>,
    release_tag: Option<String>,
    environment: Option<String>,
}

/// `POST /api/v2/tollgate/promotions/` (`import` scope).
pub async fn record_promotion(
    axum::extract::State(state): axum::extract::State<AppState>,
    caller: Caller,
    Json(b): Json<PromotionBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    caller.require(Scope::Import, "record promotions")?;
    let product = b
        .product
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| ApiError::bad_request("product is required"))?;
    let sha = b
        .artifact_sha256
        .filter(|s| s.len() == 64 && s.bytes().all(|c| c.is_ascii_hexdigit()))
        .ok_or_else(|| ApiError::bad_request("artifact_sha256 must be 64 hex digits"))?;
    let environment = b
        .environment
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::bad_request("environment is required"))?;
    let p = state
        .store
        .record_promotion(NewPromotion {
            product_name: product,
            artifact_sha256: sha.to_ascii_lowercase(),
            release_tag: b.release_tag.filter(|s| !s.trim().is_empty()),
            environment,
            actor: Some(caller.0.name.clone()),
            restrict_to_product: caller.restriction(),
            now: now(),
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": p.id,
            "product_id": p.product_id,
            "artifact_sha256": p.artifact_sha256,
            "release_tag": p.release_tag,
            "environment": p.environment,
            "promoted_at": crate::time::rfc3339(p.promoted_at),
            "scanned": p.scanned,
        })),
    ))
}
