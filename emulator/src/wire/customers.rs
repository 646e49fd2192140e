//! `customer…` on the wire: create, edit (PATCH, PUT), find and list; the `Customer` answered.
//! Must not depend on `api` (HTTP) or other resources' wire; of the tenant, only its types.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{check_money, check_phone};
use crate::error::ApiError;
use crate::formats;
use crate::model::{CustomerExtras, ListShape, Person};
use crate::numbers;
use crate::tenant::{CreateFields, Customer, CustomerQuery, EditFields, ListFilter};

/// `POST customer/list` answers at most this many customers per call [DOC].
pub const MAX_LIST_ROWS: usize = 1000;

/// `POST customer` (`CreateCustomer`). Unknown fields are ignored, as ASP.NET does.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateCustomerRequest {
    pub phone: String,
    #[serde(default)]
    pub ean: Option<String>,
    #[serde(default, deserialize_with = "numbers::optional_decimal")]
    pub reg_bonus: Option<Decimal>,
    /// Card (status) name.
    #[serde(default)]
    pub card: Option<String>,
    #[serde(default, alias = "parentPhone")]
    pub parentphone: Option<String>,
    #[serde(rename = "fn", default)]
    pub first_name: Option<String>,
    #[serde(rename = "ln", default)]
    pub last_name: Option<String>,
    #[serde(rename = "mn", default)]
    pub middle_name: Option<String>,
    #[serde(default)]
    pub sex: Option<u8>,
    #[serde(default)]
    pub email: Option<String>,
    /// Type-checked, not kept.
    #[serde(default)]
    #[allow(dead_code)]
    pub desc: Option<String>,
    /// `ДД.ММ.ГГГГ`.
    #[serde(default)]
    pub birth_day: Option<String>,
    /// Type-checked, not kept.
    #[serde(default)]
    #[allow(dead_code)]
    pub address: Option<String>,
    #[serde(default)]
    pub store: Option<String>,
    #[serde(default)]
    pub no_reg_notification: Option<bool>,
}

/// `PATCH customer/{phoneNumber}` (`PatchCustomer`; no `sex` — one sent is ignored).
/// `cardNumber` is an `int` (Int32) as documented: a string or a bigger number is refused (400).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EditCustomerRequest {
    #[serde(default)]
    pub new_phone: Option<String>,
    #[serde(default)]
    pub card_number: Option<i32>,
    /// Type-checked, not kept.
    #[serde(default)]
    #[allow(dead_code)]
    pub card_pin_code: Option<String>,
    /// Card (status) name.
    #[serde(default)]
    pub new_card: Option<String>,
    #[serde(rename = "fn", default)]
    pub first_name: Option<String>,
    #[serde(rename = "ln", default)]
    pub last_name: Option<String>,
    #[serde(rename = "mn", default)]
    pub middle_name: Option<String>,
    /// `ДД.ММ.ГГГГ`.
    #[serde(default)]
    pub birthday: Option<String>,
    #[serde(default)]
    pub desc: Option<String>,
    #[serde(default)]
    pub parent_phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
}

/// `PUT customer/{phoneNumber}` (`UpdateCustomer`): a full replace — every field not sent is
/// overwritten with an empty value, the card included. `newCardNumber` is an Int32.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplaceCustomerRequest {
    #[serde(default)]
    pub new_phone: Option<String>,
    #[serde(default)]
    pub new_card_number: Option<i32>,
    #[serde(default)]
    pub new_card: Option<String>,
    #[serde(default)]
    pub parentphone: Option<String>,
    #[serde(rename = "fn", default)]
    pub first_name: Option<String>,
    #[serde(rename = "ln", default)]
    pub last_name: Option<String>,
    #[serde(rename = "mn", default)]
    pub middle_name: Option<String>,
    #[serde(default)]
    pub sex: Option<u8>,
    #[serde(default)]
    pub email: Option<String>,
    /// `ДД.ММ.ГГГГ`.
    #[serde(default)]
    pub birth_day: Option<String>,
    #[serde(flatten)]
    pub extras: CustomerExtras,
}

/// `POST customer/list` (`CustomerFilter`): the filters the emulator understands; the
/// others BonusPlus documents are accepted and ignored. `skip`/`take` are the project's
/// guess at the paging fields (unconfirmed: the doc says only that the count is set in the
/// filter, at most 1000).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerFilterRequest {
    #[serde(default)]
    pub phone: Option<Vec<String>>,
    #[serde(default)]
    pub card_number: Option<Vec<String>>,
    #[serde(default)]
    pub first_name: Option<Vec<String>>,
    #[serde(default)]
    pub last_name: Option<Vec<String>>,
    #[serde(default)]
    pub middle_name: Option<Vec<String>>,
    #[serde(default)]
    pub email: Option<Vec<String>>,
    #[serde(default)]
    pub skip: Option<u32>,
    #[serde(default)]
    pub take: Option<u32>,
}

