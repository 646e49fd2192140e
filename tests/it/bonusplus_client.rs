//! Contract tests of the BonusPlus client against a local mock server: the exact request of
//! every call (method, path, query, headers, JSON body) and the mapping of every error class.

use std::time::Duration;

use base64::Engine as _;
use bonusbridge::bonusplus::{
    ApiKey, BonusPlusClient, BonusPlusError, CalcItem, CalcRequest, NewCustomer, ProductImport,
    ProductTiny, ReturnLine, SaleRequest, Sex,
};
use bonusbridge::domain::Phone;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use secrecy::SecretString;
use serde_json::Value;
use wiremock::matchers::{body_json, body_string, header, method, path};
use wiremock::{Match, Mock, MockBuilder, MockServer, Request, ResponseTemplate};

const KEY: &str = "shop-secret-key-42";
const PHONE: &str = "79011231122";
const TIMEOUT: Duration = Duration::from_secs(2);

const CUSTOMER: &str = r#"{
    "phone": "79011231122", "discountCardNumber": "2000001", "availableBonuses": 12345678.91,
    "person": {"fn": "Иван", "ln": "Петров", "mn": "Сергеевич", "sex": 1,
               "email": "ivan@example.com", "birthDay": "1990-05-17"},
    "someFutureField": {"nested": [1, 2]}
}"#;

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
        .and(header("authorization", authorization().as_str()));
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

// ---------------------------------------------------------------- requests of every call

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
    assert_eq!(customer.discount_card_number.as_deref(), Some("2000001"));
    assert_eq!(customer.available_bonuses, Some(dec!(12345678.91)));
    let person = customer.person.unwrap();
    assert_eq!(person.first_name.as_deref(), Some("Иван"));
    assert_eq!(person.last_name.as_deref(), Some("Петров"));
    assert_eq!(person.middle_name.as_deref(), Some("Сергеевич"));
    assert_eq!(person.sex, Some(Sex::Male));
    assert_eq!(person.birth_day, Some(time::macros::date!(1990 - 05 - 17)));
}

#[tokio::test]
async fn find_customer_by_card() {
    let (server, client) = start().await;
    expect(
        "GET",
        "/customer",
        Some("discountCardNumber=2000001"),
        Sent::Nothing,
    )
    .respond_with(ok_json(CUSTOMER))
    .expect(1)
    .mount(&server)
    .await;

    let customer = client
        .find_customer_by_card(&key(), " 2000001 ")
        .await
        .unwrap();

    assert_eq!(customer.phone, PHONE);
}

#[tokio::test]
async fn blank_card_is_not_sent() {
    let (server, client) = start().await;
    let err = client
        .find_customer_by_card(&key(), "  ")
        .await
        .unwrap_err();
    assert_eq!(err, BonusPlusError::NotFound);
    assert!(server.received_requests().await.unwrap().is_empty());
}

fn new_customer() -> NewCustomer {
    let mut customer = NewCustomer::new(phone());
    customer.first_name = Some("Иван".into());
    customer.last_name = Some("Петров".into());
    customer.sex = Some(Sex::Female);
    customer.birth_day = Some(time::macros::date!(1990 - 05 - 17));
    customer.discount_card_number = Some("2000001".into());
    customer
}

const NEW_CUSTOMER_BODY: &str = r#"{"phone": "79011231122", "fn": "Иван", "ln": "Петров", "sex": 2,
    "birthDay": "1990-05-17", "discountCardNumber": "2000001"}"#;

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
async fn update_customer() {
    let (server, client) = start().await;
    expect("PUT", "/customer", None, Sent::Json(NEW_CUSTOMER_BODY))
        .respond_with(ok_json(CUSTOMER))
        .expect(1)
        .mount(&server)
        .await;

    let customer = client
        .update_customer(&key(), &new_customer())
        .await
        .unwrap();

    assert_eq!(customer.available_bonuses, Some(dec!(12345678.91)));
}

#[tokio::test]
async fn send_code() {
    let (server, client) = start().await;
    expect("PUT", "/customer/79011231122/sendCode", None, Sent::Empty)
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;

    client.send_code(&key(), &phone()).await.unwrap();
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

#[tokio::test]
async fn sale_sends_the_external_id() {
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
        .respond_with(ok_json(&format!(
            r#"{{"customer": {CUSTOMER}, "discount": [{{"ext": "line-1", "cb": 7.00}}]}}"#
        )))
        .expect(1)
        .mount(&server)
        .await;
    let mut calc = calc_request();
    calc.coupons = Some(vec!["WELCOME".into()]);

    let result = client
        .sale(&key(), &SaleRequest::from_calc(calc, "sale-1".into()))
        .await
        .unwrap();

    assert_eq!(result.customer.unwrap().phone, PHONE);
    assert_eq!(result.discount[0].cb, dec!(7.00));
}

#[tokio::test]
async fn return_line() {
    let (server, client) = start().await;
    expect(
        "PUT",
        "/retail/back",
        None,
        Sent::Json(r#"{"ext": "line-1", "sum": 100.05}"#),
    )
    .respond_with(ResponseTemplate::new(204))
    .expect(1)
    .mount(&server)
    .await;

    let line = ReturnLine {
        ext: "line-1".into(),
        sum: dec!(100.05),
    };
    client.return_line(&key(), &line).await.unwrap();
}

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
                pid: bonusbridge::bonusplus::unconfirmed::TOP_LEVEL_GROUP_PID.into(),
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
async fn check_key_accepts_a_working_key() {
    let (server, client) = start().await;
    expect("GET", "/customer/stat", None, Sent::Nothing)
        .respond_with(ok_json(r#"{"allCount": 42}"#))
        .expect(2)
        .mount(&server)
        .await;

    client.check_key(&key()).await.unwrap();
    let stat = client.customer_stat(&key()).await.unwrap();
    assert_eq!(stat.all_count, Some(42));
}

#[tokio::test]
async fn check_key_reports_a_rejected_key() {
    let (server, client) = start().await;
    Mock::given(method("GET"))
        .and(path("/customer/stat"))
        .respond_with(error_answer(
            401,
            r#"{"code":"UNAUTHORIZED","msg":"Bad key"}"#,
        ))
        .expect(1)
        .mount(&server)
        .await;

    assert_eq!(
        client.check_key(&key()).await.unwrap_err(),
        BonusPlusError::Unauthorized
    );
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

    client.get_customer(&key(), &phone()).await.unwrap();
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
async fn not_found_status() {
    let err = calc_error(ResponseTemplate::new(404)).await;
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
        .and(path("/customer/stat"))
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
    assert!(client.calc(&key, &calc_request()).await.is_err());
    let line = ReturnLine {
        ext: "l".into(),
        sum: Decimal::ONE,
    };
    assert!(client.return_line(&key, &line).await.is_err());

    assert_eq!(server.received_requests().await.unwrap().len(), 4);
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
