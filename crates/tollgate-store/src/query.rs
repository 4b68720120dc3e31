//! Reads: DefectDojo-style lists (limit/offset), the Results API's keyset pages, baselines.

use crate::context::{
    engagement_from_row, product_from_row, test_from_row, PRODUCT_COLUMNS, TEST_COLUMNS,
};
use crate::sql::{get_bool, get_i64, get_opt_i64, get_opt_str, get_str, Sql};
use crate::{
    severity_rank, Backend, BaselineEntry, ClosedAs, Engagement, FindingStatus, ImportRecord,
    ListQuery, Note, NoteKind, Page, Priority, Product, QueueRow, Result, ResultsQuery,
    StatusGroup, Store, StoreError, StoredFinding, Test, TestDetails,
};
use sqlx::any::AnyRow;
use tollgate_model::Finding;

/// The largest page of a DefectDojo-style list (the hub's `limit` cap).
pub const MAX_LIST_PAGE: i64 = 5000;

pub(crate) const FINDING_COLUMNS: &str = "f.id, f.product_id, f.engagement_id, f.test_id, d.data, \
     f.active, f.verified, f.false_p, f.out_of_scope, f.risk_accepted, f.risk_accepted_until, \
     f.is_mitigated, f.mitigated_at, f.mitigated_by, f.duplicate, f.permanently_closed, f.closed_as, \
     f.priority, f.triaged, f.created_import_id, t.last_import_id, f.first_seen, \
     CASE WHEN f.seen_in_last_import THEN COALESCE(li.created_at, f.last_seen) ELSE f.last_seen END AS last_seen, \
     f.updated_at, f.sla_due, ci.scan_date";

/// The finding, its test, its JSON, the import that created it (its `scan_date` is the
/// finding's date, as DefectDojo sets it) and its test's last import (the finding's `last_seen`
/// when that import reported it: migration 0016).
pub(crate) const FINDING_FROM: &str =
    " FROM findings f JOIN tests t ON t.id = f.test_id JOIN finding_data d ON d.finding_id = f.id \
     LEFT JOIN imports ci ON ci.id = f.created_import_id LEFT JOIN imports li ON li.id = t.last_import_id";

pub(crate) fn finding_from_row(row: &AnyRow) -> Result<StoredFinding> {
    let id = get_i64(row, "id")?;
    let data = get_str(row, "data")?;
    let finding: Finding = serde_json::from_str(&data)
        .map_err(|e| StoreError::Corrupt(format!("finding {id}: {e}")))?;
    let live = PageRow {
        id,
        product_id: get_i64(row, "product_id")?,
        engagement_id: get_i64(row, "engagement_id")?,
        test_id: get_i64(row, "test_id")?,
        active: get_bool(row, "active")?,
        verified: get_bool(row, "verified")?,
        false_p: get_bool(row, "false_p")?,
        out_of_scope: get_bool(row, "out_of_scope")?,
        risk_accepted: get_bool(row, "risk_accepted")?,
        risk_accepted_until: get_opt_str(row, "risk_accepted_until")?,
        is_mitigated: get_bool(row, "is_mitigated")?,
        mitigated_at: get_opt_i64(row, "mitigated_at")?,
        mitigated_by: get_opt_str(row, "mitigated_by")?,
        duplicate: get_bool(row, "duplicate")?,
        permanently_closed: get_bool(row, "permanently_closed")?,
        closed_as: get_opt_str(row, "closed_as")?,
        priority: get_opt_str(row, "priority")?,
        triaged: get_bool(row, "triaged")?,
        created_import_id: get_i64(row, "created_import_id")?,
        last_import_id: get_opt_i64(row, "last_import_id")?,
        first_seen: get_i64(row, "first_seen")?,
        last_seen: get_i64(row, "last_seen")?,
        updated_at: get_i64(row, "updated_at")?,
        sla_due: get_opt_str(row, "sla_due")?,
        scan_date: get_opt_str(row, "scan_date")?,
    };
    Ok(live.into_stored(finding))
}

