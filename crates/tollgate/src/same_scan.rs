//! One scan given as two reports is counted once.
//!
//! `tollgate mobsf scan` writes MobSF's full report (`report_json`) and its scorecard; the scorecard
//! repeats, in summary, the same issues (MobSF even embeds it in the report as `appsec`). Gating,
//! parsing or uploading both — the natural `*.json` — would count every issue twice. A scorecard
//! whose MobSF hash is that of a full report among the same inputs is therefore left out, and the
//! commands say so; a scorecard given alone is read as usual.

use std::io::Read;
use std::path::Path;

use tollgate_parsers::Format;

use crate::input::{open_regular, Scanners};

/// A report left out because another input holds the same scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountedOnce {
    /// The report left out (the scorecard).
    pub file: String,
    /// The input whose findings stand for the scan (the full report).
    pub kept: String,
    /// MobSF's hash of the scanned app.
    pub hash: String,
}

impl CountedOnce {
    /// One line for the summary's notes and the terminal.
    pub fn note(&self) -> String {
        format!(
            "{}: the MobSF scorecard of the scan whose full report is {} (app hash {}): counted once, from the full report",
            self.file, self.kept, self.hash
        )
    }
}

/// The inputs to leave out. Reads the head of each file to tell its format (the whole file only
/// for MobSF documents, which are small); a file that cannot be read is not judged here — the
/// command reports it where it reads it.
pub fn plan(files: &[String], scanners: &Scanners, max_size: u64) -> Vec<CountedOnce> {
    let mut reports: Vec<(String, String)> = Vec::new();
    let mut scorecards: Vec<(String, String)> = Vec::new();
    for file in files {
        let Some((format, hash)) = mobsf_hash(file, scanners.for_report(file), max_size) else {
            continue;
        };
        match format {
            Format::Mobsf => reports.push((file.clone(), hash)),
            _ => scorecards.push((file.clone(), hash)),
        }
    }
    scorecards
        .into_iter()
        .filter_map(|(file, hash)| {
            let (kept, _) = reports.iter().find(|(_, h)| *h == hash)?;
            Some(CountedOnce {
                file,
                kept: kept.clone(),
                hash,
            })
        })
        .collect()
}

/// The format and MobSF app hash of a MobSF report or scorecard; `None` for anything else.
fn mobsf_hash(file: &str, named: Option<Format>, max_size: u64) -> Option<(Format, String)> {
    if file == "-" {
        // Standard input can be read once only: the command's own read takes it.
        return None;
    }
    let (f, meta) = open_regular(Path::new(file)).ok()?;
    if meta.len() > max_size {
        return None;
    }
    let format = match named {
        Some(fmt) => fmt,
        None => {
            let mut head = Vec::new();
            f.take(tollgate_parsers::sniff::SNIFF_BYTES as u64)
                .read_to_end(&mut head)
                .ok()?;
            tollgate_parsers::detect(&head).ok()?
        }
    };
    if !matches!(format, Format::Mobsf | Format::MobsfScorecard) {
        return None;
    }
    let bytes = crate::input::read_report(file, max_size).ok()?;
    Some((format, tollgate_parsers::mobsf_scan_hash(format, &bytes)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> String {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    }

    #[test]
    fn a_scorecard_beside_its_full_report_is_counted_once_and_alone_it_counts() {
        let dir = std::env::temp_dir().join(format!("tollgate-same-scan-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let report = write(
            &dir,
            "r.json",
            r#"{"title": "Static Analysis", "file_name": "a.apk", "app_type": "apk", "md5": "ABC123", "package_name": "p", "manifest_analysis": []}"#,
        );
        let card = write(
            &dir,
            "r.scorecard.json",
            r#"{"high": [], "warning": [], "secure": [], "security_score": 50, "hash": "abc123"}"#,
        );
        let other = write(
            &dir,
            "o.scorecard.json",
            r#"{"high": [], "warning": [], "secure": [], "security_score": 50, "hash": "ffff"}"#,
        );
        let files = vec![card.clone(), report.clone(), other];
        let planned = plan(&files, &Scanners::default(), 1 << 20);
        assert_eq!(
            planned,
            vec![CountedOnce {
                file: card.clone(),
                kept: report.clone(),
                hash: "abc123".into()
            }]
        );
        // Alone, the scorecard is read.
        assert!(plan(&[card], &Scanners::default(), 1 << 20).is_empty());
        std::fs::remove_dir_all(&dir).ok();
    }
}