/// A card number sent to be bound: a valid EAN-8 or EAN-13.
fn check_ean(field: &str, card: &str) -> Result<(), ApiError> {
    if formats::is_valid_ean(card) {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "{field}: «{card}» is not a valid EAN-8 or EAN-13"
        )))
    }
}

fn check_sex(sex: Option<u8>) -> Result<(), ApiError> {
    match sex {
        Some(sex) if sex > 2 => Err(ApiError::bad_request("sex: must be 0, 1 or 2")),
        _ => Ok(()),
    }
}

fn check_email(email: Option<&String>) -> Result<(), ApiError> {
    match email {
        Some(email) if !email.contains('@') => {
            Err(ApiError::bad_request("email: not an e-mail address"))
        }
        _ => Ok(()),
    }
}

/// `ДД.ММ.ГГГГ` → the emulator's `YYYY-MM-DD`.
fn parse_birthday(field: &str, text: &str) -> Result<String, ApiError> {
    formats::parse_dotted_date(text)
        .map(formats::Date::iso)
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "{field}: «{text}» is not a date ДД.ММ.ГГГГ (DD.MM.YYYY)"
            ))
        })
}

impl CreateCustomerRequest {
    pub fn into_fields(self) -> Result<CreateFields, ApiError> {
        check_phone("phone", &self.phone)?;
        check_sex(self.sex)?;
        check_email(self.email.as_ref())?;
        let birth_day = self
            .birth_day
            .as_deref()
            .map(|b| parse_birthday("birthDay", b))
            .transpose()?;
        if let Some(ean) = &self.ean {
            check_ean("ean", ean)?;
        }
        if let Some(parent) = &self.parentphone {
            check_phone("parentphone", parent)?;
        }
        let reg_bonus = self.reg_bonus.unwrap_or(Decimal::ZERO);
        check_money("regBonus", reg_bonus, false)?;
        Ok(CreateFields {
            phone: self.phone,
            person: Person {
                first_name: self.first_name,
                last_name: self.last_name,
                middle_name: self.middle_name,
                sex: self.sex,
                email: self.email,
                birth_day,
            },
            ean: self.ean,
            reg_bonus,
            card_name: self.card.filter(|c| !c.trim().is_empty()),
            parent_phone: self.parentphone,
            store: self.store,
            notify: !self.no_reg_notification.unwrap_or(false),
        })
    }
}

impl EditCustomerRequest {
    pub fn into_fields(self) -> Result<EditFields, ApiError> {
        if let Some(phone) = &self.new_phone {
            check_phone("newPhone", phone)?;
        }
        let card_number = int_card("cardNumber", self.card_number)?;
        if let Some(parent) = &self.parent_phone {
            check_phone("parentPhone", parent)?;
        }
        check_email(self.email.as_ref())?;
        let birth_day = self
            .birthday
            .as_deref()
            .map(|b| parse_birthday("birthday", b))
            .transpose()?;
        Ok(EditFields {
            new_phone: self.new_phone,
            card_number,
            card_name: self.new_card.filter(|c| !c.trim().is_empty()),
            parent_phone: self.parent_phone,
            person: Person {
                first_name: self.first_name,
                last_name: self.last_name,
                middle_name: self.middle_name,
                sex: None,
                email: self.email,
                birth_day,
            },
            extras: CustomerExtras {
                desc: self.desc,
                address: self.address,
                ..CustomerExtras::default()
            },
            replace: false,
        })
    }
}

impl ReplaceCustomerRequest {
    pub fn into_fields(self) -> Result<EditFields, ApiError> {
        if let Some(phone) = &self.new_phone {
            check_phone("newPhone", phone)?;
        }
        let card_number = int_card("newCardNumber", self.new_card_number)?;
        if let Some(parent) = &self.parentphone {
            check_phone("parentphone", parent)?;
        }
        check_sex(self.sex)?;
        check_email(self.email.as_ref())?;
        let birth_day = self
            .birth_day
            .as_deref()
            .map(|b| parse_birthday("birthDay", b))
            .transpose()?;
        Ok(EditFields {
            new_phone: self.new_phone,
            card_number,
            card_name: self.new_card.filter(|c| !c.trim().is_empty()),
            parent_phone: self.parentphone,
            person: Person {
                first_name: self.first_name,
                last_name: self.last_name,
                middle_name: self.middle_name,
                sex: self.sex,
                email: self.email,
                birth_day,
            },
            extras: self.extras,
            replace: true,
        })
    }
}

