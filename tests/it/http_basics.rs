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

/// The embedding hook (`Application::build_with_routes`, used by the demo): extra routes are served
/// beside ours, inside the common layers; an application built without them has none.
#[tokio::test]
async fn extra_routes_only_when_given() {
    use axum::routing::get;

    let db = TestDb::new(crate::support::Backend::Sqlite)
        .await
        .expect("sqlite");
    let extra = axum::Router::new().route("/extra", get(|| async { "extra" }));
    let settings = crate::support::test_settings(&db.url);
    let app = bonusbridge::startup::Application::build_with_routes(settings, extra)
        .await
        .expect("application builds");
    let base = format!("http://{}", app.local_addr());
    let shutdown = app.shutdown_token();
    tokio::spawn(app.run());
    let http = reqwest::Client::new();
    let answer = http.get(format!("{base}/extra")).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    assert!(
        answer.headers().contains_key("x-request-id"),
        "common layers"
    );
    assert_eq!(answer.text().await.unwrap(), "extra");
    let live = http
        .get(format!("{base}/health/live"))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200, "ours still there");
    let wrong_method = http.post(format!("{base}/extra")).send().await.unwrap();
    assert_eq!(wrong_method.status(), 405);
    shutdown.cancel();

    let plain = TestApp::spawn(
        TestDb::new(crate::support::Backend::Sqlite)
            .await
            .expect("sqlite"),
        |_| {},
    )
    .await;
    let missing = plain.http.get(plain.url("/extra")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
}
