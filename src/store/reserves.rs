//! Bonus reserves held in BonusPlus for receipts being calculated at a till.
//! Storage only: asking BonusPlus is the `reserves` service's.
//!
//! A reserve row is written *before* BonusPlus is asked (state `intended`), so a crash between the
//! two steps leaves a row that the expiry worker reconciles by releasing whatever BonusPlus may hold.

use rust_decimal::Decimal;

use super::{decode, decode_phone, now_ms, with_pool, Store, StoreError};
use crate::domain::phone::Phone;

#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::EnumString, strum::AsRefStr)]
#[strum(serialize_all = "snake_case")]
pub enum ReserveState {
    /// Recorded; BonusPlus may or may not hold it yet.
    Intended,
    /// BonusPlus holds it.
    Active,
    /// Released in BonusPlus (expired, replaced, or before a sale).
    Released,
    /// Spent by a sale.
    Consumed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reserve {
    pub id: String,
    pub account_id: String,
    pub phone: Phone,
    pub retail_store_id: String,
    /// Stored as exact decimal text.
    pub amount: Decimal,
    pub state: ReserveState,
    pub expires_at: i64,
}

#[derive(sqlx::FromRow)]
struct ReserveRow {
    id: String,
    account_id: String,
    phone: String,
    retail_store_id: String,
    amount: String,
    state: String,
    expires_at: i64,
}

impl TryFrom<ReserveRow> for Reserve {
    type Error = StoreError;
    fn try_from(row: ReserveRow) -> Result<Self, StoreError> {
        Ok(Reserve {
            state: decode("reserve state", &row.state)?,
            phone: decode_phone(&row.phone)?,
            amount: decode("reserve amount", &row.amount)?,
            id: row.id,
            account_id: row.account_id,
            retail_store_id: row.retail_store_id,
            expires_at: row.expires_at,
        })
    }
}

const RESERVE_COLUMNS: &str = "id, account_id, phone, retail_store_id, amount, state, expires_at";

impl Store {
    pub async fn insert_reserve(&self, reserve: &Reserve) -> Result<(), StoreError> {
        let now = now_ms();
        with_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO reserves (id, account_id, phone, retail_store_id, amount, state, expires_at, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
            )
            .bind(&reserve.id)
            .bind(&reserve.account_id)
            .bind(reserve.phone.as_str())
            .bind(&reserve.retail_store_id)
            .bind(reserve.amount.to_string())
            .bind(reserve.state.as_ref())
            .bind(reserve.expires_at)
            .bind(now)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Moves a reserve of `account_id` from one state to another; `false` if it was not in `from`.
    pub async fn transition_reserve(
        &self,
        account_id: &str,
        id: &str,
        from: ReserveState,
        to: ReserveState,
    ) -> Result<bool, StoreError> {
        let changed = with_pool!(self, |pool| {
            sqlx::query(
                "UPDATE reserves SET state = $4, updated_at = $5 WHERE account_id = $1 AND id = $2 AND state = $3",
            )
            .bind(account_id)
            .bind(id)
            .bind(from.as_ref())
            .bind(to.as_ref())
            .bind(now_ms())
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(changed == 1)
    }

    /// The reserves still held (or possibly held) for a customer at a point of sale.
    pub async fn open_reserves(
        &self,
        account_id: &str,
        phone: &Phone,
        retail_store_id: &str,
    ) -> Result<Vec<Reserve>, StoreError> {
        let sql = format!(
            "SELECT {RESERVE_COLUMNS} FROM reserves
             WHERE account_id = $1 AND phone = $2 AND retail_store_id = $3 AND state IN ('intended', 'active')
             ORDER BY created_at"
        );
        let rows: Vec<ReserveRow> = with_pool!(self, |pool| {
            sqlx::query_as(&sql)
                .bind(account_id)
                .bind(phone.as_str())
                .bind(retail_store_id)
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(Reserve::try_from).collect()
    }

    /// Reserves whose lifetime ran out while still held (or possibly held).
    pub async fn expired_reserves(&self, now: i64, limit: i64) -> Result<Vec<Reserve>, StoreError> {
        let sql = format!(
            "SELECT {RESERVE_COLUMNS} FROM reserves WHERE state IN ('intended', 'active') AND expires_at <= $1
             ORDER BY expires_at LIMIT $2"
        );
        let rows: Vec<ReserveRow> = with_pool!(self, |pool| {
            sqlx::query_as(&sql)
                .bind(now)
                .bind(limit)
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(Reserve::try_from).collect()
    }

    /// Number of reserves held (or possibly held) — for metrics.
    pub async fn outstanding_reserves(&self) -> Result<i64, StoreError> {
        let (count,): (i64,) = with_pool!(self, |pool| {
            sqlx::query_as("SELECT COUNT(*) FROM reserves WHERE state IN ('intended', 'active')")
                .fetch_one(pool)
                .await?
        });
        Ok(count)
    }
}
