//! `customer…` calls: find, create, update, count, confirmation codes and bonus reserves.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;

use super::extract::{Caller, WireJson};
use crate::error::ApiError;
use crate::state::Shared;
use crate::wire::{check_phone, CustomerAnswer, CustomerRequest, ReserveRequest, StatAnswer};

type Answer<T> = Result<Json<T>, ApiError>;

/// `GET customer?phone=…` or `GET customer?discountCardNumber=…`.
pub async fn find(
    Caller(tenant): Caller,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Answer<CustomerAnswer> {
    let Query(query) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let data = tenant.lock();
    let customer = match (query.get("phone"), query.get("discountCardNumber")) {
        (Some(phone), _) => {
            check_phone("phone", phone)?;
            data.customer_by_phone(phone)?
        }
        (None, Some(card)) => data.customer_by_card(card)?,
        (None, None) => {
            return Err(ApiError::bad_request(
                "phone or discountCardNumber is required",
            ))
        }
    };
    Ok(Json(customer.into()))
}

/// `GET customer/stat`.
pub async fn stat(Caller(tenant): Caller) -> Answer<StatAnswer> {
    let all_count = tenant.lock().customer_count();
    Ok(Json(StatAnswer { all_count }))
}

/// `POST customer`.
pub async fn create(
    Caller(tenant): Caller,
    WireJson(request): WireJson<CustomerRequest>,
) -> Answer<CustomerAnswer> {
    let fields = request.into_fields()?;
    let mut data = tenant.lock();
    Ok(Json(data.create_customer(fields)?.into()))
}

/// `PUT customer`.
pub async fn update(
    Caller(tenant): Caller,
    WireJson(request): WireJson<CustomerRequest>,
) -> Answer<CustomerAnswer> {
    let fields = request.into_fields()?;
    let mut data = tenant.lock();
    Ok(Json(data.update_customer(fields)?.into()))
}

/// `PUT customer/{phone}/sendCode`: the code is kept for the control side and answered only
/// when the tenant's rules reveal codes.
pub async fn send_code(
    State(shared): State<Arc<Shared>>,
    Caller(tenant): Caller,
    Path(phone): Path<String>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    check_phone("phone", &phone)?;
    let code = shared.new_code();
    let revealed = tenant.lock().send_code(&phone, code)?;
    Ok(match revealed {
        Some(code) => Json(serde_json::json!({ "code": code })).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

/// `PUT customer/{phone}/checkCode/{code}`.
pub async fn check_code(
    Caller(tenant): Caller,
    Path((phone, code)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    check_phone("phone", &phone)?;
    tenant.lock().check_code(&phone, &code)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PATCH customer/{phone}/balance/reserve`.
pub async fn reserve(
    Caller(tenant): Caller,
    Path(phone): Path<String>,
    WireJson(request): WireJson<ReserveRequest>,
) -> Result<StatusCode, ApiError> {
    check_phone("phone", &phone)?;
    request.check()?;
    tenant.lock().reserve(&phone, &request.id, request.amount)?;
    Ok(StatusCode::NO_CONTENT)
}
