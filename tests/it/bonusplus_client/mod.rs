//! Contract tests of the BonusPlus client against a local mock server: the exact request of
//! every call (method, path, query, headers, JSON body), every fallback of a call BonusPlus may
//! not know, and the mapping of every error class. The contract is `docs/bonusplus-wire.md`.
//!
//! Each resource is a table of [`Case`]s — the requests the server expects and answers, one call
//! of the client, the outcome — run by [`run`]; a failure names its case. A case passes only if
//! every expected request came exactly as often as it says and no other request came at all.

mod account;
mod certificates;
mod customers;
mod errors;
mod fallbacks;
mod messages;
mod products;
mod retail;

use std::time::Duration;

use base64::Engine as _;
use bonusbridge::bonusplus::{
    ApiKey, BonusPlusClient, BonusPlusError, CalcItem, CalcRequest, CalcResult, Customer,
};
use bonusbridge::domain::Phone;
use futures::future::BoxFuture;
use rust_decimal_macros::dec;
use secrecy::SecretString;
use serde_json::Value;
use uuid::Uuid;
use wiremock::matchers::{any, body_json, body_string, header, method, path};
use wiremock::{Match, Mock, MockServer, Request, ResponseTemplate};

pub(super) const KEY: &str = "shop-secret-key-42";
pub(super) const PHONE: &str = "79011231122";
pub(super) const CARD: &str = "2000000051420";
pub(super) const CUSTOMER_ID: &str = "9f2a5c1e-0b7d-4c33-8e55-1a2b3c4d5e6f";
pub(super) const CERTIFICATE_ID: &str = "0c0ffee0-0000-4000-8000-000000000001";
pub(super) const TIMEOUT: Duration = Duration::from_secs(2);

pub(super) const CUSTOMER: &str = r#"{
    "id": "9f2a5c1e-0b7d-4c33-8e55-1a2b3c4d5e6f",
    "phone": "79011231122", "discountCardNumber": "2000000051420", "discountCardName": "Базовая",
    "availableBonuses": 12345678.91, "notActiveBonuses": 0.00,
    "person": {"fn": "Иван", "ln": "Петров", "mn": "Сергеевич", "sex": 1,
               "email": "ivan@example.com", "birthDay": "1990-05-17T00:00:00"},
    "someFutureField": {"nested": [1, 2]}
}"#;

/// ASP.NET Web API's answer for a route it does not know.
pub(super) const UNKNOWN_ROUTE: &str =
    r#"{"Message": "No HTTP resource was found that matches the request URI."}"#;
pub(super) const NOT_SUPPORTED: &str =
    r#"{"Message": "The requested resource does not support http method 'PATCH'."}"#;

pub(super) const CUSTOMER_NOT_FOUND: &str =
    r#"{"code":"CUSTOMER_NOT_FOUND","msg":"Клиент не найден"}"#;

pub(super) fn key() -> ApiKey {
    ApiKey::new(SecretString::from(KEY)).unwrap()
}

fn authorization() -> String {
    format!(
        "ApiKey {}",
        base64::engine::general_purpose::STANDARD.encode(KEY)
    )
}

pub(super) fn phone() -> Phone {
    Phone::parse("+7 (901) 123-11-22").unwrap()
}

pub(super) fn customer_id() -> Uuid {
    Uuid::parse_str(CUSTOMER_ID).unwrap()
}

pub(super) fn certificate_id() -> Uuid {
    Uuid::parse_str(CERTIFICATE_ID).unwrap()
}

/// Parses JSON text keeping numbers exactly as written (serde_json `arbitrary_precision`),
/// so comparing bodies also compares how each amount is spelled.
pub(super) fn json(raw: &str) -> Value {
    serde_json::from_str(raw).unwrap()
}

pub(super) fn ok_json(raw: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(raw.to_owned(), "application/json")
}

pub(super) fn error_answer(status: u16, raw: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(raw.to_owned(), "application/json")
}

pub(super) fn calc_request() -> CalcRequest {
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

pub(super) const CALC_BODY: &str = r#"{
    "phone": "79011231122", "store": "Магазин 1", "bonusDebit": 0.3,
    "items": [
        {"ext": "line-1", "product": "prod-1", "qnt": 2, "sum": 200.00, "ds": 0, "price": 100.00},
        {"ext": "line-2", "product": "prod-2", "qnt": 1.250, "sum": 12345678.91, "ds": 0.10, "cat": "cat-1"}
    ]
}"#;

// ---------------------------------------------------------------- requests expected

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
pub(super) enum Sent {
    /// A GET: no body and no `Content-Type`.
    Nothing,
    /// An empty PUT: `Content-Length: 0`.
    Empty,
    /// This exact JSON.
    Json(Value),
}

impl Sent {
    /// This exact JSON, numbers spelled as written.
    pub(super) fn json(raw: &str) -> Self {
        Self::Json(json(raw))
    }
}

enum Matcher {
    /// Exactly this request, with the shop's key: method, path, whole query, headers, body.
    Exact {
        verb: &'static str,
        url_path: &'static str,
        query: Option<&'static str>,
        sent: Sent,
    },
    /// Any request with this method and path.
    Route {
        verb: &'static str,
        url_path: &'static str,
    },
    /// Any request at all.
    Any,
}

/// One request the server expects, its answer, and how many times it must come.
pub(super) struct Expected {
    matcher: Matcher,
    answer: ResponseTemplate,
    times: u64,
    /// Answers only the first `n` matching requests (later ones go to the next mock).
    up_to: Option<u64>,
}

