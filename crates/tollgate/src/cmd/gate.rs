use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use clap::{Args, ValueEnum};
use sha2::{Digest, Sha256};
use tollgate_client::hub::{self, BaselineAnswer, GateRunRecord, Hub};
use tollgate_client::RetryPolicy;
use tollgate_model::{Finding, Fingerprint};
use tollgate_parsers::RepeatKey;
use tollgate_policy::{
    parse_build, Baseline, Context, Date, Evaluator, InputReport, Judgement, OnError, Outcome,
    Policy, ReasonKind, Verdict,
};
use tollgate_report::GateRun;

use crate::exit;
use crate::input::{
    open_regular, parse_size, read_report, read_text_input, report_error, scanner_arg, ScannerArg,
    Scanners,
};

#[derive(Args)]
pub struct GateArgs {
    /// Scanner reports (any supported format, detected from content).
    #[arg(required = true)]
    reports: Vec<String>,
    /// The report format instead of detecting it (see `tollgate formats`): `FORMAT` for every
    /// report, `FORMAT=FILE` for one (repeatable). Needed for a report that names no scanner
    /// (`null`, `[]`: a clean Trivy or Gitleaks scan).
    #[arg(long, value_name = "FORMAT[=FILE]", value_parser = scanner_arg)]
    scanner: Vec<ScannerArg>,
    /// Policy file. Default: ./tollgate.toml when it exists, else the built-in policy.
    #[arg(long)]
    policy: Option<PathBuf>,
    /// A separate waivers file (`[[waiver]]` tables), added to the policy's waivers.
    #[arg(long)]
    waivers: Vec<PathBuf>,
    /// A previous security-gate-summary.json: its fingerprints are the "existing" findings.
    #[arg(long, conflicts_with = "baseline_url")]
    baseline: Option<PathBuf>,
    /// What a --baseline FILE that does not exist means: `error` (default) fails the gate with
    /// exit 2, as a mistyped path must; `new` is a first run: an empty baseline, every finding
    /// new, said in a note. A file that exists but cannot be read or parsed fails either way.
    #[arg(long, value_enum, default_value = "error", requires = "baseline")]
    baseline_missing: BaselineMissingArg,
    /// A Tollgate hub: every fingerprint it knows for --product (open or closed) is "existing".
    #[arg(long, value_name = "URL")]
    baseline_url: Option<String>,
    /// A Tollgate hub to record this gate run at; a failure to record only warns.
    #[arg(long, value_name = "URL")]
    report_to: Option<String>,
    /// The hub's API token, sent as `Authorization: Token …` (needed by --baseline-url, --report-to).
    #[arg(
        long,
        env = "TOLLGATE_HUB_TOKEN",
        hide_env_values = true,
        value_name = "KEY"
    )]
    hub_token: Option<String>,
    /// Product at the hub. Default: DD_PRODUCT (as `upload`), else the CI project name.
    #[arg(long, env = "TOLLGATE_PRODUCT", value_name = "NAME")]
    product: Option<String>,
    /// Engagement at the hub (default: the product as a whole).
    #[arg(long, value_name = "NAME")]
    engagement: Option<String>,
    /// The released artifact (apk, ipa, image tarball): its SHA-256 goes into the hub's record.
    #[arg(
        long,
        value_name = "FILE",
        requires = "report_to",
        conflicts_with = "artifact_sha256"
    )]
    artifact: Option<PathBuf>,
    /// The released artifact's SHA-256, when the file is not at hand.
    #[arg(long, value_name = "HEX", requires = "report_to", value_parser = sha256_arg)]
    artifact_sha256: Option<String>,
    /// Attempts per hub request, the first included.
    #[arg(long, default_value_t = 5, value_name = "N")]
    hub_attempts: u32,
    /// Seconds before the first retry of a hub request (doubles each time, at most 60).
    #[arg(long, default_value_t = 2.0, value_name = "S", value_parser = seconds_arg)]
    hub_retry_delay: f64,
    /// Seconds each hub request may take.
    #[arg(long, default_value_t = 120, value_name = "S")]
    hub_timeout: u64,
    /// Build kind. Default: TOLLGATE_BUILD, else release (assumed, and said so).
    #[arg(long, value_parser = build_arg)]
    build: Option<tollgate_policy::Build>,
    /// Deployment environment (e.g. production). Default: CI_ENVIRONMENT_NAME / TOLLGATE_ENVIRONMENT.
    #[arg(long)]
    environment: Option<String>,
    /// Branch. Default: from the CI variables.
    #[arg(long)]
    branch: Option<String>,
    /// Extra context, repeatable: `--context release=1.4.2`.
    #[arg(long = "context", value_parser = key_value)]
    context: Vec<(String, String)>,
    /// What broken, incomplete or missing input does: `closed` fails the gate (default), `open` warns.
    #[arg(long, value_enum, default_value = "closed")]
    on_error: OnErrorArg,
    /// Directory for the outputs (default: the current directory).
    #[arg(long, default_value = ".")]
    out_dir: PathBuf,
    /// Also write SARIF for code scanning (default name security-gate.sarif).
    #[arg(
        long,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "security-gate.sarif"
    )]
    sarif: Option<PathBuf>,
    /// Most results in the SARIF (GitHub keeps 5,000 of a run and rejects more than 25,000):
    /// blockers are kept first, then warnings; notes are left out first, and the run and the
    /// summary say how many were left out.
    #[arg(long, value_name = "N", default_value_t = 5000,
          value_parser = clap::value_parser!(u32).range(1..=25_000))]
    sarif_max_results: u32,
    /// Also write JUnit XML, one failing case per blocked finding (default name security-gate.junit.xml).
    #[arg(
        long,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "security-gate.junit.xml"
    )]
    junit: Option<PathBuf>,
    /// Also write a GitLab Code Quality report (default name gl-code-quality-report.json).
    #[arg(
        long,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "gl-code-quality-report.json"
    )]
    gitlab_codequality: Option<PathBuf>,
    /// Threads that read, judge and summarize a large SARIF log or Trivy report (default: one
    /// per available core; 1 reads it with one thread beside the one that records).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    threads: Option<u16>,
    /// Refuse report files larger than this (e.g. 512M, 2G).
    #[arg(long, value_parser = parse_size, default_value = "1G")]
    max_size: u64,
    /// The date waivers are checked against (YYYY-MM-DD; default today, UTC).
    #[arg(long, value_parser = date_arg, hide = true)]
    today: Option<Date>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BaselineMissingArg {
    Error,
    New,
}

