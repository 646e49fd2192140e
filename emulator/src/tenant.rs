//! One BonusPlus account's state and the operations the API performs on it.
//! Every operation runs synchronously under the tenant's lock, so each call is atomic and
//! no lock is ever held across an `.await`.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use rust_decimal::Decimal;

use crate::calc::{self, Calculation, Line, LinePromotion, Programme};
use crate::error::{ApiError, ErrorCode};
use crate::formats;
use crate::model::{
    CertificateSnapshot, CustomerExtras, CustomerSnapshot, GiftCardPaymentSnapshot,
    ImportedProduct, NameMatch, NewCertificate, NewCustomer, Person, SaleSnapshot, SentMessage,
    SoldItemSnapshot, TenantRules, DEFAULT_CARD_NAME,
};
use crate::money::round2;

/// The sequence part of the first generated card number (`2000000000015`).
const FIRST_CARD_SEQUENCE: u64 = 1;
/// `RetailResult.id` of a tenant's first sale.
const FIRST_SALE_ID: i64 = 1_000_001;
/// `returnedPurchaseId` of a tenant's first return.
const FIRST_RETURN_ID: i64 = 5_000_001;

/// A tenant: its key can be rejected without losing its state.
#[derive(Debug)]
pub struct Tenant {
    rejected: AtomicBool,
    data: Mutex<TenantData>,
}

impl Tenant {
    pub fn new(rules: TenantRules) -> Self {
        Self {
            rejected: AtomicBool::new(false),
            data: Mutex::new(TenantData::new(rules)),
        }
    }

    pub fn is_rejected(&self) -> bool {
        self.rejected.load(Ordering::Relaxed)
    }

    pub fn set_rejected(&self, rejected: bool) {
        self.rejected.store(rejected, Ordering::Relaxed);
    }

    /// Locks the state; a poisoned lock still holds consistent data (operations validate
    /// before they mutate), so it is recovered rather than propagated.
    pub fn lock(&self) -> MutexGuard<'_, TenantData> {
        self.data
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A validated order (calc or sale).
#[derive(Debug, Clone)]
pub struct Order {
    pub phone: String,
    pub store: String,
    pub bonus_debit: Decimal,
    pub items: Vec<OrderItem>,
}

#[derive(Debug, Clone)]
pub struct OrderItem {
    pub ext: String,
    pub product: Option<String>,
    pub sum: Decimal,
    pub ds: Decimal,
}

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

/// A validated `POST retail` beyond the order itself.
#[derive(Debug, Clone)]
pub struct SaleCommand {
    pub external_id: String,
    pub reserve_id: Option<String>,
    pub gift_cards: Vec<GiftCardPayment>,
}

#[derive(Debug, Clone)]
pub struct GiftCardPayment {
    /// Normalised GUID.
    pub id: String,
    pub sum: Decimal,
}

/// What `POST retail` answers besides the customer.
#[derive(Debug, Clone)]
pub struct Receipt {
    pub id: i64,
    pub order_uid: String,
}

#[derive(Debug)]
pub struct Customer {
    pub id: String,
    pub phone: String,
    pub balance: Decimal,
    pub reserves: BTreeMap<String, Decimal>,
    known_reserves: BTreeSet<String>,
    pub person: Person,
    pub extras: CustomerExtras,
    pub discount_card_number: Option<String>,
    pub card_name: String,
    pub parent_phone: Option<String>,
    seq: u64,
    last_code: Option<String>,
    codes_sent: usize,
    messages: Vec<SentMessage>,
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

#[derive(Debug)]
struct Certificate {
    id: String,
    name: String,
    initial: Decimal,
    current: Decimal,
    expire: Option<String>,
}

impl Certificate {
    /// Derived from the balance and the expiry, as BonusPlus's (and MoySklad's) vocabulary.
    fn status(&self, now: &str) -> &'static str {
        if self.current <= Decimal::ZERO {
            "REDEEMED"
        } else if self.expire.as_deref().is_some_and(|e| e <= now) {
            "EXPIRED"
        } else if self.current < self.initial {
            "PARTIALLY_REDEEMED"
        } else {
            "CAN_BE_USED"
        }
    }

