use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use tollgate_client::results_api::{self, PullError, PullQuery};
use tollgate_client::RetryPolicy;

use crate::exit;
use crate::input::report_error;

#[derive(Args)]
pub struct PullArgs {
    /// The Results API: Data Theorem's (https://api.securetheorem.com) or a Tollgate hub.
    #[arg(long, env = "RESULTS_API_URL")]
    url: String,
    /// API key, sent as `Authorization: APIKey …`.
    #[arg(long, env = "RESULTS_API_KEY", hide_env_values = true)]
    api_key: String,
    /// Only findings of this mobile app.
    #[arg(long)]
    mobile_app_id: Option<String>,
    /// OPEN (NEW or OPEN) or CLOSED (any CLOSED_*).
    #[arg(long, value_parser = ["OPEN", "CLOSED"])]
    status_group: Option<String>,
    /// Only findings that may have changed since this date-time (ISO 8601).
    #[arg(long)]
    results_since: Option<String>,
    /// Where to write the report (one list page holding every finding).
    #[arg(short, long, default_value = "security-findings.json")]
    output: PathBuf,
    /// Attempts per page, the first included.
    #[arg(long, default_value_t = 5)]
    attempts: u32,
    /// Seconds before the first retry (doubles each time, at most 60).
    #[arg(long, default_value_t = 2.0)]
    retry_delay: f64,
    /// Seconds each request may take.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
}

/// Pulls every page; writes the report only when every page was read.
pub fn run(a: PullArgs) -> u8 {
    let query = PullQuery {
        mobile_app_id: a.mobile_app_id.clone(),
        status_group: a.status_group.clone(),
        results_since: a.results_since.clone(),
    };
    let retry = RetryPolicy {
        attempts: a.attempts.max(1),
        base_delay: Duration::from_secs_f64(a.retry_delay.max(0.0)),
        max_delay: Duration::from_secs(60),
    };
    let pulled = match results_api::pull(
        &a.url,
        &a.api_key,
        &query,
        &retry,
        Duration::from_secs(a.timeout),
        |m| eprintln!("tollgate pull: {m}"),
    ) {
        Ok(p) => p,
        Err(PullError::Http(e)) => {
            report_error(&format!("pull failed: {e}"));
            return exit::UPLOAD_FAILED;
        }
        Err(PullError::Protocol(e)) => {
            report_error(&format!("{}: {e}", results_api::list_url(&a.url)));
            return exit::INPUT_ERROR;
        }
    };
    if let Some(total) = pulled
        .total_count
        .filter(|t| *t != pulled.findings.len() as u64)
    {
        eprintln!(
            "tollgate pull: warning: the server announced {total} findings and gave {}: findings changed while paging?",
            pulled.findings.len()
        );
    }
    let written = crate::outfile::write_bytes(&a.output, &pulled.to_report());
    if let Err(e) = written {
        report_error(&format!("{}: cannot write: {e}", a.output.display()));
        return exit::INPUT_ERROR;
    }
    println!(
        "wrote {} ({} findings from {} page{})",
        a.output.display(),
        pulled.findings.len(),
        pulled.pages,
        if pulled.pages == 1 { "" } else { "s" }
    );
    exit::OK
}
