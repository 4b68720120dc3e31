//! Reads of the web UI's hub pages: the dashboard, products → engagements → tests, gate runs,
//! risk acceptances and waivers. Counts come from the aggregates the finding-event log keeps
//! (`open_by_age`), never from a scan of the findings; on a SQLite file every read goes through
//! the direct read path (see `sqlite_read`), so a page does not queue behind an import's writes.
//! Every read takes the one product the viewer is limited to, if any.

use crate::metrics::{Date, SEVERITIES};
use crate::sql::Sql;
use crate::{Backend, Result, Store, StoreError, Timestamp};
use serde::Serialize;
use std::collections::HashMap;

/// One value of a row read by [`Store::rows`]: integers, text or NULL (booleans are read as
/// `CASE … THEN 1 ELSE 0 END`, sums cast to BIGINT).
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Null,
    Int(i64),
    Text(String),
}

impl Cell {
    fn int(&self) -> i64 {
        match self {
            Cell::Int(v) => *v,
            Cell::Text(t) => t.parse().unwrap_or(0),
            Cell::Null => 0,
        }
    }
    fn opt_int(&self) -> Option<i64> {
        match self {
            Cell::Null => None,
            c => Some(c.int()),
        }
    }
    fn text(&self) -> String {
        self.opt_text().unwrap_or_default()
    }
    fn opt_text(&self) -> Option<String> {
        match self {
            Cell::Text(t) => Some(t.clone()),
            Cell::Int(v) => Some(v.to_string()),
            Cell::Null => None,
        }
    }
}

/// Open findings of one product by severity, with SLA breaches and new ones.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ProductOpen {
    pub product_id: i64,
    pub name: String,
    pub tier: Option<String>,
    pub platform: Option<String>,
    /// Open findings by severity rank (index 0 info … 4 critical).
    pub open: [i64; 5],
    /// Open findings older than their severity's SLA (by severity rank).
    pub breached: [i64; 5],
    /// Open findings first seen in the last 7 days (today included).
    pub new_this_week: i64,
}

impl ProductOpen {
    pub fn total(&self) -> i64 {
        self.open.iter().sum()
    }
    pub fn breached_total(&self) -> i64 {
        self.breached.iter().sum()
    }
}

/// An engagement or a test with its open findings by severity rank.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Counted<T> {
    pub item: T,
    pub open: [i64; 5],
    pub total: i64,
}

/// One gate run as lists show it (its summary's branch read from the stored JSON).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct GateRunRow {
    pub id: i64,
    pub product_id: i64,
    pub product_name: String,
    pub engagement_id: Option<i64>,
    pub engagement_name: Option<String>,
    pub created_at: Timestamp,
    /// PASS, WARN or FAIL.
    pub outcome: String,
    pub commit_hash: Option<String>,
    pub release_tag: Option<String>,
    pub artifact_sha256: Option<String>,
    pub branch: Option<String>,
}

/// A gate run and the summary `tollgate gate` sent, as sent.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct GateRunDetail {
    pub run: GateRunRow,
    pub body: serde_json::Value,
}

/// Filters of the gate-run list.
#[derive(Debug, Clone, Default)]
pub struct GateRunFilter {
    pub product: Option<i64>,
    /// PASS, WARN or FAIL.
    pub outcome: Option<String>,
    pub restrict_to_product: Option<i64>,
    pub limit: i64,
    pub offset: i64,
}

/// A finding closed as risk accepted, with the day its acceptance ends.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RiskAcceptance {
    pub finding_id: i64,
    pub product_id: i64,
    pub product_name: String,
    pub title: String,
    pub severity: i64,
    pub until: String,
}

/// The waivers (and a gate run's inputs) of the latest gate run of each product.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LatestRunPart {
    pub gate_run_id: i64,
    pub product_id: i64,
    pub product_name: String,
    pub created_at: Timestamp,
    /// The summary's `waivers` or `inputs` (JSON null when it has none).
    pub part: serde_json::Value,
    /// The summary's `reasons` (JSON null when it has none).
    pub reasons: serde_json::Value,
}

const GATE_RUN_COLUMNS: &str =
    "g.id, g.product_id, p.name, g.engagement_id, e.name, g.created_at, \
     g.outcome, g.commit_hash, g.release_tag, g.artifact_sha256";
const GATE_RUN_FROM: &str = " FROM gate_runs g JOIN products p ON p.id = g.product_id \
     LEFT JOIN engagements e ON e.id = g.engagement_id";

