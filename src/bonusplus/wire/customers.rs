//! Customers on the wire: the `Customer` BonusPlus answers, and the bodies that create, edit
//! and list customers. Plain data of the outgoing client: no I/O, no other layer.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize, Serializer};
use time::Date;
use uuid::Uuid;

use super::{dotted_date, lenient};
use crate::bonusplus::wire_assumptions;
use crate::domain::ean::Ean;
use crate::domain::phone::Phone;

/// A customer as BonusPlus answers it (`GET customer`, `POST customer`, `PATCH`/`PUT
/// customer/{phoneNumber}`, each row of `POST customer/list`, inside `POST retail`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    /// BonusPlus's stable customer GUID; `None` when absent or not a GUID.
    #[serde(default, deserialize_with = "lenient::guid")]
    pub id: Option<Uuid>,
    pub phone: String,
    #[serde(default, deserialize_with = "lenient::string_option")]
    pub discount_card_number: Option<String>,
    /// The card's (status) name, e.g. «Базовая».
    #[serde(default, deserialize_with = "lenient::string_option")]
    pub discount_card_name: Option<String>,
    /// What can be spent now: balance minus reserves.
    #[serde(default, with = "rust_decimal::serde::arbitrary_precision_option")]
    pub available_bonuses: Option<Decimal>,
    #[serde(default)]
    pub person: Option<Person>,
}

/// Personal data of a customer (`PersonInfo`). Its field names are not published: both the
/// request names (`fn`, `ln`, `mn`, `birthDay`) and the spelled-out ones (`firstName`,
/// `lastName`, `middleName`, `birthday`) are read — see `docs/bonusplus-wire.md`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(from = "PersonWire")]
pub struct Person {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub middle_name: Option<String>,
    pub sex: Option<Sex>,
    pub email: Option<String>,
    pub birth_day: Option<Date>,
}

/// `PersonInfo` as it may arrive. Serde's `alias` would refuse an answer carrying both
/// spellings of a field (a duplicate field), so each spelling is read on its own and merged.
#[derive(Deserialize)]
struct PersonWire {
    #[serde(rename = "fn", default, deserialize_with = "lenient::string_option")]
    short_first: Option<String>,
    #[serde(
        rename = "firstName",
        default,
        deserialize_with = "lenient::string_option"
    )]
    long_first: Option<String>,
    #[serde(rename = "ln", default, deserialize_with = "lenient::string_option")]
    short_last: Option<String>,
    #[serde(
        rename = "lastName",
        default,
        deserialize_with = "lenient::string_option"
    )]
    long_last: Option<String>,
    #[serde(rename = "mn", default, deserialize_with = "lenient::string_option")]
    short_middle: Option<String>,
    #[serde(
        rename = "middleName",
        default,
        deserialize_with = "lenient::string_option"
    )]
    long_middle: Option<String>,
    #[serde(default, deserialize_with = "lenient::sex")]
    sex: Option<Sex>,
    #[serde(default, deserialize_with = "lenient::string_option")]
    email: Option<String>,
    #[serde(rename = "birthDay", default, deserialize_with = "lenient::date")]
    birth_day: Option<Date>,
    #[serde(rename = "birthday", default, deserialize_with = "lenient::date")]
    birthday: Option<Date>,
}

impl From<PersonWire> for Person {
    fn from(wire: PersonWire) -> Self {
        Person {
            first_name: first_given(wire.short_first, wire.long_first),
            last_name: first_given(wire.short_last, wire.long_last),
            middle_name: first_given(wire.short_middle, wire.long_middle),
            sex: wire.sex,
            email: first_given(wire.email, None),
            birth_day: wire.birth_day.or(wire.birthday),
        }
    }
}

/// The first of two spellings that holds more than blanks.
fn first_given(preferred: Option<String>, other: Option<String>) -> Option<String> {
    let given = |text: &Option<String>| text.as_deref().is_some_and(|t| !t.trim().is_empty());
    if given(&preferred) {
        preferred
    } else if given(&other) {
        other
    } else {
        None
    }
}

/// A customer's sex; "unknown" is `None`. The wire encoding lives in
/// [`wire_assumptions`](super::wire_assumptions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sex {
    Male,
    Female,
}

impl Serialize for Sex {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(wire_assumptions::sex_to_wire(*self))
    }
}

/// Body of `POST customer` (`CreateCustomer`); only `phone` is required.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewCustomer {
    pub phone: Phone,
    #[serde(rename = "fn", skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(rename = "ln", skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(rename = "mn", skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sex: Option<Sex>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Sent as `ДД.ММ.ГГГГ` (DD.MM.YYYY), the documented format.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "dotted_date::serialize"
    )]
    pub birth_day: Option<Date>,
    /// The loyalty card. Only a valid EAN can be held here, so a number BonusPlus would
    /// refuse is left out of the request instead of failing the registration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ean: Option<Ean>,
    /// The BonusPlus store the customer registers in (id or name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
    /// True when the customer is created only to be texted a code: no separate welcome
    /// message. Not sent when false (BonusPlus's default behaviour).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub no_reg_notification: bool,
}

