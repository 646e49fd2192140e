//! Shared service: bonus reserves — bonuses a SPENDING recalculation intends to spend are held in
//! BonusPlus until the sale, so the same bonuses cannot be spent at two tills.
//! Must not depend on `state`, on incoming modules (`loyalty_api`, `vendor_api`, `ui`) or on `jobs`.
//!
//! Reserving runs **off the cashier's critical path**: the recalc answer does not wait for it
//! ([`Reserves::hold`]). That is safe because nothing depends on the reserve succeeding — the sale
//! releases whatever is held before booking (BonusPlus checks the balance at the sale itself), and
//! a row is written *before* BonusPlus is asked, so a crash or a failure in between leaves a row
//! [`Reserves::release_expired`] reconciles: it asks BonusPlus what that reserve holds and
//! releases exactly that.
//!
//! Work on one customer's reserve at one point of sale is serialised within an instance
//! ([`Reserves::lock`]): a recalculation that arrives while the previous one's reserve is still
//! being made waits for it, then releases it, instead of racing it.
//!
//! **What is held, without the database.** An earning recalculation shows the customer's balance
//! with what our reserves hold added back ([`Reserves::held_amount`]); the sum per (account,
//! phone, point of sale) is kept in memory, read from the reserve rows once, and forgotten by every
//! instance whenever a row of it changes: here at once, elsewhere through the announcements
//! accounts and links use. The figure only shapes what the till shows — what cannot be spent twice
//! is guarded by BonusPlus itself (the reserve, and the release before every sale, both read and
//! written against the rows) — so an instance that hears a change a few milliseconds late shows a
//! balance that is late by as much, and never lets a bonus be spent twice.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rust_decimal::Decimal;
use tokio::sync::OwnedMutexGuard;

use crate::accounts::{Accounts, LoyaltyAccount};
use crate::bonusplus::{ApiKey, BonusPlusClient, BonusPlusError};
use crate::cache::UntilChanged;
use crate::domain::phone::Phone;
use crate::store::{now_ms, Change, Reserve, ReserveState, Store, StoreError};

/// Most expired reserves released in one sweep.
const EXPIRED_BATCH: i64 = 100;
/// Customers at points of sale whose held sum is kept in memory.
const HELD_CAPACITY: u64 = 200_000;
/// How long a held sum is trusted at most: a backstop for rows changed in the database by hand.
const HELD_TTL: std::time::Duration = std::time::Duration::from_secs(3600);

/// (account, phone, point of sale).
type HeldKey = (String, String, String);

/// One async lock per (account, phone, point of sale).
#[derive(Default)]
struct ReserveLocks {
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl ReserveLocks {
    async fn lock(
        &self,
        account_id: &str,
        phone: &Phone,
        retail_store_id: &str,
    ) -> OwnedMutexGuard<()> {
        let lock = {
            let mut locks = self
                .locks
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if locks.len() > 10_000 {
                locks.retain(|_, lock| Arc::strong_count(lock) > 1);
            }
            locks
                .entry(format!("{account_id}|{}|{retail_store_id}", phone.as_str()))
                .or_default()
                .clone()
        };
        lock.lock_owned().await
    }
}

/// The reserves service: what it needs of storage, BonusPlus and the accounts, and the per-customer
/// locks of this instance. Cheap to clone.
#[derive(Clone)]
pub struct Reserves {
    store: Store,
    bonusplus: BonusPlusClient,
    accounts: Accounts,
    locks: Arc<ReserveLocks>,
    /// What the active reserves of a customer at a point of sale add up to.
    held: UntilChanged<HeldKey, Decimal>,
}

impl Reserves {
    pub fn new(store: Store, bonusplus: BonusPlusClient, accounts: Accounts) -> Self {
        Reserves {
            store,
            bonusplus,
            accounts,
            locks: Arc::default(),
            held: UntilChanged::new(HELD_CAPACITY, HELD_TTL),
        }
    }

    /// Forgets the held sum of the customer at the point of sale on this instance.
    pub fn forget_held(&self, account_id: &str, phone: &str, retail_store_id: &str) {
        self.held
            .forget(&held_key(account_id, phone, retail_store_id));
    }

    /// Forgets every held sum on this instance.
    pub fn forget_all_held(&self) {
        self.held.forget_all();
    }

    /// A reserve row of the customer at the point of sale changed: forgotten here, announced to
    /// every other instance.
    fn changed(&self, account_id: &str, phone: &Phone, retail_store_id: &str) {
        self.forget_held(account_id, phone.as_str(), retail_store_id);
        self.store.announce(Change::Reserves {
            account_id: account_id.to_owned(),
            phone: phone.as_str().to_owned(),
            retail_store_id: retail_store_id.to_owned(),
        });
    }

