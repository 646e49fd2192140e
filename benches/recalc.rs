//! The pure part of a recalculation — what the bridge spends of its own time on the hot path:
//! parse MoySklad's 10-line receipt, build BonusPlus's calculation items, turn BonusPlus's answer
//! into MoySklad's (discount split to the kopeck), serialise it. Run: `cargo bench --bench recalc`.

use std::hint::black_box;

// The service binary's allocator, so the figures match what it does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use bonusbridge::bonusplus::{CalcRequest, CalcResult, ItemDiscount};
use bonusbridge::domain::phone::Phone;
use bonusbridge::http::extract::parse_json;
use bonusbridge::loyalty_api::recalc::{calc_items, recalc_answer};
use bonusbridge::loyalty_api::wire::recalc::RecalcRequest;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rust_decimal::Decimal;
use serde_json::json;

fn receipt(lines: usize) -> Vec<u8> {
    let positions: Vec<_> = (0..lines)
        .map(|n| {
            let id = format!("00000002-0000-4000-8000-{n:012}");
            json!({
                "assortment": {"meta": {"href": format!("https://api.moysklad.ru/api/remap/1.2/entity/product/{id}"), "id": id, "type": "product"}},
                "quantity": serde_json::from_str::<serde_json::Value>(&format!("{}", 1 + n % 3)).unwrap(),
                "price": serde_json::from_str::<serde_json::Value>(&format!("{}.{:02}", 50 + n * 7, n * 13 % 100)).unwrap(),
            })
        })
        .collect();
    serde_json::to_vec(&json!({
        "retailStore": {"meta": {"href": "https://api.moysklad.ru/api/remap/1.2/entity/retailstore/5f8c", "id": "5f8c"}},
        "agent": {"meta": {"href": "https://api.moysklad.ru/api/remap/1.2/entity/counterparty/c0", "id": "c0"}, "phone": "+79011231122"},
        "positions": positions,
        "bonusProgram": {"transactionType": "SPENDING"},
        "preferredBonusToSpend": 100,
    }))
    .unwrap()
}

fn recalc(body: &[u8]) -> Vec<u8> {
    let request: RecalcRequest = parse_json(body).unwrap();
    let items = calc_items(&request.positions).unwrap();
    // BonusPlus takes 7 % off every line and lets 30 % be paid with bonuses.
    let discount: Vec<ItemDiscount> = items
        .iter()
        .map(|item| ItemDiscount {
            ext: item.ext.clone(),
            db: (item.sum * Decimal::new(7, 2)).round_dp(2),
            cb: (item.sum * Decimal::new(5, 2)).round_dp(2),
            ..ItemDiscount::default()
        })
        .collect();
    let calc = CalcRequest {
        phone: Phone::parse("79011231122").unwrap(),
        store: "Магазин 1".into(),
        bonus_debit: Decimal::from(100),
        coupons: None,
        items,
    };
    let result = CalcResult {
        discount,
        ..CalcResult::default()
    };
    let answer = recalc_answer(&request, &calc, &result, Decimal::from(500), false).unwrap();
    serde_json::to_vec(&answer).unwrap()
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("recalc");
    for lines in [1, 10, 100] {
        let body = receipt(lines);
        group.throughput(Throughput::Elements(1));
        group.bench_function(format!("{lines} lines"), |b| {
            b.iter(|| recalc(black_box(&body)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
