//! The shop owner's view, on both databases: a scripted day at the till through the real HTTP
//! LoyaltyAPI against the BonusPlus emulator — sales earning and spending bonuses, a return, a
//! customer registered at checkout, one registered before a code, one through `POST /counterparty`,
//! a sale BonusPlus cannot book — and the page's activity (`GET /ui/api/activity`) must equal, to
//! the kopeck, what the emulator booked. The refused sale is retried with the page's button: booked
//! once however often it is pressed, refused to a cashier (403) and to another account (404), and
//! audited in Russian.

use bonusbridge::crypto::token_hash;
use bonusbridge::domain::activity::{date_of, day_of, UtcOffset};
use bonusbridge::store::{now_ms, UiSession};
use reqwest::Method;
use rust_decimal::Decimal;
use serde_json::{json, Value};

use crate::support::bookings::{sales_sent, settled};
use crate::support::pos::{
    agent, configure_account, dec, position, quick_jobs_inline as quick, retail_store, Options, Pos,
};
use crate::support::wait::wait_until;
use crate::support::TestDb;

crate::on_both_backends!(a_scripted_day_is_counted_as_the_emulator_booked);

const HREF: &str = "https://api.moysklad.ru/api/remap/1.2/entity";
const ANNA: &str = "79011110001";
const BORIS: &str = "79011110002";
/// Registered through `POST /counterparty`.
const VERA: &str = "79011110003";
/// Registered at checkout (a recalc for a phone BonusPlus does not know).
const GLEB: &str = "79011110004";
/// Bought while registration at the till was off: the sale is refused until an administrator
/// switches it on and retries.
const DINA: &str = "79011110005";
/// Registered before a verification code, then completed by `POST /counterparty`.
const EGOR: &str = "79011110006";

fn counterparty(phone: &str) -> String {
    format!("c0ffee00-0000-4000-8000-0{phone}")
}

fn customer(phone: &str) -> Value {
    agent(&counterparty(phone), &format!("+{phone}"))
}

/// A recalculation, then the sale MoySklad sends with the recalculation's bonus figures.
async fn sell(pos: &Pos, id: &str, who: &str, positions: Vec<Value>, spend: Option<&str>) {
    let mut recalc = json!({
        "retailStore": retail_store(), "agent": customer(who), "positions": positions.clone(),
        "bonusProgram": {"transactionType": if spend.is_some() { "SPENDING" } else { "EARNING" }},
    });
    if let Some(spend) = spend {
        recalc["preferredBonusToSpend"] = crate::support::pos::num(spend);
    }
    let (status, answer) = pos.post("/retaildemand/recalc", recalc).await;
    assert_eq!(status, 200, "{answer}");
    let bonus = &answer["bonusProgram"];
    let sale = json!({
        "retailStore": retail_store(),
        "meta": {"href": format!("{HREF}/retaildemand/{id}"), "id": id},
        "name": format!("S-{id}"), "moment": "2026-11-30 10:00:00",
        "agent": customer(who),
        "positions": positions,
        "bonusProgram": {
            "bonusValueToSpend": bonus["bonusValueToSpend"], "bonusValueToEarn": bonus["bonusValueToEarn"],
        },
    });
    let (status, body) = pos.post("/retaildemand", sale).await;
    assert_eq!(status, 201, "{body}");
}

