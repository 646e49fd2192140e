//! `POST customer`, `PATCH`/`PUT customer/{phoneNumber}` and `POST customer/list`.

use bonusplus_emulator::{ListShape, NameMatch, NewCustomer, Person, TenantRules};
use reqwest::{Method, StatusCode};
use rust_decimal_macros::dec;
use serde_json::{json, Value};

use crate::helpers::*;

#[tokio::test]
async fn create_as_documented() {
    let ctx = Ctx::new().await;
    let body = json!({
        "phone": PHONE, "fn": "Иван", "ln": "Петров", "mn": "Сергеевич", "sex": 1,
        "email": "i@example.com", "birthDay": "17.05.1990", "ean": "2000000051420",
        "regBonus": 100.50, "card": "Золотая", "store": STORE, "noRegNotification": true,
        "desc": "VIP", "address": "Москва", "cashierId": 3, "disablePromo": false
    });
    let (status, created) = ctx.call(Method::POST, "customer", Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(created["phone"], PHONE);
    assert_eq!(created["discountCardNumber"], "2000000051420");
    assert_eq!(created["discountCardName"], "Золотая");
    assert_eq!(created["availableBonuses"].to_string(), "100.50");
    assert_eq!(
        created["person"],
        json!({"fn": "Иван", "ln": "Петров", "mn": "Сергеевич", "sex": 1,
               "email": "i@example.com", "birthDay": "1990-05-17T00:00:00"})
    );
    assert!(ctx.emu.messages(KEY, PHONE).is_empty(), "noRegNotification");

    let again = ctx
        .call(Method::POST, "customer", Some(json!({"phone": PHONE})))
        .await;
    assert_error(
        &again,
        StatusCode::PRECONDITION_FAILED,
        "CUSTOMER_ALREADY_EXIST",
    );

    // Only the phone is required; a card is assigned; a registration notice goes out.
    let other = "79022223344";
    let (status, plain) = ctx
        .call(Method::POST, "customer", Some(json!({ "phone": other })))
        .await;
    assert_eq!(status, StatusCode::OK, "{plain}");
    assert_eq!(plain["discountCardNumber"], "2000000000015");
    assert_eq!(plain["discountCardName"], "Базовая");
    assert_eq!(plain["person"], json!({}));
    let notices = ctx.emu.messages(KEY, other);
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].kind, "registration");
    assert_eq!(ctx.emu.last_message(KEY, other), None);
}

#[tokio::test]
async fn create_refuses_what_is_not_documented() {
    let ctx = Ctx::new().await;
    ctx.emu.add_customer_with(
        KEY,
        NewCustomer {
            discount_card_number: Some("2000000051420".into()),
            ..NewCustomer::new("79022223344", dec!(0))
        },
    );
    for (body, field) in [
        (
            json!({"phone": PHONE, "birthDay": "1990-05-17"}),
            "birthDay",
        ),
        (
            json!({"phone": PHONE, "birthDay": "31.02.1990"}),
            "birthDay",
        ),
        (json!({"phone": PHONE, "ean": "2000000051421"}), "ean"),
        (json!({"phone": PHONE, "ean": "12345"}), "ean"),
        (json!({"phone": PHONE, "sex": 3}), "sex"),
        (json!({"phone": PHONE, "email": "nope"}), "email"),
        (json!({"phone": PHONE, "regBonus": "5"}), "regBonus"),
        (json!({"phone": "+7901"}), "phone"),
        (json!({"fn": "no phone"}), "phone"),
    ] {
        let answer = ctx.call(Method::POST, "customer", Some(body.clone())).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "VALIDATION_ERROR");
        let msg = answer.1["msg"].as_str().unwrap();
        assert!(msg.contains(field), "{body}: «{msg}» does not name {field}");
    }
    let taken = ctx
        .call(
            Method::POST,
            "customer",
            Some(json!({"phone": PHONE, "ean": "2000000051420"})),
        )
        .await;
    assert_error(&taken, StatusCode::PRECONDITION_FAILED, "VALIDATION_ERROR");
    let store = ctx
        .call(
            Method::POST,
            "customer",
            Some(json!({"phone": PHONE, "store": "Склад 9"})),
        )
        .await;
    assert_error(&store, StatusCode::PRECONDITION_FAILED, "STORE_NOT_FOUND");
    assert!(ctx.emu.customer(KEY, PHONE).is_none());
}

