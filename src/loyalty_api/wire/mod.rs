//! Wire types of MoySklad's LoyaltyAPI 1.0: every body MoySklad sends to us and every body we answer.
//! Plain data: must not depend on handlers, `state`, storage or clients.
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
//!
//! One module per resource, named as its handler module: [`counterparty`], [`giftcard`],
//! [`recalc`], [`sale`]; this file holds the shapes they share.

pub mod counterparty;
pub mod giftcard;
pub mod recalc;
pub mod sale;

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

/// Helpers of the wire-type tests of every resource.
#[cfg(test)]
pub(crate) mod test_support {
    use serde::de::DeserializeOwned;
    use serde::Serialize;
    use serde_json::Value;

    pub fn parse<T: DeserializeOwned>(body: &str) -> T {
        serde_json::from_str(body).unwrap()
    }

    /// Serialises and reads back as a `Value`, to compare with the JSON that came in.
    pub fn reserialised<T: Serialize>(value: &T) -> Value {
        serde_json::from_str(&serde_json::to_string(value).unwrap()).unwrap()
    }

    pub fn json_value(body: &str) -> Value {
        serde_json::from_str(body).unwrap()
    }

    pub const STORE: &str = r#"{"meta": {"href": "https://ms.example/entity/retailstore/11111111-2222-3333-4444-555555555555",
        "id": "11111111-2222-3333-4444-555555555555"}, "name": "Shop 7"}"#;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loyalty_api::wire::test_support::*;
    use rust_decimal_macros::dec;
    use serde_json::json;

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
