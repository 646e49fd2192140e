//! Customer identity: BonusPlus knows a customer by phone, MoySklad by counterparty id, and the
//! LoyaltyAPI answers our GUID. The GUID is derived from (account, phone) so it is the same every
//! time, on every instance, even before the row exists; the row adds the MoySklad link.
//! Storage only: the GUID rule is `domain::identity`'s.

use super::{now_ms, with_pool, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CustomerLink {
    pub account_id: String,
    pub phone: String,
    pub customer_guid: String,
    pub ms_counterparty_id: Option<String>,
    pub card_number: Option<String>,
}

const CUSTOMER_COLUMNS: &str = "account_id, phone, customer_guid, ms_counterparty_id, card_number";

impl Store {
    /// Creates or updates the link; a known MoySklad id or card is never erased by a call that
    /// does not bring one.
    pub async fn link_customer(&self, link: &CustomerLink) -> Result<CustomerLink, StoreError> {
        self.upsert_customer(link, None).await
    }

    /// Links a customer the app has just created in BonusPlus, marking when (the activity counts
    /// them). A customer is marked once: the first registration's time stays.
    pub async fn link_registered_customer(
        &self,
        link: &CustomerLink,
    ) -> Result<CustomerLink, StoreError> {
        self.upsert_customer(link, Some(now_ms())).await
    }

    /// One transaction: a MoySklad id or a card names one customer, so linking it to this phone
    /// takes it from whichever other phone had it (a re-link). Without that, two rows would share
    /// the id and a lookup would pick between them by time, which two saves within one millisecond
    /// cannot order.
    async fn upsert_customer(
        &self,
        link: &CustomerLink,
        registered_at: Option<i64>,
    ) -> Result<CustomerLink, StoreError> {
        let now = now_ms();
        let upsert = format!(
            "INSERT INTO customers (account_id, phone, customer_guid, ms_counterparty_id, card_number, created_at, updated_at,
                                    registered_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6, $7)
             ON CONFLICT (account_id, phone) DO UPDATE SET
               ms_counterparty_id = COALESCE(excluded.ms_counterparty_id, customers.ms_counterparty_id),
               card_number = COALESCE(excluded.card_number, customers.card_number),
               registered_at = COALESCE(customers.registered_at, excluded.registered_at),
               updated_at = excluded.updated_at
             RETURNING {CUSTOMER_COLUMNS}"
        );
        let row = with_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            for (column, value) in [
                ("ms_counterparty_id", &link.ms_counterparty_id),
                ("card_number", &link.card_number),
            ] {
                let Some(value) = value else { continue };
                sqlx::query(&format!(
                    "UPDATE customers SET {column} = NULL, updated_at = $4
                     WHERE account_id = $1 AND {column} = $2 AND phone <> $3"
                ))
                .bind(&link.account_id)
                .bind(value)
                .bind(&link.phone)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            let row = sqlx::query_as(&upsert)
                .bind(&link.account_id)
                .bind(&link.phone)
                .bind(&link.customer_guid)
                .bind(&link.ms_counterparty_id)
                .bind(&link.card_number)
                .bind(now)
                .bind(registered_at)
                .fetch_one(&mut *tx)
                .await?;
            tx.commit().await?;
            row
        });
        Ok(row)
    }

    /// Finds a customer of `account_id` by our GUID or by MoySklad's counterparty id.
    pub async fn customer_by_id(
        &self,
        account_id: &str,
        id: &str,
    ) -> Result<Option<CustomerLink>, StoreError> {
        let sql = format!(
            "SELECT {CUSTOMER_COLUMNS} FROM customers
             WHERE account_id = $1 AND (customer_guid = $2 OR ms_counterparty_id = $2)
             ORDER BY updated_at DESC LIMIT 1"
        );
        let row = with_pool!(self, |pool| {
            sqlx::query_as(&sql)
                .bind(account_id)
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        Ok(row)
    }

    /// Finds a customer of `account_id` by the loyalty card number kept with the link.
    pub async fn customer_by_card(
        &self,
        account_id: &str,
        card: &str,
    ) -> Result<Option<CustomerLink>, StoreError> {
        let sql = format!(
            "SELECT {CUSTOMER_COLUMNS} FROM customers WHERE account_id = $1 AND card_number = $2
             ORDER BY updated_at DESC LIMIT 1"
        );
        let row = with_pool!(self, |pool| {
            sqlx::query_as(&sql)
                .bind(account_id)
                .bind(card)
                .fetch_optional(pool)
                .await?
        });
        Ok(row)
    }

    pub async fn customer_by_phone(
        &self,
        account_id: &str,
        phone: &str,
    ) -> Result<Option<CustomerLink>, StoreError> {
        let sql = format!(
            "SELECT {CUSTOMER_COLUMNS} FROM customers WHERE account_id = $1 AND phone = $2"
        );
        let row = with_pool!(self, |pool| {
            sqlx::query_as(&sql)
                .bind(account_id)
                .bind(phone)
                .fetch_optional(pool)
                .await?
        });
        Ok(row)
    }
}
