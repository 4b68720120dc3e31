//! Tollgate's findings store: one storage interface over SQLite (default) and PostgreSQL (several
//! `serve` replicas), with embedded migrations and the import / reimport engine.
//!
//! Both backends run the same SQL through sqlx's `Any` driver: numbered `$N` placeholders (SQLite
//! reads them too), every value bound with its column's type (NULLs too: `sql::Arg`), instants as
//! Unix seconds, JSON as text. Only the DDL differs (two migration folders). Every write is one transaction; the store keeps no state that two replicas could
//! disagree on. It never parses reports or speaks HTTP.

mod context;
mod events;
mod import;
pub mod metrics;
pub mod pages;
mod query;
pub mod queue;
pub use query::MAX_LIST_PAGE;
mod postgres_read;
pub mod requests;
mod secrets;
mod sql;
mod sqlite_read;
#[doc(hidden)]
pub mod testing;
mod tokens;
mod triage;
pub mod types;
mod users;

pub use events::{EventKind, FindingEvent};
pub use import::Incoming;
pub use metrics::{Interval, MetricWindow, NewPromotion, Promotion};
pub use queue::{
    location_text, BulkAction, BulkOutcome, BulkTarget, FindingFilter, QueuePage, QueueSort,
    SlaState, StatusFilter, BULK_CAP,
};
pub use requests::*;
pub use types::*;
pub use users::{SessionOf, SESSION_ABSOLUTE_SECS, SESSION_IDLE_SECS};

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tollgate_model::Severity;

