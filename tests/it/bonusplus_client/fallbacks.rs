//! Calls BonusPlus may not know, and what the client does instead: the key check asks for a
//! customer, an edit PATCH becomes a read–merge–write PUT, a refused message route is dropped.

use bonusbridge::bonusplus::{BonusPlusError, CustomerUpdate, Withheld};
use bonusbridge::domain::verification::{Channel, MessageRoute};
use bonusbridge::domain::Ean;

use super::customers::patch;
use super::*;

const NO_ONE: Option<&str> = Some("phone=70000000000");
const ACCOUNT_THEN_LOOKUP: &[&str] = &["GET /account", "GET /customer?phone=70000000000"];

/// `GET account` answered `account`, then the lookup of a phone no one has answered `lookup`.
fn account_then_lookup(account: ResponseTemplate, lookup: ResponseTemplate) -> Vec<Expected> {
    vec![
        get("/account", None).answer(account),
        get("/customer", NO_ONE).answer(lookup),
    ]
}

#[tokio::test]
async fn key_check_fallback_table() {
    run(vec![
        Case {
            name:
                "check_key, account unknown (404) → GET customer?phone=70000000000, 412 → accepted",
            expect: account_then_lookup(
                error_answer(404, UNKNOWN_ROUTE),
                error_answer(412, CUSTOMER_NOT_FOUND),
            ),
            call: CHECK_KEY,
            outcome: |r| r.unwrap(),
            in_order: ACCOUNT_THEN_LOOKUP,
        },
        Case {
            name: "check_key, account not supported (405) → customer lookup, accepted",
            expect: account_then_lookup(
                error_answer(405, NOT_SUPPORTED),
                error_answer(412, CUSTOMER_NOT_FOUND),
            ),
            call: CHECK_KEY,
            outcome: |r| r.unwrap(),
            in_order: ACCOUNT_THEN_LOOKUP,
        },
        Case {
            name: "check_key, account bare 404 → customer lookup, accepted",
            expect: account_then_lookup(
                error_answer(404, ""),
                error_answer(412, CUSTOMER_NOT_FOUND),
            ),
            call: CHECK_KEY,
            outcome: |r| r.unwrap(),
            in_order: ACCOUNT_THEN_LOOKUP,
        },
        Case {
            name: "check_key, account unknown, the lookup answers 401 → Unauthorized",
            expect: account_then_lookup(
                error_answer(404, UNKNOWN_ROUTE),
                error_answer(401, r#"{"code":"UNAUTHORIZED","msg":"no"}"#),
            ),
            call: CHECK_KEY,
            outcome: is_unauthorized,
            in_order: &[],
        },
        Case {
            name: "check_key, a business 404 (code NOT_FOUND) → an error, no fallback",
            expect: vec![get("/account", None)
                .answer(error_answer(404, r#"{"code":"NOT_FOUND","msg":"-"}"#))],
            call: CHECK_KEY,
            outcome: |r| assert!(r.is_err()),
            in_order: &["GET /account"],
        },
    ])
    .await;
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

/// Everything BonusPlus answered, the change on top, under UpdateCustomer's names.
const PUT_BODY: &str = r#"{"newCardNumber": 12345670, "newCard": "Базовая",
    "parentphone": "79990000001",
    "fn": "Иван", "ln": "Сидорова", "mn": "Сергеевич", "sex": 2,
    "email": "new@example.com", "desc": "VIP", "birthDay": "01.02.1985",
    "profileVkontakte": "vk.com/ivan", "address": "Ленина, 1",
    "disablePromoSMS": true}"#;

const PATCH_GET_PUT: &[&str] = &[
    "PATCH /customer/79011231122",
    "GET /customer?phone=79011231122",
    "PUT /customer/79011231122",
];

/// PATCH answered `refusal`, then the customer read back and the PUT carrying everything back.
fn patch_refused_then_put(refusal: ResponseTemplate) -> Vec<Expected> {
    vec![
        route("PATCH", "/customer/79011231122").answer(refusal),
        get("/customer", Some("phone=79011231122")).answer(ok_json(CUSTOMER_PUTTABLE)),
        request("PUT", "/customer/79011231122", None, Sent::json(PUT_BODY))
            .answer(ok_json(CUSTOMER_PUTTABLE)),
    ]
}

fn put_carried_back(r: Result<CustomerUpdate, BonusPlusError>) {
    let update = r.unwrap();
    assert_eq!(update.customer.phone, PHONE);
    assert_eq!(update.withheld, [Withheld::Card(Ean::parse(CARD).unwrap())]);
}

#[tokio::test]
async fn customer_update_fallback_table() {
    run(vec![
        Case {
            name: "update_customer, PATCH not supported (405) → GET, PUT carrying back every field",
            expect: patch_refused_then_put(error_answer(405, NOT_SUPPORTED)),
            call: call!(|c| c.update_customer(&key(), &phone(), &patch())),
            outcome: put_carried_back,
            in_order: PATCH_GET_PUT,
        },
        Case {
            name: "update_customer, PATCH unknown (404) → GET, PUT carrying back every field",
            expect: patch_refused_then_put(error_answer(404, UNKNOWN_ROUTE)),
            call: call!(|c| c.update_customer(&key(), &phone(), &patch())),
            outcome: put_carried_back,
            in_order: PATCH_GET_PUT,
        },
        Case {
            // CUSTOMER holds an EAN-13 card (no Int32) and a member UpdateCustomer does not know.
            name:
                "update_customer, PATCH not supported, customer not puttable → no PUT, NotUpdated",
            expect: vec![
                route("PATCH", "/customer/79011231122").answer(error_answer(405, NOT_SUPPORTED)),
                get("/customer", Some("phone=79011231122")).answer(ok_json(CUSTOMER)),
            ],
            call: call!(|c| c.update_customer(&key(), &phone(), &patch())),
            outcome: |r| {
                let update = r.unwrap();
                assert_eq!(update.customer.phone, PHONE);
                assert!(matches!(
                    update.withheld.last(),
                    Some(Withheld::NotUpdated { .. })
                ));
            },
            in_order: &[
                "PATCH /customer/79011231122",
                "GET /customer?phone=79011231122",
            ],
        },
        Case {
            name: "update_customer of an unknown customer (412) → NotFound, no fallback",
            expect: vec![route("PATCH", "/customer/79011231122")
                .answer(error_answer(412, CUSTOMER_NOT_FOUND))],
            call: call!(|c| c.update_customer(&key(), &phone(), &patch())),
            outcome: is_not_found,
            in_order: &["PATCH /customer/79011231122"],
        },
    ])
    .await;
}

fn all_channels() -> &'static [Channel] {
    MessageRoute::TelegramVkSms.channels()
}

const ROUTE_REFUSED: &str = r#"{"Message":"The request is invalid.","ModelState":{"request.route[0]":["Error converting value"]}}"#;

/// A route BonusPlus refuses (400): the message goes once more without it; once texted in all.
#[tokio::test]
async fn send_message_fallback_table() {
    run(vec![Case {
        name: "send_message, route refused (400) → sent again without the route",
        expect: vec![
            request(
                "POST",
                "/customer/79011231122/sendMessage",
                None,
                Sent::json(r#"{"message": "Код: 1", "route": ["Telegram", "VK", "SMS"]}"#),
            )
            .answer(error_answer(400, ROUTE_REFUSED)),
            request(
                "POST",
                "/customer/79011231122/sendMessage",
                None,
                Sent::json(r#"{"message": "Код: 1"}"#),
            )
            .answer(ResponseTemplate::new(204)),
        ],
        call: call!(|c| c.send_message(&key(), &phone(), "Код: 1", all_channels())),
        outcome: |r| r.unwrap(),
        in_order: &[],
    }])
    .await;
}