#[derive(Clone, Copy, ValueEnum)]
enum OnErrorArg {
    Closed,
    Open,
}

fn build_arg(s: &str) -> Result<tollgate_policy::Build, String> {
    parse_build(s).ok_or_else(|| format!("unknown build {s:?}: expected release or debug"))
}

fn date_arg(s: &str) -> Result<Date, String> {
    Date::parse(s).ok_or_else(|| format!("invalid date {s:?}: expected YYYY-MM-DD"))
}

pub(crate) fn seconds_arg(s: &str) -> Result<f64, String> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .ok_or_else(|| format!("expected a number of seconds, got {s:?}"))
}

pub(crate) fn sha256_arg(s: &str) -> Result<String, String> {
    let hex = s.trim().to_ascii_lowercase();
    if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(hex)
    } else {
        Err(format!("expected 64 hex digits (a SHA-256), got {s:?}"))
    }
}

fn key_value(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| format!("expected key=value, got {s:?}"))
}

pub fn run(args: GateArgs) -> u8 {
    match gate(args) {
        Ok(code) => code,
        Err(message) => {
            report_error(&message);
            exit::INPUT_ERROR
        }
    }
}

/// Policy and waiver files are a few KiB; anything this large is not one.
const POLICY_MAX_SIZE: u64 = 16 << 20;

fn load_policy(args: &GateArgs) -> Result<(Policy, String), String> {
    let path = match &args.policy {
        Some(p) => Some(p.clone()),
        // Present but not a regular file (a FIFO, a directory): refused below, not skipped.
        None => Some(PathBuf::from("tollgate.toml")).filter(|p| p.exists()),
    };
    let (mut policy, origin) = match path {
        Some(p) => {
            let origin = p.display().to_string();
            let text = read_text_input(&p, POLICY_MAX_SIZE)
                .map_err(|e| format!("{}: cannot read the policy: {}", e.file, e.message))?;
            (
                Policy::from_toml(&text, &origin).map_err(|e| e.to_string())?,
                origin,
            )
        }
        None => (
            Policy::default_policy(),
            "built-in default policy".to_string(),
        ),
    };
    for w in &args.waivers {
        let origin = w.display().to_string();
        let text = read_text_input(w, POLICY_MAX_SIZE)
            .map_err(|e| format!("{}: cannot read the waivers: {}", e.file, e.message))?;
        policy
            .add_waivers(&text, &origin)
            .map_err(|e| e.to_string())?;
    }
    Ok((policy, origin))
}

/// A report that is one of the files this run writes is refused before anything is read or
/// written: gating last run's `security-gate.sarif` would count every finding twice, and writing
/// over a report loses it. (`--sarif`, `--junit` and `--gitlab-codequality` take their file name
/// only as `--sarif=FILE`, so `--sarif semgrep.json` gates semgrep.json instead of overwriting it;
/// `--sarif out.sarif` now names out.sarif as a report, and this check catches it once it exists.)
fn refuse_own_outputs_as_reports(args: &GateArgs) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let identity = |p: &Path| std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()));
    let outputs = [
        (
            "the summary",
            Some(PathBuf::from("security-gate-summary.json")),
        ),
        (
            "the summary",
            Some(PathBuf::from("security-gate-summary.md")),
        ),
        ("--sarif", args.sarif.clone()),
        ("--junit", args.junit.clone()),
        ("--gitlab-codequality", args.gitlab_codequality.clone()),
    ];
    for (what, name) in outputs {
        let Some(name) = name else { continue };
        let Some(output) = identity(&args.out_dir.join(&name)) else {
            continue;
        };
        for report in &args.reports {
            if identity(Path::new(report)) == Some(output) {
                let hint = if what.starts_with("--") {
                    format!(" (to name the output, write {what}={})", name.display())
                } else {
                    String::new()
                };
                return Err(format!(
                    "{report}: this is the file {what} of this run writes, not a scanner report; \
                     gate the scanners' reports{hint}"
                ));
            }
        }
    }
    Ok(())
}

