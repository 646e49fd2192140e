//! The LoyaltyAPI call log behind the settings page: batches written, newest read back.
//! Storage only: the batching writer lives in `loyalty_api::call_log`.

use super::{with_pool, Backend, Store, StoreError};

/// Rows per `INSERT` statement: five parameters each stays far below SQLite's limit of bound
/// parameters per statement.
const ROWS_PER_INSERT: usize = 100;

/// One LoyaltyAPI call's outcome, as the settings page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiCall {
    pub account_id: String,
    pub endpoint: String,
    pub status: u16,
    pub error: Option<String>,
    pub at: i64,
}

impl Store {
    /// Writes a batch of LoyaltyAPI call outcomes in one transaction, a multi-row `INSERT` per
    /// [`ROWS_PER_INSERT`]. On PostgreSQL the commit does not wait for the WAL flush: the log is a
    /// diagnostic, and a crash losing its last entries costs nothing, while the flush is what the
    /// till's own commits queue behind.
    pub async fn record_api_calls(&self, calls: &[ApiCall]) -> Result<(), StoreError> {
        if calls.is_empty() {
            return Ok(());
        }
        let postgres = self.backend() == Backend::Postgres;
        with_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            if postgres {
                sqlx::query("SET LOCAL synchronous_commit TO OFF")
                    .execute(&mut *tx)
                    .await?;
            }
            for chunk in calls.chunks(ROWS_PER_INSERT) {
                let mut insert = sqlx::QueryBuilder::new(
                    "INSERT INTO api_calls (account_id, endpoint, status, error, at) ",
                );
                insert.push_values(chunk, |mut row, call| {
                    row.push_bind(&call.account_id)
                        .push_bind(&call.endpoint)
                        .push_bind(i64::from(call.status))
                        .push_bind(&call.error)
                        .push_bind(call.at);
                });
                insert.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// The newest LoyaltyAPI calls of an account: (endpoint, status, error, at).
    pub async fn recent_api_calls(
        &self,
        account_id: &str,
        limit: i64,
    ) -> Result<Vec<(String, i64, Option<String>, i64)>, StoreError> {
        let rows = with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT endpoint, status, error, at FROM api_calls WHERE account_id = $1 ORDER BY id DESC LIMIT $2",
            )
            .bind(account_id)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }
}
