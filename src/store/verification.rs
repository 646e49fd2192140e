//! Verification codes sent to customers: when the last one went out, and the code sealed.
//! Storage only: sealing is `crypto`'s, sending is BonusPlus's (`loyalty_api::verification`).

use super::{with_pool, Store, StoreError};

impl Store {
    /// When a code was last sent to a customer for `purpose`, and the sealed code answered then.
    pub async fn verification_request(
        &self,
        account_id: &str,
        phone: &str,
        purpose: &str,
    ) -> Result<Option<(i64, Option<Vec<u8>>)>, StoreError> {
        let row = with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT sent_at, code_enc FROM verification_requests WHERE account_id = $1 AND phone = $2 AND purpose = $3",
            )
            .bind(account_id)
            .bind(phone)
            .bind(purpose)
            .fetch_optional(pool)
            .await?
        });
        Ok(row)
    }

    pub async fn save_verification_request(
        &self,
        account_id: &str,
        phone: &str,
        purpose: &str,
        sent_at: i64,
        code_enc: &[u8],
    ) -> Result<(), StoreError> {
        with_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO verification_requests (account_id, phone, purpose, sent_at, code_enc) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (account_id, phone, purpose) DO UPDATE SET sent_at = excluded.sent_at, code_enc = excluded.code_enc",
            )
            .bind(account_id)
            .bind(phone)
            .bind(purpose)
            .bind(sent_at)
            .bind(code_enc)
            .execute(pool)
            .await?;
        });
        Ok(())
    }
}
