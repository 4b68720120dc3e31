use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn tollgate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tollgate"))
        .args(args)
        .output()
        .expect("run tollgate")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The corpus of real reports: `TOLLGATE_CORPUS`, else `../shared/corpus` beside the repository.
/// `None` (after saying so loudly) when it is absent, unless `TOLLGATE_REQUIRE_CORPUS` is set,
/// which turns absence into a failure (CI sets it).
pub fn corpus_dir(test: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("TOLLGATE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus"));
    if dir.join("MANIFEST.tsv").is_file() {
        return Some(dir);
    }
    if std::env::var_os("TOLLGATE_REQUIRE_CORPUS").is_some() {
        panic!(
            "{test}: corpus required (TOLLGATE_REQUIRE_CORPUS) but {} has no MANIFEST.tsv",
            dir.display()
        );
    }
    eprintln!(
        "SKIPPED {test}: no corpus at {} (set TOLLGATE_CORPUS)",
        dir.display()
    );
    None
}

pub struct ManifestRow {
    pub path: PathBuf,
    pub rel: String,
    pub format: String,
    /// `Some(n)` for a count, `None` for `-`.
    pub items: Option<usize>,
    pub error: bool,
}

pub fn manifest(dir: &Path) -> Vec<ManifestRow> {
    let text = std::fs::read_to_string(dir.join("MANIFEST.tsv")).expect("read MANIFEST.tsv");
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            assert!(cols.len() >= 3, "bad manifest line {l:?}");
            ManifestRow {
                path: dir.join(cols[0]),
                rel: cols[0].to_string(),
                format: cols[1].to_string(),
                items: cols[2].parse().ok(),
                error: cols[2] == "error",
            }
        })
        .collect()
}

pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tollgate-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}
