//! The settings page in a real headless Chromium (Debian's `chromium` + `chromedriver`): opened the
//! way MoySklad opens it, filled in, saved; the first product sync is watched to its end and one
//! more is started with the page's button; a return is matched; after a few sales (one refused by
//! BonusPlus and retried with the page's button) the activity shows its figures and bar charts;
//! the saved state is checked and a screenshot is written to `target/screenshots/settings.png`.
//!
//! Skipped with a note when chromedriver is missing on a developer machine; on CI it must run.

use std::path::{Path, PathBuf};

use bonusbridge_testkit::browser::{wait_for, wait_text, Driver};
use fantoccini::{Client, Locator};
use reqwest::Method;
use serde_json::json;

use crate::support::moysklad::{World, POS};
use crate::support::{settings, Backend, TestDb};

fn screenshot_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots/settings.png")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_page_in_headless_chromium() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let world = World::start(TestDb::new(Backend::Sqlite).await.expect("sqlite")).await;
    let account = uuid::Uuid::new_v4().to_string();
    world.install(&account).await;
    world
        .moysklad
        .add_context("ctx-browser", &account, "Анна Админ", true);
    world.emu.add_store(&world.bp_key, "Магазин 1");
    for n in 0..30 {
        world.moysklad.push_row(
            "product",
            json!({"id": format!("00000002-0000-4000-8000-{n:012}"), "name": format!("Товар {n}")}),
        );
    }

    let client = driver.browser().await;
    let mut outcome = fill_and_save(&client, &world).await;
    if outcome.is_ok() {
        outcome = match_a_return(&client, &world).await;
    }
    if outcome.is_ok() {
        outcome = show_activity(&client, &world).await;
    }
    // The activity (and what needs attention) in the picture, not whatever was clicked last.
    client
        .execute("window.scrollTo(0, 0)", Vec::new())
        .await
        .ok();
    let png = client.screenshot().await.expect("screenshot");
    std::fs::create_dir_all(screenshot_path().parent().unwrap()).unwrap();
    std::fs::write(screenshot_path(), png).unwrap();
    client.close().await.ok();
    outcome.expect("the page saved the settings");

    // What the page saved is what the account now has, and MoySklad got the LoyaltyAPI settings.
    let settings = world.stored_settings(&account).await.unwrap();
    assert!(settings.bonusplus_key_enc.is_some());
    assert_eq!(settings.reserve_ttl_secs, 20 * 60);
    assert_eq!(settings.store_map, json!({ POS: "Магазин 1" }).to_string());
    assert_eq!(settings.code_delivery, "own");
    assert_eq!(settings.code_message, "Ваш код для кассы: {code}");
    assert!(world.moysklad.last(Method::PUT, "/loyalty").is_some());
}

/// The code settings: the defaults shown, the text used only for the app's own codes, a text of
/// the shop's own.
async fn choose_code_settings(client: &Client) -> Result<(), String> {
    let delivery = client
        .find(Locator::Css("#codeDelivery"))
        .await
        .map_err(|e| e.to_string())?;
    let message = client
        .find(Locator::Css("#codeMessage"))
        .await
        .map_err(|e| e.to_string())?;
    let value = |element: fantoccini::elements::Element| async move {
        element.prop("value").await.map_err(|e| e.to_string())
    };
    assert_eq!(value(delivery.clone()).await?.as_deref(), Some("own"));
    assert_eq!(
        value(message.clone()).await?.as_deref(),
        Some("Код для кассы: {code}")
    );
    delivery
        .select_by_value("bonusplus")
        .await
        .map_err(|e| e.to_string())?;
    assert!(
        !message.is_enabled().await.map_err(|e| e.to_string())?,
        "the text serves only the app's own codes"
    );
    delivery
        .select_by_value("own")
        .await
        .map_err(|e| e.to_string())?;
    assert!(message.is_enabled().await.map_err(|e| e.to_string())?);
    message.clear().await.map_err(|e| e.to_string())?;
    message
        .send_keys("Ваш код для кассы: {code}")
        .await
        .map_err(|e| e.to_string())
}

