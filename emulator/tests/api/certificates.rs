//! Gift certificates: `GET certificate/{id}`, `giftCards[]` on `POST retail`, the control side.

use bonusplus_emulator::NewCertificate;
use reqwest::{Method, StatusCode};
use rust_decimal_macros::dec;
use serde_json::{json, Value};

use crate::helpers::*;

const CERT: &str = "9f2a5c1e-0b7d-4c33-8e55-1a2b3c4d5e6f";

fn certificate(balance: rust_decimal::Decimal) -> NewCertificate {
    NewCertificate {
        id: Some(CERT.to_uppercase()),
        initial_balance: Some(dec!(1000)),
        expire: Some("2099-12-31T23:59:59".into()),
        ..NewCertificate::new("GC-0001", balance)
    }
}

#[tokio::test]
async fn certificates_answer_their_status_and_balances() {
    let ctx = Ctx::new().await;
    assert_eq!(ctx.emu.add_certificate(KEY, certificate(dec!(1000))), CERT);
    let path = format!("certificate/{CERT}");
    let (status, found) = ctx.call(Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    let expected = format!(
        r#"{{"id": "{CERT}", "name": "GC-0001", "expireDate": "2099-12-31T23:59:59",
             "status": "CAN_BE_USED", "currentBalance": 1000.00, "initialBalance": 1000.00}}"#
    );
    assert_eq!(found, serde_json::from_str::<Value>(&expected).unwrap());

    let cases = [
        (certificate(dec!(250.5)), "PARTIALLY_REDEEMED"),
        (certificate(dec!(0)), "REDEEMED"),
        (
            NewCertificate {
                expire: Some("2001-01-01".into()),
                ..certificate(dec!(1000))
            },
            "EXPIRED",
        ),
        (
            NewCertificate {
                expire: None,
                ..certificate(dec!(1000))
            },
            "CAN_BE_USED",
        ),
    ];
    for (new, status) in cases {
        ctx.emu.add_certificate(KEY, new);
        let (_, found) = ctx.call(Method::GET, &path, None).await;
        assert_eq!(found["status"], status, "{found}");
        assert_eq!(ctx.emu.certificate(KEY, CERT).unwrap().status, status);
    }
    let (_, no_expiry) = ctx.call(Method::GET, &path, None).await;
    assert_eq!(no_expiry["expireDate"], Value::Null);

    let unknown = ctx
        .call(
            Method::GET,
            "certificate/0f2a5c1e-0b7d-4c33-8e55-1a2b3c4d5e6f",
            None,
        )
        .await;
    assert_error(
        &unknown,
        StatusCode::PRECONDITION_FAILED,
        "CERTIFICATE_NOT_FOUND",
    );
    // A printed number is not an id: no lookup by number is documented.
    let by_number = ctx.call(Method::GET, "certificate/GC-0001", None).await;
    assert_error(&by_number, StatusCode::BAD_REQUEST, "VALIDATION_ERROR");

    let (status, number) = ctx.call(Method::GET, "certificate/number", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(number["number"].as_str().unwrap().len(), 13);
}

