//! Request and response bodies of the BonusPlus API, field for field as in
//! `docs/bonusplus-wire.md`. Money and quantities are exact `Decimal`s written as JSON numbers.
//! Outgoing client: must not depend on `state`, incoming modules, services or `store`.
//!
//! Requests skip optional fields that are `None`: ASP.NET silently ignores unknown fields, so
//! the client sends exactly the documented names and nothing it was not given. Responses ignore
//! unknown fields and read an absent or `null` amount as zero, so a sparse answer does not fail
//! a sale at the till.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize, Serializer};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::unconfirmed;
use crate::domain::ean::Ean;
use crate::domain::phone::Phone;

/// A customer as BonusPlus answers it (`GET customer`, `POST customer`, `PATCH`/`PUT
/// customer/{phoneNumber}`, each row of `POST customer/list`, inside `POST retail`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    /// BonusPlus's stable customer GUID; `None` when absent or not a GUID.
    #[serde(default, deserialize_with = "lenient::guid")]
    pub id: Option<Uuid>,
    pub phone: String,
    #[serde(default, deserialize_with = "lenient::string_option")]
    pub discount_card_number: Option<String>,
    /// The card's (status) name, e.g. «Базовая».
    #[serde(default, deserialize_with = "lenient::string_option")]
    pub discount_card_name: Option<String>,
    /// What can be spent now: balance minus reserves.
    #[serde(default, with = "rust_decimal::serde::arbitrary_precision_option")]
    pub available_bonuses: Option<Decimal>,
    #[serde(default)]
    pub person: Option<Person>,
}

/// Personal data of a customer (`PersonInfo`). Its field names are not published: both the
/// request names (`fn`, `ln`, `mn`, `birthDay`) and the spelled-out ones (`firstName`,
/// `lastName`, `middleName`, `birthday`) are read — see `docs/bonusplus-wire.md`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(from = "PersonWire")]
pub struct Person {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub middle_name: Option<String>,
    pub sex: Option<Sex>,
    pub email: Option<String>,
    pub birth_day: Option<Date>,
}

/// `PersonInfo` as it may arrive. Serde's `alias` would refuse an answer carrying both
/// spellings of a field (a duplicate field), so each spelling is read on its own and merged.
#[derive(Deserialize)]
struct PersonWire {
    #[serde(rename = "fn", default, deserialize_with = "lenient::string_option")]
    short_first: Option<String>,
    #[serde(
        rename = "firstName",
        default,
        deserialize_with = "lenient::string_option"
    )]
    long_first: Option<String>,
    #[serde(rename = "ln", default, deserialize_with = "lenient::string_option")]
    short_last: Option<String>,
    #[serde(
        rename = "lastName",
        default,
        deserialize_with = "lenient::string_option"
    )]
    long_last: Option<String>,
    #[serde(rename = "mn", default, deserialize_with = "lenient::string_option")]
    short_middle: Option<String>,
    #[serde(
        rename = "middleName",
        default,
        deserialize_with = "lenient::string_option"
    )]
    long_middle: Option<String>,
    #[serde(default, deserialize_with = "lenient::sex")]
    sex: Option<Sex>,
    #[serde(default, deserialize_with = "lenient::string_option")]
    email: Option<String>,
    #[serde(rename = "birthDay", default, deserialize_with = "lenient::date")]
    birth_day: Option<Date>,
    #[serde(rename = "birthday", default, deserialize_with = "lenient::date")]
    birthday: Option<Date>,
}

impl From<PersonWire> for Person {
    fn from(wire: PersonWire) -> Self {
        Person {
            first_name: first_given(wire.short_first, wire.long_first),
            last_name: first_given(wire.short_last, wire.long_last),
            middle_name: first_given(wire.short_middle, wire.long_middle),
            sex: wire.sex,
            email: first_given(wire.email, None),
            birth_day: wire.birth_day.or(wire.birthday),
        }
    }
}

/// The first of two spellings that holds more than blanks.
fn first_given(preferred: Option<String>, other: Option<String>) -> Option<String> {
    let given = |text: &Option<String>| text.as_deref().is_some_and(|t| !t.trim().is_empty());
    if given(&preferred) {
        preferred
    } else if given(&other) {
        other
    } else {
        None
    }
}

/// A customer's sex; "unknown" is `None`. The wire encoding lives in
/// [`unconfirmed`](super::unconfirmed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sex {
    Male,
    Female,
}

