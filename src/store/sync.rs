//! Product-sync runs and what each product looked like when it was last sent to BonusPlus.
//! Storage only: the sync itself is `sync`'s.

use super::{decode, now_ms, with_pool, Store, StoreError};

/// Where a product-sync run stands.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, strum::EnumString, strum::AsRefStr, strum::IntoStaticStr,
)]
#[strum(serialize_all = "snake_case")]
pub enum SyncState {
    Running,
    Done,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncRun {
    pub id: String,
    pub account_id: String,
    pub state: SyncState,
    pub full_import: bool,
    pub total: i64,
    pub processed: i64,
    pub sent: i64,
    pub errors: i64,
    pub cursor: Option<String>,
    pub last_error: Option<String>,
    pub started_at: i64,
    pub finished_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct SyncRunRow {
    id: String,
    account_id: String,
    state: String,
    full_import: bool,
    total: i64,
    processed: i64,
    sent: i64,
    errors: i64,
    cursor: Option<String>,
    last_error: Option<String>,
    started_at: i64,
    finished_at: Option<i64>,
}

impl TryFrom<SyncRunRow> for SyncRun {
    type Error = StoreError;
    fn try_from(row: SyncRunRow) -> Result<Self, StoreError> {
        Ok(SyncRun {
            state: decode("sync state", &row.state)?,
            id: row.id,
            account_id: row.account_id,
            full_import: row.full_import,
            total: row.total,
            processed: row.processed,
            sent: row.sent,
            errors: row.errors,
            cursor: row.cursor,
            last_error: row.last_error,
            started_at: row.started_at,
            finished_at: row.finished_at,
        })
    }
}

const RUN_COLUMNS: &str = "id, account_id, state, full_import, total, processed, sent, errors, cursor, last_error, started_at, finished_at";

impl Store {
    pub async fn start_sync_run(
        &self,
        id: &str,
        account_id: &str,
        full_import: bool,
    ) -> Result<SyncRun, StoreError> {
        let sql = format!(
            "INSERT INTO sync_runs (id, account_id, state, full_import, started_at) VALUES ($1, $2, 'running', $3, $4)
             RETURNING {RUN_COLUMNS}"
        );
        let run: SyncRunRow = with_pool!(self, |pool| {
            sqlx::query_as(&sql)
                .bind(id)
                .bind(account_id)
                .bind(full_import)
                .bind(now_ms())
                .fetch_one(pool)
                .await?
        });
        run.try_into()
    }

    /// Saves progress (and where to resume) of a running sync.
    pub async fn update_sync_run(&self, run: &SyncRun) -> Result<(), StoreError> {
        with_pool!(self, |pool| {
            sqlx::query(
                "UPDATE sync_runs SET state = $3, total = $4, processed = $5, sent = $6, errors = $7, cursor = $8,
                        last_error = $9, finished_at = $10
                 WHERE id = $1 AND account_id = $2",
            )
            .bind(&run.id)
            .bind(&run.account_id)
            .bind(run.state.as_ref())
            .bind(run.total)
            .bind(run.processed)
            .bind(run.sent)
            .bind(run.errors)
            .bind(&run.cursor)
            .bind(&run.last_error)
            .bind(run.finished_at)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    pub async fn latest_sync_run(&self, account_id: &str) -> Result<Option<SyncRun>, StoreError> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM sync_runs WHERE account_id = $1 ORDER BY started_at DESC, id DESC LIMIT 1"
        );
        let run: Option<SyncRunRow> = with_pool!(self, |pool| {
            sqlx::query_as(&sql)
                .bind(account_id)
                .fetch_optional(pool)
                .await?
        });
        run.map(SyncRun::try_from).transpose()
    }

    /// Number of sync runs of every account by state: running, done, failed (for metrics).
    pub async fn sync_run_counts(&self) -> Result<(i64, i64, i64), StoreError> {
        let counts = with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT
                    COALESCE(SUM(CASE WHEN state = 'running' THEN 1 ELSE 0 END), 0),
                    COALESCE(SUM(CASE WHEN state = 'done' THEN 1 ELSE 0 END), 0),
                    COALESCE(SUM(CASE WHEN state = 'failed' THEN 1 ELSE 0 END), 0)
                 FROM sync_runs",
            )
            .fetch_one(pool)
            .await?
        });
        Ok(counts)
    }

    /// The fingerprint a product had when it was last imported into `store`.
    pub async fn synced_fingerprint(
        &self,
        account_id: &str,
        store: &str,
        product_id: &str,
    ) -> Result<Option<String>, StoreError> {
        let row: Option<(String,)> = with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT fingerprint FROM synced_products WHERE account_id = $1 AND store = $2 AND product_id = $3",
            )
            .bind(account_id)
            .bind(store)
            .bind(product_id)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(|(fingerprint,)| fingerprint))
    }

    pub async fn save_synced_fingerprint(
        &self,
        account_id: &str,
        store: &str,
        product_id: &str,
        fingerprint: &str,
    ) -> Result<(), StoreError> {
        let row = (product_id.to_owned(), fingerprint.to_owned());
        self.save_synced_fingerprints(account_id, store, &[row])
            .await
    }

    /// Every fingerprint of products last imported into `store` (product id → fingerprint).
    pub async fn synced_fingerprints(
        &self,
        account_id: &str,
        store: &str,
    ) -> Result<std::collections::HashMap<String, String>, StoreError> {
        let rows: Vec<(String, String)> = with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT product_id, fingerprint FROM synced_products WHERE account_id = $1 AND store = $2",
            )
            .bind(account_id)
            .bind(store)
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().collect())
    }

    /// Records what a batch looked like when BonusPlus accepted it, in one transaction.
    pub async fn save_synced_fingerprints(
        &self,
        account_id: &str,
        store: &str,
        rows: &[(String, String)],
    ) -> Result<(), StoreError> {
        let now = now_ms();
        with_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            for (product_id, fingerprint) in rows {
                sqlx::query(
                    "INSERT INTO synced_products (account_id, store, product_id, fingerprint, synced_at) VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (account_id, store, product_id) DO UPDATE SET fingerprint = excluded.fingerprint, synced_at = excluded.synced_at",
                )
                .bind(account_id)
                .bind(store)
                .bind(product_id)
                .bind(fingerprint)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Forgets what was sent to BonusPlus: the next run imports everything again.
    pub async fn forget_synced_products(&self, account_id: &str) -> Result<(), StoreError> {
        with_pool!(self, |pool| {
            sqlx::query("DELETE FROM synced_products WHERE account_id = $1")
                .bind(account_id)
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}
