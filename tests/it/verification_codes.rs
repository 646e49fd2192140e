//! Verification codes at the till (issue 14), on both databases: the bridge's own code texted
//! through BonusPlus's `sendMessage`, registration and spending completed with it, the repeat
//! window, the hourly cap, and the other modes (BonusPlus's own code, off).

use bonusbridge::domain::verification::{MessageRoute, CODE_WINDOW, MAX_CODES_PER_WINDOW};
use bonusbridge::store::{now_ms, CodeSlot};
use bonusplus_emulator::{FailureMode, NewCustomer, RouteWire, TenantRules};
use serde_json::{json, Value};

use crate::support::pos::{agent, dec, position, retail_store, Options, Pos};
use crate::support::TestDb;

crate::on_both_backends!(
    own_codes_complete_registration_and_spending,
    codes_are_capped_per_phone_and_hour,
    other_code_modes_answer_clearly,
    the_code_goes_by_the_route_chosen,
    a_refused_route_is_dropped_and_watched,
    the_route_is_a_setting_of_the_page,
);

const PHONE: &str = "79011231122";
const NEW_PHONE: &str = "79990001111";

fn with_codes() -> Options {
    Options {
        register_requires_code: true,
        spend_requires_code: true,
        ..Options::default()
    }
}

fn registration(status_check: &str) -> Value {
    json!({
        "retailStore": retail_store(),
        "meta": {"href": "https://x/counterparty/ms-new", "id": "ms-new"},
        "name": "Новикова Ольга", "phone": "+7 999 000-11-11",
        "birthDate": "1992-08-01 00:00:00", "statusCheck": status_check,
    })
}

fn registration_verify() -> Value {
    json!({
        "meta": {"href": "https://x/api/posap/1.0/entity/counterparty/syncid/abc"},
        "name": "Новикова Ольга", "phone": "+7 999 000-11-11", "birthDate": "1992-08-01 00:00:00.000",
    })
}

fn spending_verify(phone: &str) -> Value {
    json!({"retailStore": retail_store(), "counterpartyId": "not-linked", "phone": phone})
}

/// The texts `sendMessage` delivered to the customer.
fn texts(pos: &Pos, phone: &str) -> Vec<String> {
    pos.emu
        .messages(&pos.key, phone)
        .into_iter()
        .filter(|m| m.kind == "message")
        .map(|m| m.text)
        .collect()
}

