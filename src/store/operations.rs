//! Sales and returns, each recorded once per idempotency key (with its delivery job, in one
//! transaction) before it is delivered to BonusPlus. Storage only: no clients, no HTTP.
//!
//! What an operation carries is the outbox's ([`OperationPayload`]): the store writes it as JSON
//! text and reads it back typed, so no layer above handles the text.

use super::jobs::insert_job;
use super::{decode, decode_phone, now_ms, with_pool, NewJob, Store, StoreError};
use crate::domain::phone::Phone;

#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::EnumString, strum::AsRefStr)]
#[strum(serialize_all = "snake_case")]
pub enum OperationKind {
    Sale,
    Return,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, strum::EnumString, strum::AsRefStr, strum::IntoStaticStr,
)]
#[strum(serialize_all = "snake_case")]
pub enum OperationState {
    /// Recorded, not yet confirmed by BonusPlus.
    Pending,
    /// BonusPlus booked it.
    Delivered,
    /// BonusPlus refused it for good; kept for an operator.
    Failed,
    /// Nothing to send (anonymous sale, return of a sale BonusPlus never had).
    NothingToDo,
    /// A return whose sale could not be found: kept for an administrator to match it to a sale
    /// (or to close it) from the settings page.
    NeedsAttention,
}

/// The bonuses a booked sale spent and earned, whole kopecks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BookedBonuses {
    pub spent_kopecks: i64,
    pub earned_kopecks: i64,
}

/// What a recorded operation carries. Its shape is the owner's (the outbox's payload enum); the
/// store only keeps its JSON text in the `payload` column. `String` reads and writes the text as it
/// is (for tests and tools that look at rows directly).
pub trait OperationPayload: Sized {
    /// The text to store.
    fn to_stored(&self) -> Result<String, StoreError>;
    /// What an operation of `kind` in `state` stored as `text`. Never fails: a payload that no
    /// longer reads is a fact about the row, for its reader to handle.
    fn from_stored(kind: OperationKind, state: OperationState, text: &str) -> Self;
}

impl OperationPayload for String {
    fn to_stored(&self) -> Result<String, StoreError> {
        Ok(self.clone())
    }

    fn from_stored(_: OperationKind, _: OperationState, text: &str) -> Self {
        text.to_owned()
    }
}

