//! Shared service: the job queue's workers. They lease due jobs from the shared database and hand
//! each to its owner ([`JobOwner`]: the outbox, the product sync, the customer import), and run the
//! periodic chores `startup` gives them. Must not depend on `state`, on incoming modules or on any
//! job's owner: owners import this module for [`JobError`] and [`run_now`], never the reverse.
//!
//! Workers claim jobs with a lease, so any number of instances can run them; a job held by a
//! killed instance is claimed again when its lease runs out.

mod error;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::config::JobSettings;
use crate::store::{now_ms, Job, Store, StoreError};
pub use error::JobError;

const PRUNE_EVERY: Duration = Duration::from_secs(600);
/// How long the LoyaltyAPI call log is kept.
const KEEP_CALLS_MS: i64 = 7 * 24 * 3600 * 1000;

/// The queue itself: where jobs live and how they are leased. Cheap to clone.
#[derive(Clone)]
pub struct Queue {
    pub store: Store,
    pub settings: Arc<JobSettings>,
}

/// Who runs a kind of job. The queue records the outcome: done, retried with backoff
/// ([`JobError::Retry`], [`JobError::Store`]) or failed for good; what a failure means for the
/// owner's own records is the owner's to write before it answers.
pub trait JobOwner: Send + Sync {
    /// Whether it runs jobs of `kind`.
    fn runs(&self, kind: &str) -> bool;
    fn run<'a>(&'a self, job: &'a Job) -> BoxFuture<'a, Result<(), JobError>>;
}

/// Periodic work the workers do between jobs (sweeping expired reserves, queueing due syncs).
pub struct Chore {
    name: &'static str,
    every: Duration,
    /// Whether it runs as the workers start, or only after `every`.
    at_start: bool,
    work: Box<dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync>,
}

