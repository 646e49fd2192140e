//! Background work: delivering the outbox, releasing expired reserves, pruning. Workers claim jobs
//! from the shared database with a lease, so any number of instances can run them; a job held by a
//! killed instance is claimed again when its lease runs out.

pub mod delivery;

use std::time::Duration;

use rust_decimal::Decimal;
use tokio_util::sync::CancellationToken;

use crate::bonusplus::ApiKey;
use crate::crypto::Purpose;
use crate::domain::phone::Phone;
use crate::startup::AppState;
use crate::store::{now_ms, Job, OperationState, ReserveState, StoreError};
use delivery::{deliver, retry_at, DeliveryError, DELIVER_KIND};

/// How long a claimed job belongs to its worker.
const LEASE_MS: i64 = 60_000;
const BATCH: i64 = 16;
const IDLE_POLL: Duration = Duration::from_millis(250);
const RESERVE_SWEEP: Duration = Duration::from_secs(2);
const PRUNE_EVERY: Duration = Duration::from_secs(600);
/// How long the LoyaltyAPI call log is kept.
const KEEP_CALLS_MS: i64 = 7 * 24 * 3600 * 1000;

/// Runs the workers until `shutdown` is cancelled; a job in hand is finished first, others stay
/// claimable.
pub async fn run(state: AppState, shutdown: CancellationToken) {
    let worker = format!("worker-{}", uuid::Uuid::new_v4());
    let mut last_sweep = tokio::time::Instant::now();
    let mut last_prune = tokio::time::Instant::now();
    while !shutdown.is_cancelled() {
        let busy = match run_due_jobs(&state, &worker).await {
            Ok(count) => count > 0,
            Err(error) => {
                tracing::warn!(%error, "job queue unavailable");
                false
            }
        };
        if last_sweep.elapsed() >= RESERVE_SWEEP {
            last_sweep = tokio::time::Instant::now();
            if let Err(error) = release_expired_reserves(&state).await {
                tracing::warn!(%error, "reserve sweep failed");
            }
        }
        if last_prune.elapsed() >= PRUNE_EVERY {
            last_prune = tokio::time::Instant::now();
            if let Err(error) = state.store.prune(now_ms(), KEEP_CALLS_MS).await {
                tracing::warn!(%error, "pruning failed");
            }
        }
        if !busy {
            tokio::select! {
                () = shutdown.cancelled() => {},
                () = tokio::time::sleep(IDLE_POLL) => {},
            }
        }
    }
    tracing::info!(%worker, "workers stopped");
}

/// Claims and runs one batch of due jobs; returns how many were claimed.
pub async fn run_due_jobs(state: &AppState, worker: &str) -> Result<usize, StoreError> {
    let jobs = state.store.claim_jobs(worker, BATCH, LEASE_MS).await?;
    let count = jobs.len();
    for job in jobs {
        run_job(state, worker, job).await?;
    }
    Ok(count)
}

async fn run_job(state: &AppState, worker: &str, job: Job) -> Result<(), StoreError> {
    let outcome = match job.kind.as_str() {
        DELIVER_KIND => deliver_job(state, &job).await,
        other => Err(DeliveryError::Permanent(format!(
            "unknown job kind `{other}`"
        ))),
    };
    match outcome {
        Ok(()) => {
            state.store.complete_job(job.id, worker).await?;
        }
        Err(DeliveryError::Retry(reason)) if job.attempts < job.max_attempts => {
            state
                .store
                .fail_job(job.id, worker, &reason, Some(retry_at(job.attempts)))
                .await?;
        }
        Err(DeliveryError::Retry(reason)) | Err(DeliveryError::Permanent(reason)) => {
            tracing::warn!(job = job.id, %reason, "job failed for good");
            if job.kind == DELIVER_KIND {
                let account = job.account_id.as_deref().unwrap_or_default();
                if let Some(op) = state.store.operation(account, &job.payload).await? {
                    state
                        .store
                        .finish_operation(&op.id, OperationState::Failed, None, Some(&reason))
                        .await?;
                }
            }
            state.store.fail_job(job.id, worker, &reason, None).await?;
        }
        Err(DeliveryError::Store(error)) => {
            state
                .store
                .fail_job(
                    job.id,
                    worker,
                    &error.to_string(),
                    Some(retry_at(job.attempts)),
                )
                .await?;
        }
    }
    Ok(())
}

async fn deliver_job(state: &AppState, job: &Job) -> Result<(), DeliveryError> {
    let account = job.account_id.as_deref().unwrap_or_default();
    let Some(op) = state.store.operation(account, &job.payload).await? else {
        return Err(DeliveryError::Permanent(
            "the operation no longer exists".into(),
        ));
    };
    let result = deliver(state, &op).await;
    if let Err(DeliveryError::Retry(reason)) = &result {
        state
            .store
            .finish_operation(&op.id, OperationState::Pending, None, Some(reason))
            .await?;
    }
    result
}

/// Releases reserves whose lifetime ran out (receipts that never became sales), including those a
/// crash left between "recorded" and "made in BonusPlus".
pub async fn release_expired_reserves(state: &AppState) -> Result<usize, StoreError> {
    let mut released = 0;
    for reserve in state.store.expired_reserves(now_ms(), 100).await? {
        let Ok(amount) = reserve.amount.parse::<Decimal>() else {
            continue;
        };
        let Ok(phone) = Phone::parse(&reserve.phone) else {
            continue;
        };
        let Some(key) = account_key(state, &reserve.account_id).await? else {
            // No key any more (uninstalled): nothing can be released; close the row.
            state
                .store
                .transition_reserve(
                    &reserve.account_id,
                    &reserve.id,
                    reserve.state,
                    ReserveState::Released,
                )
                .await?;
            continue;
        };
        if !state
            .store
            .transition_reserve(
                &reserve.account_id,
                &reserve.id,
                reserve.state,
                ReserveState::Released,
            )
            .await?
        {
            continue;
        }
        if let Err(error) = state
            .bonusplus
            .reserve(&key, &phone, &reserve.id, -amount)
            .await
        {
            tracing::warn!(%error, reserve = %reserve.id, "expired reserve not released yet");
            state
                .store
                .transition_reserve(
                    &reserve.account_id,
                    &reserve.id,
                    ReserveState::Released,
                    reserve.state,
                )
                .await?;
            continue;
        }
        released += 1;
    }
    Ok(released)
}

/// The account's BonusPlus key, if it still has a usable one.
pub(crate) async fn account_key(
    state: &AppState,
    account_id: &str,
) -> Result<Option<ApiKey>, StoreError> {
    let Some(sealed) = state
        .store
        .settings(account_id)
        .await?
        .and_then(|s| s.bonusplus_key_enc)
    else {
        return Ok(None);
    };
    Ok(state
        .cipher
        .open(account_id, Purpose::BonusPlusKey, &sealed)
        .ok()
        .and_then(|secret| ApiKey::new(secret).ok()))
}