/// What talking to a hub needs, settled before anything is read.
struct HubSettings {
    token: String,
    product: String,
    engagement: Option<String>,
    retry: RetryPolicy,
    timeout: Duration,
}

impl HubSettings {
    fn hub<'a>(&'a self, base_url: &'a str) -> Hub<'a> {
        Hub {
            base_url,
            token: &self.token,
            retry: self.retry,
            timeout: self.timeout,
        }
    }
}

fn hub_settings(args: &GateArgs) -> Result<Option<HubSettings>, String> {
    if args.baseline_url.is_none() && args.report_to.is_none() {
        return Ok(None);
    }
    for (flag, url) in [
        ("--baseline-url", &args.baseline_url),
        ("--report-to", &args.report_to),
    ] {
        if let Some(url) = url {
            hub::check_base_url(url).map_err(|e| format!("{flag}: {e}"))?;
        }
    }
    let token = args
        .hub_token
        .clone()
        .filter(|t| !t.trim().is_empty())
        .ok_or("--baseline-url and --report-to need the hub's API token: pass --hub-token or set TOLLGATE_HUB_TOKEN")?;
    let product = product_name(args.product.as_deref(), |k| std::env::var(k).ok()).ok_or(
        "--baseline-url and --report-to need a product name: pass --product or set TOLLGATE_PRODUCT (DD_PRODUCT, CI_PROJECT_NAME or GITHUB_REPOSITORY are used when set)",
    )?;
    Ok(Some(HubSettings {
        token,
        product,
        engagement: args.engagement.clone().filter(|e| !e.trim().is_empty()),
        retry: RetryPolicy {
            attempts: args.hub_attempts.max(1),
            base_delay: Duration::from_secs_f64(args.hub_retry_delay.min(60.0)),
            max_delay: Duration::from_secs(60),
        },
        timeout: Duration::from_secs(args.hub_timeout),
    }))
}

/// The product: the flag (or TOLLGATE_PRODUCT), else the name `upload` gives DefectDojo and the
/// hub (DD_PRODUCT), else the CI project's name.
pub(crate) fn product_name(
    flag: Option<&str>,
    var: impl Fn(&str) -> Option<String>,
) -> Option<String> {
    let given = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    given(flag.map(str::to_string))
        .or_else(|| given(var("DD_PRODUCT")))
        .or_else(|| given(var("CI_PROJECT_NAME")))
        .or_else(|| {
            given(var("GITHUB_REPOSITORY"))
                .and_then(|r| given(r.rsplit('/').next().map(str::to_string)))
        })
}

/// The hub's baseline, and a note when the product is not there yet. Failing to read it fails
/// the gate (exit 2), as an unreadable --baseline file does.
fn hub_baseline(url: &str, h: &HubSettings) -> Result<(Baseline, Option<String>), String> {
    let engagement = h.engagement.as_deref();
    let source = hub::baseline_url(url, &h.product, engagement)
        .map_err(|e| format!("--baseline-url: {e}"))?;
    let answer = hub::fetch_baseline(&h.hub(url), &h.product, engagement, |m| {
        eprintln!("tollgate gate: baseline: {m}")
    })
    .map_err(|e| format!("cannot read the baseline from the hub: {e}"))?;
    Ok(match answer {
        BaselineAnswer::Found(b) => (
            Baseline {
                fingerprints: b.fingerprints(),
                source,
            },
            None,
        ),
        BaselineAnswer::NotFound { detail } => {
            let what = match engagement {
                Some(e) => format!("product {:?} / engagement {e:?}", h.product),
                None => format!("product {:?}", h.product),
            };
            let note = format!(
                "the hub has no {what} yet ({}): empty baseline, every finding counts as new",
                detail.trim().trim_end_matches('.')
            );
            (
                Baseline {
                    fingerprints: HashSet::new(),
                    source,
                },
                Some(note),
            )
        }
    })
}

/// Nothing at all at `path`: no file, no directory, no symlink (a dangling symlink is there, and
/// reading it fails). Any other error of `lstat` (a directory that cannot be searched) is not
/// absence, so reading the file reports it.
fn path_is_absent(path: &Path) -> bool {
    matches!(std::fs::symlink_metadata(path), Err(e) if e.kind() == std::io::ErrorKind::NotFound)
}

