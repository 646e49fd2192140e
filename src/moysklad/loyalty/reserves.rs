//! Bonus reserves: bonuses a SPENDING recalculation intends to spend are held in BonusPlus until
//! the sale, so the same bonuses cannot be spent at two tills.
//!
//! Reserving runs **off the cashier's critical path**: the recalc answer does not wait for it. That
//! is safe because nothing depends on the reserve succeeding — the sale releases whatever is held
//! before booking (BonusPlus checks the balance at the sale itself), and a row is written *before*
//! BonusPlus is asked, so a crash or a failure in between leaves a row the expiry worker reconciles
//! (it releases the amount; releasing what BonusPlus never held is a no-op there).

use std::time::Duration;

use rust_decimal::Decimal;

use super::context::LoyaltyAccount;
use crate::bonusplus::{ApiKey, BonusPlusClient};
use crate::domain::phone::Phone;
use crate::store::{now_ms, Reserve, ReserveState, Store, StoreError};

/// Holds `amount` for the customer at a point of sale, in the background.
pub fn reserve_in_background(
    store: Store,
    client: BonusPlusClient,
    account: &LoyaltyAccount,
    phone: Phone,
    retail_store_id: String,
    amount: Decimal,
) {
    let key = account.key.clone();
    let account_id = account.account_id.clone();
    let ttl = account.reserve_ttl;
    tokio::spawn(async move {
        if let Err(error) = reserve(
            &store,
            &client,
            &key,
            &account_id,
            &phone,
            &retail_store_id,
            amount,
            ttl,
        )
        .await
        {
            tracing::warn!(%error, "could not record a bonus reserve");
        }
    });
}

#[allow(clippy::too_many_arguments)]
async fn reserve(
    store: &Store,
    client: &BonusPlusClient,
    key: &ApiKey,
    account_id: &str,
    phone: &Phone,
    retail_store_id: &str,
    amount: Decimal,
    ttl: Duration,
) -> Result<(), StoreError> {
    // One reserve per customer and point of sale: a newer recalculation replaces the older one.
    release_open(
        store,
        client,
        key,
        account_id,
        phone,
        retail_store_id,
        ReserveState::Released,
    )
    .await?;
    let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
    let row = Reserve {
        id: uuid::Uuid::new_v4().to_string(),
        account_id: account_id.to_owned(),
        phone: phone.as_str().to_owned(),
        retail_store_id: retail_store_id.to_owned(),
        amount: amount.to_string(),
        state: ReserveState::Intended,
        expires_at: now_ms().saturating_add(ttl_ms),
    };
    store.insert_reserve(&row).await?;
    match client.reserve(key, phone, &row.id, amount).await {
        Ok(()) => {
            let held = store
                .transition_reserve(
                    account_id,
                    &row.id,
                    ReserveState::Intended,
                    ReserveState::Active,
                )
                .await?;
            if !held {
                // A sale (or a newer recalc) released this reserve's row while BonusPlus was
                // making it: undo what BonusPlus now holds.
                if client.reserve(key, phone, &row.id, -amount).await.is_err() {
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
            store
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
/// newer recalculation). Rows end in `final_state` (`Consumed` for a sale, `Released` otherwise).
/// A reserve BonusPlus could not release now stays open for the expiry worker.
pub async fn release_open(
    store: &Store,
    client: &BonusPlusClient,
    key: &ApiKey,
    account_id: &str,
    phone: &Phone,
    retail_store_id: &str,
    final_state: ReserveState,
) -> Result<Decimal, StoreError> {
    let mut released = Decimal::ZERO;
    for reserve in store
        .open_reserves(account_id, phone.as_str(), retail_store_id)
        .await?
    {
        let Ok(amount) = reserve.amount.parse::<Decimal>() else {
            continue;
        };
        // Claim the row first so a concurrent activation sees it is no longer wanted.
        if !store
            .transition_reserve(account_id, &reserve.id, reserve.state, final_state)
            .await?
        {
            continue;
        }
        if reserve.state == ReserveState::Active {
            if let Err(error) = client.reserve(key, phone, &reserve.id, -amount).await {
                tracing::warn!(%error, reserve = %reserve.id, "could not release a reserve; the expiry worker will");
                store
                    .transition_reserve(account_id, &reserve.id, final_state, ReserveState::Active)
                    .await?;
                continue;
            }
            released += amount;
        }
    }
    Ok(released)
}

/// Total held (or being made) for the customer at the point of sale.
pub async fn held_amount(
    store: &Store,
    account_id: &str,
    phone: &Phone,
    retail_store_id: &str,
) -> Result<Decimal, StoreError> {
    Ok(store
        .open_reserves(account_id, phone.as_str(), retail_store_id)
        .await?
        .iter()
        .filter(|r| r.state == ReserveState::Active)
        .filter_map(|r| r.amount.parse::<Decimal>().ok())
        .sum())
}
