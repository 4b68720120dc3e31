use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use tollgate_client::mobsf::MobsfClient;
use tollgate_client::RetryPolicy;

use crate::exit;
use crate::input::{parse_size, read_report, report_error};

#[derive(Args)]
pub struct MobsfArgs {
    #[command(subcommand)]
    command: MobsfCommand,
}

#[derive(Subcommand)]
enum MobsfCommand {
    /// Upload an app to MobSF, scan it, and write its report_json (and scorecard).
    Scan(ScanArgs),
}

#[derive(Args)]
struct ScanArgs {
    /// The app: .apk, .aab, .xapk, .ipa, .zip.
    app: String,
    #[arg(long, env = "MOBSF_URL")]
    url: String,
    #[arg(long, env = "MOBSF_API_KEY", hide_env_values = true)]
    api_key: String,
    /// Where to write the report.
    #[arg(short, long, default_value = "mobsf-report.json")]
    output: PathBuf,
    /// Where to write the scorecard (default: beside the report, `.scorecard.json`).
    #[arg(long)]
    scorecard: Option<PathBuf>,
    /// Seconds the synchronous scan may take.
    #[arg(long, default_value_t = 1800)]
    timeout: u64,
    #[arg(long, value_parser = parse_size, default_value = "1G")]
    max_size: u64,
}

pub fn run(args: MobsfArgs) -> u8 {
    match args.command {
        MobsfCommand::Scan(a) => scan(a),
    }
}

fn scan(a: ScanArgs) -> u8 {
    let app = match read_report(&a.app, a.max_size) {
        Ok(b) => b,
        Err(e) => {
            report_error(&e);
            return exit::INPUT_ERROR;
        }
    };
    let name = std::path::Path::new(&a.app)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "app.apk".into());
    let retry = RetryPolicy {
        attempts: 3,
        ..RetryPolicy::default()
    };
    let client = match MobsfClient::new(&a.url, &a.api_key, Duration::from_secs(a.timeout), retry) {
        Ok(c) => c,
        Err(e) => {
            report_error(&e);
            return exit::UPLOAD_FAILED;
        }
    };
    let result = match client.scan(&name, app, &mut |m| eprintln!("tollgate mobsf: {m}")) {
        Ok(r) => r,
        Err(e) => {
            report_error(&format!("{}: MobSF scan failed: {e}", a.app));
            return exit::UPLOAD_FAILED;
        }
    };
    // A scan MobSF could only finish in part (no decompiler, a failed step) is said here, where
    // it can be fixed, not first at the gate.
    if let Ok((meta, _)) =
        tollgate_parsers::parse_to_vec(&result.report_json, Some(tollgate_parsers::Format::Mobsf))
    {
        for why in &meta.incomplete {
            eprintln!(
                "tollgate mobsf: warning: {}: the scan is incomplete: {why}",
                a.app
            );
        }
        if !meta.incomplete.is_empty() {
            eprintln!(
                "tollgate mobsf: warning: `tollgate gate` blocks on an incomplete scan (fail closed) unless run with --on-error open"
            );
        }
    }
    let scorecard_path = a
        .scorecard
        .clone()
        .unwrap_or_else(|| a.output.with_extension("scorecard.json"));
    let mut writes = vec![(a.output.clone(), result.report_json)];
    if let Some(s) = result.scorecard {
        writes.push((scorecard_path, s));
    }
    for (path, bytes) in writes {
        if let Err(e) = crate::outfile::write_bytes(&path, &bytes) {
            report_error(&format!("{}: cannot write: {e}", path.display()));
            return exit::INPUT_ERROR;
        }
        println!(
            "wrote {} ({} bytes, MobSF hash {})",
            path.display(),
            bytes.len(),
            result.hash
        );
    }
    exit::OK
}
