//! Reading report files: size limits, stdin, and one-line errors that name the file.

use std::fmt;
use std::io::Read;
use std::path::Path;

use tollgate_parsers::{Format, ParseError};

/// An input error: the file as given, and what is wrong with it.
#[derive(Debug)]
pub struct InputError {
    pub file: String,
    pub message: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.message)
    }
}

impl InputError {
    pub fn parse(file: &str, e: &ParseError) -> Self {
        InputError {
            file: file.to_string(),
            message: e.to_string(),
        }
    }
}

/// Reads a whole report (`-` is standard input), refusing files above `max_size` bytes before
/// reading them.
pub fn read_report(file: &str, max_size: u64) -> Result<Vec<u8>, InputError> {
    read_input(file, max_size, true)
}

/// Reads a whole input file given as `file` (`-` is standard input when `stdin` allows it):
/// only a regular file (a symlink is followed), never a FIFO, device, socket or directory, and
/// at most `max_size` bytes, checked before anything is read.
pub fn read_input(file: &str, max_size: u64, stdin: bool) -> Result<Vec<u8>, InputError> {
    let err = |message: String| InputError {
        file: file.to_string(),
        message,
    };
    let too_large = |size: u64| err(too_large_message(max_size, size));
    if file == "-" && stdin {
        let mut buf = Vec::new();
        std::io::stdin()
            .lock()
            .take(max_size + 1)
            .read_to_end(&mut buf)
            .map_err(|e| err(format!("cannot read standard input: {e}")))?;
        if buf.len() as u64 > max_size {
            return Err(too_large(buf.len() as u64));
        }
        return Ok(buf);
    }
    let (f, meta) = open_regular(Path::new(file)).map_err(err)?;
    if meta.len() > max_size {
        return Err(too_large(meta.len()));
    }
    let mut f = f;
    let mut buf = if meta.len() >= SPLIT_READ_FROM {
        read_halves(&f, meta.len() as usize)
            .map_err(|e| err(format!("cannot read: {}", io_reason(&e))))?
    } else {
        Vec::with_capacity(meta.len() as usize + 1)
    };
    // The rest: all of a small file, or what a growing file gained since it was opened.
    (&mut f)
        .take(max_size + 1 - buf.len() as u64)
        .read_to_end(&mut buf)
        .map_err(|e| err(format!("cannot read: {}", io_reason(&e))))?;
    if buf.len() as u64 > max_size {
        return Err(too_large(buf.len() as u64));
    }
    Ok(buf)
}

fn too_large_message(max_size: u64, size: u64) -> String {
    format!(
        "the file is larger than the limit of {} ({} bytes); raise it with --max-size",
        human_size(max_size),
        size
    )
}

/// What [`read_input`] checks before it reads (a regular file within `max_size`), without
/// reading: a command that streams its output checks every input first, so a bad path stops it
/// before it has written anything. `-` (standard input) passes.
pub fn check_input(file: &str, max_size: u64) -> Result<(), InputError> {
    if file == "-" {
        return Ok(());
    }
    let err = |message: String| InputError {
        file: file.to_string(),
        message,
    };
    let (_, meta) = open_regular(Path::new(file)).map_err(err)?;
    if meta.len() > max_size {
        return Err(err(too_large_message(max_size, meta.len())));
    }
    Ok(())
}

/// Reads a small text input (policy, waivers, baseline): [`read_input`] without standard input,
/// then UTF-8.
pub fn read_text_input(path: &Path, max_size: u64) -> Result<String, InputError> {
    let file = path.display().to_string();
    let bytes = read_input(&file, max_size, false)?;
    String::from_utf8(bytes).map_err(|e| InputError {
        file,
        message: format!(
            "not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ),
    })
}

/// Opens `path` for reading if it is a regular file (symlinks followed), and returns it with its
/// metadata. What it is is checked before opening (opening a FIFO for reading would wait for a
/// writer), the open itself does not wait (`O_NONBLOCK`), and the opened file is checked again,
/// so a path swapped in between is refused too.
pub fn open_regular(path: &Path) -> Result<(std::fs::File, std::fs::Metadata), String> {
    use std::os::unix::fs::OpenOptionsExt;
    let before = std::fs::metadata(path).map_err(|e| format!("cannot read: {}", io_reason(&e)))?;
    not_regular(&before).map_or(Ok(()), Err)?;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| format!("cannot read: {}", io_reason(&e)))?;
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot read: {}", io_reason(&e)))?;
    not_regular(&meta).map_or(Ok(()), Err)?;
    Ok((file, meta))
}

