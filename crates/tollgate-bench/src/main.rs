//! `tollgate-bench`: generates large scanner reports and measures `tollgate parse` against the
//! floor (reading the same bytes and deserializing them into `serde::de::IgnoredAny`).
//!
//! Usage: `tollgate-bench run --tollgate target/release/tollgate [--dir bench-out] [--repeat 3]`
//!        `tollgate-bench generate --dir bench-out`
//!        `tollgate-bench floor FILE`   (prints `seconds peak_rss_kib`)
//!        `tollgate-bench hub-generate [--dir bench-out/hub] [--findings 100000] [--rules 300]
//!                                     [--changed-percent 10]`   (the reports of `bench/hub.sh`)

mod hub;

use std::fmt::Write as _;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let dir = PathBuf::from(flag("--dir").unwrap_or_else(|| "bench-out".into()));
    let code = match args.first().map(String::as_str) {
        Some("generate") => {
            generate(&dir);
            0
        }
        Some("hub-generate") => {
            let num = |name: &str, default: usize| {
                flag(name).map_or(Some(default), |v| v.parse::<usize>().ok())
            };
            match (
                num("--findings", 100_000),
                num("--rules", 300),
                num("--changed-percent", 10),
            ) {
                (Some(findings), Some(rules), Some(percent)) if rules > 0 && percent <= 100 => {
                    let dir =
                        PathBuf::from(flag("--dir").unwrap_or_else(|| "bench-out/hub".into()));
                    let r = hub::generate(&dir, findings, rules, percent);
                    // One line for scripts.
                    println!(
                        "base={} changed={} findings={} changed_findings={}",
                        r.base.display(),
                        r.changed.display(),
                        r.findings,
                        r.changed_findings
                    );
                    0
                }
                _ => usage(),
            }
        }
        Some("floor") => match args.get(1) {
            Some(file) => {
                let (secs, rss) = floor(Path::new(file));
                println!("{secs:.4} {rss}");
                0
            }
            None => usage(),
        },
        Some("run") => {
            let tollgate = flag("--tollgate").unwrap_or_else(|| "target/release/tollgate".into());
            let repeat: usize = flag("--repeat").and_then(|r| r.parse().ok()).unwrap_or(3);
            let extra: Vec<String> = flag("--gate-args")
                .map(|s| s.split_whitespace().map(String::from).collect())
                .unwrap_or_default();
            run(&dir, &tollgate, repeat, &extra)
        }
        _ => usage(),
    };
    std::process::exit(code);
}

fn usage() -> i32 {
    eprintln!("usage: tollgate-bench run [--tollgate BIN] [--dir DIR] [--repeat N] | generate [--dir DIR] | floor FILE");
    eprintln!("       tollgate-bench hub-generate [--dir DIR] [--findings N] [--rules N] [--changed-percent P]");
    2
}

pub const SARIF_RESULTS: usize = 200_000;
pub const TRIVY_VULNS: usize = 120_000;

fn sarif_path(dir: &Path) -> PathBuf {
    dir.join("large.sarif")
}

fn trivy_path(dir: &Path) -> PathBuf {
    dir.join("large-trivy.json")
}

fn generate(dir: &Path) {
    std::fs::create_dir_all(dir).expect("create bench dir");
    let p = sarif_path(dir);
    if !p.exists() {
        write_sarif(&p, SARIF_RESULTS);
    }
    let p = trivy_path(dir);
    if !p.exists() {
        write_trivy(&p, TRIVY_VULNS);
    }
}

/// A deterministic pseudo-random sequence (no dependency, same file every run).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

const WORDS: &[&str] = &[
    "user",
    "input",
    "flows",
    "into",
    "query",
    "without",
    "sanitization",
    "token",
    "request",
    "handler",
    "buffer",
    "session",
    "password",
    "render",
    "template",
    "unsafe",
    "call",
    "path",
    "file",
    "value",
];

fn sentence(rng: &mut Lcg, words: usize) -> String {
    let mut s = String::new();
    for i in 0..words {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(WORDS[(rng.next() % WORDS.len() as u64) as usize]);
    }
    s
}