fn gate_run_row(r: &[Cell], branch: Option<String>) -> GateRunRow {
    GateRunRow {
        id: r[0].int(),
        product_id: r[1].int(),
        product_name: r[2].text(),
        engagement_id: r[3].opt_int(),
        engagement_name: r[4].opt_text(),
        created_at: r[5].int(),
        outcome: r[6].text(),
        commit_hash: r[7].opt_text(),
        release_tag: r[8].opt_text(),
        artifact_sha256: r[9].opt_text(),
        branch,
    }
}

fn severity_index(rank: i64) -> usize {
    rank.clamp(0, 4) as usize
}

impl Store {
    /// Runs a read and returns its rows as cells: on a SQLite file through the direct read path
    /// (never behind a writer), else through sqlx.
    async fn rows(&self, q: &Sql) -> Result<Vec<Vec<Cell>>> {
        if let Some(reader) = &self.reader {
            return reader.with(|conn| {
                let mut stmt = conn.prepare_cached(q.sqlite_text())?;
                let n = stmt.column_count();
                let mut rows = stmt.query(q.sqlite_params()?)?;
                let mut out = Vec::new();
                while let Some(row) = rows.next()? {
                    let mut cells = Vec::with_capacity(n);
                    for i in 0..n {
                        use rusqlite::types::ValueRef;
                        cells.push(match row.get_ref(i)? {
                            ValueRef::Null => Cell::Null,
                            ValueRef::Integer(v) => Cell::Int(v),
                            ValueRef::Real(v) => Cell::Int(v as i64),
                            ValueRef::Text(t) | ValueRef::Blob(t) => {
                                Cell::Text(String::from_utf8_lossy(t).into_owned())
                            }
                        });
                    }
                    out.push(cells);
                }
                Ok(out)
            });
        }
        use sqlx::any::AnyTypeInfoKind as K;
        use sqlx::{Column, Row, TypeInfo, ValueRef};
        let rows = q.query(self.backend)?.fetch_all(&self.pool).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut cells = Vec::with_capacity(row.columns().len());
            for i in 0..row.columns().len() {
                let raw = row.try_get_raw(i)?;
                let cell = if raw.is_null() {
                    Cell::Null
                } else {
                    match raw.type_info().kind() {
                        K::Bool => Cell::Int(i64::from(row.try_get::<bool, _>(i)?)),
                        K::SmallInt | K::Integer | K::BigInt => {
                            Cell::Int(row.try_get::<i64, _>(i)?)
                        }
                        K::Real | K::Double => Cell::Int(row.try_get::<f64, _>(i)? as i64),
                        K::Text => Cell::Text(row.try_get::<String, _>(i)?),
                        other => {
                            return Err(StoreError::Read(format!(
                                "column {} has the unexpected type {other:?} ({})",
                                row.columns()[i].name(),
                                raw.type_info().name()
                            )))
                        }
                    }
                };
                cells.push(cell);
            }
            out.push(cells);
        }
        Ok(out)
    }

    /// SQL of a text value at a JSON path of the column `body` (`path` as `a.b`).
    fn json_text(&self, column: &str, path: &str) -> String {
        match self.backend {
            Backend::Sqlite => format!(
                "(CASE WHEN json_valid({column}) THEN json_extract({column}, '$.{path}') END)"
            ),
            Backend::Postgres => format!(
                "(CASE WHEN {column} LIKE '{{%' THEN ({column}::jsonb #>> '{{{}}}') END)",
                path.replace('.', ",")
            ),
        }
    }

    /// SQL of the JSON text of the member `key` of the JSON object in `column`.
    fn json_member(&self, column: &str, key: &str) -> String {
        match self.backend {
            Backend::Sqlite => format!(
                "(CASE WHEN json_valid({column}) THEN json_extract({column}, '$.{key}') END)"
            ),
            Backend::Postgres => {
                format!(
                    "(CASE WHEN {column} LIKE '{{%' THEN ({column}::jsonb -> '{key}')::text END)"
                )
            }
        }
    }

    /// Every product the viewer may see, with its open findings by severity, SLA breaches and
    /// new ones — from the `open_by_age` aggregate, never the findings. `now` sets "today".
    pub async fn open_by_product(
        &self,
        restrict_to_product: Option<i64>,
        now: Timestamp,
    ) -> Result<Vec<ProductOpen>> {
        let today = now.div_euclid(86_400);
        let mut products = Sql::new("SELECT id, name, tier, platform FROM products WHERE 1 = 1");
        if let Some(p) = restrict_to_product {
            products.push(" AND id = ").arg(p);
        }
        products.push(" ORDER BY name, id");
        let mut out: Vec<ProductOpen> = self
            .rows(&products)
            .await?
            .iter()
            .map(|r| ProductOpen {
                product_id: r[0].int(),
                name: r[1].text(),
                tier: r[2].opt_text(),
                platform: r[3].opt_text(),
                ..ProductOpen::default()
            })
            .collect();
        // An open finding is past its SLA when first seen before today − SLA days.
        let mut cut = String::from("CASE a.severity");
        let mut args = Vec::new();
        for (rank, _) in SEVERITIES {
            if let Some(days) = self.sla.for_severity(crate::severity_from_rank(rank)) {
                cut.push_str(&format!(" WHEN {rank} THEN "));
                args.push(today - days);
                cut.push_str("$CUT");
            }
        }
        cut.push_str(" ELSE NULL END");
        let mut q = Sql::new(
            "SELECT a.product_id, a.severity, CAST(SUM(a.n) AS BIGINT), \
             CAST(SUM(CASE WHEN a.first_day >= ",
        );
        q.arg(today - 6)
            .push(" THEN a.n ELSE 0 END) AS BIGINT), CAST(SUM(CASE WHEN a.first_day < ");
        // The cut-offs, bound in order.
        let mut parts = cut.split("$CUT");
        q.push(parts.next().unwrap_or(""));
        for (arg, part) in args.into_iter().zip(parts) {
            q.arg(arg).push(part);
        }
        q.push(" THEN a.n ELSE 0 END) AS BIGINT) FROM open_by_age a WHERE a.n <> 0");
        if let Some(p) = restrict_to_product {
            q.push(" AND a.product_id = ").arg(p);
        }
        q.push(" GROUP BY a.product_id, a.severity");
        let index: HashMap<i64, usize> = out
            .iter()
            .enumerate()
            .map(|(i, p)| (p.product_id, i))
            .collect();
        for r in self.rows(&q).await? {
            let Some(&i) = index.get(&r[0].int()) else {
                continue;
            };
            let s = severity_index(r[1].int());
            out[i].open[s] += r[2].int();
            out[i].new_this_week += r[3].int();
            out[i].breached[s] += r[4].int();
        }
        Ok(out)
    }

    /// One engagement, if it exists (the caller checks who may see its product).
    pub async fn engagement(&self, id: i64) -> Result<Option<crate::Engagement>> {
        let mut q =
            Sql::new("SELECT id, product_id, name, created_at FROM engagements WHERE id = ");
        q.arg(id);
        Ok(self.rows(&q).await?.first().map(|r| crate::Engagement {
            id: r[0].int(),
            product_id: r[1].int(),
            name: r[2].text(),
            created_at: r[3].int(),
        }))
    }

    /// One test, if it exists (the caller checks who may see its product).
    pub async fn test(&self, id: i64) -> Result<Option<crate::Test>> {
        let page = self
            .tests(&crate::ListQuery {
                test_id: Some(id),
                limit: 1,
                ..crate::ListQuery::default()
            })
            .await?;
        Ok(page.results.into_iter().next())
    }

    /// Open findings by test and severity rank, of one product (and one engagement): from the
    /// index of the findings' test, severity and state alone (migration 0008), never their rows.
    async fn open_by_test(
        &self,
        product_id: i64,
        engagement_id: Option<i64>,
    ) -> Result<HashMap<i64, ([i64; 5], i64)>> {
        let mut q = Sql::new(
            "SELECT test_id, severity, CAST(SUM(CASE WHEN is_open THEN 1 ELSE 0 END) AS BIGINT), \
             COUNT(*) FROM findings WHERE test_id IN (SELECT id FROM tests WHERE product_id = ",
        );
        q.arg(product_id);
        if let Some(e) = engagement_id {
            q.push(" AND engagement_id = ").arg(e);
        }
        q.push(") GROUP BY test_id, severity");
        let mut out: HashMap<i64, ([i64; 5], i64)> = HashMap::new();
        for r in self.rows(&q).await? {
            let e = out.entry(r[0].int()).or_default();
            e.0[severity_index(r[1].int())] += r[2].int();
            e.1 += r[3].int();
        }
        Ok(out)
    }

    /// The engagements of a product, each with its tests, and their open findings.
    #[allow(clippy::type_complexity)]
    pub async fn product_tree(
        &self,
        product_id: i64,
    ) -> Result<Vec<(Counted<crate::Engagement>, Vec<Counted<crate::Test>>)>> {
        let engagements = self
            .engagements(&crate::ListQuery {
                product_id: Some(product_id),
                limit: crate::MAX_LIST_PAGE,
                ..crate::ListQuery::default()
            })
            .await?
            .results;
        let tests = self
            .tests(&crate::ListQuery {
                product_id: Some(product_id),
                limit: crate::MAX_LIST_PAGE,
                ..crate::ListQuery::default()
            })
            .await?
            .results;
        let counts = self.open_by_test(product_id, None).await?;
        Ok(group_tests(engagements, tests, &counts))
    }

    /// One engagement's tests and their open findings.
    pub async fn engagement_tests(
        &self,
        e: &crate::Engagement,
    ) -> Result<Vec<Counted<crate::Test>>> {
        let tests = self
            .tests(&crate::ListQuery {
                engagement_id: Some(e.id),
                limit: crate::MAX_LIST_PAGE,
                ..crate::ListQuery::default()
            })
            .await?
            .results;
        let counts = self.open_by_test(e.product_id, Some(e.id)).await?;
        Ok(group_tests(vec![e.clone()], tests, &counts)
            .into_iter()
            .flat_map(|(_, t)| t)
            .collect())
    }

    /// Open findings of a test right after each of its imports, oldest import first: (import
    /// id, open findings), as each import recorded them (`imports.open_after`, migration 0010).
    /// Imports older than that record have none and are left out. Triage between two imports
    /// shows at the next one.
    pub async fn open_after_imports(&self, test_id: i64) -> Result<Vec<(i64, i64)>> {
        let mut q = Sql::new("SELECT id, open_after FROM imports WHERE test_id = ");
        q.arg(test_id)
            .push(" AND open_after IS NOT NULL ORDER BY id");
        Ok(self
            .rows(&q)
            .await?
            .iter()
            .map(|r| (r[0].int(), r[1].int()))
            .collect())
    }

    /// A page of gate runs, newest first, and how many there are under the same filters.
    pub async fn gate_runs(&self, f: &GateRunFilter) -> Result<(Vec<GateRunRow>, i64)> {
        let filters = |q: &mut Sql| {
            if let Some(p) = f.restrict_to_product {
                q.push(" AND g.product_id = ").arg(p);
            }
            if let Some(p) = f.product {
                q.push(" AND g.product_id = ").arg(p);
            }
            if let Some(o) = &f.outcome {
                q.push(" AND g.outcome = ").arg(o.as_str());
            }
        };
        let mut count = Sql::new("SELECT COUNT(*) FROM gate_runs g WHERE 1 = 1");
        filters(&mut count);
        let total = self.rows(&count).await?.first().map_or(0, |r| r[0].int());
        let mut q = Sql::new(format!(
            "SELECT {GATE_RUN_COLUMNS}, {}{GATE_RUN_FROM} WHERE 1 = 1",
            self.json_text("g.body", "context.branch")
        ));
        filters(&mut q);
        q.push(" ORDER BY g.id DESC LIMIT ")
            .arg(f.limit.clamp(1, 500))
            .push(" OFFSET ")
            .arg(f.offset.max(0));
        let rows = self
            .rows(&q)
            .await?
            .iter()
            .map(|r| gate_run_row(r, r[10].opt_text()))
            .collect();
        Ok((rows, total))
    }

    /// One gate run with its summary, if it exists (the caller checks who may see its product).
    pub async fn gate_run(&self, id: i64) -> Result<Option<GateRunDetail>> {
        let mut q = Sql::new(format!(
            "SELECT {GATE_RUN_COLUMNS}, g.body{GATE_RUN_FROM} WHERE g.id = "
        ));
        q.arg(id);
        let Some(r) = self.rows(&q).await?.into_iter().next() else {
            return Ok(None);
        };
        // A body that is not JSON (it always is: the hub stores what serde wrote) reads as null.
        let body: serde_json::Value = serde_json::from_str(&r[10].text()).unwrap_or_default();
        let branch = body
            .pointer("/context/branch")
            .and_then(|b| b.as_str())
            .map(str::to_string);
        Ok(Some(GateRunDetail {
            run: gate_run_row(&r, branch),
            body,
        }))
    }

    /// The finding of `product_id` each fingerprint names (an open one first, else the newest):
    /// fingerprint → finding id.
    pub async fn findings_by_fingerprint(
        &self,
        product_id: i64,
        fingerprints: &[String],
    ) -> Result<HashMap<String, i64>> {
        let mut wanted: Vec<&str> = fingerprints.iter().map(String::as_str).collect();
        wanted.sort_unstable();
        wanted.dedup();
        let mut out: HashMap<String, (i64, i64)> = HashMap::new();
        for chunk in wanted.chunks(500) {
            // Through the (test_id, fingerprint) index: the product's tests, then the prints.
            let mut q = Sql::new(
                "SELECT fingerprint, id, CASE WHEN is_open THEN 1 ELSE 0 END FROM findings \
                 WHERE test_id IN (SELECT id FROM tests WHERE product_id = ",
            );
            q.arg(product_id).push(") AND fingerprint IN ");
            q.list(chunk.iter().copied());
            for r in self.rows(&q).await? {
                let key = (r[2].int(), r[1].int());
                let e = out.entry(r[0].text()).or_insert(key);
                if key > *e {
                    *e = key;
                }
            }
        }
        Ok(out.into_iter().map(|(k, (_, id))| (k, id)).collect())
    }

    /// Findings closed as risk accepted whose acceptance ends on or before `until_day`
    /// (YYYY-MM-DD; already ended ones included), soonest first.
    pub async fn risk_acceptances_ending(
        &self,
        restrict_to_product: Option<i64>,
        until_day: &str,
        limit: i64,
    ) -> Result<Vec<RiskAcceptance>> {
        let mut q = Sql::new(
            "SELECT f.id, f.product_id, p.name, f.title, f.severity, f.risk_accepted_until \
             FROM findings f JOIN products p ON p.id = f.product_id \
             WHERE f.risk_accepted_until IS NOT NULL AND f.risk_accepted_until <= ",
        );
        q.arg(until_day).push(" AND f.risk_accepted = ").arg(true);
        if let Some(p) = restrict_to_product {
            q.push(" AND f.product_id = ").arg(p);
        }
        q.push(" ORDER BY f.risk_accepted_until, f.id LIMIT ")
            .arg(limit.clamp(1, 5000));
        Ok(self
            .rows(&q)
            .await?
            .iter()
            .map(|r| RiskAcceptance {
                finding_id: r[0].int(),
                product_id: r[1].int(),
                product_name: r[2].text(),
                title: r[3].text(),
                severity: r[4].int(),
                until: r[5].text(),
            })
            .collect())
    }

    /// One part (`waivers`, `inputs`) of the summary of each product's latest gate run, and its
    /// reasons.
    pub async fn latest_run_parts(
        &self,
        restrict_to_product: Option<i64>,
        key: &str,
    ) -> Result<Vec<LatestRunPart>> {
        if !key.bytes().all(|c| c.is_ascii_lowercase() || c == b'_') {
            return Err(StoreError::Invalid(format!("no summary part {key:?}")));
        }
        let mut q = Sql::new(format!(
            "SELECT g.id, g.product_id, p.name, g.created_at, {}, {} FROM gate_runs g \
             JOIN products p ON p.id = g.product_id \
             WHERE g.id IN (SELECT MAX(id) FROM gate_runs GROUP BY product_id)",
            self.json_member("g.body", key),
            self.json_member("g.body", "reasons"),
        ));
        if let Some(p) = restrict_to_product {
            q.push(" AND g.product_id = ").arg(p);
        }
        q.push(" ORDER BY p.name, g.id");
        let parse = |c: &Cell| {
            c.opt_text()
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or_default()
        };
        Ok(self
            .rows(&q)
            .await?
            .iter()
            .map(|r| LatestRunPart {
                gate_run_id: r[0].int(),
                product_id: r[1].int(),
                product_name: r[2].text(),
                created_at: r[3].int(),
                part: parse(&r[4]),
                reasons: parse(&r[5]),
            })
            .collect())
    }
}

