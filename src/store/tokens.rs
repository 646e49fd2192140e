//! LoyaltyAPI tokens, kept only as hashes: issue (replacing older ones) and resolve to an account.
//! Storage only: hashing is the caller's (`crypto`); no clients, no HTTP.

use super::{now_ms, with_pool, Store, StoreError};

impl Store {
    /// Replaces the account's LoyaltyAPI token: older ones stop working in the same transaction.
    pub async fn replace_api_token(
        &self,
        account_id: &str,
        token_hash: &str,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        with_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query("UPDATE api_tokens SET revoked_at = $2 WHERE account_id = $1 AND revoked_at IS NULL")
                .bind(account_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO api_tokens (token_hash, account_id, created_at) VALUES ($1, $2, $3)",
            )
            .bind(token_hash)
            .bind(account_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// The account a (hashed) LoyaltyAPI token belongs to, if the token is current.
    pub async fn account_by_token_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<String>, StoreError> {
        let found: Option<(String, String)> = with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT token_hash, account_id FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL",
            )
            .bind(token_hash)
            .fetch_optional(pool)
            .await?
        });
        // The index lookup already matched; the constant-time comparison keeps that true even if the
        // lookup were ever made by prefix or collation.
        Ok(found.and_then(|(stored, account)| {
            crate::crypto::constant_time_eq(stored.as_bytes(), token_hash.as_bytes())
                .then_some(account)
        }))
    }
}
