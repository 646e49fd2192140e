//! «Проверить подключение» in a real headless Chromium: an administrator opens the settings page
//! as MoySklad opens it, clicks the button and reads every call with ✓ against the emulator; with
//! `customer/list` switched off, the same click shows ✗ with the status and the reason; an answer
//! that differed from an unconfirmed point is listed in «Требуют внимания».
//! Screenshots: `target/screenshots/doctor-ok.png` and `doctor-failed.png`.
//!
//! Skipped with a note when chromedriver is missing on a developer machine; on CI it must run.

use bonusbridge_testkit::browser::{save_screenshot, wait_for, wait_text, Driver};
use fantoccini::{Client, Locator};

use crate::import::Shop;
use crate::support::{Backend, TestDb};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_check_shows_each_call_in_headless_chromium() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let shop = Shop::open(TestDb::new(Backend::Sqlite).await.expect("sqlite"), 0).await;
    shop.world
        .moysklad
        .add_context("ctx-doctor-browser", &shop.account, "Анна Админ", true);
    let client = driver.browser().await;
    let outcome = check_twice(&client, &shop).await;
    client.close().await.ok();
    outcome.expect("the page ran the connection check");
}

/// The rows of the results table: mark, what, call, answer, reason.
async fn rows(client: &Client) -> Result<Vec<Vec<String>>, String> {
    let script = "return Array.prototype.map.call(document.querySelectorAll('#doctor-rows tr'),
        function (row) { return Array.prototype.map.call(row.cells, function (c) { return c.textContent; }); });";
    let value = client
        .execute(script, Vec::new())
        .await
        .map_err(|e| e.to_string())?;
    serde_json::from_value(value).map_err(|e| e.to_string())
}

async fn run_check(client: &Client, expected: &str) -> Result<Vec<Vec<String>>, String> {
    client
        .find(Locator::Css("#doctor-run"))
        .await
        .map_err(|e| e.to_string())?
        .click()
        .await
        .map_err(|e| e.to_string())?;
    wait_text(client, "#doctor-summary", expected).await?;
    client
        .execute(
            "document.getElementById('doctor-card').scrollIntoView()",
            Vec::new(),
        )
        .await
        .ok();
    rows(client).await
}

async fn check_twice(client: &Client, shop: &Shop) -> Result<(), String> {
    let url = shop
        .world
        .app
        .url("/ui?contextKey=ctx-doctor-browser&appUid=x&userLocale=ru_RU");
    client.goto(&url).await.map_err(|e| e.to_string())?;
    wait_for(client, "#doctor-card:not([hidden])").await;

    let all = run_check(client, "Все проверки пройдены").await?;
    let calls: Vec<&str> = all.iter().map(|row| row[2].as_str()).collect();
    assert_eq!(
        calls,
        [
            "GET account",
            "GET customer",
            "POST customer/list",
            "PUT retail/calc («Магазин 1»)"
        ]
    );
    assert!(all.iter().all(|row| row[0] == "✓"), "{all:?}");
    assert_eq!(all[0][3], "HTTP 200");
    save_screenshot(client, "doctor-ok").await;

    shop.world.emu.refuse_route("POST", "/customer/list", 404);
    let failed = run_check(client, "Не прошло проверок: 1 из 4").await?;
    let list = &failed[2];
    assert_eq!((list[0].as_str(), list[3].as_str()), ("✗", "HTTP 404"));
    assert!(
        list[4].contains("БонусПлюс не знает этот запрос"),
        "{list:?}"
    );
    save_screenshot(client, "doctor-failed").await;

    // An answer that differed from an unconfirmed point: one item in «Требуют внимания».
    shop.world
        .app
        .state
        .store
        .record_difference(&crate::support::unknown_error_code(&shop.account))
        .await
        .map_err(|e| e.to_string())?;
    shop.world
        .moysklad
        .add_context("ctx-doctor-browser-2", &shop.account, "Анна Админ", true);
    let url = shop
        .world
        .app
        .url("/ui?contextKey=ctx-doctor-browser-2&appUid=x&userLocale=ru_RU");
    client.goto(&url).await.map_err(|e| e.to_string())?;
    let text = wait_text(
        client,
        "#differences",
        "кодом ошибки, которого приложение не знает",
    )
    .await?;
    assert!(text.contains("GET customer → HTTP 412, раз: 1"), "{text}");
    assert!(
        text.contains("Что сделано: запрос считается отклонённым"),
        "{text}"
    );
    Ok(())
}
