//! BonusPlus wire types (`docs/bonusplus-wire.md`) and their checked conversion into the
//! tenant's domain commands. Field names in error messages are the wire's.

use std::collections::HashSet;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::calc::{Calculation, LineFigures};
use crate::error::ApiError;
use crate::formats;
use crate::model::{
    CertificateSnapshot, CustomerExtras, ImportedProduct, ListShape, Person, RouteWire,
};
use crate::numbers;
use crate::tenant::{
    CreateFields, Customer, CustomerQuery, EditFields, GiftCardPayment, ListFilter, Order,
    OrderItem, SaleCommand,
};

/// No real order comes near this; the bound keeps decimal arithmetic far from overflow.
const MAX_AMOUNT: Decimal = Decimal::from_parts(1_000_000_000, 0, 0, false, 0);

pub const MAX_PRODUCTS_PER_IMPORT: usize = 1000;

/// `POST customer/list` answers at most this many customers per call [DOC].
pub const MAX_LIST_ROWS: usize = 1000;

/// The field of `POST customer/{phoneNumber}/sendMessage`'s body that carries the text.
/// The body is unconfirmed; this is the project's decision (`docs/bonusplus-wire.md`).
pub const SEND_MESSAGE_TEXT_FIELD: &str = "message";

// ----- requests -------------------------------------------------------------------------

/// `POST customer` (`CreateCustomer`). Unknown fields are ignored, as ASP.NET does.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateCustomerRequest {
    pub phone: String,
    #[serde(default)]
    pub ean: Option<String>,
    #[serde(default, deserialize_with = "numbers::optional_decimal")]
    pub reg_bonus: Option<Decimal>,
    /// Card (status) name.
    #[serde(default)]
    pub card: Option<String>,
    #[serde(default, alias = "parentPhone")]
    pub parentphone: Option<String>,
    #[serde(rename = "fn", default)]
    pub first_name: Option<String>,
    #[serde(rename = "ln", default)]
    pub last_name: Option<String>,
    #[serde(rename = "mn", default)]
    pub middle_name: Option<String>,
    #[serde(default)]
    pub sex: Option<u8>,
    #[serde(default)]
    pub email: Option<String>,
    /// Type-checked, not kept.
    #[serde(default)]
    #[allow(dead_code)]
    pub desc: Option<String>,
    /// `ДД.ММ.ГГГГ`.
    #[serde(default)]
    pub birth_day: Option<String>,
    /// Type-checked, not kept.
    #[serde(default)]
    #[allow(dead_code)]
    pub address: Option<String>,
    #[serde(default)]
    pub store: Option<String>,
    #[serde(default)]
    pub no_reg_notification: Option<bool>,
}

/// `PATCH customer/{phoneNumber}` (`PatchCustomer`; no `sex` — one sent is ignored).
/// `cardNumber` is an `int` (Int32) as documented: a string or a bigger number is refused (400).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EditCustomerRequest {
    #[serde(default)]
    pub new_phone: Option<String>,
    #[serde(default)]
    pub card_number: Option<i32>,
    /// Type-checked, not kept.
    #[serde(default)]
    #[allow(dead_code)]
    pub card_pin_code: Option<String>,
    /// Card (status) name.
    #[serde(default)]
    pub new_card: Option<String>,
    #[serde(rename = "fn", default)]
    pub first_name: Option<String>,
    #[serde(rename = "ln", default)]
    pub last_name: Option<String>,
    #[serde(rename = "mn", default)]
    pub middle_name: Option<String>,
    /// `ДД.ММ.ГГГГ`.
    #[serde(default)]
    pub birthday: Option<String>,
    #[serde(default)]
    pub desc: Option<String>,
    #[serde(default)]
    pub parent_phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
}

/// `PUT customer/{phoneNumber}` (`UpdateCustomer`): a full replace — every field not sent is
/// overwritten with an empty value, the card included. `newCardNumber` is an Int32.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplaceCustomerRequest {
    #[serde(default)]
    pub new_phone: Option<String>,
    #[serde(default)]
    pub new_card_number: Option<i32>,
    #[serde(default)]
    pub new_card: Option<String>,
    #[serde(default)]
    pub parentphone: Option<String>,
    #[serde(rename = "fn", default)]
    pub first_name: Option<String>,
    #[serde(rename = "ln", default)]
    pub last_name: Option<String>,
    #[serde(rename = "mn", default)]
    pub middle_name: Option<String>,
    #[serde(default)]
    pub sex: Option<u8>,
    #[serde(default)]
    pub email: Option<String>,
    /// `ДД.ММ.ГГГГ`.
    #[serde(default)]
    pub birth_day: Option<String>,
    #[serde(flatten)]
    pub extras: CustomerExtras,
}

