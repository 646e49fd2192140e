//! `retail…` calls: calculation, sale and return.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::State;
use axum::http::header::HOST;
use axum::http::HeaderMap;
use axum::Json;

use super::extract::{Caller, WireJson};
use crate::error::ApiError;
use crate::model::BookedSale;
use crate::state::Shared;
use crate::tenant::{Order, SaleCommand};
use crate::wire::{CalcAnswer, RetailRequest, RetailResultAnswer, ReturnAnswer, ReturnRequest};

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

/// `POST retail`: answers `RetailResult` with the customer's fresh balance.
pub async fn sell(
    Caller(tenant): Caller,
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    WireJson(body): WireJson<RetailRequest>,
) -> Result<Json<RetailResultAnswer>, ApiError> {
    let host = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_owned();
    let (command, order) = body.into_sale()?;
    let mut data = tenant.lock();
    let (customer, receipt) = data.sell(&command, &order)?;
    let booked = shared
        .is_watching_sales()
        .then(|| booked(receipt.id, &command, &order));
    let answer = RetailResultAnswer {
        id: receipt.id,
        order_url: format!("http://{host}/__receipt/{}", receipt.order_uid),
        order_uid: receipt.order_uid,
        customer: customer.into(),
    };
    drop(data);
    if let Some(sale) = booked {
        shared.announce_sale(&sale);
    }
    Ok(Json(answer))
}

/// What the sale's watchers are told (`EmulatorHandle::watch_sales`).
fn booked(id: i64, command: &SaleCommand, order: &Order) -> BookedSale {
    BookedSale {
        at: Instant::now(),
        id,
        external_id: command.external_id.clone(),
        phone: order.phone.clone(),
        products: order.items.iter().map(|i| i.product.clone()).collect(),
    }
}

/// `PUT retail/back`: one line per call; answers the return's id.
pub async fn give_back(
    Caller(tenant): Caller,
    WireJson(request): WireJson<ReturnRequest>,
) -> Result<Json<ReturnAnswer>, ApiError> {
    request.check()?;
    let returned_purchase_id = tenant.lock().return_item(&request.ext, request.sum)?;
    Ok(Json(ReturnAnswer {
        returned_purchase_id,
    }))
}
