//! The connection check (issue 22), on both databases: «Проверить подключение»
//! (`POST /ui/api/doctor`) and `bonusbridge doctor <account-id>` run the documented read-only
//! calls with the shop's key, each with ✓/✗, its status and a Russian reason; a settings save
//! refuses a store BonusPlus does not know, naming it, before it reaches a till.

use reqwest::Method;
use serde_json::{json, Value};

use crate::on_both_backends;
use crate::support::moysklad::{World, POS as WORLD_POS};
use crate::support::pos::{Options, Pos, POS};
use crate::support::TestDb;

/// The till's account maps two points of sale to two stores BonusPlus has, with a default.
async fn two_stores(db: TestDb) -> Pos {
    let pos = Pos::start(db, Options::default()).await;
    pos.emu.add_store(&pos.key, "Магазин 2");
    map_stores(
        &pos,
        json!({ POS: "Магазин 1", "pos-2": "Магазин 2" }),
        "Магазин 1",
    )
    .await;
    pos
}

async fn map_stores(pos: &Pos, map: Value, default_store: &str) {
    let store = &pos.app.state.store;
    let mut settings = store.settings(&pos.account).await.unwrap().unwrap();
    settings.store_map = map.to_string();
    settings.default_store = default_store.to_owned();
    store.save_settings(&settings).await.unwrap();
    pos.app.state.accounts.invalidate(&pos.account);
}

/// The check as the page gets it, for a cashier (not only administrators may run it).
async fn doctor(pos: &Pos) -> Value {
    let session = pos.page_session(false).await;
    let (status, body) = pos
        .page(Method::POST, "/ui/api/doctor", &session, None)
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

fn check<'a>(answer: &'a Value, call: &str) -> &'a Value {
    answer["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["call"] == call)
        .unwrap_or_else(|| panic!("no check `{call}` in {answer}"))
}

