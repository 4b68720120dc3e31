//! One finding, what a triager needs: what it is and where (product → engagement → test), its
//! description and recommendation (Markdown, sanitized: scanner text is attacker-controlled),
//! references, CWE and advisory links, the redacted secret, its history (every import and every
//! triage change, with who, when and why), its notes, and the actions the viewer's scopes allow.

use super::{csrf, esc, internal, not_found, viewer_page, with_cookies, Viewer};
use crate::extract::Path;
use crate::markdown;
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use std::fmt::Write;
use tollgate_store::{
    ClosedAs, EventKind, FindingEvent, FindingStatus, ImportRecord, ListQuery, Note, Priority,
    Scope, StoredFinding,
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
        "<table class=\"facts\"><tr><th>Severity</th><td class=\"{sev}\">{sev}{}</td></tr>\
         <tr><th>Status</th><td class=\"status{}\">{}</td></tr>\
         <tr><th>Priority</th><td>{}</td></tr>\
         <tr><th>Scanner / rule</th><td>{} / <code>{}</code></td></tr>\
         <tr><th>Category</th><td>{}</td></tr>",
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
/// changed nothing is `seen` when it is the one that last reported the finding (its last seen),
/// else `no change`. Oldest first.
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
    for i in imports {
        if i.created_at < first || logged.contains(&i.id) {
            continue;
        }
        rows.push(HistoryRow {
            at: i.created_at,
            kind: if i.created_at == f.last_seen {
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
}
