//! Gift certificates: `GET certificate/{id}` by GUID, what is read from the answer, and what
//! counts as "no such certificate".

use bonusbridge::bonusplus::{CertificateStatus, GiftCardResponse};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use super::*;

const CERTIFICATE: &str = "/certificate/0c0ffee0-0000-4000-8000-000000000001";

/// `get_certificate` of [`CERTIFICATE_ID`].
const GET_CERTIFICATE: Call<Option<GiftCardResponse>> =
    call!(|c| c.get_certificate(&key(), &certificate_id()));

/// `GET certificate/{CERTIFICATE_ID}`, answered so.
fn certificate(answer: ResponseTemplate) -> Vec<Expected> {
    vec![get(CERTIFICATE, None).answer(answer)]
}

#[tokio::test]
async fn certificate_table() {
    run(vec![
        Case {
            name: "get_certificate → GET certificate/{guid}, every field read",
            expect: certificate(ok_json(
                r#"{"id": "0c0ffee0-0000-4000-8000-000000000001", "name": "GC-0001",
                    "expireDate": "2026-12-31T23:59:59", "status": "PARTIALLY_REDEEMED",
                    "currentBalance": 500.00, "initialBalance": 1000.00}"#,
            )),
            call: GET_CERTIFICATE,
            outcome: |r| {
                let certificate = r.unwrap().unwrap();
                assert_eq!(certificate.id, certificate_id());
                assert_eq!(certificate.name.as_deref(), Some("GC-0001"));
                assert_eq!(
                    certificate.expire_date,
                    Some(time::macros::datetime!(2026-12-31 23:59:59 UTC))
                );
                assert_eq!(certificate.status, CertificateStatus::PartiallyRedeemed);
                assert_eq!(certificate.current_balance.to_string(), "500.00");
                assert_eq!(certificate.initial_balance, dec!(1000.00));
            },
            in_order: &[],
        },
        Case {
            name: "get_certificate, unknown status, no expiry, no id → the id asked, unusable",
            expect: certificate(ok_json(
                r#"{"name": "GC-0001", "expireDate": null, "status": "BLOCKED",
                    "currentBalance": 1000.00}"#,
            )),
            call: GET_CERTIFICATE,
            outcome: |r| {
                let certificate = r.unwrap().unwrap();
                assert_eq!(certificate.id, certificate_id(), "the id asked for");
                assert_eq!(certificate.expire_date, None);
                assert_eq!(
                    certificate.status,
                    CertificateStatus::Unknown("BLOCKED".into())
                );
                assert!(!certificate.status.is_usable());
                assert_eq!(certificate.initial_balance, Decimal::ZERO);
            },
            in_order: &[],
        },
        Case {
            name: "get_certificate, 412 CERTIFICATE_NOT_FOUND → none",
            expect: certificate(error_answer(
                412,
                r#"{"code":"CERTIFICATE_NOT_FOUND","msg":"Сертификат не найден"}"#,
            )),
            call: GET_CERTIFICATE,
            outcome: is_none,
            in_order: &[],
        },
        Case {
            name: "get_certificate, 404 CERTIFICATE_NOT_FOUND → none",
            expect: certificate(error_answer(
                404,
                r#"{"code":"CERTIFICATE_NOT_FOUND","msg":"-"}"#,
            )),
            call: GET_CERTIFICATE,
            outcome: is_none,
            in_order: &[],
        },
        Case {
            name: "get_certificate, bare 404 → none",
            expect: certificate(error_answer(404, "")),
            call: GET_CERTIFICATE,
            outcome: is_none,
            in_order: &[],
        },
        Case {
            name: "get_certificate, unknown route (404) → none",
            expect: certificate(error_answer(404, UNKNOWN_ROUTE)),
            call: GET_CERTIFICATE,
            outcome: is_none,
            in_order: &[],
        },
        Case {
            name: "find_certificate, a scanned GUID (upper case, spaces) → GET certificate/{guid}",
            expect: certificate(ok_json(
                r#"{"id": "0c0ffee0-0000-4000-8000-000000000001", "status": "CAN_BE_USED",
                    "currentBalance": 1000.00, "initialBalance": 1000.00}"#,
            )),
            call: call!(|c| c.find_certificate(&key(), " 0C0FFEE0-0000-4000-8000-000000000001 ")),
            outcome: |r| assert_eq!(r.unwrap().unwrap().status, CertificateStatus::CanBeUsed),
            in_order: &[],
        },
        Case {
            name: "find_certificate, a printed number → none, nothing sent",
            expect: vec![],
            call: call!(|c| c.find_certificate(&key(), "GC-0001")),
            outcome: is_none,
            in_order: &[],
        },
        Case {
            name: "find_certificate, an EAN → none, nothing sent",
            expect: vec![],
            call: call!(|c| c.find_certificate(&key(), "2000000051420")),
            outcome: is_none,
            in_order: &[],
        },
        Case {
            name: "find_certificate, nothing typed → none, nothing sent",
            expect: vec![],
            call: call!(|c| c.find_certificate(&key(), "")),
            outcome: is_none,
            in_order: &[],
        },
    ])
    .await;
}
