//! The sync schedule: which accounts' product syncs are asked for on each tick of the workers, and
//! when within the tick. Same dependencies as the rest of `sync` (storage, no incoming modules).

use std::time::Duration;

use super::{job_key, sync_job, SyncContext};
use crate::store::{now_ms, JobState, NewJob, Store, StoreError, SyncState};

/// The schedule, run every `every`: asks for a sync of the served accounts whose last run is older
/// than the interval — at most the share of them one interval spreads over one tick (the oldest
/// first), each at its own moment within the tick. After a restart every account is due at once;
/// this spreads them over the interval instead of running them all in the first minute, and keeps
/// them spread afterwards. Returns how many syncs were asked for.
pub async fn enqueue_due(ctx: &SyncContext, every: Duration) -> Result<usize, StoreError> {
    let interval_ms = i64::try_from(ctx.settings.interval_secs)
        .unwrap_or(i64::MAX / 1000)
        .saturating_mul(1000);
    if interval_ms == 0 {
        return Ok(0);
    }
    let accounts = ctx.store.active_account_ids().await?;
    let every_ms = i64::try_from(every.as_millis()).unwrap_or(i64::MAX).max(1);
    let per_tick = syncs_per_tick(accounts.len(), interval_ms, every_ms);
    let now = now_ms();
    let mut due = Vec::new();
    for account_id in accounts {
        let last_started = match ctx.store.latest_sync_run(&account_id).await? {
            None => 0,
            Some(run) if run.state == SyncState::Running => continue,
            Some(run) if run.started_at.saturating_add(interval_ms) > now => continue,
            Some(run) => run.started_at,
        };
        let queued = ctx.store.job_state_by_key(&job_key(&account_id)).await?;
        if !matches!(queued, Some(JobState::Ready | JobState::Running)) {
            due.push((last_started, account_id));
        }
    }
    due.sort_unstable();
    due.truncate(per_tick);
    let step = every_ms / i64::try_from(per_tick).unwrap_or(i64::MAX).max(1);
    for (slot, (_, account_id)) in (0_i64..).zip(&due) {
        schedule_sync(&ctx.store, account_id, now + slot * step).await?;
    }
    Ok(due.len())
}

/// How many accounts one tick of the schedule asks for: what `accounts` syncs per `interval_ms`
/// come to per `every_ms`, doubled so that a backlog (a restart) drains within half an interval.
pub fn syncs_per_tick(accounts: usize, interval_ms: i64, every_ms: i64) -> usize {
    let accounts = u64::try_from(accounts).unwrap_or(u64::MAX);
    let every_ms = u64::try_from(every_ms).unwrap_or(0);
    let interval_ms = u64::try_from(interval_ms).unwrap_or(0).max(1);
    let steady = accounts.saturating_mul(every_ms).div_ceil(interval_ms);
    usize::try_from(steady.saturating_mul(2).max(1)).unwrap_or(usize::MAX)
}

/// Queues the account's sync to run at `run_at`, unless it waits or runs already.
async fn schedule_sync(store: &Store, account_id: &str, run_at: i64) -> Result<bool, StoreError> {
    let job = NewJob {
        run_at,
        ..sync_job(account_id)
    };
    if store.enqueue_job(&job).await?.is_some() {
        return Ok(true);
    }
    store
        .reschedule_job_by_key(&job_key(account_id), run_at)
        .await
}

#[cfg(test)]
mod tests {
    use super::syncs_per_tick;

    #[test]
    fn a_restart_is_spread_over_half_an_interval() {
        // 1,000 accounts, hourly syncs, a tick a minute: 17 a minute at steady state, 34 asked.
        assert_eq!(syncs_per_tick(1000, 3_600_000, 60_000), 34);
        // So all 1,000 overdue ones are asked within 30 ticks, never all at once.
        assert!(1000_usize.div_ceil(34) <= 30);
        // A single account, or an interval shorter than a tick: everyone due goes at once.
        assert_eq!(syncs_per_tick(1, 3_600_000, 60_000), 2);
        assert_eq!(syncs_per_tick(3, 2_000, 60_000), 180);
        assert_eq!(syncs_per_tick(0, 3_600_000, 60_000), 1);
    }
}
