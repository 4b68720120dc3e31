//! Reading report files: size limits, stdin, and one-line errors that name the file.

use std::fmt;
use std::io::Read;
use std::path::Path;

use tollgate_parsers::ParseError;

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
    let err = |message: String| InputError {
        file: file.to_string(),
        message,
    };
    let too_large = |size: u64| {
        err(format!(
            "the file is larger than the limit of {} ({} bytes); raise it with --max-size",
            human_size(max_size),
            size
        ))
    };
    if file == "-" {
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
    let path = Path::new(file);
    let meta =
        std::fs::metadata(path).map_err(|e| err(format!("cannot read: {}", io_reason(&e))))?;
    if meta.is_dir() {
        return Err(err("is a directory, not a report file".to_string()));
    }
    if meta.len() > max_size {
        return Err(too_large(meta.len()));
    }
    let f =
        std::fs::File::open(path).map_err(|e| err(format!("cannot read: {}", io_reason(&e))))?;
    let mut buf = Vec::with_capacity(meta.len() as usize + 1);
    f.take(max_size + 1)
        .read_to_end(&mut buf)
        .map_err(|e| err(format!("cannot read: {}", io_reason(&e))))?;
    if buf.len() as u64 > max_size {
        return Err(too_large(buf.len() as u64));
    }
    Ok(buf)
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    }
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
    use super::*;

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("512m"), Ok(512 << 20));
        assert_eq!(parse_size("100"), Ok(100));
        assert!(parse_size("ten").is_err());
        assert!(parse_size("5X").is_err());
    }
}
