//! Products → engagements → tests: the product list with its open findings, a product's
//! engagements and tests, an engagement's tests, and a test's import history with its trend.
//! Every number links into the findings queue (`/ui/findings?product=…&severity=…`).

use super::{esc, internal, not_found, viewer_page, Viewer};
use crate::extract::Path;
use crate::state::AppState;
use crate::svg::{self, Chart, ChartKind, Series};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use std::fmt::Write;
use tollgate_store::pages::{Counted, ProductOpen};

/// Severity names from the most severe, with their rank (the store's 4 critical … 0 info).
pub(super) const SEVERITIES: [(usize, &str); 5] = [
    (4, "critical"),
    (3, "high"),
    (2, "medium"),
    (1, "low"),
    (0, "info"),
];

/// The queue filtered by `product` (and `severity`), per the UI's URL contract.
pub(super) fn queue_link(product: i64, severity: Option<&str>) -> String {
    match severity {
        Some(s) => format!("/ui/findings?product={product}&amp;severity={s}"),
        None => format!("/ui/findings?product={product}"),
    }
}

/// `<th>` cells of the severity columns.
pub(super) fn severity_headers() -> String {
    SEVERITIES
        .iter()
        .map(|(_, s)| format!("<th class=\"num {s}\">{s}</th>"))
        .collect()
}

/// One cell per severity: the count, linked to the queue when `product` is given and it is not 0.
pub(super) fn severity_cells(open: &[i64; 5], product: Option<i64>) -> String {
    SEVERITIES
        .iter()
        .map(|&(rank, s)| match (open[rank], product) {
            (n, Some(p)) if n > 0 => format!(
                "<td class=\"num {s}\" data-severity=\"{s}\"><a href=\"{}\">{n}</a></td>",
                queue_link(p, Some(s))
            ),
            (n, _) => format!("<td class=\"num\" data-severity=\"{s}\">{n}</td>"),
        })
        .collect()
}

fn optional(s: &Option<String>) -> String {
    esc(s.as_deref().unwrap_or(""))
}

/// The product table of the product list and the dashboard.
pub(super) fn product_table(products: &[ProductOpen]) -> String {
    let mut t = format!(
        "<table class=\"counts\"><tr><th>Product</th><th>Tier</th><th>Platform</th>{}\
         <th class=\"num\">open</th><th class=\"num\">past SLA</th><th class=\"num\">new this week</th></tr>",
        severity_headers()
    );
    let mut total = ProductOpen::default();
    for p in products {
        let _ = write!(
            t,
            "<tr data-product=\"{id}\"><td><a href=\"/ui/products/{id}\">{}</a></td><td>{}</td><td>{}</td>{}\
             <td class=\"num\" data-total><a href=\"{}\">{}</a></td><td class=\"num\" data-breached>{}</td>\
             <td class=\"num\" data-new>{}</td></tr>",
            esc(&p.name),
            optional(&p.tier),
            optional(&p.platform),
            severity_cells(&p.open, Some(p.product_id)),
            queue_link(p.product_id, None),
            p.total(),
            p.breached_total(),
            p.new_this_week,
            id = p.product_id,
        );
        for i in 0..5 {
            total.open[i] += p.open[i];
            total.breached[i] += p.breached[i];
        }
        total.new_this_week += p.new_this_week;
    }
    if products.len() > 1 {
        let _ = write!(
            t,
            "<tr class=\"total\"><th colspan=\"3\">All products</th>{}<td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            severity_cells(&total.open, None),
            total.total(),
            total.breached_total(),
            total.new_this_week
        );
    }
    t.push_str("</table>");
    if products.is_empty() {
        t.push_str("<p>No products yet: import a report to create one.</p>");
    }
    t
}

/// `GET /ui/products`: every product the viewer may see, with its open findings.
pub async fn products(State(state): State<AppState>, v: Viewer) -> Response {
    let products = match state
        .store
        .open_by_product(v.restriction(), crate::state::now())
        .await
    {
        Ok(p) => p,
        Err(e) => return internal(e),
    };
    let body = format!(
        "<p>Open findings by severity; each number opens the queue so filtered. \
         Past SLA: open longer than the severity's SLA days. New this week: first seen in the last 7 days, still open.</p>{}",
        product_table(&products)
    );
    viewer_page(&v, "Products", &body).into_response()
}

