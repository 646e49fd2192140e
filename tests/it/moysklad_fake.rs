//! A local MoySklad for life-cycle tests: the Vendor API calls we make (context, loyalty settings,
//! status) and the JSON API's points of sale. It checks our JWTs and records what we sent.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{post, put};
use axum::{Json, Router};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{json, Value};

/// One call we made to the fake Vendor API.
#[derive(Debug, Clone)]
pub struct Captured {
    pub method: Method,
    pub path: String,
    pub body: Value,
}

#[derive(Clone)]
struct Fake {
    secret: String,
    app_uid: String,
    access_token: String,
    contexts: Arc<Mutex<HashMap<String, Value>>>,
    calls: Arc<Mutex<Vec<Captured>>>,
    seen_jti: Arc<Mutex<Vec<String>>>,
    stores: Arc<Mutex<Vec<Value>>>,
}

pub struct FakeMoySklad {
    pub addr: SocketAddr,
    fake: Fake,
}

impl FakeMoySklad {
    /// `secret`/`app_uid` are the app's; `access_token` is the JSON API token given at activation.
    pub async fn start(secret: &str, app_uid: &str, access_token: &str) -> FakeMoySklad {
        let fake = Fake {
            secret: secret.to_owned(),
            app_uid: app_uid.to_owned(),
            access_token: access_token.to_owned(),
            contexts: Arc::default(),
            calls: Arc::default(),
            seen_jti: Arc::default(),
            stores: Arc::default(),
        };
        let app = Router::new()
            .route("/api/vendor/1.0/context/{key}", post(context))
            .route(
                "/api/vendor/1.0/apps/{app}/{account}/loyalty",
                put(record).patch(record),
            )
            .route("/api/vendor/1.0/apps/{app}/{account}/status", put(record))
            .route(
                "/api/remap/1.2/entity/retailstore",
                axum::routing::get(retail_stores),
            )
            .with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        FakeMoySklad { addr, fake }
    }

    pub fn vendor_url(&self) -> String {
        format!("http://{}/api/vendor/1.0", self.addr)
    }

    pub fn json_api_url(&self) -> String {
        format!("http://{}/api/remap/1.2", self.addr)
    }

    /// Makes `key` a valid context key of a user of `account`.
    pub fn add_context(&self, key: &str, account: &str, name: &str, admin: bool) {
        let employee = json!({
            "id": uuid::Uuid::new_v4().to_string(),
            "accountId": account,
            "uid": format!("{name}@shop"),
            "fullName": name,
            "permissions": {"admin": {"view": if admin { "ALL" } else { "NO" }}}
        });
        self.fake
            .contexts
            .lock()
            .unwrap()
            .insert(key.to_owned(), employee);
    }

    pub fn add_store(&self, id: &str, name: &str) {
        self.fake.stores.lock().unwrap().push(
            json!({"id": id, "name": name, "archived": false, "meta": {"type": "retailstore"}}),
        );
    }

    pub fn calls(&self) -> Vec<Captured> {
        self.fake.calls.lock().unwrap().clone()
    }

    /// The last body we sent with `method` to a path ending in `tail`.
    pub fn last(&self, method: Method, tail: &str) -> Option<Value> {
        self.calls()
            .into_iter()
            .rev()
            .find(|c| c.method == method && c.path.ends_with(tail))
            .map(|c| c.body)
    }
}

/// Signs a MoySklad → app JWT (what MoySklad sends to our Vendor API endpoints).
pub fn moysklad_jwt(secret: &str, jti: &str, lifetime_secs: i64) -> String {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = json!({"iat": now, "exp": now + lifetime_secs, "jti": jti});
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

/// Checks the app's JWT and gzip header as MoySklad does; `Err` is the refusal.
fn check_caller(fake: &Fake, headers: &HeaderMap) -> Result<(), (StatusCode, &'static str)> {
    let refuse = |why: &'static str| (StatusCode::UNAUTHORIZED, why);
    if headers.get("accept-encoding").and_then(|v| v.to_str().ok()) != Some("gzip") {
        return Err((StatusCode::UNSUPPORTED_MEDIA_TYPE, "gzip required"));
    }
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| refuse("no token"))?;
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_required_spec_claims(&["exp", "sub"]);
    let claims = jsonwebtoken::decode::<Value>(
        token,
        &DecodingKey::from_secret(fake.secret.as_bytes()),
        &validation,
    )
    .map_err(|_| refuse("bad token"))?
    .claims;
    if claims["sub"] != fake.app_uid.as_str() {
        return Err(refuse("wrong sub"));
    }
    let lifetime = claims["exp"].as_i64().unwrap_or(0) - claims["iat"].as_i64().unwrap_or(0);
    if lifetime > 300 {
        return Err(refuse("lifetime over 300 s"));
    }
    let jti = claims["jti"].as_str().unwrap_or_default().to_owned();
    let mut seen = fake.seen_jti.lock().unwrap();
    if jti.is_empty() || seen.contains(&jti) {
        return Err(refuse("jti reused"));
    }
    seen.push(jti);
    Ok(())
}

async fn context(
    State(fake): State<Fake>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err((status, why)) = check_caller(&fake, &headers) {
        return (status, Json(json!({"errors": [{"error": why}]}))).into_response();
    }
    match fake.contexts.lock().unwrap().get(&key) {
        Some(employee) => Json(employee.clone()).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"errors": [{"error": "no context"}]})),
        )
            .into_response(),
    }
}

async fn record(
    State(fake): State<Fake>,
    method: Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Err((status, why)) = check_caller(&fake, &headers) {
        return (status, Json(json!({"errors": [{"error": why}]}))).into_response();
    }
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    fake.calls.lock().unwrap().push(Captured {
        method,
        path: uri.path().to_owned(),
        body: body.clone(),
    });
    Json(body).into_response()
}

async fn retail_stores(State(fake): State<Fake>, headers: HeaderMap) -> Response {
    let expected = format!("Bearer {}", fake.access_token);
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"errors": [{"error": "auth"}]})),
        )
            .into_response();
    }
    let rows = fake.stores.lock().unwrap().clone();
    Json(json!({"meta": {"size": rows.len(), "limit": 1000, "offset": 0}, "rows": rows}))
        .into_response()
}
