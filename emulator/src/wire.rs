//! BonusPlus wire types (`docs/bonusplus-wire.md`) and their checked conversion into the
//! tenant's domain commands. Field names in error messages are the wire's.

use std::collections::HashSet;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::calc::{Calculation, LineFigures};
use crate::error::ApiError;
use crate::model::{ImportedProduct, Person};
use crate::numbers;
use crate::tenant::{Customer, CustomerFields, Order, OrderItem};

/// No real order comes near this; the bound keeps decimal arithmetic far from overflow.
const MAX_AMOUNT: Decimal = Decimal::from_parts(1_000_000_000, 0, 0, false, 0);

pub const MAX_PRODUCTS_PER_IMPORT: usize = 1000;

// ----- requests -------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerRequest {
    pub phone: String,
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
    #[serde(default)]
    pub birth_day: Option<String>,
    #[serde(default)]
    pub discount_card_number: Option<String>,
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

/// BonusPlus identifies customers by 11 digits, country code first.
pub fn check_phone(field: &str, phone: &str) -> Result<(), ApiError> {
    if phone.len() == 11 && phone.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "{field}: «{phone}» is not a phone number of 11 digits"
        )))
    }
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

impl CustomerRequest {
    pub fn into_fields(self) -> Result<CustomerFields, ApiError> {
        check_phone("phone", &self.phone)?;
        if let Some(sex) = self.sex {
            if sex > 2 {
                return Err(ApiError::bad_request("sex: must be 0, 1 or 2"));
            }
        }
        if let Some(email) = &self.email {
            if !email.contains('@') {
                return Err(ApiError::bad_request("email: not an e-mail address"));
            }
        }
        let birth_day = self.birth_day.as_deref().map(parse_birth_day).transpose()?;
        if let Some(card) = &self.discount_card_number {
            check_not_blank("discountCardNumber", card)?;
        }
        Ok(CustomerFields {
            phone: self.phone,
            person: Person {
                first_name: self.first_name,
                last_name: self.last_name,
                middle_name: self.middle_name,
                sex: self.sex,
                email: self.email,
                birth_day,
            },
            discount_card_number: self.discount_card_number,
        })
    }
}

/// `YYYY-MM-DD`, with a `T00:00:00` suffix tolerated.
fn parse_birth_day(text: &str) -> Result<String, ApiError> {
    let date = text.strip_suffix("T00:00:00").unwrap_or(text);
    let parts: Vec<&str> = date.split('-').collect();
    let number = |s: &str, len: usize| {
        (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u32>().ok())
            .flatten()
    };
    let valid = match parts.as_slice() {
        [y, m, d] => matches!(
            (number(y, 4), number(m, 2), number(d, 2)),
            (Some(_), Some(1..=12), Some(1..=31))
        ),
        _ => false,
    };
    if valid {
        Ok(date.to_owned())
    } else {
        Err(ApiError::bad_request(format!(
            "birthDay: «{text}» is not a YYYY-MM-DD date"
        )))
    }
}

impl RetailRequest {
    /// Checks the order; a sale additionally needs its `externalId`.
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

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerAnswer {
    pub phone: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discount_card_number: Option<String>,
    #[serde(serialize_with = "rust_decimal::serde::arbitrary_precision::serialize")]
    pub available_bonuses: Decimal,
    pub person: Person,
}

impl From<&Customer> for CustomerAnswer {
    fn from(customer: &Customer) -> Self {
        let mut available = customer.available();
        available.rescale(2);
        Self {
            phone: customer.phone.clone(),
            discount_card_number: customer.discount_card_number.clone(),
            available_bonuses: available,
            person: customer.person.clone(),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatAnswer {
    pub all_count: usize,
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
pub struct SaleAnswer {
    pub customer: CustomerAnswer,
    pub discount: Vec<DiscountAnswer>,
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
