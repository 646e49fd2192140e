//! Delivering recorded sales and returns to BonusPlus — right after the till is answered (first
//! try, in the background of the request) or from the job queue (retries, crash recovery).
//! Must not depend on `state` or on incoming modules.
//!
//! Deliveries carry stable ids (`externalId` = our operation id, item `ext` = operation id +
//! line), so a sale delivered twice is booked once (BonusPlus refuses a repeated `externalId`,
//! which counts as delivered). A sale is recorded with whatever identifies its customer; the
//! delivery resolves it (our link of MoySklad's counterparty, the phone, the loyalty card —
//! [`crate::customers`]), registers a customer BonusPlus does not know when the account says so,
//! and books. A database or BonusPlus failure on the way is retried by the queue; a customer that
//! cannot be booked for good (not identifiable, not a member with registration off, refused by
//! BonusPlus) parks the sale as failed with the reason, for the settings page — never as done.

use std::collections::BTreeMap;

use futures::future::BoxFuture;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::payload::{Payload, ReturnPayload, SalePayload};
use super::retry::job_key;
use super::{Outbox, Record};
use crate::bonusplus::codes;
use crate::bonusplus::{
    ApiKey, BonusPlusError, CalcItem, GiftCardPayment, ReturnLine, SaleRequest, SaleResult,
};
use crate::customers::CustomerError;
use crate::domain::activity::bonus_kopecks;
use crate::domain::attention;
use crate::domain::phone::Phone;
use crate::jobs::{run_now, JobError, JobOwner};
use crate::store::{
    BookedBonuses, Job, OperationKind, OperationState, ReserveState, StoreError, DELIVER_KIND,
};

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

impl Outbox {
    /// Runs a delivery job: delivers its operation and, when the job will not be tried again,
    /// parks the operation as failed with the reason (for the settings page — never as done).
    async fn run_delivery(&self, job: &Job) -> Result<(), JobError> {
        let account = job.account_id.as_deref().unwrap_or_default();
        let Some(op) = self
            .queue
            .store
            .operation::<Payload>(account, &job.payload)
            .await?
        else {
            return Err(JobError::Permanent("the operation no longer exists".into()));
        };
        let result = self.deliver(&op).await;
        if let Err(JobError::Retry(reason)) = &result {
            self.queue
                .store
                .finish_operation(&op.id, OperationState::Pending, None, Some(reason))
                .await?;
        }
        let given_up = match &result {
            Err(JobError::Permanent(reason)) => Some(reason),
            Err(JobError::Retry(reason)) if job.is_last_attempt() => Some(reason),
            _ => None,
        };
        if let Some(reason) = given_up {
            self.queue
                .store
                .finish_operation(&op.id, OperationState::Failed, None, Some(reason))
                .await?;
        }
        result
    }

    /// Delivers a pending operation and records the outcome on it. Already finished: nothing to do.
    pub(super) async fn deliver(&self, op: &Record) -> Result<(), JobError> {
        if op.state != OperationState::Pending {
            return Ok(());
        }
        let key = self
            .accounts
            .bonusplus_key(&op.account_id)
            .await?
            .ok_or_else(|| JobError::Permanent(attention::NO_KEY.into()))?;
        match (op.kind, &op.payload) {
            (OperationKind::Sale, Payload::Sale(sale)) => self.deliver_sale(op, sale, &key).await,
            (OperationKind::Return, Payload::Return(returned)) => {
                self.deliver_return(op, returned, &key).await
            }
            (_, payload) => Err(corrupt(payload)),
        }
    }

    /// Starts the first delivery attempt of a just-recorded operation in the background, so the
    /// request that recorded it can answer at once.
    pub(super) fn deliver_soon(&self, op: Record) {
        let outbox = self.clone();
        self.deliveries.spawn(async move {
            if let Err(error) = outbox.deliver_now(&op).await {
                tracing::warn!(%error, operation = %op.id, "recorded; delivery left to the workers");
            }
        });
    }

    /// The first try, once the operation is recorded: its job, claimed with a lease and run as a
    /// worker runs it (a failure leaves it to the workers' backoff).
    pub(super) async fn deliver_now(&self, op: &Record) -> Result<(), StoreError> {
        run_now(&self.queue, self, &job_key(&op.id))
            .await
            .map(|_| ())
    }

