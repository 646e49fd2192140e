//! Shared service: who the customer at the till is in BonusPlus — found through MoySklad's
//! counterparty (our link), the phone, or the loyalty card — and, when BonusPlus does not know
//! them yet, registered at checkout (BonusPlus's guide: "if the customer is not found, create them
//! with `POST /customer`"). Used by the receipt and sale handlers and by the delivery worker.
//! Must not depend on `state`, on incoming modules (`loyalty_api`, `vendor_api`, `ui`) or on `jobs`.
//!
//! Registration is single-flight per account and phone within an instance: concurrent
//! recalculations for one new phone send one `POST customer` and all wait for its answer, which is
//! remembered for [`REGISTERED_TTL`] for those that saw "not found" a moment too late. Across
//! instances BonusPlus decides: `CUSTOMER_ALREADY_EXIST` means "registered meanwhile", and the
//! customer is read instead. Whether an account registers at checkout at all is the caller's
//! business (`CheckoutSettings::create_customers`): this service only does it when asked.

use std::time::Duration;

use futures::future::{BoxFuture, FutureExt, Shared};
use serde::{Deserialize, Serialize};
use time::macros::format_description;

use crate::bonusplus::{ApiKey, BonusPlusClient, BonusPlusError, Customer, NewCustomer};
use crate::cache::UntilChanged;
use crate::domain::ean::Ean;
use crate::domain::keys::customer_guid;
use crate::domain::names::split_full_name;
use crate::domain::phone::{Phone, PhoneError};
use crate::store::{Change, CustomerLink, Store, StoreError};

/// Whatever identifies the customer of a receipt, a sale or a return, as MoySklad sent it —
/// recorded with a sale and resolved by its delivery.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TillCustomer {
    /// MoySklad's counterparty id (or the GUID we answered for the customer).
    #[serde(default)]
    pub counterparty_id: Option<String>,
    /// The phone as typed in MoySklad (free format).
    #[serde(default)]
    pub phone: Option<String>,
    /// The loyalty card number (`discountCardNumber`).
    #[serde(default)]
    pub card: Option<String>,
    /// What BonusPlus is told when the customer is registered at checkout.
    #[serde(default)]
    pub profile: Profile,
}

impl TillCustomer {
    /// Nothing at all to look the customer up by.
    pub fn is_empty(&self) -> bool {
        [&self.counterparty_id, &self.phone, &self.card]
            .into_iter()
            .all(|field| non_empty(field.as_deref()).is_none())
    }
}

/// The counterparty's personal data, for a registration at checkout.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub middle_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    /// `YYYY-MM-DD`; a date MoySklad sent in another shape is left out, never refused.
    #[serde(default)]
    pub birth_date: Option<String>,
}

impl Profile {
    /// From MoySklad's attributes: the one-line `name` (Russian order) unless the parts are given,
    /// the e-mail, and the date of `birthDate` (`YYYY-MM-DD HH:MM:SS`).
    pub fn from_moysklad(
        name: Option<&str>,
        [last, first, middle]: [Option<&str>; 3],
        email: Option<&str>,
        birth_date: Option<&str>,
    ) -> Profile {
        let parts = split_full_name(name, last, first, middle);
        Profile {
            last_name: parts.last,
            first_name: parts.first,
            middle_name: parts.middle,
            email: non_empty(email).map(str::to_owned),
            birth_date: birth_date
                .and_then(|text| text.trim().get(..10))
                .and_then(|date| parse_date(date).map(|_| date.to_owned())),
        }
    }
}

fn parse_date(text: &str) -> Option<time::Date> {
    time::Date::parse(text, format_description!("[year]-[month]-[day]")).ok()
}

