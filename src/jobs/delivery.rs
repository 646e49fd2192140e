//! Delivering recorded sales and returns to BonusPlus — right after the till is answered (first
//! try, in the background of the request) or from the job queue (retries, crash recovery). Deliveries carry stable ids (`externalId` = our
//! operation id, item `ext` = operation id + line), so a sale delivered twice is booked once
//! (BonusPlus refuses a repeated `externalId`, which counts as delivered).
//! Must not depend on `state` or on incoming modules: the sale handler calls in with a [`JobContext`].
//!
//! A sale is recorded with whatever identifies its customer; the delivery resolves it (our link of
//! MoySklad's counterparty, the phone, the loyalty card — [`crate::customers`]), registers a
//! customer BonusPlus does not know when the account says so, and books. A database or BonusPlus
//! failure on the way is retried by the outbox; a customer that cannot be booked for good (not
//! identifiable, not a member with registration off, refused by BonusPlus) parks the sale as
//! failed with the reason, for the settings page — never as done.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{JobContext, JobError};
use crate::bonusplus::codes;
use crate::bonusplus::{
    ApiKey, BonusPlusError, CalcItem, GiftCardPayment, ReturnLine, SaleRequest, SaleResult,
};
use crate::customers::Identity;
use crate::domain::activity::bonus_kopecks;
use crate::domain::attention;
use crate::domain::phone::Phone;
use crate::domain::returns::{ReturnPart, SoldLine};
use crate::store::{
    now_ms, BookedBonuses, NewJob, Operation, OperationKind, OperationState, ReserveState,
    StoreError,
};

pub use crate::store::DELIVER_KIND;
/// Attempts before a delivery is parked as failed (with backoff capped at 15 minutes: ~1 day).
pub const MAX_ATTEMPTS: i64 = 100;

/// What a sale operation sends to BonusPlus.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SalePayload {
    /// The BonusPlus customer's phone, when known as the sale was recorded (sales recorded before
    /// the delivery resolved customers always carry it); otherwise `customer` is resolved.
    #[serde(default)]
    pub phone: Option<Phone>,
    pub store: String,
    pub retail_store_id: String,
    pub bonus_debit: Decimal,
    pub lines: Vec<SoldLine>,
    /// Who the customer is, as the sale named them; resolved (and registered) by the delivery.
    #[serde(default)]
    pub customer: Identity,
    /// The sale's number and moment as MoySklad sent them (shown on the settings page).
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub moment: Option<String>,
    /// Gift certificates that paid part of the sale (sales recorded before certificates were
    /// supported have none).
    #[serde(default)]
    pub gift_cards: Vec<CertificatePayment>,
    /// The bonuses the sale earns as the till reported them (`bonusProgram.bonusValueToEarn`, our
    /// recalculation's answer from BonusPlus's `retail/calc`), roubles. `POST retail`'s answer
    /// carries no earned amount, so the shop's activity counts this once the sale is booked.
    #[serde(default)]
    pub bonus_earn: Decimal,
}

/// A gift certificate paying part of a sale: its BonusPlus GUID and the roubles taken from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificatePayment {
    pub id: uuid::Uuid,
    pub roubles: Decimal,
}

/// What a return operation reverses in BonusPlus.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReturnPayload {
    /// The sale's customer, when known.
    #[serde(default)]
    pub phone: Option<Phone>,
    pub parts: Vec<ReturnPart>,
    /// Returned positions that matched nothing left of the sale (reported, not booked).
    #[serde(default)]
    pub unmatched: Vec<usize>,
    /// The return's number and moment as MoySklad sent them (shown on the settings page).
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub moment: Option<String>,
}

/// Progress of a return: how many parts BonusPlus has already reversed, and the part that was
/// being sent when the progress was last saved (a crash may have left it applied or not).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct ReturnProgress {
    done: usize,
    #[serde(default)]
    in_flight: Option<usize>,
    /// BonusPlus's `returnedPurchaseId` of each part it answered one for, by part index.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    returned_purchase_ids: BTreeMap<usize, i64>,
}

pub fn job_key(operation_id: &str) -> String {
    format!("deliver:{operation_id}")
}

pub fn delivery_job(account_id: &str, operation_id: &str, run_at: i64) -> NewJob {
    NewJob {
        account_id: Some(account_id.to_owned()),
        kind: DELIVER_KIND.to_owned(),
        payload: operation_id.to_owned(),
        dedupe_key: Some(job_key(operation_id)),
        max_attempts: MAX_ATTEMPTS,
        run_at,
    }
}

