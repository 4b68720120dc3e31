//! The program metrics page: the eight metrics of docs/metrics.md, each a chart and a table of
//! the numbers of its JSON endpoint — both from the API's own compute, limited to the viewer's
//! product exactly as the API limits a product-limited token. Charts are drawn inline (the API's
//! `.svg` needs the Authorization header, which an `<img>` cannot send).

use super::gate_runs::bad_parameter;
use super::{esc, internal, not_found, viewer_page, Viewer};
use crate::extract::Query;
use crate::routes::program::{compute, MetricParams, METRICS};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;
use std::fmt::Write;

#[derive(Deserialize, Default)]
pub struct MetricsPageParams {
    product: Option<String>,
    from: Option<String>,
    to: Option<String>,
    interval: Option<String>,
}

/// A JSON value as tables: objects as key / value rows, arrays of objects as one row each.
/// Every scalar cell carries `data-path`: the metric and the JSON pointer of the number or text
/// it shows, so a reader (and the tests) can match it to the endpoint's answer.
fn json_html(v: &Value, path: &str, out: &mut String) {
    match v {
        Value::Object(o) => {
            out.push_str("<table class=\"json\">");
            for (k, x) in o {
                let _ = write!(out, "<tr><th>{}</th>", esc(k));
                cell(x, &format!("{path}/{k}"), out);
                out.push_str("</tr>");
            }
            out.push_str("</table>");
        }
        Value::Array(a) if a.iter().all(Value::is_object) && !a.is_empty() => {
            let mut keys: Vec<&String> = Vec::new();
            for x in a {
                for k in x.as_object().into_iter().flat_map(|o| o.keys()) {
                    if !keys.contains(&k) {
                        keys.push(k);
                    }
                }
            }
            out.push_str("<table class=\"json\"><tr>");
            for k in &keys {
                let _ = write!(out, "<th>{}</th>", esc(k));
            }
            out.push_str("</tr>");
            for (i, x) in a.iter().enumerate() {
                out.push_str("<tr>");
                for k in &keys {
                    cell(&x[k.as_str()], &format!("{path}/{i}/{k}"), out);
                }
                out.push_str("</tr>");
            }
            out.push_str("</table>");
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                json_html(x, &format!("{path}/{i}"), out);
            }
        }
        scalar => {
            let _ = write!(
                out,
                "<span data-path=\"{}\">{}</span>",
                esc(path),
                esc(&scalar_text(scalar))
            );
        }
    }
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn cell(x: &Value, path: &str, out: &mut String) {
    let class = if x.is_number() { " class=\"num\"" } else { "" };
    let _ = write!(out, "<td{class}>");
    json_html(x, path, out);
    out.push_str("</td>");
}

/// The parameters of the API's metric endpoints, from the page's (checked the same way).
fn metric_params(p: &MetricsPageParams) -> Result<MetricParams, String> {
    let product = super::gate_runs::number_param("product", p.product.as_deref())?;
    Ok(MetricParams {
        product,
        from: p.from.clone(),
        to: p.to.clone(),
        interval: p.interval.clone(),
    })
}

/// The page of an error of a metric's compute: another product's id reads as a missing one.
fn metric_error(e: crate::error::ApiError) -> Response {
    match e.status {
        StatusCode::NOT_FOUND => not_found("product"),
        StatusCode::BAD_REQUEST => bad_parameter(&e.detail),
        _ => internal(e.detail),
    }
}

/// Each metric's chart (inline SVG) in small, linked to its place on the metrics page: the
/// dashboard's strip. Metrics that fail to compute are left out.
pub(super) async fn small_charts(state: &AppState, v: &Viewer) -> String {
    let mut out = String::from("<div class=\"small-charts\">");
    for (slug, _, _) in METRICS {
        let p = MetricParams::default();
        if let Ok((_, chart)) = compute(state, v.restriction(), slug, &p).await {
            let _ = write!(
                out,
                "<a class=\"small-chart\" href=\"/ui/metrics#{slug}\">{}</a>",
                crate::svg::render(&chart)
            );
        }
    }
    out.push_str("</div>");
    out
}

/// `GET /ui/metrics`: every metric, chart and numbers.
pub async fn metrics(
    State(state): State<AppState>,
    v: Viewer,
    Query(q): Query<MetricsPageParams>,
) -> Response {
    let p = match metric_params(&q) {
        Ok(p) => p,
        Err(why) => return bad_parameter(&why),
    };
    let mut body = String::from(
        "<p>The eight program metrics (definitions in docs/metrics.md). Each table holds the numbers \
         of the metric's JSON endpoint <code>/api/v2/tollgate/metrics/NAME/</code>; the chart draws them.</p><ul class=\"toc\">",
    );
    for (slug, title, _) in METRICS {
        let _ = write!(body, "<li><a href=\"#{slug}\">{}</a></li>", esc(title));
    }
    body.push_str("</ul>");
    for (slug, title, _) in METRICS {
        let (answer, chart) = match compute(&state, v.restriction(), slug, &p).await {
            Ok(x) => x,
            Err(e) => return metric_error(e),
        };
        let _ = write!(
            body,
            "<section class=\"metric\" id=\"{slug}\"><h2>{}</h2><div class=\"chart\">{}</div>\
             <details open><summary>The numbers</summary>",
            esc(title),
            crate::svg::render(&chart)
        );
        json_html(&answer, slug, &mut body);
        body.push_str("</details></section>");
    }
    viewer_page(&v, "Metrics", &body).into_response()
}