/// Why a store call failed. The server maps each kind to one HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// 404: the named thing does not exist (or the caller may not see it).
    #[error("{0}")]
    NotFound(String),
    /// 403: the caller's token may not touch this product.
    #[error("{0}")]
    Forbidden(String),
    /// 400: the request cannot be carried out as given.
    #[error("{0}")]
    Invalid(String),
    /// 409: the finding is not in a state that allows this.
    #[error("{0}")]
    Conflict(String),
    // No `#[source]`: the message already holds sqlx's, and a chain printer would repeat it.
    #[error("database error: {0}")]
    Database(sqlx::Error),
    /// A failure of SQLite's direct read path (see `sqlite_read`).
    #[error("database error: {0}")]
    Read(String),
    #[error("database migration failed: {0}")]
    Migration(sqlx::migrate::MigrateError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Database(e)
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError::Migration(e)
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Days to fix a finding, per severity (None = no SLA).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlaDays {
    pub critical: Option<i64>,
    pub high: Option<i64>,
    pub medium: Option<i64>,
    pub low: Option<i64>,
    pub info: Option<i64>,
}

impl Default for SlaDays {
    fn default() -> Self {
        SlaDays {
            critical: Some(7),
            high: Some(30),
            medium: Some(90),
            low: Some(120),
            info: None,
        }
    }
}

impl SlaDays {
    pub fn for_severity(&self, s: Severity) -> Option<i64> {
        match s {
            Severity::Critical => self.critical,
            Severity::High => self.high,
            Severity::Medium => self.medium,
            Severity::Low => self.low,
            Severity::Info => self.info,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct StoreOptions {
    /// Connections in the pool; None: [`default_max_connections`] for the database.
    pub max_connections: Option<u32>,
    pub sla: SlaDays,
}

/// The findings store. Cheap to clone; all clones share one pool.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    sla: SlaDays,
    /// SQLite allows one writer: serializing write transactions in-process avoids
    /// SQLITE_BUSY lock upgrades. PostgreSQL needs no such lock (row locks do the work).
    write_lock: Option<Arc<tokio::sync::Mutex<()>>>,
    /// SQLite files: the direct read path of finding pages (None in memory and on PostgreSQL).
    reader: Option<Arc<sqlite_read::SqliteReader>>,
    /// PostgreSQL: the typed connections the queue's pages are read on (`postgres_read`).
    pg_reads: Option<Arc<postgres_read::PgReader>>,
    /// PostgreSQL: a vacuum after writes is running (see
    /// [`Store::vacuum_after_writes`]); one at a time per process.
    vacuuming: Arc<std::sync::atomic::AtomicBool>,
    /// PostgreSQL: findings' rows this process wrote (imports, bulk triage) since its last
    /// `VACUUM (ANALYZE)` of them began; see [`Store::vacuum_after_writes`].
    written_since_vacuum: Arc<std::sync::atomic::AtomicI64>,
    /// SQLite: how many findings hold each trigram the text filter asked about lately (see
    /// `queue::TrigramCounts`), to search by the rarest.
    trigram_counts: Arc<std::sync::Mutex<queue::TrigramCounts>>,
    /// The most a page's walk of its order may take before the page is gathered instead: on
    /// SQLite virtual-machine steps ([`queue::WALK_BUDGET`]), on PostgreSQL it caps the window's
    /// findings (`queue::walk_window`). Tests lower it to take the other path.
    walk_budget: Arc<std::sync::atomic::AtomicU64>,
    /// PostgreSQL: a text page walks its text's own rows when a walk of the findings' order is
    /// expected to pass at least this many findings ([`queue::TEXT_WALK_FROM`]). Tests set it to 0
    /// to read the text walk on small hubs.
    text_walk_from: Arc<std::sync::atomic::AtomicI64>,
    /// Counts of the queue that read their findings, by the data they were counted on
    /// (`queue::CountCache`).
    count_cache: Arc<std::sync::Mutex<queue::CountCache>>,
    /// PostgreSQL: the queue's pages read in a snapshot of their own (a `BEGIN` and a `COMMIT`
    /// more) rather than in checked statements; tests read it to tell the two apart.
    snapshot_pages: Arc<std::sync::atomic::AtomicU64>,
}

/// The migrations, embedded in the binary: what `sqlx::migrate!` embeds (version, description,
/// SQL; the checksum is computed from the SQL the same way), without sqlx's proc macro, which
/// made every cold build compile sqlx, both drivers, rustls, tokio and SQLite a second time for
/// the compiler (a fifth of the README's first build). A test checks that these are the files of
/// `migrations/` and that sqlx resolves them to the same migrations.
#[derive(Debug, Clone, Copy)]
struct Migrations(&'static [(i64, &'static str, &'static str)]);

const MIGRATE_SQLITE: Migrations = Migrations(&[
    (
        1,
        "initial",
        include_str!("../migrations/sqlite/0001_initial.sql"),
    ),
    (
        2,
        "hub secrets",
        include_str!("../migrations/sqlite/0002_hub_secrets.sql"),
    ),
    (
        3,
        "test titled",
        include_str!("../migrations/sqlite/0003_test_titled.sql"),
    ),
    (
        4,
        "finding events",
        include_str!("../migrations/sqlite/0004_finding_events.sql"),
    ),
    (
        5,
        "users",
        include_str!("../migrations/sqlite/0005_users.sql"),
    ),
    (
        6,
        "promotions",
        include_str!("../migrations/sqlite/0006_promotions.sql"),
    ),
    (
        7,
        "findings queue",
        include_str!("../migrations/sqlite/0007_findings_queue.sql"),
    ),
    (
        8,
        "page indexes",
        include_str!("../migrations/sqlite/0008_page_indexes.sql"),
    ),
    (
        9,
        "queue sort indexes",
        include_str!("../migrations/sqlite/0009_queue_sort_indexes.sql"),
    ),
    (
        10,
        "import open after",
        include_str!("../migrations/sqlite/0010_import_open_after.sql"),
    ),
    (
        11,
        "findings autovacuum",
        include_str!("../migrations/sqlite/0011_findings_autovacuum.sql"),
    ),
    (
        12,
        "finding tallies",
        include_str!("../migrations/sqlite/0012_finding_tallies.sql"),
    ),
    (
        13,
        "finding text",
        include_str!("../migrations/sqlite/0013_finding_text.sql"),
    ),
    (
        14,
        "queue age indexes",
        include_str!("../migrations/sqlite/0014_queue_age_indexes.sql"),
    ),
    (
        15,
        "finding changes",
        include_str!("../migrations/sqlite/0015_finding_changes.sql"),
    ),
    (
        16,
        "findings seen in last import",
        include_str!("../migrations/sqlite/0016_findings_seen_in_last_import.sql"),
    ),
]);
const MIGRATE_POSTGRES: Migrations = Migrations(&[
    (
        1,
        "initial",
        include_str!("../migrations/postgres/0001_initial.sql"),
    ),
    (
        2,
        "hub secrets",
        include_str!("../migrations/postgres/0002_hub_secrets.sql"),
    ),
    (
        3,
        "test titled",
        include_str!("../migrations/postgres/0003_test_titled.sql"),
    ),
    (
        4,
        "finding events",
        include_str!("../migrations/postgres/0004_finding_events.sql"),
    ),
    (
        5,
        "users",
        include_str!("../migrations/postgres/0005_users.sql"),
    ),
    (
        6,
        "promotions",
        include_str!("../migrations/postgres/0006_promotions.sql"),
    ),
    (
        7,
        "findings queue",
        include_str!("../migrations/postgres/0007_findings_queue.sql"),
    ),
    (
        8,
        "page indexes",
        include_str!("../migrations/postgres/0008_page_indexes.sql"),
    ),
    (
        9,
        "queue sort indexes",
        include_str!("../migrations/postgres/0009_queue_sort_indexes.sql"),
    ),
    (
        10,
        "import open after",
        include_str!("../migrations/postgres/0010_import_open_after.sql"),
    ),
    (
        11,
        "findings autovacuum",
        include_str!("../migrations/postgres/0011_findings_autovacuum.sql"),
    ),
    (
        12,
        "finding tallies",
        include_str!("../migrations/postgres/0012_finding_tallies.sql"),
    ),
    (
        13,
        "finding text",
        include_str!("../migrations/postgres/0013_finding_text.sql"),
    ),
    (
        14,
        "queue age indexes",
        include_str!("../migrations/postgres/0014_queue_age_indexes.sql"),
    ),
    (
        15,
        "finding text open",
        include_str!("../migrations/postgres/0015_finding_text_open.sql"),
    ),
    (
        16,
        "findings seen in last import",
        include_str!("../migrations/postgres/0016_findings_seen_in_last_import.sql"),
    ),
    (
        17,
        "finding update triggers",
        include_str!("../migrations/postgres/0017_finding_update_triggers.sql"),
    ),
    (
        18,
        "product changes",
        include_str!("../migrations/postgres/0018_product_changes.sql"),
    ),
    (
        19,
        "facet severity",
        include_str!("../migrations/postgres/0019_facet_severity.sql"),
    ),
    (
        20,
        "finding text in order",
        include_str!("../migrations/postgres/0020_finding_text_in_order.sql"),
    ),
]);

impl Migrations {
    fn list(self) -> Vec<sqlx::migrate::Migration> {
        self.0
            .iter()
            .map(|&(version, description, sql)| {
                sqlx::migrate::Migration::new(
                    version,
                    std::borrow::Cow::Borrowed(description),
                    sqlx::migrate::MigrationType::Simple,
                    std::borrow::Cow::Borrowed(sql),
                    // As sqlx reads a migration file's opt-out of the migration transaction.
                    sql.starts_with("-- no-transaction"),
                )
            })
            .collect()
    }

    async fn run(self, pool: &AnyPool) -> std::result::Result<(), sqlx::migrate::MigrateError> {
        sqlx::migrate::Migrator::new(self).await?.run(pool).await
    }
}

impl<'s> sqlx::migrate::MigrationSource<'s> for Migrations {
    fn resolve(
        self,
    ) -> std::pin::Pin<
        Box<
            dyn std::future::Future<
                    Output = std::result::Result<
                        Vec<sqlx::migrate::Migration>,
                        sqlx::error::BoxDynError,
                    >,
                > + Send
                + 's,
        >,
    > {
        Box::pin(std::future::ready(Ok(self.list())))
    }
}

/// SQLite's planner statistics (`sqlite_stat1`). Without them SQLite picked a full walk of the
/// open findings for a vulnerability id no finding has (2 s on a 1M-finding hub; 7 ms with
/// statistics, docs/benchmarks.md). `ANALYZE` runs when findings exist and have no statistics
/// yet, when one of their (full) indexes has none (a migration added it), or when they have at
/// least doubled since (their largest id against the row count of the last analysis): a growing
/// hub is analyzed a logarithmic number of times, 3 s each on the 1M-finding hub. The full
/// analysis, not a sample (`analysis_limit`): sampled statistics (1,000 or 20,000 rows per index)
/// misjudged the low-cardinality leading columns (open state, product) and made SQLite sort 400k
/// findings of a tier by SLA instead of walking the SLA index. `PRAGMA optimize` did not do it:
/// it skips tables never analyzed. It writes, so callers hold the writer's turn. Returns whether
/// it analyzed. PostgreSQL's autovacuum analyzes by itself.
async fn refresh_sqlite_statistics(pool: &AnyPool) -> Result<bool> {
    let has_stats: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'",
    )
    .fetch_one(pool)
    .await?;
    let (analyzed_rows, unanalyzed_indexes) = if has_stats > 0 {
        let stat: Option<String> = sqlx::query_scalar(
            "SELECT stat FROM sqlite_stat1 WHERE tbl = 'findings' AND idx = 'findings_queue'",
        )
        .fetch_optional(pool)
        .await?;
        // Partial indexes are left out: one with no rows (no finding mitigated yet) gets none.
        let unanalyzed: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM sqlite_master m WHERE m.type = 'index' AND m.tbl_name = 'findings' \
             AND m.sql IS NOT NULL AND m.sql NOT LIKE '% WHERE %' \
             AND NOT EXISTS (SELECT 1 FROM sqlite_stat1 s WHERE s.idx = m.name)",
        )
        .fetch_one(pool)
        .await?;
        (
            stat.and_then(|s| s.split(' ').next().and_then(|n| n.parse::<i64>().ok())),
            unanalyzed,
        )
    } else {
        (None, 0)
    };
    let rows: i64 = sqlx::query_scalar("SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) FROM findings")
        .fetch_one(pool)
        .await?;
    if !needs_analysis(analyzed_rows, unanalyzed_indexes, rows) {
        return Ok(false);
    }
    sqlx::raw_sql("PRAGMA analysis_limit = 0; ANALYZE;")
        .execute(pool)
        .await?;
    Ok(true)
}

/// A pooled connection idle at least this long is pinged before it is handed out (a server
/// restart, a failover or a firewall's idle timeout may have closed it; a failed ping opens a
/// new one). One in use moments ago is not: sqlx pings each connection as it goes back to the
/// pool already, and pinging it again as it comes out was a second round trip per statement.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(1);

/// The pool's size when none is given. SQLite: 16 (connections inside this process). PostgreSQL:
/// 4 per core of this machine, from 4 to 16. Each connection there is a server process that
/// prepares and plans each statement for itself, and sqlx hands idle connections out in turn
/// (first in, first out): 16 connections for 8 readers on 2 cores kept 16 processes warming up
/// and taking turns, where 8 served the same load with a p99 10–25% lower (docs/benchmarks.md).
pub fn default_max_connections(backend: Backend) -> u32 {
    match backend {
        Backend::Sqlite => 16,
        Backend::Postgres => {
            let cores = std::thread::available_parallelism().map_or(4, |n| n.get());
            u32::try_from(cores.saturating_mul(4))
                .unwrap_or(16)
                .clamp(4, 16)
        }
    }
}

/// PostgreSQL: the planner's cost of a random page read, set on each connection (see
/// `connect_pool`).
const POSTGRES_RANDOM_PAGE_COST: &str = "SELECT set_config('random_page_cost', '1.1', false) \
     FROM pg_settings WHERE name = 'random_page_cost' AND source = 'default'";

/// PostgreSQL: the store's vacuums after writes ([`Store::vacuum_after_writes`]) go at
/// autovacuum's pace — a 2 ms rest each time they have done `vacuum_cost_limit` of work, where a
/// `VACUUM` typed at a prompt never rests — unless the server, the database or the role sets
/// `vacuum_cost_delay`. Unpaced, the vacuum of a 1M-finding hub's tables took a core (and two
/// parallel workers for their indexes) for 2–4 s every few reimports, and the pages read
/// meanwhile waited for the cores (docs/benchmarks.md).
const POSTGRES_VACUUM_PACE: &str = "SELECT set_config('vacuum_cost_delay', '2ms', false) \
     FROM pg_settings WHERE name = 'vacuum_cost_delay' AND source = 'default'";

/// PostgreSQL: the connections the queue's pages and the UI's sessions are read on
/// (`postgres_read`) when none is given: 2 per core of this machine, from 2 to 16. Fewer than the
/// pool's: on 2 cores during 100k-finding reimports, 4 of them served 8 readers of a page with a
/// p99 of 15.8–17.2 ms where 8 gave 19.4–24.3 ms, and answered 10–17% more requests (8 server
/// processes running at once share the cores in turns, each page taking longer; 4 take the pages
/// in order; docs/benchmarks.md).
pub fn default_page_connections() -> u32 {
    let cores = std::thread::available_parallelism().map_or(4, |n| n.get());
    u32::try_from(cores.saturating_mul(2))
        .unwrap_or(16)
        .clamp(2, 16)
}

/// The pool of connections to `url`, connected once (so that a URL or a server that refuses is
/// an error here, not at the first request).
async fn connect_pool(url: &str, backend: Backend, options: &StoreOptions) -> Result<AnyPool> {
    let connect = AnyConnectOptions::from_str(url).map_err(|e| {
        StoreError::Invalid(format!("cannot use database URL {}: {e}", redact_url(url)))
    })?;
    let mut pool = AnyPoolOptions::new()
        .max_connections(
            options
                .max_connections
                .unwrap_or_else(|| default_max_connections(backend))
                .max(1),
        )
        // By default sqlx pings every connection it hands out; only one idle long enough to
        // have been dropped is (see `IDLE_BEFORE_PING`).
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= IDLE_BEFORE_PING {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
        .acquire_timeout(Duration::from_secs(if backend == Backend::Postgres {
            10
        } else {
            30
        }));
    if backend == Backend::Postgres {
        // The planner's cost of a random page read, unless the server, the database or the
        // role sets one: PostgreSQL's default (4, four times a sequential read: spinning
        // disks) made it walk the primary key of `findings` in id order and filter, rather
        // than the queue's own index, whenever a view's matches looked spread out — and when
        // a product's newest findings were closed (a reimport had closed them), a page of
        // open ones skipped all of them first: `scanner=codeql&severity=medium` 31 ms p99
        // idle and 57 ms during reimports on the bench's 1M-finding hub, 12 and 21 ms with
        // 1.1 (docs/benchmarks.md). The hub's working set is in memory or on SSD.
        pool = pool.after_connect(|conn, _| {
            Box::pin(async move {
                conn.execute(POSTGRES_RANDOM_PAGE_COST).await?;
                Ok(())
            })
        });
    }
    if backend == Backend::Sqlite {
        pool = pool.after_connect(|conn, _| {
            Box::pin(async move {
                conn.execute(
                    "PRAGMA page_size = 16384; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA busy_timeout = 30000; PRAGMA foreign_keys = ON; \
                     PRAGMA cache_size = -32768; PRAGMA mmap_size = 1073741824; \
                     PRAGMA temp_store = MEMORY;",
                )
                .await?;
                Ok(())
            })
        });
        if is_in_memory(url) {
            // Each connection to :memory: is its own database: keep exactly one.
            pool = pool
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None);
        }
    }
    Ok(pool.connect_with(connect).await?)
}

/// PostgreSQL on this machine: `url` with `sslmode=disable`, when it names a loopback host
/// (`localhost`, 127.0.0.0/8, `::1`) and chooses no TLS mode itself (no `sslmode` in the URL,
/// no `PGSSLMODE` in the environment). sqlx's default, `prefer`, encrypted every statement and
/// its rows between two processes of one machine — traffic that never leaves the kernel —
/// for ~0.1 ms of CPU per page of the findings queue, 11% of it (docs/benchmarks.md). A
/// Unix socket, another host or a mode the user chose: `None`, the URL as given.
fn loopback_without_tls(backend: Backend, url: &str) -> Option<String> {
    if backend != Backend::Postgres || std::env::var_os("PGSSLMODE").is_some() {
        return None;
    }
    let query = url.split_once('?').map_or("", |(_, q)| q);
    let chooses_tls = query.split('&').any(|pair| {
        let key = pair.split_once('=').map_or(pair, |(k, _)| k);
        matches!(key, "sslmode" | "ssl-mode")
    });
    if chooses_tls {
        return None;
    }
    let options = sqlx::postgres::PgConnectOptions::from_str(url).ok()?;
    if options.get_socket().is_some() {
        return None;
    }
    let host = options.get_host();
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        return None;
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    Some(format!("{url}{sep}sslmode=disable"))
}

/// The tables a write rewrites a few rows of many times over (PostgreSQL): vacuumed after each.
const SMALL_VACUUM: &str = "finding_tallies, facet_tallies, products, tests";

/// The findings' tables, vacuumed once a large share of them was written (and the small ones).
const LARGE_VACUUM: &str =
    "findings, finding_facets, finding_text, finding_tallies, facet_tallies, products, tests";

/// Sets [`POSTGRES_VACUUM_PACE`] on `conn` for its session.
async fn pace_vacuum(conn: &mut sqlx::AnyConnection) -> Result<()> {
    conn.execute(POSTGRES_VACUUM_PACE).await?;
    Ok(())
}

/// Runs the vacuum `statement` on a connection of `pool` at [`POSTGRES_VACUUM_PACE`], and gives
/// the connection back as it was.
async fn paced_vacuum(pool: &sqlx::AnyPool, statement: &str) -> Result<()> {
    let mut conn = pool.acquire().await?;
    let c: &mut sqlx::AnyConnection = &mut conn;
    pace_vacuum(c).await?;
    let vacuumed = c.execute(sqlx::raw_sql(statement)).await;
    let reset = c.execute("RESET vacuum_cost_delay").await;
    if reset.is_err() {
        // Not back in the pool with the pace set.
        conn.detach();
    }
    vacuumed?;
    reset?;
    Ok(())
}

/// Whether `written` findings' rows written since the last vacuum leave PostgreSQL's visibility
/// map and statistics stale enough to vacuum now: at least 1,000 rows and 5% of the hub's `total`.
fn needs_vacuum(written: i64, total: i64) -> bool {
    written >= 1_000 && written.saturating_mul(20) >= total
}

/// Whether to analyze: findings exist and were never analyzed, have an index without
/// statistics, or have doubled since.
fn needs_analysis(analyzed_rows: Option<i64>, unanalyzed_indexes: i64, rows: i64) -> bool {
    if rows == 0 {
        return false;
    }
    match analyzed_rows {
        None => true,
        Some(n) => unanalyzed_indexes > 0 || rows >= n.max(1).saturating_mul(2),
    }
}

impl Store {
    /// Opens (creating a SQLite file when needed) and migrates the database at `url`:
    /// `sqlite://tollgate.db`, `sqlite::memory:`, a bare file path, or `postgres://…`.
    pub async fn open(url: &str, options: StoreOptions) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let (url, backend) = normalize_url(url)?;
        let (pool, connected) = match loopback_without_tls(backend, &url) {
            Some(plain) => match connect_pool(&plain, backend, &options).await {
                Ok(pool) => (pool, plain),
                // The server wants TLS even here (a `hostssl` rule): connect as the URL says.
                Err(StoreError::Database(sqlx::Error::Database(e)))
                    if e.code().is_some_and(|c| c.starts_with("28")) =>
                {
                    (connect_pool(&url, backend, &options).await?, url.clone())
                }
                Err(e) => return Err(e),
            },
            None => (connect_pool(&url, backend, &options).await?, url.clone()),
        };
        match backend {
            Backend::Sqlite => MIGRATE_SQLITE.run(&pool).await?,
            Backend::Postgres => MIGRATE_POSTGRES.run(&pool).await?,
        }
        if backend == Backend::Sqlite {
            refresh_sqlite_statistics(&pool).await?;
        }
        // SQLite checkpoints stay automatic, inside the committing write transaction (so under
        // `write_lock`). A background checkpointer beside the writers corrupted a database here
        // once (SQLite 3.46; upstream fixed a WAL-reset race of that kind in 3.51.3): not worth
        // the ~0.3 s it saved a 100k-finding import.
        let write_lock =
            (backend == Backend::Sqlite).then(|| Arc::new(tokio::sync::Mutex::new(())));
        let reader = if backend == Backend::Sqlite && !is_in_memory(&url) {
            let file = sqlx::sqlite::SqliteConnectOptions::from_str(&url)
                .map_err(|e| {
                    StoreError::Invalid(format!(
                        "cannot use database URL {}: {e}",
                        redact_url(&url)
                    ))
                })?
                .get_filename()
                .to_path_buf();
            Some(Arc::new(sqlite_read::SqliteReader::new(file)))
        } else {
            None
        };
        let pg_reads = match backend {
            Backend::Postgres => Some(Arc::new(postgres_read::PgReader::new(
                &connected,
                options
                    .max_connections
                    .unwrap_or_else(default_page_connections),
            )?)),
            Backend::Sqlite => None,
        };
        Ok(Store {
            pool,
            backend,
            sla: options.sla,
            write_lock,
            reader,
            pg_reads,
            vacuuming: Arc::default(),
            written_since_vacuum: Arc::default(),
            trigram_counts: Arc::default(),
            walk_budget: Arc::new(std::sync::atomic::AtomicU64::new(queue::WALK_BUDGET)),
            text_walk_from: Arc::new(std::sync::atomic::AtomicI64::new(queue::TEXT_WALK_FROM)),
            count_cache: Arc::default(),
            snapshot_pages: Arc::default(),
        })
    }

    /// The same store without SQLite's direct read path (every read through sqlx), so tests can
    /// compare the two paths on one database.
    #[doc(hidden)]
    pub fn without_direct_reads(&self) -> Store {
        Store {
            reader: None,
            ..self.clone()
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes the pool, waiting for connections in use to be returned.
    pub async fn close(&self) {
        if let Some(reads) = &self.pg_reads {
            reads.close().await;
        }
        self.pool.close().await;
    }

    /// PostgreSQL: the pool of the queue's typed reads (`postgres_read`).
    fn pg_reads(&self) -> Result<&postgres_read::PgReader> {
        self.pg_reads.as_deref().ok_or_else(|| {
            StoreError::Corrupt("PostgreSQL's typed reads asked of a SQLite store".into())
        })
    }

    /// SQLite's `PRAGMA integrity_check` (`Ok` when the file is sound); PostgreSQL: always `Ok`.
    pub async fn check_integrity(&self) -> Result<()> {
        if self.backend == Backend::Postgres {
            return Ok(());
        }
        let rows = sqlx::query("PRAGMA integrity_check")
            .fetch_all(&self.pool)
            .await?;
        let report: Vec<String> = rows
            .iter()
            .filter_map(|r| sqlx::Row::try_get::<String, _>(r, 0).ok())
            .collect();
        if report == ["ok"] {
            Ok(())
        } else {
            Err(StoreError::Corrupt(report.join("; ")))
        }
    }

    /// Checks the database answers (for `/healthz`).
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// After a write that may have grown the findings a lot (an import), refreshes SQLite's
    /// planner statistics when they are missing or stale (see [`refresh_sqlite_statistics`]).
    /// Best effort: the write is committed already, so a failure is logged, never returned.
    pub(crate) async fn refresh_statistics(&self) {
        if self.backend != Backend::Sqlite {
            return;
        }
        match refresh_sqlite_statistics(&self.pool).await {
            Ok(true) => {
                if let Some(r) = &self.reader {
                    r.statistics_changed();
                }
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "refreshing SQLite statistics failed"),
        }
    }

    /// PostgreSQL, after a transaction that wrote `written` findings' rows (an import, a bulk
    /// triage), in the background (the writer has answered), one at a time per process:
    ///
    /// - when the rows written since the last such vacuum began are a large share of the hub
    ///   ([`needs_vacuum`]), `VACUUM (ANALYZE)` of the findings' tables ([`LARGE_VACUUM`]). The
    ///   queue's counts are index-only scans, which read the table instead while the visibility
    ///   map is stale: 450 ms instead of 82 ms p99 on a 1M-finding hub (docs/benchmarks.md). The
    ///   rows add up over writes, as autovacuum's threshold does: a reimport that changes 2% of
    ///   the hub does not vacuum it each time, three of them do;
    /// - otherwise `VACUUM` of the small tables every write rewrites ([`SMALL_VACUUM`]: the
    ///   tallies, the products' counts, the tests): a write leaves hundreds of dead versions of
    ///   their few rows (updated many times in one transaction, so never pruned in place), and
    ///   after 40 reimports reading the 30 tallies of a facet read 1,379 pages instead of 14
    ///   (~30 ms of vacuum puts that right). Without `ANALYZE`: the statistics of these few rows
    ///   barely move, and it takes transaction ids (when the queue still remembered its counts by
    ///   the transactions committed, each vacuum made every remembered count be counted again).
    ///
    /// Autovacuum would do both, but comes a minute or more later, and some servers run with it
    /// off. Best effort: a failure is logged (and the rows stay counted).
    pub(crate) async fn vacuum_after_writes(&self, written: i64) {
        use std::sync::atomic::Ordering;
        if self.backend != Backend::Postgres || written <= 0 {
            return;
        }
        let pending = self
            .written_since_vacuum
            .fetch_add(written, Ordering::AcqRel)
            .saturating_add(written);
        let total = match self.finding_totals().await {
            Ok((open, closed)) => open + closed,
            Err(e) => {
                tracing::warn!(error = %e, "counting findings for VACUUM failed");
                return;
            }
        };
        if self.vacuuming.swap(true, Ordering::AcqRel) {
            return;
        }
        let (statement, pending) = if needs_vacuum(pending, total) {
            // What is written from now on counts towards the next one.
            (
                format!("VACUUM (ANALYZE) {LARGE_VACUUM}"),
                self.written_since_vacuum.swap(0, Ordering::AcqRel),
            )
        } else {
            (format!("VACUUM {SMALL_VACUUM}"), 0)
        };
        let pool = self.pool.clone();
        let running = self.vacuuming.clone();
        let written_since = self.written_since_vacuum.clone();
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            match paced_vacuum(&pool, &statement).await {
                Ok(_) if pending > 0 => tracing::info!(
                    written = pending,
                    total,
                    seconds = started.elapsed().as_secs_f64(),
                    "vacuumed the findings' tables after large writes"
                ),
                Ok(_) => tracing::debug!(
                    seconds = started.elapsed().as_secs_f64(),
                    "vacuumed the tallies after a write"
                ),
                Err(e) => {
                    written_since.fetch_add(pending, Ordering::AcqRel);
                    tracing::warn!(error = %e, statement, "VACUUM after a write failed")
                }
            }
            running.store(false, Ordering::Release);
        });
    }

    /// PostgreSQL, for tests: `vacuum_cost_delay` as [`pace_vacuum`] sets it (read on a
    /// connection of its own, reset there), and then a vacuum of the tallies through
    /// [`paced_vacuum`] itself, so the caller can read the pool's connection after it.
    pub(crate) async fn vacuum_pace(&self) -> Result<String> {
        let delay = {
            let mut conn = self.pool.acquire().await?;
            let c: &mut sqlx::AnyConnection = &mut conn;
            pace_vacuum(c).await?;
            let delay: String = sqlx::query_scalar("SELECT current_setting('vacuum_cost_delay')")
                .fetch_one(&mut *c)
                .await?;
            c.execute("RESET vacuum_cost_delay").await?;
            delay
        };
        paced_vacuum(&self.pool, &format!("VACUUM {SMALL_VACUUM}")).await?;
        Ok(delay)
    }

    /// The writers' turn if nobody holds it now: `Some(None)` on PostgreSQL (no turn to take),
    /// None while a writer (an import: seconds) holds SQLite's. For writes that may be skipped.
    fn try_write_guard(&self) -> Option<Option<tokio::sync::MutexGuard<'_, ()>>> {
        match &self.write_lock {
            Some(m) => m.try_lock().ok().map(Some),
            None => Some(None),
        }
    }

    async fn write_guard(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match &self.write_lock {
            Some(m) => Some(m.lock().await),
            None => None,
        }
    }

    /// PostgreSQL: locks these products' rows, in ascending id, for the rest of the
    /// transaction. Every write that changes findings takes its products' locks before any
    /// finding's: writers of one product then queue behind each other, and writers of different
    /// products never wait on each other's findings. Without it an import's update batches and a
    /// bulk triage's `FOR UPDATE` took the same findings' locks in different orders and
    /// PostgreSQL aborted one of them ("deadlock detected"; test
    /// `concurrent_imports_and_bulk_triage_keep_the_tallies`). `FOR NO KEY UPDATE`, not `FOR
    /// UPDATE`: an import that created a test or engagement already holds a key-share lock on its
    /// product (the foreign key), and two imports upgrading theirs to `FOR UPDATE` deadlocked
    /// (`concurrent_imports_of_one_product_keep_the_daily_aggregate_exact`). SQLite's writer lock
    /// is global.
    pub(crate) async fn lock_products(
        &self,
        conn: &mut sqlx::AnyConnection,
        ids: &[i64],
    ) -> Result<()> {
        if self.backend != Backend::Postgres || ids.is_empty() {
            return Ok(());
        }
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let mut q = sql::Sql::new("SELECT id FROM products WHERE id IN ");
        q.list(ids).push(" ORDER BY id FOR NO KEY UPDATE");
        q.query(self.backend)?.fetch_all(&mut *conn).await?;
        Ok(())
    }

    /// PostgreSQL: locks the products of these findings (see [`Store::lock_products`]), and
    /// gives them (none on SQLite).
    pub(crate) async fn lock_products_of(
        &self,
        conn: &mut sqlx::AnyConnection,
        finding_ids: &[i64],
    ) -> Result<Vec<i64>> {
        if self.backend != Backend::Postgres || finding_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut products = Vec::new();
        for chunk in finding_ids.chunks(1000) {
            let mut q = sql::Sql::new("SELECT DISTINCT product_id FROM findings WHERE id IN ");
            q.list(chunk.iter().copied());
            for row in q.query(self.backend)?.fetch_all(&mut *conn).await? {
                products.push(sql::get_i64(&row, "product_id")?);
            }
        }
        products.sort_unstable();
        products.dedup();
        self.lock_products(conn, &products).await?;
        Ok(products)
    }

    /// ` FOR UPDATE` on PostgreSQL; nothing on SQLite (its writer lock is global).
    fn for_update(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE",
        }
    }

    fn sla_due(&self, severity: Severity, first_seen: Timestamp) -> Option<String> {
        self.sla.for_severity(severity).map(|days| {
            tollgate_policy::Date::from_days(first_seen.div_euclid(86_400) + days).to_string()
        })
    }
}

