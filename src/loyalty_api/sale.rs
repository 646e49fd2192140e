//! Sales and returns: `POST /retaildemand` and `POST /retailsalesreturn`.
//! Must not depend on `vendor_api` or `ui`; delivery is the job queue's ([`crate::jobs::delivery`]),
//! the sale a return belongs to the sales service's ([`crate::sales`]).
//!
//! Each is recorded with its delivery job in one transaction (keyed by MoySklad's id, or point of
//! sale + number + moment), then delivered inline. MoySklad is answered 201 once the operation is
//! recorded — the sale happened in the shop — whether BonusPlus booked it now or the outbox will;
//! a repeated delivery of the same sale finds the record and books nothing more. The customer is
//! not looked up before recording (the delivery resolves them), so a database that cannot record
//! answers 5xx and MoySklad delivers the sale again: never acknowledged and dropped. A sale or
//! return already happened in the shop: prices and quantities with more decimals than the receipt
//! arithmetic takes are booked rounded half-up, and the operation notes it.

use axum::extract::State;
use axum::http::StatusCode;
use rust_decimal::Decimal;

use super::assortment::ProductIds;
use super::caller::Caller;
use super::errors::unmapped_store;
use super::sale_wire::{GiftCardPayment, RetailDemand, RetailSalesReturn, SaleAgent};
use super::wire::Position;
use crate::accounts::LoyaltyAccount;
use crate::customers::Identity;
use crate::domain::identity::idempotency_key;
use crate::domain::money::kopecks_to_roubles;
use crate::domain::phone::Phone;
use crate::domain::receipt::{book_as_happened, line_sum};
use crate::domain::returns::{demand_sale_id, ReturnedPosition, SoldLine};
use crate::http::error::{codes, ApiError};
use crate::http::extract::ApiJson;
use crate::jobs::delivery::{deliver_soon, delivery_job, CertificatePayment, SalePayload};
use crate::sales::{plan_against, sale_of_customer, SalesError, UnmatchedReturn};
use crate::state::AppState;
use crate::store::{now_ms, NewOperation, Operation, OperationKind, OperationState};

/// `POST /retaildemand`
pub async fn sale(
    State(state): State<AppState>,
    State(product_ids): State<ProductIds>,
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
    let (positions, notes) = as_happened(&body.positions);
    let products = product_ids
        .resolve(&state.store, &account.account_id, &positions)
        .await?;
    let id = uuid::Uuid::new_v4().to_string();
    let lines = sold_lines(&id, &positions, &products)?;
    let gift_cards = certificate_payments(&body.gift_cards)?;
    let who = body.agent.as_ref().map(identity);
    let mut record = Recording {
        account: &account,
        kind: OperationKind::Sale,
        id,
        key,
        ms_id: non_empty(&body.meta.id),
        retail_store_id: retail_store_id.clone(),
        counterparty_id: who.as_ref().and_then(|w| w.counterparty_id.clone()),
        notes,
    };
    let Some(who) = who.filter(|who| !who.is_empty()) else {
        // An anonymous sale: nothing to book, acknowledged and remembered.
        record.counterparty_id = None;
        record
            .finished(&state, OperationState::NothingToDo, None, "anonymous sale")
            .await?;
        return Ok(StatusCode::CREATED);
    };
    let store = account
        .bonusplus_store(&retail_store_id)
        .ok_or_else(unmapped_store)?
        .to_owned();
    let payload = SalePayload {
        phone: None,
        store,
        retail_store_id,
        bonus_debit,
        lines,
        customer: who,
        name: body.name.clone(),
        moment: body.moment.clone(),
        gift_cards,
        bonus_earn: earned(&body),
    };
    record
        .pending(&state, None, None, &to_json(&payload)?, true)
        .await?;
    Ok(StatusCode::CREATED)
}

/// `POST /retailsalesreturn`: reverses what the sale earned and spent. The sale is the one
/// `demand` names (`meta.id`, else the id at the end of `meta.href`), else the customer's most
/// recent booked sale at this point of sale that holds the returned goods (`crate::sales`). A
/// return that still matches nothing is kept as needing attention, for an administrator to
/// match it on the settings page.
pub async fn sales_return(
    State(state): State<AppState>,
    State(product_ids): State<ProductIds>,
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
    let (positions, notes) = as_happened(&body.positions);
    let products = product_ids
        .resolve(&state.store, &account.account_id, &positions)
        .await?;
    let returned = returned_positions(&positions, &products)?;
    let record = Recording {
        account: &account,
        kind: OperationKind::Return,
        id: uuid::Uuid::new_v4().to_string(),
        key,
        ms_id: non_empty(&body.meta.id),
        retail_store_id,
        counterparty_id: body
            .agent
            .as_ref()
            .and_then(|agent| agent.counterparty_id())
            .map(str::to_owned),
        notes,
    };
    match find_sale(&state, &account, &body, &record, &returned).await? {
        Some(sale) => reverse(&state, &body, &record, &sale, &returned).await?,
        None => needs_attention(&state, &body, &record, returned).await?,
    }
    Ok(StatusCode::CREATED)
}