impl Serialize for Sex {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(unconfirmed::sex_to_wire(*self))
    }
}

/// Body of `POST customer` (`CreateCustomer`); only `phone` is required.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewCustomer {
    pub phone: Phone,
    #[serde(rename = "fn", skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(rename = "ln", skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(rename = "mn", skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sex: Option<Sex>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Sent as `ДД.ММ.ГГГГ` (DD.MM.YYYY), the documented format.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "dotted_date::serialize"
    )]
    pub birth_day: Option<Date>,
    /// The loyalty card. Only a valid EAN can be held here, so a number BonusPlus would
    /// refuse is left out of the request instead of failing the registration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ean: Option<Ean>,
    /// The BonusPlus store the customer registers in (id or name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
    /// True when the customer is created only to be texted a code: no separate welcome
    /// message. Not sent when false (BonusPlus's default behaviour).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub no_reg_notification: bool,
}

impl NewCustomer {
    /// A customer known only by phone; fill in the other fields as known.
    pub fn new(phone: Phone) -> Self {
        NewCustomer {
            phone,
            first_name: None,
            last_name: None,
            middle_name: None,
            sex: None,
            email: None,
            birth_day: None,
            ean: None,
            store: None,
            no_reg_notification: false,
        }
    }
}

/// Body of `PATCH customer/{phoneNumber}` (`PatchCustomer`): only the fields given change.
/// `PatchCustomer` has no `sex`; [`sex`](Self::sex) is never sent with PATCH and serves only the
/// `PUT customer/{phoneNumber}` fallback (see
/// [`BonusPlusClient::update_customer`](super::BonusPlusClient::update_customer)).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CustomerPatch {
    #[serde(rename = "fn", skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(rename = "ln", skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(rename = "mn", skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    /// Sent as `birthday` (lower-case d) in `ДД.ММ.ГГГГ`, as `PatchCustomer` documents it.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "dotted_date::serialize"
    )]
    pub birthday: Option<Date>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Binds this card number to the customer.
    #[serde(rename = "cardNumber", skip_serializing_if = "Option::is_none")]
    pub card_number: Option<Ean>,
    /// Not part of PATCH; used only when BonusPlus does not know PATCH and the full PUT is sent.
    #[serde(skip)]
    pub sex: Option<Sex>,
}

impl CustomerPatch {
    /// True when PATCH would change nothing (`sex` is not part of PATCH and does not count).
    pub fn is_empty(&self) -> bool {
        self.first_name.is_none()
            && self.last_name.is_none()
            && self.middle_name.is_none()
            && self.birthday.is_none()
            && self.email.is_none()
            && self.card_number.is_none()
    }
}

impl From<&NewCustomer> for CustomerPatch {
    /// The fields of a registration, as an update of an existing customer: what was not given
    /// stays as BonusPlus has it.
    fn from(customer: &NewCustomer) -> Self {
        CustomerPatch {
            first_name: customer.first_name.clone(),
            last_name: customer.last_name.clone(),
            middle_name: customer.middle_name.clone(),
            birthday: customer.birth_day,
            email: customer.email.clone(),
            card_number: customer.ean.clone(),
            sex: customer.sex,
        }
    }
}

/// Body of `PUT customer/{phoneNumber}`: the `PatchCustomer` fields plus `sex`, with full-edit
/// semantics (personal fields not sent are cleared). The body is unconfirmed; it is built only
/// by [`unconfirmed::replace_customer_body`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CustomerReplace {
    #[serde(rename = "fn", skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(rename = "ln", skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(rename = "mn", skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sex: Option<Sex>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "dotted_date::serialize"
    )]
    pub birthday: Option<Date>,
    #[serde(rename = "cardNumber", skip_serializing_if = "Option::is_none")]
    pub card_number: Option<Ean>,
}

/// Filters of `POST customer/list` (`CustomerFilter`, string arrays; a customer matches when a
/// field equals one of the values given). Empty lists are not sent. The paging field is added by
/// [`unconfirmed::customer_list_body`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerFilter {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub last_name: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub first_name: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub middle_name: Vec<String>,
}

impl CustomerFilter {
    /// Customers with this last name.
    pub fn last_name(name: impl Into<String>) -> Self {
        CustomerFilter {
            last_name: vec![name.into()],
            ..CustomerFilter::default()
        }
    }

