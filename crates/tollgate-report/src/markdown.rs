//! `security-gate-summary.md`: a merge-request comment. Blockers first; each shows a short
//! statement, with the rationale and the fix folded inside `<details>`.
//!
//! Scanner text (titles, descriptions, advice, paths, versions) is attacker-controlled: it enters
//! the comment only through [`text`] (Markdown), [`html`] (inside our HTML tags) or [`code`]
//! (code spans), so it can neither close our `<details>` nor add HTML, links, images or mentions.

use std::io::{self, Write};

use tollgate_model::Finding;
use tollgate_policy::{Disposition, Outcome, ReasonKind, State, Verdict};

use crate::{describe_location, GateRun};

/// At most this many findings are listed per section; the JSON summary has them all.
pub const MARKDOWN_LIST_LIMIT: usize = 50;
const LIST_LIMIT: usize = MARKDOWN_LIST_LIMIT;

pub fn write_markdown(run: &GateRun<'_>, out: &mut dyn Write) -> io::Result<()> {
    let d = run.decision;
    let count = |disp: Disposition| d.evaluated.iter().filter(|e| e.disposition == disp).count();
    let (blocked, warned, info, advisory, waived, suppressed) = (
        count(Disposition::Block),
        count(Disposition::Warn),
        count(Disposition::Info),
        count(Disposition::Advisory),
        count(Disposition::Waived),
        count(Disposition::Suppressed),
    );
    let fail_closed: Vec<_> = d
        .reasons
        .iter()
        .filter(|r| r.kind != ReasonKind::Rule)
        .collect();
    let (icon, word) = match d.outcome {
        Outcome::Fail => ("⛔", "FAIL"),
        Outcome::Warn => ("⚠️", "WARN"),
        Outcome::Pass => ("✅", "PASS"),
    };
    writeln!(out, "## {icon} Security gate: {word}\n")?;
    let headline = match d.outcome {
        Outcome::Fail if blocked > 0 => format!(
            "**{blocked} finding{} block{} this release.**",
            plural(blocked),
            if blocked == 1 { "s" } else { "" }
        ),
        Outcome::Fail => {
            "**The gate cannot vouch for this build: its evidence is broken or incomplete.**"
                .to_string()
        }
        Outcome::Warn if warned > 0 => {
            "Nothing blocks this release; some findings need triage.".to_string()
        }
        // Fail-open: only broken or incomplete evidence warns, and no finding is to triage.
        Outcome::Warn if !fail_closed.is_empty() => {
            "Nothing blocks this release, but its evidence is broken or incomplete (the gate ran with --on-error open).".to_string()
        }
        Outcome::Warn => "Nothing blocks this release; see the warnings below.".to_string(),
        Outcome::Pass => "Nothing blocks this release.".to_string(),
    };
    writeln!(
        out,
        "{headline} {warned} to triage · {info} info · {advisory} advisory · {waived} waived · {suppressed} suppressed by the scanner · {} total\n",
        run.findings.len()
    )?;
    let c = run.context;
    let mut ctx = vec![format!(
        "build `{}`{}",
        match c.build {
            tollgate_policy::Build::Release => "release",
            tollgate_policy::Build::Debug => "debug",
        },
        if c.build_assumed { " (assumed)" } else { "" }
    )];
    if let Some(e) = &c.environment {
        ctx.push(format!("environment {}", code(e, false)));
    } else if let Some(e) = c.effective_environment() {
        ctx.push(format!("environment {} (assumed)", code(e, false)));
    }
    if let Some(b) = &c.branch {
        ctx.push(format!("branch {}", code(b, false)));
    }
    if let Some(t) = &c.tag {
        ctx.push(format!("tag {}", code(t, false)));
    }
    if let Some(s) = &c.commit {
        ctx.push(format!(
            "commit {}",
            code(&s.chars().take(12).collect::<String>(), false)
        ));
    }
    if let Some(mr) = &c.merge_request {
        ctx.push(format!("MR !{}", text(mr, 40)));
    }
    match run.baseline {
        Some(b) => ctx.push(format!(
            "baseline {} ({} fingerprints)",
            code(&b.source, false),
            b.fingerprints.len()
        )),
        None => ctx.push("no baseline: every finding counts as new".to_string()),
    }
    writeln!(out, "{}\n", ctx.join(" · "))?;
    for note in d.notes.iter().filter(|n| n.starts_with("FAIL-OPEN")) {
        writeln!(out, "> **{}**\n", text(note, 1000))?;
    }

    if !fail_closed.is_empty() {
        writeln!(out, "### Broken or incomplete evidence\n")?;
        for r in &fail_closed {
            let what = match r.kind {
                ReasonKind::BrokenReport => "Report cannot be used",
                ReasonKind::IncompleteScan => "Scan incomplete",
                ReasonKind::MissingScanner => "Required scanner missing",
                ReasonKind::Rule => "",
            };
            let mark = if r.verdict == Verdict::Block {
                "🚫"
            } else {
                "⚠️"
            };
            writeln!(out, "- {mark} **{what}** — {}", text(&r.message, 1000))?;
        }
        if fail_closed.iter().any(|r| r.verdict == Verdict::Block) {
            writeln!(
                out,
                "\n<details><summary>Why this blocks and what to do</summary>\n\nThe gate fails closed: a verdict on missing evidence would be a guess. Fix the scan job (its logs say why it failed part-way), re-run the pipeline, or — if your team accepts the risk — run the gate with `--on-error open`, which is reported loudly.\n\n</details>\n"
            )?;
        } else {
            writeln!(
                out,
                "\n<details><summary>Why this only warns and what to do</summary>\n\nThe gate ran with `--on-error open`: broken or incomplete evidence is reported instead of blocking, so this verdict is not based on complete evidence. Fix the scan job (its logs say why it failed part-way) and re-run the pipeline.\n\n</details>\n"
            )?;
        }
    }

    if blocked > 0 {
        writeln!(out, "### Blocking\n")?;
        for r in d
            .reasons
            .iter()
            .filter(|r| r.kind == ReasonKind::Rule && r.verdict == Verdict::Block)
        {
            let rule = r.rule.as_deref().unwrap_or("");
            let spec = run
                .policy
                .rules
                .iter()
                .find(|x| x.spec.name == rule)
                .map(|x| &x.spec);
            writeln!(
                out,
                "#### 🚫 {} — {}\n",
                text(spec.map_or(rule, |s| first_sentence(&s.description)), 200),
                code(rule, false)
            )?;
            for &i in r.findings.iter().take(LIST_LIMIT) {
                let Some(f) = run.findings.get(i) else {
                    continue;
                };
                writeln!(out, "- {}", finding_line(f, d.evaluated[i].state))?;
                writeln!(out, "  <details><summary>Rationale and fix</summary>\n")?;
                if let Some(s) = spec {
                    if !s.description.is_empty() {
                        writeln!(out, "  **Why it blocks:** {}\n", text(&s.description, 600))?;
                    }
                }
                if let Some(desc) = f.description.as_deref().filter(|t| !t.trim().is_empty()) {
                    writeln!(out, "  **Finding:** {}\n", text(desc, 600))?;
                }
                let fix = spec
                    .and_then(|s| s.fix.as_deref())
                    .or(f.recommendation.as_deref())
                    .unwrap_or(
                        "Fix the finding, or record a waiver with an owner and an expiry date.",
                    );
                writeln!(out, "  **Short fix:** {}\n", text(fix, 600))?;
                if let Some(rec) = f
                    .recommendation
                    .as_deref()
                    .filter(|r| Some(*r) != spec.and_then(|s| s.fix.as_deref()))
                {
                    writeln!(out, "  **Scanner's advice:** {}\n", text(rec, 400))?;
                }
                writeln!(
                    out,
                    "  Fingerprint `{}` · waive it in the policy with `fingerprint = \"{}\"`, a reason, an owner and an expiry date.\n  </details>",
                    f.fingerprint, f.fingerprint
                )?;
            }
            if r.findings.len() > LIST_LIMIT {
                writeln!(
                    out,
                    "- … and {} more (all in `security-gate-summary.json`)",
                    r.findings.len() - LIST_LIMIT
                )?;
            }
            writeln!(out)?;
        }
    }

    let warn_reasons: Vec<_> = d
        .reasons
        .iter()
        .filter(|r| r.kind == ReasonKind::Rule && r.verdict == Verdict::Warn)
        .collect();
    if !warn_reasons.is_empty() {
        writeln!(out, "### To triage ({warned})\n")?;
        for r in warn_reasons {
            writeln!(
                out,
                "<details><summary>⚠️ {}</summary>\n",
                html(&r.message, 300)
            )?;
            for &i in r.findings.iter().take(LIST_LIMIT) {
                let Some(f) = run.findings.get(i) else {
                    continue;
                };
                writeln!(out, "- {}", finding_line(f, d.evaluated[i].state))?;
            }
            if r.findings.len() > LIST_LIMIT {
                writeln!(out, "- … and {} more", r.findings.len() - LIST_LIMIT)?;
            }
            writeln!(out, "\n</details>\n")?;
        }
    }

    let w = &d.waivers;
    if !w.applied.is_empty() || !w.expired.is_empty() || !w.stale.is_empty() {
        writeln!(out, "### Waivers\n")?;
        for u in &w.expired {
            let wv = &run.policy.waivers[u.waiver];
            let n = u.findings.len();
            writeln!(
                out,
                "- ⏰ **expired {}** — {}: no longer applies to {n} finding{}",
                wv.expires,
                describe_waiver(wv),
                plural(n)
            )?;
        }
        for u in &w.applied {
            let wv = &run.policy.waivers[u.waiver];
            let n = u.findings.len();
            writeln!(
                out,
                "- ✔️ applied until {} — {}: {n} finding{}",
                wv.expires,
                describe_waiver(wv),
                plural(n)
            )?;
            for &i in u.findings.iter().take(LIST_LIMIT) {
                let Some(f) = run.findings.get(i) else {
                    continue;
                };
                writeln!(out, "  - {}", finding_line(f, d.evaluated[i].state))?;
            }
            if u.findings.len() > LIST_LIMIT {
                writeln!(out, "  - … and {} more", u.findings.len() - LIST_LIMIT)?;
            }
        }
        for &s in &w.stale {
            let wv = &run.policy.waivers[s];
            writeln!(
                out,
                "- 🧹 stale — {} matches nothing any more: remove it ({})",
                code(&wv.target(), false),
                text(&wv.origin, 200)
            )?;
        }
        writeln!(out)?;
    }

    writeln!(
        out,
        "<details><summary>Inputs ({})</summary>\n",
        run.inputs.len()
    )?;
    writeln!(out, "| report | format | scanner | findings | sha256 |")?;
    writeln!(out, "|---|---|---|---:|---|")?;
    for i in run.inputs {
        let scanners: Vec<String> = i.scanners.iter().map(ToString::to_string).collect();
        writeln!(
            out,
            "| {} | {} | {} | {} | `{}` |",
            code(&i.file, true),
            text(i.format.as_deref().unwrap_or("—"), 80),
            text(&scanners.join(", "), 200),
            if i.error.is_some() {
                "error".to_string()
            } else if let Some(kept) = &i.counted_in {
                format!("counted in {}", code(kept, true))
            } else {
                i.findings.to_string()
            },
            i.sha256.as_deref().map_or(String::new(), |s| s
                .chars()
                .filter(char::is_ascii_hexdigit)
                .take(12)
                .collect())
        )?;
    }
    writeln!(out, "\n</details>")?;
    for note in d.notes.iter().filter(|n| !n.starts_with("FAIL-OPEN")) {
        writeln!(out, "\n_Note: {}._", text(note, 1000))?;
    }
    Ok(())
}

