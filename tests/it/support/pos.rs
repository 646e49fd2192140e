//! A configured account talking to the real app, with the BonusPlus emulator behind it.

use std::time::Duration;

use bonusbridge::crypto::{token_hash, Purpose};
use bonusbridge::store::{AccountStatus, ActivationRecord, LoyaltySettings};
use bonusplus_emulator::{Emulator, EmulatorHandle, TenantRules};
use secrecy::SecretString;
use serde_json::{json, Value};

use crate::support::{TestApp, TestDb};

pub const STORE: &str = "Магазин 1";
pub const POS: &str = "a1b2c3d4-0000-0000-0000-000000000001";

pub struct Pos {
    pub app: TestApp,
    pub emu: EmulatorHandle,
    pub token: String,
    pub key: String,
    /// MoySklad's account id of the till.
    pub account: String,
}

#[derive(Clone, Copy, Default)]
pub struct Options {
    pub register_requires_code: bool,
    pub spend_requires_code: bool,
    pub reveal_codes: bool,
    /// Reserve lifetime; 600 s when `None`.
    pub reserve_ttl_secs: Option<i64>,
    /// How codes reach the customer (`own`, `bonusplus`, `off`); `own` when `None`.
    pub code_delivery: Option<&'static str>,
}

impl Pos {
    pub async fn start(db: TestDb, options: Options) -> Pos {
        Pos::start_with(db, options, |_| {}).await
    }

    /// Like [`Pos::start`], with further changes to the app's settings.
    pub async fn start_with(
        db: TestDb,
        options: Options,
        adjust: impl FnOnce(&mut bonusbridge::config::Settings),
    ) -> Pos {
        let emu = Emulator::start().await;
        let base = emu.base_url();
        let app = TestApp::spawn(db, |s| {
            s.bonusplus.base_url = base.parse().unwrap();
            s.bonusplus.timeout_ms = 1500;
            adjust(s);
        })
        .await;
        let account = uuid::Uuid::new_v4().to_string();
        let key = format!("bp-key-{}", uuid::Uuid::new_v4().simple());
        let token = format!("loyalty-token-{}", uuid::Uuid::new_v4().simple());
        emu.add_tenant(
            &key,
            TenantRules {
                reveal_codes: options.reveal_codes,
                ..TenantRules::default()
            },
        );
        configure_account(&app, &account, &key, &token, options).await;
        Pos {
            app,
            emu,
            token,
            key,
            account,
        }
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .app
            .http
            .request(method, self.app.url(&format!("/loyalty{path}")))
            .header("Lognex-Discount-API-Auth-Token", &self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        if is_sale_or_return(path) {
            // Answered at commit; what BonusPlus books follows right after the answer.
            self.app.state.outbox.deliveries_settled().await;
        }
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    /// The account this till belongs to.
    pub async fn account_id(&self) -> String {
        self.app
            .state
            .store
            .account_by_token_hash(&token_hash(&self.token))
            .await
            .unwrap()
            .expect("the till's account")
    }

    /// A settings-page session of the account's user (as `POST /ui/api/session` makes one).
    pub async fn page_session(&self, admin: bool) -> String {
        let token = format!("page-session-{}", uuid::Uuid::new_v4().simple());
        let session = bonusbridge::store::UiSession {
            account_id: self.account.clone(),
            user_name: if admin {
                "Анна Админ"
            } else {
                "Кассир"
            }
            .to_owned(),
            user_login: "user@shop".to_owned(),
            is_admin: admin,
            expires_at: bonusbridge::store::now_ms() + 3_600_000,
        };
        self.app
            .state
            .store
            .create_ui_session(&token_hash(&token), &session)
            .await
            .unwrap();
        token
    }

    /// A call of the settings page's JSON API with a session.
    pub async fn page(
        &self,
        method: reqwest::Method,
        path: &str,
        session: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .app
            .http
            .request(method, self.app.url(path))
            .bearer_auth(session);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Waits until background work (reserves) settles to the expected value.
    pub async fn wait_reserved(&self, phone: &str, expected: rust_decimal::Decimal) {
        for _ in 0..100 {
            if self.emu.customer(&self.key, phone).map(|c| c.reserved) == Some(expected) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!(
            "reserve for {phone} is {:?}, expected {expected}",
            self.emu.customer(&self.key, phone).map(|c| c.reserved)
        );
    }
}

/// What the settings page does when an administrator saves: an activated account with an encrypted
/// BonusPlus key and a hashed LoyaltyAPI token.
pub async fn configure_account(
    app: &TestApp,
    account: &str,
    key: &str,
    token: &str,
    options: Options,
) {
    let store = &app.state.store;
    store
        .activate_account(&ActivationRecord {
            account_id: account.to_owned(),
            app_id: app.state.settings.moysklad.app_id.clone(),
            account_name: "Тестовый магазин".to_owned(),
            subscription: None,
            access_token_enc: None,
        })
        .await
        .unwrap();
    let sealed = app
        .state
        .cipher
        .seal(
            account,
            Purpose::BonusPlusKey,
            &SecretString::from(key.to_owned()),
        )
        .unwrap();
    store
        .save_settings(&LoyaltySettings {
            account_id: account.to_owned(),
            bonusplus_key_enc: Some(sealed),
            default_store: String::new(),
            store_map: json!({ POS: STORE }).to_string(),
            external_search: true,
            spend_requires_code: options.spend_requires_code,
            register_requires_code: options.register_requires_code,
            reserve_ttl_secs: options.reserve_ttl_secs.unwrap_or(600),
            updated_at: 0,
            updated_by: "test".to_owned(),
            code_delivery: options.code_delivery.unwrap_or("own").to_owned(),
            code_message: "Код для кассы: {code}".to_owned(),
        })
        .await
        .unwrap();
    store
        .replace_api_token(account, &token_hash(token))
        .await
        .unwrap();
    store
        .set_account_status(account, AccountStatus::Activated)
        .await
        .unwrap();
}

/// `POST /retaildemand` or `/retailsalesreturn` (not the recalculation).
fn is_sale_or_return(path: &str) -> bool {
    let path = path.split('?').next().unwrap_or(path);
    path == "/retaildemand" || path == "/retailsalesreturn"
}

pub fn retail_store() -> Value {
    json!({"meta": {"href": format!("https://api.moysklad.ru/api/remap/1.2/entity/retailstore/{POS}"), "id": POS}})
}

pub fn position(product: &str, quantity: &str, price: &str) -> Value {
    json!({
        "assortment": {"meta": {"href": format!("https://api.moysklad.ru/api/remap/1.2/entity/product/{product}"), "id": product, "type": "product"}},
        "quantity": num(quantity),
        "price": num(price),
    })
}

pub fn agent(id: &str, phone: &str) -> Value {
    json!({"meta": {"href": format!("https://api.moysklad.ru/api/remap/1.2/entity/counterparty/{id}"), "id": id}, "phone": phone})
}

/// A JSON number written exactly as given (serde_json has arbitrary precision on).
pub fn num(text: &str) -> Value {
    serde_json::from_str(text).expect("a JSON number")
}

pub fn dec(text: &str) -> rust_decimal::Decimal {
    text.parse().expect("a decimal")
}

/// A decimal out of a JSON answer (a number written exactly).
pub fn decimal_at(value: &Value) -> rust_decimal::Decimal {
    value
        .to_string()
        .parse()
        .unwrap_or_else(|_| panic!("not a number: {value}"))
}
