//! One finding, what a triager needs: what it is and where (product → engagement → test), its
//! description and recommendation (Markdown, sanitized: scanner text is attacker-controlled),
//! references, CWE and advisory links, the redacted secret, its history (every import and every
//! triage change, with who, when and why), its notes, and the actions the viewer's scopes allow.

use super::{csrf, esc, internal, not_found, see_other, viewer_page, with_cookies, Viewer};
use crate::extract::{Form, Path};
use crate::markdown;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::fmt::Write;
use tollgate_store::{
    ClosedAs, EventKind, FindingEvent, FindingStatus, ImportRecord, ListQuery, Note, NoteKind,
    Priority, Scope, StoreError, StoredFinding,
};

pub async fn finding(
    State(state): State<AppState>,
    v: Viewer,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    // Another product's finding answers exactly like a missing one.
    let f = match state.store.finding(id).await {
        Ok(Some(f)) if v.sees(f.product_id) => f,
        Ok(_) => return not_found("finding"),
        Err(e) => return internal(e),
    };
    let context = match context(&state, &f).await {
        Ok(c) => c,
        Err(e) => return internal(e),
    };
    let (notes, events) = match (
        state.store.notes(&[id]).await,
        state.store.finding_events(id).await,
    ) {
        (Ok(n), Ok(e)) => (n, e),
        (Err(e), _) | (_, Err(e)) => return internal(e),
    };
    let may_comment = v.allows(Scope::Comment);
    let may_triage = v.allows(Scope::Triage);
    let (token, set_cookie) = if may_comment || may_triage {
        let (t, c) = csrf::issue(&state, &headers);
        (Some(t), c)
    } else {
        (None, None)
    };
    let mut body = String::new();
    breadcrumbs(&mut body, &f, &context);
    summary(&mut body, &f);
    if let Some(token) = &token {
        actions(&mut body, &f, token, may_comment, may_triage);
    }
    content(&mut body, &f);
    history(&mut body, &f, &events, &context.imports);
    notes_section(&mut body, &notes);
    with_cookies(
        StatusCode::OK,
        set_cookie.as_slice(),
        viewer_page(&v, &f.finding.title, &body),
    )
}

/// Where the finding lives: the names on its breadcrumbs and its test's imports.
struct Context {
    product: Option<String>,
    engagement: Option<String>,
    test: Option<String>,
    /// Its test's imports, oldest first.
    imports: Vec<ImportRecord>,
}

async fn context(state: &AppState, f: &StoredFinding) -> tollgate_store::Result<Context> {
    let one = |q: ListQuery| ListQuery { limit: 1, ..q };
    let product = state.store.product(f.product_id).await?.map(|p| p.name);
    let engagement = state
        .store
        .engagements(&one(ListQuery {
            engagement_id: Some(f.engagement_id),
            ..ListQuery::default()
        }))
        .await?
        .results
        .pop()
        .map(|e| e.name);
    let test = state
        .store
        .tests(&one(ListQuery {
            test_id: Some(f.test_id),
            ..ListQuery::default()
        }))
        .await?
        .results
        .pop()
        .map(|t| t.title);
    let mut imports = state.store.imports(f.test_id).await?;
    imports.reverse();
    Ok(Context {
        product,
        engagement,
        test,
        imports,
    })
}

fn breadcrumbs(body: &mut String, f: &StoredFinding, c: &Context) {
    let crumb = |href: String, name: &Option<String>, what: &str, id: i64| {
        format!(
            "<a href=\"{href}\">{}</a>",
            esc(&name.clone().unwrap_or_else(|| format!("{what} {id}")))
        )
    };
    let _ = write!(
        body,
        "<nav class=\"crumbs\">{} › {} › {} › finding {}</nav>",
        crumb(
            format!("/ui/products/{}", f.product_id),
            &c.product,
            "product",
            f.product_id
        ),
        crumb(
            format!("/ui/engagements/{}", f.engagement_id),
            &c.engagement,
            "engagement",
            f.engagement_id
        ),
        crumb(
            format!("/ui/tests/{}", f.test_id),
            &c.test,
            "test",
            f.test_id
        ),
        f.id
    );
}

