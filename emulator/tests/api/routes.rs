//! `GET account`, the refusal of undocumented calls, and routes refused on purpose.

use reqwest::{Method, StatusCode};
use rust_decimal_macros::dec;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn account_answers_a_good_key_and_refuses_a_bad_one() {
    let ctx = Ctx::new().await;
    let (status, account) = ctx.call(Method::GET, "account", None).await;
    assert_eq!(status, StatusCode::OK, "{account}");
    assert!(account["balance"].is_number(), "{account}");
    assert!(account["tariff"].is_string(), "{account}");
    assert!(account["smsPrice"].is_number(), "{account}");
    assert!(account["pushPrice"].is_number(), "{account}");

    let bad = ctx
        .raw(Method::GET, "account", None, Some(&auth_header("nope")))
        .await;
    assert_error(&bad, StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    let none = ctx.raw(Method::GET, "account", None, None).await;
    assert_error(&none, StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
}

/// ASP.NET Web API's answers: 404 when no route matches the path, 405 when the path exists
/// with other methods only; body `{"Message": ...}`.
#[tokio::test]
async fn undocumented_calls_answer_like_unknown_routes() {
    let ctx = Ctx::with_customer(dec!(10)).await;
    let cases = [
        // the old key check: `customer/{phoneNumber}` exists with PUT and PATCH only
        (
            Method::GET,
            "customer/stat",
            None,
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        // the old update, phone in the body: `customer` exists with GET and POST only
        (
            Method::PUT,
            "customer",
            Some(json!({"phone": PHONE, "fn": "Иван"})),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            Method::DELETE,
            "customer",
            None,
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            Method::GET,
            "retail/calc",
            None,
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (Method::GET, "giftcard", None, StatusCode::NOT_FOUND),
        (Method::GET, "nope/at/all", None, StatusCode::NOT_FOUND),
        (
            Method::POST,
            "account",
            None,
            StatusCode::METHOD_NOT_ALLOWED,
        ),
    ];
    for (method, path, body, status) in cases {
        let answer = ctx.call(method.clone(), path, body).await;
        assert_eq!(answer.0, status, "{method} {path}: {}", answer.1);
        assert!(
            answer.1["Message"].is_string(),
            "{method} {path}: {}",
            answer.1
        );
        assert!(answer.1.get("code").is_none(), "{}", answer.1);
    }
    // Nothing changed, and the attempts are on record.
    assert_eq!(
        ctx.emu.customer(KEY, PHONE).unwrap().person.first_name,
        None
    );
    assert_eq!(ctx.emu.count("GET", "customer/stat"), 1);
    assert_eq!(ctx.emu.count("PUT", "customer"), 1);
}

#[tokio::test]
async fn refused_routes_answer_as_unknown_until_cleared() {
    let ctx = Ctx::with_customer(dec!(10)).await;
    ctx.emu.refuse_route("GET", "/account", 404);
    ctx.emu.refuse_route("patch", "customer/{phoneNumber}", 405);
    let answer = ctx.call(Method::GET, "account", None).await;
    assert_eq!(answer.0, StatusCode::NOT_FOUND);
    assert!(answer.1["Message"].is_string());

    // The fallback key check still works: an impossible phone is 412 for a good key.
    let fallback = ctx
        .call(Method::GET, "customer?phone=70000000000", None)
        .await;
    assert_error(
        &fallback,
        StatusCode::PRECONDITION_FAILED,
        "CUSTOMER_NOT_FOUND",
    );

    let patch = format!("customer/{PHONE}");
    let answer = ctx
        .call(Method::PATCH, &patch, Some(json!({"fn": "Иван"})))
        .await;
    assert_eq!(answer.0, StatusCode::METHOD_NOT_ALLOWED);
    // PUT on the same path still works.
    let (status, _) = ctx
        .call(Method::PUT, &patch, Some(json!({"fn": "Иван"})))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ctx.emu.count("PATCH", &patch), 1);

    ctx.emu.clear_refused_routes();
    assert_eq!(
        ctx.call(Method::GET, "account", None).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn refused_routes_over_http() {
    let ctx = Ctx::new().await;
    let control = |method: Method, body: Option<&'static str>| {
        let ctx = &ctx;
        async move {
            ctx.raw(method, "__control/refused_routes", body, None)
                .await
        }
    };
    let refuse = r#"{"method": "GET", "path": "/account"}"#;
    assert_eq!(
        control(Method::POST, Some(refuse)).await.0,
        StatusCode::NO_CONTENT
    );
    let (_, list) = control(Method::GET, None).await;
    assert_eq!(
        list,
        json!([{"method": "GET", "path": "/account", "status": 404}])
    );
    assert_eq!(
        ctx.call(Method::GET, "account", None).await.0,
        StatusCode::NOT_FOUND
    );
    let bad = r#"{"method": "GET", "path": "/account", "status": 500}"#;
    assert_eq!(
        control(Method::POST, Some(bad)).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        control(Method::DELETE, None).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        ctx.call(Method::GET, "account", None).await.0,
        StatusCode::OK
    );
}
