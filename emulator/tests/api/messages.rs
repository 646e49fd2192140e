//! `POST customer/{phoneNumber}/sendMessage` and the messages a customer received.

use reqwest::{Method, StatusCode};
use rust_decimal_macros::dec;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn messages_are_kept_per_customer() {
    let ctx = Ctx::with_customer(dec!(0)).await;
    let path = format!("customer/{PHONE}/sendMessage");
    for text in ["Код для кассы: 123456", "Код для кассы: 654321"] {
        let (status, body) = ctx
            .call(Method::POST, &path, Some(json!({ "message": text })))
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    }
    assert_eq!(
        ctx.emu.last_message(KEY, PHONE).as_deref(),
        Some("Код для кассы: 654321")
    );
    let messages = ctx.emu.messages(KEY, PHONE);
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0].kind, "message");
    assert_eq!(messages[0].text, "Код для кассы: 123456");

    let (status, over_http) = ctx
        .raw(
            Method::GET,
            &format!("__control/tenants/{KEY}/customers/{PHONE}/messages"),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(over_http[1]["text"], "Код для кассы: 654321");
    assert_eq!(over_http[1]["kind"], "message");
}

#[tokio::test]
async fn messages_are_refused_for_strangers_and_bad_bodies() {
    let ctx = Ctx::with_customer(dec!(0)).await;
    let unknown = ctx
        .call(
            Method::POST,
            "customer/79000000000/sendMessage",
            Some(json!({"message": "hi"})),
        )
        .await;
    assert_error(
        &unknown,
        StatusCode::PRECONDITION_FAILED,
        "CUSTOMER_NOT_FOUND",
    );
    let path = format!("customer/{PHONE}/sendMessage");
    for body in [
        json!({"text": "hi"}),
        json!({"message": ""}),
        json!({"message": 5}),
    ] {
        let answer = ctx.call(Method::POST, &path, Some(body)).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "VALIDATION_ERROR");
        assert!(answer.1["msg"].as_str().unwrap().contains("message"));
    }
    assert!(ctx.emu.messages(KEY, PHONE).is_empty());
    // PUT is not the method: the path exists with POST only.
    let answer = ctx
        .call(Method::PUT, &path, Some(json!({"message": "hi"})))
        .await;
    assert_eq!(answer.0, StatusCode::METHOD_NOT_ALLOWED);
}