/// Why the customer could not be found or registered.
#[derive(Debug, thiserror::Error)]
pub enum CustomerError {
    /// Neither a link to MoySklad's counterparty, nor a phone, nor a card.
    #[error("the customer has no phone, no loyalty card and no known counterparty")]
    Unidentified,
    /// Only a card, and BonusPlus knows no customer with it (a customer cannot be registered
    /// without a phone).
    #[error("BonusPlus knows no customer with this loyalty card, and there is no phone")]
    UnknownCard,
    #[error("the customer's phone cannot be used: {0}")]
    InvalidPhone(#[from] PhoneError),
    #[error(transparent)]
    BonusPlus(#[from] BonusPlusError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How long a registration's answer is shared after it came.
pub const REGISTERED_TTL: Duration = Duration::from_secs(30);
const FLIGHTS_CAPACITY: u64 = 100_000;
/// How long a counterparty's link is trusted at most: a backstop for links changed in the
/// database by hand. Links the app saves reach every instance's cache at once.
pub const LINK_TTL: Duration = Duration::from_secs(3600);
const LINKS_CAPACITY: u64 = 200_000;

/// One registration (in flight or just answered), shared by everyone asking for the same phone:
/// the customer, and whether this flight created them (`false`: BonusPlus had them already).
type Flight = Shared<BoxFuture<'static, Result<(Customer, bool), BonusPlusError>>>;

/// The customers service. Cheap to clone (the flights of this instance are shared).
#[derive(Clone)]
pub struct Customers {
    store: Store,
    bonusplus: BonusPlusClient,
    /// (account, phone) → its registration.
    flights: moka::sync::Cache<String, Flight>,
    /// (account, counterparty id or customer GUID) → the linked phone, if any: the till asks for
    /// the same customers all day, and this keeps the database off its path.
    links: UntilChanged<(String, String), Option<String>>,
}

impl Customers {
    pub fn new(store: Store, bonusplus: BonusPlusClient) -> Self {
        Customers {
            store,
            bonusplus,
            flights: moka::sync::Cache::builder()
                .max_capacity(FLIGHTS_CAPACITY)
                .time_to_live(REGISTERED_TTL)
                .build(),
            links: UntilChanged::new(LINKS_CAPACITY, LINK_TTL),
        }
    }

    /// The phone linked to MoySklad's counterparty (or our GUID) `id`, kept in memory until a
    /// link of it changes. Every id the search hands out is linked before it is answered, so a
    /// "not linked" kept here is never one of ours.
    pub async fn linked_phone(
        &self,
        account_id: &str,
        id: &str,
    ) -> Result<Option<String>, StoreError> {
        let read = async {
            let link = self.store.customer_by_id(account_id, id).await?;
            Ok(link.map(|link| link.phone))
        };
        let key = (account_id.to_owned(), id.to_owned());
        self.links.get_or_read(key, read).await
    }

    /// Saves a link (`registered`: the app created the customer) and makes every instance forget
    /// what it kept of the ids it names (also "not linked", which a new link ends).
    pub async fn save_link(&self, link: &CustomerLink, registered: bool) -> Result<(), StoreError> {
        if registered {
            self.store.link_registered_customer(link).await?;
        } else {
            self.store.link_customer(link).await?;
        }
        let ids = [Some(&link.customer_guid), link.ms_counterparty_id.as_ref()];
        for id in ids.into_iter().flatten() {
            self.forget_link(&link.account_id, id);
            self.store.announce(Change::CustomerLink {
                account_id: link.account_id.clone(),
                id: id.clone(),
            });
        }
        Ok(())
    }

    /// Forgets the link of `id` on this instance.
    pub fn forget_link(&self, account_id: &str, id: &str) {
        self.links.forget(&(account_id.to_owned(), id.to_owned()));
    }

    /// Forgets every link on this instance.
    pub fn forget_all_links(&self) {
        self.links.forget_all();
    }

    /// The phone BonusPlus knows the customer by: our link of the counterparty, else the phone
    /// given, else the loyalty card (our link of it, else BonusPlus's card lookup, which links).
    /// BonusPlus is asked only for a card nobody linked yet.
    pub async fn phone_of(
        &self,
        account_id: &str,
        key: &ApiKey,
        who: &TillCustomer,
    ) -> Result<Phone, CustomerError> {
        if let Some(id) = non_empty(who.counterparty_id.as_deref()) {
            if let Some(phone) = self.linked_phone(account_id, id).await? {
                return stored_phone(&phone);
            }
        }
        if let Some(phone) = non_empty(who.phone.as_deref()) {
            return Ok(Phone::parse(phone)?);
        }
        let card = non_empty(who.card.as_deref()).ok_or(CustomerError::Unidentified)?;
        if let Some(link) = self.store.customer_by_card(account_id, card).await? {
            return stored_phone(&link.phone);
        }
        match self.bonusplus.find_customer_by_card(key, card).await {
            Ok(customer) => {
                let phone = answered_phone(&customer)?;
                self.link(account_id, &customer, who, false).await?;
                Ok(phone)
            }
            Err(BonusPlusError::NotFound) => Err(CustomerError::UnknownCard),
            Err(error) => Err(error.into()),
        }
    }

    /// Registers the customer with `phone` in BonusPlus store `store` (with the profile and card
    /// of `who`) and links MoySklad's counterparty to them, as `POST /counterparty` does. One
    /// `POST customer` per phone however many ask at once; a phone registered meanwhile (here or
    /// on another instance) is read instead.
    pub async fn register(
        &self,
        account_id: &str,
        key: &ApiKey,
        phone: &Phone,
        who: &TillCustomer,
        store: &str,
    ) -> Result<Customer, CustomerError> {
        let customer = registration(phone, who, Some(store));
        self.register_as(account_id, key, customer, who).await
    }

    /// Registers the customer like [`Customers::register`], but without BonusPlus's welcome
    /// message (`noRegNotification`): BonusPlus texts only customers it has, so a customer being
    /// registered at the till is created before a confirmation code can be texted to them.
    pub async fn register_quietly(
        &self,
        account_id: &str,
        key: &ApiKey,
        phone: &Phone,
        who: &TillCustomer,
        store: Option<&str>,
    ) -> Result<Customer, CustomerError> {
        let mut customer = registration(phone, who, store);
        customer.no_reg_notification = true;
        self.register_as(account_id, key, customer, who).await
    }

    async fn register_as(
        &self,
        account_id: &str,
        key: &ApiKey,
        customer: NewCustomer,
        who: &TillCustomer,
    ) -> Result<Customer, CustomerError> {
        let flight_key = format!("{account_id}|{}", customer.phone.as_str());
        let flight = self
            .flights
            .get_with(flight_key.clone(), || self.flight(key, customer));
        let (customer, created) = match flight.await {
            Ok(answer) => answer,
            Err(error) => {
                // A failure is not shared with later attempts: they ask BonusPlus again.
                self.flights.invalidate(&flight_key);
                return Err(error.into());
            }
        };
        self.link(account_id, &customer, who, created).await?;
        Ok(customer)
    }

    fn flight(&self, key: &ApiKey, customer: NewCustomer) -> Flight {
        let (bonusplus, key) = (self.bonusplus.clone(), key.clone());
        async move {
            match bonusplus.create_customer(&key, &customer).await {
                Ok(created) => Ok((created, true)),
                Err(BonusPlusError::AlreadyExists) => bonusplus
                    .get_customer(&key, &customer.phone)
                    .await
                    .map(|existing| (existing, false)),
                Err(error) => Err(error),
            }
        }
        .boxed()
        .shared()
    }

    /// Links the counterparty (and the card) to the customer BonusPlus answered; one the app
    /// `created` is marked registered (everyone sharing the flight marks it; the first time stays).
    async fn link(
        &self,
        account_id: &str,
        customer: &Customer,
        who: &TillCustomer,
        created: bool,
    ) -> Result<(), StoreError> {
        let link = CustomerLink {
            account_id: account_id.to_owned(),
            phone: customer.phone.clone(),
            customer_guid: customer_guid(account_id, &customer.phone),
            ms_counterparty_id: non_empty(who.counterparty_id.as_deref()).map(str::to_owned),
            card_number: customer.discount_card_number.clone(),
        };
        self.save_link(&link, created).await
    }
}

/// `POST customer` of a registration (at checkout, before a code, or `POST /counterparty`): the
/// counterparty's name, e-mail, birth date, its card when it is an EAN BonusPlus can bind (another
/// number is kept out rather than refused), and the point of sale's BonusPlus store when known.
pub fn registration(phone: &Phone, who: &TillCustomer, store: Option<&str>) -> NewCustomer {
    let profile = &who.profile;
    let mut customer = NewCustomer::new(phone.clone());
    customer.last_name = profile.last_name.clone();
    customer.first_name = profile.first_name.clone();
    customer.middle_name = profile.middle_name.clone();
    customer.email = profile.email.clone();
    customer.birth_day = profile.birth_date.as_deref().and_then(parse_date);
    customer.ean = non_empty(who.card.as_deref()).and_then(|card| Ean::parse(card).ok());
    customer.store = store.map(str::to_owned);
    customer
}

fn stored_phone(text: &str) -> Result<Phone, CustomerError> {
    Phone::parse(text).map_err(|_| {
        CustomerError::Store(StoreError::Corrupt(
            "a linked phone is not a phone number".into(),
        ))
    })
}

fn answered_phone(customer: &Customer) -> Result<Phone, CustomerError> {
    Phone::parse(&customer.phone).map_err(|_| {
        CustomerError::BonusPlus(BonusPlusError::Unexpected {
            reason: "BonusPlus answered a customer without a usable phone".into(),
        })
    })
}

fn non_empty(text: Option<&str>) -> Option<&str> {
    text.map(str::trim).filter(|text| !text.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_from_moysklad_keeps_what_bonusplus_can_take() {
        let profile = Profile::from_moysklad(
            Some("Петрова Анна Сергеевна"),
            [None, None, None],
            Some(" anna@example.org "),
            Some("1991-02-03 00:00:00.000"),
        );
        assert_eq!(profile.last_name.as_deref(), Some("Петрова"));
        assert_eq!(profile.first_name.as_deref(), Some("Анна"));
        assert_eq!(profile.middle_name.as_deref(), Some("Сергеевна"));
        assert_eq!(profile.email.as_deref(), Some("anna@example.org"));
        assert_eq!(profile.birth_date.as_deref(), Some("1991-02-03"));
        let odd = Profile::from_moysklad(None, [None, None, None], Some(""), Some("03.02.1991"));
        assert_eq!((odd.email, odd.birth_date), (None, None));
    }

    #[test]
    fn a_registration_carries_the_profile_card_and_store() {
        let who = TillCustomer {
            counterparty_id: Some("c-1".into()),
            phone: Some("+7 901 123-11-22".into()),
            card: Some("2000000051420".into()),
            profile: Profile {
                first_name: Some("Анна".into()),
                birth_date: Some("1991-02-03".into()),
                ..Profile::default()
            },
        };
        let phone = Phone::parse("79011231122").unwrap();
        let customer = registration(&phone, &who, Some("Магазин 1"));
        assert_eq!(customer.store.as_deref(), Some("Магазин 1"));
        assert_eq!(customer.first_name.as_deref(), Some("Анна"));
        assert_eq!(
            customer.ean.map(|e| e.as_str().to_owned()).as_deref(),
            Some("2000000051420")
        );
        assert_eq!(
            customer.birth_day.map(|d| d.to_string()).as_deref(),
            Some("1991-02-03")
        );
        let not_an_ean = TillCustomer {
            card: Some("C-77".into()),
            ..who
        };
        assert!(registration(&phone, &not_an_ean, None).ean.is_none());
    }

    #[test]
    fn an_identity_without_anything_is_empty() {
        assert!(TillCustomer::default().is_empty());
        let blank = TillCustomer {
            counterparty_id: Some(" ".into()),
            ..TillCustomer::default()
        };
        assert!(blank.is_empty());
        let card = TillCustomer {
            card: Some("123".into()),
            ..TillCustomer::default()
        };
        assert!(!card.is_empty());
    }
}
