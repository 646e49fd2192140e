//! Calc, sale and return rules and their errors.

use bonusplus_emulator::TenantRules;
use reqwest::{Method, StatusCode};
use rust_decimal_macros::dec;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn unknown_store_and_customer_answer_412() {
    let ctx = Ctx::with_customer(dec!(100)).await;
    let mut body = order("0", None, &[("a", "p", "100", "0")]);
    body["store"] = json!("Склад 9");
    let answer = ctx.call(Method::PUT, "retail/calc", Some(body)).await;
    assert_error(&answer, StatusCode::PRECONDITION_FAILED, "STORE_NOT_FOUND");

    let mut body = order("0", None, &[("a", "p", "100", "0")]);
    body["phone"] = json!("79000000000");
    let answer = ctx.call(Method::PUT, "retail/calc", Some(body)).await;
    assert_error(
        &answer,
        StatusCode::PRECONDITION_FAILED,
        "CUSTOMER_NOT_FOUND",
    );

    ctx.emu.add_store(KEY, "Склад 9");
    let mut body = order("0", None, &[("a", "p", "100", "0")]);
    body["store"] = json!("Склад 9");
    assert_eq!(
        ctx.call(Method::PUT, "retail/calc", Some(body)).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn debit_over_the_maximum_is_refused() {
    let ctx = Ctx::with_customer(dec!(20)).await;
    // 30 % of 100 = 30, but only 20 available
    let (status, calc) = ctx
        .call(
            Method::PUT,
            "retail/calc",
            Some(order("0", None, &[("a", "p", "100", "0")])),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(dec_of(&calc["maxDebitBonuses"]), dec!(20));
    let answer = ctx
        .call(
            Method::PUT,
            "retail/calc",
            Some(order("20.01", None, &[("a", "p", "100", "0")])),
        )
        .await;
    assert_error(
        &answer,
        StatusCode::PRECONDITION_FAILED,
        "NOT_ENOUGH_BONUSES",
    );
    let answer = ctx
        .call(
            Method::POST,
            "retail",
            Some(order("20.01", Some("s1"), &[("a", "p", "100", "0")])),
        )
        .await;
    assert_error(
        &answer,
        StatusCode::PRECONDITION_FAILED,
        "NOT_ENOUGH_BONUSES",
    );
    assert_eq!(ctx.balance(), dec!(20));
    assert!(ctx.emu.sales(KEY).is_empty());
}

#[tokio::test]
async fn rules_shape_the_calculation() {
    let rules = TenantRules {
        earn_percent: dec!(10),
        max_debit_percent: dec!(50),
        multiplicity: dec!(10),
        ..TenantRules::default()
    };
    let ctx = Ctx::with_rules(rules).await;
    ctx.emu.add_customer(KEY, PHONE, dec!(1000));
    // 50 % of (99.99 − 0.99) = 49.50 → floored to a multiple of 10
    let (status, calc) = ctx
        .call(
            Method::PUT,
            "retail/calc",
            Some(order("40", None, &[("a", "p", "99.99", "0.99")])),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{calc}");
    assert_eq!(dec_of(&calc["maxDebitBonuses"]), dec!(40));
    assert_eq!(dec_of(&calc["multiplicityDebitBonus"]), dec!(10));
    let line = &calc["discount"][0];
    assert_eq!(dec_of(&line["db"]), dec!(40));
    assert_eq!(dec_of(&line["cb"]), dec!(5.90)); // (99 − 40) × 10 %
    assert_eq!(dec_of(&line["cbp"]), dec!(10));
    assert_eq!(dec_of(&line["dp"]), dec!(0.99)); // 0.99 / 99.99 → 0.99 %
    assert_eq!(dec_of(&line["dbp"]), dec!(40.40)); // 40 / 99
}

#[tokio::test]
async fn debit_is_spread_kopeck_exact() {
    let ctx = Ctx::with_customer(dec!(1000)).await;
    let lines = [
        ("a", "p", "33.33", "0"),
        ("b", "p", "33.33", "0"),
        ("c", "p", "33.34", "0"),
    ];
    let (status, calc) = ctx
        .call(
            Method::PUT,
            "retail/calc",
            Some(order("10.01", None, &lines)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{calc}");
    let debits: Vec<_> = (0..3).map(|i| dec_of(&calc["discount"][i]["db"])).collect();
    assert_eq!(
        debits.iter().copied().sum::<rust_decimal::Decimal>(),
        dec!(10.01)
    );
    assert_eq!(debits, vec![dec!(3.34), dec!(3.33), dec!(3.34)]);
}

#[tokio::test]
async fn duplicate_external_id_changes_nothing() {
    let ctx = Ctx::with_customer(dec!(100)).await;
    let first = order("10", Some("sale-1"), &[("a", "p", "100", "0")]);
    assert_eq!(
        ctx.call(Method::POST, "retail", Some(first)).await.0,
        StatusCode::OK
    );
    let balance = ctx.balance();
    assert_eq!(balance, dec!(94.50)); // 100 − 10 + (100 − 10) × 5 %

    let again = order("10", Some("sale-1"), &[("b", "p", "100", "0")]);
    let answer = ctx.call(Method::POST, "retail", Some(again)).await;
    assert_error(
        &answer,
        StatusCode::PRECONDITION_FAILED,
        "RETAIL_ALREADY_EXIST",
    );
    assert_eq!(ctx.balance(), balance);
    assert_eq!(ctx.emu.sales(KEY).len(), 1);
}

#[tokio::test]
async fn a_watcher_is_told_of_each_booked_sale_and_not_of_refused_ones() {
    let ctx = Ctx::with_customer(dec!(100)).await;
    let mut watcher = ctx.emu.watch_sales();
    let before = std::time::Instant::now();
    let sale = order(
        "0",
        Some("sale-1"),
        &[("a", "p1", "100", "0"), ("b", "p2", "50", "0")],
    );
    assert_eq!(
        ctx.call(Method::POST, "retail", Some(sale)).await.0,
        StatusCode::OK
    );
    let again = order("0", Some("sale-1"), &[("c", "p3", "100", "0")]);
    assert_eq!(
        ctx.call(Method::POST, "retail", Some(again)).await.0,
        StatusCode::PRECONDITION_FAILED
    );

    let booked = watcher.try_recv().expect("the booked sale is reported");
    assert!(booked.at >= before);
    assert_eq!(booked.external_id, "sale-1");
    assert_eq!(booked.phone, PHONE);
    assert_eq!(
        booked.products,
        vec![Some("p1".to_owned()), Some("p2".to_owned())]
    );
    assert!(
        watcher.try_recv().is_err(),
        "a refused sale is not reported"
    );

    drop(watcher);
    let later = order("0", Some("sale-2"), &[("d", "p", "10", "0")]);
    assert_eq!(
        ctx.call(Method::POST, "retail", Some(later)).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_sold_ext_cannot_be_sold_again() {
    let ctx = Ctx::with_customer(dec!(0)).await;
    let first = order("0", Some("sale-1"), &[("a", "p", "100", "0")]);
    assert_eq!(
        ctx.call(Method::POST, "retail", Some(first)).await.0,
        StatusCode::OK
    );
    let second = order("0", Some("sale-2"), &[("a", "p", "100", "0")]);
    let answer = ctx.call(Method::POST, "retail", Some(second)).await;
    assert_error(&answer, StatusCode::PRECONDITION_FAILED, "VALIDATION_ERROR");
    assert_eq!(ctx.balance(), dec!(5));
}

#[tokio::test]
async fn sale_needs_an_external_id() {
    let ctx = Ctx::with_customer(dec!(0)).await;
    let answer = ctx
        .call(
            Method::POST,
            "retail",
            Some(order("0", None, &[("a", "p", "100", "0")])),
        )
        .await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "VALIDATION_ERROR");
    assert!(answer.1["msg"].as_str().unwrap().contains("externalId"));
}

#[tokio::test]
async fn returns_are_checked() {
    let ctx = Ctx::with_customer(dec!(0)).await;
    let unknown = ctx
        .call(
            Method::PUT,
            "retail/back",
            Some(json!({"ext": "nope", "sum": 1})),
        )
        .await;
    assert_error(
        &unknown,
        StatusCode::PRECONDITION_FAILED,
        "RETAIL_ITEM_NOT_FOUND",
    );

    let sale = order("0", Some("s"), &[("a", "p", "100", "0")]);
    assert_eq!(
        ctx.call(Method::POST, "retail", Some(sale)).await.0,
        StatusCode::OK
    );
    let too_big = ctx
        .call(
            Method::PUT,
            "retail/back",
            Some(json!({"ext": "a", "sum": 100.01})),
        )
        .await;
    assert_error(
        &too_big,
        StatusCode::PRECONDITION_FAILED,
        "RETURN_SUM_TOO_BIG",
    );
    for bad in [
        json!({"ext": "a"}),
        json!({"ext": "a", "sum": 0}),
        json!({"ext": "a", "sum": -1}),
        json!({"sum": 1}),
    ] {
        let answer = ctx.call(Method::PUT, "retail/back", Some(bad)).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "VALIDATION_ERROR");
    }
    assert_eq!(ctx.balance(), dec!(5));
}

#[tokio::test]
async fn sale_answers_retail_result() {
    let ctx = Ctx::with_customer(dec!(100)).await;
    let (status, sale) = ctx
        .call(
            Method::POST,
            "retail",
            Some(order("10", Some("s1"), &[("a", "p", "100", "0")])),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{sale}");
    let sold = &ctx.emu.sales(KEY)[0];
    assert_eq!(sale["id"], sold.id);
    assert_eq!(sale["orderUid"].as_str().unwrap(), sold.order_uid);
    assert_eq!(sold.order_uid.len(), 36);
    assert!(sale["orderUrl"]
        .as_str()
        .unwrap()
        .ends_with(sold.order_uid.as_str()));
    // the customer after the sale: 100 − 10 + 90 × 5 %
    assert_eq!(sale["customer"]["phone"], PHONE);
    assert_eq!(sale["customer"]["availableBonuses"].to_string(), "94.50");
    let (_, second) = ctx
        .call(
            Method::POST,
            "retail",
            Some(order("0", Some("s2"), &[("b", "p", "100", "0")])),
        )
        .await;
    assert_ne!(second["id"], sale["id"]);
}

#[tokio::test]
async fn reserve_id_is_only_recorded_by_default() {
    let ctx = Ctx::with_customer(dec!(100)).await;
    let reserve = json!({"id": "order-1", "amount": 30});
    let path = format!("customer/{PHONE}/balance/reserve");
    ctx.call(Method::PATCH, &path, Some(reserve)).await;
    let mut body = order("30", Some("s1"), &[("a", "p", "100", "0")]);
    body["reserveId"] = json!("order-1");
    // The reserve still holds 30 of the 100: only 70 are spendable, 30 is allowed by 30 %.
    let (status, sale) = ctx.call(Method::POST, "retail", Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{sale}");
    let snapshot = ctx.emu.customer(KEY, PHONE).unwrap();
    assert_eq!(snapshot.reserves["order-1"], dec!(30));
    assert_eq!(snapshot.balance, dec!(73.50)); // 100 − 30 + 70 × 5 %
    assert_eq!(ctx.emu.sales(KEY)[0].reserve_id.as_deref(), Some("order-1"));
}

#[tokio::test]
async fn reserve_id_consumes_the_reserve_when_the_rules_say_so() {
    let rules = TenantRules {
        reserve_id_consumes: true,
        ..TenantRules::default()
    };
    let ctx = Ctx::with_rules(rules).await;
    ctx.emu.add_customer(KEY, PHONE, dec!(40));
    let path = format!("customer/{PHONE}/balance/reserve");
    ctx.call(
        Method::PATCH,
        &path,
        Some(json!({"id": "order-1", "amount": 30})),
    )
    .await;
    // Without consuming, only 10 would be spendable; the reserve's 30 count for this sale.
    let mut body = order("30", Some("s1"), &[("a", "p", "100", "0")]);
    body["reserveId"] = json!("order-1");
    let (status, sale) = ctx.call(Method::POST, "retail", Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{sale}");
    let snapshot = ctx.emu.customer(KEY, PHONE).unwrap();
    assert!(snapshot.reserves.is_empty());
    assert_eq!(snapshot.balance, dec!(13.50)); // 40 − 30 + 70 × 5 %
                                               // A reserve id that holds nothing is no error.
    let mut body = order("0", Some("s2"), &[("b", "p", "100", "0")]);
    body["reserveId"] = json!("order-1");
    assert_eq!(
        ctx.call(Method::POST, "retail", Some(body)).await.0,
        StatusCode::OK
    );
}
