//! HTTP basics on both backends: health, request ids, JSON 404/405, body limit.

use crate::support::{TestApp, TestDb};

crate::on_both_backends!(health_and_fallbacks);

async fn health_and_fallbacks(db: TestDb) {
    let app = TestApp::spawn(db, |_| {}).await;
    let live = app.http.get(app.url("/health/live")).send().await.unwrap();
    assert_eq!(live.status(), 200);
    let ready = app.http.get(app.url("/health/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    assert!(ready.headers().contains_key("x-request-id"));

    // A caller's request id is kept.
    let traced = app
        .http
        .get(app.url("/health/live"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(traced.headers()["x-request-id"], "abc-123");

    let missing = app.http.get(app.url("/no/such/path")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(missing.headers()["content-type"], "application/json");
    let body: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], 1004);

    let wrong_method = app
        .http
        .delete(app.url("/health/live"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_method.status(), 405);
    let body: serde_json::Value = wrong_method.json().await.unwrap();
    assert!(body["errors"][0]["error"].is_string());

    // The database going away makes the service not ready (but still live).
    app.state.store.close().await;
    let ready = app.http.get(app.url("/health/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
}
