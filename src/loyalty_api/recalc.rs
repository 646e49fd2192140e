//! Receipts at the till: `POST /retaildemand/recalc` and `POST /retaildemand/verify`.
//! Must not depend on `vendor_api` or `ui`.
//!
//! A recalculation costs one `PUT retail/calc`, with the balance lookup (`GET customer`) running
//! concurrently. Two cases add a sequential call: a SPENDING recalc while this customer already
//! has a reserve at this point of sale (the reserve is released first, so BonusPlus counts those
//! bonuses as spendable again), and a SPENDING recalc with no preferred amount whose maximum is not
//! known yet (BonusPlus only tells the maximum in a calculation; it is remembered for
//! [`MAX_DEBIT_TTL`] per receipt, so the usual EARNING-then-SPENDING sequence needs no extra call).
//! A customer BonusPlus does not know costs a registration (`POST customer`) and the calculation
//! again; a card-only customer nobody linked yet costs a card lookup first.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::time::Duration;

use axum::extract::State;
use axum::Json;
use rust_decimal::Decimal;

use super::assortment::ProductIds;
use super::caller::Caller;
use super::errors::{customer_not_found, invalid_phone, unmapped_store};
use super::verification::{send_verification, Purpose};
use super::wire::recalc::{
    CounterpartyRef, RecalcBonusResult, RecalcRequest, RecalcResponse, RetailDemandVerifyRequest,
    TransactionType,
};
use super::wire::{Position, VerifyResponse};
use crate::accounts::LoyaltyAccount;
use crate::bonusplus::{BonusPlusError, CalcItem, CalcRequest, CalcResult, Customer};
use crate::customers::{CustomerError, TillCustomer};
use crate::domain::phone::Phone;
use crate::domain::pricing::{line_sum, price_receipt, ReceiptLine};
use crate::http::error::ApiError;
use crate::http::extract::ApiJson;
use crate::state::AppState;
use crate::store::ReserveState;

/// Most lines accepted in one receipt.
pub const MAX_POSITIONS: usize = 1000;
/// How long the maximum spendable amount of a receipt is remembered.
pub const MAX_DEBIT_TTL: Duration = Duration::from_secs(120);
/// Most receipts whose maximum is remembered at once.
const MAX_DEBIT_CAPACITY: u64 = 100_000;

/// The maximum spendable amount per receipt (keyed by account, customer, store and lines),
/// remembered for [`MAX_DEBIT_TTL`].
#[derive(Clone)]
pub struct MaxDebits(moka::sync::Cache<u64, Decimal>);

impl Default for MaxDebits {
    fn default() -> Self {
        MaxDebits(
            moka::sync::Cache::builder()
                .max_capacity(MAX_DEBIT_CAPACITY)
                .time_to_live(MAX_DEBIT_TTL)
                .build(),
        )
    }
}

/// `POST /retaildemand/recalc`
///
/// The customer is found through [`crate::customers`] (our link of the counterparty, the phone,
/// the loyalty card). A customer BonusPlus does not know is registered at checkout when the
/// account says so, and the receipt is priced in the same request; otherwise — and for a
/// customer with neither phone nor card — the receipt is answered unchanged, without loyalty,
/// with the reason in `receiptExtraInfo`: never an error that would block the sale.
pub async fn recalc(
    State(state): State<AppState>,
    State(max_debits): State<MaxDebits>,
    State(product_ids): State<ProductIds>,
    Caller(account): Caller,
    ApiJson(request): ApiJson<RecalcRequest>,
) -> Result<Json<RecalcResponse>, ApiError> {
    let retail_store_id = retail_store_id(&request.retail_store.meta.id)?;
    let store = account
        .bonusplus_store(retail_store_id)
        .ok_or_else(unmapped_store)?
        .to_owned();
    let items = receipt_items(&state, &product_ids, &account, &request).await?;
    let who = identity(&request.agent);
    let phone = match customer_phone(&state, &account, &who).await? {
        Ok(phone) => phone,
        Err(reason) => return Ok(Json(without_loyalty(&request, reason))),
    };
    let receipt = Receipt {
        request: &request,
        retail_store_id,
        calc: CalcRequest {
            phone,
            store,
            bonus_debit: Decimal::ZERO,
            coupons: None,
            items,
        },
    };
    let answer = match price(&state, &max_debits, &account, &receipt).await? {
        Priced::Answer(answer) => *answer,
        Priced::NotMember if account.checkout.create_customers => {
            register(&state, &account, &receipt, &who).await?;
            match price(&state, &max_debits, &account, &receipt).await? {
                Priced::Answer(answer) => *answer,
                Priced::NotMember => return Err(customer_not_found()),
            }
        }
        Priced::NotMember => without_loyalty(&request, NOT_A_MEMBER),
    };
    Ok(Json(answer))
}

