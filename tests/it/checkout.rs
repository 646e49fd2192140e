//! Every customer and every sale at the till, on both databases, against the emulator, through
//! the real HTTP surface: a customer BonusPlus does not know is registered at checkout (or the
//! receipt goes without loyalty), a sale is resolved by its delivery and never lost, a return finds
//! its sale without its id or waits for an administrator, completed amounts are booked rounded.

use bonusbridge::bonusplus::{ApiKey, ProductImport, ProductTiny};
use bonusplus_emulator::NewCustomer;
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::bookings::{returns_sent, sales_sent, settled};
use crate::support::pos::{
    dec, decimal_at, position, quick_jobs_inline as quick, retail_store, Options, Pos, STORE,
};
use crate::support::wait::wait_until;
use crate::support::TestDb;

crate::on_both_backends!(
    an_unknown_phone_is_registered_at_checkout_once,
    receipts_go_without_loyalty_when_the_customer_cannot_be_served,
    a_card_only_customer_is_found_by_card,
    a_sale_for_an_unknown_phone_is_booked_once_with_the_customer_created,
    a_sale_that_cannot_be_booked_is_parked_with_its_reason,
    a_sale_during_a_database_outage_is_not_acknowledged,
    a_sale_whose_customer_cannot_be_looked_up_is_booked_later,
    a_return_without_its_sale_id_finds_the_customers_sale,
    an_unmatched_return_waits_for_an_administrator,
    completed_amounts_are_booked_rounded,
);

const HREF: &str = "https://api.moysklad.ru/api/remap/1.2/entity";

fn counterparty(n: u32) -> String {
    format!("c0ffee00-0000-4000-8000-{n:012}")
}

fn agent_meta(n: u32) -> Value {
    let id = counterparty(n);
    json!({"href": format!("{HREF}/counterparty/{id}"), "id": id})
}

fn recalc(agent: Value, positions: Vec<Value>, kind: &str) -> Value {
    json!({
        "retailStore": retail_store(),
        "agent": agent,
        "positions": positions,
        "bonusProgram": {"transactionType": kind},
    })
}

/// An accrual recalculation of one `position` for `agent`, answered 200: the answer.
async fn earning(pos: &Pos, agent: Value, position: Value) -> Value {
    let body = recalc(agent, vec![position], "EARNING");
    let (status, answer) = pos.post("/retaildemand/recalc", body).await;
    assert_eq!(status, 200, "{answer}");
    answer
}

fn sale(id: &str, agent: Value, positions: Vec<Value>) -> Value {
    json!({
        "retailStore": retail_store(),
        "meta": {"href": format!("{HREF}/retaildemand/{id}"), "id": id},
        "name": format!("S-{id}"), "moment": "2026-11-30 10:00:00",
        "agent": agent,
        "positions": positions,
    })
}

fn sales_return(id: &str, demand: Value, agent: Value, positions: Vec<Value>) -> Value {
    json!({
        "retailStore": retail_store(),
        "meta": {"href": "", "id": id},
        "name": format!("R-{id}"), "moment": "2026-11-30 12:00:00",
        "demand": demand,
        "agent": agent,
        "positions": positions,
    })
}

/// The product imported into the store (BonusPlus applies promotions to known products only).
async fn import(pos: &Pos, product: &str) {
    let key = ApiKey::new(pos.key.clone().into()).unwrap();
    let import = ProductImport {
        store: STORE.to_owned(),
        products: vec![ProductTiny {
            id: product.to_owned(),
            pid: "0".to_owned(),
            n: product.to_owned(),
            g: false,
        }],
    };
    pos.app
        .state
        .bonusplus
        .import_products(&key, &import)
        .await
        .unwrap();
}

async fn with_promotion(pos: &Pos, product: &str) {
    import(pos, product).await;
    pos.emu
        .add_promotion(&pos.key, STORE, product, dec("10"), "Сыр −10 %");
}

/// Registration at checkout on or off, as an administrator saves it on the settings page.
async fn checkout_settings(pos: &Pos, create_customers: bool) {
    pos.change_settings(json!({"createCustomers": create_customers}))
        .await;
}

