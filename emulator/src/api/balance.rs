//! `PATCH customer/{phoneNumber}/balance`: the documented manual credit or debit
//! (`PatchCustomerBalance`: `amount` required, `burnsInDays`, `activatedInDays`, `transactionType`).
//! Like BonusPlus it has no idempotency key: every call changes the balance.

use axum::extract::Path;
use axum::Json;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::extract::{Caller, WireJson};
use crate::error::{ApiError, ErrorCode};
use crate::numbers;
use crate::wire::check_phone;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BalanceRequest {
    #[serde(deserialize_with = "numbers::decimal")]
    pub amount: Decimal,
    #[serde(default)]
    pub burns_in_days: Option<i64>,
    #[serde(default)]
    pub activated_in_days: Option<i64>,
}

/// `PatchCustomerBalanceResult`, the fields an integration reads.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BalanceAnswer {
    phone_number: String,
    card_number: Option<String>,
    #[serde(serialize_with = "rust_decimal::serde::arbitrary_precision::serialize")]
    amount: Decimal,
}

/// Credits (`amount` > 0) or debits (< 0) the customer's balance; a debit beyond the balance is
/// refused as BonusPlus refuses it (412 `NOT_ENOUGH_BONUSES`).
pub async fn change(
    Caller(tenant): Caller,
    Path(phone): Path<String>,
    WireJson(request): WireJson<BalanceRequest>,
) -> Result<Json<BalanceAnswer>, ApiError> {
    check_phone("phoneNumber", &phone)?;
    if request.amount.is_zero() {
        return Err(ApiError::bad_request("amount: must not be 0"));
    }
    let days = [request.burns_in_days, request.activated_in_days];
    if days.iter().flatten().any(|d| *d < 0) {
        return Err(ApiError::bad_request("burnsInDays: must not be negative"));
    }
    let mut data = tenant.lock();
    let customer = data.customer_by_phone(&phone)?;
    let balance = customer.balance + request.amount;
    let card_number = customer.discount_card_number.clone();
    if balance < Decimal::ZERO {
        return Err(ApiError::precondition(
            ErrorCode::NotEnoughBonuses,
            "Недостаточно бонусов",
        ));
    }
    data.set_balance(&phone, balance);
    Ok(Json(BalanceAnswer {
        phone_number: phone,
        card_number,
        amount: request.amount,
    }))
}
