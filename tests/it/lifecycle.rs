//! The marketplace life cycle end to end, with a fake MoySklad and the BonusPlus emulator: install,
//! open the settings page, save, the till works with what MoySklad was given, suspend, resume,
//! rotate the token, uninstall.

use std::time::Duration;

use bonusbridge::crypto::SecretKind;
use bonusplus_emulator::{Emulator, EmulatorHandle, TenantRules};
use reqwest::Method;
use secrecy::ExposeSecret;
use serde_json::{json, Value};

use crate::support::moysklad_fake::{moysklad_jwt, FakeMoySklad};
use crate::support::{TestApp, TestDb};

pub const SECRET: &str = "lifecycle-test-secret-key-0123456789abcdef";
pub const APP_UID: &str = "bonusbridge.testvendor";
pub const ACCESS_TOKEN: &str = "ms-json-api-token-of-the-account";
pub const POS: &str = "5f8c1a2e-0000-11ef-0a80-000000000001";

/// The app wired to a fake MoySklad and the emulator.
pub struct World {
    pub app: TestApp,
    pub moysklad: FakeMoySklad,
    pub emu: EmulatorHandle,
    pub bp_key: String,
}

impl World {
    pub async fn start(db: TestDb) -> World {
        World::start_with(db, |_| {}).await
    }

    /// As [`World::start`], with further changes to the app's settings.
    pub async fn start_with(
        db: TestDb,
        adjust: impl FnOnce(&mut bonusbridge::config::Settings),
    ) -> World {
        let moysklad = FakeMoySklad::start(SECRET, APP_UID, ACCESS_TOKEN).await;
        moysklad.add_store(POS, "Магазин на Ленина");
        moysklad.add_store("5f8c1a2e-0000-11ef-0a80-000000000002", "Склад-магазин");
        let emu = Emulator::start().await;
        let bp_key = format!("bp-{}", uuid::Uuid::new_v4().simple());
        emu.add_tenant(&bp_key, TenantRules::default());
        let (vendor, json_api, bonusplus) = (
            moysklad.vendor_url(),
            moysklad.json_api_url(),
            emu.base_url(),
        );
        let app = TestApp::spawn(db, |s| {
            s.moysklad.secret_key = SECRET.to_owned().into();
            s.moysklad.app_uid = APP_UID.to_owned();
            s.moysklad.vendor_api_url = vendor.parse().unwrap();
            s.moysklad.json_api_url = json_api.parse().unwrap();
            s.bonusplus.base_url = bonusplus.parse().unwrap();
            s.limits.per_ip_per_second = 0;
            s.limits.per_token_per_second = 0;
            adjust(s);
        })
        .await;
        World {
            app,
            moysklad,
            emu,
            bp_key,
        }
    }

    pub fn app_id(&self) -> String {
        self.app.state.settings.moysklad.app_id.clone()
    }

    /// A Vendor API call as MoySklad makes it (fresh jti).
    pub async fn vendor(&self, method: Method, account: &str, body: Value) -> (u16, String, Value) {
        let jwt = moysklad_jwt(SECRET, &uuid::Uuid::new_v4().to_string(), 60);
        self.vendor_with(method, account, body, &jwt).await
    }

    pub async fn vendor_with(
        &self,
        method: Method,
        account: &str,
        body: Value,
        jwt: &str,
    ) -> (u16, String, Value) {
        let url = self.app.url(&format!(
            "/api/moysklad/vendor/1.0/apps/{}/{account}",
            self.app_id()
        ));
        let response = self
            .app
            .http
            .request(method, url)
            .bearer_auth(jwt)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = response.json().await.unwrap_or(Value::Null);
        (status, content_type, body)
    }

    pub async fn install(&self, account: &str) -> Value {
        let (status, content_type, body) = self
            .vendor(Method::PUT, account, install_body("Install", true))
            .await;
        assert_eq!(status, 200, "{body}");
        assert!(content_type.starts_with("application/json"));
        body
    }

