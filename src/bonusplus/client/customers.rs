//! The customer calls of the BonusPlus client: lookups, registration, edits, the name search,
//! codes and messages. Outgoing client: must not depend on `state`, incoming modules, services or `store`.

use reqwest::Method;
use uuid::Uuid;

use super::{with_query, ApiKey, BonusPlusClient, Call};
use crate::bonusplus::error::{codes, BonusPlusError, Result};
use crate::bonusplus::watch::{Point, Unexpected};
use crate::bonusplus::wire::*;
use crate::bonusplus::wire_assumptions;
use crate::domain::ean::Ean;
use crate::domain::phone::Phone;
use crate::domain::verification::Channel;

/// `POST customer/list` answers at most this many customers per call [DOC].
pub const MAX_CUSTOMERS_PER_LIST: usize = 1000;

impl BonusPlusClient {
    /// The customer with this phone; [`BonusPlusError::NotFound`] if BonusPlus has none.
    pub async fn get_customer(&self, key: &ApiKey, phone: &Phone) -> Result<Customer> {
        let url = with_query(&self.inner.urls.customer, "phone", phone.as_str());
        let body = self.send_read(key, Call::get("GET customer", url)).await?;
        self.decode(key, "GET customer", &body)
    }

    /// The customer holding this loyalty card (`GET customer?ean=`);
    /// [`BonusPlusError::NotFound`] if none.
    pub async fn get_customer_by_ean(&self, key: &ApiKey, ean: &Ean) -> Result<Customer> {
        let url = with_query(&self.inner.urls.customer, "ean", ean.as_str());
        self.lookup(key, Call::get("GET customer by ean", url))
            .await
    }

    /// The customer holding the card typed or scanned at the till; [`BonusPlusError::NotFound`]
    /// if none — also, without asking BonusPlus, for a number that is not a valid EAN-8/EAN-13
    /// (BonusPlus finds cards by EAN only, and would refuse any other number).
    pub async fn find_customer_by_card(&self, key: &ApiKey, card: &str) -> Result<Customer> {
        match Ean::parse(card) {
            Ok(ean) => self.get_customer_by_ean(key, &ean).await,
            Err(_) => Err(BonusPlusError::NotFound),
        }
    }

    /// The customer with this BonusPlus GUID (`GET customer?id=`); [`BonusPlusError::NotFound`]
    /// if none.
    pub async fn get_customer_by_id(&self, key: &ApiKey, id: &Uuid) -> Result<Customer> {
        let id = id.hyphenated().to_string();
        let url = with_query(&self.inner.urls.customer, "id", &id);
        self.lookup(key, Call::get("GET customer by id", url)).await
    }

    /// Customers matching `filter` (`POST customer/list`), at most `limit` of them.
    ///
    /// Never an error for a BonusPlus that does not take the call: refused as unknown
    /// ([`BonusPlusError::UnknownCall`]) or its body refused (400), it answers no rows. An empty
    /// filter answers no rows without asking (it would list every customer).
    pub async fn list_customers(
        &self,
        key: &ApiKey,
        filter: &CustomerFilter,
        limit: usize,
    ) -> Result<Vec<Customer>> {
        if limit == 0 || filter.is_empty() {
            return Ok(Vec::new());
        }
        let take = limit.min(MAX_CUSTOMERS_PER_LIST);
        let url = self.inner.urls.customer_list.clone();
        let body = wire_assumptions::customer_list_body(filter, take);
        let call = Call::json("POST customer/list", Method::POST, url, &body)?;
        // A search has no side effects: retried once like a GET.
        match self.send_read(key, call).await {
            Ok(answer) => {
                let mut customers = wire_assumptions::customer_list(&answer).map_err(|reason| {
                    BonusPlusError::Unexpected {
                        reason: format!("POST customer/list: {reason}"),
                    }
                })?;
                customers.truncate(limit);
                Ok(customers)
            }
            Err(err) => match err.declined_status() {
                Some(status) => {
                    tracing::warn!(
                        status,
                        "BonusPlus refused POST customer/list: no rows for a name search"
                    );
                    Ok(Vec::new())
                }
                None => Err(err),
            },
        }
    }

