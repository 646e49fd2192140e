//! Bonus reserves: bonuses a SPENDING recalculation intends to spend are held in BonusPlus until
//! the sale, so the same bonuses cannot be spent at two tills.
//!
//! Reserving runs **off the cashier's critical path**: the recalc answer does not wait for it. That
//! is safe because nothing depends on the reserve succeeding — the sale releases whatever is held
//! before booking (BonusPlus checks the balance at the sale itself), and a row is written *before*
//! BonusPlus is asked, so a crash or a failure in between leaves a row the expiry worker reconciles
//! (it releases the amount; releasing what BonusPlus never held is a no-op there).
//!
//! Work on one customer's reserve at one point of sale is serialised within an instance
//! ([`ReserveLocks`]): a recalculation that arrives while the previous one's reserve is still being
//! made waits for it, then releases it, instead of racing it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rust_decimal::Decimal;
use tokio::sync::OwnedMutexGuard;

use super::context::LoyaltyAccount;
use crate::bonusplus::ApiKey;
use crate::domain::phone::Phone;
use crate::startup::AppState;
use crate::store::{now_ms, Reserve, ReserveState, StoreError};

/// One async lock per (account, phone, point of sale).
#[derive(Default)]
pub struct ReserveLocks {
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl ReserveLocks {
    pub async fn lock(
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

/// Holds `amount` for the customer at a point of sale, in the background.
pub fn reserve_in_background(
    state: AppState,
    account: &LoyaltyAccount,
    phone: Phone,
    retail_store_id: String,
    amount: Decimal,
) {
    let key = account.key.clone();
    let account_id = account.account_id.clone();
    let ttl_ms = i64::try_from(account.reserve_ttl.as_millis()).unwrap_or(i64::MAX);
    tokio::spawn(async move {
        let _guard = state
            .reserve_locks
            .lock(&account_id, &phone, &retail_store_id)
            .await;
        if let Err(error) = reserve(
            &state,
            &key,
            &account_id,
            &phone,
            &retail_store_id,
            amount,
            ttl_ms,
        )
        .await
        {
            tracing::warn!(%error, "could not record a bonus reserve");
        }
    });
}

async fn reserve(
    state: &AppState,
    key: &ApiKey,
    account_id: &str,
    phone: &Phone,
    retail_store_id: &str,
    amount: Decimal,
    ttl_ms: i64,
) -> Result<(), StoreError> {
    // One reserve per customer and point of sale: a newer recalculation replaces the older one.
    release_open(
        state,
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
        phone: phone.as_str().to_owned(),
        retail_store_id: retail_store_id.to_owned(),
        amount: amount.to_string(),
        state: ReserveState::Intended,
        expires_at: now_ms().saturating_add(ttl_ms),
    };
    state.store.insert_reserve(&row).await?;
    match state.bonusplus.reserve(key, phone, &row.id, amount).await {
        Ok(()) => {
            let held = state
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
                if state
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
            state
                .store
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

/// Releases every reserve held for the customer at the point of sale (before a sale, or before a
/// newer recalculation); rows end in `final_state` (`Consumed` for a sale, `Released` otherwise).
/// The caller holds the customer's [`ReserveLocks`] lock. A reserve BonusPlus cannot release now
/// stays open for the expiry worker. Returns the amount released.
pub async fn release_open(
    state: &AppState,
    key: &ApiKey,
    account_id: &str,
    phone: &Phone,
    retail_store_id: &str,
    final_state: ReserveState,
) -> Result<Decimal, StoreError> {
    let mut released = Decimal::ZERO;
    for reserve in state
        .store
        .open_reserves(account_id, phone.as_str(), retail_store_id)
        .await?
    {
        let Ok(amount) = reserve.amount.parse::<Decimal>() else {
            continue;
        };
        // Claim the row first, so that a reserve still being made elsewhere sees it is unwanted.
        if !state
            .store
            .transition_reserve(account_id, &reserve.id, reserve.state, final_state)
            .await?
        {
            continue;
        }
        // An `intended` row may or may not be held by BonusPlus; releasing is harmless either way.
        if let Err(error) = state
            .bonusplus
            .reserve(key, phone, &reserve.id, -amount)
            .await
        {
            tracing::warn!(%error, reserve = %reserve.id, "could not release a reserve; the expiry worker will");
            state
                .store
                .transition_reserve(account_id, &reserve.id, final_state, reserve.state)
                .await?;
            continue;
        }
        if reserve.state == ReserveState::Active {
            released += amount;
        }
    }
    Ok(released)
}

/// Total held by BonusPlus for the customer at the point of sale, as far as we know.
pub async fn held_amount(
    state: &AppState,
    account_id: &str,
    phone: &Phone,
    retail_store_id: &str,
) -> Result<Decimal, StoreError> {
    Ok(state
        .store
        .open_reserves(account_id, phone.as_str(), retail_store_id)
        .await?
        .iter()
        .filter(|r| r.state == ReserveState::Active)
        .filter_map(|r| r.amount.parse::<Decimal>().ok())
        .sum())
}