/// The receipt's BonusPlus items (checked strictly: the cashier can fix the receipt), each
/// naming the product BonusPlus knows.
async fn receipt_items(
    state: &AppState,
    product_ids: &ProductIds,
    account: &LoyaltyAccount,
    request: &RecalcRequest,
) -> Result<Vec<CalcItem>, ApiError> {
    let mut items = calc_items(&request.positions)?;
    if request
        .preferred_bonus_to_spend
        .is_some_and(|p| p < Decimal::ZERO)
    {
        return Err(ApiError::invalid(
            "preferredBonusToSpend",
            "Must not be negative",
        ));
    }
    let products = product_ids
        .resolve(&state.store, &account.account_id, &request.positions)
        .await?;
    for (item, product) in items.iter_mut().zip(products) {
        item.product = product;
    }
    Ok(items)
}

/// The customer's phone, or why the receipt goes without loyalty (no phone and no card, a card
/// BonusPlus does not know).
async fn customer_phone(
    state: &AppState,
    account: &LoyaltyAccount,
    who: &TillCustomer,
) -> Result<Result<Phone, &'static str>, ApiError> {
    match state
        .customers
        .phone_of(&account.account_id, &account.key, who)
        .await
    {
        Ok(phone) => Ok(Ok(phone)),
        Err(CustomerError::Unidentified) => Ok(Err(NO_CUSTOMER)),
        Err(CustomerError::UnknownCard) => Ok(Err(UNKNOWN_CARD)),
        Err(error) => Err(customer_error(error, "agent")),
    }
}

/// Registers the receipt's customer at checkout (and links the counterparty).
async fn register(
    state: &AppState,
    account: &LoyaltyAccount,
    receipt: &Receipt<'_>,
    who: &TillCustomer,
) -> Result<(), ApiError> {
    let calc = &receipt.calc;
    state
        .customers
        .register(
            &account.account_id,
            &account.key,
            &calc.phone,
            who,
            &calc.store,
        )
        .await
        .map(drop)
        .map_err(|error| customer_error(error, "agent"))
}

/// Printed on a receipt answered without loyalty.
pub const NO_CUSTOMER: &str =
    "Бонусная программа: у покупателя нет телефона и карты, бонусы по чеку не начисляются";
pub const UNKNOWN_CARD: &str =
    "Бонусная программа: карта покупателя не найдена, бонусы по чеку не начисляются";
pub const NOT_A_MEMBER: &str =
    "Бонусная программа: покупатель в ней не участвует, бонусы по чеку не начисляются";

/// A receipt on its way through BonusPlus.
struct Receipt<'a> {
    request: &'a RecalcRequest,
    retail_store_id: &'a str,
    /// The calculation asked of BonusPlus (debit 0: the spendable maximum is learnt).
    calc: CalcRequest,
}

enum Priced {
    Answer(Box<RecalcResponse>),
    /// BonusPlus does not know the customer.
    NotMember,
}