    fn snapshot(&self) -> CertificateSnapshot {
        CertificateSnapshot {
            id: self.id.clone(),
            name: self.name.clone(),
            initial_balance: self.initial,
            current_balance: self.current,
            expire: self.expire.clone(),
            status: self.status(&formats::now_utc()).to_owned(),
        }
    }
}

#[derive(Debug)]
struct Store {
    products: Vec<ImportedProduct>,
    index: HashMap<String, usize>,
}

impl Store {
    fn new() -> Self {
        Self {
            products: Vec::new(),
            index: HashMap::new(),
        }
    }

    fn upsert(&mut self, product: ImportedProduct) {
        match self.index.get(&product.id) {
            Some(&at) => self.products[at] = product,
            None => {
                self.index.insert(product.id.clone(), self.products.len());
                self.products.push(product);
            }
        }
    }

    fn has_product(&self, id: &str) -> bool {
        self.index
            .get(id)
            .is_some_and(|&at| !self.products[at].group)
    }
}

#[derive(Debug)]
struct Sale {
    id: i64,
    order_uid: String,
    external_id: String,
    reserve_id: Option<String>,
    phone: String,
    store: String,
    bonus_debit: Decimal,
    gift_cards: Vec<GiftCardPayment>,
    items: Vec<SoldItem>,
}

#[derive(Debug)]
struct SoldItem {
    ext: String,
    product: Option<String>,
    sum: Decimal,
    cb: Decimal,
    db: Decimal,
    returned_sum: Decimal,
    returned_cb: Decimal,
    returned_db: Decimal,
    returned_purchase_ids: Vec<i64>,
}

#[derive(Debug)]
pub struct TenantData {
    rules: TenantRules,
    stores: HashMap<String, Store>,
    customers: HashMap<String, Customer>,
    phone_by_card: HashMap<String, String>,
    phone_by_id: HashMap<String, String>,
    next_card_number: u64,
    next_customer_seq: u64,
    next_sale_id: i64,
    next_return_id: i64,
    promotions: HashMap<(String, String), LinePromotion>,
    sales: Vec<Sale>,
    external_ids: HashSet<String>,
    /// Sold line ext → (sale index, item index).
    sold_items: HashMap<String, (usize, usize)>,
    certificates: HashMap<String, Certificate>,
}

impl TenantData {
    fn new(rules: TenantRules) -> Self {
        let mut data = Self {
            rules: TenantRules::default(),
            stores: HashMap::new(),
            customers: HashMap::new(),
            phone_by_card: HashMap::new(),
            phone_by_id: HashMap::new(),
            next_card_number: FIRST_CARD_SEQUENCE,
            next_customer_seq: 0,
            next_sale_id: FIRST_SALE_ID,
            next_return_id: FIRST_RETURN_ID,
            promotions: HashMap::new(),
            sales: Vec::new(),
            external_ids: HashSet::new(),
            sold_items: HashMap::new(),
            certificates: HashMap::new(),
        };
        data.set_rules(rules);
        data
    }

    pub fn rules(&self) -> &TenantRules {
        &self.rules
    }

    // ----- control side -------------------------------------------------------------

    /// Replaces the programme; stores named in the rules are added (catalogues are kept).
    pub fn set_rules(&mut self, rules: TenantRules) {
        for store in &rules.stores {
            self.add_store(store);
        }
        self.rules = rules;
    }

    pub fn add_store(&mut self, name: &str) {
        self.stores
            .entry(name.to_owned())
            .or_insert_with(Store::new);
    }

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

    pub fn add_promotion(&mut self, store: &str, product: &str, promotion: LinePromotion) {
        self.promotions
            .insert((store.to_owned(), product.to_owned()), promotion);
    }

    pub fn imported_products(&self, store: &str) -> Vec<ImportedProduct> {
        self.stores
            .get(store)
            .map(|s| s.products.clone())
            .unwrap_or_default()
    }

