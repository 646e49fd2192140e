//! Verification codes sent to customers: when the last one went out and the code sealed (to answer
//! it again inside the repeat window), and every code texted (the hourly cap per phone).
//! Storage only: sealing is `crypto`'s, sending is BonusPlus's (`loyalty_api::verification`).

use super::{with_pool, Store, StoreError};

/// A slot for one code texted to a phone, taken by [`Store::claim_code_slot`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeSlot {
    pub account_id: String,
    pub phone: String,
    pub sent_at: i64,
}

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

    /// Takes a slot for one more code to `slot.phone` if fewer than `max` were texted since
    /// `window_start`; `false` when the cap is reached. One statement checks and records, so two
    /// requests at once rarely both pass at the last free slot (PostgreSQL may let both through at
    /// READ COMMITTED; the cap is a guard against abuse, not an invariant money depends on).
    pub async fn claim_code_slot(
        &self,
        slot: &CodeSlot,
        window_start: i64,
        max: i64,
    ) -> Result<bool, StoreError> {
        let taken = with_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO verification_sends (account_id, phone, sent_at)
                 SELECT $1, $2, $3
                 WHERE (SELECT COUNT(*) FROM verification_sends
                        WHERE account_id = $1 AND phone = $2 AND sent_at > $4) < $5",
            )
            .bind(&slot.account_id)
            .bind(&slot.phone)
            .bind(slot.sent_at)
            .bind(window_start)
            .bind(max)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(taken == 1)
    }

    /// Gives a slot back: the code it was taken for never left.
    pub async fn release_code_slot(&self, slot: &CodeSlot) -> Result<(), StoreError> {
        with_pool!(self, |pool| {
            sqlx::query(
                "DELETE FROM verification_sends WHERE account_id = $1 AND phone = $2 AND sent_at = $3",
            )
            .bind(&slot.account_id)
            .bind(&slot.phone)
            .bind(slot.sent_at)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Forgets codes sent before `codes_before` (only the time of sending stays, for the repeat
    /// window) and sends recorded before `sends_before` (outside every cap window).
    pub async fn prune_verification(
        &self,
        codes_before: i64,
        sends_before: i64,
    ) -> Result<u64, StoreError> {
        let mut changed = 0;
        with_pool!(self, |pool| {
            changed += sqlx::query(
                "UPDATE verification_requests SET code_enc = NULL WHERE code_enc IS NOT NULL AND sent_at < $1",
            )
            .bind(codes_before)
            .execute(pool)
            .await?
            .rows_affected();
            changed += sqlx::query("DELETE FROM verification_sends WHERE sent_at < $1")
                .bind(sends_before)
                .execute(pool)
                .await?
                .rows_affected();
        });
        Ok(changed)
    }
}
