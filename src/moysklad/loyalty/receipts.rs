//! Receipts at the till: `POST /retaildemand/recalc` and `POST /retaildemand/verify`.
//!
//! A recalculation costs one `PUT retail/calc`, with the balance lookup (`GET customer`) running
//! concurrently. Two cases add a sequential call: a SPENDING recalc while this customer already
//! has a reserve at this point of sale (the reserve is released first, so BonusPlus counts those
//! bonuses as spendable again), and a SPENDING recalc with no preferred amount whose maximum is not
//! known yet (BonusPlus only tells the maximum in a calculation; it is remembered for
//! [`MAX_DEBIT_TTL`] per receipt, so the usual EARNING-then-SPENDING sequence needs no extra call).

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::Json;
use rust_decimal::Decimal;

use super::context::{Caller, LoyaltyAccount};
use super::customers::resolve_phone;
use super::reserves::{held_amount, release_open, reserve_in_background};
use super::verification::{send_verification, Purpose};
use crate::bonusplus::{BonusPlusError, CalcItem, CalcRequest, CalcResult, Customer};
use crate::http::error::ApiError;
use crate::http::extract::ApiJson;
use crate::loyalty::receipt::{line_sum, price_receipt, ReceiptLine};
use crate::moysklad::loyalty_types::{
    Position, RecalcBonusResult, RecalcRequest, RecalcResponse, RetailDemandVerifyRequest,
    TransactionType, VerifyResponse,
};
use crate::startup::AppState;
use crate::store::ReserveState;

/// Most lines accepted in one receipt.
pub const MAX_POSITIONS: usize = 1000;
/// How long the maximum spendable amount of a receipt is remembered.
pub const MAX_DEBIT_TTL: Duration = Duration::from_secs(120);

/// `POST /retaildemand/recalc`
pub async fn recalc(
    State(state): State<AppState>,
    Caller(account): Caller,
    ApiJson(request): ApiJson<RecalcRequest>,
) -> Result<Json<RecalcResponse>, ApiError> {
    let retail_store_id = retail_store_id(&request.retail_store.meta.id)?;
    let store = account.bonusplus_store(retail_store_id)?.to_owned();
    let items = calc_items(&request.positions)?;
    let phone = resolve_phone(
        &state,
        &account,
        Some(&request.agent.meta.id),
        request.agent.attributes.phone.as_deref(),
    )
    .await?;
    let spending = request
        .bonus_program
        .as_ref()
        .and_then(|b| b.transaction_type)
        .unwrap_or_default()
        == TransactionType::Spending;
    let preferred = request.preferred_bonus_to_spend;
    if preferred.is_some_and(|p| p < Decimal::ZERO) {
        return Err(ApiError::invalid(
            "preferredBonusToSpend",
            "Must not be negative",
        ));
    }
    let mut calc = CalcRequest {
        phone: phone.clone(),
        store,
        bonus_debit: Decimal::ZERO,
        coupons: None,
        items,
    };
    let receipt_key = receipt_key(&account.account_id, &calc);
    let mut held = {
        // Waits for a reserve of this customer still being made here, so it is counted.
        let _guard = state
            .reserve_locks
            .lock(&account.account_id, &phone, retail_store_id)
            .await;
        let held = held_amount(&state, &account.account_id, &phone, retail_store_id).await?;
        if spending && held > Decimal::ZERO {
            release_open(
                &state,
                &account.key,
                &account.account_id,
                &phone,
                retail_store_id,
                ReserveState::Released,
            )
            .await?;
        }
        held
    };
    if spending {
        held = Decimal::ZERO;
    }
    if spending {
        calc.bonus_debit = match preferred {
            Some(preferred) => preferred,
            None => state.max_debits.get(receipt_key).unwrap_or(Decimal::ZERO),
        };
    }
    let (result, customer) = calc_with_balance(&state, &account, &calc).await?;
    let (result, customer) = match settle_debit(
        &state,
        &account,
        &mut calc,
        result,
        preferred,
        spending,
        receipt_key,
    )
    .await?
    {
        Some(better) => (better, customer),
        None => (state.bonusplus.calc(&account.key, &calc).await?, customer),
    };
    let response = build_response(&request, &calc, &result, &customer, held, &account)?;
    let spend = response
        .bonus_program
        .as_ref()
        .and_then(|b| b.bonus_value_to_spend)
        .unwrap_or_default();
    if spend > Decimal::ZERO {
        reserve_in_background(
            state.clone(),
            &account,
            phone,
            retail_store_id.to_owned(),
            spend,
        );
    }
    Ok(Json(response))
}

