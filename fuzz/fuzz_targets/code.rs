#![no_main]
//! Fuzzes the code parser family: any bytes, forced into each format, must give Ok or Err, never a panic.
use libfuzzer_sys::fuzz_target;
use tollgate_parsers::{parse_to_vec, Format};

const FORMATS: &[Format] = &[Format::Semgrep, Format::Bandit, Format::GitlabSast, Format::GitlabSecretDetection, Format::Gitleaks, Format::Generic];

fuzz_target!(|data: &[u8]| {
    for format in FORMATS {
        let _ = parse_to_vec(data, Some(*format));
    }
});