#[tokio::test]
async fn certificates_over_http() {
    let ctx = Ctx::new().await;
    let body = r#"{"name": "GC-7", "balance": 500, "expire": "2099-01-01"}"#;
    let (status, added) = ctx
        .raw(
            Method::POST,
            &format!("__control/tenants/{KEY}/certificates"),
            Some(body),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{added}");
    assert_eq!(added["status"], "CAN_BE_USED");
    assert_eq!(added["expire"], "2099-01-01T00:00:00");
    let id = added["id"].as_str().unwrap();
    let (status, read) = ctx
        .raw(
            Method::GET,
            &format!("__control/tenants/{KEY}/certificates/{id}"),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read, added);
    let (status, _) = ctx
        .raw(
            Method::GET,
            &format!("__control/tenants/{KEY}/certificates/{CERT}"),
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

fn sale_with_cards(external_id: &str, ext: &str, cards: Value) -> Value {
    let mut body = order("0", Some(external_id), &[(ext, "p", "1000", "0")]);
    body["giftCards"] = cards;
    body
}

#[tokio::test]
async fn certificates_pay_for_sales() {
    let ctx = Ctx::with_customer(dec!(0)).await;
    ctx.emu.add_certificate(KEY, certificate(dec!(1000)));
    let body = sale_with_cards("s1", "a", json!([{"id": CERT, "paymentSum": 500.00}]));
    let (status, sale) = ctx.call(Method::POST, "retail", Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{sale}");
    let after = ctx.emu.certificate(KEY, CERT).unwrap();
    assert_eq!(after.current_balance, dec!(500));
    assert_eq!(after.status, "PARTIALLY_REDEEMED");
    let sold = &ctx.emu.sales(KEY)[0];
    assert_eq!(sold.gift_cards[0].id, CERT);
    assert_eq!(sold.gift_cards[0].payment_sum, dec!(500));
    // Bonuses are earned as without the certificate: 1000 × 5 %.
    assert_eq!(ctx.balance(), dec!(50));

    // Exactly the rest is fine; then it is redeemed.
    let body = sale_with_cards("s2", "b", json!([{"id": CERT, "paymentSum": 500}]));
    assert_eq!(
        ctx.call(Method::POST, "retail", Some(body)).await.0,
        StatusCode::OK
    );
    assert_eq!(ctx.emu.certificate(KEY, CERT).unwrap().status, "REDEEMED");
    let body = sale_with_cards("s3", "c", json!([{"id": CERT, "paymentSum": 0.01}]));
    let answer = ctx.call(Method::POST, "retail", Some(body)).await;
    assert_error(
        &answer,
        StatusCode::PRECONDITION_FAILED,
        "CERTIFICATE_NOT_ACTIVE",
    );
}

#[tokio::test]
async fn certificate_payments_are_checked_before_anything_changes() {
    let ctx = Ctx::with_customer(dec!(0)).await;
    ctx.emu.add_certificate(KEY, certificate(dec!(300)));
    let expired = ctx.emu.add_certificate(
        KEY,
        NewCertificate {
            expire: Some("2001-01-01".into()),
            ..NewCertificate::new("GC-OLD", dec!(100))
        },
    );
    let unknown = "0f2a5c1e-0b7d-4c33-8e55-1a2b3c4d5e6f";
    let refusals = [
        (
            json!([{"id": CERT, "paymentSum": 300.01}]),
            "NOT_ENOUGH_CERTIFICATE_BALANCE",
        ),
        (
            json!([{"id": expired, "paymentSum": 1}]),
            "CERTIFICATE_NOT_ACTIVE",
        ),
        (
            json!([{"id": unknown, "paymentSum": 1}]),
            "CERTIFICATE_NOT_FOUND",
        ),
        (
            json!([{"id": CERT, "paymentSum": 1}, {"id": unknown, "paymentSum": 1}]),
            "CERTIFICATE_NOT_FOUND",
        ),
    ];
    for (cards, code) in refusals {
        let body = sale_with_cards("s1", "a", cards);
        let answer = ctx.call(Method::POST, "retail", Some(body)).await;
        assert_error(&answer, StatusCode::PRECONDITION_FAILED, code);
    }
    for cards in [
        json!([{"id": "GC-0001", "paymentSum": 1}]),
        json!([{"id": CERT, "paymentSum": 0}]),
        json!([{"id": CERT, "paymentSum": 1.001}]),
        json!([{"id": CERT, "paymentSum": "1"}]),
        json!([{"id": CERT, "paymentSum": 1}, {"id": CERT, "paymentSum": 1}]),
    ] {
        let body = sale_with_cards("s1", "a", cards);
        let answer = ctx.call(Method::POST, "retail", Some(body)).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "VALIDATION_ERROR");
    }
    assert_eq!(
        ctx.emu.certificate(KEY, CERT).unwrap().current_balance,
        dec!(300)
    );
    assert!(ctx.emu.sales(KEY).is_empty());
    assert_eq!(ctx.balance(), dec!(0));
}
