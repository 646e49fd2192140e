//! A delivery's job, and trying a delivery again: the operator's `bonusbridge retry-failed` (every
//! failed delivery of every account) and an administrator's button (one failed delivery of their
//! own account). Must not depend on `state` or on incoming modules.

use super::{Outbox, Payload, Record};
use crate::store::{now_ms, NewJob, Store, StoreError, DELIVER_KIND};

/// Attempts before a delivery is parked as failed (with backoff capped at 15 minutes: ~1 day).
pub const MAX_ATTEMPTS: i64 = 100;

/// The dedupe key of an operation's delivery job: one job per operation, ever.
pub fn job_key(operation_id: &str) -> String {
    format!("deliver:{operation_id}")
}

/// The job that delivers operation `operation_id`, claimable from `run_at`.
pub fn delivery_job(account_id: &str, operation_id: &str, run_at: i64) -> NewJob {
    NewJob {
        account_id: Some(account_id.to_owned()),
        kind: DELIVER_KIND.to_owned(),
        payload: operation_id.to_owned(),
        dedupe_key: Some(job_key(operation_id)),
        max_attempts: MAX_ATTEMPTS,
        run_at,
    }
}

/// Operator retry (`bonusbridge retry-failed`): failed deliveries go back to pending and their jobs
/// back to the queue, with failed jobs of `kind` (every kind when `None`); returns how many jobs
/// were re-queued.
pub async fn retry_failed(store: &Store, kind: Option<&str>) -> Result<u64, StoreError> {
    let reopened = match kind {
        None | Some(DELIVER_KIND) => store.reopen_failed_operations().await?,
        Some(_) => Vec::new(),
    };
    for (operation, _account) in &reopened {
        store
            .reschedule_job_by_key(&job_key(operation), now_ms())
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

impl Outbox {
    /// An administrator's retry of one failed delivery of `account_id` (the settings page's
    /// button): the operation goes back to pending with its job due once the inline attempt had
    /// its chance, and is delivered now. `None` when it is not a failed operation of that account
    /// — a second click, another instance, another account's id: nothing happens then.
    pub async fn retry_one(
        &self,
        account_id: &str,
        operation_id: &str,
    ) -> Result<Option<Record>, StoreError> {
        let job = delivery_job(account_id, operation_id, self.after_inline_grace());
        let Some(op) = self
            .queue
            .store
            .reopen_failed_operation::<Payload>(account_id, operation_id, &job)
            .await?
        else {
            return Ok(None);
        };
        if let Err(error) = self.deliver_now(&op).await {
            tracing::warn!(%error, operation = %op.id, "retried; delivery left to the workers");
        }
        Ok(Some(op))
    }
}
