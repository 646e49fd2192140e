//! The customer import end to end (issue 24): the testkit's MoySklad serving counterparties page
//! by page, the BonusPlus emulator receiving them, the app's workers running the import started
//! from the settings page's JSON API. A base with every problem kind gives exact preview counts; a
//! run creates, links and credits; a second run changes nothing; a credit whose answer was lost is
//! judged by the balance, never repeated; the till finds an imported card by its number and keeps
//! answering while a run goes. The real binary killed mid-run lives in `import_crash.rs`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bonusplus_emulator::NewCustomer;
use reqwest::Method;
use rust_decimal::Decimal;
use serde_json::{json, Value};

use crate::support::moysklad::{World, POS};
use crate::support::TestDb;

crate::on_both_backends!(
    preview_counts_every_kind_exactly,
    run_creates_links_credits_and_a_second_run_changes_nothing,
    a_credit_without_answer_is_judged_never_repeated,
    filters_narrow_and_refused_access_says_what_to_do,
    till_keeps_answering_during_a_run,
    only_administrators_see_the_import,
);

/// An EAN-13 from its first 12 digits.
pub fn ean13(body: &str) -> String {
    let sum: u32 = body
        .chars()
        .enumerate()
        .map(|(i, c)| c.to_digit(10).unwrap() * if i % 2 == 0 { 1 } else { 3 })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

/// An activated shop whose administrator has a settings-page session.
pub struct Shop {
    pub world: World,
    pub account: String,
    pub session: String,
    pub cashier: String,
    pub loyalty_url: String,
    pub loyalty_token: String,
}

impl Shop {
    pub async fn open(db: TestDb, calls_per_second: u32) -> Shop {
        let world = World::start_with(db, |s| {
            s.import.calls_per_second = calls_per_second;
            s.import.page_size = 5;
        })
        .await;
        let account = uuid::Uuid::new_v4().to_string();
        world.install(&account).await;
        world
            .moysklad
            .add_context("ctx-import", &account, "Анна Админ", true);
        world
            .moysklad
            .add_context("ctx-import-cashier", &account, "Кассир", false);
        world.emu.add_store(&world.bp_key, "Магазин 1");
        let session = world.session("ctx-import").await;
        let cashier = world.session("ctx-import-cashier").await;
        let (loyalty_url, loyalty_token) = world.connect(&session).await;
        Shop {
            world,
            account,
            session,
            cashier,
            loyalty_url,
            loyalty_token,
        }
    }

    pub async fn start(&self, body: Value) -> Value {
        let (status, answer) = self
            .world
            .ui(Method::POST, "/ui/api/import", &self.session, Some(body))
            .await;
        assert_eq!(status, 202, "{answer}");
        answer["run"].clone()
    }

    pub async fn status(&self) -> Value {
        let (status, answer) = self
            .world
            .ui(Method::GET, "/ui/api/import", &self.session, None)
            .await;
        assert_eq!(status, 200, "{answer}");
        answer["run"].clone()
    }

    /// Polls until the latest run is no longer going.
    pub async fn wait_end(&self) -> Value {
        let started = Instant::now();
        loop {
            let run = self.status().await;
            if matches!(run["state"].as_str(), Some("done" | "failed" | "stopped")) {
                return run;
            }
            assert!(started.elapsed() < Duration::from_secs(60), "{run}");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    pub fn add(&self, row: Value) {
        self.world.moysklad.add_counterparty(row);
    }

    pub fn bonusplus_customer(&self, phone: &str, balance: i64, card: &str) {
        let mut customer = NewCustomer::new(phone, Decimal::new(balance, 0));
        customer.discount_card_number = Some(card.to_owned());
        self.world
            .emu
            .add_customer_with(&self.world.bp_key, customer);
    }

    pub fn balance(&self, phone: &str) -> Option<Decimal> {
        self.world
            .emu
            .customer(&self.world.bp_key, phone)
            .map(|c| c.balance)
    }

    pub fn calls(&self, method: &str, path_start: &str, path_end: &str) -> usize {
        self.world
            .emu
            .requests()
            .iter()
            .filter(|r| r.method == method && r.path.starts_with(path_start))
            .filter(|r| r.path.ends_with(path_end))
            .count()
    }
}

fn counterparty(n: u32, phone: Option<&str>, card: Option<&str>, points: i64) -> Value {
    json!({
        "id": format!("00000000-0000-4000-8000-{n:012}"),
        "name": format!("Покупатель {n}"),
        "companyType": "individual",
        "legalFirstName": format!("Имя{n}"), "legalLastName": "Иванов",
        "phone": phone, "discountCardNumber": card, "bonusPoints": points,
        "email": format!("c{n}@example.ru"), "birthDate": "1990-05-17 00:00:00.000", "sex": "FEMALE",
        "tags": [], "archived": false,
    })
}

/// Cards of the base: the new customer's, the card-only customer's, and one already held by
/// another BonusPlus customer.
pub struct Cards {
    pub new: String,
    pub held: String,
    pub taken: String,
}

/// Thirteen counterparties, one of every kind (see the test for the expected counts).
pub fn seed_every_kind(shop: &Shop) -> Cards {
    let cards = Cards {
        new: ean13("200000000101"),
        held: ean13("200000000202"),
        taken: ean13("200000000303"),
    };
    shop.bonusplus_customer("79011110003", 50, &ean13("200000000404"));
    shop.bonusplus_customer("79011110099", 70, &cards.held);
    shop.bonusplus_customer("79011110098", 0, &cards.taken);
    shop.add(counterparty(
        1,
        Some("+7 (901) 111-00-01"),
        Some(&cards.new),
        1400,
    ));
    shop.add(counterparty(2, Some("89011110002"), None, 0));
    shop.add(counterparty(3, Some("9011110003"), None, 300));
    shop.add(counterparty(4, None, Some(&cards.held), 40));
    shop.add(counterparty(5, None, None, 10));
    shop.add(counterparty(6, Some("12-34"), None, 0));
    shop.add(counterparty(7, Some("79011110007"), None, 5));
    shop.add(counterparty(8, Some("8 901 111 00 07"), None, 6));
    shop.add(counterparty(9, Some("79011110009"), Some(&cards.taken), 0));
    shop.add(counterparty(10, Some("79011110010"), None, -5));
    shop.add(counterparty(11, Some("79011110011"), Some("ABC-1"), 10));
    let mut archived = counterparty(12, Some("79011110012"), None, 20);
    archived["archived"] = json!(true);
    shop.add(archived);
    let mut tagged = counterparty(13, Some("79011110013"), None, 0);
    tagged["tags"] = json!(["опт"]);
    shop.add(tagged);
    cards
}

fn problems(run: &Value, list: &str) -> HashMap<String, i64> {
    run["preview"][list]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["code"].as_str().unwrap().to_owned(),
                p["count"].as_i64().unwrap(),
            )
        })
        .collect()
}