/// `POST customer/list` (`CustomerFilter`): the filters the emulator understands; the
/// others BonusPlus documents are accepted and ignored. `skip`/`take` are the project's
/// guess at the paging fields (unconfirmed: the doc says only that the count is set in the
/// filter, at most 1000).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerFilterRequest {
    #[serde(default)]
    pub phone: Option<Vec<String>>,
    #[serde(default)]
    pub card_number: Option<Vec<String>>,
    #[serde(default)]
    pub first_name: Option<Vec<String>>,
    #[serde(default)]
    pub last_name: Option<Vec<String>>,
    #[serde(default)]
    pub middle_name: Option<Vec<String>>,
    #[serde(default)]
    pub email: Option<Vec<String>>,
    #[serde(default)]
    pub skip: Option<u32>,
    #[serde(default)]
    pub take: Option<u32>,
}

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

#[derive(Debug, Deserialize)]
pub struct ProductImportRequest {
    pub store: String,
    pub products: Vec<ProductTiny>,
}

#[derive(Debug, Deserialize)]
pub struct ProductTiny {
    #[serde(deserialize_with = "numbers::id")]
    pub id: String,
    #[serde(default, deserialize_with = "numbers::optional_id")]
    pub pid: Option<String>,
    pub n: String,
    pub g: bool,
}

// ----- checked conversions --------------------------------------------------------------

/// BonusPlus identifies customers by phone: digits only, country code first, at least 11
/// digits [DOC] (at most 15, as any international number).
pub fn check_phone(field: &str, phone: &str) -> Result<(), ApiError> {
    if (11..=15).contains(&phone.len()) && phone.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "{field}: «{phone}» is not a phone number of 11 to 15 digits"
        )))
    }
}

/// A card number sent to be bound: a valid EAN-8 or EAN-13.
fn check_ean(field: &str, card: &str) -> Result<(), ApiError> {
    if formats::is_valid_ean(card) {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "{field}: «{card}» is not a valid EAN-8 or EAN-13"
        )))
    }
}

fn check_sex(sex: Option<u8>) -> Result<(), ApiError> {
    match sex {
        Some(sex) if sex > 2 => Err(ApiError::bad_request("sex: must be 0, 1 or 2")),
        _ => Ok(()),
    }
}

fn check_email(email: Option<&String>) -> Result<(), ApiError> {
    match email {
        Some(email) if !email.contains('@') => {
            Err(ApiError::bad_request("email: not an e-mail address"))
        }
        _ => Ok(()),
    }
}

/// `ДД.ММ.ГГГГ` → the emulator's `YYYY-MM-DD`.
fn parse_birthday(field: &str, text: &str) -> Result<String, ApiError> {
    formats::parse_dotted_date(text)
        .map(formats::Date::iso)
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "{field}: «{text}» is not a date ДД.ММ.ГГГГ (DD.MM.YYYY)"
            ))
        })
}

fn check_not_blank(field: &str, value: &str) -> Result<(), ApiError> {
    if value.trim().is_empty() {
        return Err(ApiError::bad_request(format!("{field}: must not be empty")));
    }
    Ok(())
}

/// Money: non-negative (unless `signed`), at most 2 decimals, within a sane range.
fn check_money(field: &str, value: Decimal, signed: bool) -> Result<(), ApiError> {
    if value.is_sign_negative() && !value.is_zero() && !signed {
        return Err(ApiError::bad_request(format!(
            "{field}: must not be negative"
        )));
    }
    check_scale(field, value, 2)?;
    check_range(field, value)
}

fn check_scale(field: &str, value: Decimal, decimals: u32) -> Result<(), ApiError> {
    if value.normalize().scale() > decimals {
        return Err(ApiError::bad_request(format!(
            "{field}: {value} has more than {decimals} decimals"
        )));
    }
    Ok(())
}