    /// Customers with this first name.
    pub fn first_name(name: impl Into<String>) -> Self {
        CustomerFilter {
            first_name: vec![name.into()],
            ..CustomerFilter::default()
        }
    }

    /// True when nothing is filtered: such a request would list the whole customer base.
    pub fn is_empty(&self) -> bool {
        let blank = |values: &Vec<String>| values.iter().all(|v| v.trim().is_empty());
        blank(&self.last_name) && blank(&self.first_name) && blank(&self.middle_name)
    }
}

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
        unconfirmed::calc_messages(self)
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
    /// [`unconfirmed::RESERVE_ID_CONSUMES`]); the reserve is released first either way.
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

/// A gift certificate (`GiftCardResponse` of `GET certificate/{id}`). Balances in roubles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GiftCardResponse {
    pub id: Uuid,
    /// The certificate's number or name as printed.
    pub name: Option<String>,
    /// When it stops being usable, UTC; `None` = no expiry.
    pub expire_date: Option<OffsetDateTime>,
    pub status: CertificateStatus,
    pub current_balance: Decimal,
    pub initial_balance: Decimal,
}

/// `GiftCardResponse` as it arrives; `id` falls back to the one asked for.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GiftCardWire {
    #[serde(default, deserialize_with = "lenient::guid")]
    id: Option<Uuid>,
    #[serde(default, deserialize_with = "lenient::string_option")]
    name: Option<String>,
    #[serde(default, deserialize_with = "lenient::string_option")]
    expire_date: Option<String>,
    #[serde(default, deserialize_with = "lenient::string_option")]
    status: Option<String>,
    #[serde(default, deserialize_with = "lenient::decimal")]
    current_balance: Decimal,
    #[serde(default, deserialize_with = "lenient::decimal")]
    initial_balance: Decimal,
}

impl GiftCardWire {
    pub fn into_response(self, asked: Uuid) -> GiftCardResponse {
        GiftCardResponse {
            id: self.id.unwrap_or(asked),
            name: self.name,
            // An expiry in a format not understood reads as none: the status, which BonusPlus
            // derives itself, still says whether the certificate can be used.
            expire_date: self
                .expire_date
                .as_deref()
                .and_then(unconfirmed::parse_expire_date),
            status: CertificateStatus::from_wire(self.status.as_deref().unwrap_or_default()),
            current_balance: self.current_balance,
            initial_balance: self.initial_balance,
        }
    }
}

/// A certificate's status. BonusPlus shares MoySklad's vocabulary; a value not listed here is
/// kept as [`Unknown`](Self::Unknown) rather than failing the lookup.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CertificateStatus {
    CanBeUsed,
    PartiallyRedeemed,
    Redeemed,
    Expired,
    Invalid,
    /// Any other status, as BonusPlus wrote it.
    Unknown(String),
}

impl CertificateStatus {
    /// Reads BonusPlus's status text (case and surrounding blanks do not matter).
    pub fn from_wire(text: &str) -> Self {
        match text.trim().to_ascii_uppercase().as_str() {
            "CAN_BE_USED" => CertificateStatus::CanBeUsed,
            "PARTIALLY_REDEEMED" => CertificateStatus::PartiallyRedeemed,
            "REDEEMED" => CertificateStatus::Redeemed,
            "EXPIRED" => CertificateStatus::Expired,
            "INVALID" => CertificateStatus::Invalid,
            _ => CertificateStatus::Unknown(text.trim().to_owned()),
        }
    }

    /// True when the certificate may pay for a sale now.
    pub fn is_usable(&self) -> bool {
        matches!(
            self,
            CertificateStatus::CanBeUsed | CertificateStatus::PartiallyRedeemed
        )
    }
}

/// Body of `POST product/import`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProductImport {
    pub store: String,
    pub products: Vec<ProductTiny>,
}

/// A product or a group (category) of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProductTiny {
    pub id: String,
    /// Parent group id; [`TOP_LEVEL_GROUP_PID`](super::unconfirmed::TOP_LEVEL_GROUP_PID) at top level.
    pub pid: String,
    /// Name.
    pub n: String,
    /// True for a group.
    pub g: bool,
}

/// Dates sent to BonusPlus: `ДД.ММ.ГГГГ` (DD.MM.YYYY), as `CreateCustomer.birthDay` and
/// `PatchCustomer.birthday` document.
pub(crate) mod dotted_date {
    use serde::Serializer;
    use time::macros::format_description;
    use time::Date;

