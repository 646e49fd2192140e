//! One BonusPlus account's state and the operations the API performs on it.
//! Every operation runs synchronously under the tenant's lock, so each call is atomic and
//! no lock is ever held across an `.await`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use rust_decimal::Decimal;

use crate::calc::{self, Calculation, Line, LinePromotion, Programme};
use crate::error::{ApiError, ErrorCode};
use crate::model::{
    CustomerSnapshot, ImportedProduct, NewCustomer, Person, SaleSnapshot, SoldItemSnapshot,
    TenantRules,
};
use crate::money::round2;

/// The first generated discount card number.
const FIRST_CARD_NUMBER: u64 = 2_000_001;

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

/// A validated customer create/update.
#[derive(Debug, Clone)]
pub struct CustomerFields {
    pub phone: String,
    pub person: Person,
    pub discount_card_number: Option<String>,
}

#[derive(Debug)]
pub struct Customer {
    pub phone: String,
    pub balance: Decimal,
    pub reserves: BTreeMap<String, Decimal>,
    pub person: Person,
    pub discount_card_number: Option<String>,
    last_code: Option<String>,
    codes_sent: usize,
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
            discount_card_number: self.discount_card_number.clone(),
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
    external_id: String,
    phone: String,
    store: String,
    bonus_debit: Decimal,
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
}

#[derive(Debug)]
pub struct TenantData {
    rules: TenantRules,
    stores: HashMap<String, Store>,
    customers: HashMap<String, Customer>,
    phone_by_card: HashMap<String, String>,
    next_card_number: u64,
    promotions: HashMap<(String, String), LinePromotion>,
    sales: Vec<Sale>,
    external_ids: HashSet<String>,
    /// Sold line ext → (sale index, item index).
    sold_items: HashMap<String, (usize, usize)>,
}