/// The columns of a [`QueueRow`], from `findings f` alone, in the order
/// [`queue_row_from_sqlite_row`] reads them.
pub(crate) const QUEUE_COLUMNS: &str =
    "f.id, f.product_id, f.title, f.severity, f.scanner, f.location, \
     f.first_seen, f.sla_due, f.active, f.verified, f.false_p, f.out_of_scope, f.risk_accepted, \
     f.risk_accepted_until, f.is_mitigated, f.mitigated_at, f.mitigated_by, f.duplicate, \
     f.permanently_closed, f.closed_as, f.priority";

/// A row of [`QUEUE_COLUMNS`] read through sqlx (its `Any` rows, or PostgreSQL's own).
pub(crate) fn queue_row_from_row(row: &impl crate::sql::Columns) -> Result<QueueRow> {
    Ok(QueueRow {
        id: row.i64("id")?,
        product_id: row.i64("product_id")?,
        title: row.string("title")?,
        severity: crate::severity_from_rank(row.i64("severity")?),
        // NULL only before migration 0007's backfill wrote them.
        scanner: row.opt_string("scanner")?.unwrap_or_default(),
        location: row.opt_string("location")?.unwrap_or_default(),
        first_seen: row.i64("first_seen")?,
        sla_due: row.opt_string("sla_due")?,
        status: FindingStatus {
            active: row.boolean("active")?,
            verified: row.boolean("verified")?,
            false_p: row.boolean("false_p")?,
            out_of_scope: row.boolean("out_of_scope")?,
            risk_accepted: row.boolean("risk_accepted")?,
            risk_accepted_until: row.opt_string("risk_accepted_until")?,
            is_mitigated: row.boolean("is_mitigated")?,
            mitigated_at: row.opt_i64("mitigated_at")?,
            mitigated_by: row.opt_string("mitigated_by")?,
            duplicate: row.boolean("duplicate")?,
            permanently_closed: row.boolean("permanently_closed")?,
            closed_as: row
                .opt_string("closed_as")?
                .as_deref()
                .and_then(ClosedAs::from_str_opt),
            priority: row
                .opt_string("priority")?
                .as_deref()
                .and_then(Priority::from_str_opt),
        },
    })
}

/// A row of [`QUEUE_COLUMNS`] read by SQLite's direct path.
pub(crate) fn queue_row_from_sqlite_row(row: &rusqlite::Row<'_>) -> Result<QueueRow> {
    let text = |i: usize| -> Result<Option<String>> { Ok(row.get(i)?) };
    Ok(QueueRow {
        id: row.get(0)?,
        product_id: row.get(1)?,
        title: row.get(2)?,
        severity: crate::severity_from_rank(row.get(3)?),
        scanner: text(4)?.unwrap_or_default(),
        location: text(5)?.unwrap_or_default(),
        first_seen: row.get(6)?,
        sla_due: text(7)?,
        status: FindingStatus {
            active: row.get(8)?,
            verified: row.get(9)?,
            false_p: row.get(10)?,
            out_of_scope: row.get(11)?,
            risk_accepted: row.get(12)?,
            risk_accepted_until: text(13)?,
            is_mitigated: row.get(14)?,
            mitigated_at: row.get(15)?,
            mitigated_by: text(16)?,
            duplicate: row.get(17)?,
            permanently_closed: row.get(18)?,
            closed_as: text(19)?.as_deref().and_then(ClosedAs::from_str_opt),
            priority: text(20)?.as_deref().and_then(Priority::from_str_opt),
        },
    })
}