/// Records the return of `sale`: what it reverses, delivered now if the sale is booked (else the
/// workers deliver it once the sale is); nothing to do for an anonymous sale or one whose
/// returned goods were all returned already.
async fn reverse(
    state: &AppState,
    body: &RetailSalesReturn,
    record: &Recording<'_>,
    sale: &Operation,
    returned: &[ReturnedPosition],
) -> Result<(), ApiError> {
    let planned = match sale.state {
        OperationState::NothingToDo => Err("the sale was never booked with BonusPlus"),
        _ => plan_against(&state.store, sale, returned)
            .await
            .map_err(sales_error)?
            .ok_or("nothing of the sale left to return"),
    };
    let mut payload = match planned {
        Ok(payload) => payload,
        Err(why) => {
            return record
                .finished_for(state, OperationState::NothingToDo, sale, why)
                .await
        }
    };
    payload.name = body.name.clone();
    payload.moment = body.moment.clone();
    let now = sale.state == OperationState::Delivered;
    let phone = payload.phone.clone();
    record
        .pending(state, Some(sale), phone, &to_json(&payload)?, now)
        .await
}

/// Records a return whose sale was not found, for an administrator to match on the page.
async fn needs_attention(
    state: &AppState,
    body: &RetailSalesReturn,
    record: &Recording<'_>,
    returned: Vec<ReturnedPosition>,
) -> Result<(), ApiError> {
    let unmatched = UnmatchedReturn {
        name: body.name.clone(),
        moment: body.moment.clone(),
        retail_store_id: record.retail_store_id.clone(),
        counterparty_id: record.counterparty_id.clone(),
        sum: returned_sum(&returned)?,
        positions: returned,
    };
    let why = "Продажа этого возврата не найдена: сопоставьте его с продажей";
    let payload = to_json(&unmatched)?;
    record
        .finished(state, OperationState::NeedsAttention, Some(&payload), why)
        .await
}

/// The sale a return reverses: named by `demand`, else found by the customer.
async fn find_sale(
    state: &AppState,
    account: &LoyaltyAccount,
    body: &RetailSalesReturn,
    record: &Recording<'_>,
    returned: &[ReturnedPosition],
) -> Result<Option<Operation>, ApiError> {
    let demand = body.demand.as_ref().and_then(|d| d.meta.as_ref());
    let named = demand_sale_id(
        demand.map(|meta| meta.id.as_str()),
        demand.map(|meta| meta.href.as_str()),
    );
    if let Some(ms_id) = named {
        if let Some(sale) = state
            .store
            .sale_by_ms_id(&account.account_id, ms_id)
            .await?
        {
            return Ok(Some(sale));
        }
    }
    let Some(counterparty_id) = record.counterparty_id.as_deref() else {
        return Ok(None);
    };
    Ok(sale_of_customer(
        &state.store,
        &account.account_id,
        &record.retail_store_id,
        counterparty_id,
        account.checkout.return_window_days,
        returned,
    )
    .await?)
}

/// An operation about to be recorded: what every state of it shares.
struct Recording<'a> {
    account: &'a LoyaltyAccount,
    kind: OperationKind,
    id: String,
    key: String,
    ms_id: Option<String>,
    retail_store_id: String,
    counterparty_id: Option<String>,
    notes: Option<String>,
}

impl Recording<'_> {
    fn operation(
        &self,
        state: OperationState,
        sale_id: Option<String>,
        phone: Option<Phone>,
        payload: String,
    ) -> NewOperation {
        NewOperation {
            id: self.id.clone(),
            account_id: self.account.account_id.clone(),
            kind: self.kind,
            idempotency_key: self.key.clone(),
            ms_id: self.ms_id.clone(),
            sale_id,
            phone,
            state,
            payload,
            retail_store_id: Some(self.retail_store_id.clone()),
            counterparty_id: self.counterparty_id.clone(),
            notes: self.notes.clone(),
        }
    }

    /// Records it with its delivery job and, when `deliver`, starts delivering it right away in
    /// the background: the till is answered 201 as soon as the operation is durably recorded,
    /// never after BonusPlus's round trips. Whatever that first attempt meets (or a crash during
    /// it), the job is there for the workers.
    async fn pending(
        &self,
        state: &AppState,
        sale: Option<&Operation>,
        phone: Option<Phone>,
        payload: &str,
        deliver: bool,
    ) -> Result<(), ApiError> {
        let sale_id = sale.map(|sale| sale.id.clone());
        let op = self.operation(OperationState::Pending, sale_id, phone, payload.to_owned());
        let job = delivery_job(&op.account_id, &op.id, inline_grace_until(state));
        let (op, created) = state.store.record_operation(&op, Some(&job)).await?;
        if created && deliver {
            deliver_soon(&state.jobs, op);
        }
        Ok(())
    }

    /// Records it as finished in `outcome` (nothing to deliver), with `why`.
    async fn finished(
        &self,
        state: &AppState,
        outcome: OperationState,
        payload: Option<&str>,
        why: &str,
    ) -> Result<(), ApiError> {
        let payload = payload.unwrap_or("{}").to_owned();
        self.record_finished(state, self.operation(outcome, None, None, payload), why)
            .await
    }

    async fn finished_for(
        &self,
        state: &AppState,
        outcome: OperationState,
        sale: &Operation,
        why: &str,
    ) -> Result<(), ApiError> {
        let op = self.operation(outcome, Some(sale.id.clone()), None, "{}".to_owned());
        self.record_finished(state, op, why).await
    }

    async fn record_finished(
        &self,
        state: &AppState,
        op: NewOperation,
        why: &str,
    ) -> Result<(), ApiError> {
        let outcome = op.state;
        let (op, created) = state.store.record_operation(&op, None).await?;
        if created {
            state
                .store
                .finish_operation(&op.id, outcome, None, Some(why))
                .await?;
        }
        Ok(())
    }
}