/// Delivers a pending operation and records the outcome on it. Already finished: nothing to do.
pub async fn deliver(ctx: &JobContext, op: &Operation) -> Result<(), JobError> {
    if op.state != OperationState::Pending {
        return Ok(());
    }
    let key = ctx
        .accounts
        .bonusplus_key(&op.account_id)
        .await?
        .ok_or_else(|| JobError::Permanent(attention::NO_KEY.into()))?;
    match op.kind {
        OperationKind::Sale => deliver_sale(ctx, op, &key).await,
        OperationKind::Return => deliver_return(ctx, op, &key).await,
    }
}

/// Starts the first delivery attempt of a just-recorded operation in the background, so the
/// request that recorded it can answer at once.
pub fn deliver_soon(ctx: &JobContext, op: Operation) {
    let inner = ctx.clone();
    ctx.deliveries.spawn(async move {
        if let Err(error) = deliver_now(&inner, &op).await {
            tracing::warn!(%error, operation = %op.id, "recorded; delivery left to the workers");
        }
    });
}

/// The first try, started by the request once the operation is recorded: its job, claimed with
/// a lease and run as a worker runs it (a failure leaves it to the workers' backoff).
pub async fn deliver_now(ctx: &JobContext, op: &Operation) -> Result<(), StoreError> {
    super::run_now(ctx, &job_key(&op.id)).await.map(|_| ())
}

async fn deliver_sale(ctx: &JobContext, op: &Operation, key: &ApiKey) -> Result<(), JobError> {
    let payload: SalePayload = serde_json::from_str(&op.payload).map_err(corrupt)?;
    let phone = match &payload.phone {
        Some(phone) => phone.clone(),
        None => {
            let phone = ctx
                .customers
                .phone_of(&op.account_id, key, &payload.customer)
                .await?;
            ctx.store.set_operation_phone(&op.id, &phone).await?;
            phone
        }
    };
    // The guide's order: release the reserve, then book the sale with the same bonuses.
    let _guard = ctx
        .reserves
        .lock(&op.account_id, &phone, &payload.retail_store_id)
        .await;
    ctx.reserves
        .release_open(
            key,
            &op.account_id,
            &phone,
            &payload.retail_store_id,
            ReserveState::Consumed,
        )
        .await?;
    let request = sale_request(op, &payload, phone);
    let response = match book(ctx, op, key, &payload, &request).await? {
        Some(result) => serde_json::json!({
            "booked": true,
            "availableBonuses": result.customer.and_then(|c| c.available_bonuses).map(|d| d.to_string()),
        }),
        None => serde_json::json!({"booked": true, "repeated": true}),
    };
    // Spent: exactly what `POST retail` sent as bonusDebit; earned: what the sale reported.
    let bonuses = BookedBonuses {
        spent_kopecks: bonus_kopecks(payload.bonus_debit),
        earned_kopecks: bonus_kopecks(payload.bonus_earn),
    };
    ctx.store
        .book_sale(&op.id, &response.to_string(), bonuses)
        .await?;
    Ok(())
}

/// `POST retail`; a customer BonusPlus does not know is registered first when the account
/// registers at checkout, then the sale is sent again. `None`: BonusPlus had booked it already.
async fn book(
    ctx: &JobContext,
    op: &Operation,
    key: &ApiKey,
    payload: &SalePayload,
    request: &SaleRequest,
) -> Result<Option<SaleResult>, JobError> {
    match ctx.bonusplus.sale(key, request).await {
        Ok(result) => return Ok(Some(result)),
        Err(BonusPlusError::AlreadyBooked) => return Ok(None),
        Err(BonusPlusError::NotFound) => {}
        Err(error) => return Err(error.into()),
    }
    if !ctx
        .store
        .checkout_settings(&op.account_id)
        .await?
        .create_customers
    {
        return Err(JobError::Permanent(attention::NOT_A_MEMBER.into()));
    }
    ctx.customers
        .register(
            &op.account_id,
            key,
            &request.phone,
            &payload.customer,
            &payload.store,
        )
        .await?;
    match ctx.bonusplus.sale(key, request).await {
        Ok(result) => Ok(Some(result)),
        Err(BonusPlusError::AlreadyBooked) => Ok(None),
        Err(error) => Err(error.into()),
    }
}

fn sale_request(op: &Operation, payload: &SalePayload, phone: Phone) -> SaleRequest {
    SaleRequest {
        phone,
        store: payload.store.clone(),
        bonus_debit: payload.bonus_debit,
        external_id: op.id.clone(),
        coupons: None,
        items: payload
            .lines
            .iter()
            .map(|line| CalcItem {
                ext: line.ext.clone(),
                product: line.product.clone(),
                qnt: line.quantity,
                sum: line.sum,
                ds: Decimal::ZERO,
                price: Some(line.price),
                cat: None,
            })
            .collect(),
        reserve_id: None,
        gift_cards: payload
            .gift_cards
            .iter()
            .map(|card| GiftCardPayment {
                id: card.id,
                payment_sum: card.roubles,
            })
            .collect(),
    }
}

