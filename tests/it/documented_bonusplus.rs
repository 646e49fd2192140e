//! The till against a BonusPlus that answers only its documented calls (issue 14), on both
//! databases: customers found by card, name and phone; registrations in BonusPlus's documented
//! shapes; gift certificates from lookup to sale and return.

use std::time::{Duration, Instant};

use bonusbridge::store::OperationKind;
use bonusplus_emulator::{NewCertificate, NewCustomer, Person};
use serde_json::{json, Value};

use crate::support::bookings::requests_to;
use crate::support::pos::{agent, dec, decimal_at, position, retail_store, Options, Pos, POS};
use crate::support::TestDb;

crate::on_both_backends!(
    search_finds_customers_by_card_name_and_phone,
    registration_reaches_bonusplus_in_documented_shapes,
    gift_certificates_end_to_end,
);

const PHONE: &str = "79011231122";
/// A valid EAN-13 and a valid EAN-8.
const CARD_13: &str = "4006381333931";
const CARD_8: &str = "96385074";

fn seed(pos: &Pos, phone: &str, card: Option<&str>, last: &str, first: &str) {
    let mut customer = NewCustomer::new(phone, dec("500"));
    customer.discount_card_number = card.map(str::to_owned);
    customer.person = Person {
        last_name: Some(last.into()),
        first_name: Some(first.into()),
        ..Person::default()
    };
    pos.emu.add_customer_with(&pos.key, customer);
}

async fn search(pos: &Pos, text: &str) -> Vec<Value> {
    let url = format!(
        "/counterparty?search={}&retailStoreId={POS}",
        url_escape(text)
    );
    let (status, body) = pos.get(&url).await;
    assert_eq!(status, 200, "{text}: {body}");
    body["rows"].as_array().cloned().unwrap_or_default()
}

