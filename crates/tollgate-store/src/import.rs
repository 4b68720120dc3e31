//! The import / reimport engine: one transaction per call, DefectDojo's matching rules.
//!
//! Reimport matches by fingerprint within the test: present → untouched (last seen moves);
//! new → created; absent → mitigated when `close_old_findings`; a mitigated finding that comes
//! back → reactivated unless `do_not_reactivate`. Findings closed by triage (false positive,
//! risk accepted, out of scope, closed through the Results API, permanently or not) never
//! reopen, and existing titles and severities are never rewritten.

use crate::context::TEST_COLUMNS;
use crate::events::{EventKind, NewEvent};
use crate::sql::{get_bool, get_i64, get_opt_str, get_str, Arg, Sql};
use crate::{
    severity_from_rank, severity_rank, Backend, ClosedAs, FindingStatus, ImportDelta,
    ImportOutcome, ImportRequest, ImportStatistics, Result, SeverityCounts, Store, StoreError,
    Test,
};
use sqlx::AnyConnection;
use std::collections::{HashMap, HashSet};
use tollgate_model::{Finding, Severity};

/// Rows per multi-row INSERT (15 columns: far below SQLite's and PostgreSQL's parameter limits).
const INSERT_BATCH: usize = 1000;
/// Ids per `IN (…)` list.
const ID_BATCH: usize = 5000;

/// A finding on its way into the store, with its JSON already written (by the caller's thread,
/// beside the writes). The only way in for report text: [`Incoming::new`] replaces every U+0000
/// of it with U+FFFD, so a finding is never lost for a character PostgreSQL cannot store, and both
/// backends keep the same text.
pub struct Incoming {
    finding: Finding,
    data: String,
}

impl Incoming {
    pub fn new(finding: Finding) -> Incoming {
        let data = serde_json::to_string(&finding).unwrap_or_else(|_| "{}".into());
        // serde_json writes U+0000 as the escape `\u0000`: no escape, no NUL (the common case
        // costs one scan). A hit may also be the text `\u0000` itself; the slow path tells them apart.
        if data.contains("\\u0000") {
            return Incoming::without_nul(finding);
        }
        Incoming { finding, data }
    }

    /// Every string of the finding (keys too) with U+0000 replaced by U+FFFD.
    fn without_nul(finding: Finding) -> Incoming {
        fn clean(v: &mut serde_json::Value) {
            use serde_json::Value;
            match v {
                Value::String(s) if s.contains('\0') => *s = s.replace('\0', "\u{FFFD}"),
                Value::Array(items) => items.iter_mut().for_each(clean),
                Value::Object(map) => {
                    let entries = std::mem::take(map);
                    for (k, mut item) in entries {
                        clean(&mut item);
                        map.insert(k.replace('\0', "\u{FFFD}"), item);
                    }
                }
                _ => {}
            }
        }
        let Ok(mut value) = serde_json::to_value(&finding) else {
            return Incoming {
                finding,
                data: "{}".into(),
            };
        };
        clean(&mut value);
        match serde_json::from_value::<Finding>(value.clone()) {
            Ok(finding) => {
                let data = serde_json::to_string(&finding).unwrap_or_else(|_| value.to_string());
                Incoming { finding, data }
            }
            // Not expected (the model reads its own JSON back): keep the cleaned JSON, and the
            // title the store indexes cleaned the same way.
            Err(_) => {
                let mut finding = finding;
                finding.title = finding.title.replace('\0', "\u{FFFD}");
                Incoming {
                    finding,
                    data: value.to_string(),
                }
            }
        }
    }
}

enum Batches {
    One(Option<Vec<Incoming>>),
    Channel(tokio::sync::mpsc::Receiver<std::result::Result<Vec<Incoming>, String>>),
}

impl Batches {
    async fn next(&mut self) -> Option<std::result::Result<Vec<Incoming>, String>> {
        match self {
            Batches::One(b) => b.take().map(Ok),
            Batches::Channel(rx) => rx.recv().await,
        }
    }
}

struct Existing {
    id: i64,
    severity: Severity,
    status: FindingStatus,
    /// Reported by its test's last import, so its `last_seen` is that import's time and not
    /// stored (migration 0016): an import writes it only if it misses it.
    seen_in_last_import: bool,
}

/// A change of an existing finding, for the status-change log: id, what, the status after,
/// severity, detail.
type Change = (
    i64,
    EventKind,
    FindingStatus,
    Severity,
    Option<&'static str>,
);

