//! Triage: priority, closing with a reason, notes; and recorded gate runs.

use crate::events::{EventKind, NewEvent};
use crate::query::{finding_from_row, FINDING_COLUMNS, FINDING_FROM};
use crate::sql::{get_i64, Arg, Sql};
use crate::{
    ClosedAs, GateRun, NewGateRun, Note, NoteKind, Priority, Result, Store, StoreError,
    StoredFinding, Timestamp,
};
use sqlx::AnyConnection;

impl Store {
    async fn finding_for_update(
        &self,
        conn: &mut AnyConnection,
        id: i64,
        restrict_to_product: Option<i64>,
    ) -> Result<StoredFinding> {
        self.lock_products_of(conn, &[id]).await?;
        let mut q = Sql::new(format!(
            "SELECT {FINDING_COLUMNS}{FINDING_FROM} WHERE f.id = "
        ));
        q.arg(id);
        if self.backend == crate::Backend::Postgres {
            q.push(" FOR UPDATE OF f");
        }
        let row = q.query(self.backend)?.fetch_optional(&mut *conn).await?;
        let found = row.map(|r| finding_from_row(&r)).transpose()?;
        match found {
            Some(f) if restrict_to_product.is_none_or(|p| p == f.product_id) => Ok(f),
            // A finding of another product is as invisible as a missing one.
            _ => Err(StoreError::NotFound(format!(
                "security finding {id} does not exist"
            ))),
        }
    }

