//! Wire types of MoySklad's LoyaltyAPI 1.0: every body MoySklad sends to us and every body we answer.
//!
//! They mirror `shared/spec/moysklad-loyalty.md` field for field. Conventions:
//! * JSON names are camelCase (the one exception, `error_message`, is renamed explicitly).
//! * Optional fields are `Option` and are omitted when serialising `None`.
//! * Unknown fields are ignored; a known field of the wrong type is refused.
//! * Money and quantities are `Decimal`, read and written as exact JSON numbers through
//!   serde_json's `arbitrary_precision` (never through `f64`). A number written as a string is also
//!   accepted on input (rust_decimal's visitor allows it); anything else is refused.
//! * Objects that we must echo back unchanged (`assortment`, `sn[]`, `pack`, the recalc `agent`) are
//!   kept as [`Verbatim`]: a typed, validated view plus the exact JSON value received, so that fields
//!   we do not know survive the round trip.
//! * `#[serde(flatten)]` is used only for [`CustomerAttributes`], inside objects that carry no numbers
//!   (flatten buffers its input and would mangle arbitrary-precision numbers).

use std::ops::Deref;

use rust_decimal::Decimal;
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// A typed view of a JSON value together with the value exactly as it arrived.
///
/// Serialising writes the original value back, so unknown sub-fields (and the exact spelling of
/// numbers) are echoed unchanged. Deserialising fails if the value does not fit `T`.
#[derive(Debug, Clone)]
pub struct Verbatim<T> {
    typed: T,
    raw: Value,
}

impl<T: Serialize> Verbatim<T> {
    /// Builds a value from its typed form (for values we create ourselves, e.g. in tests).
    pub fn new(typed: T) -> Result<Self, serde_json::Error> {
        let raw = serde_json::to_value(&typed)?;
        Ok(Self { typed, raw })
    }
}

impl<T> Verbatim<T> {
    /// The JSON value as it arrived (and as it will be written back).
    pub fn raw(&self) -> &Value {
        &self.raw
    }

    pub fn into_inner(self) -> T {
        self.typed
    }
}

impl<T> Deref for Verbatim<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.typed
    }
}

/// Two echoed values are equal when their JSON is equal (the typed view is derived from it).
impl<T> PartialEq for Verbatim<T> {
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw
    }
}

impl<T> Serialize for Verbatim<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.raw.serialize(serializer)
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Verbatim<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Value::deserialize(deserializer)?;
        let typed = T::deserialize(&raw).map_err(D::Error::custom)?;
        Ok(Self { typed, raw })
    }
}

/// An amount in kopecks (gift certificates). The documentation types it as an integer but its own
/// example writes `"1000"`, so both a JSON integer and a string of digits are accepted; we always
/// write a JSON integer, as the attribute table says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Kopecks(pub i64);

impl Serialize for Kopecks {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(self.0)
    }
}

impl<'de> Deserialize<'de> for Kopecks {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Going through `Value` copes with arbitrary-precision numbers and strings alike.
        let value = Value::deserialize(deserializer)?;
        let text = match &value {
            Value::Number(number) => number.to_string(),
            Value::String(text) => text.trim().to_owned(),
            other => {
                return Err(D::Error::custom(format!(
                    "expected kopecks as an integer or a string of digits, got {other}"
                )))
            }
        };
        parse_kopecks(&text).map(Kopecks).ok_or_else(|| {
            D::Error::custom(format!("expected a whole number of kopecks, got {text:?}"))
        })
    }
}

/// Accepts `1000`, `"1000"` and `1000.0` (a whole number written with a zero fraction).
fn parse_kopecks(text: &str) -> Option<i64> {
    let amount = Decimal::from_str_exact(text).ok()?;
    if !amount.is_integer() {
        return None;
    }
    i64::try_from(amount.normalize().mantissa()).ok()
}

/// `meta` of an entity: `href` and `id`, plus the entity `type` and `idType` where MoySklad sends them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    pub href: String,
    pub id: String,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub entity_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_type: Option<String>,
}

