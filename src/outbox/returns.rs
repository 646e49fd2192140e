//! Returns and the sales they reverse: what earlier returns took of a sale, which booked sale a
//! return without its sale's id belongs to, the reversal a return plans against its sale, and an
//! administrator's match of a return that waited for its sale. The choices are pure rules
//! (`domain::returns`); this file reads the records they choose from.
//! Must not depend on `state` or on incoming modules.

use std::collections::HashMap;

use rust_decimal::Decimal;

use super::payload::{Payload, ReturnPayload, SalePayload};
use super::retry::delivery_job;
use super::{Outbox, Record};
use crate::domain::returns::{pick_sale, plan_return, CandidateSale, ReturnedPosition};
use crate::store::{now_ms, OperationKind, OperationState, StoreError};

/// Most recent sales of a customer looked at for a return without its sale's id.
const CANDIDATE_SALES: i64 = 20;
const DAY_MS: i64 = 24 * 3600 * 1000;

/// What ext → (quantity, sum) earlier returns took of a sale's lines.
pub type Taken = HashMap<String, (Decimal, Decimal)>;

/// Why a sale or return cannot be recorded, planned or matched.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// No such return of the account, or it is not one that waits for its sale.
    #[error("no such return")]
    UnknownReturn,
    /// No such sale of the account, or it is not booked.
    #[error("the sale is not a booked sale of this account")]
    NotBooked,
    /// Nothing of the return is left to take from that sale.
    #[error("nothing of the returned goods is left in that sale")]
    NothingLeft,
    #[error("stored operation is corrupt: {0}")]
    Corrupt(String),
    /// The sale names a point of sale the account has not mapped to a BonusPlus store.
    #[error("the point of sale is not mapped to a BonusPlus store")]
    UnmappedStore,
    /// The returned positions do not add up (a sum beyond what the arithmetic takes).
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a match did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Matched {
    /// The return now reverses the sale (delivered now, or by the workers).
    Now,
    /// It had been matched or closed already (a second click, another instance): nothing done.
    Already,
}

impl Outbox {
    /// Quantities and sums of the sale's lines taken by earlier returns.
    async fn returned_so_far(&self, account_id: &str, sale_id: &str) -> Result<Taken, StoreError> {
        let mut taken = Taken::new();
        let earlier: Vec<Record> = self
            .queue
            .store
            .returns_of_sale(account_id, sale_id)
            .await?;
        for earlier in earlier {
            if earlier.state == OperationState::NothingToDo {
                continue;
            }
            let Payload::Return(payload) = earlier.payload else {
                continue;
            };
            for part in payload.parts {
                let entry = taken
                    .entry(part.ext)
                    .or_insert((Decimal::ZERO, Decimal::ZERO));
                entry.0 += part.quantity;
                entry.1 += part.sum;
            }
        }
        Ok(taken)
    }

    /// The customer's most recent booked sale at this point of sale, within the account's window,
    /// that still holds every returned product at its price and quantity (`domain::returns`).
    pub(super) async fn sale_of_customer(
        &self,
        account_id: &str,
        retail_store_id: &str,
        counterparty_id: &str,
        window_days: i64,
        returned: &[ReturnedPosition],
    ) -> Result<Option<Record>, StoreError> {
        let since = now_ms().saturating_sub(window_days.max(0).saturating_mul(DAY_MS));
        let sales: Vec<Record> = self
            .queue
            .store
            .recent_customer_sales(
                account_id,
                retail_store_id,
                counterparty_id,
                since,
                CANDIDATE_SALES,
            )
            .await?;
        let mut sold = Vec::with_capacity(sales.len());
        for sale in &sales {
            let Payload::Sale(payload) = &sale.payload else {
                continue;
            };
            let taken = self.returned_so_far(account_id, &sale.id).await?;
            sold.push((sale, &payload.lines, taken));
        }
        let candidates: Vec<CandidateSale> = sold
            .iter()
            .map(|(_, lines, taken)| CandidateSale {
                lines,
                already: taken,
            })
            .collect();
        Ok(pick_sale(&candidates, returned).map(|index| sold[index].0.clone()))
    }

    /// What a return of `returned` reverses of `sale` (a booked or pending sale), given what
    /// earlier returns took; `None` when nothing of it is left in the sale.
    pub(super) async fn plan_against(
        &self,
        sale: &Record,
        returned: &[ReturnedPosition],
    ) -> Result<Option<ReturnPayload>, OutboxError> {
        let sold: &SalePayload = match &sale.payload {
            Payload::Sale(sold) => sold,
            _ => {
                return Err(OutboxError::Corrupt(format!(
                    "sale {} does not read as a sale",
                    sale.id
                )))
            }
        };
        let already = self.returned_so_far(&sale.account_id, &sale.id).await?;
        let plan = plan_return(&sold.lines, &already, returned);
        if plan.parts.is_empty() {
            return Ok(None);
        }
        Ok(Some(ReturnPayload {
            phone: sale.phone.clone().or(sold.phone.clone()),
            parts: plan.parts,
            unmatched: plan.unmatched,
            name: None,
            moment: None,
        }))
    }

    /// An administrator matches a return that waited for its sale to a booked sale of the
    /// account: the return becomes that sale's return and is reversed once, however many times it
    /// is asked (the first match wins, here or on another instance).
    pub async fn match_return(
        &self,
        account_id: &str,
        return_id: &str,
        sale_id: &str,
    ) -> Result<Matched, OutboxError> {
        let store = &self.queue.store;
        let waiting: Record = store
            .operation(account_id, return_id)
            .await?
            .filter(|op: &Record| op.kind == OperationKind::Return)
            .ok_or(OutboxError::UnknownReturn)?;
        if waiting.state != OperationState::NeedsAttention {
            return Ok(Matched::Already);
        }
        let sale: Record = store
            .operation(account_id, sale_id)
            .await?
            .filter(|op: &Record| {
                op.kind == OperationKind::Sale && op.state == OperationState::Delivered
            })
            .ok_or(OutboxError::NotBooked)?;
        let Payload::ReturnAwaitingSale(returned) = waiting.payload else {
            return Err(OutboxError::Corrupt(format!("return {return_id}")));
        };
        let payload = ReturnPayload {
            name: returned.name,
            moment: returned.moment,
            ..self
                .plan_against(&sale, &returned.positions)
                .await?
                .ok_or(OutboxError::NothingLeft)?
        };
        let job = delivery_job(account_id, return_id, self.after_inline_grace());
        let phone = payload.phone.clone();
        let payload = Payload::Return(payload);
        if !store
            .match_return(
                account_id,
                return_id,
                &sale.id,
                phone.as_ref(),
                &payload,
                &job,
            )
            .await?
        {
            return Ok(Matched::Already);
        }
        if let Some(op) = store.operation::<Payload>(account_id, return_id).await? {
            if let Err(error) = self.deliver_now(&op).await {
                tracing::warn!(%error, operation = %op.id, "matched return left to the workers");
            }
        }
        Ok(Matched::Now)
    }
}