/// A row of `FINDING_COLUMNS` read by SQLite's direct path, the finding JSON parsed from
/// SQLite's own buffer.
pub(crate) fn finding_from_sqlite_row(row: &rusqlite::Row<'_>) -> Result<StoredFinding> {
    let id: i64 = row.get(0)?;
    let data = row
        .get_ref(4)?
        .as_str()
        .map_err(|e| StoreError::Corrupt(format!("finding {id}: {e}")))?;
    let finding: Finding = serde_json::from_str(data)
        .map_err(|e| StoreError::Corrupt(format!("finding {id}: {e}")))?;
    let live = PageRow {
        id,
        product_id: row.get(1)?,
        engagement_id: row.get(2)?,
        test_id: row.get(3)?,
        active: row.get(5)?,
        verified: row.get(6)?,
        false_p: row.get(7)?,
        out_of_scope: row.get(8)?,
        risk_accepted: row.get(9)?,
        risk_accepted_until: row.get(10)?,
        is_mitigated: row.get(11)?,
        mitigated_at: row.get(12)?,
        mitigated_by: row.get(13)?,
        duplicate: row.get(14)?,
        permanently_closed: row.get(15)?,
        closed_as: row.get(16)?,
        priority: row.get(17)?,
        triaged: row.get(18)?,
        created_import_id: row.get(19)?,
        last_import_id: row.get(20)?,
        first_seen: row.get(21)?,
        last_seen: row.get(22)?,
        updated_at: row.get(23)?,
        sla_due: row.get(24)?,
        scan_date: row.get(25)?,
    };
    Ok(live.into_stored(finding))
}

fn note_from_row(row: &AnyRow) -> Result<Note> {
    let kind = match get_str(row, "kind")?.as_str() {
        "question" => NoteKind::Question,
        "reply" => NoteKind::Reply,
        _ => NoteKind::Internal,
    };
    Ok(Note {
        id: get_i64(row, "id")?,
        finding_id: get_i64(row, "finding_id")?,
        author: get_str(row, "author")?,
        text: get_str(row, "text")?,
        kind,
        created_at: get_i64(row, "created_at")?,
    })
}

/// A page's rows and the total, under the same WHERE clause: counted by `count` (`SELECT … AS n`)
/// when given, else over the rows the WHERE clause selects.
async fn page<T>(
    store: &Store,
    select: &str,
    from_where: Sql,
    order: &str,
    q: &ListQuery,
    decode: fn(&AnyRow) -> Result<T>,
    count: Option<Sql>,
) -> Result<Page<T>> {
    let count = count.unwrap_or_else(|| {
        // Counting findings needs neither their test nor their JSON (the filters name only `f.`).
        let count_from = from_where
            .text
            .replacen(FINDING_FROM, " FROM findings f", 1);
        let mut count = Sql::new(format!("SELECT COUNT(*) AS n{count_from}"));
        count.args = from_where.args.clone();
        count
    });
    let total = get_i64(
        &count.query(store.backend)?.fetch_one(&store.pool).await?,
        "n",
    )?;
    let mut rows = Sql::new(format!("SELECT {select}{}", from_where.text));
    rows.args = from_where.args;
    rows.push(order)
        .push(" LIMIT ")
        .arg(q.limit.clamp(1, MAX_LIST_PAGE))
        .push(" OFFSET ")
        .arg(q.offset.max(0));
    let results = rows
        .query(store.backend)?
        .fetch_all(&store.pool)
        .await?
        .iter()
        .map(decode)
        .collect::<Result<Vec<_>>>()?;
    Ok(Page {
        count: total,
        results,
    })
}

impl Store {
    pub async fn products(&self, q: &ListQuery) -> Result<Page<Product>> {
        let mut w = Sql::new(" FROM products WHERE 1 = 1");
        if let Some(p) = q.restrict_to_product {
            w.push(" AND id = ").arg(p);
        }
        if let Some(name) = &q.name {
            w.push(" AND name = ").arg(name.as_str());
        }
        if let Some(p) = q.product_id {
            w.push(" AND id = ").arg(p);
        }
        page(
            self,
            PRODUCT_COLUMNS,
            w,
            " ORDER BY id",
            q,
            product_from_row,
            None,
        )
        .await
    }

