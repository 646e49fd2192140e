//! Concurrency: calls are atomic per tenant and the server keeps up with parallel clients.

use std::sync::Arc;
use std::time::Instant;

use reqwest::{Method, StatusCode};
use rust_decimal_macros::dec;
use serde_json::json;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_reserves_never_overdraw() {
    let ctx = Arc::new(Ctx::with_customer(dec!(100)).await);
    let path = format!("customer/{PHONE}/balance/reserve");
    let attempts = (0..50).map(|i| {
        let ctx = ctx.clone();
        let path = path.clone();
        tokio::spawn(async move {
            let body = json!({"id": format!("order-{i}"), "amount": 10});
            ctx.call(Method::PATCH, &path, Some(body)).await.0
        })
    });
    let mut accepted = 0;
    for attempt in attempts.collect::<Vec<_>>() {
        match attempt.await.unwrap() {
            StatusCode::NO_CONTENT => accepted += 1,
            other => assert_eq!(other, StatusCode::PRECONDITION_FAILED),
        }
    }
    assert_eq!(accepted, 10);
    assert_eq!(ctx.emu.customer(KEY, PHONE).unwrap().available, dec!(0));
}

/// `cargo test -p bonusplus-emulator --release --test api -- --ignored --nocapture throughput`
#[tokio::test(flavor = "multi_thread")]
#[ignore = "a measurement, not a check"]
async fn throughput() {
    let ctx = Arc::new(Ctx::with_customer(dec!(1000)).await);
    ctx.emu.set_recording(false);
    let body = order("0", None, &[("a", "p", "200", "0"), ("b", "p", "100", "5")]);
    let started = Instant::now();
    let workers: Vec<_> = (0..32)
        .map(|_| {
            let ctx = ctx.clone();
            let body = body.clone();
            tokio::spawn(async move {
                for _ in 0..300 {
                    let (status, _) = ctx
                        .call(Method::PUT, "retail/calc", Some(body.clone()))
                        .await;
                    assert_eq!(status, StatusCode::OK);
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.unwrap();
    }
    let per_second = 32.0 * 300.0 / started.elapsed().as_secs_f64();
    eprintln!("retail/calc: {per_second:.0} requests/s (client and server on the same machine)");
}
