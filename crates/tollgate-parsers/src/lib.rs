//! Scanner report parsers: detect a report's format from its content and turn each result item
//! into a normalized [`Finding`].
//!
//! One module per format, each behind the [`Parser`] trait and listed once in [`PARSERS`].
//! Parsers never print, never touch the file system, never panic on input, and never let a
//! secret value out in clear (see `tollgate_model::RedactedSecret`).

pub mod error;
pub mod json;
pub mod redact;
pub mod sniff;
pub mod tagging;
pub mod xml;

mod bandit;
mod datatheorem;
mod dependency_check;
mod generic;
mod gitlab;
mod gitleaks;
mod mobsf;
mod mobsfscan;
pub mod parallel;
mod repeats;
mod sarif;
mod semgrep;
mod trivy;
mod zap;

use std::hash::{Hash, Hasher};

use tollgate_model::{Finding, FingerprintBuilder, ReportMeta, SourceRef};

use repeats::Repeats;

pub use error::{ErrorKind, ParseError};
pub use mobsf::scan_hash as mobsf_scan_hash;
pub use sniff::Sniff;

/// A report format Tollgate reads. Ids are stable (CLI `--scanner`, summaries, the hub).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    Sarif,
    MobsfScorecard,
    Mobsf,
    Mobsfscan,
    GitlabSecretDetection,
    GitlabSast,
    Semgrep,
    Bandit,
    Trivy,
    DependencyCheckJson,
    DependencyCheckXml,
    ZapJson,
    ZapXml,
    Gitleaks,
    DataTheorem,
    Generic,
}

impl Format {
    pub const ALL: [Format; 16] = [
        Format::Sarif,
        Format::MobsfScorecard,
        Format::Mobsf,
        Format::Mobsfscan,
        Format::GitlabSecretDetection,
        Format::GitlabSast,
        Format::Semgrep,
        Format::Bandit,
        Format::Trivy,
        Format::DependencyCheckJson,
        Format::DependencyCheckXml,
        Format::ZapJson,
        Format::ZapXml,
        Format::Gitleaks,
        Format::DataTheorem,
        Format::Generic,
    ];

    /// The stable id (`sarif`, `zap-xml`, …).
    pub fn id(self) -> &'static str {
        match self {
            Format::Sarif => "sarif",
            Format::MobsfScorecard => "mobsf-scorecard",
            Format::Mobsf => "mobsf",
            Format::Mobsfscan => "mobsfscan",
            Format::GitlabSecretDetection => "gitlab-secret-detection",
            Format::GitlabSast => "gitlab-sast",
            Format::Semgrep => "semgrep",
            Format::Bandit => "bandit",
            Format::Trivy => "trivy",
            Format::DependencyCheckJson => "dependency-check-json",
            Format::DependencyCheckXml => "dependency-check-xml",
            Format::ZapJson => "zap-json",
            Format::ZapXml => "zap-xml",
            Format::Gitleaks => "gitleaks",
            Format::DataTheorem => "datatheorem",
            Format::Generic => "generic",
        }
    }

    /// What a person calls it.
    pub fn description(self) -> &'static str {
        match self {
            Format::Sarif => "SARIF 2.1.0 (CodeQL, Semgrep, Bandit, Gitleaks, Trivy, checkov, mobsfscan, njsscan …)",
            Format::MobsfScorecard => "MobSF scorecard (api/v1/scorecard)",
            Format::Mobsf => "MobSF report (api/v1/report_json), Android and iOS",
            Format::Mobsfscan => "mobsfscan JSON",
            Format::GitlabSecretDetection => "GitLab Secret Detection report",
            Format::GitlabSast => "GitLab SAST report",
            Format::Semgrep => "Semgrep JSON",
            Format::Bandit => "Bandit JSON",
            Format::Trivy => "Trivy JSON (schema 2 and legacy; image, filesystem, Kubernetes)",
            Format::DependencyCheckJson => "OWASP Dependency-Check JSON",
            Format::DependencyCheckXml => "OWASP Dependency-Check XML",
            Format::ZapJson => "OWASP ZAP JSON report",
            Format::ZapXml => "OWASP ZAP traditional XML report",
            Format::Gitleaks => "Gitleaks JSON (v7, v8)",
            Format::DataTheorem => "Data Theorem Mobile Security Results API security_findings",
            Format::Generic => "DefectDojo Generic Findings Import JSON",
        }
    }

    pub fn from_id(id: &str) -> Option<Format> {
        Format::ALL
            .into_iter()
            .find(|f| f.id().eq_ignore_ascii_case(id.trim()))
    }

    pub fn parser(self) -> &'static dyn Parser {
        *PARSERS
            .iter()
            .find(|p| p.format() == self)
            .expect("every format has a parser in PARSERS")
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