fn gate(args: GateArgs) -> Result<u8, String> {
    refuse_own_outputs_as_reports(&args)?;
    let scanners = Scanners::new(&args.scanner, &args.reports)?;
    let (policy, policy_origin) = load_policy(&args)?;
    let hub_settings = hub_settings(&args)?;
    let mut baseline_note = None;
    let baseline = match (&args.baseline, &args.baseline_url, &hub_settings) {
        (Some(p), _, _) => {
            let source = p.display().to_string();
            if args.baseline_missing == BaselineMissingArg::New && path_is_absent(p) {
                baseline_note = Some(format!(
                    "first run: no baseline at {source}, every finding is new"
                ));
                Some(Baseline {
                    fingerprints: HashSet::new(),
                    source,
                })
            } else {
                let text = read_text_input(p, args.max_size)
                    .map_err(|e| format!("{}: cannot read the baseline: {}", e.file, e.message))?;
                Some(tollgate_report::read_baseline(&text, &source)?)
            }
        }
        (None, Some(url), Some(h)) => {
            let (baseline, note) = hub_baseline(url, h)?;
            baseline_note = note;
            Some(baseline)
        }
        _ => None,
    };
    let mut context = Context::from_env(|k| std::env::var(k).ok());
    if let Some(b) = args.build {
        context.set_build(b);
    }
    if let Some(e) = &args.environment {
        context.environment = Some(e.clone());
    }
    if let Some(b) = &args.branch {
        context.branch = Some(b.clone());
    }
    for (k, v) in &args.context {
        context.extra.insert(k.clone(), v.clone());
    }
    let on_error = match args.on_error {
        OnErrorArg::Closed => OnError::Closed,
        OnErrorArg::Open => OnError::Open,
    };

    let today = args.today.unwrap_or_else(Date::today);
    let mut evaluator = Evaluator::new(&policy, &context, baseline.as_ref(), today);
    // Only the SARIF output shows every finding's full text; without it, findings that do not
    // block are kept slim (the Markdown explains blockers only). Without SARIF, JUnit and Code
    // Quality, only the findings the Markdown lists are kept.
    let mut pipeline = tollgate_parsers::Pipeline::default();
    if let Some(n) = args.threads {
        pipeline.workers = usize::from(n);
    }
    let keep = KeepWhat {
        all: args.sarif.is_some() || args.junit.is_some() || args.gitlab_codequality.is_some(),
        text: args.sarif.is_some(),
    };
    let counted_once = crate::same_scan::plan(&args.reports, &scanners, args.max_size);
    let gated = read_reports(
        ReportFiles {
            files: &args.reports,
            scanners: &scanners,
            counted_once: &counted_once,
            max_size: args.max_size,
        },
        &policy,
        &mut evaluator,
        keep,
        pipeline,
    );
    if let Some(e) = gated.ambiguous {
        // Not a broken report but a question only the pipeline can answer: never guessed,
        // whatever --on-error says.
        return Err(e);
    }
    if let Some(e) = gated.failed {
        return Err(e);
    }
    let (findings, inputs, entries) = (gated.findings, gated.inputs, gated.entries);
    let mut entries = entries
        .ok_or("internal error: no summary entries")?
        .into_reader()
        .map_err(|e| format!("cannot read back the summary's entries: {e}"))?;
    let mut decision = evaluator.finish(&inputs, on_error);
    decision.notes.extend(baseline_note);
    decision.notes.extend(counted_once.iter().map(|c| c.note()));
    let sarif_options = tollgate_report::SarifOptions {
        max_results: args.sarif_max_results as usize,
        checkout_roots: tollgate_report::SarifOptions::checkout_roots_from_env(),
    };
    if args.sarif.is_some() {
        let cap = tollgate_report::plan_cap(
            findings.view().all().map_err(|e| e.to_string())?,
            &decision.evaluated,
            sarif_options.max_results,
        );
        decision.notes.extend(cap.notice(sarif_options.max_results));
    }
    let broken_input = inputs.iter().any(|i| i.error.is_some());
    let code = match decision.outcome {
        Outcome::Fail if broken_input && on_error == OnError::Closed => exit::INPUT_ERROR,
        Outcome::Fail => exit::BLOCKED,
        Outcome::Warn | Outcome::Pass => exit::OK,
    };
    let run = GateRun {
        decision: &decision,
        findings: findings.view(),
        policy: &policy,
        context: &context,
        inputs: &inputs,
        baseline: baseline.as_ref(),
        generated_at: tollgate_report::rfc3339_utc(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0),
        ),
        tool_version: env!("CARGO_PKG_VERSION"),
        exit_code: code,
    };

    let dir = &args.out_dir;
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("{}: cannot create the output directory: {e}", dir.display()))?;
    let mut written = Vec::new();
    let mut md = Vec::new();
    tollgate_report::write_markdown(&run, &mut md).map_err(|e| e.to_string())?;
    // Not through `write_file`: the entries go from file to file (`copy_file_range`), which
    // `io::copy` does for these types only.
    let summary = dir.join("security-gate-summary.json");
    crate::outfile::write_file(summary.as_path(), 64 << 10, |w| {
        tollgate_report::write_summary_json_from(&run, &mut entries, w)
    })
    .map_err(|e| format!("{}: cannot write: {e}", summary.display()))?;
    written.push(summary.display().to_string());
    write_file(
        &dir.join("security-gate-summary.md"),
        |w| w.write_all(&md),
        &mut written,
    )?;
    if let Some(p) = &args.sarif {
        write_file(
            &dir.join(p),
            |w| tollgate_report::write_sarif_with(&run, &sarif_options, w),
            &mut written,
        )?;
    }
    if let Some(p) = &args.junit {
        write_file(
            &dir.join(p),
            |w| tollgate_report::write_junit(&run, w),
            &mut written,
        )?;
    }
    let mut codequality_left_out = 0;
    if let Some(p) = &args.gitlab_codequality {
        write_file(
            &dir.join(p),
            |w| {
                codequality_left_out = tollgate_report::write_gitlab_codequality(&run, w)?;
                Ok(())
            },
            &mut written,
        )?;
    }
    if let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|s| !s.is_empty()) {
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&summary)
            .and_then(|mut f| f.write_all(&md));
        if let Err(e) = appended {
            eprintln!("tollgate: warning: cannot append to GITHUB_STEP_SUMMARY: {e}");
        }
    }

    print_verdict(&run, &policy_origin, &written);
    if codequality_left_out > 0 {
        println!(
            "  note: {codequality_left_out} finding(s) not in the Code Quality report: their place is not a file of the repository (a URL, package, component or path outside the checkout); security-gate-summary.json has them"
        );
    }
    if let (Some(url), Some(h)) = (&args.report_to, &hub_settings) {
        let record = GateRunRecord {
            product_name: h.product.clone(),
            engagement_name: h.engagement.clone(),
            outcome: outcome_word(decision.outcome).to_string(),
            commit_hash: context.commit.clone(),
            release_tag: context.tag.clone(),
            artifact_sha256: args.artifact_sha256.clone(),
        };
        record_run(
            url,
            h,
            record,
            args.artifact.as_deref(),
            &dir.join("security-gate-summary.json"),
        );
    }
    // The process ends right after this: freeing hundreds of thousands of findings one by one
    // would only add time (the operating system takes the memory back at once).
    drop(run);
    std::mem::forget(decision);
    std::mem::forget(findings);
    Ok(code)
}

