//! The control side over HTTP (`/__control/...`, JSON), so the binary can be driven from
//! scripts. Mirrors [`crate::EmulatorHandle`]; no API key, no fault injection, not recorded.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::api::WireJson;
use crate::calc::LinePromotion;
use crate::error::ApiError;
use crate::model::{
    CertificateSnapshot, CustomerSnapshot, ImportedProduct, NewCertificate, NewCustomer,
    RefusedRoute, SaleSnapshot, SentMessage, TenantRules,
};
use crate::numbers;
use crate::state::{FailureMode, RecordedRequest, Shared};

type Control = State<Arc<Shared>>;

pub fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/tenants", post(add_tenant))
        .route("/tenants/{key}/reject", post(reject_key))
        .route("/tenants/{key}/accept", post(accept_key))
        .route("/tenants/{key}/stores", post(add_store))
        .route(
            "/tenants/{key}/stores/{store}/products",
            get(imported_products),
        )
        .route("/tenants/{key}/customers", post(add_customer))
        .route("/tenants/{key}/customers/{phone}", get(customer))
        .route("/tenants/{key}/customers/{phone}/code", get(code))
        .route("/tenants/{key}/customers/{phone}/balance", put(set_balance))
        .route("/tenants/{key}/customers/{phone}/card", put(set_card))
        .route("/tenants/{key}/customers/{phone}/messages", get(messages))
        .route("/tenants/{key}/certificates", post(add_certificate))
        .route("/tenants/{key}/certificates/{id}", get(certificate))
        .route(
            "/refused_routes",
            get(refused_routes)
                .post(refuse_route)
                .delete(clear_refused_routes),
        )
        .route("/tenants/{key}/promotions", post(add_promotion))
        .route("/tenants/{key}/sales", get(sales))
        .route("/latency", put(set_latency))
        .route("/fail_next", post(fail_next))
        .route("/recording", put(set_recording))
        .route("/requests", get(requests).delete(clear_requests))
        .route("/count", get(count))
}

#[derive(Deserialize)]
struct NewTenant {
    key: String,
    #[serde(default)]
    rules: TenantRules,
}

async fn add_tenant(State(shared): Control, WireJson(tenant): WireJson<NewTenant>) -> StatusCode {
    shared.add_tenant(&tenant.key, tenant.rules);
    StatusCode::NO_CONTENT
}

async fn reject_key(State(shared): Control, Path(key): Path<String>) -> StatusCode {
    shared.set_key_rejected(&key, true);
    StatusCode::NO_CONTENT
}

async fn accept_key(State(shared): Control, Path(key): Path<String>) -> StatusCode {
    shared.set_key_rejected(&key, false);
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct NewStore {
    store: String,
}

async fn add_store(
    State(shared): Control,
    Path(key): Path<String>,
    WireJson(new): WireJson<NewStore>,
) -> StatusCode {
    shared.with_tenant(&key, |t| t.add_store(&new.store));
    StatusCode::NO_CONTENT
}

async fn imported_products(
    State(shared): Control,
    Path((key, store)): Path<(String, String)>,
) -> Json<Vec<ImportedProduct>> {
    Json(
        shared
            .read_tenant(&key, |t| t.imported_products(&store))
            .unwrap_or_default(),
    )
}

async fn add_customer(
    State(shared): Control,
    Path(key): Path<String>,
    WireJson(customer): WireJson<NewCustomer>,
) -> StatusCode {
    shared.with_tenant(&key, |t| t.seed_customer(customer));
    StatusCode::NO_CONTENT
}

async fn customer(
    State(shared): Control,
    Path((key, phone)): Path<(String, String)>,
) -> Result<Json<CustomerSnapshot>, ApiError> {
    shared
        .read_tenant(&key, |t| t.customer_snapshot(&phone))
        .flatten()
        .map(Json)
        .ok_or_else(ApiError::not_found)
}

#[derive(Deserialize)]
struct Balance {
    #[serde(deserialize_with = "numbers::decimal")]
    balance: Decimal,
}

async fn set_balance(
    State(shared): Control,
    Path((key, phone)): Path<(String, String)>,
    WireJson(new): WireJson<Balance>,
) -> Result<StatusCode, ApiError> {
    let known = shared
        .update_tenant(&key, |t| t.set_balance(&phone, new.balance))
        .unwrap_or(false);
    if known {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found())
    }
}

#[derive(Deserialize)]
struct Card {
    number: String,
}