    /// Every product's id and name, in id order (only `only`'s when given: a product-limited
    /// viewer), for pages that name products: one statement, no count, no page limit.
    pub async fn product_names_by_id(&self, only: Option<i64>) -> Result<Vec<(i64, String)>> {
        let mut q = Sql::new("SELECT id, name FROM products");
        if let Some(p) = only {
            q.push(" WHERE id = ").arg(p);
        }
        q.push(" ORDER BY id");
        q.query(self.backend)?
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| Ok((get_i64(r, "id")?, get_str(r, "name")?)))
            .collect()
    }

    pub async fn engagements(&self, q: &ListQuery) -> Result<Page<Engagement>> {
        let mut w = Sql::new(" FROM engagements WHERE 1 = 1");
        if let Some(p) = q.restrict_to_product {
            w.push(" AND product_id = ").arg(p);
        }
        if let Some(p) = q.product_id {
            w.push(" AND product_id = ").arg(p);
        }
        if let Some(e) = q.engagement_id {
            w.push(" AND id = ").arg(e);
        }
        if let Some(name) = &q.name {
            w.push(" AND name = ").arg(name.as_str());
        }
        page(
            self,
            "id, product_id, name, created_at",
            w,
            " ORDER BY id",
            q,
            engagement_from_row,
            None,
        )
        .await
    }

    pub async fn tests(&self, q: &ListQuery) -> Result<Page<Test>> {
        let mut w = Sql::new(" FROM tests WHERE 1 = 1");
        if let Some(p) = q.restrict_to_product {
            w.push(" AND product_id = ").arg(p);
        }
        if let Some(p) = q.product_id {
            w.push(" AND product_id = ").arg(p);
        }
        if let Some(e) = q.engagement_id {
            w.push(" AND engagement_id = ").arg(e);
        }
        if let Some(t) = q.test_id {
            w.push(" AND id = ").arg(t);
        }
        if let Some(name) = &q.name {
            w.push(" AND title = ").arg(name.as_str());
        }
        page(
            self,
            TEST_COLUMNS,
            w,
            " ORDER BY id",
            q,
            test_from_row,
            None,
        )
        .await
    }

    pub async fn findings(&self, q: &ListQuery) -> Result<Page<StoredFinding>> {
        let mut w = Sql::new(format!("{FINDING_FROM} WHERE 1 = 1"));
        if let Some(p) = q.restrict_to_product {
            w.push(" AND f.product_id = ").arg(p);
        }
        if let Some(p) = q.product_id {
            w.push(" AND f.product_id = ").arg(p);
        }
        if let Some(e) = q.engagement_id {
            w.push(" AND f.engagement_id = ").arg(e);
        }
        if let Some(t) = q.test_id {
            w.push(" AND f.test_id = ").arg(t);
        }
        if let Some(a) = q.active {
            w.push(" AND f.active = ").arg(a);
        }
        if let Some(s) = q.severity {
            w.push(" AND f.severity = ").arg(severity_rank(s));
        }
        if let Some(name) = &q.name {
            w.push(" AND f.title = ").arg(name.as_str());
        }
        // The filters the tallies keep (product, severity; migration 0012): the count is a sum of
        // their rows. COUNT(*) read every finding the filters left, for every page: 48-62 ms on
        // PostgreSQL and 13-18 ms on SQLite with a million findings (20 pages a second at 64
        // connections on PostgreSQL).
        let tallied = (q.engagement_id.is_none()
            && q.test_id.is_none()
            && q.active.is_none()
            && q.name.is_none())
        .then(|| {
            let mut count = Sql::new(
                "SELECT CAST(COALESCE(SUM(t.n), 0) AS BIGINT) AS n FROM finding_tallies t WHERE 1 = 1",
            );
            for p in [q.restrict_to_product, q.product_id].into_iter().flatten() {
                count.push(" AND t.product_id = ").arg(p);
            }
            if let Some(s) = q.severity {
                count.push(" AND t.severity = ").arg(severity_rank(s));
            }
            count
        });
        page(
            self,
            FINDING_COLUMNS,
            w,
            " ORDER BY f.id",
            q,
            finding_from_row,
            tallied,
        )
        .await
    }

    pub async fn product(&self, id: i64) -> Result<Option<Product>> {
        Sql::new(format!(
            "SELECT {PRODUCT_COLUMNS} FROM products WHERE id = "
        ))
        .arg(id)
        .query(self.backend)?
        .fetch_optional(&self.pool)
        .await?
        .map(|r| product_from_row(&r))
        .transpose()
    }

    pub async fn finding(&self, id: i64) -> Result<Option<StoredFinding>> {
        Sql::new(format!(
            "SELECT {FINDING_COLUMNS}{FINDING_FROM} WHERE f.id = "
        ))
        .arg(id)
        .query(self.backend)?
        .fetch_optional(&self.pool)
        .await?
        .map(|r| finding_from_row(&r))
        .transpose()
    }

    /// The notes of these findings, oldest first.
    pub async fn notes(&self, finding_ids: &[i64]) -> Result<Vec<Note>> {
        if finding_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for chunk in finding_ids.chunks(1000) {
            let mut q = Sql::new(
                "SELECT id, finding_id, author, text, kind, created_at FROM notes WHERE finding_id IN ",
            );
            q.list(chunk.iter().copied()).push(" ORDER BY id");
            for row in q.query(self.backend)?.fetch_all(&self.pool).await? {
                out.push(note_from_row(&row)?);
            }
        }
        Ok(out)
    }

    /// [`TestDetails`] of these tests (in no particular order; unknown ids are left out).
    pub async fn test_details(&self, test_ids: &[i64]) -> Result<Vec<TestDetails>> {
        let mut ids = test_ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let latest = |column: &str| {
            format!(
                "(SELECT i.{column} FROM imports i WHERE i.test_id = t.id AND i.{column} IS NOT NULL \
                 ORDER BY i.id DESC LIMIT 1) AS {column}"
            )
        };
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(1000) {
            let mut q = Sql::new(format!(
                "SELECT t.id, t.scan_type, {}, {}, {}, {} FROM tests t WHERE t.id IN ",
                latest("version"),
                latest("branch_tag"),
                latest("commit_hash"),
                latest("build_id")
            ));
            q.list(chunk.iter().copied());
            for row in q.query(self.backend)?.fetch_all(&self.pool).await? {
                out.push(TestDetails {
                    test_id: get_i64(&row, "id")?,
                    scan_type: get_str(&row, "scan_type")?,
                    version: get_opt_str(&row, "version")?,
                    branch_tag: get_opt_str(&row, "branch_tag")?,
                    commit_hash: get_opt_str(&row, "commit_hash")?,
                    build_id: get_opt_str(&row, "build_id")?,
                });
            }
        }
        Ok(out)
    }

    /// A test's import history, newest first.
    pub async fn imports(&self, test_id: i64) -> Result<Vec<ImportRecord>> {
        let rows = Sql::new(
            "SELECT id, test_id, kind, created_at, scan_date, created, closed, reactivated, untouched, \
             version, branch_tag, commit_hash, build_id, tags, actor FROM imports WHERE test_id = ",
        )
        .arg(test_id)
        .push(" ORDER BY id DESC")
        .query(self.backend)?
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ImportRecord {
                    id: get_i64(r, "id")?,
                    test_id: get_i64(r, "test_id")?,
                    kind: get_str(r, "kind")?,
                    created_at: get_i64(r, "created_at")?,
                    scan_date: get_opt_str(r, "scan_date")?,
                    created: get_i64(r, "created")?,
                    closed: get_i64(r, "closed")?,
                    reactivated: get_i64(r, "reactivated")?,
                    untouched: get_i64(r, "untouched")?,
                    version: get_opt_str(r, "version")?,
                    branch_tag: get_opt_str(r, "branch_tag")?,
                    commit_hash: get_opt_str(r, "commit_hash")?,
                    build_id: get_opt_str(r, "build_id")?,
                    tags: serde_json::from_str(&get_str(r, "tags")?).unwrap_or_default(),
                    actor: get_opt_str(r, "actor")?,
                })
            })
            .collect()
    }

    /// One keyset page of the Results API, ordered by id, plus the total under the same filters.
    /// Totals without `results_since` come from per-product counters, never from a scan.
    pub async fn security_findings(&self, q: &ResultsQuery) -> Result<(Vec<StoredFinding>, i64)> {
        let product = match (q.product_id, q.restrict_to_product) {
            (Some(a), Some(b)) if a != b => return Ok((Vec::new(), 0)),
            (a, b) => a.or(b),
        };
        let filters = |s: &mut Sql, after: Option<i64>| {
            if let Some(p) = product {
                s.push(" AND f.product_id = ").arg(p);
            }
            if let Some(g) = q.status_group {
                s.push(" AND f.is_open = ").arg(g == StatusGroup::Open);
            }
            if let Some(since) = q.results_since {
                s.push(" AND f.updated_at >= ").arg(since);
            }
            if let Some(after) = after {
                s.push(" AND f.id > ").arg(after);
            }
        };
        // The total: carried by the cursor; else from the per-product counters (in the page's own
        // statement, below); with results_since, counted.
        let mut total = q.known_total;
        if total.is_none() && q.results_since.is_some() {
            let mut c = Sql::new(format!("SELECT COUNT(*) AS n{FINDING_FROM} WHERE 1 = 1"));
            filters(&mut c, None);
            total = Some(get_i64(
                &c.query(self.backend)?.fetch_one(&self.pool).await?,
                "n",
            )?);
        }
        // The total from the per-product counters (when neither the cursor nor a count gave it).
        let counter_total = |s: &mut Sql| {
            let column = match q.status_group {
                Some(StatusGroup::Open) => "open_count",
                Some(StatusGroup::Closed) => "closed_count",
                None => "open_count + closed_count",
            };
            s.push(&format!(
                "(SELECT CAST(COALESCE(SUM({column}), 0) AS BIGINT) FROM products"
            ));
            if let Some(p) = product {
                s.push(" WHERE id = ").arg(p);
            }
            s.push(")");
        };
        if let Some(reader) = &self.reader {
            let mut page = Sql::new(format!(
                "SELECT {FINDING_COLUMNS}{FINDING_FROM} WHERE 1 = 1"
            ));
            filters(&mut page, q.after_id);
            page.push(" ORDER BY f.id LIMIT ")
                .arg(q.page_size.clamp(1, 1000));
            let count = total.is_none().then(|| {
                let mut c = Sql::new("SELECT ");
                counter_total(&mut c);
                c
            });
            return reader.with(|conn| {
                // One read transaction: the page and the counters from the same snapshot.
                let tx = conn.unchecked_transaction()?;
                let mut findings = Vec::new();
                {
                    let mut stmt = tx.prepare_cached(page.sqlite_text())?;
                    let mut rows = stmt.query(page.sqlite_params()?)?;
                    while let Some(row) = rows.next()? {
                        findings.push(finding_from_sqlite_row(row)?);
                    }
                }
                let total = match (total, count) {
                    (Some(t), _) => t,
                    (None, Some(c)) => tx
                        .prepare_cached(c.sqlite_text())?
                        .query_row(c.sqlite_params()?, |r| r.get(0))?,
                    (None, None) => 0,
                };
                tx.finish()?;
                Ok((findings, total))
            });
        }
        // Elsewhere (PostgreSQL, SQLite in memory) the page comes back as one aggregate that serde
        // reads straight into typed rows: row by row, the driver's per-row hand-off between threads
        // and the conversions of 25 columns cost more than the query itself.
        // Each row: its live fields as a small JSON object, U+001F, then the stored finding JSON as
        // is (not escaped into the aggregate and back); rows joined by U+001D. Neither separator
        // can occur raw in JSON text.
        let (aggregate, object, cast, data, close) = match self.backend {
            Backend::Sqlite => (
                "group_concat(",
                "json_object(",
                "",
                "|| char(31) || p.data",
                ", char(29))",
            ),
            Backend::Postgres => (
                "string_agg(",
                "json_build_object(",
                "::text",
                "|| chr(31) || p.data",
                ", chr(29))",
            ),
        };
        let mut rows = Sql::new("SELECT ");
        if total.is_none() {
            counter_total(&mut rows);
            rows.push(" AS total, ");
        } else {
            rows.push("-1 AS total, ");
        }
        rows.push(&format!(
            "{aggregate}{object}'id', p.id, 'product_id', p.product_id, 'engagement_id', p.engagement_id, \
             'test_id', p.test_id, 'active', p.active, 'verified', p.verified, 'false_p', p.false_p, \
             'out_of_scope', p.out_of_scope, 'risk_accepted', p.risk_accepted, \
             'risk_accepted_until', p.risk_accepted_until, 'is_mitigated', p.is_mitigated, \
             'mitigated_at', p.mitigated_at, 'mitigated_by', p.mitigated_by, 'duplicate', p.duplicate, \
             'permanently_closed', p.permanently_closed, 'closed_as', p.closed_as, 'priority', p.priority, \
             'triaged', p.triaged, 'created_import_id', p.created_import_id, 'last_import_id', p.last_import_id, \
             'first_seen', p.first_seen, 'last_seen', p.last_seen, 'updated_at', p.updated_at, \
             'sla_due', p.sla_due, 'scan_date', p.scan_date){cast} {data}{close} AS page FROM (SELECT {FINDING_COLUMNS}{FINDING_FROM} WHERE 1 = 1"
        ));
        filters(&mut rows, q.after_id);
        rows.push(" ORDER BY f.id LIMIT ")
            .arg(q.page_size.clamp(1, 1000))
            .push(") p");
        let row = rows.query(self.backend)?.fetch_one(&self.pool).await?;
        let total = match total {
            Some(t) => t,
            None => get_i64(&row, "total")?,
        };
        let text = get_opt_str(&row, "page")?.unwrap_or_default();
        let mut findings = Vec::new();
        for item in text.split('\u{1d}').filter(|i| !i.is_empty()) {
            let corrupt =
                |e: serde_json::Error| StoreError::Corrupt(format!("a page of findings: {e}"));
            let (live, data) = item.split_once('\u{1f}').unwrap_or((item, "{}"));
            let row: PageRow = serde_json::from_str(live).map_err(corrupt)?;
            let finding: Finding = serde_json::from_str(data).map_err(corrupt)?;
            findings.push(row.into_stored(finding));
        }
        // An aggregate's order is the database's business: restore ours.
        findings.sort_by_key(|f| f.id);
        Ok((findings, total))
    }

    /// Every fingerprint the product (or one engagement of it) has seen, and what became of it.
    pub async fn baseline(
        &self,
        product_name: &str,
        engagement_name: Option<&str>,
        restrict_to_product: Option<i64>,
    ) -> Result<(i64, Option<i64>, Vec<BaselineEntry>)> {
        let mut conn = self.pool.acquire().await?;
        let product_id = self
            .product_id_by_name(&mut conn, product_name)
            .await?
            .filter(|id| restrict_to_product.is_none_or(|r| r == *id))
            .ok_or_else(|| {
                StoreError::NotFound(format!("product {product_name:?} does not exist"))
            })?;
        let engagement_id = match engagement_name {
            Some(name) => Some(
                self.engagement_id_by_name(&mut conn, product_id, name)
                    .await?
                    .ok_or_else(|| {
                        StoreError::NotFound(format!(
                            "engagement {name:?} of product {product_name:?} does not exist"
                        ))
                    })?,
            ),
            None => None,
        };
        let mut q = Sql::new(format!(
            "SELECT {} FROM findings WHERE product_id = ",
            crate::import::EXISTING_COLUMNS
        ));
        q.arg(product_id);
        if let Some(e) = engagement_id {
            q.push(" AND engagement_id = ").arg(e);
        }
        q.push(" ORDER BY id");
        let mut out: Vec<BaselineEntry> = Vec::new();
        let mut index = std::collections::HashMap::new();
        for row in q.query(self.backend)?.fetch_all(&mut *conn).await? {
            let fingerprint = get_str(&row, "fingerprint")?;
            let status = FindingStatus {
                active: get_bool(&row, "active")?,
                false_p: get_bool(&row, "false_p")?,
                out_of_scope: get_bool(&row, "out_of_scope")?,
                risk_accepted: get_bool(&row, "risk_accepted")?,
                is_mitigated: get_bool(&row, "is_mitigated")?,
                closed_as: get_opt_str(&row, "closed_as")?
                    .as_deref()
                    .and_then(ClosedAs::from_str_opt),
                ..FindingStatus::default()
            };
            let entry = BaselineEntry {
                fingerprint: fingerprint.clone(),
                open: status.is_open(),
                status: status.word().into(),
            };
            // One fingerprint in several tests: an open occurrence wins.
            match index.get(&fingerprint) {
                Some(&i) => {
                    let prev: &mut BaselineEntry = &mut out[i];
                    if !prev.open && entry.open {
                        *prev = entry;
                    }
                }
                None => {
                    index.insert(fingerprint, out.len());
                    out.push(entry);
                }
            }
        }
        Ok((product_id, engagement_id, out))
    }
}