fn write_sarif(path: &Path, results: usize) {
    let mut out = BufWriter::new(std::fs::File::create(path).expect("create sarif"));
    let mut rng = Lcg(42);
    let rules = 60;
    let mut s = String::from("{\"$schema\":\"https://json.schemastore.org/sarif-2.1.0.json\",\"version\":\"2.1.0\",\"runs\":[{\"tool\":{\"driver\":{\"name\":\"CodeQL\",\"semanticVersion\":\"2.15.0\",\"rules\":[");
    for r in 0..rules {
        if r > 0 {
            s.push(',');
        }
        let sev = [9.8, 8.1, 6.5, 4.3, 2.0][r % 5];
        let _ = write!(
            s,
            "{{\"id\":\"lang/security/rule-{r}\",\"name\":\"Rule{r}\",\"shortDescription\":{{\"text\":\"Rule {r}: {}\"}},\"fullDescription\":{{\"text\":\"{}\"}},\"help\":{{\"text\":\"{}\"}},\"defaultConfiguration\":{{\"level\":\"{}\"}},\"properties\":{{\"tags\":[\"security\",\"external/cwe/cwe-{}\"],\"precision\":\"high\",\"security-severity\":\"{sev}\"}}}}",
            sentence(&mut rng, 5),
            sentence(&mut rng, 30),
            sentence(&mut rng, 40),
            ["error", "warning", "note"][r % 3],
            [79, 89, 22, 78, 798, 327][r % 6],
        );
    }
    s.push_str("]}},\"results\":[");
    out.write_all(s.as_bytes()).unwrap();
    for i in 0..results {
        s.clear();
        if i > 0 {
            s.push(',');
        }
        let rule = (rng.next() % rules as u64) as usize;
        let line = 1 + rng.next() % 5000;
        let _ = write!(
            s,
            "\n{{\"ruleId\":\"lang/security/rule-{rule}\",\"ruleIndex\":{rule},\"level\":\"{}\",\"message\":{{\"text\":\"{} in call number {i}\"}},\"locations\":[{{\"physicalLocation\":{{\"artifactLocation\":{{\"uri\":\"src/module{}/component{}/File{}.java\",\"uriBaseId\":\"%SRCROOT%\"}},\"region\":{{\"startLine\":{line},\"startColumn\":{},\"endLine\":{},\"endColumn\":{},\"snippet\":{{\"text\":\"{} = {}({});\"}}}}}}}}],\"partialFingerprints\":{{\"primaryLocationLineHash\":\"{:016x}:1\"}}}}",
            ["error", "warning", "note"][rule % 3],
            sentence(&mut rng, 12),
            i % 97,
            i % 13,
            i % 1000,
            1 + rng.next() % 40,
            line + rng.next() % 3,
            1 + rng.next() % 80,
            sentence(&mut rng, 1),
            sentence(&mut rng, 2).replace(' ', "_"),
            sentence(&mut rng, 3).replace(' ', ", "),
            rng.next() ^ (i as u64) << 20,
        );
        out.write_all(s.as_bytes()).unwrap();
    }
    out.write_all(b"]}]}\n").unwrap();
    out.flush().unwrap();
}

