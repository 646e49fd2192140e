//! A local MoySklad for the life-cycle and product-sync tests and for the demo: the Vendor API calls
//! we make (context, loyalty settings, status) and the JSON API's entity lists (points of sale,
//! folders, products, services, variants), paged as MoySklad pages them. It checks our JWTs, tokens
//! and gzip header, records what we sent and what it served, and can answer 429 or fail a page on
//! demand. It also plays MoySklad's side of an install (a signed `PUT` to the app's Vendor API) and
//! fills a catalogue with priced products, as the demo needs.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, State};
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
    /// Entity name → its rows, in list order.
    entities: Arc<Mutex<HashMap<String, Vec<Value>>>>,
    /// (entity, offset) → queued answers for that page instead of the rows (429 or 5xx).
    faults: Arc<Mutex<HashMap<PageKey, Vec<u16>>>>,
    served: Arc<Mutex<Vec<Served>>>,
    page_delay: Arc<Mutex<Duration>>,
    /// How long a Vendor API call waits, once recorded, before it is answered.
    vendor_delay: Arc<Mutex<Duration>>,
    /// Statuses the next Vendor API calls answer (recorded all the same), in order.
    vendor_faults: Arc<Mutex<Vec<u16>>>,
}

/// A page of a list: entity name and offset.
type PageKey = (String, u64);

/// One JSON API list request the fake answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    pub entity: String,
    pub offset: u64,
    pub limit: u64,
    pub status: u16,
}

/// A priced product for [`FakeMoySklad::add_product`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogueProduct {
    pub id: String,
    pub name: String,
    /// Sale price in kopecks (the unit of the JSON API's `salePrices[].value`).
    pub price_kopecks: i64,
    /// Sold by weight (kilograms; fractional quantities at the till).
    pub weighed: bool,
    /// The id of its folder, if any.
    pub folder: Option<String>,
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
            entities: Arc::default(),
            faults: Arc::default(),
            served: Arc::default(),
            page_delay: Arc::default(),
            vendor_delay: Arc::default(),
            vendor_faults: Arc::default(),
        };
        let app = Router::new()
            .route("/api/vendor/1.0/context/{key}", post(context))
            .route(
                "/api/vendor/1.0/apps/{app}/{account}/loyalty",
                put(record).patch(record),
            )
            .route("/api/vendor/1.0/apps/{app}/{account}/status", put(record))
            .route(
                "/api/remap/1.2/entity/{entity}",
                axum::routing::get(entity_list),
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
        self.push_row(
            "retailstore",
            json!({"id": id, "name": name, "archived": false, "meta": {"type": "retailstore"}}),
        );
    }

    /// Adds a product folder (a BonusPlus group once synced).
    pub fn add_folder(&self, id: &str, name: &str) {
        let meta = self.meta("productfolder", id);
        self.push_row(
            "productfolder",
            json!({"id": id, "name": name, "archived": false, "meta": meta}),
        );
    }

    /// Adds a product with its sale price, as the JSON API lists it (`salePrices[].value` in
    /// kopecks, `weighed` for goods sold by weight, `productFolder` as a reference).
    pub fn add_product(&self, product: &CatalogueProduct) {
        let mut row = json!({
            "id": product.id,
            "name": product.name,
            "archived": false,
            "meta": self.meta("product", &product.id),
            "weighed": product.weighed,
            "salePrices": [{
                "value": product.price_kopecks,
                "priceType": {"name": "Цена продажи"},
            }],
        });
        if let Some(folder) = &product.folder {
            row["productFolder"] = json!({"meta": self.meta("productfolder", folder)});
        }
        self.push_row("product", row);
    }

    /// The rows of an entity list, in list order (what a till would read from the JSON API).
    pub fn rows(&self, entity: &str) -> Vec<Value> {
        self.fake
            .entities
            .lock()
            .unwrap()
            .get(entity)
            .cloned()
            .unwrap_or_default()
    }

    /// `meta` of an entity of this fake's JSON API (the sync reads ids out of such hrefs).
    fn meta(&self, entity: &str, id: &str) -> Value {
        json!({"href": format!("{}/entity/{entity}/{id}", self.json_api_url()), "type": entity})
    }

    /// What MoySklad does when a user installs the app: `PUT {endpoint_base}/api/moysklad/vendor/1.0/apps/{app_id}/{account_id}`
    /// signed with the app's secret (a fresh `jti`), cause `Install`, carrying this fake's JSON API
    /// token. Answers the app's status code and body.
    pub async fn install_app(
        &self,
        endpoint_base: &str,
        app_id: &str,
        account_id: &str,
        account_name: &str,
    ) -> Result<(u16, Value), reqwest::Error> {
        let url = format!(
            "{}/api/moysklad/vendor/1.0/apps/{app_id}/{account_id}",
            endpoint_base.trim_end_matches('/')
        );
        let body = json!({
            "appUid": self.fake.app_uid,
            "accountName": account_name,
            "cause": "Install",
            "access": [{
                "resource": "https://api.moysklad.ru/api/remap/1.2",
                "scope": ["admin"],
                "access_token": self.fake.access_token,
            }],
            "subscription": {"tariffId": "demo", "trial": true, "notForResale": false, "partner": false},
        });
        let jwt = moysklad_jwt(&self.fake.secret, &uuid::Uuid::new_v4().to_string(), 60);
        let response = reqwest::Client::new()
            .put(url)
            .bearer_auth(jwt)
            .json(&body)
            .send()
            .await?;
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        Ok((status, body))
    }

    /// Appends a counterparty (`entity/counterparty`, the customer import's list) as the JSON API
    /// lists it: the fields given (`phone`, `discountCardNumber`, `bonusPoints`, `tags`, …) and
    /// its `meta`. Paged like every list (`limit` ≤ 1000, `offset`, `meta.size`).
    pub fn add_counterparty(&self, mut row: Value) {
        let id = row["id"].as_str().unwrap_or_default().to_owned();
        row["meta"] = self.meta("counterparty", &id);
        self.push_row("counterparty", row);
    }

    /// Appends a row to an entity list (`product`, `variant`, …).
    pub fn push_row(&self, entity: &str, row: Value) {
        self.fake
            .entities
            .lock()
            .unwrap()
            .entry(entity.to_owned())
            .or_default()
            .push(row);
    }

    /// Changes the row of `entity` with this id; `false` if there is none.
    pub fn edit_row(&self, entity: &str, id: &str, edit: impl FnOnce(&mut Value)) -> bool {
        let mut entities = self.fake.entities.lock().unwrap();
        match entities
            .get_mut(entity)
            .and_then(|rows| rows.iter_mut().find(|row| row["id"] == id))
        {
            Some(row) => {
                edit(row);
                true
            }
            None => false,
        }
    }

    /// The next requests for the page of `entity` at `offset` answer these statuses, in order
    /// (429 comes with `X-Lognex-Retry-After`), before the page is served again.
    pub fn fault_page(&self, entity: &str, offset: u64, statuses: &[u16]) {
        self.fake
            .faults
            .lock()
            .unwrap()
            .entry((entity.to_owned(), offset))
            .or_default()
            .extend_from_slice(statuses);
    }

    /// Delay before every list page is answered (to watch a sync in progress).
    pub fn set_page_delay(&self, delay: Duration) {
        *self.fake.page_delay.lock().unwrap() = delay;
    }

    /// Every Vendor API call (loyalty settings, status) waits this long, once recorded, before it
    /// is answered: what MoySklad holds changes before we hear back.
    pub fn set_vendor_delay(&self, delay: Duration) {
        *self.fake.vendor_delay.lock().unwrap() = delay;
    }

    /// The next Vendor API calls (loyalty settings, status) are recorded, then answered with these
    /// statuses in order instead of 200.
    pub fn fail_vendor_calls(&self, statuses: &[u16]) {
        self.fake
            .vendor_faults
            .lock()
            .unwrap()
            .extend_from_slice(statuses);
    }

    /// List requests answered so far, in order.
    pub fn served(&self) -> Vec<Served> {
        self.fake.served.lock().unwrap().clone()
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
    let delay = *fake.vendor_delay.lock().unwrap();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let fault = {
        let mut faults = fake.vendor_faults.lock().unwrap();
        (!faults.is_empty()).then(|| faults.remove(0))
    };
    if let Some(status) = fault {
        let status = StatusCode::from_u16(status).unwrap();
        return list_error(status, "fault injected by the test");
    }
    Json(body).into_response()
}