async fn activity(pos: &Pos, session: &str) -> Value {
    let (status, body) = pos
        .page(Method::GET, "/ui/api/activity", session, None)
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn registration_at_the_till(pos: &Pos) {
    // POST /counterparty of a phone BonusPlus does not know: the app creates the customer.
    let (status, body) = pos
        .post(
            "/counterparty",
            json!({"retailStore": retail_store(),
            "meta": {"href": "h", "id": counterparty(VERA)},
            "name": "Вера Новикова", "phone": format!("+{VERA}")}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    // A registration code: the customer is created quietly before the code is texted; the till's
    // POST /counterparty then completes them — one registration, not two.
    let (status, body) = pos
        .post(
            "/counterparty/verify",
            json!({"meta": {"href": format!("{HREF}/counterparty/syncid/egor")},
            "phone": format!("+{EGOR}"), "name": "Егор Ильин"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = pos
        .post(
            "/counterparty",
            json!({"retailStore": retail_store(),
            "meta": {"href": "h", "id": counterparty(EGOR)},
            "name": "Егор Ильин", "phone": format!("+{EGOR}"), "statusCheck": "CHECKED"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

/// The day: three sales of members (earning, spending, spending with kopecks earned), a partial
/// return, a new customer at checkout who buys, and a sale BonusPlus cannot book.
async fn the_day(pos: &Pos) {
    pos.emu.add_customer(&pos.key, ANNA, dec("500"));
    pos.emu.add_customer(&pos.key, BORIS, dec("80"));
    sell(
        pos,
        "sale-1",
        ANNA,
        vec![
            position("milk", "3", "100.00"),
            position("bread", "1", "50.00"),
        ],
        None,
    )
    .await;
    sell(
        pos,
        "sale-2",
        ANNA,
        vec![position("cheese", "1", "123.45")],
        Some("30"),
    )
    .await;
    sell(
        pos,
        "sale-3",
        BORIS,
        vec![position("tea", "2.5", "87.13")],
        Some("17"),
    )
    .await;
    let (status, body) = pos
        .post(
            "/retailsalesreturn",
            json!({
                "retailStore": retail_store(), "meta": {"href": "", "id": "return-1"},
                "name": "R-1", "moment": "2026-11-30 12:00:00",
                "demand": {"meta": {"href": format!("{HREF}/retaildemand/sale-1"), "id": "sale-1"}},
                "agent": {"meta": {"href": "h", "id": counterparty(ANNA)}},
                "positions": [position("milk", "1", "100.00")],
            }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    registration_at_the_till(pos).await;
    sell(
        pos,
        "sale-4",
        GLEB,
        vec![position("coffee", "1", "250.00")],
        None,
    )
    .await;
    set_create_customers(pos, false).await;
    let sale = json!({
        "retailStore": retail_store(), "meta": {"href": format!("{HREF}/retaildemand/sale-5"), "id": "sale-5"},
        "name": "S-sale-5", "moment": "2026-11-30 18:00:00", "agent": customer(DINA),
        "positions": [position("milk", "2", "100.00")],
        "bonusProgram": {"bonusValueToEarn": 10},
    });
    assert_eq!(pos.post("/retaildemand", sale).await.0, 201);
}

/// Registration at the till on or off, as an administrator saves it on the settings page.
async fn set_create_customers(pos: &Pos, on: bool) {
    pos.change_settings(json!({"createCustomers": on})).await;
}

/// What the emulator booked: sales, bonuses debited and credited (kopecks), lines returned,
/// customers created.
struct Booked {
    sales: i64,
    spent: i64,
    earned: i64,
    returns: i64,
    customers: i64,
}

fn booked(pos: &Pos) -> Booked {
    let sales = pos.emu.sales(&pos.key);
    let kopecks = |roubles: Decimal| {
        let kopecks = roubles * Decimal::ONE_HUNDRED;
        assert!(kopecks.fract().is_zero(), "BonusPlus books whole kopecks");
        i64::try_from(kopecks).unwrap()
    };
    // The customers the emulator has that the day did not start with.
    let created = [VERA, GLEB, DINA, EGOR]
        .into_iter()
        .filter(|phone| pos.emu.customer(&pos.key, phone).is_some())
        .count();
    Booked {
        sales: sales.len() as i64,
        spent: sales.iter().map(|s| kopecks(s.bonus_debit)).sum(),
        earned: sales.iter().map(|s| kopecks(s.earned)).sum(),
        returns: pos.emu.count("PUT", "/retail/back") as i64,
        customers: created as i64,
    }
}

fn assert_counts(figures: &Value, booked: &Booked, failed: i64) {
    assert_eq!(figures["salesBooked"], booked.sales, "{figures}");
    assert_eq!(figures["returnsBooked"], booked.returns, "{figures}");
    assert_eq!(figures["bonusesSpentKopecks"], booked.spent, "{figures}");
    assert_eq!(figures["bonusesEarnedKopecks"], booked.earned, "{figures}");
    assert_eq!(
        figures["customersRegistered"], booked.customers,
        "{figures}"
    );
    assert_eq!(figures["deliveriesFailed"], failed, "{figures}");
}

/// A settings-page session of another installed account (administrator).
async fn other_account_session(pos: &Pos) -> String {
    let other = uuid::Uuid::new_v4().to_string();
    configure_account(
        &pos.app,
        &other,
        &pos.key,
        "other-token",
        Options::default(),
    )
    .await;
    let token = format!("page-session-{}", uuid::Uuid::new_v4().simple());
    let session = UiSession {
        account_id: other,
        user_name: "Чужой Админ".to_owned(),
        user_login: "admin@other".to_owned(),
        is_admin: true,
        expires_at: now_ms() + 3_600_000,
    };
    let store = &pos.app.state.store;
    store
        .create_ui_session(&token_hash(&token), &session)
        .await
        .unwrap();
    token
}

async fn a_scripted_day_is_counted_as_the_emulator_booked(db: TestDb) {
    let pos = Pos::start_with(db, Options::default(), quick).await;
    let admin = pos.page_session(true).await;
    let cashier = pos.page_session(false).await;
    the_day(&pos).await;
    wait_until(|| async { pos.emu.count("PUT", "/retail/back") == 1 }).await;

    // Before the retry: four sales booked, the fifth refused and waiting for the shop.
    let before = booked(&pos);
    assert_eq!((before.sales, before.returns, before.customers), (4, 1, 3));
    assert!(
        before.spent > 0 && before.earned % 100 != 0,
        "kopecks on both sides"
    );
    let page = activity(&pos, &admin).await;
    assert_counts(&page["today"], &before, 1);
    assert_counts(&page["total"], &before, 1);
    let days = page["days"].as_array().unwrap();
    assert_eq!(days.len(), 14);
    let today = date_of(day_of(now_ms(), UtcOffset::MOSCOW));
    assert_eq!(
        (page["timeZone"].as_str(), days[13]["date"].as_str()),
        (Some("UTC+3"), Some(today.as_str()))
    );
    assert_eq!(days[13]["salesBooked"], 4);
    assert!(days[..13]
        .iter()
        .all(|day| day["salesBooked"] == 0 && day["deliveriesFailed"] == 0));

    // The refused sale needs attention, in Russian, with what to do.
    let (_, ops) = pos
        .page(Method::GET, "/ui/api/operations", &admin, None)
        .await;
    let failed = ops["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{ops}");
    let failed_id = failed[0]["id"].as_str().unwrap().to_owned();
    assert!(failed[0]["reason"]
        .as_str()
        .unwrap()
        .contains("регистрация на кассе выключена"));
    assert!(failed[0]["whatToDo"]
        .as_str()
        .unwrap()
        .contains("Повторить"));
    let retry = format!("/ui/api/operations/{failed_id}/retry");

    // A cashier may not retry; another account cannot reach it.
    let (status, body) = pos.page(Method::POST, &retry, &cashier, None).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        body["error"],
        "Это может сделать только администратор аккаунта"
    );
    let stranger = other_account_session(&pos).await;
    let (status, body) = pos.page(Method::POST, &retry, &stranger, None).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"], "Операция не найдена");
    assert_eq!(pos.emu.sales(&pos.key).len(), 4, "nothing retried");

    // The cause fixed, the administrator retries — twice at once, and once more: booked once.
    set_create_customers(&pos, true).await;
    let sent_before_retry = sales_sent(&pos.emu)[&failed_id];
    let (first, second) = tokio::join!(
        pos.page(Method::POST, &retry, &admin, None),
        pos.page(Method::POST, &retry, &admin, None),
    );
    assert_eq!((first.0, second.0), (200, 200), "{} {}", first.1, second.1);
    wait_until(|| async { pos.emu.sales(&pos.key).len() == 5 }).await;
    let (status, answer) = pos.page(Method::POST, &retry, &admin, None).await;
    assert_eq!((status, &answer["failed"]), (200, &json!([])), "{answer}");
    settled(&pos.app.state).await;
    let after = booked(&pos);
    assert_eq!(
        (after.sales, after.customers),
        (5, 4),
        "booked once, its customer registered"
    );
    let retried: Vec<_> = pos
        .emu
        .sales(&pos.key)
        .into_iter()
        .filter(|sale| sale.external_id == failed_id)
        .collect();
    assert_eq!(retried.len(), 1);
    // However often the button was pressed, one retry was sent: the sale once more (BonusPlus
    // does not know the customer), the customer registered, the sale once again — booked.
    assert_eq!(
        sales_sent(&pos.emu)[&failed_id] - sent_before_retry,
        2,
        "one retry sent"
    );
    let page = activity(&pos, &admin).await;
    assert_counts(&page["today"], &after, 0);
    assert_counts(&page["total"], &after, 0);

    // Audited once, and shown in Russian.
    let retries = pos.audited("delivery_retried").await;
    assert_eq!(retries.len(), 1, "{retries:?}");
    assert_eq!(retries[0].2, "продажа № S-sale-5");
    let (_, settings) = pos
        .page(Method::GET, "/ui/api/settings", &admin, None)
        .await;
    let shown = &settings["audit"][0];
    assert_eq!(
        shown["action"], "Повторная отправка в БонусПлюс",
        "{settings}"
    );
    assert_eq!(shown["details"], "продажа № S-sale-5");
    assert!(shown["actor"].as_str().unwrap().contains("Анна Админ"));
}