/// Why a file of this type is not read as an input, if it is not a regular file.
fn not_regular(meta: &std::fs::Metadata) -> Option<String> {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    let what = if t.is_file() {
        return None;
    } else if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    };
    Some(format!("is {what}, not a regular file"))
}

/// Files at least this large are read by two threads, each into its half of the buffer: the
/// kernel's copying and the zeroing of fresh pages then use both cores (the parallel parse that
/// follows cannot start before the last byte is in).
const SPLIT_READ_FROM: u64 = 8 << 20;

/// The first `len` bytes of `f`, read as two halves at once; the file's position ends at `len`.
/// A file that shrank since its size was taken is read to its new end.
fn read_halves(f: &std::fs::File, len: usize) -> std::io::Result<Vec<u8>> {
    use std::io::{Seek, SeekFrom};
    use std::os::unix::fs::FileExt;
    // Zeroed memory from the allocator is fresh pages: nothing is written before the read.
    let mut buf = vec![0u8; len];
    let (head, tail) = buf.split_at_mut(len / 2);
    let read_into = |part: &mut [u8], mut offset: u64| -> std::io::Result<usize> {
        let mut done = 0;
        while done < part.len() {
            match f.read_at(&mut part[done..], offset) {
                Ok(0) => break,
                Ok(n) => {
                    done += n;
                    offset += n as u64;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    };
    let head_len = head.len();
    let (head_read, tail_read) = std::thread::scope(|scope| {
        let tail_read = scope.spawn(|| read_into(tail, head_len as u64));
        let head_read = read_into(head, 0);
        (head_read, tail_read.join())
    });
    let head_read = head_read?;
    let tail_read = tail_read.map_err(|_| std::io::Error::other("the reading thread failed"))??;
    if head_read < head_len {
        // Shrunk below the middle: the tail read nothing; keep what the head got.
        buf.truncate(head_read);
    } else {
        buf.truncate(head_len + tail_read);
    }
    let mut f = f;
    f.seek(SeekFrom::Start(buf.len() as u64))?;
    Ok(buf)
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    }
}

/// One `--scanner` value: `FORMAT` (every report) or `FORMAT=FILE` (that report).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScannerArg {
    pub format: Format,
    pub file: Option<String>,
}

/// Parses a `--scanner` value (clap's value parser).
pub fn scanner_arg(text: &str) -> Result<ScannerArg, String> {
    let unknown = |id: &str| {
        let ids: Vec<&str> = Format::ALL.iter().map(|f| f.id()).collect();
        format!(
            "unknown format {id:?} (expected FORMAT or FORMAT=FILE); supported: {}",
            ids.join(", ")
        )
    };
    match text.split_once('=') {
        Some((id, file)) => {
            let format = Format::from_id(id).ok_or_else(|| unknown(id))?;
            if file.is_empty() {
                return Err(format!("{text:?}: no file after '='"));
            }
            Ok(ScannerArg {
                format,
                file: Some(file.to_string()),
            })
        }
        None => Ok(ScannerArg {
            format: Format::from_id(text).ok_or_else(|| unknown(text))?,
            file: None,
        }),
    }
}

/// The formats named on the command line, by report: a `FORMAT=FILE` for that file, else a
/// lone `FORMAT`, else none (the format is detected from the content).
#[derive(Debug, Default)]
pub struct Scanners {
    all: Option<Format>,
    by_file: Vec<(String, Format)>,
}

impl Scanners {
    /// Checks the `--scanner` values against the reports: at most one for all files, at most one
    /// per file, and every named file among the reports.
    pub fn new(args: &[ScannerArg], reports: &[String]) -> Result<Scanners, String> {
        let mut out = Scanners::default();
        for a in args {
            match &a.file {
                None => {
                    if let Some(other) = out.all.filter(|f| *f != a.format) {
                        return Err(format!(
                            "--scanner {} and --scanner {other}: name one format for all reports, or FORMAT=FILE per report",
                            a.format
                        ));
                    }
                    out.all = Some(a.format);
                }
                Some(file) => {
                    if !reports.iter().any(|r| same_file(r, file)) {
                        return Err(format!(
                            "--scanner {}={file}: {file} is not one of the reports given",
                            a.format
                        ));
                    }
                    if let Some((_, other)) = out
                        .by_file
                        .iter()
                        .find(|(f, fmt)| same_file(f, file) && *fmt != a.format)
                    {
                        return Err(format!(
                            "--scanner {}={file} and --scanner {other}={file}: one format per report",
                            a.format
                        ));
                    }
                    out.by_file.push((file.clone(), a.format));
                }
            }
        }
        Ok(out)
    }

    /// The format named for `report`, if any.
    pub fn for_report(&self, report: &str) -> Option<Format> {
        self.by_file
            .iter()
            .find(|(f, _)| same_file(f, report))
            .map(|(_, fmt)| *fmt)
            .or(self.all)
    }
}

/// The same report as given twice (`./a.json` and `a.json` are the same).
fn same_file(a: &str, b: &str) -> bool {
    fn parts(p: &str) -> impl Iterator<Item = std::path::Component<'_>> {
        Path::new(p)
            .components()
            .filter(|c| !matches!(c, std::path::Component::CurDir))
    }
    a == b || (a != "-" && b != "-" && parts(a).eq(parts(b)))
}

