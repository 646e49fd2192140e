//! Sales and returns, each recorded once per idempotency key before it is delivered to BonusPlus.

use super::{now_ms, with_pool, NewJob, Store, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperationKind {
    Sale,
    Return,
}

impl OperationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OperationKind::Sale => "sale",
            OperationKind::Return => "return",
        }
    }

    fn parse(text: &str) -> Result<Self, StoreError> {
        match text {
            "sale" => Ok(OperationKind::Sale),
            "return" => Ok(OperationKind::Return),
            other => Err(StoreError::Corrupt(format!("operation kind `{other}`"))),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperationState {
    /// Recorded, not yet confirmed by BonusPlus.
    Pending,
    /// BonusPlus booked it.
    Delivered,
    /// BonusPlus refused it for good; kept for an operator.
    Failed,
    /// Nothing to send (anonymous sale, return of a sale BonusPlus never had).
    NothingToDo,
}

impl OperationState {
    pub fn as_str(self) -> &'static str {
        match self {
            OperationState::Pending => "pending",
            OperationState::Delivered => "delivered",
            OperationState::Failed => "failed",
            OperationState::NothingToDo => "nothing_to_do",
        }
    }

    fn parse(text: &str) -> Result<Self, StoreError> {
        match text {
            "pending" => Ok(OperationState::Pending),
            "delivered" => Ok(OperationState::Delivered),
            "failed" => Ok(OperationState::Failed),
            "nothing_to_do" => Ok(OperationState::NothingToDo),
            other => Err(StoreError::Corrupt(format!("operation state `{other}`"))),
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewOperation {
    pub id: String,
    pub account_id: String,
    pub kind: OperationKind,
    pub idempotency_key: String,
    pub ms_id: Option<String>,
    pub sale_id: Option<String>,
    pub phone: Option<String>,
    pub state: OperationState,
    pub payload: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    pub id: String,
    pub account_id: String,
    pub kind: OperationKind,
    pub idempotency_key: String,
    pub ms_id: Option<String>,
    pub sale_id: Option<String>,
    pub phone: Option<String>,
    pub state: OperationState,
    pub payload: String,
    pub response: Option<String>,
    pub last_error: Option<String>,
    pub attempts: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(sqlx::FromRow)]
struct OperationRow {
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
}

impl TryFrom<OperationRow> for Operation {
    type Error = StoreError;
    fn try_from(row: OperationRow) -> Result<Self, StoreError> {
        Ok(Operation {
            kind: OperationKind::parse(&row.kind)?,
            state: OperationState::parse(&row.state)?,
            id: row.id,
            account_id: row.account_id,
            idempotency_key: row.idempotency_key,
            ms_id: row.ms_id,
            sale_id: row.sale_id,
            phone: row.phone,
            payload: row.payload,
            response: row.response,
            last_error: row.last_error,
            attempts: row.attempts,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

const OPERATION_COLUMNS: &str = "id, account_id, kind, idempotency_key, ms_id, sale_id, phone, state, payload, response, last_error, attempts, created_at, updated_at";

impl Store {
    /// Records an operation unless one with the same (account, kind, idempotency key) exists.
    /// Returns the stored operation and whether this call created it. Concurrent calls with one key
    /// create exactly one row (the unique constraint decides).
    pub async fn record_operation(
        &self,
        op: &NewOperation,
    ) -> Result<(Operation, bool), StoreError> {
        let now = now_ms();
        let insert = format!(
            "INSERT INTO operations (id, account_id, kind, idempotency_key, ms_id, sale_id, phone, state, payload, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
             ON CONFLICT (account_id, kind, idempotency_key) DO NOTHING
             RETURNING {OPERATION_COLUMNS}"
        );
        let created: Option<OperationRow> = with_pool!(self, |pool| {
            sqlx::query_as(&insert)
                .bind(&op.id)
                .bind(&op.account_id)
                .bind(op.kind.as_str())
                .bind(&op.idempotency_key)
                .bind(&op.ms_id)
                .bind(&op.sale_id)
                .bind(&op.phone)
                .bind(op.state.as_str())
                .bind(&op.payload)
                .bind(now)
                .fetch_optional(pool)
                .await?
        });
        if let Some(row) = created {
            return Ok((row.try_into()?, true));
        }
        let existing = self
            .operation_by_key(&op.account_id, op.kind, &op.idempotency_key)
            .await?
            .ok_or_else(|| StoreError::Corrupt("operation vanished after a conflict".into()))?;
        Ok((existing, false))
    }

    /// Records an operation and its delivery job in one transaction (the transactional outbox):
    /// either both exist or neither. A repeated key records nothing and returns the existing
    /// operation with `false`.
    pub async fn record_operation_with_job(
        &self,
        op: &NewOperation,
        job: &NewJob,
    ) -> Result<(Operation, bool), StoreError> {
        let now = now_ms();
        let insert = format!(
            "INSERT INTO operations (id, account_id, kind, idempotency_key, ms_id, sale_id, phone, state, payload, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
             ON CONFLICT (account_id, kind, idempotency_key) DO NOTHING
             RETURNING {OPERATION_COLUMNS}"
        );
        let created: Option<OperationRow> = with_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let created: Option<OperationRow> = sqlx::query_as(&insert)
                .bind(&op.id)
                .bind(&op.account_id)
                .bind(op.kind.as_str())
                .bind(&op.idempotency_key)
                .bind(&op.ms_id)
                .bind(&op.sale_id)
                .bind(&op.phone)
                .bind(op.state.as_str())
                .bind(&op.payload)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
            if created.is_some() {
                sqlx::query(
                    "INSERT INTO jobs (account_id, kind, payload, dedupe_key, state, attempts, max_attempts, run_at, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, 'ready', 0, $5, $6, $7, $7)
                     ON CONFLICT (dedupe_key) DO NOTHING",
                )
                .bind(&job.account_id)
                .bind(&job.kind)
                .bind(&job.payload)
                .bind(&job.dedupe_key)
                .bind(job.max_attempts)
                .bind(job.run_at)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            created
        });
        if let Some(row) = created {
            return Ok((row.try_into()?, true));
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

    /// Puts permanently failed operations back to pending (operator retry); returns their ids.
    pub async fn reopen_failed_operations(&self) -> Result<Vec<(String, String)>, StoreError> {
        let rows: Vec<(String, String)> = with_pool!(self, |pool| {
            sqlx::query_as(
                "UPDATE operations SET state = 'pending', last_error = NULL, updated_at = $1 WHERE state = 'failed'
                 RETURNING id, account_id",
            )
            .bind(now_ms())
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    pub async fn operation_by_key(
        &self,
        account_id: &str,
        kind: OperationKind,
        idempotency_key: &str,
    ) -> Result<Option<Operation>, StoreError> {
        let sql = format!(
            "SELECT {OPERATION_COLUMNS} FROM operations WHERE account_id = $1 AND kind = $2 AND idempotency_key = $3"
        );
        let row: Option<OperationRow> = with_pool!(self, |pool| {
            sqlx::query_as(&sql)
                .bind(account_id)
                .bind(kind.as_str())
                .bind(idempotency_key)
                .fetch_optional(pool)
                .await?
        });
        row.map(Operation::try_from).transpose()
    }

    /// An operation of `account_id` by our id (never another account's).
    pub async fn operation(
        &self,
        account_id: &str,
        id: &str,
    ) -> Result<Option<Operation>, StoreError> {
        let sql =
            format!("SELECT {OPERATION_COLUMNS} FROM operations WHERE account_id = $1 AND id = $2");
        let row: Option<OperationRow> = with_pool!(self, |pool| {
            sqlx::query_as(&sql)
                .bind(account_id)
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        row.map(Operation::try_from).transpose()
    }

    /// The sale of `account_id` that MoySklad knows by `ms_id`.
    pub async fn sale_by_ms_id(
        &self,
        account_id: &str,
        ms_id: &str,
    ) -> Result<Option<Operation>, StoreError> {
        let sql = format!(
            "SELECT {OPERATION_COLUMNS} FROM operations WHERE account_id = $1 AND kind = 'sale' AND ms_id = $2
             ORDER BY created_at LIMIT 1"
        );
        let row: Option<OperationRow> = with_pool!(self, |pool| {
            sqlx::query_as(&sql)
                .bind(account_id)
                .bind(ms_id)
                .fetch_optional(pool)
                .await?
        });
        row.map(Operation::try_from).transpose()
    }

    /// Returns already recorded against a sale (to know what is left to return).
    pub async fn returns_of_sale(
        &self,
        account_id: &str,
        sale_id: &str,
    ) -> Result<Vec<Operation>, StoreError> {
        let sql = format!(
            "SELECT {OPERATION_COLUMNS} FROM operations WHERE account_id = $1 AND kind = 'return' AND sale_id = $2
             ORDER BY created_at"
        );
        let rows: Vec<OperationRow> = with_pool!(self, |pool| {
            sqlx::query_as(&sql)
                .bind(account_id)
                .bind(sale_id)
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(Operation::try_from).collect()
    }

    /// Records the outcome of a delivery attempt.
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
                        attempts = attempts + 1, updated_at = $5
                 WHERE id = $1",
            )
            .bind(id)
            .bind(state.as_str())
            .bind(response)
            .bind(error)
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
