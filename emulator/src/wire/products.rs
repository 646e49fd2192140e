//! `product/import` on the wire: the catalogue of a store.
//! Must not depend on `api` (HTTP), tenant state or other resources' wire types.

use serde::Deserialize;

use super::check_not_blank;
use crate::error::ApiError;
use crate::model::ImportedProduct;
use crate::numbers;

pub const MAX_PRODUCTS_PER_IMPORT: usize = 1000;

#[derive(Debug, Deserialize)]
pub struct ProductImportRequest {
    pub store: String,
    pub products: Vec<ProductTiny>,
}

#[derive(Debug, Deserialize)]
pub struct ProductTiny {
    #[serde(deserialize_with = "numbers::id")]
    pub id: String,
    #[serde(default, deserialize_with = "numbers::optional_id")]
    pub pid: Option<String>,
    pub n: String,
    pub g: bool,
}

impl ProductTiny {
    pub fn into_product(self, at: usize) -> Result<ImportedProduct, ApiError> {
        check_not_blank(&format!("products[{at}].id"), &self.id)?;
        check_not_blank(&format!("products[{at}].n"), &self.n)?;
        Ok(ImportedProduct {
            id: self.id,
            pid: self.pid,
            name: self.n,
            group: self.g,
        })
    }
}
