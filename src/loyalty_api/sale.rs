//! Sales and returns: `POST /retaildemand` and `POST /retailsalesreturn`.
//! Must not depend on `vendor_api` or `ui`; delivery is the job queue's ([`crate::jobs::delivery`]).
//!
//! Each is recorded with its delivery job in one transaction (keyed by MoySklad's id, or point of
//! sale + number + moment), then delivered inline. MoySklad is answered 201 once the operation is
//! recorded — the sale happened in the shop — whether BonusPlus booked it now or the outbox will;
//! a repeated delivery of the same sale finds the record and books nothing more.

use axum::extract::State;
use axum::http::StatusCode;
use rust_decimal::Decimal;

use super::caller::Caller;
use super::counterparty::resolve_phone;
use super::errors::unmapped_store;
use super::sale_wire::{GiftCardPayment, RetailDemand, RetailSalesReturn};
use super::wire::Position;
use crate::accounts::LoyaltyAccount;
use crate::domain::identity::idempotency_key;
use crate::domain::money::kopecks_to_roubles;
use crate::domain::receipt::line_sum;
use crate::domain::returns::{plan_return, ReturnedPosition, SoldLine};
use crate::http::error::{codes, ApiError};
use crate::http::extract::ApiJson;
use crate::jobs::delivery::{
    deliver_now, delivery_job, CertificatePayment, ReturnPayload, SalePayload,
};
use crate::state::AppState;
use crate::store::{now_ms, NewOperation, Operation, OperationKind, OperationState};

/// `POST /retaildemand`
pub async fn sale(
    State(state): State<AppState>,
    Caller(account): Caller,
    ApiJson(body): ApiJson<RetailDemand>,
) -> Result<StatusCode, ApiError> {
    let retail_store_id = body.retail_store.meta.id.trim().to_owned();
    let key = operation_key(
        &body.meta.id,
        &retail_store_id,
        body.name.as_deref(),
        body.moment.as_deref(),
    )?;
    let bonus_debit = body
        .bonus_program
        .as_ref()
        .and_then(|b| b.bonus_value_to_spend)
        .unwrap_or_default();
    if bonus_debit < Decimal::ZERO {
        return Err(ApiError::invalid(
            "bonusProgram.bonusValueToSpend",
            "Must not be negative",
        ));
    }
    let id = uuid::Uuid::new_v4().to_string();
    let lines = sold_lines(&id, &body.positions)?;
    let gift_cards = certificate_payments(&body.gift_cards)?;
    let phone = match &body.agent {
        Some(agent) => resolve_phone(
            &state,
            &account,
            agent.meta.as_ref().map(|m| m.id.as_str()),
            agent.attributes.phone.as_deref(),
        )
        .await
        .ok(),
        None => None,
    };
    let Some(phone) = phone else {
        // An anonymous sale: nothing to book, acknowledged and remembered.
        record_nothing_to_do(
            &state,
            &account,
            OperationKind::Sale,
            id,
            key,
            &body.meta.id,
            None,
            "anonymous sale",
        )
        .await?;
        return Ok(StatusCode::CREATED);
    };
    let store = account
        .bonusplus_store(&retail_store_id)
        .ok_or_else(unmapped_store)?
        .to_owned();
    let payload = SalePayload {
        phone: phone.clone(),
        store,
        retail_store_id,
        bonus_debit,
        lines,
        gift_cards,
    };
    let op = NewOperation {
        id: id.clone(),
        account_id: account.account_id.clone(),
        kind: OperationKind::Sale,
        idempotency_key: key,
        ms_id: non_empty(&body.meta.id),
        sale_id: None,
        phone: Some(phone),
        state: OperationState::Pending,
        payload: to_json(&payload)?,
    };
    let job = delivery_job(&account.account_id, &id, inline_grace_until(&state));
    let (op, created) = state.store.record_operation(&op, Some(&job)).await?;
    if created {
        deliver_now(&state.jobs, &op).await?;
    }
    Ok(StatusCode::CREATED)
}

