//! Latency, injected failures and request recording.

use std::time::{Duration, Instant};

use bonusplus_emulator::FailureMode;
use reqwest::{Method, StatusCode};
use rust_decimal_macros::dec;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn latency_delays_every_call() {
    let ctx = Ctx::new().await;
    ctx.emu.set_latency(Duration::from_millis(200));
    let started = Instant::now();
    assert_eq!(
        ctx.call(Method::GET, "account", None).await.0,
        StatusCode::OK
    );
    assert!(started.elapsed() >= Duration::from_millis(200));
    ctx.emu.set_latency(Duration::ZERO);
    let started = Instant::now();
    ctx.call(Method::GET, "account", None).await;
    assert!(started.elapsed() < Duration::from_millis(200));
}

#[tokio::test]
async fn status_500_failures_are_counted_down() {
    let ctx = Ctx::new().await;
    ctx.emu.fail_next(2, FailureMode::Status500);
    for _ in 0..2 {
        let answer = ctx.call(Method::GET, "account", None).await;
        assert_error(&answer, StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR");
    }
    assert_eq!(
        ctx.call(Method::GET, "account", None).await.0,
        StatusCode::OK
    );
    assert_eq!(ctx.emu.count("GET", "account"), 3);
}

#[tokio::test]
async fn timeout_failure_outlasts_the_client() {
    let ctx = Ctx::new().await;
    ctx.emu.fail_next(1, FailureMode::Timeout);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let error = client
        .get(ctx.url("account"))
        .header("Authorization", auth_header(KEY))
        .send()
        .await
        .unwrap_err();
    assert!(error.is_timeout(), "{error:?}");
    assert_eq!(
        ctx.call(Method::GET, "account", None).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn connection_drop_closes_the_socket_without_an_answer() {
    let ctx = Ctx::with_customer(dec!(10)).await;
    ctx.emu.fail_next(1, FailureMode::ConnectionDrop);
    let started = Instant::now();
    let error = ctx
        .http
        .put(ctx.url("retail/back"))
        .header("Authorization", auth_header(KEY))
        .json(&json!({"ext": "a", "sum": 1}))
        .send()
        .await
        .unwrap_err();
    assert!(!error.is_timeout() && !error.is_status(), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    // The emulator itself keeps serving, on a new connection.
    assert_eq!(
        ctx.call(Method::GET, "account", None).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn failures_do_not_touch_the_state() {
    let ctx = Ctx::with_customer(dec!(10)).await;
    ctx.emu.fail_next(1, FailureMode::Status500);
    let reserve = json!({"id": "a", "amount": 5});
    let path = format!("customer/{PHONE}/balance/reserve");
    assert_eq!(
        ctx.call(Method::PATCH, &path, Some(reserve)).await.0,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(ctx.emu.customer(KEY, PHONE).unwrap().reserved, dec!(0));
}

#[tokio::test]
async fn requests_are_recorded_until_switched_off() {
    let ctx = Ctx::with_customer(dec!(10)).await;
    let reserve = json!({"id": "order-1", "amount": 2.50});
    ctx.call(
        Method::PATCH,
        &format!("customer/{PHONE}/balance/reserve"),
        Some(reserve),
    )
    .await;
    ctx.call(Method::GET, &format!("customer?phone={PHONE}"), None)
        .await;

    let recorded = ctx.emu.requests();
    assert_eq!(recorded.len(), 2);
    assert_eq!(recorded[0].method, "PATCH");
    assert_eq!(
        recorded[0].path,
        format!("/customer/{PHONE}/balance/reserve")
    );
    assert_eq!(
        recorded[0].authorization.as_deref(),
        Some(auth_header(KEY).as_str())
    );
    assert_eq!(recorded[0].body["id"], "order-1");
    assert_eq!(recorded[0].body["amount"].to_string(), "2.5");
    assert_eq!(
        recorded[1].query.as_deref(),
        Some(format!("phone={PHONE}").as_str())
    );
    assert_eq!(recorded[1].body, serde_json::Value::Null);
    assert_eq!(ctx.emu.count("GET", "/customer"), 1);
    assert_eq!(
        ctx.emu
            .count("patch", &format!("customer/{PHONE}/balance/reserve")),
        1
    );

    ctx.emu.clear_requests();
    ctx.emu.set_recording(false);
    ctx.call(Method::GET, "account", None).await;
    assert!(ctx.emu.requests().is_empty());
    ctx.emu.set_recording(true);
    ctx.call(Method::GET, "account", None).await;
    assert_eq!(ctx.emu.count("GET", "account"), 1);
}

#[tokio::test]
async fn shutdown_stops_the_server() {
    let ctx = Ctx::new().await;
    let url = ctx.url("account");
    ctx.emu.clone().shutdown().await;
    assert!(ctx.http.get(url).send().await.is_err());
}