    pub fn last_code(&self, phone: &str) -> Option<String> {
        self.customers.get(phone).and_then(|c| c.last_code.clone())
    }

    pub fn codes_sent(&self, phone: &str) -> usize {
        self.customers.get(phone).map_or(0, |c| c.codes_sent)
    }

    pub fn messages(&self, phone: &str) -> Vec<SentMessage> {
        self.customers
            .get(phone)
            .map(|c| c.messages.clone())
            .unwrap_or_default()
    }

    pub fn sale_snapshots(&self) -> Vec<SaleSnapshot> {
        self.sales.iter().map(sale_snapshot).collect()
    }

    /// Adds (or replaces) a certificate; answers its id.
    pub fn add_certificate(&mut self, new: NewCertificate) -> Result<String, ApiError> {
        let id = match new.id {
            Some(id) => formats::parse_guid(&id)
                .ok_or_else(|| ApiError::bad_request(format!("id: «{id}» is not a GUID")))?,
            None => formats::new_guid(),
        };
        let expire = new
            .expire
            .map(|e| {
                formats::parse_date_time(&e).ok_or_else(|| {
                    ApiError::bad_request(format!("expire: «{e}» is not a date or date-time"))
                })
            })
            .transpose()?;
        if new.balance < Decimal::ZERO {
            return Err(ApiError::bad_request("balance: must not be negative"));
        }
        let initial = new.initial_balance.unwrap_or(new.balance).max(new.balance);
        self.certificates.insert(
            id.clone(),
            Certificate {
                id: id.clone(),
                name: new.name,
                initial,
                current: new.balance,
                expire,
            },
        );
        Ok(id)
    }

    pub fn certificate_snapshot(&self, id: &str) -> Option<CertificateSnapshot> {
        let id = formats::parse_guid(id)?;
        self.certificates.get(&id).map(Certificate::snapshot)
    }

    // ----- customers ----------------------------------------------------------------

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

    /// Keeps the new code; answers it only if the rules reveal codes.
    pub fn send_code(&mut self, phone: &str, code: String) -> Result<Option<String>, ApiError> {
        let reveal = self.rules.reveal_codes;
        let customer = self.customer_mut(phone)?;
        customer.last_code = Some(code.clone());
        customer.codes_sent += 1;
        Ok(reveal.then_some(code))
    }

    /// A code stays valid until the next `sendCode`.
    pub fn check_code(&self, phone: &str, code: &str) -> Result<(), ApiError> {
        let customer = self.customer_by_phone(phone)?;
        if customer.last_code.as_deref() == Some(code) {
            Ok(())
        } else {
            Err(ApiError::precondition(
                ErrorCode::InvalidCode,
                "the code is wrong or was never sent",
            ))
        }
    }

    /// `sendMessage`: the text is kept for the control side.
    pub fn send_message(
        &mut self,
        phone: &str,
        text: String,
        route: Vec<String>,
    ) -> Result<(), ApiError> {
        let customer = self.customer_mut(phone)?;
        customer.messages.push(SentMessage {
            kind: "message".to_owned(),
            text,
            at: formats::now_utc(),
            route,
        });
        Ok(())
    }

    /// Positive `amount` adds to the reserve under `id`; negative releases up to what it holds.
    pub fn reserve(&mut self, phone: &str, id: &str, amount: Decimal) -> Result<(), ApiError> {
        let customer = self.customer_mut(phone)?;
        if amount > Decimal::ZERO {
            if amount > customer.available() {
                return Err(not_enough(amount, customer.available()));
            }
            *customer.reserves.entry(id.to_owned()).or_default() += amount;
            customer.known_reserves.insert(id.to_owned());
        } else if amount < Decimal::ZERO {
            release(customer, id, -amount);
        }
        Ok(())
    }

