//! Bounded exponential backoff for HTTP calls: retried on connection errors, timeouts, 5xx and 429
//! (honouring `Retry-After`), never on other 4xx.

use std::time::Duration;

use reqwest::blocking::Response;

use crate::{snippet, ClientError};

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            base_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// Delay before attempt `n + 1` after attempt `n` (1-based) failed: base × 2^(n-1), capped.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }

    /// Runs `send` (which must build its request anew each time) until it succeeds, fails with
    /// a status that is not worth retrying, or attempts run out. `log` hears about each retry.
    pub fn run(
        &self,
        url: &str,
        mut send: impl FnMut() -> reqwest::Result<Response>,
        mut log: impl FnMut(&str),
    ) -> Result<Response, ClientError> {
        let attempts = self.attempts.max(1);
        let mut attempt = 1;
        loop {
            let (retryable, wait, error) = match send() {
                Ok(resp) if resp.status().is_success() => return Ok(resp),
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let retry_after = resp
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(parse_retry_after);
                    let body = resp.text().unwrap_or_default();
                    let retryable = status == 429 || status >= 500;
                    (
                        retryable,
                        retry_after,
                        ClientError::Status {
                            status,
                            url: url.to_string(),
                            body: snippet(&body, 400),
                        },
                    )
                }
                Err(e) => {
                    let retryable =
                        e.is_connect() || e.is_timeout() || e.is_request() || e.is_body();
                    (
                        retryable,
                        None,
                        ClientError::Request(format!("{url}: {}", describe(&e))),
                    )
                }
            };
            if !retryable || attempt >= attempts {
                return Err(error);
            }
            let wait = wait.map_or_else(|| self.backoff(attempt), |w| w.min(self.max_delay));
            log(&format!(
                "attempt {attempt}/{attempts} failed ({error}); retrying in {:.1} s",
                wait.as_secs_f64()
            ));
            std::thread::sleep(wait);
            attempt += 1;
        }
    }
}

/// `Retry-After: 120` (seconds). HTTP-date values are rare from these servers and fall back to
/// the backoff.
fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// reqwest's error with its causes, on one line.
fn describe(e: &reqwest::Error) -> String {
    if e.is_body() || e.is_request() {
        // A streamed request body (every blocking multipart upload) fails on its own channel
        // when the connection does: reqwest then reports "send failed because receiver is gone"
        // and loses the connection's error. Ask the network what happened instead.
        if let Some(reason) = e.url().and_then(unreachable_reason) {
            return reason;
        }
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

/// Why nothing can be sent to `url`'s host, when a plain TCP connection to it fails too (e.g.
/// "cannot connect to 127.0.0.1:9: Connection refused (os error 111)"); `None` when it connects.
fn unreachable_reason(url: &reqwest::Url) -> Option<String> {
    let addrs = match url.socket_addrs(|| None) {
        Ok(a) => a,
        Err(e) => {
            return Some(format!(
                "cannot resolve {}: {e}",
                url.host_str().unwrap_or("")
            ))
        }
    };
    let mut last = None;
    for addr in addrs {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5)) {
            Ok(_) => return None,
            Err(e) => last = Some(format!("cannot connect to {addr}: {e}")),
        }
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let p = RetryPolicy {
            attempts: 10,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(5),
        };
        let d: Vec<u64> = (1..=5).map(|n| p.backoff(n).as_secs()).collect();
        assert_eq!(d, vec![1, 2, 4, 5, 5]);
        assert_eq!(parse_retry_after(" 3 "), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }
}