/// `POST /retailsalesreturn`
pub async fn sales_return(
    State(state): State<AppState>,
    Caller(account): Caller,
    ApiJson(body): ApiJson<RetailSalesReturn>,
) -> Result<StatusCode, ApiError> {
    let retail_store_id = body.retail_store.meta.id.trim().to_owned();
    let key = operation_key(
        &body.meta.id,
        &retail_store_id,
        body.name.as_deref(),
        body.moment.as_deref(),
    )?;
    let id = uuid::Uuid::new_v4().to_string();
    let returned = returned_positions(&body.positions)?;
    let sale_ms_id = body
        .demand
        .as_ref()
        .and_then(|d| d.meta.as_ref())
        .map(|m| m.id.trim().to_owned())
        .unwrap_or_default();
    let sale = match sale_ms_id.is_empty() {
        true => None,
        false => {
            state
                .store
                .sale_by_ms_id(&account.account_id, &sale_ms_id)
                .await?
        }
    };
    let Some(sale) = sale.filter(|s| s.state != OperationState::NothingToDo) else {
        record_nothing_to_do(
            &state,
            &account,
            OperationKind::Return,
            id,
            key,
            &body.meta.id,
            None,
            "the sale was never booked with BonusPlus",
        )
        .await?;
        return Ok(StatusCode::CREATED);
    };
    let sold: SalePayload = serde_json::from_str(&sale.payload).map_err(|error| {
        tracing::error!(%error, sale = %sale.id, "corrupt sale payload");
        ApiError::internal()
    })?;
    let already = returned_so_far(&state, &account, &sale).await?;
    let plan = plan_return(&sold.lines, &already, &returned);
    if plan.parts.is_empty() {
        record_nothing_to_do(
            &state,
            &account,
            OperationKind::Return,
            id,
            key,
            &body.meta.id,
            Some(sale.id),
            "nothing of the sale left to return",
        )
        .await?;
        return Ok(StatusCode::CREATED);
    }
    let payload = ReturnPayload {
        phone: sold.phone.clone(),
        parts: plan.parts,
        unmatched: plan.unmatched,
    };
    let op = NewOperation {
        id: id.clone(),
        account_id: account.account_id.clone(),
        kind: OperationKind::Return,
        idempotency_key: key,
        ms_id: non_empty(&body.meta.id),
        sale_id: Some(sale.id.clone()),
        phone: Some(sold.phone),
        state: OperationState::Pending,
        payload: to_json(&payload)?,
    };
    let job = delivery_job(&account.account_id, &id, inline_grace_until(&state));
    let (op, created) = state.store.record_operation(&op, Some(&job)).await?;
    // A return waits for its sale: the workers deliver it once the sale is booked.
    if created && sale.state == OperationState::Delivered {
        deliver_now(&state.jobs, &op).await?;
    }
    Ok(StatusCode::CREATED)
}

fn operation_key(
    ms_id: &str,
    retail_store_id: &str,
    name: Option<&str>,
    moment: Option<&str>,
) -> Result<String, ApiError> {
    if retail_store_id.is_empty() {
        return Err(ApiError::invalid(
            "retailStore.meta.id",
            "The point of sale id is required",
        ));
    }
    idempotency_key(ms_id, retail_store_id, name, moment).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            codes::INVALID_INPUT,
            "Не указан идентификатор чека",
            "Either meta.id or both name and moment are required to book the operation once",
        )
        .with_parameter("meta.id")
    })
}

fn sold_lines(operation_id: &str, positions: &[Position]) -> Result<Vec<SoldLine>, ApiError> {
    positions
        .iter()
        .enumerate()
        .map(|(index, position)| {
            let sum = checked_sum(index, position)?;
            Ok(SoldLine {
                ext: format!("{operation_id}:{index}"),
                product: position.assortment.meta.id.trim().to_owned(),
                price: position.price,
                quantity: position.quantity,
                sum,
            })
        })
        .collect()
}