    /// Serialises reserve work on one customer at one point of sale (within this instance).
    pub async fn lock(
        &self,
        account_id: &str,
        phone: &Phone,
        retail_store_id: &str,
    ) -> OwnedMutexGuard<()> {
        self.locks.lock(account_id, phone, retail_store_id).await
    }

    /// Holds `amount` for the customer at a point of sale, in the background.
    pub fn hold(
        &self,
        account: &LoyaltyAccount,
        phone: Phone,
        retail_store_id: String,
        amount: Decimal,
    ) {
        let reserves = self.clone();
        let key = account.key.clone();
        let account_id = account.account_id.clone();
        let ttl_ms = i64::try_from(account.reserve_ttl.as_millis()).unwrap_or(i64::MAX);
        tokio::spawn(async move {
            let _guard = reserves.lock(&account_id, &phone, &retail_store_id).await;
            if let Err(error) = reserves
                .replace(&key, &account_id, &phone, &retail_store_id, amount, ttl_ms)
                .await
            {
                tracing::warn!(%error, "could not record a bonus reserve");
            }
        });
    }

    /// One reserve per customer and point of sale: a newer recalculation replaces the older one.
    /// The caller holds the customer's lock.
    async fn replace(
        &self,
        key: &ApiKey,
        account_id: &str,
        phone: &Phone,
        retail_store_id: &str,
        amount: Decimal,
        ttl_ms: i64,
    ) -> Result<(), StoreError> {
        self.release_open(
            key,
            account_id,
            phone,
            retail_store_id,
            ReserveState::Released,
        )
        .await?;
        let row = Reserve {
            id: uuid::Uuid::new_v4().to_string(),
            account_id: account_id.to_owned(),
            phone: phone.clone(),
            retail_store_id: retail_store_id.to_owned(),
            amount,
            state: ReserveState::Intended,
            expires_at: now_ms().saturating_add(ttl_ms),
        };
        self.store.insert_reserve(&row).await?;
        let result = self.bonusplus.reserve(key, phone, &row.id, amount).await;
        let outcome = self.settle(key, &row, result).await;
        self.changed(account_id, phone, retail_store_id);
        outcome
    }

    /// Records what BonusPlus answered to the reserve of `row` (just recorded `intended`).
    async fn settle(
        &self,
        key: &ApiKey,
        row: &Reserve,
        result: Result<(), BonusPlusError>,
    ) -> Result<(), StoreError> {
        let (account_id, phone, amount) = (&row.account_id, &row.phone, row.amount);
        match result {
            Ok(()) => {
                let held = self
                    .store
                    .transition_reserve(
                        account_id,
                        &row.id,
                        ReserveState::Intended,
                        ReserveState::Active,
                    )
                    .await?;
                if !held {
                    // Released meanwhile (by another instance's sale): undo what BonusPlus now holds.
                    if self
                        .bonusplus
                        .reserve(key, phone, &row.id, -amount)
                        .await
                        .is_err()
                    {
                        tracing::warn!(reserve = %row.id, "a superseded reserve is left for the expiry worker");
                    }
                }
            }
            Err(error) if error.is_retryable() => {
                // BonusPlus may or may not hold it: the expiry worker releases it after its lifetime.
                tracing::warn!(%error, reserve = %row.id, "reserve not confirmed by BonusPlus");
            }
            Err(error) => {
                tracing::info!(%error, reserve = %row.id, "BonusPlus refused the reserve");
                self.store
                    .transition_reserve(
                        account_id,
                        &row.id,
                        ReserveState::Intended,
                        ReserveState::Released,
                    )
                    .await?;
            }
        }
        Ok(())
    }

    /// Releases every reserve held for the customer at the point of sale (before a sale, or before
    /// a newer recalculation); rows end in `final_state` (`Consumed` for a sale, `Released`
    /// otherwise). The caller holds the customer's lock. A reserve BonusPlus cannot release now
    /// stays open for the expiry worker. Returns the amount released.
    pub async fn release_open(
        &self,
        key: &ApiKey,
        account_id: &str,
        phone: &Phone,
        retail_store_id: &str,
        final_state: ReserveState,
    ) -> Result<Decimal, StoreError> {
        let open = self
            .store
            .open_reserves(account_id, phone, retail_store_id)
            .await?;
        if open.is_empty() {
            return Ok(Decimal::ZERO);
        }
        let released = self.release_rows(key, open, final_state).await;
        self.changed(account_id, phone, retail_store_id);
        released
    }

