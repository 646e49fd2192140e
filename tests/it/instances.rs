//! Several instances on one PostgreSQL database: what one instance changes about an account
//! reaches the till on every other at once (announced with `NOTIFY`), although each keeps the
//! account in memory between changes; an id one hands out works on the other at once; a database
//! restart is answered "try again" and loses or doubles nothing.

use std::time::{Duration, Instant};

use bonusbridge::config::Settings;
use futures::StreamExt;
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::cluster::Cluster;
use crate::support::moysklad::{deactivate_body, APP_UID, SECRET};
use crate::support::moysklad_fake::moysklad_jwt;
use crate::support::pos::{agent, dec, decimal_at, position, retail_store, Options, Pos, POS};
use crate::support::{Backend, TestApp, TestDb};

/// The other instance answers the till's search as before, then refuses it once the first
/// suspends the account — within a second.
#[tokio::test]
async fn suspend_on_one_instance_refuses_the_till_on_another_within_a_second() {
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let second_db = db.shared();
    let first = Pos::start_with(db, Options::default(), |s| {
        s.moysklad.secret_key = SECRET.to_owned().into();
        s.moysklad.app_uid = APP_UID.to_owned();
    })
    .await;
    let bonusplus = first.emu.base_url();
    let second = TestApp::spawn(second_db, |s| {
        s.bonusplus.base_url = bonusplus.parse().unwrap();
    })
    .await;
    first
        .emu
        .add_customer(&first.key, "79011234567", 100.into());

    // Both instances now keep the account in memory.
    assert_eq!(till_search(&first.app, &first.token).await, 200);
    assert_eq!(till_search(&second, &first.token).await, 200);

    let suspended = Instant::now();
    assert_eq!(suspend(&first).await, 200);
    assert_eq!(till_search(&first.app, &first.token).await, 403);
    let mut status = till_search(&second, &first.token).await;
    while status != 403 && suspended.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(10)).await;
        status = till_search(&second, &first.token).await;
    }
    let took = suspended.elapsed();
    assert_eq!(
        status, 403,
        "the second instance still serves a suspended account"
    );
    assert!(
        took < Duration::from_secs(1),
        "the second instance refused the till only after {took:?}"
    );
}

async fn till_search(app: &TestApp, token: &str) -> u16 {
    crate::support::pos::till_search(&app.http, &app.url("/loyalty"), token, POS).await
}

/// MoySklad suspends the app through the first instance's Vendor API endpoint.
async fn suspend(pos: &Pos) -> u16 {
    let app = &pos.app;
    let jwt = moysklad_jwt(SECRET, &uuid::Uuid::new_v4().to_string(), 60);
    let url = app.url(&format!(
        "/api/moysklad/vendor/1.0/apps/{}/{}",
        app.state.settings.moysklad.app_id, pos.account
    ));
    app.http
        .request(Method::DELETE, url)
        .bearer_auth(jwt)
        .json(&deactivate_body("Suspend"))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// A counterparty linked to another customer on one instance is priced for that customer on the
/// other at once, although the other keeps links in memory.
#[tokio::test]
async fn a_link_saved_on_one_instance_is_used_by_another_within_a_second() {
    use bonusbridge::customers::TillCustomer;
    use bonusbridge::domain::keys::customer_guid;
    use bonusbridge::store::CustomerLink;

    let Some(db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let second_db = db.shared();
    let first = Pos::start(db, Options::default()).await;
    let second = TestApp::spawn(second_db, |_| {}).await;
    let key = bonusbridge::bonusplus::ApiKey::new(first.key.clone().into()).unwrap();
    let who = TillCustomer {
        counterparty_id: Some("ms-counterparty-1".into()),
        ..TillCustomer::default()
    };
    let link = |phone: &str| CustomerLink {
        account_id: first.account.clone(),
        phone: phone.to_owned(),
        customer_guid: customer_guid(&first.account, phone),
        ms_counterparty_id: who.counterparty_id.clone(),
        card_number: None,
    };
    let linked_on_second = || async {
        second
            .state
            .customers
            .phone_of(&first.account, &key, &who)
            .await
            .unwrap()
            .to_string()
    };

    first
        .app
        .state
        .customers
        .save_link(&link("79011230001"), false)
        .await
        .unwrap();
    assert_eq!(linked_on_second().await, "79011230001");

    let relinked = Instant::now();
    first
        .app
        .state
        .customers
        .save_link(&link("79011230002"), false)
        .await
        .unwrap();
    let mut phone = linked_on_second().await;
    while phone != "79011230002" && relinked.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(10)).await;
        phone = linked_on_second().await;
    }
    assert_eq!(
        phone, "79011230002",
        "the second instance kept the old link"
    );
    assert!(relinked.elapsed() < Duration::from_secs(1));
}

