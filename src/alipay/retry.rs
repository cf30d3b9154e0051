//! Retrying reads: throttling slows down and retries, transient errors back off with
//! jitter, an unverifiable answer is retried twice (a third bad signature in a row before
//! any answer verified is the gateway's "wrong Alipay public key" configuration error).
//! Writes never come through here.

use std::future::Future;
use std::time::Duration;

use rand::Rng;
use tracing::warn;

use crate::alipay::{AlipayError, ErrorClass};

/// Run `call` until it succeeds, fails permanently, or `max_attempts` are used.
pub async fn read_with_retries<T, F, Fut>(max_attempts: u32, mut call: F) -> Result<T, AlipayError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AlipayError>>,
{
    let mut attempt = 0u32;
    let mut unverifiable = 0u32;
    let mut throttled_since: Option<std::time::Instant> = None;
    loop {
        attempt += 1;
        let err = match call().await {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        let retry = match err.class {
            // A throttled call was not executed, and the gateway client already paused
            // every caller: retry without using up an attempt, for up to THROTTLE_BUDGET.
            ErrorClass::Throttled => {
                let since = *throttled_since.get_or_insert_with(std::time::Instant::now);
                if since.elapsed() < THROTTLE_BUDGET {
                    attempt -= 1;
                    continue;
                }
                false
            }
            ErrorClass::Transport | ErrorClass::OutcomeUnknown => true,
            ErrorClass::Unverifiable => {
                unverifiable += 1;
                unverifiable < UNVERIFIABLE_ATTEMPTS
            }
            ErrorClass::Business
            | ErrorClass::Deferred
            | ErrorClass::AlreadyAccepted
            | ErrorClass::Config => false,
        };
        if !retry || attempt >= max_attempts.max(1) {
            return Err(err);
        }
        let delay = backoff(attempt);
        warn!(method = %err.method, attempt, delay_ms = delay.as_millis() as u64, error = %err, "Read failed; retrying.");
        tokio::time::sleep(delay).await;
    }
}

/// Attempts of a read whose answers do not verify (tampered in transit, or a wrong key).
pub const UNVERIFIABLE_ATTEMPTS: u32 = 3;

/// How long one call may keep being throttled (40005) before it is given up. Throttled
/// calls are never executed, so retrying them is always safe; an app whose quota is
/// exhausted for the day still ends its run.
pub const THROTTLE_BUDGET: Duration = Duration::from_secs(300);

/// Exponential backoff with full jitter: up to 100 ms × 2^(attempt-1), capped at 5 s.
pub fn backoff(attempt: u32) -> Duration {
    let cap = (100u64 << attempt.saturating_sub(1).min(6)).min(5_000);
    Duration::from_millis(rand::rng().random_range(cap / 2..=cap))
}