fn check_range(field: &str, value: Decimal) -> Result<(), ApiError> {
    if value.abs() > MAX_AMOUNT {
        return Err(ApiError::bad_request(format!(
            "{field}: {value} is too large"
        )));
    }
    Ok(())
}

impl CreateCustomerRequest {
    pub fn into_fields(self) -> Result<CreateFields, ApiError> {
        check_phone("phone", &self.phone)?;
        check_sex(self.sex)?;
        check_email(self.email.as_ref())?;
        let birth_day = self
            .birth_day
            .as_deref()
            .map(|b| parse_birthday("birthDay", b))
            .transpose()?;
        if let Some(ean) = &self.ean {
            check_ean("ean", ean)?;
        }
        if let Some(parent) = &self.parentphone {
            check_phone("parentphone", parent)?;
        }
        let reg_bonus = self.reg_bonus.unwrap_or(Decimal::ZERO);
        check_money("regBonus", reg_bonus, false)?;
        Ok(CreateFields {
            phone: self.phone,
            person: Person {
                first_name: self.first_name,
                last_name: self.last_name,
                middle_name: self.middle_name,
                sex: self.sex,
                email: self.email,
                birth_day,
            },
            ean: self.ean,
            reg_bonus,
            card_name: self.card.filter(|c| !c.trim().is_empty()),
            parent_phone: self.parentphone,
            store: self.store,
            notify: !self.no_reg_notification.unwrap_or(false),
        })
    }
}

impl EditCustomerRequest {
    pub fn into_fields(self) -> Result<EditFields, ApiError> {
        if let Some(phone) = &self.new_phone {
            check_phone("newPhone", phone)?;
        }
        let card_number = int_card("cardNumber", self.card_number)?;
        if let Some(parent) = &self.parent_phone {
            check_phone("parentPhone", parent)?;
        }
        check_email(self.email.as_ref())?;
        let birth_day = self
            .birthday
            .as_deref()
            .map(|b| parse_birthday("birthday", b))
            .transpose()?;
        Ok(EditFields {
            new_phone: self.new_phone,
            card_number,
            card_name: self.new_card.filter(|c| !c.trim().is_empty()),
            parent_phone: self.parent_phone,
            person: Person {
                first_name: self.first_name,
                last_name: self.last_name,
                middle_name: self.middle_name,
                sex: None,
                email: self.email,
                birth_day,
            },
            extras: CustomerExtras {
                desc: self.desc,
                address: self.address,
                ..CustomerExtras::default()
            },
            replace: false,
        })
    }
}

impl ReplaceCustomerRequest {
    pub fn into_fields(self) -> Result<EditFields, ApiError> {
        if let Some(phone) = &self.new_phone {
            check_phone("newPhone", phone)?;
        }
        let card_number = int_card("newCardNumber", self.new_card_number)?;
        if let Some(parent) = &self.parentphone {
            check_phone("parentphone", parent)?;
        }
        check_sex(self.sex)?;
        check_email(self.email.as_ref())?;
        let birth_day = self
            .birth_day
            .as_deref()
            .map(|b| parse_birthday("birthDay", b))
            .transpose()?;
        Ok(EditFields {
            new_phone: self.new_phone,
            card_number,
            card_name: self.new_card.filter(|c| !c.trim().is_empty()),
            parent_phone: self.parentphone,
            person: Person {
                first_name: self.first_name,
                last_name: self.last_name,
                middle_name: self.middle_name,
                sex: self.sex,
                email: self.email,
                birth_day,
            },
            extras: self.extras,
            replace: true,
        })
    }
}

/// A card number sent as the documented Int32: positive, kept as its digits.
fn int_card(field: &str, card: Option<i32>) -> Result<Option<String>, ApiError> {
    match card {
        Some(number) if number <= 0 => Err(ApiError::bad_request(format!(
            "{field}: must be a positive integer"
        ))),
        other => Ok(other.map(|number| number.to_string())),
    }
}

