//! Waiting for something the app does in the background: a bounded poll of a condition, never a
//! fixed sleep.

use std::future::Future;
use std::time::{Duration, Instant};

/// How long a condition may take before the test fails.
pub const LIMIT: Duration = Duration::from_secs(15);

/// Polls `done` until it holds; fails the test after [`LIMIT`].
pub async fn wait_until<F: Future<Output = bool>>(done: impl FnMut() -> F) {
    wait_until_within(LIMIT, done).await;
}

/// Polls `done` until it holds; fails the test after `limit`.
pub async fn wait_until_within<F: Future<Output = bool>>(
    limit: Duration,
    mut done: impl FnMut() -> F,
) {
    let started = Instant::now();
    while !done().await {
        assert!(
            started.elapsed() < limit,
            "condition never met in {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