async fn preview_counts_every_kind_exactly(db: TestDb) {
    let shop = Shop::open(db, 0).await;
    seed_every_kind(&shop);
    shop.start(json!({"dryRun": true})).await;
    let run = shop.wait_end().await;
    assert_eq!(run["state"], "done", "{run}");
    let p = &run["preview"];
    assert_eq!(p["read"], 13, "{run}");
    assert_eq!(p["filtered"], 0);
    assert_eq!(p["new"], 5, "1, 2, 11, 12, 13: {run}");
    assert_eq!(p["existingByPhone"], 1);
    assert_eq!(p["existingByCard"], 1);
    assert_eq!(p["pending"], 0);
    let expected: HashMap<String, i64> = [
        ("no_phone", 1),
        ("invalid_phone", 1),
        ("duplicate_phone", 2),
        ("card_taken", 1),
        ("negative_points", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(problems(&run, "problems"), expected, "{run}");
    assert_eq!(problems(&run, "notes")["card_not_ean"], 1);
    assert_eq!(p["toCredit"], 3, "1400 + 10 + 20 to created customers only");
    assert_eq!(p["toCreditTotal"], "1430.00");
    // Nothing written to BonusPlus.
    assert_eq!(shop.calls("POST", "/customer", "/customer"), 0);
    assert_eq!(shop.calls("PATCH", "/customer/", "/balance"), 0);
    // The problem rows as CSV, with reasons in Russian, formulas neutralised.
    let csv = shop
        .world
        .app
        .http
        .get(shop.world.app.url("/ui/api/import/problems.csv"))
        .bearer_auth(&shop.session)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1 + 6 + 1, "header, 6 problems, 1 note: {text}");
    assert!(text.contains("Нет телефона"), "{text}");
    assert!(text.contains("Карта уже принадлежит другому покупателю"));
    assert!(text.contains("перенесён без карты"));
    assert!(text.contains("'+7 (901) 111-00-01") || !text.contains("111-00-01"));
}

async fn run_creates_links_credits_and_a_second_run_changes_nothing(db: TestDb) {
    let shop = Shop::open(db, 0).await;
    let cards = seed_every_kind(&shop);
    shop.start(json!({"burnsInDays": 180})).await;
    let run = shop.wait_end().await;
    assert_eq!(run["state"], "done", "{run}");
    let r = &run["result"];
    assert_eq!(r["created"], 5, "{run}");
    assert_eq!(r["linked"], 7, "5 created + 1 by phone + 1 by card");
    assert_eq!(r["credited"], 3);
    assert_eq!(r["creditedTotal"], "1430.00");
    assert_eq!(r["parked"], 0);
    assert_eq!(shop.balance("79011110001"), Some(Decimal::new(1400, 0)));
    assert_eq!(shop.balance("79011110011"), Some(Decimal::new(10, 0)));
    assert_eq!(shop.balance("79011110012"), Some(Decimal::new(20, 0)));
    assert_eq!(
        shop.balance("79011110003"),
        Some(Decimal::new(50, 0)),
        "existing: not credited"
    );
    assert_eq!(shop.balance("79011110099"), Some(Decimal::new(70, 0)));
    assert_eq!(
        shop.balance("79011110009"),
        None,
        "a taken card is not created"
    );
    let created = shop
        .world
        .emu
        .customer(&shop.world.bp_key, "79011110001")
        .unwrap();
    assert_eq!(
        created.discount_card_number.as_deref(),
        Some(cards.new.as_str())
    );
    let patch = shop
        .world
        .emu
        .requests()
        .into_iter()
        .find(|r| r.method == "PATCH" && r.path == "/customer/79011110001/balance")
        .unwrap();
    assert_eq!(patch.body["burnsInDays"], 180);
    let post = shop
        .world
        .emu
        .requests()
        .into_iter()
        .find(|r| r.method == "POST" && r.path == "/customer" && r.body["phone"] == "79011110001")
        .unwrap();
    assert_eq!(post.body["noRegNotification"], true, "{}", post.body);
    assert_eq!(post.body["ean"], cards.new.as_str());
    // Linked: the counterparty's id leads to the customer.
    let link = shop
        .world
        .app
        .state
        .store
        .customer_by_id(&shop.account, "00000000-0000-4000-8000-000000000004")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(link.phone, "79011110099");
    // The till's first search by the card finds the imported customer.
    let found = shop.till_search(&cards.new).await;
    assert!(
        found.contains("79011110001") || found.contains("9011110001"),
        "{found}"
    );
    let (posts, patches) = (
        shop.calls("POST", "/customer", "/customer"),
        shop.calls("PATCH", "/customer/", "/balance"),
    );
    assert_eq!((posts, patches), (5, 3));
    // Audited.
    let (_, view) = shop
        .world
        .ui(Method::GET, "/ui/api/settings", &shop.session, None)
        .await;
    assert!(
        view.to_string().contains("Перенос покупателей завершён"),
        "{view}"
    );
    // A second run changes nothing.
    shop.start(json!({"burnsInDays": 180})).await;
    let again = shop.wait_end().await;
    assert_eq!(again["state"], "done", "{again}");
    assert_eq!(again["preview"]["doneBefore"], 7, "{again}");
    assert_eq!(again["result"]["created"], 0);
    assert_eq!(again["result"]["credited"], 0);
    assert_eq!(shop.calls("POST", "/customer", "/customer"), posts);
    assert_eq!(shop.calls("PATCH", "/customer/", "/balance"), patches);
    assert_eq!(shop.balance("79011110001"), Some(Decimal::new(1400, 0)));
}

impl Shop {
    /// The till's customer search, as MoySklad's POS sends it.
    pub async fn till_search(&self, text: &str) -> String {
        let response = self
            .world
            .app
            .http
            .get(format!(
                "{}/counterparty?search={text}&retailStoreId={POS}",
                self.loyalty_url
            ))
            .header("Lognex-Discount-API-Auth-Token", &self.loyalty_token)
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.text().await.unwrap()
    }
}

/// Credits left `sent` by a crash (planted in the ledger as a crash leaves them): a customer the
/// import created with 0 gets it once; one showing exactly the amount is done; an existing
/// customer's is parked with both figures — never sent again blindly.
async fn a_credit_without_answer_is_judged_never_repeated(db: TestDb) {
    use bonusbridge::store::LedgerEntry;
    let shop = Shop::open(db, 0).await;
    for phone in ["79012220001", "79012220002", "79012220003"] {
        shop.bonusplus_customer(phone, 0, &ean13(&format!("2100{}", &phone[3..])));
    }
    shop.world
        .emu
        .set_balance(&shop.world.bp_key, "79012220002", Decimal::new(25, 0));
    shop.world
        .emu
        .set_balance(&shop.world.bp_key, "79012220003", Decimal::new(99, 0));
    let store = &shop.world.app.state.store;
    let plant = |n: u32, phone: &str, created: bool| LedgerEntry {
        account_id: shop.account.clone(),
        counterparty_id: format!("00000000-0000-4000-8000-{n:012}"),
        phone: phone.to_owned(),
        step: "sent".into(),
        created_by_import: created,
        credit_kopecks: 2500,
        credited_kopecks: 0,
        balance_seen: None,
        reason: None,
        run_id: "crashed-run".into(),
    };
    store
        .save_ledger_entry(&plant(1, "79012220001", true))
        .await
        .unwrap();
    store
        .save_ledger_entry(&plant(2, "79012220002", true))
        .await
        .unwrap();
    store
        .save_ledger_entry(&plant(3, "79012220003", false))
        .await
        .unwrap();
    shop.start(json!({"burnsInDays": 30})).await;
    let run = shop.wait_end().await;
    assert_eq!(run["state"], "done", "{run}");
    assert_eq!(
        shop.balance("79012220001"),
        Some(Decimal::new(25, 0)),
        "sent once"
    );
    assert_eq!(
        shop.balance("79012220002"),
        Some(Decimal::new(25, 0)),
        "not again"
    );
    assert_eq!(
        shop.balance("79012220003"),
        Some(Decimal::new(99, 0)),
        "parked"
    );
    assert_eq!(shop.calls("PATCH", "/customer/", "/balance"), 1);
    let parked = store
        .ledger_entry(&shop.account, "00000000-0000-4000-8000-000000000003")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(parked.step, "parked");
    let reason = parked.reason.unwrap();
    assert!(
        reason.contains("Требует решения") && reason.contains("25.00") && reason.contains("99"),
        "{reason}"
    );
    let done = store
        .ledger_entry(&shop.account, "00000000-0000-4000-8000-000000000002")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.step, "done");
}

