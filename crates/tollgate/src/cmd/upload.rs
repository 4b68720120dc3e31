use std::time::Duration;

use clap::Args;
use tollgate_client::defectdojo::{self, UploadOptions};
use tollgate_client::RetryPolicy;
use tollgate_policy::Context;

use crate::exit;
use crate::input::{parse_size, read_report, report_error, scanner_arg, ScannerArg, Scanners};

#[derive(Args)]
pub struct UploadArgs {
    /// Scanner reports (the same files the gate read).
    #[arg(required = true)]
    reports: Vec<String>,
    /// The report format instead of detecting it (see `tollgate formats`): `FORMAT` for every
    /// report, `FORMAT=FILE` for one (repeatable). Needed for a report that names no scanner
    /// (`null`, `[]`: a clean Trivy or Gitleaks scan).
    #[arg(long, value_name = "FORMAT[=FILE]", value_parser = scanner_arg)]
    scanner: Vec<ScannerArg>,
    /// DefectDojo base URL.
    #[arg(long, env = "DEFECTDOJO_URL")]
    url: String,
    /// DefectDojo API v2 token (sent as `Authorization: Token …`).
    #[arg(long, env = "DEFECTDOJO_TOKEN", hide_env_values = true)]
    token: String,
    /// Product name.
    #[arg(long, env = "DD_PRODUCT")]
    product: String,
    /// Product type, for products DefectDojo must create. Default: sent only when the server
    /// refuses to create the product without one, then the CI namespace (CI_PROJECT_NAMESPACE,
    /// GITHUB_REPOSITORY_OWNER) or else "Tollgate".
    #[arg(long, env = "DD_PRODUCT_TYPE")]
    product_type: Option<String>,
    /// Engagement name (default: the scan lane, e.g. mainline-sast, image-security, mobile-security).
    #[arg(long)]
    engagement: Option<String>,
    /// Test title (default: `<scanner>-<branch>`).
    #[arg(long)]
    test_title: Option<String>,
    /// Do not let DefectDojo create missing product / engagement / test.
    #[arg(long)]
    no_auto_create_context: bool,
    /// Keep findings that this scan no longer reports open (default: DefectDojo closes them).
    #[arg(long)]
    keep_old_findings: bool,
    /// Do not reopen mitigated findings that come back.
    #[arg(long)]
    do_not_reactivate: bool,
    /// Findings below this severity are not imported (Info, Low, Medium, High, Critical).
    #[arg(long)]
    minimum_severity: Option<String>,
    /// Tags for the test (repeatable).
    #[arg(long = "tag")]
    tags: Vec<String>,
    /// Branch (default: from the CI variables).
    #[arg(long)]
    branch: Option<String>,
    /// Version (default: the CI tag).
    #[arg(long = "release-version")]
    release_version: Option<String>,
    /// Attempts per report, the first included.
    #[arg(long, default_value_t = 5)]
    attempts: u32,
    /// Seconds before the first retry (doubles each time, at most 60).
    #[arg(long, default_value_t = 2.0)]
    retry_delay: f64,
    /// Seconds each HTTP request may take.
    #[arg(long, default_value_t = 120)]
    timeout: u64,
    /// Show what would be sent, send nothing.
    #[arg(long)]
    dry_run: bool,
    /// Refuse report files larger than this.
    #[arg(long, value_parser = parse_size, default_value = "1G")]
    max_size: u64,
}

/// The product type used when none is given and the server must create the product: the CI
/// namespace (GitLab's group path, GitHub's repository owner), else this.
pub const DEFAULT_PRODUCT_TYPE: &str = "Tollgate";

