//! `account` on the wire: what the emulator answers about the BonusPlus account.
//! Must not depend on `api` (HTTP), tenant state or other resources' wire types.

use rust_decimal::Decimal;
use serde::Serialize;

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