/// The one interface every report format implements.
pub trait Parser: Send + Sync {
    fn format(&self) -> Format;

    /// True when the sniffed head of a report looks like this format. Detection tries parsers in
    /// [`PARSERS`] order, so more specific formats come first.
    fn detect(&self, sniff: &Sniff) -> bool;

    /// Parses a whole report, handing each finding to `sink` as soon as it is built (large
    /// reports are streamed). On error, findings already handed over must be discarded by the
    /// caller: the report is rejected whole.
    fn parse(&self, input: &str, sink: &mut dyn FnMut(Finding)) -> Result<ReportMeta, ParseError>;
}

/// Every parser, in detection order.
pub static PARSERS: &[&dyn Parser] = &[
    &sarif::SarifParser,
    &mobsf::ScorecardParser,
    &mobsf::MobsfParser,
    &mobsfscan::MobsfscanParser,
    &gitlab::SecretDetectionParser,
    &gitlab::SastParser,
    &semgrep::SemgrepParser,
    &bandit::BanditParser,
    &trivy::TrivyParser,
    &dependency_check::JsonParser,
    &dependency_check::XmlParser,
    &zap::JsonParser,
    &zap::XmlParser,
    &datatheorem::DataTheoremParser,
    &generic::GenericParser,
    &gitleaks::GitleaksParser,
];

/// Names the format of a report from its content.
pub fn detect(input: &[u8]) -> Result<Format, ParseError> {
    json::text(&input[..input.len().min(sniff::SNIFF_BYTES)]).or_else(|e| {
        // A multi-byte character cut by the sniff window is not an encoding error.
        if e.kind == ErrorKind::Encoding && input.len() > sniff::SNIFF_BYTES {
            Ok("")
        } else {
            Err(e)
        }
    })?;
    let sniff = Sniff::new(input);
    if let Some(p) = PARSERS.iter().find(|p| p.detect(&sniff)) {
        return Ok(p.format());
    }
    // Nothing recognised it. A broken document is better reported as broken (with its place)
    // than as an unknown format.
    let text = json::text(input)?;
    match sniff.shape() {
        sniff::Shape::JsonObject | sniff::Shape::JsonArray | sniff::Shape::JsonNull => {
            // A `Value` (not `IgnoredAny`) so over-deep nesting is reported as such.
            let value = json::from_str::<serde_json::Value>(text)?;
            if names_no_scanner(&value) {
                return Err(ambiguous());
            }
        }
        sniff::Shape::Xml => {
            xml::parse(text)?;
        }
        sniff::Shape::Other => {}
    }
    Err(unknown_format())
}

/// True for a document that carries nothing to tell its scanner by: `null`, `[]`, `{}`, or a
/// shell whose members are all empty (`{"results": [], "errors": []}`, `{"Results": null}`),
/// with at most a few short scalars beside them. Gitleaks (`[]`, v7 `null`), legacy Trivy
/// (`null`) and others write such documents for a clean scan; taking one for the wrong scanner
/// would close every real finding of that scanner on reimport.
pub fn names_no_scanner(value: &serde_json::Value) -> bool {
    use serde_json::Value;
    let empty = |v: &Value| match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    };
    match value {
        Value::Array(items) => items.iter().all(empty),
        Value::Object(members) => {
            members
                .values()
                .all(|v| empty(v) || !v.is_array() && !v.is_object())
                && (members.is_empty() || members.values().any(empty))
        }
        other => empty(other),
    }
}

/// The error for a document that names no scanner ([`names_no_scanner`]).
pub fn ambiguous() -> ParseError {
    ParseError::new(
        ErrorKind::Ambiguous,
        "cannot tell which scanner wrote this report; pass --scanner FORMAT \
         (or --scanner FORMAT=FILE; see `tollgate formats`)",
    )
}

/// The error for content no parser recognises; it lists the supported formats.
pub fn unknown_format() -> ParseError {
    let list: Vec<&str> = Format::ALL.iter().map(|f| f.id()).collect();
    ParseError::new(
        ErrorKind::UnknownFormat,
        format!(
            "unknown report format; supported: {} (use --scanner to force one)",
            list.join(", ")
        ),
    )
}