/// The finding's status in words: `open`, `closed: won't fix`, `false positive`, `risk accepted
/// until 2027-01-31`, `mitigated 2026-11-02 by ci`, …
pub(crate) fn status_text(s: &FindingStatus) -> String {
    let until = |d: &Option<String>| match d {
        Some(d) => format!("risk accepted until {d}"),
        None => "risk accepted".to_string(),
    };
    let mut text = match s.closed_as {
        Some(ClosedAs::ClosedWontFix) => "closed: won't fix".to_string(),
        Some(ClosedAs::ClosedCompensatingControl) => "closed: compensating control".to_string(),
        Some(ClosedAs::ClosedRiskAccepted) => until(&s.risk_accepted_until),
        None if s.false_p => "false positive".to_string(),
        None if s.risk_accepted => until(&s.risk_accepted_until),
        None if s.out_of_scope => "out of scope".to_string(),
        None if s.is_mitigated => {
            let mut t = "mitigated".to_string();
            if let Some(at) = s.mitigated_at {
                let _ = write!(t, " {}", crate::time::date(at));
            }
            if let Some(by) = &s.mitigated_by {
                let _ = write!(t, " by {by}");
            }
            t
        }
        None if s.active => "open".to_string(),
        None => "inactive".to_string(),
    };
    if s.permanently_closed {
        text.push_str(" (permanently)");
    }
    text
}

fn summary(body: &mut String, f: &StoredFinding) {
    let m = &f.finding;
    let sev = m.severity.as_str();
    let _ = write!(
        body,
        "<table class=\"facts\"><tr><th>Severity</th><td class=\"{}\">{sev}{}</td></tr>\
         <tr><th>Status</th><td class=\"status{}\">{}</td></tr>\
         <tr><th>Priority</th><td>{}</td></tr>\
         <tr><th>Scanner / rule</th><td>{} / <code>{}</code></td></tr>\
         <tr><th>Category</th><td>{}</td></tr>",
        sev.to_ascii_lowercase(),
        m.scanner_severity
            .as_deref()
            .map(|s| format!(" <span class=\"aside\">(scanner: {})</span>", esc(s)))
            .unwrap_or_default(),
        if f.status.is_open() { "" } else { " closed" },
        esc(&status_text(&f.status)),
        f.status.priority.map(|p| p.as_str()).unwrap_or("—"),
        esc(&m.scanner.to_string()),
        esc(&m.rule_id),
        esc(&m.category.to_string()),
    );
    if !m.tags.is_empty() {
        let tags: Vec<String> = m.tags.iter().map(|t| esc(&t.to_string())).collect();
        let _ = write!(body, "<tr><th>Tags</th><td>{}</td></tr>", tags.join(", "));
    }
    if !m.cvss.is_empty() {
        let cvss: Vec<String> = m
            .cvss
            .iter()
            .map(|c| {
                let score = c.score.map(|s| format!("{s:.1} ")).unwrap_or_default();
                format!(
                    "{score}<code>{}</code>",
                    esc(c.vector.as_deref().unwrap_or(""))
                )
            })
            .collect();
        let _ = write!(body, "<tr><th>CVSS</th><td>{}</td></tr>", cvss.join("<br>"));
    }
    let _ = write!(
        body,
        "<tr><th>First / last seen</th><td>{} / {}</td></tr>\
         <tr><th>SLA due</th><td>{}</td></tr>\
         <tr><th>Fingerprint</th><td><code>{}</code></td></tr></table>",
        crate::time::rfc3339(f.first_seen),
        crate::time::rfc3339(f.last_seen),
        esc(f.sla_due.as_deref().unwrap_or("—")),
        esc(m.fingerprint.as_str()),
    );
}

