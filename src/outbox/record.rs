//! Recording sales and returns: each once per idempotency key, with its delivery job in one
//! transaction, before anything is sent. Must not depend on `state` or on incoming modules: the
//! sale handler reads MoySklad's receipt and hands over a [`NewSale`] or [`NewReturn`].
//!
//! The till is answered as soon as the record is durable — the sale happened in the shop — whether
//! BonusPlus books it now or the queue will; the customer is not looked up before recording (the
//! delivery resolves them), so a database that cannot record fails the request and MoySklad
//! delivers the sale again: never acknowledged and dropped.

use rust_decimal::Decimal;

use super::payload::{CertificatePayment, Payload, SalePayload, UnmatchedReturn};
use super::retry::delivery_job;
use super::returns::OutboxError;
use super::{Outbox, Record};
use crate::accounts::LoyaltyAccount;
use crate::customers::TillCustomer;
use crate::domain::phone::Phone;
use crate::domain::pricing::line_sum;
use crate::domain::returns::{ReturnedPosition, SoldLine};
use crate::store::{NewOperation, OperationKind, OperationState};

/// What every recorded sale or return is known by, as the till sent it.
#[derive(Debug, Clone)]
pub struct Receipt {
    /// The key that books it once (`domain::keys::idempotency_key`).
    pub key: String,
    /// MoySklad's id of the document, when it sent one.
    pub ms_id: Option<String>,
    /// MoySklad's point of sale.
    pub retail_store_id: String,
    /// The document's number and moment as MoySklad sent them.
    pub name: Option<String>,
    pub moment: Option<String>,
    /// What was noted on arrival (amounts rounded), for the settings page.
    pub notes: Option<String>,
}

/// A sale the till reports.
#[derive(Debug, Clone)]
pub struct NewSale {
    pub receipt: Receipt,
    /// Who the customer is; `None` or empty: an anonymous sale, acknowledged and not booked.
    pub customer: Option<TillCustomer>,
    /// Sold positions, as booked (price, quantity and line sum checked by the handler).
    pub positions: Vec<SoldPosition>,
    /// Bonuses spent (`bonusValueToSpend`), roubles, not negative.
    pub bonus_debit: Decimal,
    /// Bonuses the till says the sale earns, roubles.
    pub bonus_earn: Decimal,
    pub gift_cards: Vec<CertificatePayment>,
}

/// A sold position: the product's BonusPlus id, price, quantity and line sum (roubles).
#[derive(Debug, Clone)]
pub struct SoldPosition {
    pub product: String,
    pub price: Decimal,
    pub quantity: Decimal,
    pub sum: Decimal,
}

/// A return the till reports.
#[derive(Debug, Clone)]
pub struct NewReturn {
    pub receipt: Receipt,
    /// MoySklad's counterparty of the return, when named.
    pub counterparty_id: Option<String>,
    /// The sale `demand` names (MoySklad's id), when it names one.
    pub sale_ms_id: Option<String>,
    pub positions: Vec<ReturnedPosition>,
}

impl Outbox {
    /// Records a sale with its delivery job and starts delivering it in the background; an
    /// anonymous sale is recorded as nothing to do. A repeated key records nothing more.
    pub async fn record_sale(
        &self,
        account: &LoyaltyAccount,
        sale: NewSale,
    ) -> Result<(), OutboxError> {
        let id = uuid::Uuid::new_v4().to_string();
        let counterparty_id = sale
            .customer
            .as_ref()
            .and_then(|c| c.counterparty_id.clone());
        let mut record = Recording::new(account, OperationKind::Sale, id, &sale.receipt);
        record.counterparty_id = counterparty_id;
        let Some(customer) = sale.customer.filter(|who| !who.is_empty()) else {
            record.counterparty_id = None;
            return self
                .finished(&record, OperationState::NothingToDo, None, "anonymous sale")
                .await;
        };
        let store = account
            .bonusplus_store(&record.receipt.retail_store_id)
            .ok_or(OutboxError::UnmappedStore)?
            .to_owned();
        let lines = sale
            .positions
            .into_iter()
            .enumerate()
            .map(|(index, position)| SoldLine {
                ext: format!("{}:{index}", record.id),
                product: position.product,
                price: position.price,
                quantity: position.quantity,
                sum: position.sum,
            })
            .collect();
        let payload = SalePayload {
            phone: None,
            store,
            retail_store_id: record.receipt.retail_store_id.clone(),
            bonus_debit: sale.bonus_debit,
            lines,
            customer,
            name: record.receipt.name.clone(),
            moment: record.receipt.moment.clone(),
            gift_cards: sale.gift_cards,
            bonus_earn: sale.bonus_earn,
        };
        self.pending(&record, None, None, Payload::Sale(Box::new(payload)), true)
            .await
    }

    /// Records a return: the reversal of the sale `demand` names (else the customer's most recent
    /// booked sale at this point of sale that holds the returned goods), delivered now if that
    /// sale is booked (else once it is); nothing to do for an anonymous sale or one whose returned
    /// goods were all returned already; a return that matches no sale waits for an administrator.
    pub async fn record_return(
        &self,
        account: &LoyaltyAccount,
        returned: NewReturn,
    ) -> Result<(), OutboxError> {
        let id = uuid::Uuid::new_v4().to_string();
        let mut record = Recording::new(account, OperationKind::Return, id, &returned.receipt);
        record.counterparty_id = returned.counterparty_id.clone();
        match self.sale_of_return(account, &returned).await? {
            Some(sale) => self.reverse(&record, &sale, &returned.positions).await,
            None => self.await_sale(&record, returned.positions).await,
        }
    }

