//! Contract tests of the BonusPlus client against a local mock server: the exact request of
//! every call (method, path, query, headers, JSON body), every fallback of a call BonusPlus may
//! not know, and the mapping of every error class. The contract is `docs/bonusplus-wire.md`.

use std::time::Duration;

use base64::Engine as _;
use bonusbridge::bonusplus::{
    ApiKey, BonusPlusClient, BonusPlusError, CalcItem, CalcRequest, CertificateStatus,
    CustomerFilter, CustomerPatch, GiftCardPayment, NewCustomer, ProductImport, ProductTiny,
    ReturnLine, SaleRequest, Sex, Withheld,
};
use bonusbridge::domain::verification::{Channel, MessageRoute};
use bonusbridge::domain::{Ean, Phone};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use secrecy::SecretString;
use serde_json::Value;
use uuid::Uuid;
use wiremock::matchers::{body_json, body_string, header, method, path};
use wiremock::{Match, Mock, MockBuilder, MockServer, Request, ResponseTemplate};

const KEY: &str = "shop-secret-key-42";
const PHONE: &str = "79011231122";
const CARD: &str = "2000000051420";
const CUSTOMER_ID: &str = "9f2a5c1e-0b7d-4c33-8e55-1a2b3c4d5e6f";
const CERTIFICATE_ID: &str = "0c0ffee0-0000-4000-8000-000000000001";
const TIMEOUT: Duration = Duration::from_secs(2);

const CUSTOMER: &str = r#"{
    "id": "9f2a5c1e-0b7d-4c33-8e55-1a2b3c4d5e6f",
    "phone": "79011231122", "discountCardNumber": "2000000051420", "discountCardName": "Базовая",
    "availableBonuses": 12345678.91, "notActiveBonuses": 0.00,
    "person": {"fn": "Иван", "ln": "Петров", "mn": "Сергеевич", "sex": 1,
               "email": "ivan@example.com", "birthDay": "1990-05-17T00:00:00"},
    "someFutureField": {"nested": [1, 2]}
}"#;

/// ASP.NET Web API's answer for a route it does not know.
const UNKNOWN_ROUTE: &str =
    r#"{"Message": "No HTTP resource was found that matches the request URI."}"#;
const NOT_SUPPORTED: &str =
    r#"{"Message": "The requested resource does not support http method 'PATCH'."}"#;

fn key() -> ApiKey {
    ApiKey::new(SecretString::from(KEY)).unwrap()
}

fn authorization() -> String {
    format!(
        "ApiKey {}",
        base64::engine::general_purpose::STANDARD.encode(KEY)
    )
}

fn phone() -> Phone {
    Phone::parse("+7 (901) 123-11-22").unwrap()
}

fn customer_id() -> Uuid {
    Uuid::parse_str(CUSTOMER_ID).unwrap()
}

fn certificate_id() -> Uuid {
    Uuid::parse_str(CERTIFICATE_ID).unwrap()
}

/// Parses JSON text keeping numbers exactly as written (serde_json `arbitrary_precision`),
/// so comparing bodies also compares how each amount is spelled.
fn json(raw: &str) -> Value {
    serde_json::from_str(raw).unwrap()
}

async fn start() -> (MockServer, BonusPlusClient) {
    let server = MockServer::start().await;
    // No trailing slash on purpose: the client must add it.
    let client = BonusPlusClient::new(&server.uri(), TIMEOUT).unwrap();
    (server, client)
}

/// Matches the whole query string (or its absence), not just one parameter.
struct ExactQuery(Option<&'static str>);

impl Match for ExactQuery {
    fn matches(&self, request: &Request) -> bool {
        request.url.query() == self.0
    }
}

struct HeaderAbsent(&'static str);

impl Match for HeaderAbsent {
    fn matches(&self, request: &Request) -> bool {
        !request.headers.contains_key(self.0)
    }
}

/// What a request is expected to carry.
enum Sent {
    /// A GET: no body and no `Content-Type`.
    Nothing,
    /// An empty PUT: `Content-Length: 0`.
    Empty,
    /// This exact JSON.
    Json(&'static str),
}

/// A mock that matches only the exact request described, with the shop's key.
fn expect(verb: &str, url_path: &str, query: Option<&'static str>, sent: Sent) -> MockBuilder {
    let builder = Mock::given(method(verb))
        .and(path(url_path))
        .and(ExactQuery(query))
        .and(header("authorization", authorization().as_str()))
        .and(header("accept", "application/json"));
    match sent {
        Sent::Nothing => builder
            .and(HeaderAbsent("content-type"))
            .and(body_string("")),
        Sent::Empty => builder
            .and(header("content-type", "application/json"))
            .and(header("content-length", "0"))
            .and(body_string("")),
        Sent::Json(raw) => builder
            .and(header("content-type", "application/json"))
            .and(body_json(json(raw))),
    }
}

fn ok_json(raw: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(raw.to_owned(), "application/json")
}

fn error_answer(status: u16, raw: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(raw.to_owned(), "application/json")
}

/// The method and path (with query) of every request the server received, in order.
async fn received(server: &MockServer) -> Vec<String> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let query = r.url.query().map(|q| format!("?{q}")).unwrap_or_default();
            format!("{} {}{query}", r.method, r.url.path())
        })
        .collect()
}

fn calc_request() -> CalcRequest {
    CalcRequest {
        phone: phone(),
        store: "Магазин 1".into(),
        bonus_debit: dec!(0.1) + dec!(0.2),
        coupons: None,
        items: vec![
            CalcItem {
                ext: "line-1".into(),
                product: "prod-1".into(),
                qnt: dec!(2),
                sum: dec!(200.00),
                ds: dec!(0),
                price: Some(dec!(100.00)),
                cat: None,
            },
            CalcItem {
                ext: "line-2".into(),
                product: "prod-2".into(),
                qnt: dec!(1.250),
                sum: dec!(12345678.91),
                ds: dec!(0.10),
                price: None,
                cat: Some("cat-1".into()),
            },
        ],
    }
}

const CALC_BODY: &str = r#"{
    "phone": "79011231122", "store": "Магазин 1", "bonusDebit": 0.3,
    "items": [
        {"ext": "line-1", "product": "prod-1", "qnt": 2, "sum": 200.00, "ds": 0, "price": 100.00},
        {"ext": "line-2", "product": "prod-2", "qnt": 1.250, "sum": 12345678.91, "ds": 0.10, "cat": "cat-1"}
    ]
}"#;

// ---------------------------------------------------------------- key check

#[tokio::test]
async fn check_key_asks_account() {
    let (server, client) = start().await;
    expect("GET", "/account", None, Sent::Nothing)
        .respond_with(ok_json(
            r#"{"balance": 1500.00, "tariff": "Бизнес", "smsPrice": 3.50, "pushPrice": 0.50}"#,
        ))
        .expect(1)
        .mount(&server)
        .await;

    client.check_key(&key()).await.unwrap();

    assert_eq!(received(&server).await, ["GET /account"]);
}

#[tokio::test]
async fn check_key_reports_a_rejected_key() {
    for status in [401, 403] {
        let (server, client) = start().await;
        expect("GET", "/account", None, Sent::Nothing)
            .respond_with(error_answer(
                status,
                r#"{"code":"UNAUTHORIZED","msg":"Bad key"}"#,
            ))
            .expect(1)
            .mount(&server)
            .await;

        assert_eq!(
            client.check_key(&key()).await.unwrap_err(),
            BonusPlusError::Unauthorized,
            "HTTP {status}"
        );
        assert_eq!(received(&server).await, ["GET /account"], "no fallback");
    }
}

