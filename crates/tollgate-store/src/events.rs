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
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Created => "created",
            EventKind::Mitigated => "mitigated",
            EventKind::Reactivated => "reactivated",
            EventKind::Closed => "closed",
            EventKind::Priority => "priority",
        }
    }

    fn parse(s: &str) -> Option<EventKind> {
        [
            EventKind::Created,
            EventKind::Mitigated,
            EventKind::Reactivated,
            EventKind::Closed,
            EventKind::Priority,
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
pub(crate) type OpenDeltas = std::collections::BTreeMap<(i64, i64), i64>;

/// Adds `more` into `into`.
pub(crate) fn merge(into: &mut OpenDeltas, more: OpenDeltas) {
    for (k, d) in more {
        *into.entry(k).or_default() += d;
    }
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
                .entry((e.product_id, severity_rank(e.severity)))
                .or_default() += d;
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
        EventKind::Priority => 0,
    }
}

/// Keeps `open_daily` (the net change of open findings per product, day and severity) with the
/// deltas of one transaction: one statement, rows in key order, written last — after the
/// product's counts, whose row lock already orders two transactions of one product — so two
/// PostgreSQL transactions never wait on each other's `open_daily` rows in opposite orders, and
/// hold them only until their commit.
pub(crate) async fn add_open_deltas(
    backend: Backend,
    conn: &mut AnyConnection,
    at: Timestamp,
    mut deltas: OpenDeltas,
) -> Result<()> {
    deltas.retain(|_, d| *d != 0);
    if deltas.is_empty() {
        return Ok(());
    }
    let day = at.div_euclid(86_400);
    let mut q = Sql::new("INSERT INTO open_daily (product_id, day, severity, delta) VALUES ");
    for (i, ((product_id, severity), delta)) in deltas.into_iter().enumerate() {
        if i > 0 {
            q.push(", ");
        }
        q.list::<Arg>([product_id.into(), day.into(), severity.into(), delta.into()]);
    }
    q.push(
        " ON CONFLICT (product_id, day, severity) DO UPDATE SET delta = open_daily.delta + excluded.delta",
    );
    q.query(backend)?.execute(&mut *conn).await?;
    Ok(())
}

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