impl NewCustomer {
    /// A customer known only by phone; fill in the other fields as known.
    pub fn new(phone: Phone) -> Self {
        NewCustomer {
            phone,
            first_name: None,
            last_name: None,
            middle_name: None,
            sex: None,
            email: None,
            birth_day: None,
            ean: None,
            store: None,
            no_reg_notification: false,
        }
    }
}

/// Body of `PATCH customer/{phoneNumber}` (`PatchCustomer`): only the fields given change.
/// `PatchCustomer` has no `sex`; [`sex`](Self::sex) is never sent with PATCH and serves only the
/// read–merge–write `PUT customer/{phoneNumber}` fallback (see
/// [`BonusPlusClient::update_customer`](super::BonusPlusClient::update_customer)).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CustomerPatch {
    #[serde(rename = "fn", skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(rename = "ln", skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(rename = "mn", skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    /// Sent as `birthday` (lower-case d) in `ДД.ММ.ГГГГ`, as `PatchCustomer` documents it.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "dotted_date::serialize"
    )]
    pub birthday: Option<Date>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Binds this card number to the customer. Sent as the documented `int` (Int32): a card that
    /// does not fit one ([`wire_assumptions::card_number_int`]) must be left out before sending.
    #[serde(
        rename = "cardNumber",
        skip_serializing_if = "Option::is_none",
        serialize_with = "card_int"
    )]
    pub card_number: Option<Ean>,
    /// Not part of PATCH; used only when BonusPlus does not know PATCH and the full PUT is sent.
    #[serde(skip)]
    pub sex: Option<Sex>,
}

/// A card number as the Int32 `PatchCustomer.cardNumber`; one that does not fit is an error,
/// never a string or a wrapped number.
fn card_int<S: Serializer>(card: &Option<Ean>, serializer: S) -> Result<S::Ok, S::Error> {
    let card = card.as_ref().map(Ean::as_str).unwrap_or_default();
    match wire_assumptions::card_number_int(card) {
        Some(number) => serializer.serialize_i32(number),
        None => Err(serde::ser::Error::custom(
            "the card number does not fit the documented Int32",
        )),
    }
}

impl CustomerPatch {
    /// The patch without a card BonusPlus's Int32 `cardNumber` cannot carry, and that card.
    pub fn without_overflowing_card(&self) -> (CustomerPatch, Option<Ean>) {
        let mut sendable = self.clone();
        let overflowing = sendable
            .card_number
            .take_if(|card| wire_assumptions::card_number_int(card.as_str()).is_none());
        (sendable, overflowing)
    }

    /// True when PATCH would change nothing (`sex` is not part of PATCH and does not count).
    pub fn is_empty(&self) -> bool {
        self.first_name.is_none()
            && self.last_name.is_none()
            && self.middle_name.is_none()
            && self.birthday.is_none()
            && self.email.is_none()
            && self.card_number.is_none()
    }
}

impl From<&NewCustomer> for CustomerPatch {
    /// The fields of a registration, as an update of an existing customer: what was not given
    /// stays as BonusPlus has it.
    fn from(customer: &NewCustomer) -> Self {
        CustomerPatch {
            first_name: customer.first_name.clone(),
            last_name: customer.last_name.clone(),
            middle_name: customer.middle_name.clone(),
            birthday: customer.birth_day,
            email: customer.email.clone(),
            card_number: customer.ean.clone(),
            sex: customer.sex,
        }
    }
}

/// Filters of `POST customer/list` (`CustomerFilter`, string arrays; a customer matches when a
/// field equals one of the values given). Empty lists are not sent. The paging field is added by
/// [`wire_assumptions::customer_list_body`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerFilter {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub phone: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub last_name: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub first_name: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub middle_name: Vec<String>,
}

impl CustomerFilter {
    /// Customers with this last name.
    pub fn last_name(name: impl Into<String>) -> Self {
        CustomerFilter {
            last_name: vec![name.into()],
            ..CustomerFilter::default()
        }
    }

    /// Customers with this first name.
    pub fn first_name(name: impl Into<String>) -> Self {
        CustomerFilter {
            first_name: vec![name.into()],
            ..CustomerFilter::default()
        }
    }

    /// True when nothing is filtered: such a request would list the whole customer base.
    pub fn is_empty(&self) -> bool {
        let blank = |values: &Vec<String>| values.iter().all(|v| v.trim().is_empty());
        blank(&self.phone)
            && blank(&self.last_name)
            && blank(&self.first_name)
            && blank(&self.middle_name)
    }
}
