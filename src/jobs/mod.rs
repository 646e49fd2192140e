//! Shared service: the job queue's workers — delivering the outbox, running product syncs,
//! releasing expired reserves, pruning. Must not depend on `state` or on incoming modules
//! (`loyalty_api`, `vendor_api`, `ui`); the workers get a narrow [`JobContext`].
//!
//! Workers claim jobs from the shared database with a lease, so any number of instances can run
//! them; a job held by a killed instance is claimed again when its lease runs out.

pub mod delivery;
mod error;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::accounts::Accounts;
use crate::bonusplus::BonusPlusClient;
use crate::config::JobSettings;
use crate::customers::Customers;
use crate::reserves::Reserves;
use crate::store::{now_ms, Job, Operation, OperationState, Store, StoreError};
use crate::sync::SyncContext;
use delivery::{deliver, retry_at, DELIVER_KIND};
pub use error::JobError;

const PRUNE_EVERY: Duration = Duration::from_secs(600);
/// How often the workers look for accounts due for a scheduled product sync.
const SYNC_SCHEDULE_EVERY: Duration = Duration::from_secs(60);
/// How long the LoyaltyAPI call log is kept.
const KEEP_CALLS_MS: i64 = 7 * 24 * 3600 * 1000;

/// What the workers (and the inline delivery of a request) use. Cheap to clone.
#[derive(Clone)]
pub struct JobContext {
    pub store: Store,
    pub bonusplus: BonusPlusClient,
    pub accounts: Accounts,
    pub reserves: Reserves,
    /// Finds and registers the customers of sales.
    pub customers: Customers,
    pub settings: Arc<JobSettings>,
    pub sync: SyncContext,
    /// Runs the customer imports.
    pub import: crate::import::ImportContext,
    /// First delivery attempts started by requests after answering the till, still running.
    pub deliveries: TaskTracker,
}

