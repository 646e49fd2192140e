//! A shop's activity by day, counted by the database: operations booked (sales, returns, their
//! bonuses), customers the app registered, deliveries refused for good. Storage only: the days
//! and the window are `domain::activity`'s rules.
//!
//! One statement on both backends: a day is `(instant + offset) / 86 400 000` in integer
//! arithmetic, and sums are cast back to BIGINT (PostgreSQL sums BIGINT as NUMERIC). Each branch
//! reads an index on (account, time): `operations_booked`, `operations_failed`,
//! `customers_registered` — never every row of the account.

use super::{with_pool, Store, StoreError};
use crate::domain::activity::{DayActivity, DAY_MS};

const BY_DAY: &str = "
    SELECT day,
           CAST(SUM(sales) AS BIGINT) AS sales, CAST(SUM(returns) AS BIGINT) AS returns,
           CAST(SUM(spent) AS BIGINT) AS spent, CAST(SUM(earned) AS BIGINT) AS earned,
           CAST(SUM(registered) AS BIGINT) AS registered, CAST(SUM(failed) AS BIGINT) AS failed
    FROM (
        SELECT (booked_at + $2) / $5 AS day,
               CASE WHEN kind = 'sale' THEN 1 ELSE 0 END AS sales,
               CASE WHEN kind = 'return' THEN 1 ELSE 0 END AS returns,
               bonus_spent_kopecks AS spent, bonus_earned_kopecks AS earned,
               0 AS registered, 0 AS failed
          FROM operations WHERE account_id = $1 AND booked_at >= $3 AND booked_at < $4
        UNION ALL
        SELECT (registered_at + $2) / $5, 0, 0, 0, 0, 1, 0
          FROM customers WHERE account_id = $1 AND registered_at >= $3 AND registered_at < $4
        UNION ALL
        SELECT (failed_at + $2) / $5, 0, 0, 0, 0, 0, 1
          FROM operations WHERE account_id = $1 AND state = 'failed' AND failed_at >= $3 AND failed_at < $4
    ) events
    GROUP BY day
    ORDER BY day";

#[derive(sqlx::FromRow)]
struct DayRow {
    day: i64,
    sales: i64,
    returns: i64,
    spent: i64,
    earned: i64,
    registered: i64,
    failed: i64,
}

impl Store {
    /// What happened for `account_id` between `since_ms` (inclusive) and `until_ms` (exclusive),
    /// by the shop's day (`offset_ms` east of UTC): one row per day with anything, oldest first.
    pub async fn activity_by_day(
        &self,
        account_id: &str,
        since_ms: i64,
        until_ms: i64,
        offset_ms: i64,
    ) -> Result<Vec<(i64, DayActivity)>, StoreError> {
        let rows: Vec<DayRow> = with_pool!(self, |pool| {
            sqlx::query_as(BY_DAY)
                .bind(account_id)
                .bind(offset_ms)
                .bind(since_ms)
                .bind(until_ms)
                .bind(DAY_MS)
                .fetch_all(pool)
                .await?
        });
        Ok(rows
            .into_iter()
            .map(|row| {
                let activity = DayActivity {
                    sales_booked: row.sales,
                    returns_booked: row.returns,
                    bonuses_spent_kopecks: row.spent,
                    bonuses_earned_kopecks: row.earned,
                    customers_registered: row.registered,
                    deliveries_failed: row.failed,
                };
                (row.day, activity)
            })
            .collect())
    }
}
