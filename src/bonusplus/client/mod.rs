//! The HTTP side: one shared connection pool, one way of sending a request and of reading
//! BonusPlus's answer into a typed result or a [`BonusPlusError`]; the calls live in one file per
//! resource (customers, balance, retail, certificates, products) and the connection check's in `probe`.
//! Outgoing client: must not depend on `state`, incoming modules, services or `store`.

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use bytes::Bytes;
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tracing::Instrument as _;
use url::Url;

use super::error::{codes, BonusPlusError, ErrorBody, Result};
use super::watch::{Point, Unexpected, Watcher};
use super::wire_assumptions;
use crate::domain::phone::Phone;

mod balance;
mod certificates;
mod customer_update;
mod customers;
mod probe;
mod products;
mod retail;

pub use customer_update::{CustomerUpdate, Withheld};
pub use customers::MAX_CUSTOMERS_PER_LIST;
pub use probe::{Probe, ProbeAnswer};

/// Connecting should never take long; a slow connect means BonusPlus is in trouble.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Pause before the single automatic retry of an idempotent read.
const READ_RETRY_DELAY: Duration = Duration::from_millis(200);
/// Idle keep-alive connections are dropped after this, before a server would drop them.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(50);
const USER_AGENT: &str = concat!("bonusbridge/", env!("CARGO_PKG_VERSION"));
/// BonusPlus's `msg` on an error can be long; a reason in a log or an error stays short.
const MAX_REASON_CHARS: usize = 300;

/// A shop's BonusPlus API key, with its `Authorization` header value computed once, and the
/// account it belongs to (told to the [`Watcher`] with an answer that differs).
#[derive(Clone)]
pub struct ApiKey {
    secret: SecretString,
    header: HeaderValue,
    owner: Option<Arc<str>>,
}

impl ApiKey {
    /// Wraps the key the shop owner copied from BonusPlus (surrounding blanks are dropped).
    /// An empty key is refused as [`BonusPlusError::Unauthorized`].
    pub fn new(key: SecretString) -> Result<Self> {
        let trimmed = key.expose_secret().trim();
        if trimmed.is_empty() {
            return Err(BonusPlusError::Unauthorized);
        }
        let encoded = BASE64.encode(trimmed.as_bytes());
        let mut header = HeaderValue::from_str(&format!("ApiKey {encoded}"))
            .map_err(|_| BonusPlusError::Unauthorized)?;
        header.set_sensitive(true);
        Ok(ApiKey {
            secret: SecretString::from(trimmed),
            header,
            owner: None,
        })
    }

    /// The same key, belonging to `owner` (an account id).
    pub fn owned_by(mut self, owner: &str) -> Self {
        self.owner = Some(Arc::from(owner));
        self
    }

    /// The account the key belongs to, when known.
    pub fn owner(&self) -> Option<&str> {
        self.owner.as_deref()
    }

    /// The key itself, e.g. to store it encrypted.
    pub fn secret(&self) -> &SecretString {
        &self.secret
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

/// Client of the BonusPlus API. Cheap to clone: clones share one connection pool.
#[derive(Clone)]
pub struct BonusPlusClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: Url,
    timeout: Duration,
    urls: FixedUrls,
    watcher: OnceLock<Arc<dyn Watcher>>,
}

/// URLs of the endpoints whose path does not depend on the request, joined once.
struct FixedUrls {
    customer: Url,
    account: Url,
    customer_list: Url,
    retail_calc: Url,
    retail: Url,
    retail_back: Url,
    product_import: Url,
}

impl FixedUrls {
    fn join(base: &Url) -> Result<Self> {
        let join = |path: &str| {
            base.join(path).map_err(|err| BonusPlusError::Unexpected {
                reason: format!("cannot build the URL of {path}: {err}"),
            })
        };
        Ok(FixedUrls {
            customer: join("customer")?,
            account: join("account")?,
            customer_list: join("customer/list")?,
            retail_calc: join("retail/calc")?,
            retail: join("retail")?,
            retail_back: join("retail/back")?,
            product_import: join("product/import")?,
        })
    }
}

impl fmt::Debug for BonusPlusClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BonusPlusClient")
            .field("base_url", &self.inner.base.as_str())
            .field("timeout", &self.inner.timeout)
            .finish()
    }
}