/// Exactly this request, with the shop's key and `Accept: application/json`.
pub(super) fn request(
    verb: &'static str,
    url_path: &'static str,
    query: Option<&'static str>,
    sent: Sent,
) -> Expected {
    Expected::new(Matcher::Exact {
        verb,
        url_path,
        query,
        sent,
    })
}

/// Exactly this GET (no body, no `Content-Type`), with the shop's key.
pub(super) fn get(url_path: &'static str, query: Option<&'static str>) -> Expected {
    request("GET", url_path, query, Sent::Nothing)
}

/// Any request with this method and path, whatever its query, headers and body.
pub(super) fn route(verb: &'static str, url_path: &'static str) -> Expected {
    Expected::new(Matcher::Route { verb, url_path })
}

/// Any request at all.
pub(super) fn any_request() -> Expected {
    Expected::new(Matcher::Any)
}

impl Expected {
    fn new(matcher: Matcher) -> Self {
        Self {
            matcher,
            answer: ResponseTemplate::new(500),
            times: 1,
            up_to: None,
        }
    }

    /// The server's answer (expected once unless [`Self::times`] says otherwise).
    pub(super) fn answer(mut self, answer: ResponseTemplate) -> Self {
        self.answer = answer;
        self
    }

    pub(super) fn times(mut self, times: u64) -> Self {
        self.times = times;
        self
    }

    /// Answers only the first `n` matching requests.
    pub(super) fn up_to(mut self, n: u64) -> Self {
        self.up_to = Some(n);
        self
    }

    async fn mount(self, server: &MockServer) {
        let builder = match self.matcher {
            Matcher::Any => Mock::given(any()),
            Matcher::Route { verb, url_path } => Mock::given(method(verb)).and(path(url_path)),
            Matcher::Exact {
                verb,
                url_path,
                query,
                sent,
            } => {
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
                    Sent::Json(body) => builder
                        .and(header("content-type", "application/json"))
                        .and(body_json(body)),
                }
            }
        };
        let mock = builder.respond_with(self.answer).expect(self.times);
        match self.up_to {
            Some(n) => mock.up_to_n_times(n).mount(server).await,
            None => mock.mount(server).await,
        }
    }
}

// ---------------------------------------------------------------- the driver

/// One call of the client, given a client pointed at the case's server.
pub(super) type Call<T> = fn(BonusPlusClient) -> BoxFuture<'static, Result<T, BonusPlusError>>;

/// Boxes an `async` call of the client for a [`Case`]: `call!(|c| c.check_key(&key()))`.
macro_rules! call {
    (|$client:ident| $call:expr) => {
        |$client: bonusbridge::bonusplus::BonusPlusClient| {
            futures::FutureExt::boxed(async move { $call.await })
        }
    };
}
pub(super) use call;

/// Calls that more than one table makes.
pub(super) const CHECK_KEY: Call<()> = call!(|c| c.check_key(&key()));
pub(super) const GET_CUSTOMER: Call<Customer> = call!(|c| c.get_customer(&key(), &phone()));
pub(super) const CALC: Call<CalcResult> = call!(|c| c.calc(&key(), &calc_request()));

/// One row of a contract table.
pub(super) struct Case<T> {
    /// The call and its outcome, e.g. "get_customer by phone → every field read".
    pub name: &'static str,
    /// The requests the server expects, with their answers.
    pub expect: Vec<Expected>,
    pub call: Call<T>,
    /// Asserts what the call answered.
    pub outcome: fn(Result<T, BonusPlusError>),
    /// `METHOD /path?query` of every request received, in order; empty: the order is not checked.
    pub in_order: &'static [&'static str],
}

impl<T> Case<T> {
    async fn run(self) {
        let server = MockServer::start().await;
        // No trailing slash on purpose: the client must add it.
        let client = BonusPlusClient::new(&server.uri(), TIMEOUT).unwrap();
        let expected: u64 = self.expect.iter().map(|e| e.times).sum();
        for request in self.expect {
            request.mount(&server).await;
        }

        (self.outcome)((self.call)(client).await);

        server.verify().await;
        let received = received(&server).await;
        assert_eq!(
            received.len() as u64,
            expected,
            "no request but the expected ones: {received:?}"
        );
        if !self.in_order.is_empty() {
            assert_eq!(received, self.in_order);
        }
    }
}

/// Runs every case (each on its own server) and fails naming every case that failed.
pub(super) async fn run<T: Send + 'static>(cases: Vec<Case<T>>) {
    let mut failed = Vec::new();
    for case in cases {
        let name = case.name;
        if tokio::spawn(case.run()).await.is_err() {
            failed.push(name);
        }
    }
    assert!(failed.is_empty(), "failed cases: {failed:#?}");
}

/// The outcome `NotFound`.
pub(super) fn is_not_found<T: std::fmt::Debug>(r: Result<T, BonusPlusError>) {
    assert_eq!(r.unwrap_err(), BonusPlusError::NotFound);
}

/// The outcome `Unauthorized` (the key is refused).
pub(super) fn is_unauthorized<T: std::fmt::Debug>(r: Result<T, BonusPlusError>) {
    assert_eq!(r.unwrap_err(), BonusPlusError::Unauthorized);
}

/// The outcome "answered, nothing there" (`Ok(None)`).
pub(super) fn is_none<T: std::fmt::Debug + PartialEq>(r: Result<Option<T>, BonusPlusError>) {
    assert_eq!(r, Ok(None));
}

/// The method and path (with query) of every request the server received, in order.
pub(super) async fn received(server: &MockServer) -> Vec<String> {
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
