//! The same controls over HTTP, as scripts drive the binary.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

async fn control(
    ctx: &Ctx,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let raw = body.map(|b| b.to_string());
    ctx.raw(method, &format!("__control/{path}"), raw.as_deref(), None)
        .await
}

#[tokio::test]
async fn scripts_can_seed_inspect_and_break_the_emulator() {
    let ctx = Ctx::new().await;
    let rules = json!({"key": "script", "rules": {"earn_percent": 10, "stores": ["Магазин 1"]}});
    assert_eq!(
        control(&ctx, Method::POST, "tenants", Some(rules)).await.0,
        StatusCode::NO_CONTENT
    );
    let customer = json!({"phone": PHONE, "balance": 500, "person": {"fn": "Демо"}, "discount_card_number": "2000000051420"});
    assert_eq!(
        control(
            &ctx,
            Method::POST,
            "tenants/script/customers",
            Some(customer)
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    let promo = json!({"store": STORE, "product": "p1", "percent": 5, "name": "Сыр"});
    assert_eq!(
        control(&ctx, Method::POST, "tenants/script/promotions", Some(promo))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    let balance = json!({"balance": 450.5});
    let path = format!("tenants/script/customers/{PHONE}/balance");
    assert_eq!(
        control(&ctx, Method::PUT, &path, Some(balance)).await.0,
        StatusCode::NO_CONTENT
    );

    let script = auth_header("script");
    let (status, found) = ctx
        .raw(
            Method::GET,
            "customer?ean=2000000051420",
            None,
            Some(&script),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(found["availableBonuses"].to_string(), "450.50");

    let (status, snapshot) = control(
        &ctx,
        Method::GET,
        &format!("tenants/script/customers/{PHONE}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(snapshot["balance"].to_string(), "450.5");
    assert_eq!(snapshot["person"]["fn"], "Демо");

    ctx.raw(
        Method::PUT,
        &format!("customer/{PHONE}/sendCode"),
        None,
        Some(&script),
    )
    .await;
    let (_, code) = control(
        &ctx,
        Method::GET,
        &format!("tenants/script/customers/{PHONE}/code"),
        None,
    )
    .await;
    assert_eq!(code["sent"], 1);
    assert_eq!(code["code"].as_str().unwrap().len(), 4);

    let (_, count) = control(&ctx, Method::GET, "count?method=GET&path=customer", None).await;
    assert_eq!(count["count"], 1);
    let (_, requests) = control(&ctx, Method::GET, "requests", None).await;
    assert_eq!(requests.as_array().unwrap().len(), 2);
    assert_eq!(
        control(&ctx, Method::DELETE, "requests", None).await.0,
        StatusCode::NO_CONTENT
    );

    let fail = json!({"count": 1, "mode": "status500"});
    assert_eq!(
        control(&ctx, Method::POST, "fail_next", Some(fail)).await.0,
        StatusCode::NO_CONTENT
    );
    let (status, _) = ctx.raw(Method::GET, "account", None, Some(&script)).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);

    assert_eq!(
        control(&ctx, Method::POST, "tenants/script/reject", None)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    let (status, _) = ctx.raw(Method::GET, "account", None, Some(&script)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        control(&ctx, Method::POST, "tenants/script/accept", None)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    let (status, _) = ctx.raw(Method::GET, "account", None, Some(&script)).await;
    assert_eq!(status, StatusCode::OK);

    assert_eq!(
        control(
            &ctx,
            Method::PUT,
            "recording",
            Some(json!({"enabled": false}))
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        control(&ctx, Method::PUT, "latency", Some(json!({"ms": 1})))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    let (_, sales) = control(&ctx, Method::GET, "tenants/script/sales", None).await;
    assert_eq!(sales, json!([]));
    let (status, _) = control(
        &ctx,
        Method::GET,
        "tenants/script/customers/79000000000",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn scripts_can_give_a_customer_a_card() {
    let ctx = Ctx::with_customer(rust_decimal_macros::dec!(1)).await;
    let path = format!("tenants/{KEY}/customers/{PHONE}/card");
    let card = json!({"number": "4006381333931"});
    assert_eq!(
        control(&ctx, Method::PUT, &path, Some(card)).await.0,
        StatusCode::NO_CONTENT
    );
    let (status, found) = ctx
        .call(Method::GET, "customer?ean=4006381333931", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["phone"], PHONE);
    let (_, snapshot) = control(
        &ctx,
        Method::GET,
        &format!("tenants/{KEY}/customers/{PHONE}"),
        None,
    )
    .await;
    assert_eq!(snapshot["discount_card_number"], "4006381333931");
    assert!(snapshot["id"].is_string());
    assert_eq!(snapshot["card_name"], "Базовая");
    let missing = format!("tenants/{KEY}/customers/79000000000/card");
    let card = json!({"number": "96385074"});
    assert_eq!(
        control(&ctx, Method::PUT, &missing, Some(card)).await.0,
        StatusCode::NOT_FOUND
    );
    assert!(ctx.emu.set_card(KEY, PHONE, "96385074"));
    assert!(!ctx.emu.set_card(KEY, "79000000000", "96385074"));
}
