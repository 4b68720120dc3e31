//! The append-only log of every change of a finding's state (`finding_events`): an import that
//! creates, mitigates or reactivates it, triage that closes or re-prioritizes it. Rows are
//! written in the same transaction as the change and never updated; metrics over time and a
//! finding's history read them (docs/architecture.md, "The status-change log").

use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;
use tollgate_model::Severity;

use crate::sql::{get_bool, get_i64, get_opt_i64, get_opt_str, get_str, Arg, Sql};
use crate::{severity_from_rank, severity_rank, Backend, FindingStatus, Result, Store, Timestamp};

/// What changed.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// An import created it.
    Created,
    /// An import no longer reported it (`close_old_findings`).
    Mitigated,
    /// An import reported a mitigated finding again, or its risk acceptance ran out.
    Reactivated,
    /// Triage closed it (won't fix, risk accepted, compensating control).
    Closed,
    /// Triage set its priority.
    Priority,
    /// Triage added a note (bulk triage records its reason this way).
    Note,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Created => "created",
            EventKind::Mitigated => "mitigated",
            EventKind::Reactivated => "reactivated",
            EventKind::Closed => "closed",
            EventKind::Priority => "priority",
            EventKind::Note => "note",
        }
    }

    fn parse(s: &str) -> Option<EventKind> {
        [
            EventKind::Created,
            EventKind::Mitigated,
            EventKind::Reactivated,
            EventKind::Closed,
            EventKind::Priority,
            EventKind::Note,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// One row of the log.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FindingEvent {
    pub id: i64,
    pub finding_id: i64,
    pub product_id: i64,
    pub at: Timestamp,
    pub kind: EventKind,
    /// The finding's status word after the change (`open`, `mitigated`, `false_positive`, …).
    pub status: String,
    /// Open after the change.
    pub is_open: bool,
    /// Its severity at the change.
    pub severity: Severity,
    /// The import that made the change.
    pub import_id: Option<i64>,
    /// The token (name) that made it.
    pub actor: Option<String>,
    /// A triage reason, a priority, or why an import reactivated it.
    pub detail: Option<String>,
}

/// A change to append.
pub(crate) struct NewEvent<'a> {
    pub finding_id: i64,
    pub product_id: i64,
    pub kind: EventKind,
    pub status: &'a FindingStatus,
    pub severity: Severity,
    pub import_id: Option<i64>,
    pub actor: Option<&'a str>,
    pub detail: Option<&'a str>,
}

/// Rows per INSERT (11 values each).
const EVENT_BATCH: usize = 500;

/// The net change of open findings per (product, severity rank) of some events.
/// How some events change the open findings: the net change per (product, severity rank), and
/// each finding that opened (+1) or closed (-1), for the aggregates the metrics read.
#[derive(Debug, Default)]
pub(crate) struct OpenDeltas {
    daily: std::collections::BTreeMap<(i64, i64), i64>,
    /// (finding, product, +1 / -1)
    changed: Vec<(i64, i64, i64)>,
    /// Findings an import mitigated: remediations.
    mitigated: Vec<i64>,
}

impl OpenDeltas {
    pub(crate) fn new() -> OpenDeltas {
        OpenDeltas::default()
    }

    /// A finding created open (its `created` event written apart).
    pub(crate) fn opened(&mut self, finding_id: i64, product_id: i64, severity: i64) {
        *self.daily.entry((product_id, severity)).or_default() += 1;
        self.changed.push((finding_id, product_id, 1));
    }
}

/// Adds `more` into `into`.
pub(crate) fn merge(into: &mut OpenDeltas, more: OpenDeltas) {
    for (k, d) in more.daily {
        *into.daily.entry(k).or_default() += d;
    }
    into.changed.extend(more.changed);
    into.mitigated.extend(more.mitigated);
}

