//! The settings page's own rules: sessions only from MoySklad's context, input checked field by
//! field, the BonusPlus key checked on documented ground, the code settings validated.

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::bookings::requests_to;
use crate::support::moysklad::World;
use crate::support::TestDb;

crate::on_both_backends!(
    settings_page_refuses_bad_sessions_and_input,
    key_check_on_documented_ground,
    code_settings_are_validated,
);

async fn settings_page_refuses_bad_sessions_and_input(db: TestDb) {
    let world = World::start(db).await;
    let account = uuid::Uuid::new_v4().to_string();
    world.install(&account).await;
    world.moysklad.add_context("ctx", &account, "Админ", true);

    let (status, error) = world.open_session("unknown-key").await;
    assert_eq!(status, 401, "{error}");
    assert!(error["error"].as_str().unwrap().contains("заново"));
    let (status, _) = world.ui(Method::GET, "/ui/api/settings", "", None).await;
    assert_eq!(status, 401);
    let (status, _) = world
        .ui(Method::GET, "/ui/api/settings", "forged-session", None)
        .await;
    assert_eq!(status, 401);

    // Another account's context never opens this account's page.
    let other = uuid::Uuid::new_v4().to_string();
    world
        .moysklad
        .add_context("ctx-not-installed", &other, "Чужой", true);
    let (status, _) = world.open_session("ctx-not-installed").await;
    assert_eq!(status, 403);

    let (_, session) = world.open_session("ctx").await;
    let token = session["sessionToken"].as_str().unwrap().to_owned();
    let mut body = world.settings_body(Some(&world.bp_key));
    body["reserveTtlSecs"] = json!(5);
    let (status, error) = world
        .ui(Method::PUT, "/ui/api/settings", &token, Some(body))
        .await;
    assert_eq!(
        (status, error["field"].as_str()),
        (422, Some("reserveTtlSecs"))
    );
    let mut body = world.settings_body(Some(&world.bp_key));
    body["storeMap"] = json!({});
    let (status, error) = world
        .ui(Method::PUT, "/ui/api/settings", &token, Some(body))
        .await;
    assert_eq!((status, error["field"].as_str()), (422, Some("storeMap")));
    let mut body = world.settings_body(None);
    body["externalSearch"] = json!("yes");
    let (status, error) = world
        .ui(Method::PUT, "/ui/api/settings", &token, Some(body))
        .await;
    assert_eq!(status, 400, "{error}");
    assert_eq!(error["field"], "externalSearch");
    let (status, error) = world
        .ui(
            Method::PUT,
            "/ui/api/settings",
            &token,
            Some(world.settings_body(None)),
        )
        .await;
    assert_eq!(
        (status, error["field"].as_str()),
        (422, Some("bonusplusKey"))
    );

    // The page itself: framed by MoySklad only, nothing cached, no inline script.
    let response = world
        .app
        .http
        .get(world.app.url("/ui?contextKey=ctx"))
        .send()
        .await
        .unwrap();
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("frame-ancestors https://online.moysklad.ru"),
        "{csp}"
    );
    assert!(csp.contains("script-src 'self'"));
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    let html = response.text().await.unwrap();
    assert!(html.contains("БонусПлюс") && html.contains("src=\"/ui/app.js\""));
    assert!(!html.contains("<script>"), "no inline scripts");
}