/// Engagements with their tests, each counted.
#[allow(clippy::type_complexity)]
fn group_tests(
    engagements: Vec<crate::Engagement>,
    tests: Vec<crate::Test>,
    counts: &HashMap<i64, ([i64; 5], i64)>,
) -> Vec<(Counted<crate::Engagement>, Vec<Counted<crate::Test>>)> {
    let mut out: Vec<(Counted<crate::Engagement>, Vec<Counted<crate::Test>>)> = engagements
        .into_iter()
        .map(|e| {
            (
                Counted {
                    item: e,
                    open: [0; 5],
                    total: 0,
                },
                Vec::new(),
            )
        })
        .collect();
    for t in tests {
        let (open, total) = counts.get(&t.id).copied().unwrap_or_default();
        if let Some((e, list)) = out.iter_mut().find(|(e, _)| e.item.id == t.engagement_id) {
            for (a, b) in e.open.iter_mut().zip(open) {
                *a += b;
            }
            e.total += total;
            list.push(Counted {
                item: t,
                open,
                total,
            });
        }
    }
    out
}

/// The day `days` after `now`'s UTC day, as YYYY-MM-DD.
pub fn day_after(now: Timestamp, days: i64) -> String {
    Date::from_days(now.div_euclid(86_400) + days).to_string()
}
