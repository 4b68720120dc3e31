//! PostgreSQL's typed read path for the hottest reads: a page of the findings queue, and the
//! session every page of the UI looks up first.
//!
//! Every other statement goes through sqlx's `Any` driver and its pool, which cost a page more
//! than they need to (docs/benchmarks.md, "PostgreSQL's pages on connections of their own"):
//!
//! - the `Any` driver copies each row it receives into owned `Any` values (each text a new
//!   `String`, each column's name and type a new entry) before the store reads them, and the
//!   store then copies the texts again: on a 50-finding page of 21 columns, `AnyRow::try_from`
//!   was 12% of the server's CPU samples for `cwe=79`, ~17% with the columns it builds and drops;
//! - sqlx's pool pings every connection it gets back (one more round trip, a wake-up of the
//!   server's process and of this one, after every use).
//!
//! Here those statements run on connections of PostgreSQL's own driver, decoded straight from
//! the rows received (`sql::Columns`), kept idle in a small list of this module's: the most
//! recently used is handed out first (it and its server process are warm), a connection idle for
//! a while is pinged before it is used (a server restart or a firewall may have closed it), and
//! one is put back only after a read that completed — a read that failed, or was dropped part way
//! (a client that went away), may have left it mid-exchange, so it is closed instead.
//!
//! Connections are opened as pages are read, at most `--max-connections` when it is given, else
//! [`crate::default_page_connections`] (fewer than the main pool's: 2 per core), and are set up
//! as the main pool's are (the same URL, TLS off on loopback when the main pool turned it
//! off, the same `random_page_cost`).

use crate::{Result, StoreError, IDLE_BEFORE_PING};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{Connection, Executor};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, SemaphorePermit};

/// How long a read waits for a connection when all are in use (as the main pool's).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) struct PgReader {
    connect: PgConnectOptions,
    /// Idle connections, each with the time it was put back; the last is the most recent.
    idle: Mutex<Vec<(Instant, PgConnection)>>,
    /// One permit per connection open (idle or in use).
    permits: Semaphore,
    closed: AtomicBool,
}

/// A connection of [`PgReader`] in use; [`PgRead::give_back`] when the read completed.
pub(crate) struct PgRead<'a> {
    conn: Option<PgConnection>,
    reader: &'a PgReader,
    _permit: SemaphorePermit<'a>,
}

impl PgReader {
    /// A reader of the database at `url` (the URL the main pool connected with), with at most
    /// `max_connections` connections; none is opened yet.
    pub fn new(url: &str, max_connections: u32) -> Result<PgReader> {
        let connect = PgConnectOptions::from_str(url).map_err(|e| {
            StoreError::Invalid(format!(
                "cannot use database URL {}: {e}",
                crate::redact_url(url)
            ))
        })?;
        Ok(PgReader {
            connect,
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(usize::try_from(max_connections.max(1)).unwrap_or(1)),
            closed: AtomicBool::new(false),
        })
    }

    /// A connection: the most recently used idle one (pinged first when idle a while), or a new
    /// one.
    pub async fn acquire(&self) -> Result<PgRead<'_>> {
        let permit = tokio::time::timeout(ACQUIRE_TIMEOUT, self.permits.acquire())
            .await
            .map_err(|_| StoreError::Database(sqlx::Error::PoolTimedOut))?
            .map_err(|_| StoreError::Database(sqlx::Error::PoolClosed))?;
        if self.closed.load(Ordering::Acquire) {
            return Err(StoreError::Database(sqlx::Error::PoolClosed));
        }
        loop {
            let idle = self.idle_list().pop();
            let Some((since, mut conn)) = idle else { break };
            if since.elapsed() < IDLE_BEFORE_PING || conn.ping().await.is_ok() {
                return Ok(PgRead {
                    conn: Some(conn),
                    reader: self,
                    _permit: permit,
                });
            }
            // Closed meanwhile: dropped, and the next one tried.
        }
        let mut conn = PgConnection::connect_with(&self.connect).await?;
        conn.execute(crate::POSTGRES_RANDOM_PAGE_COST).await?;
        Ok(PgRead {
            conn: Some(conn),
            reader: self,
            _permit: permit,
        })
    }

    /// Closes the idle connections; those in use are closed when their reads end.
    pub async fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.permits.close();
        let idle = std::mem::take(&mut *self.idle_list());
        for (_, conn) in idle {
            let _ = conn.close().await;
        }
    }

    /// The idle list. A panic while it was held leaves whole entries: the poison is ignored.
    fn idle_list(&self) -> std::sync::MutexGuard<'_, Vec<(Instant, PgConnection)>> {
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl PgRead<'_> {
    /// The read completed: the connection goes back to the idle ones. (Dropped without this —
    /// an error, or a read given up part way — it is closed.)
    pub fn give_back(mut self) {
        if let Some(conn) = self.conn.take() {
            if !self.reader.closed.load(Ordering::Acquire) {
                self.reader.idle_list().push((Instant::now(), conn));
            }
        }
    }
}

impl std::ops::Deref for PgRead<'_> {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        self.conn
            .as_ref()
            .expect("a connection in use until given back")
    }
}

impl std::ops::DerefMut for PgRead<'_> {
    fn deref_mut(&mut self) -> &mut PgConnection {
        self.conn
            .as_mut()
            .expect("a connection in use until given back")
    }
}