/// `meta` that may carry only an `href` (`/counterparty/verify`: a customer being registered at
/// the till is known by `.../counterparty/syncid/<uuid>`, not yet by id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HrefMeta {
    pub href: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// `{ "meta": {...} }`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetaRef {
    pub meta: Meta,
}

/// The point of sale: `{ meta, name? }`; `meta.id` identifies it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetailStoreRef {
    pub meta: Meta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Sex {
    Male,
    Female,
}

/// Customer attributes shared by the counterparty bodies and the `agent` of a sale. All optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerAttributes {
    /// Full name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount_card_number: Option<String>,
    /// Free format ("+7 555 123 4567", "89011231122", ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_middle_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_last_name: Option<String>,
    /// `"YYYY-MM-DD HH:MM:SS"` (seen with milliseconds too); kept as text, parsed in the domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sex: Option<Sex>,
}

/// Whether a new customer's registration was confirmed with a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StatusCheck {
    Unchecked,
    Checked,
    Ignore,
}

/// `POST /counterparty`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CounterpartyCreate {
    pub retail_store: RetailStoreRef,
    pub meta: Meta,
    #[serde(flatten)]
    pub attributes: CustomerAttributes,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_check: Option<StatusCheck>,
}

/// Query string of `GET /counterparty`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CounterpartySearchQuery {
    /// Free text typed at the till: a phone, a card number, a name.
    #[serde(default)]
    pub search: String,
    /// Required by the documentation since 2024-06-28; older tills may omit it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retail_store_id: Option<String>,
}

/// One customer found by `GET /counterparty`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CounterpartyRow {
    /// The customer's id in the loyalty system (a GUID).
    pub id: String,
    /// MoySklad's counterparty UUID, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ms_id: Option<String>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount_card_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_middle_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sex: Option<Sex>,
}

/// Answer of `GET /counterparty` (empty `rows` when nothing matches).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CounterpartySearchResponse {
    pub rows: Vec<CounterpartyRow>,
}

/// `POST /counterparty/detail`: the customer is `meta.id`; the attributes are informational.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CounterpartyDetailRequest {
    pub retail_store: RetailStoreRef,
    pub meta: Meta,
    #[serde(flatten)]
    pub attributes: CustomerAttributes,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CounterpartyDetailResponse {
    pub bonus_program: BonusBalance,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BonusBalance {
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    pub agent_bonus_balance: Decimal,
}

/// `POST /counterparty/verify`. The summary marks `retailStore` required but the documentation's
/// own example omits it, so it is optional here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CounterpartyVerifyRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retail_store: Option<RetailStoreRef>,
    pub meta: HrefMeta,
    #[serde(flatten)]
    pub attributes: CustomerAttributes,
}

/// Answer of `/counterparty/verify` and `/retaildemand/verify`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyResponse {
    /// The code sent to the customer; the till compares what the customer says with it.
    pub verification_code: String,
    /// Seconds before a new code may be requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_for_repeat: Option<u64>,
    /// Shown to the cashier, at most 140 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_for_cashier: Option<String>,
}

/// A customer as sent in a receipt: `meta` plus attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CounterpartyRef {
    pub meta: Meta,
    #[serde(flatten)]
    pub attributes: CustomerAttributes,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TransactionType {
    #[default]
    Earning,
    Spending,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecalcBonusRequest {
    /// Absent means `EARNING`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_type: Option<TransactionType>,
}

/// `POST /retaildemand/recalc`: a receipt without discounts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecalcRequest {
    pub retail_store: RetailStoreRef,
    /// Echoed verbatim in the answer.
    pub agent: Verbatim<CounterpartyRef>,
    pub positions: Vec<Position>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bonus_program: Option<RecalcBonusRequest>,
    /// Absent or null with `SPENDING` ⇒ answer the maximum spendable.
    #[serde(
        default,
        with = "rust_decimal::serde::arbitrary_precision_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub preferred_bonus_to_spend: Option<Decimal>,
}

/// `assortment` of a receipt line: its `meta` (with `type` and `idType` in recalc) and, in sales
/// and returns, the `syncId`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Assortment {
    pub meta: Meta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_id: Option<String>,
}

