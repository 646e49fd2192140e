//! Security: tenant isolation, hostile input, secrets at rest and in logs, key rotation.

use std::collections::BTreeMap;

use base64::Engine;
use bonusbridge::crypto::{Cipher, SecretKind};
use bonusbridge::store::{ActivationRecord, Store};
use bonusplus_emulator::TenantRules;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

use crate::support::pos::{agent, configure_account, position, retail_store, Options, Pos, POS};
use crate::support::{Backend, TestDb};

crate::on_both_backends!(
    one_account_never_reaches_another,
    hostile_input_is_refused_in_the_error_format,
    secrets_are_not_stored_in_clear,
    key_rotation_reseals_every_secret,
);

const PHONE_B: &str = "79015550001";

async fn one_account_never_reaches_another(db: TestDb) {
    // Account A is the fixture; account B lives in the same app and the same BonusPlus emulator.
    let a = Pos::start(db, Options::default()).await;
    let key_b = "bp-key-of-b";
    let token_b = "token-of-b";
    a.emu.add_tenant(key_b, TenantRules::default());
    a.emu.add_customer(key_b, PHONE_B, "300".parse().unwrap());
    configure_account(&a.app, "account-b", key_b, token_b, Options::default()).await;
    let b = |path: &str| a.app.url(&format!("/loyalty{path}"));
    let as_b = |request: reqwest::RequestBuilder| {
        request.header("Lognex-Discount-API-Auth-Token", token_b)
    };

    // B registers its customer (MoySklad id ms-b) and sells to them.
    let response = as_b(a.app.http.post(b("/counterparty")))
        .json(&json!({"retailStore": retail_store(), "meta": {"href": "h", "id": "ms-b"}, "name": "Клиент Б", "phone": PHONE_B}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let response = as_b(a.app.http.post(b("/retaildemand")))
        .json(&json!({"retailStore": retail_store(), "meta": {"href": "h", "id": "sale-b"}, "agent": agent("ms-b", PHONE_B),
                      "positions": [position("p", "1", "100.00")], "bonusProgram": {"bonusValueToSpend": 0}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    a.app.state.outbox.deliveries_settled().await;
    let balance_b = a.emu.customer(key_b, PHONE_B).unwrap().balance;
    let guid_b = bonusbridge::domain::keys::customer_guid("account-b", PHONE_B);

    // A cannot find B's customer by B's ids, nor by phone (A's BonusPlus does not know it).
    for id in ["ms-b", guid_b.as_str()] {
        let (status, body) = a
            .post(
                "/counterparty/detail",
                json!({"retailStore": retail_store(), "meta": {"href": "h", "id": id}}),
            )
            .await;
        assert_eq!(status, 404, "{id}: {body}");
    }
    let (status, body) = a
        .get(&format!(
            "/counterparty?search={PHONE_B}&retailStoreId={POS}"
        ))
        .await;
    assert_eq!(
        (status, body["rows"].as_array().map(Vec::len)),
        (200, Some(0))
    );
    // A's return of B's sale reverses nothing of B's.
    let (status, _) = a
        .post("/retailsalesreturn", json!({"retailStore": retail_store(), "meta": {"href": "h", "id": "ret-a"}, "demand": {"meta": {"href": "h", "id": "sale-b"}}, "positions": [position("p", "1", "100.00")]}))
        .await;
    assert_eq!(status, 201);
    assert_eq!(a.emu.count("PUT", "/retail/back"), 0);
    // A's sale with B's sale id is A's own sale (B's record does not swallow it), in A's BonusPlus.
    a.emu
        .add_customer(&a.key, "79011231122", "10".parse().unwrap());
    let (status, _) = a
        .post("/retaildemand", json!({"retailStore": retail_store(), "meta": {"href": "h", "id": "sale-b"}, "agent": agent("x", "79011231122"),
                                       "positions": [position("p", "1", "100.00")]}))
        .await;
    assert_eq!(status, 201);
    assert_eq!(a.emu.sales(&a.key).len(), 1);
    assert_eq!(a.emu.sales(key_b).len(), 1);
    assert_eq!(
        a.emu.customer(key_b, PHONE_B).unwrap().balance,
        balance_b,
        "B untouched"
    );
    // Every BonusPlus call made for A carried A's key only.
    let key_b_header = format!(
        "ApiKey {}",
        base64::engine::general_purpose::STANDARD.encode(key_b)
    );
    let b_calls = a
        .emu
        .requests()
        .iter()
        .filter(|r| r.authorization.as_deref() == Some(key_b_header.as_str()))
        .count();
    assert_eq!(
        b_calls, 3,
        "only B's own calls used B's key: create (exists), update, sale"
    );
}

async fn hostile_input_is_refused_in_the_error_format(db: TestDb) {
    let pos = Pos::start(db, Options::default()).await;
    let url = pos.app.url("/loyalty/retaildemand/recalc");
    let send = |body: Vec<u8>, content_type: &'static str| {
        pos.app
            .http
            .post(&url)
            .header("Lognex-Discount-API-Auth-Token", &pos.token)
            .header("Content-Type", content_type)
            .body(body)
            .send()
    };
    let check = |status: u16, body: &Value, expected: u16, what: &str| {
        assert_eq!(status, expected, "{what}: {body}");
        assert!(body["errors"][0]["error"].is_string(), "{what}: {body}");
        assert!(body["errors"][0]["code"].is_number(), "{what}: {body}");
    };
    let receipt = |positions: Value| json!({"retailStore": retail_store(), "agent": agent("a", "79011231122"), "positions": positions});
    let cases: Vec<(&str, Vec<u8>, &'static str, u16)> = vec![
        ("too large", vec![b' '; 300_000], "application/json", 413),
        ("invalid UTF-8", b"{\"retailStore\": \"\xff\xfe\"}".to_vec(), "application/json", 400),
        ("not JSON", b"<xml/>".to_vec(), "application/json", 400),
        ("wrong content type", b"{}".to_vec(), "text/plain", 415),
        ("deep nesting", ("[".repeat(5000) + &"]".repeat(5000)).into_bytes(), "application/json", 400),
        ("negative quantity", receipt(json!([position("p", "-1", "10.00")])).to_string().into_bytes(), "application/json", 400),
        ("huge price", receipt(json!([position("p", "1", "1e308")])).to_string().into_bytes(), "application/json", 400),
        ("NaN as a string", receipt(json!([{"assortment": {"meta": {"href": "h", "id": "p"}}, "quantity": "NaN", "price": 1}])).to_string().into_bytes(), "application/json", 400),
        ("too many decimals", receipt(json!([position("p", "1", "10.001")])).to_string().into_bytes(), "application/json", 400),
        ("huge array", receipt(Value::Array(vec![position("p", "1", "1.00"); 1500])).to_string().into_bytes(), "application/json", 400),
        ("wrong type", receipt(json!("positions")).to_string().into_bytes(), "application/json", 400),
    ];
    for (what, body, content_type, expected) in cases {
        let response = send(body, content_type).await.unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        check(status, &body, expected, what);
    }
    // Unknown fields are tolerated.
    pos.emu
        .add_customer(&pos.key, "79011231122", "0".parse().unwrap());
    let mut tolerant = receipt(json!([position("p", "1", "10.00")]));
    tolerant["somethingNew"] = json!({"nested": [1, 2, 3]});
    let response = send(tolerant.to_string().into_bytes(), "application/json")
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // A query string that is too long or malformed is refused, not crashed on.
    let (status, body) = pos
        .get(&format!(
            "/counterparty?search={}&retailStoreId=x",
            "9".repeat(100)
        ))
        .await;
    check(status, &body, 400, "long search");
    // The service is still healthy after all of it.
    let ready = pos
        .app
        .http
        .get(pos.app.url("/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
}

/// Every byte the database holds, as text, for looking for secrets.
async fn dump(db_url: &str, store: &Store) -> String {
    if let Some(path) = db_url
        .strip_prefix("sqlite://")
        .and_then(|p| p.split('?').next())
    {
        let mut bytes = std::fs::read(path).unwrap_or_default();
        bytes.extend(std::fs::read(format!("{path}-wal")).unwrap_or_default());
        return String::from_utf8_lossy(&bytes).into_owned();
    }
    let _ = store;
    let mut text = String::new();
    let pool = sqlx::PgPool::connect(db_url).await.unwrap();
    let tables: Vec<(String,)> =
        sqlx::query_as("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'")
            .fetch_all(&pool)
            .await
            .unwrap();
    for (table,) in tables {
        let rows: Vec<(String,)> = sqlx::query_as(&format!("SELECT t::text FROM {table} t"))
            .fetch_all(&pool)
            .await
            .unwrap();
        for (row,) in rows {
            text.push_str(&row);
            text.push('\n');
        }
    }
    text
}

fn forms_of(secret: &str) -> Vec<String> {
    vec![
        secret.to_owned(),
        base64::engine::general_purpose::STANDARD.encode(secret),
        secret.bytes().map(|b| format!("{b:02x}")).collect(),
    ]
}

async fn secrets_are_not_stored_in_clear(db: TestDb) {
    let url = db.url.clone();
    let pos = Pos::start(db, Options::default()).await;
    let access_token = "moysklad-json-api-token-0123456789";
    let sealed = pos
        .app
        .state
        .cipher
        .seal(
            "acc-secret",
            SecretKind::MoySkladToken,
            &SecretString::from(access_token),
        )
        .unwrap();
    pos.app
        .state
        .store
        .activate_account(&ActivationRecord {
            account_id: "acc-secret".into(),
            app_id: "app".into(),
            account_name: "x".into(),
            subscription: None,
            access_token_enc: Some(sealed),
        })
        .await
        .unwrap();
    let text = dump(&url, &pos.app.state.store).await;
    assert!(text.contains("acc-secret"), "the dump is readable");
    for secret in [pos.key.as_str(), pos.token.as_str(), access_token] {
        for form in forms_of(secret) {
            assert!(!text.contains(&form), "`{secret}` is in the database dump");
        }
    }
}

async fn key_rotation_reseals_every_secret(db: TestDb) {
    let store = db.store().await;
    let old_key = [7u8; 32];
    let new_key = [9u8; 32];
    let old = Cipher::new("old".into(), &BTreeMap::from([("old".to_owned(), old_key)]));
    let both = Cipher::new(
        "new".into(),
        &BTreeMap::from([("old".to_owned(), old_key), ("new".to_owned(), new_key)]),
    );
    let only_new = Cipher::new("new".into(), &BTreeMap::from([("new".to_owned(), new_key)]));
    let token = SecretString::from("json-api-token");
    store
        .activate_account(&ActivationRecord {
            account_id: "acc".into(),
            app_id: "app".into(),
            account_name: "x".into(),
            subscription: None,
            access_token_enc: Some(old.seal("acc", SecretKind::MoySkladToken, &token).unwrap()),
        })
        .await
        .unwrap();
    store
        .save_verification_request(
            "acc",
            "79011231122",
            "spend",
            1,
            &old.seal(
                "acc",
                SecretKind::VerificationCode,
                &SecretString::from("1234"),
            )
            .unwrap(),
        )
        .await
        .unwrap();
    let outcome = bonusbridge::admin::rotate_keys(&store, &both)
        .await
        .unwrap();
    assert_eq!(
        (outcome.rotated, outcome.current, outcome.unreadable),
        (2, 0, 0)
    );
    let again = bonusbridge::admin::rotate_keys(&store, &both)
        .await
        .unwrap();
    assert_eq!((again.rotated, again.current), (0, 2), "idempotent");
    let sealed = store
        .account("acc")
        .await
        .unwrap()
        .unwrap()
        .access_token_enc
        .unwrap();
    assert_eq!(
        only_new
            .open("acc", SecretKind::MoySkladToken, &sealed)
            .unwrap()
            .expose_secret(),
        "json-api-token"
    );
    let (_, code) = store
        .verification_request("acc", "79011231122", "spend")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        only_new
            .open("acc", SecretKind::VerificationCode, &code.unwrap())
            .unwrap()
            .expose_secret(),
        "1234"
    );
    // A key nobody has any more is reported, never silently dropped.
    let stranger = Cipher::new("x".into(), &BTreeMap::from([("x".to_owned(), [1u8; 32])]));
    assert_eq!(
        bonusbridge::admin::rotate_keys(&store, &stranger)
            .await
            .unwrap()
            .unreadable,
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_of_a_full_scenario_hold_no_secret() {
    let logs = crate::support::captured_logs();
    // The capture is the whole test process's: only what was logged while this scenario ran is read.
    let logged_before = logs.lock().unwrap().len();
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    let pos = Pos::start(
        db,
        Options {
            spend_requires_code: true,
            register_requires_code: true,
            ..Options::default()
        },
    )
    .await;
    pos.emu
        .add_customer(&pos.key, "79011231122", "500".parse().unwrap());
    // The bridge's own codes (the default mode): registration of a new customer and a spend.
    let (status, registration) = pos
        .post(
            "/counterparty/verify",
            json!({"meta": {"href": "h"}, "name": "Новый Покупатель", "phone": "+79990001111"}),
        )
        .await;
    assert_eq!(status, 200, "{registration}");
    let (status, _) = pos
        .post(
            "/counterparty/verify",
            json!({"meta": {"href": "h"}, "phone": "+79990001111"}),
        )
        .await;
    assert_eq!(status, 200, "a repeat inside timeForRepeat");
    let (status, _) = pos
        .get("/counterparty?search=89011231122&retailStoreId=x")
        .await;
    assert_eq!(status, 200);
    let (status, code) = pos
        .post(
            "/retaildemand/verify",
            json!({"retailStore": retail_store(), "counterpartyId": "x", "phone": "89011231122"}),
        )
        .await;
    assert_eq!(status, 200);
    let receipt = json!({"retailStore": retail_store(), "agent": agent("a", "79011231122"), "positions": [position("p", "2", "100.00")], "bonusProgram": {"transactionType": "SPENDING"}});
    assert_eq!(pos.post("/retaildemand/recalc", receipt).await.0, 200);
    assert_eq!(
        pos.post("/retaildemand", json!({"retailStore": retail_store(), "meta": {"href": "h", "id": "s1"}, "agent": agent("a", "79011231122"), "positions": [position("p", "2", "100.00")], "bonusProgram": {"bonusValueToSpend": 60}})).await.0,
        201
    );
    pos.emu.reject_key(&pos.key);
    assert_eq!(pos.post("/counterparty/detail", json!({"retailStore": retail_store(), "meta": {"href": "h", "id": "x"}, "phone": "79011231122"})).await.0, 502);
    let _ = pos
        .app
        .http
        .get(pos.app.url("/loyalty/counterparty?search=1"))
        .header("Lognex-Discount-API-Auth-Token", "wrong-token-value")
        .send()
        .await;
    // The background work of the scenario (deliveries, their retries) has logged what it logs.
    crate::support::bookings::settled(&pos.app.state).await;

    let text = String::from_utf8_lossy(&logs.lock().unwrap()[logged_before..]).into_owned();
    assert!(text.contains("BonusPlus call"), "logs were captured");
    let codes = [
        code["verificationCode"].as_str().unwrap().to_owned(),
        registration["verificationCode"]
            .as_str()
            .unwrap()
            .to_owned(),
    ];
    let secret_key = pos
        .app
        .state
        .settings
        .moysklad
        .secret_key
        .expose_secret()
        .to_owned();
    for secret in [
        pos.key.as_str(),
        pos.token.as_str(),
        "wrong-token-value",
        secret_key.as_str(),
    ] {
        for form in forms_of(secret) {
            assert!(!text.contains(&form), "`{secret}` appears in the logs");
        }
    }
    for code in &codes {
        assert_eq!(code.len(), 6, "{code}");
        assert!(
            !text.contains(&format!("Код для кассы: {code}")),
            "the message with the code appears in the logs"
        );
        let leaking = text.lines().find(|line| stands_alone(line, code));
        assert!(
            leaking.is_none(),
            "the verification code {code} appears in the logs: {leaking:?}"
        );
    }
}

/// Whether `number` occurs in `text` other than as a part of a longer number, a decimal one included:
/// timestamps and durations end in six digits of a fraction (`12:44:12.738303Z`, `3.694781ms`), and
/// a random code matched one of them about once in ten full runs.
fn stands_alone(text: &str, number: &str) -> bool {
    let digit = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit());
    text.match_indices(number).any(|(at, _)| {
        let mut before = text[..at].chars().rev();
        let mut after = text[at + number.len()..].chars();
        let (b1, b2) = (before.next(), before.next());
        let (a1, a2) = (after.next(), after.next());
        let in_decimal = (b1 == Some('.') && digit(b2)) || (a1 == Some('.') && digit(a2));
        !digit(b1) && !digit(a1) && !in_decimal
    })
}

#[test]
fn a_code_inside_a_longer_or_decimal_number_does_not_stand_alone() {
    assert!(stands_alone(r#"{"code":"694781"}"#, "694781"));
    assert!(stands_alone("Код 694781.", "694781"));
    assert!(!stands_alone(r#""elapsed":"3.694781ms""#, "694781"));
    assert!(!stands_alone("2026-12-06T11:44:12.694781Z", "694781"));
    assert!(!stands_alone("1694781", "694781"));
    assert!(!stands_alone("694781.5", "694781"));
}