fn write_trivy(path: &Path, vulns: usize) {
    let mut out = BufWriter::new(std::fs::File::create(path).expect("create trivy"));
    let mut rng = Lcg(7);
    out.write_all(b"{\"SchemaVersion\":2,\"CreatedAt\":\"2026-11-01T10:00:00Z\",\"ArtifactName\":\"registry.example.com/shop/api:1.4.2\",\"ArtifactType\":\"container_image\",\"Metadata\":{\"OS\":{\"Family\":\"debian\",\"Name\":\"12.5\"},\"ImageID\":\"sha256:abc\",\"RepoTags\":[\"registry.example.com/shop/api:1.4.2\"]},\"Results\":[").unwrap();
    let targets = [
        (
            "registry.example.com/shop/api:1.4.2 (debian 12.5)",
            "os-pkgs",
            "debian",
        ),
        ("app/package-lock.json", "lang-pkgs", "npm"),
        ("app/requirements.txt", "lang-pkgs", "pip"),
        ("app/pom.xml", "lang-pkgs", "pom"),
    ];
    let per = vulns / targets.len();
    let mut s = String::new();
    for (t, (target, class, typ)) in targets.iter().enumerate() {
        if t > 0 {
            out.write_all(b",").unwrap();
        }
        write!(out, "{{\"Target\":\"{target}\",\"Class\":\"{class}\",\"Type\":\"{typ}\",\"Vulnerabilities\":[").unwrap();
        for i in 0..per {
            s.clear();
            if i > 0 {
                s.push(',');
            }
            let n = t * per + i;
            let sev = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN"][(rng.next() % 5) as usize];
            let _ = write!(
                s,
                "\n{{\"VulnerabilityID\":\"CVE-20{:02}-{:05}\",\"PkgID\":\"pkg{}@1.{}.{}\",\"PkgName\":\"pkg{}\",\"PkgIdentifier\":{{\"PURL\":\"pkg:{typ}/pkg{}@1.{}.{}\"}},\"InstalledVersion\":\"1.{}.{}\",\"FixedVersion\":\"1.{}.{}\",\"Status\":\"fixed\",\"Layer\":{{\"DiffID\":\"sha256:{:064x}\"}},\"SeveritySource\":\"nvd\",\"PrimaryURL\":\"https://avd.aquasec.com/nvd/cve-20{:02}-{:05}\",\"DataSource\":{{\"ID\":\"ghsa\",\"Name\":\"GitHub Security Advisory\",\"URL\":\"https://github.com/advisories\"}},\"Title\":\"{}\",\"Description\":\"{}\",\"Severity\":\"{sev}\",\"CweIDs\":[\"CWE-{}\"],\"VendorSeverity\":{{\"nvd\":{},\"ghsa\":{}}},\"CVSS\":{{\"nvd\":{{\"V3Vector\":\"CVSS:3.1/AV:N/AC:L/PR:N/UI:{}/S:U/C:H/I:{}/A:H\",\"V3Score\":{}}}}},\"References\":[\"https://nvd.nist.gov/vuln/detail/CVE-20{:02}-{:05}\",\"https://github.com/advisories/GHSA-{:04x}\"],\"PublishedDate\":\"2024-03-01T12:00:00Z\",\"LastModifiedDate\":\"2024-05-01T12:00:00Z\"}}",
                10 + n % 15, n % 100000, n % 5000, n % 9, n % 7, n % 5000, n % 5000, n % 9, n % 7, n % 9, n % 7, n % 9, n % 7 + 1,
                rng.next(), 10 + n % 15, n % 100000,
                sentence(&mut rng, 8), sentence(&mut rng, 45),
                [79, 89, 400, 787, 20][n % 5], n % 4 + 1, n % 4 + 1,
                ["N", "R"][n % 2], ["H", "L"][n % 2], [9.8, 8.1][n % 2],
                10 + n % 15, n % 100000, n % 65536,
            );
            out.write_all(s.as_bytes()).unwrap();
        }
        out.write_all(b"]}").unwrap();
    }
    out.write_all(b"]}\n").unwrap();
    out.flush().unwrap();
}

