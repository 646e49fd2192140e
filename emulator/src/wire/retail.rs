//! `retail…` and bonus reserves on the wire: calc, sale (reserve, gift cards), return, reserve.
//! Must not depend on `api` (HTTP) or tenant state; of other resources, only `CustomerAnswer`.

use std::collections::HashSet;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::customers::CustomerAnswer;
use super::{check_money, check_not_blank, check_phone, check_range, check_scale};
use crate::calc::{Calculation, LineFigures};
use crate::error::ApiError;
use crate::formats;
use crate::numbers;
use crate::tenant::{GiftCardPayment, Order, OrderItem, SaleCommand};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GiftCardRequest {
    pub id: String,
    #[serde(deserialize_with = "numbers::decimal")]
    pub payment_sum: Decimal,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetailRequest {
    pub phone: String,
    pub store: String,
    #[serde(default, deserialize_with = "numbers::optional_decimal")]
    pub bonus_debit: Option<Decimal>,
    #[serde(default)]
    pub external_id: Option<String>,
    /// Accepted and type-checked; the emulator has no coupon rules.
    #[serde(default)]
    pub coupons: Option<Vec<String>>,
    pub items: Vec<RetailItem>,
    /// `POST retail` only.
    #[serde(default, deserialize_with = "numbers::optional_id")]
    pub reserve_id: Option<String>,
    /// `POST retail` only: certificates paying for the sale.
    #[serde(default)]
    pub gift_cards: Option<Vec<GiftCardRequest>>,
}

#[derive(Debug, Deserialize)]
pub struct RetailItem {
    pub ext: String,
    #[serde(default)]
    pub product: Option<String>,
    #[serde(deserialize_with = "numbers::decimal")]
    pub qnt: Decimal,
    #[serde(deserialize_with = "numbers::decimal")]
    pub sum: Decimal,
    #[serde(deserialize_with = "numbers::decimal")]
    pub ds: Decimal,
    #[serde(default, deserialize_with = "numbers::optional_decimal")]
    pub price: Option<Decimal>,
}

#[derive(Debug, Deserialize)]
pub struct ReserveRequest {
    pub id: String,
    #[serde(deserialize_with = "numbers::decimal")]
    pub amount: Decimal,
}

/// `DELETE customer/balance/reserve`.
#[derive(Debug, Deserialize)]
pub struct CancelReserveRequest {
    #[serde(deserialize_with = "numbers::id")]
    pub id: String,
}

#[derive(Debug, Deserialize)]
pub struct ReturnRequest {
    pub ext: String,
    #[serde(deserialize_with = "numbers::decimal")]
    pub sum: Decimal,
}

impl RetailRequest {
    /// `POST retail`: the order plus `externalId` (required), `reserveId` and `giftCards`.
    pub fn into_sale(mut self) -> Result<(SaleCommand, Order), ApiError> {
        let external_id = self
            .external_id
            .take()
            .filter(|id| !id.trim().is_empty())
            .ok_or_else(|| ApiError::bad_request("externalId: required for a sale"))?;
        let reserve_id = self.reserve_id.take();
        if let Some(id) = &reserve_id {
            check_not_blank("reserveId", id)?;
        }
        let mut gift_cards: Vec<GiftCardPayment> = Vec::new();
        for (at, card) in self.gift_cards.take().into_iter().flatten().enumerate() {
            let id = formats::parse_guid(&card.id).ok_or_else(|| {
                ApiError::bad_request(format!("giftCards[{at}].id: «{}» is not a GUID", card.id))
            })?;
            let field = format!("giftCards[{at}].paymentSum");
            check_money(&field, card.payment_sum, false)?;
            if card.payment_sum.is_zero() {
                return Err(ApiError::bad_request(format!("{field}: must be positive")));
            }
            if gift_cards.iter().any(|g| g.id == id) {
                return Err(ApiError::bad_request(format!(
                    "giftCards[{at}].id: {id} appears twice"
                )));
            }
            gift_cards.push(GiftCardPayment {
                id,
                sum: card.payment_sum,
            });
        }
        let order = self.into_order()?;
        Ok((
            SaleCommand {
                external_id,
                reserve_id,
                gift_cards,
            },
            order,
        ))
    }

    /// Checks the order.
    pub fn into_order(self) -> Result<Order, ApiError> {
        check_phone("phone", &self.phone)?;
        check_not_blank("store", &self.store)?;
        for (at, coupon) in self.coupons.iter().flatten().enumerate() {
            check_not_blank(&format!("coupons[{at}]"), coupon)?;
        }
        let bonus_debit = self.bonus_debit.unwrap_or(Decimal::ZERO);
        check_money("bonusDebit", bonus_debit, false)?;
        if self.items.is_empty() {
            return Err(ApiError::bad_request(
                "items: at least one line is required",
            ));
        }
        let mut seen = HashSet::new();
        let mut items = Vec::with_capacity(self.items.len());
        for (at, item) in self.items.into_iter().enumerate() {
            let item = item.into_order_item(at)?;
            if !seen.insert(item.ext.clone()) {
                return Err(ApiError::bad_request(format!(
                    "items[{at}].ext: «{}» appears twice in the order",
                    item.ext
                )));
            }
            items.push(item);
        }
        Ok(Order {
            phone: self.phone,
            store: self.store,
            bonus_debit,
            items,
        })
    }
}

impl RetailItem {
    fn into_order_item(self, at: usize) -> Result<OrderItem, ApiError> {
        let field = |name: &str| format!("items[{at}].{name}");
        check_not_blank(&field("ext"), &self.ext)?;
        if self.qnt <= Decimal::ZERO {
            return Err(ApiError::bad_request(format!(
                "{}: must be positive",
                field("qnt")
            )));
        }
        check_scale(&field("qnt"), self.qnt, 3)?;
        check_range(&field("qnt"), self.qnt)?;
        check_money(&field("sum"), self.sum, false)?;
        check_money(&field("ds"), self.ds, false)?;
        if let Some(price) = self.price {
            check_money(&field("price"), price, false)?;
        }
        if self.ds > self.sum {
            return Err(ApiError::bad_request(format!(
                "{}: the discount exceeds the line sum",
                field("ds")
            )));
        }
        Ok(OrderItem {
            ext: self.ext,
            product: self.product,
            sum: self.sum,
            ds: self.ds,
        })
    }
}

impl ReserveRequest {
    pub fn check(&self) -> Result<(), ApiError> {
        check_not_blank("id", &self.id)?;
        check_money("amount", self.amount, true)
    }
}

impl ReturnRequest {
    pub fn check(&self) -> Result<(), ApiError> {
        check_not_blank("ext", &self.ext)?;
        check_money("sum", self.sum, false)?;
        if self.sum.is_zero() {
            return Err(ApiError::bad_request("sum: must be positive"));
        }
        Ok(())
    }
}

/// `GET customer/{phoneNumber}/balance/reserve/{id}`.
#[derive(Debug, Serialize)]
pub struct ReserveAnswer {
    pub phone: String,
    pub id: String,
    #[serde(serialize_with = "rust_decimal::serde::arbitrary_precision::serialize")]
    pub amount: Decimal,
}

/// `POST retail` (`RetailResult`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RetailResultAnswer {
    pub id: i64,
    pub order_uid: String,
    pub order_url: String,
    pub customer: CustomerAnswer,
}