/// `GET customer?id=&ean=&phone=`: at least one; `id` a GUID, `ean` 8 or 13 digits,
/// `phone` digits. Other parameters (e.g. `discountCardNumber`) are not understood.
pub fn customer_query(
    query: &std::collections::HashMap<String, String>,
) -> Result<CustomerQuery, ApiError> {
    let id = query
        .get("id")
        .map(|id| {
            formats::parse_guid(id)
                .ok_or_else(|| ApiError::bad_request(format!("id: «{id}» is not a GUID")))
        })
        .transpose()?;
    let ean = query.get("ean").cloned();
    if let Some(ean) = &ean {
        if !formats::is_ean_shaped(ean) {
            return Err(ApiError::bad_request(format!(
                "ean: «{ean}» is not an EAN-8 or EAN-13 (8 or 13 digits)"
            )));
        }
    }
    let phone = query.get("phone").cloned();
    if let Some(phone) = &phone {
        check_phone("phone", phone)?;
    }
    if id.is_none() && ean.is_none() && phone.is_none() {
        return Err(ApiError::bad_request(
            "at least one of id, ean or phone is required",
        ));
    }
    Ok(CustomerQuery { id, ean, phone })
}

impl CustomerFilterRequest {
    pub fn into_filter(self) -> ListFilter {
        let take = self
            .take
            .map_or(MAX_LIST_ROWS, |t| {
                usize::try_from(t).unwrap_or(MAX_LIST_ROWS)
            })
            .min(MAX_LIST_ROWS);
        ListFilter {
            phone: self.phone,
            card_number: self.card_number,
            first_name: self.first_name,
            last_name: self.last_name,
            middle_name: self.middle_name,
            email: self.email,
            skip: self
                .skip
                .map_or(0, |s| usize::try_from(s).unwrap_or(usize::MAX)),
            take,
        }
    }
}

/// The text of a `sendMessage` body, read from [`SEND_MESSAGE_TEXT_FIELD`].
pub fn message_text(body: &serde_json::Map<String, serde_json::Value>) -> Result<String, ApiError> {
    match body.get(SEND_MESSAGE_TEXT_FIELD) {
        Some(serde_json::Value::String(text)) if !text.trim().is_empty() => Ok(text.clone()),
        Some(serde_json::Value::String(_)) => Err(ApiError::bad_request(format!(
            "{SEND_MESSAGE_TEXT_FIELD}: must not be empty"
        ))),
        Some(_) => Err(ApiError::bad_request(format!(
            "{SEND_MESSAGE_TEXT_FIELD}: must be a string"
        ))),
        None => Err(ApiError::bad_request(format!(
            "{SEND_MESSAGE_TEXT_FIELD}: missing field"
        ))),
    }
}

/// The channels `MessageTransport` names ([DOC] description: Telegram, VK, SMS).
const MESSAGE_TRANSPORTS: [&str; 3] = ["Telegram", "VK", "SMS"];

/// The `route` of a `sendMessage` body as the tenant reads it; absent or `null`: none.
pub fn message_route(
    body: &serde_json::Map<String, serde_json::Value>,
    wire: RouteWire,
) -> Result<Vec<String>, ApiError> {
    use serde_json::Value;
    let items = match body.get("route") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(ApiError::bad_request("route: must be an array")),
    };
    items
        .iter()
        .map(|item| match (item, wire) {
            (Value::Number(n), _) if n.as_u64().is_some_and(|n| n < 3) => Ok(n.to_string()),
            (Value::String(name), RouteWire::NamesOrIntegers) => MESSAGE_TRANSPORTS
                .iter()
                .find(|known| known.eq_ignore_ascii_case(name))
                .map(|known| (*known).to_owned())
                .ok_or_else(|| ApiError::bad_request(format!("route: unknown channel «{name}»"))),
            _ => Err(ApiError::bad_request(
                "route: the request is invalid (MessageTransport)",
            )),
        })
        .collect()
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

impl ProductTiny {
    pub fn into_product(self, at: usize) -> Result<ImportedProduct, ApiError> {
        check_not_blank(&format!("products[{at}].id"), &self.id)?;
        check_not_blank(&format!("products[{at}].n"), &self.n)?;
        Ok(ImportedProduct {
            id: self.id,
            pid: self.pid,
            name: self.n,
            group: self.g,
        })
    }
}

// ----- answers --------------------------------------------------------------------------