async fn own_codes_complete_registration_and_spending(db: TestDb) {
    let pos = Pos::start(db, with_codes()).await;
    pos.emu.add_customer(&pos.key, PHONE, dec("500"));

    // Registration must be confirmed; the code reaches a customer BonusPlus did not know.
    let (status, body) = pos.post("/counterparty", registration("UNCHECKED")).await;
    assert_eq!((status, &body["errors"][0]["code"]), (412, &json!(28001)));
    let (status, answer) = pos
        .post("/counterparty/verify", registration_verify())
        .await;
    assert_eq!(status, 200, "{answer}");
    let code = answer["verificationCode"].as_str().unwrap().to_owned();
    assert!(
        code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()),
        "{code}"
    );
    assert_eq!(
        texts(&pos, NEW_PHONE),
        vec![format!("Код для кассы: {code}")]
    );
    assert_eq!(answer["timeForRepeat"], 60);
    assert!(
        answer["messageForCashier"]
            .as_str()
            .unwrap()
            .chars()
            .count()
            <= 140
    );
    // Created in BonusPlus first, quietly (no welcome message) and with the till's data.
    let created = pos.emu.customer(&pos.key, NEW_PHONE).expect("created");
    assert_eq!(created.person.last_name.as_deref(), Some("Новикова"));
    assert_eq!(created.person.birth_day.as_deref(), Some("1992-08-01"));
    assert!(pos
        .emu
        .messages(&pos.key, NEW_PHONE)
        .iter()
        .all(|m| m.kind != "registration"));
    // Asked again inside timeForRepeat: the same code, no second message.
    let (status, again) = pos
        .post("/counterparty/verify", registration_verify())
        .await;
    assert_eq!(status, 200);
    assert_eq!(again["verificationCode"], code.as_str());
    assert!(again["timeForRepeat"].as_u64().unwrap() <= 60);
    assert_eq!(texts(&pos, NEW_PHONE).len(), 1);
    // The till completes the registration.
    let (status, body) = pos.post("/counterparty", registration("CHECKED")).await;
    assert_eq!(status, 201, "{body}");
    let (_, found) = pos
        .get("/counterparty?search=89990001111&retailStoreId=x")
        .await;
    assert_eq!(found["rows"][0]["msId"], "ms-new");

    // Spending with a code: recalc asks for it, /retaildemand/verify texts it, the sale books it.
    let receipt = json!({
        "retailStore": retail_store(),
        "agent": agent("c0ffee00-0000-0000-0000-000000000001", "+79011231122"),
        "positions": [position("prod-milk", "2", "100.00")],
        "bonusProgram": {"transactionType": "SPENDING"},
        "preferredBonusToSpend": 10,
    });
    let (_, recalc) = pos.post("/retaildemand/recalc", receipt).await;
    assert_eq!(recalc["needVerification"], true, "{recalc}");
    let (status, answer) = pos
        .post("/retaildemand/verify", spending_verify("8 901 123 11 22"))
        .await;
    assert_eq!(status, 200, "{answer}");
    let code = answer["verificationCode"].as_str().unwrap();
    assert_eq!(texts(&pos, PHONE), vec![format!("Код для кассы: {code}")]);
    pos.wait_reserved(PHONE, dec("10")).await;
    let sale = json!({
        "retailStore": retail_store(), "meta": {"href": "h", "id": "sale-with-code"},
        "agent": agent("c0ffee00-0000-0000-0000-000000000001", "+79011231122"),
        "positions": [position("prod-milk", "2", "100.00")],
        "bonusProgram": {"bonusValueToSpend": 10},
    });
    assert_eq!(pos.post("/retaildemand", sale).await.0, 201);
    assert_eq!(pos.emu.sales(&pos.key)[0].bonus_debit, dec("10"));

    // Spending for a customer BonusPlus does not have: not found, nothing texted.
    let (status, body) = pos
        .post("/retaildemand/verify", spending_verify("79995550000"))
        .await;
    assert_eq!(status, 404, "{body}");
    // A message BonusPlus failed to send costs no slot and no code is kept.
    pos.emu.fail_next(1, FailureMode::Status500);
    let (status, _) = pos
        .post("/retaildemand/verify", spending_verify(NEW_PHONE))
        .await;
    assert_eq!(status, 502);
    let (status, answer) = pos
        .post("/retaildemand/verify", spending_verify(NEW_PHONE))
        .await;
    assert_eq!(status, 200, "a failed attempt is not answered as a repeat");
    let code = answer["verificationCode"].as_str().unwrap();
    assert_eq!(
        texts(&pos, NEW_PHONE).last().map(String::as_str),
        Some(format!("Код для кассы: {code}").as_str())
    );
}

async fn codes_are_capped_per_phone_and_hour(db: TestDb) {
    let pos = Pos::start(db, with_codes()).await;
    pos.emu.add_customer(&pos.key, PHONE, dec("500"));
    let account = pos.account_id().await;
    let store = &pos.app.state.store;
    let window_ms = i64::try_from(CODE_WINDOW.as_millis()).unwrap();
    let now = now_ms();
    // Four codes this hour, one more than an hour ago.
    for sent_at in [
        now - 40 * 60_000,
        now - 30 * 60_000,
        now - 20 * 60_000,
        now - 60_000,
        now - window_ms - 60_000,
    ] {
        let slot = CodeSlot {
            account_id: account.clone(),
            phone: PHONE.to_owned(),
            sent_at,
        };
        assert!(store
            .claim_code_slot(&slot, sent_at - window_ms, MAX_CODES_PER_WINDOW)
            .await
            .unwrap());
    }
    // The fifth of the hour goes out; a sixth is refused, in MoySklad's format.
    let (status, first) = pos
        .post("/retaildemand/verify", spending_verify(PHONE))
        .await;
    assert_eq!(status, 200, "{first}");
    let (status, refused) = pos
        .post(
            "/counterparty/verify",
            json!({"meta": {"href": "h"}, "phone": "+79011231122"}),
        )
        .await;
    assert_eq!(status, 429, "{refused}");
    let error = &refused["errors"][0];
    assert_eq!(error["code"], 2009);
    assert_eq!(error["parameter"], "phone");
    assert!(error["error"]
        .as_str()
        .unwrap()
        .starts_with("Слишком много кодов"));
    assert_eq!(texts(&pos, PHONE).len(), 1);
    // A repeat inside timeForRepeat is the same code, not a new one: still answered.
    let (status, again) = pos
        .post("/retaildemand/verify", spending_verify(PHONE))
        .await;
    assert_eq!(status, 200);
    assert_eq!(again["verificationCode"], first["verificationCode"]);
    // Another phone has its own hour.
    pos.emu.add_customer(&pos.key, "79035550000", dec("0"));
    let (status, _) = pos
        .post("/retaildemand/verify", spending_verify("79035550000"))
        .await;
    assert_eq!(status, 200);
}