fn assert_unchanged(request: &Value, answer: &Value, reason: &str) {
    for (asked, priced) in request["positions"]
        .as_array()
        .unwrap()
        .iter()
        .zip(answer["positions"].as_array().unwrap())
    {
        assert_eq!(
            decimal_at(&priced["discountedPrice"]),
            decimal_at(&asked["price"])
        );
        assert_eq!(decimal_at(&priced["discountPercent"]), dec("0"));
        assert_eq!(priced["quantity"], asked["quantity"]);
    }
    assert_eq!(
        answer["positions"].as_array().unwrap().len(),
        request["positions"].as_array().unwrap().len()
    );
    let bonus = &answer["bonusProgram"];
    for field in [
        "agentBonusBalance",
        "bonusValueToSpend",
        "bonusValueToEarn",
        "agentBonusBalanceAfter",
        "paidByBonusPoints",
    ] {
        assert_eq!(decimal_at(&bonus[field]), dec("0"), "{field}: {answer}");
    }
    let info = bonus["receiptExtraInfo"].as_str().unwrap();
    assert!(info.contains(reason), "{info}");
    assert_eq!(answer["needVerification"], false);
    assert_eq!(answer["agent"], request["agent"], "agent echoed");
}

async fn an_unknown_phone_is_registered_at_checkout_once(db: TestDb) {
    let pos = Pos::start_with(db, Options::default(), quick).await;
    with_promotion(&pos, "prod-cheese").await;
    let mut agent = json!({"meta": agent_meta(101), "name": "Сидорова Анна Павловна",
        "phone": "+7 903 555-01-01", "email": "anna@example.org", "birthDate": "1990-05-17 00:00:00"});
    let answer = earning(&pos, agent.clone(), position("prod-cheese", "1", "100.00")).await;
    assert_eq!(
        decimal_at(&answer["positions"][0]["discountedPrice"]),
        dec("90")
    );
    assert_eq!(
        decimal_at(&answer["bonusProgram"]["bonusValueToEarn"]),
        dec("4.5")
    );
    assert_eq!(
        decimal_at(&answer["bonusProgram"]["agentBonusBalance"]),
        dec("0")
    );
    let created = pos
        .emu
        .customer(&pos.key, "79035550101")
        .expect("registered in BonusPlus");
    assert_eq!(created.person.last_name.as_deref(), Some("Сидорова"));
    assert_eq!(created.person.first_name.as_deref(), Some("Анна"));
    assert_eq!(created.person.email.as_deref(), Some("anna@example.org"));
    assert_eq!(created.person.birth_day.as_deref(), Some("1990-05-17"));
    assert_eq!(pos.emu.count("POST", "/customer"), 1);

    // MoySklad's counterparty is linked: the counterparty alone now names the customer.
    agent.as_object_mut().unwrap().remove("phone");
    let answer = earning(&pos, agent, position("prod-cheese", "1", "100.00")).await;
    assert_eq!(
        decimal_at(&answer["positions"][0]["discountedPrice"]),
        dec("90")
    );
    assert_eq!(pos.emu.count("POST", "/customer"), 1);

    // Ten recalculations for the same new phone at once: one customer, each priced.
    let body = recalc(
        json!({"meta": agent_meta(202), "phone": "89035550202"}),
        vec![position("prod-cheese", "2", "100.00")],
        "EARNING",
    );
    let answers =
        futures::future::join_all((0..10).map(|_| pos.post("/retaildemand/recalc", body.clone())))
            .await;
    for (status, answer) in &answers {
        assert_eq!(*status, 200, "{answer}");
        assert_eq!(
            decimal_at(&answer["positions"][0]["discountedPrice"]),
            dec("90")
        );
    }
    assert!(pos.emu.customer(&pos.key, "79035550202").is_some());
    assert_eq!(
        pos.emu.count("POST", "/customer"),
        2,
        "one registration per new phone"
    );
}