#[tokio::test]
async fn check_key_reports_bonusplus_down_without_fallback() {
    let (server, client) = start().await;
    expect("GET", "/account", None, Sent::Nothing)
        .respond_with(error_answer(500, r#"{"msg":"boom"}"#))
        .mount(&server)
        .await;

    let err = client.check_key(&key()).await.unwrap_err();

    assert!(matches!(err, BonusPlusError::Unavailable { .. }), "{err:?}");
    // Retried once as a read; never taken for an unknown call.
    assert_eq!(received(&server).await, ["GET /account", "GET /account"]);
}

#[tokio::test]
async fn check_key_falls_back_to_a_customer_lookup_when_account_is_unknown() {
    for (status, body) in [(404, UNKNOWN_ROUTE), (405, NOT_SUPPORTED), (404, "")] {
        let (server, client) = start().await;
        expect("GET", "/account", None, Sent::Nothing)
            .respond_with(error_answer(status, body))
            .expect(1)
            .mount(&server)
            .await;
        expect("GET", "/customer", Some("phone=70000000000"), Sent::Nothing)
            .respond_with(error_answer(
                412,
                r#"{"code":"CUSTOMER_NOT_FOUND","msg":"Клиент не найден"}"#,
            ))
            .expect(1)
            .mount(&server)
            .await;

        client.check_key(&key()).await.unwrap();

        assert_eq!(
            received(&server).await,
            ["GET /account", "GET /customer?phone=70000000000"],
            "HTTP {status}"
        );
    }
}

#[tokio::test]
async fn check_key_fallback_reports_a_rejected_key() {
    let (server, client) = start().await;
    expect("GET", "/account", None, Sent::Nothing)
        .respond_with(error_answer(404, UNKNOWN_ROUTE))
        .mount(&server)
        .await;
    expect("GET", "/customer", Some("phone=70000000000"), Sent::Nothing)
        .respond_with(error_answer(401, r#"{"code":"UNAUTHORIZED","msg":"no"}"#))
        .expect(1)
        .mount(&server)
        .await;

    assert_eq!(
        client.check_key(&key()).await.unwrap_err(),
        BonusPlusError::Unauthorized
    );
}

#[tokio::test]
async fn check_key_does_not_fall_back_on_a_business_404() {
    let (server, client) = start().await;
    expect("GET", "/account", None, Sent::Nothing)
        .respond_with(error_answer(404, r#"{"code":"NOT_FOUND","msg":"-"}"#))
        .mount(&server)
        .await;

    assert!(client.check_key(&key()).await.is_err());
    assert_eq!(received(&server).await, ["GET /account"]);
}

// ---------------------------------------------------------------- customer lookups

#[tokio::test]
async fn get_customer_by_phone() {
    let (server, client) = start().await;
    expect("GET", "/customer", Some("phone=79011231122"), Sent::Nothing)
        .respond_with(ok_json(CUSTOMER))
        .expect(1)
        .mount(&server)
        .await;

    let customer = client.get_customer(&key(), &phone()).await.unwrap();

    assert_eq!(customer.phone, PHONE);
    assert_eq!(customer.id, Some(customer_id()));
    assert_eq!(customer.discount_card_number.as_deref(), Some(CARD));
    assert_eq!(customer.discount_card_name.as_deref(), Some("Базовая"));
    assert_eq!(customer.available_bonuses, Some(dec!(12345678.91)));
    let person = customer.person.unwrap();
    assert_eq!(person.first_name.as_deref(), Some("Иван"));
    assert_eq!(person.last_name.as_deref(), Some("Петров"));
    assert_eq!(person.middle_name.as_deref(), Some("Сергеевич"));
    assert_eq!(person.sex, Some(Sex::Male));
    assert_eq!(person.email.as_deref(), Some("ivan@example.com"));
    assert_eq!(person.birth_day, Some(time::macros::date!(1990 - 05 - 17)));
}

#[tokio::test]
async fn customer_birthdays_and_names_are_read_in_every_accepted_spelling() {
    for (person, last_name) in [
        (
            r#"{"ln": "Петров", "birthDay": "1990-05-17T00:00:00"}"#,
            "Петров",
        ),
        (
            r#"{"lastName": "Петров", "birthDay": "1990-05-17"}"#,
            "Петров",
        ),
        (
            r#"{"lastName": "Петров", "birthday": "17.05.1990"}"#,
            "Петров",
        ),
    ] {
        let (server, client) = start().await;
        expect("GET", "/customer", Some("phone=79011231122"), Sent::Nothing)
            .respond_with(ok_json(&format!(
                r#"{{"phone": "79011231122", "person": {person}}}"#
            )))
            .mount(&server)
            .await;

        let person = client
            .get_customer(&key(), &phone())
            .await
            .unwrap()
            .person
            .unwrap();

        assert_eq!(person.last_name.as_deref(), Some(last_name), "{person:?}");
        assert_eq!(
            person.birth_day,
            Some(time::macros::date!(1990 - 05 - 17)),
            "{person:?}"
        );
    }
}

#[tokio::test]
async fn find_customer_by_card_asks_by_ean() {
    for card in [" 2000000051420 ", "96385074"] {
        let (server, client) = start().await;
        let query = if card.trim().len() == 13 {
            "ean=2000000051420"
        } else {
            "ean=96385074"
        };
        expect("GET", "/customer", Some(query), Sent::Nothing)
            .respond_with(ok_json(CUSTOMER))
            .expect(1)
            .mount(&server)
            .await;

        let customer = client.find_customer_by_card(&key(), card).await.unwrap();

        assert_eq!(customer.phone, PHONE);
    }
}

#[tokio::test]
async fn get_customer_by_ean() {
    let (server, client) = start().await;
    expect("GET", "/customer", Some("ean=2000000051420"), Sent::Nothing)
        .respond_with(ok_json(CUSTOMER))
        .expect(1)
        .mount(&server)
        .await;

    let ean = Ean::parse(CARD).unwrap();
    let customer = client.get_customer_by_ean(&key(), &ean).await.unwrap();

    assert_eq!(customer.id, Some(customer_id()));
}

#[tokio::test]
async fn a_card_that_is_not_a_valid_ean_is_never_sent() {
    let (server, client) = start().await;
    for card in [
        "  ",
        "2000001",
        "2000000051421",
        "777",
        "2000-0000-5142-0",
        "79011231122",
    ] {
        let err = client
            .find_customer_by_card(&key(), card)
            .await
            .unwrap_err();
        assert_eq!(err, BonusPlusError::NotFound, "{card:?}");
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn unknown_card_is_not_found() {
    let (server, client) = start().await;
    expect("GET", "/customer", Some("ean=2000000051420"), Sent::Nothing)
        .respond_with(error_answer(
            412,
            r#"{"code":"CUSTOMER_NOT_FOUND","msg":"Клиент не найден"}"#,
        ))
        .expect(1)
        .mount(&server)
        .await;

    let err = client
        .find_customer_by_card(&key(), CARD)
        .await
        .unwrap_err();

    assert_eq!(err, BonusPlusError::NotFound);
}

#[tokio::test]
async fn a_card_or_id_bonusplus_will_not_look_up_is_not_found() {
    let (server, client) = start().await;
    Mock::given(method("GET"))
        .and(path("/customer"))
        .respond_with(error_answer(
            400,
            r#"{"code":"VALIDATION_ERROR","msg":"ean: bad"}"#,
        ))
        .expect(2)
        .mount(&server)
        .await;

    let by_card = client.find_customer_by_card(&key(), CARD).await;
    let by_id = client.get_customer_by_id(&key(), &customer_id()).await;

    assert_eq!(by_card.unwrap_err(), BonusPlusError::NotFound);
    assert_eq!(by_id.unwrap_err(), BonusPlusError::NotFound);
}

#[tokio::test]
async fn get_customer_by_id() {
    let (server, client) = start().await;
    expect(
        "GET",
        "/customer",
        Some("id=9f2a5c1e-0b7d-4c33-8e55-1a2b3c4d5e6f"),
        Sent::Nothing,
    )
    .respond_with(ok_json(CUSTOMER))
    .expect(1)
    .mount(&server)
    .await;

    let customer = client
        .get_customer_by_id(&key(), &customer_id())
        .await
        .unwrap();

    assert_eq!(customer.phone, PHONE);
}

// ---------------------------------------------------------------- name search

#[tokio::test]
async fn list_customers_by_last_name() {
    let (server, client) = start().await;
    expect(
        "POST",
        "/customer/list",
        None,
        Sent::Json(r#"{"lastName": ["Петров"], "take": 20}"#),
    )
    .respond_with(ok_json(&format!("[{CUSTOMER}]")))
    .expect(1)
    .mount(&server)
    .await;

    let found = client
        .list_customers(&key(), &CustomerFilter::last_name("Петров"), 20)
        .await
        .unwrap();

    assert_eq!(found.len(), 1);
    assert_eq!(found[0].phone, PHONE);
    assert_eq!(found[0].available_bonuses, Some(dec!(12345678.91)));
}

#[tokio::test]
async fn list_customers_by_first_name_reads_a_list_object() {
    let (server, client) = start().await;
    expect(
        "POST",
        "/customer/list",
        None,
        Sent::Json(r#"{"firstName": ["Иван"], "take": 5}"#),
    )
    .respond_with(ok_json(&format!(r#"{{"list": [{CUSTOMER}], "count": 1}}"#)))
    .expect(1)
    .mount(&server)
    .await;

    let found = client
        .list_customers(&key(), &CustomerFilter::first_name("Иван"), 5)
        .await
        .unwrap();

    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, Some(customer_id()));
}

#[tokio::test]
async fn list_customers_answers_at_most_the_rows_asked_for() {
    let (server, client) = start().await;
    let rows: Vec<String> = (1..=5)
        .map(|n| format!(r#"{{"phone": "7901123110{n}"}}"#))
        .collect();
    expect(
        "POST",
        "/customer/list",
        None,
        Sent::Json(r#"{"lastName": ["Петров"], "take": 2}"#),
    )
    // A BonusPlus that ignores `take` answers every row.
    .respond_with(ok_json(&format!("[{}]", rows.join(","))))
    .expect(1)
    .mount(&server)
    .await;

    let found = client
        .list_customers(&key(), &CustomerFilter::last_name("Петров"), 2)
        .await
        .unwrap();

    let phones: Vec<&str> = found.iter().map(|c| c.phone.as_str()).collect();
    assert_eq!(phones, ["79011231101", "79011231102"]);
}

#[tokio::test]
async fn list_customers_take_is_capped_at_the_documented_maximum() {
    let (server, client) = start().await;
    expect(
        "POST",
        "/customer/list",
        None,
        Sent::Json(r#"{"lastName": ["Петров"], "take": 1000}"#),
    )
    .respond_with(ok_json("[]"))
    .expect(1)
    .mount(&server)
    .await;

    let found = client
        .list_customers(&key(), &CustomerFilter::last_name("Петров"), 5000)
        .await
        .unwrap();

    assert!(found.is_empty());
}

#[tokio::test]
async fn list_customers_refused_by_bonusplus_is_no_rows() {
    for (status, body) in [
        (404, UNKNOWN_ROUTE),
        (405, NOT_SUPPORTED),
        (404, ""),
        (400, r#"{"code":"VALIDATION_ERROR","msg":"take: unknown"}"#),
    ] {
        let (server, client) = start().await;
        expect(
            "POST",
            "/customer/list",
            None,
            Sent::Json(r#"{"lastName": ["Петров"], "take": 20}"#),
        )
        .respond_with(error_answer(status, body))
        .expect(1)
        .mount(&server)
        .await;

        let found = client
            .list_customers(&key(), &CustomerFilter::last_name("Петров"), 20)
            .await;

        assert_eq!(found, Ok(Vec::new()), "HTTP {status} {body}");
    }
}

#[tokio::test]
async fn list_customers_still_reports_a_bad_key_or_an_outage() {
    let (server, client) = start().await;
    Mock::given(method("POST"))
        .and(path("/customer/list"))
        .respond_with(error_answer(401, r#"{"code":"UNAUTHORIZED","msg":"-"}"#))
        .mount(&server)
        .await;
    let filter = CustomerFilter::last_name("Петров");
    assert_eq!(
        client.list_customers(&key(), &filter, 20).await,
        Err(BonusPlusError::Unauthorized)
    );

    server.reset().await;
    Mock::given(method("POST"))
        .and(path("/customer/list"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let err = client
        .list_customers(&key(), &filter, 20)
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
}

#[tokio::test]
async fn an_empty_name_search_is_never_sent() {
    let (server, client) = start().await;
    for (filter, limit) in [
        (CustomerFilter::default(), 20),
        (CustomerFilter::last_name("  "), 20),
        (CustomerFilter::last_name("Петров"), 0),
    ] {
        assert_eq!(
            client.list_customers(&key(), &filter, limit).await,
            Ok(Vec::new())
        );
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

// ---------------------------------------------------------------- create and update

fn new_customer() -> NewCustomer {
    let mut customer = NewCustomer::new(phone());
    customer.first_name = Some("Иван".into());
    customer.last_name = Some("Петров".into());
    customer.sex = Some(Sex::Female);
    customer.birth_day = Some(time::macros::date!(1990 - 05 - 07));
    customer.ean = Some(Ean::parse(CARD).unwrap());
    customer
}

const NEW_CUSTOMER_BODY: &str = r#"{"phone": "79011231122", "fn": "Иван", "ln": "Петров", "sex": 2,
    "birthDay": "07.05.1990", "ean": "2000000051420"}"#;

#[tokio::test]
async fn create_customer() {
    let (server, client) = start().await;
    expect("POST", "/customer", None, Sent::Json(NEW_CUSTOMER_BODY))
        .respond_with(ok_json(CUSTOMER))
        .expect(1)
        .mount(&server)
        .await;

    let customer = client
        .create_customer(&key(), &new_customer())
        .await
        .unwrap();

    assert_eq!(customer.phone, PHONE);
}

#[tokio::test]
async fn create_customer_for_a_code_with_store_and_no_welcome_message() {
    let (server, client) = start().await;
    expect(
        "POST",
        "/customer",
        None,
        Sent::Json(r#"{"phone": "79011231122", "store": "Магазин 1", "noRegNotification": true}"#),
    )
    .respond_with(ok_json(CUSTOMER))
    .expect(1)
    .mount(&server)
    .await;

    let mut customer = NewCustomer::new(phone());
    customer.store = Some("Магазин 1".into());
    customer.no_reg_notification = true;
    client.create_customer(&key(), &customer).await.unwrap();
}

fn patch() -> CustomerPatch {
    CustomerPatch {
        last_name: Some("Сидорова".into()),
        birthday: Some(time::macros::date!(1985 - 02 - 01)),
        email: Some("new@example.com".into()),
        card_number: Some(Ean::parse(CARD).unwrap()),
        sex: Some(Sex::Female),
        ..CustomerPatch::default()
    }
}

#[tokio::test]
async fn update_customer_patches_only_the_fields_given_and_never_an_overflowing_card() {
    let (server, client) = start().await;
    // The EAN-13 does not fit PatchCustomer.cardNumber (Int32): it is withheld, not sent.
    expect(
        "PATCH",
        "/customer/79011231122",
        None,
        Sent::Json(r#"{"ln": "Сидорова", "birthday": "01.02.1985", "email": "new@example.com"}"#),
    )
    .respond_with(ok_json(CUSTOMER))
    .expect(1)
    .mount(&server)
    .await;

    let update = client
        .update_customer(&key(), &phone(), &patch())
        .await
        .unwrap();

    assert_eq!(update.customer.available_bonuses, Some(dec!(12345678.91)));
    assert_eq!(update.withheld, [Withheld::Card(Ean::parse(CARD).unwrap())]);
    assert_eq!(received(&server).await, ["PATCH /customer/79011231122"]);
}

#[tokio::test]
async fn update_customer_sends_a_card_that_fits_as_an_int() {
    let (server, client) = start().await;
    expect(
        "PATCH",
        "/customer/79011231122",
        None,
        Sent::Json(r#"{"cardNumber": 12345670}"#),
    )
    .respond_with(ok_json(CUSTOMER))
    .expect(1)
    .mount(&server)
    .await;
    let patch = CustomerPatch {
        card_number: Some(Ean::parse("12345670").unwrap()),
        ..CustomerPatch::default()
    };
    let update = client
        .update_customer(&key(), &phone(), &patch)
        .await
        .unwrap();
    assert!(update.withheld.is_empty());
}

/// A customer whose every member a PUT can carry back (the card fits an Int32).
const CUSTOMER_PUTTABLE: &str = r#"{
    "id": "9f2a5c1e-0b7d-4c33-8e55-1a2b3c4d5e6f",
    "phone": "79011231122", "discountCardNumber": "12345670", "discountCardName": "Базовая",
    "availableBonuses": 10.00, "parentphone": "79990000001", "desc": "VIP",
    "address": "Ленина, 1", "profileVkontakte": "vk.com/ivan", "disablePromoSMS": true,
    "person": {"fn": "Иван", "ln": "Петров", "mn": "Сергеевич", "sex": 1,
               "email": "ivan@example.com", "birthDay": "1990-05-17T00:00:00"}
}"#;

#[tokio::test]
async fn update_customer_falls_back_to_a_put_carrying_back_every_field() {
    for (status, body) in [(405, NOT_SUPPORTED), (404, UNKNOWN_ROUTE)] {
        let (server, client) = start().await;
        Mock::given(method("PATCH"))
            .and(path("/customer/79011231122"))
            .respond_with(error_answer(status, body))
            .expect(1)
            .mount(&server)
            .await;
        expect("GET", "/customer", Some("phone=79011231122"), Sent::Nothing)
            .respond_with(ok_json(CUSTOMER_PUTTABLE))
            .expect(1)
            .mount(&server)
            .await;
        // Everything BonusPlus answered, the change on top, under UpdateCustomer's names.
        expect(
            "PUT",
            "/customer/79011231122",
            None,
            Sent::Json(
                r#"{"newCardNumber": 12345670, "newCard": "Базовая", "parentphone": "79990000001",
                    "fn": "Иван", "ln": "Сидорова", "mn": "Сергеевич", "sex": 2,
                    "email": "new@example.com", "desc": "VIP", "birthDay": "01.02.1985",
                    "profileVkontakte": "vk.com/ivan", "address": "Ленина, 1",
                    "disablePromoSMS": true}"#,
            ),
        )
        .respond_with(ok_json(CUSTOMER_PUTTABLE))
        .expect(1)
        .mount(&server)
        .await;

        let update = client
            .update_customer(&key(), &phone(), &patch())
            .await
            .unwrap();

        assert_eq!(update.customer.phone, PHONE);
        assert_eq!(update.withheld, [Withheld::Card(Ean::parse(CARD).unwrap())]);
        assert_eq!(
            received(&server).await,
            [
                "PATCH /customer/79011231122",
                "GET /customer?phone=79011231122",
                "PUT /customer/79011231122"
            ],
            "HTTP {status}"
        );
    }
}

#[tokio::test]
async fn update_customer_never_puts_what_it_cannot_carry_back() {
    // CUSTOMER holds an EAN-13 card (no Int32) and a member UpdateCustomer does not know.
    let (server, client) = start().await;
    Mock::given(method("PATCH"))
        .and(path("/customer/79011231122"))
        .respond_with(error_answer(405, NOT_SUPPORTED))
        .mount(&server)
        .await;
    expect("GET", "/customer", Some("phone=79011231122"), Sent::Nothing)
        .respond_with(ok_json(CUSTOMER))
        .mount(&server)
        .await;

    let update = client
        .update_customer(&key(), &phone(), &patch())
        .await
        .unwrap();

    assert_eq!(update.customer.phone, PHONE);
    assert!(matches!(
        update.withheld.last(),
        Some(Withheld::NotUpdated { .. })
    ));
    assert_eq!(
        received(&server).await,
        [
            "PATCH /customer/79011231122",
            "GET /customer?phone=79011231122"
        ]
    );
}

#[tokio::test]
async fn update_of_an_unknown_customer_is_not_found_without_fallback() {
    let (server, client) = start().await;
    Mock::given(method("PATCH"))
        .and(path("/customer/79011231122"))
        .respond_with(error_answer(
            412,
            r#"{"code":"CUSTOMER_NOT_FOUND","msg":"Клиент не найден"}"#,
        ))
        .expect(1)
        .mount(&server)
        .await;

    let err = client
        .update_customer(&key(), &phone(), &patch())
        .await
        .unwrap_err();

    assert_eq!(err, BonusPlusError::NotFound);
    assert_eq!(received(&server).await, ["PATCH /customer/79011231122"]);
}

// ---------------------------------------------------------------- codes and messages

#[tokio::test]
async fn send_code() {
    let (server, client) = start().await;
    expect("PUT", "/customer/79011231122/sendCode", None, Sent::Empty)
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;

    assert_eq!(client.send_code(&key(), &phone()).await.unwrap(), None);
}

#[tokio::test]
async fn send_code_returns_a_revealed_code() {
    let (server, client) = start().await;
    expect("PUT", "/customer/79011231122/sendCode", None, Sent::Empty)
        .respond_with(ok_json(r#"{"code": "4321"}"#))
        .expect(1)
        .mount(&server)
        .await;

    assert_eq!(
        client.send_code(&key(), &phone()).await.unwrap().as_deref(),
        Some("4321")
    );
}

#[tokio::test]
async fn check_code_accepts_a_valid_code() {
    let (server, client) = start().await;
    expect(
        "PUT",
        "/customer/79011231122/checkCode/4321",
        None,
        Sent::Empty,
    )
    .respond_with(ResponseTemplate::new(204))
    .expect(1)
    .mount(&server)
    .await;

    assert!(client.check_code(&key(), &phone(), " 4321 ").await.unwrap());
}

#[tokio::test]
async fn check_code_rejects_an_invalid_code() {
    let (server, client) = start().await;
    expect(
        "PUT",
        "/customer/79011231122/checkCode/0000",
        None,
        Sent::Empty,
    )
    .respond_with(error_answer(
        412,
        r#"{"code":"INVALID_CODE","msg":"Неверный код"}"#,
    ))
    .expect(1)
    .mount(&server)
    .await;

    assert!(!client.check_code(&key(), &phone(), "0000").await.unwrap());
}

#[tokio::test]
async fn send_message() {
    for answer in [ResponseTemplate::new(204), ok_json("{}")] {
        let (server, client) = start().await;
        expect(
            "POST",
            "/customer/79011231122/sendMessage",
            None,
            Sent::Json(r#"{"message": "Код для кассы: 123456", "route": ["SMS"]}"#),
        )
        .respond_with(answer)
        .expect(1)
        .mount(&server)
        .await;

        client
            .send_message(&key(), &phone(), "Код для кассы: 123456", SMS_ONLY)
            .await
            .unwrap();
    }
}

const SMS_ONLY: &[Channel] = &[Channel::Sms];

/// A route BonusPlus refuses (400): the message goes once more without it; once texted in all.
#[tokio::test]
async fn send_message_whose_route_is_refused_is_sent_again_without_it() {
    let (server, client) = start().await;
    let route = MessageRoute::TelegramVkSms.channels();
    expect(
        "POST",
        "/customer/79011231122/sendMessage",
        None,
        Sent::Json(r#"{"message": "Код: 1", "route": ["Telegram", "VK", "SMS"]}"#),
    )
    .respond_with(error_answer(
        400,
        r#"{"Message":"The request is invalid.","ModelState":{"request.route[0]":["Error converting value"]}}"#,
    ))
    .expect(1)
    .mount(&server)
    .await;
    expect(
        "POST",
        "/customer/79011231122/sendMessage",
        None,
        Sent::Json(r#"{"message": "Код: 1"}"#),
    )
    .respond_with(ResponseTemplate::new(204))
    .expect(1)
    .mount(&server)
    .await;

    client
        .send_message(&key(), &phone(), "Код: 1", route)
        .await
        .unwrap();
}

#[tokio::test]
async fn send_message_to_an_unknown_customer_is_not_found() {
    let (server, client) = start().await;
    Mock::given(method("POST"))
        .and(path("/customer/79011231122/sendMessage"))
        .respond_with(error_answer(
            412,
            r#"{"code":"CUSTOMER_NOT_FOUND","msg":"-"}"#,
        ))
        .expect(1)
        .mount(&server)
        .await;

    let err = client
        .send_message(&key(), &phone(), "Код для кассы: 123456", SMS_ONLY)
        .await
        .unwrap_err();

    assert_eq!(err, BonusPlusError::NotFound);
}

#[tokio::test]
async fn send_message_unknown_to_bonusplus_is_an_unknown_call() {
    let (server, client) = start().await;
    Mock::given(method("POST"))
        .and(path("/customer/79011231122/sendMessage"))
        .respond_with(error_answer(404, UNKNOWN_ROUTE))
        .expect(1)
        .mount(&server)
        .await;

    let err = client
        .send_message(&key(), &phone(), "Код для кассы: 123456", SMS_ONLY)
        .await
        .unwrap_err();

    assert_eq!(err, BonusPlusError::UnknownCall { status: 404 });
    assert!(!err.to_string().contains("123456"));
}

// ---------------------------------------------------------------- reserves

#[tokio::test]
async fn reserve_and_release() {
    let (server, client) = start().await;
    let reserve_path = "/customer/79011231122/balance/reserve";
    expect(
        "PATCH",
        reserve_path,
        None,
        Sent::Json(r#"{"id": "order-1", "amount": 12.00}"#),
    )
    .respond_with(ResponseTemplate::new(204))
    .expect(1)
    .mount(&server)
    .await;
    expect(
        "PATCH",
        reserve_path,
        None,
        Sent::Json(r#"{"id": "order-1", "amount": -12.00}"#),
    )
    .respond_with(ResponseTemplate::new(204))
    .expect(1)
    .mount(&server)
    .await;

    let key = key();
    client
        .reserve(&key, &phone(), "order-1", dec!(12.00))
        .await
        .unwrap();
    client
        .reserve(&key, &phone(), "order-1", dec!(-12.00))
        .await
        .unwrap();
}

#[tokio::test]
async fn reserve_held_reads_what_the_reserve_holds() {
    let (server, client) = start().await;
    expect(
        "GET",
        "/customer/79011231122/balance/reserve/order-1",
        None,
        Sent::Nothing,
    )
    .respond_with(ok_json(
        r#"{"phone": "79011231122", "id": "order-1", "amount": 12.30}"#,
    ))
    .expect(1)
    .mount(&server)
    .await;

    let held = client
        .reserve_held(&key(), &phone(), "order-1")
        .await
        .unwrap();

    assert_eq!(held, dec!(12.30));
    assert_eq!(held.to_string(), "12.30");
}

#[tokio::test]
async fn a_reserve_bonusplus_does_not_have_holds_nothing() {
    for (status, body) in [
        (
            412,
            r#"{"code":"RESERVE_NOT_FOUND","msg":"Резерв не найден"}"#,
        ),
        (412, r#"{"code":"CUSTOMER_NOT_FOUND","msg":"-"}"#),
        (404, r#"{"code":"RESERVE_NOT_FOUND","msg":"-"}"#),
    ] {
        let (server, client) = start().await;
        expect(
            "GET",
            "/customer/79011231122/balance/reserve/order-1",
            None,
            Sent::Nothing,
        )
        .respond_with(error_answer(status, body))
        .expect(1)
        .mount(&server)
        .await;

        let held = client.reserve_held(&key(), &phone(), "order-1").await;

        assert_eq!(held, Ok(Decimal::ZERO), "HTTP {status} {body}");
    }
}

#[tokio::test]
async fn reserve_held_unknown_to_bonusplus_lets_the_caller_fall_back() {
    let (server, client) = start().await;
    Mock::given(method("GET"))
        .and(path("/customer/79011231122/balance/reserve/order-1"))
        .respond_with(error_answer(404, UNKNOWN_ROUTE))
        .expect(1)
        .mount(&server)
        .await;

    let err = client
        .reserve_held(&key(), &phone(), "order-1")
        .await
        .unwrap_err();

    // Not 0: taking an unknown call for "holds nothing" would leave bonuses reserved forever.
    assert_eq!(err, BonusPlusError::UnknownCall { status: 404 });
}

// ---------------------------------------------------------------- calculation, sale, return

#[tokio::test]
async fn calc_sends_exact_amounts_and_reads_exact_amounts() {
    let (server, client) = start().await;
    expect("PUT", "/retail/calc", None, Sent::Json(CALC_BODY))
        .respond_with(ok_json(
            r#"{"maxDebitBonuses": 12345678.91, "multiplicityDebitBonus": 1,
                "discount": [{"ext": "line-1", "cb": 0.1, "db": 0.2, "ids": 10.00, "idp": 5.00,
                              "ds": 0, "dp": 0, "cbp": 5.00, "dbp": 15.00,
                              "messages": ["Акция «Сыр»: скидка 5%"]}],
                "messages": ["Бонусы начислены"]}"#,
        ))
        .expect(1)
        .mount(&server)
        .await;

    let result = client.calc(&key(), &calc_request()).await.unwrap();

    assert_eq!(result.max_debit_bonuses, dec!(12345678.91));
    assert_eq!(result.multiplicity_debit_bonus, Some(dec!(1)));
    let line = &result.discount[0];
    assert_eq!(line.ext, "line-1");
    assert_eq!(line.cb + line.db, dec!(0.3));
    assert_eq!(line.cb.to_string(), "0.1");
    assert_eq!(line.total_off(), dec!(10.20));
    assert_eq!(line.dbp, dec!(15.00));
    assert_eq!(
        result.all_messages(),
        vec!["Бонусы начислены", "Акция «Сыр»: скидка 5%"]
    );
}

const RETAIL_RESULT: &str = r#"{"id": 1000001, "orderUid": "5b1c7f3a-1111-4222-8333-444455556666",
    "orderUrl": "https://bonusplus.pro/receipt/1000001", "customer": CUSTOMER}"#;

fn retail_result() -> String {
    RETAIL_RESULT.replace("CUSTOMER", CUSTOMER)
}

#[tokio::test]
async fn sale_sends_the_external_id_and_reads_the_retail_result() {
    let (server, client) = start().await;
    let mut body = json(CALC_BODY);
    body["externalId"] = Value::String("sale-1".into());
    body["coupons"] = json(r#"["WELCOME"]"#);
    Mock::given(method("POST"))
        .and(path("/retail"))
        .and(ExactQuery(None))
        .and(header("authorization", authorization().as_str()))
        .and(header("content-type", "application/json"))
        .and(body_json(body))
        .respond_with(ok_json(&retail_result()))
        .expect(1)
        .mount(&server)
        .await;
    let mut calc = calc_request();
    calc.coupons = Some(vec!["WELCOME".into()]);

    let result = client
        .sale(&key(), &SaleRequest::from_calc(calc, "sale-1".into()))
        .await
        .unwrap();

    assert_eq!(result.id, Some(1_000_001));
    assert_eq!(
        result.order_uid,
        Some(Uuid::parse_str("5b1c7f3a-1111-4222-8333-444455556666").unwrap())
    );
    assert_eq!(
        result.order_url.as_deref(),
        Some("https://bonusplus.pro/receipt/1000001")
    );
    let customer = result.customer.unwrap();
    assert_eq!(customer.phone, PHONE);
    assert_eq!(customer.available_bonuses, Some(dec!(12345678.91)));
}

#[tokio::test]
async fn sale_sends_the_reserve_and_gift_certificates_exactly() {
    let (server, client) = start().await;
    let mut body = json(CALC_BODY);
    body["externalId"] = Value::String("sale-1".into());
    body["reserveId"] = Value::String("reserve-1".into());
    body["giftCards"] = json(&format!(
        r#"[{{"id": "{CERTIFICATE_ID}", "paymentSum": 500.00}},
            {{"id": "00000000-0000-0000-0000-000000000002", "paymentSum": 0.01}}]"#
    ));
    Mock::given(method("POST"))
        .and(path("/retail"))
        .and(header("authorization", authorization().as_str()))
        .and(body_json(body))
        .respond_with(ok_json(&retail_result()))
        .expect(1)
        .mount(&server)
        .await;
    let mut sale = SaleRequest::from_calc(calc_request(), "sale-1".into());
    sale.reserve_id = Some("reserve-1".into());
    // MoySklad's kopecks ÷ 100, exact.
    sale.gift_cards = vec![
        GiftCardPayment {
            id: certificate_id(),
            payment_sum: Decimal::new(50_000, 2),
        },
        GiftCardPayment {
            id: Uuid::from_u128(2),
            payment_sum: Decimal::new(1, 2),
        },
    ];

    client.sale(&key(), &sale).await.unwrap();
}

#[tokio::test]
async fn return_line_answers_the_returned_purchase_id() {
    let (server, client) = start().await;
    expect(
        "PUT",
        "/retail/back",
        None,
        Sent::Json(r#"{"ext": "line-1", "sum": 100.05}"#),
    )
    .respond_with(ok_json(r#"{"returnedPurchaseId": 5000001}"#))
    .expect(1)
    .mount(&server)
    .await;

    let line = ReturnLine {
        ext: "line-1".into(),
        sum: dec!(100.05),
    };
    assert_eq!(
        client.return_line(&key(), &line).await.unwrap(),
        Some(5_000_001)
    );
}

#[tokio::test]
async fn return_line_tolerates_an_answer_without_an_id() {
    // A 2xx means the return is done: no answer body may turn it into an error (and a retry).
    for answer in [
        ResponseTemplate::new(204),
        ResponseTemplate::new(200),
        ok_json("{}"),
        ok_json(r#"{"returnedPurchaseId": null}"#),
        ok_json("{garbage"),
    ] {
        let (server, client) = start().await;
        expect(
            "PUT",
            "/retail/back",
            None,
            Sent::Json(r#"{"ext": "line-1", "sum": 100.05}"#),
        )
        .respond_with(answer)
        .expect(1)
        .mount(&server)
        .await;

        let line = ReturnLine {
            ext: "line-1".into(),
            sum: dec!(100.05),
        };
        assert_eq!(client.return_line(&key(), &line).await, Ok(None));
    }
}

// ---------------------------------------------------------------- gift certificates

#[tokio::test]
async fn get_certificate() {
    let (server, client) = start().await;
    expect(
        "GET",
        "/certificate/0c0ffee0-0000-4000-8000-000000000001",
        None,
        Sent::Nothing,
    )
    .respond_with(ok_json(
        r#"{"id": "0c0ffee0-0000-4000-8000-000000000001", "name": "GC-0001",
            "expireDate": "2026-12-31T23:59:59", "status": "PARTIALLY_REDEEMED",
            "currentBalance": 500.00, "initialBalance": 1000.00}"#,
    ))
    .expect(1)
    .mount(&server)
    .await;

    let certificate = client
        .get_certificate(&key(), &certificate_id())
        .await
        .unwrap()
        .unwrap();

    assert_eq!(certificate.id, certificate_id());
    assert_eq!(certificate.name.as_deref(), Some("GC-0001"));
    assert_eq!(
        certificate.expire_date,
        Some(time::macros::datetime!(2026-12-31 23:59:59 UTC))
    );
    assert_eq!(certificate.status, CertificateStatus::PartiallyRedeemed);
    assert_eq!(certificate.current_balance.to_string(), "500.00");
    assert_eq!(certificate.initial_balance, dec!(1000.00));
}

#[tokio::test]
async fn certificate_with_an_unknown_status_and_no_expiry() {
    let (server, client) = start().await;
    expect(
        "GET",
        "/certificate/0c0ffee0-0000-4000-8000-000000000001",
        None,
        Sent::Nothing,
    )
    .respond_with(ok_json(
        r#"{"name": "GC-0001", "expireDate": null, "status": "BLOCKED", "currentBalance": 1000.00}"#,
    ))
    .mount(&server)
    .await;

    let certificate = client
        .get_certificate(&key(), &certificate_id())
        .await
        .unwrap()
        .unwrap();

    assert_eq!(certificate.id, certificate_id(), "the id asked for");
    assert_eq!(certificate.expire_date, None);
    assert_eq!(
        certificate.status,
        CertificateStatus::Unknown("BLOCKED".into())
    );
    assert!(!certificate.status.is_usable());
    assert_eq!(certificate.initial_balance, Decimal::ZERO);
}

#[tokio::test]
async fn a_certificate_bonusplus_does_not_know_is_none() {
    for (status, body) in [
        (
            412,
            r#"{"code":"CERTIFICATE_NOT_FOUND","msg":"Сертификат не найден"}"#,
        ),
        (404, r#"{"code":"CERTIFICATE_NOT_FOUND","msg":"-"}"#),
        (404, ""),
        (404, UNKNOWN_ROUTE),
    ] {
        let (server, client) = start().await;
        expect(
            "GET",
            "/certificate/0c0ffee0-0000-4000-8000-000000000001",
            None,
            Sent::Nothing,
        )
        .respond_with(error_answer(status, body))
        .expect(1)
        .mount(&server)
        .await;

        let found = client.get_certificate(&key(), &certificate_id()).await;

        assert_eq!(found, Ok(None), "HTTP {status} {body}");
    }
}

#[tokio::test]
async fn find_certificate_asks_a_guid_and_never_sends_a_printed_number() {
    let (server, client) = start().await;
    expect(
        "GET",
        "/certificate/0c0ffee0-0000-4000-8000-000000000001",
        None,
        Sent::Nothing,
    )
    .respond_with(ok_json(
        r#"{"id": "0c0ffee0-0000-4000-8000-000000000001", "status": "CAN_BE_USED",
            "currentBalance": 1000.00, "initialBalance": 1000.00}"#,
    ))
    .expect(1)
    .mount(&server)
    .await;

    let scanned = client
        .find_certificate(&key(), " 0C0FFEE0-0000-4000-8000-000000000001 ")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(scanned.status, CertificateStatus::CanBeUsed);
    for printed in ["GC-0001", "2000000051420", ""] {
        assert_eq!(client.find_certificate(&key(), printed).await, Ok(None));
    }
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

// ---------------------------------------------------------------- products and base URL

#[tokio::test]
async fn import_products() {
    let (server, client) = start().await;
    expect(
        "POST",
        "/product/import",
        None,
        Sent::Json(
            r#"{"store": "Магазин 1", "products": [
                {"id": "grp-1", "pid": "0", "n": "Сыры", "g": true},
                {"id": "prod-1", "pid": "grp-1", "n": "Сыр", "g": false}]}"#,
        ),
    )
    .respond_with(ResponseTemplate::new(204))
    .expect(1)
    .mount(&server)
    .await;

    let import = ProductImport {
        store: "Магазин 1".into(),
        products: vec![
            ProductTiny {
                id: "grp-1".into(),
                pid: bonusbridge::bonusplus::wire_assumptions::TOP_LEVEL_GROUP_PID.into(),
                n: "Сыры".into(),
                g: true,
            },
            ProductTiny {
                id: "prod-1".into(),
                pid: "grp-1".into(),
                n: "Сыр".into(),
                g: false,
            },
        ],
    };
    client.import_products(&key(), &import).await.unwrap();
}

#[tokio::test]
async fn base_url_with_a_path_prefix_is_kept() {
    let server = MockServer::start().await;
    let client = BonusPlusClient::new(&format!("{}/api", server.uri()), TIMEOUT).unwrap();
    expect(
        "GET",
        "/api/customer",
        Some("phone=79011231122"),
        Sent::Nothing,
    )
    .respond_with(ok_json(CUSTOMER))
    .expect(1)
    .mount(&server)
    .await;
    expect("GET", "/api/account", None, Sent::Nothing)
        .respond_with(ok_json("{}"))
        .expect(1)
        .mount(&server)
        .await;
    expect(
        "GET",
        "/api/certificate/0c0ffee0-0000-4000-8000-000000000001",
        None,
        Sent::Nothing,
    )
    .respond_with(ok_json("{}"))
    .expect(1)
    .mount(&server)
    .await;
    expect(
        "PATCH",
        "/api/customer/79011231122",
        None,
        Sent::Json(r#"{"fn": "Иван"}"#),
    )
    .respond_with(ok_json(CUSTOMER))
    .expect(1)
    .mount(&server)
    .await;

    client.get_customer(&key(), &phone()).await.unwrap();
    client.check_key(&key()).await.unwrap();
    client
        .get_certificate(&key(), &certificate_id())
        .await
        .unwrap();
    let patch = CustomerPatch {
        first_name: Some("Иван".into()),
        ..CustomerPatch::default()
    };
    client
        .update_customer(&key(), &phone(), &patch)
        .await
        .unwrap();
}

// ---------------------------------------------------------------- error classes

/// Answers every request with `answer` and returns what `calc` (a write, not retried) makes of it.
async fn calc_error(answer: ResponseTemplate) -> BonusPlusError {
    let (server, client) = start().await;
    Mock::given(method("PUT"))
        .and(path("/retail/calc"))
        .respond_with(answer)
        .mount(&server)
        .await;
    client.calc(&key(), &calc_request()).await.unwrap_err()
}

#[tokio::test]
async fn refusal_carries_bonusplus_code_and_message() {
    let err = calc_error(error_answer(
        412,
        r#"{"code":"NOT_ENOUGH_BONUSES","msg":"Недостаточно бонусов"}"#,
    ))
    .await;
    assert_eq!(
        err,
        BonusPlusError::Refused {
            status: 412,
            code: Some("NOT_ENOUGH_BONUSES".into()),
            message: "Недостаточно бонусов".into(),
        }
    );
    assert_eq!(err.to_string(), "Недостаточно бонусов");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn bad_request_is_a_refusal() {
    let err = calc_error(error_answer(
        400,
        r#"{"code":"VALIDATION_ERROR","msg":"Не указан магазин"}"#,
    ))
    .await;
    assert_eq!(err.code(), Some("VALIDATION_ERROR"));
    assert_eq!(err.to_string(), "Не указан магазин");
}

#[tokio::test]
async fn numeric_error_code_is_decoded() {
    let err = calc_error(error_answer(
        412,
        r#"{"code": 1052, "msg": "Магазин не найден"}"#,
    ))
    .await;
    assert_eq!(
        err,
        BonusPlusError::Refused {
            status: 412,
            code: Some("1052".into()),
            message: "Магазин не найден".into(),
        }
    );
}

#[tokio::test]
async fn unauthorized_and_forbidden() {
    for status in [401, 403] {
        let err = calc_error(error_answer(status, r#"{"code":"x","msg":"no"}"#)).await;
        assert_eq!(err, BonusPlusError::Unauthorized, "HTTP {status}");
    }
}

#[tokio::test]
async fn unknown_route_is_an_unknown_call() {
    // 404/405 without a business code: BonusPlus does not know the call (not "not found").
    for (status, body) in [(404, ""), (404, UNKNOWN_ROUTE), (405, NOT_SUPPORTED)] {
        let err = calc_error(error_answer(status, body)).await;
        assert_eq!(err, BonusPlusError::UnknownCall { status }, "{body}");
        assert!(!err.is_retryable());
    }
}

#[tokio::test]
async fn not_found_with_a_business_code_is_not_found() {
    let err = calc_error(error_answer(
        404,
        r#"{"code":"CUSTOMER_NOT_FOUND","msg":"Клиент не найден"}"#,
    ))
    .await;
    assert_eq!(err, BonusPlusError::NotFound);
}

#[tokio::test]
async fn customer_not_found_code_is_not_found() {
    let (server, client) = start().await;
    Mock::given(method("GET"))
        .and(path("/customer"))
        .respond_with(error_answer(
            412,
            r#"{"code":"CUSTOMER_NOT_FOUND","msg":"Клиент не найден"}"#,
        ))
        .expect(1)
        .mount(&server)
        .await;

    let err = client.get_customer(&key(), &phone()).await.unwrap_err();

    assert_eq!(err, BonusPlusError::NotFound);
}

#[tokio::test]
async fn existing_customer_is_already_exists() {
    let (server, client) = start().await;
    Mock::given(method("POST"))
        .and(path("/customer"))
        .respond_with(error_answer(
            412,
            r#"{"code":"CUSTOMER_ALREADY_EXIST","msg":"Клиент уже существует"}"#,
        ))
        .mount(&server)
        .await;

    let err = client
        .create_customer(&key(), &new_customer())
        .await
        .unwrap_err();

    assert_eq!(err, BonusPlusError::AlreadyExists);
}

#[tokio::test]
async fn repeated_sale_is_already_booked() {
    let (server, client) = start().await;
    Mock::given(method("POST"))
        .and(path("/retail"))
        .respond_with(error_answer(
            412,
            r#"{"code":"RETAIL_ALREADY_EXIST","msg":"Продажа уже существует"}"#,
        ))
        .expect(1)
        .mount(&server)
        .await;

    let sale = SaleRequest::from_calc(calc_request(), "sale-1".into());
    let err = client.sale(&key(), &sale).await.unwrap_err();

    assert_eq!(err, BonusPlusError::AlreadyBooked);
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn server_error_is_unavailable() {
    let err = calc_error(error_answer(500, r#"{"code":"ERROR","msg":"Internal"}"#)).await;
    assert!(matches!(err, BonusPlusError::Unavailable { .. }), "{err:?}");
    assert!(err.is_retryable());
    let err = calc_error(ResponseTemplate::new(503).set_body_string("<html>down</html>")).await;
    assert!(err.is_retryable(), "{err:?}");
}

#[tokio::test]
async fn timeout_is_unavailable() {
    let server = MockServer::start().await;
    let client = BonusPlusClient::new(&server.uri(), Duration::from_millis(300)).unwrap();
    Mock::given(method("PUT"))
        .and(path("/retail/calc"))
        .respond_with(ok_json("{}").set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;

    let err = client.calc(&key(), &calc_request()).await.unwrap_err();

    assert!(matches!(err, BonusPlusError::Unavailable { .. }), "{err:?}");
}

#[tokio::test]
async fn refused_connection_is_unavailable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let client = BonusPlusClient::new(&format!("http://{address}/"), TIMEOUT).unwrap();

    let err = client.calc(&key(), &calc_request()).await.unwrap_err();

    assert!(matches!(err, BonusPlusError::Unavailable { .. }), "{err:?}");
}

#[tokio::test]
async fn malformed_json_is_unexpected() {
    let err_of = |body: &'static str| async move {
        let (server, client) = start().await;
        Mock::given(method("GET"))
            .and(path("/customer"))
            .respond_with(ok_json(body))
            .mount(&server)
            .await;
        client.get_customer(&key(), &phone()).await.unwrap_err()
    };
    for body in [
        "{not json",
        r#"{"phone": "79011231122", "availableBonuses": "lots"}"#,
        r#"{"availableBonuses": 1}"#,
        "",
    ] {
        let err = err_of(body).await;
        assert!(
            matches!(err, BonusPlusError::Unexpected { .. }),
            "{body}: {err:?}"
        );
        assert!(!err.is_retryable());
    }
}

#[tokio::test]
async fn unexpected_status_is_unexpected() {
    let err = calc_error(ResponseTemplate::new(302).insert_header("location", "/elsewhere")).await;
    assert!(matches!(err, BonusPlusError::Unexpected { .. }), "{err:?}");
}

// ---------------------------------------------------------------- retries

#[tokio::test]
async fn read_is_retried_once_after_a_server_error() {
    let (server, client) = start().await;
    Mock::given(method("GET"))
        .and(path("/customer"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/customer"))
        .respond_with(ok_json(CUSTOMER))
        .expect(1)
        .mount(&server)
        .await;

    let customer = client.get_customer(&key(), &phone()).await.unwrap();

    assert_eq!(customer.phone, PHONE);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn read_is_retried_only_once() {
    let (server, client) = start().await;
    Mock::given(method("GET"))
        .and(path("/account"))
        .respond_with(ResponseTemplate::new(502))
        .mount(&server)
        .await;

    let err = client.check_key(&key()).await.unwrap_err();

    assert!(err.is_retryable());
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn refused_read_is_not_retried() {
    let (server, client) = start().await;
    Mock::given(method("GET"))
        .and(path("/customer"))
        .respond_with(error_answer(
            412,
            r#"{"code":"CUSTOMER_NOT_FOUND","msg":"-"}"#,
        ))
        .mount(&server)
        .await;

    let _ = client.get_customer(&key(), &phone()).await;

    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn sale_is_never_retried() {
    let (server, client) = start().await;
    Mock::given(method("POST"))
        .and(path("/retail"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;

    let sale = SaleRequest::from_calc(calc_request(), "sale-1".into());
    let err = client.sale(&key(), &sale).await.unwrap_err();

    assert!(err.is_retryable(), "the caller decides: {err:?}");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn other_writes_are_never_retried() {
    let (server, client) = start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let key = key();

    assert!(client.reserve(&key, &phone(), "o", dec!(1)).await.is_err());
    assert!(client.send_code(&key, &phone()).await.is_err());
    assert!(client
        .send_message(&key, &phone(), "text", &[])
        .await
        .is_err());
    let patch = CustomerPatch {
        first_name: Some("Иван".into()),
        ..CustomerPatch::default()
    };
    assert!(client
        .update_customer(&key, &phone(), &patch)
        .await
        .is_err());
    assert!(client.create_customer(&key, &new_customer()).await.is_err());
    assert!(client.calc(&key, &calc_request()).await.is_err());
    let line = ReturnLine {
        ext: "l".into(),
        sum: Decimal::ONE,
    };
    assert!(client.return_line(&key, &line).await.is_err());

    assert_eq!(server.received_requests().await.unwrap().len(), 7);
}

// ---------------------------------------------------------------- the key stays secret

#[tokio::test]
async fn key_appears_in_no_debug_output_or_error() {
    let encoded_key = base64::engine::general_purpose::STANDARD.encode(KEY);
    let (server, client) = start().await;
    let mut texts = vec![format!("{client:?}"), format!("{:?}", key())];
    for answer in [
        error_answer(400, r#"{"code":"VALIDATION_ERROR","msg":"bad"}"#),
        error_answer(401, r#"{"code":"UNAUTHORIZED","msg":"bad key"}"#),
        error_answer(412, r#"{"code":"CUSTOMER_NOT_FOUND","msg":"-"}"#),
        error_answer(500, r#"{"msg":"boom"}"#),
        ok_json("{broken"),
        ok_json("{}").set_delay(Duration::from_secs(5)),
    ] {
        server.reset().await;
        Mock::given(wiremock::matchers::any())
            .respond_with(answer)
            .mount(&server)
            .await;
        let quick = BonusPlusClient::new(&server.uri(), Duration::from_millis(300)).unwrap();
        for err in [
            quick.get_customer(&key(), &phone()).await.unwrap_err(),
            quick.calc(&key(), &calc_request()).await.unwrap_err(),
        ] {
            texts.push(err.to_string());
            texts.push(format!("{err:?}"));
        }
    }
    let refused = BonusPlusClient::new("http://127.0.0.1:1/", TIMEOUT).unwrap();
    let err = refused.check_key(&key()).await.unwrap_err();
    texts.push(format!("{err} {err:?}"));

    for text in texts {
        assert!(!text.contains(KEY), "key leaked: {text}");
        assert!(!text.contains(&encoded_key), "encoded key leaked: {text}");
        assert!(!text.contains("ApiKey "), "header leaked: {text}");
    }
}
