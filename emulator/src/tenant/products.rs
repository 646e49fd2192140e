//! Stores and their imported product catalogues.
//! Must not depend on the wire or HTTP (`wire`, `api`), nor on customers or sales.

use std::collections::HashMap;

use super::TenantData;
use crate::error::{ApiError, ErrorCode};
use crate::model::ImportedProduct;

#[derive(Debug)]
pub(super) struct Store {
    products: Vec<ImportedProduct>,
    index: HashMap<String, usize>,
}

impl Store {
    fn new() -> Self {
        Self {
            products: Vec::new(),
            index: HashMap::new(),
        }
    }

    fn upsert(&mut self, product: ImportedProduct) {
        match self.index.get(&product.id) {
            Some(&at) => self.products[at] = product,
            None => {
                self.index.insert(product.id.clone(), self.products.len());
                self.products.push(product);
            }
        }
    }

    pub(super) fn has_product(&self, id: &str) -> bool {
        self.index
            .get(id)
            .is_some_and(|&at| !self.products[at].group)
    }
}

impl TenantData {
    pub fn add_store(&mut self, name: &str) {
        self.stores
            .entry(name.to_owned())
            .or_insert_with(Store::new);
    }

    pub fn imported_products(&self, store: &str) -> Vec<ImportedProduct> {
        self.stores
            .get(store)
            .map(|s| s.products.clone())
            .unwrap_or_default()
    }

    pub fn import_products(
        &mut self,
        store: &str,
        products: Vec<ImportedProduct>,
    ) -> Result<(), ApiError> {
        let catalogue = self
            .stores
            .get_mut(store)
            .ok_or_else(|| store_not_found(store))?;
        for product in products {
            catalogue.upsert(product);
        }
        Ok(())
    }

    pub(super) fn ensure_store(&self, store: &str) -> Result<(), ApiError> {
        if self.stores.contains_key(store) {
            Ok(())
        } else {
            Err(store_not_found(store))
        }
    }
}

fn store_not_found(store: &str) -> ApiError {
    ApiError::precondition(
        ErrorCode::StoreNotFound,
        format!("store «{store}» not found"),
    )
}