    /// What the reserve `id` holds now: 0 once released; 412 if it was never made.
    pub fn reserve_amount(&self, phone: &str, id: &str) -> Result<Decimal, ApiError> {
        let customer = self.customer_by_phone(phone)?;
        match customer.reserves.get(id) {
            Some(amount) => Ok(*amount),
            None if customer.known_reserves.contains(id) => Ok(Decimal::ZERO),
            None => Err(ApiError::precondition(
                ErrorCode::ReserveNotFound,
                format!("customer {phone} has no reserve «{id}»"),
            )),
        }
    }

    /// `DELETE customer/balance/reserve`: cancels the reserve wherever it is; an unknown id
    /// is a no-op.
    pub fn cancel_reserve(&mut self, id: &str) {
        for customer in self.customers.values_mut() {
            customer.reserves.remove(id);
        }
    }

    // ----- certificates -------------------------------------------------------------

    pub fn certificate(&self, id: &str) -> Result<CertificateSnapshot, ApiError> {
        self.certificates
            .get(id)
            .map(Certificate::snapshot)
            .ok_or_else(|| certificate_not_found(id))
    }

    // ----- retail -------------------------------------------------------------------

    /// The store is checked before the customer (the project's reading; see
    /// `unconfirmed::CALC_CHECKS_STORE_FIRST`).
    pub fn calculate(&self, order: &Order) -> Result<Calculation, ApiError> {
        self.ensure_store(&order.store)?;
        let customer = self.customer_by_phone(&order.phone)?;
        self.calculate_with(order, customer.available())
    }

    fn calculate_with(&self, order: &Order, available: Decimal) -> Result<Calculation, ApiError> {
        self.ensure_store(&order.store)?;
        let lines: Vec<Line> = order
            .items
            .iter()
            .map(|item| self.line(&order.store, item))
            .collect();
        calc::calculate(&lines, self.programme(), available, order.bonus_debit)
            .map_err(|e| not_enough(e.requested, e.max_debit))
    }

    /// Records a sale: debits `bonusDebit`, credits what the lines earn, takes the
    /// certificates' payments, and (if the rules say so) consumes the reserve `reserveId`.
    /// Everything is checked before anything changes.
    pub fn sell(
        &mut self,
        command: &SaleCommand,
        order: &Order,
    ) -> Result<(&Customer, Receipt), ApiError> {
        if self.external_ids.contains(&command.external_id) {
            return Err(ApiError::precondition(
                ErrorCode::RetailAlreadyExist,
                format!(
                    "a sale with externalId «{}» already exists",
                    command.external_id
                ),
            ));
        }
        if let Some(item) = order
            .items
            .iter()
            .find(|i| self.sold_items.contains_key(&i.ext))
        {
            return Err(ApiError::precondition(
                ErrorCode::ValidationError,
                format!("a line with ext «{}» was already sold", item.ext),
            ));
        }
        let customer = self.customer_by_phone(&order.phone)?;
        let consumed = command
            .reserve_id
            .as_ref()
            .filter(|_| self.rules.reserve_id_consumes)
            .and_then(|id| {
                customer
                    .reserves
                    .get(id)
                    .map(|amount| (id.clone(), *amount))
            });
        let available = match &consumed {
            Some((_, amount)) => {
                (customer.balance - customer.reserved() + amount).max(Decimal::ZERO)
            }
            None => customer.available(),
        };
        self.check_gift_cards(&command.gift_cards)?;
        let calculation = self.calculate_with(order, available)?;

        for payment in &command.gift_cards {
            if let Some(certificate) = self.certificates.get_mut(&payment.id) {
                certificate.current -= payment.sum;
            }
        }
        let customer = self.customer_mut(&order.phone)?;
        if let Some((id, _)) = &consumed {
            customer.reserves.remove(id);
        }
        customer.balance += calculation.earned() - order.bonus_debit;
        let receipt = self.record_sale(command, order, &calculation);
        let customer = self.customer_by_phone(&order.phone)?;
        Ok((customer, receipt))
    }

