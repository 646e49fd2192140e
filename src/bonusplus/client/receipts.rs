//! The receipt calls of the BonusPlus client: bonus reserves, the calculation, the sale, a returned
//! line, gift certificates. Outgoing client: must not depend on `state`, incoming modules, services or `store`.

use reqwest::Method;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::{ApiKey, BonusPlusClient, Call};
use crate::bonusplus::error::{codes, BonusPlusError, Result};
use crate::bonusplus::types::*;
use crate::bonusplus::unconfirmed;
use crate::bonusplus::watch::{Point, Unexpected};
use crate::domain::phone::Phone;

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

    /// What BonusPlus would give and allow to spend on an order.
    pub async fn calc(&self, key: &ApiKey, request: &CalcRequest) -> Result<CalcResult> {
        let url = self.inner.urls.retail_calc.clone();
        let call = Call::json("PUT retail/calc", Method::PUT, url, request)?;
        let body = self.send(key, call).await?;
        self.decode(key, "PUT retail/calc", &body)
    }

    /// Books a sale. Never retried here: [`BonusPlusError::AlreadyBooked`] tells a repeated
    /// delivery of the same `externalId` apart from a failure.
    pub async fn sale(&self, key: &ApiKey, request: &SaleRequest) -> Result<SaleResult> {
        let url = self.inner.urls.retail.clone();
        let call = Call::json("POST retail", Method::POST, url, request)?;
        let body = self.send(key, call).await?;
        self.decode(key, "POST retail", &body)
    }

    /// Returns (part of) one sold line; answers BonusPlus's `returnedPurchaseId`.
    ///
    /// `None` when the answer carries none (older servers answer 204). A 2xx answer is never
    /// turned into an error: BonusPlus has applied the return by then, and a return has no
    /// idempotency key, so a retry would reverse the bonuses twice.
    pub async fn return_line(&self, key: &ApiKey, line: &ReturnLine) -> Result<Option<i64>> {
        let url = self.inner.urls.retail_back.clone();
        let body = unconfirmed::return_body(line);
        let call = Call::json("PUT retail/back", Method::PUT, url, &body)?;
        let answer = self.send(key, call).await?;
        if answer.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        match serde_json::from_slice::<ReturnResult>(&answer) {
            Ok(result) => Ok(result.returned_purchase_id),
            Err(error) => {
                tracing::warn!(%error, "PUT retail/back: the answer is unreadable; the return is done");
                Ok(None)
            }
        }
    }

    /// The gift certificate with this GUID (`GET certificate/{id}`); `None` if BonusPlus does
    /// not know it (412 `CERTIFICATE_NOT_FOUND`, or 404 with or without a code).
    pub async fn get_certificate(
        &self,
        key: &ApiKey,
        id: &Uuid,
    ) -> Result<Option<GiftCardResponse>> {
        let url = self.path_url(&["certificate", &id.hyphenated().to_string()])?;
        match self.send_read(key, Call::get("GET certificate", url)).await {
            Ok(body) => {
                let wire: GiftCardWire = self.decode(key, "GET certificate", &body)?;
                if wire
                    .expire_date_text()
                    .is_some_and(|date| !unconfirmed::has_offset(date))
                {
                    let event =
                        Unexpected::answer(Point::DateWithoutOffset, "GET certificate", 200, &body);
                    self.report(key, event);
                }
                Ok(Some(wire.into_response(*id)))
            }
            Err(
                BonusPlusError::NotFound
                | BonusPlusError::UnknownCall { status: 404 }
                | BonusPlusError::Refused { status: 404, .. },
            ) => Ok(None),
            Err(err) if err.code() == Some(codes::CERTIFICATE_NOT_FOUND) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// The gift certificate typed or scanned at the till; `None` if BonusPlus does not know it
    /// or there is no known way to look the text up ([`unconfirmed::certificate_id`]), in which
    /// case nothing is sent.
    pub async fn find_certificate(
        &self,
        key: &ApiKey,
        typed: &str,
    ) -> Result<Option<GiftCardResponse>> {
        match unconfirmed::certificate_id(typed) {
            Some(id) => self.get_certificate(key, &id).await,
            None => Ok(None),
        }
    }
}
