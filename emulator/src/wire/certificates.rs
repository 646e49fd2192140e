//! `certificate/{id}` on the wire: the gift card answered (`GiftCardResponse`).
//! Must not depend on `api` (HTTP), tenant state or other resources' wire types.

use rust_decimal::Decimal;
use serde::Serialize;

use crate::model::CertificateSnapshot;

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