    async fn deliver_sale(
        &self,
        op: &Record,
        payload: &SalePayload,
        key: &ApiKey,
    ) -> Result<(), JobError> {
        let phone = match &payload.phone {
            Some(phone) => phone.clone(),
            None => {
                let phone = self
                    .customers
                    .phone_of(&op.account_id, key, &payload.customer)
                    .await
                    .map_err(customer_failure)?;
                self.queue.store.set_operation_phone(&op.id, &phone).await?;
                phone
            }
        };
        // The guide's order: release the reserve, then book the sale with the same bonuses.
        let _guard = self
            .reserves
            .lock(&op.account_id, &phone, &payload.retail_store_id)
            .await;
        self.reserves
            .release_open(
                key,
                &op.account_id,
                &phone,
                &payload.retail_store_id,
                ReserveState::Consumed,
            )
            .await?;
        let request = sale_request(op, payload, phone);
        let response = match self.book(op, key, payload, &request).await? {
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
        self.queue
            .store
            .book_sale(&op.id, &response.to_string(), bonuses)
            .await?;
        Ok(())
    }

    /// `POST retail`; a customer BonusPlus does not know is registered first when the account
    /// registers at checkout, then the sale is sent again. `None`: BonusPlus had booked it already.
    async fn book(
        &self,
        op: &Record,
        key: &ApiKey,
        payload: &SalePayload,
        request: &SaleRequest,
    ) -> Result<Option<SaleResult>, JobError> {
        match self.bonusplus.sale(key, request).await {
            Ok(result) => return Ok(Some(result)),
            Err(BonusPlusError::AlreadyBooked) => return Ok(None),
            Err(BonusPlusError::NotFound) => {}
            Err(error) => return Err(error.into()),
        }
        if !self
            .queue
            .store
            .checkout_settings(&op.account_id)
            .await?
            .create_customers
        {
            return Err(JobError::Permanent(attention::NOT_A_MEMBER.into()));
        }
        self.customers
            .register(
                &op.account_id,
                key,
                &request.phone,
                &payload.customer,
                &payload.store,
            )
            .await
            .map_err(customer_failure)?;
        match self.bonusplus.sale(key, request).await {
            Ok(result) => Ok(Some(result)),
            Err(BonusPlusError::AlreadyBooked) => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    async fn deliver_return(
        &self,
        op: &Record,
        payload: &ReturnPayload,
        key: &ApiKey,
    ) -> Result<(), JobError> {
        let sale_id = op.sale_id.as_deref().unwrap_or_default();
        let sale = self
            .queue
            .store
            .operation::<Payload>(&op.account_id, sale_id)
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
                self.queue
                    .store
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
        // BonusPlus offers no idempotency key for returns: each part is marked in flight before it
        // is sent and done after, so a retry after a crash resumes where BonusPlus stopped. A part
        // that was in flight and is now refused as exceeding what is left of the line was applied
        // before the crash; a partial part in flight at a crash is the one case that may be
        // reversed twice.
        for (index, part) in payload.parts.iter().enumerate().skip(progress.done) {
            let resumed = progress.in_flight == Some(index);
            progress.in_flight = Some(index);
            self.save_progress(op, &progress).await?;
            let line = ReturnLine {
                ext: part.ext.clone(),
                sum: part.sum,
            };
            match self.bonusplus.return_line(key, &line).await {
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
            self.save_progress(op, &progress).await?;
        }
        let text = serde_json::to_string(&progress).unwrap_or_default();
        self.queue
            .store
            .finish_operation(&op.id, OperationState::Delivered, Some(&text), None)
            .await?;
        Ok(())
    }

    async fn save_progress(
        &self,
        op: &Record,
        progress: &ReturnProgress,
    ) -> Result<(), StoreError> {
        let text = serde_json::to_string(progress).unwrap_or_default();
        self.queue
            .store
            .save_operation_progress(&op.id, &text)
            .await
    }
}

impl JobOwner for Outbox {
    fn runs(&self, kind: &str) -> bool {
        kind == DELIVER_KIND
    }

    fn run<'a>(&'a self, job: &'a Job) -> BoxFuture<'a, Result<(), JobError>> {
        Box::pin(self.run_delivery(job))
    }
}

fn sale_request(op: &Record, payload: &SalePayload, phone: Phone) -> SaleRequest {
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

/// A recorded operation whose payload does not read (or is not its kind's): nothing later will
/// change that.
fn corrupt(payload: &Payload) -> JobError {
    match payload {
        Payload::Unreadable(error) => {
            tracing::error!(%error, "a recorded operation cannot be read");
        }
        _ => tracing::error!("a recorded operation carries another kind's payload"),
    }
    JobError::Permanent(attention::CORRUPT.into())
}

/// A sale's customer: what cannot be resolved will not be later either (the page says why, in
/// Russian); storage and an unavailable BonusPlus are retried.
fn customer_failure(error: CustomerError) -> JobError {
    match error {
        CustomerError::Unidentified => JobError::Permanent(attention::UNIDENTIFIED.into()),
        CustomerError::UnknownCard => JobError::Permanent(attention::UNKNOWN_CARD.into()),
        CustomerError::InvalidPhone(error) => {
            JobError::Permanent(format!("{}: {error}", attention::INVALID_PHONE))
        }
        CustomerError::BonusPlus(error) => error.into(),
        CustomerError::Store(error) => JobError::Store(error),
    }
}