/// The forms of the actions the viewer may take, each with the CSRF token.
fn actions(body: &mut String, f: &StoredFinding, token: &str, comment: bool, triage: bool) {
    let id = f.id;
    let field = csrf::input(token);
    body.push_str("<section class=\"actions\"><h2>Triage</h2>");
    if triage && f.status.is_open() {
        let _ = write!(
            body,
            "<form method=\"post\" action=\"/ui/findings/{id}/close\" class=\"close\">{field}\
             <fieldset><legend>Close</legend>\
             <p><label><input type=\"radio\" name=\"how\" value=\"wont_fix\" required> won't fix</label> \
             <label><input type=\"radio\" name=\"how\" value=\"risk_accepted\"> risk accepted until \
             <input type=\"date\" name=\"until\"></label> \
             <label><input type=\"radio\" name=\"how\" value=\"compensating_control\"> compensating control</label></p>\
             <p><label>Reason (required, kept as the closing note)<br>\
             <textarea name=\"reason\" rows=\"3\" cols=\"60\" required></textarea></label></p>\
             <p><button>Close the finding</button></p></fieldset></form>"
        );
    }
    if triage {
        let current = f.status.priority;
        let options: String = [
            Priority::P0,
            Priority::P1,
            Priority::P2,
            Priority::P3,
            Priority::P4,
        ]
        .iter()
        .map(|p| {
            format!(
                "<option{}>{}</option>",
                if current == Some(*p) { " selected" } else { "" },
                p.as_str()
            )
        })
        .collect();
        let _ = write!(
            body,
            "<form method=\"post\" action=\"/ui/findings/{id}/priority\" class=\"priority\">{field}\
             <label>Priority <select name=\"priority\">{options}</select></label> \
             <button>Set the priority</button></form>"
        );
    }
    if comment {
        let _ = write!(
            body,
            "<form method=\"post\" action=\"/ui/findings/{id}/notes\" class=\"note\">{field}\
             <p><label>Note (Markdown)<br><textarea name=\"text\" rows=\"3\" cols=\"60\" required></textarea></label></p>\
             <p><button>Add the note</button></p></form>"
        );
    }
    body.push_str("</section>");
}

fn content(body: &mut String, f: &StoredFinding) {
    let m = &f.finding;
    location(body, f);
    if let Some(s) = &m.secret {
        let _ = write!(
            body,
            "<h2>Secret</h2><p>The hub keeps only this of the secret the scanner found, never its value.</p>\
             <table class=\"facts\"><tr><th>Redacted</th><td><code>{}</code></td></tr>\
             <tr><th>Length</th><td>{} characters</td></tr>\
             <tr><th>SHA-256 (first 16 hex digits)</th><td><code>{}</code></td></tr></table>",
            esc(&s.placeholder()),
            s.length,
            esc(&s.sha256_prefix),
        );
    }
    if let Some(d) = m.description.as_deref().filter(|d| !d.trim().is_empty()) {
        let _ = write!(
            body,
            "<h2>Description</h2><div class=\"md\">{}</div>",
            markdown::render(d)
        );
    }
    if let Some(r) = m.recommendation.as_deref().filter(|r| !r.trim().is_empty()) {
        let _ = write!(
            body,
            "<h2>Recommendation</h2><div class=\"md\">{}</div>",
            markdown::render(r)
        );
    }
    if !m.cwe.is_empty() || !m.vulnerability_ids.is_empty() {
        body.push_str("<h2>Weaknesses and advisories</h2><ul class=\"ids\">");
        for c in &m.cwe {
            let _ = write!(
                body,
                "<li><a href=\"https://cwe.mitre.org/data/definitions/{c}.html\" rel=\"{}\">CWE-{c}</a></li>",
                markdown::LINK_REL
            );
        }
        for v in &m.vulnerability_ids {
            let _ = write!(body, "<li>{}</li>", advisory_link(v));
        }
        body.push_str("</ul>");
    }
    if !m.references.is_empty() {
        body.push_str("<h2>References</h2><ul class=\"refs\">");
        for r in &m.references {
            let _ = write!(body, "<li>{}</li>", markdown::web_link(r, r));
        }
        body.push_str("</ul>");
    }
}

fn location(body: &mut String, f: &StoredFinding) {
    let l = &f.finding.location;
    let mut rows = String::new();
    let mut row = |what: &str, html: String| {
        let _ = write!(rows, "<tr><th>{what}</th><td>{html}</td></tr>");
    };
    if let Some(file) = &l.file {
        let lines = match (l.start_line, l.end_line) {
            (Some(a), Some(b)) if b > a => format!(":{a}-{b}"),
            (Some(a), _) => format!(":{a}"),
            _ => String::new(),
        };
        row("File", format!("<code>{}{lines}</code>", esc(file)));
    }
    if let Some(p) = &l.package {
        let mut text = format!("<code>{}</code>", esc(&p.name));
        if let Some(v) = &p.installed_version {
            let _ = write!(text, " <code>{}</code>", esc(v));
        }
        if let Some(e) = &p.ecosystem {
            let _ = write!(text, " ({})", esc(e));
        }
        if let Some(v) = &p.fixed_version {
            let _ = write!(text, "; fixed in <code>{}</code>", esc(v));
        }
        row("Package", text);
        if let Some(purl) = &p.purl {
            row("Package URL", format!("<code>{}</code>", esc(purl)));
        }
    }
    if let Some(u) = &l.url {
        let mut text = String::new();
        if let Some(m) = &l.method {
            let _ = write!(text, "{} ", esc(m));
        }
        text.push_str(&markdown::web_link(u, u));
        if let Some(p) = &l.parameter {
            let _ = write!(text, " (parameter <code>{}</code>)", esc(p));
        }
        row("URL", text);
    }
    if let Some(c) = &l.component {
        row("Component", format!("<code>{}</code>", esc(c)));
    }
    if let Some(t) = &l.target {
        row("Target", format!("<code>{}</code>", esc(t)));
    }
    if !rows.is_empty() {
        let _ = write!(
            body,
            "<h2>Location</h2><table class=\"facts\">{rows}</table>"
        );
    }
    if let Some(s) = &l.snippet {
        let _ = write!(body, "<h2>Snippet</h2><pre>{}</pre>", esc(s));
    }
}