impl Existing {
    /// Marks it mitigated by this import: its status, the open/closed counters, the statistics,
    /// the ids to write and the log.
    fn mitigate(
        &mut self,
        counts: &mut CountDelta,
        delta: &mut ImportDelta,
        ids: &mut Vec<i64>,
        changes: &mut Vec<Change>,
    ) {
        let was_open = self.status.is_open();
        self.status.is_mitigated = true;
        self.status.active = false;
        counts.flip(was_open, self.status.is_open());
        delta.closed.add(self.severity, &self.status);
        ids.push(self.id);
        changes.push((
            self.id,
            EventKind::Mitigated,
            self.status.clone(),
            self.severity,
            None,
        ));
    }

    /// A risk acceptance whose expiry date has passed (and that was not a permanent close).
    fn acceptance_expired(&self, today: &str) -> bool {
        let s = &self.status;
        s.risk_accepted
            && !s.permanently_closed
            && s.risk_accepted_until.as_deref().is_some_and(|d| d < today)
    }

    fn closed_by_triage(&self) -> bool {
        let s = &self.status;
        s.false_p
            || s.out_of_scope
            || s.risk_accepted
            || s.permanently_closed
            || s.closed_as.is_some()
    }
}

/// Open / closed counter changes for one product.
#[derive(Default)]
struct CountDelta {
    open: i64,
    closed: i64,
}

impl CountDelta {
    fn flip(&mut self, was_open: bool, now_open: bool) {
        if was_open != now_open {
            let d = if now_open { 1 } else { -1 };
            self.open += d;
            self.closed -= d;
        }
    }
    fn new_row(&mut self, open: bool) {
        if open {
            self.open += 1;
        } else {
            self.closed += 1;
        }
    }
}

pub(crate) const EXISTING_COLUMNS: &str = "id, fingerprint, severity, active, verified, false_p, \
     out_of_scope, risk_accepted, risk_accepted_until, is_mitigated, duplicate, permanently_closed, closed_as";

fn existing_from_row(row: &sqlx::any::AnyRow) -> Result<(String, Existing)> {
    let status = FindingStatus {
        active: get_bool(row, "active")?,
        verified: get_bool(row, "verified")?,
        false_p: get_bool(row, "false_p")?,
        out_of_scope: get_bool(row, "out_of_scope")?,
        risk_accepted: get_bool(row, "risk_accepted")?,
        risk_accepted_until: get_opt_str(row, "risk_accepted_until")?,
        is_mitigated: get_bool(row, "is_mitigated")?,
        duplicate: get_bool(row, "duplicate")?,
        permanently_closed: get_bool(row, "permanently_closed")?,
        closed_as: get_opt_str(row, "closed_as")?
            .as_deref()
            .and_then(ClosedAs::from_str_opt),
        ..FindingStatus::default()
    };
    Ok((
        get_str(row, "fingerprint")?,
        Existing {
            id: get_i64(row, "id")?,
            severity: severity_from_rank(get_i64(row, "severity")?),
            status,
            // Read for findings of other tests, whose last import this one does not change.
            seen_in_last_import: false,
        },
    ))
}

/// The import's tags as stored (a JSON list). Tags are request text: U+0000 is refused here, as
/// the SQL builder refuses it in every other value (JSON would escape it past that check).
fn tags_json(tags: &[String]) -> Result<String> {
    for t in tags {
        crate::sql::refuse_nul(t)?;
    }
    Ok(serde_json::to_string(tags).unwrap_or_else(|_| "[]".into()))
}

