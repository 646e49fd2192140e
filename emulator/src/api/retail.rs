//! `retail…` calls: calculation, sale and return.

use axum::http::StatusCode;
use axum::Json;

use super::extract::{Caller, WireJson};
use crate::error::ApiError;
use crate::wire::{CalcAnswer, RetailRequest, ReturnRequest, SaleAnswer};

/// `PUT retail/calc`.
pub async fn calc(
    Caller(tenant): Caller,
    WireJson(request): WireJson<RetailRequest>,
) -> Result<Json<CalcAnswer>, ApiError> {
    let order = request.into_order()?;
    let data = tenant.lock();
    let calculation = data.calculate(&order)?;
    Ok(Json(CalcAnswer::new(calculation, data.multiplicity())))
}

/// `POST retail`.
pub async fn sell(
    Caller(tenant): Caller,
    WireJson(request): WireJson<RetailRequest>,
) -> Result<Json<SaleAnswer>, ApiError> {
    let external_id = request
        .external_id
        .clone()
        .filter(|id| !id.trim().is_empty())
        .ok_or_else(|| ApiError::bad_request("externalId: required for a sale"))?;
    let order = request.into_order()?;
    let mut data = tenant.lock();
    let (customer, calculation) = data.sell(&external_id, &order)?;
    Ok(Json(SaleAnswer {
        customer: customer.into(),
        discount: calculation.lines.into_iter().map(Into::into).collect(),
    }))
}

/// `PUT retail/back`: one line per call.
pub async fn give_back(
    Caller(tenant): Caller,
    WireJson(request): WireJson<ReturnRequest>,
) -> Result<StatusCode, ApiError> {
    request.check()?;
    tenant.lock().return_item(&request.ext, request.sum)?;
    Ok(StatusCode::NO_CONTENT)
}