async fn receipts_go_without_loyalty_when_the_customer_cannot_be_served(db: TestDb) {
    let pos = Pos::start_with(db, Options::default(), quick).await;
    with_promotion(&pos, "prod-cheese").await;
    let lines = || {
        vec![
            position("prod-cheese", "2", "100.00"),
            position("prod-bread", "1.5", "33.33"),
        ]
    };

    // No phone and no card: nobody to give bonuses to, the receipt goes as it came.
    let body = recalc(
        json!({"meta": agent_meta(301), "name": "Покупатель без телефона"}),
        lines(),
        "EARNING",
    );
    let (status, answer) = pos.post("/retaildemand/recalc", body.clone()).await;
    assert_eq!(status, 200, "{answer}");
    assert_unchanged(&body, &answer, "нет телефона и карты");

    // A card BonusPlus does not know, and no phone.
    let body = recalc(
        json!({"meta": agent_meta(302), "discountCardNumber": "2000000051420"}),
        lines(),
        "SPENDING",
    );
    let (status, answer) = pos.post("/retaildemand/recalc", body.clone()).await;
    assert_eq!(status, 200, "{answer}");
    assert_unchanged(&body, &answer, "карта покупателя не найдена");
    assert_eq!(answer["bonusProgram"]["transactionType"], "SPENDING");

    // Registration at checkout switched off: an unknown phone is not registered.
    checkout_settings(&pos, false).await;
    let body = recalc(
        json!({"meta": agent_meta(303), "phone": "+79035550303"}),
        lines(),
        "EARNING",
    );
    let (status, answer) = pos.post("/retaildemand/recalc", body.clone()).await;
    assert_eq!(status, 200, "{answer}");
    assert_unchanged(&body, &answer, "не участвует");
    assert!(pos.emu.customer(&pos.key, "79035550303").is_none());
    assert_eq!(pos.emu.count("POST", "/customer"), 0);

    // Input checks stay strict on recalc: the cashier can still fix the receipt.
    let body = recalc(
        json!({"meta": agent_meta(303), "phone": "+79035550303"}),
        vec![position("prod-cheese", "1", "99.999")],
        "EARNING",
    );
    let (status, answer) = pos.post("/retaildemand/recalc", body).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["errors"][0]["parameter"], "positions[0]");
}

async fn a_card_only_customer_is_found_by_card(db: TestDb) {
    let pos = Pos::start_with(db, Options::default(), quick).await;
    let mut customer = NewCustomer::new("79035550505", dec("100"));
    customer.discount_card_number = Some("2000000051420".into());
    pos.emu.add_customer_with(&pos.key, customer);
    let agent = json!({"meta": agent_meta(505), "discountCardNumber": "2000000051420"});
    let answer = earning(&pos, agent.clone(), position("prod-1", "1", "100.00")).await;
    assert_eq!(
        decimal_at(&answer["bonusProgram"]["agentBonusBalance"]),
        dec("100")
    );
    assert_eq!(
        decimal_at(&answer["bonusProgram"]["bonusValueToEarn"]),
        dec("5")
    );

    // The sale of the card-only customer is booked on the card's holder.
    let (status, _) = pos
        .post(
            "/retaildemand",
            sale(
                "card-sale-1",
                agent,
                vec![position("prod-1", "1", "100.00")],
            ),
        )
        .await;
    assert_eq!(status, 201);
    wait_until(|| async { pos.emu.sales(&pos.key).len() == 1 }).await;
    assert_eq!(pos.emu.sales(&pos.key)[0].phone, "79035550505");
    let card_lookups = pos
        .emu
        .requests()
        .iter()
        .filter(|r| r.path == "/customer" && r.query.as_deref().is_some_and(|q| q.contains("ean=")))
        .count();
    assert_eq!(card_lookups, 1, "the card was looked up once, then linked");
}

async fn a_sale_for_an_unknown_phone_is_booked_once_with_the_customer_created(db: TestDb) {
    let pos = Pos::start_with(db, Options::default(), quick).await;
    let body = sale(
        "new-phone-sale",
        json!({"meta": agent_meta(606), "name": "Новикова Ольга", "phone": "8 (903) 555-06-06"}),
        vec![position("prod-1", "1", "200.00")],
    );
    let (status, answer) = pos.post("/retaildemand", body.clone()).await;
    assert_eq!(status, 201, "{answer}");
    let store = &pos.app.state.store;
    wait_until(|| async { store.operation_counts(None).await.unwrap() == (0, 0) }).await;
    let sales = pos.emu.sales(&pos.key);
    assert_eq!(sales.len(), 1);
    assert_eq!(sales[0].phone, "79035550606");
    let customer = pos
        .emu
        .customer(&pos.key, "79035550606")
        .expect("registered");
    assert_eq!(customer.balance, dec("10.00"));
    assert_eq!(customer.person.first_name.as_deref(), Some("Ольга"));

    // MoySklad delivers it again: nothing more is booked or registered.
    let (status, _) = pos.post("/retaildemand", body).await;
    assert_eq!(status, 201);
    assert_eq!(pos.emu.sales(&pos.key).len(), 1);
    assert_eq!(pos.emu.count("POST", "/customer"), 1);
    assert_eq!(
        pos.emu.count("POST", "/retail"),
        2,
        "refused once, booked once"
    );
}