/// The floor: read the bytes and deserialize them into `IgnoredAny`. Returns (seconds, peak RSS KiB).
fn floor(path: &Path) -> (f64, u64) {
    let started = Instant::now();
    let bytes = std::fs::read(path).expect("read file");
    let _: serde::de::IgnoredAny = serde_json::from_slice(&bytes).expect("valid JSON");
    let secs = started.elapsed().as_secs_f64();
    (secs, peak_rss_kib().unwrap_or(0))
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

struct Measure {
    secs: f64,
    rss_kib: u64,
}

fn median(mut v: Vec<Measure>) -> Measure {
    v.sort_by(|a, b| a.secs.total_cmp(&b.secs));
    let rss = v.iter().map(|m| m.rss_kib).max().unwrap_or(0);
    let mid = v.swap_remove(v.len() / 2);
    Measure {
        secs: mid.secs,
        rss_kib: rss,
    }
}

fn measure_floor(file: &Path) -> Measure {
    let me = std::env::current_exe().expect("own path");
    let started = Instant::now();
    let out = Command::new(me)
        .arg("floor")
        .arg(file)
        .output()
        .expect("run floor");
    let secs = started.elapsed().as_secs_f64();
    let text = String::from_utf8_lossy(&out.stdout);
    let rss = text
        .split_whitespace()
        .nth(1)
        .and_then(|r| r.parse().ok())
        .unwrap_or(0);
    Measure { secs, rss_kib: rss }
}

/// Runs tollgate with `--stats` (it reports its own peak RSS) and times it from outside.
fn measure_tollgate(tollgate: &str, args: &[String]) -> Option<(Measure, String)> {
    let started = Instant::now();
    let out = Command::new(tollgate)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .ok()?;
    let secs = started.elapsed().as_secs_f64();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let rss = err
        .split("peak RSS ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|mib| mib.parse::<f64>().ok())
        .map(|mib| (mib * 1024.0) as u64)
        .unwrap_or(0);
    Some((Measure { secs, rss_kib: rss }, err))
}

fn run(dir: &Path, tollgate: &str, repeat: usize, gate_args: &[String]) -> i32 {
    generate(dir);
    println!("tollgate-bench: {repeat} runs each, median wall time, max peak RSS; ratios against the floor");
    println!(
        "{:<18} {:>9} {:>10} {:>9} {:>10} {:>11} {:>9} {:>9} {:>12}",
        "file",
        "size MiB",
        "floor s",
        "floor MiB",
        "parse s",
        "parse MiB",
        "time x",
        "RSS/size",
        "findings/s"
    );
    let mut ok = true;
    for (name, path, items) in [
        ("large.sarif", sarif_path(dir), SARIF_RESULTS),
        ("large-trivy.json", trivy_path(dir), TRIVY_VULNS / 4 * 4),
    ] {
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let size_mib = size as f64 / (1u64 << 20) as f64;
        let file = path.to_string_lossy().into_owned();
        let args: Vec<String> = ["parse", "--format", "ndjson", "--stats", &file]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut runs = Vec::new();
        let mut floors = Vec::new();
        let mut last_err = String::new();
        // Floor and parse runs alternate, so that a machine getting slower or faster during the
        // benchmark moves both alike instead of skewing their ratio.
        for _ in 0..repeat {
            floors.push(measure_floor(&path));
            match measure_tollgate(tollgate, &args) {
                Some((m, err)) => {
                    runs.push(m);
                    last_err = err;
                }
                None => {
                    eprintln!("cannot run {tollgate}");
                    return 2;
                }
            }
        }
        if !last_err.contains("parsed") {
            eprintln!("tollgate failed on {name}: {last_err}");
            return 1;
        }
        // Each parse run over the floor run just before it: the spread shows how much of a
        // ratio is the machine (the verdict below stays on the medians' ratio).
        let mut pairs: Vec<f64> = runs
            .iter()
            .zip(&floors)
            .map(|(p, f)| p.secs / f.secs)
            .collect();
        pairs.sort_by(f64::total_cmp);
        let floor = median(floors);
        let parse = median(runs);
        let time_ratio = parse.secs / floor.secs;
        let rss_ratio = parse.rss_kib as f64 / 1024.0 / size_mib;
        ok &= time_ratio <= 2.0 && rss_ratio <= 2.0;
        println!(
            "{:<18} {:>9.1} {:>10.3} {:>9.1} {:>10.3} {:>11.1} {:>9.2} {:>9.2} {:>12.0}",
            name,
            size_mib,
            floor.secs,
            floor.rss_kib as f64 / 1024.0,
            parse.secs,
            parse.rss_kib as f64 / 1024.0,
            time_ratio,
            rss_ratio,
            items as f64 / parse.secs
        );
        if let (Some(low), Some(high)) = (pairs.first(), pairs.last()) {
            println!(
                "{:<18} parse / floor, run by run: median {:.2}x, {:.2}x to {:.2}x",
                name,
                pairs[pairs.len() / 2],
                low,
                high
            );
        }
        if !gate_args.is_empty() {
            let mut args = gate_args.to_vec();
            args.push(file.clone());
            let mut times: Vec<f64> = Vec::new();
            let mut status = None;
            for _ in 0..repeat {
                let started = Instant::now();
                status = Command::new(tollgate)
                    .args(&args)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .ok()
                    .and_then(|s| s.code());
                times.push(started.elapsed().as_secs_f64());
            }
            times.sort_by(f64::total_cmp);
            let secs = times[times.len() / 2];
            println!(
                "{:<18} {} took {:.3} s median ({:.2}x parse; target <= 1.20), exit {:?}",
                name,
                gate_args.join(" "),
                secs,
                secs / parse.secs,
                status
            );
        }
    }
    println!(
        "targets: time x <= 2.00 and RSS/size <= 2.00: {}",
        if ok { "met" } else { "NOT met" }
    );
    0
}
