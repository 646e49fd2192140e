//! The job queue (transactional outbox). A job is claimed with a lease: a worker that dies leaves
//! its jobs claimable again once the lease runs out. On PostgreSQL the claim skips rows locked by
//! other instances (`FOR UPDATE SKIP LOCKED`); on SQLite the single `UPDATE … RETURNING` runs under
//! the database's write lock, which serialises claims within the one instance SQLite supports.
//! Storage only: what a job does is its owner's business (`jobs` hands it over).

use super::{decode, now_ms, with_pool, Backend, Store, StoreError};

/// Kind of the job that delivers a recorded sale or return to BonusPlus (`outbox`); storage
/// and metrics tell deliveries apart from other jobs (product sync) by it.
pub const DELIVER_KIND: &str = "deliver_operation";

#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::EnumString, strum::AsRefStr)]
#[strum(serialize_all = "snake_case")]
pub enum JobState {
    Ready,
    Running,
    Done,
    Failed,
}

#[derive(Debug, Clone)]
pub struct NewJob {
    pub account_id: Option<String>,
    pub kind: String,
    pub payload: String,
    /// At most one job exists per dedupe key, ever (a repeated enqueue is a no-op).
    pub dedupe_key: Option<String>,
    pub max_attempts: i64,
    pub run_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Job {
    pub id: i64,
    pub account_id: Option<String>,
    pub kind: String,
    pub payload: String,
    pub attempts: i64,
    pub max_attempts: i64,
}

impl Job {
    /// This attempt (counted at the claim) is the last the job is given.
    pub fn is_last_attempt(&self) -> bool {
        self.attempts >= self.max_attempts
    }
}

pub(super) const INSERT_JOB: &str = "INSERT INTO jobs (account_id, kind, payload, dedupe_key, state, attempts, max_attempts, run_at, created_at, updated_at)
     VALUES ($1, $2, $3, $4, 'ready', 0, $5, $6, $7, $7)
     ON CONFLICT (dedupe_key) DO NOTHING
     RETURNING id";

/// Binds a [`NewJob`] to [`INSERT_JOB`] and runs it on `$executor` (a pool or a transaction of
/// either backend): the one place the jobs INSERT is written. Yields the new id, `None` when a
/// job with the same dedupe key exists.
macro_rules! insert_job {
    ($executor:expr, $job:expr, $now:expr) => {
        sqlx::query_as::<_, (i64,)>($crate::store::jobs::INSERT_JOB)
            .bind(&$job.account_id)
            .bind(&$job.kind)
            .bind(&$job.payload)
            .bind(&$job.dedupe_key)
            .bind($job.max_attempts)
            .bind($job.run_at)
            .bind($now)
            .fetch_optional($executor)
            .await?
            .map(|(id,)| id)
    };
}
pub(super) use insert_job;

const CLAIM_POSTGRES: &str = "
    UPDATE jobs SET state = 'running', locked_by = $1, locked_until = $2, attempts = attempts + 1, updated_at = $3
    WHERE id IN (
        SELECT id FROM jobs
        WHERE (state = 'ready' AND run_at <= $3) OR (state = 'running' AND locked_until < $3)
        ORDER BY run_at, id
        LIMIT $4
        FOR UPDATE SKIP LOCKED)
    RETURNING id, account_id, kind, payload, attempts, max_attempts";

const CLAIM_SQLITE: &str = "
    UPDATE jobs SET state = 'running', locked_by = $1, locked_until = $2, attempts = attempts + 1, updated_at = $3
    WHERE id IN (
        SELECT id FROM jobs
        WHERE (state = 'ready' AND run_at <= $3) OR (state = 'running' AND locked_until < $3)
        ORDER BY run_at, id
        LIMIT $4)
    RETURNING id, account_id, kind, payload, attempts, max_attempts";

impl Store {
    /// Adds a job; returns its id, or `None` when a job with the same dedupe key already exists.
    pub async fn enqueue_job(&self, job: &NewJob) -> Result<Option<i64>, StoreError> {
        let now = now_ms();
        Ok(with_pool!(self, |pool| insert_job!(pool, job, now)))
    }

