//! Client of MoySklad's JSON API 1.2 ("remap"): reads an account's points of sale and catalogue
//! with the access token MoySklad gave us at activation.
//! Outgoing client: must not depend on `state`, incoming modules, services or `store`.
//!
//! Lists are paged (`limit` ≤ 1000, `offset`); MoySklad refuses calls without
//! `Accept-Encoding: gzip` and answers 429 when an account calls too often, naming the wait in
//! `X-Lognex-Retry-After` (milliseconds). A 429 is waited out here, a bounded number of times, so
//! callers see either the page or a real error.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, ACCEPT_ENCODING, AUTHORIZATION};
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use url::Url;

/// The largest page MoySklad serves.
pub const MAX_PAGE: u32 = 1000;
/// How many 429s in a row one call waits out before giving up.
const MAX_RATE_LIMIT_WAITS: u32 = 8;
/// Wait after a 429 that names no wait.
const DEFAULT_RATE_LIMIT_WAIT: Duration = Duration::from_millis(1000);
/// A 429 asking for a longer pause than this is treated as this (a sync is resumable anyway).
const MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(30);
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const USER_AGENT: &str = concat!("bonusbridge/", env!("CARGO_PKG_VERSION"));
const MAX_REASON_CHARS: usize = 300;

#[derive(Debug, thiserror::Error)]
pub enum JsonApiError {
    /// The access token is not (or no longer) valid: the app was uninstalled or the token revoked.
    #[error("MoySklad refused the access token")]
    Unauthorized,
    /// The token is valid but lacks the permission (descriptor's `access` block).
    #[error("MoySklad denied access: {0}")]
    Forbidden(String),
    #[error("not found in MoySklad")]
    NotFound,
    #[error("MoySklad kept answering 429 (too many requests)")]
    RateLimited,
    #[error("MoySklad answered {status}: {message}")]
    Status { status: u16, message: String },
    /// Connection failure or timeout: worth trying again later.
    #[error("MoySklad unreachable: {0}")]
    Transport(String),
    #[error("unexpected answer from MoySklad: {0}")]
    Decode(String),
    #[error("bad JSON API address: {0}")]
    BadUrl(String),
}

impl JsonApiError {
    /// Whether a later attempt may succeed without anyone changing anything.
    pub fn is_transient(&self) -> bool {
        match self {
            JsonApiError::RateLimited | JsonApiError::Transport(_) => true,
            JsonApiError::Status { status, .. } => *status >= 500,
            _ => false,
        }
    }

    /// What happened, in Russian, for the shop owner's page (`Display` is for the logs). MoySklad's
    /// own message is kept; transport and parsing details stay in the logs.
    pub fn describe_ru(&self) -> String {
        match self {
            JsonApiError::Unauthorized => {
                "МойСклад не принял токен доступа приложения (приложение удалено или доступ отозван)"
                    .into()
            }
            JsonApiError::Forbidden(message) => format!("МойСклад не дал доступа: {message}"),
            JsonApiError::NotFound => "не найдено в МоёмСкладе".into(),
            JsonApiError::RateLimited => {
                "МойСклад ограничил частоту запросов, попытка будет повторена".into()
            }
            JsonApiError::Status { status, message } => {
                format!("МойСклад ответил ошибкой {status}: {message}")
            }
            JsonApiError::Transport(_) => "МойСклад не отвечает".into(),
            JsonApiError::Decode(_) => "МойСклад ответил непонятно".into(),
            JsonApiError::BadUrl(_) => "неверный адрес JSON API МоегоСклада в настройках сервиса".into(),
        }
    }
}

/// One page of a list, with the total MoySklad reports for the whole list.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub rows: Vec<T>,
    /// Number of entities in the whole list (`meta.size`).
    pub total: u64,
    pub offset: u64,
}

impl<T> Page<T> {
    /// The offset of the next page, or `None` after the last one.
    pub fn next_offset(&self) -> Option<u64> {
        let next = self.offset + self.rows.len() as u64;
        (!self.rows.is_empty() && next < self.total).then_some(next)
    }
}

#[derive(Deserialize)]
struct ListBody<T> {
    meta: ListMeta,
    #[serde(default = "Vec::new")]
    rows: Vec<T>,
}

