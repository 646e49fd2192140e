//! How every class of BonusPlus answer maps to a [`BonusPlusError`], which calls are retried
//! (a read, once) and which never are (writes), and that the key never shows in an error.

use std::time::Duration;

use base64::Engine as _;
use bonusbridge::bonusplus::{
    BonusPlusClient, BonusPlusError, CalcResult, Customer, CustomerPatch, ReturnLine, SaleRequest,
    SaleResult,
};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer};

use super::customers::new_customer;
use super::*;

/// `calc` is a write: answered once, never retried.
fn calc_answers(answer: ResponseTemplate) -> Vec<Expected> {
    vec![route("PUT", "/retail/calc").answer(answer)]
}

fn unknown_call_not_retryable(r: Result<CalcResult, BonusPlusError>, status: u16) {
    let err = r.unwrap_err();
    assert_eq!(err, BonusPlusError::UnknownCall { status });
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn error_mapping_table() {
    run(vec![
        Case {
            name: "calc, 412 with code and msg → Refused carrying both, not retryable",
            expect: calc_answers(error_answer(
                412,
                r#"{"code":"NOT_ENOUGH_BONUSES","msg":"Недостаточно бонусов"}"#,
            )),
            call: CALC,
            outcome: |r| {
                let err = r.unwrap_err();
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
            },
            in_order: &[],
        },
        Case {
            name: "calc, 400 VALIDATION_ERROR → a refusal with its code and message",
            expect: calc_answers(error_answer(
                400,
                r#"{"code":"VALIDATION_ERROR","msg":"Не указан магазин"}"#,
            )),
            call: CALC,
            outcome: |r| {
                let err = r.unwrap_err();
                assert_eq!(err.code(), Some("VALIDATION_ERROR"));
                assert_eq!(err.to_string(), "Не указан магазин");
            },
            in_order: &[],
        },
        Case {
            name: "calc, 412 with a numeric code → Refused with the code as text",
            expect: calc_answers(error_answer(
                412,
                r#"{"code": 1052, "msg": "Магазин не найден"}"#,
            )),
            call: CALC,
            outcome: |r| {
                assert_eq!(
                    r.unwrap_err(),
                    BonusPlusError::Refused {
                        status: 412,
                        code: Some("1052".into()),
                        message: "Магазин не найден".into(),
                    }
                );
            },
            in_order: &[],
        },
        Case {
            name: "calc, 401 → Unauthorized",
            expect: calc_answers(error_answer(401, r#"{"code":"x","msg":"no"}"#)),
            call: CALC,
            outcome: is_unauthorized,
            in_order: &[],
        },
        Case {
            name: "calc, 403 → Unauthorized",
            expect: calc_answers(error_answer(403, r#"{"code":"x","msg":"no"}"#)),
            call: CALC,
            outcome: is_unauthorized,
            in_order: &[],
        },
        // 404/405 without a business code: BonusPlus does not know the call (not "not found").
        Case {
            name: "calc, bare 404 → UnknownCall, not retryable",
            expect: calc_answers(error_answer(404, "")),
            call: CALC,
            outcome: |r| unknown_call_not_retryable(r, 404),
            in_order: &[],
        },
        Case {
            name: "calc, 404 unknown route → UnknownCall, not retryable",
            expect: calc_answers(error_answer(404, UNKNOWN_ROUTE)),
            call: CALC,
            outcome: |r| unknown_call_not_retryable(r, 404),
            in_order: &[],
        },
        Case {
            name: "calc, 405 not supported → UnknownCall, not retryable",
            expect: calc_answers(error_answer(405, NOT_SUPPORTED)),
            call: CALC,
            outcome: |r| unknown_call_not_retryable(r, 405),
            in_order: &[],
        },
        Case {
            name: "calc, 404 with a business code → NotFound",
            expect: calc_answers(error_answer(404, CUSTOMER_NOT_FOUND)),
            call: CALC,
            outcome: is_not_found,
            in_order: &[],
        },
        Case {
            name: "calc, 500 → Unavailable, retryable",
            expect: calc_answers(error_answer(500, r#"{"code":"ERROR","msg":"Internal"}"#)),
            call: CALC,
            outcome: |r| {
                let err = r.unwrap_err();
                assert!(matches!(err, BonusPlusError::Unavailable { .. }), "{err:?}");
                assert!(err.is_retryable());
            },
            in_order: &[],
        },
        Case {
            name: "calc, 503 with an HTML page → retryable",
            expect: calc_answers(ResponseTemplate::new(503).set_body_string("<html>down</html>")),
            call: CALC,
            outcome: |r| {
                let err = r.unwrap_err();
                assert!(err.is_retryable(), "{err:?}");
            },
            in_order: &[],
        },
        Case {
            name: "calc, 302 → Unexpected",
            expect: calc_answers(
                ResponseTemplate::new(302).insert_header("location", "/elsewhere"),
            ),
            call: CALC,
            outcome: |r| {
                let err = r.unwrap_err();
                assert!(matches!(err, BonusPlusError::Unexpected { .. }), "{err:?}");
            },
            in_order: &[],
        },
    ])
    .await;
}

fn unexpected_not_retryable(r: Result<Customer, BonusPlusError>) {
    let err = r.unwrap_err();
    assert!(matches!(err, BonusPlusError::Unexpected { .. }), "{err:?}");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn customer_answer_table() {
    run(vec![
        Case {
            name: "get_customer, 412 CUSTOMER_NOT_FOUND → NotFound, the read not retried",
            expect: vec![route("GET", "/customer").answer(error_answer(412, CUSTOMER_NOT_FOUND))],
            call: GET_CUSTOMER,
            outcome: is_not_found,
            in_order: &[],
        },
        Case {
            name: "get_customer, 412 → refused read not retried",
            expect: vec![route("GET", "/customer").answer(error_answer(
                412,
                r#"{"code":"CUSTOMER_NOT_FOUND","msg":"-"}"#,
            ))],
            call: GET_CUSTOMER,
            outcome: |_| {},
            in_order: &[],
        },
        Case {
            name: "get_customer, 500 then the customer → retried once, the customer",
            expect: vec![
                route("GET", "/customer")
                    .answer(ResponseTemplate::new(500))
                    .up_to(1),
                route("GET", "/customer").answer(ok_json(CUSTOMER)),
            ],
            call: GET_CUSTOMER,
            outcome: |r| assert_eq!(r.unwrap().phone, PHONE),
            in_order: &[],
        },
        Case {
            name: "get_customer, broken JSON → Unexpected, not retryable",
            expect: vec![route("GET", "/customer").answer(ok_json("{not json"))],
            call: GET_CUSTOMER,
            outcome: unexpected_not_retryable,
            in_order: &[],
        },
        Case {
            name: "get_customer, availableBonuses a word → Unexpected, not retryable",
            expect: vec![route("GET", "/customer").answer(ok_json(
                r#"{"phone": "79011231122", "availableBonuses": "lots"}"#,
            ))],
            call: GET_CUSTOMER,
            outcome: unexpected_not_retryable,
            in_order: &[],
        },
        Case {
            name: "get_customer, no phone → Unexpected, not retryable",
            expect: vec![route("GET", "/customer").answer(ok_json(r#"{"availableBonuses": 1}"#))],
            call: GET_CUSTOMER,
            outcome: unexpected_not_retryable,
            in_order: &[],
        },
        Case {
            name: "get_customer, empty 200 → Unexpected, not retryable",
            expect: vec![route("GET", "/customer").answer(ok_json(""))],
            call: GET_CUSTOMER,
            outcome: unexpected_not_retryable,
            in_order: &[],
        },
        Case {
            name: "create_customer, 412 CUSTOMER_ALREADY_EXIST → AlreadyExists",
            expect: vec![route("POST", "/customer").answer(error_answer(
                412,
                r#"{"code":"CUSTOMER_ALREADY_EXIST","msg":"Клиент уже существует"}"#,
            ))],
            call: call!(|c| c.create_customer(&key(), &new_customer())),
            outcome: |r| assert_eq!(r.unwrap_err(), BonusPlusError::AlreadyExists),
            in_order: &[],
        },
    ])
    .await;
}

fn sale_1() -> SaleRequest {
    SaleRequest::from_calc(calc_request(), "sale-1".into())
}

#[tokio::test]
async fn sale_error_table() {
    run::<SaleResult>(vec![
        Case {
            name: "sale, 412 RETAIL_ALREADY_EXIST → AlreadyBooked, not retryable",
            expect: vec![route("POST", "/retail").answer(error_answer(
                412,
                r#"{"code":"RETAIL_ALREADY_EXIST","msg":"Продажа уже существует"}"#,
            ))],
            call: call!(|c| c.sale(&key(), &sale_1())),
            outcome: |r| {
                let err = r.unwrap_err();
                assert_eq!(err, BonusPlusError::AlreadyBooked);
                assert!(!err.is_retryable());
            },
            in_order: &[],
        },
        Case {
            name: "sale, 500 → retryable for the caller, never retried",
            expect: vec![route("POST", "/retail").answer(ResponseTemplate::new(500))],
            call: call!(|c| c.sale(&key(), &sale_1())),
            outcome: |r| {
                let err = r.unwrap_err();
                assert!(err.is_retryable(), "the caller decides: {err:?}");
            },
            in_order: &[],
        },
    ])
    .await;
}

fn first_name() -> CustomerPatch {
    CustomerPatch {
        first_name: Some("Иван".into()),
        ..CustomerPatch::default()
    }
}

fn one_line() -> ReturnLine {
    ReturnLine {
        ext: "l".into(),
        sum: Decimal::ONE,
    }
}

fn is_err(r: Result<(), BonusPlusError>) {
    assert!(r.is_err());
}

/// Every answer is 503: a read is asked twice, a write once.
#[tokio::test]
async fn retry_table() {
    let unavailable = || any_request().answer(ResponseTemplate::new(503));
    run(vec![
        Case {
            name: "check_key (a read), 502 → retryable after exactly one retry",
            expect: vec![route("GET", "/account")
                .answer(ResponseTemplate::new(502))
                .times(2)],
            call: CHECK_KEY,
            outcome: |r| assert!(r.unwrap_err().is_retryable()),
            in_order: &[],
        },
        Case {
            name: "reserve, 503 → an error, never retried",
            expect: vec![unavailable()],
            call: call!(|c| c.reserve(&key(), &phone(), "o", dec!(1))),
            outcome: is_err,
            in_order: &[],
        },
        Case {
            name: "send_code, 503 → an error, never retried",
            expect: vec![unavailable()],
            call: call!(|c| async move { c.send_code(&key(), &phone()).await.map(drop) }),
            outcome: is_err,
            in_order: &[],
        },
        Case {
            name: "send_message, 503 → an error, never retried",
            expect: vec![unavailable()],
            call: call!(|c| c.send_message(&key(), &phone(), "text", &[])),
            outcome: is_err,
            in_order: &[],
        },
        Case {
            name: "update_customer, 503 → an error, never retried",
            expect: vec![unavailable()],
            call: call!(|c| async move {
                c.update_customer(&key(), &phone(), &first_name())
                    .await
                    .map(drop)
            }),
            outcome: is_err,
            in_order: &[],
        },
        Case {
            name: "create_customer, 503 → an error, never retried",
            expect: vec![unavailable()],
            call: call!(
                |c| async move { c.create_customer(&key(), &new_customer()).await.map(drop) }
            ),
            outcome: is_err,
            in_order: &[],
        },
        Case {
            name: "calc, 503 → an error, never retried",
            expect: vec![unavailable()],
            call: call!(|c| async move { c.calc(&key(), &calc_request()).await.map(drop) }),
            outcome: is_err,
            in_order: &[],
        },
        Case {
            name: "return_line, 503 → an error, never retried",
            expect: vec![unavailable()],
            call: call!(|c| async move { c.return_line(&key(), &one_line()).await.map(drop) }),
            outcome: is_err,
            in_order: &[],
        },
    ])
    .await;
}

#[tokio::test]
async fn calc_timeout_is_unavailable() {
    let server = MockServer::start().await;
    let client = BonusPlusClient::new(&server.uri(), Duration::from_millis(300)).unwrap();
    route("PUT", "/retail/calc")
        .answer(ok_json("{}").set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;

    let err = client.calc(&key(), &calc_request()).await.unwrap_err();

    assert!(matches!(err, BonusPlusError::Unavailable { .. }), "{err:?}");
}

#[tokio::test]
async fn calc_on_a_refused_connection_is_unavailable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let client = BonusPlusClient::new(&format!("http://{address}/"), TIMEOUT).unwrap();

    let err = client.calc(&key(), &calc_request()).await.unwrap_err();

    assert!(matches!(err, BonusPlusError::Unavailable { .. }), "{err:?}");
}

#[tokio::test]
async fn key_appears_in_no_debug_output_or_error() {
    let encoded_key = base64::engine::general_purpose::STANDARD.encode(KEY);
    let server = MockServer::start().await;
    let client = BonusPlusClient::new(&server.uri(), TIMEOUT).unwrap();
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
        Mock::given(any()).respond_with(answer).mount(&server).await;
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