    /// Sets the priority; `actor` (the person or token) is recorded in the status-change log.
    pub async fn set_priority(
        &self,
        id: i64,
        priority: Priority,
        actor: &str,
        restrict_to_product: Option<i64>,
        now: Timestamp,
    ) -> Result<StoredFinding> {
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin().await?;
        self.finding_for_update(&mut tx, id, restrict_to_product)
            .await?;
        Sql::new("UPDATE findings SET priority = ")
            .arg(priority.as_str())
            .push(", triaged = ")
            .arg(true)
            .push(", updated_at = ")
            .arg(now)
            .push(" WHERE id = ")
            .arg(id)
            .query(self.backend)?
            .execute(&mut *tx)
            .await?;
        let f = self.finding_for_update(&mut tx, id, None).await?;
        log_triage(
            self.backend,
            &mut tx,
            &f,
            EventKind::Priority,
            Some(actor),
            priority.as_str(),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(f)
    }

    /// Closes an open finding by triage; the reason becomes a closing note. A finding that is
    /// not open is a conflict (409), never silently re-closed.
    #[allow(clippy::too_many_arguments)]
    pub async fn close_finding(
        &self,
        id: i64,
        closed_as: ClosedAs,
        permanently: bool,
        reason: &str,
        risk_accepted_until: Option<&str>,
        author: &str,
        restrict_to_product: Option<i64>,
        now: Timestamp,
    ) -> Result<StoredFinding> {
        if risk_accepted_until.is_some() && closed_as != ClosedAs::ClosedRiskAccepted {
            return Err(StoreError::Invalid(
                "risk_accepted_until only goes with CLOSED_RISK_ACCEPTED".into(),
            ));
        }
        if let Some(d) = risk_accepted_until {
            if tollgate_policy::Date::parse(d).is_none() {
                return Err(StoreError::Invalid(format!(
                    "risk_accepted_until: {d:?} is not a date (YYYY-MM-DD)"
                )));
            }
        }
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin().await?;
        let f = self
            .finding_for_update(&mut tx, id, restrict_to_product)
            .await?;
        if !f.status.is_open() {
            return Err(StoreError::Conflict(format!(
                "security finding {id} is not open ({}); only open findings can be closed",
                f.status.word()
            )));
        }
        let mut q = Sql::new("UPDATE findings SET closed_as = ");
        q.arg(closed_as.as_str())
            .push(", permanently_closed = ")
            .arg(permanently)
            .push(", is_open = ")
            .arg(false)
            .push(", triaged = ")
            .arg(true)
            .push(", updated_at = ")
            .arg(now);
        if closed_as == ClosedAs::ClosedRiskAccepted {
            q.push(", risk_accepted = ")
                .arg(true)
                .push(", risk_accepted_until = ")
                .arg(risk_accepted_until);
        }
        q.push(" WHERE id = ").arg(id);
        q.query(self.backend)?.execute(&mut *tx).await?;
        self.adjust_counts(&mut tx, f.product_id, -1, 1).await?;
        let text = format!(
            "Closed as {}{}{}: {reason}",
            closed_as.as_str(),
            if permanently { " (permanently)" } else { "" },
            risk_accepted_until
                .map(|d| format!(" until {d}"))
                .unwrap_or_default()
        );
        insert_note(
            self.backend,
            &mut tx,
            id,
            author,
            &text,
            NoteKind::Internal,
            now,
        )
        .await?;
        let f = self.finding_for_update(&mut tx, id, None).await?;
        log_triage(
            self.backend,
            &mut tx,
            &f,
            EventKind::Closed,
            Some(author),
            &text,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(f)
    }

    pub async fn add_note(
        &self,
        finding_id: i64,
        author: &str,
        text: &str,
        kind: NoteKind,
        restrict_to_product: Option<i64>,
        now: Timestamp,
    ) -> Result<Note> {
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin().await?;
        self.finding_for_update(&mut tx, finding_id, restrict_to_product)
            .await?;
        let note = insert_note(self.backend, &mut tx, finding_id, author, text, kind, now).await?;
        Sql::new("UPDATE findings SET triaged = ")
            .arg(true)
            .push(", updated_at = ")
            .arg(now)
            .push(" WHERE id = ")
            .arg(finding_id)
            .query(self.backend)?
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(note)
    }

    /// Records a run of `tollgate gate` against an existing product (and engagement).
    pub async fn record_gate_run(&self, run: NewGateRun) -> Result<GateRun> {
        let _guard = self.write_guard().await;
        let mut tx = self.pool.begin().await?;
        let product_id = self
            .product_id_by_name(&mut tx, &run.product_name)
            .await?
            .filter(|id| run.restrict_to_product.is_none_or(|r| r == *id))
            .ok_or_else(|| {
                StoreError::NotFound(format!("product {:?} does not exist", run.product_name))
            })?;
        let engagement_id = match &run.engagement_name {
            Some(name) => Some(
                self.engagement_id_by_name(&mut tx, product_id, name)
                    .await?
                    .ok_or_else(|| {
                        StoreError::NotFound(format!("engagement {name:?} does not exist"))
                    })?,
            ),
            None => None,
        };
        let body = serde_json::to_string(&run.body)
            .map_err(|e| StoreError::Invalid(format!("gate run body: {e}")))?;
        let row = Sql::new(
            "INSERT INTO gate_runs (product_id, engagement_id, created_at, outcome, commit_hash, release_tag, artifact_sha256, body) VALUES ",
        )
        .list::<Arg>([
            product_id.into(),
            engagement_id.into(),
            run.now.into(),
            run.outcome.as_str().into(),
            run.commit_hash.clone().into(),
            run.release_tag.clone().into(),
            run.artifact_sha256.clone().into(),
            Arg::Json(body),
        ])
        .push(" RETURNING id")
        .query(self.backend)?
        .fetch_one(&mut *tx)
        .await?;
        let id = get_i64(&row, "id")?;
        let blocks = blocking_reasons(&run.body);
        for chunk in blocks.chunks(200) {
            let mut q = Sql::new(
                "INSERT INTO gate_run_blocks (gate_run_id, product_id, created_at, rule, findings) VALUES ",
            );
            for (i, (rule, findings)) in chunk.iter().enumerate() {
                if i > 0 {
                    q.push(", ");
                }
                q.list::<Arg>([
                    id.into(),
                    product_id.into(),
                    run.now.into(),
                    rule.as_str().into(),
                    (*findings).into(),
                ]);
            }
            q.query(self.backend)?.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(GateRun {
            id,
            product_id,
            engagement_id,
            created_at: run.now,
            outcome: run.outcome,
            commit_hash: run.commit_hash,
            release_tag: run.release_tag,
            artifact_sha256: run.artifact_sha256,
            body: run.body,
        })
    }
}

/// The blocking reasons of a gate summary (`reasons[]` with `verdict: "block"`): each one's rule,
/// or its kind when no rule fired it (`broken-report`, …), and how many findings it names.
/// Anything else in the summary is left as sent.
pub(crate) fn blocking_reasons(summary: &serde_json::Value) -> Vec<(String, i64)> {
    let Some(reasons) = summary.get("reasons").and_then(|r| r.as_array()) else {
        return Vec::new();
    };
    reasons
        .iter()
        .filter(|r| r.get("verdict").and_then(|v| v.as_str()) == Some("block"))
        .map(|r| {
            let name = |k: &str| r.get(k).and_then(|v| v.as_str()).map(str::to_string);
            let rule = name("rule")
                .or_else(|| name("kind"))
                .unwrap_or_else(|| "unknown".into());
            let findings = r
                .get("fingerprints")
                .and_then(|f| f.as_array())
                .map_or(0, |f| f.len() as i64);
            (rule, findings)
        })
        .collect()
}

async fn insert_note(
    backend: crate::Backend,
    conn: &mut AnyConnection,
    finding_id: i64,
    author: &str,
    text: &str,
    kind: NoteKind,
    now: Timestamp,
) -> Result<Note> {
    let kind_word = match kind {
        NoteKind::Internal => "internal",
        NoteKind::Question => "question",
        NoteKind::Reply => "reply",
    };
    let row = Sql::new("INSERT INTO notes (finding_id, author, text, kind, created_at) VALUES ")
        .list::<Arg>([
            finding_id.into(),
            author.into(),
            text.into(),
            kind_word.into(),
            now.into(),
        ])
        .push(" RETURNING id")
        .query(backend)?
        .fetch_one(&mut *conn)
        .await?;
    Ok(Note {
        id: get_i64(&row, "id")?,
        finding_id,
        author: author.to_string(),
        text: text.to_string(),
        kind,
        created_at: now,
    })
}

/// Appends a triage change of `f` (its state after the change) to the status-change log.
async fn log_triage(
    backend: crate::Backend,
    conn: &mut AnyConnection,
    f: &StoredFinding,
    kind: EventKind,
    actor: Option<&str>,
    detail: &str,
    now: Timestamp,
) -> Result<()> {
    let deltas = crate::events::append(
        backend,
        conn,
        now,
        &[NewEvent {
            finding_id: f.id,
            product_id: f.product_id,
            kind,
            status: &f.status,
            severity: f.severity(),
            import_id: None,
            actor,
            detail: Some(detail),
        }],
    )
    .await?;
    // Written last in the transaction (see events::add_open_deltas).
    crate::events::add_open_deltas(backend, conn, now, deltas).await
}