/// `POST /retaildemand/verify`: a code confirming that the customer spends bonuses.
pub async fn verify_spending(
    State(state): State<AppState>,
    Caller(account): Caller,
    ApiJson(body): ApiJson<RetailDemandVerifyRequest>,
) -> Result<Json<VerifyResponse>, ApiError> {
    let phone = resolve_phone(
        &state,
        &account,
        Some(&body.counterparty_id),
        body.phone.as_deref(),
    )
    .await?;
    send_verification(&state, &account, &phone, Purpose::Spending)
        .await
        .map(Json)
}

fn retail_store_id(id: &str) -> Result<&str, ApiError> {
    let id = id.trim();
    if id.is_empty() || id.len() > 64 {
        return Err(ApiError::invalid(
            "retailStore.meta.id",
            "The point of sale id is required",
        ));
    }
    Ok(id)
}

/// BonusPlus items of a receipt: line sums before discounts, the MoySklad assortment id as the
/// product (the id product sync imports), no shop discount, and the line index as `ext`.
pub fn calc_items(positions: &[Position]) -> Result<Vec<CalcItem>, ApiError> {
    if positions.is_empty() {
        return Err(ApiError::invalid("positions", "The receipt has no lines"));
    }
    if positions.len() > MAX_POSITIONS {
        return Err(ApiError::invalid(
            "positions",
            "Too many lines in one receipt",
        ));
    }
    positions
        .iter()
        .enumerate()
        .map(|(index, position)| {
            let product = position.assortment.meta.id.trim();
            if product.is_empty() {
                return Err(ApiError::invalid(
                    format!("positions[{index}].assortment.meta.id"),
                    "The product id is required",
                ));
            }
            let sum = line_sum(position.price, position.quantity).map_err(|error| {
                ApiError::invalid(format!("positions[{index}]"), error.to_string())
            })?;
            if position.quantity <= Decimal::ZERO {
                return Err(ApiError::invalid(
                    format!("positions[{index}].quantity"),
                    "Must be positive",
                ));
            }
            Ok(CalcItem {
                ext: index.to_string(),
                product: product.to_owned(),
                qnt: position.quantity,
                sum,
                ds: Decimal::ZERO,
                price: Some(position.price),
                cat: None,
            })
        })
        .collect()
}

/// The calculation and the customer's balance, concurrently.
async fn calc_with_balance(
    state: &AppState,
    account: &LoyaltyAccount,
    calc: &CalcRequest,
) -> Result<(Result<CalcResult, BonusPlusError>, Customer), ApiError> {
    let (result, customer) = tokio::join!(
        state.bonusplus.calc(&account.key, calc),
        state.bonusplus.get_customer(&account.key, &calc.phone),
    );
    Ok((result, customer?))
}

/// Brings the debit within BonusPlus's maximum. Returns the final result, or `None` when
/// `calc.bonus_debit` was changed and must be calculated again.
async fn settle_debit(
    state: &AppState,
    account: &LoyaltyAccount,
    calc: &mut CalcRequest,
    result: Result<CalcResult, BonusPlusError>,
    preferred: Option<Decimal>,
    spending: bool,
    receipt_key: u64,
) -> Result<Option<CalcResult>, ApiError> {
    let result = match result {
        Err(error) if spending && error.code() == Some("NOT_ENOUGH_BONUSES") => {
            // More than BonusPlus allows: learn the maximum with a zero debit.
            calc.bonus_debit = Decimal::ZERO;
            state.bonusplus.calc(&account.key, calc).await?
        }
        other => other?,
    };
    let max = spendable_max(&result);
    state.max_debits.put(receipt_key, max);
    if !spending {
        return Ok(Some(result));
    }
    let wanted = preferred.unwrap_or(max).min(max);
    let wanted = floor_to_multiple(wanted, result.multiplicity_debit_bonus);
    if wanted == calc.bonus_debit {
        return Ok(Some(result));
    }
    calc.bonus_debit = wanted;
    Ok(None)
}

fn spendable_max(result: &CalcResult) -> Decimal {
    floor_to_multiple(
        result.max_debit_bonuses.max(Decimal::ZERO),
        result.multiplicity_debit_bonus,
    )
}

