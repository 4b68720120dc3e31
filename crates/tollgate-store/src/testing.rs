//! Test support shared by the store's and the server's tests (not for production use).

use sqlx::{Connection, Executor};

/// Creates a new, empty database on the PostgreSQL server of `base_url` (e.g.
/// `postgres://postgres@127.0.0.1:5432/test`) and returns its URL. Each test gets its own, so
/// tests run in parallel without seeing each other's rows.
pub async fn fresh_postgres_database(base_url: &str) -> Result<String, sqlx::Error> {
    sqlx::any::install_default_drivers();
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let name = format!(
        "tollgate_t_{}_{}_{}",
        std::process::id(),
        nanos % 1_000_000_000,
        N.fetch_add(1, Ordering::Relaxed)
    );
    let mut conn = sqlx::AnyConnection::connect(base_url).await?;
    static SWEPT: std::sync::Once = std::sync::Once::new();
    let mut sweep = false;
    SWEPT.call_once(|| sweep = true);
    if sweep {
        drop_databases_of_ended_tests(&mut conn, base_url).await;
    }
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await?;
    conn.close().await?;
    let (prefix, rest) = match base_url.rfind('/') {
        Some(i) if i > base_url.find("://").map_or(0, |s| s + 2) => base_url.split_at(i),
        _ => (base_url, ""),
    };
    let query = rest.find('?').map_or("", |q| &rest[q..]);
    Ok(format!("{prefix}/{name}{query}"))
}

/// Drops the databases earlier test processes made on this machine's server and left behind
/// (each test's database outlives it, for a look after a failure): those named for a process
/// that is no longer running. Only for a server on this machine (`localhost`, `127.0.0.1`,
/// `[::1]`), where a process id says whether its tests still run; best effort, errors ignored.
async fn drop_databases_of_ended_tests(conn: &mut sqlx::AnyConnection, base_url: &str) {
    let local = [
        "@localhost",
        "@127.0.0.1",
        "@[::1]",
        "://localhost",
        "://127.0.0.1",
        "://[::1]",
    ]
    .iter()
    .any(|h| base_url.contains(h));
    if !local || !std::path::Path::new("/proc/self").exists() {
        return;
    }
    let Ok(rows) = sqlx::query(
        "SELECT CAST(datname AS TEXT) AS name FROM pg_database WHERE datname LIKE 'tollgate\\_t\\_%'",
    )
    .fetch_all(&mut *conn)
    .await
    else {
        return;
    };
    for row in rows {
        let Ok(name) = crate::sql::get_str(&row, "name") else {
            continue;
        };
        let Some(pid) = name
            .strip_prefix("tollgate_t_")
            .and_then(|rest| rest.split('_').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        let ended = !std::path::Path::new(&format!("/proc/{pid}")).exists();
        if ended && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            let _ = conn
                .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                .await;
        }
    }
}

/// What migration 0006 derives from earlier data: `open_daily` (product, day, severity, delta;
/// rows of delta 0 left out), `gate_run_blocks` (run, rule, findings), each finding's category
/// and `open_by_age` (product, severity, mobile, first day, n; rows of 0 left out), in key order.
pub type MetricTables = (
    Vec<(i64, i64, i64, i64)>,
    Vec<(i64, String, i64)>,
    Vec<(i64, Option<String>)>,
    Vec<(i64, i64, i64, i64, i64)>,
    Vec<(i64, i64, i64, i64, i64)>,
    Vec<(i64, i64, i64, i64, i64, i64)>,
);

