//! Customers: seeding, lookup by id, card or phone, the name search, creation and edits, with
//! the card and id indexes. Must not depend on the wire or HTTP (`crate::wire`, `crate::api`).

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;

use super::TenantData;
use crate::error::{ApiError, ErrorCode};
use crate::formats;
use crate::model::{
    CustomerExtras, CustomerSnapshot, NameMatch, NewCustomer, Person, SentMessage,
    DEFAULT_CARD_NAME,
};

/// A validated `POST customer`.
#[derive(Debug, Clone)]
pub struct CreateFields {
    pub phone: String,
    pub person: Person,
    /// A valid EAN-8/13, or `None` (a card number is then assigned).
    pub ean: Option<String>,
    pub reg_bonus: Decimal,
    pub card_name: Option<String>,
    pub parent_phone: Option<String>,
    pub store: Option<String>,
    /// `!noRegNotification`: the registration notice is "texted".
    pub notify: bool,
}

/// A validated `PATCH customer/{phoneNumber}` (only what was sent) or
/// `PUT customer/{phoneNumber}` (`replace`: every field not sent is overwritten with an empty
/// value — person, extras, parent phone, card status name, and the card, which is unbound).
#[derive(Debug, Clone, Default)]
pub struct EditFields {
    pub new_phone: Option<String>,
    /// The card number to bind (sent as an Int32).
    pub card_number: Option<String>,
    pub card_name: Option<String>,
    pub parent_phone: Option<String>,
    pub person: Person,
    pub extras: CustomerExtras,
    pub replace: bool,
}

/// `GET customer?id=&ean=&phone=`: every criterion given must name the same customer.
#[derive(Debug, Clone, Default)]
pub struct CustomerQuery {
    pub id: Option<String>,
    pub ean: Option<String>,
    pub phone: Option<String>,
}

/// A validated `POST customer/list` filter. `None` or an empty list = no condition.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub phone: Option<Vec<String>>,
    pub card_number: Option<Vec<String>>,
    pub first_name: Option<Vec<String>>,
    pub last_name: Option<Vec<String>>,
    pub middle_name: Option<Vec<String>>,
    pub email: Option<Vec<String>>,
    pub skip: usize,
    pub take: usize,
}

#[derive(Debug)]
pub struct Customer {
    pub id: String,
    pub phone: String,
    pub balance: Decimal,
    pub reserves: BTreeMap<String, Decimal>,
    pub(super) known_reserves: BTreeSet<String>,
    pub person: Person,
    pub extras: CustomerExtras,
    pub discount_card_number: Option<String>,
    pub card_name: String,
    pub parent_phone: Option<String>,
    seq: u64,
    pub(super) last_code: Option<String>,
    pub(super) codes_sent: usize,
    pub(super) messages: Vec<SentMessage>,
}

impl Customer {
    pub fn reserved(&self) -> Decimal {
        self.reserves.values().copied().sum()
    }

    /// What can be spent now; never negative in answers.
    pub fn available(&self) -> Decimal {
        (self.balance - self.reserved()).max(Decimal::ZERO)
    }

    fn snapshot(&self) -> CustomerSnapshot {
        CustomerSnapshot {
            phone: self.phone.clone(),
            balance: self.balance,
            reserved: self.reserved(),
            available: self.available(),
            reserves: self.reserves.clone(),
            person: self.person.clone(),
            extras: self.extras.clone(),
            discount_card_number: self.discount_card_number.clone(),
            id: self.id.clone(),
            card_name: self.card_name.clone(),
            known_reserves: self.known_reserves.iter().cloned().collect(),
        }
    }
}