#[derive(Debug, Clone)]
pub struct NewOperation<P = String> {
    pub id: String,
    pub account_id: String,
    pub kind: OperationKind,
    pub idempotency_key: String,
    pub ms_id: Option<String>,
    pub sale_id: Option<String>,
    pub phone: Option<Phone>,
    pub state: OperationState,
    pub payload: P,
    /// MoySklad's point of sale.
    pub retail_store_id: Option<String>,
    /// MoySklad's counterparty (the customer) as the till named it.
    pub counterparty_id: Option<String>,
    /// What was noted on arrival (e.g. amounts rounded), for the settings page.
    pub notes: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation<P = String> {
    pub id: String,
    pub account_id: String,
    pub kind: OperationKind,
    pub idempotency_key: String,
    pub ms_id: Option<String>,
    pub sale_id: Option<String>,
    pub phone: Option<Phone>,
    pub state: OperationState,
    pub payload: P,
    pub response: Option<String>,
    pub last_error: Option<String>,
    pub attempts: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub retail_store_id: Option<String>,
    pub counterparty_id: Option<String>,
    pub notes: Option<String>,
}

#[derive(sqlx::FromRow)]
pub(super) struct OperationRow {
    id: String,
    account_id: String,
    kind: String,
    idempotency_key: String,
    ms_id: Option<String>,
    sale_id: Option<String>,
    phone: Option<String>,
    state: String,
    payload: String,
    response: Option<String>,
    last_error: Option<String>,
    attempts: i64,
    created_at: i64,
    updated_at: i64,
    retail_store_id: Option<String>,
    counterparty_id: Option<String>,
    notes: Option<String>,
}

impl OperationRow {
    pub(super) fn read<P: OperationPayload>(self) -> Result<Operation<P>, StoreError> {
        let row = self;
        let kind = decode("operation kind", &row.kind)?;
        let state = decode("operation state", &row.state)?;
        Ok(Operation {
            payload: P::from_stored(kind, state, &row.payload),
            kind,
            state,
            phone: row.phone.as_deref().map(decode_phone).transpose()?,
            id: row.id,
            account_id: row.account_id,
            idempotency_key: row.idempotency_key,
            ms_id: row.ms_id,
            sale_id: row.sale_id,
            response: row.response,
            last_error: row.last_error,
            attempts: row.attempts,
            created_at: row.created_at,
            updated_at: row.updated_at,
            retail_store_id: row.retail_store_id,
            counterparty_id: row.counterparty_id,
            notes: row.notes,
        })
    }
}

/// The columns an [`OperationRow`] reads, as a literal (so statements can be built with `concat!`).
macro_rules! operation_columns {
    () => {
        "id, account_id, kind, idempotency_key, ms_id, sale_id, phone, state, payload, response, last_error, attempts, created_at, updated_at, retail_store_id, counterparty_id, notes"
    };
}

pub(super) const OPERATION_COLUMNS: &str = operation_columns!();

/// Binds a [`NewOperation`] to [`INSERT_OPERATION`] and runs it on `$executor` (a pool or a
/// transaction of either backend): the one place the operation INSERT is written.
macro_rules! insert_operation {
    ($executor:expr, $op:expr, $payload:expr, $now:expr) => {
        sqlx::query_as::<_, OperationRow>(INSERT_OPERATION)
            .bind(&$op.id)
            .bind(&$op.account_id)
            .bind($op.kind.as_ref())
            .bind(&$op.idempotency_key)
            .bind(&$op.ms_id)
            .bind(&$op.sale_id)
            .bind($op.phone.as_ref().map(Phone::as_str))
            .bind($op.state.as_ref())
            .bind($payload)
            .bind($now)
            .bind(&$op.retail_store_id)
            .bind(&$op.counterparty_id)
            .bind(&$op.notes)
            .fetch_optional($executor)
            .await?
    };
}

const INSERT_OPERATION: &str = concat!(
    "INSERT INTO operations (id, account_id, kind, idempotency_key, ms_id, sale_id, phone, state, payload, created_at, updated_at,
                             retail_store_id, counterparty_id, notes)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, $12, $13)
     ON CONFLICT (account_id, kind, idempotency_key) DO NOTHING
     RETURNING ",
    operation_columns!()
);

impl Store {
    /// Records an operation unless one with the same (account, kind, idempotency key) exists, with
    /// its delivery `job` when given — in one transaction (the transactional outbox): either both
    /// exist or neither. Returns the stored operation and whether this call created it; a repeated
    /// key records nothing. Concurrent calls with one key create exactly one row (the unique
    /// constraint decides).
    pub async fn record_operation<P: OperationPayload>(
        &self,
        op: &NewOperation<P>,
        job: Option<&NewJob>,
    ) -> Result<(Operation<P>, bool), StoreError> {
        let now = now_ms();
        let payload = op.payload.to_stored()?;
        let created: Option<OperationRow> = with_pool!(self, |pool| match job {
            None => insert_operation!(pool, op, &payload, now),
            Some(job) => {
                let mut tx = pool.begin().await?;
                let created = insert_operation!(&mut *tx, op, &payload, now);
                if created.is_some() {
                    insert_job!(&mut *tx, job, now);
                }
                tx.commit().await?;
                created
            }
        });
        if let Some(row) = created {
            return Ok((row.read()?, true));
        }
        let existing = self
            .operation_by_key(&op.account_id, op.kind, &op.idempotency_key)
            .await?
            .ok_or_else(|| StoreError::Corrupt("operation vanished after a conflict".into()))?;
        Ok((existing, false))
    }

