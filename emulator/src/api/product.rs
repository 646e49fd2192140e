//! `product/import`.

use axum::http::StatusCode;

use super::extract::{Caller, WireJson};
use crate::error::{ApiError, ErrorCode};
use crate::wire::{ProductImportRequest, MAX_PRODUCTS_PER_IMPORT};

/// `POST product/import`: upserts into the store's catalogue.
pub async fn import(
    Caller(tenant): Caller,
    WireJson(request): WireJson<ProductImportRequest>,
) -> Result<StatusCode, ApiError> {
    if request.products.len() > MAX_PRODUCTS_PER_IMPORT {
        return Err(ApiError::precondition(
            ErrorCode::TooManyProducts,
            format!(
                "{} products in one call, at most {MAX_PRODUCTS_PER_IMPORT} are accepted",
                request.products.len()
            ),
        ));
    }
    let products = request
        .products
        .into_iter()
        .enumerate()
        .map(|(at, product)| product.into_product(at))
        .collect::<Result<Vec<_>, _>>()?;
    tenant.lock().import_products(&request.store, products)?;
    Ok(StatusCode::NO_CONTENT)
}