fn floor_to_multiple(amount: Decimal, multiple: Option<Decimal>) -> Decimal {
    match multiple {
        Some(m) if m > Decimal::ZERO => (amount / m).floor() * m,
        _ => amount.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::ToZero),
    }
}

fn build_response(
    request: &RecalcRequest,
    calc: &CalcRequest,
    result: &CalcResult,
    customer: &Customer,
    held: Decimal,
    account: &LoyaltyAccount,
) -> Result<RecalcResponse, ApiError> {
    let by_ext: HashMap<&str, _> = result
        .discount
        .iter()
        .map(|d| (d.ext.as_str(), d))
        .collect();
    let mut lines = Vec::with_capacity(request.positions.len());
    let mut earn = Decimal::ZERO;
    let mut bonus_debit = Vec::with_capacity(request.positions.len());
    for (index, position) in request.positions.iter().enumerate() {
        let (discount, debit) = match by_ext.get(calc.items[index].ext.as_str()) {
            Some(d) => {
                earn += d.cb;
                (d.db + d.ids, d.db)
            }
            None => (Decimal::ZERO, Decimal::ZERO),
        };
        bonus_debit.push(debit);
        lines.push(ReceiptLine {
            price: position.price,
            quantity: position.quantity,
            discount,
            serials: position.sn.clone(),
            extra: (position.assortment.clone(), position.pack.clone()),
        });
    }
    let priced = price_receipt(lines).map_err(|e| ApiError::invalid("positions", e.to_string()))?;
    // Bonuses are spent only on discount the customer really got (see `receipt`): a shortfall on a
    // line comes off that line's bonus debit first.
    let spend: Decimal = priced
        .discounts
        .iter()
        .map(|d| (bonus_debit[d.source_index] - (d.granted - d.applied)).max(Decimal::ZERO))
        .sum();
    let positions = priced
        .lines
        .into_iter()
        .map(|line| Position {
            assortment: line.extra.0,
            quantity: line.quantity,
            price: line.price,
            discount_percent: Some(line.discount_percent),
            discounted_price: Some(line.discounted_price),
            sn: line.serials,
            pack: line.extra.1,
        })
        .collect();
    let balance = customer.available_bonuses.unwrap_or_default() + held;
    let messages = result.all_messages();
    let transaction_type = request
        .bonus_program
        .as_ref()
        .and_then(|b| b.transaction_type)
        .unwrap_or_default();
    Ok(RecalcResponse {
        agent: request.agent.clone(),
        positions,
        bonus_program: Some(RecalcBonusResult {
            transaction_type: Some(transaction_type),
            agent_bonus_balance: Some(balance),
            bonus_value_to_spend: Some(spend),
            bonus_value_to_earn: Some(earn),
            // Earned bonuses are assumed available at once (BonusPlus does not say otherwise).
            agent_bonus_balance_after: Some((balance - spend + earn).max(Decimal::ZERO)),
            paid_by_bonus_points: Some(spend),
            receipt_extra_info: (!messages.is_empty()).then(|| messages.join("\n")),
        }),
        need_verification: Some(account.spend_requires_code && spend > Decimal::ZERO),
    })
}

/// Identifies a receipt (account, customer, store, lines) for the remembered maximum.
fn receipt_key(account_id: &str, calc: &CalcRequest) -> u64 {
    let mut hasher = DefaultHasher::new();
    account_id.hash(&mut hasher);
    calc.phone.as_str().hash(&mut hasher);
    calc.store.hash(&mut hasher);
    for item in &calc.items {
        item.product.hash(&mut hasher);
        item.qnt.normalize().hash(&mut hasher);
        item.sum.normalize().hash(&mut hasher);
    }
    hasher.finish()
}

/// The maximum spendable amount per receipt, remembered briefly.
#[derive(Default)]
pub struct MaxDebitCache {
    entries: Mutex<HashMap<u64, (Decimal, Instant)>>,
}

impl MaxDebitCache {
    fn get(&self, key: u64) -> Option<Decimal> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(&key)
            .filter(|(_, at)| at.elapsed() < MAX_DEBIT_TTL)
            .map(|(max, _)| *max)
    }

    fn put(&self, key: u64, max: Decimal) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() > 50_000 {
                entries.retain(|_, (_, at)| at.elapsed() < MAX_DEBIT_TTL);
            }
            entries.insert(key, (max, Instant::now()));
        }
    }
}
