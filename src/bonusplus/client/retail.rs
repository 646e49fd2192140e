//! The retail calls of the BonusPlus client: the calculation (`PUT retail/calc`), the sale
//! (`POST retail`) and a returned line (`PUT retail/back`).
//! Outgoing client: must not depend on `state`, incoming modules, services or `store`.

use reqwest::Method;

use super::{ApiKey, BonusPlusClient, Call};
use crate::bonusplus::error::Result;
use crate::bonusplus::wire::{
    CalcRequest, CalcResult, ReturnLine, ReturnResult, SaleRequest, SaleResult,
};
use crate::bonusplus::wire_assumptions;

impl BonusPlusClient {
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
        let body = wire_assumptions::return_body(line);
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
}