/// Detects (or takes `forced`) the format and parses the report, passing every finding through
/// the shared post-processing (taxonomy tags, fallback fingerprint) before `sink`.
pub fn parse(
    input: &[u8],
    forced: Option<Format>,
    sink: &mut dyn FnMut(Finding),
) -> Result<ReportMeta, ParseError> {
    let mut finisher = Finisher::for_report(input.len());
    parse_unfinished(input, forced, &mut |mut f| {
        finisher.finish(&mut f);
        sink(f)
    })
}

/// Like [`parse`], but hands findings over before the shared post-processing: the caller must pass
/// every finding, in order, through one [`Finisher`]. A caller with two threads uses this to run
/// the post-processing beside the parser instead of after it.
pub fn parse_unfinished(
    input: &[u8],
    forced: Option<Format>,
    sink: &mut dyn FnMut(Finding),
) -> Result<ReportMeta, ParseError> {
    let text = json::text(input)?;
    let format = match forced {
        Some(f) => f,
        None => detect(input)?,
    };
    parse_text(text, format, sink)
}

fn parse_text(
    text: &str,
    format: Format,
    sink: &mut dyn FnMut(Finding),
) -> Result<ReportMeta, ParseError> {
    let mut count = 0u64;
    let mut meta = format.parser().parse(text, &mut |f| {
        count += 1;
        sink(f)
    })?;
    meta.format = format.id().to_string();
    meta.findings = count;
    Ok(meta)
}

/// How [`parse_pipelined`] spreads its work over threads.
#[derive(Debug, Clone, Copy)]
pub struct Pipeline {
    /// Threads that read and render a large report's results.
    pub workers: usize,
    /// Reports at least this large (bytes) are read by the workers; smaller ones by one thread
    /// beside the caller's.
    pub parallel_from: usize,
    /// About how much of a results array one worker reads at a time.
    pub chunk_bytes: usize,
}

impl Default for Pipeline {
    fn default() -> Self {
        Pipeline {
            workers: std::thread::available_parallelism().map_or(1, |n| n.get().min(8)),
            parallel_from: 8 << 20,
            chunk_bytes: 256 << 10,
        }
    }
}

/// Findings in batches: each batch is handed, unfinished, to `render` on a worker thread (which
/// must take them all and run [`finish_alone`] on every one), in one or several groups (the
/// output so far comes back with the next group), and `render`'s output reaches `consume` on
/// the calling thread in report order. `consume` returns `false` to stop (the caller keeps its own
/// error; the meta returned then is incomplete).
///
/// Large SARIF logs and Trivy reports are read by [`Pipeline::workers`] threads at once
/// ([`parallel`]). A batch's `base` (the second argument of `consume`) is then the array index
/// of its first result, and its findings' pointers count from it: [`rebase_pointer`] gives the
/// report's own pointer.
/// Every other report is read by one thread while the calling thread renders and consumes,
/// with `base` 0.
pub fn parse_pipelined<O: Send>(
    input: &[u8],
    forced: Option<Format>,
    pipeline: Pipeline,
    render: &(dyn Fn(&mut Vec<Finding>, Option<O>) -> O + Sync),
    consume: &mut dyn FnMut(O, usize) -> bool,
) -> Result<ReportMeta, ParseError> {
    let (text, format) = if pipeline.workers > 1 && input.len() >= pipeline.parallel_from {
        text_and_format_on_two_threads(input, forced)?
    } else {
        let text = json::text(input)?;
        let format = match forced {
            Some(f) => f,
            None => detect(input)?,
        };
        (text, format)
    };
    if matches!(format, Format::Sarif | Format::Trivy)
        && pipeline.workers > 1
        && text.len() >= pipeline.parallel_from
    {
        let split = parallel::Split {
            workers: pipeline.workers,
            chunk_bytes: pipeline.chunk_bytes,
            window: 2 * pipeline.workers,
        };
        let mut work = parallel::Work { render, consume };
        // A panic is a bug (parsers must not panic on input): reported like the parser
        // thread's below, never as a crash of the whole command.
        let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            if format == Format::Sarif {
                sarif::parse_parallel(text, split, &mut work)
            } else {
                trivy::parse_parallel(text, split, &mut work)
            }
        }))
        .unwrap_or(Err(parallel::Parallel::Stopped(parallel::Stop::Broken)));
        match read {
            Ok(mut meta) => {
                meta.format = format.id().to_string();
                return Ok(meta);
            }
            Err(parallel::Parallel::Declined) => {}
            Err(parallel::Parallel::Stopped(parallel::Stop::Consumer)) => {
                return Ok(ReportMeta::new(format.id()));
            }
            Err(parallel::Parallel::Stopped(parallel::Stop::Broken)) => {
                // Findings went out; the sequential reader words the error (and emits nothing).
                let sequential =
                    std::panic::catch_unwind(|| format.parser().parse(text, &mut |_| {}));
                return Err(match sequential {
                    Err(_) => crashed(),
                    Ok(Err(e)) => e,
                    Ok(Ok(_)) => ParseError::new(
                        ErrorKind::Syntax,
                        "internal error: the parallel reader rejected a report the sequential \
                         reader accepts (please report this)",
                    ),
                });
            }
        }
    }
    sequential_pipeline(text, format, render, consume)
}

