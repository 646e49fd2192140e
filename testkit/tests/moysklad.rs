//! What the demo added to the MoySklad stand-in: a priced catalogue served as the JSON API lists
//! it, and MoySklad's side of an install (a signed `PUT` to the app's Vendor API endpoint).

use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::put;
use axum::{Json, Router};
use bonusbridge_testkit::moysklad::{CatalogueProduct, FakeMoySklad};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{json, Value};

const SECRET: &str = "testkit-secret-key-0123456789abcdef";
const TOKEN: &str = "json-api-token";

async fn list(fake: &FakeMoySklad, entity: &str, query: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{}/entity/{entity}?{query}", fake.json_api_url()))
        .bearer_auth(TOKEN)
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_priced_catalogue_is_listed_as_the_json_api_lists_it() {
    let fake = FakeMoySklad::start(SECRET, "app.vendor", TOKEN).await;
    fake.add_folder("f1", "Молочные продукты");
    for (id, name, kopecks, weighed) in [("p1", "Молоко", 8990, false), ("p2", "Сыр", 74900, true)]
    {
        fake.add_product(&CatalogueProduct {
            id: id.into(),
            name: name.into(),
            price_kopecks: kopecks,
            weighed,
            folder: Some("f1".into()),
        });
    }

    let page = list(&fake, "product", "limit=1&offset=1").await;
    assert_eq!(page["meta"]["size"], 2);
    let cheese = &page["rows"][0];
    assert_eq!(cheese["name"], "Сыр");
    assert_eq!(cheese["weighed"], true);
    assert_eq!(cheese["salePrices"][0]["value"], 74900);
    let folder_href = cheese["productFolder"]["meta"]["href"].as_str().unwrap();
    assert!(
        folder_href.ends_with("/entity/productfolder/f1"),
        "{folder_href}"
    );
    let folders = list(&fake, "productfolder", "").await;
    assert_eq!(folders["rows"][0]["name"], "Молочные продукты");
    assert_eq!(folders["rows"][0]["archived"], false);

    // What is served is what `rows` reads back.
    assert_eq!(fake.rows("product").len(), 2);
    assert_eq!(fake.rows("product")[1], *cheese);
    assert!(fake.rows("variant").is_empty());
}

/// The app's Vendor API endpoint: records the path, the verified claims and the body.
#[derive(Clone, Default)]
struct App {
    seen: Arc<Mutex<Vec<(String, Value, Value)>>>,
}

async fn activate(
    State(app): State<App>,
    Path((app_id, account)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Json<Value> {
    let jwt = headers["authorization"]
        .to_str()
        .unwrap()
        .strip_prefix("Bearer ")
        .unwrap()
        .to_owned();
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_required_spec_claims(&["exp"]);
    let claims = jsonwebtoken::decode::<Value>(
        &jwt,
        &DecodingKey::from_secret(SECRET.as_bytes()),
        &validation,
    )
    .expect("signed with the app's secret")
    .claims;
    app.seen
        .lock()
        .unwrap()
        .push((format!("{app_id}/{account}"), claims, body));
    Json(json!({"status": "SettingsRequired"}))
}

#[tokio::test]
async fn an_install_is_a_signed_put_with_the_json_api_token() {
    let app = App::default();
    let router = Router::new()
        .route(
            "/api/moysklad/vendor/1.0/apps/{app}/{account}",
            put(activate),
        )
        .with_state(app.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    let fake = FakeMoySklad::start(SECRET, "app.vendor", TOKEN).await;

    for _ in 0..2 {
        let answer = fake
            .install_app(&base, "app-1", "account-1", "ООО Ромашка")
            .await
            .unwrap();
        assert_eq!(answer, (200, json!({"status": "SettingsRequired"})));
    }

    let seen = app.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    let (path, claims, body) = &seen[0];
    assert_eq!(path, "app-1/account-1");
    let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
    assert!(lifetime > 0 && lifetime <= 300, "{claims}");
    assert_ne!(claims["jti"], seen[1].1["jti"], "a fresh jti every call");
    assert_eq!(body["cause"], "Install");
    assert_eq!(body["appUid"], "app.vendor");
    assert_eq!(body["accountName"], "ООО Ромашка");
    assert_eq!(body["access"][0]["access_token"], TOKEN);
    assert_eq!(
        body["access"][0]["resource"],
        "https://api.moysklad.ru/api/remap/1.2"
    );
}

#[tokio::test]
async fn counterparties_are_paged_as_the_json_api_pages_them() {
    let fake = FakeMoySklad::start(SECRET, "app.vendor", TOKEN).await;
    for n in 0..2_500 {
        fake.add_counterparty(json!({
            "id": format!("c{n}"), "name": format!("Покупатель {n}"),
            "phone": format!("+7 901 {n:07}"), "bonusPoints": n, "tags": ["вип"], "archived": false,
        }));
    }
    let last = list(&fake, "counterparty", "limit=1000&offset=2000").await;
    assert_eq!(last["meta"]["size"], 2_500);
    assert_eq!(last["meta"]["offset"], 2_000);
    assert_eq!(last["rows"].as_array().unwrap().len(), 500);
    assert_eq!(last["rows"][0]["bonusPoints"], 2_000);
    let href = last["rows"][0]["meta"]["href"].as_str().unwrap();
    assert!(href.ends_with("/entity/counterparty/c2000"), "{href}");
}