fn seed_ivan(ctx: &Ctx) {
    ctx.emu.add_customer_with(
        KEY,
        NewCustomer {
            person: Person {
                first_name: Some("Иван".into()),
                last_name: Some("Петров".into()),
                sex: Some(1),
                email: Some("i@example.com".into()),
                birth_day: Some("1990-05-17".into()),
                ..Person::default()
            },
            ..NewCustomer::new(PHONE, dec!(10))
        },
    );
}

#[tokio::test]
async fn patch_changes_only_what_was_sent() {
    let ctx = Ctx::new().await;
    seed_ivan(&ctx);
    let path = format!("customer/{PHONE}");
    let (status, patched) = ctx
        .call(
            Method::PATCH,
            &path,
            // `sex` is not a PatchCustomer field: ignored, as ASP.NET ignores unknown fields
            Some(json!({"ln": "Сидоров", "birthday": "01.02.1985", "sex": 2,
                        "cardNumber": 96385074, "newCard": "Серебряная", "desc": "VIP"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(
        patched["person"],
        json!({"fn": "Иван", "ln": "Сидоров", "sex": 1, "email": "i@example.com",
               "birthDay": "1985-02-01T00:00:00"})
    );
    assert_eq!(patched["discountCardNumber"], "96385074");
    assert_eq!(patched["discountCardName"], "Серебряная");
    assert_eq!(patched["desc"], "VIP");
    let (status, _) = ctx.call(Method::GET, "customer?ean=96385074", None).await;
    assert_eq!(status, StatusCode::OK);

    // A new phone moves the customer, card and all.
    let new_phone = "79033334455";
    let (status, moved) = ctx
        .call(Method::PATCH, &path, Some(json!({ "newPhone": new_phone })))
        .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["phone"], new_phone);
    assert!(ctx.emu.customer(KEY, PHONE).is_none());
    let (status, found) = ctx.call(Method::GET, "customer?ean=96385074", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(found["phone"], new_phone);
    assert_eq!(found["id"], moved["id"]);

    for (body, field) in [
        (json!({"birthday": "1985-02-01"}), "birthday"),
        // The card is an Int32, as documented: never a string, never an EAN-13.
        (json!({"cardNumber": "96385074"}), "cardNumber"),
        (json!({"cardNumber": 2000000051420_i64}), "cardNumber"),
        (json!({"newPhone": "123"}), "newPhone"),
        (json!({"email": "nope"}), "email"),
    ] {
        let answer = ctx
            .call(Method::PATCH, &format!("customer/{new_phone}"), Some(body))
            .await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "VALIDATION_ERROR");
        assert!(answer.1["msg"].as_str().unwrap().contains(field));
    }
    let unknown = ctx
        .call(Method::PATCH, &path, Some(json!({"fn": "Пётр"})))
        .await;
    assert_error(
        &unknown,
        StatusCode::PRECONDITION_FAILED,
        "CUSTOMER_NOT_FOUND",
    );
}

#[tokio::test]
async fn put_is_a_full_replace_that_empties_every_field_not_sent() {
    let ctx = Ctx::new().await;
    seed_ivan(&ctx);
    let path = format!("customer/{PHONE}");
    let (status, _) = ctx
        .call(
            Method::PATCH,
            &path,
            Some(json!({"desc": "VIP", "address": "Ленина, 1", "cardNumber": 96385074})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, replaced) = ctx
        .call(
            Method::PUT,
            &path,
            Some(json!({"fn": "Пётр", "birthDay": "03.04.1970", "sex": 1,
                        "profileVkontakte": "vk.com/petr"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    assert_eq!(
        replaced["person"],
        json!({"fn": "Пётр", "sex": 1, "birthDay": "1970-04-03T00:00:00"})
    );
    assert_eq!(replaced["profileVkontakte"], "vk.com/petr");
    // Not sent: emptied — notes, address, the card and its status name.
    for member in ["desc", "address", "discountCardNumber"] {
        assert!(replaced.get(member).is_none(), "{member}: {replaced}");
    }
    assert_eq!(replaced["discountCardName"], "");
    let snapshot = ctx.emu.customer(KEY, PHONE).unwrap();
    assert_eq!(snapshot.person.last_name, None);
    assert_eq!(snapshot.discount_card_number, None);
    assert_eq!(snapshot.balance, dec!(10));
    let (status, _) = ctx.call(Method::GET, "customer?ean=96385074", None).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    let (status, carded) = ctx
        .call(Method::PUT, &path, Some(json!({"newCardNumber": 96385074})))
        .await;
    assert_eq!(status, StatusCode::OK, "{carded}");
    assert_eq!(carded["discountCardNumber"], "96385074");
    let unknown = ctx
        .call(Method::PUT, "customer/79000000000", Some(json!({})))
        .await;
    assert_error(
        &unknown,
        StatusCode::PRECONDITION_FAILED,
        "CUSTOMER_NOT_FOUND",
    );
    for bad in [
        json!({"birthDay": "1970-04-03"}),
        json!({"newCardNumber": "96385074"}),
        json!({"newCardNumber": 2000000051420_i64}),
    ] {
        let answer = ctx.call(Method::PUT, &path, Some(bad)).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "VALIDATION_ERROR");
    }
}

fn seed_names(ctx: &Ctx) {
    for (phone, first, last, card) in [
        ("79011110001", "Иван", "Петров", "2000000051420"),
        ("79011110002", "Анна", "Петрова", "96385074"),
        ("79011110003", "Пётр", "Иванов", "4006381333931"),
        ("79011110004", "Иван", "ПЕТРОВ", "2000000000015"),
    ] {
        ctx.emu.add_customer_with(
            KEY,
            NewCustomer {
                person: Person {
                    first_name: Some(first.into()),
                    last_name: Some(last.into()),
                    ..Person::default()
                },
                discount_card_number: Some(card.into()),
                ..NewCustomer::new(phone, dec!(1))
            },
        );
    }
}

fn phones(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap_or_else(|| panic!("not an array: {list}"))
        .iter()
        .map(|c| c["phone"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn list_filters_case_insensitively_and_exactly() {
    let ctx = Ctx::new().await;
    seed_names(&ctx);
    let list = |filter: Value| ctx.call(Method::POST, "customer/list", Some(filter));

    let (status, found) = list(json!({"lastName": ["петров"]})).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(phones(&found), ["79011110001", "79011110004"]);
    assert_eq!(found[0]["person"]["fn"], "Иван");
    assert!(found[0]["id"].is_string());

    let (_, found) = list(json!({"lastName": ["Петров", "Иванов"], "firstName": ["пётр"]})).await;
    assert_eq!(phones(&found), ["79011110003"]);
    let (_, found) = list(json!({"cardNumber": ["96385074"]})).await;
    assert_eq!(phones(&found), ["79011110002"]);
    let (_, found) = list(json!({"phone": ["79011110004", "79000000000"]})).await;
    assert_eq!(phones(&found), ["79011110004"]);
    let (_, found) = list(json!({"lastName": ["Петр"]})).await;
    assert_eq!(phones(&found), Vec::<&str>::new());
    let (_, found) = list(json!({})).await;
    assert_eq!(found.as_array().unwrap().len(), 4);
    let (_, found) = list(json!({"skip": 1, "take": 2, "sex": [1], "card": [1]})).await;
    assert_eq!(phones(&found), ["79011110002", "79011110003"]);

    let bad = list(json!({"lastName": "Петров"})).await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "VALIDATION_ERROR");
}

#[tokio::test]
async fn list_answers_at_most_1000() {
    let ctx = Ctx::new().await;
    for at in 0..1005 {
        ctx.emu.add_customer(KEY, &format!("7900{at:07}"), dec!(0));
    }
    let (_, found) = ctx
        .call(Method::POST, "customer/list", Some(json!({"take": 5000})))
        .await;
    assert_eq!(found.as_array().unwrap().len(), 1000);
}

#[tokio::test]
async fn list_shape_and_matching_follow_the_rules() {
    let rules = TenantRules {
        customer_list_shape: ListShape::Object,
        customer_list_match: NameMatch::Prefix,
        ..TenantRules::default()
    };
    let ctx = Ctx::with_rules(rules).await;
    seed_names(&ctx);
    let (status, found) = ctx
        .call(
            Method::POST,
            "customer/list",
            Some(json!({"lastName": ["петр"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(found["count"], 3);
    assert_eq!(
        phones(&found["list"]),
        ["79011110001", "79011110002", "79011110004"]
    );
}