/// The `Customer` object as the emulator answers it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerAnswer {
    pub id: String,
    pub phone: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discount_card_number: Option<String>,
    pub discount_card_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parentphone: Option<String>,
    #[serde(serialize_with = "rust_decimal::serde::arbitrary_precision::serialize")]
    pub available_bonuses: Decimal,
    #[serde(serialize_with = "rust_decimal::serde::arbitrary_precision::serialize")]
    pub not_active_bonuses: Decimal,
    pub person: PersonAnswer,
    #[serde(flatten)]
    pub extras: CustomerExtras,
}

/// `Customer.person` (`PersonInfo`). Field names inside it are unconfirmed; the emulator
/// answers the request names (`fn`, `ln`, `mn`, `sex`, `email`) and `birthDay` rendered by
/// [`formats::answered_date`].
#[derive(Debug, Serialize)]
pub struct PersonAnswer {
    #[serde(rename = "fn", skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(rename = "ln", skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(rename = "mn", skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sex: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(rename = "birthDay", skip_serializing_if = "Option::is_none")]
    pub birth_day: Option<String>,
}

impl From<&Person> for PersonAnswer {
    fn from(person: &Person) -> Self {
        Self {
            first_name: person.first_name.clone(),
            last_name: person.last_name.clone(),
            middle_name: person.middle_name.clone(),
            sex: person.sex,
            email: person.email.clone(),
            birth_day: person.birth_day.as_deref().map(formats::answered_date),
        }
    }
}

impl From<&Customer> for CustomerAnswer {
    fn from(customer: &Customer) -> Self {
        let mut available = customer.available();
        available.rescale(2);
        let mut not_active = Decimal::ZERO;
        not_active.rescale(2);
        Self {
            id: customer.id.clone(),
            phone: customer.phone.clone(),
            discount_card_number: customer.discount_card_number.clone(),
            discount_card_name: customer.card_name.clone(),
            parentphone: customer.parent_phone.clone(),
            available_bonuses: available,
            not_active_bonuses: not_active,
            person: (&customer.person).into(),
            extras: customer.extras.clone(),
        }
    }
}

/// The answer of `POST customer/list`, shaped by the tenant's [`ListShape`] (unconfirmed;
/// this is the one place that decides it).
pub fn customer_list_answer(customers: &[&Customer], shape: ListShape) -> serde_json::Value {
    let list: Vec<CustomerAnswer> = customers.iter().map(|c| (*c).into()).collect();
    let list = serde_json::to_value(list).unwrap_or_default();
    match shape {
        ListShape::Array => list,
        ListShape::Object => serde_json::json!({ "list": list, "count": customers.len() }),
    }
}

/// `GET account`: the fields an integration reads (`balance`, `tariff`, `smsPrice`,
/// `pushPrice`); the full `AccountInfo` model was not seen.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountAnswer {
    #[serde(serialize_with = "rust_decimal::serde::arbitrary_precision::serialize")]
    pub balance: Decimal,
    pub tariff: String,
    #[serde(serialize_with = "rust_decimal::serde::arbitrary_precision::serialize")]
    pub sms_price: Decimal,
    #[serde(serialize_with = "rust_decimal::serde::arbitrary_precision::serialize")]
    pub push_price: Decimal,
}

impl AccountAnswer {
    pub fn demo() -> Self {
        Self {
            balance: Decimal::new(150_000, 2),
            tariff: "Бизнес".to_owned(),
            sms_price: Decimal::new(350, 2),
            push_price: Decimal::new(50, 2),
        }
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

/// `GET certificate/{id}` (`GiftCardResponse`). `expireDate` is written
/// `YYYY-MM-DDTHH:MM:SS` without an offset (format unconfirmed; `null` = no expiry).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GiftCardAnswer {
    pub id: String,
    pub name: String,
    pub expire_date: Option<String>,
    pub status: String,
    #[serde(serialize_with = "rust_decimal::serde::arbitrary_precision::serialize")]
    pub current_balance: Decimal,
    #[serde(serialize_with = "rust_decimal::serde::arbitrary_precision::serialize")]
    pub initial_balance: Decimal,
}

impl From<CertificateSnapshot> for GiftCardAnswer {
    fn from(c: CertificateSnapshot) -> Self {
        let mut current = c.current_balance;
        current.rescale(2);
        let mut initial = c.initial_balance;
        initial.rescale(2);
        Self {
            id: c.id,
            name: c.name,
            expire_date: c.expire,
            status: c.status,
            current_balance: current,
            initial_balance: initial,
        }
    }
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
