//! The outbox: every sale and return the till reports, recorded once and delivered to BonusPlus
//! once. Shared service below the handlers and beside the workers: must not depend on `state` or
//! on incoming modules (`loyalty_api`, `ui`, `vendor_api`); it is handed an [`Outbox`] — the store,
//! the BonusPlus client, the reserves, the customers — and the queue runs its jobs through
//! [`JobOwner`].
//!
//! * [`payload`]: what a record carries — one [`Payload`] enum (sale, return, return waiting for
//!   its sale), stored as JSON by the store and read back typed.
//! * [`record`]: [`Outbox::record_sale`] and [`Outbox::record_return`] — each with its delivery job
//!   in one transaction, keyed by MoySklad's id (or point of sale + number + moment), so a
//!   repeated delivery of the same sale finds the record and books nothing more.
//! * [`returns`]: which sale a return reverses, what is left of it, an administrator's match.
//! * [`deliver`]: `POST retail` for a sale, `PUT retail/back` per part for a return; the first
//!   try starts right after the till is answered, retries come from the queue.
//! * [`retry`]: the delivery job, and the operator's and administrator's retries.
//!
//! One sale, from the till to BonusPlus (each file entered once, always downward):
//! 1. `routes.rs` mounts `POST /retaildemand` →
//! 2. `loyalty_api/sale.rs` reads MoySklad's receipt (`loyalty_api/wire/sale.rs`), resolves products and
//!    answers 201 once [`Outbox::record_sale`] has recorded it →
//! 3. `outbox/record.rs` builds the [`SalePayload`] and records it with its job →
//! 4. `store/operations.rs` writes both in one transaction →
//! 5. `outbox/deliver.rs` starts the first try in the background: claims the job through
//!    `jobs/mod.rs` ([`crate::jobs::run_now`], holding its lease) →
//! 6. `customers.rs` resolves (or registers) the customer, `reserves.rs` releases the reserve →
//! 7. `bonusplus/client/retail.rs` sends `POST retail` (wire types in `bonusplus/types/retail.rs`)
//!    and the store books the outcome. Seven files past the route, none of them above another's.

mod deliver;
pub mod payload;
mod record;
pub mod retry;
mod returns;

use std::time::Duration;

use futures::future::BoxFuture;
use tokio_util::task::TaskTracker;

use crate::accounts::Accounts;
use crate::bonusplus::BonusPlusClient;
use crate::customers::Customers;
use crate::jobs::{JobError, JobOwner, Queue};
use crate::reserves::Reserves;
use crate::store::{now_ms, Job, OperationState, Store, DELIVER_KIND};

pub use payload::{CertificatePayment, Payload, ReturnPayload, SalePayload, UnmatchedReturn};
pub use record::{NewReturn, NewSale, Receipt, SoldPosition};
pub use retry::retry_failed;
pub use returns::{Matched, OutboxError};

/// A recorded sale or return as the outbox reads it.
pub type Record = crate::store::Operation<Payload>;

/// What the outbox needs. Cheap to clone.
#[derive(Clone)]
pub struct Outbox {
    store: Store,
    queue: Queue,
    bonusplus: BonusPlusClient,
    accounts: Accounts,
    reserves: Reserves,
    /// Finds and registers the customers of sales.
    customers: Customers,
    /// First delivery attempts started by requests after answering the till, still running.
    deliveries: TaskTracker,
}

impl Outbox {
    pub fn new(
        queue: Queue,
        bonusplus: BonusPlusClient,
        accounts: Accounts,
        reserves: Reserves,
        customers: Customers,
    ) -> Outbox {
        Outbox {
            store: queue.store.clone(),
            queue,
            bonusplus,
            accounts,
            reserves,
            customers,
            deliveries: TaskTracker::new(),
        }
    }

    /// Waits until the first delivery attempts started so far have ended (tests, graceful stop).
    pub async fn deliveries_settled(&self) {
        while !self.deliveries.is_empty() {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Stops taking first attempts and waits up to `wait` for those running (graceful stop); any
    /// still running after that is the queue's (its job comes due after the grace).
    pub async fn close(&self, wait: Duration) {
        self.deliveries.close();
        let _ = tokio::time::timeout(wait, self.deliveries.wait()).await;
    }

    /// When a new operation's job becomes claimable by the workers: after the inline attempt (or a
    /// crash during it) had its chance.
    fn after_inline_grace(&self) -> i64 {
        let grace = i64::try_from(self.queue.settings.inline_grace_ms).unwrap_or(i64::MAX / 2);
        now_ms().saturating_add(grace)
    }

    /// Runs a delivery job: delivers its operation and, when the job will not be tried again,
    /// parks the operation as failed with the reason (for the settings page — never as done).
    async fn run_delivery(&self, job: &Job) -> Result<(), JobError> {
        let account = job.account_id.as_deref().unwrap_or_default();
        let Some(op) = self
            .store
            .operation::<Payload>(account, &job.payload)
            .await?
        else {
            return Err(JobError::Permanent("the operation no longer exists".into()));
        };
        let result = self.deliver(&op).await;
        if let Err(JobError::Retry(reason)) = &result {
            self.store
                .finish_operation(&op.id, OperationState::Pending, None, Some(reason))
                .await?;
        }
        let given_up = match &result {
            Err(JobError::Permanent(reason)) => Some(reason),
            Err(JobError::Retry(reason)) if job.is_last_attempt() => Some(reason),
            _ => None,
        };
        if let Some(reason) = given_up {
            self.store
                .finish_operation(&op.id, OperationState::Failed, None, Some(reason))
                .await?;
        }
        result
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
