//! Product sync: keeps BonusPlus's catalogue in step with MoySklad's, so that promotions BonusPlus
//! runs on particular products fire when the till names them.
//! Shared service below the settings page and the workers: must not depend on `state` or on
//! incoming modules; the queue hands it its jobs ([`SyncContext`] is their [`JobOwner`]).
//!
//! A run reads the whole catalogue page by page (folders, products, services, variants) and sends
//! each BonusPlus store the account maps only the rows whose fingerprint changed since they were
//! last accepted. Runs go through the job queue (one job per account, leased, so several instances
//! never run one account's sync twice); progress and the resume point are saved after every page,
//! and a run interrupted by a failure continues from there. Fingerprints are saved after every
//! accepted batch, so nothing accepted is sent again.

pub mod catalogue;
mod schedule;

pub use schedule::{enqueue_due, syncs_per_tick};

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use futures::future::BoxFuture;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::accounts::Accounts;
use crate::bonusplus::{ApiKey, BonusPlusClient, BonusPlusError, ProductImport, ProductTiny};
use crate::config::SyncSettings;
use crate::jobs::{JobError, JobOwner};
use crate::moysklad::json_api::{JsonApiClient, JsonApiError};
use crate::store::{
    now_ms, AccountStatus, Job, JobState, LoyaltySettings, NewJob, Store, StoreError, SyncRun,
    SyncState,
};
use catalogue::{
    fingerprint, sync_id_pairs, to_import_rows, CatalogueRow, ENTITIES, PRODUCT_ENTITY,
};

pub const SYNC_KIND: &str = "product_sync";
const MAX_ATTEMPTS: i64 = 30;

/// What a sync run uses. Cheap to clone.
#[derive(Clone)]
pub struct SyncContext {
    pub store: Store,
    pub bonusplus: BonusPlusClient,
    pub json_api: JsonApiClient,
    pub accounts: Accounts,
    pub settings: Arc<SyncSettings>,
}

/// The queue hands product sync jobs to the sync.
impl JobOwner for SyncContext {
    fn runs(&self, kind: &str) -> bool {
        kind == SYNC_KIND
    }

    fn run<'a>(&'a self, job: &'a Job) -> BoxFuture<'a, Result<(), JobError>> {
        Box::pin(run_job(self, job))
    }
}

/// A run's progress as the settings page shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncStatus {
    /// `running`, `done` or `failed`.
    pub state: &'static str,
    pub total: i64,
    pub processed: i64,
    pub sent: i64,
    pub errors: i64,
    pub percent: i64,
    pub last_error: Option<String>,
    pub started_at: i64,
    pub finished_at: Option<i64>,
}

impl From<SyncRun> for SyncStatus {
    fn from(run: SyncRun) -> Self {
        let percent = match (run.state, run.total) {
            (SyncState::Done, _) => 100,
            (_, 0) => 0,
            (_, total) => (run.processed * 100 / total).clamp(0, 100),
        };
        SyncStatus {
            state: run.state.into(),
            total: run.total,
            processed: run.processed,
            sent: run.sent,
            errors: run.errors,
            percent,
            last_error: run.last_error,
            started_at: run.started_at,
            finished_at: run.finished_at,
        }
    }
}

/// Where a run continues: which entity list and from which offset.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
struct Cursor {
    entity: usize,
    offset: u64,
}

fn job_key(account_id: &str) -> String {
    format!("sync:{account_id}")
}

/// Asks for a sync of the account now; `false` when one is already running.
pub async fn request_sync(store: &Store, account_id: &str) -> Result<bool, StoreError> {
    let job = sync_job(account_id);
    if store.enqueue_job(&job).await?.is_some() {
        return Ok(true);
    }
    // The account's job exists: due again unless it is running right now.
    store
        .reschedule_job_by_key(&job_key(account_id), now_ms())
        .await
}