/// Prices the receipt with BonusPlus and holds the bonuses it spends.
async fn price(
    state: &AppState,
    max_debits: &MaxDebits,
    account: &LoyaltyAccount,
    receipt: &Receipt<'_>,
) -> Result<Priced, ApiError> {
    let (request, retail_store_id) = (receipt.request, receipt.retail_store_id);
    let mut calc = receipt.calc.clone();
    let phone = calc.phone.clone();
    let spending = request
        .bonus_program
        .as_ref()
        .and_then(|b| b.transaction_type)
        .unwrap_or_default()
        == TransactionType::Spending;
    let preferred = request.preferred_bonus_to_spend;
    let receipt_key = receipt_key(&account.account_id, &calc);
    let (held, calculated) = if spending {
        // Spending replaces what is held: release it (under the same lock), then ask with the debit.
        let reserves = &state.reserves;
        let guard = reserves
            .lock(&account.account_id, &phone, retail_store_id)
            .await;
        // Read from the rows, not the kept sum: what is released must be what is recorded.
        reserves
            .release_open(
                &account.key,
                &account.account_id,
                &phone,
                retail_store_id,
                ReserveState::Released,
            )
            .await?;
        drop(guard);
        calc.bonus_debit = match preferred {
            Some(preferred) => preferred,
            None => max_debits.0.get(&receipt_key).unwrap_or(Decimal::ZERO),
        };
        (
            Decimal::ZERO,
            calc_with_balance(state, account, &calc).await?,
        )
    } else {
        // Reserves held at this point of sale (waiting for one still being made here), kept in
        // memory; earning changes nothing held, so a first read overlaps the BonusPlus calls.
        let held_here = async {
            let _guard = state
                .reserves
                .lock(&account.account_id, &phone, retail_store_id)
                .await;
            state
                .reserves
                .held_amount(&account.account_id, &phone, retail_store_id)
                .await
        };
        let (held, calculated) = tokio::join!(held_here, calc_with_balance(state, account, &calc));
        (held?, calculated?)
    };
    let Some((result, customer)) = calculated else {
        return Ok(Priced::NotMember);
    };
    let (result, customer) = match settle_debit(
        state,
        max_debits,
        account,
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
    let balance = customer.available_bonuses.unwrap_or_default() + held;
    let response = recalc_answer(
        request,
        &calc,
        &result,
        balance,
        account.spend_requires_code,
    )?;
    let spend = response
        .bonus_program
        .as_ref()
        .and_then(|b| b.bonus_value_to_spend)
        .unwrap_or_default();
    if spend > Decimal::ZERO {
        state
            .reserves
            .hold(account, phone, retail_store_id.to_owned(), spend);
    }
    Ok(Priced::Answer(Box::new(response)))
}

/// Who the receipt's customer is, as MoySklad sent them.
fn identity(agent: &CounterpartyRef) -> TillCustomer {
    super::counterparty::identity(&agent.attributes, Some(agent.meta.id.clone()))
}

/// A customer that cannot be used, as the cashier sees it; `parameter` names who it was.
fn customer_error(error: CustomerError, parameter: &str) -> ApiError {
    match error {
        CustomerError::InvalidPhone(error) => invalid_phone(&format!("{parameter}.phone"), &error),
        CustomerError::BonusPlus(error) => error.into(),
        CustomerError::Store(error) => error.into(),
        CustomerError::Unidentified | CustomerError::UnknownCard => {
            customer_not_found().with_parameter(parameter)
        }
    }
}

/// The receipt as it came, without loyalty (pure): every price unchanged, `bonusProgram` zeros,
/// and `reason` printed on the receipt.
pub fn without_loyalty(request: &RecalcRequest, reason: &str) -> RecalcResponse {
    let positions = request
        .positions
        .iter()
        .map(|position| Position {
            discount_percent: Some(Decimal::new(0, 2)),
            discounted_price: Some(position.price),
            ..position.clone()
        })
        .collect();
    let transaction_type = request
        .bonus_program
        .as_ref()
        .and_then(|b| b.transaction_type)
        .unwrap_or_default();
    RecalcResponse {
        agent: request.agent.clone(),
        positions,
        bonus_program: Some(RecalcBonusResult {
            transaction_type: Some(transaction_type),
            agent_bonus_balance: Some(Decimal::ZERO),
            bonus_value_to_spend: Some(Decimal::ZERO),
            bonus_value_to_earn: Some(Decimal::ZERO),
            agent_bonus_balance_after: Some(Decimal::ZERO),
            paid_by_bonus_points: Some(Decimal::ZERO),
            receipt_extra_info: Some(reason.to_owned()),
        }),
        need_verification: Some(false),
    }
}

/// `POST /retaildemand/verify`: a code confirming that the customer spends bonuses.
pub async fn verify_spending(
    State(state): State<AppState>,
    Caller(account): Caller,
    ApiJson(body): ApiJson<RetailDemandVerifyRequest>,
) -> Result<Json<VerifyResponse>, ApiError> {
    let who = TillCustomer {
        counterparty_id: Some(body.counterparty_id.clone()),
        phone: body.phone.clone(),
        ..TillCustomer::default()
    };
    let phone = state
        .customers
        .phone_of(&account.account_id, &account.key, &who)
        .await
        .map_err(|error| match error {
            CustomerError::InvalidPhone(error) => invalid_phone("phone", &error),
            other => customer_error(other, "counterpartyId"),
        })?;
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

/// The calculation and the customer's balance, concurrently; `None` when BonusPlus does not know
/// the customer (either answer says so: the two may straddle a registration made meanwhile).
async fn calc_with_balance(
    state: &AppState,
    account: &LoyaltyAccount,
    calc: &CalcRequest,
) -> Result<Option<(Result<CalcResult, BonusPlusError>, Customer)>, ApiError> {
    let (result, customer) = tokio::join!(
        state.bonusplus.calc(&account.key, calc),
        state.bonusplus.get_customer(&account.key, &calc.phone),
    );
    match (result, customer) {
        (_, Err(BonusPlusError::NotFound)) | (Err(BonusPlusError::NotFound), _) => Ok(None),
        (result, Ok(customer)) => Ok(Some((result, customer))),
        (_, Err(error)) => Err(error.into()),
    }
}

/// Brings the debit within BonusPlus's maximum. Returns the final result, or `None` when
/// `calc.bonus_debit` was changed and must be calculated again.
#[allow(clippy::too_many_arguments)]
async fn settle_debit(
    state: &AppState,
    max_debits: &MaxDebits,
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
    max_debits.0.insert(receipt_key, max);
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

/// The recalc answer for `request` from BonusPlus's calculation `result` of `calc` (pure: no I/O).
/// `balance` is the customer's balance before the sale; `code_for_spending` whether the account
/// wants a code when bonuses are spent.
pub fn recalc_answer(
    request: &RecalcRequest,
    calc: &CalcRequest,
    result: &CalcResult,
    balance: Decimal,
    code_for_spending: bool,
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
        need_verification: Some(code_for_spending && spend > Decimal::ZERO),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bonusplus::ItemDiscount;
    use crate::domain::phone::Phone;
    use crate::http::extract::parse_json;
    use proptest::prelude::*;
    use serde_json::json;

    /// A receipt line: price in kopecks, quantity in thousandths (integer or weighed), serials.
    fn line() -> impl Strategy<Value = (i64, i64, bool, u32)> {
        (
            0i64..2_000_000,
            prop_oneof![(1i64..20).prop_map(|n| n * 1000), 1i64..20_000],
            any::<bool>(),
            0u32..=1000,
        )
    }

    fn request_json(lines: &[(i64, i64, bool, u32)]) -> serde_json::Value {
        let positions: Vec<_> = lines
            .iter()
            .enumerate()
            .map(|(i, (price, qty, serials, _))| {
                let quantity = Decimal::new(*qty, 3);
                let sn: Vec<_> = if *serials && qty % 1000 == 0 {
                    (0..qty / 1000).map(|k| json!({"meta": {"href": "h", "id": format!("sn-{i}-{k}")}, "name": format!("SN{k}")})).collect()
                } else {
                    Vec::new()
                };
                json!({
                    "assortment": {"meta": {"href": "h", "id": format!("p{i}")}},
                    "quantity": serde_json::from_str::<serde_json::Value>(&quantity.to_string()).unwrap(),
                    "price": serde_json::from_str::<serde_json::Value>(&Decimal::new(*price, 2).to_string()).unwrap(),
                    "sn": sn,
                    "pack": {"id": "pk", "name": "box", "quantity": 1, "extra": "kept"},
                })
            })
            .collect();
        json!({"retailStore": {"meta": {"href": "h", "id": "pos"}}, "agent": {"meta": {"href": "h", "id": "a"}}, "positions": positions})
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Random receipts and random BonusPlus discounts: the answer adds up to the kopeck, keeps
        /// every serial number, and has no negative price or out-of-range percentage.
        #[test]
        fn answers_are_exact(lines in prop::collection::vec(line(), 1..50)) {
            let request: RecalcRequest = parse_json(request_json(&lines).to_string().as_bytes()).unwrap();
            let items = calc_items(&request.positions).unwrap();
            let discount: Vec<ItemDiscount> = items
                .iter()
                .zip(&lines)
                .map(|(item, (_, _, _, per_mille))| {
                    let off = (item.sum * Decimal::new(i64::from(*per_mille), 3)).round_dp(2);
                    let ids = (off / Decimal::from(3)).round_dp(2);
                    ItemDiscount { ext: item.ext.clone(), db: off - ids, ids, cb: Decimal::ONE, ..ItemDiscount::default() }
                })
                .collect();
            let total: Decimal = items.iter().map(|i| i.sum).sum();
            let granted: Decimal = discount.iter().map(|d| d.db + d.ids).sum();
            let ids: Decimal = discount.iter().map(|d| d.ids).sum();
            let calc = CalcRequest { phone: Phone::parse("79011231122").unwrap(), store: "s".into(), bonus_debit: Decimal::ZERO, coupons: None, items };
            let result = CalcResult { discount, ..CalcResult::default() };
            let answer = recalc_answer(&request, &calc, &result, Decimal::from(100), false).unwrap();
            let paid: Decimal = answer.positions.iter().map(|p| {
                (p.discounted_price.unwrap() * p.quantity).round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
            }).sum();
            let spend = answer.bonus_program.as_ref().unwrap().bonus_value_to_spend.unwrap();
            // Every generated line can express its discount exactly (serial numbers, when present,
            // number the units), so the whole grant is applied and spent as granted.
            prop_assert_eq!(paid, total - granted);
            prop_assert_eq!(spend, granted - ids);
            for p in &answer.positions {
                prop_assert!(p.discounted_price.unwrap() >= Decimal::ZERO && p.discounted_price.unwrap() <= p.price);
                let percent = p.discount_percent.unwrap();
                prop_assert!(percent >= Decimal::ZERO && percent <= Decimal::from(100));
                prop_assert_eq!(p.pack.as_ref().unwrap().raw()["extra"].as_str(), Some("kept"));
            }
            let serials_in: usize = request.positions.iter().map(|p| p.sn.len()).sum();
            let serials_out: usize = answer.positions.iter().map(|p| p.sn.len()).sum();
            prop_assert_eq!(serials_in, serials_out);
        }

        /// Arbitrary bytes never panic the request parser: they parse or are refused with a parameter.
        #[test]
        fn arbitrary_bodies_are_parsed_or_refused(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            if let Err(error) = parse_json::<RecalcRequest>(&bytes) {
                prop_assert!(error.parameter.is_some());
                prop_assert!(error.status.is_client_error());
            }
        }

        /// Well-formed JSON of the wrong shape at any field is refused, naming a field.
        #[test]
        fn wrong_types_are_refused(lines in prop::collection::vec(line(), 1..5), which in 0usize..4) {
            let mut body = request_json(&lines);
            match which {
                0 => body["positions"][0]["price"] = json!("сто"),
                1 => body["positions"][0]["quantity"] = json!({"x": 1}),
                2 => body["retailStore"] = json!(7),
                _ => body["positions"] = json!(null),
            }
            let error = parse_json::<RecalcRequest>(body.to_string().as_bytes()).unwrap_err();
            prop_assert!(error.parameter.is_some());
        }
    }
}
