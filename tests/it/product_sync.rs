//! Product sync end to end: a fake MoySklad JSON API with a catalogue of 2,500 products (three
//! pages), variants, services and folders; the BonusPlus emulator as the receiving side; the app's
//! workers doing the runs; the settings JSON API starting them and showing progress.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use bonusplus_emulator::FailureMode;
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::bookings::requests_to;
use crate::support::moysklad::{World, POS};
use crate::support::pos::{agent, dec, decimal_at, position};
use crate::support::wait::wait_until_within;
use crate::support::TestDb;

crate::on_both_backends!(
    first_run_imports_everything_then_only_changes,
    rate_limits_and_failures_mid_run_resume_without_duplicates,
    promotion_fires_only_once_the_product_is_synced,
    till_made_goods_get_their_products_promotion,
    schedule_asks_again_once_the_interval_has_passed,
    a_sync_that_cannot_run_says_why_and_parks_nothing,
);

/// The BonusPlus store the world's settings map the point of sale to.
const STORE: &str = "Магазин 1";
const FOLDERS: usize = 25;
const PRODUCTS: usize = 2_500;
const SERVICES: usize = 40;
const VARIANTS: usize = 500;
const CATALOGUE: usize = FOLDERS + PRODUCTS + SERVICES + VARIANTS;
const HREF: &str = "https://api.moysklad.ru/api/remap/1.2/entity";

fn id(kind: u8, n: usize) -> String {
    format!("{kind:08x}-0000-4000-8000-{n:012}")
}

fn folder_id(n: usize) -> String {
    id(1, n)
}

fn product_id(n: usize) -> String {
    id(2, n)
}

fn reference(entity: &str, id: &str) -> Value {
    json!({"meta": {"href": format!("{HREF}/{entity}/{id}"), "type": entity}})
}

/// Folders, products (each in a folder), services and variants (of the first products).
fn fill_catalogue(world: &World) {
    let ms = &world.moysklad;
    for n in 0..FOLDERS {
        ms.push_row(
            "productfolder",
            json!({"id": folder_id(n), "name": format!("Группа {n}"), "archived": false}),
        );
    }
    for n in 0..PRODUCTS {
        ms.push_row(
            "product",
            json!({
                "id": product_id(n), "name": format!("Товар {n}"), "archived": false,
                "productFolder": reference("productfolder", &folder_id(n % FOLDERS)),
            }),
        );
    }
    for n in 0..SERVICES {
        ms.push_row(
            "service",
            json!({"id": id(3, n), "name": format!("Услуга {n}"), "archived": false}),
        );
    }
    for n in 0..VARIANTS {
        ms.push_row(
            "variant",
            json!({
                "id": id(4, n), "name": format!("Товар {n} (красный)"), "archived": false,
                "product": reference("product", &product_id(n)),
            }),
        );
    }
}

/// An installed account whose administrator has a settings-page session.
struct Shop {
    world: World,
    session: String,
    loyalty_url: String,
    loyalty_token: String,
}

impl Shop {
    /// Installs the account and opens the page; `activate` then saves the settings.
    async fn install(world: World) -> (World, String) {
        let account = uuid::Uuid::new_v4().to_string();
        world.install(&account).await;
        world
            .moysklad
            .add_context("ctx-sync", &account, "Анна Админ", true);
        world
            .moysklad
            .add_context("ctx-cashier", &account, "Кассир", false);
        world.emu.add_store(&world.bp_key, STORE);
        let session = world.session("ctx-sync").await;
        (world, session)
    }

    /// Saving the settings activates the app, which asks for the first sync at once.
    async fn activate(world: World, session: String) -> Shop {
        let view = world
            .save_settings(&session, world.settings_body(Some(&world.bp_key)))
            .await;
        assert_eq!(view["account"]["status"], "Activated");
        let (loyalty_url, loyalty_token) = world.pushed_loyalty_endpoint();
        Shop {
            world,
            session,
            loyalty_url,
            loyalty_token,
        }
    }

    /// Installed and activated, its first sync done, and a customer (79011231122, no bonuses)
    /// in BonusPlus.
    async fn synced_with_a_customer(world: World) -> Shop {
        let (world, session) = Shop::install(world).await;
        let started = now_ms();
        let shop = Shop::activate(world, session).await;
        shop.wait_done(started).await;
        shop.world.emu.add_customer(
            &shop.world.bp_key,
            "79011231122",
            rust_decimal::Decimal::ZERO,
        );
        shop
    }

