//! Retail: bonus reserves, the calculation, sales (bonuses, reserve, certificates) and returns.
//! Must not depend on the wire or HTTP (`wire`, `api`); on customers only through `TenantData`.

use rust_decimal::Decimal;

use super::{not_enough, Customer, TenantData};
use crate::calc::{self, Calculation, Line, LinePromotion, Programme};
use crate::error::{ApiError, ErrorCode};
use crate::formats;
use crate::model::{GiftCardPaymentSnapshot, SaleSnapshot, SoldItemSnapshot};
use crate::money::round2;

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
pub(super) struct Sale {
    id: i64,
    order_uid: String,
    external_id: String,
    reserve_id: Option<String>,
    pub(super) phone: String,
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

impl TenantData {
    pub fn add_promotion(&mut self, store: &str, product: &str, promotion: LinePromotion) {
        self.promotions
            .insert((store.to_owned(), product.to_owned()), promotion);
    }

    pub fn sale_snapshots(&self) -> Vec<SaleSnapshot> {
        self.sales.iter().map(sale_snapshot).collect()
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

    /// The store is checked before the customer (the project's reading; see
    /// `wire_assumptions::CALC_CHECKS_STORE_FIRST`).
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
