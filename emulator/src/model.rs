//! Public value types of the control side: tenant rules, personal data and state snapshots.
//! They (de)serialise as JSON for the `/__control` HTTP API.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize, Serializer};

use crate::numbers;

/// A tenant's bonus programme. `Default` is the documented default programme.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TenantRules {
    /// Percent of the line (after discounts and debit) earned as bonuses.
    #[serde(
        serialize_with = "rust_decimal::serde::arbitrary_precision::serialize",
        deserialize_with = "numbers::decimal"
    )]
    pub earn_percent: Decimal,
    /// Percent of the discounted order that may be paid with bonuses.
    #[serde(
        serialize_with = "rust_decimal::serde::arbitrary_precision::serialize",
        deserialize_with = "numbers::decimal"
    )]
    pub max_debit_percent: Decimal,
    /// The spendable maximum is floored to a multiple of this; 0 = any kopeck.
    #[serde(
        serialize_with = "rust_decimal::serde::arbitrary_precision::serialize",
        deserialize_with = "numbers::decimal"
    )]
    pub multiplicity: Decimal,
    /// Store names known to BonusPlus for this account.
    pub stores: Vec<String>,
    /// Whether `sendCode` answers the code it texted (`200 {"code": "1234"}`) instead of `204`.
    /// Public integrations show BonusPlus answering without the code; the bridge supports both.
    #[serde(default)]
    pub reveal_codes: bool,
}

impl Default for TenantRules {
    fn default() -> Self {
        Self {
            earn_percent: Decimal::from(5),
            max_debit_percent: Decimal::from(30),
            multiplicity: Decimal::ONE,
            stores: vec![DEFAULT_STORE.to_owned()],
            reveal_codes: false,
        }
    }
}

/// The store every tenant has unless its rules say otherwise.
pub const DEFAULT_STORE: &str = "Магазин 1";

/// A customer's personal data, named as on the wire.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Person {
    #[serde(rename = "fn", skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(rename = "ln", skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(rename = "mn", skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    /// 0 unknown, 1 male, 2 female.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sex: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(rename = "birthDay", skip_serializing_if = "Option::is_none")]
    pub birth_day: Option<String>,
}

/// A customer to seed through the control side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewCustomer {
    pub phone: String,
    #[serde(
        serialize_with = "rust_decimal::serde::arbitrary_precision::serialize",
        deserialize_with = "numbers::decimal"
    )]
    pub balance: Decimal,
    #[serde(default)]
    pub person: Person,
    /// `None` = the emulator assigns the next free card number.
    #[serde(default)]
    pub discount_card_number: Option<String>,
}

impl NewCustomer {
    pub fn new(phone: &str, balance: Decimal) -> Self {
        Self {
            phone: phone.to_owned(),
            balance,
            person: Person::default(),
            discount_card_number: None,
        }
    }
}

/// A customer's state as the emulator holds it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomerSnapshot {
    pub phone: String,
    #[serde(serialize_with = "rust_decimal::serde::arbitrary_precision::serialize")]
    pub balance: Decimal,
    /// Σ reserves.
    #[serde(serialize_with = "rust_decimal::serde::arbitrary_precision::serialize")]
    pub reserved: Decimal,
    /// balance − reserved, never below 0 (what `availableBonuses` answers).
    #[serde(serialize_with = "rust_decimal::serde::arbitrary_precision::serialize")]
    pub available: Decimal,
    #[serde(serialize_with = "serialize_decimal_map")]
    pub reserves: BTreeMap<String, Decimal>,
    pub person: Person,
    pub discount_card_number: Option<String>,
}

/// A product or group imported into a store's catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportedProduct {
    pub id: String,
    pub pid: Option<String>,
    pub name: String,
    pub group: bool,
}

/// A recorded sale.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SaleSnapshot {
    pub external_id: String,
    pub phone: String,
    pub store: String,
    #[serde(serialize_with = "rust_decimal::serde::arbitrary_precision::serialize")]
    pub bonus_debit: Decimal,
    /// Σ cb of the sale's lines.
    #[serde(serialize_with = "rust_decimal::serde::arbitrary_precision::serialize")]
    pub earned: Decimal,
    pub items: Vec<SoldItemSnapshot>,
}

/// One sold line and what has been returned of it so far.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SoldItemSnapshot {
    pub ext: String,
    pub product: Option<String>,
    #[serde(serialize_with = "rust_decimal::serde::arbitrary_precision::serialize")]
    pub sum: Decimal,
    #[serde(serialize_with = "rust_decimal::serde::arbitrary_precision::serialize")]
    pub cb: Decimal,
    #[serde(serialize_with = "rust_decimal::serde::arbitrary_precision::serialize")]
    pub db: Decimal,
    #[serde(serialize_with = "rust_decimal::serde::arbitrary_precision::serialize")]
    pub returned_sum: Decimal,
    #[serde(serialize_with = "rust_decimal::serde::arbitrary_precision::serialize")]
    pub returned_cb: Decimal,
    #[serde(serialize_with = "rust_decimal::serde::arbitrary_precision::serialize")]
    pub returned_db: Decimal,
}

fn serialize_decimal_map<S: Serializer>(
    map: &BTreeMap<String, Decimal>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    struct Exact<'a>(&'a Decimal);
    impl Serialize for Exact<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            rust_decimal::serde::arbitrary_precision::serialize(self.0, s)
        }
    }
    let mut out = serializer.serialize_map(Some(map.len()))?;
    for (id, amount) in map {
        out.serialize_entry(id, &Exact(amount))?;
    }
    out.end()
}
