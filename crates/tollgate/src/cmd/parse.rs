use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use clap::{Args, ValueEnum};
use tollgate_model::{Finding, ReportMeta};
use tollgate_parsers::{Format, RepeatKey};

use crate::exit;
use crate::input::{
    parse_size, read_report, report_error, scanner_arg, InputError, ScannerArg, Scanners,
};
use crate::output::{
    FindingWriter, JsonWriter, NdjsonWriter, Renderer, SeverityCounts, TableWriter,
};

#[derive(Args)]
pub struct ParseArgs {
    /// Report files (`-` for standard input).
    #[arg(required = true)]
    files: Vec<String>,
    /// Output format. Default: table on a terminal, json otherwise.
    #[arg(long, short = 'f', value_enum)]
    format: Option<OutputFormat>,
    /// The report format instead of detecting it (see `tollgate formats`): `FORMAT` for every
    /// report, `FORMAT=FILE` for one (repeatable).
    #[arg(long, value_name = "FORMAT[=FILE]", value_parser = scanner_arg)]
    scanner: Vec<ScannerArg>,
    /// Write to this file instead of standard output; it appears only when every report parsed.
    #[arg(long, short = 'o')]
    output: Option<PathBuf>,
    /// Refuse report files larger than this (e.g. 512M, 2G).
    #[arg(long, value_parser = parse_size, default_value = "1G")]
    max_size: u64,
    /// Print throughput and peak memory to standard error when done.
    #[arg(long)]
    stats: bool,
    /// Threads that read a large SARIF log or Trivy report (default: one per available core; 1
    /// reads it with one thread beside the writer).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    threads: Option<u16>,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum OutputFormat {
    Table,
    Json,
    Ndjson,
}

pub fn run(args: ParseArgs) -> u8 {
    let started = Instant::now();
    let scanners = match Scanners::new(&args.scanner, &args.files) {
        Ok(s) => s,
        Err(e) => {
            report_error(&e);
            return exit::INPUT_ERROR;
        }
    };
    let stdout_tty = io::stdout().is_terminal();
    let format = args
        .format
        .unwrap_or(if stdout_tty && args.output.is_none() {
            OutputFormat::Table
        } else {
            OutputFormat::Json
        });
    let result = match &args.output {
        Some(path) => crate::outfile::write_file(path, WRITE_BUFFER, |out| {
            parse_all(&args, &scanners, format, false, out)
        }),
        None => {
            let stdout = io::stdout().lock();
            parse_all(
                &args,
                &scanners,
                format,
                stdout_tty,
                BufWriter::with_capacity(WRITE_BUFFER, stdout),
            )
        }
    };
    match result {
        Ok(stats) => {
            if args.stats {
                print_stats(&stats, started);
            }
            exit::OK
        }
        Err(Failure::Input(e)) => {
            report_error(&e);
            exit::INPUT_ERROR
        }
        Err(Failure::Output(e)) if e.kind() == io::ErrorKind::BrokenPipe => exit::OK,
        Err(Failure::Output(e)) => {
            match &args.output {
                Some(path) => report_error(&format!("{}: cannot write: {e}", path.display())),
                None => report_error(&format!("cannot write output: {e}")),
            }
            exit::INPUT_ERROR
        }
    }
}

/// The writers gather findings into chunks of 64 KiB themselves; a smaller buffer in front of
/// the output passes those chunks straight through (a buffer as large would copy each one) and
/// still gathers the few small writes (headers, summaries).
const WRITE_BUFFER: usize = 8 << 10;

enum Failure {
    Input(InputError),
    Output(io::Error),
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Failure::Output(e)
    }
}

#[derive(Default)]
struct Stats {
    bytes: u64,
    findings: u64,
}

