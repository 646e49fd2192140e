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
    /// What `reserveId` on `POST retail` does (unconfirmed): `false` = it is only recorded
    /// (the integrations' order: release the reserve, then sell); `true` = the sale consumes
    /// that reserve: its amount counts as spendable for the sale's `bonusDebit` and the
    /// reserve is gone afterwards.
    #[serde(default)]
    pub reserve_id_consumes: bool,
    /// The answer shape of `POST customer/list` (unconfirmed).
    #[serde(default)]
    pub customer_list_shape: ListShape,
    /// How `POST customer/list` matches name/e-mail filters (unconfirmed).
    #[serde(default)]
    pub customer_list_match: NameMatch,
    /// How `sendMessage`'s `route` (`MessageTransport[]`) is read (unconfirmed).
    #[serde(default)]
    pub message_route: RouteWire,
}

/// How `sendMessage` reads its `route`: the reference's description names the channels
/// (`Telegram`, `VK`, `SMS`), its sample shows integers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteWire {
    /// Names (any case) or integers, as ASP.NET binds an enum.
    #[default]
    NamesOrIntegers,
    /// Integers only: a name is refused (400 `VALIDATION_ERROR`), nothing is texted.
    IntegersOnly,
}

/// The answer of `POST customer/list`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListShape {
    /// A bare JSON array of `Customer` objects (the project's decision).
    #[default]
    Array,
    /// `{"list": [Customer…], "count": n}`.
    Object,
}

/// How a filter value matches a customer's name or e-mail; always case-insensitive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NameMatch {
    /// The whole value, ignoring case (the project's decision: an SQL `IN` under a
    /// case-insensitive collation).
    #[default]
    Exact,
    /// The value is a prefix of the field, ignoring case.
    Prefix,
}

impl Default for TenantRules {
    fn default() -> Self {
        Self {
            earn_percent: Decimal::from(5),
            max_debit_percent: Decimal::from(30),
            multiplicity: Decimal::ONE,
            stores: vec![DEFAULT_STORE.to_owned()],
            reveal_codes: false,
            reserve_id_consumes: false,
            customer_list_shape: ListShape::Array,
            customer_list_match: NameMatch::Exact,
            message_route: RouteWire::NamesOrIntegers,
        }
    }
}

/// The store every tenant has unless its rules say otherwise.
pub const DEFAULT_STORE: &str = "Магазин 1";

/// The card (status) name a customer gets unless told otherwise.
pub const DEFAULT_CARD_NAME: &str = "Базовая";

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
    /// `YYYY-MM-DD` as kept by the emulator (the wire carries `ДД.ММ.ГГГГ` in requests and
    /// `YYYY-MM-DDT00:00:00` in answers).
    #[serde(rename = "birthDay", skip_serializing_if = "Option::is_none")]
    pub birth_day: Option<String>,
}

/// The customer's members beyond the person that a `PUT customer/{phoneNumber}` also
/// overwrites: notes, address, social links, the promo opt-out. Answered at the `Customer`'s top
/// level (where BonusPlus answers them is unconfirmed).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CustomerExtras {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desc: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_instagram: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_vkontakte: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_odnoklassniki: Option<String>,
    #[serde(rename = "disablePromoSMS", skip_serializing_if = "Option::is_none")]
    pub disable_promo_sms: Option<bool>,
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
    /// `None` = the emulator assigns the next free EAN-13 card number. Any text is kept as
    /// given (a card that is not an EAN can only be found by phone or id).
    #[serde(default)]
    pub discount_card_number: Option<String>,
    /// BonusPlus's customer GUID; `None` = a fresh one.
    #[serde(default)]
    pub id: Option<String>,
    /// The card (status) name; `None` = [`DEFAULT_CARD_NAME`].
    #[serde(default)]
    pub card_name: Option<String>,
    /// Notes, address, social links, promo opt-out.
    #[serde(default)]
    pub extras: CustomerExtras,
}