impl TenantData {
    /// Seeds a customer, replacing one with the same phone.
    pub fn seed_customer(&mut self, new: NewCustomer) {
        if let Some(old) = self.customers.remove(&new.phone) {
            self.forget(&old);
        }
        let card = new
            .discount_card_number
            .unwrap_or_else(|| self.next_free_card_number());
        let id = new
            .id
            .map(|id| formats::parse_guid(&id).unwrap_or(id))
            .unwrap_or_else(formats::new_guid);
        // A seeded card or id taken from someone else moves to the new customer.
        self.phone_by_card.insert(card.clone(), new.phone.clone());
        self.phone_by_id.insert(id.clone(), new.phone.clone());
        let seq = self.next_customer_seq;
        self.next_customer_seq += 1;
        self.customers.insert(
            new.phone.clone(),
            Customer {
                id,
                phone: new.phone,
                balance: new.balance,
                reserves: BTreeMap::new(),
                known_reserves: BTreeSet::new(),
                person: new.person,
                extras: new.extras,
                discount_card_number: Some(card),
                card_name: new
                    .card_name
                    .unwrap_or_else(|| DEFAULT_CARD_NAME.to_owned()),
                parent_phone: None,
                seq,
                last_code: None,
                codes_sent: 0,
                messages: Vec::new(),
            },
        );
    }

    /// Sets an existing customer's balance (reserves untouched); `false` if there is no such customer.
    pub fn set_balance(&mut self, phone: &str, balance: Decimal) -> bool {
        self.customers
            .get_mut(phone)
            .map(|c| c.balance = balance)
            .is_some()
    }

    /// Binds a card number (any text) to an existing customer; `false` if there is none.
    pub fn set_card(&mut self, phone: &str, card: &str) -> bool {
        if !self.customers.contains_key(phone) {
            return false;
        }
        self.bind_card(phone, card);
        true
    }

    pub fn customer_snapshot(&self, phone: &str) -> Option<CustomerSnapshot> {
        self.customers.get(phone).map(Customer::snapshot)
    }

    pub fn customer_by_phone(&self, phone: &str) -> Result<&Customer, ApiError> {
        self.customers
            .get(phone)
            .ok_or_else(|| ApiError::customer_not_found(phone))
    }

    /// `GET customer`: every criterion given must lead to the same customer.
    pub fn find_customer(&self, query: &CustomerQuery) -> Result<&Customer, ApiError> {
        let by_id = query.id.as_ref().map(|id| self.phone_by_id.get(id));
        let by_ean = query.ean.as_ref().map(|ean| self.phone_by_card.get(ean));
        let by_phone = query
            .phone
            .as_ref()
            .map(|phone| self.customers.get_key_value(phone).map(|(k, _)| k));
        let mut found: Option<&String> = None;
        for hit in [by_id, by_ean, by_phone].into_iter().flatten() {
            match (hit, found) {
                (None, _) => return Err(not_found_by(query)),
                (Some(phone), Some(earlier)) if phone != earlier => {
                    return Err(not_found_by(query))
                }
                (Some(phone), _) => found = Some(phone),
            }
        }
        found
            .and_then(|phone| self.customers.get(phone))
            .ok_or_else(|| not_found_by(query))
    }

    /// `POST customer/list`: customers in creation order, `skip`ped and `take`n.
    pub fn list_customers(&self, filter: &ListFilter) -> Vec<&Customer> {
        let mode = self.rules.customer_list_match;
        let mut found: Vec<&Customer> = self
            .customers
            .values()
            .filter(|c| {
                exact_in(filter.phone.as_ref(), Some(&c.phone))
                    && exact_in(filter.card_number.as_ref(), c.discount_card_number.as_ref())
                    && name_in(
                        filter.first_name.as_ref(),
                        c.person.first_name.as_ref(),
                        mode,
                    )
                    && name_in(filter.last_name.as_ref(), c.person.last_name.as_ref(), mode)
                    && name_in(
                        filter.middle_name.as_ref(),
                        c.person.middle_name.as_ref(),
                        mode,
                    )
                    && name_in(filter.email.as_ref(), c.person.email.as_ref(), mode)
            })
            .collect();
        found.sort_by_key(|c| c.seq);
        found
            .into_iter()
            .skip(filter.skip)
            .take(filter.take)
            .collect()
    }

