//! `tollgate promote`: tells a Tollgate hub that a release artifact was promoted to an
//! environment, so the hub can count the artifacts that were scanned (a gate run named their
//! SHA-256) before they were promoted (docs/metrics.md).

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use tollgate_client::hub::{self, PromotionRecord};
use tollgate_client::RetryPolicy;

use crate::cmd::gate::{product_name, seconds_arg, sha256_arg, sha256_file};
use crate::exit;

#[derive(Args)]
pub struct PromoteArgs {
    /// The hub's base URL.
    #[arg(long, env = "TOLLGATE_HUB_URL", value_name = "URL")]
    url: String,
    /// The hub's API token (`import` scope), sent as `Authorization: Token …`.
    #[arg(
        long,
        env = "TOLLGATE_HUB_TOKEN",
        hide_env_values = true,
        value_name = "KEY"
    )]
    hub_token: Option<String>,
    /// Product at the hub. Default: DD_PRODUCT, else the CI project name (as `gate`).
    #[arg(long, env = "TOLLGATE_PRODUCT", value_name = "NAME")]
    product: Option<String>,
    /// The promoted artifact (apk, ipa, image tarball): its SHA-256 is sent.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "artifact_sha256",
        required_unless_present = "artifact_sha256"
    )]
    artifact: Option<PathBuf>,
    /// The promoted artifact's SHA-256, when the file is not at hand.
    #[arg(long, value_name = "HEX", value_parser = sha256_arg)]
    artifact_sha256: Option<String>,
    /// The release (tag) the artifact is. Default: CI_COMMIT_TAG / GITHUB_REF_NAME of a tag.
    #[arg(long, value_name = "TAG")]
    release_tag: Option<String>,
    /// Where it was promoted to (e.g. production, beta, app-store).
    #[arg(long, value_name = "NAME")]
    environment: String,
    /// Exit 1 when no gate run had named the artifact before this promotion (it is recorded
    /// either way).
    #[arg(long)]
    require_scanned: bool,
    /// Attempts per hub request, the first included.
    #[arg(long, default_value_t = 5, value_name = "N")]
    hub_attempts: u32,
    /// Seconds before the first retry (doubles each time, at most 60).
    #[arg(long, default_value_t = 2.0, value_name = "S", value_parser = seconds_arg)]
    hub_retry_delay: f64,
    /// Seconds each hub request may take.
    #[arg(long, default_value_t = 120, value_name = "S")]
    hub_timeout: u64,
}

/// The release tag: the flag, else the CI's tag of this pipeline.
fn release_tag(flag: Option<&str>, var: impl Fn(&str) -> Option<String>) -> Option<String> {
    let given = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    given(flag.map(str::to_string))
        .or_else(|| given(var("CI_COMMIT_TAG")))
        .or_else(|| {
            (var("GITHUB_REF_TYPE").as_deref() == Some("tag"))
                .then(|| given(var("GITHUB_REF_NAME")))
                .flatten()
        })
}

pub fn run(args: PromoteArgs) -> u8 {
    let input = (|| {
        hub::check_base_url(&args.url).map_err(|e| format!("--url: {e}"))?;
        let token = args
            .hub_token
            .clone()
            .filter(|t| !t.trim().is_empty())
            .ok_or("the hub's API token is missing: pass --hub-token or set TOLLGATE_HUB_TOKEN")?;
        let product = product_name(args.product.as_deref(), |k| std::env::var(k).ok()).ok_or(
            "no product: pass --product or set TOLLGATE_PRODUCT (DD_PRODUCT, CI_PROJECT_NAME or GITHUB_REPOSITORY are used when set)",
        )?;
        let environment = args.environment.trim().to_string();
        if environment.is_empty() {
            return Err("--environment must not be empty".to_string());
        }
        let sha = match (&args.artifact, &args.artifact_sha256) {
            (Some(file), _) => {
                sha256_file(file).map_err(|e| format!("--artifact {}: {e}", file.display()))?
            }
            (None, Some(hex)) => hex.clone(),
            (None, None) => return Err("pass --artifact FILE or --artifact-sha256 HEX".into()),
        };
        Ok((
            token,
            PromotionRecord {
                product,
                artifact_sha256: sha,
                release_tag: release_tag(args.release_tag.as_deref(), |k| std::env::var(k).ok()),
                environment,
            },
        ))
    })();
    let (token, record) = match input {
        Ok(x) => x,
        Err(e) => {
            eprintln!("tollgate promote: {e}");
            return exit::INPUT_ERROR;
        }
    };
    let h = hub::Hub {
        base_url: &args.url,
        token: &token,
        retry: RetryPolicy {
            attempts: args.hub_attempts.max(1),
            base_delay: Duration::from_secs_f64(args.hub_retry_delay.min(60.0)),
            max_delay: Duration::from_secs(60),
        },
        timeout: Duration::from_secs(args.hub_timeout),
    };
    match hub::record_promotion(&h, &record, |m| eprintln!("tollgate promote: {m}")) {
        Ok(answer) => {
            println!(
                "promotion {} recorded: {} of {} to {}{}; {}",
                answer.id,
                record.artifact_sha256,
                record.product,
                record.environment,
                record
                    .release_tag
                    .as_deref()
                    .map(|t| format!(" (release {t})"))
                    .unwrap_or_default(),
                if answer.scanned {
                    "a gate run scanned it first"
                } else {
                    "NO gate run had scanned it before"
                }
            );
            if args.require_scanned && !answer.scanned {
                eprintln!(
                    "tollgate promote: --require-scanned: no gate run of {} named {} before this promotion",
                    record.product, record.artifact_sha256
                );
                exit::BLOCKED
            } else {
                exit::OK
            }
        }
        Err(e) => {
            eprintln!("tollgate promote: the promotion was not recorded: {e}");
            match e {
                hub::HubError::Input(_) => exit::INPUT_ERROR,
                _ => exit::UPLOAD_FAILED,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_release_tag_falls_back_to_the_ci_tag() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            release_tag(Some("v2"), env(&[("CI_COMMIT_TAG", "v1")])).as_deref(),
            Some("v2")
        );
        assert_eq!(
            release_tag(None, env(&[("CI_COMMIT_TAG", "v1")])).as_deref(),
            Some("v1")
        );
        assert_eq!(
            release_tag(
                None,
                env(&[("GITHUB_REF_TYPE", "tag"), ("GITHUB_REF_NAME", "v3")])
            )
            .as_deref(),
            Some("v3")
        );
        assert_eq!(
            release_tag(
                None,
                env(&[("GITHUB_REF_TYPE", "branch"), ("GITHUB_REF_NAME", "main")])
            ),
            None
        );
    }
}
