//! The gift certificate calls of the BonusPlus client: `GET certificate/{id}`, and finding the
//! certificate typed or scanned at the till.
//! Outgoing client: must not depend on `state`, incoming modules, services or `store`.

use uuid::Uuid;

use super::{ApiKey, BonusPlusClient, Call};
use crate::bonusplus::error::{codes, BonusPlusError, Result};
use crate::bonusplus::watch::{Point, Unexpected};
use crate::bonusplus::wire::{GiftCardResponse, GiftCardWire};
use crate::bonusplus::wire_assumptions;

impl BonusPlusClient {
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
                    .is_some_and(|date| !wire_assumptions::has_offset(date))
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
    /// or there is no known way to look the text up ([`wire_assumptions::certificate_id`]), in which
    /// case nothing is sent.
    pub async fn find_certificate(
        &self,
        key: &ApiKey,
        typed: &str,
    ) -> Result<Option<GiftCardResponse>> {
        match wire_assumptions::certificate_id(typed) {
            Some(id) => self.get_certificate(key, &id).await,
            None => Ok(None),
        }
    }
}
