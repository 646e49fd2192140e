//! The whole product in a real headless Chromium, as a user would click through the demo: the shop
//! (installed through the Vendor API at start) is configured on the settings page — key typed,
//! points of sale mapped, saved, product sync watched to its end; then the till page finds a
//! customer by phone, builds a receipt (a promoted product, a weighed one), spends bonuses, sells
//! and returns part of it. The emulator's balances and sales are checked at every step; screenshots
//! land in `target/screenshots/` (demo-settings.png, demo-pos-sale.png, demo-pos-return.png,
//! demo-settings-activity.png: the settings page with the day's sale and return).
//!
//! Only what works on the main branch today is relied on (search by phone, recalc, sale, return):
//! search by card and name and registration at checkout arrive with issues 14 and 15.
//! Skipped with a note when chromedriver is missing on a developer machine; on CI it must run.

use std::time::Duration;

use bonusbridge_demo::world::{product_id, BONUSPLUS_STORES, PROMOTED_PRODUCT, RETAIL_STORES};
use bonusbridge_demo::{Demo, DemoOptions};
use bonusbridge_testkit::browser::{save_screenshot, wait_for, wait_text, Driver};
use bonusplus_emulator::SaleSnapshot;
use fantoccini::{Client, Locator};
use rust_decimal::Decimal;

const PHONE: &str = "79011231122";
const CHEESE: u32 = 3;
const MILK: u32 = 1;

type Step = Result<(), String>;

/// As the page shows money: two decimals.
fn two(value: Decimal) -> String {
    let mut value = value.round_dp(2);
    value.rescale(2);
    value.to_string()
}

fn dec(text: &str) -> Decimal {
    text.trim()
        .parse()
        .unwrap_or_else(|_| panic!("not a decimal: «{text}»"))
}

async fn text(client: &Client, css: &str) -> Result<String, String> {
    let element = client
        .find(Locator::Css(css))
        .await
        .map_err(|e| e.to_string())?;
    element.text().await.map_err(|e| e.to_string())
}

async fn click(client: &Client, css: &str) -> Step {
    let element = client
        .find(Locator::Css(css))
        .await
        .map_err(|e| e.to_string())?;
    element.click().await.map_err(|e| e.to_string())
}

async fn type_into(client: &Client, css: &str, value: &str) -> Step {
    let element = client
        .find(Locator::Css(css))
        .await
        .map_err(|e| e.to_string())?;
    element.clear().await.map_err(|e| e.to_string())?;
    element.send_keys(value).await.map_err(|e| e.to_string())
}

/// Waits until the emulator's customer satisfies `check` (background reserves settle).
async fn until_customer(demo: &Demo, what: &str, check: impl Fn(Decimal, Decimal) -> bool) {
    for _ in 0..100 {
        let customer = demo
            .emulator
            .customer(&demo.bonusplus_key, PHONE)
            .expect("customer");
        if check(customer.balance, customer.reserved) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let customer = demo.emulator.customer(&demo.bonusplus_key, PHONE);
    panic!("{what}: {customer:?}");
}

fn the_sale(demo: &Demo) -> SaleSnapshot {
    let sales = demo.emulator.sales(&demo.bonusplus_key);
    assert_eq!(sales.len(), 1, "one sale booked: {sales:?}");
    sales.into_iter().next().expect("a sale")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn install_configure_sell_and_return_in_headless_chromium() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let demo = Demo::start(DemoOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        database: dir.path().join("demo.db"),
    })
    .await
    .expect("the demo starts");
    eprintln!("demo ready in {:?}", demo.started_in);

    let client = driver.browser_sized(1500, 1500).await;
    let configured = configure(&client, &demo).await;
    save_screenshot(&client, "demo-settings").await;
    configured.expect("the settings page saved the settings and synced the catalogue");
    for store in BONUSPLUS_STORES {
        // Three folders and twelve products in each mapped store.
        assert_eq!(
            demo.emulator
                .imported_products(&demo.bonusplus_key, store)
                .len(),
            15
        );
    }

    let spent = sell(&client, &demo).await;
    save_screenshot(&client, "demo-pos-sale").await;
    let spent = spent.expect("a sale with bonuses spent");
    let sale = the_sale(&demo);
    assert_eq!(sale.bonus_debit, spent);
    assert_eq!(
        sale.store, BONUSPLUS_STORES[0],
        "booked at the mapped store"
    );
    let after_sale = Decimal::from(500) - spent + sale.earned;
    until_customer(&demo, "after the sale", |balance, reserved| {
        balance == after_sale && reserved.is_zero()
    })
    .await;

    let returned = give_back_one_milk(&client, after_sale).await;
    save_screenshot(&client, "demo-pos-return").await;
    returned.expect("a partial return");
    let sale = the_sale(&demo);
    let taken_back: Decimal = sale.items.iter().map(|i| i.returned_cb).sum();
    let given_back: Decimal = sale.items.iter().map(|i| i.returned_db).sum();
    assert!(
        given_back > Decimal::ZERO,
        "spent bonuses of the returned milk come back"
    );
    let returned_lines = sale
        .items
        .iter()
        .filter(|i| !i.returned_purchase_ids.is_empty());
    assert_eq!(returned_lines.count(), 1, "only the milk line: {sale:?}");
    let after_return = after_sale - taken_back + given_back;
    until_customer(&demo, "after the return", |balance, _| {
        balance == after_return
    })
    .await;
    wait_text(&client, "#bp-balance", &two(after_return))
        .await
        .expect("the page shows the emulator's balance after the return");

    let activity = shop_owners_view(&client, &demo).await;
    save_screenshot(&client, "demo-settings-activity").await;
    activity.expect("the settings page shows the day's activity");

    client.close().await.ok();
    demo.stop().await.expect("the demo stops gracefully");
}

