//! The key check (`GET account`) and the base URL every call is sent under. The key check's
//! fallback to a customer lookup is in `fallbacks`.

use bonusbridge::bonusplus::{BonusPlusClient, BonusPlusError, CustomerPatch};
use wiremock::MockServer;

use super::*;

const BAD_KEY: &str = r#"{"code":"UNAUTHORIZED","msg":"Bad key"}"#;

#[tokio::test]
async fn key_check_table() {
    run(vec![
        Case {
            name: "check_key → GET account, accepted",
            expect: vec![get("/account", None).answer(ok_json(
                r#"{"balance": 1500.00, "tariff": "Бизнес", "smsPrice": 3.50, "pushPrice": 0.50}"#,
            ))],
            call: CHECK_KEY,
            outcome: |r| r.unwrap(),
            in_order: &["GET /account"],
        },
        Case {
            name: "check_key, HTTP 401 → Unauthorized, no fallback",
            expect: vec![get("/account", None).answer(error_answer(401, BAD_KEY))],
            call: CHECK_KEY,
            outcome: is_unauthorized,
            in_order: &["GET /account"],
        },
        Case {
            name: "check_key, HTTP 403 → Unauthorized, no fallback",
            expect: vec![get("/account", None).answer(error_answer(403, BAD_KEY))],
            call: CHECK_KEY,
            outcome: is_unauthorized,
            in_order: &["GET /account"],
        },
        Case {
            // Retried once as a read; never taken for an unknown call.
            name: "check_key, HTTP 500 → Unavailable after one retry, no fallback",
            expect: vec![get("/account", None)
                .answer(error_answer(500, r#"{"msg":"boom"}"#))
                .times(2)],
            call: CHECK_KEY,
            outcome: |r| {
                let err = r.unwrap_err();
                assert!(matches!(err, BonusPlusError::Unavailable { .. }), "{err:?}");
            },
            in_order: &["GET /account", "GET /account"],
        },
    ])
    .await;
}

/// Every call keeps a path prefix of the base URL (four calls on one client).
#[tokio::test]
async fn base_url_with_a_path_prefix_is_kept() {
    let server = MockServer::start().await;
    let client = BonusPlusClient::new(&format!("{}/api", server.uri()), TIMEOUT).unwrap();
    for expected in [
        get("/api/customer", Some("phone=79011231122")).answer(ok_json(CUSTOMER)),
        get("/api/account", None).answer(ok_json("{}")),
        get(
            "/api/certificate/0c0ffee0-0000-4000-8000-000000000001",
            None,
        )
        .answer(ok_json("{}")),
        request(
            "PATCH",
            "/api/customer/79011231122",
            None,
            Sent::json(r#"{"fn": "Иван"}"#),
        )
        .answer(ok_json(CUSTOMER)),
    ] {
        expected.mount(&server).await;
    }

    client.get_customer(&key(), &phone()).await.unwrap();
    client.check_key(&key()).await.unwrap();
    client
        .get_certificate(&key(), &certificate_id())
        .await
        .unwrap();
    let patch = CustomerPatch {
        first_name: Some("Иван".into()),
        ..CustomerPatch::default()
    };
    client
        .update_customer(&key(), &phone(), &patch)
        .await
        .unwrap();
    server.verify().await;
}
