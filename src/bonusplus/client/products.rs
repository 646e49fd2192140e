//! The catalogue call of the BonusPlus client: `POST product/import`.
//! Outgoing client: must not depend on `state`, incoming modules, services or `store`.

use reqwest::Method;

use super::{ApiKey, BonusPlusClient, Call};
use crate::bonusplus::error::Result;
use crate::bonusplus::wire::ProductImport;

impl BonusPlusClient {
    /// Uploads products and groups of a store (at most
    /// [`MAX_PRODUCTS_PER_IMPORT`](crate::bonusplus::wire_assumptions::MAX_PRODUCTS_PER_IMPORT) per call).
    pub async fn import_products(&self, key: &ApiKey, import: &ProductImport) -> Result<()> {
        let url = self.inner.urls.product_import.clone();
        let call = Call::json("POST product/import", Method::POST, url, import)?;
        self.send(key, call).await.map(drop)
    }
}
