//! «Перенос покупателей» in a real headless Chromium: an administrator opens the settings page as
//! MoySklad opens it, asks for a preview (counts shown, nothing written to BonusPlus), chooses how
//! long the bonuses live, runs the import and reads the report; screenshots of the preview and the
//! report go to `target/screenshots/import-preview.png` and `import-report.png`.
//!
//! Skipped with a note when chromedriver is missing on a developer machine; on CI it must run.

use bonusbridge_testkit::browser::{save_screenshot, wait_for, wait_text, Driver};
use fantoccini::{Client, Locator};
use rust_decimal::Decimal;

use crate::import::{seed_every_kind, Shop};
use crate::support::{Backend, TestDb};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preview_run_and_report_in_headless_chromium() {
    let Some(driver) = Driver::start().await else {
        return;
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let shop = Shop::open(TestDb::new(Backend::Sqlite).await.expect("sqlite"), 0).await;
    seed_every_kind(&shop);
    shop.world
        .moysklad
        .add_context("ctx-import-browser", &shop.account, "Анна Админ", true);
    let client = driver.browser().await;
    let outcome = preview_then_run(&client, &shop).await;
    client.close().await.ok();
    outcome.expect("the page previewed and ran the import");
    assert_eq!(shop.balance("79011110001"), Some(Decimal::new(1400, 0)));
    assert_eq!(
        shop.balance("79011110012"),
        None,
        "archived: skipped by the form's default"
    );
}

async fn click(client: &Client, css: &str) -> Result<(), String> {
    client
        .find(Locator::Css(css))
        .await
        .map_err(|e| e.to_string())?
        .click()
        .await
        .map_err(|e| e.to_string())
}

/// The figure the report table shows for `label`.
async fn figure(client: &Client, label: &str) -> Result<String, String> {
    let script = "var rows = document.querySelectorAll('#import-rows tr');
        for (var i = 0; i < rows.length; i++) {
          if (rows[i].cells[0].textContent === arguments[0]) { return rows[i].cells[1].textContent; }
        }
        return null;";
    let value = client
        .execute(script, vec![serde_json::json!(label)])
        .await
        .map_err(|e| e.to_string())?;
    Ok(value.as_str().unwrap_or("—").to_owned())
}

async fn preview_then_run(client: &Client, shop: &Shop) -> Result<(), String> {
    let url = shop
        .world
        .app
        .url("/ui?contextKey=ctx-import-browser&appUid=x&userLocale=ru_RU");
    client.goto(&url).await.map_err(|e| e.to_string())?;
    wait_for(client, "#import-card:not([hidden])").await;
    wait_text(client, "#import-state", "ещё не запускался").await?;

    click(client, "#import-preview").await?;
    wait_text(client, "#import-state", "Предпросмотр: завершён").await?;
    wait_text(client, "#import-rows", "Новые для БонусПлюс").await?;
    assert_eq!(figure(client, "Новые для БонусПлюс").await?, "4");
    assert_eq!(figure(client, "Не подошли под фильтры").await?, "1");
    assert_eq!(
        figure(client, "Баллы к начислению: всего").await?,
        "1410.00"
    );
    let csv = client
        .find(Locator::Css("#import-csv"))
        .await
        .map_err(|e| e.to_string())?;
    assert!(csv.is_displayed().await.map_err(|e| e.to_string())?);
    assert_eq!(shop.calls("PATCH", "/customer/", "/balance"), 0);
    screenshot_import_card(client, "import-preview").await;

    // A run needs the bonuses' lifetime: refused without it, then chosen.
    click(client, "#import-run").await?;
    wait_text(client, "#import-error", "сгорают").await?;
    client
        .find(Locator::Css("#import-burns"))
        .await
        .map_err(|e| e.to_string())?
        .send_keys("180")
        .await
        .map_err(|e| e.to_string())?;
    click(client, "#import-run").await?;
    wait_text(client, "#import-state", "Перенос: завершён").await?;
    wait_text(client, "#import-rows", "Создано в БонусПлюс").await?;
    assert_eq!(figure(client, "Создано в БонусПлюс").await?, "4");
    assert_eq!(figure(client, "Начислено: всего").await?, "1410.00");
    screenshot_import_card(client, "import-report").await;
    Ok(())
}

/// A screenshot named `name` with the import card in view.
async fn screenshot_import_card(client: &Client, name: &str) {
    client
        .execute(
            "document.getElementById('import-card').scrollIntoView()",
            Vec::new(),
        )
        .await
        .ok();
    save_screenshot(client, name).await;
}
