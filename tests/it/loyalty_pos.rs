//! The LoyaltyAPI played like a POS, on both databases, against the BonusPlus emulator.

use bonusplus_emulator::{FailureMode, NewCustomer, Person};
use serde_json::{json, Value};

use crate::support::pos::{agent, dec, decimal_at, position, retail_store, Options, Pos};
use crate::support::TestDb;

crate::on_both_backends!(
    customer_flow_search_create_detail,
    receipt_flow_recalc_sell_return,
    verification_codes,
    errors_in_moysklad_format,
    a_sale_is_answered_at_commit_and_booked_right_after,
);

const PHONE: &str = "79011231122";

fn seed_customer(pos: &Pos, phone: &str, balance: &str) {
    let mut customer = NewCustomer::new(phone, dec(balance));
    customer.person = Person {
        first_name: Some("Иван".into()),
        last_name: Some("Петров".into()),
        ..Person::default()
    };
    pos.emu.add_customer_with(&pos.key, customer);
}

async fn customer_flow_search_create_detail(db: TestDb) {
    let pos = Pos::start(db, Options::default()).await;
    seed_customer(&pos, PHONE, "500");

    // Three till formats find the same customer, with the same GUID.
    let mut ids = Vec::new();
    for search in ["%2B7%20(901)%20123-11-22", "89011231122", "9011231122"] {
        let (status, body) = pos
            .get(&format!(
                "/counterparty?search={search}&retailStoreId={}",
                crate::support::pos::POS
            ))
            .await;
        assert_eq!(status, 200, "{body}");
        let rows = body["rows"].as_array().unwrap();
        assert_eq!(rows.len(), 1, "{body}");
        assert_eq!(rows[0]["name"], "Петров Иван");
        assert_eq!(rows[0]["phone"], "+79011231122");
        ids.push(rows[0]["id"].as_str().unwrap().to_owned());
    }
    assert!(ids.iter().all(|id| id == &ids[0]));
    // Nothing matches: empty rows, not an error.
    for search in ["Иванов", "79990001122"] {
        let (status, body) = pos
            .get(&format!("/counterparty?search={search}&retailStoreId=x"))
            .await;
        assert_eq!(
            (status, body["rows"].as_array().map(Vec::len)),
            (200, Some(0)),
            "{search}: {body}"
        );
    }

    // Registration of a new customer, linked to MoySklad's counterparty id.
    let ms_id = "11111111-2222-3333-4444-555555555555";
    let (status, body) = pos
        .post(
            "/counterparty",
            json!({
                "retailStore": retail_store(),
                "meta": {"href": "https://x/counterparty/1", "id": ms_id},
                "name": "Сидорова Анна", "phone": "8 (903) 555-00-00", "statusCheck": "UNCHECKED",
            }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let created = pos
        .emu
        .customer(&pos.key, "79035550000")
        .expect("created in BonusPlus");
    assert_eq!(created.person.first_name.as_deref(), Some("Анна"));
    // Registering the same phone again links and updates instead of failing.
    let (status, _) = pos
        .post("/counterparty", json!({"retailStore": retail_store(), "meta": {"href": "h", "id": ms_id}, "name": "Сидорова Анна Павловна", "phone": "+79035550000"}))
        .await;
    assert_eq!(status, 201);
    assert_eq!(
        pos.emu
            .customer(&pos.key, "79035550000")
            .unwrap()
            .person
            .middle_name
            .as_deref(),
        Some("Павловна")
    );

    // The balance by MoySklad's id (our mapping), and by the phone fallback.
    let (status, body) = pos
        .post(
            "/counterparty/detail",
            json!({"retailStore": retail_store(), "meta": {"href": "h", "id": ms_id}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        decimal_at(&body["bonusProgram"]["agentBonusBalance"]),
        dec("0")
    );
    let (status, body) = pos
        .post("/counterparty/detail", json!({"retailStore": retail_store(), "meta": {"href": "h", "id": "unknown-id"}, "phone": "+7 901 123 11 22"}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        decimal_at(&body["bonusProgram"]["agentBonusBalance"]),
        dec("500")
    );
    // Search now knows MoySklad's id of the linked customer.
    let (_, body) = pos
        .get("/counterparty?search=89035550000&retailStoreId=x")
        .await;
    assert_eq!(body["rows"][0]["msId"], ms_id);
}

fn receipt(kind: &str, preferred: Option<&str>) -> Value {
    let mut body = json!({
        "retailStore": retail_store(),
        "agent": agent("c0ffee00-0000-0000-0000-000000000001", "+79011231122"),
        "positions": [
            position("prod-milk", "3", "100.00"),
            position("prod-bread", "1", "50.00"),
        ],
        "bonusProgram": {"transactionType": kind},
    });
    if let Some(p) = preferred {
        body["preferredBonusToSpend"] = crate::support::pos::num(p);
    }
    body
}

fn paid_total(body: &Value) -> rust_decimal::Decimal {
    body["positions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (decimal_at(&p["discountedPrice"]) * decimal_at(&p["quantity"])).round_dp(2))
        .sum()
}

async fn receipt_flow_recalc_sell_return(db: TestDb) {
    let pos = Pos::start(db, Options::default()).await;
    seed_customer(&pos, PHONE, "500");

    // EARNING: no discount, 5 % back.
    let (status, body) = pos
        .post("/retaildemand/recalc", receipt("EARNING", None))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(paid_total(&body), dec("350.00"));
    assert_eq!(
        decimal_at(&body["bonusProgram"]["bonusValueToEarn"]),
        dec("17.50")
    );
    assert_eq!(
        decimal_at(&body["bonusProgram"]["bonusValueToSpend"]),
        dec("0")
    );
    assert_eq!(
        decimal_at(&body["bonusProgram"]["agentBonusBalance"]),
        dec("500")
    );
    assert_eq!(body["agent"]["phone"], "+79011231122", "agent echoed");

    // SPENDING with no preference: the maximum (30 % of 350), exact to the kopeck, reserved.
    let (status, body) = pos
        .post("/retaildemand/recalc", receipt("SPENDING", None))
        .await;
    assert_eq!(status, 200, "{body}");
    let spend = decimal_at(&body["bonusProgram"]["bonusValueToSpend"]);
    assert_eq!(spend, dec("105"));
    assert_eq!(paid_total(&body), dec("350.00") - spend);
    assert_eq!(
        decimal_at(&body["bonusProgram"]["paidByBonusPoints"]),
        spend
    );
    assert_eq!(body["needVerification"], false);
    pos.wait_reserved(PHONE, dec("105")).await;

    // SPENDING with a preference: the reserve is adjusted (old released, new held).
    let (status, body) = pos
        .post("/retaildemand/recalc", receipt("SPENDING", Some("10")))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        decimal_at(&body["bonusProgram"]["bonusValueToSpend"]),
        dec("10")
    );
    assert_eq!(
        decimal_at(&body["bonusProgram"]["agentBonusBalance"]),
        dec("500"),
        "our own reserve does not lower the balance shown"
    );
    assert_eq!(paid_total(&body), dec("340.00"));
    pos.wait_reserved(PHONE, dec("10")).await;
    // A preference above the maximum is capped.
    let (_, body) = pos
        .post("/retaildemand/recalc", receipt("SPENDING", Some("1000")))
        .await;
    assert_eq!(
        decimal_at(&body["bonusProgram"]["bonusValueToSpend"]),
        dec("105")
    );
    let (_, _) = pos
        .post("/retaildemand/recalc", receipt("SPENDING", Some("10")))
        .await;
    pos.wait_reserved(PHONE, dec("10")).await;

    // The sale: reserve released, booked once with BonusPlus.
    let sale_id = "5a1e0000-0000-0000-0000-000000000001";
    let sale = json!({
        "retailStore": retail_store(),
        "meta": {"href": "h", "id": sale_id},
        "name": "00001", "moment": "2026-11-23 10:00:00",
        "agent": agent("c0ffee00-0000-0000-0000-000000000001", "+79011231122"),
        "positions": [position("prod-milk", "3", "100.00"), position("prod-bread", "1", "50.00")],
        "bonusProgram": {"bonusValueToSpend": 10, "bonusValueToEarn": 17},
        "cashSum": 340, "noCashSum": 0,
    });
    let (status, body) = pos.post("/retaildemand", sale.clone()).await;
    assert_eq!(status, 201, "{body}");
    let customer = pos.emu.customer(&pos.key, PHONE).unwrap();
    // 500 − 10 spent + earned: milk 5 % of (300 − 8.57) = 14.57, bread 5 % of (50 − 1.43) = 2.43.
    assert_eq!(customer.balance, dec("507.00"));
    assert_eq!(customer.reserved, dec("0"));
    assert_eq!(pos.emu.count("POST", "/retail"), 1);

    // Delivered again: booked once.
    let (status, _) = pos.post("/retaildemand", sale).await;
    assert_eq!(status, 201);
    assert_eq!(pos.emu.count("POST", "/retail"), 1);
    assert_eq!(
        pos.emu.customer(&pos.key, PHONE).unwrap().balance,
        dec("507.00")
    );

    // Return one of the three milks: a third of the line's earn (4.86) and spend (2.86) reversed.
    let sales_return = json!({
        "retailStore": retail_store(),
        "meta": {"href": "h", "id": "4e70e000-0000-0000-0000-000000000001"},
        "name": "R-1", "moment": "2026-11-23 11:00:00",
        "demand": {"meta": {"href": "h", "id": sale_id}},
        "agent": {"id": "c0ffee00-0000-0000-0000-000000000001", "href": "h"},
        "positions": [position("prod-milk", "1", "100.00")],
        "cashSum": 96, "noCashSum": 0,
    });
    let (status, body) = pos.post("/retailsalesreturn", sales_return.clone()).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        pos.emu.customer(&pos.key, PHONE).unwrap().balance,
        dec("505.00")
    );
    let (status, _) = pos.post("/retailsalesreturn", sales_return).await;
    assert_eq!(status, 201);
    assert_eq!(
        pos.emu.count("PUT", "/retail/back"),
        1,
        "the same return is reversed once"
    );

    // A return of a sale BonusPlus never had: acknowledged, nothing reversed.
    let (status, _) = pos
        .post("/retailsalesreturn", json!({"retailStore": retail_store(), "meta": {"href": "h", "id": "r-unknown"}, "demand": {"meta": {"href": "h", "id": "no-such-sale"}}, "positions": [position("prod-milk", "1", "100.00")]}))
        .await;
    assert_eq!(status, 201);
    assert_eq!(pos.emu.count("PUT", "/retail/back"), 1);

    // An anonymous sale is acknowledged without BonusPlus.
    let (status, _) = pos
        .post("/retaildemand", json!({"retailStore": retail_store(), "meta": {"href": "h", "id": "anon-1"}, "positions": [position("prod-milk", "1", "100.00")]}))
        .await;
    assert_eq!(status, 201);
    assert_eq!(pos.emu.count("POST", "/retail"), 1);
}

/// Codes in mode «BonusPlus's code» (`sendCode`) with a BonusPlus that reveals them; the default
/// mode, the bridge's own code, is tested in `verification_codes.rs`.
async fn verification_codes(db: TestDb) {
    let pos = Pos::start(
        db,
        Options {
            register_requires_code: true,
            spend_requires_code: true,
            reveal_codes: true,
            code_delivery: Some("bonusplus"),
            ..Options::default()
        },
    )
    .await;
    seed_customer(&pos, PHONE, "500");
    let new_customer = json!({"retailStore": retail_store(), "meta": {"href": "h", "id": "ms-new"}, "name": "Новый", "phone": "+79990001111", "statusCheck": "UNCHECKED"});
    let (status, body) = pos.post("/counterparty", new_customer.clone()).await;
    assert_eq!(status, 412, "{body}");
    assert_eq!(body["errors"][0]["code"], 28001);

    // The code for a registration comes from BonusPlus... but BonusPlus texts only known customers.
    seed_customer(&pos, "79990001111", "0");
    let verify = json!({"retailStore": retail_store(), "meta": {"href": "https://x/api/posap/1.0/entity/counterparty/syncid/abc"}, "phone": "+79990001111"});
    let (status, body) = pos.post("/counterparty/verify", verify.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["verificationCode"].as_str(),
        pos.emu.last_code(&pos.key, "79990001111").as_deref()
    );
    assert!(body["messageForCashier"].as_str().unwrap().chars().count() <= 140);
    // Asked again inside timeForRepeat: the same code, no second SMS.
    let (_, again) = pos.post("/counterparty/verify", verify).await;
    assert_eq!(again["verificationCode"], body["verificationCode"]);
    assert_eq!(pos.emu.codes_sent(&pos.key, "79990001111"), 1);
    let mut checked = new_customer;
    checked["statusCheck"] = json!("CHECKED");
    assert_eq!(pos.post("/counterparty", checked).await.0, 201);

    // Spending needs a code: recalc says so, /retaildemand/verify gives it.
    let (_, body) = pos
        .post("/retaildemand/recalc", receipt("SPENDING", Some("10")))
        .await;
    assert_eq!(body["needVerification"], true);
    let (status, body) = pos
        .post("/retaildemand/verify", json!({"retailStore": retail_store(), "counterpartyId": "unknown", "phone": "89011231122"}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["verificationCode"].as_str(),
        pos.emu.last_code(&pos.key, PHONE).as_deref()
    );
}

async fn errors_in_moysklad_format(db: TestDb) {
    let pos = Pos::start(db, Options::default()).await;
    seed_customer(&pos, PHONE, "500");
    let assert_error = |status: u16, body: &Value, expected_status: u16, title: &str| {
        assert_eq!(status, expected_status, "{body}");
        let error = &body["errors"][0];
        assert!(
            error["error"].as_str().unwrap().starts_with(title),
            "{body}"
        );
        assert!(
            error["code"].is_number() && error["error_message"].is_string(),
            "{body}"
        );
    };

    // No token / a wrong token.
    let response = pos
        .app
        .http
        .get(pos.app.url("/loyalty/counterparty?search=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["parameter"],
        "Lognex-Discount-API-Auth-Token"
    );
    let response = pos
        .app
        .http
        .get(pos.app.url("/loyalty/counterparty?search=1"))
        .header("Lognex-Discount-API-Auth-Token", "wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);

    let (status, body) = pos.post("/counterparty/detail", json!({"retailStore": retail_store(), "meta": {"href": "h", "id": "x"}, "phone": "79990009999"})).await;
    assert_error(status, &body, 404, "Покупатель не найден");
    let (status, body) = pos
        .post(
            "/counterparty/detail",
            json!({"retailStore": retail_store(), "meta": {"href": "h", "id": "x"}, "phone": "12"}),
        )
        .await;
    assert_error(status, &body, 400, "Некорректный номер телефона");
    assert_eq!(body["errors"][0]["parameter"], "phone");
    let (status, body) = pos
        .post(
            "/counterparty",
            json!({"retailStore": retail_store(), "meta": {"href": "h", "id": "x"}}),
        )
        .await;
    assert_error(status, &body, 412, "Не указан телефон покупателя");
    assert_eq!(body["errors"][0]["parameter"], "phone");

    let mut empty = receipt("EARNING", None);
    empty["positions"] = json!([]);
    let (status, body) = pos.post("/retaildemand/recalc", empty).await;
    assert_error(status, &body, 400, "Некорректный запрос");
    assert_eq!(body["errors"][0]["parameter"], "positions");
    let mut negative = receipt("EARNING", None);
    negative["positions"][1]["quantity"] = json!(-1);
    let (status, body) = pos.post("/retaildemand/recalc", negative).await;
    assert_error(status, &body, 400, "Некорректный запрос");
    let mut wrong_type = receipt("EARNING", None);
    wrong_type["positions"][0]["price"] = json!("сто");
    let (status, body) = pos.post("/retaildemand/recalc", wrong_type).await;
    assert_error(status, &body, 400, "Некорректный запрос");
    assert_eq!(body["errors"][0]["parameter"], "positions[0].price");
    let mut unmapped = receipt("EARNING", None);
    unmapped["retailStore"]["meta"]["id"] = json!("other-pos");
    let (status, body) = pos.post("/retaildemand/recalc", unmapped).await;
    assert_error(status, &body, 400, "Точка продаж не сопоставлена");

    // BonusPlus down: a clear 502, quickly.
    pos.emu.fail_next(2, FailureMode::Status500);
    let (status, body) = pos.post("/counterparty/detail", json!({"retailStore": retail_store(), "meta": {"href": "h", "id": "x"}, "phone": PHONE})).await;
    assert_error(status, &body, 502, "Сервис БонусПлюс недоступен, повторите");
    // BonusPlus rejects the key.
    pos.emu.reject_key(&pos.key);
    let (status, body) = pos.post("/counterparty/detail", json!({"retailStore": retail_store(), "meta": {"href": "h", "id": "x"}, "phone": PHONE})).await;
    assert_error(status, &body, 502, "БонусПлюс не принял ключ API");
    pos.emu.accept_key(&pos.key);

    // A certificate BonusPlus does not know is answered INVALID, never an error; no number at all
    // is bad input naming the parameter.
    let (status, body) = pos.get("/giftcard?name=123&retailStoreId=x").await;
    assert_eq!(
        (status, &body["status"]),
        (200, &json!("INVALID")),
        "{body}"
    );
    let (status, body) = pos.get("/giftcard?name=%20&retailStoreId=x").await;
    assert_error(status, &body, 400, "Некорректный запрос");
    assert_eq!(body["errors"][0]["parameter"], "name");
    let (status, body) = pos.post("/retaildemand", json!({"retailStore": retail_store(), "meta": {"href": "h", "id": ""}, "positions": []})).await;
    assert_error(status, &body, 400, "Не указан идентификатор чека");
    let (status, body) = pos
        .call(reqwest::Method::POST, "/retaildemand/recalc", None)
        .await;
    assert_eq!(status, 415, "{body}");
}

/// The till is answered as soon as the sale is recorded: the cashier never waits for BonusPlus,
/// which books the sale (releasing the bonuses held for it first) right after the answer.
async fn a_sale_is_answered_at_commit_and_booked_right_after(db: TestDb) {
    const SLOW: std::time::Duration = std::time::Duration::from_millis(400);
    let pos = Pos::start(db, Options::default()).await;
    seed_customer(&pos, PHONE, "500");
    let receipt = json!({
        "retailStore": retail_store(), "agent": agent("c1", PHONE),
        "positions": [position("prod-milk", "2", "100.00")],
        "bonusProgram": {"transactionType": "SPENDING"}, "preferredBonusToSpend": 30,
    });
    assert_eq!(pos.post("/retaildemand/recalc", receipt).await.0, 200);
    pos.wait_reserved(PHONE, dec("30")).await;
    pos.emu.set_latency(SLOW);

    let started = std::time::Instant::now();
    let response = pos
        .app
        .http
        .post(pos.app.url("/loyalty/retaildemand"))
        .header("Lognex-Discount-API-Auth-Token", &pos.token)
        .json(&json!({
            "retailStore": retail_store(), "meta": {"href": "h", "id": "sale-at-commit"},
            "agent": agent("c1", PHONE), "positions": [position("prod-milk", "2", "100.00")],
            "bonusProgram": {"bonusValueToSpend": 30},
        }))
        .send()
        .await
        .unwrap();
    let answered = started.elapsed();
    assert_eq!(response.status(), 201);
    assert!(
        answered < SLOW,
        "the till waited {answered:?}, as long as a BonusPlus call"
    );

    pos.app.state.outbox.deliveries_settled().await;
    let sales = pos.emu.sales(&pos.key);
    assert_eq!(sales.len(), 1, "booked right after the answer");
    assert_eq!(sales[0].bonus_debit, dec("30"));
    let customer = pos.emu.customer(&pos.key, PHONE).unwrap();
    assert_eq!(customer.reserved, dec("0"), "the reserve was released");
    assert!(
        started.elapsed() >= 2 * SLOW,
        "release and booking are two BonusPlus calls"
    );
}