/// How a request carries (or not) a JSON body.
#[derive(Clone)]
enum Body {
    /// GET: no body, no `Content-Type`.
    None,
    /// A PUT that sends nothing, with `Content-Length: 0` (BonusPlus wants the header).
    Empty,
    Json(Bytes),
}

/// One request to BonusPlus. `endpoint` names it in traces instead of the URL, which may
/// contain a customer's phone.
#[derive(Clone)]
struct Call {
    endpoint: &'static str,
    method: Method,
    url: Url,
    body: Body,
}

impl Call {
    fn get(endpoint: &'static str, url: Url) -> Self {
        Call {
            endpoint,
            method: Method::GET,
            url,
            body: Body::None,
        }
    }

    fn empty(endpoint: &'static str, method: Method, url: Url) -> Self {
        Call {
            endpoint,
            method,
            url,
            body: Body::Empty,
        }
    }

    fn json(
        endpoint: &'static str,
        method: Method,
        url: Url,
        body: &impl Serialize,
    ) -> Result<Self> {
        let bytes = serde_json::to_vec(body).map_err(|err| BonusPlusError::Unexpected {
            reason: format!("{endpoint}: cannot encode the request: {err}"),
        })?;
        Ok(Call {
            endpoint,
            method,
            url,
            body: Body::Json(Bytes::from(bytes)),
        })
    }
}

impl BonusPlusClient {
    /// A client of the API at `base_url` (a missing trailing `/` is added); every call gives
    /// up after `timeout`.
    pub fn new(base_url: &str, timeout: Duration) -> Result<Self> {
        let base = parse_base_url(base_url)?;
        let http = build_http_client(timeout)?;
        let urls = FixedUrls::join(&base)?;
        Ok(BonusPlusClient {
            inner: Arc::new(Inner {
                http,
                base,
                timeout,
                urls,
                watcher: OnceLock::new(),
            }),
        })
    }

    /// Tells `watcher` of every answer that differs from an unconfirmed point (on every clone of
    /// this client). Only the first watcher given is kept.
    pub fn watch(&self, watcher: Arc<dyn Watcher>) {
        let _ = self.inner.watcher.set(watcher);
    }

    /// Counts an answer that differs (`bonusbridge_bonusplus_unexpected_total{point}`), logs one
    /// line with the account, call, status and the answer's shape (never a value), and tells the
    /// watcher.
    fn report(&self, key: &ApiKey, event: Unexpected) {
        let point = event.point.as_str();
        crate::meters::record_unexpected(point);
        tracing::warn!(
            point,
            account = key.owner().unwrap_or("-"),
            call = event.call,
            status = event.status,
            shape = %event.shape,
            "BonusPlus answered otherwise than expected"
        );
        if let Some(watcher) = self.inner.watcher.get() {
            watcher.unexpected(key.owner(), &event);
        }
    }

    /// Reads a successful answer; one that does not fit is reported ([`Point::AnswerShape`]).
    fn decode<T: DeserializeOwned>(
        &self,
        key: &ApiKey,
        endpoint: &'static str,
        body: &[u8],
    ) -> Result<T> {
        decode(endpoint, body).inspect_err(|_| {
            self.report(
                key,
                Unexpected::answer(Point::AnswerShape, endpoint, 200, body),
            );
        })
    }