/// Sends the run to the hub. Whatever happens is said on one line; the verdict, the exit code and
/// the files written are the same as without --report-to.
fn record_run(
    url: &str,
    h: &HubSettings,
    mut record: GateRunRecord,
    artifact: Option<&Path>,
    summary_path: &Path,
) {
    let recorded = (|| {
        if let Some(a) = artifact {
            record.artifact_sha256 =
                Some(sha256_file(a).map_err(|e| format!("--artifact {}: {e}", a.display()))?);
        }
        let summary = std::fs::read(summary_path)
            .map_err(|e| format!("{}: cannot read: {e}", summary_path.display()))?;
        hub::record_gate_run(&h.hub(url), &record, &summary, |m| {
            eprintln!("tollgate gate: report-to: {m}")
        })
        .map_err(|e| e.to_string())
    })();
    match recorded {
        Ok(id) => println!("  recorded as gate run {id} at {url}"),
        Err(e) => {
            eprintln!("tollgate: warning: the gate run was not recorded (the verdict stands): {e}")
        }
    }
}

pub(crate) fn sha256_file(path: &Path) -> Result<String, String> {
    let (mut file, _) = open_regular(path)?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(|e| e.to_string())?;
    Ok(hex(&hasher.finalize()))
}

fn outcome_word(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Pass => "PASS",
        Outcome::Warn => "WARN",
        Outcome::Fail => "FAIL",
    }
}

struct Gated {
    findings: Kept,
    inputs: Vec<InputReport>,
    /// The summary's `findings[]` entries, serialized while parsing went on.
    entries: Option<Entries>,
    /// The entries could not be written (`cannot write …`).
    failed: Option<String>,
    /// A report that names no scanner and has no `--scanner` (`FILE: cannot tell …`).
    ambiguous: Option<String>,
}

/// The findings a gate holds until it writes its outputs.
enum Kept {
    /// Every finding (SARIF, JUnit and Code Quality show them all).
    All(Vec<Finding>),
    /// Only what the summary and the Markdown need: every fingerprint, and the findings the
    /// Markdown lists (the first ones of each reason and waiver). A gate over hundreds of
    /// thousands of findings then holds a few hundred of them, not every one.
    Listed {
        fingerprints: Vec<Fingerprint>,
        kept: Vec<(usize, Finding)>,
    },
}

