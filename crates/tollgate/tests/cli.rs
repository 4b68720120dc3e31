//! The binary's contract: exit codes, one-line errors naming the file and place, no panics.

use std::io::Write;

use crate::util::{stderr, temp_dir, tollgate};

fn write(dir: &std::path::Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::File::create(&p).unwrap().write_all(bytes).unwrap();
    p.to_str().unwrap().to_string()
}

/// Runs `parse` on bad input and checks exit 2, one line on stderr naming the file, and `needle`.
fn rejects(file: &str, needle: &str) {
    let out = tollgate(&["parse", "--format", "ndjson", file]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{file}: {err}");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one line expected: {err}"
    );
    assert!(err.contains(file), "error must name the file: {err}");
    assert!(err.contains(needle), "expected {needle:?} in: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn bad_inputs_get_one_line_errors_with_exit_2() {
    let dir = temp_dir("cli-errors");
    rejects(&write(&dir, "empty.json", b""), "empty");
    rejects(&write(&dir, "blank.json", b"  \n "), "empty");
    rejects(
        &write(
            &dir,
            "trunc.sarif",
            br#"{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}},"results":[{"#,
        ),
        "truncated",
    );
    rejects(
        &write(
            &dir,
            "bad.json",
            b"{\"version\": \"2.1.0\",\n \"runs\": [,]}",
        ),
        "line 2",
    );
    rejects(
        &write(&dir, "utf8.json", b"{\"runs\": [\"\xff\xfe\"]}"),
        "UTF-8",
    );
    let deep = format!(
        "{{\"version\":\"2.1.0\",\"runs\":[{{\"tool\":{{\"driver\":{{\"name\":\"x\"}}}},\"results\":[{{\"properties\":{}{}}}]}}]}}",
        "[".repeat(1000),
        "]".repeat(1000)
    );
    // Deep nesting in a part the parser skips is never descended into: no stack risk, no error.
    let out = tollgate(&[
        "parse",
        "--format",
        "ndjson",
        &write(&dir, "deep.sarif", deep.as_bytes()),
    ]);
    assert!(matches!(out.status.code(), Some(0 | 2)) && !stderr(&out).contains("panicked"));
    let deep_unknown = format!("{{\"a\":{}{}}}", "[".repeat(1000), "]".repeat(1000));
    rejects(
        &write(&dir, "deep.json", deep_unknown.as_bytes()),
        "too deep",
    );
    rejects(
        &write(&dir, "deep-array.json", "[".repeat(1000).as_bytes()),
        "too deep",
    );
    let bomb = "<?xml version=\"1.0\"?><!DOCTYPE OWASPZAPReport [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">]><OWASPZAPReport>&b;</OWASPZAPReport>";
    rejects(&write(&dir, "bomb.xml", bomb.as_bytes()), "entit");
    rejects(
        &write(&dir, "unknown.json", b"{\"hello\": \"world\"}"),
        "supported: sarif",
    );
    rejects(
        &write(&dir, "text.txt", b"just some text"),
        "unknown report format",
    );
    rejects(&dir.join("missing.json").to_string_lossy(), "no such file");
    rejects(dir.to_str().unwrap(), "directory");
}

#[test]
fn wrong_shape_names_the_json_path() {
    let dir = temp_dir("cli-shape");
    let f = write(&dir, "shape.sarif", br#"{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}},"results":[{"ruleId":"a","message":{"text":"m"}},42]}]}"#);
    rejects(&f, "$.runs[0].results[1]");
}

#[test]
fn size_limit_is_enforced_before_reading() {
    let dir = temp_dir("cli-size");
    let f = write(&dir, "big.json", &vec![b' '; 4096]);
    let out = tollgate(&["parse", "--max-size", "1K", &f]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("larger than the limit of 1.0 KiB"),
        "{}",
        stderr(&out)
    );
    let out = tollgate(&["parse", "--max-size", "lots", &f]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn output_file_appears_only_when_every_report_parses() {
    let dir = temp_dir("cli-atomic");
    let good = write(
        &dir,
        "good.json",
        br#"{"findings":[{"title":"t","severity":"High","description":"d"}]}"#,
    );
    let bad = write(&dir, "bad.json", b"{");
    let out_path = dir.join("out.json");
    let o = out_path.to_str().unwrap();
    let r = tollgate(&["parse", "-o", o, &good, &bad]);
    assert_eq!(r.status.code(), Some(2));
    assert!(!out_path.exists(), "half-written output left behind");
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        2,
        "temporary file left behind"
    );
    let r = tollgate(&["parse", "-o", o, &good]);
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&out_path).unwrap()).unwrap();
    assert_eq!(v["findings"].as_array().unwrap().len(), 1);
    assert_eq!(v["reports"][0]["format"], "generic");
}

#[test]
fn detect_names_formats_and_forced_scanner_is_checked() {
    let dir = temp_dir("cli-detect");
    let f = write(&dir, "g.json", br#"{"name": "Acme", "findings":[]}"#);
    let out = tollgate(&["detect", &f]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("generic"));
    let out = tollgate(&["parse", "--scanner", "nope", &f]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("supported"), "{}", stderr(&out));
}