async fn fill_and_save(client: &Client, world: &World) -> Result<(), String> {
    client
        .goto(
            &world
                .app
                .url("/ui?contextKey=ctx-browser&appUid=x&userLocale=ru_RU"),
        )
        .await
        .map_err(|e| e.to_string())?;
    wait_for(client, "#settings:not([hidden])").await;
    let status = wait_for(client, "#status")
        .await
        .text()
        .await
        .map_err(|e| e.to_string())?;
    assert_eq!(status, "Требуется настройка");

    let readonly = client
        .find(Locator::Css("#readonly"))
        .await
        .map_err(|e| e.to_string())?;
    assert!(
        !readonly.is_displayed().await.map_err(|e| e.to_string())?,
        "an administrator may edit"
    );
    let key = client
        .find(Locator::Css("#bonusplusKey"))
        .await
        .map_err(|e| e.to_string())?;
    key.send_keys(&world.bp_key)
        .await
        .map_err(|e| e.to_string())?;
    let store = wait_for(client, &format!("input[data-retail-store='{POS}']")).await;
    store
        .send_keys("Магазин 1")
        .await
        .map_err(|e| e.to_string())?;
    let ttl = client
        .find(Locator::Css("#reserveTtlMinutes"))
        .await
        .map_err(|e| e.to_string())?;
    ttl.clear().await.map_err(|e| e.to_string())?;
    ttl.send_keys("20").await.map_err(|e| e.to_string())?;
    choose_code_settings(client).await?;
    client
        .find(Locator::Css("#save"))
        .await
        .map_err(|e| e.to_string())?
        .click()
        .await
        .map_err(|e| e.to_string())?;

    let notice = wait_for(client, "#notice.ok:not([hidden])").await;
    let text = notice.text().await.map_err(|e| e.to_string())?;
    assert!(text.contains("Настройки сохранены"), "{text}");
    assert!(
        client.find(Locator::Css(".notice.error")).await.is_err(),
        "no error shown"
    );
    let status = client
        .find(Locator::Css("#status"))
        .await
        .map_err(|e| e.to_string())?;
    assert_eq!(status.text().await.map_err(|e| e.to_string())?, "Работает");
    let placeholder = key.attr("placeholder").await.map_err(|e| e.to_string())?;
    assert_eq!(placeholder.as_deref(), Some("•••••••• ключ сохранён"));

    // Activation asked for the first product sync: the page follows it to the end.
    let text = wait_text(client, "#sync", "завершена").await?;
    assert!(
        text.contains("100 %") && text.contains("отправлено в БонусПлюс 30"),
        "{text}"
    );
    // And the button asks for another one (nothing changed: nothing sent).
    client
        .find(Locator::Css("#sync-now"))
        .await
        .map_err(|e| e.to_string())?
        .click()
        .await
        .map_err(|e| e.to_string())?;
    let notice = wait_text(client, "#notice", "Синхронизация").await?;
    assert!(notice.contains("запущена"), "{notice}");
    wait_text(client, "#sync", "отправлено в БонусПлюс 0").await?;
    wait_text(client, "#sync", "завершена").await?;
    Ok(())
}

/// The till's LoyaltyAPI as MoySklad reaches it: the local address and the token pushed.
fn till(world: &World) -> Result<(String, String), String> {
    world
        .moysklad
        .last(Method::PUT, "/loyalty")
        .ok_or("no PUT loyalty")?;
    Ok(world.pushed_loyalty_endpoint())
}

/// Posts to the till's LoyaltyAPI; anything but 201 is an error.
async fn till_post(world: &World, path: &str, body: serde_json::Value) -> Result<(), String> {
    let (base, token) = till(world)?;
    let status = world
        .app
        .http
        .post(format!("{base}{path}"))
        .header("Lognex-Discount-API-Auth-Token", &token)
        .json(&body)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .status();
    if status != 201 {
        return Err(format!("{path} answered {status}"));
    }
    Ok(())
}

/// A return whose sale was not found shows on the page; the administrator matches it to the sale
/// with the page's button, and it is reversed once.
async fn match_a_return(client: &Client, world: &World) -> Result<(), String> {
    world
        .emu
        .add_customer(&world.bp_key, "79011231122", rust_decimal::Decimal::ZERO);
    let store = json!({"meta": {"href": "h", "id": POS}});
    let line = json!([{"assortment": {"meta": {"href": "h", "id": "milk"}}, "quantity": 1, "price": 100.00}]);
    let calls = [
        (
            "/retaildemand",
            json!({"retailStore": store, "meta": {"href": "h", "id": "browser-sale"}, "name": "00077",
            "agent": {"meta": {"href": "h", "id": "cp-1"}, "phone": "+79011231122"}, "positions": line}),
        ),
        (
            "/retailsalesreturn",
            json!({"retailStore": store, "meta": {"href": "h", "id": "browser-return"},
            "name": "В-0042", "moment": "2026-11-30 12:00:00", "demand": {"meta": {"href": "", "id": ""}},
            "agent": {"id": "cp-unknown"}, "positions": line}),
        ),
    ];
    for (path, body) in calls {
        till_post(world, path, body).await?;
    }
    client
        .goto(&world.app.url("/ui?contextKey=ctx-browser"))
        .await
        .map_err(|e| e.to_string())?;
    wait_text(client, "#attention", "В-0042").await?;
    wait_for(client, "#attention button.match").await;
    client
        .find(Locator::Css("#attention button.match"))
        .await
        .map_err(|e| e.to_string())?
        .click()
        .await
        .map_err(|e| e.to_string())?;
    wait_text(client, "#notice", "сопоставлен").await?;
    wait_text(client, "#attention", "Нет").await?;
    if world.emu.count("PUT", "/retail/back") != 1 {
        return Err("the matched return was not reversed once".into());
    }
    Ok(())
}

/// Registration at the till on or off, saved by the administrator through the settings page's
/// JSON API (`PUT /ui/api/settings`, every other field as shown).
async fn create_customers(world: &World, on: bool) {
    let session = world.session("ctx-browser").await;
    settings::change(&world.app, &session, json!({"createCustomers": on})).await;
}