    /// Returns part of a sold line: reverses its earned and spent bonuses pro rata and
    /// answers the return's id. The reversed totals are rounded cumulatively, so the last
    /// return reverses exactly what is left and no sequence of partial returns drifts by a
    /// kopeck. Certificate payments are not given back (decision, see the wire document).
    pub fn return_item(&mut self, ext: &str, sum: Decimal) -> Result<i64, ApiError> {
        let &(sale_at, item_at) = self.sold_items.get(ext).ok_or_else(|| {
            ApiError::precondition(
                ErrorCode::RetailItemNotFound,
                format!("no sold line with ext «{ext}»"),
            )
        })?;
        let return_id = self.next_return_id;
        let sale = &mut self.sales[sale_at];
        let item = &mut sale.items[item_at];
        let returned_sum = item.returned_sum + sum;
        if returned_sum > item.sum {
            return Err(ApiError::precondition(
                ErrorCode::ReturnSumTooBig,
                format!(
                    "returning {sum} would exceed the line's {} ({} already returned)",
                    item.sum, item.returned_sum
                ),
            ));
        }
        let returned_cb = pro_rata(item.cb, returned_sum, item.sum);
        let returned_db = pro_rata(item.db, returned_sum, item.sum);
        let cb_part = returned_cb - item.returned_cb;
        let db_part = returned_db - item.returned_db;
        item.returned_sum = returned_sum;
        item.returned_cb = returned_cb;
        item.returned_db = returned_db;
        item.returned_purchase_ids.push(return_id);
        self.next_return_id += 1;
        let phone = sale.phone.clone();
        let customer = self.customer_mut(&phone)?;
        customer.balance += db_part - cb_part;
        Ok(return_id)
    }

    // ----- products -----------------------------------------------------------------

    pub fn import_products(
        &mut self,
        store: &str,
        products: Vec<ImportedProduct>,
    ) -> Result<(), ApiError> {
        let catalogue = self
            .stores
            .get_mut(store)
            .ok_or_else(|| store_not_found(store))?;
        for product in products {
            catalogue.upsert(product);
        }
        Ok(())
    }

    // ----- helpers ------------------------------------------------------------------

    fn customer_mut(&mut self, phone: &str) -> Result<&mut Customer, ApiError> {
        self.customers
            .get_mut(phone)
            .ok_or_else(|| ApiError::customer_not_found(phone))
    }

    pub fn multiplicity(&self) -> Decimal {
        self.rules.multiplicity
    }

    fn programme(&self) -> Programme {
        Programme {
            earn_percent: self.rules.earn_percent,
            max_debit_percent: self.rules.max_debit_percent,
            multiplicity: self.rules.multiplicity,
        }
    }

    fn ensure_store(&self, store: &str) -> Result<(), ApiError> {
        if self.stores.contains_key(store) {
            Ok(())
        } else {
            Err(store_not_found(store))
        }
    }

    fn check_gift_cards(&self, payments: &[GiftCardPayment]) -> Result<(), ApiError> {
        let now = formats::now_utc();
        for payment in payments {
            let certificate = self
                .certificates
                .get(&payment.id)
                .ok_or_else(|| certificate_not_found(&payment.id))?;
            let status = certificate.status(&now);
            if matches!(status, "REDEEMED" | "EXPIRED") {
                return Err(ApiError::precondition(
                    ErrorCode::CertificateNotActive,
                    format!("certificate {} is {status}", payment.id),
                ));
            }
            if payment.sum > certificate.current {
                return Err(ApiError::precondition(
                    ErrorCode::NotEnoughCertificateBalance,
                    format!(
                        "certificate {} holds {}, {} requested",
                        payment.id, certificate.current, payment.sum
                    ),
                ));
            }
        }
        Ok(())
    }

    /// A promotion fires only for a product imported into the order's store.
    fn line(&self, store: &str, item: &OrderItem) -> Line {
        let promotion = item.product.as_ref().and_then(|product| {
            let imported = self
                .stores
                .get(store)
                .is_some_and(|s| s.has_product(product));
            imported
                .then(|| {
                    self.promotions
                        .get(&(store.to_owned(), product.clone()))
                        .cloned()
                })
                .flatten()
        });
        Line {
            ext: item.ext.clone(),
            sum: item.sum,
            ds: item.ds,
            promotion,
        }
    }

