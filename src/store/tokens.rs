//! LoyaltyAPI tokens, kept only as hashes: issue (replacing older ones), rotate (the new token
//! pending beside the current one until MoySklad confirms it) and resolve to an account.
//! Storage only: hashing is the caller's (`crypto`); no clients, no HTTP.

use super::{now_ms, with_pool, Store, StoreError};

impl Store {
    /// Replaces the account's LoyaltyAPI token: older ones stop working in the same transaction.
    pub async fn replace_api_token(
        &self,
        account_id: &str,
        token_hash: &str,
    ) -> Result<(), StoreError> {
        self.revoke_then_add_token(
            account_id,
            token_hash,
            "UPDATE api_tokens SET revoked_at = $2 WHERE account_id = $1 AND revoked_at IS NULL",
            "INSERT INTO api_tokens (token_hash, account_id, created_at) VALUES ($1, $2, $3)",
        )
        .await
    }

    /// The account a (hashed) LoyaltyAPI token belongs to, if the token is current or pending.
    pub async fn account_by_token_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(self
            .token_owner(token_hash)
            .await?
            .map(|(account, _pending)| account))
    }

    /// The account of a usable (hashed) token, and whether the token is still pending.
    pub async fn token_owner(
        &self,
        token_hash: &str,
    ) -> Result<Option<(String, bool)>, StoreError> {
        let found: Option<(String, String, bool)> = with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT token_hash, account_id, pending FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL",
            )
            .bind(token_hash)
            .fetch_optional(pool)
            .await?
        });
        // The index lookup already matched; the constant-time comparison keeps that true even if the
        // lookup were ever made by prefix or collation.
        Ok(found.and_then(|(stored, account, pending)| {
            crate::crypto::constant_time_eq(stored.as_bytes(), token_hash.as_bytes())
                .then_some((account, pending))
        }))
    }

    // ---- Rotation (issue 15): the new token is stored before MoySklad is told. ----

    /// Adds a rotated token as pending: it works at once, beside the current token (which keeps
    /// working), so no answer from MoySklad can leave the till without a token. An older pending
    /// token (a rotation never confirmed) is revoked.
    pub async fn add_pending_api_token(
        &self,
        account_id: &str,
        token_hash: &str,
    ) -> Result<(), StoreError> {
        self.revoke_then_add_token(
            account_id,
            token_hash,
            "UPDATE api_tokens SET revoked_at = $2 WHERE account_id = $1 AND pending AND revoked_at IS NULL",
            "INSERT INTO api_tokens (token_hash, account_id, created_at, pending) VALUES ($1, $2, $3, TRUE)",
        )
        .await
    }

    /// In one transaction: the account's tokens `revoke` selects stop working (`$1` the account,
    /// `$2` now), then `insert` stores `token_hash` (`$1` the hash, `$2` the account, `$3` now).
    async fn revoke_then_add_token(
        &self,
        account_id: &str,
        token_hash: &str,
        revoke: &str,
        insert: &str,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        with_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query(revoke)
                .bind(account_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            sqlx::query(insert)
                .bind(token_hash)
                .bind(account_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// MoySklad has the pending token (it said so, or the till used it): it becomes the current
    /// token and every other token of the account stops working. `false` when the token is not
    /// pending (confirmed already, revoked, or unknown): nothing changes then.
    pub async fn confirm_api_token(
        &self,
        account_id: &str,
        token_hash: &str,
    ) -> Result<bool, StoreError> {
        let now = now_ms();
        let confirmed = with_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let changed = sqlx::query(
                "UPDATE api_tokens SET pending = FALSE
                 WHERE token_hash = $1 AND account_id = $2 AND pending AND revoked_at IS NULL",
            )
            .bind(token_hash)
            .bind(account_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed == 1 {
                sqlx::query(
                    "UPDATE api_tokens SET revoked_at = $3 WHERE account_id = $1 AND token_hash <> $2 AND revoked_at IS NULL",
                )
                .bind(account_id)
                .bind(token_hash)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            changed == 1
        });
        Ok(confirmed)
    }

    /// Withdraws a pending token MoySklad refused (the current token stays); `false` when it was
    /// not pending (the till may already have confirmed it by using it).
    pub async fn withdraw_pending_api_token(
        &self,
        account_id: &str,
        token_hash: &str,
    ) -> Result<bool, StoreError> {
        let changed = with_pool!(self, |pool| {
            sqlx::query(
                "UPDATE api_tokens SET revoked_at = $3
                 WHERE token_hash = $1 AND account_id = $2 AND pending AND revoked_at IS NULL",
            )
            .bind(token_hash)
            .bind(account_id)
            .bind(now_ms())
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(changed == 1)
    }
}