    /// The settings JSON API with a session token (or none).
    pub async fn ui(
        &self,
        method: Method,
        path: &str,
        session: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.app.http.request(method, self.app.url(path));
        if !session.is_empty() {
            request = request.bearer_auth(session);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        (
            response.status().as_u16(),
            response.json().await.unwrap_or(Value::Null),
        )
    }

    pub async fn open_session(&self, context_key: &str) -> (u16, Value) {
        self.ui(
            Method::POST,
            "/ui/api/session",
            "",
            Some(json!({"contextKey": context_key})),
        )
        .await
    }

    /// The LoyaltyAPI endpoint the last `PUT …/loyalty` gave MoySklad (its URL pointed at this
    /// test server) and the token with it.
    pub fn pushed_loyalty_endpoint(&self) -> (String, String) {
        let pushed = self.moysklad.last(Method::PUT, "/loyalty").unwrap();
        let url = pushed["url"]
            .as_str()
            .unwrap()
            .replace(&self.app.state.settings.public_base(), &self.app.url(""));
        let token = pushed["token"].as_str().unwrap().to_owned();
        (url, token)
    }

    pub fn settings_body(&self, key: Option<&str>) -> Value {
        let mut body = json!({
            "defaultStore": "",
            "storeMap": {POS: "Магазин 1"},
            "externalSearch": true,
            "spendRequiresCode": false,
            "registerRequiresCode": false,
            "reserveTtlSecs": 900
        });
        if let Some(key) = key {
            body["bonusplusKey"] = json!(key);
        }
        body
    }

    /// A LoyaltyAPI call exactly as MoySklad makes it with what we gave it.
    pub async fn till(&self, loyalty_url: &str, token: &str) -> u16 {
        self.app
            .http
            .get(format!(
                "{loyalty_url}/counterparty?search=79011234567&retailStoreId={POS}"
            ))
            .header("Lognex-Discount-API-Auth-Token", token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

pub fn install_body(cause: &str, with_token: bool) -> Value {
    let mut body = json!({
        "appUid": APP_UID,
        "accountName": "ООО Ромашка",
        "cause": cause,
        "subscription": {"tariffId": "t1", "trial": false, "notForResale": false, "partner": false}
    });
    if with_token {
        body["access"] = json!([{
            "resource": "https://api.moysklad.ru/api/remap/1.2",
            "scope": ["admin"],
            "access_token": ACCESS_TOKEN
        }]);
    }
    body
}

async fn install_configure_sell_suspend_resume_uninstall(db: TestDb) {
    let world = World::start(db).await;
    let account = uuid::Uuid::new_v4().to_string();

    // Install, twice (MoySklad retries): one account, SettingsRequired, the token kept encrypted.
    assert_eq!(
        world.install(&account).await,
        json!({"status": "SettingsRequired"})
    );
    assert_eq!(
        world.install(&account).await,
        json!({"status": "SettingsRequired"})
    );
    let stored = world
        .app
        .state
        .store
        .account(&account)
        .await
        .unwrap()
        .unwrap();
    let sealed = stored.access_token_enc.expect("token kept");
    assert!(!String::from_utf8_lossy(&sealed).contains(ACCESS_TOKEN));
    let opened = world
        .app
        .state
        .cipher
        .open(&account, SecretKind::MoySkladToken, &sealed)
        .unwrap();
    assert_eq!(opened.expose_secret(), ACCESS_TOKEN);

    // The settings page: an administrator opens it.
    world
        .moysklad
        .add_context("ctx-admin", &account, "Анна Админ", true);
    let (status, session) = world.open_session("ctx-admin").await;
    assert_eq!(status, 200, "{session}");
    assert_eq!(session["accountId"], account.as_str());
    assert_eq!(session["admin"], true);
    let token = session["sessionToken"].as_str().unwrap().to_owned();
    let (status, view) = world
        .ui(Method::GET, "/ui/api/settings", &token, None)
        .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["account"]["status"], "SettingsRequired");
    assert_eq!(view["retailStores"].as_array().unwrap().len(), 2);
    assert_eq!(view["retailStores"][0]["name"], "Магазин на Ленина");
    assert_eq!(view["settings"]["bonusplusKeySet"], false);

    // A wrong key is refused by BonusPlus: nothing saved, nothing pushed.
    let (status, error) = world
        .ui(
            Method::PUT,
            "/ui/api/settings",
            &token,
            Some(world.settings_body(Some("wrong-key"))),
        )
        .await;
    assert_eq!(status, 422, "{error}");
    assert_eq!(error["field"], "bonusplusKey");
    assert!(world
        .app
        .state
        .store
        .settings(&account)
        .await
        .unwrap()
        .is_none());
    assert!(world.moysklad.calls().is_empty());

    // The right key: saved, token issued and pushed, app Activated.
    let (status, view) = world
        .ui(
            Method::PUT,
            "/ui/api/settings",
            &token,
            Some(world.settings_body(Some(&world.bp_key))),
        )
        .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["account"]["status"], "Activated");
    assert_eq!(view["settings"]["bonusplusKeySet"], true);
    let pushed = world
        .moysklad
        .last(Method::PUT, "/loyalty")
        .expect("PUT loyalty");
    assert_eq!(pushed["externalSearch"], true);
    let loyalty_url = pushed["url"].as_str().unwrap().to_owned();
    let loyalty_token = pushed["token"].as_str().unwrap().to_owned();
    assert!(loyalty_url.ends_with("/loyalty"));
    assert_eq!(
        world.moysklad.last(Method::PUT, "/status"),
        Some(json!({"status": "Activated"}))
    );
    let view_text = view.to_string();
    assert!(!view_text.contains(&world.bp_key) && !view_text.contains(&loyalty_token));

    // The till, with exactly what MoySklad received (our public URL is the test server's).
    let local_url =
        loyalty_url.replace(&world.app.state.settings.public_base(), &world.app.url(""));
    assert_eq!(world.till(&local_url, &loyalty_token).await, 200);

    // Saving again (key kept) PATCHes, never PUTs the status again.
    let puts_before = world.moysklad.calls().len();
    let (status, _) = world
        .ui(
            Method::PUT,
            "/ui/api/settings",
            &token,
            Some(world.settings_body(None)),
        )
        .await;
    assert_eq!(status, 200);
    let after: Vec<_> = world.moysklad.calls()[puts_before..].to_vec();
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].method, Method::PATCH);
    assert_eq!(world.till(&local_url, &loyalty_token).await, 200);

