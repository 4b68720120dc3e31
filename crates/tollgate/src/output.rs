//! Writers for `tollgate parse`: a human table, one JSON document, or NDJSON.

use std::io::{self, Write};

use tollgate_model::{Finding, ReportMeta, Severity, FINDING_SCHEMA_VERSION};
use tollgate_report::describe_location;

/// Counts by severity, most severe first.
#[derive(Default, Clone, Copy)]
pub struct SeverityCounts([u64; 5]);

impl SeverityCounts {
    pub fn add(&mut self, s: Severity) {
        self.0[Severity::ALL.iter().position(|x| *x == s).unwrap_or(4)] += 1;
    }

    pub fn merge(&mut self, other: &SeverityCounts) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a += b;
        }
    }

    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// `2 critical, 1 high, 4 info` (only the non-zero ones).
    pub fn describe(&self) -> String {
        let parts: Vec<String> = Severity::ALL
            .iter()
            .zip(self.0)
            .filter(|(_, n)| *n > 0)
            .map(|(s, n)| format!("{n} {}", s.as_str().to_ascii_lowercase()))
            .collect();
        parts.join(", ")
    }
}

/// Where a parsed report's findings go.
pub trait FindingWriter {
    fn finding(&mut self, file: &str, f: &Finding) -> io::Result<()>;
    fn end_report(
        &mut self,
        file: &str,
        meta: &ReportMeta,
        counts: &SeverityCounts,
    ) -> io::Result<()>;
    fn finish(&mut self) -> io::Result<()>;
    /// How this writer serializes one finding on a worker thread, if it does; its output then
    /// reaches [`FindingWriter::rendered`] instead of [`FindingWriter::finding`].
    fn renderer(&self) -> Option<Renderer> {
        None
    }
    /// Writes bytes made by the renderer (whole findings, or pieces of them in order).
    fn rendered(&mut self, _bytes: &[u8]) -> io::Result<()> {
        Err(io::Error::other("this writer renders nothing ahead"))
    }
}

/// Serializes one finished finding, appending to the buffer.
pub type Renderer = fn(&Finding, &mut Vec<u8>) -> io::Result<()>;

/// One NDJSON line.
fn render_line(f: &Finding, out: &mut Vec<u8>) -> io::Result<()> {
    tollgate_report::write_finding(out, f)?;
    out.push(b'\n');
    Ok(())
}

/// An element of the JSON writer's `findings` array, comma first.
fn render_element(f: &Finding, out: &mut Vec<u8>) -> io::Result<()> {
    out.extend_from_slice(b",\n");
    tollgate_report::write_finding(out, f)?;
    Ok(())
}

/// Findings are serialized into this buffer and handed to the output when it is this full.
const CHUNK: usize = 1 << 16;

/// Output gathered into chunks of [`CHUNK`] bytes before it is written.
struct Chunked<W: Write> {
    out: W,
    buf: Vec<u8>,
}

impl<W: Write> Chunked<W> {
    fn new(out: W) -> Self {
        Chunked {
            out,
            buf: Vec::with_capacity(CHUNK + 4096),
        }
    }

    /// Renders one finding into the chunk.
    fn render(&mut self, f: &Finding, render: Renderer) -> io::Result<usize> {
        let start = self.buf.len();
        render(f, &mut self.buf)?;
        Ok(start)
    }

    fn written(&mut self) -> io::Result<()> {
        if self.buf.len() >= CHUNK {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.buf.len() + bytes.len() > CHUNK {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
            if bytes.len() >= CHUNK {
                return self.out.write_all(bytes);
            }
        }
        self.buf.extend_from_slice(bytes);
        Ok(())
    }

    fn drain(&mut self) -> io::Result<()> {
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }
}

pub struct NdjsonWriter<W: Write> {
    out: Chunked<W>,
}

impl<W: Write> NdjsonWriter<W> {
    pub fn new(out: W) -> Self {
        NdjsonWriter {
            out: Chunked::new(out),
        }
    }
}

impl<W: Write> FindingWriter for NdjsonWriter<W> {
    fn finding(&mut self, _file: &str, f: &Finding) -> io::Result<()> {
        self.out.render(f, render_line)?;
        self.out.written()
    }

    fn renderer(&self) -> Option<Renderer> {
        Some(render_line)
    }

    fn rendered(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.append(bytes)
    }

