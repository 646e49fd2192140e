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
//! One sale, from its route to `POST retail` — ten files, each entered once and always downward
//! (services → clients and storage); the till is answered after step 4:
//! 1. `loyalty_api/mod.rs` routes `POST /retaildemand` (the `Caller` extractor finds the account);
//! 2. `loyalty_api/sale.rs` reads MoySklad's receipt (`loyalty_api/wire/sale.rs`), resolves the
//!    products' ids and hands a [`NewSale`] to [`Outbox::record_sale`];
//! 3. `outbox/record.rs` builds the [`SalePayload`] and records it with its delivery job;
//! 4. `store/operations.rs` writes both in one transaction; 201 goes back to the till;
//! 5. `outbox/deliver.rs` starts the first try in the background;
//! 6. `jobs/mod.rs` ([`crate::jobs::run_now`]) claims the job and holds its lease while
//!    `deliver.rs` runs (handed over as the job's [`crate::jobs::JobOwner`], not imported);
//! 7. `customers.rs` resolves the customer by link, phone or card (registers them if need be);
//! 8. `reserves.rs` releases the customer's reserve at this point of sale;
//! 9. `bonusplus/client/retail.rs` builds `POST retail` (bodies in `bonusplus/wire/retail.rs`);
//! 10. `bonusplus/client/mod.rs` sends it; `deliver.rs` books the answer in the store.

mod deliver;
pub mod payload;
mod record;
pub mod retry;
mod returns;

use std::time::Duration;

use tokio_util::task::TaskTracker;

use crate::accounts::Accounts;
use crate::bonusplus::BonusPlusClient;
use crate::customers::Customers;
use crate::jobs::Queue;
use crate::reserves::Reserves;
use crate::store::now_ms;

pub use payload::{CertificatePayment, Payload, ReturnPayload, SalePayload, UnmatchedReturn};
pub use record::{NewReturn, NewSale, Receipt, SoldPosition};
pub use retry::retry_failed;
pub use returns::{Matched, OutboxError};

/// A recorded sale or return as the outbox reads it.
pub type Record = crate::store::Operation<Payload>;

/// What the outbox needs (the store is the queue's). Cheap to clone.
#[derive(Clone)]
pub struct Outbox {
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
}
