//! Writers of a gate run: `security-gate-summary.json` (versioned schema, docs/summary-schema.md),
//! `security-gate-summary.md` (a merge-request comment), SARIF 2.1.0 for code scanning, JUnit XML
//! and GitLab Code Quality. Writers only format what the policy decided; they never decide.

mod finding_json;
mod gitlab;
pub mod json;
mod markdown;
mod sarif;

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;
use serde_json::Value;
use tollgate_model::{Finding, Fingerprint, Severity};
use tollgate_policy::{Baseline, Context, Decision, Disposition, InputReport, Policy, State};

pub use finding_json::write_finding;
pub use gitlab::{codequality_path, write_gitlab_codequality, write_junit};

pub use markdown::{write_markdown, MARKDOWN_LIST_LIMIT};
pub use sarif::{
    file_place, plan_cap, write_sarif, write_sarif_with, FilePlace, SarifCap, SarifOptions,
    DEFAULT_MAX_RESULTS, GITHUB_MAX_RESULTS,
};

/// Version of the summary JSON schema.
pub const SUMMARY_SCHEMA_VERSION: u32 = 1;

/// The findings of a gate run, as the writers see them.
#[derive(Clone, Copy)]
pub enum Findings<'a> {
    /// Every finding, in order (what SARIF, JUnit and Code Quality need).
    All(&'a [Finding]),
    /// What the summary (given its `findings[]` entries already written) and the Markdown need:
    /// every finding's fingerprint, and, by index in ascending order, the findings the Markdown
    /// lists (at least the first [`MARKDOWN_LIST_LIMIT`] of each reason and waiver).
    Listed {
        fingerprints: &'a [Fingerprint],
        kept: &'a [(usize, Finding)],
    },
}

impl<'a> Findings<'a> {
    pub fn len(&self) -> usize {
        match self {
            Findings::All(all) => all.len(),
            Findings::Listed { fingerprints, .. } => fingerprints.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Finding number `i`, if it was kept.
    pub fn get(&self, i: usize) -> Option<&'a Finding> {
        match self {
            Findings::All(all) => all.get(i),
            Findings::Listed { kept, .. } => kept
                .binary_search_by_key(&i, |(k, _)| *k)
                .ok()
                .map(|at| &kept[at].1),
        }
    }

    pub fn fingerprint(&self, i: usize) -> Option<&'a str> {
        match self {
            Findings::All(all) => all.get(i).map(|f| f.fingerprint.as_str()),
            Findings::Listed { fingerprints, .. } => fingerprints.get(i).map(|f| f.as_str()),
        }
    }

    /// Every finding, for the writers that need them all.
    pub fn all(&self) -> io::Result<&'a [Finding]> {
        match self {
            Findings::All(all) => Ok(all),
            Findings::Listed { .. } => Err(io::Error::other(
                "internal error: this output needs every finding, and the gate kept only the listed ones",
            )),
        }
    }
}

impl<'a> From<&'a [Finding]> for Findings<'a> {
    fn from(all: &'a [Finding]) -> Self {
        Findings::All(all)
    }
}

impl<'a> From<&'a Vec<Finding>> for Findings<'a> {
    fn from(all: &'a Vec<Finding>) -> Self {
        Findings::All(all)
    }
}

/// Everything a writer needs about one gate run.
pub struct GateRun<'a> {
    pub decision: &'a Decision,
    pub findings: Findings<'a>,
    pub policy: &'a Policy,
    pub context: &'a Context,
    pub inputs: &'a [InputReport],
    pub baseline: Option<&'a Baseline>,
    /// RFC 3339 UTC time of the run.
    pub generated_at: String,
    pub tool_version: &'a str,
    pub exit_code: u8,
}

impl GateRun<'_> {
    fn rule_name(&self, index: Option<usize>) -> Option<&str> {
        index
            .and_then(|r| self.policy.rules.get(r))
            .map(|r| r.spec.name.as_str())
    }
}