    pub(crate) const FORMAT: &[time::format_description::FormatItem<'static>] =
        format_description!("[day].[month].[year]");

    pub fn serialize<S: Serializer>(date: &Option<Date>, serializer: S) -> Result<S::Ok, S::Error> {
        match date {
            Some(date) => {
                let text = date.format(FORMAT).map_err(serde::ser::Error::custom)?;
                serializer.serialize_str(&text)
            }
            None => serializer.serialize_none(),
        }
    }
}

/// Readers that accept the small liberties a real server takes with its documented types.
mod lenient {
    use rust_decimal::Decimal;
    use serde::{Deserialize, Deserializer};
    use serde_json::Value;
    use time::Date;
    use uuid::Uuid;

    use super::Sex;
    use crate::bonusplus::unconfirmed;

    /// A number (or numeric string); absent or `null` reads as zero.
    pub fn decimal<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
        rust_decimal::serde::arbitrary_precision_option::deserialize(deserializer)
            .map(Option::unwrap_or_default)
    }

    /// A list; `null` reads as empty.
    pub fn vec<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        Option::<Vec<T>>::deserialize(deserializer).map(Option::unwrap_or_default)
    }

    /// Text sent either as a JSON string or as a number (card numbers); anything else is absent.
    pub fn string_option<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<String>, D::Error> {
        Ok(match Option::<Value>::deserialize(deserializer)? {
            Some(Value::String(text)) => Some(text),
            Some(Value::Number(number)) => Some(number.to_string()),
            _ => None,
        })
    }

    /// A whole number sent as a number or a numeric string; anything else is absent.
    pub fn integer<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
        Ok(string_option(deserializer)?.and_then(|text| text.trim().parse().ok()))
    }

    /// A GUID in any of the usual spellings; anything else is absent.
    pub fn guid<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Uuid>, D::Error> {
        Ok(string_option(deserializer)?.and_then(|text| Uuid::parse_str(text.trim()).ok()))
    }

    /// A date in one of the formats [`unconfirmed::parse_answered_date`] reads. An unreadable
    /// date is absent: a birthday is never worth failing a lookup for.
    pub fn date<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Date>, D::Error> {
        Ok(string_option(deserializer)?
            .as_deref()
            .and_then(unconfirmed::parse_answered_date))
    }

    /// The numeric sex code (also accepted as a numeric string); anything else is unknown.
    pub fn sex<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Sex>, D::Error> {
        let code = match Option::<Value>::deserialize(deserializer)? {
            Some(Value::Number(number)) => number.as_i64(),
            Some(Value::String(text)) => text.trim().parse().ok(),
            _ => None,
        };
        Ok(code.and_then(unconfirmed::sex_from_wire))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;
    use time::macros::date;

    #[test]
    fn customer_tolerates_unknown_absent_and_null_fields() {
        let customer: Customer = serde_json::from_str(
            r#"{"phone":"79011231122","discountCardNumber":null,"level":"gold","id":"not-a-guid",
                "person":{"fn":"Иван","sex":null,"birthDay":"1990-05-17T00:00:00","extra":1}}"#,
        )
        .unwrap();
        assert_eq!(customer.phone, "79011231122");
        assert_eq!(customer.id, None);
        assert_eq!(customer.available_bonuses, None);
        assert_eq!(customer.discount_card_name, None);
        let person = customer.person.unwrap();
        assert_eq!(person.first_name.as_deref(), Some("Иван"));
        assert_eq!(person.sex, None);
        assert_eq!(person.birth_day, Some(date!(1990 - 05 - 17)));
    }

    #[test]
    fn customer_reads_id_card_name_exact_bonuses_sex_and_numeric_card() {
        let customer: Customer = serde_json::from_str(
            r#"{"id":"9F2A5C1E-0B7D-4C33-8E55-1A2B3C4D5E6F","phone":"79011231122",
                "discountCardNumber":2000000051420,"discountCardName":"Базовая",
                "availableBonuses":12345678.91,"person":{"sex":2,"birthDay":"not a date"}}"#,
        )
        .unwrap();
        assert_eq!(
            customer.id,
            Some(Uuid::from_u128(0x9f2a5c1e_0b7d_4c33_8e55_1a2b3c4d5e6f))
        );
        assert_eq!(customer.discount_card_name.as_deref(), Some("Базовая"));
        assert_eq!(customer.available_bonuses, Some(dec!(12345678.91)));
        assert_eq!(
            customer.discount_card_number.as_deref(),
            Some("2000000051420")
        );
        let person = customer.person.unwrap();
        assert_eq!(person.sex, Some(Sex::Female));
        assert_eq!(person.birth_day, None);
    }

    #[test]
    fn person_reads_both_spellings_of_names_and_birthday() {
        let read = |json: &str| serde_json::from_str::<Person>(json).unwrap();
        let long = read(
            r#"{"firstName":"Анна","lastName":"Сидорова","middleName":"Павловна",
                "birthday":"17.05.1990","email":"a@example.com"}"#,
        );
        assert_eq!(long.first_name.as_deref(), Some("Анна"));
        assert_eq!(long.last_name.as_deref(), Some("Сидорова"));
        assert_eq!(long.middle_name.as_deref(), Some("Павловна"));
        assert_eq!(long.birth_day, Some(date!(1990 - 05 - 17)));
        // Both spellings at once are not a duplicate-field error; the short one wins unless blank.
        let both = read(
            r#"{"fn":"Иван","firstName":"Ivan","ln":"","lastName":"Петров","birthDay":"1990-05-17","birthday":"01.01.2000"}"#,
        );
        assert_eq!(both.first_name.as_deref(), Some("Иван"));
        assert_eq!(both.last_name.as_deref(), Some("Петров"));
        assert_eq!(both.birth_day, Some(date!(1990 - 05 - 17)));
        assert_eq!(read("{}"), Person::default());
    }

    #[test]
    fn new_customer_skips_absent_fields_and_writes_documented_formats() {
        let mut customer = NewCustomer::new(Phone::parse("9011231122").unwrap());
        assert_eq!(
            serde_json::to_string(&customer).unwrap(),
            r#"{"phone":"79011231122"}"#
        );
        customer.first_name = Some("Иван".into());
        customer.sex = Some(Sex::Male);
        customer.birth_day = Some(date!(1990 - 05 - 07));
        customer.ean = Some(Ean::parse("2000000051420").unwrap());
        customer.store = Some("Магазин 1".into());
        customer.no_reg_notification = true;
        assert_eq!(
            serde_json::to_string(&customer).unwrap(),
            r#"{"phone":"79011231122","fn":"Иван","sex":1,"birthDay":"07.05.1990","ean":"2000000051420","store":"Магазин 1","noRegNotification":true}"#
        );
    }

    #[test]
    fn patch_sends_only_what_is_given_and_never_sex() {
        let mut patch = CustomerPatch {
            sex: Some(Sex::Female),
            ..CustomerPatch::default()
        };
        assert_eq!(serde_json::to_string(&patch).unwrap(), "{}");
        assert!(patch.is_empty(), "sex alone changes nothing through PATCH");
        patch.last_name = Some("Сидорова".into());
        patch.birthday = Some(date!(1985 - 02 - 01));
        patch.card_number = Some(Ean::parse("96385074").unwrap());
        assert_eq!(
            serde_json::to_string(&patch).unwrap(),
            r#"{"ln":"Сидорова","birthday":"01.02.1985","cardNumber":"96385074"}"#
        );
        assert!(!patch.is_empty());
    }

    #[test]
    fn patch_from_a_registration_keeps_every_field() {
        let mut customer = NewCustomer::new(Phone::parse("9011231122").unwrap());
        customer.middle_name = Some("Павловна".into());
        customer.email = Some("a@example.com".into());
        customer.sex = Some(Sex::Female);
        customer.ean = Some(Ean::parse("2000000051420").unwrap());
        customer.store = Some("Магазин 1".into());
        let patch = CustomerPatch::from(&customer);
        assert_eq!(patch.middle_name.as_deref(), Some("Павловна"));
        assert_eq!(patch.email.as_deref(), Some("a@example.com"));
        assert_eq!(patch.sex, Some(Sex::Female));
        assert_eq!(patch.card_number, customer.ean);
    }

    #[test]
    fn filter_skips_empty_lists_and_knows_when_it_filters_nothing() {
        let filter = CustomerFilter::last_name("Петров");
        assert_eq!(
            serde_json::to_string(&filter).unwrap(),
            r#"{"lastName":["Петров"]}"#
        );
        assert!(!filter.is_empty());
        assert!(CustomerFilter::default().is_empty());
        assert!(CustomerFilter::first_name("  ").is_empty());
    }

    #[test]
    fn calc_result_reads_sparse_lines_and_messages_from_both_places() {
        let result: CalcResult = serde_json::from_str(
            r#"{"maxDebitBonuses":60.5,"discount":[{"ext":"1","cb":7.00,"db":null,"ids":10.10,
                "messages":["line","top"]}],"messages":["top"]}"#,
        )
        .unwrap();
        assert_eq!(result.max_debit_bonuses, dec!(60.5));
        assert_eq!(result.multiplicity_debit_bonus, None);
        let line = &result.discount[0];
        assert_eq!(
            (line.cb, line.db, line.total_off()),
            (dec!(7.00), dec!(0), dec!(10.10))
        );
        assert_eq!(result.all_messages(), vec!["top", "line"]);
    }

    #[test]
    fn sale_skips_absent_reserve_and_certificates_and_writes_them_exactly() {
        let calc = CalcRequest {
            phone: Phone::parse("9011231122").unwrap(),
            store: "S".into(),
            bonus_debit: dec!(0),
            coupons: None,
            items: Vec::new(),
        };
        let mut sale = SaleRequest::from_calc(calc, "sale-1".into());
        assert_eq!(
            serde_json::to_string(&sale).unwrap(),
            r#"{"phone":"79011231122","store":"S","bonusDebit":0,"externalId":"sale-1","items":[]}"#
        );
        sale.reserve_id = Some("r-1".into());
        sale.gift_cards.push(GiftCardPayment {
            id: Uuid::from_u128(1),
            payment_sum: Decimal::new(50_000, 2),
        });
        let json = serde_json::to_string(&sale).unwrap();
        assert!(
            json.ends_with(r#""reserveId":"r-1","giftCards":[{"id":"00000000-0000-0000-0000-000000000001","paymentSum":500.00}]}"#),
            "{json}"
        );
    }

    #[test]
    fn sale_result_reads_retail_result_leniently() {
        let result: SaleResult = serde_json::from_str(
            r#"{"id":"1000001","orderUid":"0c0ffee0-0000-4000-8000-000000000001",
                "orderUrl":"https://bonusplus.pro/r/1","customer":{"phone":"79011231122"}}"#,
        )
        .unwrap();
        assert_eq!(result.id, Some(1_000_001));
        assert_eq!(
            result.order_uid,
            Some(Uuid::from_u128(0x0c0ffee0_0000_4000_8000_000000000001))
        );
        assert_eq!(
            result.order_url.as_deref(),
            Some("https://bonusplus.pro/r/1")
        );
        assert_eq!(result.customer.unwrap().phone, "79011231122");
        let sparse: SaleResult = serde_json::from_str(r#"{"id":null}"#).unwrap();
        assert_eq!((sparse.id, sparse.customer), (None, None));
    }

    #[test]
    fn certificate_status_reads_known_and_unknown_values() {
        assert_eq!(
            CertificateStatus::from_wire("CAN_BE_USED"),
            CertificateStatus::CanBeUsed
        );
        assert_eq!(
            CertificateStatus::from_wire(" partially_redeemed "),
            CertificateStatus::PartiallyRedeemed
        );
        assert_eq!(
            CertificateStatus::from_wire("BLOCKED"),
            CertificateStatus::Unknown("BLOCKED".into())
        );
        assert!(CertificateStatus::PartiallyRedeemed.is_usable());
        assert!(!CertificateStatus::Expired.is_usable());
        assert!(!CertificateStatus::Unknown("BLOCKED".into()).is_usable());
    }

    #[test]
    fn amounts_are_written_exactly() {
        let line = ReturnLine {
            ext: "l1".into(),
            sum: dec!(0.1) + dec!(0.2),
        };
        assert_eq!(
            serde_json::to_string(&line).unwrap(),
            r#"{"ext":"l1","sum":0.3}"#
        );
        let item = CalcItem {
            ext: "l1".into(),
            product: "p".into(),
            qnt: dec!(1.500),
            sum: dec!(12345678.91),
            ds: dec!(0),
            price: None,
            cat: None,
        };
        assert_eq!(
            serde_json::to_string(&item).unwrap(),
            r#"{"ext":"l1","product":"p","qnt":1.500,"sum":12345678.91,"ds":0}"#
        );
    }
}