/// A serial number: `{ meta {href, id}, name? }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SerialNumber {
    pub meta: Meta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Packaging of a line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pack {
    pub id: String,
    pub name: String,
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    pub quantity: Decimal,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub barcode: Option<String>,
}

/// A receipt line: recalc request and answer, sale, return.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Position {
    pub assortment: Verbatim<Assortment>,
    /// 3 decimals; fractional for weighed goods.
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    pub quantity: Decimal,
    /// Unit price in roubles, 2 decimals.
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    pub price: Decimal,
    /// 0–100, 2 decimals. Absent in a recalc request, always present in our answer.
    #[serde(
        default,
        with = "rust_decimal::serde::arbitrary_precision_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub discount_percent: Option<Decimal>,
    /// Unit price after discounts, roubles, 2 decimals.
    #[serde(
        default,
        with = "rust_decimal::serde::arbitrary_precision_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub discounted_price: Option<Decimal>,
    /// When not empty, as many entries as `quantity`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sn: Vec<Verbatim<SerialNumber>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pack: Option<Verbatim<Pack>>,
}

/// `bonusProgram` of our recalc answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecalcBonusResult {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_type: Option<TransactionType>,
    /// Balance before the sale.
    #[serde(
        default,
        with = "rust_decimal::serde::arbitrary_precision_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub agent_bonus_balance: Option<Decimal>,
    /// Bonuses that will be spent (the maximum when no preference was given).
    #[serde(
        default,
        with = "rust_decimal::serde::arbitrary_precision_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub bonus_value_to_spend: Option<Decimal>,
    #[serde(
        default,
        with = "rust_decimal::serde::arbitrary_precision_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub bonus_value_to_earn: Option<Decimal>,
    #[serde(
        default,
        with = "rust_decimal::serde::arbitrary_precision_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub agent_bonus_balance_after: Option<Decimal>,
    /// Roubles paid by bonuses, 2 decimals.
    #[serde(
        default,
        with = "rust_decimal::serde::arbitrary_precision_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub paid_by_bonus_points: Option<Decimal>,
    /// Printed on the receipt; may contain line breaks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_extra_info: Option<String>,
}

/// Answer of `POST /retaildemand/recalc`: the receipt with all discounts applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecalcResponse {
    pub agent: Verbatim<CounterpartyRef>,
    pub positions: Vec<Position>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bonus_program: Option<RecalcBonusResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub need_verification: Option<bool>,
}

/// `POST /retaildemand/verify`: ask for a code confirming that bonuses may be spent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetailDemandVerifyRequest {
    pub retail_store: RetailStoreRef,
    pub counterparty_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// The customer of a sale. Anonymous sales may omit it entirely or, defensively, send it without
/// `meta`, so `meta` is optional here (unlike in recalc).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SaleAgent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    #[serde(flatten)]
    pub attributes: CustomerAttributes,
}

/// `bonusProgram` of a sale.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SaleBonusProgram {
    #[serde(
        default,
        with = "rust_decimal::serde::arbitrary_precision_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub bonus_value_to_spend: Option<Decimal>,
    #[serde(
        default,
        with = "rust_decimal::serde::arbitrary_precision_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub bonus_value_to_earn: Option<Decimal>,
}

/// A gift certificate used to pay a sale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GiftCardPayment {
    pub id: String,
    /// The certificate number.
    pub name: String,
    pub payment_sum: Kopecks,
}

/// `POST /retaildemand`: a sale was made. `meta` may arrive with empty strings (the documentation's
/// own example does), so it must not be the only idempotency key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetailDemand {
    pub retail_store: RetailStoreRef,
    /// Sale number, e.g. "00001".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `"YYYY-MM-DD HH:MM:SS"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moment: Option<String>,
    pub meta: Meta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<SaleAgent>,
    #[serde(default)]
    pub positions: Vec<Position>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bonus_program: Option<SaleBonusProgram>,
    /// Roubles.
    #[serde(
        default,
        with = "rust_decimal::serde::arbitrary_precision_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub cash_sum: Option<Decimal>,
    /// Roubles.
    #[serde(
        default,
        with = "rust_decimal::serde::arbitrary_precision_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub no_cash_sum: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gift_cards: Vec<GiftCardPayment>,
}