async fn every_call_passes_against_the_emulator(db: TestDb) {
    let pos = two_stores(db).await;
    let answer = doctor(&pos).await;
    assert_eq!(answer["ok"], true, "{answer}");
    let calls: Vec<&str> = answer["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["call"].as_str().unwrap())
        .collect();
    assert_eq!(
        calls,
        [
            "GET account",
            "GET customer",
            "POST customer/list",
            "PUT retail/calc («Магазин 1»)",
            "PUT retail/calc («Магазин 2»)",
        ]
    );
    for check in answer["checks"].as_array().unwrap() {
        assert_eq!(check["ok"], true, "{check}");
        assert_eq!(check["reason"], "", "{check}");
        assert!(check["status"].as_u64().is_some(), "{check}");
    }
    assert_eq!(check(&answer, "GET account")["status"], 200);
    // The check's phone is no customer's: «not found» proves the lookup works, and says so.
    let lookup = check(&answer, "GET customer");
    assert_eq!(lookup["status"], 412);
    assert!(lookup["note"].as_str().unwrap().contains("запрос работает"));
    // Read-only: one calculation per store, nothing booked, nobody created.
    assert_eq!(pos.emu.count("PUT", "/retail/calc"), 2);
    assert_eq!(pos.emu.count("POST", "/retail"), 0);
    assert_eq!(pos.emu.count("POST", "/customer"), 0);
    assert!(pos.emu.sales(&pos.key).is_empty());
}

async fn a_call_switched_off_is_shown_with_its_reason(db: TestDb) {
    let pos = two_stores(db).await;
    pos.emu.refuse_route("POST", "/customer/list", 404);
    let answer = doctor(&pos).await;
    assert_eq!(answer["ok"], false, "{answer}");
    let list = check(&answer, "POST customer/list");
    assert_eq!((&list["ok"], &list["status"]), (&json!(false), &json!(404)));
    assert!(
        list["reason"]
            .as_str()
            .unwrap()
            .contains("БонусПлюс не знает этот запрос"),
        "{list}"
    );
    for call in [
        "GET account",
        "GET customer",
        "PUT retail/calc («Магазин 1»)",
    ] {
        assert_eq!(check(&answer, call)["ok"], true, "{call}: {answer}");
    }
    pos.emu.clear_refused_routes();

    // A store BonusPlus does not have: named, with what to do.
    map_stores(&pos, json!({ POS: "Магазин 1", "pos-2": "Магазн 2" }), "").await;
    let answer = doctor(&pos).await;
    let typo = check(&answer, "PUT retail/calc («Магазн 2»)");
    assert_eq!((&typo["ok"], &typo["status"]), (&json!(false), &json!(412)));
    let reason = typo["reason"].as_str().unwrap();
    assert!(
        reason.contains("БонусПлюс не принял магазин «Магазн 2»"),
        "{reason}"
    );
    assert_eq!(check(&answer, "PUT retail/calc («Магазин 1»)")["ok"], true);

    // A key BonusPlus no longer takes.
    pos.emu.reject_key(&pos.key);
    let answer = doctor(&pos).await;
    let key = check(&answer, "GET account");
    assert_eq!((&key["ok"], &key["status"]), (&json!(false), &json!(401)));
    assert!(key["reason"]
        .as_str()
        .unwrap()
        .contains("не принял ключ API"));
}

/// `bonusbridge doctor <account-id>`: one line per call; exits non-zero when one fails.
async fn the_cli_prints_each_call(db: TestDb) {
    let pos = two_stores(db).await;
    let run = |pos: &Pos| {
        let mut command = crate::cli::bonusbridge();
        command
            .env("BONUSBRIDGE__DATABASE__URL", &pos.app._db.url)
            .env("BONUSBRIDGE__BONUSPLUS__BASE_URL", pos.emu.base_url())
            .env("BONUSBRIDGE__SERVER__LOG_FORMAT", "json")
            .args(["doctor", &pos.account]);
        async move {
            tokio::task::spawn_blocking(move || command.output().unwrap())
                .await
                .unwrap()
        }
    };
    let output = run(&pos).await;
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    assert!(lines.iter().all(|l| l.starts_with('✓')), "{text}");
    assert!(
        lines[0].contains("Ключ API  GET account  HTTP 200"),
        "{text}"
    );
    assert!(!text.contains(&pos.key), "the key leaked:\n{text}");

    pos.emu.refuse_route("GET", "/account", 404);
    let output = run(&pos).await;
    assert!(!output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.contains("✗ Ключ API  GET account  HTTP 404  — БонусПлюс не знает этот запрос"),
        "{text}"
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("1 BonusPlus checks failed"));
}

/// A store typed with a typo is refused on save, named, before anything is saved or pushed.
async fn a_typod_store_is_refused_on_save_with_its_name(db: TestDb) {
    let world = World::start(db).await;
    let account = uuid::Uuid::new_v4().to_string();
    let token = world.admin_session(&account).await;

    let mut body = world.settings_body(Some(&world.bp_key));
    body["storeMap"] = json!({ WORLD_POS: "Магазин 1 " });
    body["defaultStore"] = json!("Магазн 1");
    let (status, error) = world
        .ui(Method::PUT, "/ui/api/settings", &token, Some(body))
        .await;
    assert_eq!(
        (status, &error["field"]),
        (422, &json!("stores")),
        "{error}"
    );
    let message = error["error"].as_str().unwrap();
    assert!(
        message.contains("БонусПлюс не принял магазин «Магазн 1»"),
        "{message}"
    );
    assert!(!message.contains("«Магазин 1»"), "{message}");
    assert_eq!(
        message.matches("БонусПлюс не принял").count(),
        1,
        "{message}"
    );

    // Two refused: both named.
    let mut body = world.settings_body(Some(&world.bp_key));
    body["storeMap"] = json!({ WORLD_POS: "Магазин 7" });
    body["defaultStore"] = json!("Магазн 1");
    let (status, error) = world
        .ui(Method::PUT, "/ui/api/settings", &token, Some(body))
        .await;
    assert_eq!(status, 422, "{error}");
    let message = error["error"].as_str().unwrap();
    assert!(
        message.contains("БонусПлюс не принял магазины «Магазин 7», «Магазн 1»"),
        "{message}"
    );
    let saved = world.app.state.store.settings(&account).await.unwrap();
    assert!(saved.is_none(), "nothing saved");
    assert!(world.moysklad.last(Method::PUT, "/loyalty").is_none());

    world
        .save_settings(&token, world.settings_body(Some(&world.bp_key)))
        .await;
}

on_both_backends!(
    every_call_passes_against_the_emulator,
    a_call_switched_off_is_shown_with_its_reason,
    the_cli_prints_each_call,
    a_typod_store_is_refused_on_save_with_its_name,
);
