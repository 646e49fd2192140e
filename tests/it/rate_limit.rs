//! The till's per-token rate limit on the real server (`limits.per_token_per_second` and
//! `per_token_burst`, `src/http/rate_limit.rs`): a token over its limit is refused with 429 in
//! MoySklad's error format and a `Retry-After` of whole seconds; another account's token is served
//! all the while; after waiting what `Retry-After` said, the first token is served again.

use std::time::Duration;

use bonusplus_emulator::TenantRules;
use serde_json::Value;

use crate::support::pos::{configure_account, Options, Pos, POS};
use crate::support::TestDb;

crate::on_both_backends!(a_token_over_its_limit_waits_while_others_are_served);

/// Requests per second a token is allowed, and how many may come at once.
const PER_SECOND: u32 = 1;
const BURST: u32 = 3;

/// The till's customer search with `token`: status, `Retry-After`, body.
async fn search(pos: &Pos, token: &str) -> (u16, Option<String>, Value) {
    let response = pos
        .app
        .http
        .get(pos.app.url(&format!(
            "/loyalty/counterparty?search=79011231122&retailStoreId={POS}"
        )))
        .header("Lognex-Discount-API-Auth-Token", token)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .map(|value| value.to_str().expect("ASCII").to_owned());
    let body = response.json().await.unwrap_or(Value::Null);
    (status, retry_after, body)
}

async fn a_token_over_its_limit_waits_while_others_are_served(db: TestDb) {
    let pos = Pos::start_with(db, Options::default(), |s| {
        s.limits.per_ip_per_second = 0;
        s.limits.per_token_per_second = PER_SECOND;
        s.limits.per_token_burst = BURST;
    })
    .await;
    let (other_key, other_token) = ("bp-key-of-another-shop", "token-of-another-shop");
    pos.emu.add_tenant(other_key, TenantRules::default());
    configure_account(
        &pos.app,
        "another-account",
        other_key,
        other_token,
        Options::default(),
    )
    .await;

    // The burst is served at once.
    for n in 1..=BURST {
        let (status, _, body) = search(&pos, &pos.token).await;
        assert_eq!(status, 200, "request {n} of the burst: {body}");
    }
    // Then the token is over its limit (the bucket refills one request a second: a few more
    // requests at most before one is refused, however slow the machine).
    let mut refused = None;
    for _ in 0..10 {
        let answer = search(&pos, &pos.token).await;
        if answer.0 == 429 {
            refused = Some(answer);
            break;
        }
        assert_eq!(answer.0, 200, "{}", answer.2);
    }
    let (_, retry_after, body) = refused.expect("the token over its limit was never refused");
    assert_eq!(body["errors"].as_array().map(Vec::len), Some(1), "{body}");
    let error = &body["errors"][0];
    assert_eq!(error["code"], 1029, "{body}");
    assert_eq!(
        error["error"],
        "Слишком много запросов, повторите через несколько секунд"
    );
    assert!(
        error["error_message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Rate limit exceeded")),
        "{body}"
    );
    let retry_after = retry_after.expect("a 429 says when to come back (Retry-After)");
    let seconds: u64 = retry_after
        .parse()
        .unwrap_or_else(|_| panic!("Retry-After in whole seconds: {retry_after:?}"));
    assert!(seconds > 0, "Retry-After: {seconds}");

    // Another account's till is served meanwhile, from the same address.
    let (status, _, body) = search(&pos, other_token).await;
    assert_eq!(status, 200, "another token: {body}");

    // After the wait it was told, the first till is served again.
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let (status, _, body) = search(&pos, &pos.token).await;
    assert_eq!(status, 200, "after Retry-After: {body}");
}