#[derive(Deserialize)]
struct ListMeta {
    #[serde(default)]
    size: u64,
    #[serde(default)]
    offset: u64,
}

/// A point of sale (`entity/retailstore`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct RetailStore {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub archived: bool,
}

/// Client of the JSON API. Cheap to clone: clones share one connection pool.
#[derive(Clone)]
pub struct JsonApiClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: Url,
}

impl JsonApiClient {
    /// `base` is the JSON API root, e.g. `https://api.moysklad.ru/api/remap/1.2`.
    pub fn new(base: &str, timeout: Duration) -> Result<Self, JsonApiError> {
        let mut base = Url::parse(base).map_err(|e| JsonApiError::BadUrl(e.to_string()))?;
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let mut headers = HeaderMap::new();
        headers.insert(
            ACCEPT,
            HeaderValue::from_static("application/json;charset=utf-8"),
        );
        // MoySklad answers 415 without it; reqwest decodes the gzip body.
        headers.insert(ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .user_agent(USER_AGENT)
            .gzip(true)
            .timeout(timeout)
            .connect_timeout(timeout.min(MAX_CONNECT_TIMEOUT))
            .build()
            .map_err(|e| JsonApiError::Transport(e.to_string()))?;
        Ok(JsonApiClient {
            inner: Arc::new(Inner { http, base }),
        })
    }

    /// One page of `entity/{entity}` (e.g. `product`, `variant`), `limit` capped at [`MAX_PAGE`].
    /// `extra` are further query parameters (`filter`, `expand`, …).
    pub async fn page<T: DeserializeOwned>(
        &self,
        token: &SecretString,
        entity: &str,
        offset: u64,
        limit: u32,
        extra: &[(&str, &str)],
    ) -> Result<Page<T>, JsonApiError> {
        let mut url = self
            .inner
            .base
            .join(&format!("entity/{entity}"))
            .map_err(|e| JsonApiError::BadUrl(e.to_string()))?;
        url.query_pairs_mut()
            .append_pair("limit", &limit.clamp(1, MAX_PAGE).to_string())
            .append_pair("offset", &offset.to_string())
            .extend_pairs(extra.iter().copied());
        let body: ListBody<T> = self.get_json(token, url).await?;
        Ok(Page {
            rows: body.rows,
            total: body.meta.size,
            offset: body.meta.offset,
        })
    }

    /// Every entity of a list, page after page. For lists that fit in memory (points of sale);
    /// a catalogue is read page by page with [`JsonApiClient::page`].
    pub async fn all<T: DeserializeOwned>(
        &self,
        token: &SecretString,
        entity: &str,
        extra: &[(&str, &str)],
    ) -> Result<Vec<T>, JsonApiError> {
        let mut rows = Vec::new();
        let mut offset = 0;
        loop {
            let page = self.page(token, entity, offset, MAX_PAGE, extra).await?;
            let next = page.next_offset();
            rows.extend(page.rows);
            match next {
                Some(next) => offset = next,
                None => return Ok(rows),
            }
        }
    }

    /// The account's points of sale, archived ones included (a mapping may still name them).
    pub async fn retail_stores(
        &self,
        token: &SecretString,
    ) -> Result<Vec<RetailStore>, JsonApiError> {
        self.all(token, "retailstore", &[]).await
    }

    async fn get_json<T: DeserializeOwned>(
        &self,
        token: &SecretString,
        url: Url,
    ) -> Result<T, JsonApiError> {
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", token.expose_secret()))
            .map_err(|_| JsonApiError::Unauthorized)?;
        auth.set_sensitive(true);
        let mut waits = 0;
        loop {
            let started = std::time::Instant::now();
            let response = self
                .inner
                .http
                .get(url.clone())
                .header(AUTHORIZATION, auth.clone())
                .send()
                .await
                .map_err(|e| JsonApiError::Transport(without_url(e)))?;
            let status = response.status();
            tracing::debug!(
                path = url.path(),
                status = status.as_u16(),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "moysklad json api"
            );
            if status == StatusCode::TOO_MANY_REQUESTS {
                waits += 1;
                if waits > MAX_RATE_LIMIT_WAITS {
                    return Err(JsonApiError::RateLimited);
                }
                let wait = rate_limit_wait(response.headers());
                tracing::info!(
                    wait_ms = wait.as_millis() as u64,
                    "MoySklad rate limit: waiting"
                );
                tokio::time::sleep(wait).await;
                continue;
            }
            let bytes = response
                .bytes()
                .await
                .map_err(|e| JsonApiError::Transport(without_url(e)))?;
            if !status.is_success() {
                return Err(status_error(status, &bytes));
            }
            return serde_json::from_slice(&bytes).map_err(|e| JsonApiError::Decode(e.to_string()));
        }
    }
}

/// How long MoySklad asks us to wait after a 429.
fn rate_limit_wait(headers: &HeaderMap) -> Duration {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .and_then(|text| text.trim().parse::<u64>().ok())
    };
    let wait = header("x-lognex-retry-after")
        .map(Duration::from_millis)
        .or_else(|| header("retry-after").map(Duration::from_secs))
        .unwrap_or(DEFAULT_RATE_LIMIT_WAIT);
    wait.min(MAX_RATE_LIMIT_WAIT)
}