/// Saving the settings checks the key on BonusPlus's documented ground (`GET account`, or a
/// customer lookup where `account` is unknown) and tells a refused key from a silent BonusPlus.
async fn key_check_on_documented_ground(db: TestDb) {
    let world = World::start(db).await;
    let world = &world;
    let save = |session: String, key: &str| {
        let body = world.settings_body(Some(key));
        async move {
            world
                .ui(Method::PUT, "/ui/api/settings", &session, Some(body))
                .await
        }
    };

    // The emulator answers only documented calls: saved, active, asked with GET account.
    let first = uuid::Uuid::new_v4().to_string();
    let (status, view) = save(world.admin_session(&first).await, &world.bp_key).await;
    assert_eq!(
        (status, &view["account"]["status"]),
        (200, &json!("Activated")),
        "{view}"
    );
    assert_eq!(world.emu.count("GET", "/account"), 1);
    assert_eq!(world.emu.count("GET", "/customer/stat"), 0);

    // A BonusPlus that does not know `account` (404 or 405): the key is checked with a lookup of
    // a phone nobody has, and the shop is activated all the same.
    for status in [404, 405] {
        world.emu.refuse_route("GET", "/account", status);
        world.emu.clear_requests();
        let account = uuid::Uuid::new_v4().to_string();
        let (answer, view) = save(world.admin_session(&account).await, &world.bp_key).await;
        assert_eq!(
            (answer, &view["account"]["status"]),
            (200, &json!("Activated")),
            "{view}"
        );
        let lookups = requests_to(&world.emu, "GET", "/customer");
        assert_eq!(lookups.len(), 1);
        assert_eq!(lookups[0].query.as_deref(), Some("phone=70000000000"));
        // A refused key is still a field error there.
        let (answer, error) = save(
            world.admin_session(&uuid::Uuid::new_v4().to_string()).await,
            "wrong",
        )
        .await;
        assert_eq!(
            (answer, &error["field"]),
            (422, &json!("bonusplusKey")),
            "{error}"
        );
    }
    world.emu.clear_refused_routes();

    // BonusPlus failing (5xx, the read retried once): a clear message, nothing saved.
    let silent = uuid::Uuid::new_v4().to_string();
    let session = world.admin_session(&silent).await;
    world
        .emu
        .fail_next(2, bonusplus_emulator::FailureMode::Status500);
    let (status, error) = save(session, &world.bp_key).await;
    assert_eq!(status, 502, "{error}");
    assert_eq!(error["error"], "БонусПлюс не отвечает, попробуйте ещё раз");
    assert!(world.stored_settings(&silent).await.is_none());
}

/// The code settings: shown with their defaults, saved, and refused when they cannot work.
async fn code_settings_are_validated(db: TestDb) {
    let world = World::start(db).await;
    let account = uuid::Uuid::new_v4().to_string();
    let session = world.admin_session(&account).await;
    let (_, view) = world
        .ui(Method::GET, "/ui/api/settings", &session, None)
        .await;
    assert_eq!(view["settings"]["codeDelivery"], "own");
    assert_eq!(view["settings"]["codeMessage"], "Код для кассы: {code}");
    let world = &world;
    let put = |changes: Value| {
        let mut body = world.settings_body(Some(&world.bp_key));
        for (field, value) in changes.as_object().unwrap() {
            body[field] = value.clone();
        }
        let session = session.clone();
        async move {
            world
                .ui(Method::PUT, "/ui/api/settings", &session, Some(body))
                .await
        }
    };
    for (changes, field) in [
        (json!({"codeMessage": "Ваш код"}), "codeMessage"),
        (
            json!({"codeMessage": format!("{}{{code}}", "я".repeat(160))}),
            "codeMessage",
        ),
        (json!({"codeDelivery": "sms"}), "codeDelivery"),
        (
            json!({"codeDelivery": "off", "spendRequiresCode": true}),
            "codeDelivery",
        ),
    ] {
        let (status, error) = put(changes.clone()).await;
        assert_eq!(
            (status, &error["field"]),
            (422, &json!(field)),
            "{changes}: {error}"
        );
    }
    let (status, view) =
        put(json!({"codeDelivery": "bonusplus", "codeMessage": " Код: {code} "})).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["settings"]["codeDelivery"], "bonusplus");
    assert_eq!(view["settings"]["codeMessage"], "Код: {code}");
    // A page that does not send them keeps what is stored.
    let (status, view) = world
        .ui(
            Method::PUT,
            "/ui/api/settings",
            &session,
            Some(world.settings_body(None)),
        )
        .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["settings"]["codeDelivery"], "bonusplus");
    let (status, _) = put(json!({"codeDelivery": "off"})).await;
    assert_eq!(status, 200, "off is fine while no code is required");
}
