//! A configured account talking to the real app, with the BonusPlus emulator behind it.

use std::time::Duration;

use bonusbridge::crypto::{token_hash, SecretKind};
use bonusbridge::store::{AccountStatus, ActivationRecord, LoyaltySettings};
use bonusplus_emulator::{Emulator, EmulatorHandle, NewCustomer, TenantRules};
use secrecy::SecretString;
use serde_json::{json, Value};

use crate::support::moysklad::{ACCESS_TOKEN, APP_UID, SECRET};
use crate::support::moysklad_fake::FakeMoySklad;
use crate::support::{settings, TestApp, TestDb};

pub const STORE: &str = "Магазин 1";
pub const POS: &str = "a1b2c3d4-0000-0000-0000-000000000001";

pub struct Pos {
    pub app: TestApp,
    pub emu: EmulatorHandle,
    /// MoySklad for the settings page (contexts, the Vendor API a save reports to).
    pub moysklad: FakeMoySklad,
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
        let moysklad = FakeMoySklad::start(SECRET, APP_UID, ACCESS_TOKEN).await;
        let (vendor, json_api) = (moysklad.vendor_url(), moysklad.json_api_url());
        let app = TestApp::spawn(db, |s| {
            s.bonusplus.base_url = base.parse().unwrap();
            s.bonusplus.timeout_ms = 1500;
            s.moysklad.secret_key = SECRET.to_owned().into();
            s.moysklad.app_uid = APP_UID.to_owned();
            s.moysklad.vendor_api_url = vendor.parse().unwrap();
            s.moysklad.json_api_url = json_api.parse().unwrap();
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
            moysklad,
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

    /// A customer with 100 bonuses (79011231122) and an accrual recalc for them, which BonusPlus
    /// answers.
    pub async fn recalc_for_a_known_customer(&self) {
        self.emu
            .add_customer_with(&self.key, NewCustomer::new("79011231122", dec("100")));
        let receipt = json!({
            "retailStore": retail_store(),
            "agent": agent("c0ffee00-0000-0000-0000-000000000001", "+79011231122"),
            "positions": [position("prod-milk", "2", "50.00")],
            "bonusProgram": {"transactionType": "EARNING"},
        });
        let (status, body) = self.post("/retaildemand/recalc", receipt).await;
        assert_eq!(status, 200, "{body}");
    }

    /// The till's `POST /loyalty{path}` of `body` to another instance (`app`): its status, without
    /// waiting for what follows.
    pub async fn post_to(&self, app: &TestApp, path: &str, body: &Value) -> u16 {
        app.http
            .post(app.url(&format!("/loyalty{path}")))
            .header("Lognex-Discount-API-Auth-Token", &self.token)
            .json(body)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
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
        settings::call(&self.app, method, path, session, body).await
    }

    /// An administrator's session opened as MoySklad opens the settings page: a context key of
    /// the account's user, `POST /ui/api/session`, the user checked with MoySklad.
    pub async fn admin_page_session(&self) -> String {
        let context = format!("ctx-admin-{}", uuid::Uuid::new_v4().simple());
        self.moysklad
            .add_context(&context, &self.account, "Анна Админ", true);
        let (status, opened) = settings::call(
            &self.app,
            reqwest::Method::POST,
            "/ui/api/session",
            "",
            Some(json!({"contextKey": context})),
        )
        .await;
        assert_eq!(status, 200, "{opened}");
        opened["sessionToken"].as_str().unwrap().to_owned()
    }

    /// An administrator changes `changes` on the settings page (`PUT /ui/api/settings`, see
    /// [`settings::change`]); the page's view after the save.
    pub async fn change_settings(&self, changes: Value) -> Value {
        let session = self.admin_page_session().await;
        settings::change(&self.app, &session, changes).await
    }

    /// Another instance of the app on `db` (this one's, [`TestDb::shared`]) with the same
    /// BonusPlus, as behind a load balancer; `adjust` changes its settings further.
    pub async fn another_instance(
        &self,
        db: TestDb,
        adjust: impl FnOnce(&mut bonusbridge::config::Settings),
    ) -> TestApp {
        let bonusplus = self.emu.base_url();
        TestApp::spawn(db, |s| {
            s.bonusplus.base_url = bonusplus.parse().unwrap();
            s.bonusplus.timeout_ms = 1500;
            adjust(s);
        })
        .await
    }

    /// The account's audit entries of `action` (actor, action, details, at), newest first.
    pub async fn audited(&self, action: &str) -> Vec<(String, String, String, i64)> {
        let audit = self
            .app
            .state
            .store
            .audit_entries(&self.account, 10)
            .await
            .unwrap();
        audit
            .into_iter()
            .filter(|(_, entry, _, _)| entry == action)
            .collect()
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
            SecretKind::BonusPlusKey,
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
    // MoySklad was told (the page's first save does that): a later save updates what it holds.
    store
        .set_reported_status(account, "Activated")
        .await
        .unwrap();
}

/// Workers that poll often and back off briefly, so a test waits seconds, not minutes; no rate
/// limits.
pub fn quick_jobs(s: &mut bonusbridge::config::Settings) {
    s.jobs.poll_interval_ms = 50;
    s.jobs.max_backoff_ms = 400;
    s.limits.per_ip_per_second = 0;
    s.limits.per_token_per_second = 0;
}

/// [`quick_jobs`], and a sale's delivery waited for inline for at most a second.
pub fn quick_jobs_inline(s: &mut bonusbridge::config::Settings) {
    quick_jobs(s);
    s.jobs.inline_grace_ms = 1000;
}

/// The till's customer search as MoySklad's POS sends it to `loyalty_url` with `token`: the
/// status of the answer.
pub async fn till_search(
    http: &reqwest::Client,
    loyalty_url: &str,
    token: &str,
    retail_store: &str,
) -> u16 {
    http.get(format!(
        "{loyalty_url}/counterparty?search=79011234567&retailStoreId={retail_store}"
    ))
    .header("Lognex-Discount-API-Auth-Token", token)
    .send()
    .await
    .unwrap()
    .status()
    .as_u16()
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
