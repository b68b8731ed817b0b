//! When and how long to retry a request, mirroring MLflow's Python client (urllib3 `Retry`).

use std::time::Duration;

/// MLflow's defaults: 7 retries, backoff factor 2, backoff capped at 120 s, `Retry-After` honoured.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (`MLFLOW_HTTP_REQUEST_MAX_RETRIES`, default 7, at most 10).
    pub max_retries: u32,
    /// Backoff factor in seconds (`MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR`, default 2).
    pub backoff_factor: f64,
    /// Upper bound of one backoff sleep (120 s).
    pub backoff_max: Duration,
    /// Sleep for the server's `Retry-After` when it sends one.
    pub respect_retry_after: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 7,
            backoff_factor: 2.0,
            backoff_max: Duration::from_secs(120),
            respect_retry_after: true,
        }
    }
}

/// Whether repeating a call could apply it twice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallKind {
    /// Safe to repeat (reads, log-batch with fixed timestamps, set-tag, update).
    Idempotent,
    /// Creates something (runs/create, experiments/create): repeat only when it surely did not apply.
    Create,
}

/// How one attempt failed, as far as retrying is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The request never reached the server (connection refused, DNS, TLS handshake).
    Connect,
    /// The request may have been applied (read timeout, connection reset after sending).
    Ambiguous,
    /// The server answered with this HTTP status.
    Status(u16),
}

impl RetryPolicy {
    /// True when a failed attempt of this kind may be repeated (budget aside).
    pub fn is_retryable(kind: CallKind, failure: Failure) -> bool {
        matches!(
            (kind, failure),
            (_, Failure::Connect | Failure::Status(408 | 429))
                | (
                    CallKind::Idempotent,
                    Failure::Ambiguous | Failure::Status(500 | 502 | 503 | 504)
                )
        )
    }

    /// The sleep before retry number `retry` (1-based): 0, then factor·2^(n−1), capped; or `Retry-After`.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        if self.respect_retry_after {
            if let Some(after) = retry_after {
                return after.min(self.backoff_max);
            }
        }
        if retry <= 1 {
            return Duration::ZERO;
        }
        let secs = self.backoff_factor * 2f64.powi(retry.saturating_sub(1).min(30) as i32);
        if !secs.is_finite() || secs <= 0.0 {
            return Duration::ZERO;
        }
        Duration::from_secs_f64(secs).min(self.backoff_max)
    }

    /// A policy that never retries (used when the server is already known to be down).
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }
    }
}

/// Parses a `Retry-After` header given in seconds (HTTP dates are ignored).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let secs: f64 = value.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mlflow_default_backoff_schedule() {
        let p = RetryPolicy::default();
        let secs: Vec<u64> = (1..=7).map(|n| p.delay(n, None).as_secs()).collect();
        assert_eq!(secs, [0, 4, 8, 16, 32, 64, 120]);
    }

    #[test]
    fn retry_after_wins_and_is_capped() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.delay(3, Some(Duration::from_secs(1))),
            Duration::from_secs(1)
        );
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(999))),
            Duration::from_secs(120)
        );
        let ignore = RetryPolicy {
            respect_retry_after: false,
            ..p
        };
        assert_eq!(
            ignore.delay(1, Some(Duration::from_secs(5))),
            Duration::ZERO
        );
        assert_eq!(parse_retry_after(" 3 "), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }

    #[test]
    fn creates_are_not_retried_after_they_may_have_applied() {
        use CallKind::*;
        use Failure::*;
        for kind in [Idempotent, Create] {
            assert!(RetryPolicy::is_retryable(kind, Connect));
            assert!(RetryPolicy::is_retryable(kind, Status(408)));
            assert!(RetryPolicy::is_retryable(kind, Status(429)));
            for status in [400, 401, 403, 404, 405] {
                assert!(!RetryPolicy::is_retryable(kind, Status(status)));
            }
        }
        for status in [500, 502, 503, 504] {
            assert!(RetryPolicy::is_retryable(Idempotent, Status(status)));
            assert!(!RetryPolicy::is_retryable(Create, Status(status)));
        }
        assert!(RetryPolicy::is_retryable(Idempotent, Ambiguous));
        assert!(!RetryPolicy::is_retryable(Create, Ambiguous));
    }
}