    pub fn create_customer(&mut self, fields: CreateFields) -> Result<&Customer, ApiError> {
        if self.customers.contains_key(&fields.phone) {
            return Err(already_exists(&fields.phone));
        }
        if let Some(store) = &fields.store {
            self.ensure_store(store)?;
        }
        self.ensure_card_is_free(fields.ean.as_deref(), &fields.phone)?;
        let phone = fields.phone.clone();
        self.seed_customer(NewCustomer {
            phone: fields.phone,
            balance: fields.reg_bonus,
            person: fields.person,
            discount_card_number: fields.ean,
            id: None,
            card_name: fields.card_name,
            extras: CustomerExtras::default(),
        });
        let customer = self.customer_mut(&phone)?;
        customer.parent_phone = fields.parent_phone;
        if fields.notify {
            customer.messages.push(SentMessage {
                kind: "registration".to_owned(),
                text: "Вы зарегистрированы в программе лояльности".to_owned(),
                at: formats::now_utc(),
                route: Vec::new(),
            });
        }
        self.customer_by_phone(&phone)
    }

    /// `PATCH` / `PUT customer/{phoneNumber}`: validates everything, then changes.
    pub fn edit_customer(
        &mut self,
        phone: &str,
        fields: EditFields,
    ) -> Result<&Customer, ApiError> {
        self.customer_by_phone(phone)?;
        let new_phone = fields.new_phone.clone().filter(|p| p != phone);
        if let Some(new_phone) = &new_phone {
            if self.customers.contains_key(new_phone) {
                return Err(already_exists(new_phone));
            }
        }
        self.ensure_card_is_free(fields.card_number.as_deref(), phone)?;

        let customer = self.customer_mut(phone)?;
        if fields.replace {
            customer.person = fields.person;
            customer.extras = fields.extras;
            customer.card_name = fields.card_name.unwrap_or_default();
            customer.parent_phone = fields.parent_phone;
            if fields.card_number.is_none() {
                self.unbind_card(phone);
            }
        } else {
            merge_person(&mut customer.person, fields.person);
            merge_extras(&mut customer.extras, fields.extras);
            if let Some(name) = fields.card_name {
                customer.card_name = name;
            }
            if let Some(parent) = fields.parent_phone {
                customer.parent_phone = Some(parent);
            }
        }
        if let Some(card) = fields.card_number {
            self.bind_card(phone, &card);
        }
        match new_phone {
            Some(new_phone) => {
                self.change_phone(phone, &new_phone);
                self.customer_by_phone(&new_phone)
            }
            None => self.customer_by_phone(phone),
        }
    }

    pub(super) fn customer_mut(&mut self, phone: &str) -> Result<&mut Customer, ApiError> {
        self.customers
            .get_mut(phone)
            .ok_or_else(|| ApiError::customer_not_found(phone))
    }

    fn ensure_card_is_free(&self, card: Option<&str>, phone: &str) -> Result<(), ApiError> {
        match card.and_then(|c| self.phone_by_card.get(c)) {
            Some(owner) if owner != phone => Err(ApiError::precondition(
                ErrorCode::ValidationError,
                "the discount card belongs to another customer",
            )),
            _ => Ok(()),
        }
    }

    /// Takes the card away from `phone` (a full PUT that sent none).
    fn unbind_card(&mut self, phone: &str) {
        let Some(customer) = self.customers.get_mut(phone) else {
            return;
        };
        if let Some(old) = customer.discount_card_number.take() {
            if self.phone_by_card.get(&old).is_some_and(|p| p == phone) {
                self.phone_by_card.remove(&old);
            }
        }
    }

    /// Gives `phone` the card `card`, releasing its previous one.
    fn bind_card(&mut self, phone: &str, card: &str) {
        if let Some(customer) = self.customers.get_mut(phone) {
            if let Some(old) = customer.discount_card_number.replace(card.to_owned()) {
                if self.phone_by_card.get(&old).is_some_and(|p| p == phone) {
                    self.phone_by_card.remove(&old);
                }
            }
            self.phone_by_card.insert(card.to_owned(), phone.to_owned());
        }
    }