async fn filters_narrow_and_refused_access_says_what_to_do(db: TestDb) {
    let shop = Shop::open(db, 0).await;
    seed_every_kind(&shop);
    shop.start(json!({"dryRun": true, "filters": {"tags": ["ОПТ"]}}))
        .await;
    let run = shop.wait_end().await;
    assert_eq!(run["preview"]["new"], 1, "{run}");
    assert_eq!(run["preview"]["filtered"], 12);
    shop.start(json!({"dryRun": true, "filters": {"skipArchived": true, "onlyWithPoints": true}}))
        .await;
    let run = shop.wait_end().await;
    // Points > 0 and not archived: 1, 3, 4, 5, 7, 8, 11.
    assert_eq!(run["preview"]["read"], 13);
    assert_eq!(run["preview"]["filtered"], 6, "{run}");
    assert_eq!(run["preview"]["toCreditTotal"], "1410.00");
    // A run without the bonuses' lifetime is refused, naming the field.
    let (status, body) = shop
        .world
        .ui(
            Method::POST,
            "/ui/api/import",
            &shop.session,
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("burnsInDays")),
        "{body}"
    );
    // MoySklad refusing the counterparties (old descriptor): the page says what to do.
    shop.world.moysklad.fault_page("counterparty", 0, &[403]);
    shop.start(json!({"dryRun": true})).await;
    let run = shop.wait_end().await;
    assert_eq!(run["state"], "failed", "{run}");
    let error = run["lastError"].as_str().unwrap();
    assert!(error.contains("примите расширенный доступ"), "{error}");
}