/// A CVE as a link to the NVD, a GHSA to GitHub's advisory database, anything else as text.
pub(crate) fn advisory_link(id: &str) -> String {
    let id = id.trim();
    let upper = id.to_ascii_uppercase();
    let href = if is_cve(&upper) {
        Some(format!("https://nvd.nist.gov/vuln/detail/{upper}"))
    } else if is_ghsa(&upper) {
        Some(format!(
            "https://github.com/advisories/GHSA{}",
            id[4..].to_ascii_lowercase()
        ))
    } else {
        None
    };
    match href {
        Some(h) => format!(
            "<a href=\"{h}\" rel=\"{}\">{}</a>",
            markdown::LINK_REL,
            esc(&upper)
        ),
        None => esc(id),
    }
}

/// `CVE-YYYY-NNNN…`
fn is_cve(id: &str) -> bool {
    let parts: Vec<&str> = id.split('-').collect();
    parts.len() == 3
        && parts[0] == "CVE"
        && parts[1].len() == 4
        && parts[2].len() >= 4
        && parts[1..]
            .iter()
            .all(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

/// `GHSA-xxxx-xxxx-xxxx`
fn is_ghsa(id: &str) -> bool {
    let parts: Vec<&str> = id.split('-').collect();
    parts.len() == 4
        && parts[0] == "GHSA"
        && parts[1..]
            .iter()
            .all(|p| p.len() == 4 && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// One row of the history: a logged change, or an import of its test that changed nothing.
struct HistoryRow<'a> {
    at: i64,
    kind: &'a str,
    status: &'a str,
    actor: Option<&'a str>,
    import_id: Option<i64>,
    detail: Option<&'a str>,
}

/// The status-change log merged with the imports of the finding's test since it was first seen:
/// an import that created, mitigated or reactivated it has its logged row; another one that
/// changed nothing is `seen` when it is the one that last reported the finding (the latest import
/// at its last-seen time), else `no change`. Oldest first.
fn history_rows<'a>(
    f: &StoredFinding,
    events: &'a [FindingEvent],
    imports: &'a [ImportRecord],
) -> Vec<HistoryRow<'a>> {
    let mut rows: Vec<HistoryRow<'a>> = events
        .iter()
        .map(|e| HistoryRow {
            at: e.at,
            kind: e.kind.as_str(),
            status: &e.status,
            actor: e.actor.as_deref(),
            import_id: e.import_id,
            detail: e.detail.as_deref(),
        })
        .collect();
    let logged: std::collections::HashSet<i64> =
        events.iter().filter_map(|e| e.import_id).collect();
    let first = events
        .iter()
        .find(|e| e.kind == EventKind::Created)
        .map_or(f.first_seen, |e| e.at);
    // The import that last reported it: the latest one of its last-seen second.
    let last_seer = imports
        .iter()
        .filter(|i| i.created_at == f.last_seen)
        .map(|i| i.id)
        .max();
    for i in imports {
        if i.created_at < first || logged.contains(&i.id) {
            continue;
        }
        rows.push(HistoryRow {
            at: i.created_at,
            kind: if Some(i.id) == last_seer {
                "seen"
            } else {
                "no change"
            },
            status: "",
            actor: i.actor.as_deref(),
            import_id: Some(i.id),
            detail: None,
        });
    }
    // Stable: logged rows keep their order; an unlogged import follows a change of its second.
    rows.sort_by_key(|r| r.at);
    rows
}

fn history(
    body: &mut String,
    f: &StoredFinding,
    events: &[FindingEvent],
    imports: &[ImportRecord],
) {
    let rows = history_rows(f, events, imports);
    if rows.is_empty() {
        return;
    }
    body.push_str(
        "<h2>History</h2><table class=\"history\"><tr><th>When</th><th>What</th><th>Status after</th>\
         <th>By</th><th>Import</th><th>Why / detail</th></tr>",
    );
    for r in &rows {
        let import = match r.import_id {
            Some(id) => match imports.iter().find(|i| i.id == id) {
                Some(i) => import_text(i),
                None => format!("#{id}"),
            },
            None => String::new(),
        };
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            crate::time::rfc3339(r.at),
            r.kind,
            esc(r.status),
            esc(r.actor.unwrap_or("")),
            import,
            esc(r.detail.unwrap_or("")),
        );
    }
    body.push_str("</table>");
}