/// Appends `events`, all at `at`, on the caller's transaction, and returns how they change the
/// number of open findings: the caller writes that with [`add_open_deltas`] once, just before
/// it commits (see there).
pub(crate) async fn append(
    backend: Backend,
    conn: &mut AnyConnection,
    at: Timestamp,
    events: &[NewEvent<'_>],
) -> Result<OpenDeltas> {
    for chunk in events.chunks(EVENT_BATCH) {
        let mut q = Sql::new(
            "INSERT INTO finding_events (finding_id, product_id, at, kind, status, is_open, \
             severity, import_id, actor, detail) VALUES ",
        );
        for (i, e) in chunk.iter().enumerate() {
            if i > 0 {
                q.push(", ");
            }
            let args: [Arg; 10] = [
                e.finding_id.into(),
                e.product_id.into(),
                at.into(),
                e.kind.as_str().into(),
                e.status.word().into(),
                e.status.is_open().into(),
                severity_rank(e.severity).into(),
                e.import_id.into(),
                e.actor.map(str::to_string).into(),
                e.detail.map(str::to_string).into(),
            ];
            q.list(args);
        }
        q.query(backend)?.execute(&mut *conn).await?;
    }
    let mut deltas = OpenDeltas::new();
    for e in events {
        let d = open_delta(e);
        if d != 0 {
            *deltas
                .daily
                .entry((e.product_id, severity_rank(e.severity)))
                .or_default() += d;
            deltas.changed.push((e.finding_id, e.product_id, d));
        }
        if e.kind == EventKind::Mitigated {
            deltas.mitigated.push(e.finding_id);
        }
    }
    Ok(deltas)
}

/// How an event changes the number of open findings. Each kind follows one state: an import
/// creates a finding open (or closed, when the scanner suppressed it), mitigates an open one,
/// reactivates a closed one; triage closes an open one; a priority changes nothing.
fn open_delta(e: &NewEvent<'_>) -> i64 {
    match e.kind {
        EventKind::Created => i64::from(e.status.is_open()),
        EventKind::Reactivated => 1,
        EventKind::Mitigated | EventKind::Closed => -1,
        EventKind::Priority | EventKind::Note => 0,
    }
}

/// Findings per batch of the open-by-age update.
const AGE_BATCH: usize = 5000;

/// Keeps the aggregates of open findings with the deltas of one transaction, written last:
///
/// - `open_daily`: the net change of open findings per product, UTC day and severity (one
///   statement, rows in key order);
/// - `open_by_age`: open findings per product, severity, mobile category and UTC day first seen
///   (from the changed findings' rows, in batches);
/// - `remediations`: each mitigation with the seconds since the finding last opened (from the
///   log, whose newest row of the finding is the mitigation just appended), and their daily
///   counts `remediation_daily`.
///
/// On PostgreSQL the products' rows are locked first (`FOR NO KEY UPDATE`), in id order: two transactions of one
/// product then take these rows one after the other, never in opposite orders (no deadlock), and
/// hold them only until their commit.
pub(crate) async fn add_open_deltas(
    backend: Backend,
    conn: &mut AnyConnection,
    at: Timestamp,
    mut deltas: OpenDeltas,
) -> Result<()> {
    deltas.daily.retain(|_, d| *d != 0);
    if deltas.changed.is_empty() {
        return Ok(());
    }
    if backend == Backend::Postgres {
        let products: std::collections::BTreeSet<i64> =
            deltas.changed.iter().map(|(_, p, _)| *p).collect();
        for p in products {
            Sql::new("SELECT id FROM products WHERE id = ")
                .arg(p)
                // The lock an UPDATE of the row takes (adjust_counts'): not FOR UPDATE, which
                // would wait for the key-share locks other transactions' inserts of tests and
                // engagements hold on the product (a deadlock, seen in the concurrency test).
                .push(" FOR NO KEY UPDATE")
                .query(backend)?
                .execute(&mut *conn)
                .await?;
        }
    }
    if !deltas.daily.is_empty() {
        let day = at.div_euclid(86_400);
        let mut q = Sql::new("INSERT INTO open_daily (product_id, day, severity, delta) VALUES ");
        for (i, ((product_id, severity), delta)) in deltas.daily.into_iter().enumerate() {
            if i > 0 {
                q.push(", ");
            }
            q.list::<Arg>([product_id.into(), day.into(), severity.into(), delta.into()]);
        }
        q.push(
            " ON CONFLICT (product_id, day, severity) DO UPDATE SET delta = open_daily.delta + excluded.delta",
        );
        q.query(backend)?.execute(&mut *conn).await?;
    }
    for sign in [1i64, -1] {
        let ids: Vec<i64> = deltas
            .changed
            .iter()
            .filter(|(_, _, d)| *d == sign)
            .map(|(f, _, _)| *f)
            .collect();
        for chunk in ids.chunks(AGE_BATCH) {
            // `sign` is 1 or -1, written into the text; the ids are bound.
            let mut q = Sql::new(format!(
                "INSERT INTO open_by_age (product_id, severity, mobile, first_day, n) \
                 SELECT product_id, severity, {MOBILE_CATEGORY}, first_seen / 86400, COUNT(*) * ({sign}) \
                 FROM findings WHERE id IN "
            ));
            q.list(chunk.iter().copied());
            q.push(&format!(
                " GROUP BY product_id, severity, {MOBILE_CATEGORY}, first_seen / 86400 \
                 ON CONFLICT (product_id, severity, mobile, first_day) DO UPDATE SET n = open_by_age.n + excluded.n"
            ));
            q.query(backend)?.execute(&mut *conn).await?;
        }
    }
    for chunk in deltas.mitigated.chunks(AGE_BATCH) {
        // Each finding whose last event is this mitigation, and the time since its last opening.
        let ids = chunk.iter().copied();
        let mut q;
        match backend {
            // Each finding's last event by one step down its events' index, then its last
            // opening before it by a few more. (SQLite's form tests every `mitigated` event of a
            // finding against its last one, reading its events once per past close: 780 ms a
            // batch of 5,000 on the bench's hub after forty reimports; the latest of all its
            // openings read every earlier event once: 381 ms; this way 70 ms.)
            Backend::Postgres => {
                q = Sql::new(
                    "INSERT INTO remediations (finding_id, product_id, severity, at, seconds) \
                     SELECT e.finding_id, e.product_id, e.severity, e.at, e.at - o.opened FROM findings m \
                     CROSS JOIN LATERAL (SELECT l.id, l.finding_id, l.product_id, l.severity, l.at, l.kind \
                     FROM finding_events l WHERE l.finding_id = m.id ORDER BY l.id DESC LIMIT 1) e \
                     CROSS JOIN LATERAL (SELECT p.at AS opened FROM finding_events p \
                     WHERE p.finding_id = e.finding_id AND p.id < e.id AND p.kind IN ('created', 'reactivated') \
                     ORDER BY p.id DESC LIMIT 1) o \
                     WHERE e.kind = 'mitigated' AND m.id IN ",
                );
                q.list(ids);
            }
            Backend::Sqlite => {
                q = Sql::new(
                    "INSERT INTO remediations (finding_id, product_id, severity, at, seconds) \
                     SELECT finding_id, product_id, severity, at, seconds FROM (\
                     SELECT e.finding_id, e.product_id, e.severity, e.at, e.at - (\
                     SELECT o.at FROM finding_events o WHERE o.finding_id = e.finding_id AND o.id < e.id \
                     AND o.kind IN ('created', 'reactivated') ORDER BY o.id DESC LIMIT 1) AS seconds \
                     FROM finding_events e WHERE e.kind = 'mitigated' AND e.finding_id IN ",
                );
                q.list(ids).push(
                    " AND e.id = (SELECT MAX(l.id) FROM finding_events l WHERE l.finding_id = e.finding_id)\
                     ) x WHERE seconds IS NOT NULL",
                );
            }
        }
        q.query(backend)?.execute(&mut *conn).await?;
        let mut daily = Sql::new(
            "INSERT INTO remediation_daily (product_id, severity, day, days_taken, n, seconds) \
             SELECT product_id, severity, at / 86400, (seconds + 86399) / 86400, COUNT(*), SUM(seconds) \
             FROM remediations WHERE at = ",
        );
        daily
            .arg(at)
            .push(" AND finding_id IN ")
            .list(chunk.iter().copied())
            .push(
                " GROUP BY product_id, severity, at / 86400, (seconds + 86399) / 86400 \
                 ON CONFLICT (product_id, severity, day, days_taken) DO UPDATE SET \
                 n = remediation_daily.n + excluded.n, seconds = remediation_daily.seconds + excluded.seconds",
            );
        daily.query(backend)?.execute(&mut *conn).await?;
    }
    Ok(())
}

/// 1 for a finding of the `mobile` category, else 0 (`open_by_age.mobile`).
const MOBILE_CATEGORY: &str = "CASE WHEN category = 'mobile' THEN 1 ELSE 0 END";

impl Store {
    /// A finding's history, oldest first.
    pub async fn finding_events(&self, finding_id: i64) -> Result<Vec<FindingEvent>> {
        let rows = Sql::new(
            "SELECT id, finding_id, product_id, at, kind, status, is_open, severity, import_id, \
             actor, detail FROM finding_events WHERE finding_id = ",
        )
        .arg(finding_id)
        .push(" ORDER BY id")
        .query(self.backend)?
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let kind = get_str(r, "kind")?;
                Ok(FindingEvent {
                    id: get_i64(r, "id")?,
                    finding_id: get_i64(r, "finding_id")?,
                    product_id: get_i64(r, "product_id")?,
                    at: get_i64(r, "at")?,
                    kind: EventKind::parse(&kind).ok_or_else(|| {
                        crate::StoreError::Corrupt(format!("finding event of kind {kind:?}"))
                    })?,
                    status: get_str(r, "status")?,
                    is_open: get_bool(r, "is_open")?,
                    severity: severity_from_rank(get_i64(r, "severity")?),
                    import_id: get_opt_i64(r, "import_id")?,
                    actor: get_opt_str(r, "actor")?,
                    detail: get_opt_str(r, "detail")?,
                })
            })
            .collect()
    }
}