    /// The sale a return reverses: named by `demand`, else found by the customer.
    async fn sale_of_return(
        &self,
        account: &LoyaltyAccount,
        returned: &NewReturn,
    ) -> Result<Option<Record>, OutboxError> {
        if let Some(ms_id) = returned.sale_ms_id.as_deref() {
            let named: Option<Record> = self
                .queue
                .store
                .sale_by_ms_id(&account.account_id, ms_id)
                .await?;
            if named.is_some() {
                return Ok(named);
            }
        }
        let Some(counterparty_id) = returned.counterparty_id.as_deref() else {
            return Ok(None);
        };
        Ok(self
            .sale_of_customer(
                &account.account_id,
                &returned.receipt.retail_store_id,
                counterparty_id,
                account.checkout.return_window_days,
                &returned.positions,
            )
            .await?)
    }

    /// Records the return of `sale`: what it reverses, delivered now if the sale is booked (else
    /// the workers deliver it once the sale is).
    async fn reverse(
        &self,
        record: &Recording<'_>,
        sale: &Record,
        returned: &[ReturnedPosition],
    ) -> Result<(), OutboxError> {
        let planned = match sale.state {
            OperationState::NothingToDo => Err("the sale was never booked with BonusPlus"),
            _ => self
                .plan_against(sale, returned)
                .await?
                .ok_or("nothing of the sale left to return"),
        };
        let mut payload = match planned {
            Ok(payload) => payload,
            Err(why) => {
                let op = record.operation(
                    OperationState::NothingToDo,
                    Some(sale.id.clone()),
                    None,
                    Payload::Nothing,
                );
                return self.record_finished(op, why).await;
            }
        };
        payload.name = record.receipt.name.clone();
        payload.moment = record.receipt.moment.clone();
        let now = sale.state == OperationState::Delivered;
        let phone = payload.phone.clone();
        self.pending(record, Some(sale), phone, Payload::Return(payload), now)
            .await
    }

    /// Records a return whose sale was not found, for an administrator to match on the page.
    async fn await_sale(
        &self,
        record: &Recording<'_>,
        positions: Vec<ReturnedPosition>,
    ) -> Result<(), OutboxError> {
        let sum = positions
            .iter()
            .map(|position| line_sum(position.price, position.quantity))
            .sum::<Result<Decimal, _>>()
            .map_err(|error| OutboxError::Invalid(error.to_string()))?;
        let waiting = UnmatchedReturn {
            name: record.receipt.name.clone(),
            moment: record.receipt.moment.clone(),
            retail_store_id: record.receipt.retail_store_id.clone(),
            counterparty_id: record.counterparty_id.clone(),
            sum,
            positions,
        };
        let why = "Продажа этого возврата не найдена: сопоставьте его с продажей";
        let payload = Payload::ReturnAwaitingSale(waiting);
        self.finished(record, OperationState::NeedsAttention, Some(payload), why)
            .await
    }

    /// Records it with its delivery job and, when `deliver`, starts delivering it right away in
    /// the background: the till is answered as soon as the operation is durably recorded, never
    /// after BonusPlus's round trips. Whatever that first attempt meets (or a crash during it),
    /// the job is there for the workers.
    async fn pending(
        &self,
        record: &Recording<'_>,
        sale: Option<&Record>,
        phone: Option<Phone>,
        payload: Payload,
        deliver: bool,
    ) -> Result<(), OutboxError> {
        let sale_id = sale.map(|sale| sale.id.clone());
        let op = record.operation(OperationState::Pending, sale_id, phone, payload);
        let job = delivery_job(&op.account_id, &op.id, self.after_inline_grace());
        let (op, created) = self.queue.store.record_operation(&op, Some(&job)).await?;
        if created && deliver {
            self.deliver_soon(op);
        }
        Ok(())
    }

    /// Records it as finished in `outcome` (nothing to deliver), with `why`.
    async fn finished(
        &self,
        record: &Recording<'_>,
        outcome: OperationState,
        payload: Option<Payload>,
        why: &str,
    ) -> Result<(), OutboxError> {
        let payload = payload.unwrap_or(Payload::Nothing);
        self.record_finished(record.operation(outcome, None, None, payload), why)
            .await
    }

    async fn record_finished(
        &self,
        op: NewOperation<Payload>,
        why: &str,
    ) -> Result<(), OutboxError> {
        let outcome = op.state;
        let (op, created) = self.queue.store.record_operation(&op, None).await?;
        if created {
            self.queue
                .store
                .finish_operation(&op.id, outcome, None, Some(why))
                .await?;
        }
        Ok(())
    }
}

/// An operation about to be recorded: what every state of it shares.
struct Recording<'a> {
    account_id: &'a str,
    kind: OperationKind,
    id: String,
    receipt: &'a Receipt,
    counterparty_id: Option<String>,
}

impl<'a> Recording<'a> {
    fn new(
        account: &'a LoyaltyAccount,
        kind: OperationKind,
        id: String,
        receipt: &'a Receipt,
    ) -> Self {
        Recording {
            account_id: &account.account_id,
            kind,
            id,
            receipt,
            counterparty_id: None,
        }
    }

    fn operation(
        &self,
        state: OperationState,
        sale_id: Option<String>,
        phone: Option<Phone>,
        payload: Payload,
    ) -> NewOperation<Payload> {
        NewOperation {
            id: self.id.clone(),
            account_id: self.account_id.to_owned(),
            kind: self.kind,
            idempotency_key: self.receipt.key.clone(),
            ms_id: self.receipt.ms_id.clone(),
            sale_id,
            phone,
            state,
            payload,
            retail_store_id: Some(self.receipt.retail_store_id.clone()),
            counterparty_id: self.counterparty_id.clone(),
            notes: self.receipt.notes.clone(),
        }
    }
}