/// `#12 reimport · v1.4 · main · 1a2b3c4`
fn import_text(i: &ImportRecord) -> String {
    let mut t = format!("#{} {}", i.id, esc(&i.kind));
    for part in [&i.version, &i.branch_tag, &i.commit_hash, &i.build_id]
        .into_iter()
        .flatten()
    {
        let _ = write!(t, " · {}", esc(part));
    }
    t
}

fn notes_section(body: &mut String, notes: &[Note]) {
    if notes.is_empty() {
        return;
    }
    body.push_str("<h2>Notes</h2>");
    for n in notes {
        let _ = write!(
            body,
            "<div class=\"note\"><p class=\"who\"><b>{}</b> {}</p><div class=\"md\">{}</div></div>",
            esc(&n.author),
            crate::time::rfc3339(n.created_at),
            markdown::render(&n.text)
        );
    }
}

/// The answer to a triage form that could not be carried out: a page saying why, with the
/// way back to the finding.
fn refused(v: &Viewer, status: StatusCode, id: i64, why: &str) -> Response {
    let title = match status {
        StatusCode::CONFLICT => "Not possible now",
        StatusCode::FORBIDDEN => "Not allowed",
        _ => "Check the form",
    };
    (
        status,
        viewer_page(
            v,
            title,
            &format!(
                "<p class=\"refused\">{}</p><p><a href=\"/ui/findings/{id}\">Back to the finding</a></p>",
                esc(why)
            ),
        ),
    )
        .into_response()
}

/// What every triage form goes through before its own checks: our own form (CSRF), a scope
/// that allows it, and a finding the viewer may see (another product's answers like a missing
/// one, whatever the form holds).
async fn admit(
    state: &AppState,
    headers: &HeaderMap,
    v: &Viewer,
    csrf_field: Option<&str>,
    scope: Scope,
    id: i64,
) -> Result<(), Response> {
    if let Err(why) = csrf::check(state, headers, csrf_field) {
        return Err(csrf::refused(why));
    }
    if !v.allows(scope) {
        let what = match scope {
            Scope::Comment => "add notes (the comment scope)",
            _ => "triage findings (the triage scope)",
        };
        return Err(refused(
            v,
            StatusCode::FORBIDDEN,
            id,
            &format!("Your sign-in may not {what}."),
        ));
    }
    match state.store.finding(id).await {
        Ok(Some(f)) if v.sees(f.product_id) => Ok(()),
        Ok(_) => Err(not_found("finding")),
        Err(e) => Err(internal(e)),
    }
}

/// A store refusal as a page: 404, 409 (not open any more), 400; a failure is a 500.
fn store_refused(v: &Viewer, id: i64, e: StoreError) -> Response {
    match e {
        StoreError::NotFound(_) => not_found("finding"),
        StoreError::Conflict(m) => refused(v, StatusCode::CONFLICT, id, &m),
        StoreError::Invalid(m) => refused(v, StatusCode::BAD_REQUEST, id, &m),
        StoreError::Forbidden(m) => refused(v, StatusCode::FORBIDDEN, id, &m),
        e => internal(e),
    }
}

#[derive(Deserialize)]
pub struct NoteForm {
    csrf: Option<String>,
    text: Option<String>,
}