    // Suspend: refused at once; again → 204; Resume brings it back with its settings.
    let (status, content_type, _) = world
        .vendor(
            Method::DELETE,
            &account,
            json!({"appUid": APP_UID, "accountName": "x", "cause": "Suspend"}),
        )
        .await;
    assert_eq!((status, content_type.as_str()), (200, "application/json"));
    assert_eq!(world.till(&local_url, &loyalty_token).await, 403);
    let (status, _, _) = world
        .vendor(
            Method::DELETE,
            &account,
            json!({"appUid": APP_UID, "accountName": "x", "cause": "Suspend"}),
        )
        .await;
    assert_eq!(status, 204);
    let (status, _, body) = world
        .vendor(Method::PUT, &account, install_body("Resume", false))
        .await;
    assert_eq!((status, body), (200, json!({"status": "Activated"})));
    assert_eq!(world.till(&local_url, &loyalty_token).await, 200);
    let (status, _, body) = world.vendor(Method::GET, &account, Value::Null).await;
    assert_eq!((status, body), (200, json!({"status": "Activated"})));

    // A cashier sees the settings but cannot change them.
    world
        .moysklad
        .add_context("ctx-cashier", &account, "Касса Кассирова", false);
    let (_, cashier) = world.open_session("ctx-cashier").await;
    let cashier = cashier["sessionToken"].as_str().unwrap().to_owned();
    let (status, _) = world
        .ui(Method::GET, "/ui/api/settings", &cashier, None)
        .await;
    assert_eq!(status, 200);
    let (status, _) = world
        .ui(
            Method::PUT,
            "/ui/api/settings",
            &cashier,
            Some(world.settings_body(None)),
        )
        .await;
    assert_eq!(status, 403);
    let (status, _) = world
        .ui(Method::POST, "/ui/api/token/rotate", &cashier, None)
        .await;
    assert_eq!(status, 403);

    // Rotation: MoySklad gets the new token, the old one stops working.
    let (status, _) = world
        .ui(Method::POST, "/ui/api/token/rotate", &token, None)
        .await;
    assert_eq!(status, 200);
    let rotated = world.moysklad.last(Method::PATCH, "/loyalty").unwrap();
    let new_token = rotated["token"].as_str().unwrap().to_owned();
    assert_ne!(new_token, loyalty_token);
    assert_eq!(world.till(&local_url, &loyalty_token).await, 401);
    assert_eq!(world.till(&local_url, &new_token).await, 200);