    /// Registers a customer; [`BonusPlusError::AlreadyExists`] if the phone is taken.
    pub async fn create_customer(&self, key: &ApiKey, customer: &NewCustomer) -> Result<Customer> {
        let url = self.inner.urls.customer.clone();
        let call = Call::json("POST customer", Method::POST, url, customer)?;
        let body = self.send(key, call).await?;
        self.decode(key, "POST customer", &body)
    }

    /// Asks BonusPlus to text the customer a code. Returns the code when BonusPlus reveals it
    /// in its answer (see [`wire_assumptions::revealed_code`]); `None` when it only confirms sending.
    pub async fn send_code(&self, key: &ApiKey, phone: &Phone) -> Result<Option<String>> {
        let url = self.customer_url(phone, &["sendCode"])?;
        let call = Call::empty("PUT customer/sendCode", Method::PUT, url);
        let body = self.send(key, call).await?;
        Ok(wire_assumptions::revealed_code(&body))
    }

    /// Whether `code` is the one BonusPlus texted to the customer.
    pub async fn check_code(&self, key: &ApiKey, phone: &Phone, code: &str) -> Result<bool> {
        let code = code.trim();
        if code.is_empty() {
            return Ok(false);
        }
        let url = self.customer_url(phone, &["checkCode", code])?;
        let call = Call::empty("PUT customer/checkCode", Method::PUT, url);
        match self.send(key, call).await {
            Ok(_) => Ok(true),
            Err(err) if err.code() == Some(codes::INVALID_CODE) => Ok(false),
            Err(err) => Err(err),
        }
    }

    /// Texts `text` to the customer through BonusPlus (`POST customer/{phoneNumber}/sendMessage`)
    /// by the first of `route`'s channels the customer has (BonusPlus's default without one).
    /// When BonusPlus refuses the route (400) the text is sent once more without it and the
    /// refusal reported ([`Point::MessageRoute`]): nothing was texted by the refused call.
    /// [`BonusPlusError::NotFound`] if BonusPlus has no such customer; never retried otherwise (a
    /// second attempt could text twice). The text may hold a code: it is never logged.
    pub async fn send_message(
        &self,
        key: &ApiKey,
        phone: &Phone,
        text: &str,
        route: &[Channel],
    ) -> Result<()> {
        let endpoint = "POST customer/sendMessage";
        let url = self.customer_url(phone, &["sendMessage"])?;
        let body = wire_assumptions::send_message_body(text, route);
        let call = Call::json(endpoint, Method::POST, url.clone(), &body)?;
        match self.send(key, call).await {
            Err(BonusPlusError::Refused { status: 400, .. }) if !route.is_empty() => {
                let refused = Unexpected {
                    status: 400,
                    ..Unexpected::about(Point::MessageRoute, endpoint)
                };
                self.report(key, refused);
                let body = wire_assumptions::send_message_body(text, &[]);
                let call = Call::json(endpoint, Method::POST, url, &body)?;
                self.send(key, call).await.map(drop)
            }
            outcome => outcome.map(drop),
        }
    }

    /// A customer lookup by card or id. The client checks the value's shape before sending, so a
    /// 400 means BonusPlus would not look this value up at all — for a search, not found.
    async fn lookup(&self, key: &ApiKey, call: Call) -> Result<Customer> {
        let endpoint = call.endpoint;
        match self.send_read(key, call).await {
            Ok(body) => self.decode(key, endpoint, &body),
            Err(BonusPlusError::Refused { status: 400, .. }) => Err(BonusPlusError::NotFound),
            Err(err) => Err(err),
        }
    }
}
