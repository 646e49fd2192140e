//! The MoySklad JSON API client against a local fake: paging, the headers MoySklad requires, 429s.

use std::time::{Duration, Instant};

use bonusbridge::moysklad::json_api::{JsonApiClient, JsonApiError, RetailStore};
use secrecy::SecretString;
use serde_json::json;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn stores(from: usize, to: usize) -> Vec<serde_json::Value> {
    (from..to)
        .map(|i| json!({"id": format!("store-{i}"), "name": format!("Точка {i}"), "archived": i == 0, "extra": {"x": 1}}))
        .collect()
}

fn list(size: usize, offset: usize, rows: Vec<serde_json::Value>) -> serde_json::Value {
    json!({"meta": {"size": size, "limit": 1000, "offset": offset}, "rows": rows})
}

async fn client(server: &MockServer) -> JsonApiClient {
    JsonApiClient::new(
        &format!("{}/api/remap/1.2", server.uri()),
        Duration::from_secs(5),
    )
    .unwrap()
}

fn token() -> SecretString {
    SecretString::from("ms-access-token")
}

#[tokio::test]
async fn reads_every_page_with_the_required_headers() {
    let server = MockServer::start().await;
    for (offset, rows) in [(0, stores(0, 1000)), (1000, stores(1000, 1200))] {
        Mock::given(method("GET"))
            .and(path("/api/remap/1.2/entity/retailstore"))
            .and(query_param("limit", "1000"))
            .and(query_param("offset", offset.to_string()))
            .and(header("authorization", "Bearer ms-access-token"))
            .and(header("accept-encoding", "gzip"))
            .respond_with(ResponseTemplate::new(200).set_body_json(list(1200, offset, rows)))
            .expect(1)
            .mount(&server)
            .await;
    }
    let all = client(&server).await.retail_stores(&token()).await.unwrap();
    assert_eq!(all.len(), 1200);
    assert_eq!(
        all[0],
        RetailStore {
            id: "store-0".into(),
            name: "Точка 0".into(),
            archived: true
        }
    );
    assert_eq!(all[1199].id, "store-1199");
}

#[tokio::test]
async fn waits_out_a_429_for_as_long_as_moysklad_asks() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/remap/1.2/entity/retailstore"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("x-lognex-retry-after", "300")
                .set_body_json(json!({"errors": [{"error": "Превышен лимит", "code": 1049}]})),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/remap/1.2/entity/retailstore"))
        .respond_with(ResponseTemplate::new(200).set_body_json(list(2, 0, stores(0, 2))))
        .mount(&server)
        .await;
    let started = Instant::now();
    let all = client(&server).await.retail_stores(&token()).await.unwrap();
    assert_eq!(all.len(), 2);
    assert!(started.elapsed() >= Duration::from_millis(300), "waited");
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn refusals_are_typed() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/remap/1.2/entity/retailstore"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(
                json!({"errors": [{"error": "Ошибка аутентификации", "code": 1056}]}),
            ),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/remap/1.2/entity/product"))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(json!({"errors": [{"error": "Нет прав", "code": 1016}]})),
        )
        .mount(&server)
        .await;
    let client = client(&server).await;
    assert!(matches!(
        client.retail_stores(&token()).await,
        Err(JsonApiError::Unauthorized)
    ));
    let denied = client
        .page::<serde_json::Value>(&token(), "product", 0, 100, &[])
        .await;
    assert!(matches!(denied, Err(JsonApiError::Forbidden(m)) if m == "Нет прав"));
    let unreachable =
        JsonApiClient::new("http://127.0.0.1:9/api/remap/1.2", Duration::from_secs(2))
            .unwrap()
            .retail_stores(&token())
            .await;
    assert!(matches!(&unreachable, Err(e) if e.is_transient()));
}