/// The customer of a return. Documented (2021-04-19) as a bare `{id, href}`; the documentation's
/// example sends `{}`; the sale's shape `{meta: {...}}` is accepted too. Every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReturnAgent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

impl ReturnAgent {
    /// MoySklad's counterparty id in whichever shape it arrived; `None` for an anonymous return.
    pub fn counterparty_id(&self) -> Option<&str> {
        let from_meta = self.meta.as_ref().map(|meta| meta.id.as_str());
        [from_meta, self.id.as_deref()]
            .into_iter()
            .flatten()
            .map(str::trim)
            .find(|id| !id.is_empty())
    }
}

/// `demand` of a return: the original sale, whose `meta` may be empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemandRef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

/// `POST /retailsalesreturn`. No bonus figures: the loyalty system reverses the linked sale itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetailSalesReturn {
    pub retail_store: RetailStoreRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moment: Option<String>,
    pub meta: Meta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub demand: Option<DemandRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<ReturnAgent>,
    #[serde(default)]
    pub positions: Vec<Position>,
    /// Roubles.
    #[serde(
        default,
        with = "rust_decimal::serde::arbitrary_precision_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub cash_sum: Option<Decimal>,
    /// Documented as kopecks while `cashSum` is roubles (example: 283100.0). Kept as received; the
    /// domain layer decides how to read it.
    #[serde(
        default,
        with = "rust_decimal::serde::arbitrary_precision_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub no_cash_sum: Option<Decimal>,
}

/// Query string of `GET /giftcard`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GiftCardQuery {
    /// The certificate number.
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retail_store_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GiftCardStatus {
    CanBeUsed,
    PartiallyRedeemed,
    Expired,
    Redeemed,
    Invalid,
}

/// Answer of `GET /giftcard`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GiftCard {
    /// The number asked for.
    pub name: String,
    /// The certificate's GUID in the loyalty system.
    pub id: String,
    pub status: GiftCardStatus,
    /// `"YYYY-MM-DD HH:MM:SS"`, UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expire_date: Option<String>,
    /// Required for `CAN_BE_USED` and `PARTIALLY_REDEEMED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_balance: Option<Kopecks>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_balance: Option<Kopecks>,
}

