//! The connection check's calls: the key check (`GET account`, with its fallback), and each
//! documented read-only call once with the shop's key, its HTTP status and how it ended — a
//! [`Probe`]: no fallback, no retry, nothing booked.
//! Outgoing client: must not depend on `state`, incoming modules, services or `store`.

use reqwest::Method;
use rust_decimal::Decimal;

use super::{with_query, ApiKey, BonusPlusClient, Call};
use crate::bonusplus::error::{BonusPlusError, Result};
use crate::bonusplus::wire::{CalcItem, CalcRequest, CustomerFilter};
use crate::bonusplus::wire_assumptions;
use crate::domain::phone::Phone;

/// One read-only call of the connection check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// `GET account`: the key.
    Account,
    /// `GET customer?phone=<a number no customer holds>`: "not found" proves the lookup works.
    CustomerLookup,
    /// `POST customer/list` filtered by that phone.
    CustomerList,
    /// `PUT retail/calc` of one line at this store for that phone: nothing is booked.
    Calc { store: String },
}

impl Probe {
    /// The call as the check shows it.
    pub fn call(&self) -> String {
        match self {
            Probe::Account => "GET account".to_owned(),
            Probe::CustomerLookup => "GET customer".to_owned(),
            Probe::CustomerList => "POST customer/list".to_owned(),
            Probe::Calc { store } => format!("PUT retail/calc («{store}»)"),
        }
    }
}

/// How one probe ended: the HTTP status (none when BonusPlus did not answer) and the outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeAnswer {
    pub status: Option<u16>,
    pub outcome: Result<()>,
}

impl BonusPlusClient {
    /// Ok if BonusPlus accepts the key; [`BonusPlusError::Unauthorized`] if not (401/403),
    /// [`BonusPlusError::Unavailable`] on 5xx or timeout. No side effects.
    ///
    /// Asks `GET account`, the call two integrations use as their "API active" check. A
    /// BonusPlus that does not know `account` ([`BonusPlusError::UnknownCall`]) is asked
    /// `GET customer?phone=<a number no customer holds>` instead: 412 `CUSTOMER_NOT_FOUND`
    /// means the key works — an unconfirmed call never blocks a shop's installation.
    pub async fn check_key(&self, key: &ApiKey) -> Result<()> {
        let url = self.inner.urls.account.clone();
        match self.send_read(key, Call::get("GET account", url)).await {
            Ok(_) => Ok(()),
            Err(BonusPlusError::UnknownCall { status }) => {
                tracing::info!(
                    status,
                    "BonusPlus does not know GET account: key checked with a customer lookup"
                );
                let url = with_query(
                    &self.inner.urls.customer,
                    "phone",
                    wire_assumptions::KEY_CHECK_FALLBACK_PHONE,
                );
                match self
                    .send_read(key, Call::get("GET customer (key check)", url))
                    .await
                {
                    Ok(_) | Err(BonusPlusError::NotFound) => Ok(()),
                    Err(err) => Err(err),
                }
            }
            Err(err) => Err(err),
        }
    }

    /// Runs one probe. A lookup or calculation answered "customer not found" passes: the number
    /// asked is one no customer holds (see [`wire_assumptions::CALC_CHECKS_STORE_FIRST`]).
    pub async fn probe(&self, key: &ApiKey, probe: &Probe) -> ProbeAnswer {
        let call = match self.probe_call(probe) {
            Ok(call) => call,
            Err(err) => {
                return ProbeAnswer {
                    status: None,
                    outcome: Err(err),
                }
            }
        };
        let endpoint = call.endpoint;
        match self.exchange(key, call).await {
            Err(err) => ProbeAnswer {
                status: None,
                outcome: Err(err),
            },
            Ok((status, body)) => {
                let outcome = self
                    .check_status(key, endpoint, status, body)
                    .and_then(|body| self.probe_answer(key, probe, &body));
                let outcome = match outcome {
                    Err(BonusPlusError::NotFound) if *probe != Probe::Account => Ok(()),
                    other => other,
                };
                ProbeAnswer {
                    status: Some(status.as_u16()),
                    outcome,
                }
            }
        }
    }

    fn probe_call(&self, probe: &Probe) -> Result<Call> {
        let phone = probe_phone()?;
        let urls = &self.inner.urls;
        match probe {
            Probe::Account => Ok(Call::get("GET account", urls.account.clone())),
            Probe::CustomerLookup => {
                let url = with_query(&urls.customer, "phone", phone.as_str());
                Ok(Call::get("GET customer (check)", url))
            }
            Probe::CustomerList => {
                let filter = CustomerFilter {
                    phone: vec![phone.as_str().to_owned()],
                    ..CustomerFilter::default()
                };
                let body = wire_assumptions::customer_list_body(&filter, 1);
                let url = urls.customer_list.clone();
                Call::json("POST customer/list", Method::POST, url, &body)
            }
            Probe::Calc { store } => {
                let request = probe_calc(phone, store);
                let url = urls.retail_calc.clone();
                Call::json("PUT retail/calc", Method::PUT, url, &request)
            }
        }
    }

    /// A 2xx answer must also read as documented.
    fn probe_answer(&self, key: &ApiKey, probe: &Probe, body: &[u8]) -> Result<()> {
        match probe {
            Probe::Account => Ok(()),
            Probe::CustomerLookup => self
                .decode::<crate::bonusplus::wire::Customer>(key, "GET customer", body)
                .map(drop),
            Probe::CustomerList => wire_assumptions::customer_list(body)
                .map(drop)
                .map_err(|reason| BonusPlusError::Unexpected { reason }),
            Probe::Calc { .. } => self
                .decode::<crate::bonusplus::wire::CalcResult>(key, "PUT retail/calc", body)
                .map(drop),
        }
    }
}

fn probe_phone() -> Result<Phone> {
    Phone::parse(wire_assumptions::KEY_CHECK_FALLBACK_PHONE).map_err(|_| {
        BonusPlusError::Unexpected {
            reason: "the check's phone is not a phone".into(),
        }
    })
}

fn probe_calc(phone: Phone, store: &str) -> CalcRequest {
    CalcRequest {
        phone,
        store: store.to_owned(),
        bonus_debit: Decimal::ZERO,
        coupons: None,
        items: vec![CalcItem {
            ext: "bonusbridge-check".to_owned(),
            product: "bonusbridge-check".to_owned(),
            qnt: Decimal::ONE,
            sum: Decimal::ONE,
            ds: Decimal::ZERO,
            price: None,
            cat: None,
        }],
    }
}
