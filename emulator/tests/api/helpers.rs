use std::str::FromStr;

use base64::Engine;
use bonusplus_emulator::{Emulator, EmulatorHandle, TenantRules};
use reqwest::{Method, StatusCode};
use rust_decimal::Decimal;
use serde_json::Value;

pub const KEY: &str = "test-key";
pub const PHONE: &str = "79011231122";
pub const STORE: &str = "Магазин 1";

pub struct Ctx {
    pub emu: EmulatorHandle,
    pub http: reqwest::Client,
}

impl Ctx {
    /// An emulator with tenant `KEY` (default rules).
    pub async fn new() -> Self {
        Self::with_rules(TenantRules::default()).await
    }

    pub async fn with_rules(rules: TenantRules) -> Self {
        let emu = Emulator::start().await;
        emu.add_tenant(KEY, rules);
        Self {
            emu,
            http: reqwest::Client::new(),
        }
    }

    /// A tenant with one customer holding `balance`.
    pub async fn with_customer(balance: Decimal) -> Self {
        let ctx = Self::new().await;
        ctx.emu.add_customer(KEY, PHONE, balance);
        ctx
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.emu.base_url(), path)
    }

    /// A call with `KEY`'s Authorization header.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let auth = auth_header(KEY);
        let raw = body.map(|b| b.to_string());
        self.raw(method, path, raw.as_deref(), Some(&auth)).await
    }

    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        body: Option<&str>,
        authorization: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut request = self.http.request(method, self.url(path));
        if let Some(auth) = authorization {
            request = request.header("Authorization", auth);
        }
        request = match body {
            Some(body) => request
                .header("Content-Type", "application/json")
                .body(body.to_owned()),
            None => request.header("Content-Length", "0"),
        };
        let response = request.send().await.unwrap();
        let status = response.status();
        let bytes = response.bytes().await.unwrap();
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        (status, value)
    }

    pub fn balance(&self) -> Decimal {
        self.emu.customer(KEY, PHONE).unwrap().balance
    }
}

pub fn auth_header(key: &str) -> String {
    format!(
        "ApiKey {}",
        base64::engine::general_purpose::STANDARD.encode(key)
    )
}

/// A JSON number as an exact decimal.
pub fn dec_of(value: &Value) -> Decimal {
    assert!(value.is_number(), "not a number: {value}");
    Decimal::from_str(&value.to_string()).unwrap()
}

/// Asserts a BonusPlus error answer.
pub fn assert_error(answer: &(StatusCode, Value), status: StatusCode, code: &str) {
    assert_eq!(answer.0, status, "answer: {}", answer.1);
    assert_eq!(answer.1["code"], code, "answer: {}", answer.1);
    assert!(answer.1["msg"].is_string(), "answer: {}", answer.1);
}

/// A calc/sale body (numbers parsed from text, so they are exact).
pub fn order(
    bonus_debit: &str,
    external_id: Option<&str>,
    items: &[(&str, &str, &str, &str)],
) -> Value {
    let items: Vec<String> = items
        .iter()
        .map(|(ext, product, sum, ds)| {
            format!(r#"{{"ext":"{ext}","product":"{product}","qnt":1,"sum":{sum},"ds":{ds}}}"#)
        })
        .collect();
    let external = external_id
        .map(|id| format!(r#""externalId":"{id}","#))
        .unwrap_or_default();
    let text = format!(
        r#"{{"phone":"{PHONE}","store":"{STORE}",{external}"bonusDebit":{bonus_debit},"items":[{}]}}"#,
        items.join(",")
    );
    serde_json::from_str(&text).unwrap()
}