/// The live columns of a finding, however they were read (a sqlx row, SQLite's direct path, or a
/// page aggregate, where flags are JSON booleans from PostgreSQL and 0/1 from SQLite); one place
/// turns them into a [`StoredFinding`].
#[derive(serde::Deserialize)]
struct PageRow {
    id: i64,
    product_id: i64,
    engagement_id: i64,
    test_id: i64,
    #[serde(deserialize_with = "flag")]
    active: bool,
    #[serde(deserialize_with = "flag")]
    verified: bool,
    #[serde(deserialize_with = "flag")]
    false_p: bool,
    #[serde(deserialize_with = "flag")]
    out_of_scope: bool,
    #[serde(deserialize_with = "flag")]
    risk_accepted: bool,
    risk_accepted_until: Option<String>,
    #[serde(deserialize_with = "flag")]
    is_mitigated: bool,
    mitigated_at: Option<i64>,
    mitigated_by: Option<String>,
    #[serde(deserialize_with = "flag")]
    duplicate: bool,
    #[serde(deserialize_with = "flag")]
    permanently_closed: bool,
    closed_as: Option<String>,
    priority: Option<String>,
    #[serde(deserialize_with = "flag")]
    triaged: bool,
    created_import_id: i64,
    last_import_id: Option<i64>,
    first_seen: i64,
    last_seen: i64,
    updated_at: i64,
    sla_due: Option<String>,
    /// The `scan_date` of the import that created the finding.
    #[serde(default)]
    scan_date: Option<String>,
}

