//! Which product a receipt line names to BonusPlus. Product sync imports MoySklad's ids; a good
//! created at the till arrives with `assortment.meta.idType = "sync"` (its `meta.id` is then the
//! `syncId`), or with an `assortment.syncId` beside an id product sync never imported. Such lines
//! are named by the id product sync recorded for that `syncId`, so BonusPlus's product promotions
//! fire for them; a product unknown to both is sent as it came.
//! Must not depend on `vendor_api` or `ui`.
//!
//! Only the lines that need it cost a lookup, and lookups are remembered per account for
//! [`LOOKUP_TTL`] (a product synced meanwhile is found once that passes).

use std::time::Duration;

use super::wire::Position;
use crate::store::{Store, StoreError};

/// How long a lookup (found or not) is remembered.
pub const LOOKUP_TTL: Duration = Duration::from_secs(60);
const LOOKUP_CAPACITY: u64 = 200_000;

/// What a line needs before its product is known.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Need {
    /// `meta.id` is the product.
    Id(String),
    /// `idType = "sync"`: the product is the one with this sync id (else the id as sent).
    SyncId { sync_id: String, sent: String },
    /// A `syncId` beside an id: the id, unless product sync never imported it.
    IdOrSyncId { id: String, sync_id: String },
}

fn need(position: &Position) -> Need {
    let assortment = &position.assortment;
    let id = assortment.meta.id.trim().to_owned();
    let sync_id = assortment
        .sync_id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    let by_sync = assortment
        .meta
        .id_type
        .as_deref()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("sync"));
    match (by_sync, sync_id) {
        (true, sync_id) => Need::SyncId {
            sync_id: sync_id.unwrap_or_else(|| id.clone()),
            sent: id,
        },
        (false, Some(sync_id)) if sync_id != id => Need::IdOrSyncId { id, sync_id },
        _ => Need::Id(id),
    }
}

/// The per-account memory of lookups. Cheap to clone.
#[derive(Clone)]
pub struct ProductIds {
    /// (account, sync id) → product id, if product sync recorded one.
    by_sync_id: moka::sync::Cache<(String, String), Option<String>>,
    /// (account, id) → whether product sync imported it.
    imported: moka::sync::Cache<(String, String), bool>,
}

impl Default for ProductIds {
    fn default() -> Self {
        ProductIds {
            by_sync_id: lookups(),
            imported: lookups(),
        }
    }
}

fn lookups<V: Clone + Send + Sync + 'static>() -> moka::sync::Cache<(String, String), V> {
    moka::sync::Cache::builder()
        .max_capacity(LOOKUP_CAPACITY)
        .time_to_live(LOOKUP_TTL)
        .build()
}

impl ProductIds {
    /// The BonusPlus product of every position, in order.
    pub async fn resolve(
        &self,
        store: &Store,
        account_id: &str,
        positions: &[Position],
    ) -> Result<Vec<String>, StoreError> {
        let mut products = Vec::with_capacity(positions.len());
        for position in positions {
            let product = match need(position) {
                Need::Id(id) => id,
                Need::SyncId { sync_id, sent } => self
                    .product_of(store, account_id, &sync_id)
                    .await?
                    .unwrap_or(sent),
                Need::IdOrSyncId { id, sync_id } => {
                    if self.was_imported(store, account_id, &id).await? {
                        id
                    } else {
                        self.product_of(store, account_id, &sync_id)
                            .await?
                            .unwrap_or(id)
                    }
                }
            };
            products.push(product);
        }
        Ok(products)
    }

    async fn product_of(
        &self,
        store: &Store,
        account_id: &str,
        sync_id: &str,
    ) -> Result<Option<String>, StoreError> {
        let key = (account_id.to_owned(), sync_id.to_owned());
        if let Some(known) = self.by_sync_id.get(&key) {
            return Ok(known);
        }
        let found = store
            .products_of_sync_ids(account_id, &[sync_id.to_owned()])
            .await?
            .remove(sync_id);
        self.by_sync_id.insert(key, found.clone());
        Ok(found)
    }

    async fn was_imported(
        &self,
        store: &Store,
        account_id: &str,
        id: &str,
    ) -> Result<bool, StoreError> {
        let key = (account_id.to_owned(), id.to_owned());
        if let Some(known) = self.imported.get(&key) {
            return Ok(known);
        }
        let known = store
            .known_product_ids(account_id, &[id.to_owned()])
            .await?
            .contains(id);
        self.imported.insert(key, known);
        Ok(known)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn position(assortment: serde_json::Value) -> Position {
        serde_json::from_value(json!({"assortment": assortment, "quantity": 1, "price": 1}))
            .unwrap()
    }

    #[test]
    fn only_till_made_goods_need_a_lookup() {
        let native = position(json!({"meta": {"href": "h", "id": "p1", "idType": "native"}}));
        assert_eq!(need(&native), Need::Id("p1".into()));
        let plain = position(json!({"meta": {"href": "h", "id": "p1"}, "syncId": "p1"}));
        assert_eq!(need(&plain), Need::Id("p1".into()));
        let till_made = position(json!({"meta": {"href": "h", "id": "s1", "idType": "SYNC"}}));
        assert_eq!(
            need(&till_made),
            Need::SyncId {
                sync_id: "s1".into(),
                sent: "s1".into()
            }
        );
        let with_sync_id =
            position(json!({"meta": {"href": "h", "id": "x", "idType": "sync"}, "syncId": "s2"}));
        assert_eq!(
            need(&with_sync_id),
            Need::SyncId {
                sync_id: "s2".into(),
                sent: "x".into()
            }
        );
        let beside = position(json!({"meta": {"href": "h", "id": "p9"}, "syncId": "s9"}));
        assert_eq!(
            need(&beside),
            Need::IdOrSyncId {
                id: "p9".into(),
                sync_id: "s9".into()
            }
        );
    }
}
