//! Editing a customer without ever damaging one: `PATCH customer/{phoneNumber}` with the card as
//! the documented Int32, and where PATCH is unknown a read–merge–write `PUT` (a full replace) or,
//! when that cannot carry back everything, no write at all.
//! Outgoing client: must not depend on `state`, incoming modules, services or `store`.

use reqwest::Method;
use serde_json::{Map, Value};

use super::{with_query, ApiKey, BonusPlusClient, Call};
use crate::bonusplus::error::{BonusPlusError, Result};
use crate::bonusplus::merge;
use crate::bonusplus::watch::{Point, Unexpected};
use crate::bonusplus::wire::{Customer, CustomerPatch};
use crate::domain::ean::Ean;
use crate::domain::phone::Phone;

/// What an edit did: the customer as BonusPlus holds them now, and what of the change was
/// withheld from BonusPlus (each with its reason), never an error at the till.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerUpdate {
    pub customer: Customer,
    pub withheld: Vec<Withheld>,
}

/// A part of a customer edit BonusPlus was not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Withheld {
    /// The card does not fit the documented Int32 card number: it stays linked on our side only.
    Card(Ean),
    /// PATCH is unknown and a full PUT could not carry back every field: nothing was changed.
    NotUpdated { reason: String },
}

impl BonusPlusClient {
    /// Changes the given fields of the customer with this phone; fields not given stay as they
    /// are. [`BonusPlusError::NotFound`] if there is no such customer.
    ///
    /// A card that does not fit `PatchCustomer.cardNumber` (Int32) is not sent
    /// ([`Withheld::Card`]). If BonusPlus does not know PATCH ([`BonusPlusError::UnknownCall`]),
    /// the customer is read and `PUT customer/{phoneNumber}` — which empties every field not sent
    /// — carries back everything BonusPlus answered with the change on top
    /// ([`merge::replace_body`]); when something cannot be carried back, nothing is written
    /// ([`Withheld::NotUpdated`]).
    pub async fn update_customer(
        &self,
        key: &ApiKey,
        phone: &Phone,
        patch: &CustomerPatch,
    ) -> Result<CustomerUpdate> {
        let (sendable, overflowing) = patch.without_overflowing_card();
        let mut withheld: Vec<Withheld> = overflowing.map(Withheld::Card).into_iter().collect();
        if let Some(Withheld::Card(card)) = withheld.first() {
            let detail = format!("карта {} не отправлена в БонусПлюс", card.as_str());
            let event = Unexpected::about(Point::CardNumberInt32, "PATCH customer");
            self.report(key, event.with_detail(detail));
        }
        let customer = if sendable.is_empty() {
            self.get_customer(key, phone).await?
        } else {
            self.patch_or_replace(key, phone, &sendable, &mut withheld)
                .await?
        };
        Ok(CustomerUpdate { customer, withheld })
    }

    async fn patch_or_replace(
        &self,
        key: &ApiKey,
        phone: &Phone,
        patch: &CustomerPatch,
        withheld: &mut Vec<Withheld>,
    ) -> Result<Customer> {
        let url = self.customer_url(phone, &[])?;
        let call = Call::json("PATCH customer", Method::PATCH, url.clone(), patch)?;
        let status = match self.send(key, call).await {
            Ok(body) => return self.decode(key, "PATCH customer", &body),
            Err(BonusPlusError::UnknownCall { status }) => status,
            Err(err) => return Err(err),
        };
        tracing::info!(
            status,
            "BonusPlus does not know PATCH customer: read, merge, PUT"
        );
        let current = self.customer_answer(key, phone).await?;
        match merge::replace_body(&current, patch) {
            Ok(body) => {
                let call = Call::json("PUT customer", Method::PUT, url, &body)?;
                let answer = self.send(key, call).await?;
                self.decode(key, "PUT customer", &answer)
            }
            Err(reason) => {
                tracing::warn!(%reason, "customer not updated: a full PUT would erase data");
                let event = Unexpected::about(Point::CustomerReplace, "PUT customer");
                self.report(key, event.with_detail(reason.clone()));
                withheld.push(Withheld::NotUpdated { reason });
                let current = Value::Object(current).to_string();
                self.decode(key, "GET customer", current.as_bytes())
            }
        }
    }

    /// `GET customer?phone=` as the JSON object BonusPlus answered, every member kept.
    async fn customer_answer(&self, key: &ApiKey, phone: &Phone) -> Result<Map<String, Value>> {
        let url = with_query(&self.inner.urls.customer, "phone", phone.as_str());
        let body = self.send_read(key, Call::get("GET customer", url)).await?;
        self.decode(key, "GET customer", &body)
    }
}