#[derive(Serialize)]
struct CompactFinding<'a> {
    fingerprint: &'a str,
    state: State,
    disposition: Disposition,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule: Option<&'a str>,
    severity: Severity,
    title: &'a str,
    scanner: &'a str,
    rule_id: &'a str,
    category: tollgate_model::Category,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    tags: &'a [tollgate_model::Tag],
    #[serde(skip_serializing_if = "String::is_empty")]
    location: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<&'a str>,
}

/// The most telling place of a finding in one short string (`file:line`, `pkg@1.2`, `GET url [p]`).
pub fn describe_location(f: &Finding) -> String {
    let l = &f.location;
    if let Some(file) = &l.file {
        return match l.start_line {
            Some(n) => format!("{file}:{n}"),
            None => file.clone(),
        };
    }
    if let Some(p) = &l.package {
        let mut s = match &p.installed_version {
            Some(v) => format!("{}@{v}", p.name),
            None => p.name.clone(),
        };
        if let Some(fixed) = p.fixed_version.as_deref().filter(|f| !f.is_empty()) {
            s.push_str(&format!(" (fixed in {fixed})"));
        }
        return s;
    }
    if let Some(url) = &l.url {
        let mut s = match &l.method {
            Some(m) => format!("{m} {url}"),
            None => url.clone(),
        };
        if let Some(p) = l.parameter.as_deref().filter(|p| !p.is_empty()) {
            s.push_str(&format!(" [{p}]"));
        }
        return s;
    }
    l.component
        .clone()
        .or_else(|| l.target.clone())
        .unwrap_or_default()
}

/// `security-gate-summary.json`.
pub fn write_summary_json(run: &GateRun<'_>, out: &mut dyn Write) -> io::Result<()> {
    write_summary_json_with(run, None, out)
}

/// `security-gate-summary.json` whose `findings[]` entries were already written with
/// [`write_compact_finding`] (in order, for every finding of `run`).
pub fn write_summary_json_with(
    run: &GateRun<'_>,
    findings_json: Option<&[u8]>,
    out: &mut dyn Write,
) -> io::Result<()> {
    write_summary(run, out, |out| match findings_json {
        Some(pre) => out.write_all(pre),
        None => {
            let mut entry = Vec::new();
            let d = run.decision;
            for (i, (f, e)) in run.findings.all()?.iter().zip(&d.evaluated).enumerate() {
                entry.clear();
                write_compact_finding(&mut entry, run.policy, i, f, e)?;
                out.write_all(&entry)?;
            }
            Ok(())
        }
    })
}

/// `security-gate-summary.json` whose `findings[]` entries (written with
/// [`write_compact_finding`], in order, for every finding of `run`) are read from `entries`: a
/// gate over a large report keeps them in a temporary file, not in memory. (With a file and a
/// buffered file, `io::copy` has the kernel copy them, without reading them into memory.)
pub fn write_summary_json_from<R: io::Read + ?Sized, W: Write + ?Sized>(
    run: &GateRun<'_>,
    entries: &mut R,
    out: &mut W,
) -> io::Result<()> {
    write_summary(run, out, |out| io::copy(entries, out).map(drop))
}