/// The till's calls alternate between two instances behind a balancer: whatever one instance's
/// search answers, the other's detail, recalculation and sale know at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_one_instance_hands_out_works_on_the_other_at_once() {
    const PAIRS: usize = 1000;
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let (first, second) = two_instances(db, |_| {}).await;
    for i in 0..PAIRS {
        first
            .emu
            .add_customer(&first.key, &customer_phone(i), 10.into());
    }
    let instances = [&first.app, &second];
    let failures: Vec<String> = futures::stream::iter(0..PAIRS)
        .map(|i| {
            let (searcher, asker) = (instances[i % 2], instances[(i + 1) % 2]);
            let token = first.token.as_str();
            async move {
                let id = searched_id(searcher, token, &customer_phone(i)).await;
                let (status, body) = call(asker, token, "/counterparty/detail", detail(&id)).await;
                (status != 200).then(|| format!("pair {i}: detail {status} {body}"))
            }
        })
        .buffer_unordered(16)
        .filter_map(|failure| async move { failure })
        .collect()
        .await;
    assert!(
        failures.is_empty(),
        "{} of {PAIRS} details failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );

    // A customer searched on the first instance, priced and sold on the second by id alone.
    let phone = customer_phone(PAIRS);
    first.emu.add_customer(&first.key, &phone, 500.into());
    let id = searched_id(&first.app, &first.token, &phone).await;
    let receipt = json!({
        "retailStore": retail_store(),
        "agent": {"meta": {"href": "h", "id": id}},
        "positions": [position("prod-1", "1", "100.00")],
    });
    let (status, body) = call(&second, &first.token, "/retaildemand/recalc", receipt).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        decimal_at(&body["bonusProgram"]["agentBonusBalance"]),
        dec("500"),
        "{body}"
    );
    let sale = json!({
        "retailStore": retail_store(),
        "meta": {"href": "h", "id": "5a1e0000-0000-0000-0000-00000000a11d"},
        "name": "1", "moment": "2026-12-06 10:00:00",
        "agent": {"meta": {"href": "h", "id": id}},
        "positions": [position("prod-1", "1", "100.00")],
    });
    let (status, body) = call(&second, &first.token, "/retaildemand", sale).await;
    assert_eq!(status, 201, "{body}");
    wait_for(Duration::from_secs(10), || {
        first.emu.sales(&first.key).len() == 1
    })
    .await;
    assert_eq!(first.emu.sales(&first.key)[0].phone, phone);
}

