//! Receipts: bonus reserves, the calculation, the sale (reserve, gift certificates) and a
//! returned line, with every amount sent and read exactly as spelled.

use bonusbridge::bonusplus::{
    BonusPlusError, CalcResult, GiftCardPayment, ReturnLine, SaleRequest, SaleResult,
};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use super::*;

const RESERVE: &str = "/customer/79011231122/balance/reserve";
const RESERVE_1: &str = "/customer/79011231122/balance/reserve/order-1";

#[tokio::test]
async fn reserve_table() {
    run(vec![
        Case {
            name: "reserve 12.00 → PATCH balance/reserve {id, amount: 12.00}",
            expect: vec![request(
                "PATCH",
                RESERVE,
                None,
                Sent::json(r#"{"id": "order-1", "amount": 12.00}"#),
            )
            .answer(ResponseTemplate::new(204))],
            call: call!(|c| c.reserve(&key(), &phone(), "order-1", dec!(12.00))),
            outcome: |r| r.unwrap(),
            in_order: &[],
        },
        Case {
            name: "reserve -12.00 (release) → PATCH balance/reserve {id, amount: -12.00}",
            expect: vec![request(
                "PATCH",
                RESERVE,
                None,
                Sent::json(r#"{"id": "order-1", "amount": -12.00}"#),
            )
            .answer(ResponseTemplate::new(204))],
            call: call!(|c| c.reserve(&key(), &phone(), "order-1", dec!(-12.00))),
            outcome: |r| r.unwrap(),
            in_order: &[],
        },
    ])
    .await;
}

/// `GET customer/{phone}/balance/reserve/order-1`, answered so.
fn reserve_1(answer: ResponseTemplate) -> Vec<Expected> {
    vec![get(RESERVE_1, None).answer(answer)]
}

/// `reserve_held` of the reserve `order-1`.
const HELD_BY_ORDER_1: Call<Decimal> = call!(|c| c.reserve_held(&key(), &phone(), "order-1"));

fn holds_nothing(r: Result<Decimal, BonusPlusError>) {
    assert_eq!(r, Ok(Decimal::ZERO));
}

#[tokio::test]
async fn reserve_held_table() {
    run(vec![
        Case {
            name: "reserve_held → GET balance/reserve/{id}, the amount as spelled",
            expect: reserve_1(ok_json(
                r#"{"phone": "79011231122", "id": "order-1", "amount": 12.30}"#,
            )),
            call: HELD_BY_ORDER_1,
            outcome: |r| {
                let held = r.unwrap();
                assert_eq!(held, dec!(12.30));
                assert_eq!(held.to_string(), "12.30");
            },
            in_order: &[],
        },
        Case {
            name: "reserve_held, 412 RESERVE_NOT_FOUND → holds nothing",
            expect: reserve_1(error_answer(
                412,
                r#"{"code":"RESERVE_NOT_FOUND","msg":"Резерв не найден"}"#,
            )),
            call: HELD_BY_ORDER_1,
            outcome: holds_nothing,
            in_order: &[],
        },
        Case {
            name: "reserve_held, 412 CUSTOMER_NOT_FOUND → holds nothing",
            expect: reserve_1(error_answer(
                412,
                r#"{"code":"CUSTOMER_NOT_FOUND","msg":"-"}"#,
            )),
            call: HELD_BY_ORDER_1,
            outcome: holds_nothing,
            in_order: &[],
        },
        Case {
            name: "reserve_held, 404 RESERVE_NOT_FOUND → holds nothing",
            expect: reserve_1(error_answer(
                404,
                r#"{"code":"RESERVE_NOT_FOUND","msg":"-"}"#,
            )),
            call: HELD_BY_ORDER_1,
            outcome: holds_nothing,
            in_order: &[],
        },
        Case {
            // Not 0: taking an unknown call for "holds nothing" would leave bonuses reserved
            // forever.
            name: "reserve_held unknown to BonusPlus (404) → UnknownCall, the caller falls back",
            expect: vec![route("GET", RESERVE_1).answer(error_answer(404, UNKNOWN_ROUTE))],
            call: HELD_BY_ORDER_1,
            outcome: |r| assert_eq!(r.unwrap_err(), BonusPlusError::UnknownCall { status: 404 }),
            in_order: &[],
        },
    ])
    .await;
}

#[tokio::test]
async fn calc_table() {
    run::<CalcResult>(vec![Case {
        name: "calc → PUT retail/calc with exact amounts, exact amounts read",
        expect: vec![
            request("PUT", "/retail/calc", None, Sent::json(CALC_BODY)).answer(ok_json(
                r#"{"maxDebitBonuses": 12345678.91, "multiplicityDebitBonus": 1,
                "discount": [{"ext": "line-1", "cb": 0.1, "db": 0.2, "ids": 10.00, "idp": 5.00,
                              "ds": 0, "dp": 0, "cbp": 5.00, "dbp": 15.00,
                              "messages": ["Акция «Сыр»: скидка 5%"]}],
                "messages": ["Бонусы начислены"]}"#,
            )),
        ],
        call: CALC,
        outcome: |r| {
            let result = r.unwrap();
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
        },
        in_order: &[],
    }])
    .await;
}

fn retail_result() -> String {
    r#"{"id": 1000001, "orderUid": "5b1c7f3a-1111-4222-8333-444455556666",
    "orderUrl": "https://bonusplus.pro/receipt/1000001", "customer": CUSTOMER}"#
        .replace("CUSTOMER", CUSTOMER)
}

