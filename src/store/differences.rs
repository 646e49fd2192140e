//! BonusPlus answers that differed from an unconfirmed point, one row per account and point.
//! Storage only: what the points mean is `bonusplus::watch`'s, when to record them `differences`'.

use super::{now_ms, with_pool, Store, StoreError};

/// One point an account's BonusPlus differed from: the first answer's call, status and shape,
/// how often since, and a detail (why a customer edit was withheld, in Russian; may be empty).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Difference {
    pub account_id: String,
    pub point: String,
    pub endpoint: String,
    pub status: i64,
    pub shape: String,
    pub detail: String,
    pub seen: i64,
    pub first_seen_at: i64,
    pub last_seen_at: i64,
}

const COLUMNS: &str =
    "account_id, point, endpoint, status, shape, detail, seen, first_seen_at, last_seen_at";

impl Store {
    /// Records that `difference` happened now: the first time as a new row (returns true), later
    /// only counted (the first answer's call, status and shape stay; the detail is the latest).
    pub async fn record_difference(&self, difference: &Difference) -> Result<bool, StoreError> {
        let now = now_ms();
        let sql = "INSERT INTO bonusplus_differences
                     (account_id, point, endpoint, status, shape, detail, seen, first_seen_at, last_seen_at)
                   VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7)
                   ON CONFLICT (account_id, point) DO UPDATE SET
                     seen = bonusplus_differences.seen + 1,
                     detail = CASE WHEN excluded.detail = '' THEN bonusplus_differences.detail
                                   ELSE excluded.detail END,
                     last_seen_at = excluded.last_seen_at
                   RETURNING seen";
        let seen: i64 = with_pool!(self, |pool| {
            sqlx::query_scalar(sql)
                .bind(&difference.account_id)
                .bind(&difference.point)
                .bind(&difference.endpoint)
                .bind(difference.status)
                .bind(&difference.shape)
                .bind(&difference.detail)
                .bind(now)
                .fetch_one(pool)
                .await?
        });
        Ok(seen == 1)
    }

    /// The account's differences, the most recent first.
    pub async fn differences(&self, account_id: &str) -> Result<Vec<Difference>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM bonusplus_differences WHERE account_id = $1
             ORDER BY last_seen_at DESC, point"
        );
        let rows = with_pool!(self, |pool| {
            sqlx::query_as(&sql)
                .bind(account_id)
                .fetch_all(pool)
                .await?
        });
        Ok(rows)
    }
}
