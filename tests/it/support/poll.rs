//! Waiting for something another task or process does: check every 20 ms, give up at a
//! deadline. The check is the synchronisation; the deadline only bounds a failing test.

use std::future::Future;
use std::time::{Duration, Instant};

/// How often a check runs.
const EVERY: Duration = Duration::from_millis(20);

/// Run `check` until it returns `Some`, for at most `limit`; `None` when time ran out.
pub async fn poll_within<T, F, Fut>(limit: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check().await {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(EVERY).await;
    }
}

/// Run `check` until it returns `Some`; panic naming `what` after `limit`.
pub async fn poll<T, F, Fut>(limit: Duration, what: &str, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    poll_within(limit, check)
        .await
        .unwrap_or_else(|| panic!("timed out waiting for {what}"))
}