/// Body of every error answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub errors: Vec<ErrorItem>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorItem {
    /// Short title shown to the cashier (in Russian).
    pub error: String,
    /// The request field at fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
    /// 28001: customer creation must be confirmed with a code.
    pub code: i64,
    /// Longer explanation. Snake case on the wire, unlike every other field.
    pub error_message: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;
    use serde_json::json;

    fn parse<T: DeserializeOwned>(body: &str) -> T {
        serde_json::from_str(body).unwrap()
    }

    /// Serialises and reads back as a `Value`, to compare with the JSON that came in.
    fn reserialised<T: Serialize>(value: &T) -> Value {
        serde_json::from_str(&serde_json::to_string(value).unwrap()).unwrap()
    }

    fn json_value(body: &str) -> Value {
        serde_json::from_str(body).unwrap()
    }

    const STORE: &str = r#"{"meta": {"href": "https://ms.example/entity/retailstore/11111111-2222-3333-4444-555555555555",
        "id": "11111111-2222-3333-4444-555555555555"}, "name": "Shop 7"}"#;

    fn recalc_request_body() -> String {
        format!(
            r#"{{
            "retailStore": {STORE},
            "agent": {{
                "meta": {{"href": "https://ms.example/entity/counterparty/aaaa", "id": "aaaa"}},
                "name": "Petrova Anna", "discountCardNumber": "C-77", "phone": "+7 900 000 11 22",
                "email": "anna@example.org", "legalFirstName": "Anna", "legalLastName": "Petrova",
                "sex": "FEMALE", "birthDate": "1991-02-03 00:00:00", "futureField": {{"n": 1.10}}
            }},
            "positions": [{{
                "assortment": {{"meta": {{"href": "https://ms.example/entity/product/p1", "id": "p1",
                                          "idType": "native", "type": "product", "extra": 5.50}}}},
                "quantity": 2.500, "price": 199.90,
                "sn": [{{"meta": {{"href": "https://ms.example/sn/s1", "id": "s1"}}, "name": "SN-1", "x": 0.10}}],
                "pack": {{"id": "pk1", "name": "Bottle 1.5 l", "quantity": 1.50, "barcode": "2000000051420", "ratio": 3.000}}
            }}],
            "bonusProgram": {{"transactionType": "SPENDING"}},
            "preferredBonusToSpend": 120.50
        }}"#
        )
    }

    #[test]
    fn recalc_request_reads_every_field() {
        let request: RecalcRequest = parse(&recalc_request_body());
        assert_eq!(
            request.retail_store.meta.id,
            "11111111-2222-3333-4444-555555555555"
        );
        assert_eq!(request.agent.meta.id, "aaaa");
        assert_eq!(request.agent.attributes.sex, Some(Sex::Female));
        assert_eq!(
            request.agent.attributes.phone.as_deref(),
            Some("+7 900 000 11 22")
        );
        let line = &request.positions[0];
        assert_eq!(line.quantity, dec!(2.5));
        assert_eq!(line.price, dec!(199.90));
        assert_eq!(line.assortment.meta.id_type.as_deref(), Some("native"));
        assert_eq!(line.assortment.meta.entity_type.as_deref(), Some("product"));
        assert_eq!(line.sn[0].name.as_deref(), Some("SN-1"));
        assert_eq!(line.pack.as_ref().unwrap().quantity, dec!(1.5));
        assert_eq!(
            request.bonus_program.unwrap().transaction_type,
            Some(TransactionType::Spending)
        );
        assert_eq!(request.preferred_bonus_to_spend, Some(dec!(120.50)));
    }

    #[test]
    fn recalc_request_round_trips_with_unknown_sub_fields_of_echoed_objects() {
        let body = recalc_request_body();
        let request: RecalcRequest = parse(&body);
        let expected = json_value(&body);
        assert_eq!(reserialised(&request), expected);
        // Numbers keep their exact spelling (trailing zeros included).
        let text = serde_json::to_string(&request.positions[0]).unwrap();
        assert!(text.contains(r#""quantity":1.50"#), "{text}");
        assert!(text.contains(r#""ratio":3.000"#), "{text}");
        assert!(text.contains(r#""price":199.90"#), "{text}");
    }

    #[test]
    fn recalc_response_serialises_money_as_exact_numbers() {
        let request: RecalcRequest = parse(&recalc_request_body());
        let mut position = request.positions[0].clone();
        position.discounted_price = Some(dec!(179.91));
        position.discount_percent = Some(dec!(10.00));
        let response = RecalcResponse {
            agent: request.agent.clone(),
            positions: vec![position],
            bonus_program: Some(RecalcBonusResult {
                transaction_type: Some(TransactionType::Spending),
                agent_bonus_balance: Some(dec!(500)),
                bonus_value_to_spend: Some(dec!(49.98)),
                bonus_value_to_earn: Some(dec!(0)),
                agent_bonus_balance_after: Some(dec!(450.02)),
                paid_by_bonus_points: Some(dec!(49.98)),
                receipt_extra_info: Some("Thank you!\nSee you soon".into()),
            }),
            need_verification: Some(false),
        };
        let text = serde_json::to_string(&response).unwrap();
        for expected in [
            r#""discountedPrice":179.91"#,
            r#""discountPercent":10.00"#,
            r#""paidByBonusPoints":49.98"#,
            r#""agentBonusBalanceAfter":450.02"#,
            r#""needVerification":false"#,
            r#""futureField":{"n":1.10}"#,
        ] {
            assert!(text.contains(expected), "{expected} missing in {text}");
        }
        let back: RecalcResponse = parse(&text);
        assert_eq!(back, response);
        assert_eq!(
            reserialised(&back)["agent"],
            json_value(&recalc_request_body())["agent"]
        );
    }

    #[test]
    fn wrong_types_are_refused() {
        let mut body = json_value(&recalc_request_body());
        body["positions"][0]["price"] = json!(true);
        assert!(serde_json::from_value::<RecalcRequest>(body).is_err());

        let mut body = json_value(&recalc_request_body());
        body["positions"][0]["pack"]["quantity"] = json!({"a": 1});
        assert!(serde_json::from_str::<RecalcRequest>(&body.to_string()).is_err());

        let mut body = json_value(&recalc_request_body());
        body["agent"]["sex"] = json!("OTHER");
        assert!(serde_json::from_str::<RecalcRequest>(&body.to_string()).is_err());

        let mut body = json_value(&recalc_request_body());
        body["positions"][0]["sn"][0]["meta"] = json!("s1");
        assert!(serde_json::from_str::<RecalcRequest>(&body.to_string()).is_err());

        assert!(serde_json::from_str::<RecalcRequest>(r#"{"positions": []}"#).is_err());
    }

    #[test]
    fn counterparty_create_round_trips() {
        let body = format!(
            r#"{{"retailStore": {STORE},
                "meta": {{"href": "https://ms.example/entity/counterparty/c1", "id": "c1"}},
                "name": "Sidorov Petr", "discountCardNumber": "123", "phone": "89011231122",
                "email": "p@example.org", "syncId": "sync-1", "legalFirstName": "Petr",
                "legalMiddleName": "Ivanovich", "legalLastName": "Sidorov",
                "birthDate": "1980-01-02 00:00:00", "sex": "MALE", "statusCheck": "UNCHECKED",
                "someNumber": 12.5}}"#
        );
        let create: CounterpartyCreate = parse(&body);
        assert_eq!(create.status_check, Some(StatusCheck::Unchecked));
        assert_eq!(
            create.attributes.legal_middle_name.as_deref(),
            Some("Ivanovich")
        );
        assert_eq!(create.sync_id.as_deref(), Some("sync-1"));
        let mut expected = json_value(&body);
        expected.as_object_mut().unwrap().remove("someNumber");
        assert_eq!(reserialised(&create), expected);
    }

    #[test]
    fn counterparty_search_and_rows() {
        let query: CounterpartySearchQuery =
            serde_json::from_value(json!({"search": "9039993344", "retailStoreId": "r1"})).unwrap();
        assert_eq!(query.retail_store_id.as_deref(), Some("r1"));
        let body = r#"{"rows": [{"id": "7d1f0c58-1111-2222-3333-444455556666", "msId": "m1",
            "name": "Ivanova Olga", "discountCardNumber": "D1", "phone": "+7 555 123 4567",
            "email": "o@example.org", "legalFirstName": "Olga", "legalMiddleName": "P",
            "legalLastName": "Ivanova", "birthDate": "1970-10-10 00:00:00", "sex": "FEMALE"}]}"#;
        let response: CounterpartySearchResponse = parse(body);
        assert_eq!(response.rows[0].ms_id.as_deref(), Some("m1"));
        assert_eq!(reserialised(&response), json_value(body));
        let empty = CounterpartySearchResponse { rows: vec![] };
        assert_eq!(serde_json::to_string(&empty).unwrap(), r#"{"rows":[]}"#);
    }

    #[test]
    fn counterparty_detail_round_trips() {
        let body = format!(
            r#"{{"retailStore": {STORE}, "meta": {{"href": "h", "id": "c1"}}, "phone": "+7 555 123 4567"}}"#
        );
        let request: CounterpartyDetailRequest = parse(&body);
        assert_eq!(request.meta.id, "c1");
        assert_eq!(reserialised(&request), json_value(&body));
        let response = CounterpartyDetailResponse {
            bonus_program: BonusBalance {
                agent_bonus_balance: dec!(500.25),
            },
        };
        let text = serde_json::to_string(&response).unwrap();
        assert_eq!(text, r#"{"bonusProgram":{"agentBonusBalance":500.25}}"#);
        assert_eq!(parse::<CounterpartyDetailResponse>(&text), response);
    }

    #[test]
    fn counterparty_verify_accepts_href_only_meta_without_store() {
        let body = r#"{"meta": {"href": "https://ms.example/api/posap/1.0/entity/counterparty/syncid/abc"},
            "name": "Romashkina Vera", "phone": "+79011231122", "birthDate": "1992-08-01 00:00:00.000",
            "sex": "FEMALE"}"#;
        let request: CounterpartyVerifyRequest = parse(body);
        assert!(request.retail_store.is_none());
        assert!(request.meta.id.is_none());
        assert_eq!(reserialised(&request), json_value(body));
    }

    #[test]
    fn verify_response_round_trips() {
        let body = r#"{"verificationCode": "654321", "timeForRepeat": 90, "messageForCashier": "Code sent"}"#;
        let response: VerifyResponse = parse(body);
        assert_eq!(response.time_for_repeat, Some(90));
        assert_eq!(reserialised(&response), json_value(body));
        let minimal = VerifyResponse {
            verification_code: "1".into(),
            time_for_repeat: None,
            message_for_cashier: None,
        };
        assert_eq!(
            serde_json::to_string(&minimal).unwrap(),
            r#"{"verificationCode":"1"}"#
        );
    }

    #[test]
    fn retail_demand_verify_round_trips() {
        let body = format!(
            r#"{{"retailStore": {STORE}, "counterpartyId": "c9", "phone": "+79011231122"}}"#
        );
        let request: RetailDemandVerifyRequest = parse(&body);
        assert_eq!(request.counterparty_id, "c9");
        assert_eq!(reserialised(&request), json_value(&body));
    }

    fn sale_body() -> String {
        format!(
            r#"{{"retailStore": {STORE}, "name": "00042", "moment": "2024-04-18 15:06:00",
                "meta": {{"href": "", "id": ""}},
                "agent": {{"meta": {{"href": "https://ms.example/entity/counterparty/c1", "id": "c1"}},
                           "name": "Ivanov Ivan", "phone": "+7 555 123 4567"}},
                "positions": [{{"assortment": {{"syncId": "s-1",
                                 "meta": {{"href": "https://ms.example/entity/product/p1", "id": "p1"}}}},
                                "quantity": 1.234, "price": 100.00, "discountPercent": 5.00,
                                "discountedPrice": 95.00}}],
                "bonusProgram": {{"bonusValueToSpend": 0, "bonusValueToEarn": 11.70}},
                "cashSum": 17.23, "noCashSum": 100.00,
                "giftCards": [{{"id": "g1", "name": "123456", "paymentSum": 1000}},
                              {{"id": "g2", "name": "654321", "paymentSum": "500"}}]}}"#
        )
    }

    #[test]
    fn retail_demand_reads_and_round_trips() {
        let sale: RetailDemand = parse(&sale_body());
        assert_eq!(sale.meta.id, "");
        assert_eq!(sale.positions[0].assortment.sync_id.as_deref(), Some("s-1"));
        assert_eq!(sale.positions[0].discounted_price, Some(dec!(95.00)));
        assert_eq!(
            sale.bonus_program.as_ref().unwrap().bonus_value_to_earn,
            Some(dec!(11.70))
        );
        assert_eq!(sale.gift_cards[0].payment_sum, Kopecks(1000));
        assert_eq!(sale.gift_cards[1].payment_sum, Kopecks(500));
        assert_eq!(sale.agent.as_ref().unwrap().meta.as_ref().unwrap().id, "c1");
        let mut expected = json_value(&sale_body());
        // Kopecks are written back as integers.
        expected["giftCards"][1]["paymentSum"] = json!(500);
        assert_eq!(reserialised(&sale), expected);
    }

    #[test]
    fn anonymous_sale_is_accepted() {
        let mut body = json_value(&sale_body());
        body.as_object_mut().unwrap().remove("agent");
        let sale: RetailDemand = serde_json::from_str(&body.to_string()).unwrap();
        assert!(sale.agent.is_none());
        body["agent"] = json!({});
        let sale: RetailDemand = serde_json::from_str(&body.to_string()).unwrap();
        assert!(sale.agent.unwrap().meta.is_none());
    }

    fn return_body(agent: Value) -> String {
        format!(
            r#"{{"retailStore": {STORE}, "name": "00001", "moment": "2024-04-27 15:43:00",
                "meta": {{"href": "", "id": ""}}, "demand": {{"meta": {{"href": "", "id": ""}}}},
                "agent": {agent},
                "positions": [{{"assortment": {{"meta": {{"href": "h", "id": "p1"}}}}, "quantity": 1,
                                "price": 123.45, "discountPercent": 49.99, "discountedPrice": 62.95}}],
                "cashSum": 62.95, "noCashSum": 283100.0}}"#
        )
    }

    #[test]
    fn return_agent_in_every_shape() {
        let bare: RetailSalesReturn = parse(&return_body(json!({"id": "c1", "href": "h1"})));
        assert_eq!(bare.agent.as_ref().unwrap().counterparty_id(), Some("c1"));
        let with_meta: RetailSalesReturn =
            parse(&return_body(json!({"meta": {"href": "h1", "id": "c2"}})));
        assert_eq!(
            with_meta.agent.as_ref().unwrap().counterparty_id(),
            Some("c2")
        );
        let empty: RetailSalesReturn = parse(&return_body(json!({})));
        assert_eq!(empty.agent.as_ref().unwrap().counterparty_id(), None);
        assert_eq!(empty.no_cash_sum, Some(dec!(283100.0)));
        let body = return_body(json!({"id": "c1", "href": "h1"}));
        assert_eq!(reserialised(&bare), json_value(&body));
        assert!(reserialised(&bare).to_string().contains("283100.0"));
    }

    #[test]
    fn gift_card_balance_as_string_or_number() {
        let query: GiftCardQuery =
            serde_json::from_value(json!({"name": "123456", "retailStoreId": "r1"})).unwrap();
        assert_eq!(query.name, "123456");
        let body = r#"{"name": "123456", "id": "g1", "status": "CAN_BE_USED",
            "expireDate": "2030-07-14 00:00:00", "currentBalance": "1000", "initialBalance": 1500}"#;
        let card: GiftCard = parse(body);
        assert_eq!(card.current_balance, Some(Kopecks(1000)));
        assert_eq!(card.initial_balance, Some(Kopecks(1500)));
        assert_eq!(card.status, GiftCardStatus::CanBeUsed);
        assert_eq!(
            serde_json::to_value(&card).unwrap(),
            json!({"name": "123456", "id": "g1", "status": "CAN_BE_USED",
                   "expireDate": "2030-07-14 00:00:00", "currentBalance": 1000, "initialBalance": 1500})
        );
        for bad in [r#""10.5""#, "10.5", r#""abc""#, "true", "[]"] {
            let body = format!(
                r#"{{"name": "1", "id": "g", "status": "INVALID", "currentBalance": {bad}}}"#
            );
            assert!(
                serde_json::from_str::<GiftCard>(&body).is_err(),
                "{bad} accepted"
            );
        }
        assert!(
            serde_json::from_str::<GiftCard>(r#"{"name":"1","id":"g","status":"LOST"}"#).is_err()
        );
    }

    #[test]
    fn error_body_keeps_snake_case_error_message() {
        let body = ErrorBody {
            errors: vec![ErrorItem {
                error: "Требуется подтверждение".into(),
                parameter: Some("phone".into()),
                code: 28001,
                error_message: "Подтвердите регистрацию кодом".into(),
            }],
        };
        let value = serde_json::to_value(&body).unwrap();
        assert_eq!(
            value["errors"][0]["error_message"],
            "Подтвердите регистрацию кодом"
        );
        assert_eq!(value["errors"][0]["code"], 28001);
        assert_eq!(serde_json::from_value::<ErrorBody>(value).unwrap(), body);
    }

    #[test]
    fn null_optional_money_reads_as_absent() {
        let mut body = json_value(&recalc_request_body());
        body["preferredBonusToSpend"] = Value::Null;
        let request: RecalcRequest = serde_json::from_str(&body.to_string()).unwrap();
        assert_eq!(request.preferred_bonus_to_spend, None);
    }

    #[test]
    fn verbatim_built_from_a_typed_value() {
        let pack = Verbatim::new(Pack {
            id: "p".into(),
            name: "Box".into(),
            quantity: dec!(12),
            barcode: None,
        })
        .unwrap();
        assert_eq!(
            pack.raw(),
            &json!({"id": "p", "name": "Box", "quantity": 12})
        );
        assert_eq!(pack.quantity, dec!(12));
    }
}