async fn a_sale_that_cannot_be_booked_is_parked_with_its_reason(db: TestDb) {
    let pos = Pos::start_with(db, Options::default(), quick).await;
    checkout_settings(&pos, false).await;
    // Spends bonuses for a customer BonusPlus does not know, with registration off.
    let mut spending = sale(
        "not-a-member",
        json!({"meta": agent_meta(707), "phone": "+79035550707"}),
        vec![position("prod-1", "1", "100.00")],
    );
    spending["bonusProgram"] = json!({"bonusValueToSpend": 10});
    let (status, _) = pos.post("/retaildemand", spending).await;
    assert_eq!(status, 201, "the sale happened in the shop");
    // A counterparty nobody can identify: no phone, no card, never linked.
    let (status, _) = pos
        .post(
            "/retaildemand",
            sale(
                "nobody",
                json!({"meta": agent_meta(708)}),
                vec![position("prod-1", "1", "50.00")],
            ),
        )
        .await;
    assert_eq!(status, 201);
    let store = &pos.app.state.store;
    wait_until(|| async { store.operation_counts(None).await.unwrap() == (0, 2) }).await;
    assert!(pos.emu.sales(&pos.key).is_empty());
    assert!(pos.emu.customer(&pos.key, "79035550707").is_none());

    // The settings page shows both, with why.
    let session = pos.page_session(false).await;
    let (status, page) = pos
        .page(Method::GET, "/ui/api/operations", &session, None)
        .await;
    assert_eq!(status, 200, "{page}");
    let failed = page["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 2, "{page}");
    let reason_of = |number: &str| {
        failed
            .iter()
            .find(|op| op["number"] == number)
            .unwrap_or_else(|| panic!("{number} not listed: {page}"))["reason"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(reason_of("S-not-a-member").contains("регистрация на кассе выключена"));
    assert!(reason_of("S-nobody").contains("Покупатель не определён"));
    let member = failed
        .iter()
        .find(|op| op["number"] == "S-not-a-member")
        .unwrap();
    assert_eq!(member["sum"], "100.00");
    assert_eq!(member["lines"][0]["product"], "prod-1");

    // Once the customer registers and the operator retries, the sale is booked (once).
    pos.emu.add_customer(&pos.key, "79035550707", dec("50"));
    bonusbridge::outbox::retry_failed(store, None)
        .await
        .unwrap();
    wait_until(|| async { pos.emu.sales(&pos.key).len() == 1 }).await;
    assert_eq!(
        pos.emu.customer(&pos.key, "79035550707").unwrap().balance,
        dec("44.50"),
        "50 − 10 spent + 5 % of 90"
    );
}

async fn a_sale_during_a_database_outage_is_not_acknowledged(db: TestDb) {
    let second_db = db.shared();
    let pos = Pos::start_with(db, Options::default(), quick).await;
    pos.emu.add_customer(&pos.key, "79035550808", dec("0"));
    let agent = json!({"meta": agent_meta(808), "phone": "+79035550808"});
    // The till's token is resolved (and cached) before the database goes away.
    let (status, _) = pos
        .post(
            "/retaildemand/recalc",
            recalc(
                agent.clone(),
                vec![position("prod-1", "1", "100.00")],
                "EARNING",
            ),
        )
        .await;
    assert_eq!(status, 200);

    pos.app.state.store.close().await;
    let body = sale(
        "outage-sale",
        agent,
        vec![position("prod-1", "1", "100.00")],
    );
    let (status, answer) = pos.post("/retaildemand", body.clone()).await;
    assert!(
        (500..600).contains(&status),
        "not acknowledged as done: {status} {answer}"
    );
    assert!(answer["errors"][0]["code"].is_number(), "{answer}");
    assert!(pos.emu.sales(&pos.key).is_empty());

    // MoySklad delivers it again, to an instance whose database answers: recorded and booked once.
    let second = pos.another_instance(second_db, quick).await;
    for _ in 0..2 {
        assert_eq!(pos.post_to(&second, "/retaildemand", &body).await, 201);
    }
    wait_until(|| async { pos.emu.sales(&pos.key).len() == 1 }).await;
    // Nothing left to send on the instance that answered (the first has no database).
    settled(&second.state).await;
    assert_eq!(pos.emu.sales(&pos.key).len(), 1, "booked once");
    let booked = pos.emu.sales(&pos.key)[0].external_id.clone();
    assert_eq!(
        sales_sent(&pos.emu).into_iter().collect::<Vec<_>>(),
        vec![(booked, 1)],
        "sent to BonusPlus once"
    );
    assert_eq!(
        pos.emu.customer(&pos.key, "79035550808").unwrap().balance,
        dec("5.00")
    );
}

/// Runs one statement on the test database from outside the app.
async fn execute(url: &str, sql: &str) {
    use sqlx::{Connection, Executor};
    if url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
        conn.execute(sql).await.unwrap();
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        conn.execute(sql).await.unwrap();
    }
}

/// Counts rows on the test database from outside the app (`SELECT COUNT(*) …`).
async fn query_count(url: &str, sql: &str) -> i64 {
    use sqlx::Connection;
    if url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
    } else {
        let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
    }
}

/// The database fails just where the customer is looked up (the customers table is away): the
/// sale is still recorded — not turned into an anonymous one — and booked once the database is
/// whole again.
async fn a_sale_whose_customer_cannot_be_looked_up_is_booked_later(db: TestDb) {
    let url = db.url.clone();
    let pos = Pos::start_with(db, Options::default(), quick).await;
    pos.emu.add_customer(&pos.key, "79035551212", dec("0"));
    execute(&url, "ALTER TABLE customers RENAME TO customers_away").await;
    let body = sale(
        "lookup-fails",
        json!({"meta": agent_meta(1212), "phone": "+79035551212"}),
        vec![position("prod-1", "1", "100.00")],
    );
    let (status, answer) = pos.post("/retaildemand", body).await;
    assert_eq!(status, 201, "{answer}");
    // The attempt at once and a worker's retry have both failed and the job waits for the next.
    wait_until(|| async {
        let retried = "SELECT COUNT(*) FROM jobs WHERE state = 'ready' AND attempts >= 2 AND last_error IS NOT NULL";
        query_count(&url, retried).await == 1
    })
    .await;
    assert!(pos.emu.sales(&pos.key).is_empty());
    assert!(sales_sent(&pos.emu).is_empty(), "nothing sent to BonusPlus");
    let store = &pos.app.state.store;
    assert_eq!(
        store.operation_counts(None).await.unwrap(),
        (1, 0),
        "pending, not done"
    );

    execute(&url, "ALTER TABLE customers_away RENAME TO customers").await;
    wait_until(|| async { store.operation_counts(None).await.unwrap() == (0, 0) }).await;
    assert_eq!(pos.emu.sales(&pos.key).len(), 1);
    assert_eq!(pos.emu.sales(&pos.key)[0].phone, "79035551212");
}

async fn a_return_without_its_sale_id_finds_the_customers_sale(db: TestDb) {
    let pos = Pos::start_with(db, Options::default(), quick).await;
    pos.emu.add_customer(&pos.key, "79035550909", dec("0"));
    let agent = json!({"meta": agent_meta(909), "phone": "+79035550909"});
    let older = sale(
        "sale-older",
        agent.clone(),
        vec![
            position("prod-milk", "2", "100.00"),
            position("prod-bread", "1", "50.00"),
        ],
    );
    let newer = sale(
        "sale-newer",
        agent,
        vec![position("prod-milk", "1", "95.00")],
    );
    for body in [older, newer] {
        assert_eq!(pos.post("/retaildemand", body).await.0, 201);
        // Recorded one after the other (the most recent sale is looked at first): the next is
        // recorded on a later millisecond.
        let recorded = bonusbridge::store::now_ms();
        wait_until(|| async { bonusbridge::store::now_ms() > recorded }).await;
    }
    let balance = || pos.emu.customer(&pos.key, "79035550909").unwrap().balance;
    wait_until(|| async { pos.emu.sales(&pos.key).len() == 2 }).await;
    assert_eq!(balance(), dec("17.25"), "5 % of 250 and of 95");

    // MoySklad's own example: an empty demand, the agent as a bare {id, href}. Milk at 100.00 is
    // only in the older sale: that one is reversed, once.
    let empty = json!({"meta": {"href": "", "id": ""}});
    let bare_agent = json!({"id": counterparty(909), "href": format!("{HREF}/counterparty/{}", counterparty(909))});
    let body = sales_return(
        "ret-1",
        empty.clone(),
        bare_agent.clone(),
        vec![position("prod-milk", "1", "100.00")],
    );
    for _ in 0..2 {
        assert_eq!(pos.post("/retailsalesreturn", body.clone()).await.0, 201);
    }
    assert_eq!(pos.emu.count("PUT", "/retail/back"), 1);
    assert_eq!(balance(), dec("12.25"));
    let older_sale = pos
        .emu
        .sales(&pos.key)
        .into_iter()
        .find(|s| s.items.len() == 2)
        .unwrap();
    assert_eq!(older_sale.items[0].returned_sum, dec("100.00"));

    // The sale named only by the end of `demand.meta.href`.
    let by_href = json!({"meta": {"href": format!("{HREF}/retaildemand/sale-newer"), "id": ""}});
    let body = sales_return(
        "ret-2",
        by_href,
        json!({}),
        vec![position("prod-milk", "1", "95.00")],
    );
    assert_eq!(pos.post("/retailsalesreturn", body).await.0, 201);
    assert_eq!(pos.emu.count("PUT", "/retail/back"), 2);
    assert_eq!(balance(), dec("7.50"));

    // The last milk of the older sale, then one more than was ever sold: that one needs attention.
    let body = sales_return(
        "ret-3",
        empty.clone(),
        bare_agent.clone(),
        vec![position("prod-milk", "1", "100.00")],
    );
    assert_eq!(pos.post("/retailsalesreturn", body).await.0, 201);
    assert_eq!(pos.emu.count("PUT", "/retail/back"), 3);
    let body = sales_return(
        "ret-4",
        empty,
        bare_agent,
        vec![position("prod-milk", "1", "100.00")],
    );
    assert_eq!(pos.post("/retailsalesreturn", body).await.0, 201);
    assert_eq!(pos.emu.count("PUT", "/retail/back"), 3);
    let session = pos.page_session(false).await;
    let (_, page) = pos
        .page(Method::GET, "/ui/api/operations", &session, None)
        .await;
    assert_eq!(page["needsAttention"][0]["number"], "R-ret-4", "{page}");
}

async fn an_unmatched_return_waits_for_an_administrator(db: TestDb) {
    let pos = Pos::start_with(db, Options::default(), quick).await;
    pos.emu.add_customer(&pos.key, "79035551010", dec("0"));
    let body = sale(
        "sale-to-match",
        json!({"meta": agent_meta(1010), "phone": "+79035551010"}),
        vec![position("prod-milk", "2", "100.00")],
    );
    assert_eq!(pos.post("/retaildemand", body).await.0, 201);
    let balance = || pos.emu.customer(&pos.key, "79035551010").unwrap().balance;
    wait_until(|| async { pos.emu.sales(&pos.key).len() == 1 }).await;
    assert_eq!(balance(), dec("10.00"));

    // A return that names no sale, of a counterparty we never saw: nothing is reversed...
    let unmatched = sales_return(
        "ret-lost",
        json!({"meta": {"href": "", "id": ""}}),
        json!({"id": counterparty(4242), "href": "h"}),
        vec![position("prod-milk", "1", "100.00")],
    );
    assert_eq!(
        pos.post("/retailsalesreturn", unmatched.clone()).await.0,
        201
    );
    assert_eq!(pos.emu.count("PUT", "/retail/back"), 0);

    // ...and the page shows it, with its number, moment, lines and sum.
    let admin = pos.page_session(true).await;
    let cashier = pos.page_session(false).await;
    let (status, page) = pos
        .page(Method::GET, "/ui/api/operations", &cashier, None)
        .await;
    assert_eq!(status, 200, "{page}");
    let waiting = &page["needsAttention"][0];
    assert_eq!(waiting["number"], "R-ret-lost", "{page}");
    assert_eq!(waiting["moment"], "2026-11-30 12:00:00");
    assert_eq!(waiting["sum"], "100.00");
    assert_eq!(waiting["lines"][0]["product"], "prod-milk");
    assert_eq!(waiting["lines"][0]["quantity"], "1");
    let return_id = waiting["id"].as_str().unwrap().to_owned();
    let sale_id = page["bookedSales"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(page["bookedSales"][0]["number"], "S-sale-to-match");

    // Only an administrator matches it.
    let path = format!("/ui/api/returns/{return_id}/match");
    let choice = json!({"saleId": sale_id});
    let (status, _) = pos
        .page(Method::POST, &path, &cashier, Some(choice.clone()))
        .await;
    assert_eq!(status, 403);
    let (status, error) = pos
        .page(
            Method::POST,
            &path,
            &admin,
            Some(json!({"saleId": "no-such-sale"})),
        )
        .await;
    assert_eq!((status, error["field"].as_str()), (422, Some("saleId")));

    // A double click (two requests at once) reverses it once.
    let (first, second) = tokio::join!(
        pos.page(Method::POST, &path, &admin, Some(choice.clone())),
        pos.page(Method::POST, &path, &admin, Some(choice.clone())),
    );
    assert_eq!((first.0, second.0), (200, 200), "{} {}", first.1, second.1);
    wait_until(|| async { pos.emu.count("PUT", "/retail/back") == 1 }).await;
    settled(&pos.app.state).await;
    assert_eq!(pos.emu.count("PUT", "/retail/back"), 1);
    assert_eq!(
        returns_sent(&pos.emu).into_iter().collect::<Vec<_>>(),
        vec![(sale_id.clone(), 1)],
        "the return sent to BonusPlus once"
    );
    assert_eq!(balance(), dec("5.00"));
    let (_, page) = pos.page(Method::POST, &path, &admin, Some(choice)).await;
    assert_eq!(page["needsAttention"], json!([]), "{page}");
    // MoySklad delivering the same return again changes nothing.
    assert_eq!(pos.post("/retailsalesreturn", unmatched).await.0, 201);
    assert_eq!(pos.emu.count("PUT", "/retail/back"), 1);
    let matched = pos.audited("return_matched").await;
    assert_eq!(matched.len(), 1, "{matched:?}");
    assert!(matched[0].0.contains("Анна Админ"));

    // Another one is closed without reversing anything.
    let other = sales_return(
        "ret-other",
        json!({"meta": {"href": "", "id": ""}}),
        json!({}),
        vec![position("prod-milk", "1", "100.00")],
    );
    assert_eq!(pos.post("/retailsalesreturn", other).await.0, 201);
    let (_, page) = pos
        .page(Method::GET, "/ui/api/operations", &admin, None)
        .await;
    let other_id = page["needsAttention"][0]["id"].as_str().unwrap().to_owned();
    let (status, page) = pos
        .page(
            Method::POST,
            &format!("/ui/api/returns/{other_id}/close"),
            &admin,
            None,
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["needsAttention"], json!([]));
    assert_eq!(pos.emu.count("PUT", "/retail/back"), 1);
}

async fn completed_amounts_are_booked_rounded(db: TestDb) {
    let pos = Pos::start_with(db, Options::default(), quick).await;
    pos.emu.add_customer(&pos.key, "79035551111", dec("0"));
    let weighed = position("prod-cheese", "2.0004", "10.00");
    let body = sale(
        "precise-sale",
        json!({"meta": agent_meta(1111), "phone": "+79035551111"}),
        vec![position("prod-1", "1", "99.999"), weighed],
    );
    let (status, answer) = pos.post("/retaildemand", body).await;
    assert_eq!(status, 201, "{answer}");
    wait_until(|| async { pos.emu.sales(&pos.key).len() == 1 }).await;
    let booked = &pos.emu.sales(&pos.key)[0];
    assert_eq!(booked.items[0].sum, dec("100.00"));
    assert_eq!(booked.items[1].sum, dec("20.00"));

    // The rounding is noted with the operation, on the page.
    let session = pos.page_session(false).await;
    let (_, page) = pos
        .page(Method::GET, "/ui/api/operations", &session, None)
        .await;
    let notes = page["noted"][0]["notes"].as_str().unwrap_or_default();
    assert!(notes.contains("цена 99.999 → 100.00"), "{page}");
    assert!(notes.contains("количество 2.0004 → 2.000"), "{page}");

    // Its return, as precise, finds the rounded line and reverses it.
    let body = sales_return(
        "precise-return",
        json!({"meta": {"href": "h", "id": "precise-sale"}}),
        json!({}),
        vec![position("prod-1", "1", "99.999")],
    );
    assert_eq!(pos.post("/retailsalesreturn", body).await.0, 201);
    assert_eq!(pos.emu.count("PUT", "/retail/back"), 1);
    assert_eq!(
        pos.emu.sales(&pos.key)[0].items[0].returned_sum,
        dec("100.00")
    );
}