fn parse_all<W: Write>(
    args: &ParseArgs,
    scanners: &Scanners,
    format: OutputFormat,
    color: bool,
    out: W,
) -> Result<Stats, Failure> {
    // Standard output cannot be taken back: a path that is no report stops the run before the
    // first byte is written (a report that fails to parse still stops it midway).
    for file in &args.files {
        crate::input::check_input(file, args.max_size).map_err(Failure::Input)?;
    }
    let mut writer: Box<dyn FindingWriter> = match format {
        OutputFormat::Table => Box::new(TableWriter::new(out, color)),
        OutputFormat::Json => Box::new(JsonWriter::new(out)?),
        OutputFormat::Ndjson => Box::new(NdjsonWriter::new(out)),
    };
    let mut pipeline = tollgate_parsers::Pipeline::default();
    if let Some(n) = args.threads {
        pipeline.workers = usize::from(n);
    }
    let mut stats = Stats::default();
    for file in &args.files {
        let bytes = read_report(file, args.max_size).map_err(Failure::Input)?;
        stats.bytes += bytes.len() as u64;
        let (meta, counts) = parse_one(
            file,
            &bytes,
            scanners.for_report(file),
            pipeline,
            writer.as_mut(),
        )?;
        stats.findings += meta.findings;
        writer.end_report(file, &meta, &counts)?;
    }
    writer.finish()?;
    Ok(stats)
}

/// Parses with [`tollgate_parsers::parse_pipelined`]: findings are finished and (JSON writers)
/// serialized on the threads that read them; this thread numbers repeats, rebases pointers and
/// writes, in report order.
fn parse_one(
    file: &str,
    bytes: &[u8],
    forced: Option<Format>,
    pipeline: tollgate_parsers::Pipeline,
    writer: &mut dyn FindingWriter,
) -> Result<(ReportMeta, SeverityCounts), Failure> {
    let renderer = writer.renderer();
    // Output buffers go back to the workers once written (fresh ones would be fresh pages).
    let spare: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());
    let render = |batch: &mut Vec<Finding>, so_far: Option<Batch>| {
        let so_far = so_far.unwrap_or_else(|| match renderer {
            Some(_) => Batch::Rendered(Rendered {
                bytes: spare
                    .lock()
                    .ok()
                    .and_then(|mut s| s.pop())
                    .unwrap_or_default(),
                pieces: Vec::new(),
                counts: SeverityCounts::default(),
                failed: None,
            }),
            None => Batch::Findings(Vec::new()),
        });
        render_batch(file, renderer, batch, so_far)
    };
    let mut counts = SeverityCounts::default();
    let mut finisher = tollgate_parsers::Finisher::for_report(bytes.len());
    let mut written: io::Result<()> = Ok(());
    let mut consume = |batch: Batch, base: usize| {
        let result = match batch {
            Batch::Findings(findings) => findings.into_iter().try_for_each(|(mut f, key)| {
                finisher.place(&mut f, key, base);
                counts.add(f.severity);
                writer.finding(file, &f)
            }),
            Batch::Rendered(mut r) => {
                counts.merge(&r.counts);
                let written = write_rendered(&mut r, base, &mut finisher, writer);
                if let Ok(mut s) = spare.lock() {
                    r.bytes.clear();
                    s.push(r.bytes);
                }
                written
            }
        };
        match result {
            Ok(()) => true,
            Err(e) => {
                written = Err(e);
                false
            }
        }
    };
    let parsed = tollgate_parsers::parse_pipelined(bytes, forced, pipeline, &render, &mut consume);
    written?;
    let meta = parsed.map_err(|e| Failure::Input(InputError::parse(file, &e)))?;
    Ok((meta, counts))
}

/// A batch of findings as it leaves a worker thread.
enum Batch {
    /// Finished but for the numbering of repeats (writers that serialize on this thread).
    Findings(Vec<(Finding, RepeatKey)>),
    Rendered(Rendered),
}

/// Findings serialized back to back, finished but for the numbering of repeats.
struct Rendered {
    bytes: Vec<u8>,
    pieces: Vec<Piece>,
    counts: SeverityCounts,
    failed: Option<io::Error>,
}

/// Where one finding is in [`Rendered::bytes`].
struct Piece {
    key: RepeatKey,
    /// The fingerprint's text.
    fingerprint: std::ops::Range<usize>,
    /// The pointer's last segment (an element index).
    index: Option<std::ops::Range<usize>>,
}