impl Kept {
    fn view(&self) -> tollgate_report::Findings<'_> {
        match self {
            Kept::All(all) => tollgate_report::Findings::All(all),
            Kept::Listed { fingerprints, kept } => {
                tollgate_report::Findings::Listed { fingerprints, kept }
            }
        }
    }

    fn truncate(&mut self, len: usize) {
        match self {
            Kept::All(all) => all.truncate(len),
            Kept::Listed { fingerprints, kept } => {
                fingerprints.truncate(len);
                kept.retain(|(i, _)| *i < len);
            }
        }
    }
}

/// One finding as it leaves a reading thread: finished but for the numbering of repeats,
/// judged, its summary entry written (at `entry_end` in its batch's `entries`).
struct Judged {
    finding: Option<Finding>,
    key: RepeatKey,
    judgement: Judgement,
    entry_end: usize,
}

/// A batch of [`Judged`] findings and their summary entries, back to back (each written as if
/// it were not the first: `,\n    {…}`).
struct JudgedBatch {
    items: Vec<Judged>,
    entries: Vec<u8>,
    /// The reading thread that made it: the findings left in it are dropped there, where
    /// they were allocated (the allocator frees another thread's memory much more slowly).
    owner: std::thread::ThreadId,
}

/// Parses every report while evaluating each finding and writing its summary entry: the reading
/// threads finish, judge and serialize their findings ([`tollgate_policy::Judge`]); this one
/// numbers repeats (a renumbered finding is judged and written again here: its fingerprint
/// changed), records each judgement in report order and keeps what the outputs need ([`Kept`]).
/// A report that fails is recorded (the gate fails closed on it) and whatever it had yielded is
/// forgotten: a report counts whole or not at all.
/// The reports a gate reads, and how.
struct ReportFiles<'a> {
    files: &'a [String],
    /// `--scanner` values.
    scanners: &'a Scanners,
    /// Reports whose scan another input holds (left out, said so).
    counted_once: &'a [crate::same_scan::CountedOnce],
    max_size: u64,
}