async fn deliver_return(ctx: &JobContext, op: &Operation, key: &ApiKey) -> Result<(), JobError> {
    let payload: ReturnPayload = serde_json::from_str(&op.payload).map_err(corrupt)?;
    let sale_id = op.sale_id.as_deref().unwrap_or_default();
    let sale = ctx
        .store
        .operation(&op.account_id, sale_id)
        .await?
        .ok_or_else(|| JobError::Permanent(attention::SALE_UNKNOWN.into()))?;
    match sale.state {
        OperationState::Delivered => {}
        OperationState::Pending => {
            return Err(JobError::Retry("waiting for the sale's delivery".into()))
        }
        OperationState::Failed => {
            return Err(JobError::Permanent(attention::SALE_NOT_BOOKED.into()))
        }
        OperationState::NothingToDo => {
            ctx.store
                .finish_operation(&op.id, OperationState::NothingToDo, None, None)
                .await?;
            return Ok(());
        }
        OperationState::NeedsAttention => {
            return Err(JobError::Permanent(attention::SALE_UNKNOWN.into()))
        }
    }
    let mut progress: ReturnProgress = op
        .response
        .as_deref()
        .and_then(|r| serde_json::from_str(r).ok())
        .unwrap_or_default();
    // BonusPlus offers no idempotency key for returns: each part is marked in flight before it is
    // sent and done after, so a retry after a crash resumes where BonusPlus stopped. A part that was
    // in flight and is now refused as exceeding what is left of the line was applied before the
    // crash; a partial part in flight at a crash is the one case that may be reversed twice.
    for (index, part) in payload.parts.iter().enumerate().skip(progress.done) {
        let resumed = progress.in_flight == Some(index);
        progress.in_flight = Some(index);
        save_progress(ctx, op, &progress).await?;
        let line = ReturnLine {
            ext: part.ext.clone(),
            sum: part.sum,
        };
        match ctx.bonusplus.return_line(key, &line).await {
            Ok(purchase_id) => {
                if let Some(purchase_id) = purchase_id {
                    progress.returned_purchase_ids.insert(index, purchase_id);
                }
            }
            Err(error) if resumed && error.code() == Some(codes::RETURN_SUM_TOO_BIG) => {
                tracing::warn!(operation = %op.id, part = index, "return part was applied before a crash");
            }
            Err(error) => return Err(error.into()),
        }
        progress.done = index + 1;
        progress.in_flight = None;
        save_progress(ctx, op, &progress).await?;
    }
    let text = serde_json::to_string(&progress).unwrap_or_default();
    ctx.store
        .finish_operation(&op.id, OperationState::Delivered, Some(&text), None)
        .await?;
    Ok(())
}

/// A recorded operation that no longer reads: nothing later will change that.
fn corrupt(error: serde_json::Error) -> JobError {
    tracing::error!(%error, "a recorded operation cannot be read");
    JobError::Permanent(attention::CORRUPT.into())
}

async fn save_progress(
    ctx: &JobContext,
    op: &Operation,
    progress: &ReturnProgress,
) -> Result<(), StoreError> {
    let text = serde_json::to_string(progress).unwrap_or_default();
    ctx.store.save_operation_progress(&op.id, &text).await
}

/// When a failed attempt runs again: exponential backoff from 1 s, capped at `max_backoff_ms`,
/// with up to 50 % jitter on top so that a backlog does not retry in lockstep.
pub fn retry_at(attempts: i64, max_backoff_ms: i64) -> i64 {
    use rand::Rng;
    let exponent = u32::try_from(attempts.clamp(1, 30) - 1).unwrap_or(0);
    let base_ms = 1_000i64
        .saturating_mul(1i64 << exponent)
        .min(max_backoff_ms.max(1));
    let jitter = rand::thread_rng().gen_range(0..=base_ms / 2);
    now_ms() + base_ms + jitter
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let now = now_ms();
        let cap = 15 * 60 * 1_000;
        let first = retry_at(1, cap) - now;
        assert!((1_000..=1_600).contains(&first), "{first}");
        let fifth = retry_at(5, cap) - now;
        assert!((16_000..=24_100).contains(&fifth), "{fifth}");
        let late = retry_at(60, cap) - now;
        assert!((cap..=cap * 3 / 2 + 100).contains(&late), "{late}");
        let short = retry_at(10, 2_000) - now;
        assert!((2_000..=3_100).contains(&short), "{short}");
    }

    #[test]
    fn jitter_spreads_retries() {
        let spread: std::collections::HashSet<i64> =
            (0..50).map(|_| retry_at(8, 900_000) / 10).collect();
        assert!(spread.len() > 5, "retries of one step are spread out");
    }
}
