//! Authentication, request validation and the customer calls.

use reqwest::{Method, StatusCode};
use rust_decimal_macros::dec;
use serde_json::json;

use crate::helpers::*;

const OTHER_PHONE: &str = "79022223344";

#[tokio::test]
async fn bad_keys_answer_401() {
    let ctx = Ctx::with_customer(dec!(1)).await;
    let path = format!("customer?phone={PHONE}");
    let cases = [
        None,
        Some("Bearer abc".to_owned()),
        Some(auth_header("unknown-key")),
        Some("ApiKey %%%not-base64".to_owned()),
        Some(format!("ApiKey {KEY}")), // the key not base64-encoded
    ];
    for auth in cases {
        let answer = ctx.raw(Method::GET, &path, None, auth.as_deref()).await;
        assert_error(&answer, StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    }
    assert_eq!(ctx.call(Method::GET, &path, None).await.0, StatusCode::OK);
}

#[tokio::test]
async fn rejected_key_answers_401_until_accepted() {
    let ctx = Ctx::with_customer(dec!(1)).await;
    ctx.emu.reject_key(KEY);
    let answer = ctx.call(Method::GET, "account", None).await;
    assert_error(&answer, StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    ctx.emu.accept_key(KEY);
    let (status, _) = ctx.call(Method::GET, "account", None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn tenants_are_isolated() {
    let ctx = Ctx::with_customer(dec!(1)).await;
    ctx.emu.add_tenant("other", Default::default());
    let answer = ctx
        .raw(
            Method::GET,
            &format!("customer?phone={PHONE}"),
            None,
            Some(&auth_header("other")),
        )
        .await;
    assert_error(
        &answer,
        StatusCode::PRECONDITION_FAILED,
        "CUSTOMER_NOT_FOUND",
    );
}

#[tokio::test]
async fn malformed_json_answers_400() {
    let ctx = Ctx::with_customer(dec!(1)).await;
    let auth = auth_header(KEY);
    for body in ["{", "", "[1,2]", r#"{"id":"x","amount":1} trailing"#] {
        let answer = ctx
            .raw(
                Method::PATCH,
                &format!("customer/{PHONE}/balance/reserve"),
                Some(body),
                Some(&auth),
            )
            .await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "VALIDATION_ERROR");
    }
}

#[tokio::test]
async fn missing_fields_and_wrong_types_are_named() {
    let ctx = Ctx::with_customer(dec!(100)).await;
    let cases = [
        (json!({"store": STORE, "items": []}), "phone"),
        (
            json!({"phone": PHONE, "store": STORE, "items": [{"ext": "a", "qnt": 1, "ds": 0}]}),
            "sum",
        ),
        (
            json!({"phone": PHONE, "store": STORE, "items": [{"ext": "a", "qnt": 1, "sum": "100", "ds": 0}]}),
            "items[0].sum",
        ),
        (
            json!({"phone": PHONE, "store": STORE, "bonusDebit": "5", "items": [{"ext": "a", "qnt": 1, "sum": 1, "ds": 0}]}),
            "bonusDebit",
        ),
        (
            json!({"phone": PHONE, "store": STORE, "items": [{"ext": 7, "qnt": 1, "sum": 1, "ds": 0}]}),
            "items[0].ext",
        ),
        (
            json!({"phone": PHONE, "store": STORE, "items": []}),
            "items",
        ),
        (
            json!({"phone": "+7901", "store": STORE, "items": [{"ext": "a", "qnt": 1, "sum": 1, "ds": 0}]}),
            "phone",
        ),
        (
            json!({"phone": PHONE, "store": STORE, "items": [{"ext": "a", "qnt": 1, "sum": 1.001, "ds": 0}]}),
            "items[0].sum",
        ),
        (
            json!({"phone": PHONE, "store": STORE, "items": [{"ext": "a", "qnt": 0, "sum": 1, "ds": 0}]}),
            "items[0].qnt",
        ),
        (
            json!({"phone": PHONE, "store": STORE, "items": [{"ext": "a", "qnt": 1, "sum": 1, "ds": 2}]}),
            "items[0].ds",
        ),
        (
            json!({"phone": PHONE, "store": STORE, "items": [{"ext": "a", "qnt": 1, "sum": -1, "ds": 0}]}),
            "items[0].sum",
        ),
        (
            json!({"phone": PHONE, "store": STORE, "items": [
            {"ext": "a", "qnt": 1, "sum": 1, "ds": 0}, {"ext": "a", "qnt": 1, "sum": 1, "ds": 0}]}),
            "items[1].ext",
        ),
    ];
    for (body, field) in cases {
        let answer = ctx
            .call(Method::PUT, "retail/calc", Some(body.clone()))
            .await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "VALIDATION_ERROR");
        let msg = answer.1["msg"].as_str().unwrap();
        assert!(msg.contains(field), "{body}: «{msg}» does not name {field}");
    }
}

#[tokio::test]
async fn find_by_phone_ean_and_id() {
    let ctx = Ctx::new().await;
    ctx.emu.add_customer_with(
        KEY,
        bonusplus_emulator::NewCustomer {
            discount_card_number: Some("2000000051420".into()),
            ..bonusplus_emulator::NewCustomer::new(PHONE, dec!(120.5))
        },
    );
    ctx.emu.add_customer_with(
        KEY,
        bonusplus_emulator::NewCustomer {
            discount_card_number: Some("96385074".into()),
            ..bonusplus_emulator::NewCustomer::new(OTHER_PHONE, dec!(1))
        },
    );
    let (status, by_card) = ctx
        .call(Method::GET, "customer?ean=2000000051420", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{by_card}");
    assert_eq!(by_card["phone"], PHONE);
    assert_eq!(by_card["discountCardNumber"], "2000000051420");
    assert_eq!(by_card["availableBonuses"].to_string(), "120.50");
    let id = by_card["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 36, "a GUID: {id}");

    let (status, ean8) = ctx.call(Method::GET, "customer?ean=96385074", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ean8["phone"], OTHER_PHONE);

    let by_id_path = format!("customer?id={}", id.to_uppercase());
    let (status, by_id) = ctx.call(Method::GET, &by_id_path, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(by_id["phone"], PHONE);
    let both_path = format!("customer?ean=2000000051420&phone={PHONE}");
    let (status, both) = ctx.call(Method::GET, &both_path, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(both["id"], id.as_str());
    // Criteria naming two different customers find nobody.
    let mixed_path = format!("customer?ean=96385074&phone={PHONE}");
    let mixed = ctx.call(Method::GET, &mixed_path, None).await;
    assert_error(
        &mixed,
        StatusCode::PRECONDITION_FAILED,
        "CUSTOMER_NOT_FOUND",
    );

    for missing in [
        "customer?phone=79000000000",
        "customer?ean=4006381333931",
        "customer?id=9f2a5c1e-0b7d-4c33-8e55-1a2b3c4d5e6f",
    ] {
        let answer = ctx.call(Method::GET, missing, None).await;
        assert_error(
            &answer,
            StatusCode::PRECONDITION_FAILED,
            "CUSTOMER_NOT_FOUND",
        );
    }
    for malformed in [
        "customer",
        // no longer understood: no valid parameter remains
        "customer?discountCardNumber=2000000051420",
        "customer?phone=123",
        "customer?ean=200000005142",
        "customer?ean=20000000514200",
        "customer?ean=2000000O51420",
        "customer?id=2000000051420",
    ] {
        let answer = ctx.call(Method::GET, malformed, None).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "VALIDATION_ERROR");
    }
}

#[tokio::test]
async fn reserve_state_and_cancel() {
    let ctx = Ctx::with_customer(dec!(100)).await;
    let path = format!("customer/{PHONE}/balance/reserve");
    let state = |id: &str| format!("customer/{PHONE}/balance/reserve/{id}");
    let never = ctx.call(Method::GET, &state("order-1"), None).await;
    assert_error(&never, StatusCode::PRECONDITION_FAILED, "RESERVE_NOT_FOUND");

    let reserve = json!({"id": "order-1", "amount": 30});
    assert_eq!(
        ctx.call(Method::PATCH, &path, Some(reserve)).await.0,
        StatusCode::NO_CONTENT
    );
    let (status, held) = ctx.call(Method::GET, &state("order-1"), None).await;
    assert_eq!(status, StatusCode::OK, "{held}");
    let expected = format!(r#"{{"phone": "{PHONE}", "id": "order-1", "amount": 30.00}}"#);
    assert_eq!(
        held,
        serde_json::from_str::<serde_json::Value>(&expected).unwrap()
    );

    let release = json!({"id": "order-1", "amount": -30});
    ctx.call(Method::PATCH, &path, Some(release)).await;
    let (status, released) = ctx.call(Method::GET, &state("order-1"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(dec_of(&released["amount"]), dec!(0));

    let unknown = ctx
        .call(Method::GET, "customer/79000000000/balance/reserve/x", None)
        .await;
    assert_error(
        &unknown,
        StatusCode::PRECONDITION_FAILED,
        "CUSTOMER_NOT_FOUND",
    );

    // DELETE customer/balance/reserve {id}: cancels it whoever holds it; unknown ids are fine.
    let reserve = json!({"id": "order-2", "amount": 12.5});
    ctx.call(Method::PATCH, &path, Some(reserve)).await;
    assert_eq!(ctx.emu.customer(KEY, PHONE).unwrap().reserved, dec!(12.5));
    for id in ["order-2", "nope"] {
        let (status, _) = ctx
            .call(
                Method::DELETE,
                "customer/balance/reserve",
                Some(json!({ "id": id })),
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    let snapshot = ctx.emu.customer(KEY, PHONE).unwrap();
    assert_eq!(snapshot.reserved, dec!(0));
    assert_eq!(snapshot.known_reserves, vec!["order-1", "order-2"]);
    let bad = ctx
        .call(Method::DELETE, "customer/balance/reserve", Some(json!({})))
        .await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "VALIDATION_ERROR");
}

#[tokio::test]
async fn send_and_check_codes() {
    let ctx = Ctx::with_customer(dec!(0)).await;
    let send = format!("customer/{PHONE}/sendCode");
    assert_eq!(
        ctx.call(Method::PUT, &send, None).await.0,
        StatusCode::NO_CONTENT
    );
    let first = ctx.emu.last_code(KEY, PHONE).unwrap();
    assert_eq!(first.len(), 4);
    assert!(first.bytes().all(|b| b.is_ascii_digit()));

    let wrong = if first == "0000" { "1111" } else { "0000" };
    let answer = ctx
        .call(
            Method::PUT,
            &format!("customer/{PHONE}/checkCode/{wrong}"),
            None,
        )
        .await;
    assert_error(&answer, StatusCode::PRECONDITION_FAILED, "INVALID_CODE");
    let check = format!("customer/{PHONE}/checkCode/{first}");
    assert_eq!(
        ctx.call(Method::PUT, &check, None).await.0,
        StatusCode::NO_CONTENT
    );

    // A new code replaces the old one.
    let mut second = first.clone();
    while second == first {
        assert_eq!(
            ctx.call(Method::PUT, &send, None).await.0,
            StatusCode::NO_CONTENT
        );
        second = ctx.emu.last_code(KEY, PHONE).unwrap();
    }
    assert_error(
        &ctx.call(Method::PUT, &check, None).await,
        StatusCode::PRECONDITION_FAILED,
        "INVALID_CODE",
    );
    let check = format!("customer/{PHONE}/checkCode/{second}");
    assert_eq!(
        ctx.call(Method::PUT, &check, None).await.0,
        StatusCode::NO_CONTENT
    );
    assert!(ctx.emu.codes_sent(KEY, PHONE) >= 2);

    let unknown = ctx
        .call(Method::PUT, "customer/79000000000/sendCode", None)
        .await;
    assert_error(
        &unknown,
        StatusCode::PRECONDITION_FAILED,
        "CUSTOMER_NOT_FOUND",
    );
}

#[tokio::test]
async fn reserves_add_release_and_refuse() {
    let ctx = Ctx::with_customer(dec!(100)).await;
    let path = format!("customer/{PHONE}/balance/reserve");
    let reserve = |id: &str, amount: &str| {
        serde_json::from_str::<serde_json::Value>(&format!(r#"{{"id":"{id}","amount":{amount}}}"#))
            .unwrap()
    };
    assert_eq!(
        ctx.call(Method::PATCH, &path, Some(reserve("a", "30")))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        ctx.call(Method::PATCH, &path, Some(reserve("a", "10.50")))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        ctx.call(Method::PATCH, &path, Some(reserve("b", "20")))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    let snapshot = ctx.emu.customer(KEY, PHONE).unwrap();
    assert_eq!(snapshot.reserves["a"], dec!(40.50));
    assert_eq!(snapshot.available, dec!(39.50));

    let too_much = ctx
        .call(Method::PATCH, &path, Some(reserve("c", "39.51")))
        .await;
    assert_error(
        &too_much,
        StatusCode::PRECONDITION_FAILED,
        "NOT_ENOUGH_BONUSES",
    );

    // partial release, over-release (releases all), unknown id (no-op)
    assert_eq!(
        ctx.call(Method::PATCH, &path, Some(reserve("a", "-0.50")))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        ctx.emu.customer(KEY, PHONE).unwrap().reserves["a"],
        dec!(40)
    );
    assert_eq!(
        ctx.call(Method::PATCH, &path, Some(reserve("b", "-1000")))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        ctx.call(Method::PATCH, &path, Some(reserve("zzz", "-5")))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    let snapshot = ctx.emu.customer(KEY, PHONE).unwrap();
    assert_eq!(snapshot.reserved, dec!(40));
    assert!(!snapshot.reserves.contains_key("b"));
    assert_eq!(snapshot.balance, dec!(100));

    let (_, customer) = ctx
        .call(Method::GET, &format!("customer?phone={PHONE}"), None)
        .await;
    assert_eq!(dec_of(&customer["availableBonuses"]), dec!(60));

    let bad = ctx
        .call(Method::PATCH, &path, Some(json!({"id": "a"})))
        .await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "VALIDATION_ERROR");
    let unknown = ctx
        .call(
            Method::PATCH,
            "customer/79000000000/balance/reserve",
            Some(reserve("a", "1")),
        )
        .await;
    assert_error(
        &unknown,
        StatusCode::PRECONDITION_FAILED,
        "CUSTOMER_NOT_FOUND",
    );
}

#[tokio::test]
async fn available_bonuses_never_go_below_zero() {
    let ctx = Ctx::with_customer(dec!(50)).await;
    let path = format!("customer/{PHONE}/balance/reserve");
    let reserve = json!({"id": "a", "amount": 50});
    assert_eq!(
        ctx.call(Method::PATCH, &path, Some(reserve)).await.0,
        StatusCode::NO_CONTENT
    );
    ctx.emu.set_balance(KEY, PHONE, dec!(10));
    let (_, customer) = ctx
        .call(Method::GET, &format!("customer?phone={PHONE}"), None)
        .await;
    assert_eq!(dec_of(&customer["availableBonuses"]), dec!(0));
}