/// Days from 1970-01-01 to `d` (Howard Hinnant's days-from-civil).
pub(crate) fn days_from_civil(d: tollgate_policy::Date) -> i64 {
    let y = i64::from(d.year) - i64::from(d.month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(d.month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d.day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

impl Store {
    /// Imports or reimports `findings` (already parsed and checked against `scan_type` by the
    /// caller) in one transaction: on any error nothing is stored.
    pub async fn import(
        &self,
        req: ImportRequest,
        findings: Vec<Finding>,
    ) -> Result<ImportOutcome> {
        let batch = findings.into_iter().map(Incoming::new).collect();
        self.import_batches(req, Batches::One(Some(batch))).await
    }

    /// Like [`Store::import`], but the findings arrive in batches while the caller still parses
    /// the report (the parse and the writes overlap). An `Err` from the channel (the report
    /// turned out broken) aborts the import: nothing is stored, and the message is the error.
    pub async fn import_stream(
        &self,
        req: ImportRequest,
        batches: tokio::sync::mpsc::Receiver<std::result::Result<Vec<Incoming>, String>>,
    ) -> Result<ImportOutcome> {
        self.import_batches(req, Batches::Channel(batches)).await
    }

    async fn import_batches(
        &self,
        req: ImportRequest,
        mut batches: Batches,
    ) -> Result<ImportOutcome> {
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin().await?;
        let (outcome, written) = self.import_in(&mut tx, &req, &mut batches).await?;
        let recounted = self
            .recount_for_commit(&mut tx, &[outcome.product_id])
            .await;
        tx.commit().await?;
        self.remember_recounted(recounted);
        // Still the writer's turn: ANALYZE writes. Usually nothing to do (three lookups); when
        // the findings doubled, a full ANALYZE (3 s on a 1M-finding hub, log2(n) times).
        self.refresh_statistics().await;
        self.vacuum_after_writes(written).await;
        Ok(outcome)
    }

    async fn import_in(
        &self,
        conn: &mut AnyConnection,
        req: &ImportRequest,
        batches: &mut Batches,
    ) -> Result<(ImportOutcome, i64)> {
        let now = req.now;
        let mut resolved = self.resolve_target(conn, req).await?;
        self.lock_products(conn, &[resolved.product_id]).await?;

        let is_reimport = resolved.test.is_some();
        let test = match resolved.test.take() {
            Some(t) => t,
            None => {
                let title = req
                    .target
                    .test_title
                    .clone()
                    .unwrap_or_else(|| req.scan_type.clone());
                let row = Sql::new(
                    "INSERT INTO tests (engagement_id, product_id, title, titled, scan_type, created_at, updated_at) VALUES (",
                )
                .arg(resolved.engagement_id)
                .push(", ")
                .arg(resolved.product_id)
                .push(", ")
                .arg(title)
                .push(", ")
                .arg(req.target.test_title.is_some())
                .push(", ")
                .arg(req.scan_type.as_str())
                .push(", ")
                .arg(now)
                .push(", ")
                .arg(now)
                .push(format!(") RETURNING {TEST_COLUMNS}").as_str())
                .query(self.backend)?
                .fetch_one(&mut *conn)
                .await?;
                crate::context::test_from_row(&row)?
            }
        };

        let import_id = {
            let row = Sql::new(
                "INSERT INTO imports (test_id, kind, created_at, scan_date, version, branch_tag, commit_hash, build_id, service, tags, actor) VALUES (",
            )
            .arg(test.id)
            .push(", ")
            .arg(if is_reimport { "reimport" } else { "import" })
            .push(", ")
            .arg(now)
            .push(", ")
            .arg(req.scan_date.clone())
            .push(", ")
            .arg(req.version.clone())
            .push(", ")
            .arg(req.branch_tag.clone())
            .push(", ")
            .arg(req.commit_hash.clone())
            .push(", ")
            .arg(req.build_id.clone())
            .push(", ")
            .arg(req.service.clone())
            .push(", ")
            .arg(Arg::Json(tags_json(&req.tags)?))
            .push(", ")
            .arg(req.actor.clone())
            .push(") RETURNING id")
            .query(self.backend)?
            .fetch_one(&mut *conn)
            .await?;
            get_i64(&row, "id")?
        };

        // What the test holds now.
        let existing = if is_reimport {
            self.test_findings(conn, test.id).await?
        } else {
            HashMap::new()
        };
        let mut existing = existing;
        let mut before = SeverityCounts::default();
        for e in existing.values() {
            before.add(e.severity, &e.status);
        }

        let today = tollgate_policy::Date::from_days(now.div_euclid(86_400)).to_string();
        let mut expired = Vec::new();
        let mut delta = ImportDelta::default();
        let mut counts = CountDelta::default();
        let mut touch = Vec::new();
        let mut reactivate = Vec::new();
        let new_status = FindingStatus {
            active: req.active,
            verified: req.verified,
            ..FindingStatus::default()
        };
        // A result the scanner itself marked suppressed (a SARIF suppression, a ZAP false
        // positive, a Generic finding sent as false_p/inactive/mitigated) is created as
        // DefectDojo's SARIF reader creates one: a false positive, inactive.
        let suppressed_status = FindingStatus {
            active: false,
            false_p: true,
            ..new_status.clone()
        };
        let mut created_counts = SeverityCounts::default();
        // How the import changes the number of open findings, written to open_daily last.
        let mut open_deltas = crate::events::OpenDeltas::new();
        let mut create: Vec<Incoming> = Vec::new();
        // The lowest id of the findings this import creates (their events are read back by it).
        let mut first_created: Option<i64> = None;
        let mut matched: HashSet<i64> = HashSet::with_capacity(existing.len());
        // The report: what is below the minimum severity and repeats of a fingerprint are dropped.
        let mut below_minimum_severity = 0;
        let mut duplicates_in_report = 0;
        let mut not_reactivated = 0;
        // State changes of existing findings, for the status-change log.
        let mut changes: Vec<Change> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        while let Some(batch) = batches.next().await {
            let batch = batch.map_err(StoreError::Invalid)?;
            for item in batch {
                let f = &item.finding;
                if f.severity < req.minimum_severity {
                    below_minimum_severity += 1;
                    continue;
                }
                if !seen.insert(f.fingerprint.as_str().to_string()) {
                    duplicates_in_report += 1;
                    continue;
                }
                match existing.get_mut(f.fingerprint.as_str()) {
                    Some(e) => {
                        matched.insert(e.id);
                        if e.acceptance_expired(&today) {
                            // The acceptance ran out and the finding is still there: it is open again.
                            let was_open = e.status.is_open();
                            e.status.risk_accepted = false;
                            e.status.risk_accepted_until = None;
                            e.status.closed_as = None;
                            e.status.is_mitigated = false;
                            e.status.active = true;
                            counts.flip(was_open, e.status.is_open());
                            delta.reactivated.add(e.severity, &e.status);
                            expired.push(e.id);
                            changes.push((
                                e.id,
                                EventKind::Reactivated,
                                e.status.clone(),
                                e.severity,
                                Some("its risk acceptance expired and the scan still reports it"),
                            ));
                        } else if e.status.is_mitigated
                            && !e.closed_by_triage()
                            && req.do_not_reactivate
                        {
                            // DefectDojo leaves it mitigated and counts it in no bucket: not
                            // reactivated, not untouched, not closed (it was already closed).
                            not_reactivated += 1;
                            if !e.seen_in_last_import {
                                touch.push(e.id);
                            }
                        } else if e.status.is_mitigated && !e.closed_by_triage() {
                            let was_open = e.status.is_open();
                            e.status.is_mitigated = false;
                            e.status.active = true;
                            counts.flip(was_open, e.status.is_open());
                            delta.reactivated.add(e.severity, &e.status);
                            reactivate.push(e.id);
                            changes.push((
                                e.id,
                                EventKind::Reactivated,
                                e.status.clone(),
                                e.severity,
                                None,
                            ));
                        } else {
                            delta.untouched.add(e.severity, &e.status);
                            if !e.seen_in_last_import {
                                touch.push(e.id);
                            }
                        }
                    }
                    None => {
                        let status = if f.suppressed {
                            &suppressed_status
                        } else {
                            &new_status
                        };
                        delta.created.add(f.severity, status);
                        created_counts.add(f.severity, status);
                        counts.new_row(status.is_open());
                        create.push(item);
                        if create.len() >= INSERT_BATCH {
                            let (d, first) = self
                                .insert_findings(
                                    conn,
                                    req,
                                    &resolved,
                                    test.id,
                                    import_id,
                                    (&new_status, &suppressed_status),
                                    &create,
                                )
                                .await?;
                            crate::events::merge(&mut open_deltas, d);
                            first_created = lowest(first_created, first);
                            create.clear();
                        }
                    }
                }
            }
        }
        if !create.is_empty() {
            let (d, first) = self
                .insert_findings(
                    conn,
                    req,
                    &resolved,
                    test.id,
                    import_id,
                    (&new_status, &suppressed_status),
                    &create,
                )
                .await?;
            crate::events::merge(&mut open_deltas, d);
            first_created = lowest(first_created, first);
        }

        // What this report no longer has: closed (with close_old_findings), and in any case no
        // longer seen by the test's last import, so its `last_seen` is written down: the time of
        // the import before this one.
        let mut mitigate = Vec::new();
        let mut missed = Vec::new();
        for e in existing.values_mut() {
            if matched.contains(&e.id) {
                continue;
            }
            if req.close_old_findings
                && e.status.active
                && !e.status.is_mitigated
                && !e.closed_by_triage()
            {
                e.mitigate(&mut counts, &mut delta, &mut mitigate, &mut changes);
            } else if e.seen_in_last_import {
                missed.push(e.id);
            }
        }
        // The first ones are this test's; the rest (below) earlier tests', whose last import
        // this one does not change.
        let mitigated_here = mitigate.len();
        if req.close_old_findings && !is_reimport {
            // Import with close_old_findings: earlier tests of this scan type in the
            // engagement lose what this report no longer has.
            let rows = Sql::new(format!(
                "SELECT {EXISTING_COLUMNS} FROM findings WHERE test_id <> "
            ))
            .arg(test.id)
            .push(" AND is_open = ")
            .arg(true)
            .push(" AND test_id IN (SELECT id FROM tests WHERE engagement_id = ")
            .arg(resolved.engagement_id)
            .push(" AND scan_type = ")
            .arg(req.scan_type.as_str())
            .push(")")
            .query(self.backend)?
            .fetch_all(&mut *conn)
            .await?;
            for row in &rows {
                let (fp, mut e) = existing_from_row(row)?;
                if !seen.contains(&fp) {
                    e.mitigate(&mut counts, &mut delta, &mut mitigate, &mut changes);
                }
            }
        }

        // Writes.
        let ids = |set: &str, args: Vec<Arg>| {
            let mut q = Sql::new(format!("UPDATE findings SET {set}"));
            q.args = args;
            q
        };
        // Reported again after this test's last import missed them (or from before migration
        // 0016): seen by the last import from now on. Those it reported are not written at all.
        self.update_findings(conn, &touch, || {
            ids(
                "last_seen = $1, seen_in_last_import = $2",
                vec![now.into(), true.into()],
            )
        })
        .await?;
        // Missed by this import: their `last_seen` is no longer the last import's time, so it
        // is written, as the time of the import before this one (which reported them).
        let (here, earlier_tests) = mitigate.split_at(mitigated_here);
        let last_import_time = match test.last_import_id {
            // Nothing to write down (an identical reimport): no question to ask.
            _ if missed.is_empty() && here.is_empty() => None,
            Some(id) => Sql::new("SELECT created_at FROM imports WHERE id = ")
                .arg(id)
                .query(self.backend)?
                .fetch_optional(&mut *conn)
                .await?
                .map(|r| get_i64(&r, "created_at"))
                .transpose()?,
            None => None,
        };
        let written_down = |set: &str, mut args: Vec<Arg>| {
            let n = args.len();
            let mut q = match last_import_time {
                Some(t) => {
                    args.extend([t.into(), false.into()]);
                    Sql::new(format!(
                        "UPDATE findings SET {set}{}last_seen = CASE WHEN seen_in_last_import THEN ${} \
                         ELSE last_seen END, seen_in_last_import = ${}",
                        if set.is_empty() { "" } else { ", " },
                        n + 1,
                        n + 2
                    ))
                }
                // A test without an import has no finding seen by one.
                None => {
                    args.push(false.into());
                    Sql::new(format!(
                        "UPDATE findings SET {set}{}seen_in_last_import = ${}",
                        if set.is_empty() { "" } else { ", " },
                        n + 1
                    ))
                }
            };
            q.args = args;
            q
        };
        self.update_findings(conn, &missed, || written_down("", Vec::new()))
            .await?;
        // An expired risk acceptance reopens like a mitigated finding, its acceptance cleared.
        reactivate.extend_from_slice(&expired);
        self.update_findings(conn, &reactivate, || {
            ids(
                "is_mitigated = $1, active = $2, is_open = $3, mitigated_at = NULL, mitigated_by = NULL, \
                 last_seen = $4, updated_at = $5, seen_in_last_import = $6",
                vec![
                    false.into(),
                    true.into(),
                    true.into(),
                    now.into(),
                    now.into(),
                    true.into(),
                ],
            )
        })
        .await?;
        self.update_findings(conn, &expired, || {
            ids(
                "risk_accepted = $1, risk_accepted_until = NULL, closed_as = NULL",
                vec![false.into()],
            )
        })
        .await?;
        let mitigated_by = req.actor.clone().unwrap_or_else(|| "reimport".into());
        let mitigated = "is_mitigated = $1, active = $2, is_open = $3, mitigated_at = $4, \
                         mitigated_by = $5, updated_at = $6";
        let mitigated_args = || -> Vec<Arg> {
            vec![
                true.into(),
                false.into(),
                false.into(),
                now.into(),
                mitigated_by.as_str().into(),
                now.into(),
            ]
        };
        self.update_findings(conn, here, || written_down(mitigated, mitigated_args()))
            .await?;
        self.update_findings(conn, earlier_tests, || ids(mitigated, mitigated_args()))
            .await?;

        // The created findings' events in one statement: a new finding's status is the call's
        // (active / verified) or, suppressed by the scanner, a false positive — the words
        // FindingStatus::word gives those statuses. They are read from the lowest id this import
        // created on, by the findings' primary key: no index holds `created_import_id`, and
        // reading all the findings for it took every import a scan of the whole table (175 ms
        // with two parallel workers on a 1M-finding hub, for none when nothing was created).
        if let Some(first_created) = first_created {
            let mut created = Sql::new(
                "INSERT INTO finding_events (finding_id, product_id, at, kind, status, is_open, \
                 severity, import_id, actor) SELECT id, product_id, ",
            );
            created
                .arg(now)
                .push(", ")
                .arg(EventKind::Created.as_str())
                .push(", CASE WHEN false_p = ")
                .arg(true)
                .push(" THEN 'false_positive' WHEN active = ")
                .arg(true)
                .push(" THEN 'open' ELSE 'inactive' END, is_open, severity, created_import_id, ")
                .arg(req.actor.clone())
                .push(" FROM findings WHERE id >= ")
                .arg(first_created)
                .push(" AND created_import_id = ")
                .arg(import_id)
                .push(" ORDER BY id");
            created.query(self.backend)?.execute(&mut *conn).await?;
        }
        let events: Vec<NewEvent> = changes
            .iter()
            .map(|(id, kind, status, severity, detail)| NewEvent {
                finding_id: *id,
                product_id: resolved.product_id,
                kind: *kind,
                status,
                severity: *severity,
                import_id: Some(import_id),
                actor: if *kind == EventKind::Mitigated {
                    Some(mitigated_by.as_str())
                } else {
                    req.actor.as_deref()
                },
                detail: *detail,
            })
            .collect();
        let d = crate::events::append(self.backend, conn, now, &events).await?;
        crate::events::merge(&mut open_deltas, d);

        let mut after = SeverityCounts::default();
        for e in existing.values() {
            after.add(e.severity, &e.status);
        }
        for (bucket, add) in [
            (&mut after.info, created_counts.info),
            (&mut after.low, created_counts.low),
            (&mut after.medium, created_counts.medium),
            (&mut after.high, created_counts.high),
            (&mut after.critical, created_counts.critical),
            (&mut after.total, created_counts.total),
        ] {
            bucket.plus(&add);
        }

        Sql::new("UPDATE imports SET created = ")
            .arg(delta.created.total.total)
            .push(", closed = ")
            .arg(delta.closed.total.total)
            .push(", reactivated = ")
            .arg(delta.reactivated.total.total)
            .push(", untouched = ")
            .arg(delta.untouched.total.total)
            // The test's open findings once this import's changes are in (an index-only count).
            .push(", open_after = (SELECT COUNT(*) FROM findings WHERE test_id = ")
            .arg(test.id)
            .push(" AND is_open = ")
            .arg(true)
            .push(") WHERE id = ")
            .arg(import_id)
            .query(self.backend)?
            .execute(&mut *conn)
            .await?;
        Sql::new("UPDATE tests SET last_import_id = ")
            .arg(import_id)
            .push(", updated_at = ")
            .arg(now)
            .push(" WHERE id = ")
            .arg(test.id)
            .query(self.backend)?
            .execute(&mut *conn)
            .await?;
        self.adjust_counts(conn, resolved.product_id, counts.open, counts.closed)
            .await?;
        crate::events::add_open_deltas(self.backend, conn, now, open_deltas).await?;

        // The findings' rows this import wrote: created, reported again after a miss, missed,
        // reopened (an expired acceptance among them) and closed. The untouched ones it did not.
        let written = delta.created.total.total
            + (touch.len() + missed.len() + reactivate.len() + mitigate.len()) as i64;
        let statistics = if is_reimport {
            ImportStatistics {
                before: Some(before),
                delta: Some(delta),
                after,
            }
        } else {
            ImportStatistics {
                before: None,
                delta: None,
                after,
            }
        };
        let Test { id, title, .. } = test;
        let outcome = ImportOutcome {
            import_id,
            product_type_id: resolved.product_type_id,
            product_id: resolved.product_id,
            engagement_id: resolved.engagement_id,
            test_id: id,
            test_title: title,
            scan_type: req.scan_type.clone(),
            statistics,
            below_minimum_severity,
            duplicates_in_report,
            not_reactivated,
            warnings: resolved.warnings,
        };
        Ok((outcome, written))
    }

    /// `UPDATE findings SET … WHERE id IN (…)` over `ids`, in batches; `set` makes the statement up
    /// to its WHERE, with its own arguments numbered first.
    async fn update_findings(
        &self,
        conn: &mut AnyConnection,
        ids: &[i64],
        set: impl Fn() -> Sql,
    ) -> Result<()> {
        for chunk in ids.chunks(ID_BATCH) {
            let mut q = set();
            q.push(" WHERE id IN ").list(chunk.iter().copied());
            q.query(self.backend)?.execute(&mut *conn).await?;
        }
        Ok(())
    }

    /// Inserts one batch of new findings (and their JSON).
    #[allow(clippy::too_many_arguments)]
    async fn insert_findings(
        &self,
        conn: &mut AnyConnection,
        req: &ImportRequest,
        resolved: &crate::context::Resolved,
        test_id: i64,
        import_id: i64,
        (status, suppressed_status): (&FindingStatus, &FindingStatus),
        chunk: &[Incoming],
    ) -> Result<(crate::events::OpenDeltas, Option<i64>)> {
        let now = req.now;
        // DefectDojo dates a finding by the call's `scan_date`, and its SLA runs from that date.
        let sla_start = req
            .scan_date
            .as_deref()
            .and_then(tollgate_policy::Date::parse)
            .map_or(now, |d| days_from_civil(d) * 86_400);
        let mut q = Sql::new(
            "INSERT INTO findings (test_id, engagement_id, product_id, fingerprint, title, severity, \
             active, verified, false_p, is_open, created_import_id, first_seen, last_seen, updated_at, sla_due, \
             category, scanner, location, seen_in_last_import) VALUES ",
        );
        for (i, item) in chunk.iter().enumerate() {
            let f = &item.finding;
            if i > 0 {
                q.push(", ");
            }
            let st = if f.suppressed {
                suppressed_status
            } else {
                status
            };
            let args: [Arg; 19] = [
                test_id.into(),
                resolved.engagement_id.into(),
                resolved.product_id.into(),
                f.fingerprint.as_str().into(),
                f.title.as_str().into(),
                severity_rank(f.severity).into(),
                st.active.into(),
                st.verified.into(),
                st.false_p.into(),
                st.is_open().into(),
                import_id.into(),
                now.into(),
                now.into(),
                now.into(),
                self.sla_due(f.severity, sla_start).into(),
                f.category.as_str().into(),
                f.scanner.name.as_str().into(),
                crate::queue::location_text(f).into(),
                true.into(),
            ];
            q.list(args);
        }
        // Ids by fingerprint (unique in the test): RETURNING order is not promised.
        q.push(" RETURNING id, fingerprint");
        let rows = q.query(self.backend)?.fetch_all(&mut *conn).await?;
        let mut ids = HashMap::with_capacity(rows.len());
        let mut first = None;
        for row in &rows {
            let id = get_i64(row, "id")?;
            first = lowest(first, Some(id));
            ids.insert(get_str(row, "fingerprint")?, id);
        }
        // The created findings' events are written in one statement after the import (below);
        // what they add to the open findings is counted here.
        let mut deltas = crate::events::OpenDeltas::new();
        for item in chunk {
            let f = &item.finding;
            let st = if f.suppressed {
                suppressed_status
            } else {
                status
            };
            if st.is_open() {
                let id = *ids.get(f.fingerprint.as_str()).ok_or_else(|| {
                    StoreError::Corrupt(format!("no id returned for {}", f.fingerprint))
                })?;
                deltas.opened(id, resolved.product_id, severity_rank(f.severity));
            }
        }
        let mut d = Sql::new("INSERT INTO finding_data (finding_id, data) VALUES ");
        for (i, item) in chunk.iter().enumerate() {
            if i > 0 {
                d.push(", ");
            }
            let id = *ids.get(item.finding.fingerprint.as_str()).ok_or_else(|| {
                StoreError::Corrupt(format!("no id returned for {}", item.finding.fingerprint))
            })?;
            d.list::<Arg>([id.into(), Arg::Json(item.data.clone())]);
        }
        d.query(self.backend)?.execute(&mut *conn).await?;
        // The queue's repeatable filters: tags, CWE numbers, vulnerability ids.
        let mut facets = Vec::new();
        for item in chunk {
            let id = *ids.get(item.finding.fingerprint.as_str()).ok_or_else(|| {
                StoreError::Corrupt(format!("no id returned for {}", item.finding.fingerprint))
            })?;
            let severity = severity_rank(item.finding.severity);
            crate::queue::facets_of(&item.finding, |kind, value| {
                facets.push((kind, value, id, severity))
            });
        }
        // PostgreSQL's facets carry their finding's severity (migration 0019: a facet's page
        // walks them in the queue's order); SQLite's walk the findings' order and probe them.
        let with_severity = self.backend == Backend::Postgres;
        for batch in facets.chunks(INSERT_BATCH) {
            let mut q = Sql::new(if with_severity {
                "INSERT INTO finding_facets (kind, value, finding_id, severity) VALUES "
            } else {
                "INSERT INTO finding_facets (kind, value, finding_id) VALUES "
            });
            for (i, (kind, value, id, severity)) in batch.iter().enumerate() {
                if i > 0 {
                    q.push(", ");
                }
                q.list::<Arg>(
                    [(*kind).into(), value.as_str().into(), (*id).into()]
                        .into_iter()
                        .chain(with_severity.then(|| (*severity).into())),
                );
            }
            q.query(self.backend)?.execute(&mut *conn).await?;
        }
        Ok((deltas, first))
    }

    /// The findings of a test, keyed by fingerprint. They come packed into one text value
    /// (`group_concat` / `string_agg`): row by row, 100k rows cost ~0.5 s in the driver alone.
    async fn test_findings(
        &self,
        conn: &mut AnyConnection,
        test_id: i64,
    ) -> Result<HashMap<String, Existing>> {
        let aggregate = match self.backend {
            Backend::Sqlite => "group_concat",
            Backend::Postgres => "string_agg",
        };
        let row = Sql::new(format!(
            "SELECT {aggregate}(CAST(id AS TEXT) || '|' || fingerprint || '|' || CAST(severity AS TEXT) || '|' || \
             CAST((CASE WHEN active THEN 1 ELSE 0 END) + (CASE WHEN verified THEN 2 ELSE 0 END) \
             + (CASE WHEN false_p THEN 4 ELSE 0 END) + (CASE WHEN out_of_scope THEN 8 ELSE 0 END) \
             + (CASE WHEN risk_accepted THEN 16 ELSE 0 END) + (CASE WHEN is_mitigated THEN 32 ELSE 0 END) \
             + (CASE WHEN duplicate THEN 64 ELSE 0 END) + (CASE WHEN permanently_closed THEN 128 ELSE 0 END) \
             + (CASE WHEN seen_in_last_import THEN 256 ELSE 0 END) AS TEXT) \
             || '|' || COALESCE(closed_as, '') || '|' || COALESCE(risk_accepted_until, ''), ',') AS packed \
             FROM findings WHERE test_id = "
        ))
        .arg(test_id)
        .query(self.backend)?
        .fetch_one(&mut *conn)
        .await?;
        let packed = get_opt_str(&row, "packed")?.unwrap_or_default();
        let mut out = HashMap::new();
        for item in packed.split(',').filter(|i| !i.is_empty()) {
            let bad =
                || StoreError::Corrupt(format!("test {test_id}: unreadable finding row {item:?}"));
            let mut parts = item.split('|');
            let mut next = || parts.next().ok_or_else(bad);
            let id: i64 = next()?.parse().map_err(|_| bad())?;
            let fingerprint = next()?.to_string();
            let severity = severity_from_rank(next()?.parse().map_err(|_| bad())?);
            let flags: i64 = next()?.parse().map_err(|_| bad())?;
            let closed_as = next()?;
            let until = next()?;
            let flag = |bit: i64| flags & bit != 0;
            let status = FindingStatus {
                active: flag(1),
                verified: flag(2),
                false_p: flag(4),
                out_of_scope: flag(8),
                risk_accepted: flag(16),
                is_mitigated: flag(32),
                duplicate: flag(64),
                permanently_closed: flag(128),
                closed_as: ClosedAs::from_str_opt(closed_as),
                risk_accepted_until: (!until.is_empty()).then(|| until.to_string()),
                ..FindingStatus::default()
            };
            out.insert(
                fingerprint,
                Existing {
                    id,
                    severity,
                    status,
                    seen_in_last_import: flag(256),
                },
            );
        }
        Ok(out)
    }

    pub(crate) async fn adjust_counts(
        &self,
        conn: &mut AnyConnection,
        product_id: i64,
        open: i64,
        closed: i64,
    ) -> Result<()> {
        if open == 0 && closed == 0 {
            return Ok(());
        }
        Sql::new("UPDATE products SET open_count = open_count + ")
            .arg(open)
            .push(", closed_count = closed_count + ")
            .arg(closed)
            .push(" WHERE id = ")
            .arg(product_id)
            .query(self.backend)?
            .execute(&mut *conn)
            .await?;
        Ok(())
    }
}

/// The lower of two ids, either of which may be missing.
fn lowest(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::days_from_civil;
    use tollgate_policy::Date;

    #[test]
    fn days_from_civil_inverts_from_days() {
        for days in [-800_000, -1, 0, 59, 60, 11_016, 20_414, 2_932_896] {
            assert_eq!(days_from_civil(Date::from_days(days)), days, "{days}");
        }
    }
}
