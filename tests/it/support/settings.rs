//! The settings page's JSON API as the tests use it: the body the page sends
//! (`PUT /ui/api/settings`), and a change of some fields made the way the page makes it — the
//! settings as `GET /ui/api/settings` shows them, the changed fields, sent back whole.

use reqwest::Method;
use serde_json::{json, Value};

use super::TestApp;

/// The body the page sends for one point of sale mapped to «Магазин 1»; `key` is a newly typed
/// BonusPlus key (absent: the stored one is kept).
pub fn body(point_of_sale: &str, key: Option<&str>) -> Value {
    let mut body = json!({
        "defaultStore": "",
        "storeMap": {point_of_sale: "Магазин 1"},
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

/// A call of the settings page's JSON API with a session token.
pub async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    session: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = app.http.request(method, app.url(path)).bearer_auth(session);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// What an administrator does on the page to change `changes` (camelCase fields, e.g.
/// `{"createCustomers": false}`): loads the settings, changes those fields, saves all of them
/// (the key kept). The save must succeed; the page's view after it.
pub async fn change(app: &TestApp, session: &str, changes: Value) -> Value {
    let (status, view) = call(app, Method::GET, "/ui/api/settings", session, None).await;
    assert_eq!(status, 200, "{view}");
    let mut body = view["settings"].clone();
    let fields = body.as_object_mut().expect("the settings shown");
    fields.remove("bonusplusKeySet");
    for (field, value) in changes.as_object().expect("changes by field") {
        assert!(fields.contains_key(field), "the page has no field {field}");
        fields.insert(field.clone(), value.clone());
    }
    let (status, saved) = call(
        app,
        Method::PUT,
        "/ui/api/settings",
        session,
        Some(body.clone()),
    )
    .await;
    assert_eq!(status, 200, "{changes}: {saved}");
    // Every field crossed the API and is what the page now shows: the changed ones and the
    // others as they were (`createCustomers`, `returnWindowDays`, `utcOffsetMinutes`, …).
    for (field, value) in body.as_object().unwrap() {
        assert_eq!(&saved["settings"][field], value, "{field} saved: {saved}");
    }
    saved
}
