//! Tollgate's HTTP clients: the DefectDojo reimport uploader, the MobSF scan client, the
//! Results API puller and the gate's hub client (baseline, gate-run record).
//!
//! Blocking (CI steps do one thing at a time), rustls with the ring provider, bounded retries with
//! exponential backoff that honour `Retry-After`. A multipart body cannot be cloned, so every
//! attempt builds its body anew. These clients never decide anything about a release.

pub mod defectdojo;
pub mod hub;
pub mod mobsf;
pub mod results_api;
mod retry;

pub use retry::RetryPolicy;

use std::time::Duration;

/// An HTTP failure, after retries where they apply.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{0}")]
    Request(String),
    /// The server answered with an error status that retrying cannot fix (or retries ran out).
    #[error("HTTP {status} from {url}: {body}")]
    Status {
        status: u16,
        url: String,
        body: String,
    },
    #[error("{0}")]
    Input(String),
}

/// A blocking client with a timeout, using rustls with the ring provider.
pub fn http_client(timeout: Duration) -> Result<reqwest::blocking::Client, ClientError> {
    // Installing twice is harmless (the second call reports the first provider).
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder()
        .timeout(timeout)
        .user_agent(concat!("tollgate/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| ClientError::Request(format!("cannot set up the HTTP client: {e}")))
}

/// The first `max` characters of a response body, for error messages.
pub(crate) fn snippet(body: &str, max: usize) -> String {
    let one_line: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > max {
        let mut s: String = one_line.chars().take(max).collect();
        s.push('…');
        s
    } else {
        one_line
    }
}