/// Like [`parse_to_vec`], through [`parse_pipelined`]: the same findings (repeats numbered,
/// pointers rebased), read by `pipeline.workers` threads when the report is large enough. Tests
/// and the differential fuzz target compare the two.
pub fn parse_pipelined_to_vec(
    input: &[u8],
    forced: Option<Format>,
    pipeline: Pipeline,
) -> Result<(ReportMeta, Vec<Finding>), ParseError> {
    let render = |batch: &mut Vec<Finding>, so_far: Option<Vec<(Finding, RepeatKey)>>| {
        let mut out = so_far.unwrap_or_default();
        out.extend(batch.drain(..).map(|mut f| {
            let key = finish_alone(&mut f);
            (f, key)
        }));
        out
    };
    let mut finisher = Finisher::for_report(input.len());
    let mut findings = Vec::new();
    let mut consume = |batch: Vec<(Finding, RepeatKey)>, base: usize| {
        for (mut f, key) in batch {
            finisher.place(&mut f, key, base);
            findings.push(f);
        }
        true
    };
    let meta = parse_pipelined(input, forced, pipeline, &render, &mut consume)?;
    Ok((meta, findings))
}

/// [`json::text`] and [`detect`] (unless `forced`) of a large report at once, on two threads:
/// both come before any parsing. Errors are the sequential ones, in the same order.
fn text_and_format_on_two_threads(
    input: &[u8],
    forced: Option<Format>,
) -> Result<(&str, Format), ParseError> {
    let (text, detected) = std::thread::scope(|scope| {
        let detecting = scope.spawn(|| forced.map_or_else(|| detect(input), Ok));
        let text = json::text(input);
        (text, detecting.join().unwrap_or_else(|_| Err(crashed())))
    });
    Ok((text?, detected?))
}

/// One parser thread, batches rendered and consumed on the calling thread.
fn sequential_pipeline<O: Send>(
    text: &str,
    format: Format,
    render: &(dyn Fn(&mut Vec<Finding>, Option<O>) -> O + Sync),
    consume: &mut dyn FnMut(O, usize) -> bool,
) -> Result<ReportMeta, ParseError> {
    const BATCH: usize = 512;
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Finding>>(16);
    std::thread::scope(|scope| {
        let parser = scope.spawn(move || {
            let mut batch = Vec::with_capacity(BATCH);
            let meta = parse_text(text, format, &mut |f| {
                batch.push(f);
                if batch.len() == BATCH {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                    // A closed channel means the consumer stopped; it knows why.
                    let _ = tx.send(full);
                }
            });
            if !batch.is_empty() {
                let _ = tx.send(batch);
            }
            meta
        });
        for mut batch in rx.iter() {
            if !consume(render(&mut batch, None), 0) {
                break;
            }
        }
        drop(rx);
        parser.join().unwrap_or_else(|_| Err(crashed()))
    })
}

fn crashed() -> ParseError {
    ParseError::new(ErrorKind::Syntax, "internal error: the parser crashed")
}

/// `pointer` with its last segment (an element index counted from a batch's first element)
/// counted from the report's start instead.
pub fn rebase_pointer(pointer: &str, base: usize) -> Option<String> {
    let (head, last) = pointer.rsplit_once('/')?;
    let local: usize = last.parse().ok()?;
    Some(format!("{head}/{}", local + base))
}

/// The post-processing every parser's findings get (one per report, findings in report order):
/// taxonomy tags from CWE and category, credentials scrubbed from snippets, a fallback
/// fingerprint, and the numbering of repeated fingerprints at distinct places.
pub struct Finisher {
    repeats: Repeats,
}