fn url_escape(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn phones(rows: &[Value]) -> Vec<&str> {
    rows.iter().map(|r| r["phone"].as_str().unwrap()).collect()
}

async fn search_finds_customers_by_card_name_and_phone(db: TestDb) {
    let pos = Pos::start(db, Options::default()).await;
    seed(&pos, PHONE, Some(CARD_13), "Петров", "Иван");
    seed(&pos, "79035550000", Some(CARD_8), "Сидорова", "Анна");

    // A card, EAN-13 and EAN-8; a phone; a last name; a first name; a full name.
    for (text, phone) in [
        (CARD_13, "+79011231122"),
        (CARD_8, "+79035550000"),
        ("+7 (901) 123-11-22", "+79011231122"),
        ("Петров", "+79011231122"),
        ("петров", "+79011231122"),
        ("Анна", "+79035550000"),
        ("Сидорова Анна", "+79035550000"),
    ] {
        let rows = search(&pos, text).await;
        assert_eq!(phones(&rows), vec![phone], "{text}");
        assert!(uuid::Uuid::parse_str(rows[0]["id"].as_str().unwrap()).is_ok());
    }
    // The GUID is the same whichever way the customer was found.
    let by_card = search(&pos, CARD_13).await;
    let by_name = search(&pos, "Петров").await;
    assert_eq!(by_card[0]["id"], by_name[0]["id"]);
    assert_eq!(by_card[0]["discountCardNumber"], CARD_13);
    assert_eq!(by_card[0]["name"], "Петров Иван");
    // A last name is asked first; a first name only when no last name matched.
    pos.emu.clear_requests();
    search(&pos, "Анна").await;
    let lists: Vec<Value> = requests_to(&pos.emu, "POST", "/customer/list")
        .into_iter()
        .map(|r| r.body)
        .collect();
    assert_eq!(lists.len(), 2);
    assert_eq!(lists[0]["lastName"], json!(["Анна"]));
    assert_eq!(lists[1]["firstName"], json!(["Анна"]));
    assert!(lists.iter().all(|body| body["take"] == 20));
    assert!(search(&pos, "Иванов").await.is_empty());

    // 13 digits are both a card and an (international) phone: both asked at once, every distinct
    // customer answered — here one holds the number as a phone, another as a card.
    seed(&pos, CARD_13, None, "Номеров", "Пётр");
    pos.emu.clear_requests();
    let rows = search(&pos, CARD_13).await;
    let mut found = phones(&rows);
    found.sort_unstable();
    assert_eq!(found, vec!["+4006381333931", "+79011231122"]);
    let queries: Vec<String> = requests_to(&pos.emu, "GET", "/customer")
        .into_iter()
        .filter_map(|r| r.query)
        .collect();
    assert_eq!(queries.len(), 2, "{queries:?}");
    assert!(queries.iter().any(|q| q.starts_with("phone=")));
    assert!(queries.iter().any(|q| q.starts_with("ean=")));
    // One round trip's time, not two.
    let latency = Duration::from_millis(500);
    pos.emu.set_latency(latency);
    let started = Instant::now();
    assert_eq!(search(&pos, CARD_13).await.len(), 2);
    let took = started.elapsed();
    pos.emu.set_latency(Duration::ZERO);
    assert!(
        took >= latency && took < latency * 2 - Duration::from_millis(50),
        "both lookups ran at once: {took:?}"
    );
    // The same customer found both ways is one row.
    pos.emu.set_card(&pos.key, CARD_13, CARD_13);
    assert_eq!(phones(&search(&pos, CARD_13).await), vec!["+4006381333931"]);

    // A number with a wrong check digit is no card: never sent as `ean`.
    pos.emu.clear_requests();
    assert!(search(&pos, "96385075").await.is_empty());
    assert_eq!(pos.emu.requests().len(), 0);
}

async fn registration_reaches_bonusplus_in_documented_shapes(db: TestDb) {
    let pos = Pos::start(db, Options::default()).await;
    let (status, body) = register(
        &pos,
        json!({
            "name": "Петров Иван Сергеевич", "phone": "8 901 123-11-22",
            "birthDate": "1990-05-17 00:00:00", "discountCardNumber": CARD_13,
            "email": "ivan@example.com", "sex": "MALE",
        }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let created = last_request(&pos, "POST", "/customer");
    assert_eq!(created["birthDay"], "17.05.1990");
    assert_eq!(created["ean"], CARD_13);
    assert_eq!(created["phone"], PHONE);
    assert_eq!(
        (&created["ln"], &created["fn"], &created["mn"]),
        (&json!("Петров"), &json!("Иван"), &json!("Сергеевич"))
    );
    let customer = pos.emu.customer(&pos.key, PHONE).unwrap();
    assert_eq!(customer.person.birth_day.as_deref(), Some("1990-05-17"));
    assert_eq!(customer.discount_card_number.as_deref(), Some(CARD_13));
    // A card number that is no EAN is kept out of the request.
    let (status, _) = register(
        &pos,
        json!({"phone": "+79035550000", "discountCardNumber": "12345"}),
    )
    .await;
    assert_eq!(status, 201);
    assert!(last_request(&pos, "POST", "/customer").get("ean").is_none());

    // An existing phone: PATCH customer/{phoneNumber} with only what MoySklad sent (no empty
    // fields, no sex).
    pos.emu.clear_requests();
    let (status, body) = register(
        &pos,
        json!({
            "phone": "+7 901 123 11 22", "legalLastName": "Петрова", "email": "  ",
            "birthDate": "", "sex": "FEMALE",
        }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        last_request(&pos, "PATCH", "/customer/79011231122"),
        json!({"ln": "Петрова"})
    );
    let customer = pos.emu.customer(&pos.key, PHONE).unwrap();
    assert_eq!(customer.person.last_name.as_deref(), Some("Петрова"));
    assert_eq!(customer.person.first_name.as_deref(), Some("Иван"), "kept");
    assert_eq!(customer.person.email.as_deref(), Some("ivan@example.com"));
    // A new birthday goes as `birthday` (lower-case d), DD.MM.YYYY.
    register(
        &pos,
        json!({"phone": PHONE, "birthDate": "1991-02-03 00:00:00.000"}),
    )
    .await;
    assert_eq!(
        last_request(&pos, "PATCH", "/customer/79011231122"),
        json!({"birthday": "03.02.1991"})
    );
    // Nothing to change: nothing written.
    pos.emu.clear_requests();
    assert_eq!(register(&pos, json!({"phone": PHONE})).await.0, 201);
    assert_eq!(pos.emu.count("PATCH", "/customer/79011231122"), 0);
    // A BonusPlus without PATCH: the full replace (PUT) would erase the EAN-13 card, which its
    // Int32 `newCardNumber` cannot carry back — so nothing is written.
    pos.emu
        .refuse_route("PATCH", "/customer/{phoneNumber}", 405);
    let before = pos.emu.customer(&pos.key, PHONE).unwrap();
    assert_eq!(
        register(&pos, json!({"phone": PHONE, "legalFirstName": "Ива"}))
            .await
            .0,
        201
    );
    assert_eq!(pos.emu.count("PUT", "/customer/79011231122"), 0);
    assert_eq!(pos.emu.customer(&pos.key, PHONE).unwrap(), before);
    // With a card that fits, the customer is read and everything goes back with the change.
    assert!(pos.emu.set_card(&pos.key, PHONE, "12345670"));
    assert_eq!(
        register(&pos, json!({"phone": PHONE, "legalFirstName": "Ива"}))
            .await
            .0,
        201
    );
    let replaced = last_request(&pos, "PUT", "/customer/79011231122");
    assert_eq!(replaced["fn"], "Ива");
    assert_eq!(replaced["ln"], "Петрова", "a full edit sends every field");
    assert_eq!(replaced["newCardNumber"], 12_345_670);
    let customer = pos.emu.customer(&pos.key, PHONE).unwrap();
    assert_eq!(customer.discount_card_number.as_deref(), Some("12345670"));
    assert_eq!(customer.person.email.as_deref(), Some("ivan@example.com"));
}

/// `POST /counterparty` with `body`'s customer attributes.
async fn register(pos: &Pos, mut body: Value) -> (u16, Value) {
    body["retailStore"] = retail_store();
    body["meta"] = json!({"href": "https://x/counterparty/1", "id": "ms-1"});
    pos.post("/counterparty", body).await
}

/// The body of the last recorded BonusPlus call to `method path`.
fn last_request(pos: &Pos, method: &str, path: &str) -> Value {
    pos.emu
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.method == method && r.path == path)
        .unwrap_or_else(|| panic!("no {method} {path}"))
        .body
}

async fn gift_certificates_end_to_end(db: TestDb) {
    let pos = Pos::start(db, Options::default()).await;
    seed(&pos, PHONE, None, "Петров", "Иван");
    let mut whole = NewCertificate::new("GC-0001", dec("1000"));
    whole.expire = Some("2030-07-14T10:00:00".into());
    let whole = pos.emu.add_certificate(&pos.key, whole);
    let mut part = NewCertificate::new("GC-0002", dec("500.50"));
    part.initial_balance = Some(dec("1000"));
    let part = pos.emu.add_certificate(&pos.key, part);

    // Known certificates: status, kopecks, UTC expiry.
    let (status, card) = pos
        .get(&format!("/giftcard?name={whole}&retailStoreId={POS}"))
        .await;
    assert_eq!(status, 200, "{card}");
    assert_eq!(
        card,
        json!({"name": whole, "id": whole, "status": "CAN_BE_USED", "expireDate": "2030-07-14 10:00:00",
               "currentBalance": 100000, "initialBalance": 100000})
    );
    let (_, card) = pos
        .get(&format!("/giftcard?name={part}&retailStoreId={POS}"))
        .await;
    assert_eq!(card["status"], "PARTIALLY_REDEEMED");
    assert_eq!(card["currentBalance"], 50050);
    assert!(card.get("expireDate").is_none());
    // Unknown ones: INVALID, never an error; a printed number is never sent to BonusPlus (one
    // the app has seen is asked by its GUID: tests/it/certificates.rs).
    let unknown = uuid::Uuid::new_v4().to_string();
    for name in [unknown.as_str(), "GC-0099"] {
        let (status, card) = pos
            .get(&format!("/giftcard?name={name}&retailStoreId={POS}"))
            .await;
        assert_eq!(
            (status, &card["status"]),
            (200, &json!("INVALID")),
            "{card}"
        );
        assert_eq!(card["name"], name);
    }
    assert_eq!(pos.emu.count("GET", &format!("/certificate/{unknown}")), 1);
    assert_eq!(pos.emu.count("GET", "/certificate/GC-0099"), 0);

    // A sale paid 500.00 ₽ by certificate and 10 by bonuses: one POST retail carrying both.
    let receipt = json!({
        "retailStore": retail_store(),
        "agent": agent("c0ffee00-0000-0000-0000-000000000001", "+79011231122"),
        "positions": [position("prod-milk", "10", "100.00")],
        "bonusProgram": {"transactionType": "SPENDING"},
        "preferredBonusToSpend": 10,
    });
    assert_eq!(pos.post("/retaildemand/recalc", receipt).await.0, 200);
    pos.wait_reserved(PHONE, dec("10")).await;
    let sale_id = "5a1e0000-0000-0000-0000-00000000ce01";
    let sale = json!({
        "retailStore": retail_store(),
        "meta": {"href": "h", "id": sale_id}, "name": "00007", "moment": "2026-11-30 10:00:00",
        "agent": agent("c0ffee00-0000-0000-0000-000000000001", "+79011231122"),
        "positions": [position("prod-milk", "10", "100.00")],
        "bonusProgram": {"bonusValueToSpend": 10, "bonusValueToEarn": 49.5},
        "cashSum": 490, "noCashSum": 0,
        "giftCards": [{"id": whole, "name": "GC-0001", "paymentSum": 50000}],
    });
    pos.emu.clear_requests();
    let (status, body) = pos.post("/retaildemand", sale.clone()).await;
    assert_eq!(status, 201, "{body}");
    let booked = last_request(&pos, "POST", "/retail");
    assert_eq!(booked["giftCards"][0]["id"], whole.as_str());
    assert_eq!(booked["giftCards"][0]["paymentSum"].to_string(), "500.00");
    assert_eq!(decimal_at(&booked["bonusDebit"]), dec("10"));
    // The fresh balance comes with the sale's answer: no lookup after it.
    assert_eq!(pos.emu.count("GET", "/customer"), 0);
    assert_eq!(
        pos.emu
            .certificate(&pos.key, &whole)
            .unwrap()
            .current_balance,
        dec("500.00")
    );
    let (_, card) = pos
        .get(&format!("/giftcard?name={whole}&retailStoreId={POS}"))
        .await;
    assert_eq!(
        (&card["status"], &card["currentBalance"]),
        (&json!("PARTIALLY_REDEEMED"), &json!(50000))
    );
    let customer = pos.emu.customer(&pos.key, PHONE).unwrap();
    assert_eq!(customer.balance, dec("500") - dec("10") + dec("49.50"));
    assert_eq!(customer.reserved, dec("0"));
    // Delivered again: booked once, the certificate charged once.
    assert_eq!(pos.post("/retaildemand", sale).await.0, 201);
    assert_eq!(pos.emu.sales(&pos.key).len(), 1);
    assert_eq!(
        pos.emu
            .certificate(&pos.key, &whole)
            .unwrap()
            .current_balance,
        dec("500.00")
    );
    let account = pos.account_id().await;
    let recorded = pos
        .app
        .state
        .store
        .sale_by_ms_id::<String>(&account, sale_id)
        .await
        .unwrap()
        .unwrap();
    let payload: Value = serde_json::from_str(&recorded.payload).unwrap();
    assert_eq!(payload["gift_cards"][0]["roubles"], json!("500.00"));

    // A return reverses bonuses only: BonusPlus's return has no certificate field, so the
    // certificate keeps what it has left; returnedPurchaseId is kept with the return.
    let return_id = "4e70e000-0000-0000-0000-00000000ce01";
    let (status, _) = pos
        .post(
            "/retailsalesreturn",
            json!({"retailStore": retail_store(), "meta": {"href": "h", "id": return_id},
                   "demand": {"meta": {"href": "h", "id": sale_id}},
                   "positions": [position("prod-milk", "10", "100.00")], "cashSum": 490}),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(
        pos.emu.customer(&pos.key, PHONE).unwrap().balance,
        dec("500")
    );
    assert_eq!(
        pos.emu
            .certificate(&pos.key, &whole)
            .unwrap()
            .current_balance,
        dec("500.00")
    );
    let returned = pos
        .app
        .state
        .store
        .operation_by_key::<String>(&account, OperationKind::Return, &format!("id:{return_id}"))
        .await
        .unwrap()
        .unwrap();
    let progress: Value = serde_json::from_str(returned.response.as_deref().unwrap()).unwrap();
    let ids = pos.emu.sales(&pos.key)[0].items[0]
        .returned_purchase_ids
        .clone();
    assert_eq!(ids.len(), 1);
    assert_eq!(progress["returned_purchase_ids"]["0"], json!(ids[0]));
}
