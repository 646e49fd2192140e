//! The audit log of an account: who changed what, when (never a secret).
//! Storage only: no HTTP, no clients.

use super::{now_ms, with_pool, Store, StoreError};

impl Store {
    /// Appends to the audit log (who, what; never a secret).
    pub async fn audit(
        &self,
        account_id: &str,
        actor: &str,
        action: &str,
        details: &str,
    ) -> Result<(), StoreError> {
        with_pool!(self, |pool| {
            sqlx::query("INSERT INTO audit_log (account_id, actor, action, details, at) VALUES ($1, $2, $3, $4, $5)")
                .bind(account_id)
                .bind(actor)
                .bind(action)
                .bind(details)
                .bind(now_ms())
                .execute(pool)
                .await?;
        });
        Ok(())
    }

    /// The newest audit entries of an account: (actor, action, details, at).
    pub async fn audit_entries(
        &self,
        account_id: &str,
        limit: i64,
    ) -> Result<Vec<(String, String, String, i64)>, StoreError> {
        let rows = with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT actor, action, details, at FROM audit_log WHERE account_id = $1 ORDER BY id DESC LIMIT $2",
            )
            .bind(account_id)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }
}