impl Default for Finisher {
    fn default() -> Self {
        Finisher::for_report(0)
    }
}

/// What the in-order numbering of repeats needs to know of a finding.
#[derive(Debug, Clone, Copy)]
pub struct RepeatKey {
    /// The fingerprint's first 64 bits (already a hash).
    fingerprint: u64,
    place: u64,
}

/// The part of the post-processing that needs no order (tags, scrubbed snippet, fallback
/// fingerprint); [`Finisher::renumber`] does the rest, in report order.
pub fn finish_alone(f: &mut Finding) -> RepeatKey {
    tagging::apply_common_tags(f);
    if let Some(clean) = f
        .location
        .snippet
        .as_deref()
        .and_then(redact::scrub_credentials)
    {
        f.location.snippet = Some(clean);
    }
    if f.fingerprint.as_str().is_empty() {
        f.fingerprint = fallback_fingerprint(f);
    }
    RepeatKey {
        fingerprint: u64::from_str_radix(
            &f.fingerprint.as_str()[..16.min(f.fingerprint.as_str().len())],
            16,
        )
        .unwrap_or(0),
        place: place_hash(f),
    }
}

impl Finisher {
    /// A finisher for a report of `input_len` bytes: room for a finding per 512 bytes is taken
    /// at once (a large report's repeat table would otherwise be rebuilt as it grows).
    pub fn for_report(input_len: usize) -> Self {
        Finisher {
            repeats: Repeats::with_capacity(input_len / 512),
        }
    }

    pub fn finish(&mut self, f: &mut Finding) {
        let key = finish_alone(f);
        if let Some(fp) = self.renumber(key, f.fingerprint.as_str()) {
            f.fingerprint = fp;
        }
    }

    /// The in-order rest of the post-processing of a finding that went through
    /// [`finish_alone`]: the numbering of repeats and, for a batch of a parallel read whose first
    /// result has index `base`, the report's own pointer ([`rebase_pointer`]).
    pub fn place(&mut self, f: &mut Finding, key: RepeatKey, base: usize) {
        if let Some(fp) = self.renumber(key, f.fingerprint.as_str()) {
            f.fingerprint = fp;
        }
        if base > 0 {
            if let Some(p) = rebase_pointer(&f.source.pointer, base) {
                f.source.pointer = p;
            }
        }
    }

    /// Makes ready for the [`renumber`](Self::renumber)ing of a batch with these keys (see
    /// `repeats.rs`: their table slots are read at once, so the cache misses overlap).
    pub fn prepare(&self, keys: impl Iterator<Item = RepeatKey>) {
        self.repeats.prepare(keys.map(|k| k.fingerprint));
    }

    /// Called in report order with each finding's key and fingerprint: the fingerprint a repeat
    /// of an earlier finding's fingerprint at a distinct place gets instead.
    pub fn renumber(
        &mut self,
        key: RepeatKey,
        fingerprint: &str,
    ) -> Option<tollgate_model::Fingerprint> {
        let index = self.repeats.index(key.fingerprint, key.place);
        (index > 0).then(|| {
            FingerprintBuilder::new("repeat")
                .part(fingerprint)
                .part(&index.to_string())
                .finish()
        })
    }
}

/// Parses a whole report into memory (tests, small reports, the gate).
pub fn parse_to_vec(
    input: &[u8],
    forced: Option<Format>,
) -> Result<(ReportMeta, Vec<Finding>), ParseError> {
    let mut out = Vec::new();
    let meta = parse(input, forced, &mut |f| out.push(f))?;
    Ok((meta, out))
}

/// rule + normalized path + normalized snippet, for a parser that set no fingerprint.
fn fallback_fingerprint(f: &Finding) -> tollgate_model::Fingerprint {
    FingerprintBuilder::new("generic")
        .part(&f.scanner.name)
        .part(&f.rule_id)
        .path(f.location.file.as_deref())
        .snippet(f.location.snippet.as_deref())
        .opt(f.location.component.as_deref())
        .opt(f.location.url.as_deref())
        .finish()
}

/// The `source` of a finding at `pointer` in a report of `format`.
pub fn source(format: Format, pointer: impl Into<String>) -> SourceRef {
    SourceRef {
        format: format.id().to_string(),
        file: None,
        pointer: pointer.into(),
    }
}