fn write_summary<W: Write + ?Sized>(
    run: &GateRun<'_>,
    out: &mut W,
    findings: impl FnOnce(&mut W) -> io::Result<()>,
) -> io::Result<()> {
    let d = run.decision;
    let mut counts: BTreeMap<&str, BTreeMap<&str, BTreeMap<&str, u64>>> = BTreeMap::new();
    let mut totals: BTreeMap<&str, u64> = BTreeMap::new();
    for ((sev, state, disp), n) in &d.counts {
        let state = match state {
            State::New => "new",
            State::Existing => "existing",
        };
        *counts
            .entry(sev.as_str())
            .or_default()
            .entry(state)
            .or_default()
            .entry(disp.as_str())
            .or_insert(0) += n;
        *totals.entry(disp.as_str()).or_insert(0) += n;
    }
    totals.insert("findings", run.findings.len() as u64);
    let waiver = |w: usize, findings| head_waiver(run, w, findings);
    let head = Head {
        baseline: run.baseline.map(|b| HeadBaseline {
            fingerprints: b.fingerprints.len(),
            source: &b.source,
        }),
        // Through `Value`: its objects write their keys sorted, as the summary always had them.
        context: serde_json::to_value(run.context)?,
        counts,
        decision: d.outcome,
        exit_code: run.exit_code,
        generated_at: &run.generated_at,
        inputs: serde_json::to_value(run.inputs)?,
        notes: &d.notes,
        reasons: d
            .reasons
            .iter()
            .map(|r| HeadReason {
                fingerprints: FingerprintList {
                    run,
                    findings: &r.findings,
                },
                kind: r.kind,
                message: &r.message,
                rule: r.rule.as_deref(),
                verdict: r.verdict,
            })
            .collect(),
        schema: "tollgate/security-gate-summary",
        schema_version: SUMMARY_SCHEMA_VERSION,
        tool: HeadTool {
            name: "tollgate",
            version: run.tool_version,
        },
        totals,
        waivers: HeadWaivers {
            applied: d
                .waivers
                .applied
                .iter()
                .map(|u| waiver(u.waiver, &u.findings))
                .collect(),
            expired: d
                .waivers
                .expired
                .iter()
                .map(|u| waiver(u.waiver, &u.findings))
                .collect(),
            stale: d.waivers.stale.iter().map(|w| waiver(*w, &[])).collect(),
        },
    };
    // Everything but the findings, then the findings (they can be hundreds of thousands): the
    // head without its closing `\n}`, streamed (its fingerprint lists can be as long).
    let mut head_out = HoldBack {
        out: &mut *out,
        held: Vec::with_capacity(HoldBack::<W>::BLOCK + 1024),
    };
    serde_json::to_writer_pretty(&mut head_out, &head)?;
    if !head_out.held.ends_with(b"\n}") {
        return Err(io::Error::other(
            "internal error: the summary's head is not an object",
        ));
    }
    let HoldBack { held, .. } = head_out;
    out.write_all(&held[..held.len() - 2])?;
    out.write_all(b",\n  \"findings\": [")?;
    findings(out)?;
    out.write_all(b"\n  ]\n}\n")?;
    Ok(())
}

/// The summary without its findings. Its fields are in the order of their names, as the
/// `serde_json::Value` object it was first built as wrote them.
#[derive(Serialize)]
struct Head<'a> {
    baseline: Option<HeadBaseline<'a>>,
    context: Value,
    counts: BTreeMap<&'a str, BTreeMap<&'a str, BTreeMap<&'a str, u64>>>,
    decision: tollgate_policy::Outcome,
    exit_code: u8,
    generated_at: &'a str,
    inputs: Value,
    notes: &'a [String],
    reasons: Vec<HeadReason<'a>>,
    schema: &'static str,
    schema_version: u32,
    tool: HeadTool<'a>,
    totals: BTreeMap<&'a str, u64>,
    waivers: HeadWaivers<'a>,
}

#[derive(Serialize)]
struct HeadBaseline<'a> {
    fingerprints: usize,
    source: &'a str,
}

#[derive(Serialize)]
struct HeadReason<'a> {
    fingerprints: FingerprintList<'a>,
    kind: tollgate_policy::ReasonKind,
    message: &'a str,
    rule: Option<&'a str>,
    verdict: tollgate_policy::Verdict,
}

#[derive(Serialize)]
struct HeadTool<'a> {
    name: &'static str,
    version: &'a str,
}

#[derive(Serialize)]
struct HeadWaivers<'a> {
    applied: Vec<HeadWaiver<'a>>,
    expired: Vec<HeadWaiver<'a>>,
    stale: Vec<HeadWaiver<'a>>,
}

#[derive(Serialize)]
struct HeadWaiver<'a> {
    declared_in: &'a str,
    expires: String,
    fingerprints: FingerprintList<'a>,
    matches: String,
    owner: Option<&'a str>,
    reason: Option<&'a str>,
}