/// `POST /ui/findings/{id}/notes`: a note by the viewer (the comment scope).
pub async fn add_note(
    State(state): State<AppState>,
    v: Viewer,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<NoteForm>,
) -> Response {
    if let Err(r) = admit(
        &state,
        &headers,
        &v,
        form.csrf.as_deref(),
        Scope::Comment,
        id,
    )
    .await
    {
        return r;
    }
    let Some(text) = form
        .text
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    else {
        return refused(&v, StatusCode::BAD_REQUEST, id, "The note is empty.");
    };
    match state
        .store
        .add_note(
            id,
            &v.name,
            text,
            NoteKind::Internal,
            v.restriction(),
            crate::state::now(),
        )
        .await
    {
        Ok(_) => see_other(&format!("/ui/findings/{id}"), &[]),
        Err(e) => store_refused(&v, id, e),
    }
}

#[derive(Deserialize)]
pub struct CloseForm {
    csrf: Option<String>,
    /// `wont_fix`, `risk_accepted` or `compensating_control`.
    how: Option<String>,
    /// `YYYY-MM-DD`, the last day of a risk acceptance.
    until: Option<String>,
    reason: Option<String>,
}

/// How a close form's fields close a finding: (how, until), or why not.
pub(crate) fn close_choice(
    how: Option<&str>,
    until: Option<&str>,
    reason: Option<&str>,
    now: i64,
) -> Result<(ClosedAs, Option<String>), String> {
    let closed_as = match how.map(str::trim) {
        Some("wont_fix") => ClosedAs::ClosedWontFix,
        Some("risk_accepted") => ClosedAs::ClosedRiskAccepted,
        Some("compensating_control") => ClosedAs::ClosedCompensatingControl,
        _ => {
            return Err(
                "Choose how to close it: won't fix, risk accepted (with an expiry date) or compensating control."
                    .into(),
            )
        }
    };
    if reason.map(str::trim).is_none_or(str::is_empty) {
        return Err("A reason is required: it becomes the closing note.".into());
    }
    if closed_as != ClosedAs::ClosedRiskAccepted {
        // The date field of the other choice, left filled in or not, means nothing here.
        return Ok((closed_as, None));
    }
    let until = until.map(str::trim).unwrap_or("");
    if until.is_empty() {
        return Err("A risk acceptance needs the date it ends (YYYY-MM-DD).".into());
    }
    match crate::time::parse_date(until) {
        None => Err(format!("{until:?} is not a date (YYYY-MM-DD).")),
        // The acceptance holds through that day (UTC): today is the earliest.
        Some(day) if day + 86_400 <= now => Err(format!(
            "The risk acceptance would already have ended: {until} is in the past."
        )),
        Some(_) => Ok((closed_as, Some(until.to_string()))),
    }
}

/// `POST /ui/findings/{id}/close`: closes an open finding with a reason (the triage scope); the
/// store logs the change with the viewer's name and keeps the reason as the closing note.
pub async fn close(
    State(state): State<AppState>,
    v: Viewer,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<CloseForm>,
) -> Response {
    if let Err(r) = admit(
        &state,
        &headers,
        &v,
        form.csrf.as_deref(),
        Scope::Triage,
        id,
    )
    .await
    {
        return r;
    }
    let now = crate::state::now();
    let (closed_as, until) = match close_choice(
        form.how.as_deref(),
        form.until.as_deref(),
        form.reason.as_deref(),
        now,
    ) {
        Ok(c) => c,
        Err(why) => return refused(&v, StatusCode::BAD_REQUEST, id, &why),
    };
    let reason = form.reason.as_deref().unwrap_or("").trim();
    match state
        .store
        .close_finding(
            id,
            closed_as,
            false,
            reason,
            until.as_deref(),
            &v.name,
            v.restriction(),
            now,
        )
        .await
    {
        Ok(_) => see_other(&format!("/ui/findings/{id}"), &[]),
        Err(e) => store_refused(&v, id, e),
    }
}

#[derive(Deserialize)]
pub struct PriorityForm {
    csrf: Option<String>,
    priority: Option<String>,
}

