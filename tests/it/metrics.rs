//! `GET /metrics`: request and upstream counters and latency histograms, database gauges, the
//! optional bearer token. The recorder is process-wide, so counts are checked as "at least".

use crate::support::pos::{Options, Pos};
use crate::support::TestDb;

crate::on_both_backends!(metrics_count_requests_upstream_calls_and_backlog);

/// The value of the sample line that starts with `prefix` (labels included), if present.
fn sample(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find(|line| line.starts_with(prefix))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

async fn scrape(pos: &Pos, token: Option<&str>) -> (u16, String) {
    let mut request = pos.app.http.get(pos.app.url("/metrics"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn metrics_count_requests_upstream_calls_and_backlog(db: TestDb) {
    let pos = Pos::start_with(db, Options::default(), |s| {
        s.server.metrics_token = "scrape-me".into();
    })
    .await;
    pos.recalc_for_a_known_customer().await;

    // The token is required when configured.
    assert_eq!(scrape(&pos, None).await.0, 401);
    assert_eq!(scrape(&pos, Some("wrong")).await.0, 401);
    let (status, text) = scrape(&pos, Some("scrape-me")).await;
    assert_eq!(status, 200);

    // Requests by route template (never the raw path), with latency histograms.
    let recalc = r#"route="/loyalty/retaildemand/recalc",method="POST",status="200""#;
    assert!(
        sample(&text, &format!("http_requests_total{{{recalc}}}")).unwrap() >= 1.0,
        "{text}"
    );
    assert!(
        sample(
            &text,
            &format!("http_request_duration_seconds_count{{{recalc}}}")
        )
        .unwrap()
            >= 1.0
    );
    assert!(text.contains("http_request_duration_seconds_bucket{"));
    assert!(text.contains(r#"le="0.001""#), "fine buckets below 10 ms");

    // Upstream calls per BonusPlus endpoint and outcome.
    let calc = r#"endpoint="PUT retail/calc",outcome="ok""#;
    assert!(sample(&text, &format!("bonusplus_requests_total{{{calc}}}")).unwrap() >= 1.0);
    assert!(text.contains("bonusplus_request_duration_seconds_bucket{"));

    // Gauges read from the database at scrape time.
    assert!(sample(&text, r#"outbox_jobs{state="failed"}"#).is_some());
    assert!(sample(&text, "outbox_oldest_age_seconds").is_some());
    assert!(sample(&text, "reserves_outstanding").is_some());

    // Nothing private in labels.
    assert!(!text.contains(&pos.token) && !text.contains(&pos.key) && !text.contains("7901123"));
}