/// MoySklad's error body: `{"errors": [{"error": "…", "code": 1056}]}`.
#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    errors: Vec<ErrorItem>,
}

#[derive(Deserialize)]
struct ErrorItem {
    #[serde(default)]
    error: String,
}

fn status_error(status: StatusCode, body: &[u8]) -> JsonApiError {
    let message: String = serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .and_then(|body| body.errors.into_iter().next())
        .map(|item| item.error)
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned())
        .chars()
        .take(MAX_REASON_CHARS)
        .collect();
    match status {
        StatusCode::UNAUTHORIZED => JsonApiError::Unauthorized,
        StatusCode::FORBIDDEN => JsonApiError::Forbidden(message),
        StatusCode::NOT_FOUND => JsonApiError::NotFound,
        _ => JsonApiError::Status {
            status: status.as_u16(),
            message,
        },
    }
}

/// reqwest's errors print the URL; ours carry no query secrets, but keep messages short and stable.
fn without_url(error: reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "connection failed"
    } else if error.is_decode() || error.is_body() {
        "broken response body"
    } else {
        "request failed"
    };
    kind.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_offset_stops_at_the_total() {
        let page = Page {
            rows: vec![1, 2, 3],
            total: 7,
            offset: 3,
        };
        assert_eq!(page.next_offset(), Some(6));
        let last = Page {
            rows: vec![7],
            total: 7,
            offset: 6,
        };
        assert_eq!(last.next_offset(), None);
        let empty: Page<u8> = Page {
            rows: vec![],
            total: 9,
            offset: 0,
        };
        assert_eq!(
            empty.next_offset(),
            None,
            "an empty page never loops forever"
        );
    }

    #[test]
    fn rate_limit_wait_prefers_the_lognex_header_and_is_capped() {
        let mut headers = HeaderMap::new();
        assert_eq!(rate_limit_wait(&headers), DEFAULT_RATE_LIMIT_WAIT);
        headers.insert("retry-after", HeaderValue::from_static("2"));
        assert_eq!(rate_limit_wait(&headers), Duration::from_secs(2));
        headers.insert("x-lognex-retry-after", HeaderValue::from_static("150"));
        assert_eq!(rate_limit_wait(&headers), Duration::from_millis(150));
        headers.insert("x-lognex-retry-after", HeaderValue::from_static("99999999"));
        assert_eq!(rate_limit_wait(&headers), MAX_RATE_LIMIT_WAIT);
    }

    #[test]
    fn error_bodies_become_typed_errors() {
        let body = br#"{"errors":[{"error":"Access denied","code":1016}]}"#;
        assert!(matches!(
            status_error(StatusCode::FORBIDDEN, body),
            JsonApiError::Forbidden(message) if message == "Access denied"
        ));
        assert!(matches!(
            status_error(StatusCode::UNAUTHORIZED, b""),
            JsonApiError::Unauthorized
        ));
        let error = status_error(StatusCode::BAD_GATEWAY, b"<html>");
        assert!(error.is_transient());
        assert!(!status_error(StatusCode::BAD_REQUEST, b"{}").is_transient());
    }
}
