//! Several instances on one PostgreSQL database: what one instance changes about an account
//! reaches the till on every other at once (announced with `NOTIFY`), although each keeps the
//! account in memory between changes.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use crate::lifecycle::{APP_UID, SECRET};
use crate::support::moysklad_fake::moysklad_jwt;
use crate::support::pos::{Options, Pos, POS};
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
    app.http
        .get(app.url(&format!(
            "/loyalty/counterparty?search=79011234567&retailStoreId={POS}"
        )))
        .header("Lognex-Discount-API-Auth-Token", token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
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
        .json(&json!({"appUid": APP_UID, "accountName": "x", "cause": "Suspend"}))
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
    use bonusbridge::customers::Identity;
    use bonusbridge::domain::identity::customer_guid;
    use bonusbridge::store::CustomerLink;

    let Some(db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    let second_db = db.shared();
    let first = Pos::start(db, Options::default()).await;
    let second = TestApp::spawn(second_db, |_| {}).await;
    let key = bonusbridge::bonusplus::ApiKey::new(first.key.clone().into()).unwrap();
    let who = Identity {
        counterparty_id: Some("ms-counterparty-1".into()),
        ..Identity::default()
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