    fn record_sale(
        &mut self,
        command: &SaleCommand,
        order: &Order,
        calculation: &Calculation,
    ) -> Receipt {
        let sale_at = self.sales.len();
        let items: Vec<SoldItem> = order
            .items
            .iter()
            .zip(&calculation.lines)
            .map(|(item, figures)| SoldItem {
                ext: item.ext.clone(),
                product: item.product.clone(),
                sum: item.sum,
                cb: figures.cb,
                db: figures.db,
                returned_sum: Decimal::ZERO,
                returned_cb: Decimal::ZERO,
                returned_db: Decimal::ZERO,
                returned_purchase_ids: Vec::new(),
            })
            .collect();
        for (item_at, item) in items.iter().enumerate() {
            self.sold_items.insert(item.ext.clone(), (sale_at, item_at));
        }
        let receipt = Receipt {
            id: self.next_sale_id,
            order_uid: formats::new_guid(),
        };
        self.next_sale_id += 1;
        self.external_ids.insert(command.external_id.clone());
        self.sales.push(Sale {
            id: receipt.id,
            order_uid: receipt.order_uid.clone(),
            external_id: command.external_id.clone(),
            reserve_id: command.reserve_id.clone(),
            phone: order.phone.clone(),
            store: order.store.clone(),
            bonus_debit: order.bonus_debit,
            gift_cards: command.gift_cards.clone(),
            items,
        });
        receipt
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

fn store_not_found(store: &str) -> ApiError {
    ApiError::precondition(
        ErrorCode::StoreNotFound,
        format!("store «{store}» not found"),
    )
}

fn certificate_not_found(id: &str) -> ApiError {
    ApiError::precondition(
        ErrorCode::CertificateNotFound,
        format!("certificate {id} not found"),
    )
}

fn not_enough(requested: Decimal, limit: Decimal) -> ApiError {
    ApiError::precondition(
        ErrorCode::NotEnoughBonuses,
        format!("requested {requested} bonuses, at most {limit} can be used"),
    )
}

/// Releasing more than the id holds releases it all; an unknown id is a no-op.
fn release(customer: &mut Customer, id: &str, amount: Decimal) {
    if let Some(held) = customer.reserves.get_mut(id) {
        *held -= amount.min(*held);
        if held.is_zero() {
            customer.reserves.remove(id);
        }
    }
}

/// `total × part / whole` rounded to kopecks; exactly `total` when the whole is reached.
fn pro_rata(total: Decimal, part: Decimal, whole: Decimal) -> Decimal {
    if part >= whole || whole.is_zero() {
        total
    } else {
        round2(total * part / whole)
    }
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

fn sale_snapshot(sale: &Sale) -> SaleSnapshot {
    SaleSnapshot {
        id: sale.id,
        order_uid: sale.order_uid.clone(),
        external_id: sale.external_id.clone(),
        reserve_id: sale.reserve_id.clone(),
        gift_cards: sale
            .gift_cards
            .iter()
            .map(|g| GiftCardPaymentSnapshot {
                id: g.id.clone(),
                payment_sum: g.sum,
            })
            .collect(),
        phone: sale.phone.clone(),
        store: sale.store.clone(),
        bonus_debit: sale.bonus_debit,
        earned: sale.items.iter().map(|i| i.cb).sum(),
        items: sale
            .items
            .iter()
            .map(|i| SoldItemSnapshot {
                ext: i.ext.clone(),
                product: i.product.clone(),
                sum: i.sum,
                cb: i.cb,
                db: i.db,
                returned_sum: i.returned_sum,
                returned_cb: i.returned_cb,
                returned_db: i.returned_db,
                returned_purchase_ids: i.returned_purchase_ids.clone(),
            })
            .collect(),
    }
}
