//! Writing output files: a regular file (or a new path) is written beside its place and renamed
//! into it, so a reader never sees half a file; anything else (a character device such as
//! `/dev/null` or `/dev/stdout`, a FIFO, a symlink to any of those or to a file) is written
//! through and never replaced. A temporary file is removed on every failure path.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// Where `path`'s bytes go.
enum Target {
    /// A regular file or a new path: temporary file beside it, renamed on success.
    Replace,
    /// A device, FIFO or symlink: opened and written in place.
    Through,
}

fn target(path: &Path) -> io::Result<Target> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Target::Replace),
        Err(e) => Err(e),
        Ok(m) if m.file_type().is_file() => Ok(Target::Replace),
        Ok(m) if m.file_type().is_symlink() => {
            // Followed: a symlink to a directory is as wrong as a directory.
            match std::fs::metadata(path) {
                Ok(t) if t.is_dir() => Err(is_a_directory()),
                _ => Ok(Target::Through),
            }
        }
        Ok(m) if m.is_dir() => Err(is_a_directory()),
        Ok(_) => Ok(Target::Through),
    }
}

fn is_a_directory() -> io::Error {
    io::Error::new(
        io::ErrorKind::IsADirectory,
        "is a directory (name a file to write)",
    )
}

/// A temporary file that is removed when dropped, unless [`TempFile::persist`]ed.
struct TempFile {
    path: PathBuf,
    armed: bool,
}

impl TempFile {
    /// Creates a new file beside `path` (never an existing one: `create_new` does not follow a
    /// planted symlink either).
    fn beside(path: &Path) -> io::Result<(TempFile, std::fs::File)> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut attempt = 0;
        loop {
            let tmp = dir.join(format!(
                ".{name}.tollgate-{}-{}.tmp",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            ));
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&tmp)
            {
                Ok(f) => {
                    return Ok((
                        TempFile {
                            path: tmp,
                            armed: true,
                        },
                        f,
                    ))
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 100 => {
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn persist(mut self, to: &Path) -> io::Result<()> {
        std::fs::rename(&self.path, to)?;
        self.armed = false;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.armed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Writes `path` with `body` (see the module comment), then flushes. `body` gets a buffered
/// writer of `buffer` bytes; its error, a flush error or a rename error leave no temporary file
/// behind, and a regular target untouched.
pub fn write_file<T, E: From<io::Error>>(
    path: &Path,
    buffer: usize,
    body: impl FnOnce(&mut BufWriter<std::fs::File>) -> Result<T, E>,
) -> Result<T, E> {
    match target(path)? {
        Target::Through => {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .truncate(true)
                .open(path)?;
            let mut w = BufWriter::with_capacity(buffer, file);
            let value = body(&mut w)?;
            w.flush()?;
            Ok(value)
        }
        Target::Replace => {
            let (tmp, file) = TempFile::beside(path)?;
            let mut w = BufWriter::with_capacity(buffer, file);
            let value = body(&mut w)?;
            let file = w.into_inner().map_err(|e| e.into_error())?;
            drop(file);
            tmp.persist(path)?;
            Ok(value)
        }
    }
}

/// [`write_file`] of bytes already in memory.
pub fn write_bytes(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_file(path, 64 << 10, |w| w.write_all(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("tollgate-outfile-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("dir");
        d
    }

    fn leftovers(d: &Path) -> Vec<String> {
        std::fs::read_dir(d)
            .expect("read dir")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect()
    }

    #[test]
    fn regular_files_are_replaced_and_failures_leave_nothing() {
        let d = dir("regular");
        let p = d.join("out.json");
        std::fs::write(&p, "old").expect("write");
        write_bytes(&p, b"new").expect("write");
        assert_eq!(std::fs::read(&p).expect("read"), b"new");
        // A failing body: the old content stays, no temporary file.
        let r: Result<(), io::Error> = write_file(&p, 16, |w| {
            w.write_all(&[b'x'; 1 << 16])?;
            Err(io::Error::other("boom"))
        });
        assert!(r.is_err());
        assert_eq!(std::fs::read(&p).expect("read"), b"new");
        assert!(leftovers(&d).is_empty(), "{:?}", leftovers(&d));
        // A directory: refused before anything is written.
        let r = write_bytes(&d, b"x");
        assert_eq!(r.map_err(|e| e.kind()), Err(io::ErrorKind::IsADirectory));
        assert!(leftovers(&d).is_empty());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn devices_and_symlinks_are_written_through() {
        use std::os::unix::fs::FileTypeExt;
        let d = dir("through");
        write_bytes(Path::new("/dev/null"), b"x").expect("write /dev/null");
        assert!(std::fs::metadata("/dev/null")
            .expect("meta")
            .file_type()
            .is_char_device());
        let link = d.join("null-link");
        std::os::unix::fs::symlink("/dev/null", &link).expect("symlink");
        write_bytes(&link, b"x").expect("write through the link");
        assert!(std::fs::symlink_metadata(&link)
            .expect("meta")
            .file_type()
            .is_symlink());
        let file = d.join("file");
        std::fs::write(&file, "old").expect("write");
        let link = d.join("file-link");
        std::os::unix::fs::symlink(&file, &link).expect("symlink");
        write_bytes(&link, b"new").expect("write");
        assert!(std::fs::symlink_metadata(&link)
            .expect("meta")
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&file).expect("read"), b"new");
        assert!(leftovers(&d).is_empty());
        let _ = std::fs::remove_dir_all(&d);
    }
}
