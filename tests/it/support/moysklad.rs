//! The app wired to the testkit's MoySklad (Vendor API, JSON API) and the BonusPlus emulator, for
//! the marketplace life cycle: install as MoySklad installs, open the settings page with a context
//! key, save, and reach the till with exactly what MoySklad was given ([`World`]).

use bonusbridge::store::LoyaltySettings;
use bonusplus_emulator::{Emulator, EmulatorHandle, TenantRules};
use reqwest::Method;
use serde_json::{json, Value};

use super::moysklad_fake::{moysklad_jwt, FakeMoySklad};
use super::pos::till_search;
use super::{settings, TestApp, TestDb};

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

    /// The page's settings body for this world's point of sale (see [`settings::body`]).
    pub fn settings_body(&self, key: Option<&str>) -> Value {
        settings::body(POS, key)
    }

    /// A settings-page session opened the way MoySklad opens the page (`contextKey`).
    pub async fn session(&self, context_key: &str) -> String {
        let (status, session) = self.open_session(context_key).await;
        assert_eq!(status, 200, "{session}");
        session["sessionToken"].as_str().unwrap().to_owned()
    }

    /// Installs `account` and opens an administrator's settings session for it.
    pub async fn admin_session(&self, account: &str) -> String {
        self.install(account).await;
        let context = format!("ctx-{account}");
        self.moysklad
            .add_context(&context, account, "Анна Админ", true);
        self.session(&context).await
    }

    /// `PUT /ui/api/settings` with `body`, which must be saved; the page's view after it.
    pub async fn save_settings(&self, session: &str, body: Value) -> Value {
        let (status, view) = self
            .ui(Method::PUT, "/ui/api/settings", session, Some(body))
            .await;
        assert_eq!(status, 200, "{view}");
        view
    }

    /// Saves the settings with this world's BonusPlus key (the first save activates the app):
    /// the LoyaltyAPI endpoint and token MoySklad was given.
    pub async fn connect(&self, session: &str) -> (String, String) {
        self.save_settings(session, self.settings_body(Some(&self.bp_key)))
            .await;
        self.pushed_loyalty_endpoint()
    }

    /// A LoyaltyAPI call exactly as MoySklad makes it with what we gave it.
    pub async fn till(&self, loyalty_url: &str, token: &str) -> u16 {
        till_search(&self.app.http, loyalty_url, token, POS).await
    }

    /// The account's settings as stored, if any.
    pub async fn stored_settings(&self, account: &str) -> Option<LoyaltySettings> {
        self.app.state.store.settings(account).await.unwrap()
    }
}

/// The body of MoySklad's `DELETE` (cause `Suspend` or `Uninstall`).
pub fn deactivate_body(cause: &str) -> Value {
    json!({"appUid": APP_UID, "accountName": "x", "cause": cause})
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
