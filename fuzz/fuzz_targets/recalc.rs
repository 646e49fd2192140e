//! Request parsing + the recalc calculation on arbitrary input. Any panic, or a receipt that does
//! not add up to the kopeck, is a crash.
#![no_main]

use bonusbridge::bonusplus::{CalcRequest, CalcResult, ItemDiscount};
use bonusbridge::domain::phone::Phone;
use bonusbridge::http::extract::parse_json;
use bonusbridge::loyalty_api::recalc::{calc_items, recalc_answer};
use bonusbridge::loyalty_api::wire::recalc::RecalcRequest;
use libfuzzer_sys::fuzz_target;
use rust_decimal::{Decimal, RoundingStrategy};

fuzz_target!(|data: &[u8]| {
    // The first byte chooses how much of each line BonusPlus takes off; the rest is the body.
    let Some((&share, body)) = data.split_first() else { return };
    let Ok(request) = parse_json::<RecalcRequest>(body) else { return };
    let Ok(items) = calc_items(&request.positions) else { return };
    let percent = Decimal::from(u32::from(share) * 100 / 255);
    let discount: Vec<ItemDiscount> = items
        .iter()
        .map(|item| {
            let off = (item.sum * percent / Decimal::from(100)).round_dp_with_strategy(2, RoundingStrategy::ToZero);
            ItemDiscount { ext: item.ext.clone(), db: off, cb: Decimal::ONE, ..ItemDiscount::default() }
        })
        .collect();
    let granted: Decimal = discount.iter().map(|d| d.db).sum();
    let total: Decimal = items.iter().map(|i| i.sum).sum();
    let Ok(phone) = Phone::parse("79011231122") else { return };
    let calc = CalcRequest { phone, store: "s".into(), bonus_debit: Decimal::ZERO, coupons: None, items };
    let result = CalcResult { discount, ..CalcResult::default() };
    let Ok(answer) = recalc_answer(&request, &calc, &result, Decimal::from(1000), false) else { return };
    let paid: Decimal = answer
        .positions
        .iter()
        .map(|p| {
            let price = p.discounted_price.unwrap_or_default();
            assert!(price >= Decimal::ZERO && price <= p.price, "price out of range");
            let percent = p.discount_percent.unwrap_or_default();
            assert!(percent >= Decimal::ZERO && percent <= Decimal::from(100), "percent out of range");
            (price * p.quantity).round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
        })
        .sum();
    let spend = answer.bonus_program.and_then(|b| b.bonus_value_to_spend).unwrap_or_default();
    assert!(spend <= granted, "spent more than granted");
    assert_eq!(paid + spend, total, "the receipt does not add up");
});