/// Where exactly a finding is in this report (lines included: this never enters a fingerprint
/// directly, only the order of distinct places does).
fn place_hash(f: &Finding) -> u64 {
    let l = &f.location;
    let mut h = FxHasher::default();
    (
        l.file.as_deref(),
        l.start_line,
        l.end_line,
        l.snippet.as_deref(),
    )
        .hash(&mut h);
    (
        l.url.as_deref(),
        l.method.as_deref(),
        l.parameter.as_deref(),
    )
        .hash(&mut h);
    (l.component.as_deref(), l.target.as_deref()).hash(&mut h);
    if let Some(p) = &l.package {
        (&p.name, p.installed_version.as_deref(), p.purl.as_deref()).hash(&mut h);
    }
    f.vulnerability_ids.hash(&mut h);
    f.rule_id.hash(&mut h);
    h.finish()
}

/// The multiply-rotate hash of rustc (FxHash): fast, deterministic, fine for in-process keys
/// that are not attacker-chosen hash-flooding targets (the map is per report and bounded by it).
#[derive(Default, Clone, Copy)]
struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes([
                c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7],
            ]));
        }
        for b in chunks.remainder() {
            self.add(u64::from(*b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_at_distinct_places_are_numbered_in_report_order() {
        let key = |place| RepeatKey {
            fingerprint: 7,
            place,
        };
        let mut finisher = Finisher::default();
        let got: Vec<Option<String>> = [10, 20, 10, 30, 20, 30, 40]
            .into_iter()
            .map(|p| {
                finisher
                    .renumber(key(p), "fp")
                    .map(|f| f.as_str().to_string())
            })
            .collect();
        let nth = |n: usize| {
            Some(
                FingerprintBuilder::new("repeat")
                    .part("fp")
                    .part(&n.to_string())
                    .finish()
                    .as_str()
                    .to_string(),
            )
        };
        assert_eq!(
            got,
            vec![None, nth(1), None, nth(2), nth(1), nth(2), nth(3)]
        );
        // Another fingerprint starts its own count.
        let other = RepeatKey {
            fingerprint: 8,
            place: 20,
        };
        assert_eq!(finisher.renumber(other, "fp"), None);
    }

    /// Documents that name no scanner are never guessed; the formats whose tool writes them for
    /// a clean scan read them as empty reports when named.
    #[test]
    fn documents_that_name_no_scanner_are_refused() {
        for doc in [
            "null",
            " null \n",
            "[]",
            "[ ]",
            "[null]",
            "[[]]",
            "{}",
            "{ }",
            r#"{"results": []}"#,
            r#"{"results": [], "errors": []}"#,
            r#"{"results": {}, "errors": []}"#,
            r#"{"Results": null}"#,
            r#"{"vulnerabilities": []}"#,
            r#"{"findings": []}"#,
            r#"{"version": "1.0", "results": []}"#,
            r#"{"site": []}"#,
        ] {
            let e = detect(doc.as_bytes()).expect_err(doc);
            assert_eq!(e.kind, ErrorKind::Ambiguous, "{doc}: {e}");
            assert!(
                e.to_string()
                    .starts_with("cannot tell which scanner wrote this report; pass --scanner"),
                "{e}"
            );
            let e = parse_to_vec(doc.as_bytes(), None).expect_err(doc);
            assert_eq!(e.kind, ErrorKind::Ambiguous, "{doc}");
        }
        // Not empty: an unknown format, not an ambiguous one.
        let e = detect(br#"{"foo": 1}"#).unwrap_err();
        assert_eq!(e.kind, ErrorKind::UnknownFormat);
        // Named: the clean scans of the tools that write them.
        for (doc, format) in [
            ("null", Format::Trivy),
            ("null", Format::Gitleaks),
            ("[]", Format::Gitleaks),
            ("[]", Format::Trivy),
            (r#"{"findings": []}"#, Format::Generic),
            (r#"{"results": {}, "errors": []}"#, Format::Mobsfscan),
        ] {
            let (meta, f) = parse_to_vec(doc.as_bytes(), Some(format))
                .unwrap_or_else(|e| panic!("{doc} as {format}: {e}"));
            assert_eq!((meta.format.as_str(), f.len()), (format.id(), 0), "{doc}");
        }
    }

    #[test]
    fn pointers_rebase_by_their_last_segment() {
        assert_eq!(
            rebase_pointer("/runs/1/results/7", 993).as_deref(),
            Some("/runs/1/results/1000")
        );
        assert_eq!(rebase_pointer("/runs/0/results/x", 3), None);
    }
}