    // Every change is audited, never with a secret.
    let audit = world
        .app
        .state
        .store
        .audit_entries(&account, 50)
        .await
        .unwrap();
    assert!(audit
        .iter()
        .any(|(actor, action, _, _)| actor.contains("Анна Админ") && action == "settings_saved"));
    assert!(audit
        .iter()
        .any(|(_, action, _, _)| action == "token_rotated"));
    for (_, _, details, _) in &audit {
        assert!(!details.contains(&world.bp_key) && !details.contains(&new_token));
    }

    // Uninstall: secrets destroyed, the till refused, the page closed; again → 204.
    let (status, _, _) = world
        .vendor(
            Method::DELETE,
            &account,
            json!({"appUid": APP_UID, "accountName": "x", "cause": "Uninstall"}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _, _) = world
        .vendor(
            Method::DELETE,
            &account,
            json!({"appUid": APP_UID, "accountName": "x", "cause": "Uninstall"}),
        )
        .await;
    assert_eq!(status, 204);
    assert_ne!(world.till(&local_url, &new_token).await, 200);
    let gone = world
        .app
        .state
        .store
        .account(&account)
        .await
        .unwrap()
        .unwrap();
    assert!(gone.access_token_enc.is_none());
    let settings = world
        .app
        .state
        .store
        .settings(&account)
        .await
        .unwrap()
        .unwrap();
    assert!(settings.bonusplus_key_enc.is_none());
    let (status, _) = world
        .ui(Method::GET, "/ui/api/settings", &token, None)
        .await;
    assert_eq!(status, 401);
    let (status, _, _) = world.vendor(Method::GET, &account, Value::Null).await;
    assert_eq!(status, 404);
    drop(world.emu);
}

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

async fn vendor_api_refuses_bad_jwts_and_replays(db: TestDb) {
    let second_db = db.shared();
    let world = World::start(db).await;
    let account = uuid::Uuid::new_v4().to_string();
    let body = install_body("Install", true);
    let put = |jwt: String| {
        let world = &world;
        let account = account.clone();
        let body = body.clone();
        async move { world.vendor_with(Method::PUT, &account, body, &jwt).await.0 }
    };

    let jti = uuid::Uuid::new_v4().to_string();
    let good = moysklad_jwt(SECRET, &jti, 60);
    assert_eq!(put(good.clone()).await, 200);
    // The same token again (a replay), even with a fresh signature over the same jti.
    assert_eq!(put(good).await, 401);
    assert_eq!(put(moysklad_jwt(SECRET, &jti, 120)).await, 401);
    // Wrong secret, expired, tampered payload, alg none, missing header.
    assert_eq!(
        put(moysklad_jwt("another-secret-key-0123456789", "j-a", 60)).await,
        401
    );
    assert_eq!(put(moysklad_jwt(SECRET, "j-b", -120)).await, 401);
    let valid = moysklad_jwt(SECRET, "j-c", 60);
    let mut parts: Vec<String> = valid.split('.').map(str::to_owned).collect();
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    parts[1] = b64.encode(json!({"iat": now, "exp": now + 9999, "jti": "j-c"}).to_string());
    assert_eq!(put(parts.join(".")).await, 401, "tampered");
    let none = format!(
        "{}.{}.",
        b64.encode(r#"{"alg":"none","typ":"JWT"}"#),
        b64.encode(json!({"exp": now + 60, "jti": "j-d"}).to_string())
    );
    assert_eq!(put(none).await, 401, "alg none");
    let (status, _, _) = world
        .vendor_with(Method::PUT, &account, body.clone(), "")
        .await;
    assert_eq!(status, 401);

    // Another app id, a non-UUID account: refused.
    let url = world.app.url(&format!(
        "/api/moysklad/vendor/1.0/apps/{}/{account}",
        uuid::Uuid::new_v4()
    ));
    let response = world
        .app
        .http
        .put(url)
        .bearer_auth(moysklad_jwt(SECRET, "j-e", 60))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let (status, _, _) = world.vendor(Method::PUT, "not-a-uuid", body.clone()).await;
    assert_eq!(status, 400);

    // A second instance on the same database (or this one after a restart) knows the used jti.
    let replayed = moysklad_jwt(SECRET, &jti, 60);
    let second = TestApp::spawn(second_db, |s| {
        s.moysklad.secret_key = SECRET.to_owned().into();
        s.limits.per_ip_per_second = 0;
    })
    .await;
    let url = second.url(&format!(
        "/api/moysklad/vendor/1.0/apps/{}/{account}",
        world.app_id()
    ));
    let status = second
        .http
        .put(url)
        .bearer_auth(replayed)
        .json(&body)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 401);
}

/// Installs `account` and opens an administrator's settings session for it.
async fn admin_session(world: &World, account: &str) -> String {
    world.install(account).await;
    let context = format!("ctx-{account}");
    world.moysklad.add_context(&context, account, "Админ", true);
    let (status, session) = world.open_session(&context).await;
    assert_eq!(status, 200, "{session}");
    session["sessionToken"].as_str().unwrap().to_owned()
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
    let (status, view) = save(admin_session(world, &first).await, &world.bp_key).await;
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
        let (answer, view) = save(admin_session(world, &account).await, &world.bp_key).await;
        assert_eq!(
            (answer, &view["account"]["status"]),
            (200, &json!("Activated")),
            "{view}"
        );
        let lookups: Vec<_> = world
            .emu
            .requests()
            .into_iter()
            .filter(|r| r.method == "GET" && r.path == "/customer")
            .collect();
        assert_eq!(lookups.len(), 1);
        assert_eq!(lookups[0].query.as_deref(), Some("phone=70000000000"));
        // A refused key is still a field error there.
        let (answer, error) = save(
            admin_session(world, &uuid::Uuid::new_v4().to_string()).await,
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
    let session = admin_session(world, &silent).await;
    world
        .emu
        .fail_next(2, bonusplus_emulator::FailureMode::Status500);
    let (status, error) = save(session, &world.bp_key).await;
    assert_eq!(status, 502, "{error}");
    assert_eq!(error["error"], "БонусПлюс не отвечает, попробуйте ещё раз");
    assert!(world
        .app
        .state
        .store
        .settings(&silent)
        .await
        .unwrap()
        .is_none());
}

/// The code settings: shown with their defaults, saved, and refused when they cannot work.
async fn code_settings_are_validated(db: TestDb) {
    let world = World::start(db).await;
    let account = uuid::Uuid::new_v4().to_string();
    let session = admin_session(&world, &account).await;
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

/// An account installed and activated through the settings page; the LoyaltyAPI URL (on the
/// test server), the token MoySklad got, and the administrator's session.
async fn activated(world: &World, account: &str) -> (String, String, String) {
    world.install(account).await;
    world
        .moysklad
        .add_context("ctx-rotate", account, "Анна Админ", true);
    let (_, session) = world.open_session("ctx-rotate").await;
    let session = session["sessionToken"].as_str().unwrap().to_owned();
    let body = world.settings_body(Some(&world.bp_key));
    let (status, view) = world
        .ui(Method::PUT, "/ui/api/settings", &session, Some(body))
        .await;
    assert_eq!(status, 200, "{view}");
    let (url, token) = world.pushed_loyalty_endpoint();
    (url, token, session)
}

/// The token of the last `PATCH …/loyalty` MoySklad received.
fn patched_token(world: &World) -> Option<String> {
    world
        .moysklad
        .last(Method::PATCH, "/loyalty")
        .and_then(|body| body["token"].as_str().map(str::to_owned))
}

async fn rotation_never_leaves_the_till_without_a_token(db: TestDb) {
    let world = World::start(db).await;
    let account = uuid::Uuid::new_v4().to_string();
    let (url, first, session) = activated(&world, &account).await;

    // MoySklad takes its time to answer the PATCH: the till, switched to the new token the moment
    // MoySklad has it, is served; so is a call still made with the old one before that.
    world.moysklad.set_vendor_delay(Duration::from_millis(1500));
    let rotate = world.ui(Method::POST, "/ui/api/token/rotate", &session, None);
    let watch = async {
        let started = std::time::Instant::now();
        let second = loop {
            if let Some(token) = patched_token(&world) {
                break token;
            }
            assert!(started.elapsed() < Duration::from_secs(5), "no PATCH");
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        assert_eq!(
            world.till(&url, &first).await,
            200,
            "old token before the switch"
        );
        assert_eq!(
            world.till(&url, &second).await,
            200,
            "new token before MoySklad answered"
        );
        second
    };
    let ((status, view), second) = tokio::join!(rotate, watch);
    assert_eq!(status, 200, "{view}");
    world.moysklad.set_vendor_delay(Duration::ZERO);
    assert_eq!(world.till(&url, &second).await, 200);
    assert_eq!(
        world.till(&url, &first).await,
        401,
        "the old token stops once confirmed"
    );

    // MoySklad refuses the new token: it never works, the current one goes on.
    world.moysklad.fail_vendor_calls(&[400]);
    let (status, error) = world
        .ui(Method::POST, "/ui/api/token/rotate", &session, None)
        .await;
    assert_eq!(status, 502, "{error}");
    assert!(
        error["error"].as_str().unwrap().contains("старым"),
        "{error}"
    );
    let refused = patched_token(&world).unwrap();
    assert_ne!(refused, second);
    assert_eq!(world.till(&url, &refused).await, 401);
    assert_eq!(world.till(&url, &second).await, 200);

    // MoySklad's answer is lost (it may hold the new token or not): both work until the till
    // uses the new one, which then replaces the old.
    world.moysklad.fail_vendor_calls(&[503]);
    let (status, error) = world
        .ui(Method::POST, "/ui/api/token/rotate", &session, None)
        .await;
    assert_eq!(status, 502, "{error}");
    let maybe = patched_token(&world).unwrap();
    assert_eq!(world.till(&url, &second).await, 200);
    assert_eq!(world.till(&url, &maybe).await, 200);
    assert_eq!(world.till(&url, &second).await, 401);
    assert_eq!(world.till(&url, &maybe).await, 200);
}

async fn the_vendor_api_is_never_rate_limited(db: TestDb) {
    let world = World::start_with(db, |s| {
        s.limits.per_ip_per_second = 1;
        s.limits.per_ip_burst = 1;
    })
    .await;
    let account = uuid::Uuid::new_v4().to_string();
    // MoySklad installs, repeats, asks the status, suspends and resumes in a burst.
    for _ in 0..3 {
        let (status, _, body) = world
            .vendor(Method::PUT, &account, install_body("Install", true))
            .await;
        assert_eq!(status, 200, "{body}");
        let (status, _, _) = world.vendor(Method::GET, &account, Value::Null).await;
        assert_eq!(status, 200);
    }
    let (status, _, _) = world
        .vendor(
            Method::DELETE,
            &account,
            json!({"appUid": APP_UID, "accountName": "x", "cause": "Suspend"}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _, _) = world
        .vendor(Method::PUT, &account, install_body("Resume", true))
        .await;
    assert_eq!(status, 200);
    // The same address is still limited everywhere else.
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(world.ui(Method::GET, "/ui/api/settings", "", None).await.0);
    }
    assert!(statuses.contains(&429), "{statuses:?}");
}

async fn a_replayed_jti_inside_the_leeway_is_refused(db: TestDb) {
    let world = World::start(db).await;
    let account = uuid::Uuid::new_v4().to_string();
    // Expired two seconds ago, inside the accepted clock leeway: accepted once.
    let late = moysklad_jwt(SECRET, &uuid::Uuid::new_v4().to_string(), -2);
    let body = install_body("Install", true);
    let (status, _, _) = world
        .vendor_with(Method::PUT, &account, body.clone(), &late)
        .await;
    assert_eq!(status, 200);
    // The workers prune used ids whose tokens are no longer accepted; this one still is.
    let now = bonusbridge::store::now_ms();
    world
        .app
        .state
        .store
        .prune(now, i64::MAX / 2)
        .await
        .unwrap();
    let (status, _, _) = world.vendor_with(Method::PUT, &account, body, &late).await;
    assert_eq!(status, 401, "replayed inside the leeway");
}

crate::on_both_backends!(
    install_configure_sell_suspend_resume_uninstall,
    settings_page_refuses_bad_sessions_and_input,
    vendor_api_refuses_bad_jwts_and_replays,
    key_check_on_documented_ground,
    code_settings_are_validated,
    rotation_never_leaves_the_till_without_a_token,
    the_vendor_api_is_never_rate_limited,
    a_replayed_jti_inside_the_leeway_is_refused,
);
