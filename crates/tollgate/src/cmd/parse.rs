use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::sync_channel;
use std::time::Instant;

use clap::{Args, ValueEnum};
use tollgate_model::{Finding, ReportMeta};
use tollgate_parsers::{Format, ParseError};

use crate::exit;
use crate::input::{parse_size, read_report, report_error, InputError};
use crate::output::{FindingWriter, JsonWriter, NdjsonWriter, SeverityCounts, TableWriter};

#[derive(Args)]
pub struct ParseArgs {
    /// Report files (`-` for standard input).
    #[arg(required = true)]
    files: Vec<String>,
    /// Output format. Default: table on a terminal, json otherwise.
    #[arg(long, short = 'f', value_enum)]
    format: Option<OutputFormat>,
    /// Force the report format instead of detecting it (see `tollgate formats`).
    #[arg(long, value_parser = parse_format)]
    scanner: Option<Format>,
    /// Write to this file instead of standard output; it appears only when every report parsed.
    #[arg(long, short = 'o')]
    output: Option<PathBuf>,
    /// Refuse report files larger than this (e.g. 512M, 2G).
    #[arg(long, value_parser = parse_size, default_value = "1G")]
    max_size: u64,
    /// Print throughput and peak memory to standard error when done.
    #[arg(long)]
    stats: bool,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum OutputFormat {
    Table,
    Json,
    Ndjson,
}

fn parse_format(id: &str) -> Result<Format, String> {
    Format::from_id(id).ok_or_else(|| {
        let ids: Vec<&str> = Format::ALL.iter().map(|f| f.id()).collect();
        format!("unknown format {id:?}; supported: {}", ids.join(", "))
    })
}

/// Findings travel from the parser thread to the writer in batches of this size.
const BATCH: usize = 512;

pub fn run(args: ParseArgs) -> u8 {
    let started = Instant::now();
    let stdout_tty = io::stdout().is_terminal();
    let format = args
        .format
        .unwrap_or(if stdout_tty && args.output.is_none() {
            OutputFormat::Table
        } else {
            OutputFormat::Json
        });
    let result = match &args.output {
        Some(path) => write_atomically(path, |out| parse_all(&args, format, false, out)),
        None => {
            let stdout = io::stdout().lock();
            parse_all(
                &args,
                format,
                stdout_tty,
                BufWriter::with_capacity(1 << 16, stdout),
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
            report_error(&format!("cannot write output: {e}"));
            exit::INPUT_ERROR
        }
    }
}

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
    format: OutputFormat,
    color: bool,
    out: W,
) -> Result<Stats, Failure> {
    let mut writer: Box<dyn FindingWriter> = match format {
        OutputFormat::Table => Box::new(TableWriter::new(out, color)),
        OutputFormat::Json => Box::new(JsonWriter::new(out)?),
        OutputFormat::Ndjson => Box::new(NdjsonWriter::new(out)),
    };
    let mut stats = Stats::default();
    for file in &args.files {
        let bytes = read_report(file, args.max_size).map_err(Failure::Input)?;
        stats.bytes += bytes.len() as u64;
        let (meta, counts) = parse_one(file, &bytes, args.scanner, writer.as_mut())?;
        stats.findings += meta.findings;
        writer.end_report(file, &meta, &counts)?;
    }
    writer.finish()?;
    Ok(stats)
}

/// Parses on a second thread while this one writes, so parsing and serialization overlap.
fn parse_one(
    file: &str,
    bytes: &[u8],
    forced: Option<Format>,
    writer: &mut dyn FindingWriter,
) -> Result<(ReportMeta, SeverityCounts), Failure> {
    let (tx, rx) = sync_channel::<Vec<Finding>>(16);
    let mut counts = SeverityCounts::default();
    let (parsed, written) = std::thread::scope(|scope| {
        let parser = scope.spawn(move || {
            let mut batch = Vec::with_capacity(BATCH);
            // The shared post-processing runs on this (writer) thread, beside the parser.
            let meta = tollgate_parsers::parse_unfinished(bytes, forced, &mut |f| {
                batch.push(f);
                if batch.len() == BATCH {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                    // A closed channel means the writer failed; it reports that itself.
                    let _ = tx.send(full);
                }
            });
            if !batch.is_empty() {
                let _ = tx.send(batch);
            }
            meta
        });
        let mut written: io::Result<()> = Ok(());
        let source_file = Some(file.to_string());
        let mut finisher = tollgate_parsers::Finisher::default();
        for batch in rx.iter() {
            for mut f in batch {
                finisher.finish(&mut f);
                counts.add(f.severity);
                f.source.file.clone_from(&source_file);
                if let Err(e) = writer.finding(file, &f) {
                    written = Err(e);
                    break;
                }
            }
            if written.is_err() {
                break;
            }
        }
        drop(rx);
        let parsed: Result<ReportMeta, ParseError> = parser.join().unwrap_or_else(|_| {
            Err(ParseError::new(
                tollgate_parsers::ErrorKind::Syntax,
                "internal error: the parser crashed",
            ))
        });
        (parsed, written)
    });
    let meta = parsed.map_err(|e| Failure::Input(InputError::parse(file, &e)))?;
    written?;
    Ok((meta, counts))
}

/// Writes to a temporary file beside `path` and renames it into place only on success.
fn write_atomically(
    path: &Path,
    body: impl FnOnce(BufWriter<std::fs::File>) -> Result<Stats, Failure>,
) -> Result<Stats, Failure> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tollgate-{}.tmp", std::process::id()));
    let file = std::fs::File::create(&tmp).map_err(Failure::Output)?;
    let result = body(BufWriter::with_capacity(1 << 16, file));
    match result {
        Ok(stats) => {
            std::fs::rename(&tmp, path).map_err(Failure::Output)?;
            Ok(stats)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
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