/// `PUT retail/back`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReturnAnswer {
    pub returned_purchase_id: i64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CalcAnswer {
    #[serde(serialize_with = "rust_decimal::serde::arbitrary_precision::serialize")]
    pub max_debit_bonuses: Decimal,
    #[serde(serialize_with = "rust_decimal::serde::arbitrary_precision::serialize")]
    pub multiplicity_debit_bonus: Decimal,
    pub discount: Vec<DiscountAnswer>,
    pub messages: Vec<String>,
}

impl CalcAnswer {
    pub fn new(calculation: Calculation, multiplicity: Decimal) -> Self {
        Self {
            max_debit_bonuses: calculation.max_debit,
            multiplicity_debit_bonus: multiplicity,
            discount: calculation.lines.into_iter().map(Into::into).collect(),
            messages: calculation.messages,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct DiscountAnswer {
    pub ext: String,
    #[serde(serialize_with = "rust_decimal::serde::arbitrary_precision::serialize")]
    pub cb: Decimal,
    #[serde(serialize_with = "rust_decimal::serde::arbitrary_precision::serialize")]
    pub db: Decimal,
    #[serde(serialize_with = "rust_decimal::serde::arbitrary_precision::serialize")]
    pub ids: Decimal,
    #[serde(serialize_with = "rust_decimal::serde::arbitrary_precision::serialize")]
    pub idp: Decimal,
    #[serde(serialize_with = "rust_decimal::serde::arbitrary_precision::serialize")]
    pub ds: Decimal,
    #[serde(serialize_with = "rust_decimal::serde::arbitrary_precision::serialize")]
    pub dp: Decimal,
    #[serde(serialize_with = "rust_decimal::serde::arbitrary_precision::serialize")]
    pub cbp: Decimal,
    #[serde(serialize_with = "rust_decimal::serde::arbitrary_precision::serialize")]
    pub dbp: Decimal,
}

impl From<LineFigures> for DiscountAnswer {
    fn from(line: LineFigures) -> Self {
        Self {
            ext: line.ext,
            cb: line.cb,
            db: line.db,
            ids: line.ids,
            idp: line.idp,
            ds: line.ds,
            dp: line.dp,
            cbp: line.cbp,
            dbp: line.dbp,
        }
    }
}
