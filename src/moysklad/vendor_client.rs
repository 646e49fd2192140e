//! Calls from us to MoySklad's Vendor API: the settings page's user context, the loyalty settings
//! (LoyaltyAPI address and token) and the app's status on an account.
//! Outgoing client: must not depend on `state`, incoming modules, services or `store`.
//!
//! Every call carries a fresh JWT (see [`super::jwt`]) and `Accept-Encoding: gzip`, which MoySklad
//! requires on this API.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderValue, ACCEPT_ENCODING, AUTHORIZATION};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use url::Url;

use super::jwt::VendorJwt;

const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_REASON_CHARS: usize = 300;

#[derive(Debug, thiserror::Error)]
pub enum VendorApiError {
    /// 404: the app is not installed on the account, or the context key is unknown or expired.
    #[error("not found in MoySklad (not installed, or unknown key)")]
    NotFound,
    /// 403: MoySklad refused (e.g. the context key belongs to someone else).
    #[error("MoySklad refused access: {0}")]
    Forbidden(String),
    /// 409: no such life-cycle transition.
    #[error("MoySklad refused the status change: {0}")]
    BadTransition(String),
    /// 400: e.g. the app has no `loyaltyApi` block or the status does not allow the call.
    #[error("MoySklad refused the request: {0}")]
    BadRequest(String),
    #[error("MoySklad answered {status}: {message}")]
    Status { status: u16, message: String },
    #[error("MoySklad unreachable: {0}")]
    Transport(String),
    #[error("unexpected answer from MoySklad: {0}")]
    Decode(String),
    #[error("cannot sign the request: {0}")]
    Sign(String),
}

impl VendorApiError {
    /// Whether MoySklad may have applied the call although no success came back: no answer, a
    /// 5xx, or an answer that could not be read. (A 4xx is a refusal: nothing was applied.)
    pub fn may_have_applied(&self) -> bool {
        match self {
            VendorApiError::Transport(_) | VendorApiError::Decode(_) => true,
            VendorApiError::Status { status, .. } => *status >= 500,
            _ => false,
        }
    }

    /// What happened, in Russian, for the shop owner's page (`Display` is for the logs). MoySklad's
    /// own message is kept; transport and parsing details stay in the logs.
    pub fn describe_ru(&self) -> String {
        match self {
            VendorApiError::NotFound => {
                "приложение не найдено в МоёмСкладе (не установлено, или ссылка устарела)".into()
            }
            VendorApiError::Forbidden(message) => format!("МойСклад отказал в доступе: {message}"),
            VendorApiError::BadTransition(message) => {
                format!("МойСклад не принял смену статуса: {message}")
            }
            VendorApiError::BadRequest(message) => format!("МойСклад отклонил запрос: {message}"),
            VendorApiError::Status { status, message } => {
                format!("МойСклад ответил ошибкой {status}: {message}")
            }
            VendorApiError::Transport(_) => "МойСклад не отвечает".into(),
            VendorApiError::Decode(_) => "МойСклад ответил непонятно".into(),
            VendorApiError::Sign(_) => "не удалось подписать запрос к МоемуСкладу".into(),
        }
    }
}

/// The MoySklad user who opened the settings page (`POST /context/{contextKey}`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Employee {
    #[serde(default)]
    pub id: String,
    pub account_id: String,
    #[serde(default)]
    pub uid: String,
    #[serde(default)]
    pub full_name: Option<String>,
    #[serde(default)]
    pub short_fio: Option<String>,
    #[serde(default)]
    pub permissions: Option<serde_json::Value>,
}

impl Employee {
    /// MoySklad marks an account administrator with `permissions.admin.view == "ALL"`.
    pub fn is_admin(&self) -> bool {
        self.permissions
            .as_ref()
            .and_then(|p| p.pointer("/admin/view"))
            .and_then(|v| v.as_str())
            == Some("ALL")
    }

    pub fn display_name(&self) -> String {
        self.full_name
            .clone()
            .or_else(|| self.short_fio.clone())
            .filter(|name| !name.trim().is_empty())
            .unwrap_or_else(|| self.uid.clone())
    }
}

/// The fields of `PATCH …/loyalty`; absent ones stay as MoySklad has them.
#[derive(Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoyaltyPatch<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_search: Option<bool>,
}

#[derive(Clone)]
pub struct VendorClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: Url,
    app_id: String,
    jwt: VendorJwt,
}