impl TenantData {
    fn new(rules: TenantRules) -> Self {
        let mut data = Self {
            rules: TenantRules::default(),
            stores: HashMap::new(),
            customers: HashMap::new(),
            phone_by_card: HashMap::new(),
            next_card_number: FIRST_CARD_NUMBER,
            promotions: HashMap::new(),
            sales: Vec::new(),
            external_ids: HashSet::new(),
            sold_items: HashMap::new(),
        };
        data.set_rules(rules);
        data
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
            self.forget_card(&old);
        }
        let card = new
            .discount_card_number
            .unwrap_or_else(|| self.next_free_card_number());
        self.phone_by_card.insert(card.clone(), new.phone.clone());
        self.customers.insert(
            new.phone.clone(),
            Customer {
                phone: new.phone,
                balance: new.balance,
                reserves: BTreeMap::new(),
                person: new.person,
                discount_card_number: Some(card),
                last_code: None,
                codes_sent: 0,
            },
        );
    }

    /// Sets a customer's balance (reserves untouched); `false` if there is no such customer.
    pub fn set_balance(&mut self, phone: &str, balance: Decimal) -> bool {
        self.customers
            .get_mut(phone)
            .map(|c| c.balance = balance)
            .is_some()
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

    pub fn sale_snapshots(&self) -> Vec<SaleSnapshot> {
        self.sales.iter().map(sale_snapshot).collect()
    }

    // ----- customers ----------------------------------------------------------------

    pub fn customer_by_phone(&self, phone: &str) -> Result<&Customer, ApiError> {
        self.customers
            .get(phone)
            .ok_or_else(|| ApiError::customer_not_found(phone))
    }

    pub fn customer_by_card(&self, card: &str) -> Result<&Customer, ApiError> {
        self.phone_by_card
            .get(card)
            .and_then(|phone| self.customers.get(phone))
            .ok_or_else(|| {
                ApiError::precondition(
                    ErrorCode::CustomerNotFound,
                    format!("no customer with discount card {card}"),
                )
            })
    }

    pub fn customer_count(&self) -> usize {
        self.customers.len()
    }

    pub fn create_customer(&mut self, fields: CustomerFields) -> Result<&Customer, ApiError> {
        if self.customers.contains_key(&fields.phone) {
            return Err(ApiError::precondition(
                ErrorCode::CustomerAlreadyExist,
                format!("customer {} already exists", fields.phone),
            ));
        }
        self.ensure_card_is_free(fields.discount_card_number.as_deref(), &fields.phone)?;
        let phone = fields.phone.clone();
        self.seed_customer(NewCustomer {
            phone: fields.phone,
            balance: Decimal::ZERO,
            person: fields.person,
            discount_card_number: fields.discount_card_number,
        });
        self.customer_by_phone(&phone)
    }

    /// Overwrites the fields that were sent; absent ones keep their value.
    pub fn update_customer(&mut self, fields: CustomerFields) -> Result<&Customer, ApiError> {
        self.customer_by_phone(&fields.phone)?;
        self.ensure_card_is_free(fields.discount_card_number.as_deref(), &fields.phone)?;
        let customer = self
            .customers
            .get_mut(&fields.phone)
            .ok_or_else(|| ApiError::customer_not_found(&fields.phone))?;
        merge_person(&mut customer.person, fields.person);
        if let Some(card) = fields.discount_card_number {
            if let Some(old) = customer.discount_card_number.replace(card.clone()) {
                self.phone_by_card.remove(&old);
            }
            self.phone_by_card.insert(card, fields.phone.clone());
        }
        self.customer_by_phone(&fields.phone)
    }

    /// Keeps `code` as the one to check; a new code replaces the previous one.
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

    /// Positive `amount` adds to the reserve under `id`; negative releases up to what it holds.
    pub fn reserve(&mut self, phone: &str, id: &str, amount: Decimal) -> Result<(), ApiError> {
        let customer = self.customer_mut(phone)?;
        if amount > Decimal::ZERO {
            if amount > customer.available() {
                return Err(not_enough(amount, customer.available()));
            }
            *customer.reserves.entry(id.to_owned()).or_default() += amount;
        } else if amount < Decimal::ZERO {
            release(customer, id, -amount);
        }
        Ok(())
    }

    // ----- retail -------------------------------------------------------------------

    pub fn calculate(&self, order: &Order) -> Result<Calculation, ApiError> {
        let customer = self.customer_by_phone(&order.phone)?;
        if !self.stores.contains_key(&order.store) {
            return Err(ApiError::precondition(
                ErrorCode::StoreNotFound,
                format!("store «{}» not found", order.store),
            ));
        }
        let lines: Vec<Line> = order
            .items
            .iter()
            .map(|item| self.line(&order.store, item))
            .collect();
        calc::calculate(
            &lines,
            self.programme(),
            customer.available(),
            order.bonus_debit,
        )
        .map_err(|e| not_enough(e.requested, e.max_debit))
    }

    /// Records a sale: debits `bonusDebit`, credits what the lines earn.
    pub fn sell(
        &mut self,
        external_id: &str,
        order: &Order,
    ) -> Result<(&Customer, Calculation), ApiError> {
        if self.external_ids.contains(external_id) {
            return Err(ApiError::precondition(
                ErrorCode::RetailAlreadyExist,
                format!("a sale with externalId «{external_id}» already exists"),
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
        let calculation = self.calculate(order)?;
        let customer = self.customer_mut(&order.phone)?;
        customer.balance += calculation.earned() - order.bonus_debit;
        self.record_sale(external_id, order, &calculation);
        let customer = self.customer_by_phone(&order.phone)?;
        Ok((customer, calculation))
    }

    /// Returns part of a sold line: reverses its earned and spent bonuses pro rata.
    /// The reversed totals are rounded cumulatively, so the last return reverses exactly
    /// what is left and no sequence of partial returns drifts by a kopeck.
    pub fn return_item(&mut self, ext: &str, sum: Decimal) -> Result<(), ApiError> {
        let &(sale_at, item_at) = self.sold_items.get(ext).ok_or_else(|| {
            ApiError::precondition(
                ErrorCode::RetailItemNotFound,
                format!("no sold line with ext «{ext}»"),
            )
        })?;
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
        let phone = sale.phone.clone();
        let customer = self.customer_mut(&phone)?;
        customer.balance += db_part - cb_part;
        Ok(())
    }

    // ----- products -----------------------------------------------------------------

    pub fn import_products(
        &mut self,
        store: &str,
        products: Vec<ImportedProduct>,
    ) -> Result<(), ApiError> {
        let catalogue = self.stores.get_mut(store).ok_or_else(|| {
            ApiError::precondition(
                ErrorCode::StoreNotFound,
                format!("store «{store}» not found"),
            )
        })?;
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

    fn record_sale(&mut self, external_id: &str, order: &Order, calculation: &Calculation) {
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
            })
            .collect();
        for (item_at, item) in items.iter().enumerate() {
            self.sold_items.insert(item.ext.clone(), (sale_at, item_at));
        }
        self.external_ids.insert(external_id.to_owned());
        self.sales.push(Sale {
            external_id: external_id.to_owned(),
            phone: order.phone.clone(),
            store: order.store.clone(),
            bonus_debit: order.bonus_debit,
            items,
        });
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

    fn next_free_card_number(&mut self) -> String {
        loop {
            let card = self.next_card_number.to_string();
            self.next_card_number += 1;
            if !self.phone_by_card.contains_key(&card) {
                return card;
            }
        }
    }

    fn forget_card(&mut self, customer: &Customer) {
        if let Some(card) = &customer.discount_card_number {
            self.phone_by_card.remove(card);
        }
    }
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
        external_id: sale.external_id.clone(),
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
            })
            .collect(),
    }
}
