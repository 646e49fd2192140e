//! Receipts on the wire: the calculation, the sale, a returned line and a bonus reserve.
//! Plain data of the outgoing client: no I/O, no other layer.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{lenient, Customer};
use crate::bonusplus::wire_assumptions;
use crate::domain::phone::Phone;

/// Body of `PUT retail/calc`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CalcRequest {
    pub phone: Phone,
    pub store: String,
    /// Bonuses to spend; 0 to just learn the maximum.
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    pub bonus_debit: Decimal,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coupons: Option<Vec<String>>,
    pub items: Vec<CalcItem>,
}

/// One line of a calculation or a sale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CalcItem {
    /// Unique line id; a later return names the line by it.
    pub ext: String,
    /// Product id as imported into BonusPlus.
    pub product: String,
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    pub qnt: Decimal,
    /// Line sum before any discount (price × quantity, in kopecks precision).
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    pub sum: Decimal,
    /// The shop's own discount on the line, roubles (0 if none).
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    pub ds: Decimal,
    #[serde(
        skip_serializing_if = "Option::is_none",
        with = "rust_decimal::serde::arbitrary_precision_option"
    )]
    pub price: Option<Decimal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cat: Option<String>,
}

/// Answer of `PUT retail/calc`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CalcResult {
    #[serde(default, deserialize_with = "lenient::decimal")]
    pub max_debit_bonuses: Decimal,
    /// The amount spent must be a multiple of it; `None` or 0 means any kopeck amount.
    #[serde(default, with = "rust_decimal::serde::arbitrary_precision_option")]
    pub multiplicity_debit_bonus: Option<Decimal>,
    /// One entry per item, matched by `ext`.
    #[serde(default, deserialize_with = "lenient::vec")]
    pub discount: Vec<ItemDiscount>,
    #[serde(default, deserialize_with = "lenient::vec")]
    pub messages: Vec<String>,
}

impl CalcResult {
    /// Texts about the promotions that fired, wherever BonusPlus put them.
    pub fn all_messages(&self) -> Vec<&str> {
        wire_assumptions::calc_messages(self)
    }
}

/// BonusPlus's verdict on one line. Amounts in roubles, percentages 0–100.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ItemDiscount {
    pub ext: String,
    /// Bonuses the line earns.
    #[serde(default, deserialize_with = "lenient::decimal")]
    pub cb: Decimal,
    /// Bonuses spent on the line (taken off its price).
    #[serde(default, deserialize_with = "lenient::decimal")]
    pub db: Decimal,
    /// BonusPlus's own discount on the line (taken off its price).
    #[serde(default, deserialize_with = "lenient::decimal")]
    pub ids: Decimal,
    /// `ids` as a percentage.
    #[serde(default, deserialize_with = "lenient::decimal")]
    pub idp: Decimal,
    /// The shop's discount on the line, echoed.
    #[serde(default, deserialize_with = "lenient::decimal")]
    pub ds: Decimal,
    #[serde(default, deserialize_with = "lenient::decimal")]
    pub dp: Decimal,
    /// Earn percentage.
    #[serde(default, deserialize_with = "lenient::decimal")]
    pub cbp: Decimal,
    /// Debit percentage.
    #[serde(default, deserialize_with = "lenient::decimal")]
    pub dbp: Decimal,
    #[serde(default, deserialize_with = "lenient::vec")]
    pub messages: Vec<String>,
}

impl ItemDiscount {
    /// Roubles taken off the line by BonusPlus: bonuses spent plus its own discount.
    pub fn total_off(&self) -> Decimal {
        self.db + self.ids
    }
}

/// Body of `POST retail` (`DoRetail_Request`): the calculation's fields plus our unique sale id,
/// the reserve and the gift certificates paying for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SaleRequest {
    pub phone: Phone,
    pub store: String,
    /// Bonuses spent: the amount released from the reserve just before.
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    pub bonus_debit: Decimal,
    /// Our sale id; BonusPlus refuses a second sale with the same id (`RETAIL_ALREADY_EXIST`).
    pub external_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coupons: Option<Vec<String>>,
    pub items: Vec<CalcItem>,
    /// The reserve this sale follows. What BonusPlus does with it is unconfirmed (see
    /// [`wire_assumptions::RESERVE_ID_CONSUMES`]); the reserve is released first either way.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reserve_id: Option<String>,
    /// Gift certificates paying part of the sale.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub gift_cards: Vec<GiftCardPayment>,
}

impl SaleRequest {
    /// The sale of exactly what was calculated, without reserve or certificates.
    pub fn from_calc(calc: CalcRequest, external_id: String) -> Self {
        SaleRequest {
            phone: calc.phone,
            store: calc.store,
            bonus_debit: calc.bonus_debit,
            external_id,
            coupons: calc.coupons,
            items: calc.items,
            reserve_id: None,
            gift_cards: Vec::new(),
        }
    }
}

/// One gift certificate paying for a sale (`giftCards[]` of `POST retail`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GiftCardPayment {
    /// The certificate's GUID.
    pub id: Uuid,
    /// Roubles taken from the certificate, exact (MoySklad's kopecks ÷ 100).
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    pub payment_sum: Decimal,
}

/// Answer of `POST retail` (`RetailResult`). Every field is read leniently: the sale is booked
/// by the time this arrives, and a surprise in the answer must not make it look failed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SaleResult {
    /// BonusPlus's id of the purchase.
    #[serde(default, deserialize_with = "lenient::integer")]
    pub id: Option<i64>,
    #[serde(default, deserialize_with = "lenient::guid")]
    pub order_uid: Option<Uuid>,
    /// Link to the receipt.
    #[serde(default, deserialize_with = "lenient::string_option")]
    pub order_url: Option<String>,
    /// The customer after the sale: the fresh balance, without another `GET customer`.
    #[serde(default)]
    pub customer: Option<Customer>,
}

/// Body of `PUT retail/back`: returns `sum` (same terms as the sold item's `sum`) of one line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReturnLine {
    pub ext: String,
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    pub sum: Decimal,
}

/// Answer of `PUT retail/back`: `{"returnedPurchaseId": 5000001}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReturnResult {
    #[serde(default, deserialize_with = "lenient::integer")]
    pub returned_purchase_id: Option<i64>,
}

/// Body of `PATCH customer/{phone}/balance/reserve`. A negative amount releases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReserveRequest {
    pub id: String,
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    pub amount: Decimal,
}

/// Answer of `GET customer/{phoneNumber}/balance/reserve/{id}`: `{phone, id, amount}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub(crate) struct ReserveHeld {
    #[serde(default, deserialize_with = "lenient::decimal")]
    pub amount: Decimal,
}