/// `` `fingerprint 3f1c…` (reason; owner o) ``
fn describe_waiver(wv: &tollgate_policy::Waiver) -> String {
    format!(
        "{} ({}; owner {})",
        code(&wv.target(), false),
        text(wv.spec.reason.as_deref().unwrap_or(""), 300),
        text(wv.spec.owner.as_deref().unwrap_or(""), 100)
    )
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn finding_line(f: &Finding, state: State) -> String {
    let loc = describe_location(f);
    format!(
        "**{}** {} — {} · {} · {}{}",
        f.severity,
        text(&f.title, 160),
        text(&f.scanner.name, 80),
        code(&f.rule_id, false),
        if loc.is_empty() {
            "—".to_string()
        } else {
            code(&loc, false)
        },
        if state == State::New { " · new" } else { "" }
    )
}

fn first_sentence(text: &str) -> &str {
    let t = text.trim();
    match t.find(": ").or_else(|| t.find(". ")) {
        Some(i) => &t[..i],
        None => t.trim_end_matches('.'),
    }
}

fn one_line(text: &str, max: usize) -> String {
    let collapsed: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() <= max {
        collapsed
    } else {
        let mut s: String = collapsed.chars().take(max).collect();
        s.push('…');
        s
    }
}

/// Scanner text as inert Markdown on one line (at most `max` characters): HTML's `<`, `>` and
/// `&` as entities; Markdown's emphasis, link, image, code, table and strikethrough marks
/// backslash-escaped; `://` and `www.` broken so GFM makes no autolink; a word joiner after
/// `@` so neither an e-mail autolink nor a mention (`@all`) forms.
pub(crate) fn text(s: &str, max: usize) -> String {
    let line = one_line(s, max);
    let mut out = String::with_capacity(line.len() + 8);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '@' => out.push_str("@\u{2060}"),
            // `https://`, `ftp://`: GFM autolinks a scheme followed by `//`.
            ':' if chars.peek() == Some(&'/') => out.push_str("\\:"),
            '.' if out.len() >= 3
                && out.as_bytes()[out.len() - 3..].eq_ignore_ascii_case(b"www") =>
            {
                out.push_str("\\.")
            }
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' | '!' | '#' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Scanner text inside one of our HTML tags (where Markdown is not parsed): one line, entities
/// for `<`, `>`, `&` and `"`.
pub(crate) fn html(s: &str, max: usize) -> String {
    let line = one_line(s, max);
    let mut out = String::with_capacity(line.len() + 8);
    for c in line.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '@' => out.push_str("@\u{2060}"),
            c => out.push(c),
        }
    }
    out
}

/// Scanner text as a code span on one line: a backtick cannot end it early (it becomes `'`), and
/// in a table row `|` is escaped so it cannot end the cell.
pub(crate) fn code(s: &str, in_table: bool) -> String {
    let mut inner = one_line(s, 300).replace('`', "'");
    if in_table {
        inner = inner.replace('|', "\\|");
    }
    if inner.is_empty() {
        return "—".to_string();
    }
    format!("`{inner}`")
}
