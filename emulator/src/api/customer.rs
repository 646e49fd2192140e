//! `customer…` calls: find, list, create, edit, confirmation codes, messages and reserves.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::extract::{Caller, WireJson};
use crate::error::ApiError;
use crate::state::Shared;
use crate::wire::{
    check_phone, customer_list_answer, customer_query, message_route, message_text,
    CancelReserveRequest, CreateCustomerRequest, CustomerAnswer, CustomerFilterRequest,
    EditCustomerRequest, ReplaceCustomerRequest, ReserveAnswer, ReserveRequest,
};

type Answer<T> = Result<Json<T>, ApiError>;

/// `GET customer?id=…&ean=…&phone=…`.
pub async fn find(
    Caller(tenant): Caller,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Answer<CustomerAnswer> {
    let Query(query) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let query = customer_query(&query)?;
    let data = tenant.lock();
    Ok(Json(data.find_customer(&query)?.into()))
}

/// `POST customer/list`.
pub async fn list(
    Caller(tenant): Caller,
    WireJson(filter): WireJson<CustomerFilterRequest>,
) -> Json<serde_json::Value> {
    let filter = filter.into_filter();
    let data = tenant.lock();
    let found = data.list_customers(&filter);
    Json(customer_list_answer(
        &found,
        data.rules().customer_list_shape,
    ))
}

/// `POST customer`.
pub async fn create(
    Caller(tenant): Caller,
    WireJson(request): WireJson<CreateCustomerRequest>,
) -> Answer<CustomerAnswer> {
    let fields = request.into_fields()?;
    let mut data = tenant.lock();
    Ok(Json(data.create_customer(fields)?.into()))
}

/// `PATCH customer/{phoneNumber}`: only the fields sent change.
pub async fn patch(
    Caller(tenant): Caller,
    Path(phone): Path<String>,
    WireJson(request): WireJson<EditCustomerRequest>,
) -> Answer<CustomerAnswer> {
    check_phone("phoneNumber", &phone)?;
    let fields = request.into_fields()?;
    let mut data = tenant.lock();
    Ok(Json(data.edit_customer(&phone, fields)?.into()))
}

/// `PUT customer/{phoneNumber}`: a full replace, every field not sent is emptied.
pub async fn replace(
    Caller(tenant): Caller,
    Path(phone): Path<String>,
    WireJson(request): WireJson<ReplaceCustomerRequest>,
) -> Answer<CustomerAnswer> {
    check_phone("phoneNumber", &phone)?;
    let fields = request.into_fields()?;
    let mut data = tenant.lock();
    Ok(Json(data.edit_customer(&phone, fields)?.into()))
}

/// `PUT customer/{phoneNumber}/sendCode`: the code is kept for the control side and answered
/// only when the tenant's rules reveal codes.
pub async fn send_code(
    State(shared): State<Arc<Shared>>,
    Caller(tenant): Caller,
    Path(phone): Path<String>,
) -> Result<Response, ApiError> {
    check_phone("phoneNumber", &phone)?;
    let code = shared.new_code();
    let revealed = tenant.lock().send_code(&phone, code)?;
    Ok(match revealed {
        Some(code) => Json(serde_json::json!({ "code": code })).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

/// `PUT customer/{phoneNumber}/checkCode/{code}`.
pub async fn check_code(
    Caller(tenant): Caller,
    Path((phone, code)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    check_phone("phoneNumber", &phone)?;
    tenant.lock().check_code(&phone, &code)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST customer/{phoneNumber}/sendMessage` (`SendMessageRequest`: `message`, `route`): the
/// text and its route are kept per customer for the control side; 204.
pub async fn send_message(
    Caller(tenant): Caller,
    Path(phone): Path<String>,
    WireJson(body): WireJson<serde_json::Map<String, serde_json::Value>>,
) -> Result<StatusCode, ApiError> {
    check_phone("phoneNumber", &phone)?;
    let text = message_text(&body)?;
    let mut tenant = tenant.lock();
    let route = message_route(&body, tenant.rules().message_route)?;
    tenant.send_message(&phone, text, route)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PATCH customer/{phoneNumber}/balance/reserve`.
pub async fn reserve(
    Caller(tenant): Caller,
    Path(phone): Path<String>,
    WireJson(request): WireJson<ReserveRequest>,
) -> Result<StatusCode, ApiError> {
    check_phone("phoneNumber", &phone)?;
    request.check()?;
    tenant.lock().reserve(&phone, &request.id, request.amount)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET customer/{phoneNumber}/balance/reserve/{id}`: what the reserve holds now.
pub async fn reserve_state(
    Caller(tenant): Caller,
    Path((phone, id)): Path<(String, String)>,
) -> Answer<ReserveAnswer> {
    check_phone("phoneNumber", &phone)?;
    let mut amount = tenant.lock().reserve_amount(&phone, &id)?;
    amount.rescale(2);
    Ok(Json(ReserveAnswer { phone, id, amount }))
}

/// `DELETE customer/balance/reserve` with `{id}`: cancels the reserve entirely.
pub async fn cancel_reserve(
    Caller(tenant): Caller,
    WireJson(request): WireJson<CancelReserveRequest>,
) -> Result<StatusCode, ApiError> {
    if request.id.trim().is_empty() {
        return Err(ApiError::bad_request("id: must not be empty"));
    }
    tenant.lock().cancel_reserve(&request.id);
    Ok(StatusCode::NO_CONTENT)
}