pub async fn metric_tables(store: &crate::Store) -> crate::Result<MetricTables> {
    use crate::sql::{get_i64, get_opt_str, get_str, Sql};
    let b = store.backend;
    let daily = Sql::new(
        "SELECT product_id, day, severity, delta FROM open_daily WHERE delta <> 0 \
         ORDER BY product_id, day, severity",
    )
    .query(b)?
    .fetch_all(&store.pool)
    .await?
    .iter()
    .map(|r| {
        Ok((
            get_i64(r, "product_id")?,
            get_i64(r, "day")?,
            get_i64(r, "severity")?,
            get_i64(r, "delta")?,
        ))
    })
    .collect::<crate::Result<_>>()?;
    let blocks = Sql::new(
        "SELECT gate_run_id, rule, findings FROM gate_run_blocks ORDER BY gate_run_id, rule, findings",
    )
    .query(b)?
    .fetch_all(&store.pool)
    .await?
    .iter()
    .map(|r| {
        Ok((
            get_i64(r, "gate_run_id")?,
            get_str(r, "rule")?,
            get_i64(r, "findings")?,
        ))
    })
    .collect::<crate::Result<_>>()?;
    let categories = Sql::new("SELECT id, category FROM findings ORDER BY id")
        .query(b)?
        .fetch_all(&store.pool)
        .await?
        .iter()
        .map(|r| Ok((get_i64(r, "id")?, get_opt_str(r, "category")?)))
        .collect::<crate::Result<_>>()?;
    let ages = Sql::new(
        "SELECT product_id, severity, mobile, first_day, n FROM open_by_age WHERE n <> 0 \
         ORDER BY product_id, severity, mobile, first_day",
    )
    .query(b)?
    .fetch_all(&store.pool)
    .await?
    .iter()
    .map(|r| {
        Ok((
            get_i64(r, "product_id")?,
            get_i64(r, "severity")?,
            get_i64(r, "mobile")?,
            get_i64(r, "first_day")?,
            get_i64(r, "n")?,
        ))
    })
    .collect::<crate::Result<_>>()?;
    let remediations = Sql::new(
        "SELECT finding_id, product_id, severity, at, seconds FROM remediations \
         ORDER BY finding_id, at",
    )
    .query(b)?
    .fetch_all(&store.pool)
    .await?
    .iter()
    .map(|r| {
        Ok((
            get_i64(r, "finding_id")?,
            get_i64(r, "product_id")?,
            get_i64(r, "severity")?,
            get_i64(r, "at")?,
            get_i64(r, "seconds")?,
        ))
    })
    .collect::<crate::Result<_>>()?;
    let remediation_daily = Sql::new(
        "SELECT product_id, severity, day, days_taken, n, seconds FROM remediation_daily \
         ORDER BY product_id, severity, day, days_taken",
    )
    .query(b)?
    .fetch_all(&store.pool)
    .await?
    .iter()
    .map(|r| {
        Ok((
            get_i64(r, "product_id")?,
            get_i64(r, "severity")?,
            get_i64(r, "day")?,
            get_i64(r, "days_taken")?,
            get_i64(r, "n")?,
            get_i64(r, "seconds")?,
        ))
    })
    .collect::<crate::Result<_>>()?;
    Ok((
        daily,
        blocks,
        categories,
        ages,
        remediations,
        remediation_daily,
    ))
}