    /// `<base>/<segments…>`; segments are percent-encoded (they may be user input).
    fn path_url(&self, segments: &[&str]) -> Result<Url> {
        let mut url = self.inner.base.clone();
        url.path_segments_mut()
            .map_err(|()| BonusPlusError::Unexpected {
                reason: "the base URL cannot take a path".into(),
            })?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    /// `customer/{phone}/<segments…>`; segments are percent-encoded (a code is user input).
    fn customer_url(&self, phone: &Phone, segments: &[&str]) -> Result<Url> {
        let mut path = Vec::with_capacity(segments.len() + 2);
        path.extend(["customer", phone.as_str()]);
        path.extend_from_slice(segments);
        self.path_url(&path)
    }

    /// Sends an idempotent read, once more after a short pause if BonusPlus was unavailable.
    async fn send_read(&self, key: &ApiKey, call: Call) -> Result<Bytes> {
        match self.send(key, call.clone()).await {
            Err(err) if err.is_retryable() => {
                tracing::info!(endpoint = call.endpoint, "retrying a BonusPlus read once");
                tokio::time::sleep(READ_RETRY_DELAY).await;
                self.send(key, call).await
            }
            result => result,
        }
    }

    /// Sends one request and returns the body of a 2xx answer; any other outcome is an error.
    async fn send(&self, key: &ApiKey, call: Call) -> Result<Bytes> {
        let span = tracing::info_span!(
            "bonusplus",
            endpoint = call.endpoint,
            status = tracing::field::Empty,
            elapsed_ms = tracing::field::Empty,
        );
        self.send_traced(key, call).instrument(span).await
    }

    async fn send_traced(&self, key: &ApiKey, call: Call) -> Result<Bytes> {
        let started = Instant::now();
        let endpoint = call.endpoint;
        let outcome = self.exchange(key, call).await;
        let span = tracing::Span::current();
        span.record("elapsed_ms", elapsed_ms(started));
        let outcome = outcome.and_then(|(status, body)| {
            span.record("status", status.as_u16());
            self.check_status(key, endpoint, status, body)
        });
        match &outcome {
            Ok(_) => tracing::info!("BonusPlus call succeeded"),
            Err(err) => tracing::warn!(error = %err, "BonusPlus call failed"),
        }
        let label = outcome.as_ref().map_or_else(BonusPlusError::kind, |_| "ok");
        crate::meters::record_upstream(endpoint, label, started);
        outcome
    }

    /// The HTTP exchange itself: the status and the whole body, or a transport failure.
    async fn exchange(&self, key: &ApiKey, call: Call) -> Result<(StatusCode, Bytes)> {
        let mut request = self
            .inner
            .http
            .request(call.method, call.url)
            .header(AUTHORIZATION, key.header.clone());
        request = match call.body {
            Body::None => request,
            // hyper omits the length of an empty body unless told; BonusPlus wants it.
            Body::Empty => request
                .header(CONTENT_TYPE, json_content_type())
                .header(CONTENT_LENGTH, HeaderValue::from_static("0"))
                .body(Bytes::new()),
            Body::Json(bytes) => request
                .header(CONTENT_TYPE, json_content_type())
                .body(bytes),
        };
        let response = request.send().await.map_err(transport_error)?;
        let status = response.status();
        let body = response.bytes().await.map_err(transport_error)?;
        Ok((status, body))
    }
}

fn json_content_type() -> HeaderValue {
    HeaderValue::from_static("application/json")
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

fn parse_base_url(base_url: &str) -> Result<Url> {
    let trimmed = base_url.trim();
    let with_slash = if trimmed.ends_with('/') {
        trimmed.to_owned()
    } else {
        format!("{trimmed}/")
    };
    let base = Url::parse(&with_slash).map_err(|err| BonusPlusError::Unexpected {
        reason: format!("invalid BonusPlus base URL: {err}"),
    })?;
    match base.scheme() {
        "http" | "https" => Ok(base),
        other => Err(BonusPlusError::Unexpected {
            reason: format!("BonusPlus base URL must be http(s), not {other}"),
        }),
    }
}

fn build_http_client(timeout: Duration) -> Result<reqwest::Client> {
    let mut default_headers = reqwest::header::HeaderMap::new();
    default_headers.insert(ACCEPT, json_content_type());
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(MAX_CONNECT_TIMEOUT))
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        .tcp_nodelay(true)
        .gzip(true)
        // The API never redirects; following one could only surprise.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(USER_AGENT)
        .default_headers(default_headers)
        .build()
        .map_err(|err| BonusPlusError::Unexpected {
            reason: format!("cannot build the HTTP client: {}", error_chain(&err)),
        })
}

fn with_query(base: &Url, name: &str, value: &str) -> Url {
    let mut url = base.clone();
    url.query_pairs_mut().append_pair(name, value);
    url
}

/// Classifies a failure to talk to BonusPlus at all.
fn transport_error(err: reqwest::Error) -> BonusPlusError {
    // The URL may hold a customer's phone: keep it out of errors and logs.
    let err = err.without_url();
    if err.is_builder() || err.is_decode() {
        return BonusPlusError::Unexpected {
            reason: error_chain(&err),
        };
    }
    let reason = if err.is_timeout() {
        "no answer within the timeout".to_owned()
    } else if err.is_connect() {
        format!("cannot connect: {}", error_chain(&err))
    } else {
        error_chain(&err)
    };
    BonusPlusError::Unavailable { reason }
}

/// The error and its causes on one line ("error sending request: connection reset").
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl BonusPlusClient {
    /// The body of a 2xx answer; any other answer is an error, reported when it differs from
    /// what the error points of [`wire_assumptions`] expect.
    fn check_status(
        &self,
        key: &ApiKey,
        endpoint: &'static str,
        status: StatusCode,
        body: Bytes,
    ) -> Result<Bytes> {
        if status.is_success() {
            return Ok(body);
        }
        let error = ErrorBody::parse(&body);
        if let Some(point) = differing_error(status.as_u16(), &error, &body) {
            self.report(
                key,
                Unexpected::answer(point, endpoint, status.as_u16(), &body),
            );
        }
        Err(error_from_answer(endpoint, status, &error))
    }
}

/// The error point a non-2xx answer differs from, if any.
fn differing_error(status: u16, error: &ErrorBody, body: &[u8]) -> Option<Point> {
    match (status, error.code()) {
        // The status says all: no body is expected.
        (401 | 403 | 408 | 429 | 500..=599, _) => None,
        (404 | 405, None) => {
            (!wire_assumptions::is_unknown_route_body(body)).then_some(Point::ErrorBody)
        }
        (_, None) => Some(Point::ErrorBody),
        (404, Some(code)) if wire_assumptions::is_unspecific_not_found(code) => {
            Some(Point::NotFoundEntity)
        }
        (_, Some(code)) if !wire_assumptions::KNOWN_ERROR_CODES.contains(&code) => {
            Some(Point::ErrorCode)
        }
        _ => None,
    }
}

/// Maps a non-2xx answer to the error the caller acts on. A 404 is "customer not found" only
/// when its code says so — or, for a customer lookup, when the code names no entity at all.
fn error_from_answer(endpoint: &str, status: StatusCode, error: &ErrorBody) -> BonusPlusError {
    let code = status.as_u16();
    match (code, error.code()) {
        (401 | 403, _) => BonusPlusError::Unauthorized,
        (408 | 429 | 500..=599, _) => BonusPlusError::Unavailable {
            reason: describe_status(status, error),
        },
        // No business code: the framework's own answer for a route it does not know.
        (404 | 405, None) => BonusPlusError::UnknownCall { status: code },
        (400..=499, Some(codes::CUSTOMER_NOT_FOUND)) => BonusPlusError::NotFound,
        (404, Some(other))
            if wire_assumptions::is_unspecific_not_found(other)
                && wire_assumptions::is_customer_lookup(endpoint) =>
        {
            BonusPlusError::NotFound
        }
        (400..=499, Some(codes::CUSTOMER_ALREADY_EXIST)) => BonusPlusError::AlreadyExists,
        (400..=499, Some(codes::RETAIL_ALREADY_EXIST)) => BonusPlusError::AlreadyBooked,
        (400..=499, _) => BonusPlusError::Refused {
            status: code,
            message: refusal_message(status, error),
            code: error.code.clone().map(|code| code.0),
        },
        _ => BonusPlusError::Unexpected {
            reason: describe_status(status, error),
        },
    }
}

fn refusal_message(status: StatusCode, error: &ErrorBody) -> String {
    match error.msg.as_deref().map(str::trim) {
        Some(msg) if !msg.is_empty() => msg.to_owned(),
        _ => format!("BonusPlus отклонил запрос (HTTP {})", status.as_u16()),
    }
}

fn describe_status(status: StatusCode, error: &ErrorBody) -> String {
    let mut text = format!("HTTP {}", status.as_u16());
    if let Some(msg) = error.msg.as_deref().filter(|msg| !msg.trim().is_empty()) {
        text.push_str(": ");
        text.extend(msg.chars().take(MAX_REASON_CHARS));
    }
    text
}

/// Reads a successful answer's JSON, naming the offending field if it does not fit.
///
/// Parsed plainly first (tracking the path allocates for every field, on the till's hot path); only
/// an answer that does not fit is parsed again, tracking the path, to name the field.
fn decode<T: DeserializeOwned>(endpoint: &str, body: &[u8]) -> Result<T> {
    match T::deserialize(&mut serde_json::Deserializer::from_slice(body)) {
        Ok(value) => Ok(value),
        Err(_) => decode_naming_the_field(endpoint, body),
    }
}

fn decode_naming_the_field<T: DeserializeOwned>(endpoint: &str, body: &[u8]) -> Result<T> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let reason = format!(
            "{endpoint}: malformed answer at `{}`: {}",
            err.path(),
            err.inner()
        );
        BonusPlusError::Unexpected {
            reason: reason.chars().take(MAX_REASON_CHARS).collect(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ApiKey {
        ApiKey::new(SecretString::from("  secret-key ")).unwrap()
    }

    #[test]
    fn api_key_header_is_base64_of_the_trimmed_key_and_sensitive() {
        let key = key();
        let expected = format!("ApiKey {}", BASE64.encode("secret-key"));
        assert_eq!(key.header.to_str().unwrap(), expected);
        assert!(key.header.is_sensitive());
        assert_eq!(format!("{key:?}"), "ApiKey(***)");
    }

    #[test]
    fn empty_api_key_is_refused() {
        let err = ApiKey::new(SecretString::from("   ")).unwrap_err();
        assert_eq!(err, BonusPlusError::Unauthorized);
    }

    #[test]
    fn base_url_gets_a_trailing_slash() {
        let client =
            BonusPlusClient::new("http://127.0.0.1:1/api", Duration::from_secs(1)).unwrap();
        assert_eq!(client.inner.base.as_str(), "http://127.0.0.1:1/api/");
        assert_eq!(
            client.inner.urls.retail_calc.as_str(),
            "http://127.0.0.1:1/api/retail/calc"
        );
        assert!(BonusPlusClient::new("ftp://x/", Duration::from_secs(1)).is_err());
        assert!(BonusPlusClient::new("not a url", Duration::from_secs(1)).is_err());
    }

    #[test]
    fn path_segments_are_percent_encoded() {
        let client = BonusPlusClient::new("http://127.0.0.1:1/", Duration::from_secs(1)).unwrap();
        let phone = Phone::parse("9011231122").unwrap();
        let url = client
            .customer_url(&phone, &["checkCode", "12/3 4"])
            .unwrap();
        assert_eq!(url.path(), "/customer/79011231122/checkCode/12%2F3%204");
        let prefixed = BonusPlusClient::new("http://127.0.0.1:1/api", Duration::from_secs(1))
            .unwrap()
            .path_url(&["certificate", "a/b"])
            .unwrap();
        assert_eq!(prefixed.path(), "/api/certificate/a%2Fb");
    }

    fn answer(status: StatusCode, body: &[u8]) -> BonusPlusError {
        error_from_answer("GET customer", status, &ErrorBody::parse(body))
    }

    #[test]
    fn differing_errors_are_named_by_point() {
        let point =
            |status: u16, body: &[u8]| differing_error(status, &ErrorBody::parse(body), body);
        assert_eq!(
            point(412, br#"{"code":"NOT_ENOUGH_BONUSES","msg":"x"}"#),
            None
        );
        assert_eq!(point(404, br#"{"Message":"No HTTP resource"}"#), None);
        assert_eq!(point(405, b""), None);
        assert_eq!(point(503, b"<html/>"), None);
        assert_eq!(point(412, br#"{"error":"x"}"#), Some(Point::ErrorBody));
        assert_eq!(point(404, b"<html/>"), Some(Point::ErrorBody));
        assert_eq!(
            point(412, br#"{"code":"SOMETHING_NEW","msg":"x"}"#),
            Some(Point::ErrorCode)
        );
        assert_eq!(
            point(404, br#"{"code":"NOT_FOUND","msg":"x"}"#),
            Some(Point::NotFoundEntity)
        );
    }

    #[test]
    fn statuses_map_to_error_classes() {
        let refused = answer(
            StatusCode::PRECONDITION_FAILED,
            r#"{"code":"NOT_ENOUGH_BONUSES","msg":"Недостаточно бонусов"}"#.as_bytes(),
        );
        assert_eq!(
            refused,
            BonusPlusError::Refused {
                status: 412,
                code: Some("NOT_ENOUGH_BONUSES".into()),
                message: "Недостаточно бонусов".into(),
            }
        );
        assert_eq!(
            answer(StatusCode::FORBIDDEN, b""),
            BonusPlusError::Unauthorized
        );
        // 404/405 without a business code: BonusPlus does not know the call.
        for (status, body) in [
            (StatusCode::NOT_FOUND, &b""[..]),
            (
                StatusCode::NOT_FOUND,
                br#"{"Message":"No HTTP resource was found"}"#,
            ),
            (
                StatusCode::METHOD_NOT_ALLOWED,
                br#"{"Message":"not supported"}"#,
            ),
        ] {
            assert_eq!(
                answer(status, body),
                BonusPlusError::UnknownCall {
                    status: status.as_u16()
                }
            );
        }
        // A 404 with a business code is BonusPlus's own "not found".
        assert_eq!(
            answer(
                StatusCode::NOT_FOUND,
                br#"{"code":"CUSTOMER_NOT_FOUND","msg":"-"}"#
            ),
            BonusPlusError::NotFound
        );
        // A 404 that names no entity is "not found" only for a customer lookup; one naming
        // another entity never is.
        let unspecific = br#"{"code":"NOT_FOUND","msg":"-"}"#;
        assert_eq!(
            answer(StatusCode::NOT_FOUND, unspecific),
            BonusPlusError::NotFound
        );
        assert!(matches!(
            error_from_answer(
                "PUT retail/calc",
                StatusCode::NOT_FOUND,
                &ErrorBody::parse(unspecific)
            ),
            BonusPlusError::Refused { status: 404, .. }
        ));
        let store = br#"{"code":"STORE_NOT_FOUND","msg":"no store"}"#;
        assert!(matches!(
            answer(StatusCode::NOT_FOUND, store),
            BonusPlusError::Refused { status: 404, .. }
        ));
        assert!(answer(StatusCode::TOO_MANY_REQUESTS, b"").is_retryable());
        assert!(matches!(
            answer(StatusCode::PERMANENT_REDIRECT, b""),
            BonusPlusError::Unexpected { .. }
        ));
        let no_msg = answer(StatusCode::BAD_REQUEST, b"oops");
        assert_eq!(no_msg.to_string(), "BonusPlus отклонил запрос (HTTP 400)");
    }
}
