//! SQLite's direct read path for the hottest read, a page of findings.
//!
//! Through sqlx every SQLite statement runs on the connection's own worker thread: each page costs
//! channel hand-offs and thread wake-ups, and each row's values are copied into owned `Any`
//! values — on a 50-finding page that was more than the query itself. Here a page is read on the
//! calling thread through plain connections (rusqlite, the same bundled SQLite as sqlx's),
//! straight from SQLite's buffers. WAL readers never wait for the writer, and a page is bounded
//! (≤ 1,000 rows), so reading inline on an async worker is brief. Writes and everything else stay
//! on sqlx.

use crate::{Result, StoreError};
use rusqlite::{Connection, OpenFlags};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Idle read connections kept open; more are opened under load and closed when returned.
const MAX_IDLE: usize = 8;

pub(crate) struct SqliteReader {
    path: PathBuf,
    /// Idle connections, each with the statistics generation it was opened in.
    idle: Mutex<Vec<(u64, Connection)>>,
    /// Bumped when the planner's statistics changed (SQLite loads them when a connection opens).
    generation: AtomicU64,
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Read(e.to_string())
    }
}

impl SqliteReader {
    /// A reader of the database file that sqlx opened (and migrated) at `path`.
    pub fn new(path: PathBuf) -> Self {
        SqliteReader {
            path,
            idle: Mutex::new(Vec::new()),
            generation: AtomicU64::new(0),
        }
    }

    /// The planner's statistics changed (`ANALYZE`): connections opened before are closed when
    /// next returned, so every read plans with the new ones.
    pub fn statistics_changed(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Runs `read` on an idle connection (opening one when none is idle).
    pub fn with<R>(&self, read: impl FnOnce(&Connection) -> Result<R>) -> Result<R> {
        let generation = self.generation.load(Ordering::SeqCst);
        let idle = self.idle.lock().ok().and_then(|mut v| {
            v.retain(|(g, _)| *g == generation);
            v.pop()
        });
        let (opened_in, conn) = match idle {
            Some(c) => c,
            None => (generation, self.open()?),
        };
        let out = read(&conn);
        // A connection that failed mid-read may hold a broken statement: drop it.
        if out.is_ok() && opened_in == self.generation.load(Ordering::SeqCst) {
            if let Ok(mut v) = self.idle.lock() {
                if v.len() < MAX_IDLE {
                    v.push((opened_in, conn));
                }
            }
        }
        out
    }

    fn open(&self) -> Result<Connection> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )?;
        // WAL readers wait only while a crashed writer's log is being recovered; the read runs on
        // an async worker, so give up sooner than the writers' 30 s.
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.execute_batch(
            "PRAGMA query_only = ON; PRAGMA cache_size = -32768; \
             PRAGMA mmap_size = 1073741824; PRAGMA temp_store = MEMORY;",
        )?;
        conn.set_prepared_statement_cache_capacity(32);
        Ok(conn)
    }
}