/// Empties what migration 0006 derived and runs its derivations again on the data as it is now
/// (the statements of the migration file itself), so a test can hold them to what the store
/// keeps as it goes.
pub async fn rerun_metric_backfill(store: &crate::Store) -> crate::Result<()> {
    let migration = match store.backend {
        crate::Backend::Sqlite => include_str!("../migrations/sqlite/0006_promotions.sql"),
        crate::Backend::Postgres => include_str!("../migrations/postgres/0006_promotions.sql"),
    };
    let statement = |start: &str| -> crate::Result<String> {
        let from = migration.find(start).ok_or_else(|| {
            crate::StoreError::Corrupt(format!("migration 0006 has no {start:?}"))
        })?;
        let len = migration[from..]
            .find(';')
            .unwrap_or(migration.len() - from);
        Ok(migration[from..from + len].to_string())
    };
    let mut tx = store.pool.begin().await?;
    for sql in [
        "DELETE FROM open_daily".to_string(),
        "DELETE FROM gate_run_blocks".to_string(),
        "DELETE FROM open_by_age".to_string(),
        "DELETE FROM remediations".to_string(),
        "DELETE FROM remediation_daily".to_string(),
        "UPDATE findings SET category = NULL".to_string(),
        statement("INSERT INTO gate_run_blocks")?,
        statement("UPDATE findings")?,
        statement("INSERT INTO open_daily")?,
        statement("INSERT INTO open_by_age")?,
        statement("INSERT INTO remediations")?,
        statement("INSERT INTO remediation_daily")?,
    ] {
        tx.execute(sql.as_str()).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Empties what migration 0007 derived (the queue's scanner and location columns, the finding
/// facets) and runs its backfill statements again on the data as it is now, and on PostgreSQL
/// those of migration 0019 (the facets' severity) after them, so a test can hold them to what
/// imports write.
pub async fn rerun_queue_backfill(store: &crate::Store) -> crate::Result<()> {
    let migrations: &[&str] = match store.backend {
        crate::Backend::Sqlite => &[include_str!("../migrations/sqlite/0007_findings_queue.sql")],
        crate::Backend::Postgres => &[
            include_str!("../migrations/postgres/0007_findings_queue.sql"),
            include_str!("../migrations/postgres/0019_facet_severity.sql"),
        ],
    };
    let mut tx = store.pool.begin().await?;
    tx.execute("UPDATE findings SET scanner = NULL, location = NULL")
        .await?;
    tx.execute("DELETE FROM finding_facets").await?;
    if store.backend == crate::Backend::Postgres {
        // 0007 writes facets without their severity; 0019 fills it in, as on a hub migrated
        // from before it.
        tx.execute("ALTER TABLE finding_facets ALTER COLUMN severity DROP NOT NULL")
            .await?;
    }
    for migration in migrations {
        for statement in migration.split(';') {
            let sql: String = statement
                .lines()
                .filter(|l| !l.trim_start().starts_with("--"))
                .collect::<Vec<_>>()
                .join("\n");
            let sql = sql.trim();
            if sql.starts_with("UPDATE") || sql.starts_with("INSERT") {
                tx.execute(sql).await?;
            }
        }
    }
    if store.backend == crate::Backend::Postgres {
        tx.execute("ALTER TABLE finding_facets ALTER COLUMN severity SET NOT NULL")
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Every facet row as `kind:value:finding_id[:severity]` (the severity where the facets carry
/// it: PostgreSQL), sorted: what a test compares before and after a backfill.
pub async fn facet_rows(store: &crate::Store) -> crate::Result<Vec<String>> {
    let severity = match store.backend {
        crate::Backend::Postgres => " || ':' || CAST(severity AS TEXT)",
        crate::Backend::Sqlite => "",
    };
    let sql = format!(
        "SELECT kind || ':' || value || ':' || CAST(finding_id AS TEXT){severity} AS r \
         FROM finding_facets ORDER BY 1"
    );
    let rows: Vec<String> = sqlx::query_scalar(&sql).fetch_all(&store.pool).await?;
    Ok(rows)
}

/// A PostgreSQL table's storage options (`pg_class.reloptions`, e.g.
/// `{autovacuum_vacuum_scale_factor=0.05,…}`), None when it has none or on SQLite.
pub async fn table_options(store: &crate::Store, table: &str) -> crate::Result<Option<String>> {
    if store.backend != crate::Backend::Postgres {
        return Ok(None);
    }
    let options: Option<String> = sqlx::query_scalar(
        "SELECT CAST(reloptions AS TEXT) FROM pg_class WHERE relname = $1 AND relkind = 'r'",
    )
    .bind(table)
    .fetch_optional(&store.pool)
    .await?
    .flatten();
    Ok(options)
}

/// How many times PostgreSQL has vacuumed and analyzed `table` (by hand or by autovacuum) since
/// it was made.
pub async fn maintenance_counts(store: &crate::Store, table: &str) -> crate::Result<(i64, i64)> {
    let row: Option<(i64, i64)> = sqlx::query_as(
        "SELECT CAST(vacuum_count + autovacuum_count AS BIGINT), \
         CAST(analyze_count + autoanalyze_count AS BIGINT) FROM pg_stat_user_tables \
         WHERE relname = $1",
    )
    .bind(table)
    .fetch_optional(&store.pool)
    .await?;
    Ok(row.unwrap_or((0, 0)))
}

/// PostgreSQL: each product's number of changes (migration 0018), by product id; empty on
/// SQLite.
pub async fn product_changes(
    store: &crate::Store,
) -> crate::Result<std::collections::BTreeMap<i64, i64>> {
    if store.backend != crate::Backend::Postgres {
        return Ok(Default::default());
    }
    let rows: Vec<(i64, i64)> = sqlx::query_as("SELECT id, changes FROM products")
        .fetch_all(&store.pool)
        .await?;
    Ok(rows.into_iter().collect())
}

/// How many times PostgreSQL has vacuumed `table` since it was made.
pub async fn vacuum_count(store: &crate::Store, table: &str) -> crate::Result<i64> {
    Ok(maintenance_counts(store, table).await?.0)
}

/// PostgreSQL: the findings' rows written since the store's last `VACUUM (ANALYZE)` of them
/// began, and whether one is running now (`Store::vacuum_after_writes`).
pub fn vacuum_state(store: &crate::Store) -> (i64, bool) {
    use std::sync::atomic::Ordering;
    (
        store.written_since_vacuum.load(Ordering::Acquire),
        store.vacuuming.load(Ordering::Acquire),
    )
}

/// The rows where the tallies (migration 0012) differ from counting the findings: for
/// `finding_tallies` and `facet_tallies`, the groups counted one way and not the other (a tally
/// of 0 is no group). Empty when the triggers kept them exactly.
pub async fn tally_drift(store: &crate::Store) -> crate::Result<Vec<String>> {
    const KEY: &str = "CAST(product_id AS TEXT) || '|' || scanner || '|' || category || '|' || \
        CAST(severity AS TEXT) || '|' || CAST(o AS TEXT) || CAST(fp AS TEXT) || CAST(ra AS TEXT) || \
        CAST(m AS TEXT) || '|' || CAST(n AS TEXT)";
    let flags = |p: &str| {
        format!(
            "CASE WHEN {p}is_open THEN 1 ELSE 0 END AS o, CASE WHEN {p}false_p THEN 1 ELSE 0 END AS fp, \
             CASE WHEN {p}risk_accepted THEN 1 ELSE 0 END AS ra, \
             CASE WHEN {p}is_mitigated THEN 1 ELSE 0 END AS m"
        )
    };
    let counted = format!(
        "SELECT product_id, COALESCE(scanner, '') AS scanner, COALESCE(category, '') AS category, \
         severity, {}, COUNT(*) AS n FROM findings \
         GROUP BY product_id, COALESCE(scanner, ''), COALESCE(category, ''), severity, \
         is_open, false_p, risk_accepted, is_mitigated",
        flags("")
    );
    let tallied = format!(
        "SELECT product_id, scanner, category, severity, {}, n FROM finding_tallies WHERE n <> 0",
        flags("")
    );
    let facets_counted = format!(
        "SELECT x.kind, x.value, f.product_id, COALESCE(f.scanner, '') AS scanner, \
         COALESCE(f.category, '') AS category, f.severity, {}, COUNT(*) AS n \
         FROM finding_facets x JOIN findings f ON f.id = x.finding_id \
         GROUP BY x.kind, x.value, f.product_id, COALESCE(f.scanner, ''), COALESCE(f.category, ''), \
         f.severity, f.is_open, f.false_p, f.risk_accepted, f.is_mitigated",
        flags("f.")
    );
    let facets_tallied = format!(
        "SELECT kind, value, product_id, scanner, category, severity, {}, n \
         FROM facet_tallies WHERE n <> 0",
        flags("")
    );
    let mut drift = Vec::new();
    for (table, a, b, facet) in [
        ("finding_tallies", &counted, &tallied, false),
        ("facet_tallies", &facets_counted, &facets_tallied, true),
    ] {
        let key = if facet {
            format!("kind || ':' || value || '|' || {KEY}")
        } else {
            KEY.to_string()
        };
        for (what, x, y) in [
            ("counted, not tallied", a, b),
            ("tallied, not counted", b, a),
        ] {
            let rows: Vec<String> =
                sqlx::query_scalar(&format!("SELECT {key} FROM ({x} EXCEPT {y}) d ORDER BY 1"))
                    .fetch_all(&store.pool)
                    .await?;
            drift.extend(rows.into_iter().map(|r| format!("{table}: {what}: {r}")));
        }
    }
    // PostgreSQL's text table (migration 0015) holds each finding's product, open state and text.
    if store.backend == crate::Backend::Postgres {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT CAST(COALESCE(f.id, x.finding_id) AS TEXT) FROM findings f \
             FULL JOIN finding_text x ON x.finding_id = f.id \
             WHERE f.id IS NULL OR x.finding_id IS NULL OR x.product_id <> f.product_id \
             OR x.is_open <> f.is_open OR x.severity <> f.severity \
             OR x.text <> LOWER(f.title || E'\\n' || COALESCE(f.location, '')) ORDER BY 1",
        )
        .fetch_all(&store.pool)
        .await?;
        drift.extend(
            rows.into_iter()
                .map(|r| format!("finding_text: finding {r}")),
        );
    }
    Ok(drift)
}

/// A setting of a pooled PostgreSQL connection (`current_setting`), the same on the connection
/// the queue's pages are read on (`postgres_read`; an error names both when they differ).
pub async fn postgres_setting(store: &crate::Store, name: &str) -> crate::Result<String> {
    let q = crate::sql::Sql::new("SELECT current_setting(")
        .arg(name)
        .push(") AS value")
        .clone();
    let row = q.query(store.backend)?.fetch_one(&store.pool).await?;
    let pooled = crate::sql::get_str(&row, "value")?;
    let read = on_page_connection(store, |conn| {
        Box::pin(async move {
            use crate::sql::Columns;
            q.pg_query()?.fetch_one(conn).await?.string("value")
        })
    })
    .await?;
    agree(name, pooled, read)
}

/// PostgreSQL: `vacuum_cost_delay` as the store's vacuums after writes run with it, and then, after
/// such a vacuum, on the pool's connections (on a store of one connection, the vacuum's own: an
/// error when the pace was left set there).
pub async fn vacuum_pace(store: &crate::Store) -> crate::Result<(String, String)> {
    let paced = store.vacuum_pace().await?;
    let after = postgres_setting(store, "vacuum_cost_delay").await?;
    Ok((paced, after))
}

/// PostgreSQL: whether the store's connection is encrypted (TLS), from `pg_stat_ssl` (the same
/// on the connection the queue's pages are read on; an error when they differ).
pub async fn postgres_connection_uses_tls(store: &crate::Store) -> crate::Result<bool> {
    use sqlx::Row;
    const SSL: &str = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()";
    let pooled = sqlx::query(SSL)
        .fetch_one(&store.pool)
        .await?
        .try_get::<bool, _>("ssl")?;
    let read = on_page_connection(store, |conn| {
        Box::pin(async move {
            Ok(sqlx::query(SSL)
                .fetch_one(conn)
                .await?
                .try_get::<bool, _>("ssl")?)
        })
    })
    .await?;
    agree("ssl", pooled, read)
}

/// PostgreSQL: the server process of the connection the next queue page would be read on
/// (`postgres_read`): the connection is given back after, as a page's is.
pub async fn page_connection_pid(store: &crate::Store) -> crate::Result<i64> {
    on_page_connection(store, |conn| {
        Box::pin(async move {
            use crate::sql::Columns;
            sqlx::query("SELECT CAST(pg_backend_pid() AS BIGINT) AS pid")
                .fetch_one(conn)
                .await?
                .i64("pid")
        })
    })
    .await
}

/// PostgreSQL: takes a connection of the queue's typed reads and drops it without giving it
/// back, as a page read given up part way (a client gone) does.
pub async fn abandon_page_connection(store: &crate::Store) -> crate::Result<()> {
    let conn = store.pg_reads()?.acquire().await?;
    drop(conn);
    Ok(())
}

/// `read` run on a connection of the queue's typed reads (`postgres_read`), given back after.
async fn on_page_connection<T>(
    store: &crate::Store,
    read: impl for<'c> FnOnce(
        &'c mut sqlx::PgConnection,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = crate::Result<T>> + Send + 'c>,
    >,
) -> crate::Result<T> {
    let mut conn = store.pg_reads()?.acquire().await?;
    let out = read(&mut conn).await?;
    conn.give_back();
    Ok(out)
}

fn agree<T: PartialEq + std::fmt::Debug>(what: &str, pooled: T, read: T) -> crate::Result<T> {
    if pooled == read {
        Ok(pooled)
    } else {
        Err(crate::StoreError::Corrupt(format!(
            "{what}: {pooled:?} on the pool's connection, {read:?} on the pages' typed connection"
        )))
    }
}

/// Runs one SQL statement on the store's database (a test's deliberate damage or repair).
pub async fn execute(store: &crate::Store, sql: &str) -> crate::Result<u64> {
    Ok(store.pool.execute(sql).await?.rows_affected())
}

/// Sets how far a queue page's walk of its order may go before the page is gathered instead
/// (SQLite: steps; PostgreSQL: the most findings of its window). `Some(0)`: every walk runs out
/// at once, so a test reads the gathered form; `None`: the store's own budget. Clones of the
/// store share it.
pub fn set_walk_budget(store: &crate::Store, steps: Option<u64>) {
    store.walk_budget.store(
        steps.unwrap_or(crate::queue::WALK_BUDGET),
        std::sync::atomic::Ordering::Relaxed,
    );
}

/// PostgreSQL: how many findings a walk of the findings' order must be expected to pass before a
/// text page walks its text's own rows instead (migration 0020). `Some(0)`: every text page that
/// may walks them, so a test reads that form on a small hub; `None`: the store's own threshold.
/// Clones of the store share it.
pub fn set_text_walk_from(store: &crate::Store, findings: Option<i64>) {
    store.text_walk_from.store(
        findings.unwrap_or(crate::queue::TEXT_WALK_FROM),
        std::sync::atomic::Ordering::Relaxed,
    );
}

/// PostgreSQL: how many of the queue's pages were read in a snapshot of their own (a `BEGIN` and
/// a `COMMIT` around their statements) since the store opened; the others were read in checked
/// statements. Clones of the store share it.
pub fn snapshot_pages(store: &crate::Store) -> u64 {
    store
        .snapshot_pages
        .load(std::sync::atomic::Ordering::Relaxed)
}

/// Begins a transaction on the store's database and runs `sql` in it, left open: a writer in
/// progress (its commit or drop is the test's).
pub async fn begin_write(
    store: &crate::Store,
    sql: &str,
) -> crate::Result<sqlx::Transaction<'static, sqlx::Any>> {
    let mut tx = store.pool.begin().await?;
    (&mut *tx).execute(sql).await?;
    Ok(tx)
}

/// Holds SQLite's writers' turn, as an import does, until the guard is dropped (None on
/// PostgreSQL, which has none).
pub async fn hold_writers_turn(store: &crate::Store) -> Option<tokio::sync::OwnedMutexGuard<()>> {
    match &store.write_lock {
        Some(m) => Some(m.clone().lock_owned().await),
        None => None,
    }
}

/// A count of `product` that a reader has just asked for and that can only fail to be counted
/// (it reads a table that does not exist): the next writer of that product tries it before its
/// commit (PostgreSQL), and must still commit.
pub fn remember_failing_count(store: &crate::Store, product: i64) {
    crate::queue::remember_failing_count(store, product);
}
