//! The key check (`GET account`) and the base URL every call is sent under. The key check's
//! fallback to a customer lookup is in `fallbacks`.

use bonusbridge::bonusplus::{BonusPlusClient, BonusPlusError, CustomerPatch};
use wiremock::MockServer;

use super::*;

#[tokio::test]
async fn key_check_table() {
    run(vec![
        Case {
            name: "check_key → GET account, accepted",
            expect: vec![request("GET", "/account", None, Sent::Nothing).answer(ok_json(
                r#"{"balance": 1500.00, "tariff": "Бизнес", "smsPrice": 3.50, "pushPrice": 0.50}"#,
            ))],
            call: call!(|c| c.check_key(&key())),
            outcome: |r| r.unwrap(),
            in_order: &["GET /account"],
        },
        Case {
            name: "check_key, HTTP 401 → Unauthorized, no fallback",
            expect: vec![
                request("GET", "/account", None, Sent::Nothing).answer(error_answer(
                    401,
                    r#"{"code":"UNAUTHORIZED","msg":"Bad key"}"#,
                )),
            ],
            call: call!(|c| c.check_key(&key())),
            outcome: |r| assert_eq!(r.unwrap_err(), BonusPlusError::Unauthorized),
            in_order: &["GET /account"],
        },
        Case {
            name: "check_key, HTTP 403 → Unauthorized, no fallback",
            expect: vec![
                request("GET", "/account", None, Sent::Nothing).answer(error_answer(
                    403,
                    r#"{"code":"UNAUTHORIZED","msg":"Bad key"}"#,
                )),
            ],
            call: call!(|c| c.check_key(&key())),
            outcome: |r| assert_eq!(r.unwrap_err(), BonusPlusError::Unauthorized),
            in_order: &["GET /account"],
        },
        Case {
            // Retried once as a read; never taken for an unknown call.
            name: "check_key, HTTP 500 → Unavailable after one retry, no fallback",
            expect: vec![request("GET", "/account", None, Sent::Nothing)
                .answer(error_answer(500, r#"{"msg":"boom"}"#))
                .times(2)],
            call: call!(|c| c.check_key(&key())),
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
        request(
            "GET",
            "/api/customer",
            Some("phone=79011231122"),
            Sent::Nothing,
        )
        .answer(ok_json(CUSTOMER)),
        request("GET", "/api/account", None, Sent::Nothing).answer(ok_json("{}")),
        request(
            "GET",
            "/api/certificate/0c0ffee0-0000-4000-8000-000000000001",
            None,
            Sent::Nothing,
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
