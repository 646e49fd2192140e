//! The customer import (issue 24): a shop's MoySklad counterparties — phones, names, cards and
//! bonus points — brought into BonusPlus once, safely, as a background job of the account.
//! Shared service below the settings page, the workers and the command line: must not depend on
//! `state` or on incoming modules; the queue hands it its jobs ([`ImportContext`] is their
//! [`JobOwner`]).
//!
//! A run has three phases, each resumable from the cursor saved after every page or chunk:
//! **read** (counterparties page by page from the JSON API, filtered, stored as the run's rows;
//! then duplicates and what earlier runs finished are settled in SQL), **match** (each row asked of
//! BonusPlus by phone, then by card, and decided by `domain::customer_import`), and — unless the
//! run is a preview — **execute** (customers created, counterparties linked, points credited).
//! Execution writes a ledger row per counterparty before every call to BonusPlus; the credit,
//! which has no idempotency key, is marked `sent` (committed) before it is made and `done` after,
//! and a `sent` row found later is judged by the customer's balance or parked, never repeated
//! blindly ([`execute`]). Every call to BonusPlus waits for the import's own rate limiter, so the
//! till's calls keep their share of the shop's BonusPlus quota.

mod execute;
mod matching;
mod read;
pub mod report;

use std::num::NonZeroU32;
use std::ops::ControlFlow;
use std::sync::Arc;

use futures::future::BoxFuture;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::accounts::Accounts;
use crate::bonusplus::{ApiKey, BonusPlusClient, BonusPlusError};
use crate::config::ImportSettings;
use crate::customers::Customers;
use crate::domain::customer_import::Filters;
use crate::jobs::{JobError, JobOwner};
use crate::moysklad::json_api::{JsonApiClient, JsonApiError};
use crate::store::{now_ms, AccountStatus, ImportRow, ImportRun, Job, NewJob, Store, StoreError};
pub use report::{ImportStatus, Preview, RunResult};

pub const IMPORT_KIND: &str = "customer_import";
const MAX_ATTEMPTS: i64 = 50;
/// Longest life of carried bonuses the page accepts (ten years).
pub const MAX_BURNS_IN_DAYS: u32 = 3650;
/// Who the worker's audit entries name.
pub const WORKER_ACTOR: &str = "Перенос покупателей";

/// What a run uses. Cheap to clone.
#[derive(Clone)]
pub struct ImportContext {
    pub store: Store,
    pub bonusplus: BonusPlusClient,
    pub json_api: JsonApiClient,
    pub accounts: Accounts,
    /// Links counterparties to their customers, as the till's registrations do.
    pub customers: Customers,
    pub settings: Arc<ImportSettings>,
    /// The import's own pace towards BonusPlus; `None`: unlimited.
    limiter: Option<Arc<DefaultDirectRateLimiter>>,
}

/// The queue hands import jobs to the import; what a run cannot finish is the page's, so only a
/// transient failure and storage are retried by the queue.
impl JobOwner for ImportContext {
    fn runs(&self, kind: &str) -> bool {
        kind == IMPORT_KIND
    }

    fn run<'a>(&'a self, job: &'a Job) -> BoxFuture<'a, Result<(), JobError>> {
        Box::pin(async move {
            run_job(self, job).await.map_err(|error| match error {
                ImportError::Retry(reason) => JobError::Retry(reason),
                ImportError::Store(error) => JobError::Store(error),
                other => JobError::Permanent(other.to_string()),
            })
        })
    }
}

impl ImportContext {
    pub fn new(
        store: Store,
        bonusplus: BonusPlusClient,
        json_api: JsonApiClient,
        accounts: Accounts,
        customers: Customers,
        settings: ImportSettings,
    ) -> ImportContext {
        let limiter = NonZeroU32::new(settings.calls_per_second)
            .map(|rate| Arc::new(RateLimiter::direct(Quota::per_second(rate))));
        ImportContext {
            store,
            bonusplus,
            json_api,
            accounts,
            customers,
            settings: Arc::new(settings),
            limiter,
        }
    }

    /// Waits for the import's turn to call BonusPlus.
    async fn pace(&self) {
        if let Some(limiter) = &self.limiter {
            limiter.until_ready().await;
        }
    }
}

