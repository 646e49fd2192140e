//! Each account's loyalty settings (BonusPlus key sealed, store mapping, codes, reserve lifetime).
//! Storage only: no crypto (the key stays sealed here), no clients, no HTTP.

use super::{with_pool, Store, StoreError};
use crate::domain::activity::UtcOffset;
use crate::domain::verification::MessageRoute;

/// Loyalty settings of one account. The BonusPlus key stays encrypted here.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LoyaltySettings {
    pub account_id: String,
    pub bonusplus_key_enc: Option<Vec<u8>>,
    pub default_store: String,
    /// JSON object: MoySklad retail store id → BonusPlus store.
    pub store_map: String,
    pub external_search: bool,
    pub spend_requires_code: bool,
    pub register_requires_code: bool,
    pub reserve_ttl_secs: i64,
    pub updated_at: i64,
    pub updated_by: String,
    // Verification codes (issue 14).
    /// How codes reach the customer: `own`, `bonusplus` or `off` (`domain::verification::CodeDelivery`).
    pub code_delivery: String,
    /// The text carrying the bridge's own code, with `{code}` where the code goes.
    pub code_message: String,
}

impl Store {
    pub async fn settings(&self, account_id: &str) -> Result<Option<LoyaltySettings>, StoreError> {
        let row = with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT account_id, bonusplus_key_enc, default_store, store_map, external_search, spend_requires_code,
                        register_requires_code, reserve_ttl_secs, updated_at, updated_by,
                        code_delivery, code_message
                 FROM loyalty_settings WHERE account_id = $1",
            )
            .bind(account_id)
            .fetch_optional(pool)
            .await?
        });
        Ok(row)
    }

    /// Saves settings; `bonusplus_key_enc = None` keeps the stored key.
    pub async fn save_settings(&self, settings: &LoyaltySettings) -> Result<(), StoreError> {
        with_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO loyalty_settings (account_id, bonusplus_key_enc, default_store, store_map, external_search,
                     spend_requires_code, register_requires_code, reserve_ttl_secs, updated_at, updated_by,
                     code_delivery, code_message)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
                         $11, $12)
                 ON CONFLICT (account_id) DO UPDATE SET
                   bonusplus_key_enc = COALESCE(excluded.bonusplus_key_enc, loyalty_settings.bonusplus_key_enc),
                   default_store = excluded.default_store,
                   store_map = excluded.store_map,
                   external_search = excluded.external_search,
                   spend_requires_code = excluded.spend_requires_code,
                   register_requires_code = excluded.register_requires_code,
                   reserve_ttl_secs = excluded.reserve_ttl_secs,
                   updated_at = excluded.updated_at,
                   updated_by = excluded.updated_by,
                   code_delivery = excluded.code_delivery,
                   code_message = excluded.code_message",
            )
            .bind(&settings.account_id)
            .bind(&settings.bonusplus_key_enc)
            .bind(&settings.default_store)
            .bind(&settings.store_map)
            .bind(settings.external_search)
            .bind(settings.spend_requires_code)
            .bind(settings.register_requires_code)
            .bind(settings.reserve_ttl_secs)
            .bind(settings.updated_at)
            .bind(&settings.updated_by)
            .bind(&settings.code_delivery)
            .bind(&settings.code_message)
            .execute(pool)
            .await?;
        });
        Ok(())
    }
}

// ---- Checkout settings (issue 15): kept apart from `LoyaltySettings`, in the same row. ----

/// What an account does at checkout with customers and returns the till does not fully identify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct CheckoutSettings {
    /// A customer BonusPlus does not know is registered at the till (BonusPlus's guide); off:
    /// the receipt goes without loyalty.
    pub create_customers: bool,
    /// How many days back a return without its sale's id looks for the customer's sale.
    pub return_window_days: i64,
}

impl Default for CheckoutSettings {
    fn default() -> Self {
        CheckoutSettings {
            create_customers: true,
            return_window_days: 14,
        }
    }
}

impl Store {
    /// The account's checkout settings; the defaults when the account has no settings yet.
    pub async fn checkout_settings(
        &self,
        account_id: &str,
    ) -> Result<CheckoutSettings, StoreError> {
        let row: Option<CheckoutSettings> = with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT create_customers, return_window_days FROM loyalty_settings WHERE account_id = $1",
            )
            .bind(account_id)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.unwrap_or_default())
    }

    /// Saves the checkout settings of an account whose settings row exists (saved first).
    pub async fn save_checkout_settings(
        &self,
        account_id: &str,
        checkout: &CheckoutSettings,
    ) -> Result<(), StoreError> {
        with_pool!(self, |pool| {
            sqlx::query(
                "UPDATE loyalty_settings SET create_customers = $2, return_window_days = $3 WHERE account_id = $1",
            )
            .bind(account_id)
            .bind(checkout.create_customers)
            .bind(checkout.return_window_days)
            .execute(pool)
            .await?;
        });
        Ok(())
    }
}

// ---- The shop's time zone (issue 18): which day the activity counts an operation on. ----

impl Store {
    /// The account's offset from UTC; Moscow's when it has no settings yet.
    pub async fn utc_offset(&self, account_id: &str) -> Result<UtcOffset, StoreError> {
        let row: Option<(i64,)> = with_pool!(self, |pool| {
            sqlx::query_as("SELECT utc_offset_minutes FROM loyalty_settings WHERE account_id = $1")
                .bind(account_id)
                .fetch_optional(pool)
                .await?
        });
        match row {
            None => Ok(UtcOffset::default()),
            Some((minutes,)) => UtcOffset::from_minutes(minutes)
                .map_err(|_| StoreError::Corrupt(format!("utc_offset_minutes `{minutes}`"))),
        }
    }

    /// Saves the time zone of an account whose settings row exists (saved first).
    pub async fn save_utc_offset(
        &self,
        account_id: &str,
        offset: UtcOffset,
    ) -> Result<(), StoreError> {
        with_pool!(self, |pool| {
            sqlx::query(
                "UPDATE loyalty_settings SET utc_offset_minutes = $2 WHERE account_id = $1",
            )
            .bind(account_id)
            .bind(offset.minutes())
            .execute(pool)
            .await?;
        });
        Ok(())
    }
}

// ---- «Куда отправлять код» (issue 22): the channels BonusPlus tries for a code message. ----

impl Store {
    /// The account's message route; SMS only when it has no settings yet.
    pub async fn message_route(&self, account_id: &str) -> Result<MessageRoute, StoreError> {
        let row: Option<(String,)> = with_pool!(self, |pool| {
            sqlx::query_as("SELECT message_route FROM loyalty_settings WHERE account_id = $1")
                .bind(account_id)
                .fetch_optional(pool)
                .await?
        });
        match row {
            None => Ok(MessageRoute::default()),
            Some((name,)) => name
                .parse()
                .map_err(|_| StoreError::Corrupt(format!("message_route `{name}`"))),
        }
    }

    /// Saves the message route of an account whose settings row exists (saved first).
    pub async fn save_message_route(
        &self,
        account_id: &str,
        route: MessageRoute,
    ) -> Result<(), StoreError> {
        with_pool!(self, |pool| {
            sqlx::query("UPDATE loyalty_settings SET message_route = $2 WHERE account_id = $1")
                .bind(account_id)
                .bind(route.as_ref())
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}