    /// Moves a customer to a new phone, with everything that refers to the phone.
    fn change_phone(&mut self, old: &str, new: &str) {
        let Some(mut customer) = self.customers.remove(old) else {
            return;
        };
        customer.phone = new.to_owned();
        if let Some(card) = &customer.discount_card_number {
            self.phone_by_card.insert(card.clone(), new.to_owned());
        }
        self.phone_by_id.insert(customer.id.clone(), new.to_owned());
        for sale in self.sales.iter_mut().filter(|s| s.phone == old) {
            sale.phone = new.to_owned();
        }
        self.customers.insert(new.to_owned(), customer);
    }

    /// An EAN-13 in the in-store range: `2`, an 11-digit sequence, the check digit.
    fn next_free_card_number(&mut self) -> String {
        loop {
            let body = format!("2{:011}", self.next_card_number);
            self.next_card_number += 1;
            let card = format!("{body}{}", formats::ean_check_digit(&body));
            if !self.phone_by_card.contains_key(&card) {
                return card;
            }
        }
    }

    fn forget(&mut self, customer: &Customer) {
        if let Some(card) = &customer.discount_card_number {
            if self
                .phone_by_card
                .get(card)
                .is_some_and(|p| *p == customer.phone)
            {
                self.phone_by_card.remove(card);
            }
        }
        if self
            .phone_by_id
            .get(&customer.id)
            .is_some_and(|p| *p == customer.phone)
        {
            self.phone_by_id.remove(&customer.id);
        }
    }
}

fn exact_in(values: Option<&Vec<String>>, field: Option<&String>) -> bool {
    match values {
        None => true,
        Some(values) if values.is_empty() => true,
        Some(values) => field.is_some_and(|f| values.iter().any(|v| v == f)),
    }
}

fn name_in(values: Option<&Vec<String>>, field: Option<&String>, mode: NameMatch) -> bool {
    match values {
        None => true,
        Some(values) if values.is_empty() => true,
        Some(values) => field.is_some_and(|field| {
            let field = field.to_lowercase();
            values.iter().any(|v| {
                let v = v.to_lowercase();
                match mode {
                    NameMatch::Exact => field == v,
                    NameMatch::Prefix => field.starts_with(&v),
                }
            })
        }),
    }
}

fn not_found_by(query: &CustomerQuery) -> ApiError {
    let described: Vec<String> = [
        ("id", &query.id),
        ("ean", &query.ean),
        ("phone", &query.phone),
    ]
    .into_iter()
    .filter_map(|(name, value)| value.as_ref().map(|v| format!("{name}={v}")))
    .collect();
    ApiError::precondition(
        ErrorCode::CustomerNotFound,
        format!("no customer with {}", described.join(", ")),
    )
}

fn already_exists(phone: &str) -> ApiError {
    ApiError::precondition(
        ErrorCode::CustomerAlreadyExist,
        format!("customer {phone} already exists"),
    )
}

/// PATCH semantics for the extras: what was sent replaces, what was not stays.
fn merge_extras(extras: &mut CustomerExtras, update: CustomerExtras) {
    let CustomerExtras {
        desc,
        address,
        profile_instagram,
        profile_vkontakte,
        profile_odnoklassniki,
        disable_promo_sms,
    } = update;
    extras.desc = desc.or(extras.desc.take());
    extras.address = address.or(extras.address.take());
    extras.profile_instagram = profile_instagram.or(extras.profile_instagram.take());
    extras.profile_vkontakte = profile_vkontakte.or(extras.profile_vkontakte.take());
    extras.profile_odnoklassniki = profile_odnoklassniki.or(extras.profile_odnoklassniki.take());
    extras.disable_promo_sms = disable_promo_sms.or(extras.disable_promo_sms);
}

/// PATCH semantics: what was sent replaces, what was not stays.
fn merge_person(person: &mut Person, update: Person) {
    let Person {
        first_name,
        last_name,
        middle_name,
        sex,
        email,
        birth_day,
    } = update;
    person.first_name = first_name.or(person.first_name.take());
    person.last_name = last_name.or(person.last_name.take());
    person.middle_name = middle_name.or(person.middle_name.take());
    person.sex = sex.or(person.sex);
    person.email = email.or(person.email.take());
    person.birth_day = birth_day.or(person.birth_day.take());
}