async fn other_code_modes_answer_clearly(db: TestDb) {
    let pos = Pos::start(db, with_codes()).await;
    for phone in ["79011230001", "79011230002", "79011230003", "79011230004"] {
        pos.emu
            .add_customer_with(&pos.key, NewCustomer::new(phone, dec("100")));
    }

    // BonusPlus without sendMessage: its own code, where it reveals it …
    pos.emu
        .refuse_route("POST", "/customer/{phoneNumber}/sendMessage", 404);
    reveal_codes(&pos, true);
    let (status, answer) = pos
        .post("/retaildemand/verify", spending_verify("79011230001"))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["verificationCode"].as_str(),
        pos.emu.last_code(&pos.key, "79011230001").as_deref()
    );
    // … else a refusal the cashier understands.
    reveal_codes(&pos, false);
    let (status, body) = pos
        .post("/retaildemand/verify", spending_verify("79011230002"))
        .await;
    assert_eq!(
        (status, &body["errors"][0]["code"]),
        (422, &json!(2010)),
        "{body}"
    );
    pos.emu.clear_refused_routes();

    // Mode «BonusPlus's code»: answered only when revealed.
    set_code_delivery(&pos, "bonusplus").await;
    let (status, body) = pos
        .post("/retaildemand/verify", spending_verify("79011230003"))
        .await;
    assert_eq!(
        (status, &body["errors"][0]["code"]),
        (422, &json!(2010)),
        "{body}"
    );
    assert!(body["errors"][0]["error"]
        .as_str()
        .unwrap()
        .contains("Код от приложения"));
    reveal_codes(&pos, true);
    let (status, answer) = pos
        .post("/retaildemand/verify", spending_verify("79011230004"))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer["verificationCode"].as_str(),
        pos.emu.last_code(&pos.key, "79011230004").as_deref()
    );

    // Off: a clear refusal, nothing texted.
    set_code_delivery(&pos, "off").await;
    pos.emu.clear_requests();
    let (status, body) = pos
        .post("/retaildemand/verify", spending_verify("79011230001"))
        .await;
    assert_eq!(
        (status, &body["errors"][0]["code"]),
        (409, &json!(2008)),
        "{body}"
    );
    assert!(body["errors"][0]["error"]
        .as_str()
        .unwrap()
        .starts_with("Проверка кодом отключена"));
    assert!(pos.emu.requests().is_empty());
}

fn reveal_codes(pos: &Pos, reveal: bool) {
    pos.emu.add_tenant(
        &pos.key,
        TenantRules {
            reveal_codes: reveal,
            ..TenantRules::default()
        },
    );
}

/// The administrator picks another mode on the settings page. Codes switched off: the page
/// insists that spending and registration no longer ask for one.
async fn set_code_delivery(pos: &Pos, mode: &str) {
    let mut changes = json!({"codeDelivery": mode});
    if mode == "off" {
        changes["spendRequiresCode"] = json!(false);
        changes["registerRequiresCode"] = json!(false);
    }
    pos.change_settings(changes).await;
}

/// The routes `sendMessage` was called with for this phone (one per message texted).
fn routes(pos: &Pos, phone: &str) -> Vec<Vec<String>> {
    pos.emu
        .messages(&pos.key, phone)
        .into_iter()
        .filter(|m| m.kind == "message")
        .map(|m| m.route)
        .collect()
}

/// «Куда отправлять код», as the administrator picks it on the settings page.
async fn set_message_route(pos: &Pos, route: MessageRoute) {
    pos.change_settings(json!({"messageRoute": route.as_ref()}))
        .await;
}