/// Back on the settings page after the day's work: the sale and the return are in the activity.
async fn shop_owners_view(client: &Client, demo: &Demo) -> Step {
    client
        .goto(&demo.settings_url)
        .await
        .map_err(|e| e.to_string())?;
    wait_text(client, "#activity-rows", "Продажи проведены").await?;
    for (metric, today) in [("salesBooked", "1"), ("returnsBooked", "1")] {
        let css = format!("#activity-rows tr[data-metric='{metric}'] td.today");
        let shown = wait_text(client, &css, today).await?;
        assert_eq!(shown.trim(), today, "{metric}");
    }
    Ok(())
}

/// The settings page as the shop's administrator uses it: key, mapping, save, sync.
async fn configure(client: &Client, demo: &Demo) -> Step {
    client
        .goto(&demo.settings_url)
        .await
        .map_err(|e| e.to_string())?;
    wait_for(client, "#settings:not([hidden])").await;
    assert_eq!(text(client, "#status").await?, "Требуется настройка");
    type_into(client, "#bonusplusKey", &demo.bonusplus_key).await?;
    for ((id, _), store) in RETAIL_STORES.iter().zip(BONUSPLUS_STORES) {
        wait_for(client, &format!("input[data-retail-store='{id}']")).await;
        type_into(client, &format!("input[data-retail-store='{id}']"), store).await?;
    }
    click(client, "#save").await?;
    let notice = wait_text(client, "#notice", "Настройки сохранены").await?;
    assert!(!notice.contains("Ошибка"), "{notice}");
    assert_eq!(text(client, "#status").await?, "Работает");
    let sync = wait_text(client, "#sync", "завершена").await?;
    assert!(sync.contains("100 %"), "{sync}");
    Ok(())
}

async fn add(client: &Client, product: u32, quantity: &str) -> Step {
    let select = client
        .find(Locator::Css("#product"))
        .await
        .map_err(|e| e.to_string())?;
    select
        .select_by_value(&product_id(product))
        .await
        .map_err(|e| e.to_string())?;
    type_into(client, "#quantity", quantity).await?;
    click(client, "#add").await
}

/// Finds the customer by phone, builds the receipt, spends the maximum, sells; answers the bonuses
/// spent as the page showed them.
async fn sell(client: &Client, demo: &Demo) -> Result<Decimal, String> {
    client
        .goto(&demo.pos_url)
        .await
        .map_err(|e| e.to_string())?;
    wait_for(client, "#till:not([hidden])").await;
    type_into(client, "#search", "8 (901) 123-11-22").await?;
    click(client, "#search-go").await?;
    wait_for(client, ".found-row")
        .await
        .click()
        .await
        .map_err(|e| e.to_string())?;
    wait_text(client, "#bp-balance", "500.00").await?;
    wait_text(client, "#ms-balance", "500.00").await?;

    add(client, PROMOTED_PRODUCT, "1").await?;
    add(client, CHEESE, "0.35").await?;
    add(client, MILK, "2").await?;
    wait_text(client, "#lines", "0.35 кг").await?;
    click(client, "#mode-spending").await?;
    click(client, "#recalc").await?;
    wait_for(client, "#bonus:not([hidden])").await;
    let spent = dec(&text(client, "#to-spend").await?);
    assert!(spent > Decimal::ZERO, "the maximum is spent");
    // The promotion of the synced product and the bonuses lower the prices.
    wait_for(client, "#lines td.discounted").await;
    until_customer(demo, "reserved by the recalc", |_, reserved| {
        reserved == spent
    })
    .await;
    wait_text(client, "#balance-history", "После пересчёта").await?;

    click(client, "#sell").await?;
    wait_text(client, "#notice", "Продажа 00001 проведена").await?;
    wait_for(client, "#return-card:not([hidden])").await;
    wait_text(client, "#balance-history", "После продажи").await?;
    wait_text(client, "#bp-sales", &format!("списано {}", two(spent))).await?;
    let log = text(client, "#log").await?;
    for call in [
        "/loyalty/retaildemand",
        "/loyalty/retaildemand/recalc",
        "/loyalty/counterparty",
    ] {
        assert!(log.contains(call), "{call} in the log: {log}");
    }
    Ok(spent)
}

/// Returns one of the two milks; checks the page shows the new balance.
async fn give_back_one_milk(client: &Client, after_sale: Decimal) -> Step {
    let shown = wait_text(client, "#bp-balance", &two(after_sale)).await?;
    assert_eq!(dec(&shown), after_sale);
    let rows = client
        .find_all(Locator::Css("#return-lines tr"))
        .await
        .map_err(|e| e.to_string())?;
    let mut milk = None;
    for row in rows {
        if row
            .text()
            .await
            .map_err(|e| e.to_string())?
            .contains("Молоко")
        {
            milk = Some(row);
        }
    }
    let milk = milk.ok_or("the milk line is in the return form")?;
    let input = milk
        .find(Locator::Css("input"))
        .await
        .map_err(|e| e.to_string())?;
    input.clear().await.map_err(|e| e.to_string())?;
    input.send_keys("1").await.map_err(|e| e.to_string())?;
    click(client, "#return").await?;
    wait_text(client, "#notice", "Возврат по продаже 00001 проведён").await?;
    wait_text(client, "#balance-history", "После возврата").await?;
    wait_text(client, "#bp-sales", "возвратом отменено").await?;
    let head = text(client, "#log .call").await?;
    assert!(
        head.contains("/loyalty/retailsalesreturn") && head.contains("201"),
        "{head}"
    );
    Ok(())
}
