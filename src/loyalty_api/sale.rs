//! Sales and returns: `POST /retaildemand` and `POST /retailsalesreturn`.
//! Must not depend on `vendor_api` or `ui`: this reads MoySklad's receipt and hands it to the
//! outbox ([`crate::outbox`]), which records it once and delivers it.
//!
//! MoySklad is answered 201 once the outbox has recorded the operation — the sale happened in the
//! shop — whether BonusPlus booked it now or the queue will. A sale or return already happened in
//! the shop: prices and quantities with more decimals than the receipt arithmetic takes are booked
//! rounded half-up, and the operation notes it.

use axum::extract::State;
use axum::http::StatusCode;
use rust_decimal::Decimal;

use super::assortment::ProductIds;
use super::caller::Caller;
use super::errors::unmapped_store;
use super::wire::sale::{GiftCardPayment, RetailDemand, RetailSalesReturn, SaleAgent};
use super::wire::Position;
use crate::customers::TillCustomer;
use crate::domain::keys::idempotency_key;
use crate::domain::money::kopecks_to_roubles;
use crate::domain::pricing::{book_as_happened, line_sum};
use crate::domain::returns::{demand_sale_id, ReturnedPosition};
use crate::http::error::{codes, ApiError};
use crate::http::extract::ApiJson;
use crate::outbox::{CertificatePayment, NewReturn, NewSale, OutboxError, Receipt, SoldPosition};
use crate::state::AppState;

/// `POST /retaildemand`
pub async fn sale(
    State(state): State<AppState>,
    State(product_ids): State<ProductIds>,
    Caller(account): Caller,
    ApiJson(body): ApiJson<RetailDemand>,
) -> Result<StatusCode, ApiError> {
    let bonus_debit = body
        .bonus_program
        .as_ref()
        .and_then(|b| b.bonus_value_to_spend)
        .unwrap_or_default();
    let (receipt, positions) = arrived(&body)?;
    if bonus_debit < Decimal::ZERO {
        return Err(ApiError::invalid(
            "bonusProgram.bonusValueToSpend",
            "Must not be negative",
        ));
    }
    let products = product_ids
        .resolve(&state.store, &account.account_id, &positions)
        .await?;
    let sale = NewSale {
        receipt,
        positions: sold_positions(&positions, &products)?,
        gift_cards: certificate_payments(&body.gift_cards)?,
        customer: body.agent.as_ref().map(identity),
        bonus_debit,
        bonus_earn: earned(&body),
    };
    state
        .outbox
        .record_sale(&account, sale)
        .await
        .map_err(refused)?;
    Ok(StatusCode::CREATED)
}

/// `POST /retailsalesreturn`: reverses what the sale earned and spent. The sale is the one
/// `demand` names (`meta.id`, else the id at the end of `meta.href`), else the customer's most
/// recent booked sale at this point of sale that holds the returned goods. A return that still
/// matches nothing is kept as needing attention, for an administrator to match it on the
/// settings page.
pub async fn sales_return(
    State(state): State<AppState>,
    State(product_ids): State<ProductIds>,
    Caller(account): Caller,
    ApiJson(body): ApiJson<RetailSalesReturn>,
) -> Result<StatusCode, ApiError> {
    let (receipt, positions) = arrived(&body)?;
    let products = product_ids
        .resolve(&state.store, &account.account_id, &positions)
        .await?;
    let demand = body.demand.as_ref().and_then(|d| d.meta.as_ref());
    let returned = NewReturn {
        receipt,
        positions: returned_positions(&positions, &products)?,
        counterparty_id: body
            .agent
            .as_ref()
            .and_then(|agent| agent.counterparty_id())
            .map(str::to_owned),
        sale_ms_id: demand_sale_id(
            demand.map(|meta| meta.id.as_str()),
            demand.map(|meta| meta.href.as_str()),
        )
        .map(str::to_owned),
    };
    state
        .outbox
        .record_return(&account, returned)
        .await
        .map_err(refused)?;
    Ok(StatusCode::CREATED)
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
fn identity(agent: &SaleAgent) -> TillCustomer {
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

/// What a sale and a return share as MoySklad sends them.
trait Document {
    fn meta_id(&self) -> &str;
    fn retail_store_id(&self) -> &str;
    fn name(&self) -> Option<&str>;
    fn moment(&self) -> Option<&str>;
    fn positions(&self) -> &[Position];
}

macro_rules! document {
    ($wire:ty) => {
        impl Document for $wire {
            fn meta_id(&self) -> &str {
                &self.meta.id
            }
            fn retail_store_id(&self) -> &str {
                &self.retail_store.meta.id
            }
            fn name(&self) -> Option<&str> {
                self.name.as_deref()
            }
            fn moment(&self) -> Option<&str> {
                self.moment.as_deref()
            }
            fn positions(&self) -> &[Position] {
                &self.positions
            }
        }
    };
}

document!(RetailDemand);
document!(RetailSalesReturn);

/// The document as it arrived: what the outbox will know it by, and its positions as they will be
/// booked (rounded where MoySklad sent more decimals, noted in the receipt).
fn arrived(document: &impl Document) -> Result<(Receipt, Vec<Position>), ApiError> {
    let (positions, notes) = as_happened(document.positions());
    let receipt = receipt(
        document.meta_id(),
        document.retail_store_id(),
        document.name(),
        document.moment(),
        notes,
    )?;
    Ok((receipt, positions))
}

/// What the outbox knows the document by: the key that books it once (MoySklad's id, else point
/// of sale + number + moment), its number and moment, and what was noted on arrival.
fn receipt(
    ms_id: &str,
    retail_store_id: &str,
    name: Option<&str>,
    moment: Option<&str>,
    notes: Option<String>,
) -> Result<Receipt, ApiError> {
    let retail_store_id = retail_store_id.trim();
    if retail_store_id.is_empty() {
        return Err(ApiError::invalid(
            "retailStore.meta.id",
            "The point of sale id is required",
        ));
    }
    let key = idempotency_key(ms_id, retail_store_id, name, moment).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            codes::INVALID_INPUT,
            "Не указан идентификатор чека",
            "Either meta.id or both name and moment are required to book the operation once",
        )
        .with_parameter("meta.id")
    })?;
    Ok(Receipt {
        key,
        ms_id: non_empty(ms_id),
        retail_store_id: retail_store_id.to_owned(),
        name: name.map(str::to_owned),
        moment: moment.map(str::to_owned),
        notes,
    })
}

fn sold_positions(
    positions: &[Position],
    products: &[String],
) -> Result<Vec<SoldPosition>, ApiError> {
    positions
        .iter()
        .zip(products)
        .enumerate()
        .map(|(index, (position, product))| {
            Ok(SoldPosition {
                sum: checked_sum(index, position)?,
                product: product.clone(),
                price: position.price,
                quantity: position.quantity,
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

/// What the outbox refused, as MoySklad's error.
fn refused(error: OutboxError) -> ApiError {
    match error {
        OutboxError::UnmappedStore => unmapped_store(),
        OutboxError::Invalid(reason) => ApiError::invalid("positions", reason),
        OutboxError::Store(error) => error.into(),
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