    /// Claims up to `limit` due jobs for `worker` with a lease of `lease_ms`.
    pub async fn claim_jobs(
        &self,
        worker: &str,
        limit: i64,
        lease_ms: i64,
    ) -> Result<Vec<Job>, StoreError> {
        let now = now_ms();
        let sql = match self.backend() {
            Backend::Postgres => CLAIM_POSTGRES,
            Backend::Sqlite => CLAIM_SQLITE,
        };
        let jobs = with_pool!(self, |pool| {
            sqlx::query_as(sql)
                .bind(worker)
                .bind(now + lease_ms)
                .bind(now)
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        Ok(jobs)
    }

    /// Claims the job with this dedupe key for `worker` with a lease of `lease_ms`, whenever it is
    /// due (the inline attempt of a just-recorded operation runs before its job's grace ends);
    /// `None` when it is not waiting (a worker holds it, or it ended).
    pub async fn claim_job_by_key(
        &self,
        dedupe_key: &str,
        worker: &str,
        lease_ms: i64,
    ) -> Result<Option<Job>, StoreError> {
        let now = now_ms();
        let job = with_pool!(self, |pool| {
            sqlx::query_as(
                "UPDATE jobs SET state = 'running', locked_by = $2, locked_until = $3, attempts = attempts + 1, updated_at = $4
                 WHERE dedupe_key = $1 AND state = 'ready'
                 RETURNING id, account_id, kind, payload, attempts, max_attempts",
            )
            .bind(dedupe_key)
            .bind(worker)
            .bind(now + lease_ms)
            .bind(now)
            .fetch_optional(pool)
            .await?
        });
        Ok(job)
    }

    /// Extends the lease of a job still held by `worker`; `false` if it was lost to another worker.
    pub async fn extend_lease(
        &self,
        job_id: i64,
        worker: &str,
        lease_ms: i64,
    ) -> Result<bool, StoreError> {
        let changed = with_pool!(self, |pool| {
            sqlx::query(
                "UPDATE jobs SET locked_until = $3 WHERE id = $1 AND locked_by = $2 AND state = 'running'",
            )
            .bind(job_id)
            .bind(worker)
            .bind(now_ms() + lease_ms)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(changed == 1)
    }

    /// Marks a job held by `worker` done; `false` if the worker no longer held it.
    pub async fn complete_job(&self, job_id: i64, worker: &str) -> Result<bool, StoreError> {
        let changed = with_pool!(self, |pool| {
            sqlx::query(
                "UPDATE jobs SET state = 'done', locked_by = NULL, locked_until = NULL, last_error = NULL, updated_at = $3
                 WHERE id = $1 AND locked_by = $2 AND state = 'running'",
            )
            .bind(job_id)
            .bind(worker)
            .bind(now_ms())
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(changed == 1)
    }

    /// Records a failed attempt: the job runs again at `retry_at`, or is parked as `failed` when
    /// `retry_at` is `None` (permanent error or attempts exhausted).
    pub async fn fail_job(
        &self,
        job_id: i64,
        worker: &str,
        error: &str,
        retry_at: Option<i64>,
    ) -> Result<bool, StoreError> {
        let (state, run_at) = match retry_at {
            Some(at) => (JobState::Ready, at),
            None => (JobState::Failed, now_ms()),
        };
        let changed = with_pool!(self, |pool| {
            sqlx::query(
                "UPDATE jobs SET state = $3, run_at = $4, last_error = $5, locked_by = NULL, locked_until = NULL, updated_at = $6
                 WHERE id = $1 AND locked_by = $2 AND state = 'running'",
            )
            .bind(job_id)
            .bind(worker)
            .bind(state.as_ref())
            .bind(run_at)
            .bind(error)
            .bind(now_ms())
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(changed == 1)
    }

    /// Makes the job with this dedupe key due now (again), whatever state it ended in.
    pub async fn reschedule_job_by_key(
        &self,
        dedupe_key: &str,
        run_at: i64,
    ) -> Result<bool, StoreError> {
        let changed = with_pool!(self, |pool| {
            sqlx::query(
                "UPDATE jobs SET state = 'ready', attempts = 0, run_at = $2, updated_at = $2 WHERE dedupe_key = $1 AND state <> 'running'",
            )
            .bind(dedupe_key)
            .bind(run_at)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(changed == 1)
    }

    /// State of the job with this dedupe key, if any.
    pub async fn job_state_by_key(&self, dedupe_key: &str) -> Result<Option<JobState>, StoreError> {
        let row: Option<(String,)> = with_pool!(self, |pool| {
            sqlx::query_as("SELECT state FROM jobs WHERE dedupe_key = $1")
                .bind(dedupe_key)
                .fetch_optional(pool)
                .await?
        });
        row.map(|(state,)| decode("job state", &state)).transpose()
    }

    /// Puts failed jobs back in the queue (operator retry). `kind = None` retries every kind.
    pub async fn retry_failed_jobs(&self, kind: Option<&str>) -> Result<u64, StoreError> {
        let now = now_ms();
        let changed = with_pool!(self, |pool| {
            sqlx::query(
                "UPDATE jobs SET state = 'ready', attempts = 0, run_at = $1, updated_at = $1
                 WHERE state = 'failed' AND ($2 IS NULL OR kind = $2)",
            )
            .bind(now)
            .bind(kind)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(changed)
    }

    /// Number of jobs by state, and the age of the oldest job not done (ms), for metrics and the page.
    /// Jobs waiting, running and failed, of one account and/or kind (`None`: all). Done jobs (every
    /// sale ever delivered) are skipped through the `jobs_ready` index, not scanned: metrics ask this
    /// on every scrape.
    pub async fn job_backlog(
        &self,
        account_id: Option<&str>,
        kind: Option<&str>,
    ) -> Result<JobBacklog, StoreError> {
        let now = now_ms();
        let (ready, running, failed, oldest): (i64, i64, i64, Option<i64>) =
            with_pool!(self, |pool| {
                sqlx::query_as(
                    "SELECT
                    COALESCE(SUM(CASE WHEN state = 'ready' THEN 1 ELSE 0 END), 0),
                    COALESCE(SUM(CASE WHEN state = 'running' THEN 1 ELSE 0 END), 0),
                    COALESCE(SUM(CASE WHEN state = 'failed' THEN 1 ELSE 0 END), 0),
                    MIN(CASE WHEN state IN ('ready', 'running') THEN created_at END)
                 FROM jobs WHERE state IN ('ready', 'running', 'failed')
                   AND ($1 IS NULL OR account_id = $1) AND ($2 IS NULL OR kind = $2)",
                )
                .bind(account_id)
                .bind(kind)
                .fetch_one(pool)
                .await?
            });
        Ok(JobBacklog {
            ready,
            running,
            failed,
            oldest_age_ms: oldest.map(|at| (now - at).max(0)),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobBacklog {
    pub ready: i64,
    pub running: i64,
    pub failed: i64,
    pub oldest_age_ms: Option<i64>,
}