/// The calculation's body plus these members.
fn sale_body(members: &[(&str, Value)]) -> Sent {
    let mut body = json(CALC_BODY);
    for (name, value) in members {
        body[*name] = value.clone();
    }
    Sent::Json(body)
}

fn sale_with_coupon() -> SaleRequest {
    let mut calc = calc_request();
    calc.coupons = Some(vec!["WELCOME".into()]);
    SaleRequest::from_calc(calc, "sale-1".into())
}

fn sale_with_reserve_and_certificates() -> SaleRequest {
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
    sale
}

#[tokio::test]
async fn sale_table() {
    run::<SaleResult>(vec![
        Case {
            name: "sale → POST retail with externalId and coupons, the RetailResult read",
            expect: vec![request(
                "POST",
                "/retail",
                None,
                sale_body(&[
                    ("externalId", Value::String("sale-1".into())),
                    ("coupons", json(r#"["WELCOME"]"#)),
                ]),
            )
            .answer(ok_json(&retail_result()))],
            call: call!(|c| c.sale(&key(), &sale_with_coupon())),
            outcome: |r| {
                let result = r.unwrap();
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
            },
            in_order: &[],
        },
        Case {
            name: "sale with a reserve and two certificates → reserveId and giftCards sent exactly",
            expect: vec![request(
                "POST",
                "/retail",
                None,
                sale_body(&[
                    ("externalId", Value::String("sale-1".into())),
                    ("reserveId", Value::String("reserve-1".into())),
                    (
                        "giftCards",
                        json(&format!(
                            r#"[{{"id": "{CERTIFICATE_ID}", "paymentSum": 500.00}},
                                {{"id": "00000000-0000-0000-0000-000000000002", "paymentSum": 0.01}}]"#
                        )),
                    ),
                ]),
            )
            .answer(ok_json(&retail_result()))],
            call: call!(|c| c.sale(&key(), &sale_with_reserve_and_certificates())),
            outcome: |r| {
                r.unwrap();
            },
            in_order: &[],
        },
    ])
    .await;
}

fn line_1() -> ReturnLine {
    ReturnLine {
        ext: "line-1".into(),
        sum: dec!(100.05),
    }
}

/// `return_line` of 100.05 of `line-1`.
const RETURN_LINE_1: Call<Option<i64>> = call!(|c| c.return_line(&key(), &line_1()));
const RETURN_BODY: &str = r#"{"ext": "line-1", "sum": 100.05}"#;

/// `PUT retail/back` with line-1's return, answered so.
fn returned(answer: ResponseTemplate) -> Vec<Expected> {
    vec![request("PUT", "/retail/back", None, Sent::json(RETURN_BODY)).answer(answer)]
}

/// A 2xx means the return is done: no answer body may turn it into an error (and a retry).
#[tokio::test]
async fn return_line_table() {
    run(vec![
        Case {
            name: "return_line → PUT retail/back {ext, sum}, the returnedPurchaseId",
            expect: returned(ok_json(r#"{"returnedPurchaseId": 5000001}"#)),
            call: RETURN_LINE_1,
            outcome: |r| assert_eq!(r.unwrap(), Some(5_000_001)),
            in_order: &[],
        },
        Case {
            name: "return_line, 204 → done, no id",
            expect: returned(ResponseTemplate::new(204)),
            call: RETURN_LINE_1,
            outcome: is_none,
            in_order: &[],
        },
        Case {
            name: "return_line, 200 without a body → done, no id",
            expect: returned(ResponseTemplate::new(200)),
            call: RETURN_LINE_1,
            outcome: is_none,
            in_order: &[],
        },
        Case {
            name: "return_line, 200 {} → done, no id",
            expect: returned(ok_json("{}")),
            call: RETURN_LINE_1,
            outcome: is_none,
            in_order: &[],
        },
        Case {
            name: "return_line, 200 {returnedPurchaseId: null} → done, no id",
            expect: returned(ok_json(r#"{"returnedPurchaseId": null}"#)),
            call: RETURN_LINE_1,
            outcome: is_none,
            in_order: &[],
        },
        Case {
            name: "return_line, 200 with broken JSON → done, no id",
            expect: returned(ok_json("{garbage")),
            call: RETURN_LINE_1,
            outcome: is_none,
            in_order: &[],
        },
    ])
    .await;
}