fn read_reports(
    ReportFiles {
        files,
        scanners,
        counted_once,
        max_size,
    }: ReportFiles<'_>,
    policy: &Policy,
    evaluator: &mut Evaluator<'_>,
    keep: KeepWhat,
    pipeline: tollgate_parsers::Pipeline,
) -> Gated {
    let mut findings = if keep.all {
        Kept::All(Vec::new())
    } else {
        Kept::Listed {
            fingerprints: Vec::new(),
            kept: Vec::new(),
        }
    };
    let judge = evaluator.judge().clone();
    let mut compact = match Entries::new() {
        Ok(e) => e,
        Err(e) => {
            return Gated {
                findings,
                inputs: Vec::new(),
                entries: None,
                ambiguous: None,
                failed: Some(format!(
                    "cannot create a temporary file for the summary's entries: {e}"
                )),
            }
        }
    };
    let mut failed = None;
    let mut inputs = Vec::with_capacity(files.len());
    let mut ambiguous = None;
    for file in files {
        let mut input = InputReport {
            file: file.clone(),
            ..InputReport::default()
        };
        if let Some(c) = counted_once.iter().find(|c| c.file == *file) {
            input.format = Some(tollgate_parsers::Format::MobsfScorecard.id().to_string());
            input.counted_in = Some(c.kept.clone());
            inputs.push(input);
            continue;
        }
        let bytes = match read_report(file, max_size) {
            Ok(b) => b,
            Err(e) => {
                input.error = Some(e.message);
                inputs.push(input);
                continue;
            }
        };
        let (start, compact_start) = (evaluator.len(), compact.len);
        match &mut findings {
            // Room for a finding per 256 bytes of report up front, so a large report never
            // makes the vector move hundreds of MB while it grows (untouched capacity costs
            // address space only).
            Kept::All(all) => all.reserve((bytes.len() / 256).min(4_000_000)),
            Kept::Listed { fingerprints, .. } => {
                fingerprints.reserve((bytes.len() / 256).min(4_000_000))
            }
        }
        let source = Some(file.clone());
        // Consumed batches go back to the reading thread that made them, which drops the
        // findings left in them (the allocations are its own) and reuses the buffers.
        let spent: Mutex<Vec<JudgedBatch>> = Mutex::new(Vec::new());
        let (digest, parsed) = std::thread::scope(|scope| {
            let digest = scope.spawn(|| hex(&Sha256::digest(&bytes)));
            let render = |batch: &mut Vec<Finding>, so_far: Option<JudgedBatch>| {
                let mut out = so_far.unwrap_or_else(|| {
                    let owner = std::thread::current().id();
                    let mine = spent.lock().ok().and_then(|mut s| {
                        let at = s.iter().position(|b| b.owner == owner)?;
                        Some(s.swap_remove(at))
                    });
                    match mine {
                        Some(mut b) => {
                            b.items.clear();
                            b.entries.clear();
                            b
                        }
                        None => JudgedBatch {
                            items: Vec::new(),
                            entries: Vec::new(),
                            owner,
                        },
                    }
                });
                for mut f in batch.drain(..) {
                    let key = tollgate_parsers::finish_alone(&mut f);
                    f.source.file.clone_from(&source);
                    let judgement = judge.judge(&f);
                    // Writing into a Vec cannot fail. (Index 1: the entry's comma is written.)
                    let _ = tollgate_report::write_compact_finding(
                        &mut out.entries,
                        policy,
                        1,
                        &f,
                        &judgement.evaluated,
                    );
                    out.items.push(Judged {
                        finding: Some(f),
                        key,
                        judgement,
                        entry_end: out.entries.len(),
                    });
                }
                out
            };
            let mut finisher = tollgate_parsers::Finisher::for_report(bytes.len());
            let mut again = Vec::new();
            let mut consume = |mut batch: JudgedBatch, base: usize| {
                finisher.prepare(batch.items.iter().map(|j| j.key));
                let mut entry_start = 0;
                for item in &mut batch.items {
                    let mut entry = &batch.entries[entry_start..item.entry_end];
                    entry_start = item.entry_end;
                    let Some(f) = item.finding.as_mut() else {
                        continue;
                    };
                    if let Some(fp) = finisher.renumber(item.key, f.fingerprint.as_str()) {
                        // A repeat: its own fingerprint, so its own state and waivers.
                        f.fingerprint = fp;
                        item.judgement = judge.judge(f);
                        again.clear();
                        let _ = tollgate_report::write_compact_finding(
                            &mut again,
                            policy,
                            1,
                            f,
                            &item.judgement.evaluated,
                        );
                        entry = &again;
                    }
                    // The first entry of the summary has no comma before it.
                    let written =
                        compact.append(if compact.len == 0 { &entry[1..] } else { entry });
                    if let Err(e) = written {
                        failed.get_or_insert_with(|| {
                            format!("cannot write the summary's entries to a temporary file: {e}")
                        });
                        return false;
                    }
                    let index = evaluator.len();
                    let (e, place) = evaluator.record(&item.judgement, f.severity);
                    let listed = place.is_some_and(|p| p < tollgate_report::MARKDOWN_LIST_LIMIT);
                    let wanted = match &mut findings {
                        Kept::All(_) => true,
                        Kept::Listed { fingerprints, .. } if listed => {
                            fingerprints.push(f.fingerprint.clone());
                            true
                        }
                        Kept::Listed { fingerprints, .. } => {
                            fingerprints.push(std::mem::take(&mut f.fingerprint));
                            false
                        }
                    };
                    if !wanted {
                        continue;
                    }
                    let Some(mut f) = item.finding.take() else {
                        continue;
                    };
                    if base > 0 {
                        if let Some(p) = tollgate_parsers::rebase_pointer(&f.source.pointer, base) {
                            f.source.pointer = p;
                        }
                    }
                    if !keep.text && e.disposition != tollgate_policy::Disposition::Block {
                        slim(&mut f);
                    }
                    match &mut findings {
                        Kept::All(all) => all.push(f),
                        Kept::Listed { kept, .. } => kept.push((index, f)),
                    }
                }
                if let Ok(mut s) = spent.lock() {
                    s.push(batch);
                }
                true
            };
            let parsed = tollgate_parsers::parse_pipelined(
                &bytes,
                scanners.for_report(file),
                pipeline,
                &render,
                &mut consume,
            );
            (digest.join().ok(), parsed)
        });
        input.sha256 = digest;
        match parsed {
            Ok(meta) => {
                input.format = Some(meta.format);
                input.scanners = meta.scanners;
                input.findings = meta.findings;
                input.incomplete = meta.incomplete;
            }
            Err(e) => {
                findings.truncate(start);
                if let Err(e) = compact.truncate(compact_start) {
                    failed.get_or_insert_with(|| {
                        format!("cannot write the summary's entries to a temporary file: {e}")
                    });
                }
                evaluator.truncate(start);
                if e.kind == tollgate_parsers::ErrorKind::Ambiguous {
                    ambiguous.get_or_insert_with(|| format!("{file}: {e}"));
                }
                input.error = Some(e.to_string());
            }
        }
        inputs.push(input);
    }
    Gated {
        findings,
        inputs,
        entries: Some(compact),
        ambiguous,
        failed,
    }
}