impl JobContext {
    /// Waits until the first delivery attempts started so far have ended (tests, graceful stop).
    pub async fn deliveries_settled(&self) {
        while !self.deliveries.is_empty() {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

/// Runs the workers until `shutdown` is cancelled; the jobs in hand are finished first, others
/// stay claimable.
pub async fn run(ctx: JobContext, shutdown: CancellationToken) {
    let worker = format!("worker-{}", uuid::Uuid::new_v4());
    let jobs = &ctx.settings;
    let idle_poll = Duration::from_millis(jobs.poll_interval_ms);
    let sweep_every = Duration::from_millis(jobs.reserve_sweep_ms);
    let mut last_sweep = tokio::time::Instant::now();
    let mut last_prune = tokio::time::Instant::now();
    let mut last_schedule: Option<tokio::time::Instant> = None;
    while !shutdown.is_cancelled() {
        let busy = match run_due_jobs(&ctx, &worker).await {
            Ok(count) => count > 0,
            Err(error) => {
                tracing::warn!(%error, "job queue unavailable");
                false
            }
        };
        if last_sweep.elapsed() >= sweep_every {
            last_sweep = tokio::time::Instant::now();
            if let Err(error) = ctx.reserves.release_expired().await {
                tracing::warn!(%error, "reserve sweep failed");
            }
        }
        if last_schedule.is_none_or(|at| at.elapsed() >= SYNC_SCHEDULE_EVERY) {
            last_schedule = Some(tokio::time::Instant::now());
            if let Err(error) = crate::sync::enqueue_due(&ctx.sync, SYNC_SCHEDULE_EVERY).await {
                tracing::warn!(%error, "product sync schedule failed");
            }
        }
        if last_prune.elapsed() >= PRUNE_EVERY {
            last_prune = tokio::time::Instant::now();
            if let Err(error) = ctx.store.prune(now_ms(), KEEP_CALLS_MS).await {
                tracing::warn!(%error, "pruning failed");
            }
        }
        if !busy {
            tokio::select! {
                () = shutdown.cancelled() => {},
                () = tokio::time::sleep(idle_poll) => {},
            }
        }
    }
    tracing::info!(%worker, "workers stopped");
}

/// Claims and runs one batch of due jobs (several at a time); returns how many were claimed.
pub async fn run_due_jobs(ctx: &JobContext, worker: &str) -> Result<usize, StoreError> {
    let lease_ms = lease_ms(ctx);
    let batch = i64::try_from(ctx.settings.concurrency * 2).unwrap_or(16);
    let jobs = ctx.store.claim_jobs(worker, batch, lease_ms).await?;
    let count = jobs.len();
    run_leased(ctx, worker, jobs, lease_ms).await?;
    Ok(count)
}

/// Runs the job with this dedupe key here and now, holding its lease as a worker does (the
/// request that recorded an operation, an administrator's retry); `false` when it was not waiting
/// (a worker has it, or it ended). Without the lease, an attempt slower than its job's grace
/// (queued behind the customer's reserve lock, a slow BonusPlus) would be repeated by a worker
/// while it still runs: one sale sent twice.
pub async fn run_now(ctx: &JobContext, dedupe_key: &str) -> Result<bool, StoreError> {
    let worker = format!("inline-{}", uuid::Uuid::new_v4());
    // The grace is this attempt's lease: renewed while it runs, so a crash during it leaves the job
    // to the workers as soon as before.
    let lease_ms = i64::try_from(ctx.settings.inline_grace_ms).unwrap_or(i64::MAX);
    let Some(job) = ctx
        .store
        .claim_job_by_key(dedupe_key, &worker, lease_ms)
        .await?
    else {
        return Ok(false);
    };
    run_leased(ctx, &worker, vec![job], lease_ms).await?;
    Ok(true)
}

fn lease_ms(ctx: &JobContext) -> i64 {
    i64::try_from(ctx.settings.lease_ms).unwrap_or(i64::MAX)
}

/// Runs claimed jobs (several at a time). While they run, a heartbeat renews the lease of every
/// job not finished yet, so a slow BonusPlus never lets another instance take a job that is still
/// in hand.
async fn run_leased(
    ctx: &JobContext,
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
                let result = run_job(ctx, worker, job).await;
                if let Ok(mut held) = held.lock() {
                    held.remove(&id);
                }
                result
            }
        })
        .buffer_unordered(ctx.settings.concurrency.max(1))
        .collect::<Vec<_>>();
    let results = tokio::select! {
        results = work => results,
        () = heartbeat(&ctx.store, worker, &held, lease_ms) => unreachable!("the heartbeat never ends"),
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

async fn run_job(ctx: &JobContext, worker: &str, job: Job) -> Result<(), StoreError> {
    let max_backoff = i64::try_from(ctx.settings.max_backoff_ms).unwrap_or(i64::MAX);
    let outcome = match job.kind.as_str() {
        DELIVER_KIND => deliver_job(ctx, &job).await,
        crate::sync::SYNC_KIND => crate::sync::run_job(&ctx.sync, &job)
            .await
            .map_err(JobError::from),
        crate::import::IMPORT_KIND => crate::import::run_job(&ctx.import, &job)
            .await
            .map_err(JobError::from),
        other => Err(JobError::Permanent(format!("unknown job kind `{other}`"))),
    };
    let store = &ctx.store;
    match outcome {
        Ok(()) => {
            store.complete_job(job.id, worker).await?;
        }
        Err(JobError::Retry(reason)) if job.attempts < job.max_attempts => {
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
            if job.kind == DELIVER_KIND {
                let account = job.account_id.as_deref().unwrap_or_default();
                if let Some(op) = store.operation(account, &job.payload).await? {
                    store
                        .finish_operation(&op.id, OperationState::Failed, None, Some(&reason))
                        .await?;
                }
            }
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

/// Operator retry (`bonusbridge retry-failed`): failed deliveries go back to pending and their jobs
/// back to the queue; returns how many jobs were re-queued.
pub async fn retry_failed(store: &Store, kind: Option<&str>) -> Result<u64, StoreError> {
    let reopened = match kind {
        None | Some(DELIVER_KIND) => store.reopen_failed_operations().await?,
        Some(_) => Vec::new(),
    };
    for (operation, _account) in &reopened {
        store
            .reschedule_job_by_key(&delivery::job_key(operation), now_ms())
            .await?;
    }
    let requeued = store.retry_failed_jobs(kind).await?;
    tracing::info!(
        operations = reopened.len(),
        jobs = requeued,
        "failed work re-queued"
    );
    Ok(requeued.max(reopened.len() as u64))
}

/// An administrator's retry of one failed delivery of `account_id` (the settings page's button):
/// the operation goes back to pending with its job due once the inline attempt had its chance, and
/// is delivered now. `None` when it is not a failed operation of that account — a second click,
/// another instance, another account's id: nothing happens then.
pub async fn retry_one(
    ctx: &JobContext,
    account_id: &str,
    operation_id: &str,
) -> Result<Option<Operation>, StoreError> {
    let grace = i64::try_from(ctx.settings.inline_grace_ms).unwrap_or(i64::MAX / 2);
    let job = delivery::delivery_job(account_id, operation_id, now_ms().saturating_add(grace));
    let Some(op) = ctx
        .store
        .reopen_failed_operation(account_id, operation_id, &job)
        .await?
    else {
        return Ok(None);
    };
    if let Err(error) = run_now(ctx, &delivery::job_key(&op.id)).await {
        tracing::warn!(%error, operation = %op.id, "retried; delivery left to the workers");
    }
    Ok(Some(op))
}

async fn deliver_job(ctx: &JobContext, job: &Job) -> Result<(), JobError> {
    let account = job.account_id.as_deref().unwrap_or_default();
    let Some(op) = ctx.store.operation(account, &job.payload).await? else {
        return Err(JobError::Permanent("the operation no longer exists".into()));
    };
    let result = deliver(ctx, &op).await;
    if let Err(JobError::Retry(reason)) = &result {
        ctx.store
            .finish_operation(&op.id, OperationState::Pending, None, Some(reason))
            .await?;
    }
    result
}