/// The cell of one activity figure: `today` or `total`.
async fn figure(client: &Client, metric: &str, which: &str) -> Result<String, String> {
    client
        .find(Locator::Css(&format!(
            "#activity-rows tr[data-metric='{metric}'] td.{which}"
        )))
        .await
        .map_err(|e| e.to_string())?
        .text()
        .await
        .map_err(|e| e.to_string())
}

/// A day's worth of activity: a sale spending bonuses and one BonusPlus refuses (the customer is
/// new, registration at the till off). The page shows both in the activity — numbers and a bar
/// chart per figure — and the refusal under «Требуют внимания» with what to do; the administrator
/// switches registration on and presses «Повторить»: the sale is booked, its customer registered.
async fn show_activity(client: &Client, world: &World) -> Result<(), String> {
    world.emu.add_customer(
        &world.bp_key,
        "79011231133",
        rust_decimal::Decimal::from(300),
    );
    let store = json!({"meta": {"href": "h", "id": POS}});
    let lines = json!([{"assortment": {"meta": {"href": "h", "id": "coffee"}}, "quantity": 2, "price": 250.00}]);
    till_post(
        world,
        "/retaildemand",
        json!({"retailStore": store, "meta": {"href": "h", "id": "browser-spend"},
        "name": "00078", "agent": {"meta": {"href": "h", "id": "cp-2"}, "phone": "+79011231133"},
        "positions": lines, "bonusProgram": {"bonusValueToSpend": 20, "bonusValueToEarn": 24}}),
    )
    .await?;
    create_customers(world, false).await;
    till_post(
        world,
        "/retaildemand",
        json!({"retailStore": store, "meta": {"href": "h", "id": "browser-refused"},
        "name": "00079", "agent": {"meta": {"href": "h", "id": "cp-3"}, "phone": "+79011231144"},
        "positions": lines, "bonusProgram": {"bonusValueToEarn": 25}}),
    )
    .await?;

    client
        .goto(&world.app.url("/ui?contextKey=ctx-browser"))
        .await
        .map_err(|e| e.to_string())?;
    wait_text(client, "#activity-rows", "Продажи проведены").await?;
    assert_eq!(figure(client, "salesBooked", "today").await?, "2");
    assert_eq!(figure(client, "returnsBooked", "today").await?, "1");
    assert_eq!(
        figure(client, "bonusesSpentKopecks", "today").await?,
        "20,00"
    );
    assert_eq!(
        figure(client, "bonusesEarnedKopecks", "total").await?,
        "24,00"
    );
    assert_eq!(figure(client, "deliveriesFailed", "today").await?, "1");
    let bars = client
        .find_all(Locator::Css("#activity-rows svg.bars rect.bar"))
        .await
        .map_err(|e| e.to_string())?;
    assert_eq!(bars.len(), 6 * 14, "a bar per day for every figure");
    let today = client
        .find(Locator::Css(
            "#activity-rows tr[data-metric='salesBooked'] svg rect.bar:last-child",
        ))
        .await
        .map_err(|e| e.to_string())?;
    assert_eq!(
        today
            .attr("data-value")
            .await
            .map_err(|e| e.to_string())?
            .as_deref(),
        Some("2")
    );
    let height: u32 = today
        .attr("height")
        .await
        .map_err(|e| e.to_string())?
        .and_then(|h| h.parse().ok())
        .ok_or("a bar without a height")?;
    assert!(height > 1, "today's bar is drawn: {height}");

    let refused = wait_text(client, "#failed-list", "00079").await?;
    assert!(
        refused.contains("регистрация на кассе выключена"),
        "{refused}"
    );
    assert!(refused.contains("Что сделать"), "{refused}");
    create_customers(world, true).await;
    client
        .find(Locator::Css("#failed-list button.retry"))
        .await
        .map_err(|e| e.to_string())?
        .click()
        .await
        .map_err(|e| e.to_string())?;
    wait_text(client, "#notice", "повторно").await?;
    wait_text(client, "#failed-list", "Нет").await?;
    wait_text(
        client,
        "#activity-rows tr[data-metric='salesBooked'] td.today",
        "3",
    )
    .await?;
    assert_eq!(figure(client, "customersRegistered", "today").await?, "1");
    assert_eq!(figure(client, "deliveriesFailed", "today").await?, "0");
    if world.emu.sales(&world.bp_key).len() != 3 {
        return Err("the retried sale was not booked once".into());
    }
    // The journal, reopened, tells it in Russian.
    client
        .goto(&world.app.url("/ui?contextKey=ctx-browser"))
        .await
        .map_err(|e| e.to_string())?;
    let journal = wait_text(client, "#audit", "Повторная отправка в БонусПлюс").await?;
    assert!(journal.contains("продажа № 00079"), "{journal}");
    assert!(journal.contains("Настройки сохранены"), "{journal}");
    wait_text(
        client,
        "#activity-rows tr[data-metric='salesBooked'] td.total",
        "3",
    )
    .await?;
    Ok(())
}