/// A file in the temporary directory that has no name: it goes when it is closed, also when the
/// process is killed.
fn unnamed_temp_file() -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    use std::sync::atomic::{AtomicU32, Ordering};
    let dir = std::env::temp_dir();
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).mode(0o600);
    if let Ok(f) = options.clone().custom_flags(libc::O_TMPFILE).open(&dir) {
        return Ok(f);
    }
    // A file system without O_TMPFILE: a new file, its name removed at once.
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let path = dir.join(format!(
        ".tollgate-gate-{}-{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let f = options.create_new(true).open(&path)?;
    std::fs::remove_file(&path)?;
    Ok(f)
}

/// The summary's `findings[]` entries of a run, back to back, in an unnamed temporary file as
/// they are made: tens of MB for a large report, which the gate need not hold in memory.
struct Entries {
    file: std::io::BufWriter<std::fs::File>,
    /// Bytes written so far.
    len: u64,
}

impl Entries {
    fn new() -> std::io::Result<Entries> {
        Ok(Entries {
            file: std::io::BufWriter::with_capacity(256 << 10, unnamed_temp_file()?),
            len: 0,
        })
    }

    fn append(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.file.write_all(bytes)?;
        self.len += bytes.len() as u64;
        Ok(())
    }

    /// Forgets every byte from `len` on (a report that broke half-way).
    fn truncate(&mut self, len: u64) -> std::io::Result<()> {
        use std::io::Seek;
        self.file.flush()?;
        self.file.get_ref().set_len(len)?;
        self.file.get_mut().seek(std::io::SeekFrom::Start(len))?;
        self.len = len;
        Ok(())
    }

    /// The entries, to read from their start.
    fn into_reader(self) -> std::io::Result<std::fs::File> {
        use std::io::Seek;
        let mut file = self.file.into_inner().map_err(|e| e.into_error())?;
        file.seek(std::io::SeekFrom::Start(0))?;
        Ok(file)
    }
}

/// Which findings a gate keeps for its outputs.
#[derive(Clone, Copy)]
struct KeepWhat {
    /// Every finding (SARIF, JUnit, Code Quality), not only those the Markdown lists.
    all: bool,
    /// Their long texts too (SARIF), not only blockers'.
    text: bool,
}

/// Drops the long texts of a finding no output will show, so a gate over hundreds of thousands
/// of findings holds what it needs, not every help text.
fn slim(f: &mut Finding) {
    f.description = None;
    f.recommendation = None;
    f.references = Vec::new();
    f.cvss = Vec::new();
    f.location.snippet = None;
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes one output ([`crate::outfile`]: a reader never sees half a file; a device such as
/// `/dev/stdout` is written through).
fn write_file(
    path: &Path,
    body: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    written: &mut Vec<String>,
) -> Result<(), String> {
    match crate::outfile::write_file(path, 64 << 10, |w| body(w)) {
        Ok(()) => {
            written.push(path.display().to_string());
            Ok(())
        }
        Err(e) => Err(format!("{}: cannot write: {e}", path.display())),
    }
}

fn print_verdict(run: &GateRun<'_>, policy_origin: &str, written: &[String]) {
    let d = run.decision;
    let blocked = d
        .evaluated
        .iter()
        .filter(|e| e.disposition == tollgate_policy::Disposition::Block)
        .count();
    let word = outcome_word(d.outcome);
    println!(
        "tollgate gate: {word} — {} findings from {} report(s), {blocked} blocking (policy: {policy_origin})",
        run.findings.len(),
        run.inputs.len()
    );
    for r in &d.reasons {
        let mark = match r.verdict {
            Verdict::Block => "BLOCK",
            Verdict::Warn => "warn ",
            Verdict::Info => "info ",
        };
        let label = match r.kind {
            ReasonKind::Rule => r.rule.clone().unwrap_or_default(),
            ReasonKind::BrokenReport => "broken-report".to_string(),
            ReasonKind::IncompleteScan => "incomplete-scan".to_string(),
            ReasonKind::MissingScanner => "missing-scanner".to_string(),
        };
        println!("  {mark} {label}: {}", r.message);
    }
    for note in &d.notes {
        println!("  note: {note}");
    }
    for w in &d.waivers.expired {
        println!(
            "  waiver expired: {}",
            run.policy.waivers[w.waiver].target()
        );
    }
    for w in &d.waivers.stale {
        println!(
            "  waiver stale (matches nothing): {}",
            run.policy.waivers[*w].target()
        );
    }
    println!("  wrote {}", written.join(", "));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_name_falls_back_to_upload_then_the_ci_project() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let all = env(&[
            ("DD_PRODUCT", "shop"),
            ("CI_PROJECT_NAME", "shop-android"),
            ("GITHUB_REPOSITORY", "acme/shop-ios"),
        ]);
        assert_eq!(product_name(Some("flag"), all).as_deref(), Some("flag"));
        assert_eq!(product_name(Some("  "), all).as_deref(), Some("shop"));
        assert_eq!(
            product_name(None, env(&[("CI_PROJECT_NAME", "shop-android")])).as_deref(),
            Some("shop-android")
        );
        assert_eq!(
            product_name(None, env(&[("GITHUB_REPOSITORY", "acme/shop-ios")])).as_deref(),
            Some("shop-ios")
        );
        assert_eq!(product_name(None, env(&[("DD_PRODUCT", "")])), None);
    }
}