/// The till's search stays quick while a paced run goes; the run stops when asked and resumes
/// where it stopped, crediting each customer once.
async fn till_keeps_answering_during_a_run(db: TestDb) {
    let shop = Shop::open(db, 40).await;
    for n in 0..60u32 {
        let phone = format!("7902{n:07}");
        shop.add(counterparty(100 + n, Some(&phone), None, 1));
    }
    shop.world.emu.set_latency(Duration::from_millis(5));
    shop.start(json!({"burnsInDays": 30})).await;
    let mut answered = 0;
    let mut slowest = Duration::ZERO;
    let mut stopped = false;
    loop {
        let started = Instant::now();
        shop.till_search("79011231122").await;
        slowest = slowest.max(started.elapsed());
        answered += 1;
        let run = shop.status().await;
        if !stopped && run["phase"] == "execute" {
            let (status, body) = shop
                .world
                .ui(Method::POST, "/ui/api/import/stop", &shop.session, None)
                .await;
            assert_eq!(status, 200, "{body}");
            let halted = shop.wait_end().await;
            assert_eq!(halted["state"], "stopped", "{halted}");
            let (status, body) = shop
                .world
                .ui(Method::POST, "/ui/api/import/resume", &shop.session, None)
                .await;
            assert_eq!(status, 200, "{body}");
            stopped = true;
            continue;
        }
        if run["state"] != "running" && run["state"] != "stopping" {
            assert_eq!(run["state"], "done", "{run}");
            assert_eq!(run["result"]["credited"], 60, "{run}");
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(stopped, "never saw the run executing");
    assert!(answered >= 5, "the run was too short to watch: {answered}");
    assert!(
        slowest < Duration::from_secs(1),
        "the till waited {slowest:?}"
    );
    assert_eq!(shop.calls("PATCH", "/customer/", "/balance"), 60);
    assert_eq!(shop.balance("79020000059"), Some(Decimal::new(1, 0)));
}

async fn only_administrators_see_the_import(db: TestDb) {
    let shop = Shop::open(db, 0).await;
    for (method, path) in [
        (Method::GET, "/ui/api/import"),
        (Method::POST, "/ui/api/import"),
        (Method::POST, "/ui/api/import/stop"),
        (Method::GET, "/ui/api/import/problems.csv"),
    ] {
        let (status, body) = shop
            .world
            .ui(method, path, &shop.cashier, Some(json!({"dryRun": true})))
            .await;
        assert_eq!(status, 403, "{path}: {body}");
    }
}