/// Why a request or a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The administrator's input is refused (Russian message, the field named).
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    /// Not now: a run is going, or there is nothing to stop or resume.
    #[error("{0}")]
    Conflict(String),
    /// Worth another attempt (MoySklad or BonusPlus unavailable, an answer lost).
    #[error("{0}")]
    Retry(String),
    /// Will not succeed without someone changing something (access refused, key revoked).
    #[error("{0}")]
    Permanent(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The administrator's choices for a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportOptions {
    #[serde(default)]
    pub filters: Filters,
    /// Credit points to customers BonusPlus already had, too.
    #[serde(default)]
    pub credit_existing: bool,
    /// How long carried bonuses live (`burnsInDays`); required for a run that writes.
    #[serde(default)]
    pub burns_in_days: Option<u32>,
}

fn job_key(run_id: &str) -> String {
    format!("import:{run_id}")
}

fn import_job(run: &ImportRun) -> NewJob {
    NewJob {
        account_id: Some(run.account_id.clone()),
        kind: IMPORT_KIND.to_owned(),
        payload: run.id.clone(),
        dedupe_key: Some(job_key(&run.id)),
        max_attempts: MAX_ATTEMPTS,
        run_at: now_ms(),
    }
}

/// Creates a run (a preview when `dry_run`) without queueing it; refused while another run of the
/// account is going.
pub async fn create_run(
    store: &Store,
    account_id: &str,
    actor: &str,
    dry_run: bool,
    options: &ImportOptions,
) -> Result<ImportRun, ImportError> {
    if !dry_run {
        match options.burns_in_days {
            Some(days) if (1..=MAX_BURNS_IN_DAYS).contains(&days) => {}
            _ => {
                return Err(ImportError::Invalid {
                    field: "burnsInDays",
                    message: format!(
                        "Укажите, через сколько дней сгорают перенесённые бонусы (от 1 до {MAX_BURNS_IN_DAYS})"
                    ),
                })
            }
        }
    }
    if let Some(latest) = store.latest_import_run(account_id).await? {
        if matches!(latest.state.as_str(), "running" | "stopping") {
            return Err(ImportError::Conflict(
                "Перенос уже идёт: дождитесь его окончания или остановите его".into(),
            ));
        }
    }
    let now = now_ms();
    let run = ImportRun {
        id: uuid::Uuid::new_v4().to_string(),
        account_id: account_id.to_owned(),
        actor: actor.to_owned(),
        dry_run,
        options: serde_json::to_string(options).unwrap_or_else(|_| "{}".into()),
        phase: "read".into(),
        state: "running".into(),
        total: 0,
        read_count: 0,
        filtered: 0,
        cursor: 0,
        processed: 0,
        phase_started_at: now,
        last_error: None,
        started_at: now,
        updated_at: now,
        finished_at: None,
    };
    store.create_import_run(&run).await?;
    store.forget_old_import_rows(account_id, &run.id).await?;
    Ok(run)
}

/// Creates a run and queues it for the workers.
pub async fn start(
    store: &Store,
    account_id: &str,
    actor: &str,
    dry_run: bool,
    options: &ImportOptions,
) -> Result<ImportRun, ImportError> {
    let run = create_run(store, account_id, actor, dry_run, options).await?;
    store.enqueue_job(&import_job(&run)).await?;
    Ok(run)
}

/// Asks the account's running run to stop after the page or chunk in hand.
pub async fn stop(store: &Store, account_id: &str) -> Result<ImportRun, ImportError> {
    let run = latest(store, account_id).await?;
    if !store
        .set_import_state(&run.id, &["running"], "stopping")
        .await?
    {
        return Err(ImportError::Conflict("Перенос сейчас не идёт".into()));
    }
    Ok(run)
}

/// Resumes the account's latest run where it stopped (stopped, failed, or left running by a
/// process that ended).
pub async fn resume(store: &Store, account_id: &str) -> Result<ImportRun, ImportError> {
    let run = reopen(store, account_id).await?;
    if store.enqueue_job(&import_job(&run)).await?.is_none() {
        store
            .reschedule_job_by_key(&job_key(&run.id), now_ms())
            .await?;
    }
    Ok(run)
}