#[derive(serde::Deserialize)]
struct ListQuery {
    limit: Option<u64>,
    offset: Option<u64>,
}

fn list_error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"errors": [{"error": message}]}))).into_response()
}

/// `GET entity/{entity}?limit&offset`, as MoySklad answers it: `meta.size` is the whole list,
/// `limit` above 1000 is refused, the token must be the account's and gzip must be accepted.
async fn entity_list(
    State(fake): State<Fake>,
    Path(entity): Path<String>,
    Query(query): Query<ListQuery>,
    headers: HeaderMap,
) -> Response {
    let expected = format!("Bearer {}", fake.access_token);
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return list_error(StatusCode::UNAUTHORIZED, "auth");
    }
    if headers.get("accept-encoding").and_then(|v| v.to_str().ok()) != Some("gzip") {
        return list_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "gzip required");
    }
    let (limit, offset) = (query.limit.unwrap_or(1000), query.offset.unwrap_or(0));
    let delay = *fake.page_delay.lock().unwrap();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let fault = fake
        .faults
        .lock()
        .unwrap()
        .get_mut(&(entity.clone(), offset))
        .filter(|queued| !queued.is_empty())
        .map(|queued| queued.remove(0));
    let status = fault.unwrap_or(if limit > 1000 { 400 } else { 200 });
    fake.served.lock().unwrap().push(Served {
        entity: entity.clone(),
        offset,
        limit,
        status,
    });
    match status {
        200 => {}
        429 => {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [("x-lognex-retry-after", "150")],
                Json(json!({"errors": [{"error": "Превышено ограничение на количество запросов", "code": 1073}]})),
            )
                .into_response()
        }
        other => {
            let status = StatusCode::from_u16(other).unwrap();
            return list_error(status, "fault injected by the test");
        }
    }
    let entities = fake.entities.lock().unwrap();
    let rows = entities.get(&entity).map(Vec::as_slice).unwrap_or_default();
    let page: Vec<Value> = rows
        .iter()
        .skip(offset as usize)
        .take(limit as usize)
        .cloned()
        .collect();
    Json(json!({
        "meta": {"size": rows.len(), "limit": limit, "offset": offset, "type": entity},
        "rows": page
    }))
    .into_response()
}