impl NewCustomer {
    pub fn new(phone: &str, balance: Decimal) -> Self {
        Self {
            phone: phone.to_owned(),
            balance,
            person: Person::default(),
            discount_card_number: None,
            id: None,
            card_name: None,
            extras: CustomerExtras::default(),
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
    pub extras: CustomerExtras,
    pub discount_card_number: Option<String>,
    /// BonusPlus's customer GUID.
    pub id: String,
    /// The card (status) name (`discountCardName`).
    pub card_name: String,
    /// Ids of every reserve ever made for the customer, released ones included.
    pub known_reserves: Vec<String>,
}

/// A message "texted" to a customer: by `sendMessage`, or the registration notice that
/// `POST customer` sends unless `noRegNotification` is true.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SentMessage {
    /// `"message"` (sendMessage) or `"registration"`.
    pub kind: String,
    pub text: String,
    /// UTC, `YYYY-MM-DDTHH:MM:SS`.
    pub at: String,
    /// The `route` it was sent with (channel names as sent, integers as text); empty: none.
    pub route: Vec<String>,
}

/// A gift certificate to seed through the control side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewCertificate {
    /// GUID; `None` = a fresh one.
    #[serde(default)]
    pub id: Option<String>,
    /// The printed number/name.
    pub name: String,
    /// Current balance, roubles.
    #[serde(
        serialize_with = "rust_decimal::serde::arbitrary_precision::serialize",
        deserialize_with = "numbers::decimal"
    )]
    pub balance: Decimal,
    /// Face value, roubles; `None` = `balance`.
    #[serde(default, deserialize_with = "numbers::optional_decimal")]
    pub initial_balance: Option<Decimal>,
    /// Expiry, `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SS` (compared with the UTC clock);
    /// `None` = never expires.
    #[serde(default)]
    pub expire: Option<String>,
}

impl NewCertificate {
    pub fn new(name: &str, balance: Decimal) -> Self {
        Self {
            id: None,
            name: name.to_owned(),
            balance,
            initial_balance: None,
            expire: None,
        }
    }
}

/// A certificate's state as the emulator holds it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CertificateSnapshot {
    pub id: String,
    pub name: String,
    #[serde(serialize_with = "rust_decimal::serde::arbitrary_precision::serialize")]
    pub initial_balance: Decimal,
    #[serde(serialize_with = "rust_decimal::serde::arbitrary_precision::serialize")]
    pub current_balance: Decimal,
    /// `YYYY-MM-DDTHH:MM:SS`.
    pub expire: Option<String>,
    /// `CAN_BE_USED`, `PARTIALLY_REDEEMED`, `REDEEMED` or `EXPIRED`.
    pub status: String,
}

/// A certificate payment of a sale (`giftCards[]` on `POST retail`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GiftCardPaymentSnapshot {
    pub id: String,
    #[serde(serialize_with = "rust_decimal::serde::arbitrary_precision::serialize")]
    pub payment_sum: Decimal,
}

/// A route answered as unknown on purpose (see [`crate::EmulatorHandle::refuse_route`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedRoute {
    pub method: String,
    /// The route as the emulator declares it, e.g. `/account`, `/customer/{phoneNumber}`.
    pub path: String,
    /// 404 (no such route) or 405 (the path exists with other methods); default 404.
    #[serde(default = "default_refusal_status")]
    pub status: u16,
}

fn default_refusal_status() -> u16 {
    404
}

/// A product or group imported into a store's catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportedProduct {
    pub id: String,
    pub pid: Option<String>,
    pub name: String,
    pub group: bool,
}

/// A sale `POST retail` has just booked, as [`crate::EmulatorHandle::watch_sales`] reports it:
/// for measuring how long a sale takes to reach BonusPlus.
#[derive(Debug, Clone, PartialEq)]
pub struct BookedSale {
    /// When it was booked: after the emulated latency, as the answer is about to be sent.
    pub at: std::time::Instant,
    /// `RetailResult.id`.
    pub id: i64,
    pub external_id: String,
    pub phone: String,
    /// Every line's `product` as sent, in order.
    pub products: Vec<Option<String>>,
}

/// A recorded sale.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SaleSnapshot {
    /// `RetailResult.id`.
    pub id: i64,
    /// `RetailResult.orderUid`.
    pub order_uid: String,
    pub external_id: String,
    /// `reserveId` as sent, if any.
    pub reserve_id: Option<String>,
    /// Certificates that paid part of the sale.
    pub gift_cards: Vec<GiftCardPaymentSnapshot>,
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
    /// `returnedPurchaseId` of each `PUT retail/back` on this line, in order.
    pub returned_purchase_ids: Vec<i64>,
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