fn flag<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<bool, D::Error> {
    struct Flag;
    impl serde::de::Visitor<'_> for Flag {
        type Value = bool;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a boolean or 0/1")
        }
        fn visit_bool<E>(self, v: bool) -> std::result::Result<bool, E> {
            Ok(v)
        }
        fn visit_i64<E>(self, v: i64) -> std::result::Result<bool, E> {
            Ok(v != 0)
        }
        fn visit_u64<E>(self, v: u64) -> std::result::Result<bool, E> {
            Ok(v != 0)
        }
    }
    d.deserialize_any(Flag)
}

impl PageRow {
    fn into_stored(self, finding: Finding) -> StoredFinding {
        let status = FindingStatus {
            active: self.active,
            verified: self.verified,
            false_p: self.false_p,
            out_of_scope: self.out_of_scope,
            risk_accepted: self.risk_accepted,
            risk_accepted_until: self.risk_accepted_until,
            is_mitigated: self.is_mitigated,
            mitigated_at: self.mitigated_at,
            mitigated_by: self.mitigated_by,
            duplicate: self.duplicate,
            permanently_closed: self.permanently_closed,
            closed_as: self.closed_as.as_deref().and_then(ClosedAs::from_str_opt),
            priority: self.priority.as_deref().and_then(Priority::from_str_opt),
        };
        let is_new = status.is_open()
            && !self.triaged
            && self.last_import_id == Some(self.created_import_id);
        StoredFinding {
            id: self.id,
            product_id: self.product_id,
            engagement_id: self.engagement_id,
            test_id: self.test_id,
            finding,
            status,
            is_new,
            triaged: self.triaged,
            first_seen: self.first_seen,
            last_seen: self.last_seen,
            updated_at: self.updated_at,
            sla_due: self.sla_due,
            scan_date: self.scan_date,
        }
    }
}