async fn set_card(
    State(shared): Control,
    Path((key, phone)): Path<(String, String)>,
    WireJson(card): WireJson<Card>,
) -> Result<StatusCode, ApiError> {
    let known = shared
        .update_tenant(&key, |t| t.set_card(&phone, &card.number))
        .unwrap_or(false);
    if known {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found())
    }
}

async fn messages(
    State(shared): Control,
    Path((key, phone)): Path<(String, String)>,
) -> Json<Vec<SentMessage>> {
    Json(
        shared
            .read_tenant(&key, |t| t.messages(&phone))
            .unwrap_or_default(),
    )
}

async fn add_certificate(
    State(shared): Control,
    Path(key): Path<String>,
    WireJson(new): WireJson<NewCertificate>,
) -> Result<Json<CertificateSnapshot>, ApiError> {
    shared.with_tenant(&key, |t| {
        let id = t.add_certificate(new)?;
        t.certificate_snapshot(&id)
            .map(Json)
            .ok_or_else(ApiError::not_found)
    })
}

async fn certificate(
    State(shared): Control,
    Path((key, id)): Path<(String, String)>,
) -> Result<Json<CertificateSnapshot>, ApiError> {
    shared
        .read_tenant(&key, |t| t.certificate_snapshot(&id))
        .flatten()
        .map(Json)
        .ok_or_else(ApiError::not_found)
}

async fn refused_routes(State(shared): Control) -> Json<Vec<RefusedRoute>> {
    Json(shared.refused_routes())
}

async fn refuse_route(
    State(shared): Control,
    WireJson(route): WireJson<RefusedRoute>,
) -> Result<StatusCode, ApiError> {
    if !matches!(route.status, 404 | 405) {
        return Err(ApiError::bad_request("status: must be 404 or 405"));
    }
    shared.refuse_route(route);
    Ok(StatusCode::NO_CONTENT)
}

async fn clear_refused_routes(State(shared): Control) -> StatusCode {
    shared.clear_refused_routes();
    StatusCode::NO_CONTENT
}

#[derive(Serialize)]
struct CodeState {
    code: Option<String>,
    sent: usize,
}

async fn code(
    State(shared): Control,
    Path((key, phone)): Path<(String, String)>,
) -> Json<CodeState> {
    let state = shared.read_tenant(&key, |t| CodeState {
        code: t.last_code(&phone),
        sent: t.codes_sent(&phone),
    });
    Json(state.unwrap_or(CodeState {
        code: None,
        sent: 0,
    }))
}

#[derive(Deserialize)]
struct NewPromotion {
    store: String,
    product: String,
    #[serde(deserialize_with = "numbers::decimal")]
    percent: Decimal,
    name: String,
}

async fn add_promotion(
    State(shared): Control,
    Path(key): Path<String>,
    WireJson(new): WireJson<NewPromotion>,
) -> StatusCode {
    let promotion = LinePromotion {
        percent: new.percent,
        name: new.name,
    };
    shared.with_tenant(&key, |t| {
        t.add_promotion(&new.store, &new.product, promotion)
    });
    StatusCode::NO_CONTENT
}

async fn sales(State(shared): Control, Path(key): Path<String>) -> Json<Vec<SaleSnapshot>> {
    Json(
        shared
            .read_tenant(&key, |t| t.sale_snapshots())
            .unwrap_or_default(),
    )
}

#[derive(Deserialize)]
struct Latency {
    ms: u64,
}

async fn set_latency(State(shared): Control, WireJson(latency): WireJson<Latency>) -> StatusCode {
    shared.set_latency(Duration::from_millis(latency.ms));
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct FailNext {
    count: usize,
    mode: FailureMode,
}

async fn fail_next(State(shared): Control, WireJson(fail): WireJson<FailNext>) -> StatusCode {
    shared.fail_next(fail.count, fail.mode);
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct Recording {
    enabled: bool,
}

async fn set_recording(State(shared): Control, WireJson(rec): WireJson<Recording>) -> StatusCode {
    shared.set_recording(rec.enabled);
    StatusCode::NO_CONTENT
}

async fn requests(State(shared): Control) -> Json<Vec<RecordedRequest>> {
    Json(shared.requests())
}

async fn clear_requests(State(shared): Control) -> StatusCode {
    shared.clear_requests();
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct CountQuery {
    method: String,
    path: String,
}

#[derive(Serialize)]
struct Count {
    count: usize,
}

async fn count(State(shared): Control, Query(query): Query<CountQuery>) -> Json<Count> {
    Json(Count {
        count: shared.count(&query.method, &query.path),
    })
}