/// Marks the account's latest unfinished run running again, without queueing it (the command
/// line's `--resume` runs it in its own process).
pub async fn reopen(store: &Store, account_id: &str) -> Result<ImportRun, ImportError> {
    let run = latest(store, account_id).await?;
    let from = ["stopped", "stopping", "failed", "running"];
    if !store.set_import_state(&run.id, &from, "running").await? {
        return Err(ImportError::Conflict("Перенос уже закончен".into()));
    }
    Ok(run)
}

async fn latest(store: &Store, account_id: &str) -> Result<ImportRun, ImportError> {
    store
        .latest_import_run(account_id)
        .await?
        .ok_or_else(|| ImportError::Conflict("Перенос ещё не запускался".into()))
}

/// What a run needs of the account, read once.
struct Inputs {
    token: SecretString,
    key: ApiKey,
    /// The BonusPlus store new customers register in (the settings' default), if any.
    store: Option<String>,
    options: ImportOptions,
}

async fn inputs(ctx: &ImportContext, run: &ImportRun) -> Result<Inputs, ImportError> {
    let account = ctx
        .store
        .account(&run.account_id)
        .await?
        .filter(|a| a.status == AccountStatus::Activated)
        .ok_or_else(|| ImportError::Permanent("Приложение не подключено".into()))?;
    let token = ctx
        .accounts
        .json_api_token(&account)
        .map_err(|error| ImportError::Permanent(error.to_string()))?;
    let key = ctx
        .accounts
        .bonusplus_key(&run.account_id)
        .await?
        .ok_or_else(|| ImportError::Permanent("Не указан ключ API БонусПлюс".into()))?;
    let settings = ctx.store.settings(&run.account_id).await?;
    let store = settings
        .map(|s| s.default_store.trim().to_owned())
        .filter(|s| !s.is_empty());
    let options = serde_json::from_str(&run.options)
        .map_err(|_| ImportError::Permanent("Параметры переноса повреждены".into()))?;
    Ok(Inputs {
        token,
        key,
        store,
        options,
    })
}

/// How a run's work ended for now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Finished,
    Stopped,
}

/// Runs (or resumes) the job's run. A run that cannot go on (a permanent refusal, or the queue's
/// last attempt) ends as `failed` with its reason on the page; a transient failure is the queue's
/// to retry, and the run resumes where it stopped.
pub async fn run_job(ctx: &ImportContext, job: &Job) -> Result<(), ImportError> {
    let last_attempt = job.attempts >= job.max_attempts;
    match advance(ctx, &job.payload).await {
        Ok(_) => Ok(()),
        Err(ImportError::Retry(reason)) if !last_attempt => {
            note_error(ctx, &job.payload, &reason).await?;
            Err(ImportError::Retry(reason))
        }
        Err(ImportError::Store(error)) => Err(ImportError::Store(error)),
        Err(error) => {
            fail(ctx, &job.payload, &error.to_string()).await?;
            Ok(())
        }
    }
}

/// Works a run through its phases until it is finished or stopped.
pub async fn advance(ctx: &ImportContext, run_id: &str) -> Result<Outcome, ImportError> {
    let Some(mut run) = ctx.store.import_run(run_id).await? else {
        return Ok(Outcome::Finished);
    };
    if run.state != "running" {
        return Ok(Outcome::Stopped);
    }
    let inputs = inputs(ctx, &run).await?;
    loop {
        let outcome = match run.phase.as_str() {
            "read" => read::read(ctx, &inputs, &mut run).await?,
            "match" => matching::match_rows(ctx, &inputs, &mut run).await?,
            "execute" => execute::execute(ctx, &inputs, &mut run).await?,
            _ => return finish(ctx, &run).await.map(|()| Outcome::Finished),
        };
        if outcome == Outcome::Stopped {
            return Ok(Outcome::Stopped);
        }
        run.phase = next_phase(&run).into();
        // After reading, the cursor is the last `seq` done: the first row is 0.
        run.cursor = -1;
        run.processed = 0;
        run.phase_started_at = now_ms();
        ctx.store.save_import_progress(&run).await?;
    }
}

