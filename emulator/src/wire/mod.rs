//! BonusPlus wire types (`docs/bonusplus-wire.md`) by resource, checked into tenant commands.
//! Error messages name wire fields. Must not depend on `api` (HTTP) or change tenant state.

mod account;
mod certificates;
mod customers;
mod messages;
mod products;
mod retail;

pub use account::AccountAnswer;
pub use certificates::GiftCardAnswer;
pub use customers::{
    customer_list_answer, customer_query, CreateCustomerRequest, CustomerAnswer,
    CustomerFilterRequest, EditCustomerRequest, ReplaceCustomerRequest,
};
pub use messages::{message_route, message_text};
pub use products::{ProductImportRequest, MAX_PRODUCTS_PER_IMPORT};
pub use retail::{
    CalcAnswer, CancelReserveRequest, ReserveAnswer, ReserveRequest, RetailRequest,
    RetailResultAnswer, ReturnAnswer, ReturnRequest,
};

use rust_decimal::Decimal;

use crate::error::ApiError;

/// No real order comes near this; the bound keeps decimal arithmetic far from overflow.
const MAX_AMOUNT: Decimal = Decimal::from_parts(1_000_000_000, 0, 0, false, 0);

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