/// Parses `1G`, `512M`, `64k`, `1000` (bytes) — binary units.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (digits, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("invalid size {text:?}: expected e.g. 1G, 512M, 64K or bytes"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(format!("invalid size unit in {text:?}: use K, M or G")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("size {text:?} is too large"))
}

pub fn human_size(n: u64) -> String {
    if n >= 1 << 30 && n % (1 << 30) == 0 {
        format!("{} GiB", n >> 30)
    } else if n >= 1 << 20 {
        format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64)
    } else if n >= 1 << 10 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else {
        format!("{n} bytes")
    }
}

/// Prints an error the way every command does: one line on stderr.
pub fn report_error(e: &dyn fmt::Display) {
    eprintln!("tollgate: error: {e}");
}

#[cfg(test)]
mod tests {
    #[test]
    fn large_files_read_in_halves_are_read_whole() {
        let dir = std::env::temp_dir().join(format!("tollgate-halves-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        for len in [SPLIT_READ_FROM as usize, SPLIT_READ_FROM as usize + 7] {
            let path = dir.join(format!("r{len}"));
            let bytes: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            std::fs::write(&path, &bytes).expect("write");
            let read = read_report(path.to_str().expect("path"), 1 << 30).expect("read");
            assert!(read == bytes, "{len} bytes read differently");
            let limit = read_report(path.to_str().expect("path"), len as u64 - 1);
            assert!(limit.is_err());
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    use super::*;

    #[test]
    fn scanner_values_resolve_per_report() {
        let arg = |s: &str| scanner_arg(s).expect(s);
        assert_eq!(
            arg("trivy=trivy-image.json"),
            ScannerArg {
                format: Format::Trivy,
                file: Some("trivy-image.json".into())
            }
        );
        assert!(scanner_arg("nope").is_err());
        assert!(scanner_arg("nope=a.json").is_err());
        assert!(scanner_arg("trivy=").is_err());
        let reports = vec!["./trivy-image.json".to_string(), "leaks.json".to_string()];
        let s = Scanners::new(&[arg("trivy=trivy-image.json"), arg("gitleaks")], &reports)
            .expect("valid");
        assert_eq!(s.for_report("./trivy-image.json"), Some(Format::Trivy));
        assert_eq!(s.for_report("leaks.json"), Some(Format::Gitleaks));
        assert!(Scanners::new(&[arg("trivy=other.json")], &reports).is_err());
        assert!(Scanners::new(&[arg("trivy"), arg("gitleaks")], &reports).is_err());
        assert!(Scanners::new(
            &[arg("trivy=leaks.json"), arg("gitleaks=./leaks.json")],
            &reports
        )
        .is_err());
        assert_eq!(
            Scanners::new(&[], &reports)
                .expect("none")
                .for_report("leaks.json"),
            None
        );
    }

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("512m"), Ok(512 << 20));
        assert_eq!(parse_size("100"), Ok(100));
        assert!(parse_size("ten").is_err());
        assert!(parse_size("5X").is_err());
    }
}