    fn end_report(&mut self, _: &str, _: &ReportMeta, _: &SeverityCounts) -> io::Result<()> {
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.drain()?;
        self.out.out.flush()
    }
}

/// `{"schema_version": 1, "findings": [...], "reports": [...]}`, streamed.
pub struct JsonWriter<W: Write> {
    out: Chunked<W>,
    first: bool,
    reports: Vec<serde_json::Value>,
}

impl<W: Write> JsonWriter<W> {
    pub fn new(mut out: W) -> io::Result<Self> {
        write!(
            out,
            "{{\"schema_version\":{FINDING_SCHEMA_VERSION},\"findings\":["
        )?;
        Ok(JsonWriter {
            out: Chunked::new(out),
            first: true,
            reports: Vec::new(),
        })
    }
}

impl<W: Write> FindingWriter for JsonWriter<W> {
    fn finding(&mut self, _file: &str, f: &Finding) -> io::Result<()> {
        let start = self.out.render(f, render_element)?;
        if self.first {
            self.out.buf.remove(start); // no comma before the first
            self.first = false;
        }
        self.out.written()
    }

    fn renderer(&self) -> Option<Renderer> {
        Some(render_element)
    }

    fn rendered(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        if self.first && !bytes.is_empty() {
            bytes = bytes.strip_prefix(b",").unwrap_or(bytes);
            self.first = false;
        }
        self.out.append(bytes)
    }

    fn end_report(&mut self, file: &str, meta: &ReportMeta, _: &SeverityCounts) -> io::Result<()> {
        let mut v = serde_json::to_value(meta)?;
        if let Some(obj) = v.as_object_mut() {
            obj.insert("file".into(), file.into());
        }
        self.reports.push(v);
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.drain()?;
        let out = &mut self.out.out;
        out.write_all(b"\n],\"reports\":")?;
        serde_json::to_writer(&mut *out, &self.reports)?;
        out.write_all(b"}\n")?;
        out.flush()
    }
}

/// One row per finding and a summary line per file, for people.
pub struct TableWriter<W: Write> {
    out: W,
    color: bool,
    header_done: bool,
}

impl<W: Write> TableWriter<W> {
    pub fn new(out: W, color: bool) -> Self {
        TableWriter {
            out,
            color,
            header_done: false,
        }
    }

    fn paint(&self, s: Severity, text: &str) -> String {
        if !self.color {
            return text.to_string();
        }
        let code = match s {
            Severity::Critical => "1;35",
            Severity::High => "1;31",
            Severity::Medium => "33",
            Severity::Low => "36",
            Severity::Info => "2",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }
}

impl<W: Write> FindingWriter for TableWriter<W> {
    fn finding(&mut self, _file: &str, f: &Finding) -> io::Result<()> {
        if !self.header_done {
            writeln!(
                self.out,
                "{:<8}  {:<12}  {:<32}  {:<48}  LOCATION",
                "SEVERITY", "FINGERPRINT", "RULE", "TITLE"
            )?;
            self.header_done = true;
        }
        let sev = format!("{:<8}", f.severity.as_str());
        let mut title = clip(&f.title, 48);
        if f.suppressed {
            title = clip(&format!("(suppressed) {}", f.title), 48);
        }
        writeln!(
            self.out,
            "{}  {:<12}  {:<32}  {:<48}  {}",
            self.paint(f.severity, &sev),
            &f.fingerprint.as_str()[..12.min(f.fingerprint.as_str().len())],
            clip(&f.rule_id, 32),
            title,
            describe_location(f)
        )
    }

    fn end_report(
        &mut self,
        file: &str,
        meta: &ReportMeta,
        counts: &SeverityCounts,
    ) -> io::Result<()> {
        let scanners: Vec<String> = meta.scanners.iter().map(ToString::to_string).collect();
        let detail = if counts.total() == 0 {
            String::new()
        } else {
            format!(": {}", counts.describe())
        };
        writeln!(
            self.out,
            "== {file}: {} ({}) — {} finding{}{detail}",
            meta.format,
            if scanners.is_empty() {
                "unknown scanner".to_string()
            } else {
                scanners.join(", ")
            },
            counts.total(),
            if counts.total() == 1 { "" } else { "s" },
        )?;
        for reason in &meta.incomplete {
            writeln!(self.out, "   INCOMPLETE SCAN: {reason}")?;
        }
        self.header_done = false;
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

fn clip(s: &str, width: usize) -> String {
    let s = s.lines().next().unwrap_or("");
    if s.chars().count() <= width {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(width - 1).collect();
        out.push('…');
        out
    }
}