/// The account's sync job, due now.
pub(super) fn sync_job(account_id: &str) -> NewJob {
    NewJob {
        account_id: Some(account_id.to_owned()),
        kind: SYNC_KIND.to_owned(),
        payload: account_id.to_owned(),
        dedupe_key: Some(job_key(account_id)),
        max_attempts: MAX_ATTEMPTS,
        run_at: now_ms(),
    }
}

/// The account's latest run, if any, and whether a run waits in the queue for a worker.
pub async fn sync_status(
    store: &Store,
    account_id: &str,
) -> Result<(Option<SyncStatus>, bool), StoreError> {
    let key = job_key(account_id);
    let (run, job) = tokio::join!(
        store.latest_sync_run(account_id),
        store.job_state_by_key(&key),
    );
    let run = run?;
    let running = run.as_ref().is_some_and(|r| r.state == SyncState::Running);
    let queued = !running && matches!(job?, Some(JobState::Ready | JobState::Running));
    Ok((run.map(SyncStatus::from), queued))
}

/// Runs (or resumes) the sync of the job's account.
///
/// A run that cannot go on (permanent refusal, or the queue's last attempt) ends as `failed` with
/// its reason on the settings page and completes its job: a sync failure is the page's business,
/// not the delivery backlog's (operators' `retry-failed` and the outbox metrics stay about money).
pub async fn run_job(ctx: &SyncContext, job: &Job) -> Result<(), JobError> {
    let account_id = job.payload.as_str();
    let last_attempt = job.attempts >= job.max_attempts;
    let inputs = match inputs(ctx, account_id).await {
        Ok(inputs) => inputs,
        Err(JobError::Store(error)) => return Err(JobError::Store(error)),
        Err(error) => {
            let mut run = match ctx.store.latest_sync_run(account_id).await? {
                Some(run) if run.state == SyncState::Running => run,
                _ => {
                    let id = uuid::Uuid::new_v4().to_string();
                    ctx.store.start_sync_run(&id, account_id, false).await?
                }
            };
            return give_up_or_retry(ctx, &mut run, error, last_attempt).await;
        }
    };
    let mut run = match ctx.store.latest_sync_run(account_id).await? {
        Some(run) if run.state == SyncState::Running => run,
        _ => {
            let first = inputs.fingerprints.values().all(HashMap::is_empty);
            let id = uuid::Uuid::new_v4().to_string();
            ctx.store.start_sync_run(&id, account_id, first).await?
        }
    };
    match sync(ctx, &inputs, &mut run).await {
        Ok(()) => finish(ctx, &mut run, SyncState::Done, None)
            .await
            .map_err(JobError::from),
        Err(JobError::Store(error)) => Err(JobError::Store(error)),
        Err(error) => give_up_or_retry(ctx, &mut run, error, last_attempt).await,
    }
}

/// Records the failure on the run; ends the run (and its job) when it cannot succeed later.
async fn give_up_or_retry(
    ctx: &SyncContext,
    run: &mut SyncRun,
    error: JobError,
    last_attempt: bool,
) -> Result<(), JobError> {
    run.errors += 1;
    run.last_error = Some(error.to_string());
    if matches!(error, JobError::Permanent(_)) || last_attempt {
        tracing::warn!(account = %run.account_id, %error, "product sync failed");
        finish(ctx, run, SyncState::Failed, Some(error.to_string())).await?;
        return Ok(());
    }
    ctx.store.update_sync_run(run).await?;
    Err(error)
}

/// The BonusPlus stores an account's settings name (mapped points of sale and the default).
pub fn bonusplus_stores(settings: &LoyaltySettings) -> BTreeSet<String> {
    let map: BTreeMap<String, String> =
        serde_json::from_str(&settings.store_map).unwrap_or_default();
    stores_of(&map, &settings.default_store)
}

