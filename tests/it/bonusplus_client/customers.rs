//! Customers: lookups by phone, card (EAN) and id, the name search (`POST customer/list`),
//! registration and the PATCH edit. The edit's PUT fallback is in `fallbacks`.

use bonusbridge::bonusplus::{
    BonusPlusError, Customer, CustomerFilter, CustomerPatch, CustomerUpdate, NewCustomer, Sex,
    Withheld,
};
use bonusbridge::domain::Ean;
use rust_decimal_macros::dec;

use super::*;

const BY_PHONE: Option<&str> = Some("phone=79011231122");

fn birthday_and_last_name_read(r: Result<Customer, BonusPlusError>) {
    let person = r.unwrap().person.unwrap();
    assert_eq!(person.last_name.as_deref(), Some("Петров"), "{person:?}");
    assert_eq!(
        person.birth_day,
        Some(time::macros::date!(1990 - 05 - 17)),
        "{person:?}"
    );
}

/// `GET customer?phone=…` answered with a customer whose `person` is this JSON.
fn person_answered(person: &str) -> Vec<Expected> {
    let customer = format!(r#"{{"phone": "79011231122", "person": {person}}}"#);
    vec![get("/customer", BY_PHONE).answer(ok_json(&customer))]
}

#[tokio::test]
async fn customer_lookup_table() {
    run(vec![
        Case {
            name: "get_customer by phone → every field read",
            expect: vec![get("/customer", BY_PHONE).answer(ok_json(CUSTOMER))],
            call: GET_CUSTOMER,
            outcome: |r| {
                let customer = r.unwrap();
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
            },
            in_order: &[],
        },
        Case {
            name: "get_customer, person {ln, birthDay: date-time} → name and birthday read",
            expect: person_answered(r#"{"ln": "Петров", "birthDay": "1990-05-17T00:00:00"}"#),
            call: GET_CUSTOMER,
            outcome: birthday_and_last_name_read,
            in_order: &[],
        },
        Case {
            name: "get_customer, person {lastName, birthDay: date} → name and birthday read",
            expect: person_answered(r#"{"lastName": "Петров", "birthDay": "1990-05-17"}"#),
            call: GET_CUSTOMER,
            outcome: birthday_and_last_name_read,
            in_order: &[],
        },
        Case {
            name: "get_customer, person {lastName, birthday: ДД.ММ.ГГГГ} → name and birthday read",
            expect: person_answered(r#"{"lastName": "Петров", "birthday": "17.05.1990"}"#),
            call: GET_CUSTOMER,
            outcome: birthday_and_last_name_read,
            in_order: &[],
        },
        Case {
            name: "find_customer_by_card, EAN-13 with spaces → asks by ean, the customer",
            expect: vec![get("/customer", Some("ean=2000000051420")).answer(ok_json(CUSTOMER))],
            call: call!(|c| c.find_customer_by_card(&key(), " 2000000051420 ")),
            outcome: |r| assert_eq!(r.unwrap().phone, PHONE),
            in_order: &[],
        },
        Case {
            name: "find_customer_by_card, EAN-8 → asks by ean, the customer",
            expect: vec![get("/customer", Some("ean=96385074")).answer(ok_json(CUSTOMER))],
            call: call!(|c| c.find_customer_by_card(&key(), "96385074")),
            outcome: |r| assert_eq!(r.unwrap().phone, PHONE),
            in_order: &[],
        },
        Case {
            name: "get_customer_by_ean → asks by ean, the customer",
            expect: vec![get("/customer", Some("ean=2000000051420")).answer(ok_json(CUSTOMER))],
            call: call!(|c| c.get_customer_by_ean(&key(), &Ean::parse(CARD).unwrap())),
            outcome: |r| assert_eq!(r.unwrap().id, Some(customer_id())),
            in_order: &[],
        },
        Case {
            name: "get_customer_by_id → asks by id, the customer",
            expect: vec![
                get("/customer", Some("id=9f2a5c1e-0b7d-4c33-8e55-1a2b3c4d5e6f"))
                    .answer(ok_json(CUSTOMER)),
            ],
            call: call!(|c| c.get_customer_by_id(&key(), &customer_id())),
            outcome: |r| assert_eq!(r.unwrap().phone, PHONE),
            in_order: &[],
        },
        Case {
            name: "find_customer_by_card, unknown card (412 CUSTOMER_NOT_FOUND) → NotFound",
            expect: vec![get("/customer", Some("ean=2000000051420"))
                .answer(error_answer(412, CUSTOMER_NOT_FOUND))],
            call: call!(|c| c.find_customer_by_card(&key(), CARD)),
            outcome: is_not_found,
            in_order: &[],
        },
        Case {
            name: "find_customer_by_card, BonusPlus will not look it up (400) → NotFound",
            expect: vec![route("GET", "/customer").answer(error_answer(
                400,
                r#"{"code":"VALIDATION_ERROR","msg":"ean: bad"}"#,
            ))],
            call: call!(|c| c.find_customer_by_card(&key(), CARD)),
            outcome: is_not_found,
            in_order: &[],
        },
        Case {
            name: "get_customer_by_id, BonusPlus will not look it up (400) → NotFound",
            expect: vec![route("GET", "/customer").answer(error_answer(
                400,
                r#"{"code":"VALIDATION_ERROR","msg":"ean: bad"}"#,
            ))],
            call: call!(|c| c.get_customer_by_id(&key(), &customer_id())),
            outcome: is_not_found,
            in_order: &[],
        },
    ])
    .await;
}

/// A card that is not a valid EAN is never sent: NotFound without a request.
#[tokio::test]
async fn customer_by_invalid_card_table() {
    run(vec![
        Case {
            name: "find_customer_by_card \"  \" → NotFound, nothing sent",
            expect: vec![],
            call: call!(|c| c.find_customer_by_card(&key(), "  ")),
            outcome: is_not_found,
            in_order: &[],
        },
        Case {
            name: "find_customer_by_card \"2000001\" → NotFound, nothing sent",
            expect: vec![],
            call: call!(|c| c.find_customer_by_card(&key(), "2000001")),
            outcome: is_not_found,
            in_order: &[],
        },
        Case {
            name: "find_customer_by_card, wrong check digit → NotFound, nothing sent",
            expect: vec![],
            call: call!(|c| c.find_customer_by_card(&key(), "2000000051421")),
            outcome: is_not_found,
            in_order: &[],
        },
        Case {
            name: "find_customer_by_card \"777\" → NotFound, nothing sent",
            expect: vec![],
            call: call!(|c| c.find_customer_by_card(&key(), "777")),
            outcome: is_not_found,
            in_order: &[],
        },
        Case {
            name: "find_customer_by_card with dashes → NotFound, nothing sent",
            expect: vec![],
            call: call!(|c| c.find_customer_by_card(&key(), "2000-0000-5142-0")),
            outcome: is_not_found,
            in_order: &[],
        },
        Case {
            name: "find_customer_by_card, a phone number → NotFound, nothing sent",
            expect: vec![],
            call: call!(|c| c.find_customer_by_card(&key(), "79011231122")),
            outcome: is_not_found,
            in_order: &[],
        },
    ])
    .await;
}

const LIST: &str = "/customer/list";
const PETROV_20: &str = r#"{"lastName": ["Петров"], "take": 20}"#;
/// `list_customers` by the last name Петров, at most 20 rows.
const SEARCH_PETROV_20: Call<Vec<Customer>> =
    call!(|c| c.list_customers(&key(), &CustomerFilter::last_name("Петров"), 20));

/// `POST customer/list` with exactly this filter, answered so.
fn list(filter: &str, answer: ResponseTemplate) -> Vec<Expected> {
    vec![request("POST", LIST, None, Sent::json(filter)).answer(answer)]
}

fn no_rows(r: Result<Vec<Customer>, BonusPlusError>) {
    assert_eq!(r, Ok(Vec::new()));
}

#[tokio::test]
async fn customer_list_table() {
    run(vec![
        Case {
            name: "list_customers by last name → POST customer/list {lastName, take}, the rows",
            expect: list(PETROV_20, ok_json(&format!("[{CUSTOMER}]"))),
            call: SEARCH_PETROV_20,
            outcome: |r| {
                let found = r.unwrap();
                assert_eq!(found.len(), 1);
                assert_eq!(found[0].phone, PHONE);
                assert_eq!(found[0].available_bonuses, Some(dec!(12345678.91)));
            },
            in_order: &[],
        },
        Case {
            name: "list_customers by first name, answer {list, count} → the rows",
            expect: list(
                r#"{"firstName": ["Иван"], "take": 5}"#,
                ok_json(&format!(r#"{{"list": [{CUSTOMER}], "count": 1}}"#)),
            ),
            call: call!(|c| c.list_customers(&key(), &CustomerFilter::first_name("Иван"), 5)),
            outcome: |r| {
                let found = r.unwrap();
                assert_eq!(found.len(), 1);
                assert_eq!(found[0].id, Some(customer_id()));
            },
            in_order: &[],
        },
        Case {
            // A BonusPlus that ignores `take` answers every row.
            name: "list_customers take 2, five rows answered → the first two",
            expect: list(
                r#"{"lastName": ["Петров"], "take": 2}"#,
                ok_json(&format!(
                    "[{}]",
                    (1..=5)
                        .map(|n| format!(r#"{{"phone": "7901123110{n}"}}"#))
                        .collect::<Vec<_>>()
                        .join(",")
                )),
            ),
            call: call!(|c| c.list_customers(&key(), &CustomerFilter::last_name("Петров"), 2)),
            outcome: |r| {
                let found = r.unwrap();
                let phones: Vec<&str> = found.iter().map(|c| c.phone.as_str()).collect();
                assert_eq!(phones, ["79011231101", "79011231102"]);
            },
            in_order: &[],
        },
        Case {
            name: "list_customers take 5000 → take capped at 1000",
            expect: list(r#"{"lastName": ["Петров"], "take": 1000}"#, ok_json("[]")),
            call: call!(|c| c.list_customers(&key(), &CustomerFilter::last_name("Петров"), 5000)),
            outcome: |r| assert!(r.unwrap().is_empty()),
            in_order: &[],
        },
        Case {
            name: "list_customers, unknown route (404) → no rows",
            expect: list(PETROV_20, error_answer(404, UNKNOWN_ROUTE)),
            call: SEARCH_PETROV_20,
            outcome: no_rows,
            in_order: &[],
        },
        Case {
            name: "list_customers, method not supported (405) → no rows",
            expect: list(PETROV_20, error_answer(405, NOT_SUPPORTED)),
            call: SEARCH_PETROV_20,
            outcome: no_rows,
            in_order: &[],
        },
        Case {
            name: "list_customers, bare 404 → no rows",
            expect: list(PETROV_20, error_answer(404, "")),
            call: SEARCH_PETROV_20,
            outcome: no_rows,
            in_order: &[],
        },
        Case {
            name: "list_customers, filter refused (400 VALIDATION_ERROR) → no rows",
            expect: list(
                PETROV_20,
                error_answer(400, r#"{"code":"VALIDATION_ERROR","msg":"take: unknown"}"#),
            ),
            call: SEARCH_PETROV_20,
            outcome: no_rows,
            in_order: &[],
        },
        Case {
            name: "list_customers, bad key (401) → Unauthorized",
            expect: vec![route("POST", LIST)
                .answer(error_answer(401, r#"{"code":"UNAUTHORIZED","msg":"-"}"#))],
            call: SEARCH_PETROV_20,
            outcome: is_unauthorized,
            in_order: &[],
        },
        Case {
            name: "list_customers, outage (503) → a retryable error after one retry",
            expect: vec![route("POST", LIST)
                .answer(ResponseTemplate::new(503))
                .times(2)],
            call: SEARCH_PETROV_20,
            outcome: |r| {
                let err = r.unwrap_err();
                assert!(err.is_retryable(), "{err:?}");
            },
            in_order: &[],
        },
        Case {
            name: "list_customers, empty filter → no rows, nothing sent",
            expect: vec![],
            call: call!(|c| c.list_customers(&key(), &CustomerFilter::default(), 20)),
            outcome: no_rows,
            in_order: &[],
        },
        Case {
            name: "list_customers, blank last name → no rows, nothing sent",
            expect: vec![],
            call: call!(|c| c.list_customers(&key(), &CustomerFilter::last_name("  "), 20)),
            outcome: no_rows,
            in_order: &[],
        },
        Case {
            name: "list_customers, limit 0 → no rows, nothing sent",
            expect: vec![],
            call: call!(|c| c.list_customers(&key(), &CustomerFilter::last_name("Петров"), 0)),
            outcome: no_rows,
            in_order: &[],
        },
    ])
    .await;
}

pub(super) fn new_customer() -> NewCustomer {
    let mut customer = NewCustomer::new(phone());
    customer.first_name = Some("Иван".into());
    customer.last_name = Some("Петров".into());
    customer.sex = Some(Sex::Female);
    customer.birth_day = Some(time::macros::date!(1990 - 05 - 07));
    customer.ean = Some(Ean::parse(CARD).unwrap());
    customer
}

fn for_a_code() -> NewCustomer {
    let mut customer = NewCustomer::new(phone());
    customer.store = Some("Магазин 1".into());
    customer.no_reg_notification = true;
    customer
}

#[tokio::test]
async fn customer_create_table() {
    run(vec![
        Case {
            name: "create_customer → POST customer with names, sex, ДД.ММ.ГГГГ birthday and ean",
            expect: vec![request(
                "POST",
                "/customer",
                None,
                Sent::json(
                    r#"{"phone": "79011231122", "fn": "Иван", "ln": "Петров", "sex": 2,
                        "birthDay": "07.05.1990", "ean": "2000000051420"}"#,
                ),
            )
            .answer(ok_json(CUSTOMER))],
            call: call!(|c| c.create_customer(&key(), &new_customer())),
            outcome: |r| assert_eq!(r.unwrap().phone, PHONE),
            in_order: &[],
        },
        Case {
            name: "create_customer for a code → POST customer with store and noRegNotification",
            expect: vec![request(
                "POST",
                "/customer",
                None,
                Sent::json(
                    r#"{"phone": "79011231122", "store": "Магазин 1", "noRegNotification": true}"#,
                ),
            )
            .answer(ok_json(CUSTOMER))],
            call: call!(|c| c.create_customer(&key(), &for_a_code())),
            outcome: |r| {
                r.unwrap();
            },
            in_order: &[],
        },
    ])
    .await;
}

pub(super) fn patch() -> CustomerPatch {
    CustomerPatch {
        last_name: Some("Сидорова".into()),
        birthday: Some(time::macros::date!(1985 - 02 - 01)),
        email: Some("new@example.com".into()),
        card_number: Some(Ean::parse(CARD).unwrap()),
        sex: Some(Sex::Female),
        ..CustomerPatch::default()
    }
}

fn small_card() -> CustomerPatch {
    CustomerPatch {
        card_number: Some(Ean::parse("12345670").unwrap()),
        ..CustomerPatch::default()
    }
}

#[tokio::test]
async fn customer_update_table() {
    run::<CustomerUpdate>(vec![
        Case {
            // The EAN-13 does not fit PatchCustomer.cardNumber (Int32): it is withheld, not sent.
            name: "update_customer → PATCH only the fields given, an overflowing card withheld",
            expect: vec![request(
                "PATCH",
                "/customer/79011231122",
                None,
                Sent::json(
                    r#"{"ln": "Сидорова", "birthday": "01.02.1985", "email": "new@example.com"}"#,
                ),
            )
            .answer(ok_json(CUSTOMER))],
            call: call!(|c| c.update_customer(&key(), &phone(), &patch())),
            outcome: |r| {
                let update = r.unwrap();
                assert_eq!(update.customer.available_bonuses, Some(dec!(12345678.91)));
                assert_eq!(update.withheld, [Withheld::Card(Ean::parse(CARD).unwrap())]);
            },
            in_order: &["PATCH /customer/79011231122"],
        },
        Case {
            name:
                "update_customer, a card fitting an Int32 → PATCH {cardNumber: int}, none withheld",
            expect: vec![request(
                "PATCH",
                "/customer/79011231122",
                None,
                Sent::json(r#"{"cardNumber": 12345670}"#),
            )
            .answer(ok_json(CUSTOMER))],
            call: call!(|c| c.update_customer(&key(), &phone(), &small_card())),
            outcome: |r| assert!(r.unwrap().withheld.is_empty()),
            in_order: &[],
        },
    ])
    .await;
}