fn test_rows(tests: &[Counted<tollgate_store::Test>], product: i64) -> String {
    let mut t = format!(
        "<table class=\"counts\"><tr><th>Test</th><th>Scan type</th><th>Last import</th>{}\
         <th class=\"num\">all findings</th></tr>",
        severity_headers()
    );
    for c in tests {
        let _ = write!(
            t,
            "<tr data-test=\"{id}\"><td><a href=\"/ui/tests/{id}\">{}</a></td><td>{}</td><td>{}</td>{}\
             <td class=\"num\">{}</td></tr>",
            esc(&c.item.title),
            esc(&c.item.scan_type),
            crate::time::rfc3339(c.item.updated_at),
            severity_cells(&c.open, Some(product)),
            c.total,
            id = c.item.id,
        );
    }
    t.push_str("</table>");
    t
}

/// `GET /ui/products/{id}`: the product's open findings, engagements and tests.
pub async fn product(State(state): State<AppState>, v: Viewer, Path(id): Path<i64>) -> Response {
    // Another product's page answers exactly like a missing one.
    let found = match state.store.product(id).await {
        Ok(p) => p.filter(|p| v.sees(p.id)),
        Err(e) => return internal(e),
    };
    let Some(p) = found else {
        return not_found("product");
    };
    let counts = match state
        .store
        .open_by_product(Some(id), crate::state::now())
        .await
    {
        Ok(c) => c,
        Err(e) => return internal(e),
    };
    let tree = match state.store.product_tree(id).await {
        Ok(t) => t,
        Err(e) => return internal(e),
    };
    let mut body = format!(
        "<p>Tier {} · platform {} · <a href=\"{}\">its findings in the queue</a> · \
         <a href=\"/ui/gate-runs?product={id}\">its gate runs</a> · \
         <a href=\"/ui/metrics?product={id}\">its metrics</a></p><h2>Open findings</h2>{}",
        optional(&p.tier),
        optional(&p.platform),
        queue_link(id, None),
        product_table(&counts),
    );
    body.push_str("<h2>Engagements</h2>");
    if tree.is_empty() {
        body.push_str("<p>No engagements.</p>");
    }
    for (e, tests) in &tree {
        let _ = write!(
            body,
            "<h3><a href=\"/ui/engagements/{}\">{}</a></h3>{}",
            e.item.id,
            esc(&e.item.name),
            test_rows(tests, id)
        );
    }
    viewer_page(&v, &p.name, &body).into_response()
}

/// `GET /ui/engagements/{id}`: an engagement's tests and their open findings.
pub async fn engagement(State(state): State<AppState>, v: Viewer, Path(id): Path<i64>) -> Response {
    let e = match state.store.engagement(id).await {
        Ok(Some(e)) if v.sees(e.product_id) => e,
        Ok(_) => return not_found("engagement"),
        Err(e) => return internal(e),
    };
    let product = match state.store.product(e.product_id).await {
        Ok(Some(p)) => p,
        Ok(None) => return not_found("engagement"),
        Err(e) => return internal(e),
    };
    let tests = match state.store.engagement_tests(&e).await {
        Ok(t) => t,
        Err(e) => return internal(e),
    };
    let body = format!(
        "<p>Product <a href=\"/ui/products/{}\">{}</a> · created {}</p><h2>Tests</h2>{}",
        product.id,
        esc(&product.name),
        crate::time::rfc3339(e.created_at),
        test_rows(&tests, product.id)
    );
    viewer_page(&v, &e.name, &body).into_response()
}