    async fn sync_status(&self) -> Value {
        let (status, body) = self
            .world
            .ui(Method::GET, "/ui/api/sync", &self.session, None)
            .await;
        assert_eq!(status, 200, "{body}");
        body["lastSync"].clone()
    }

    /// Asks for a sync as the page's button does.
    async fn request_sync(&self) -> Value {
        let (status, body) = self
            .world
            .ui(Method::POST, "/ui/api/sync", &self.session, None)
            .await;
        assert_eq!(status, 202, "{body}");
        body
    }

    /// Polls the settings API until a run started at or after `since` is done; returns it and
    /// every state seen on the way.
    async fn wait_done(&self, since: i64) -> (Value, Vec<Value>) {
        let mut seen = Vec::new();
        for _ in 0..1200 {
            let run = self.sync_status().await;
            let current = run["startedAt"].as_i64().is_some_and(|at| at >= since);
            if current {
                match run["state"].as_str() {
                    Some("done") => return (run, seen),
                    Some("failed") => panic!("sync failed: {run}"),
                    _ => seen.push(run),
                }
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("sync not done in 30 s: {}", self.sync_status().await);
    }

    fn import_requests(&self) -> Vec<Value> {
        requests_to(&self.world.emu, "POST", "/product/import")
            .into_iter()
            .map(|r| r.body)
            .collect()
    }

    async fn recalc(&self, product: &str) -> Value {
        let body = json!({
            "retailStore": {"meta": {"href": format!("{HREF}/retailstore/{POS}"), "id": POS}},
            "agent": agent("c0ffee00-0000-0000-0000-000000000001", "+79011231122"),
            "positions": [position(product, "1", "100.00")],
            "bonusProgram": {"transactionType": "EARNING"},
        });
        let response = self
            .world
            .app
            .http
            .post(format!("{}/retaildemand/recalc", self.loyalty_url))
            .header("Lognex-Discount-API-Auth-Token", &self.loyalty_token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 200, "{body}");
        body
    }
}

fn now_ms() -> i64 {
    bonusbridge::store::now_ms()
}

/// Product ids of every `POST /product/import` body, in order.
fn sent_ids(requests: &[Value]) -> Vec<String> {
    requests
        .iter()
        .flat_map(|body| body["products"].as_array().unwrap().iter())
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn first_run_imports_everything_then_only_changes(db: TestDb) {
    let world = World::start(db).await;
    fill_catalogue(&world);
    // Slow pages, so the run can be watched in progress.
    world.moysklad.set_page_delay(Duration::from_millis(150));
    let (world, session) = Shop::install(world).await;
    let started = now_ms();
    let shop = Shop::activate(world, session).await;
    let (run, seen) = shop.wait_done(started).await;

    // Everything imported once, in batches BonusPlus accepts, variants in their product's group.
    assert_eq!(run["total"], CATALOGUE);
    assert_eq!(run["processed"], CATALOGUE);
    assert_eq!(run["sent"], CATALOGUE);
    assert_eq!(run["percent"], 100);
    let imported = shop.world.emu.imported_products(&shop.world.bp_key, STORE);
    assert_eq!(imported.len(), CATALOGUE);
    let requests = shop.import_requests();
    let ids = sent_ids(&requests);
    assert_eq!(ids.len(), CATALOGUE, "nothing sent twice");
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), CATALOGUE);
    assert!(requests
        .iter()
        .all(|r| r["products"].as_array().unwrap().len() <= 500 && r["store"] == STORE));
    let variant = requests
        .iter()
        .flat_map(|r| r["products"].as_array().unwrap().iter())
        .find(|p| p["id"] == id(4, 7).as_str())
        .unwrap()
        .clone();
    assert_eq!(variant["pid"], folder_id(7).as_str());
    assert_eq!(variant["g"], false);

    // Three pages of products, each read once.
    let product_pages: Vec<u64> = shop
        .world
        .moysklad
        .served()
        .iter()
        .filter(|s| s.entity == "product" && s.limit > 1)
        .map(|s| s.offset)
        .collect();
    assert_eq!(product_pages, vec![0, 1000, 2000]);

    // The page saw the run in progress, with counts and a percentage.
    let midway = seen
        .iter()
        .find(|r| {
            r["state"] == "running"
                && r["total"] == CATALOGUE
                && (1..100).contains(&r["percent"].as_i64().unwrap())
        })
        .unwrap_or_else(|| panic!("no progress seen: {seen:?}"));
    let processed = midway["processed"].as_i64().unwrap();
    assert_eq!(
        midway["percent"].as_i64().unwrap(),
        processed * 100 / CATALOGUE as i64
    );
    let (_, view) = shop
        .world
        .ui(Method::GET, "/ui/api/settings", &shop.session, None)
        .await;
    assert_eq!(view["lastSync"]["state"], "done");
    assert_eq!(view["lastSync"]["percent"], 100);

    // Three products change in MoySklad: the next run sends exactly those three.
    shop.world.moysklad.set_page_delay(Duration::ZERO);
    let changed = [product_id(5), product_id(1500), product_id(2499)];
    for id in &changed {
        assert!(shop.world.moysklad.edit_row("product", id, |row| {
            row["name"] = json!(format!("{} — новая цена", row["name"].as_str().unwrap()));
        }));
    }
    shop.world.emu.clear_requests();
    let started = now_ms();
    let answer = shop.request_sync().await;
    assert_eq!(answer["started"], true);
    let (run, _) = shop.wait_done(started).await;
    assert_eq!(run["sent"], 3);
    let mut sent = sent_ids(&shop.import_requests());
    sent.sort();
    assert_eq!(sent, changed.to_vec());
    let imported = shop.world.emu.imported_products(&shop.world.bp_key, STORE);
    assert_eq!(imported.len(), CATALOGUE);
    let renamed = imported.iter().find(|p| p.id == product_id(1500)).unwrap();
    assert!(renamed.name.ends_with("новая цена"), "{renamed:?}");

    // Nothing changed: nothing sent.
    shop.world.emu.clear_requests();
    let started = now_ms();
    shop.request_sync().await;
    let (run, _) = shop.wait_done(started).await;
    assert_eq!(run["sent"], 0);
    assert!(shop.import_requests().is_empty());

    // A cashier sees the progress but cannot start a run.
    let (status, cashier) = shop.world.open_session("ctx-cashier").await;
    assert_eq!(status, 200);
    let cashier = cashier["sessionToken"].as_str().unwrap();
    let (status, _) = shop
        .world
        .ui(Method::GET, "/ui/api/sync", cashier, None)
        .await;
    assert_eq!(status, 200);
    let (status, refused) = shop
        .world
        .ui(Method::POST, "/ui/api/sync", cashier, None)
        .await;
    assert_eq!(status, 403, "{refused}");
}

async fn rate_limits_and_failures_mid_run_resume_without_duplicates(db: TestDb) {
    let world = World::start(db).await;
    fill_catalogue(&world);
    let ms = &world.moysklad;
    // A 429 in the middle of the products, a MoySklad outage on their last page.
    ms.fault_page("product", 1000, &[429]);
    ms.fault_page("product", 2000, &[503]);
    ms.set_page_delay(Duration::from_millis(100));
    let (world, session) = Shop::install(world).await;
    let started = now_ms();
    let shop = Shop::activate(world, session).await;

    // BonusPlus fails one import once the first page of products has been read.
    let mut run_started_at = Value::Null;
    for _ in 0..400 {
        let run = shop.sync_status().await;
        if run["processed"].as_u64().unwrap_or(0) > FOLDERS as u64 {
            shop.world.emu.fail_next(1, FailureMode::Status500);
            run_started_at = run["startedAt"].clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        !run_started_at.is_null(),
        "the run never got past the folders"
    );
    let (run, _) = shop.wait_done(started).await;
    assert_eq!(run["errors"], 2, "{run}");
    assert_eq!(run["sent"], CATALOGUE);

    // The 429 was waited out; the failed pages were asked again, pages already read were not.
    let served = shop.world.moysklad.served();
    let statuses = |entity: &str, offset: u64| -> Vec<u16> {
        served
            .iter()
            .filter(|s| s.entity == entity && s.offset == offset && s.limit > 1)
            .map(|s| s.status)
            .collect()
    };
    assert_eq!(statuses("product", 0), vec![200]);
    // Page 1000: the 429, then read again after BonusPlus refused its import.
    assert_eq!(statuses("product", 1000), vec![429, 200, 200]);
    assert_eq!(statuses("product", 2000), vec![503, 200]);
    assert_eq!(statuses("variant", 0), vec![200]);
    assert_eq!(statuses("productfolder", 0), vec![200]);

    // Every row accepted exactly once: only the batch BonusPlus refused was sent again.
    let requests = shop.import_requests();
    let ids = sent_ids(&requests);
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for id in &ids {
        *counts.entry(id.as_str()).or_default() += 1;
    }
    assert_eq!(counts.len(), CATALOGUE);
    let twice: HashSet<&str> = counts
        .iter()
        .filter(|(_, n)| **n == 2)
        .map(|(id, _)| *id)
        .collect();
    assert!(counts.values().all(|n| *n <= 2));
    let refused_batch = requests
        .iter()
        .map(|r| sent_ids(std::slice::from_ref(r)))
        .find(|batch| batch.iter().any(|id| twice.contains(id.as_str())))
        .expect("one batch was refused and sent again");
    assert_eq!(
        twice,
        refused_batch
            .iter()
            .map(String::as_str)
            .collect::<HashSet<_>>()
    );
    assert_eq!(
        shop.world
            .emu
            .imported_products(&shop.world.bp_key, STORE)
            .len(),
        CATALOGUE
    );
    // One run, resumed after each failure: not a new full import per attempt.
    assert_eq!(run["startedAt"], run_started_at);
}

async fn promotion_fires_only_once_the_product_is_synced(db: TestDb) {
    let world = World::start(db).await;
    world.moysklad.push_row(
        "product",
        json!({"id": product_id(1), "name": "Хлеб", "archived": false}),
    );
    let shop = Shop::synced_with_a_customer(world).await;
    let (world, key) = (&shop.world, shop.world.bp_key.as_str());

    // A new cheese in MoySklad with a BonusPlus promotion: unknown to BonusPlus, no discount.
    let cheese = product_id(42);
    world.moysklad.push_row(
        "product",
        json!({"id": cheese, "name": "Сыр", "archived": false}),
    );
    world
        .emu
        .add_promotion(key, STORE, &cheese, dec("10"), "Сыр −10 %");
    let before = shop.recalc(&cheese).await;
    assert_eq!(
        decimal_at(&before["positions"][0]["discountedPrice"]),
        dec("100")
    );

    // After the sync BonusPlus knows the product: the till gets the promotion.
    let started = now_ms();
    shop.request_sync().await;
    let (run, _) = shop.wait_done(started).await;
    assert_eq!(run["sent"], 1);
    let after = shop.recalc(&cheese).await;
    assert_eq!(
        decimal_at(&after["positions"][0]["discountedPrice"]),
        dec("90")
    );
}

/// A good created at the till reaches MoySklad with a `syncId`; the till names it by that id
/// (`idType: "sync"`). Product sync records it beside the product's id, so BonusPlus is told the
/// imported product and its promotion fires, at the recalculation and in the booked sale.
async fn till_made_goods_get_their_products_promotion(db: TestDb) {
    let world = World::start(db).await;
    let pie = product_id(7);
    let sync_id = "5c7d0000-0000-4000-8000-000000000007";
    world.moysklad.push_row(
        "product",
        json!({"id": pie, "syncId": sync_id, "name": "Пирог с кассы", "archived": false}),
    );
    let shop = Shop::synced_with_a_customer(world).await;
    let (world, key) = (&shop.world, shop.world.bp_key.as_str());
    world
        .emu
        .add_promotion(key, STORE, &pie, dec("10"), "Пирог −10 %");
    let till_made = |extra: Value| {
        let mut assortment = json!({"meta": {
            "href": format!("https://api.moysklad.ru/api/posap/1.0/entity/product/syncid/{sync_id}"),
            "id": sync_id, "idType": "sync", "type": "product"}});
        if let Value::Object(extra) = extra {
            assortment.as_object_mut().unwrap().extend(extra);
        }
        json!({"assortment": assortment, "quantity": 1, "price": 100.00})
    };
    let call = |path: &str, body: Value| {
        shop.world
            .app
            .http
            .post(format!("{}{path}", shop.loyalty_url))
            .header("Lognex-Discount-API-Auth-Token", &shop.loyalty_token)
            .json(&body)
            .send()
    };
    let body = json!({
        "retailStore": {"meta": {"href": format!("{HREF}/retailstore/{POS}"), "id": POS}},
        "agent": agent("c0ffee00-0000-0000-0000-000000000001", "+79011231122"),
        "positions": [till_made(Value::Null)],
        "bonusProgram": {"transactionType": "EARNING"},
    });
    let response = call("/retaildemand/recalc", body).await.unwrap();
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(
        decimal_at(&answer["positions"][0]["discountedPrice"]),
        dec("90"),
        "{answer}"
    );
    assert_eq!(
        answer["positions"][0]["assortment"]["meta"]["id"], sync_id,
        "echoed as sent"
    );

    // The sale names the same product to BonusPlus (here with the syncId beside the sync id).
    let sale = json!({
        "retailStore": {"meta": {"href": format!("{HREF}/retailstore/{POS}"), "id": POS}},
        "meta": {"href": "h", "id": "till-made-sale"},
        "agent": agent("c0ffee00-0000-0000-0000-000000000001", "+79011231122"),
        "positions": [till_made(json!({"syncId": sync_id}))],
    });
    let response = call("/retaildemand", sale).await.unwrap();
    assert_eq!(response.status(), 201);
    world.app.state.outbox.deliveries_settled().await;
    let sales = world.emu.sales(key);
    assert_eq!(sales[0].items[0].product.as_deref(), Some(pie.as_str()));
    assert_eq!(
        sales[0].items[0].cb,
        dec("4.50"),
        "5 % of the promoted 90, not of 100"
    );
}

async fn schedule_asks_again_once_the_interval_has_passed(db: TestDb) {
    let world = World::start_with(db, |s| s.sync.interval_secs = 2).await;
    world.moysklad.push_row(
        "product",
        json!({"id": product_id(1), "name": "Хлеб", "archived": false}),
    );
    let (world, session) = Shop::install(world).await;
    let started = now_ms();
    let shop = Shop::activate(world, session).await;
    let (first, _) = shop.wait_done(started).await;
    let sync = &shop.world.app.state.sync;

    // Inside the interval nothing is due; after it, the account is asked again.
    assert_eq!(
        bonusbridge::sync::enqueue_due(sync, Duration::from_secs(60))
            .await
            .unwrap(),
        0
    );
    // Once the 2 s have passed it is due: asked until then (a bounded wait, not a sleep).
    let mut due_at = now_ms();
    wait_until_within(Duration::from_secs(10), || {
        due_at = now_ms();
        async {
            let enqueued = bonusbridge::sync::enqueue_due(sync, Duration::from_secs(60))
                .await
                .unwrap();
            assert!(enqueued <= 1, "{enqueued}");
            enqueued == 1
        }
    })
    .await;
    let (second, _) = shop.wait_done(due_at).await;
    assert_ne!(second["startedAt"], first["startedAt"]);
    assert_eq!(second["sent"], 0);
}

async fn a_sync_that_cannot_run_says_why_and_parks_nothing(db: TestDb) {
    let world = World::start(db).await;
    // Installed without a JSON API token: the catalogue cannot be read.
    let account = uuid::Uuid::new_v4().to_string();
    let (status, _, body) = world
        .vendor(
            Method::PUT,
            &account,
            crate::support::moysklad::install_body("Install", false),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    world
        .moysklad
        .add_context("ctx-no-token", &account, "Анна Админ", true);
    world.emu.add_store(&world.bp_key, STORE);
    let session = world.session("ctx-no-token").await;
    let started = now_ms();
    let shop = Shop::activate(world, session).await;

    let mut run = Value::Null;
    for _ in 0..400 {
        run = shop.sync_status().await;
        if run["state"] == "failed" && run["startedAt"].as_i64().unwrap_or(0) >= started {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(run["state"], "failed", "{run}");
    assert!(
        run["lastError"].as_str().unwrap().contains("JSON API"),
        "{run}"
    );
    // The page's business, not the delivery backlog's.
    let backlog = shop
        .world
        .app
        .state
        .store
        .job_backlog(None, None)
        .await
        .unwrap();
    assert_eq!((backlog.ready, backlog.running, backlog.failed), (0, 0, 0));
}
