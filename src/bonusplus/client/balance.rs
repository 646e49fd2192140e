//! A customer's balance: bonus reserves (`customer/{phoneNumber}/balance/reserve`) and the manual
//! balance change (`PATCH customer/{phoneNumber}/balance`), which the customer import uses to
//! carry a shop's MoySklad bonus points once.
//! Outgoing client: must not depend on `state`, incoming modules, services or `store`.
//!
//! The manual change: BonusPlus documents the body `PatchCustomerBalance`: `amount` (required; > 0 credits),
//! `activatedInDays` (default 0) and `burnsInDays` (default 365). The call has **no idempotency
//! key**: a repeated call credits twice, so it is never retried here — a lost answer is the
//! caller's to resolve (the import's ledger).

use reqwest::Method;
use rust_decimal::Decimal;
use serde::Serialize;

use super::{ApiKey, BonusPlusClient, Call};
use crate::bonusplus::error::{codes, BonusPlusError, Result};
use crate::bonusplus::wire::{ReserveHeld, ReserveRequest};
use crate::domain::phone::Phone;

/// Body of `PATCH customer/{phoneNumber}/balance`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
struct BalanceChange {
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    amount: Decimal,
    burns_in_days: u32,
}

impl BonusPlusClient {
    /// Reserves `amount` bonuses for order `order_id`; a negative amount releases.
    pub async fn reserve(
        &self,
        key: &ApiKey,
        phone: &Phone,
        order_id: &str,
        amount: Decimal,
    ) -> Result<()> {
        let url = self.customer_url(phone, &["balance", "reserve"])?;
        let request = ReserveRequest {
            id: order_id.to_owned(),
            amount,
        };
        let call = Call::json(
            "PATCH customer/balance/reserve",
            Method::PATCH,
            url,
            &request,
        )?;
        self.send(key, call).await.map(drop)
    }

    /// What the reserve `id` holds now (`GET customer/{phoneNumber}/balance/reserve/{id}`), so
    /// that crash recovery can ask instead of guessing. A reserve never made (412
    /// `RESERVE_NOT_FOUND`), a customer BonusPlus does not have, or a business 404 hold nothing
    /// (0). A BonusPlus that does not know the call answers [`BonusPlusError::UnknownCall`]: the
    /// caller then falls back to the amount it recorded.
    pub async fn reserve_held(&self, key: &ApiKey, phone: &Phone, id: &str) -> Result<Decimal> {
        let url = self.customer_url(phone, &["balance", "reserve", id])?;
        let call = Call::get("GET customer/balance/reserve", url);
        match self.send_read(key, call).await {
            Ok(body) => self
                .decode::<ReserveHeld>(key, "GET customer/balance/reserve", &body)
                .map(|held| held.amount),
            Err(BonusPlusError::NotFound | BonusPlusError::Refused { status: 404, .. }) => {
                Ok(Decimal::ZERO)
            }
            Err(err) if err.code() == Some(codes::RESERVE_NOT_FOUND) => Ok(Decimal::ZERO),
            Err(err) => Err(err),
        }
    }

    /// Credits `amount` bonuses (roubles, > 0) to the customer with this phone, burning after
    /// `burns_in_days`. Sent once, never retried: [`crate::bonusplus::BonusPlusError::is_retryable`]
    /// on the error means the outcome is unknown (the credit may have been made).
    pub async fn credit_balance(
        &self,
        key: &ApiKey,
        phone: &Phone,
        amount: Decimal,
        burns_in_days: u32,
    ) -> Result<()> {
        let url = self.customer_url(phone, &["balance"])?;
        let body = BalanceChange {
            amount,
            burns_in_days,
        };
        let call = Call::json("PATCH customer/balance", Method::PATCH, url, &body)?;
        self.send(key, call).await.map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_is_the_documented_one() {
        let body = BalanceChange {
            amount: Decimal::new(140_050, 2),
            burns_in_days: 180,
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"amount":1400.50,"burnsInDays":180}"#
        );
    }
}