impl VendorClient {
    pub fn new(
        base: &Url,
        app_id: &str,
        jwt: VendorJwt,
        timeout: Duration,
    ) -> Result<Self, VendorApiError> {
        let mut base = base.clone();
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let http = reqwest::Client::builder()
            .gzip(true)
            .timeout(timeout)
            .connect_timeout(timeout.min(MAX_CONNECT_TIMEOUT))
            .user_agent(concat!("bonusbridge/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| VendorApiError::Transport(e.to_string()))?;
        Ok(VendorClient {
            inner: Arc::new(Inner {
                http,
                base,
                app_id: app_id.to_owned(),
                jwt,
            }),
        })
    }

    /// Who opened the settings page with this context key.
    pub async fn context(&self, context_key: &str) -> Result<Employee, VendorApiError> {
        let url = self.url(&["context", context_key])?;
        let body = self.send(Method::POST, url, None).await?;
        decode(&body)
    }

    /// `PUT …/loyalty`: tells MoySklad where our LoyaltyAPI is and the token it must send.
    pub async fn put_loyalty(
        &self,
        account_id: &str,
        url: &str,
        token: &str,
        external_search: bool,
    ) -> Result<(), VendorApiError> {
        let body =
            serde_json::json!({"url": url, "token": token, "externalSearch": external_search});
        let target = self.app_url(account_id, "loyalty")?;
        self.send(Method::PUT, target, Some(body)).await.map(drop)
    }

    /// `PATCH …/loyalty`: changes some of the loyalty settings (a new token, the address, search).
    pub async fn patch_loyalty(
        &self,
        account_id: &str,
        patch: &LoyaltyPatch<'_>,
    ) -> Result<(), VendorApiError> {
        let target = self.app_url(account_id, "loyalty")?;
        let body =
            serde_json::to_value(patch).map_err(|e| VendorApiError::Decode(e.to_string()))?;
        self.send(Method::PATCH, target, Some(body)).await.map(drop)
    }

    /// `PUT …/status`.
    pub async fn set_status(&self, account_id: &str, status: &str) -> Result<(), VendorApiError> {
        let target = self.app_url(account_id, "status")?;
        let body = serde_json::json!({ "status": status });
        self.send(Method::PUT, target, Some(body)).await.map(drop)
    }

    fn app_url(&self, account_id: &str, tail: &str) -> Result<Url, VendorApiError> {
        self.url(&["apps", &self.inner.app_id, account_id, tail])
    }

    fn url(&self, segments: &[&str]) -> Result<Url, VendorApiError> {
        let mut url = self.inner.base.clone();
        url.path_segments_mut()
            .map_err(|()| VendorApiError::Decode("vendor_api_url cannot take a path".into()))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<serde_json::Value>,
    ) -> Result<bytes::Bytes, VendorApiError> {
        let jwt = self
            .inner
            .jwt
            .sign()
            .map_err(|e| VendorApiError::Sign(e.to_string()))?;
        let mut auth = HeaderValue::from_str(&format!("Bearer {jwt}"))
            .map_err(|e| VendorApiError::Sign(e.to_string()))?;
        auth.set_sensitive(true);
        let mut request = self
            .inner
            .http
            .request(method.clone(), url.clone())
            .header(AUTHORIZATION, auth)
            .header(ACCEPT_ENCODING, "gzip");
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|e| {
            VendorApiError::Transport(
                if e.is_timeout() {
                    "timeout"
                } else {
                    "connection failed"
                }
                .into(),
            )
        })?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|_| VendorApiError::Transport("broken response body".into()))?;
        tracing::info!(%method, path = url.path(), status = status.as_u16(), "moysklad vendor api");
        if status.is_success() {
            Ok(bytes)
        } else {
            Err(status_error(status, &bytes))
        }
    }
}

fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, VendorApiError> {
    serde_json::from_slice(body).map_err(|e| VendorApiError::Decode(e.to_string()))
}

fn status_error(status: StatusCode, body: &[u8]) -> VendorApiError {
    let message: String = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.pointer("/errors/0/error")
                .or_else(|| v.get("error"))
                .and_then(|e| e.as_str().map(str::to_owned))
        })
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned())
        .chars()
        .take(MAX_REASON_CHARS)
        .collect();
    match status {
        StatusCode::NOT_FOUND => VendorApiError::NotFound,
        StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED => VendorApiError::Forbidden(message),
        StatusCode::CONFLICT => VendorApiError::BadTransition(message),
        StatusCode::BAD_REQUEST => VendorApiError::BadRequest(message),
        _ => VendorApiError::Status {
            status: status.as_u16(),
            message,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn administrators_are_recognised() {
        let admin: Employee = serde_json::from_value(serde_json::json!({
            "id": "e1", "accountId": "a1", "uid": "admin@shop", "fullName": "Иван Петров",
            "permissions": {"admin": {"view": "ALL"}}
        }))
        .unwrap();
        assert!(admin.is_admin());
        assert_eq!(admin.display_name(), "Иван Петров");
        let cashier: Employee = serde_json::from_value(serde_json::json!({
            "accountId": "a1", "uid": "cashier@shop", "permissions": {"admin": {"view": "NO"}}
        }))
        .unwrap();
        assert!(!cashier.is_admin());
        assert_eq!(cashier.display_name(), "cashier@shop");
    }

    #[test]
    fn refusals_are_typed() {
        assert!(matches!(
            status_error(StatusCode::NOT_FOUND, b""),
            VendorApiError::NotFound
        ));
        assert!(matches!(
            status_error(StatusCode::CONFLICT, br#"{"errors":[{"error":"no transition"}]}"#),
            VendorApiError::BadTransition(m) if m == "no transition"
        ));
    }
}