/// A card number sent as the documented Int32: positive, kept as its digits.
fn int_card(field: &str, card: Option<i32>) -> Result<Option<String>, ApiError> {
    match card {
        Some(number) if number <= 0 => Err(ApiError::bad_request(format!(
            "{field}: must be a positive integer"
        ))),
        other => Ok(other.map(|number| number.to_string())),
    }
}

/// `GET customer?id=&ean=&phone=`: at least one; `id` a GUID, `ean` 8 or 13 digits,
/// `phone` digits. Other parameters (e.g. `discountCardNumber`) are not understood.
pub fn customer_query(
    query: &std::collections::HashMap<String, String>,
) -> Result<CustomerQuery, ApiError> {
    let id = query
        .get("id")
        .map(|id| {
            formats::parse_guid(id)
                .ok_or_else(|| ApiError::bad_request(format!("id: «{id}» is not a GUID")))
        })
        .transpose()?;
    let ean = query.get("ean").cloned();
    if let Some(ean) = &ean {
        if !formats::is_ean_shaped(ean) {
            return Err(ApiError::bad_request(format!(
                "ean: «{ean}» is not an EAN-8 or EAN-13 (8 or 13 digits)"
            )));
        }
    }
    let phone = query.get("phone").cloned();
    if let Some(phone) = &phone {
        check_phone("phone", phone)?;
    }
    if id.is_none() && ean.is_none() && phone.is_none() {
        return Err(ApiError::bad_request(
            "at least one of id, ean or phone is required",
        ));
    }
    Ok(CustomerQuery { id, ean, phone })
}

impl CustomerFilterRequest {
    pub fn into_filter(self) -> ListFilter {
        let take = self
            .take
            .map_or(MAX_LIST_ROWS, |t| {
                usize::try_from(t).unwrap_or(MAX_LIST_ROWS)
            })
            .min(MAX_LIST_ROWS);
        ListFilter {
            phone: self.phone,
            card_number: self.card_number,
            first_name: self.first_name,
            last_name: self.last_name,
            middle_name: self.middle_name,
            email: self.email,
            skip: self
                .skip
                .map_or(0, |s| usize::try_from(s).unwrap_or(usize::MAX)),
            take,
        }
    }
}

/// The `Customer` object as the emulator answers it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerAnswer {
    pub id: String,
    pub phone: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discount_card_number: Option<String>,
    pub discount_card_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parentphone: Option<String>,
    #[serde(serialize_with = "rust_decimal::serde::arbitrary_precision::serialize")]
    pub available_bonuses: Decimal,
    #[serde(serialize_with = "rust_decimal::serde::arbitrary_precision::serialize")]
    pub not_active_bonuses: Decimal,
    pub person: PersonAnswer,
    #[serde(flatten)]
    pub extras: CustomerExtras,
}

/// `Customer.person` (`PersonInfo`). Field names inside it are unconfirmed; the emulator
/// answers the request names (`fn`, `ln`, `mn`, `sex`, `email`) and `birthDay` rendered by
/// [`formats::answered_date`].
#[derive(Debug, Serialize)]
pub struct PersonAnswer {
    #[serde(rename = "fn", skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(rename = "ln", skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(rename = "mn", skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sex: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(rename = "birthDay", skip_serializing_if = "Option::is_none")]
    pub birth_day: Option<String>,
}

impl From<&Person> for PersonAnswer {
    fn from(person: &Person) -> Self {
        Self {
            first_name: person.first_name.clone(),
            last_name: person.last_name.clone(),
            middle_name: person.middle_name.clone(),
            sex: person.sex,
            email: person.email.clone(),
            birth_day: person.birth_day.as_deref().map(formats::answered_date),
        }
    }
}

impl From<&Customer> for CustomerAnswer {
    fn from(customer: &Customer) -> Self {
        let mut available = customer.available();
        available.rescale(2);
        let mut not_active = Decimal::ZERO;
        not_active.rescale(2);
        Self {
            id: customer.id.clone(),
            phone: customer.phone.clone(),
            discount_card_number: customer.discount_card_number.clone(),
            discount_card_name: customer.card_name.clone(),
            parentphone: customer.parent_phone.clone(),
            available_bonuses: available,
            not_active_bonuses: not_active,
            person: (&customer.person).into(),
            extras: customer.extras.clone(),
        }
    }
}

/// The answer of `POST customer/list`, shaped by the tenant's [`ListShape`] (unconfirmed;
/// this is the one place that decides it).
pub fn customer_list_answer(customers: &[&Customer], shape: ListShape) -> serde_json::Value {
    let list: Vec<CustomerAnswer> = customers.iter().map(|c| (*c).into()).collect();
    let list = serde_json::to_value(list).unwrap_or_default();
    match shape {
        ListShape::Array => list,
        ListShape::Object => serde_json::json!({ "list": list, "count": customers.len() }),
    }
}
