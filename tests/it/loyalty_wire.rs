//! The exact BonusPlus requests each LoyaltyAPI endpoint produces, pinned with wiremock.

use base64::Engine;
use serde_json::{json, Value};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::pos::{
    agent, configure_account, num, position, retail_store, Options, POS, STORE,
};
use crate::support::{Backend, TestApp, TestDb};

const KEY: &str = "wire-key";
const TOKEN: &str = "wire-token";

async fn app_against(mock: &MockServer) -> TestApp {
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let base = format!("{}/", mock.uri());
    let app = TestApp::spawn(db, |s| s.bonusplus.base_url = base.parse().unwrap()).await;
    configure_account(&app, "acc-wire", KEY, TOKEN, Options::default()).await;
    app
}

fn auth() -> String {
    format!(
        "ApiKey {}",
        base64::engine::general_purpose::STANDARD.encode(KEY)
    )
}

async fn post(app: &TestApp, path: &str, body: Value) -> (u16, Value) {
    let response = app
        .http
        .post(app.url(&format!("/loyalty{path}")))
        .header("Lognex-Discount-API-Auth-Token", TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    // A sale or return is answered at commit; its delivery follows right after the answer.
    app.state.outbox.deliveries_settled().await;
    (status, body)
}

fn customer(phone: &str, bonuses: &str) -> Value {
    json!({"phone": phone, "availableBonuses": num(bonuses), "person": {"fn": "Иван", "ln": "Петров"}, "discountCardNumber": "2000000051420"})
}

fn body_of(request: &wiremock::Request) -> Value {
    serde_json::from_slice(&request.body).unwrap()
}

#[tokio::test]
async fn search_and_detail_read_the_customer_by_phone() {
    let mock = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/customer"))
        .and(query_param("phone", "79011231122"))
        .and(header("Authorization", auth().as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(customer("79011231122", "120.50")))
        .expect(2)
        .mount(&mock)
        .await;
    let app = app_against(&mock).await;
    let response = app
        .http
        .get(app.url("/loyalty/counterparty?search=8%20901%20123%2011%2022&retailStoreId=x"))
        .header("Lognex-Discount-API-Auth-Token", TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let (status, body) = post(&app, "/counterparty/detail", json!({"retailStore": retail_store(), "meta": {"href": "h", "id": "x"}, "phone": "9011231122"})).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["bonusProgram"]["agentBonusBalance"].to_string(),
        "120.50"
    );
}

#[tokio::test]
async fn create_sends_the_customer_in_bonusplus_fields() {
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/customer"))
        .and(header("Authorization", auth().as_str()))
        .and(body_json(json!({
            "phone": "79035550000", "ln": "Сидорова", "fn": "Анна", "mn": "Павловна",
            "sex": 2, "email": "anna@example.com", "birthDay": "17.05.1990", "ean": "2000000051420",
            "store": STORE
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(customer("79035550000", "0")))
        .expect(1)
        .mount(&mock)
        .await;
    let app = app_against(&mock).await;
    let (status, body) = post(&app, "/counterparty", json!({
        "retailStore": retail_store(), "meta": {"href": "h", "id": "ms-1"},
        "name": "Сидорова Анна Павловна", "phone": "+7 903 555-00-00", "sex": "FEMALE",
        "email": "anna@example.com", "birthDate": "1990-05-17 00:00:00", "discountCardNumber": "2000000051420"
    }))
    .await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn create_keeps_a_card_that_is_not_an_ean_out_and_patches_an_existing_phone() {
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/customer"))
        .and(body_json(json!({"phone": "79035550000", "ln": "Сидорова", "fn": "Анна", "birthDay": "01.02.1985", "store": STORE})))
        .respond_with(ResponseTemplate::new(412).set_body_json(
            json!({"code": "CUSTOMER_ALREADY_EXIST", "msg": "Клиент уже существует"}),
        ))
        .expect(1)
        .mount(&mock)
        .await;
    // Only the fields MoySklad sent, on the documented path with the phone in it.
    Mock::given(method("PATCH"))
        .and(path("/customer/79035550000"))
        .and(header("Authorization", auth().as_str()))
        .and(body_json(
            json!({"ln": "Сидорова", "fn": "Анна", "birthday": "01.02.1985"}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(customer("79035550000", "0")))
        .expect(1)
        .mount(&mock)
        .await;
    let app = app_against(&mock).await;
    let (status, body) = post(
        &app,
        "/counterparty",
        json!({
            "retailStore": retail_store(), "meta": {"href": "h", "id": "ms-1"},
            "name": "Сидорова Анна", "phone": "+7 903 555-00-00",
            "birthDate": "1985-02-01 00:00:00", "discountCardNumber": "777"
        }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn recalc_sends_one_calculation_with_exact_items() {
    let mock = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/customer"))
        .respond_with(ResponseTemplate::new(200).set_body_json(customer("79011231122", "500")))
        .mount(&mock)
        .await;
    Mock::given(method("PUT"))
        .and(path("/retail/calc"))
        .and(header("Authorization", auth().as_str()))
        .and(body_json(json!({
            "phone": "79011231122", "store": STORE, "bonusDebit": num("40"),
            "items": [
                {"ext": "0", "product": "prod-milk", "qnt": num("3"), "sum": num("300.00"), "ds": num("0"), "price": num("100.00")},
                {"ext": "1", "product": "prod-bread", "qnt": num("0.5"), "sum": num("25.00"), "ds": num("0"), "price": num("50.00")}
            ]
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "maxDebitBonuses": 97, "multiplicityDebitBonus": 1,
            "discount": [
                {"ext": "0", "cb": num("13.00"), "db": num("30.00"), "ids": num("10.00")},
                {"ext": "1", "cb": num("1.00"), "db": num("10.00"), "ids": 0}
            ],
            "messages": ["Акция «Молоко»"]
        })))
        .expect(1)
        .mount(&mock)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/customer/79011231122/balance/reserve"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&mock)
        .await;
    let app = app_against(&mock).await;
    let (status, body) = post(&app, "/retaildemand/recalc", json!({
        "retailStore": retail_store(),
        "agent": agent("c0ffee00-0000-0000-0000-000000000001", "+79011231122"),
        "positions": [position("prod-milk", "3", "100.00"), position("prod-bread", "0.5", "50.00")],
        "bonusProgram": {"transactionType": "SPENDING"},
        "preferredBonusToSpend": 40
    }))
    .await;
    assert_eq!(status, 200, "{body}");
    // Milk: 300 − 40 = 260 over 3 units → 86.66 + 2 × 86.67; bread: 25 − 10 = 15 for 0.5 units.
    let positions = body["positions"].as_array().unwrap();
    assert_eq!(positions.len(), 3, "{body}");
    assert_eq!(positions[0]["discountedPrice"].to_string(), "86.66");
    assert_eq!(positions[1]["discountedPrice"].to_string(), "86.67");
    let bread: rust_decimal::Decimal = positions[2]["discountedPrice"].to_string().parse().unwrap();
    assert_eq!(
        (bread * rust_decimal::Decimal::new(5, 1))
            .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero),
        rust_decimal::Decimal::new(1500, 2),
        "half a unit pays exactly 15.00"
    );
    assert_eq!(
        body["bonusProgram"]["bonusValueToSpend"].to_string(),
        "40.00"
    );
    assert_eq!(
        body["bonusProgram"]["bonusValueToEarn"].to_string(),
        "14.00"
    );
    assert_eq!(body["bonusProgram"]["receiptExtraInfo"], "Акция «Молоко»");
    // The spend is reserved in the background with the exact amount.
    for _ in 0..100 {
        let reserves: Vec<_> = mock
            .received_requests()
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.method.as_str() == "PATCH")
            .collect();
        if let Some(reserve) = reserves.first() {
            let body = body_of(reserve);
            assert_eq!(body["amount"].to_string(), "40.00");
            assert!(body["id"].as_str().is_some_and(|id| !id.is_empty()));
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("no reserve was made");
}

#[tokio::test]
async fn sale_and_return_carry_stable_ids() {
    let mock = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/retail"))
        .and(header("Authorization", auth().as_str()))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"customer": customer("79011231122", "100")})),
        )
        .expect(1)
        .mount(&mock)
        .await;
    Mock::given(method("PUT"))
        .and(path("/retail/back"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&mock)
        .await;
    let app = app_against(&mock).await;
    let (status, _) = post(&app, "/retaildemand", json!({
        "retailStore": retail_store(), "meta": {"href": "h", "id": "sale-1"}, "name": "1", "moment": "2026-11-23 10:00:00",
        "agent": agent("c1", "+79011231122"),
        "positions": [position("prod-milk", "3", "100.00"), position("prod-bread", "1", "50.00")],
        "bonusProgram": {"bonusValueToSpend": 10}
    }))
    .await;
    assert_eq!(status, 201);
    let (status, _) = post(
        &app,
        "/retailsalesreturn",
        json!({
            "retailStore": retail_store(), "meta": {"href": "h", "id": "return-1"},
            "demand": {"meta": {"href": "h", "id": "sale-1"}},
            "positions": [position("prod-milk", "2", "100.00")]
        }),
    )
    .await;
    assert_eq!(status, 201);
    let requests = mock.received_requests().await.unwrap();
    let sale = body_of(
        requests
            .iter()
            .find(|r| r.method.as_str() == "POST")
            .unwrap(),
    );
    let external_id = sale["externalId"].as_str().unwrap().to_owned();
    assert_eq!(sale["phone"], "79011231122");
    assert_eq!(sale["store"], STORE);
    assert_eq!(sale["bonusDebit"].to_string(), "10");
    assert_eq!(
        sale["items"][0],
        json!({"ext": format!("{external_id}:0"), "product": "prod-milk", "qnt": num("3"), "sum": num("300.00"), "ds": num("0"), "price": num("100.00")})
    );
    assert_eq!(sale["items"][1]["ext"], format!("{external_id}:1"));
    let back = body_of(
        requests
            .iter()
            .find(|r| r.method.as_str() == "PUT")
            .unwrap(),
    );
    assert_eq!(
        back,
        json!({"ext": format!("{external_id}:0"), "sum": num("200.00")})
    );
    assert_eq!(requests.len(), 2, "no other call: {POS}");
}
