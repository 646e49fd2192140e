//! Which product a till-made good is: MoySklad's `syncId` of each product beside its id, recorded
//! by product sync, and whether an id is one product sync imported.
//! Storage only: the sync is `sync`'s, the mapping of receipt lines the LoyaltyAPI's.

use std::collections::{HashMap, HashSet};

use super::{now_ms, with_pool, Store, StoreError};

impl Store {
    /// Every sync id of the account's products (sync id → product id).
    pub async fn product_sync_ids(
        &self,
        account_id: &str,
    ) -> Result<HashMap<String, String>, StoreError> {
        let rows: Vec<(String, String)> = with_pool!(self, |pool| {
            sqlx::query_as("SELECT sync_id, product_id FROM product_sync_ids WHERE account_id = $1")
                .bind(account_id)
                .fetch_all(pool)
                .await?
        });
        Ok(rows.into_iter().collect())
    }

    /// Records (sync id, product id) pairs, in one transaction.
    pub async fn save_product_sync_ids(
        &self,
        account_id: &str,
        pairs: &[(String, String)],
    ) -> Result<(), StoreError> {
        if pairs.is_empty() {
            return Ok(());
        }
        let now = now_ms();
        with_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            for (sync_id, product_id) in pairs {
                sqlx::query(
                    "INSERT INTO product_sync_ids (account_id, sync_id, product_id, updated_at) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (account_id, sync_id) DO UPDATE SET product_id = excluded.product_id, updated_at = excluded.updated_at",
                )
                .bind(account_id)
                .bind(sync_id)
                .bind(product_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// The product ids of these sync ids, where known (sync id → product id).
    pub async fn products_of_sync_ids(
        &self,
        account_id: &str,
        sync_ids: &[String],
    ) -> Result<HashMap<String, String>, StoreError> {
        let mut found = HashMap::new();
        for sync_id in sync_ids {
            let row: Option<(String,)> = with_pool!(self, |pool| {
                sqlx::query_as(
                    "SELECT product_id FROM product_sync_ids WHERE account_id = $1 AND sync_id = $2",
                )
                .bind(account_id)
                .bind(sync_id)
                .fetch_optional(pool)
                .await?
            });
            if let Some((product,)) = row {
                found.insert(sync_id.clone(), product);
            }
        }
        Ok(found)
    }

    /// Which of these ids product sync imported into some BonusPlus store of the account.
    pub async fn known_product_ids(
        &self,
        account_id: &str,
        ids: &[String],
    ) -> Result<HashSet<String>, StoreError> {
        let mut known = HashSet::new();
        for id in ids {
            let row: Option<(String,)> = with_pool!(self, |pool| {
                sqlx::query_as(
                    "SELECT product_id FROM synced_products WHERE account_id = $1 AND product_id = $2 LIMIT 1",
                )
                .bind(account_id)
                .bind(id)
                .fetch_optional(pool)
                .await?
            });
            if row.is_some() {
                known.insert(id.clone());
            }
        }
        Ok(known)
    }
}