/// The gift certificates paying the sale, in BonusPlus's terms: GUID and roubles (MoySklad's
/// kopecks ÷ 100, exact).
fn certificate_payments(cards: &[GiftCardPayment]) -> Result<Vec<CertificatePayment>, ApiError> {
    cards
        .iter()
        .enumerate()
        .map(|(index, card)| {
            let id = uuid::Uuid::parse_str(card.id.trim()).map_err(|_| {
                ApiError::invalid(
                    format!("giftCards[{index}].id"),
                    "The certificate id must be a GUID",
                )
            })?;
            if card.payment_sum.0 <= 0 {
                return Err(ApiError::invalid(
                    format!("giftCards[{index}].paymentSum"),
                    "Must be positive",
                ));
            }
            Ok(CertificatePayment {
                id,
                roubles: kopecks_to_roubles(card.payment_sum.0),
            })
        })
        .collect()
}

fn returned_positions(positions: &[Position]) -> Result<Vec<ReturnedPosition>, ApiError> {
    positions
        .iter()
        .enumerate()
        .map(|(index, position)| {
            checked_sum(index, position)?;
            Ok(ReturnedPosition {
                product: position.assortment.meta.id.trim().to_owned(),
                price: position.price,
                quantity: position.quantity,
            })
        })
        .collect()
}

fn checked_sum(index: usize, position: &Position) -> Result<Decimal, ApiError> {
    if position.quantity <= Decimal::ZERO {
        return Err(ApiError::invalid(
            format!("positions[{index}].quantity"),
            "Must be positive",
        ));
    }
    line_sum(position.price, position.quantity)
        .map_err(|error| ApiError::invalid(format!("positions[{index}]"), error.to_string()))
}

/// Quantities and sums of the sale's lines taken by earlier returns.
async fn returned_so_far(
    state: &AppState,
    account: &LoyaltyAccount,
    sale: &Operation,
) -> Result<std::collections::HashMap<String, (Decimal, Decimal)>, ApiError> {
    let mut taken = std::collections::HashMap::new();
    for earlier in state
        .store
        .returns_of_sale(&account.account_id, &sale.id)
        .await?
    {
        if earlier.state == OperationState::NothingToDo {
            continue;
        }
        let Ok(payload) = serde_json::from_str::<ReturnPayload>(&earlier.payload) else {
            continue;
        };
        for part in payload.parts {
            let entry = taken
                .entry(part.ext)
                .or_insert((Decimal::ZERO, Decimal::ZERO));
            entry.0 += part.quantity;
            entry.1 += part.sum;
        }
    }
    Ok(taken)
}

#[allow(clippy::too_many_arguments)]
async fn record_nothing_to_do(
    state: &AppState,
    account: &LoyaltyAccount,
    kind: OperationKind,
    id: String,
    key: String,
    ms_id: &str,
    sale_id: Option<String>,
    why: &str,
) -> Result<(), ApiError> {
    let (op, created) = state
        .store
        .record_operation(
            &NewOperation {
                id,
                account_id: account.account_id.clone(),
                kind,
                idempotency_key: key,
                ms_id: non_empty(ms_id),
                sale_id,
                phone: None,
                state: OperationState::NothingToDo,
                payload: "{}".to_owned(),
            },
            None,
        )
        .await?;
    if created {
        state
            .store
            .finish_operation(&op.id, OperationState::NothingToDo, None, Some(why))
            .await?;
    }
    Ok(())
}

fn non_empty(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, ApiError> {
    serde_json::to_string(value).map_err(|error| {
        tracing::error!(%error, "cannot serialise an operation");
        ApiError::internal()
    })
}

/// When a new operation's job becomes claimable by the workers: after the inline attempt (or a
/// crash during it) had its chance.
fn inline_grace_until(state: &AppState) -> i64 {
    now_ms() + i64::try_from(state.settings.jobs.inline_grace_ms).unwrap_or(i64::MAX / 2)
}