pub fn stores_of(map: &BTreeMap<String, String>, default_store: &str) -> BTreeSet<String> {
    map.values()
        .map(String::as_str)
        .chain(std::iter::once(default_store))
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// What a run needs of the account, read once.
struct Inputs {
    account_id: String,
    token: SecretString,
    key: ApiKey,
    /// BonusPlus store → product id → fingerprint of what it last accepted.
    fingerprints: HashMap<String, HashMap<String, String>>,
    /// Sync id → product id, as last recorded.
    sync_ids: HashMap<String, String>,
}

async fn inputs(ctx: &SyncContext, account_id: &str) -> Result<Inputs, JobError> {
    let account = ctx
        .store
        .account(account_id)
        .await?
        .filter(|a| a.status == AccountStatus::Activated)
        .ok_or_else(|| JobError::Permanent("Приложение не подключено".into()))?;
    let token = ctx
        .accounts
        .json_api_token(&account)
        .map_err(|error| JobError::Permanent(error.to_string()))?;
    let key = ctx
        .accounts
        .bonusplus_key(account_id)
        .await?
        .ok_or_else(|| JobError::Permanent("Не указан ключ API БонусПлюс".into()))?;
    let settings = ctx
        .store
        .settings(account_id)
        .await?
        .ok_or_else(|| JobError::Permanent("Настройки не сохранены".into()))?;
    let stores = bonusplus_stores(&settings);
    if stores.is_empty() {
        return Err(JobError::Permanent(
            "Не сопоставлен ни один магазин БонусПлюс".into(),
        ));
    }
    let mut fingerprints = HashMap::new();
    for store in stores {
        let known = ctx.store.synced_fingerprints(account_id, &store).await?;
        fingerprints.insert(store, known);
    }
    let sync_ids = ctx.store.product_sync_ids(account_id).await?;
    Ok(Inputs {
        account_id: account_id.to_owned(),
        token,
        key,
        fingerprints,
        sync_ids,
    })
}

async fn sync(ctx: &SyncContext, inputs: &Inputs, run: &mut SyncRun) -> Result<(), JobError> {
    let page_size = ctx.settings.page_size;
    let cursor: Cursor = run
        .cursor
        .as_deref()
        .and_then(|c| serde_json::from_str(c).ok())
        .unwrap_or_default();
    if run.total == 0 {
        run.total = catalogue_size(ctx, &inputs.token).await?;
        ctx.store.update_sync_run(run).await?;
    }
    let mut folders = HashMap::new();
    if cursor.entity > PRODUCT_ENTITY {
        // Resuming after the products: their folders are still needed for the variants.
        product_folders(ctx, &inputs.token, &mut folders).await?;
    }
    let mut fingerprints = inputs.fingerprints.clone();
    let mut sync_ids = inputs.sync_ids.clone();
    for (entity, name) in ENTITIES.iter().enumerate().skip(cursor.entity) {
        let mut offset = if entity == cursor.entity {
            cursor.offset
        } else {
            0
        };
        loop {
            let page = ctx
                .json_api
                .page::<CatalogueRow>(&inputs.token, name, offset, page_size, &[])
                .await
                .map_err(json_api_error)?;
            let rows = to_import_rows(entity, &page.rows, &mut folders);
            record_sync_ids(ctx, inputs, &page.rows, &mut sync_ids).await?;
            for (store, known) in fingerprints.iter_mut() {
                run.sent += import_changed(ctx, inputs, store, &rows, known).await?;
            }
            run.processed += page.rows.len() as i64;
            let next = page.next_offset();
            let resume = match next {
                Some(next) => Cursor {
                    entity,
                    offset: next,
                },
                None => Cursor {
                    entity: entity + 1,
                    offset: 0,
                },
            };
            run.cursor = serde_json::to_string(&resume).ok();
            ctx.store.update_sync_run(run).await?;
            match next {
                Some(next) => offset = next,
                None => break,
            }
        }
    }
    Ok(())
}

/// Sends `store` the rows it does not have as they are now, in batches; returns how many.
async fn import_changed(
    ctx: &SyncContext,
    inputs: &Inputs,
    store: &str,
    rows: &[ProductTiny],
    known: &mut HashMap<String, String>,
) -> Result<i64, JobError> {
    let changed: Vec<(ProductTiny, String)> = rows
        .iter()
        .map(|row| (row.clone(), fingerprint(row)))
        .filter(|(row, print)| known.get(&row.id) != Some(print))
        .collect();
    for batch in changed.chunks(ctx.settings.batch_size.max(1)) {
        let import = ProductImport {
            store: store.to_owned(),
            products: batch.iter().map(|(row, _)| row.clone()).collect(),
        };
        ctx.bonusplus
            .import_products(&inputs.key, &import)
            .await
            .map_err(bonusplus_error)?;
        let accepted: Vec<(String, String)> = batch
            .iter()
            .map(|(row, print)| (row.id.clone(), print.clone()))
            .collect();
        ctx.store
            .save_synced_fingerprints(&inputs.account_id, store, &accepted)
            .await?;
        known.extend(accepted);
    }
    Ok(changed.len() as i64)
}

/// Records the sync ids of a page that are new or changed (till-made goods are named by them).
async fn record_sync_ids(
    ctx: &SyncContext,
    inputs: &Inputs,
    rows: &[CatalogueRow],
    known: &mut HashMap<String, String>,
) -> Result<(), StoreError> {
    let changed: Vec<(String, String)> = sync_id_pairs(rows)
        .into_iter()
        .filter(|(sync_id, id)| known.get(sync_id) != Some(id))
        .collect();
    ctx.store
        .save_product_sync_ids(&inputs.account_id, &changed)
        .await?;
    known.extend(changed);
    Ok(())
}

/// Number of rows of every list, for the progress percentage (one small request per list).
async fn catalogue_size(ctx: &SyncContext, token: &SecretString) -> Result<i64, JobError> {
    let mut total = 0;
    for name in ENTITIES {
        let page = ctx
            .json_api
            .page::<serde_json::Value>(token, name, 0, 1, &[])
            .await
            .map_err(json_api_error)?;
        total += i64::try_from(page.total).unwrap_or(i64::MAX / 8);
    }
    Ok(total)
}

async fn product_folders(
    ctx: &SyncContext,
    token: &SecretString,
    folders: &mut HashMap<String, String>,
) -> Result<(), JobError> {
    let mut offset = 0;
    loop {
        let page = ctx
            .json_api
            .page::<CatalogueRow>(
                token,
                ENTITIES[PRODUCT_ENTITY],
                offset,
                ctx.settings.page_size,
                &[],
            )
            .await
            .map_err(json_api_error)?;
        to_import_rows(PRODUCT_ENTITY, &page.rows, folders);
        match page.next_offset() {
            Some(next) => offset = next,
            None => return Ok(()),
        }
    }
}

async fn finish(
    ctx: &SyncContext,
    run: &mut SyncRun,
    outcome: SyncState,
    error: Option<String>,
) -> Result<(), StoreError> {
    run.state = outcome;
    run.finished_at = Some(now_ms());
    if outcome == SyncState::Done {
        run.cursor = None;
        run.processed = run.processed.max(run.total);
    }
    if error.is_some() {
        run.last_error = error;
    }
    ctx.store.update_sync_run(run).await?;
    tracing::info!(account = %run.account_id, outcome = outcome.as_ref(), sent = run.sent, "product sync finished");
    Ok(())
}

fn json_api_error(error: JsonApiError) -> JobError {
    tracing::warn!(%error, "product sync: MoySklad");
    let message = error.describe_ru();
    if error.is_transient() {
        JobError::Retry(message)
    } else {
        JobError::Permanent(message)
    }
}

fn bonusplus_error(error: BonusPlusError) -> JobError {
    tracing::warn!(%error, "product sync: BonusPlus");
    let message = error.describe_ru();
    if error.is_retryable() {
        JobError::Retry(message)
    } else {
        JobError::Permanent(message)
    }
}