fn next_phase(run: &ImportRun) -> &'static str {
    match run.phase.as_str() {
        "read" => "match",
        "match" if !run.dry_run => "execute",
        _ => "finished",
    }
}

/// Whether the administrator asked the run to stop; if so it is marked stopped.
async fn stop_requested(ctx: &ImportContext, run: &ImportRun) -> Result<bool, StoreError> {
    ctx.store
        .set_import_state(&run.id, &["stopping"], "stopped")
        .await
}

/// The next `size` rows after the run's cursor whose decision is one of `decisions`, and the last
/// one's position; or how the phase ends: stopped when the administrator asked, finished when no
/// row is left.
async fn next_chunk(
    ctx: &ImportContext,
    run: &ImportRun,
    decisions: &str,
    size: i64,
) -> Result<ControlFlow<Outcome, (Vec<ImportRow>, i64)>, ImportError> {
    if stop_requested(ctx, run).await? {
        return Ok(ControlFlow::Break(Outcome::Stopped));
    }
    let rows = ctx
        .store
        .import_rows_after(&run.id, decisions, run.cursor, size)
        .await?;
    Ok(match rows.last().map(|row| row.seq) {
        Some(last) => ControlFlow::Continue((rows, last)),
        None => ControlFlow::Break(Outcome::Finished),
    })
}

/// Moves the run's cursor to `last` past `count` more rows done, and saves it.
async fn save_cursor(
    ctx: &ImportContext,
    run: &mut ImportRun,
    last: i64,
    count: i64,
) -> Result<(), ImportError> {
    run.cursor = last;
    run.processed += count;
    ctx.store.save_import_progress(run).await?;
    Ok(())
}

async fn finish(ctx: &ImportContext, run: &ImportRun) -> Result<(), ImportError> {
    if ctx
        .store
        .set_import_state(&run.id, &["running"], "done")
        .await?
    {
        let status = report::status(&ctx.store, run).await?;
        let details = report::summary_ru(&status);
        tracing::info!(account = %run.account_id, run = %run.id, dry_run = run.dry_run, "customer import finished");
        let action = crate::domain::audit::AuditAction::CustomerImportFinished;
        ctx.store
            .audit(&run.account_id, WORKER_ACTOR, action.as_ref(), &details)
            .await?;
    }
    Ok(())
}

async fn note_error(ctx: &ImportContext, run_id: &str, reason: &str) -> Result<(), StoreError> {
    if let Some(mut run) = ctx.store.import_run(run_id).await? {
        run.last_error = Some(reason.to_owned());
        ctx.store.save_import_progress(&run).await?;
    }
    Ok(())
}

/// Ends a run as failed with its reason (the command line's way out of a permanent failure).
pub async fn abandon(ctx: &ImportContext, run_id: &str, reason: &str) -> Result<(), StoreError> {
    fail(ctx, run_id, reason).await
}

async fn fail(ctx: &ImportContext, run_id: &str, reason: &str) -> Result<(), StoreError> {
    tracing::warn!(run = %run_id, %reason, "customer import failed");
    note_error(ctx, run_id, reason).await?;
    ctx.store
        .set_import_state(run_id, &["running", "stopping"], "failed")
        .await?;
    Ok(())
}

fn json_api_error(error: JsonApiError) -> ImportError {
    tracing::warn!(%error, "customer import: MoySklad");
    match error {
        JsonApiError::Forbidden(_) => ImportError::Permanent(
            "МойСклад не дал приложению доступа к контрагентам. Откройте приложение в МоёмСкладе \
             (раздел «Приложения») и примите расширенный доступ — просмотр контрагентов, — затем \
             запустите перенос ещё раз"
                .into(),
        ),
        error if error.is_transient() => ImportError::Retry(error.describe_ru()),
        error => ImportError::Permanent(error.describe_ru()),
    }
}

fn bonusplus_error(error: BonusPlusError) -> ImportError {
    if error.is_retryable() {
        ImportError::Retry(error.describe_ru())
    } else {
        ImportError::Permanent(error.describe_ru())
    }
}
