//! One BonusPlus account's state: the tenant, its lock, the data its resources share. Must not
//! depend on the wire or HTTP (`wire`, `api`); operations run under the lock, never over `.await`.

mod certificates;
mod customers;
mod messages;
mod products;
mod retail;

pub use customers::{CreateFields, Customer, CustomerQuery, EditFields, ListFilter};
pub use retail::{GiftCardPayment, Order, OrderItem, SaleCommand};

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use rust_decimal::Decimal;

use crate::calc::LinePromotion;
use crate::error::{ApiError, ErrorCode};
use crate::model::TenantRules;

use certificates::Certificate;
use products::Store;
use retail::Sale;

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

    /// Replaces the programme; stores named in the rules are added (catalogues are kept).
    pub fn set_rules(&mut self, rules: TenantRules) {
        for store in &rules.stores {
            self.add_store(store);
        }
        self.rules = rules;
    }

    pub fn multiplicity(&self) -> Decimal {
        self.rules.multiplicity
    }
}

/// Raised by a reserve and by a calculation that asks for more bonuses than can be spent.
fn not_enough(requested: Decimal, limit: Decimal) -> ApiError {
    ApiError::precondition(
        ErrorCode::NotEnoughBonuses,
        format!("requested {requested} bonuses, at most {limit} can be used"),
    )
}