/// `POST /ui/findings/{id}/priority`: P0 … P4 (the triage scope), logged with the viewer's name.
pub async fn set_priority(
    State(state): State<AppState>,
    v: Viewer,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<PriorityForm>,
) -> Response {
    if let Err(r) = admit(
        &state,
        &headers,
        &v,
        form.csrf.as_deref(),
        Scope::Triage,
        id,
    )
    .await
    {
        return r;
    }
    let Some(priority) = form
        .priority
        .as_deref()
        .and_then(|p| Priority::from_str_opt(p.trim()))
    else {
        return refused(
            &v,
            StatusCode::BAD_REQUEST,
            id,
            "The priority is one of P0, P1, P2, P3, P4.",
        );
    };
    match state
        .store
        .set_priority(id, priority, &v.name, v.restriction(), crate::state::now())
        .await
    {
        Ok(_) => see_other(&format!("/ui/findings/{id}"), &[]),
        Err(e) => store_refused(&v, id, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_reads_as_words() {
        let open = FindingStatus {
            active: true,
            ..FindingStatus::default()
        };
        assert_eq!(status_text(&open), "open");
        let ra = FindingStatus {
            closed_as: Some(ClosedAs::ClosedRiskAccepted),
            risk_accepted: true,
            risk_accepted_until: Some("2027-01-31".into()),
            ..open.clone()
        };
        assert_eq!(status_text(&ra), "risk accepted until 2027-01-31");
        let wf = FindingStatus {
            closed_as: Some(ClosedAs::ClosedWontFix),
            permanently_closed: true,
            ..open.clone()
        };
        assert_eq!(status_text(&wf), "closed: won't fix (permanently)");
        let fp = FindingStatus {
            false_p: true,
            ..open.clone()
        };
        assert_eq!(status_text(&fp), "false positive");
        let mitigated = FindingStatus {
            is_mitigated: true,
            mitigated_at: Some(86_400),
            mitigated_by: Some("ci".into()),
            ..open
        };
        assert_eq!(status_text(&mitigated), "mitigated 1970-01-02 by ci");
    }

    #[test]
    fn advisories_link_only_well_formed_ids() {
        assert!(advisory_link("CVE-2021-44228")
            .contains("href=\"https://nvd.nist.gov/vuln/detail/CVE-2021-44228\""));
        assert!(advisory_link("cve-2021-44228").contains("/CVE-2021-44228\""));
        assert!(advisory_link("GHSA-jfh8-c2jp-5v3q")
            .contains("href=\"https://github.com/advisories/GHSA-jfh8-c2jp-5v3q\""));
        assert_eq!(
            advisory_link("CVE-2021-1\"><script>"),
            "CVE-2021-1&quot;&gt;&lt;script&gt;"
        );
        assert_eq!(advisory_link("RUSTSEC-2020-0071"), "RUSTSEC-2020-0071");
        assert_eq!(advisory_link("GHSA-aaaa-bbbb-cc/d"), "GHSA-aaaa-bbbb-cc/d");
    }

    #[test]
    fn a_close_needs_a_choice_a_reason_and_for_a_risk_acceptance_a_date_to_come() {
        let now = 1_800_000_000; // 2027-01-15
        let today = crate::time::date(now);
        let ok = |how, until, reason| close_choice(Some(how), until, Some(reason), now);
        assert_eq!(
            ok("wont_fix", Some("2027-02-01"), "legacy"),
            Ok((ClosedAs::ClosedWontFix, None))
        );
        assert_eq!(
            ok("compensating_control", None, "WAF rule 12"),
            Ok((ClosedAs::ClosedCompensatingControl, None))
        );
        assert_eq!(
            ok("risk_accepted", Some(" 2027-06-30 "), "until the rewrite"),
            Ok((ClosedAs::ClosedRiskAccepted, Some("2027-06-30".into())))
        );
        assert_eq!(
            ok("risk_accepted", Some(&today), "today is the last day"),
            Ok((ClosedAs::ClosedRiskAccepted, Some(today.clone())))
        );
        for (how, until, reason) in [
            ("", None, "x"),
            ("delete", None, "x"),
            ("wont_fix", None, "  "),
            ("risk_accepted", None, "x"),
            ("risk_accepted", Some(""), "x"),
            ("risk_accepted", Some("2027-02-30"), "x"),
            ("risk_accepted", Some("next week"), "x"),
            ("risk_accepted", Some("2027-01-14"), "x"),
        ] {
            assert!(
                close_choice(Some(how), until, Some(reason), now).is_err(),
                "{how} {until:?} {reason:?}"
            );
        }
        assert!(close_choice(Some("wont_fix"), None, None, now).is_err());
        assert!(close_choice(None, None, Some("x"), now).is_err());
    }
}
