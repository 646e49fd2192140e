//! The LoyaltyAPI call log behind the settings page: batches written, newest read back.
//! Storage only: the batching writer lives in `loyalty_api::call_log`.

use super::{with_pool, Store, StoreError};

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
    /// Writes a batch of LoyaltyAPI call outcomes in one transaction.
    pub async fn record_api_calls(&self, calls: &[ApiCall]) -> Result<(), StoreError> {
        if calls.is_empty() {
            return Ok(());
        }
        with_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            for call in calls {
                sqlx::query("INSERT INTO api_calls (account_id, endpoint, status, error, at) VALUES ($1, $2, $3, $4, $5)")
                    .bind(&call.account_id)
                    .bind(&call.endpoint)
                    .bind(i64::from(call.status))
                    .bind(&call.error)
                    .bind(call.at)
                    .execute(&mut *tx)
                    .await?;
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
