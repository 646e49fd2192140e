//! The whole life of a customer, with the balance checked to the kopeck at each step.

use reqwest::{Method, StatusCode};
use rust_decimal_macros::dec;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn customer_calc_reserve_sale_and_returns() {
    let ctx = Ctx::new().await;

    // create
    let created = ctx
        .call(
            Method::POST,
            "customer",
            Some(
                json!({"phone": PHONE, "fn": "Иван", "ln": "Петров", "sex": 1,
                        "birthDay": "17.05.1990"}),
            ),
        )
        .await;
    assert_eq!(created.0, StatusCode::OK, "{}", created.1);
    assert_eq!(created.1["phone"], PHONE);
    assert_eq!(created.1["availableBonuses"].to_string(), "0.00");
    assert_eq!(created.1["person"]["fn"], "Иван");
    assert_eq!(created.1["person"]["birthDay"], "1990-05-17T00:00:00");
    assert_eq!(created.1["discountCardNumber"], "2000000000015");
    assert_eq!(
        ctx.emu
            .customer(KEY, PHONE)
            .unwrap()
            .person
            .birth_day
            .as_deref(),
        Some("1990-05-17")
    );

    // seed the balance
    assert!(ctx.emu.set_balance(KEY, PHONE, dec!(500)));

    // calc: 30 % of (200 + 90) = 87
    let lines = [("a", "p1", "200.00", "0"), ("b", "p2", "99.99", "9.99")];
    let (status, calc) = ctx
        .call(Method::PUT, "retail/calc", Some(order("0", None, &lines)))
        .await;
    assert_eq!(status, StatusCode::OK, "{calc}");
    assert_eq!(dec_of(&calc["maxDebitBonuses"]), dec!(87));
    assert_eq!(dec_of(&calc["multiplicityDebitBonus"]), dec!(1));
    assert_eq!(calc["discount"][0]["cb"].to_string(), "10.00");
    assert_eq!(calc["discount"][1]["cb"].to_string(), "4.50");
    assert_eq!(calc["discount"][1]["ds"].to_string(), "9.99");
    assert_eq!(calc["messages"], json!([]));

    // reserve what may be spent
    let reserve = json!({"id": "order-1", "amount": 87});
    let (status, _) = ctx
        .call(
            Method::PATCH,
            &format!("customer/{PHONE}/balance/reserve"),
            Some(reserve),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, customer) = ctx
        .call(Method::GET, &format!("customer?phone={PHONE}"), None)
        .await;
    assert_eq!(dec_of(&customer["availableBonuses"]), dec!(413));
    assert_eq!(ctx.emu.customer(KEY, PHONE).unwrap().reserved, dec!(87));

    // release it, then sell with the debit
    let release = json!({"id": "order-1", "amount": -87});
    let (status, _) = ctx
        .call(
            Method::PATCH,
            &format!("customer/{PHONE}/balance/reserve"),
            Some(release),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, sale) = ctx
        .call(
            Method::POST,
            "retail",
            Some(order("87", Some("sale-1"), &lines)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{sale}");
    assert!(
        sale.get("discount").is_none(),
        "RetailResult has no discount: {sale}"
    );
    // 87 split 200 : 90 → 60 + 27; earned (200 − 60) × 5 % + (90 − 27) × 5 % = 7 + 3.15
    let sold = &ctx.emu.sales(KEY)[0];
    assert_eq!(sold.items[0].db, dec!(60));
    assert_eq!(sold.items[1].db, dec!(27));
    assert_eq!(sold.items[0].cb, dec!(7));
    assert_eq!(sold.items[1].cb, dec!(3.15));
    assert_eq!(sale["id"], sold.id);
    assert_eq!(sale["orderUid"], sold.order_uid.as_str());
    assert_eq!(sale["customer"]["availableBonuses"].to_string(), "423.15");
    assert_eq!(ctx.balance(), dec!(423.15));

    // return a quarter of line a: −1.75 earned, +15 spent
    let (status, back) = ctx
        .call(
            Method::PUT,
            "retail/back",
            Some(json!({"ext": "a", "sum": 50})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let first_return = back["returnedPurchaseId"].as_i64().unwrap();
    assert_eq!(ctx.balance(), dec!(436.40));

    // and the rest: −5.25, +45
    let (status, back) = ctx
        .call(
            Method::PUT,
            "retail/back",
            Some(json!({"ext": "a", "sum": 150})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let second_return = back["returnedPurchaseId"].as_i64().unwrap();
    assert_ne!(first_return, second_return);
    assert_eq!(ctx.balance(), dec!(476.15));

    let too_much = ctx
        .call(
            Method::PUT,
            "retail/back",
            Some(json!({"ext": "a", "sum": 0.01})),
        )
        .await;
    assert_error(
        &too_much,
        StatusCode::PRECONDITION_FAILED,
        "RETURN_SUM_TOO_BIG",
    );
    assert_eq!(ctx.balance(), dec!(476.15));

    let sales = ctx.emu.sales(KEY);
    assert_eq!(sales.len(), 1);
    assert_eq!(sales[0].external_id, "sale-1");
    assert_eq!(sales[0].items[0].returned_cb, dec!(7));
    assert_eq!(sales[0].items[0].returned_db, dec!(60));
    assert_eq!(sales[0].items[1].returned_sum, dec!(0));
    assert_eq!(
        sales[0].items[0].returned_purchase_ids,
        vec![first_return, second_return]
    );
}

#[tokio::test]
async fn many_partial_returns_reverse_exactly_the_line() {
    let ctx = Ctx::with_customer(dec!(0)).await;
    let (status, sale) = ctx
        .call(
            Method::POST,
            "retail",
            Some(order("0", Some("s"), &[("x", "p", "3.00", "0")])),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{sale}");
    assert_eq!(ctx.balance(), dec!(0.15));
    for _ in 0..3 {
        let (status, back) = ctx
            .call(
                Method::PUT,
                "retail/back",
                Some(json!({"ext": "x", "sum": 1})),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(back["returnedPurchaseId"].is_i64(), "{back}");
    }
    assert_eq!(ctx.balance(), dec!(0));
}