fn render_batch(
    file: &str,
    renderer: Option<Renderer>,
    batch: &mut Vec<Finding>,
    so_far: Batch,
) -> Batch {
    let (render, mut out) = match (renderer, so_far) {
        (Some(render), Batch::Rendered(out)) => (render, out),
        (_, so_far) => {
            let mut findings = match so_far {
                Batch::Findings(f) => f,
                Batch::Rendered(_) => Vec::new(),
            };
            findings.extend(batch.drain(..).map(|mut f| {
                let key = tollgate_parsers::finish_alone(&mut f);
                f.source.file = Some(file.to_string());
                (f, key)
            }));
            return Batch::Findings(findings);
        }
    };
    // Rendered where they lie (a finding is ~750 bytes: moving each out would copy them all).
    for f in batch.iter_mut() {
        let key = tollgate_parsers::finish_alone(f);
        f.source.file = Some(file.to_string());
        out.counts.add(f.severity);
        let start = out.bytes.len();
        if let Err(e) = render(f, &mut out.bytes) {
            out.failed.get_or_insert(e);
            out.bytes.truncate(start);
            continue;
        }
        let text = &out.bytes[start..];
        let fp = f.fingerprint.as_str().as_bytes();
        // `{"fingerprint":"…` is where the writers put it; anywhere in the first bytes else.
        const USUAL: usize = br#"{"fingerprint":""#.len();
        let usual = text.get(USUAL..USUAL + fp.len()) == Some(fp);
        let found = if usual {
            Some(USUAL)
        } else {
            find(&text[..text.len().min(64)], fp)
        };
        let Some(fp_at) = found else {
            out.failed
                .get_or_insert(io::Error::other("internal error: fingerprint not found"));
            continue;
        };
        out.pieces.push(Piece {
            key,
            fingerprint: start + fp_at..start + fp_at + fp.len(),
            index: pointer_index(text, &f.source.pointer).map(|r| start + r.start..start + r.end),
        });
    }
    batch.clear();
    Batch::Rendered(out)
}

/// Where the pointer's trailing digits are in a rendered finding (the pointer is its last field).
fn pointer_index(text: &[u8], pointer: &str) -> Option<std::ops::Range<usize>> {
    let digits = pointer.len() - pointer.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    if digits == 0 {
        return None;
    }
    // `…"pointer":"/runs/0/results/12"}}` (+ a newline for NDJSON).
    let end = text.iter().rposition(|b| *b == b'"')?;
    let start = end.checked_sub(digits)?;
    (text[start..end] == pointer.as_bytes()[pointer.len() - digits..]).then_some(start..end)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Writes rendered findings, renumbering repeats and rebasing pointers by `base`.
fn write_rendered(
    r: &mut Rendered,
    base: usize,
    finisher: &mut tollgate_parsers::Finisher,
    writer: &mut dyn FindingWriter,
) -> io::Result<()> {
    if let Some(e) = r.failed.take() {
        return Err(e);
    }
    let mut clean = 0; // bytes before this are written
    let mut number = itoa::Buffer::new();
    finisher.prepare(r.pieces.iter().map(|p| p.key));
    for piece in &r.pieces {
        let fp = std::str::from_utf8(&r.bytes[piece.fingerprint.clone()]).unwrap_or("");
        if let Some(new) = finisher.renumber(piece.key, fp) {
            if new.as_str().len() == piece.fingerprint.len() {
                r.bytes[piece.fingerprint.clone()].copy_from_slice(new.as_str().as_bytes());
            }
        }
        if let (true, Some(index)) = (base > 0, &piece.index) {
            let local: usize = std::str::from_utf8(&r.bytes[index.clone()])
                .ok()
                .and_then(|d| d.parse().ok())
                .unwrap_or(0);
            writer.rendered(&r.bytes[clean..index.start])?;
            writer.rendered(number.format(local + base).as_bytes())?;
            clean = index.end;
        }
    }
    writer.rendered(&r.bytes[clean..])
}

fn print_stats(stats: &Stats, started: Instant) {
    let secs = started.elapsed().as_secs_f64();
    let mib = stats.bytes as f64 / (1u64 << 20) as f64;
    eprintln!(
        "tollgate: parsed {} findings from {:.1} MiB in {:.3} s ({:.0} findings/s, {:.0} MiB/s), peak RSS {}",
        stats.findings,
        mib,
        secs,
        stats.findings as f64 / secs.max(1e-9),
        mib / secs.max(1e-9),
        peak_rss().map_or("unknown".to_string(), |kib| format!("{:.1} MiB", kib as f64 / 1024.0))
    );
}

/// Peak resident set size of this process in KiB (Linux), for `--stats`.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