async fn the_code_goes_by_the_route_chosen(db: TestDb) {
    let pos = Pos::start(db, with_codes()).await;
    pos.emu.add_customer(&pos.key, PHONE, dec("500"));
    pos.emu.add_customer(&pos.key, "79011231133", dec("500"));
    // The default: SMS only.
    let (status, answer) = pos
        .post("/retaildemand/verify", spending_verify(PHONE))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(routes(&pos, PHONE), vec![vec!["SMS".to_owned()]]);

    set_message_route(&pos, MessageRoute::TelegramVkSms).await;
    let (status, answer) = pos
        .post("/retaildemand/verify", spending_verify("79011231133"))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        routes(&pos, "79011231133"),
        vec![vec!["Telegram", "VK", "SMS"]]
    );
    let code = answer["verificationCode"].as_str().unwrap();
    assert_eq!(
        texts(&pos, "79011231133"),
        vec![format!("Код для кассы: {code}")]
    );
}

/// A BonusPlus that takes `route` only as integers refuses the names: the code is texted once,
/// without a route, and the refusal is counted and shown to the shop.
async fn a_refused_route_is_dropped_and_watched(db: TestDb) {
    let pos = Pos::start(db, with_codes()).await;
    pos.emu.add_tenant(
        &pos.key,
        TenantRules {
            message_route: RouteWire::IntegersOnly,
            ..TenantRules::default()
        },
    );
    pos.emu.add_customer(&pos.key, PHONE, dec("500"));
    set_message_route(&pos, MessageRoute::TelegramVkSms).await;

    let (status, answer) = pos
        .post("/retaildemand/verify", spending_verify(PHONE))
        .await;
    assert_eq!(status, 200, "{answer}");
    let code = answer["verificationCode"].as_str().unwrap();
    assert_eq!(texts(&pos, PHONE), vec![format!("Код для кассы: {code}")]);
    assert_eq!(routes(&pos, PHONE), vec![Vec::<String>::new()]);
    assert_eq!(
        pos.emu
            .count("POST", &format!("/customer/{PHONE}/sendMessage")),
        2
    );

    let session = pos.page_session(false).await;
    for _ in 0..100 {
        let (_, body) = pos
            .page(reqwest::Method::GET, "/ui/api/differences", &session, None)
            .await;
        let list = body["differences"].as_array().cloned().unwrap_or_default();
        if let Some(item) = list.iter().find(|d| d["point"] == "message_route") {
            assert_eq!(item["call"], "POST customer/sendMessage");
            assert_eq!((&item["status"], &item["seen"]), (&json!(400), &json!(1)));
            assert!(item["didInstead"].as_str().unwrap().contains("без канала"));
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the refused route was not recorded");
}

/// «Куда отправлять код» on the settings page: saved, shown, kept when absent, checked.
async fn the_route_is_a_setting_of_the_page(db: TestDb) {
    use crate::support::moysklad::World;
    use reqwest::Method;
    let world = World::start(db).await;
    let account = uuid::Uuid::new_v4().to_string();
    let token = world.admin_session(&account).await;

    let (_, view) = world
        .ui(Method::GET, "/ui/api/settings", &token, None)
        .await;
    assert_eq!(view["settings"]["messageRoute"], "sms");
    let mut body = world.settings_body(Some(&world.bp_key));
    body["messageRoute"] = json!("telegram_vk_sms");
    let view = world.save_settings(&token, body).await;
    assert_eq!(view["settings"]["messageRoute"], "telegram_vk_sms");
    // An older page that does not send it keeps what is stored.
    let view = world.save_settings(&token, world.settings_body(None)).await;
    assert_eq!(view["settings"]["messageRoute"], "telegram_vk_sms");
    let mut body = world.settings_body(None);
    body["messageRoute"] = json!("pigeon");
    let (status, error) = world
        .ui(Method::PUT, "/ui/api/settings", &token, Some(body))
        .await;
    assert_eq!(
        (status, &error["field"]),
        (422, &json!("messageRoute")),
        "{error}"
    );
    let stored = world.app.state.store.message_route(&account).await.unwrap();
    assert_eq!(stored, MessageRoute::TelegramVkSms);
}