fn head_waiver<'a>(run: &'a GateRun<'a>, w: usize, findings: &'a [usize]) -> HeadWaiver<'a> {
    let wv = &run.policy.waivers[w];
    HeadWaiver {
        declared_in: &wv.origin,
        expires: wv.expires.to_string(),
        fingerprints: FingerprintList { run, findings },
        matches: wv.target(),
        owner: wv.spec.owner.as_deref(),
        reason: wv.spec.reason.as_deref(),
    }
}

/// The fingerprints of some findings of a run, written as a JSON array as they are read.
struct FingerprintList<'a> {
    run: &'a GateRun<'a>,
    findings: &'a [usize],
}

impl Serialize for FingerprintList<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(
            self.findings
                .iter()
                .filter_map(|i| self.run.findings.fingerprint(*i)),
        )
    }
}

/// Passes everything on to `out` but the last two bytes written, kept in `held`. Small writes
/// (the pretty printer writes each indent, quote and comma alone: a million for 167,000
/// fingerprints) gather in `held` and go on in blocks, as through a `BufWriter`.
struct HoldBack<'o, W: Write + ?Sized> {
    out: &'o mut W,
    held: Vec<u8>,
}

impl<W: Write + ?Sized> HoldBack<'_, W> {
    const BLOCK: usize = 64 << 10;
}

impl<W: Write + ?Sized> Write for HoldBack<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.held.extend_from_slice(buf);
        if self.held.len() >= Self::BLOCK {
            let pass = self.held.len() - 2;
            self.out.write_all(&self.held[..pass])?;
            self.held.drain(..pass);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes the `findings[]` entry of finding number `index` (a comma first unless it is the
/// first), so a gate can serialize findings while they are still being parsed.
pub fn write_compact_finding(
    out: &mut Vec<u8>,
    policy: &Policy,
    index: usize,
    f: &Finding,
    e: &tollgate_policy::Evaluated,
) -> io::Result<()> {
    out.extend_from_slice(if index == 0 { b"\n    " } else { b",\n    " });
    let c = CompactFinding {
        fingerprint: f.fingerprint.as_str(),
        state: e.state,
        disposition: e.disposition,
        rule: e
            .rule
            .and_then(|r| policy.rules.get(r))
            .map(|r| r.spec.name.as_str()),
        severity: f.severity,
        title: &f.title,
        scanner: &f.scanner.name,
        rule_id: &f.rule_id,
        category: f.category,
        tags: &f.tags,
        location: describe_location(f),
        source: f.source.file.as_deref(),
    };
    // serde_json's bytes, without a virtual `write` per token.
    json::write_compact(out, &c).map_err(io::Error::from)
}

/// Reads the fingerprints of a previous `security-gate-summary.json`.
pub fn read_baseline(text: &str, source: &str) -> Result<Baseline, String> {
    #[derive(serde::Deserialize)]
    struct Summary {
        schema_version: Option<u32>,
        findings: Vec<Fp>,
    }
    #[derive(serde::Deserialize)]
    struct Fp {
        fingerprint: String,
    }
    let s: Summary = serde_json::from_str(text).map_err(|e| {
        format!(
            "{source}: not a security-gate-summary.json (line {}, column {}): {e}",
            e.line(),
            e.column()
        )
    })?;
    if s.schema_version.is_some_and(|v| v > SUMMARY_SCHEMA_VERSION) {
        return Err(format!(
            "{source}: summary schema version {} is newer than this tollgate reads ({SUMMARY_SCHEMA_VERSION})",
            s.schema_version.unwrap_or(0)
        ));
    }
    Ok(Baseline {
        fingerprints: s.findings.into_iter().map(|f| f.fingerprint).collect(),
        source: source.to_string(),
    })
}

/// `2026-11-22T20:10:00Z` from seconds since the epoch.
pub fn rfc3339_utc(epoch_secs: i64) -> String {
    let date = tollgate_policy::Date::from_days(epoch_secs.div_euclid(86_400));
    let s = epoch_secs.rem_euclid(86_400);
    format!("{date}T{:02}:{:02}:{:02}Z", s / 3600, s % 3600 / 60, s % 60)
}