/// The trend of a test: open findings after each import, and what each import changed.
fn trend_chart(
    title: &str,
    imports: &[tollgate_store::ImportRecord],
    open_after: &[(i64, i64)],
) -> String {
    // Oldest first; at most the latest 60 imports drawn.
    let mut rows: Vec<&tollgate_store::ImportRecord> = imports.iter().rev().collect();
    if rows.len() > 60 {
        rows.drain(..rows.len() - 60);
    }
    let labels = rows.iter().map(|i| format!("#{}", i.id)).collect();
    let open = |id: i64| {
        open_after
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, n)| *n as f64)
    };
    let series = vec![
        Series {
            name: "open after".into(),
            values: rows.iter().map(|i| open(i.id)).collect(),
        },
        Series {
            name: "created".into(),
            values: rows.iter().map(|i| Some(i.created as f64)).collect(),
        },
        Series {
            name: "closed".into(),
            values: rows.iter().map(|i| Some(i.closed as f64)).collect(),
        },
        Series {
            name: "reactivated".into(),
            values: rows.iter().map(|i| Some(i.reactivated as f64)).collect(),
        },
    ];
    svg::render(&Chart {
        title: title.to_string(),
        unit: "findings".into(),
        kind: ChartKind::Lines,
        labels,
        series,
    })
}

/// `GET /ui/tests/{id}`: the import history of a test and its trend.
pub async fn test(State(state): State<AppState>, v: Viewer, Path(id): Path<i64>) -> Response {
    let t = match state.store.test(id).await {
        Ok(Some(t)) if v.sees(t.product_id) => t,
        Ok(_) => return not_found("test"),
        Err(e) => return internal(e),
    };
    let (product, engagement) = match (
        state.store.product(t.product_id).await,
        state.store.engagement(t.engagement_id).await,
    ) {
        (Ok(Some(p)), Ok(Some(e))) => (p, e),
        (Err(e), _) | (_, Err(e)) => return internal(e),
        _ => return not_found("test"),
    };
    let imports = match state.store.imports(id).await {
        Ok(i) => i,
        Err(e) => return internal(e),
    };
    let open_after = match state.store.open_after_imports(id).await {
        Ok(o) => o,
        Err(e) => return internal(e),
    };
    let mut body = format!(
        "<p>Product <a href=\"/ui/products/{}\">{}</a> · engagement <a href=\"/ui/engagements/{}\">{}</a> · \
         scan type {} · <a href=\"{}\">findings in the queue</a></p>",
        product.id,
        esc(&product.name),
        engagement.id,
        esc(&engagement.name),
        esc(&t.scan_type),
        queue_link(product.id, None),
    );
    if imports.is_empty() {
        body.push_str("<p>No imports.</p>");
    } else {
        let _ = write!(
            body,
            "<div class=\"chart\">{}</div>",
            trend_chart(
                &format!("{}: open findings after each import", t.title),
                &imports,
                &open_after
            )
        );
    }
    body.push_str(
        "<h2>Imports</h2><table class=\"imports\"><tr><th>Import</th><th>Kind</th><th>When</th><th>Scan date</th>\
         <th class=\"num\">created</th><th class=\"num\">closed</th><th class=\"num\">reactivated</th>\
         <th class=\"num\">untouched</th><th class=\"num\">open after</th><th>Version</th><th>Branch / tag</th>\
         <th>Commit</th><th>Build</th><th>By</th></tr>",
    );
    for i in &imports {
        let open = open_after
            .iter()
            .find(|(x, _)| *x == i.id)
            .map_or(String::new(), |(_, n)| n.to_string());
        let _ = write!(
            body,
            "<tr data-import=\"{}\"><td>#{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\" data-created>{}</td>\
             <td class=\"num\" data-closed>{}</td><td class=\"num\" data-reactivated>{}</td>\
             <td class=\"num\" data-untouched>{}</td><td class=\"num\" data-open>{open}</td><td>{}</td><td>{}</td>\
             <td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            i.id,
            i.id,
            esc(&i.kind),
            crate::time::rfc3339(i.created_at),
            optional(&i.scan_date),
            i.created,
            i.closed,
            i.reactivated,
            i.untouched,
            optional(&i.version),
            optional(&i.branch_tag),
            optional(&i.commit_hash),
            optional(&i.build_id),
            optional(&i.actor),
        );
    }
    body.push_str("</table>");
    viewer_page(&v, &t.title, &body).into_response()
}