impl Chore {
    pub fn new<F>(name: &'static str, every: Duration, at_start: bool, work: F) -> Chore
    where
        F: Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync + 'static,
    {
        Chore {
            name,
            every,
            at_start,
            work: Box::new(work),
        }
    }
}

/// Everything the workers run.
pub struct Workers {
    pub queue: Queue,
    pub owners: Vec<Arc<dyn JobOwner>>,
    pub chores: Vec<Chore>,
}

/// Runs the workers until `shutdown` is cancelled; the jobs in hand are finished first, others
/// stay claimable.
pub async fn run(workers: Workers, shutdown: CancellationToken) {
    let worker = format!("worker-{}", uuid::Uuid::new_v4());
    let idle_poll = Duration::from_millis(workers.queue.settings.poll_interval_ms);
    let owners: Vec<&dyn JobOwner> = workers.owners.iter().map(|owner| &**owner).collect();
    let start = tokio::time::Instant::now();
    let mut last_run: Vec<Option<tokio::time::Instant>> = workers
        .chores
        .iter()
        .map(|chore| (!chore.at_start).then_some(start))
        .collect();
    let prune = Chore::new("pruning", PRUNE_EVERY, false, {
        let store = workers.queue.store.clone();
        move || {
            let store = store.clone();
            Box::pin(async move {
                store
                    .prune(now_ms(), KEEP_CALLS_MS)
                    .await
                    .map(|_| ())
                    .map_err(|error| error.to_string())
            })
        }
    });
    let mut last_prune = Some(start);
    while !shutdown.is_cancelled() {
        let busy = match run_due_jobs(&workers.queue, &owners, &worker).await {
            Ok(count) => count > 0,
            Err(error) => {
                tracing::warn!(%error, "job queue unavailable");
                false
            }
        };
        for (chore, last) in workers.chores.iter().zip(last_run.iter_mut()) {
            run_chore_if_due(chore, last).await;
        }
        run_chore_if_due(&prune, &mut last_prune).await;
        if !busy {
            tokio::select! {
                () = shutdown.cancelled() => {},
                () = tokio::time::sleep(idle_poll) => {},
            }
        }
    }
    tracing::info!(%worker, "workers stopped");
}

async fn run_chore_if_due(chore: &Chore, last: &mut Option<tokio::time::Instant>) {
    if last.is_some_and(|at| at.elapsed() < chore.every) {
        return;
    }
    *last = Some(tokio::time::Instant::now());
    if let Err(error) = (chore.work)().await {
        tracing::warn!(chore = chore.name, %error, "periodic work failed");
    }
}

/// Claims and runs one batch of due jobs (several at a time); returns how many were claimed.
async fn run_due_jobs(
    queue: &Queue,
    owners: &[&dyn JobOwner],
    worker: &str,
) -> Result<usize, StoreError> {
    let lease_ms = i64::try_from(queue.settings.lease_ms).unwrap_or(i64::MAX);
    let batch = i64::try_from(queue.settings.concurrency * 2).unwrap_or(16);
    let jobs = queue.store.claim_jobs(worker, batch, lease_ms).await?;
    let count = jobs.len();
    run_leased(queue, owners, worker, jobs, lease_ms).await?;
    Ok(count)
}

/// Runs the job with this dedupe key here and now, holding its lease as a worker does (the
/// request that recorded an operation, an administrator's retry); `false` when it was not waiting
/// (a worker has it, or it ended). Without the lease, an attempt slower than its job's grace
/// (queued behind the customer's reserve lock, a slow BonusPlus) would be repeated by a worker
/// while it still runs: one sale sent twice.
pub async fn run_now(
    queue: &Queue,
    owner: &dyn JobOwner,
    dedupe_key: &str,
) -> Result<bool, StoreError> {
    let worker = format!("inline-{}", uuid::Uuid::new_v4());
    // The grace is this attempt's lease: renewed while it runs, so a crash during it leaves the job
    // to the workers as soon as before.
    let lease_ms = i64::try_from(queue.settings.inline_grace_ms).unwrap_or(i64::MAX);
    let Some(job) = queue
        .store
        .claim_job_by_key(dedupe_key, &worker, lease_ms)
        .await?
    else {
        return Ok(false);
    };
    run_leased(queue, &[owner], &worker, vec![job], lease_ms).await?;
    Ok(true)
}

/// Runs claimed jobs (several at a time). While they run, a heartbeat renews the lease of every
/// job not finished yet, so a slow BonusPlus never lets another instance take a job that is still
/// in hand.
async fn run_leased(
    queue: &Queue,
    owners: &[&dyn JobOwner],
    worker: &str,
    jobs: Vec<Job>,
    lease_ms: i64,
) -> Result<(), StoreError> {
    if jobs.is_empty() {
        return Ok(());
    }
    let held: Arc<Mutex<HashSet<i64>>> = Arc::new(Mutex::new(jobs.iter().map(|j| j.id).collect()));
    let work = futures::stream::iter(jobs)
        .map(|job| {
            let held = held.clone();
            async move {
                let id = job.id;
                let result = run_job(queue, owners, worker, job).await;
                if let Ok(mut held) = held.lock() {
                    held.remove(&id);
                }
                result
            }
        })
        .buffer_unordered(queue.settings.concurrency.max(1))
        .collect::<Vec<_>>();
    let results = tokio::select! {
        results = work => results,
        () = heartbeat(&queue.store, worker, &held, lease_ms) => unreachable!("the heartbeat never ends"),
    };
    results.into_iter().collect::<Result<Vec<()>, _>>()?;
    Ok(())
}

/// Renews the leases of the jobs in `held` every third of the lease, forever.
async fn heartbeat(store: &Store, worker: &str, held: &Mutex<HashSet<i64>>, lease_ms: i64) {
    let every = Duration::from_millis(u64::try_from(lease_ms / 3).unwrap_or(1).max(1));
    loop {
        tokio::time::sleep(every).await;
        let ids: Vec<i64> = held
            .lock()
            .map(|h| h.iter().copied().collect())
            .unwrap_or_default();
        for id in ids {
            match store.extend_lease(id, worker, lease_ms).await {
                Ok(true) => {}
                Ok(false) => tracing::warn!(job = id, "lease lost to another worker"),
                Err(error) => tracing::warn!(job = id, %error, "lease not renewed"),
            }
        }
    }
}

/// Hands the job to its owner and records the outcome on the job.
async fn run_job(
    queue: &Queue,
    owners: &[&dyn JobOwner],
    worker: &str,
    job: Job,
) -> Result<(), StoreError> {
    let max_backoff = i64::try_from(queue.settings.max_backoff_ms).unwrap_or(i64::MAX);
    let outcome = match owners.iter().find(|owner| owner.runs(&job.kind)) {
        Some(owner) => owner.run(&job).await,
        None => Err(JobError::Permanent(format!(
            "unknown job kind `{}`",
            job.kind
        ))),
    };
    let store = &queue.store;
    match outcome {
        Ok(()) => {
            store.complete_job(job.id, worker).await?;
        }
        Err(JobError::Retry(reason)) if !job.is_last_attempt() => {
            tracing::debug!(job = job.id, attempts = job.attempts, %reason, "job will be retried");
            store
                .fail_job(
                    job.id,
                    worker,
                    &reason,
                    Some(retry_at(job.attempts, max_backoff)),
                )
                .await?;
        }
        Err(JobError::Retry(reason)) | Err(JobError::Permanent(reason)) => {
            tracing::warn!(job = job.id, %reason, "job failed for good");
            store.fail_job(job.id, worker, &reason, None).await?;
        }
        Err(JobError::Store(error)) => {
            store
                .fail_job(
                    job.id,
                    worker,
                    &error.to_string(),
                    Some(retry_at(job.attempts, max_backoff)),
                )
                .await?;
        }
    }
    Ok(())
}

/// When a failed attempt runs again: exponential backoff from 1 s, capped at `max_backoff_ms`,
/// with up to 50 % jitter on top so that a backlog does not retry in lockstep.
pub fn retry_at(attempts: i64, max_backoff_ms: i64) -> i64 {
    use rand::Rng;
    let exponent = u32::try_from(attempts.clamp(1, 30) - 1).unwrap_or(0);
    let base_ms = 1_000i64
        .saturating_mul(1i64 << exponent)
        .min(max_backoff_ms.max(1));
    let jitter = rand::thread_rng().gen_range(0..=base_ms / 2);
    now_ms() + base_ms + jitter
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let now = now_ms();
        let cap = 15 * 60 * 1_000;
        let first = retry_at(1, cap) - now;
        assert!((1_000..=1_600).contains(&first), "{first}");
        let fifth = retry_at(5, cap) - now;
        assert!((16_000..=24_100).contains(&fifth), "{fifth}");
        let late = retry_at(60, cap) - now;
        assert!((cap..=cap * 3 / 2 + 100).contains(&late), "{late}");
        let short = retry_at(10, 2_000) - now;
        assert!((2_000..=3_100).contains(&short), "{short}");
    }

    #[test]
    fn jitter_spreads_retries() {
        let spread: std::collections::HashSet<i64> =
            (0..50).map(|_| retry_at(8, 900_000) / 10).collect();
        assert!(spread.len() > 5, "retries of one step are spread out");
    }
}