    async fn release_rows(
        &self,
        key: &ApiKey,
        open: Vec<Reserve>,
        final_state: ReserveState,
    ) -> Result<Decimal, StoreError> {
        let mut released = Decimal::ZERO;
        for reserve in open {
            let account_id = &reserve.account_id;
            // Claim the row first, so that a reserve still being made elsewhere sees it is unwanted.
            if !self
                .store
                .transition_reserve(account_id, &reserve.id, reserve.state, final_state)
                .await?
            {
                continue;
            }
            if let Err(error) = self.release_in_bonusplus(key, &reserve).await {
                tracing::warn!(%error, reserve = %reserve.id, "could not release a reserve; the expiry worker will");
                self.store
                    .transition_reserve(account_id, &reserve.id, final_state, reserve.state)
                    .await?;
                continue;
            }
            if reserve.state == ReserveState::Active {
                released += reserve.amount;
            }
        }
        Ok(released)
    }

    /// Releases in BonusPlus what a reserve row stands for. An `active` row holds its amount. An
    /// `intended` row — left by a crash or a failure between recording it and BonusPlus's answer —
    /// holds that amount or nothing: BonusPlus is asked what it holds
    /// (`GET customer/{phone}/balance/reserve/{id}`) and exactly that is released, nothing when it
    /// holds nothing (a release of a reserve never made could be refused and retried forever). A
    /// BonusPlus that does not know the question gets the recorded amount released, as before.
    async fn release_in_bonusplus(
        &self,
        key: &ApiKey,
        reserve: &Reserve,
    ) -> Result<(), BonusPlusError> {
        let amount = match reserve.state {
            ReserveState::Intended => {
                match self
                    .bonusplus
                    .reserve_held(key, &reserve.phone, &reserve.id)
                    .await
                {
                    Ok(held) => held,
                    Err(BonusPlusError::UnknownCall { status }) => {
                        tracing::info!(
                            status,
                            reserve = %reserve.id,
                            "BonusPlus does not tell what a reserve holds: releasing the recorded amount"
                        );
                        reserve.amount
                    }
                    Err(error) => return Err(error),
                }
            }
            _ => reserve.amount,
        };
        if amount <= Decimal::ZERO {
            return Ok(());
        }
        self.bonusplus
            .reserve(key, &reserve.phone, &reserve.id, -amount)
            .await
    }

    /// Total held by BonusPlus for the customer at the point of sale, as far as we know: kept in
    /// memory until a reserve of theirs there changes (see the module's header).
    pub async fn held_amount(
        &self,
        account_id: &str,
        phone: &Phone,
        retail_store_id: &str,
    ) -> Result<Decimal, StoreError> {
        let read = async {
            let open = self
                .store
                .open_reserves(account_id, phone, retail_store_id)
                .await?;
            Ok::<_, StoreError>(
                open.iter()
                    .filter(|r| r.state == ReserveState::Active)
                    .map(|r| r.amount)
                    .sum(),
            )
        };
        let key = held_key(account_id, phone.as_str(), retail_store_id);
        self.held.get_or_read(key, read).await
    }

    /// Releases reserves whose lifetime ran out (receipts that never became sales), including those
    /// a crash left between "recorded" and "made in BonusPlus". Returns how many were released.
    pub async fn release_expired(&self) -> Result<usize, StoreError> {
        let mut released = 0;
        for reserve in self.store.expired_reserves(now_ms(), EXPIRED_BATCH).await? {
            let Some(key) = self.accounts.bonusplus_key(&reserve.account_id).await? else {
                // No key any more (uninstalled): nothing can be released; close the row.
                self.store
                    .transition_reserve(
                        &reserve.account_id,
                        &reserve.id,
                        reserve.state,
                        ReserveState::Released,
                    )
                    .await?;
                continue;
            };
            if !self
                .store
                .transition_reserve(
                    &reserve.account_id,
                    &reserve.id,
                    reserve.state,
                    ReserveState::Released,
                )
                .await?
            {
                continue;
            }
            self.changed(
                &reserve.account_id,
                &reserve.phone,
                &reserve.retail_store_id,
            );
            if let Err(error) = self.release_in_bonusplus(&key, &reserve).await {
                tracing::warn!(%error, reserve = %reserve.id, "expired reserve not released yet");
                self.store
                    .transition_reserve(
                        &reserve.account_id,
                        &reserve.id,
                        ReserveState::Released,
                        reserve.state,
                    )
                    .await?;
                self.changed(
                    &reserve.account_id,
                    &reserve.phone,
                    &reserve.retail_store_id,
                );
                continue;
            }
            released += 1;
        }
        Ok(released)
    }
}

fn held_key(account_id: &str, phone: &str, retail_store_id: &str) -> HeldKey {
    (
        account_id.to_owned(),
        phone.to_owned(),
        retail_store_id.to_owned(),
    )
}