/// The bonuses the till says the sale earns (the shop's activity counts them once it is booked);
/// a negative figure earns nothing.
fn earned(body: &RetailDemand) -> Decimal {
    body.bonus_program
        .as_ref()
        .and_then(|bonus| bonus.bonus_value_to_earn)
        .filter(|earn| *earn > Decimal::ZERO)
        .unwrap_or_default()
}

/// Who a sale's customer is, as MoySklad sent them.
fn identity(agent: &SaleAgent) -> Identity {
    let counterparty_id = agent.meta.as_ref().and_then(|meta| non_empty(&meta.id));
    super::counterparty::identity(&agent.attributes, counterparty_id)
}

/// The positions as they will be booked (rounded half-up where MoySklad sent more decimals than
/// the receipt arithmetic takes), and the note of what was rounded, if anything.
fn as_happened(positions: &[Position]) -> (Vec<Position>, Option<String>) {
    let mut notes = Vec::new();
    let booked = positions
        .iter()
        .enumerate()
        .map(|(index, position)| {
            let booked = book_as_happened(position.price, position.quantity);
            if booked.rounded {
                notes.push(format!(
                    "позиция {}: цена {} → {}, количество {} → {}",
                    index + 1,
                    position.price,
                    booked.price,
                    position.quantity,
                    booked.quantity
                ));
            }
            Position {
                price: booked.price,
                quantity: booked.quantity,
                ..position.clone()
            }
        })
        .collect();
    let note = (!notes.is_empty()).then(|| format!("Округлено при записи: {}", notes.join("; ")));
    (booked, note)
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

fn sold_lines(
    operation_id: &str,
    positions: &[Position],
    products: &[String],
) -> Result<Vec<SoldLine>, ApiError> {
    positions
        .iter()
        .zip(products)
        .enumerate()
        .map(|(index, (position, product))| {
            let sum = checked_sum(index, position)?;
            Ok(SoldLine {
                ext: format!("{operation_id}:{index}"),
                product: product.clone(),
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

fn returned_positions(
    positions: &[Position],
    products: &[String],
) -> Result<Vec<ReturnedPosition>, ApiError> {
    positions
        .iter()
        .zip(products)
        .enumerate()
        .map(|(index, (position, product))| {
            checked_sum(index, position)?;
            Ok(ReturnedPosition {
                product: product.clone(),
                price: position.price,
                quantity: position.quantity,
            })
        })
        .collect()
}

fn returned_sum(returned: &[ReturnedPosition]) -> Result<Decimal, ApiError> {
    returned
        .iter()
        .map(|position| line_sum(position.price, position.quantity))
        .sum::<Result<Decimal, _>>()
        .map_err(|error| ApiError::invalid("positions", error.to_string()))
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

fn sales_error(error: SalesError) -> ApiError {
    match error {
        SalesError::Store(error) => error.into(),
        other => {
            tracing::error!(error = %other, "a recorded sale cannot be read");
            ApiError::internal()
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;
    use serde_json::json;

    fn position(price: &str, quantity: &str) -> Position {
        let (price, quantity): (serde_json::Value, serde_json::Value) = (
            serde_json::from_str(price).unwrap(),
            serde_json::from_str(quantity).unwrap(),
        );
        serde_json::from_value(json!({
            "assortment": {"meta": {"href": "h", "id": "p1"}},
            "quantity": quantity, "price": price,
        }))
        .unwrap()
    }

    #[test]
    fn completed_operations_are_booked_rounded_and_noted() {
        let (booked, note) = as_happened(&[position("99.999", "1"), position("10.00", "2.0005")]);
        assert_eq!(
            (booked[0].price, booked[0].quantity),
            (dec!(100.00), dec!(1))
        );
        assert_eq!(
            (booked[1].price, booked[1].quantity),
            (dec!(10.00), dec!(2.001))
        );
        let note = note.unwrap();
        assert!(note.contains("позиция 1: цена 99.999 → 100.00"), "{note}");
        assert!(note.contains("позиция 2"), "{note}");
        let (_, none) = as_happened(&[position("10.00", "1.5")]);
        assert_eq!(none, None);
    }
}