fn fallback_product_type(var: impl Fn(&str) -> Option<String>) -> String {
    let given = |k: &str| {
        var(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    given("CI_PROJECT_NAMESPACE")
        .or_else(|| given("GITHUB_REPOSITORY_OWNER"))
        .or_else(|| {
            given("GITHUB_REPOSITORY")
                .and_then(|r| r.split_once('/').map(|(owner, _)| owner.to_string()))
                .filter(|o| !o.is_empty())
        })
        .unwrap_or_else(|| DEFAULT_PRODUCT_TYPE.to_string())
}

/// Uploads every report; the gate's decision is neither read nor changed here.
pub fn run(args: UploadArgs) -> u8 {
    let ctx = Context::from_env(|k| std::env::var(k).ok());
    let build_id = std::env::var("CI_PIPELINE_ID")
        .or_else(|_| std::env::var("GITHUB_RUN_ID"))
        .ok()
        .filter(|s| !s.is_empty());
    let opts = UploadOptions {
        product: args.product.clone(),
        product_type: args.product_type.clone().filter(|t| !t.trim().is_empty()),
        fallback_product_type: Some(fallback_product_type(|k| std::env::var(k).ok())),
        engagement: args.engagement.clone(),
        test_title: args.test_title.clone(),
        auto_create_context: !args.no_auto_create_context,
        close_old_findings: !args.keep_old_findings,
        do_not_reactivate: args.do_not_reactivate,
        minimum_severity: args.minimum_severity.clone(),
        tags: args.tags.clone(),
        branch: args.branch.clone().or(ctx.branch.clone()),
        commit: ctx.commit.clone(),
        build_id,
        version: args.release_version.clone().or(ctx.tag.clone()),
        scan_date: None,
    };
    let retry = RetryPolicy {
        attempts: args.attempts.max(1),
        base_delay: Duration::from_secs_f64(args.retry_delay.max(0.0)),
        max_delay: Duration::from_secs(60),
    };
    let scanners = match Scanners::new(&args.scanner, &args.reports) {
        Ok(s) => s,
        Err(e) => {
            report_error(&e);
            return exit::INPUT_ERROR;
        }
    };
    // Every report is read and parsed before anything is sent: one that cannot be read, or
    // names no scanner, stops the whole upload (a reimport under a guessed scanner would close
    // that scanner's real findings).
    let counted_once = crate::same_scan::plan(&args.reports, &scanners, args.max_size);
    let mut uploads = Vec::with_capacity(args.reports.len());
    for report in &args.reports {
        if let Some(c) = counted_once.iter().find(|c| c.file == *report) {
            // Uploaded too, the scorecard would be a second test holding the same issues.
            println!("not uploading {}", c.note());
            continue;
        }
        let bytes = match read_report(report, args.max_size) {
            Ok(b) => b,
            Err(e) => {
                report_error(&e);
                return exit::INPUT_ERROR;
            }
        };
        let (meta, findings) =
            match tollgate_parsers::parse_to_vec(&bytes, scanners.for_report(report)) {
                Ok(x) => x,
                Err(e) => {
                    report_error(&format!("{report}: {e}"));
                    return exit::INPUT_ERROR;
                }
            };
        let Some(format) = tollgate_parsers::Format::from_id(&meta.format) else {
            report_error(&format!("{report}: unknown format {}", meta.format));
            return exit::INPUT_ERROR;
        };
        uploads.push(defectdojo::prepare(report, bytes, format, &findings, &opts));
    }
    let mut failed = 0;
    for upload in &uploads {
        let report = &upload.report;
        let format = upload.format;
        let fields: Vec<String> = upload
            .fields
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        if args.dry_run {
            println!(
                "would POST {}/api/v2/reimport-scan/ file={} ({} bytes{}) {}",
                args.url.trim_end_matches('/'),
                upload.file_name,
                upload.body.len(),
                if upload.scan_type == "Generic Findings Import"
                    && format != tollgate_parsers::Format::Generic
                {
                    ", converted to Generic Findings Import"
                } else {
                    ""
                },
                fields.join(" ")
            );
            continue;
        }
        let result = defectdojo::send(
            &args.url,
            &args.token,
            upload,
            &retry,
            Duration::from_secs(args.timeout),
            |m| eprintln!("tollgate upload: {report}: {m}"),
        );
        match result {
            Ok(outcome) => {
                for w in &outcome.warnings {
                    eprintln!("tollgate upload: {report}: warning from the hub: {w}");
                }
                let stats: Vec<String> = ["created", "closed", "reactivated", "untouched"]
                    .iter()
                    .map(|k| {
                        format!(
                            "{} {k}",
                            outcome
                                .delta
                                .get(*k)
                                .map_or("?".to_string(), |n| n.to_string())
                        )
                    })
                    .collect();
                println!(
                    "uploaded {report} as {:?} to {} / {}: {}{}",
                    upload.scan_type,
                    opts.product,
                    upload
                        .fields
                        .iter()
                        .find(|(k, _)| k == "engagement_name")
                        .map_or("", |(_, v)| v.as_str()),
                    stats.join(", "),
                    outcome
                        .test_id
                        .map_or(String::new(), |t| format!(" (test {t})"))
                );
            }
            Err(e) => {
                report_error(&format!("{report}: upload failed: {e}"));
                failed += 1;
            }
        }
    }
    if failed > 0 {
        eprintln!("tollgate upload: {failed} report(s) not uploaded (exit 3; the gate's decision is unaffected)");
        exit::UPLOAD_FAILED
    } else {
        exit::OK
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fallback_product_type_is_the_ci_namespace_else_the_default() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            fallback_product_type(env(&[("CI_PROJECT_NAMESPACE", "acme/web")])),
            "acme/web"
        );
        assert_eq!(
            fallback_product_type(env(&[("GITHUB_REPOSITORY_OWNER", "acme")])),
            "acme"
        );
        assert_eq!(
            fallback_product_type(env(&[("GITHUB_REPOSITORY", "octo/shop")])),
            "octo"
        );
        assert_eq!(
            fallback_product_type(env(&[("CI_PROJECT_NAMESPACE", " ")])),
            DEFAULT_PRODUCT_TYPE
        );
        assert_eq!(fallback_product_type(env(&[])), DEFAULT_PRODUCT_TYPE);
    }
}