/// PostgreSQL restarts while two instances take sales: every sale is answered 201 or 503 in
/// MoySklad's format (with `Retry-After`), never 500; readiness says so while it lasts; every sale
/// is booked once — those answered 503 once MoySklad repeats them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_restart_answers_503_and_loses_or_doubles_nothing() {
    const SALES: usize = 120;
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let cluster = std::sync::Arc::new(cluster);
    let db = TestDb::at(cluster.url("postgres"));
    let (first, second) = two_instances(db, |s| {
        s.database.acquire_timeout_ms = 500;
        s.jobs.inline_grace_ms = 3000;
        s.jobs.poll_interval_ms = 50;
        s.jobs.max_backoff_ms = 400;
    })
    .await;
    for customer in 0..10 {
        first
            .emu
            .add_customer(&first.key, &customer_phone(customer), 0.into());
    }
    let instances = [&first.app, &second];
    let restarted = {
        let cluster = cluster.clone();
        tokio::task::spawn_blocking(move || {
            std::thread::sleep(Duration::from_millis(300));
            cluster.stop();
            std::thread::sleep(Duration::from_millis(1500));
            cluster.start_again();
        })
    };
    let answers: Vec<(usize, u16, Value, bool)> = futures::stream::iter(0..SALES)
        .map(|i| {
            let app = instances[i % 2];
            let token = first.token.as_str();
            async move {
                tokio::time::sleep(Duration::from_millis(25 * i as u64)).await;
                let (status, body, retry_after) = sell(app, token, i).await;
                (i, status, body, retry_after)
            }
        })
        .buffer_unordered(SALES)
        .collect()
        .await;
    restarted.await.unwrap();
    let refused: Vec<usize> = answers
        .iter()
        .filter(|(_, status, _, _)| *status == 503)
        .map(|(i, _, _, _)| *i)
        .collect();
    for (i, status, body, retry_after) in &answers {
        assert!(matches!(status, 201 | 503), "sale {i}: {status} {body}");
        if *status == 503 {
            assert_eq!(body["errors"][0]["code"], 5003, "{body}");
            assert_eq!(
                body["errors"][0]["error"],
                "Сервис временно недоступен, повторите позже"
            );
            assert!(retry_after, "sale {i}: 503 without Retry-After");
        }
    }
    assert!(
        !refused.is_empty(),
        "the restart refused no sale: the test saw no outage"
    );
    let back = Instant::now();
    while !ready(&second).await {
        assert!(
            back.elapsed() < Duration::from_secs(20),
            "never ready again"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for i in refused.iter().copied() {
        let (status, body, _) = sell(instances[(i + 1) % 2], &first.token, i).await;
        assert_eq!(status, 201, "repeated sale {i}: {body}");
    }
    wait_for(Duration::from_secs(30), || {
        first.emu.sales(&first.key).len() >= SALES
    })
    .await;
    let mut booked: Vec<String> = first
        .emu
        .sales(&first.key)
        .into_iter()
        .map(|sale| sale.external_id)
        .collect();
    booked.sort();
    booked.dedup();
    assert_eq!(booked.len(), SALES, "every sale booked");
    assert_eq!(
        first.emu.sales(&first.key).len(),
        SALES,
        "no sale booked twice"
    );
    eprintln!(
        "{} of {SALES} sales answered 503 during the restart, all booked once after repeating",
        refused.len()
    );
}

fn customer_phone(i: usize) -> String {
    format!("7902{:07}", i)
}

/// Two instances on one database: the first with a configured account and the emulator, the
/// second pointed at the same emulator; no rate limits (a balancer's traffic comes from one IP).
async fn two_instances(db: TestDb, adjust: impl Fn(&mut Settings) + Copy) -> (Pos, TestApp) {
    let second_db = db.shared();
    let unlimited = move |s: &mut Settings| {
        s.limits.per_ip_per_second = 0;
        s.limits.per_token_per_second = 0;
        adjust(s);
    };
    let first = Pos::start_with(db, Options::default(), unlimited).await;
    let second = first.another_instance(second_db, unlimited).await;
    (first, second)
}

async fn call(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    let response = app
        .http
        .post(app.url(&format!("/loyalty{path}")))
        .header("Lognex-Discount-API-Auth-Token", token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn searched_id(app: &TestApp, token: &str, phone: &str) -> String {
    let response = app
        .http
        .get(app.url(&format!(
            "/loyalty/counterparty?search={phone}&retailStoreId={POS}"
        )))
        .header("Lognex-Discount-API-Auth-Token", token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["rows"][0]["id"]
        .as_str()
        .expect("a row with an id")
        .to_owned()
}

fn detail(id: &str) -> Value {
    json!({"retailStore": retail_store(), "meta": {"href": "h", "id": id}})
}

/// Sale `i` (its id fixed, so a repeat is the same sale): status, body, and whether `Retry-After` came.
async fn sell(app: &TestApp, token: &str, i: usize) -> (u16, Value, bool) {
    let customer = i % 10;
    let body = json!({
        "retailStore": retail_store(),
        "meta": {"href": "h", "id": format!("5a1e0000-0000-0000-0000-{i:012}")},
        "name": format!("{i}"), "moment": "2026-12-06 10:00:00",
        "agent": agent(&format!("00000000-0000-0000-0000-{customer:012}"), &format!("+{}", customer_phone(customer))),
        "positions": [position("prod-1", "1", "100.00")],
    });
    let response = app
        .http
        .post(app.url("/loyalty/retaildemand"))
        .header("Lognex-Discount-API-Auth-Token", token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let retry_after = response.headers().contains_key("retry-after");
    (
        status,
        response.json().await.unwrap_or(Value::Null),
        retry_after,
    )
}

async fn ready(app: &TestApp) -> bool {
    reqwest::get(app.url("/health/ready"))
        .await
        .is_ok_and(|r| r.status().is_success())
}

/// Waits until `done` holds, checking every 20 ms; fails the test after `limit`.
async fn wait_for(limit: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "not done within {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