    /// Saves delivery progress (e.g. return lines already reversed) without finishing.
    pub async fn save_operation_progress(
        &self,
        id: &str,
        response: &str,
    ) -> Result<(), StoreError> {
        with_pool!(self, |pool| {
            sqlx::query("UPDATE operations SET response = $2, updated_at = $3 WHERE id = $1")
                .bind(id)
                .bind(response)
                .bind(now_ms())
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    pub async fn operation_by_key<P: OperationPayload>(
        &self,
        account_id: &str,
        kind: OperationKind,
        idempotency_key: &str,
    ) -> Result<Option<Operation<P>>, StoreError> {
        self.one_operation(
            "account_id = $1 AND kind = $2 AND idempotency_key = $3",
            &[account_id, kind.as_ref(), idempotency_key],
        )
        .await
    }

    /// An operation of `account_id` by our id (never another account's).
    pub async fn operation<P: OperationPayload>(
        &self,
        account_id: &str,
        id: &str,
    ) -> Result<Option<Operation<P>>, StoreError> {
        self.one_operation("account_id = $1 AND id = $2", &[account_id, id])
            .await
    }

    /// The sale of `account_id` that MoySklad knows by `ms_id`.
    pub async fn sale_by_ms_id<P: OperationPayload>(
        &self,
        account_id: &str,
        ms_id: &str,
    ) -> Result<Option<Operation<P>>, StoreError> {
        self.one_operation(
            "account_id = $1 AND kind = 'sale' AND ms_id = $2
             ORDER BY created_at LIMIT 1",
            &[account_id, ms_id],
        )
        .await
    }

    /// Returns already recorded against a sale (to know what is left to return).
    pub async fn returns_of_sale<P: OperationPayload>(
        &self,
        account_id: &str,
        sale_id: &str,
    ) -> Result<Vec<Operation<P>>, StoreError> {
        let sql = format!(
            "SELECT {OPERATION_COLUMNS} FROM operations WHERE account_id = $1 AND kind = 'return' AND sale_id = $2
             ORDER BY created_at"
        );
        let rows: Vec<OperationRow> = self.select_all(&sql, &[account_id, sale_id]).await?;
        rows.into_iter().map(OperationRow::read).collect()
    }

    /// The operation whose row matches `filter` (SQL after `WHERE`, selecting one row), its text
    /// parameters bound from `params`.
    async fn one_operation<P: OperationPayload>(
        &self,
        filter: &str,
        params: &[&str],
    ) -> Result<Option<Operation<P>>, StoreError> {
        let sql = format!("SELECT {OPERATION_COLUMNS} FROM operations WHERE {filter}");
        let row: Option<OperationRow> = self.select_one(&sql, params).await?;
        row.map(OperationRow::read).transpose()
    }

    /// Records the outcome of a delivery attempt. Delivered marks when it was booked (once: a
    /// repeated delivery keeps the first time); failed, when it was refused — the activity counts by
    /// them.
    pub async fn finish_operation(
        &self,
        id: &str,
        state: OperationState,
        response: Option<&str>,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        with_pool!(self, |pool| {
            sqlx::query(
                "UPDATE operations SET state = $2, response = COALESCE($3, response), last_error = $4,
                        attempts = attempts + 1, updated_at = $5,
                        booked_at = CASE WHEN $2 = 'delivered' THEN COALESCE(booked_at, $5) ELSE booked_at END,
                        failed_at = CASE WHEN $2 = 'failed' THEN $5 ELSE failed_at END
                 WHERE id = $1",
            )
            .bind(id)
            .bind(state.as_ref())
            .bind(response)
            .bind(error)
            .bind(now_ms())
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Records a sale BonusPlus booked, with the bonuses it spent and earned (whole kopecks) for the
    /// shop's activity. Booked once: a repeated delivery keeps the first time.
    pub async fn book_sale(
        &self,
        id: &str,
        response: &str,
        bonuses: BookedBonuses,
    ) -> Result<(), StoreError> {
        with_pool!(self, |pool| {
            sqlx::query(
                "UPDATE operations SET state = 'delivered', response = $2, last_error = NULL,
                        attempts = attempts + 1, updated_at = $3, booked_at = COALESCE(booked_at, $3),
                        bonus_spent_kopecks = $4, bonus_earned_kopecks = $5
                 WHERE id = $1",
            )
            .bind(id)
            .bind(response)
            .bind(now_ms())
            .bind(bonuses.spent_kopecks)
            .bind(bonuses.earned_kopecks)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// The booked sales of a customer (MoySklad's counterparty) at a point of sale recorded at or
    /// after `since_ms`, most recent first, at most `limit`.
    pub async fn recent_customer_sales<P: OperationPayload>(
        &self,
        account_id: &str,
        retail_store_id: &str,
        counterparty_id: &str,
        since_ms: i64,
        limit: i64,
    ) -> Result<Vec<Operation<P>>, StoreError> {
        let sql = format!(
            "SELECT {OPERATION_COLUMNS} FROM operations
             WHERE account_id = $1 AND kind = 'sale' AND counterparty_id = $2 AND retail_store_id = $3
               AND state = 'delivered' AND created_at >= $4
             ORDER BY created_at DESC, id DESC LIMIT $5"
        );
        let rows: Vec<OperationRow> = with_pool!(self, |pool| {
            sqlx::query_as(&sql)
                .bind(account_id)
                .bind(counterparty_id)
                .bind(retail_store_id)
                .bind(since_ms)
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(OperationRow::read).collect()
    }

    /// The newest operations of an account of one kind in one state (the settings page's lists).
    pub async fn operations_in_state<P: OperationPayload>(
        &self,
        account_id: &str,
        kind: OperationKind,
        state: OperationState,
        limit: i64,
    ) -> Result<Vec<Operation<P>>, StoreError> {
        let sql = format!(
            "SELECT {OPERATION_COLUMNS} FROM operations WHERE account_id = $1 AND kind = $2 AND state = $3
             ORDER BY created_at DESC, id DESC LIMIT $4"
        );
        let rows: Vec<OperationRow> = with_pool!(self, |pool| {
            sqlx::query_as(&sql)
                .bind(account_id)
                .bind(kind.as_ref())
                .bind(state.as_ref())
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(OperationRow::read).collect()
    }

    /// The newest operations of an account that carry notes (e.g. amounts rounded on arrival).
    pub async fn operations_with_notes<P: OperationPayload>(
        &self,
        account_id: &str,
        limit: i64,
    ) -> Result<Vec<Operation<P>>, StoreError> {
        let sql = format!(
            "SELECT {OPERATION_COLUMNS} FROM operations WHERE account_id = $1 AND notes IS NOT NULL
             ORDER BY created_at DESC, id DESC LIMIT $2"
        );
        let rows: Vec<OperationRow> = with_pool!(self, |pool| {
            sqlx::query_as(&sql)
                .bind(account_id)
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(OperationRow::read).collect()
    }

    /// Records the customer's phone once the delivery has resolved it.
    pub async fn set_operation_phone(&self, id: &str, phone: &Phone) -> Result<(), StoreError> {
        with_pool!(self, |pool| {
            sqlx::query("UPDATE operations SET phone = $2, updated_at = $3 WHERE id = $1")
                .bind(id)
                .bind(phone.as_str())
                .bind(now_ms())
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// Number of operations by state for an account (`None` = all accounts): pending, failed.
    pub async fn operation_counts(
        &self,
        account_id: Option<&str>,
    ) -> Result<(i64, i64), StoreError> {
        let counts = with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT
                    COALESCE(SUM(CASE WHEN state = 'pending' THEN 1 ELSE 0 END), 0),
                    COALESCE(SUM(CASE WHEN state = 'failed' THEN 1 ELSE 0 END), 0)
                 FROM operations WHERE ($1 IS NULL OR account_id = $1)",
            )
            .bind(account_id)
            .fetch_one(pool)
            .await?
        });
        Ok(counts)
    }
}