fn is_in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

fn normalize_url(url: &str) -> Result<(String, Backend)> {
    let url = url.trim();
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok((url.to_string(), Backend::Postgres));
    }
    if let Some(rest) = url.strip_prefix("sqlite:") {
        if rest.contains(":memory:") || url.contains("mode=") {
            return Ok((url.to_string(), Backend::Sqlite));
        }
        let sep = if rest.contains('?') { '&' } else { '?' };
        return Ok((format!("{url}{sep}mode=rwc"), Backend::Sqlite));
    }
    if url.contains("://") {
        return Err(StoreError::Invalid(format!(
            "unsupported database URL {}: use sqlite://FILE or postgres://…",
            redact_url(url)
        )));
    }
    // A bare path is a SQLite file.
    Ok((format!("sqlite://{url}?mode=rwc"), Backend::Sqlite))
}

/// The URL without its password, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &userinfo[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

pub(crate) fn severity_rank(s: Severity) -> i64 {
    match s {
        Severity::Info => 0,
        Severity::Low => 1,
        Severity::Medium => 2,
        Severity::High => 3,
        Severity::Critical => 4,
    }
}

pub(crate) fn severity_from_rank(r: i64) -> Severity {
    match r {
        4 => Severity::Critical,
        3 => Severity::High,
        2 => Severity::Medium,
        1 => Severity::Low,
        _ => Severity::Info,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_postgres_pool_has_four_connections_per_core_from_four_to_sixteen() {
        let cores = std::thread::available_parallelism().unwrap().get() as u32;
        let expected = (cores * 4).clamp(4, 16);
        assert_eq!(default_max_connections(Backend::Postgres), expected);
        assert_eq!(default_max_connections(Backend::Sqlite), 16);
        assert_eq!(default_page_connections(), (cores * 2).clamp(2, 16));
    }

    #[test]
    fn statistics_are_refreshed_when_missing_or_doubled() {
        assert!(!needs_vacuum(999, 999), "too few rows to bother");
        assert!(needs_vacuum(1_000, 20_000), "5% of the hub");
        assert!(!needs_vacuum(1_000, 20_001), "under 5%");
        assert!(
            needs_vacuum(100_000, 1_050_000),
            "a 100k import into a 1M hub"
        );
        assert!(
            !needs_vacuum(20_000, 1_060_000),
            "a reimport that closes 10k and reopens 10k of a 1M hub"
        );
        assert!(!needs_analysis(None, 0, 0), "an empty hub");
        assert!(needs_analysis(None, 0, 30), "never analyzed");
        assert!(!needs_analysis(Some(30), 0, 50));
        assert!(needs_analysis(Some(30), 0, 60));
        assert!(needs_analysis(Some(30), 1, 31), "a new index");
        assert!(needs_analysis(Some(0), 0, 2));
    }

    /// The embedded migrations are the files of `migrations/` as sqlx resolves them (what
    /// `sqlx::migrate!` embedded): same versions, descriptions, kinds, SQL and checksums, so a
    /// database migrated by an earlier build is recognised, and a new file is not forgotten.
    #[tokio::test]
    async fn embedded_migrations_are_the_migration_files() {
        for (dir, embedded) in [("sqlite", MIGRATE_SQLITE), ("postgres", MIGRATE_POSTGRES)] {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("migrations")
                .join(dir);
            let from_files = sqlx::migrate::Migrator::new(path.as_path()).await.unwrap();
            let from_files: Vec<_> = from_files.iter().collect();
            let embedded = embedded.list();
            assert_eq!(from_files.len(), embedded.len(), "{dir}");
            assert!(!embedded.is_empty());
            for (f, e) in from_files.iter().zip(&embedded) {
                assert_eq!(
                    (f.version, &f.description, f.migration_type, &f.sql, f.no_tx),
                    (e.version, &e.description, e.migration_type, &e.sql, e.no_tx),
                    "{dir}"
                );
                assert_eq!(f.checksum, e.checksum, "{dir} {}", f.version);
            }
        }
    }

    #[test]
    fn urls_are_normalized_and_redacted() {
        assert_eq!(
            normalize_url("hub.db").unwrap(),
            ("sqlite://hub.db?mode=rwc".to_string(), Backend::Sqlite)
        );
        assert_eq!(
            normalize_url("sqlite://x.db").unwrap().0,
            "sqlite://x.db?mode=rwc"
        );
        assert_eq!(
            normalize_url("postgres://u@h/db").unwrap().1,
            Backend::Postgres
        );
        assert!(normalize_url("mysql://x").is_err());
        assert_eq!(
            redact_url("postgres://me:secret@db:5432/x"),
            "postgres://me:***@db:5432/x"
        );
    }

    #[test]
    fn postgres_on_a_loopback_address_is_reached_without_tls_unless_the_url_chooses() {
        if std::env::var_os("PGSSLMODE").is_some() {
            eprintln!("SKIPPED: PGSSLMODE is set, and chooses for every URL");
            return;
        }
        let plain = |url: &str| loopback_without_tls(Backend::Postgres, url);
        assert_eq!(
            plain("postgres://u@127.0.0.1:5432/db").as_deref(),
            Some("postgres://u@127.0.0.1:5432/db?sslmode=disable")
        );
        assert_eq!(
            plain("postgresql://u:pw@localhost/db?application_name=hub").as_deref(),
            Some("postgresql://u:pw@localhost/db?application_name=hub&sslmode=disable")
        );
        for url in ["postgres://u@[::1]:5432/db", "postgres://u@127.8.0.2/db"] {
            assert!(plain(url).is_some(), "{url} is this machine");
        }
        for url in [
            "postgres://u@db.internal:5432/db",
            "postgres://u@10.0.0.7/db",
            "postgres://u@127.0.0.1/db?sslmode=require",
            "postgres://u@127.0.0.1/db?application_name=x&ssl-mode=verify-full",
            "postgres://u@localhost/db?sslmode=prefer",
            "postgres://u@localhost/db?host=/run/postgresql",
        ] {
            assert_eq!(plain(url), None, "{url} is used as given");
        }
        assert_eq!(loopback_without_tls(Backend::Sqlite, "sqlite://x.db"), None);
    }
}
