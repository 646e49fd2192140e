//! Shared service: returns and the sales they reverse, as the outbox records them — what earlier
//! returns took of a sale, which booked sale a return without its sale's id belongs to, the
//! reversal a return plans against its sale, and an administrator's match of a return that needed
//! attention. Used by the sale handler (the till) and the settings page; delivering is the job
//! queue's ([`crate::jobs::delivery`]).
//! Must not depend on `state` or on incoming modules (`loyalty_api`, `vendor_api`, `ui`).

use std::collections::HashMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::domain::returns::{pick_sale, plan_return, CandidateSale, ReturnedPosition};
use crate::jobs::delivery::{deliver_now, delivery_job, ReturnPayload, SalePayload};
use crate::jobs::JobContext;
use crate::store::{now_ms, Operation, OperationKind, OperationState, Store, StoreError};

/// Most recent sales of a customer looked at for a return without its sale's id.
const CANDIDATE_SALES: i64 = 20;
const DAY_MS: i64 = 24 * 3600 * 1000;

/// What ext → (quantity, sum) earlier returns took of a sale's lines.
pub type Taken = HashMap<String, (Decimal, Decimal)>;

/// A return whose sale was not found, as kept for an administrator: what the page shows and
/// what a match reverses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnmatchedReturn {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub moment: Option<String>,
    pub retail_store_id: String,
    #[serde(default)]
    pub counterparty_id: Option<String>,
    pub positions: Vec<ReturnedPosition>,
    /// Σ price × quantity of the positions, roubles.
    pub sum: Decimal,
}

#[derive(Debug, thiserror::Error)]
pub enum SalesError {
    /// No such return of the account, or it is not one that needs attention.
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

/// Quantities and sums of the sale's lines taken by earlier returns.
pub async fn returned_so_far(
    store: &Store,
    account_id: &str,
    sale_id: &str,
) -> Result<Taken, StoreError> {
    let mut taken = Taken::new();
    for earlier in store.returns_of_sale(account_id, sale_id).await? {
        if earlier.state == OperationState::NothingToDo {
            continue;
        }
        let Ok(payload) = serde_json::from_str::<ReturnPayload>(&earlier.payload) else {
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
pub async fn sale_of_customer(
    store: &Store,
    account_id: &str,
    retail_store_id: &str,
    counterparty_id: &str,
    window_days: i64,
    returned: &[ReturnedPosition],
) -> Result<Option<Operation>, StoreError> {
    let since = now_ms().saturating_sub(window_days.max(0).saturating_mul(DAY_MS));
    let sales = store
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
        let Ok(payload) = serde_json::from_str::<SalePayload>(&sale.payload) else {
            continue;
        };
        let taken = returned_so_far(store, account_id, &sale.id).await?;
        sold.push((sale, payload.lines, taken));
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

/// What a return of `returned` reverses of `sale` (a booked or pending sale), given what earlier
/// returns took; `None` when nothing of it is left in the sale.
pub async fn plan_against(
    store: &Store,
    sale: &Operation,
    returned: &[ReturnedPosition],
) -> Result<Option<ReturnPayload>, SalesError> {
    let sold: SalePayload = serde_json::from_str(&sale.payload)
        .map_err(|error| SalesError::Corrupt(format!("sale {}: {error}", sale.id)))?;
    let already = returned_so_far(store, &sale.account_id, &sale.id).await?;
    let plan = plan_return(&sold.lines, &already, returned);
    if plan.parts.is_empty() {
        return Ok(None);
    }
    Ok(Some(ReturnPayload {
        phone: sale.phone.clone().or(sold.phone),
        parts: plan.parts,
        unmatched: plan.unmatched,
        name: None,
        moment: None,
    }))
}

/// An administrator matches a return that needed attention to a booked sale of the account: the
/// return becomes that sale's return and is reversed once, however many times it is asked
/// (the first match wins, here or on another instance).
pub async fn match_return(
    jobs: &JobContext,
    account_id: &str,
    return_id: &str,
    sale_id: &str,
    run_at: i64,
) -> Result<Matched, SalesError> {
    let store = &jobs.store;
    let unmatched = store
        .operation(account_id, return_id)
        .await?
        .filter(|op| op.kind == OperationKind::Return)
        .ok_or(SalesError::UnknownReturn)?;
    if unmatched.state != OperationState::NeedsAttention {
        return Ok(Matched::Already);
    }
    let sale = store
        .operation(account_id, sale_id)
        .await?
        .filter(|op| op.kind == OperationKind::Sale && op.state == OperationState::Delivered)
        .ok_or(SalesError::NotBooked)?;
    let returned: UnmatchedReturn = serde_json::from_str(&unmatched.payload)
        .map_err(|error| SalesError::Corrupt(format!("return {return_id}: {error}")))?;
    let payload = ReturnPayload {
        name: returned.name,
        moment: returned.moment,
        ..plan_against(store, &sale, &returned.positions)
            .await?
            .ok_or(SalesError::NothingLeft)?
    };
    let text =
        serde_json::to_string(&payload).map_err(|error| SalesError::Corrupt(error.to_string()))?;
    let job = delivery_job(account_id, return_id, run_at);
    let phone = payload.phone.as_ref();
    if !store
        .match_return(account_id, return_id, &sale.id, phone, &text, &job)
        .await?
    {
        return Ok(Matched::Already);
    }
    if let Some(op) = store.operation(account_id, return_id).await? {
        if let Err(error) = deliver_now(jobs, &op).await {
            tracing::warn!(%error, operation = %op.id, "matched return left to the workers");
        }
    }
    Ok(Matched::Now)
}
