//! Product import and the promotions that depend on it.

use reqwest::{Method, StatusCode};
use rust_decimal_macros::dec;
use serde_json::json;

use crate::helpers::*;

fn import(store: &str, products: serde_json::Value) -> serde_json::Value {
    json!({"store": store, "products": products})
}

#[tokio::test]
async fn import_upserts_into_the_store() {
    let ctx = Ctx::new().await;
    let products = json!([
        {"id": "g1", "pid": 0, "n": "Молочное", "g": true},
        {"id": "p1", "pid": "g1", "n": "Сыр", "g": false},
    ]);
    let answer = ctx
        .call(
            Method::POST,
            "product/import",
            Some(import(STORE, products)),
        )
        .await;
    assert_eq!(answer.0, StatusCode::NO_CONTENT, "{}", answer.1);
    let renamed = json!([{"id": "p1", "pid": "g1", "n": "Сыр твёрдый", "g": false}]);
    assert_eq!(
        ctx.call(Method::POST, "product/import", Some(import(STORE, renamed)))
            .await
            .0,
        StatusCode::NO_CONTENT
    );

    let imported = ctx.emu.imported_products(KEY, STORE);
    assert_eq!(imported.len(), 2);
    assert_eq!(imported[0].pid.as_deref(), Some("0"));
    assert!(imported[0].group);
    assert_eq!(imported[1].name, "Сыр твёрдый");
}

#[tokio::test]
async fn import_errors() {
    let ctx = Ctx::new().await;
    let one = json!([{"id": "p1", "pid": 0, "n": "Сыр", "g": false}]);
    let answer = ctx
        .call(
            Method::POST,
            "product/import",
            Some(import("Нет такого", one)),
        )
        .await;
    assert_error(&answer, StatusCode::PRECONDITION_FAILED, "STORE_NOT_FOUND");

    let many: Vec<_> = (0..1001)
        .map(|i| json!({"id": format!("p{i}"), "pid": 0, "n": "x", "g": false}))
        .collect();
    let answer = ctx
        .call(
            Method::POST,
            "product/import",
            Some(import(STORE, json!(many))),
        )
        .await;
    assert_error(
        &answer,
        StatusCode::PRECONDITION_FAILED,
        "TOO_MANY_PRODUCTS",
    );
    let thousand: Vec<_> = many.into_iter().take(1000).collect();
    let answer = ctx
        .call(
            Method::POST,
            "product/import",
            Some(import(STORE, json!(thousand))),
        )
        .await;
    assert_eq!(answer.0, StatusCode::NO_CONTENT);

    for (bad, field) in [
        (
            json!([{"id": "p", "pid": 0, "n": "x", "g": "no"}]),
            "products[0].g",
        ),
        (json!([{"id": "p", "pid": 0, "g": false}]), "n"),
        (
            json!([{"id": "p", "pid": 0, "n": "", "g": false}]),
            "products[0].n",
        ),
        (json!([{"id": 1.5, "n": "x", "g": false}]), "products[0].id"),
    ] {
        let answer = ctx
            .call(Method::POST, "product/import", Some(import(STORE, bad)))
            .await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "VALIDATION_ERROR");
        assert!(
            answer.1["msg"].as_str().unwrap().contains(field),
            "{}",
            answer.1
        );
    }
}

#[tokio::test]
async fn promotions_fire_only_for_products_imported_into_the_store() {
    let ctx = Ctx::with_customer(dec!(0)).await;
    ctx.emu.add_store(KEY, "Магазин 2");
    ctx.emu.add_promotion(KEY, STORE, "cheese", dec!(5), "Сыр");
    let body = order(
        "0",
        None,
        &[("a", "cheese", "200", "0"), ("b", "bread", "50", "0")],
    );

    let (_, before) = ctx
        .call(Method::PUT, "retail/calc", Some(body.clone()))
        .await;
    assert_eq!(dec_of(&before["discount"][0]["ids"]), dec!(0));
    assert_eq!(before["messages"], json!([]));

    // imported elsewhere, or as a group: still nothing
    let elsewhere = json!([{"id": "cheese", "pid": 0, "n": "Сыр", "g": false}]);
    ctx.call(
        Method::POST,
        "product/import",
        Some(import("Магазин 2", elsewhere)),
    )
    .await;
    let as_group = json!([{"id": "cheese", "pid": 0, "n": "Сыр", "g": true}]);
    ctx.call(
        Method::POST,
        "product/import",
        Some(import(STORE, as_group)),
    )
    .await;
    let (_, still) = ctx
        .call(Method::PUT, "retail/calc", Some(body.clone()))
        .await;
    assert_eq!(dec_of(&still["discount"][0]["ids"]), dec!(0));

    let here = json!([{"id": "cheese", "pid": 0, "n": "Сыр", "g": false}]);
    ctx.call(Method::POST, "product/import", Some(import(STORE, here)))
        .await;
    let (status, after) = ctx.call(Method::PUT, "retail/calc", Some(body)).await;
    assert_eq!(status, StatusCode::OK);
    let cheese = &after["discount"][0];
    assert_eq!(cheese["ids"].to_string(), "10.00");
    assert_eq!(dec_of(&cheese["idp"]), dec!(5));
    assert_eq!(dec_of(&cheese["cb"]), dec!(9.50)); // (200 − 10) × 5 %
    assert_eq!(dec_of(&after["discount"][1]["ids"]), dec!(0));
    assert_eq!(dec_of(&after["maxDebitBonuses"]), dec!(0)); // nothing available
    assert_eq!(after["messages"], json!(["Акция «Сыр»: скидка 5%"]));
}
